"""The per-OS installer files agree with the bundle and with each other."""

from __future__ import annotations

import configparser
import re
import xml.etree.ElementTree as ET

from tests.helpers.bundle import ROOT

LINUX = ROOT / "packaging" / "linux"


def _iss() -> str:
    return (ROOT / "packaging" / "windows" / "taxon.iss").read_text(encoding="utf-8")


def _define(name: str) -> str:
    return re.search(rf'^#define {name} "(.*)"$', _iss(), re.MULTILINE).group(1)


def test_desktop_entry_starts_the_launcher_and_opens_model_packages(bundle_module):
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(LINUX / "taxon.desktop", encoding="utf-8")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application" and desktop["Terminal"] == "false"
    assert desktop["Exec"].split()[0] == "taxon" and desktop["Icon"] == "taxon"
    assert desktop["MimeType"].rstrip(";") == bundle_module.MODEL_PACKAGE_MIME
    assert {"Name", "Comment", "Comment[zh_CN]", "Comment[ar]"} <= set(desktop)


def test_mime_type_matches_the_model_package_extension(bundle_module):
    namespace = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    mime = ET.parse(LINUX / "taxon-mime.xml").getroot().find("m:mime-type", namespace)
    assert mime.get("type") == bundle_module.MODEL_PACKAGE_MIME
    assert (
        mime.find("m:glob", namespace).get("pattern") == "*" + bundle_module.MODEL_PACKAGE_EXTENSION
    )


def test_launcher_runs_the_bundle_in_usr_lib(bundle_module):
    launcher = (LINUX / "taxon-launcher.sh").read_text(encoding="utf-8")
    assert f'exec /usr/lib/taxon/{bundle_module.EXE_NAME} "$@"' in launcher


def test_deb_depends_only_on_what_ci_installs():
    """`dpkg -i` does not fetch dependencies: CI's apt line must already provide them."""
    control = (LINUX / "control.in").read_text(encoding="utf-8")
    fields = dict(re.findall(r"^([\w-]+): (.*)$", control, re.MULTILINE))
    assert fields["Package"] == "taxon"
    depends = {item.split()[0] for item in fields["Depends"].split(", ")}
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    installed_by_ci = set(re.search(r"for pkg in (.*?); do", ci).group(1).split())
    base = {"libc6", "libfreetype6"}  # essential, or pulled in by libfontconfig1
    assert depends <= installed_by_ci | base, depends - installed_by_ci - base


def test_windows_installer_is_per_user_and_matches_the_bundle(bundle_module):
    iss = _iss()
    assert "PrivilegesRequired=lowest" in iss
    assert "DefaultDirName={autopf}\\{#AppName}" in iss
    assert _define("AppExe") == bundle_module.EXE_NAME + ".exe"
    assert _define("CliExe") == bundle_module.WINDOWS_CLI_NAME + ".exe"
    assert _define("ModelExtension") == bundle_module.MODEL_PACKAGE_EXTENSION
    assert re.search(r"^AppId=\{\{[0-9A-F-]{36}\}$", iss, re.MULTILINE)
    assert "{autoprograms}" in iss and "{autodesktop}" in iss and "Tasks: desktopicon" in iss
    # The association opens the file with the window, and goes with the uninstaller.
    assert '"""{app}\\{#AppExe}"" ""%1"""' in iss
    assert "uninsdeletekey" in iss
    # The uninstaller deletes only what it installed: never the user's data folders.
    sections = re.findall(r"^\[(\w+)\]", iss, re.MULTILINE)
    assert "UninstallDelete" not in sections and "UninstallRun" not in sections


def test_windows_build_script_feeds_the_installer_script():
    script = (ROOT / "packaging" / "windows" / "build_installer.ps1").read_text(encoding="utf-8")
    for define in ("AppVersion", "BundleDir", "IconFile", "OutputDir"):
        assert f"/D{define}=" in script
        assert f"#ifndef {define}" in _iss()
    assert "packaging\\taxon.spec" in script and "taxon_bundle.py icons" in script


def test_macos_dmg_script_signs_only_when_asked_and_holds_no_secrets():
    script = (ROOT / "packaging" / "macos" / "make_dmg.sh").read_text(encoding="utf-8")
    assert "hdiutil create" in script and "dist/Taxon.app" in script
    assert 'if [ -n "${MACOS_SIGN_IDENTITY:-}" ]' in script
    assert "notarytool submit" in script and "--keychain-profile" in script
    assert not re.search(r"(password|apple-id|team-id)\s", script, re.IGNORECASE)


def test_an_associated_model_package_opens_the_window(tmp_path):
    """What the installers' file association runs: `Taxon <file>.taxon-model`."""
    import main

    zipped = tmp_path / "birds.taxon-model"
    zipped.write_bytes(b"PK\x05\x06" + bytes(18))
    folder = tmp_path / "birds"
    folder.mkdir()
    (folder / "taxon-model.json").write_text("{}", encoding="utf-8")
    assert main._gui_language([str(zipped)]) == (True, None)
    assert main._gui_language([str(folder)]) == (True, None)
    # Anything else is still a command line (and a missing file is no model).
    assert main._gui_language([str(tmp_path / "other.taxon-model")]) == (False, None)
    assert main._gui_language(["classify", str(zipped)]) == (False, None)
