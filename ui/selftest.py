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
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from engine.core.i18n import N_, _, ngettext
from engine.core.network_guard import NetworkGuard
from engine.diagnostics import (
    CheckFailed,
    Context,
    check_builtin_model,
    check_no_network,
    check_onnxruntime,
    check_torch,
    check_training,
    sample_photos,
)

#: Image formats the window must open (Qt's own reader; decoding for models uses Pillow).
REQUIRED_QT_FORMATS = ("jpeg", "png")
NATIVE_PLATFORM_PLUGIN = {"linux": "xcb", "win32": "windows", "darwin": "cocoa"}
#: Shipped languages for which Qt has no ``qtbase`` catalog of its own (its few built-in
#: texts stay English there); tests/test_catalogs.py keeps the same set.
WITHOUT_QT_TRANSLATION = frozenset({"hi"})


# --------------------------------------------------------------------------- the checks


def check_qt_platform(context: Context) -> str:
    from PySide6.QtCore import QLibraryInfo
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QLabel

    platform = QGuiApplication.platformName()
    if platform != "offscreen":
        raise CheckFailed(
            _("Qt started the “{name}” platform, not offscreen.").format(name=platform)
        )
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
        raise CheckFailed(
            _("The desktop platform plugin “{name}” is missing from {folder}.").format(
                name=native, folder=folder
            )
        )
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

    from engine.core import i18n
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
        expected = (
            Qt.LayoutDirection.RightToLeft if i18n.is_rtl(code) else Qt.LayoutDirection.LeftToRight
        )
        if context.app.layoutDirection() != expected:
            problems.append((N_("{language}: wrong layout direction"), code))
        done.append(f"{code} ({i18n.format_number(1234.5, 1)})")
    manager.switch(context.language, persist=False)  # report in the language of the run
    listener.deleteLater()
    if problems:
        raise CheckFailed("; ".join(_(msgid).format(language=code) for msgid, code in problems))
    return ", ".join(done)


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


def run_checks(context: Context, checks: list[tuple[str, Check]] | None = None, out=None) -> int:
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
            detail = (
                f"{type(error).__name__}: {message} ({Path(where.filename).name}:{where.lineno})"
            )
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
    parser.add_argument(
        "--keep-home",
        action="store_true",
        help=_("use TAXON_HOME as it is instead of a throw-away folder"),
    )
    parser.add_argument(
        "--only", default=None, help=_("run only these checks (English names, comma-separated)")
    )
    args = parser.parse_args(argv)
    checks = CHECKS
    if args.only:
        wanted = {name.strip().lower() for name in args.only.split(",") if name.strip()}
        checks = [entry for entry in CHECKS if entry[0].lower() in wanted]
        unknown = wanted - {name.lower() for name, _check in CHECKS}
        if unknown:
            parser.error(
                _("unknown checks: {names}; there are: {checks}").format(
                    names=", ".join(sorted(unknown)), checks=", ".join(name for name, _c in CHECKS)
                )
            )
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    home = None
    if not (args.keep_home and os.environ.get("TAXON_HOME")):
        home = tempfile.mkdtemp(prefix="taxon-self-test-")
        os.environ["TAXON_HOME"] = home
    from engine.core import i18n

    context = Context(language=i18n.set_language(args.lang or i18n.system_language()))
    try:
        with NetworkGuard(context.network_attempts, who="Taxon's self-test"):
            from ui.app import create_application

            context.app = create_application([sys.argv[0]])
            print(_("Taxon self-test ({executable})").format(executable=sys.executable), flush=True)
            failed = run_checks(context, checks)
            total = len(checks)
            if failed:
                print(
                    ngettext(
                        "{n} of {total} check failed.", "{n} of {total} checks failed.", failed
                    ).format(n=failed, total=total),
                    flush=True,
                )
            else:
                print(_("All {total} checks passed.").format(total=total), flush=True)
    finally:
        from engine.core import workers

        workers.close()
        if home:
            shutil.rmtree(home, ignore_errors=True)
    return 1 if failed else 0
