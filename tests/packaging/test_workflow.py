"""The installer workflow (.github/workflows/installers.yml) cannot run here; check its shape.

It must build, install and self-test on Linux, Windows and macOS, call only make targets
and scripts that exist, and follow the same Linux path as `.ci/run` and test_deb.py.
"""

from __future__ import annotations

import re

import pytest
import yaml

from tests.helpers.bundle import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "installers.yml"
CUDA_INDEX = "download.pytorch.org/whl/cu"  # also matches .../whl/cpu


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def steps(workflow) -> list[dict]:
    return workflow["jobs"]["installer"]["steps"]


def _runs(steps: list[dict], os_name: str) -> str:
    """All shell lines the steps for one runner OS ('Linux', 'Windows', 'macOS') execute."""
    chosen = []
    for step in steps:
        condition = step.get("if", "")
        if "run" in step and (not condition or _applies(condition, os_name)):
            chosen.append(step["run"])
    return "\n".join(chosen)


def _applies(condition: str, os_name: str) -> bool:
    if "!=" in condition:
        return f"'{os_name}'" not in condition
    return f"'{os_name}'" in condition


def test_matrix_covers_the_three_desktop_systems(workflow):
    job = workflow["jobs"]["installer"]
    assert job["runs-on"] == "${{ matrix.os }}"
    entries = job["strategy"]["matrix"]["include"]
    assert {entry["os"].split("-")[0] for entry in entries} == {"macos", "ubuntu", "windows"}
    flavours = {(entry["os"].split("-")[0], entry["flavour"]) for entry in entries}
    assert {
        ("ubuntu", "cuda"),
        ("ubuntu", "cpu"),
        ("windows", "cuda"),
        ("windows", "cpu"),
    } <= flavours
    assert job["strategy"]["fail-fast"] is False
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert set(triggers) >= {"push", "workflow_dispatch"}


def test_every_step_runs_or_uses_something(steps):
    for step in steps:
        assert ("run" in step) != ("uses" in step), step
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), step["uses"]


def test_each_system_builds_installs_and_self_tests_from_the_installed_place(steps):
    linux, windows, macos = (_runs(steps, name) for name in ("Linux", "Windows", "macOS"))
    assert "make package" in linux and "dpkg -i dist/taxon*_*.deb" in linux
    assert "/usr/bin/taxon --self-test" in linux and "dpkg -r taxon" in linux
    assert "build_installer.ps1" in windows and "/CURRENTUSER" in windows
    assert r"Programs\Taxon\taxon-cli.exe" in windows and "--self-test" in windows
    assert "make_dmg.sh --build" in macos
    assert "/Applications/Taxon.app/Contents/MacOS/Taxon --self-test" in macos


def test_commands_it_calls_exist_in_the_repository(steps):
    text = "\n".join(step.get("run", "") for step in steps)
    scripts = set(re.findall(r"packaging/[\w/.-]+\.(?:sh|ps1|spec|txt|py)", text))
    assert scripts, "the workflow calls no packaging script"
    for script in scripts:
        assert (ROOT / script).is_file(), script
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for target in re.findall(r"\bmake ([a-z][\w-]*)", text):
        assert re.search(rf"^{re.escape(target)}:", makefile, re.MULTILINE), f"make {target}"


def test_linux_path_matches_ci_and_the_deb_test(steps):
    """The workflow, .ci/run and test_deb.py install and check the package the same way."""
    linux = _runs(steps, "Linux")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    deb_test = (ROOT / "tests" / "packaging" / "test_deb.py").read_text(encoding="utf-8")
    assert "make package" in ci and "TAXON_PACKAGE_TEST=1 make test" in ci
    for package in re.search(r"for pkg in (.*?); do", ci).group(1).split():
        assert package in linux, f"{package} is installed by .ci/run but not by the workflow"
    for needle in (
        '"/usr/bin/taxon", "--self-test"',
        'TAXON_EXIT_AFTER_PAINT="1"',
        'QT_QPA_PLATFORM="offscreen"',
        '_dpkg("-i"',
        '_dpkg("-r"',
    ):
        assert needle in deb_test
    assert "TAXON_EXIT_AFTER_PAINT=1 QT_QPA_PLATFORM=offscreen /usr/bin/taxon" in linux


def test_pytorch_wheel_indexes_are_used_by_the_workflow_builds_only(workflow, steps):
    env = workflow["jobs"]["installer"]["env"]
    assert CUDA_INDEX in env["TORCH_CUDA_INDEX"] and env["TORCH_CPU_INDEX"].endswith("/whl/cpu")
    cuda = [step for step in steps if "TORCH_CUDA_INDEX" in step.get("run", "")]
    assert cuda and all(
        step["if"] == "runner.os == 'Windows' && matrix.flavour == 'cuda'" for step in cuda
    )
    cpu = [step for step in steps if "TORCH_CPU_INDEX" in step.get("run", "")]
    assert cpu and all(
        step["if"] == "runner.os == 'Linux' && matrix.flavour == 'cpu'" for step in cpu
    )
    # ...and never by the application, its requirements or its build scripts.
    for path in [
        *ROOT.glob("requirements*.txt"),
        ROOT / "main.py",
        *ROOT.glob("engine/**/*.py"),
        *ROOT.glob("ui/**/*.py"),
        *ROOT.glob("packaging/**/*"),
    ]:
        if path.is_file():
            assert CUDA_INDEX not in path.read_text(encoding="utf-8", errors="replace"), path


def test_artifacts_carry_the_download_names_the_readme_promises():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in (
        "taxon_<version>_amd64.deb",
        "taxon-<version>-linux-x86_64.tar.gz",
        "Taxon-<version>-setup.exe",
        "Taxon-<version>.dmg",
    ):
        assert name in readme, name
    builder = (ROOT / "packaging" / "linux" / "build_packages.sh").read_text(encoding="utf-8")
    assert "taxon${flavour}_${version}_${arch}.deb" in builder
    assert "taxon$flavour-$version-linux-$machine.tar.gz" in builder
    iss = (ROOT / "packaging" / "windows" / "taxon.iss").read_text(encoding="utf-8")
    assert "OutputBaseFilename={#AppName}{#Flavour}-{#AppVersion}-setup" in iss
    assert '#define Flavour ""' in iss  # the CUDA build keeps the plain names
    assert 'dmg="dist/Taxon-$version.dmg"' in (ROOT / "packaging/macos/make_dmg.sh").read_text()
