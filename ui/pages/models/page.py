"""The Models page: every model the user trained or opened, with or without a project.

It shows the model library (``engine.models.library``): name, task, classes,
accuracy, date, size and where each model is. From here a model is renamed (in
the library only: packages are checksummed), removed from the list or deleted
(to the trash), shown in the file manager, exported to one file, or used on
the Classify or Evaluate page. The list is read again each time the page is
shown, so models trained by ``train`` in a terminal meanwhile appear too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QTableView,
    QVBoxLayout,
)

from engine.core import i18n
from engine.core.i18n import N_, _, ngettext
from engine.core.jobs import UserError
from engine.models.library import (
    MSG_CANNOT_TRASH,
    OPENED,
    LibraryEntry,
    ModelLibrary,
    register,
)
from ui.errors import show_error
from ui.flow_layout import FlowLayout
from ui.page import Page
from ui.pages.models import actions
from ui.pages.models.table import (
    LOCATION,
    PATH_ROLE,
    LibrarySortProxy,
    LibraryTableModel,
)

log = logging.getLogger(__name__)


class ModelsPage(Page):
    page_id = "modelsPage"

    def __init__(self, window) -> None:
        super().__init__(window)
        self.library = ModelLibrary()
        self._build()
        self.session.models_changed.connect(self.refresh)
        self.session.project_changed.connect(self.refresh)
        self.refresh()
        self.retranslate_ui()

    # -- layout ------------------------------------------------------------------
    def _build(self) -> None:
        self.intro = QLabel()
        self.intro.setObjectName("modelsIntro")
        self.intro.setWordWrap(True)
        self.table = LibraryTableModel(self)
        self.proxy = LibrarySortProxy(self.table, self)
        self.view = QTableView()
        self.view.setObjectName("modelsTable")
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # the library's order: newest first
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setWordWrap(False)
        self.view.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # paths: keep both ends
        self.view.verticalHeader().setVisible(False)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)  # names in full
        header.setSectionResizeMode(LOCATION, QHeaderView.ResizeMode.Stretch)  # elided mid-path
        self.view.selectionModel().selectionChanged.connect(self._update_buttons)
        self.view.doubleClicked.connect(lambda _index: self.use_in_classify())

        self.classify_button = self._button("modelsClassify", self.use_in_classify)
        self.evaluate_button = self._button("modelsEvaluate", self.use_in_evaluate)
        self.rename_button = self._button("modelsRename", self.rename)
        self.export_button = self._button("modelsExport", self._export_clicked)
        self.export_menu = QMenu(self)
        self.folder_button = self._button("modelsShowFolder", self.show_folder)
        self.serve_button = self._button("modelsServe", self.serve)
        self.remove_button = self._button("modelsRemove", self.remove)
        buttons = FlowLayout()  # wraps in narrow windows and long languages (800×600 must fit)
        for button in (
            self.classify_button,
            self.evaluate_button,
            self.rename_button,
            self.export_button,
            self.serve_button,
            self.folder_button,
            self.remove_button,
        ):
            buttons.addWidget(button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.bar)

    def _button(self, name: str, slot: Callable[[], None]) -> QPushButton:
        button = QPushButton()
        button.setObjectName(name)
        button.clicked.connect(slot)
        return button

    # -- the list ----------------------------------------------------------------
    def refresh(self) -> None:
        """Read the library again, keeping the selected model selected."""
        selected = self.selected_path()
        self._adopt_project_models()
        self.table.set_entries(self.library.entries())
        if selected:
            self.select(selected)
        elif self.table.rowCount():
            self.view.selectRow(0)
        self._update_buttons()
        self._retranslate_intro()

    def _adopt_project_models(self) -> None:
        """The open project's models belong in the library too (a project from another
        computer, or from before the library existed)."""
        project = self.session.project
        for model in project.models if project is not None else []:
            path = Path(model.path)
            if path.exists() and self.library.get(path) is None:
                register(path, OPENED, self.library)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.refresh()  # a terminal's ``train`` may have added one meanwhile
        super().showEvent(event)

    def selected_path(self) -> str | None:
        rows = self.view.selectionModel().selectedRows()
        return self.proxy.data(rows[0], PATH_ROLE) if rows else None

    def selected(self) -> LibraryEntry | None:
        path = self.selected_path()
        return next((entry for entry in self.table.entries if entry.path == path), None)

    def select(self, path: str) -> bool:
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, 0)
            if self.proxy.data(index, PATH_ROLE) == path:
                self.view.selectionModel().select(
                    index,
                    QItemSelectionModel.SelectionFlag.ClearAndSelect
                    | QItemSelectionModel.SelectionFlag.Rows,
                )
                self.view.setCurrentIndex(index)
                return True
        return False

    def _changed(self) -> None:
        """The library changed here: every chooser reads it again."""
        self.session.models_changed.emit()  # also refreshes this page

    # -- actions -------------------------------------------------------------------
    def _usable(self) -> LibraryEntry | None:
        entry = self.selected()
        return entry if entry is not None and not entry.missing else None

    def use_in_classify(self) -> None:
        entry = self._usable()
        if entry is not None:
            self.use_model_on("classifyPage", entry.path)

    def use_in_evaluate(self) -> None:
        entry = self._usable()
        if entry is not None:
            self.use_model_on("evaluatePage", entry.path)

    def rename(self) -> None:
        entry = self.selected()
        if entry is None:
            return
        name = self.ask_name(entry)
        if name is None or name.strip() == entry.name:
            return
        try:
            renamed = self.library.rename(entry.path, name)
        except (UserError, OSError) as error:
            self._failed(error)
            return
        self._changed()
        self.set_status(lambda: _("Renamed to “{name}”.").format(name=renamed.name))

    def ask_name(self, entry: LibraryEntry) -> str | None:
        """The new name, or None when cancelled (a seam for tests)."""
        name, ok = QInputDialog.getText(
            self, _("Rename a model"), _("New name:"), QLineEdit.EchoMode.Normal, entry.name
        )
        return name if ok else None

    def remove(self) -> None:
        entry = self.selected()
        if entry is None:
            return
        choice = actions.ask_removal(self, entry)
        if choice is None:
            return
        try:
            if choice == actions.FROM_LIST:
                self.library.remove(entry.path)
                done = N_("“{name}” was removed from the list; its files were not touched.")
            else:
                self._delete(entry, permanently=choice == actions.FOR_GOOD)
                done = N_("“{name}” was deleted.")
        except (UserError, OSError) as error:
            self._failed(error)
            self.refresh()
            return
        name = entry.name
        self._changed()
        self.set_status(lambda: _(done).format(name=name))

    def _delete(self, entry: LibraryEntry, permanently: bool) -> None:
        try:
            self.library.delete(entry.path, permanently=permanently)
        except UserError as error:
            if permanently or not entry.trained_by_taxon or error.msgid != MSG_CANNOT_TRASH:
                raise
            if not actions.confirm_delete_for_good(self, entry, error.message):
                raise
            self.library.delete(entry.path, permanently=True)

    def show_folder(self) -> None:
        entry = self._usable()
        if entry is not None and not actions.show_in_folder(entry.path):
            self.set_status(lambda: _("The system could not open the folder."))

    def _export_clicked(self) -> None:
        if len(actions.EXPORT_FORMATS) == 1:
            self.export(actions.EXPORT_FORMATS[0])
            return
        self.export_menu.clear()
        for fmt in actions.EXPORT_FORMATS:
            self.export_menu.addAction(_(fmt.title), lambda f=fmt: self.export(f))
        self.export_menu.popup(
            self.export_button.mapToGlobal(self.export_button.rect().bottomLeft())
        )

    def serve(self) -> None:
        """Open the prediction service dialog for the selected model."""
        from ui.pages.models.service import open_service

        entry = self._usable()
        if entry is not None:
            self.service_dialog = open_service(self, entry.path, entry.name, entry.task)

    def export(self, fmt: actions.ExportFormat, out: str | None = None) -> None:
        """Write the selected model in ``fmt`` (asks where unless ``out`` is given)."""
        entry = self._usable()
        if entry is None:
            return
        if out is None:
            suggested = str(Path.home() / (entry.name + fmt.suffix))
            out, _filter = QFileDialog.getSaveFileName(
                self, _("Export the model"), suggested, fmt.filter_text()
            )
        if not out:
            return
        source = entry.path

        def finished(target: Path) -> None:
            self.set_status(
                lambda: _("Exported to {path}").format(path=actions.isolate(str(target)))
            )

        self.run_job(
            "export-model",
            lambda progress, cancel: fmt.run(source, out, progress, cancel),
            finished,
            _("Exporting the model…"),
        )

    # -- state and text --------------------------------------------------------------
    def _failed(self, error: Exception) -> None:
        if isinstance(error, UserError):
            show_error(self, error.message, error.details)
        else:
            show_error(self, _("Taxon could not change the list of models."), str(error))

    def job_running_changed(self, running: bool) -> None:
        self._update_buttons()

    def _update_buttons(self, *_args) -> None:
        entry = self.selected()
        running = self.job is not None
        usable = entry is not None and not entry.missing
        for button in (
            self.classify_button,
            self.evaluate_button,
            self.folder_button,
            self.serve_button,
        ):
            button.setEnabled(usable)
        self.export_button.setEnabled(usable and not running)
        self.rename_button.setEnabled(entry is not None)
        self.remove_button.setEnabled(entry is not None and not running)

    def _retranslate_intro(self) -> None:
        count = self.table.rowCount()
        missing = sum(self.table.missing)
        if not count:
            self.intro.setText(
                _(
                    "No models yet. Models you train on the Train page, or open on "
                    "the Classify or Evaluate page, are listed here."
                )
            )
            return
        text = ngettext(
            "{n} model you trained or opened, with or without a project.",
            "{n} models you trained or opened, with or without a project.",
            count,
        ).format(n=i18n.format_number(count))
        if missing:
            text += " " + ngettext(
                "{n} is missing: its folder was moved or deleted.",
                "{n} are missing: their folders were moved or deleted.",
                missing,
            ).format(n=i18n.format_number(missing))
        self.intro.setText(text)

    def retranslate_ui(self) -> None:
        self.classify_button.setText(_("Use in Classify"))
        self.evaluate_button.setText(_("Evaluate"))
        self.rename_button.setText(_("Rename…"))
        self.export_button.setText(_("Export…"))
        self.folder_button.setText(_("Show in folder"))
        self.serve_button.setText(_("Serve…"))
        self.remove_button.setText(_("Remove…"))
        self.table.retranslate()
        self._retranslate_intro()
        self.retranslate_status()
