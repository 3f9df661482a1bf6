"""Classify → dataset: give a classified image a label and add it to the open dataset.

One button under the selected result and a context-menu entry on the results
table. The image joins the session's dataset as an ``add_rows`` step of the
cleaning plan (never by editing the user's files), or, when it is already one
of the dataset's images, its label is corrected with a ``relabel`` step. Either
way the next training uses it and the Health page can undo it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMenu, QPushButton, QWidget

from engine.core.i18n import _
from ui.collation import sorted_for_reading
from ui.errors import show_error
from ui.pages.classify.results_model import ROW_ROLE, ResultRow
from ui.retranslate import Retranslatable
from ui.widgets import correction


class AddToDatasetButton(Retranslatable, QPushButton):
    """Installed by ``install(page, window)``; acts on the page's selected result."""

    def __init__(self, page, window: QWidget | None) -> None:
        super().__init__()
        self.setObjectName("addToDatasetButton")
        self.page = page
        self.session = getattr(window, "session", None)
        self.last_message = None
        self.clicked.connect(self.add_selected)
        page.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        page.table.customContextMenuRequested.connect(self._context_menu)
        page.table.selectionModel().currentRowChanged.connect(lambda *_: self._update())
        page.proxy.modelReset.connect(self._update)
        self._update()
        self.retranslate_ui()

    def selected_row(self) -> ResultRow | None:
        index = self.page.table.selectionModel().currentIndex()
        return index.data(ROW_ROLE) if index.isValid() else None

    def _update(self) -> None:
        row = self.selected_row()
        self.setEnabled(row is not None and row.error is None)

    def _context_menu(self, position) -> None:
        index = self.page.table.indexAt(position)
        if not index.isValid():
            return
        self.page.table.selectRow(index.row())
        menu = QMenu(self)
        action = menu.addAction(_("Add to dataset…"), self.add_selected)
        action.setEnabled(self.isEnabled())
        menu.popup(self.page.table.viewport().mapToGlobal(position))

    def problem(self) -> str | None:
        """Why the selected image cannot be added now (translated), or None."""
        dataset = self.session.current if self.session is not None else None
        if dataset is None:
            return _(
                "No dataset is open. Import one on the Data page first, then add "
                "images to it from here."
            )
        if dataset.task != "image":
            return _("The open dataset holds texts; images can be added to an image dataset only.")
        return None

    def add_selected(self) -> None:
        row = self.selected_row()
        if row is None or row.error is not None:
            return
        problem = self.problem()
        if problem:
            self.page.status.setText(problem)
            show_error(self, problem)
            return
        dataset = self.session.current
        labels = sorted_for_reading(dataset.class_counts().index.astype(str))
        label = correction.ask_label(
            self,
            _("Add {item} to the dataset “{dataset}” with the label:").format(
                item=correction.short_item(row.path, "image"), dataset=dataset.name
            ),
            labels,
            row.label if row.label in labels else None,
        )
        if label:
            self.add(row.path, label)

    def add(self, path: str, label: str) -> bool:
        """Add (or relabel) ``path`` with ``label`` in the session's dataset."""
        if self.problem():
            return False
        message = correction.apply_label(self.session, path, label)
        if message is None:
            return False
        self.last_message = message
        self.page.status.setText(message.text())
        return True

    def retranslate_ui(self) -> None:
        self.setText(_("Add to dataset…"))
        self.setToolTip(
            _(
                "Label this image and add it to the dataset open on the Data page; "
                "the next training uses it."
            )
        )


def install(page, window: QWidget | None) -> AddToDatasetButton:
    """Put the button under the detail panel and the entry in the table's context menu."""
    button = AddToDatasetButton(page, window)
    page.detail.layout().addWidget(button)
    return button
