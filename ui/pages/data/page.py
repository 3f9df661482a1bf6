"""The Data page: import an image folder or a table, see its classes and rows.

Loading runs as a job (progress, cancel). The table below is a virtual model
over the dataset's DataFrame, so a million rows scroll smoothly. The page shows
the dataset as it is after the cleaning plan (see ``ui.session``).
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from engine.core import i18n
from engine.core.i18n import _, ngettext
from ui.drops import local_paths
from ui.flow_layout import FlowLayout
from ui.page import Page
from ui.pages.data.charts import BarChart
from ui.pages.data.table_model import THUMB, DataTableModel

TABLE_SUFFIXES = {".csv", ".tsv", ".tab", ".txt", ".xlsx", ".xlsm", ".jsonl", ".ndjson", ".parquet"}


class DataPage(Page):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.setAcceptDrops(True)

        self.import_folder_button = QPushButton()
        self.import_folder_button.clicked.connect(self.choose_folder)
        self.import_table_button = QPushButton()
        self.import_table_button.clicked.connect(self.choose_table)
        self.dataset_label = QLabel()
        self.dataset_combo = QComboBox()
        self.dataset_combo.activated.connect(self._project_dataset_chosen)
        self.dataset_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.dataset_combo.setMinimumContentsLength(14)
        top = FlowLayout()  # wraps in narrow windows and long languages
        top.addWidget(self.import_folder_button)
        top.addWidget(self.import_table_button)
        top.addWidget(self.dataset_label)
        top.addWidget(self.dataset_combo)

        self.summary = QLabel()
        self.summary.setObjectName("dataSummary")
        self.summary.setWordWrap(True)
        self.warnings = QLabel()
        self.warnings.setWordWrap(True)
        self.warnings.setStyleSheet("color: #b35900;")

        self.class_chart = BarChart()
        self.language_chart = BarChart()
        charts = QWidget()
        charts_layout = QVBoxLayout(charts)
        charts_layout.addWidget(self.class_chart)
        charts_layout.addWidget(self.language_chart)
        charts_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(charts)
        # Image rows show a small thumbnail, decoded off the UI thread (``table_model``).
        self.model = DataTableModel()
        self.table = QTableView()
        self.table.setObjectName("dataTable")
        self.table.setModel(self.model)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # a path keeps its file name
        self.table.setIconSize(QSize(THUMB, THUMB))
        self._text_row_height = self.table.verticalHeader().defaultSectionSize()
        splitter = QSplitter()
        splitter.addWidget(scroll)
        splitter.addWidget(self.table)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(self.warnings)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.bar)

        self.session.dataset_changed.connect(self.refresh)
        self.session.plan_changed.connect(self.refresh)
        self.session.findings_changed.connect(self._refresh_languages)
        self.session.project_changed.connect(self._refresh_project)
        self.retranslate_ui()
        self.refresh()
        self._refresh_project()

    page_id = "dataPage"

    # -- importing ----------------------------------------------------------------
    def choose_folder(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        folder = QFileDialog.getExistingDirectory(self, _("Import an image folder"))
        if folder:
            self.import_path(folder)

    def choose_table(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        patterns = " ".join(f"*{suffix}" for suffix in sorted(TABLE_SUFFIXES))
        path, _selected = QFileDialog.getOpenFileName(
            self, _("Import a table"), "", _("Tables") + f" ({patterns})"
        )
        if path:
            self.import_path(path)

    def import_path(self, path: str, options: dict | None = None) -> None:
        """A folder loads as an image dataset; a table first opens the import dialog."""
        target = Path(path)
        if target.is_file() and options is None:
            from ui.pages.data.import_dialog import TableImportDialog

            dialog = TableImportDialog(str(target), self)
            self._dialog = dialog
            dialog.accepted.connect(lambda: self.import_path(str(target), dialog.options()))
            dialog.open()
            return
        self.load(lambda progress, cancel: _load(target, options, progress, cancel))

    def load(self, job, dataset_id: str | None = None, plan_json: dict | None = None) -> None:
        self.run_job(
            "load-dataset",
            job,
            lambda dataset: self._loaded(dataset, dataset_id, plan_json),
            _("Reading the data…"),
        )

    def _loaded(self, dataset, dataset_id, plan_json) -> None:
        self.status.setText("")
        self.session.set_dataset(dataset, dataset_id, plan_json)
        self._refresh_project()

    def job_running_changed(self, running: bool) -> None:
        self.import_folder_button.setEnabled(not running)
        self.import_table_button.setEnabled(not running)

    # -- drag and drop --------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        paths = local_paths(event.mimeData())
        if len(paths) == 1 and (
            Path(paths[0]).is_dir() or Path(paths[0]).suffix.lower() in TABLE_SUFFIXES
        ):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = local_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.import_path(paths[0])

    # -- project -------------------------------------------------------------------
    def _refresh_project(self) -> None:
        project = self.session.project
        entries = project.datasets if project is not None else []
        self.dataset_combo.clear()
        for entry in entries:
            self.dataset_combo.addItem(entry.name, entry.id)
        if self.session.dataset_id is not None:
            self.dataset_combo.setCurrentIndex(self.dataset_combo.findData(self.session.dataset_id))
        visible = bool(entries)
        self.dataset_label.setVisible(visible)
        self.dataset_combo.setVisible(visible)

    def _project_dataset_chosen(self, index: int) -> None:
        project = self.session.project
        dataset_id = self.dataset_combo.itemData(index)
        if project is None or dataset_id is None or dataset_id == self.session.dataset_id:
            return
        self.open_project_dataset(dataset_id)

    def open_project_dataset(self, dataset_id: str) -> None:
        entry = self.session.project.dataset(dataset_id)

        def job(progress, cancel):
            from engine.data.dataset_io import load_from_source

            return load_from_source(entry.source, entry.task, progress, cancel)

        self.load(job, dataset_id, entry.plan)

    # -- display ---------------------------------------------------------------------
    def refresh(self) -> None:
        dataset = self.session.current
        if dataset is None:
            self.model.set_frame(None)
            self.class_chart.set_data({})
            self.language_chart.set_data({})
            self.summary.setText(
                _(
                    "Import a folder of images (one sub-folder per class) or a table "
                    "of texts or image paths with their labels, or drop one on this "
                    "page."
                )
            )
            self.warnings.setVisible(False)
            return
        from engine.data.datasets import (  # pandas loads with the first dataset
            ITEM,
            LABEL,
            SOURCE_LINE,
            SPLIT,
        )

        frame = dataset.frame
        # A folder of images has no line numbers: no empty "Line" column.
        has_lines = SOURCE_LINE in frame.columns and bool(frame[SOURCE_LINE].notna().any())
        columns = (
            [ITEM, LABEL]
            + ([SOURCE_LINE] if has_lines else [])
            + ([SPLIT] if SPLIT in frame.columns else [])
        )
        images = dataset.task == "image"
        self.model.set_frame(frame, columns, images=images)
        self.model.retranslate(self._headers())
        self.table.verticalHeader().setDefaultSectionSize(
            THUMB + 4 if images else self._text_row_height
        )
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, header.ResizeMode.Stretch)
        for column in range(1, len(columns)):
            header.setSectionResizeMode(column, header.ResizeMode.ResizeToContents)
        self.class_chart.set_data(
            {str(k): int(v) for k, v in dataset.class_counts().items()}, _("Examples per class")
        )
        rows, classes = len(dataset), int(dataset.labels.nunique())
        text = (
            ngettext("{n} image", "{n} images", rows)
            if dataset.task == "image"
            else ngettext("{n} text", "{n} texts", rows)
        )
        parts = [
            f"<b>\u2068{escape(dataset.name)}\u2069</b>",
            text.format(n=i18n.format_number(rows)),
            ngettext("{n} class", "{n} classes", classes).format(n=i18n.format_number(classes)),
        ]
        if len(self.session.plan):
            dropped = len(self.session.original) - rows
            parts.append(
                ngettext("{n} fix applied", "{n} fixes applied", len(self.session.plan)).format(
                    n=i18n.format_number(len(self.session.plan))
                )
            )
            if dropped:
                parts.append(
                    ngettext("{n} row removed", "{n} rows removed", dropped).format(
                        n=i18n.format_number(dropped)
                    )
                )
        self.summary.setText(" · ".join(parts))
        warnings = [warning.text() for warning in dataset.warnings]
        self.warnings.setText(" ".join(warnings))
        self.warnings.setVisible(bool(warnings))
        self._refresh_languages()

    def _refresh_languages(self) -> None:
        from engine.cleaning.report import language_mix

        mix = language_mix(self.session.findings)
        self.language_chart.setVisible(bool(mix))
        self.language_chart.set_data(
            {i18n.display_language(code): count for code, count in mix.items()}, _("Languages")
        )

    def _headers(self) -> dict[str, str]:
        from engine.data.datasets import ITEM, LABEL, SOURCE_LINE, SPLIT

        dataset = self.session.current
        item = _("Image") if dataset is not None and dataset.task == "image" else _("Text")
        return {ITEM: item, LABEL: _("Label"), SOURCE_LINE: _("Line"), SPLIT: _("Split")}

    def shutdown(self) -> None:
        """The window is closing: stop decoding thumbnails."""
        self.model.loader.stop()

    def retranslate_ui(self) -> None:
        self.import_folder_button.setText(_("Import image folder…"))
        self.import_table_button.setText(_("Import table…"))
        tip = _("You can also drop a folder or a table on this page.")
        for widget in (self.import_folder_button, self.import_table_button, self.table):
            widget.setToolTip(tip)
        self.dataset_label.setText(_("Dataset:"))
        self.refresh()


def _load(target: Path, options: dict | None, progress, cancel):
    from engine.data.dataset_io import load_dataset, load_table_dataset

    if options:
        options = dict(options)
        task = options.pop("task")
        return load_table_dataset(target, task, progress=progress, cancel=cancel, **options)
    return load_dataset(target, progress=progress, cancel=cancel)
