"""Window-wide keyboard shortcuts and the Help → Keyboard shortcuts list.

Ctrl+1… open the pages in navigation order. The others act on the page on
screen, by the names pages already use: Ctrl+F focuses its ``filter_edit``,
Ctrl+E presses its export (or report) button, F5 presses its check or evaluate
button, Esc presses the Cancel of its running job. A page without the widget
ignores the key.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractButton,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.core.i18n import N_, _
from ui.retranslate import Retranslatable

FILTER_WIDGETS = ("filter_edit",)
EXPORT_BUTTONS = ("text_panel.export_button", "export_button", "report_button")
RERUN_BUTTONS = ("check_button", "evaluate_button")

#: (keys, what they do): the Help list; keys in Qt's portable form, shown natively.
SHORTCUTS: list[tuple[str, str]] = [
    ("Ctrl+1", N_("Go to the first page (Classify); Ctrl+2… the next pages, in the list's order")),
    ("Ctrl+N", N_("New project")),
    ("Ctrl+O", N_("Open a project")),
    ("Ctrl+V", N_("Classify the image or files on the clipboard (Classify page)")),
    ("Ctrl+Return", N_("Classify the typed text (Classify page, text model)")),
    ("Ctrl+F", N_("Search the results (Classify page)")),
    ("Ctrl+E", N_("Export the results or the report of the page on screen")),
    ("F5", N_("Check the data again (Health page) or evaluate again (Evaluate page)")),
    ("Esc", N_("Cancel the job running on the page on screen")),
]


def _widget(page: QWidget, path: str):
    target = page
    for name in path.split("."):
        target = getattr(target, name, None)
        if target is None:
            return None
    return target


def _usable(page: QWidget, paths: tuple[str, ...]):
    for path in paths:
        widget = _widget(page, path)
        if isinstance(widget, QWidget) and widget.isVisibleTo(page) and widget.isEnabled():
            return widget
    return None


def focus_filter(page: QWidget) -> bool:
    edit = _usable(page, FILTER_WIDGETS)
    if edit is None:
        return False
    edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
    edit.selectAll()
    return True


def press(page: QWidget, paths: tuple[str, ...]) -> bool:
    button = _usable(page, paths)
    if not isinstance(button, QAbstractButton):
        return False
    if isinstance(button, QToolButton) and button.menu() is not None:
        button.showMenu()
    else:
        button.click()
    return True


def cancel_job(page: QWidget) -> bool:
    from ui.job_bar import JobBar

    for bar in page.findChildren(JobBar):
        if bar.worker is not None and bar.cancel_button.isVisibleTo(page):
            bar.cancel_button.click()
            return True
    return False


def install(window) -> list[QAction]:
    """Add the shortcuts to ``window`` (a ``MainWindow``); returns the actions (tests)."""
    actions = []

    def add(keys: str, slot) -> None:
        action = QAction(window)
        action.setShortcut(QKeySequence(keys))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(slot)
        window.addAction(action)
        actions.append(action)

    for row in range(min(9, window.nav.count())):
        add(f"Ctrl+{row + 1}", lambda _checked=False, r=row: window.nav.setCurrentRow(r))
    add("Ctrl+F", lambda: focus_filter(window.pages.currentWidget()))
    add("Ctrl+E", lambda: press(window.pages.currentWidget(), EXPORT_BUTTONS))
    add("F5", lambda: press(window.pages.currentWidget(), RERUN_BUTTONS))
    add("Esc", lambda: cancel_job(window.pages.currentWidget()))
    return actions


class ShortcutsDialog(Retranslatable, QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shortcutsDialog")
        self.resize(560, 400)
        self.table = QTableWidget(len(SHORTCUTS), 2)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        self.setWindowTitle(_("Keyboard shortcuts"))
        self.table.setHorizontalHeaderLabels([_("Keys"), _("What they do")])
        for row, (keys, text) in enumerate(SHORTCUTS):
            native = QKeySequence(keys).toString(QKeySequence.SequenceFormat.NativeText)
            key_item = QTableWidgetItem("\u2066" + native + "\u2069")  # keys read left to right
            self.table.setItem(row, 0, key_item)
            self.table.setItem(row, 1, QTableWidgetItem(_(text)))
        self.table.resizeRowsToContents()
