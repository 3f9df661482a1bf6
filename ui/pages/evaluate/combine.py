"""Combining models from the Evaluate page, and using the shown model elsewhere.

``CombineDialog`` lists the library's models of the current model's task and
labels with check boxes. Each change of the ticks runs ``engine.models.ensemble.preview``
on a ``JobWorker`` (it reads every package's saved validation predictions) and
shows the weights found and the validation accuracy of the combination beside
each model's. "Combine" writes the ensemble package (a job), adds it to the
model library and hands its path back.

``ModelButtons`` is the row the Evaluate page adds beside its own buttons:
"Combine models…" and "Use this model…" (export formats and the prediction
service, as on the Models page).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.core import i18n
from engine.core.i18n import _
from engine.models.library import LABELS_KEPT, LibraryEntry, ModelLibrary
from ui.errors import show_error
from ui.retranslate import Retranslatable
from ui.worker import JobWorker

NAME, WEIGHT, ACCURACY = 0, 1, 2


def compatible(entries: list[LibraryEntry], task: str, labels: list[str]) -> list[LibraryEntry]:
    """Library models of ``task`` with the same labels (in any order), still on disk."""
    wanted = set(labels)
    out = []
    for entry in entries:
        if entry.missing or entry.task != task or entry.classes != len(wanted):
            continue
        if entry.kind == "ensemble":
            continue
        kept = set(entry.labels)
        if kept == wanted or (len(entry.labels) >= LABELS_KEPT and kept <= wanted):
            out.append(entry)
    return out


def default_folder(name: str) -> Path:
    from engine.core.paths import user_data_dir

    safe = re.sub(r'[\x00-\x1f<>:"/\\|?*]+', "_", name).strip(" .") or "combined"
    parent = user_data_dir() / "models"
    folder, counter = parent / safe, 2
    while folder.exists():
        folder = parent / f"{safe} ({counter})"
        counter += 1
    return folder


class CombineDialog(Retranslatable, QDialog):
    """Tick models, see the weights and scores, save the combination."""

    def __init__(
        self,
        current: str,
        task: str,
        labels: list[str],
        parent: QWidget | None = None,
        library: ModelLibrary | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("combineDialog")
        self.library = library or ModelLibrary()
        self.current = str(Path(current).resolve())
        self.entries = compatible(self.library.entries(), task, labels)
        self.entries.sort(key=lambda entry: entry.path != self.current)  # the shown one first
        self.result_ = None  # the last preview (engine.models.ensemble.CombineResult)
        self.saved: Path | None = None
        self.worker: JobWorker | None = None
        self._pending = False
        self._status: Callable[[], str] | None = None
        self._build()
        self.retranslate_ui()
        self.refresh_preview()

    def _build(self) -> None:
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.table = QTableWidget(len(self.entries), 3)
        self.table.setObjectName("combineTable")
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(WEIGHT, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(ACCURACY, QHeaderView.ResizeMode.ResizeToContents)
        for row, entry in enumerate(self.entries):
            item = QTableWidgetItem(entry.name)
            item.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            item.setCheckState(Qt.CheckState.Checked if row < 2 else Qt.CheckState.Unchecked)
            item.setToolTip(entry.path)
            self.table.setItem(row, NAME, item)
            for column in (WEIGHT, ACCURACY):
                cell = QTableWidgetItem("")
                cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, cell)
        self.table.itemChanged.connect(self._ticks_changed)
        self.summary = QLabel()
        self.summary.setObjectName("combineSummary")
        self.summary.setWordWrap(True)
        self.name = QLineEdit()
        self.name.setObjectName("combineName")
        self.name_label = QLabel()
        form = QFormLayout()
        form.addRow(self.name_label, self.name)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.save_button = QPushButton()
        self.save_button.setObjectName("combineSave")
        self.buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self.resize(640, 420)

    # -- choosing ------------------------------------------------------------------
    def chosen(self) -> list[LibraryEntry]:
        return [
            entry
            for row, entry in enumerate(self.entries)
            if self.table.item(row, NAME).checkState() == Qt.CheckState.Checked
        ]

    def set_checked(self, paths: list[str]) -> None:
        wanted = {str(Path(path).resolve()) for path in paths}
        if wanted == {entry.path for entry in self.chosen()}:
            return
        self.table.blockSignals(True)
        for row, entry in enumerate(self.entries):
            self.table.item(row, NAME).setCheckState(
                Qt.CheckState.Checked if entry.path in wanted else Qt.CheckState.Unchecked
            )
        self.table.blockSignals(False)
        self.refresh_preview()

    def _ticks_changed(self, item: QTableWidgetItem) -> None:
        if item.column() == NAME:
            self.refresh_preview()

    def refresh_preview(self) -> None:
        """Weights and scores for the ticked models (a job; one at a time, the last wins)."""
        self.result_ = None
        self._show_result()
        paths = [entry.path for entry in self.chosen()]
        if len(paths) < 2:
            self._set_status(lambda: _("Tick at least two models."))
            return
        if self.worker is not None:
            self._pending = True
            return
        from engine.models.ensemble import preview

        self._set_status(lambda: _("Finding the weights…"))
        self.worker = JobWorker(
            lambda progress, cancel: preview(paths, progress, cancel), name="combine-preview"
        )
        self.worker.finished.connect(lambda result, p=paths: self._previewed(p, result))
        self.worker.failed.connect(self._preview_failed)
        self.worker.cancelled.connect(self._job_ended)
        self.worker.start()
        self._update()

    def _job_ended(self) -> None:
        if self.worker is not None:
            self.worker.wait()
        self.worker = None
        self._update()
        if self._pending:
            self._pending = False
            QTimer.singleShot(0, self.refresh_preview)

    def _previewed(self, paths: list[str], result) -> None:
        current = [entry.path for entry in self.chosen()]
        self._job_ended()
        if current == paths and not self._pending:
            self.result_ = result
            self._set_status(None)
            if not self.name.text().strip():
                self.name.setText(
                    self.library.unique_name(
                        _("Combined: {names}").format(
                            names=" + ".join(entry.name for entry in self.chosen())
                        )[:120]
                    )
                )
            self._show_result()

    def _preview_failed(self, message: str, _details: str) -> None:
        self._job_ended()
        self._set_status(lambda: message)

    # -- saving ----------------------------------------------------------------------
    def save(self) -> None:
        """Write the combination (a job), add it to the library, then close."""
        if self.result_ is None or self.worker is not None:
            return
        from engine.models.ensemble import combine
        from engine.models.library import TRAINED, register

        paths = [entry.path for entry in self.chosen()]
        name = self.name.text().strip() or self.library.unique_name(_("Combined model"))
        out = default_folder(name)

        def run(progress, cancel):
            result = combine(paths, out, name=name, progress=progress, cancel=cancel)
            register(result.package, origin=TRAINED, library=self.library)
            return result

        self._set_status(lambda: _("Saving the combined model…"))
        self.worker = JobWorker(run, name="combine")
        self.worker.finished.connect(self._saved)
        self.worker.failed.connect(self._save_failed)
        self.worker.cancelled.connect(self._job_ended)
        self.worker.start()
        self._update()

    def _saved(self, result) -> None:
        self._job_ended()
        self.saved = result.package
        self.accept()

    def _save_failed(self, message: str, details: str) -> None:
        self._job_ended()
        self._set_status(lambda: message)
        show_error(self, message, details)

    def reject(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.worker.wait(60_000)
            self.worker = None
        super().reject()

    # -- display -----------------------------------------------------------------------
    def _set_status(self, text: Callable[[], str] | None) -> None:
        self._status = text
        self._show_result()

    def _show_result(self) -> None:
        result = self.result_
        by_path = {m.path: m for m in result.members} if result is not None else {}
        for row, entry in enumerate(self.entries):
            member = by_path.get(entry.path)
            weight = i18n.format_percent(member.weight, 1) if member is not None else ""
            accuracy = ""
            if member is not None and member.accuracy is not None:
                accuracy = i18n.format_percent(member.accuracy, 1)
            elif entry.accuracy is not None:  # its own, on its own validation examples
                accuracy = i18n.format_percent(entry.accuracy, 1)
            self.table.blockSignals(True)
            self.table.item(row, WEIGHT).setText(weight)
            self.table.item(row, ACCURACY).setText(accuracy)
            self.table.blockSignals(False)
        if self._status is not None:
            self.summary.setText(self._status())
        elif result is not None:
            lines = []
            if result.accuracy is not None:
                lines.append(
                    _("Validation accuracy of the combination: {value}").format(
                        value=i18n.format_percent(result.accuracy, 1)
                    )
                )
            self.summary.setText("\n".join(lines + result_notes(result)))
        else:
            self.summary.setText("")
        self._update()

    def _update(self) -> None:
        self.save_button.setEnabled(self.result_ is not None and self.worker is None)

    def retranslate_ui(self) -> None:
        self.setWindowTitle(_("Combine models"))
        self.intro.setText(
            _(
                "Tick the models to combine. The combination averages their "
                "probabilities, with weights chosen on their validation "
                "examples; it is saved as a new model. Only models that sort "
                "into the same categories are listed."
            )
        )
        self.table.setHorizontalHeaderLabels([_("Model"), _("Weight"), _("Validation accuracy")])
        self.name_label.setText(_("Name:"))
        self.save_button.setText(_("Combine"))
        self._show_result()


def result_notes(result) -> list[str]:
    """The preview's notes, translated now (a language switch redraws them)."""
    from engine.models.ensemble_card import combination_notes

    return combination_notes(result.weighting, result.checked)


class ModelButtons(Retranslatable, QWidget):
    """ "Combine models…" and "Use this model…" for the Evaluate page's current model."""

    def __init__(self, page) -> None:
        super().__init__()
        self.page = page
        self.combine_button = QPushButton()
        self.combine_button.setObjectName("combineModels")
        self.combine_button.clicked.connect(self.combine)
        self.use_button = QPushButton()
        self.use_button.setObjectName("useModel")
        self.use_button.clicked.connect(self.use)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.combine_button)
        layout.addWidget(self.use_button)
        page.bar.running_changed.connect(lambda _running: self.update_state())
        self.retranslate_ui()

    def update_state(self) -> None:
        enabled = self.page.model is not None and self.page.job is None
        self.combine_button.setEnabled(enabled)
        self.use_button.setEnabled(enabled)

    def combine(self) -> CombineDialog | None:
        model = self.page.model
        if model is None:
            return None
        self.dialog = CombineDialog(model.key, model.task, model.labels, self)
        self.dialog.finished.connect(self._combined)
        self.dialog.open()
        return self.dialog

    def _combined(self, _code: int) -> None:
        saved = self.dialog.saved
        if saved is None:
            return
        session = getattr(self.page, "session", None)
        if session is not None:
            session.models_changed.emit()
        self.page.open_model(saved)

    def use(self) -> None:
        from ui.pages.models.service import UseModelDialog, open_service

        model = self.page.model
        if model is None:
            return
        dialog = UseModelDialog(model.key, model.name, model.task, self)
        code = dialog.exec()
        if code == 2:
            self.service = open_service(self.page, model.key, model.name, model.task)
        elif dialog.chosen is not None:
            fmt = dialog.chosen
            out = dialog.ask_export_path(fmt)
            if out:
                self.export(fmt, out)

    def export(self, fmt, out: str) -> None:
        model = self.page.model
        if model is None:
            return
        source = model.key

        def finished(target) -> None:
            self.page.set_status(
                lambda: _("Exported to {path}").format(path="\u2068" + str(target) + "\u2069")
            )

        self.page.bar.run(
            JobWorker(
                lambda progress, cancel: fmt.run(source, out, progress, cancel), name="export-model"
            ),
            finished,
            _("Exporting the model…"),
        )

    def retranslate_ui(self) -> None:
        self.combine_button.setText(_("Combine models…"))
        self.use_button.setText(_("Use this model…"))
        self.update_state()
