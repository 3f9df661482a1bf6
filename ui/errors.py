"""One place where errors from any thread become a dialog on the UI thread.

The dialog keeps the ``Message`` its text came from (given, or looked up with
``ui.worker.said`` for a job's failure), so it follows a language switch while open.
"""

from __future__ import annotations

import logging
import sys
import threading

from PySide6.QtCore import QEvent, QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QWidget

from engine.core.i18n import Message, _
from ui.worker import said, unexpected_error_text

log = logging.getLogger(__name__)


def show_error(parent: QWidget | None, message: str | Message, details: str = ""):
    """A modal message; ``details`` (library text, log path) is tucked behind a button.

    ``message`` is a ``Message`` or its text; either way the dialog is translated again
    when the language changes while it is open.
    """
    from PySide6.QtWidgets import QMessageBox  # its enums cost ~5 ms: not before first paint

    class ErrorBox(QMessageBox):
        def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
            super().changeEvent(event)
            if event.type() == QEvent.Type.LanguageChange:
                self.retranslate_ui()

        def retranslate_ui(self) -> None:
            self.setWindowTitle(_("Taxon"))
            if isinstance(self.message, Message):
                self.setText(self.message.text())

    box = ErrorBox(parent)
    box.message = message if isinstance(message, Message) else (said(message) or message)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setText(message if isinstance(message, str) else message.text())
    box.retranslate_ui()
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
