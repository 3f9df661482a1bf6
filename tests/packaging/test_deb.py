"""Install the built .deb as root, run Taxon from the installed place, remove it again.

Enabled by TAXON_PACKAGE_TEST=1 after `make package` (`.ci/run` does both). The tests run
in file order against one installation; the last one removes the package and checks that
a user's data survives. However the tests end, the package is removed afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import engine
from tests.helpers.bundle import PACKAGE_TEST_ENV, ROOT, package_tests_enabled

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not package_tests_enabled(),
        reason=f"needs `make package` first; set {PACKAGE_TEST_ENV}=1 to run",
    ),
    pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() != 0, reason="dpkg -i needs root"),
    pytest.mark.skipif(shutil.which("dpkg") is None, reason="needs dpkg (Debian/Ubuntu)"),
]

PACKAGE = "taxon"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
INSTALLED = [
    "/usr/bin/taxon",
    "/usr/lib/taxon/Taxon",
    "/usr/share/applications/taxon.desktop",
    "/usr/share/mime/packages/taxon.xml",
    "/usr/share/doc/taxon/copyright",
    *(f"/usr/share/icons/hicolor/{size}x{size}/apps/taxon.png" for size in ICON_SIZES),
]


def _arch() -> str:
    return subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()


def _dpkg(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["dpkg", *args], capture_output=True, text=True, timeout=900, check=check)


def _user_env(home: Path, **extra: str) -> dict[str, str]:
    """A user's environment: platformdirs folders under a fresh $HOME, no TAXON_HOME."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TAXON_", "XDG_", "QT_", "PYTHON"))
    }
    env.update(HOME=str(home), LANG="C.UTF-8", **extra)
    return env


@pytest.fixture(scope="module")
def deb() -> Path:
    pattern = f"taxon*_{engine.__version__}_{_arch()}.deb"  # taxon_ or taxon-cpu_
    found = sorted((ROOT / "dist").glob(pattern))
    if len(found) != 1:
        pytest.fail(
            f"{PACKAGE_TEST_ENV} is set but dist/ holds {len(found)} {pattern}: run `make package`"
        )
    return found[0]


@pytest.fixture(scope="module")
def installed(deb):
    if _dpkg("-s", PACKAGE, check=False).returncode == 0:
        pytest.fail("taxon is already installed on this machine; remove it first (dpkg -r taxon)")
    result = _dpkg("-i", str(deb), check=False)
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        yield deb
    finally:
        if _dpkg("-s", PACKAGE, check=False).returncode == 0:
            _dpkg("-r", PACKAGE, check=False)


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("user-home")


def test_package_installs_launcher_menu_entry_and_icons(installed):
    listed = set(_dpkg("-L", PACKAGE).stdout.splitlines())
    assert set(INSTALLED) <= listed
    assert all(Path(path).exists() for path in INSTALLED)
    assert os.access("/usr/bin/taxon", os.X_OK)
    assert shutil.which("taxon", path="/usr/bin") == "/usr/bin/taxon"
    fields = _dpkg("-s", PACKAGE).stdout
    assert f"Version: {engine.__version__}" in fields and "Status: install ok installed" in fields


def test_installed_taxon_passes_its_self_test(installed, home):
    result = subprocess.run(
        ["/usr/bin/taxon", "--self-test"],
        env=_user_env(home),
        capture_output=True,
        text=True,
        timeout=600,
    )
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith(("PASS", "FAIL"))]
    assert lines and all(line.startswith("PASS") for line in lines)
    assert any("china.jpg → palace, flower.jpg → daisy" in line for line in lines)
    assert any(line.startswith("PASS Offline") for line in lines)


def test_installed_window_paints_offscreen(installed, home):
    env = _user_env(home, TAXON_EXIT_AFTER_PAINT="1", QT_QPA_PLATFORM="offscreen")
    result = subprocess.run(
        ["/usr/bin/taxon"], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["torch_imported"] is False
    # The window kept its settings and log in the user's own folders.
    assert (home / ".config" / "Taxon" / "settings.ini").is_file()
    assert (home / ".local" / "state" / "Taxon" / "log" / "taxon.log").is_file()


def test_removing_the_package_removes_its_files_and_leaves_user_data(installed, home):
    projects = home / ".local" / "share" / "Taxon" / "projects" / "holiday"
    projects.mkdir(parents=True)
    (projects / "taxon-project.json").write_text("{}", encoding="utf-8")
    result = _dpkg("-r", PACKAGE, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not empty" not in result.stderr  # Taxon wrote nothing into its install folder
    assert _dpkg("-s", PACKAGE, check=False).returncode != 0  # no conffiles: nothing is kept
    leftovers = [path for path in [*INSTALLED, "/usr/lib/taxon"] if Path(path).exists()]
    assert not leftovers
    assert (projects / "taxon-project.json").is_file()
    assert (home / ".config" / "Taxon" / "settings.ini").is_file()
