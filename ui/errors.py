"""One place where errors from any thread become a dialog on the UI thread."""

from __future__ import annotations

import logging
import sys
import threading

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QWidget

from engine.i18n import _
from ui.worker import unexpected_error_text

log = logging.getLogger(__name__)


def show_error(parent: QWidget | None, message: str, details: str = ""):
    """A modal message; ``details`` (library text, log path) is tucked behind a button."""
    from PySide6.QtWidgets import QMessageBox  # its enums cost ~5 ms: not before first paint

    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(_("Taxon"))
    box.setText(message)
    if details:
        box.setDetailedText(details)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()  # window-modal but not blocking: background jobs and repaints go on
    return box


class _Relay(QObject):
    """Carries an unexpected error from any thread to the UI thread."""

    unexpected = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.parent_widget: QWidget | None = None
        self.unexpected.connect(self._show, Qt.ConnectionType.QueuedConnection)

    @Slot()
    def _show(self) -> None:
        show_error(self.parent_widget, *unexpected_error_text())


_relay: _Relay | None = None


def install_excepthooks(parent: QWidget | None) -> None:
    """Route uncaught exceptions (UI thread and Python threads) to the log and a dialog."""
    global _relay
    _relay = _Relay()
    _relay.parent_widget = parent

    def on_exception(kind, value, traceback) -> None:
        log.error("Uncaught exception", exc_info=(kind, value, traceback))
        if _relay is not None:
            _relay.unexpected.emit()

    def on_thread_exception(args: threading.ExceptHookArgs) -> None:
        on_exception(args.exc_type, args.exc_value, args.exc_traceback)

    sys.excepthook = on_exception
    threading.excepthook = on_thread_exception
