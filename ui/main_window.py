"""The main window: navigation between pages, the status bar, and start-up.

Pages are widget classes with static ``nav_title()`` and ``nav_icon()`` and a
``page_id``; only pages that work are listed. The first page is built at once,
the others when first shown, so start-up pays only for what is on screen. A page
asks for another one by signal (``ui.page.Page``), which the window connects when
it builds the page. The menus are in ``ui.window_menus``. Heavy work (importing
torch to name the compute device, warming up models) starts after the first
paint, so the window appears at once.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable

from PySide6.QtCore import QByteArray, QLocale, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QIcon,
    QPaintEvent,
)
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from engine.core import i18n
from engine.core.devices import DeviceInfo, describe, select_device
from engine.core.i18n import _
from engine.core.paths import resources_dir
from ui.language import LanguageManager
from ui.page import Page
from ui.retranslate import Retranslatable
from ui.session import Session
from ui.settings import GEOMETRY_KEY, app_settings, device_preference
from ui.window_menus import WindowMenus
from ui.worker import JobWorker, running_workers

EXIT_AFTER_PAINT_ENV = "TAXON_EXIT_AFTER_PAINT"
#: Libraries that must load after the first paint, on a worker thread or on demand.
HEAVY_MODULES = ("torch", "onnxruntime", "transformers", "timm", "numpy", "pandas", "sklearn")


def app_icon() -> QIcon:
    icon = QIcon()
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        icon.addFile(str(resources_dir() / "icons" / f"taxon-{size}.png"), QSize(size, size))
    return icon


class MainWindow(Retranslatable, WindowMenus, QMainWindow):
    first_painted = Signal()

    def __init__(
        self, languages: LanguageManager, page_factories: list[Callable[[MainWindow], QWidget]]
    ) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.languages = languages
        self._painted = False
        self.device_info: DeviceInfo | None = None
        self._device_worker: JobWorker | None = None
        self.setWindowIcon(app_icon())
        self.session = Session(self)
        self.session.project_changed.connect(self.retranslate_ui)

        self.nav = QListWidget()
        self.nav.setObjectName("navigation")
        self.nav.setIconSize(QSize(22, 22))
        self.nav.setFixedWidth(190)
        self.nav.setSpacing(2)
        self.pages = QStackedWidget()
        self.nav.currentRowChanged.connect(self._show_row)
        from ui.fonts import FontWarningBar

        self.font_warning = FontWarningBar()
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(self.font_warning)
        layout = QHBoxLayout()
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.nav)
        layout.addWidget(self.pages, 1)
        outer.addLayout(layout, 1)
        self.setCentralWidget(central)
        self.setAcceptDrops(True)  # files dropped anywhere: see ui.drops
        self.drop_question = None
        self._factories = list(page_factories)
        for _factory in self._factories:
            self.pages.addWidget(QWidget())  # replaced by the real page when first shown
            QListWidgetItem(self.nav)
        self._built: dict[int, QWidget] = {}
        self.nav.setCurrentRow(0)

        self.device_label = QLabel()
        self.device_label.setObjectName("deviceLabel")
        self.offline_label = QLabel()
        self.offline_label.setObjectName("offlineLabel")
        self.offline_label.setStyleSheet("color: #1d7a3a; font-weight: 600; padding: 0 6px;")
        self.statusBar().addPermanentWidget(self.device_label)
        self.statusBar().addPermanentWidget(self.offline_label)

        # An explicit minimum: a page whose content grows (a long translation, a selected
        # result) never makes the window resize itself; pages fit 800×600 on their own.
        self.setMinimumSize(QSize(640, 480))
        self.build_menus()
        from ui import shortcuts

        self.shortcut_actions = shortcuts.install(self)
        self.retranslate_ui()
        self.first_painted.connect(self._after_first_paint, Qt.ConnectionType.QueuedConnection)
        geometry = app_settings().value(GEOMETRY_KEY)
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1100, 720)

    # -- pages -------------------------------------------------------------
    def _show_row(self, row: int) -> None:
        if row >= 0:
            self.pages.setCurrentWidget(self.page_at(row))

    def page_at(self, row: int) -> QWidget:
        """The page in navigation row ``row``, built on first use."""
        if row not in self._built:
            page = self._factories[row](self)
            if isinstance(page, Page):  # pages ask for each other through the window
                page.navigate.connect(self.go_to)
                page.model_requested.connect(self.use_model_on)
            placeholder = self.pages.widget(row)
            self.pages.insertWidget(row, page)
            self.pages.removeWidget(placeholder)
            placeholder.deleteLater()
            self._built[row] = page
        return self._built[row]

    def page_ids(self) -> list[str]:
        """The ids of the window's pages, in navigation order (built or not)."""
        return [factory.page_id for factory in self._factories]

    def page(self, page_id: str) -> QWidget:
        ids = self.page_ids()
        if page_id not in ids:
            raise KeyError(page_id)
        return self.page_at(ids.index(page_id))

    def built_pages(self) -> list[QWidget]:
        return [self._built[row] for row in sorted(self._built)]

    def show_page(self, page: QWidget) -> None:
        self.nav.setCurrentRow(next(row for row, built in self._built.items() if built is page))

    def go_to(self, page_id: str) -> None:
        """Show the page ``page_id`` (a page's ``navigate`` signal)."""
        self.show_page(self.page(page_id))

    def use_model_on(self, page_id: str, path: str) -> None:
        """Show the page ``page_id`` with the model at ``path`` (a page's ``model_requested``)."""
        page = self.page(page_id)
        page.use_model(path)
        self.show_page(page)

    def _retranslate_nav(self) -> None:
        for row, factory in enumerate(self._factories):
            item = self.nav.item(row)
            item.setText(factory.nav_title())
            item.setIcon(factory.nav_icon())

    # -- files dropped anywhere ---------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt's name
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt's name
        from ui.drops import handle_drop

        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            handle_drop(self, paths)

    def retranslate_ui(self) -> None:
        self.retranslate_menus()
        project = self.session.project
        self.setWindowTitle(
            _("Taxon") if project is None else _("{project} — Taxon").format(project=project.name)
        )
        self.offline_label.setText(_("● Offline"))
        self.offline_label.setToolTip(
            _("Taxon never connects to the internet. Your data and models stay on this computer.")
        )
        self.device_label.setText(
            describe(self.device_info) if self.device_info else _("Detecting compute device…")
        )
        self._retranslate_nav()
        for spin in self.findChildren(QAbstractSpinBox):  # "25" becomes "٢٥" after a switch
            spin.setLocale(QLocale())
        QTimer.singleShot(0, self, self._refit_combos)  # once every widget has its new text

    def _refit_combos(self) -> None:
        """A combo box sizes itself to its items once, when first shown: after a switch to a
        longer language its text would be cut ("Все результа"). Changing the policy and back
        makes it measure the new texts."""
        first_show = QComboBox.SizeAdjustPolicy.AdjustToContentsOnFirstShow
        for combo in self.findChildren(QComboBox):
            if combo.sizeAdjustPolicy() == first_show:
                combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
                combo.setSizeAdjustPolicy(first_show)

    # -- start-up ----------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            self.first_painted.emit()

    def _after_first_paint(self) -> None:
        if os.environ.get(EXIT_AFTER_PAINT_ENV):
            heavy = [name for name in HEAVY_MODULES if name in sys.modules]
            print(
                json.dumps(
                    {
                        "painted_at": time.time(),
                        "torch_imported": "torch" in sys.modules,
                        "heavy_imported": heavy,
                    }
                ),
                flush=True,
            )
            QTimer.singleShot(0, self.close)
            return
        self.detect_device()
        self.check_fonts()
        for page in self.built_pages():
            warm_up = getattr(page, "warm_up", None)
            if warm_up is not None:
                warm_up()

    def check_fonts(self) -> None:
        """Once per language: say when no installed font can show the UI language."""
        from ui.fonts import should_warn

        language = i18n.current_language()
        if should_warn(language):
            self.font_warning.warn(language)

    def detect_device(self) -> None:
        preference = device_preference()

        def job(progress, cancel):
            from engine.core.torch_preload import import_torch

            import_torch()  # in pieces: one long import would freeze the window (0.3–0.7 s)
            return select_device(preference)

        self._device_worker = JobWorker(job, name="device")
        self._device_worker.finished.connect(self._on_device)
        self._device_worker.failed.connect(self._on_device_failed)
        self._device_worker.start()

    def _on_device(self, info: DeviceInfo) -> None:
        self.device_info = info
        self.device_label.setText(describe(info))

    def _on_device_failed(self, message: str, details: str) -> None:
        """The preferred device is missing (e.g. CUDA chosen, none present): say so."""
        self.device_label.setText(message)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        app_settings().setValue(GEOMETRY_KEY, self.saveGeometry())
        for worker in running_workers():
            worker.cancel()
        for worker in running_workers():
            worker.wait(5_000)
        self.session.autosave()
        for page in self.built_pages():
            shutdown = getattr(page, "shutdown", None)
            if shutdown is not None:
                shutdown()
        super().closeEvent(event)
