"""Asking for a label: pick one the dataset already has, or type a new one.

Shared by "Correct label…" on the Evaluate page and "Add to dataset…" on the
Classify page. ``ask_label`` is the one call; tests replace it.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from engine.core.i18n import _
from ui.collation import sorted_for_reading
from ui.retranslate import Retranslatable


class LabelDialog(Retranslatable, QDialog):
    def __init__(
        self, prompt: str, labels: list[str], current: str | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("labelDialog")
        self.prompt = QLabel(prompt)
        self.prompt.setWordWrap(True)
        self.combo = QComboBox()
        self.combo.setEditable(True)
        self.combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.combo.addItems(sorted_for_reading(labels))
        if current is not None:
            self.combo.setCurrentText(current)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.combo.currentTextChanged.connect(self._update_ok)
        layout = QVBoxLayout(self)
        layout.addWidget(self.prompt)
        layout.addWidget(self.combo)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(360)
        self._update_ok()
        self.retranslate_ui()

    @property
    def label(self) -> str:
        return self.combo.currentText().strip()

    def _update_ok(self) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(self.label))

    def retranslate_ui(self) -> None:
        self.setWindowTitle(_("Choose a label"))
        self.combo.lineEdit().setPlaceholderText(_("Type a new label or pick one"))


def ask_label(
    parent: QWidget | None, prompt: str, labels: list[str], current: str | None = None
) -> str | None:
    """The label the user chose (trimmed), or None when they cancelled."""
    dialog = LabelDialog(prompt, labels, current, parent)
    try:
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.label:
            return dialog.label
        return None
    finally:
        dialog.deleteLater()
