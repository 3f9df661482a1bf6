"""``Taxon --self-test``: does this installation have everything it needs, offline?

Run after building or installing a bundle (and in CI from the installed
location): it starts Qt offscreen in a throw-away user folder and prints one
line per check, then exits 1 if any check failed. The checks exercise what a
bundle most often loses: Qt plugins, catalogs (ours and Qt's), data files of
the model packages, native libraries of torch and ONNX Runtime, and worker
processes of a frozen executable.

A check is a function ``check(context) -> str`` that returns a short detail and
raises on failure; ``CHECKS`` lists them in order with a translatable name.
Adding a check is adding one function and one line to ``CHECKS``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import socket
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from engine.i18n import N_, _, ngettext

#: scikit-learn's sample photos and the ImageNet class the built-in model must give each.
SAMPLE_PHOTOS = {"china.jpg": "palace", "flower.jpg": "daisy"}
#: Image formats the window must open (Qt's own reader; decoding for models uses Pillow).
REQUIRED_QT_FORMATS = ("jpeg", "png")
NATIVE_PLATFORM_PLUGIN = {"linux": "xcb", "win32": "windows", "darwin": "cocoa"}
#: Shipped languages for which Qt has no ``qtbase`` catalog of its own (its few built-in
#: texts stay English there); tests/test_catalogs.py keeps the same set.
WITHOUT_QT_TRANSLATION = frozenset({"hi"})


class CheckFailed(Exception):
    """A check's finding, already worded for the report."""


@dataclass
class Context:
    """What the checks share: the QApplication and the network attempts seen so far."""

    app: object = None
    language: str = "en"  # the language the report is printed in
    network_attempts: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- network guard


class NetworkGuard:
    """Refuses and records every internet connection (and name lookup) while active."""

    def __init__(self, attempts: list[str]) -> None:
        self.attempts = attempts
        self._saved: list[tuple[object, str, object]] = []

    def _refuse(self, what: str) -> OSError:
        self.attempts.append(what)
        return OSError(f"Taxon's self-test refused a network connection: {what}")

    def __enter__(self) -> NetworkGuard:
        guard = self
        real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
        real_getaddrinfo = socket.getaddrinfo

        def connect(sock, address):
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                raise guard._refuse(repr(address))
            return real_connect(sock, address)

        def connect_ex(sock, address):
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                raise guard._refuse(repr(address))
            return real_connect_ex(sock, address)

        def create_connection(address, *args, **kwargs):
            raise guard._refuse(repr(address))

        def getaddrinfo(host, *args, **kwargs):
            if host not in (None, "localhost", "127.0.0.1", "::1"):
                raise guard._refuse(f"name lookup {host!r}")
            return real_getaddrinfo(host, *args, **kwargs)

        for owner, name, value in ((socket.socket, "connect", connect),
                                   (socket.socket, "connect_ex", connect_ex),
                                   (socket, "create_connection", create_connection),
                                   (socket, "getaddrinfo", getaddrinfo)):
            self._saved.append((owner, name, getattr(owner, name)))
            setattr(owner, name, value)
        return self

    def __exit__(self, *exc_info) -> None:
        for owner, name, value in reversed(self._saved):
            setattr(owner, name, value)
        self._saved.clear()


# --------------------------------------------------------------------------- the checks


def check_qt_platform(context: Context) -> str:
    from PySide6.QtCore import QLibraryInfo
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QLabel

    platform = QGuiApplication.platformName()
    if platform != "offscreen":
        raise CheckFailed(_("Qt started the “{name}” platform, not offscreen.").format(name=platform))
    label = QLabel("Taxon 分类 تصنيف")
    label.resize(240, 40)
    image = label.grab().toImage()
    label.deleteLater()
    if image.isNull() or len({image.pixel(x, 20) for x in range(0, 240, 4)}) < 2:
        raise CheckFailed(_("A widget painted nothing."))
    native = NATIVE_PLATFORM_PLUGIN.get(sys.platform)
    folder = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"
    found = sorted(path.name for path in folder.glob("*")) if folder.is_dir() else []
    if native and not any(native in name for name in found):
        raise CheckFailed(_("The desktop platform plugin “{name}” is missing from {folder}.")
                          .format(name=native, folder=folder))
    return _("offscreen works; platform plugins: {plugins}").format(plugins=", ".join(found))


def check_qt_image_formats(context: Context) -> str:
    from PySide6.QtGui import QImage, QImageReader

    formats = sorted({bytes(name).decode() for name in QImageReader.supportedImageFormats()})
    missing = [name for name in REQUIRED_QT_FORMATS if name not in formats]
    if missing:
        raise CheckFailed(_("Qt cannot read: {formats}.").format(formats=", ".join(missing)))
    photo = sample_photos()["china.jpg"]
    if QImage(str(photo)).isNull():
        raise CheckFailed(_("Qt could not open {path}.").format(path=photo))
    return ", ".join(formats)


def check_languages(context: Context) -> str:
    """Every shipped language loads its catalog and Qt's, and widgets hear the switch."""
    from PySide6.QtCore import QCoreApplication, QEvent, Qt
    from PySide6.QtWidgets import QWidget

    from engine import i18n
    from ui.language import LanguageManager

    class Listener(QWidget):
        changes = 0

        def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
            if event.type() == QEvent.Type.LanguageChange:
                self.changes += 1
            super().changeEvent(event)

    manager = LanguageManager(context.app)
    listener = Listener()
    problems, done = [], []
    for code in i18n.SHIPPED_LANGUAGES:
        before = listener.changes
        used = manager.switch(code, persist=False)
        QCoreApplication.processEvents()
        if used != code:
            problems.append((N_("{language}: its catalog did not load"), code))
            continue
        if listener.changes == before:
            problems.append((N_("{language}: widgets were not told of the switch"), code))
        if code != i18n.SOURCE_LANGUAGE:
            if i18n._("&Quit") == "&Quit":
                problems.append((N_("{language}: the catalog translates nothing"), code))
            if not manager.qt_translator_loaded and code not in WITHOUT_QT_TRANSLATION:
                problems.append((N_("{language}: Qt’s own translations are missing"), code))
        expected = Qt.LayoutDirection.RightToLeft if i18n.is_rtl(code) else Qt.LayoutDirection.LeftToRight
        if context.app.layoutDirection() != expected:
            problems.append((N_("{language}: wrong layout direction"), code))
        done.append(f"{code} ({i18n.format_number(1234.5, 1)})")
    manager.switch(context.language, persist=False)  # report in the language of the run
    listener.deleteLater()
    if problems:
        raise CheckFailed("; ".join(_(msgid).format(language=code) for msgid, code in problems))
    return ", ".join(done)


def check_torch(context: Context) -> str:
    import torch

    value = (torch.arange(6, dtype=torch.float32).reshape(2, 3) @ torch.ones(3, 1)).sum().item()
    if value != 15.0:
        raise CheckFailed(_("PyTorch computed {value} instead of 15.").format(value=value))
    cuda = torch.cuda.is_available()
    if cuda:
        on_gpu = (torch.ones(64, 64, device="cuda") @ torch.ones(64, 64, device="cuda")).sum().item()
        if on_gpu != 64.0 ** 3:
            raise CheckFailed(_("The GPU computed a wrong result."))
        device = torch.cuda.get_device_name(0)
    else:
        device = _("no CUDA GPU")
    return _("torch {version}, CUDA build: {cuda_build}, device: {device}").format(
        version=torch.__version__, cuda_build=torch.version.cuda or _("no"), device=device)


def check_onnxruntime(context: Context) -> str:
    import numpy as np
    import onnxruntime
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "x"], ["y"])], "double",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = min(model.ir_version, 9)
    session = onnxruntime.InferenceSession(model.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    result = session.run(None, {"x": np.array([1.5, 2.0], np.float32)})[0]
    if result.tolist() != [3.0, 4.0]:
        raise CheckFailed(_("ONNX Runtime computed {value}.").format(value=result.tolist()))
    return _("onnxruntime {version}; providers: {providers}").format(
        version=onnxruntime.__version__, providers=", ".join(onnxruntime.get_available_providers()))


def check_builtin_model(context: Context) -> str:
    """The shipped weights load, export to ONNX, and name real photos right (in workers)."""
    from engine.inference import classify_images, load_builtin_classifier

    photos = sample_photos()
    classifier = load_builtin_classifier(backend="auto")
    try:
        results = classify_images(classifier, [photos[name] for name in SAMPLE_PHOTOS], top_k=1)
        backend = classifier.backend
    finally:
        classifier.close()
    answers = []
    for (name, expected), result in zip(SAMPLE_PHOTOS.items(), results, strict=True):
        if result.error or not result.predictions:
            raise CheckFailed(f"{name}: {result.error}")
        top = result.predictions[0]
        if top.label != expected:
            raise CheckFailed(_("{photo} was classified as “{label}”, expected “{expected}”.")
                              .format(photo=name, label=top.label, expected=expected))
        answers.append(f"{name} → {top.label}")
    if backend != "onnxruntime":
        raise CheckFailed(_("The model runs on {backend} instead of ONNX Runtime (the log says why).")
                          .format(backend=backend))
    return _("{answers} (via {backend})").format(answers=", ".join(answers), backend=backend)


def check_training(context: Context) -> str:
    """A tiny fast-mode run on crops of the sample photos completes, and its package loads
    (validated, no pickle) and tells the two photos apart."""
    from PIL import Image

    from engine.dataset_io import load_image_folder
    from engine.inference import classify_images, load_classifier
    from engine.training import TrainConfig, train

    photos = sample_photos()
    root = Path(tempfile.mkdtemp(prefix="taxon-selftest-train-"))
    try:
        for name, photo in photos.items():
            label = SAMPLE_PHOTOS[name]
            (root / "data" / label).mkdir(parents=True)
            with Image.open(photo) as image:
                width, height = image.size
                for index in range(8):  # overlapping crops across the photo: a real if tiny dataset
                    left, top = (index * (width - 200)) // 7, (index % 4) * (height - 200) // 3
                    image.crop((left, top, left + 200, top + 200)).save(
                        root / "data" / label / f"{index}.jpg", quality=90)
        result = train(load_image_folder(root / "data"), root / "model",
                       TrainConfig(mode="fast", epochs=15, device="cpu", seed=0))
        classifier = load_classifier(result.package)
        try:
            outcomes = classify_images(classifier, [photos[name] for name in SAMPLE_PHOTOS], top_k=1)
        finally:
            classifier.close()
        for (name, expected), outcome in zip(SAMPLE_PHOTOS.items(), outcomes, strict=True):
            if outcome.error or outcome.predictions[0].label != expected:
                raise CheckFailed(_("The trained model got {photo} wrong.").format(photo=name))
        return _("trained in {epochs} epochs, validation accuracy {accuracy}; the package loads").format(
            epochs=len(result.history), accuracy=f"{result.metrics['accuracy']:.0%}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def check_no_network(context: Context) -> str:
    if context.network_attempts:
        raise CheckFailed(_("Connections were attempted: {attempts}")
                          .format(attempts=", ".join(context.network_attempts)))
    return _("no connection attempted")


Check = Callable[[Context], str]

#: The checks in order, each with the name printed for it (translated when printed).
CHECKS: list[tuple[str, Check]] = [
    (N_("Qt platform"), check_qt_platform),
    (N_("Qt image formats"), check_qt_image_formats),
    (N_("Languages"), check_languages),
    (N_("PyTorch"), check_torch),
    (N_("ONNX Runtime"), check_onnxruntime),
    (N_("Built-in image model"), check_builtin_model),
    (N_("Training"), check_training),
    (N_("Offline"), check_no_network),  # keep last: it reports what the others attempted
]


# --------------------------------------------------------------------------- running


def sample_photos() -> dict[str, Path]:
    """The bundled scikit-learn photos, found without importing scikit-learn."""
    spec = importlib.util.find_spec("sklearn")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        photos = {name: Path(folder) / "datasets" / "images" / name for name in SAMPLE_PHOTOS}
        if all(path.is_file() for path in photos.values()):
            return photos
    raise CheckFailed(_("The sample photos (scikit-learn’s china.jpg and flower.jpg) are missing."))


def run_checks(context: Context, checks: list[tuple[str, Check]] | None = None,
               out=None) -> int:
    """Run each check, print one line for it; returns the number that failed."""
    out = out or sys.stdout
    failed = 0
    for name, check in CHECKS if checks is None else checks:
        started = time.monotonic()
        try:
            detail, ok = check(context), True
        except CheckFailed as error:
            detail, ok = str(error), False
        except Exception as error:  # a crash in a check is a failure, with where it happened
            where = traceback.extract_tb(error.__traceback__)[-1]
            message = str(error).strip().splitlines()[0] if str(error).strip() else ""
            detail = f"{type(error).__name__}: {message} ({Path(where.filename).name}:{where.lineno})"
            ok = False
        failed += not ok
        status = _("PASS") if ok else _("FAIL")
        label = _(name)
        seconds = time.monotonic() - started
        print(f"{status:<4} {label}: {detail} [{seconds:.1f} s]", file=out, flush=True)
    return failed


def main(argv: list[str] | None = None) -> int:
    """Entry for ``main.py --self-test [--lang CODE] [--keep-home] [--only NAME,...]``."""
    parser = argparse.ArgumentParser(prog="Taxon --self-test")
    parser.add_argument("--lang", default=None, help=_("language of the report"))
    parser.add_argument("--keep-home", action="store_true",
                        help=_("use TAXON_HOME as it is instead of a throw-away folder"))
    parser.add_argument("--only", default=None,
                        help=_("run only these checks (English names, comma-separated)"))
    args = parser.parse_args(argv)
    checks = CHECKS
    if args.only:
        wanted = {name.strip().lower() for name in args.only.split(",") if name.strip()}
        checks = [entry for entry in CHECKS if entry[0].lower() in wanted]
        unknown = wanted - {name.lower() for name, _check in CHECKS}
        if unknown:
            parser.error(_("unknown checks: {names}; there are: {checks}").format(
                names=", ".join(sorted(unknown)), checks=", ".join(name for name, _c in CHECKS)))
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    home = None
    if not (args.keep_home and os.environ.get("TAXON_HOME")):
        home = tempfile.mkdtemp(prefix="taxon-self-test-")
        os.environ["TAXON_HOME"] = home
    from engine import i18n

    context = Context(language=i18n.set_language(args.lang or i18n.system_language()))
    try:
        with NetworkGuard(context.network_attempts):
            from ui.app import create_application

            context.app = create_application([sys.argv[0]])
            print(_("Taxon self-test ({executable})").format(executable=sys.executable), flush=True)
            failed = run_checks(context, checks)
            total = len(checks)
            if failed:
                print(ngettext("{n} of {total} check failed.", "{n} of {total} checks failed.",
                               failed).format(n=failed, total=total), flush=True)
            else:
                print(_("All {total} checks passed.").format(total=total), flush=True)
    finally:
        from engine import inference

        inference.close()
        if home:
            shutil.rmtree(home, ignore_errors=True)
    return 1 if failed else 0
