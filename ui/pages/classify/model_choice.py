"""The Classify page's model chooser: the built-in model, the project's trained models,
models trained or opened this session, every model in the model library (so a restart
forgets none), and "Open a trained model…".

Entries hold the package folder (or ``.taxon-model`` file) as data ("builtin" for
the ImageNet model), so the page only ever asks "which folder?"; names are
re-read on each refresh, and the list is refreshed each time it opens, so a
model trained meanwhile by ``train`` in a terminal is there too.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QFileDialog, QWidget

from engine.core import i18n
from engine.core.i18n import _
from engine.models.library import ModelLibrary, register

BUILTIN = "builtin"
OPEN = "open"


class ModelChooser(QComboBox):
    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelChooser")
        self.session = session
        self.opened: dict[str, str] = {}  # folder -> name, opened with "Open a trained model…"
        self.current_key = BUILTIN
        self.refresh()

    def choices(self) -> list[tuple[str, str]]:
        """(folder, name) of every trained model the user can pick; a name given on the
        Models page wins, and models whose folder vanished are left out."""
        seen: dict[str, str] = {}
        if self.session is not None:
            project = self.session.project
            for entry in project.models if project is not None else []:
                seen.setdefault(str(Path(entry.path).resolve()), entry.name)
            for path, name in self.session.trained_models():
                seen.setdefault(str(Path(path).resolve()), name)
        for key, name in self.opened.items():
            seen.setdefault(key, name)
        for entry in ModelLibrary().entries():
            if not entry.missing:
                seen[entry.path] = entry.name
        return list(seen.items())

    def refresh(self) -> None:
        self.blockSignals(True)
        self.clear()
        self.addItem(
            _("Built-in: ImageNet ({count} everyday objects)").format(
                count=i18n.format_number(1000)
            ),
            BUILTIN,
        )
        for key, name in self.choices():
            self.addItem(_("Trained: {name}").format(name="\u2068" + name + "\u2069"), key)
            self.setItemData(
                self.count() - 1, "\u2068" + key + "\u2069", Qt.ItemDataRole.ToolTipRole
            )  # the folder, isolated in RTL
        self.addItem(_("Open a trained model…"), OPEN)
        self.setCurrentIndex(max(0, self.findData(self.current_key)))
        self.setToolTip(self.currentText())  # the whole name where a narrow window cuts it
        self.blockSignals(False)

    def showPopup(self) -> None:  # noqa: N802 - Qt's name
        self.refresh()  # models trained elsewhere or renamed meanwhile
        super().showPopup()

    def ask_for_folder(self) -> str | None:
        folder = QFileDialog.getExistingDirectory(self, _("Open a trained model"))
        return str(Path(folder).resolve()) if folder else None

    def remember(self, key: str, name: str) -> None:
        """A model was loaded: remember it here and in the model library."""
        if key != BUILTIN:
            entry = register(key)  # reads only the manifest: the loader just checked the package
            if entry is not None:
                name = entry.name
            if key not in dict(self.choices()):
                self.opened[key] = name
        self.current_key = key
        self.refresh()
