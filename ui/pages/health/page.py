"""The Health page: run the data checks, read what is wrong, tick fixes, undo, save, report.

Checks run as one job (progress, cancel). Ticked fixes go into the session's
cleaning plan: a new dataset version is computed from the untouched original,
the checks run again on it, and "Undo last fix" steps back. Nothing is ever
written over the user's files: "Save cleaned data" writes a copy elsewhere.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from engine.core import i18n
from engine.core.i18n import _, ngettext
from ui.flow_layout import FlowLayout
from ui.page import Page
from ui.pages.health import output
from ui.pages.health.rows_model import FindingRowsModel, fix_actions
from ui.pages.health.thumbnails import THUMB, RowThumbnails
from ui.widgets.frame_model import FrameModel

FINDING_ROLE = Qt.ItemDataRole.UserRole + 1
SEVERITY_COLOURS = {"error": "#b3261e", "warning": "#b35900", "info": "#2f6fba"}


def preview_headers(task: str) -> dict[str, str]:
    """Column titles for the preview rows that checks attach to their findings."""
    return {
        "item": _("Image") if task == "image" else _("Text"),
        "label": _("Label"),
        "source_line": _("Line"),
        "rows": _("Rows"),
        "group": _("Group"),
        "suggested": _("Suggested label"),
        "confidence": _("Confidence"),
        "given_confidence": _("Confidence in the given label"),
        "before": _("Before"),
        "after": _("After"),
        "reason": _("Problem"),
        "language": _("Language"),
        "characters": _("Characters"),
        "width": _("Width"),
        "height": _("Height"),
        "merge_into": _("Merge into"),
        "split": _("Split"),
        "suggested_label": _("Suggested label"),
        "action": _("With the fix"),
    }


def _dot(colour: str) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(QColor(colour))
    return QIcon(pixmap)


class HealthPage(Page):
    def __init__(self, window) -> None:
        super().__init__(window)
        self._checked_dataset = None

        self.check_button = QPushButton()
        self.check_button.clicked.connect(self.run_checks)
        self.apply_button = QPushButton()
        self.apply_button.clicked.connect(self.apply_ticked)
        self.undo_button = QPushButton()
        self.undo_button.clicked.connect(self.session.undo)
        self.save_button = QPushButton()
        self.save_button.clicked.connect(self.choose_save_folder)
        self.report_button = QPushButton()
        self.report_button.clicked.connect(self.choose_report_file)
        top = FlowLayout()  # wraps onto a second row in narrow windows and long languages
        for button in (
            self.check_button,
            self.apply_button,
            self.undo_button,
            self.save_button,
            self.report_button,
        ):
            top.addWidget(button)

        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.findings_list = QListWidget()
        self.findings_list.setObjectName("findingsList")
        self.findings_list.setWordWrap(True)
        self.findings_list.currentItemChanged.connect(self._show_finding)
        self.findings_list.itemChanged.connect(
            lambda _item: self.job_running_changed(self.job is not None)
        )
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: 600; font-size: 110%;")
        self.title.setWordWrap(True)
        self.explanation = QLabel()
        self.explanation.setWordWrap(True)
        self.fix_label = QLabel()
        self.fix_label.setWordWrap(True)
        # Findings about classes (not rows) show their small summary table here.
        self.preview_model = FrameModel(localized_numbers=True)
        self.preview = QTableView()
        self.preview.setModel(self.preview_model)
        # Findings about rows list every row: item (thumbnail), label, suggestion, what a fix does.
        self.rows_model = FindingRowsModel()
        self.rows_view = QTableView()
        self.rows_view.setObjectName("findingRows")
        self.rows_view.setModel(self.rows_model)
        self.rows_view.setIconSize(QSize(THUMB, THUMB))
        self.rows_view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.rows_view.setWordWrap(False)
        self.rows_view.horizontalHeader().setStretchLastSection(True)
        self.thumbnails = RowThumbnails(self.rows_view, self.rows_model, self._shows_images, self)
        self.plan_heading = QLabel()
        self.plan_heading.setWordWrap(True)
        self.plan_heading.setStyleSheet("font-weight: 600;")
        self.plan_list = QListWidget()
        self.plan_list.setMaximumHeight(120)
        detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        for widget in (self.title, self.explanation, self.fix_label):
            detail_layout.addWidget(widget)
        detail_layout.addWidget(self.preview, 1)
        detail_layout.addWidget(self.rows_view, 3)
        detail_layout.addWidget(self.plan_heading)
        detail_layout.addWidget(self.plan_list)
        splitter = QSplitter()
        splitter.addWidget(self.findings_list)
        splitter.addWidget(detail)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.bar)

        self.session.dataset_changed.connect(self._dataset_changed)
        self.session.plan_changed.connect(self._plan_changed)
        self.session.findings_changed.connect(self._fill_findings)
        self.job_running_changed(False)
        self.retranslate_ui()
        self._dataset_changed()  # built after data may already be loaded

    page_id = "healthPage"

    # -- checks --------------------------------------------------------------------
    def run_checks(self) -> None:
        dataset = self.session.current
        if dataset is None or self.job is not None:
            return

        def job(progress, cancel):
            from engine.cleaning.run import inspect_dataset

            return inspect_dataset(dataset, progress, cancel)

        self._checked_dataset = dataset
        self.run_job("inspect", job, self._checked, _("Checking the data…"))

    def _checked(self, findings) -> None:
        stale = self._checked_dataset is not self.session.current
        self.session.set_findings(findings)
        self._show_count()
        if stale:  # the plan changed while the checks ran: check the new version
            self.run_checks()

    def _show_count(self) -> None:
        count = len(self.session.findings)
        self.status.setText(
            _("No problems found.")
            if not count
            else ngettext("{n} finding.", "{n} findings.", count).format(
                n=i18n.format_number(count)
            )
        )

    def job_running_changed(self, running: bool) -> None:
        has_data = self.session.current is not None
        self.check_button.setEnabled(has_data and not running)
        self.apply_button.setEnabled(not running and bool(self._ticked()))
        self.undo_button.setEnabled(
            not running and self.session.plan is not None and len(self.session.plan) > 0
        )
        self.save_button.setEnabled(has_data and not running)
        self.report_button.setEnabled(has_data and not running and bool(self.session.findings))

    # -- findings ----------------------------------------------------------------
    def _dataset_changed(self) -> None:
        if not self.session.findings:  # a new dataset: nothing has been checked yet
            self._checked_dataset = None
            self.status.clear()
        self._fill_findings()
        self._fill_plan()
        self.job_running_changed(False)

    def _plan_changed(self) -> None:
        self._fill_plan()
        self.run_checks()

    def _fill_findings(self) -> None:
        self.findings_list.clear()
        for finding in self.session.findings:
            item = QListWidgetItem(_dot(SEVERITY_COLOURS[finding.severity]), "")
            item.setData(FINDING_ROLE, finding)
            if finding.fix is not None:
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Unchecked)
            self.findings_list.addItem(item)
        self._retranslate_findings()
        if self.findings_list.count():
            self.findings_list.setCurrentRow(0)
        else:
            self._show_finding(None, None)
        self.job_running_changed(self.job is not None)

    def _ticked(self) -> list:
        return [
            self.findings_list.item(row).data(FINDING_ROLE)
            for row in range(self.findings_list.count())
            if self.findings_list.item(row).checkState() == Qt.CheckState.Checked
        ]

    def apply_ticked(self) -> None:
        ticked = self._ticked()
        if ticked:
            added = self.session.add_fixes(ticked)
            self.status.setText(
                ngettext(
                    "{n} fix applied to a new version of the data.",
                    "{n} fixes applied to a new version of the data.",
                    added,
                ).format(n=i18n.format_number(added))
            )

    def _show_finding(self, current, _previous) -> None:
        finding = current.data(FINDING_ROLE) if current is not None else None
        if finding is None:
            self.title.setText(
                _("Run the checks to see what needs attention in this dataset.")
                if self.session.current is not None
                else _("Import data on the Data page first.")
            )
            self.explanation.clear()
            self.fix_label.clear()
            self.preview_model.set_frame(None)
            self.rows_model.clear()
            self.preview.setVisible(False)
            self.rows_view.setVisible(False)  # no finding: no empty table with raw column names
            return
        self.title.setText(finding.title.text())
        self.explanation.setText(finding.explanation.text())
        self.fix_label.setText(
            _("Suggested fix:") + " " + finding.fix.description.text()
            if finding.fix
            else _("No automatic fix: review these rows yourself.")
        )
        self._show_preview(finding)

    def _show_preview(self, finding) -> None:
        """Every affected row with what the fix does to it; class-level findings as a summary."""
        from engine.cleaning.findings import affected_rows

        dataset = self.session.current
        task = dataset.task if dataset is not None else "text"
        self.preview.setVisible(not finding.row_ids)
        self.rows_view.setVisible(bool(finding.row_ids))
        if not finding.row_ids or dataset is None:
            import pandas as pd

            table = pd.DataFrame(list(finding.preview)) if finding.preview else None
            self.preview_model.set_frame(
                table,
                None
                if table is None
                else [column for column in table.columns if column != "row_id"],
            )
            self.preview_model.retranslate(preview_headers(task))
            self.rows_model.clear()
            return
        extras = {int(row["row_id"]): row for row in finding.preview if "row_id" in row}
        self.rows_model.set_rows(
            affected_rows(finding, dataset.frame), task, fix_actions(finding), extras
        )
        self.rows_model.retranslate(preview_headers(task))
        self.rows_view.verticalHeader().setDefaultSectionSize(THUMB + 6 if task == "image" else 24)
        self.rows_view.resizeColumnsToContents()
        self.rows_view.scrollToTop()  # a new finding starts at its first row
        if task == "image":
            self.thumbnails.load_first()

    def _shows_images(self) -> bool:
        return self.session.current is not None and self.session.current.task == "image"

    def shutdown(self) -> None:
        """The window is closing: stop decoding thumbnails."""
        self.thumbnails.shutdown()

    def _fill_plan(self) -> None:
        self.plan_list.clear()
        plan = self.session.plan
        for number, step in enumerate(plan or [], start=1):
            self.plan_list.addItem(f"{i18n.format_number(number)}. {step.fix.description.text()}")
        self.job_running_changed(self.job is not None)

    # -- output ----------------------------------------------------------------------
    def choose_save_folder(self) -> None:
        folder = output.ask_save_folder(self)
        if folder:
            self.save_cleaned(folder)

    def save_cleaned(self, folder: str) -> None:
        """The cleaned copy in ``folder`` (see ``output.save_cleaned``); the originals stay."""
        text = output.save_cleaned(self, self.session, folder)
        if text is not None:
            self.status.setText(text)

    def choose_report_file(self) -> None:
        path = output.ask_report_file(self)
        if path:
            self.export_report(path)

    def export_report(self, path: str) -> None:
        text = output.export_report(self, self.session, path)
        if text is not None:
            self.status.setText(text)

    # -- text ------------------------------------------------------------------------
    def _retranslate_findings(self) -> None:
        for row in range(self.findings_list.count()):
            item = self.findings_list.item(row)
            finding = item.data(FINDING_ROLE)
            if finding.count:
                count = ngettext("{n} row", "{n} rows", finding.count).format(
                    n=i18n.format_number(finding.count)
                )
                item.setText(f"{finding.title.text()} ({count})")
            else:
                item.setText(finding.title.text())

    def retranslate_ui(self) -> None:
        self.check_button.setText(_("Check data"))
        self.apply_button.setText(_("Apply ticked fixes"))
        self.undo_button.setText(_("Undo last fix"))
        self.save_button.setText(_("Save cleaned data…"))
        self.report_button.setText(_("Export report…"))
        self.plan_heading.setText(_("Fixes applied (newest last)"))
        self.summary.setText(
            _(
                "Taxon looks for problems that make models worse: unreadable files, "
                "duplicates, conflicting or misspelled labels, rare classes, odd text. "
                "Tick the fixes you agree with; your original files are never changed."
            )
        )
        self._retranslate_findings()
        self._fill_plan()
        self._show_finding(self.findings_list.currentItem(), None)
        if self.job is None and self._checked_dataset is not None:
            self._show_count()
