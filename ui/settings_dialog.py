"""Settings: interface language, compute device, and where Taxon keeps its files."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from engine.core import i18n
from engine.core.i18n import N_, _
from engine.core.paths import user_cache_dir, user_data_dir, user_log_dir
from ui.language import LanguageManager
from ui.retranslate import Retranslatable
from ui.settings import DEVICE_KEY, app_settings, device_preference

DEVICE_LABELS = {
    "auto": N_("Automatic (GPU when available)"),
    "cpu": N_("CPU"),
    "cuda": N_("NVIDIA GPU (CUDA)"),
    "mps": N_("Apple GPU (Metal)"),
}


class SettingsDialog(Retranslatable, QDialog):
    def __init__(self, languages: LanguageManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self._languages = languages
        self.language_combo = QComboBox()
        for code, name in i18n.language_choices():
            self.language_combo.addItem(name, code)
        self.language_combo.setCurrentIndex(self.language_combo.findData(i18n.current_language()))
        self.device_combo = QComboBox()
        for code in DEVICE_LABELS:
            self.device_combo.addItem("", code)
        self.device_combo.setCurrentIndex(self.device_combo.findData(device_preference()))
        self._language_label, self._device_label = QLabel(), QLabel()
        self._data_label, self._cache_label, self._logs_label = QLabel(), QLabel(), QLabel()
        self._data_value = QLabel(str(user_data_dir()))
        self._cache_value = QLabel(str(user_cache_dir()))
        self._logs_value = QLabel(str(user_log_dir()))
        form = QFormLayout()
        form.addRow(self._language_label, self.language_combo)
        form.addRow(self._device_label, self.device_combo)
        form.addRow(self._data_label, self._data_value)
        form.addRow(self._cache_label, self._cache_value)
        form.addRow(self._logs_label, self._logs_value)
        self._buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self._buttons.accepted.connect(self.accept)
        self._buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self._buttons)
        self.retranslate_ui()

    def accept(self) -> None:
        app_settings().setValue(DEVICE_KEY, self.device_combo.currentData())
        language = self.language_combo.currentData()
        if language != i18n.current_language():
            self._languages.switch(language)
        super().accept()

    def retranslate_ui(self) -> None:
        self.setWindowTitle(_("Settings"))
        self._language_label.setText(_("Language:"))
        self._device_label.setText(_("Compute device:"))
        self._data_label.setText(_("Data folder:"))
        self._cache_label.setText(_("Cache folder:"))
        self._logs_label.setText(_("Log folder:"))
        for index in range(self.device_combo.count()):
            self.device_combo.setItemText(
                index, _(DEVICE_LABELS[self.device_combo.itemData(index)])
            )
