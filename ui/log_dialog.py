"""Help → View log: the end of the log file, with a way to open its folder."""

from __future__ import annotations

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QFont, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.core.i18n import _
from engine.core.logs import log_file_path
from ui.retranslate import Retranslatable

_TAIL_BYTES = 256 * 1024


def read_log_tail(limit: int = _TAIL_BYTES) -> str:
    path = log_file_path()
    if not path.exists():
        return ""
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - limit))
        return handle.read().decode("utf-8", errors="replace")


class LogDialog(Retranslatable, QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("logDialog")
        self.resize(760, 480)
        self._path_label = QLabel()
        self._path_label.setWordWrap(True)
        self._path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._text = QPlainTextEdit(readOnly=True)
        self._text.setFont(QFont("monospace"))
        self._text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self._text.setLayoutDirection(Qt.LayoutDirection.LeftToRight)  # log lines are English
        self._buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self._open_folder = QPushButton()
        self._copy = QPushButton()
        self._buttons.addButton(self._open_folder, QDialogButtonBox.ButtonRole.ActionRole)
        self._buttons.addButton(self._copy, QDialogButtonBox.ButtonRole.ActionRole)
        self._buttons.rejected.connect(self.reject)
        self._open_folder.clicked.connect(self._open_log_folder)
        self._copy.clicked.connect(
            lambda: QGuiApplication.clipboard().setText(self._text.toPlainText())
        )
        layout = QVBoxLayout(self)
        layout.addWidget(self._path_label)
        layout.addWidget(self._text, 1)
        layout.addWidget(self._buttons)
        self.reload()
        self.retranslate_ui()

    def reload(self) -> None:
        text = read_log_tail()
        self._text.setPlainText(text)
        self._text.moveCursor(self._text.textCursor().MoveOperation.End)

    def _open_log_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(log_file_path().parent)))

    def retranslate_ui(self) -> None:
        self.setWindowTitle(_("Log"))
        # An isolate keeps the path left to right inside Arabic: "/home/…", not "home/…/".
        self._path_label.setText(
            _("Log file: {path}").format(path="\u2068" + str(log_file_path()) + "\u2069")
        )
        self._text.setPlaceholderText(_("The log is empty."))
        self._open_folder.setText(_("Open folder"))
        self._copy.setText(_("Copy"))
