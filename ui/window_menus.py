"""The main window's menu bar: File (projects), Language, Settings and Help.

A mixin of ``MainWindow``, so the actions stay the window's attributes (tests and
shortcuts find them there) while the window's module keeps to navigation, the
status bar and start-up. The dialogs are imported when first opened: they are not
needed for the first paint.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu

from engine.core import i18n
from engine.core.i18n import _
from ui.language import mnemonic


class WindowMenus:
    """Mixin for ``MainWindow`` (a ``QMainWindow`` with ``session`` and ``languages``)."""

    def build_menus(self) -> None:
        bar = self.menuBar()
        self.file_menu = bar.addMenu("")
        self.new_project_action = QAction(self, shortcut=QKeySequence.StandardKey.New)
        self.new_project_action.triggered.connect(self.new_project)
        self.open_project_action = QAction(self, shortcut=QKeySequence.StandardKey.Open)
        self.open_project_action.triggered.connect(self.choose_project)
        self.recent_menu = QMenu(self)
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self.close_project_action = QAction(self)
        self.close_project_action.triggered.connect(lambda: self.session.set_project(None))
        self.file_menu.addAction(self.new_project_action)
        self.file_menu.addAction(self.open_project_action)
        self.file_menu.addMenu(self.recent_menu)
        self.file_menu.addAction(self.close_project_action)
        self.file_menu.addSeparator()
        self.quit_action = QAction(self, shortcut=QKeySequence.StandardKey.Quit)
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.quit_action.triggered.connect(self.close)
        self.file_menu.addAction(self.quit_action)

        self.language_menu = bar.addMenu("")
        self.language_actions = QActionGroup(self)
        # Filled when first opened: naming languages loads Babel's locale data.
        self.language_menu.aboutToShow.connect(self.language_menu_actions)

        self.settings_menu = bar.addMenu("")
        self.preferences_action = QAction(self, shortcut=QKeySequence.StandardKey.Preferences)
        self.preferences_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.preferences_action.triggered.connect(self.open_settings)
        self.settings_menu.addAction(self.preferences_action)

        self.help_menu = bar.addMenu("")
        self.log_action = QAction(self)
        self.log_action.triggered.connect(self.open_log)
        self.about_action = QAction(self)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.about_action.triggered.connect(self.open_about)
        self.shortcuts_action = QAction(self)
        self.shortcuts_action.triggered.connect(self.open_shortcuts)
        self.help_menu.addAction(self.log_action)
        self.help_menu.addAction(self.shortcuts_action)
        self.help_menu.addSeparator()
        self.help_menu.addAction(self.about_action)

    def language_menu_actions(self) -> list[QAction]:
        """One checkable action per shipped language, named in that language."""
        if not self.language_actions.actions():
            for code, name in i18n.language_choices():
                action = QAction(name, self, checkable=True)
                action.setData(code)
                action.setChecked(code == i18n.current_language())
                action.triggered.connect(lambda _checked=False, c=code: self.languages.switch(c))
                self.language_actions.addAction(action)
                self.language_menu.addAction(action)
        return self.language_actions.actions()

    # -- projects ------------------------------------------------------------
    def new_project(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        folder = QFileDialog.getExistingDirectory(
            self, _("Choose an empty folder for the new project")
        )
        if folder:
            self.open_project(folder, create=True)

    def choose_project(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        folder = QFileDialog.getExistingDirectory(self, _("Open a project folder"))
        if folder:
            self.open_project(folder)

    def open_project(self, folder: str, create: bool = False) -> bool:
        """Open (or create) a project; a damaged or newer one is refused with a message."""
        from pathlib import Path

        from engine.core.jobs import UserError
        from engine.data.project import Project, remember_project
        from ui.errors import show_error

        try:
            project = Project.create(folder, Path(folder).name) if create else Project.open(folder)
        except UserError as error:
            show_error(self, error.message, error.details)
            return False
        remember_project(project.folder)
        self.session.set_project(project)
        if project.datasets:
            self.page("dataPage").open_project_dataset(project.datasets[-1].id)
        return True

    def _fill_recent(self) -> None:
        from engine.data.project import recent_projects

        self.recent_menu.clear()
        recent = recent_projects()
        for path in recent:
            action = self.recent_menu.addAction("\u2068" + str(path) + "\u2069")
            action.triggered.connect(lambda _checked=False, p=str(path): self.open_project(p))
        if not recent:
            self.recent_menu.addAction(_("No recent projects")).setEnabled(False)

    # -- dialogs ---------------------------------------------------------------
    def open_settings(self):
        from ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.languages, self)
        dialog.open()
        return dialog

    def open_about(self):
        from ui.about import AboutDialog

        dialog = AboutDialog(self)
        dialog.open()
        return dialog

    def open_shortcuts(self):
        from ui.shortcuts import ShortcutsDialog

        dialog = ShortcutsDialog(self)
        dialog.open()
        return dialog

    def open_log(self):
        from ui.log_dialog import LogDialog

        dialog = LogDialog(self)
        dialog.open()
        return dialog

    # -- text ------------------------------------------------------------------
    def retranslate_menus(self) -> None:
        self.file_menu.setTitle(mnemonic(_("&File")))
        self.new_project_action.setText(mnemonic(_("&New project…")))
        self.open_project_action.setText(mnemonic(_("&Open project…")))
        self.recent_menu.setTitle(mnemonic(_("Open &recent")))
        self.close_project_action.setText(mnemonic(_("&Close project")))
        self.close_project_action.setEnabled(self.session.project is not None)
        self.quit_action.setText(mnemonic(_("&Quit")))
        self.language_menu.setTitle(mnemonic(_("&Language")))
        for action in self.language_actions.actions():
            action.setChecked(action.data() == i18n.current_language())
        self.settings_menu.setTitle(mnemonic(_("&Settings")))
        self.preferences_action.setText(mnemonic(_("&Preferences…")))
        self.help_menu.setTitle(mnemonic(_("&Help")))
        self.log_action.setText(mnemonic(_("View &log")))
        self.shortcuts_action.setText(mnemonic(_("&Keyboard shortcuts")))
        self.about_action.setText(mnemonic(_("&About Taxon")))
