"""The Evaluate page: how good is a model, where does it go wrong, and fix the data behind it.

Choosing a model shows the validation evaluation saved with it at once;
"Evaluate on the current dataset" runs the model on the session's data as a
job. Every view derives from one ``engine.models.evaluation.Evaluation``: metric cards,
per-class table, confusion matrix (a click lists the examples behind a cell),
the most confident mistakes, the reliability diagram, and a comparison with a
second model evaluated on the same data.

Closing the loop: "Correct label…" on an example adds a ``relabel`` fix (or,
for an example that is not in the open dataset, an ``add_rows`` fix) to the
session's cleaning plan, so the next training uses it, the Health page can undo
it, and the project keeps it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
)

from engine.core.i18n import N_, _
from ui.flow_layout import FlowLayout
from ui.page import Page
from ui.pages.evaluate import texts
from ui.pages.evaluate.combine import ModelButtons
from ui.pages.evaluate.compare import ComparePanel
from ui.pages.evaluate.confusion import ConfusionMatrix
from ui.pages.evaluate.examples import ExamplesPanel
from ui.pages.evaluate.model_list import ModelList
from ui.pages.evaluate.models import OpenedModel, evaluate_model
from ui.pages.evaluate.reliability import CalibrationPanel
from ui.pages.evaluate.tables import (
    MetricCards,
    ModelCombo,
    PerClassModel,
    SortProxy,
    per_class_view,
)
from ui.widgets import correction

VALIDATION, DATASET = "validation", "dataset"
TABS = (N_("Per class"), N_("Confusion matrix"), N_("Mistakes"), N_("Calibration"), N_("Compare"))


class EvaluatePage(ModelList, Page):
    page_id = "evaluatePage"

    def __init__(self, window) -> None:
        super().__init__(window)
        self.opened: dict[str, OpenedModel] = {}  # packages read this session, by path
        self.model: OpenedModel | None = None
        self.evaluation = None
        self.source = VALIDATION
        self.dataset_evaluations: dict[str, tuple[object, object]] = {}  # key -> (dataset, eval)
        self.compare_key = ""
        self.corrections: dict[int, str] = {}
        self._build()
        self.session.project_changed.connect(self.project_changed)
        self.session.models_changed.connect(self.project_changed)
        self.session.dataset_changed.connect(self._update_buttons)
        self.project_changed()
        self.retranslate_ui()

    # -- layout ------------------------------------------------------------------
    def _build(self) -> None:
        self.model_label = QLabel()
        self.model_combo = ModelCombo()
        self.model_combo.activated.connect(self.model_activated)
        self.evaluate_button = QPushButton()
        self.evaluate_button.setObjectName("evaluateButton")
        self.evaluate_button.clicked.connect(self.evaluate_current)
        self.retrain_button = QPushButton()
        self.retrain_button.clicked.connect(self.show_train_page)
        self.retrain_button.setVisible(False)
        self.model_combo.setSizeAdjustPolicy(  # a long model name must not widen the window
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.model_combo.setMinimumContentsLength(16)
        choose = QHBoxLayout()
        choose.addWidget(self.model_label)
        choose.addWidget(self.model_combo, 1)
        buttons = FlowLayout()  # a row of its own, wrapping in narrow windows
        buttons.addWidget(self.evaluate_button)
        buttons.addWidget(self.retrain_button)
        top = QVBoxLayout()
        top.addLayout(choose)
        top.addLayout(buttons)
        self.source_label = QLabel()
        self.source_label.setObjectName("evaluationSource")
        self.source_label.setWordWrap(True)
        self.cards = MetricCards()

        self.per_class = PerClassModel(self)
        self.per_class_proxy = SortProxy(self.per_class, self)
        self.per_class_view = per_class_view(self.per_class_proxy)

        self.matrix = ConfusionMatrix()
        self.matrix.cell_clicked.connect(self.show_cell)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.matrix)
        self.cell_examples = ExamplesPanel("cellExamples", empty_hint=texts.cell_hint)
        self.cell_examples.corrections = self.corrections
        self.cell_examples.correct_requested.connect(self.correct_example)
        self.confusion_tab = confusion_tab = QSplitter()
        confusion_tab.addWidget(scroll)
        confusion_tab.addWidget(self.cell_examples)
        confusion_tab.setStretchFactor(0, 3)
        confusion_tab.setStretchFactor(1, 2)

        self.mistakes = ExamplesPanel("mistakes")
        self.mistakes.corrections = self.corrections
        self.mistakes.correct_requested.connect(self.correct_example)

        self.calibration = CalibrationPanel()
        self.diagram = self.calibration.diagram

        self.compare = ComparePanel()
        self.compare.model_chosen.connect(self.compare_with)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("evaluateTabs")
        for widget in (
            self.per_class_view,
            confusion_tab,
            self.mistakes,
            self.calibration,
            self.compare,
        ):
            self.tabs.addTab(widget, "")

        self.model_buttons = ModelButtons(self)  # "Combine models…", "Use this model…"
        buttons.addWidget(self.model_buttons)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.source_label)
        layout.addWidget(self.cards)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.bar)

    def job_running_changed(self, running: bool) -> None:
        self._update_buttons()
        self.open_queued(running)

    def show_model(self, opened: OpenedModel) -> None:
        self.model = opened
        self.compare_key = ""
        self.refresh_models()
        if opened.validation is not None:
            self.show_evaluation(opened.validation, VALIDATION)
        else:
            self.show_evaluation(None, VALIDATION)
            self.set_status(
                lambda: _("This model has no saved evaluation: evaluate it on the current dataset.")
            )

    # -- evaluating ------------------------------------------------------------
    def evaluate_current(self) -> None:
        dataset = self.session.current
        if self.model is None:
            return
        if dataset is None:
            self.set_status(lambda: _("Import data on the Data page first."))
            return
        path = self.model.path

        def finished(evaluation) -> None:
            self.dataset_evaluations[str(path)] = (dataset, evaluation)
            if self.model is not None and self.model.path == path:
                self.show_evaluation(evaluation, DATASET)

        self.run_job(
            "evaluate",
            lambda progress, cancel: evaluate_model(path, dataset, progress, cancel),
            finished,
            _("Evaluating the model…"),
        )

    def show_evaluation(self, evaluation, source: str) -> None:
        self.evaluation, self.source = evaluation, source
        self.corrections.clear()
        self.set_status(None)
        self.per_class.set_reports(evaluation.per_class() if evaluation else [])
        self.matrix.set_data(
            evaluation.labels if evaluation else [], evaluation.confusion() if evaluation else []
        )
        self.diagram.set_bins(evaluation.reliability() if evaluation else [])
        self._size_matrix()
        self.cards.set_summary(evaluation.summary() if evaluation else None)
        self.cell_examples.show_examples(evaluation, [], self.cell_examples.task, lambda: "")
        task = self.model.task if self.model else "image"
        self.mistakes.show_examples(
            evaluation,
            evaluation.misclassified() if evaluation else [],
            task,
            self._mistakes_heading,
        )
        if self.compare_key:
            self.compare_with(self.compare_key)
        else:
            self.compare.show_result(None)
        self.retranslate_ui()

    def _size_matrix(self) -> None:
        """Give the matrix the room it asks for (up to 60 %), the examples the rest."""
        total = sum(self.confusion_tab.sizes()) or self.confusion_tab.width()
        wanted = min(self.matrix.sizeHint().width() + 24, int(total * 0.6))
        self.confusion_tab.setSizes([wanted, max(total - wanted, 1)])

    def show_cell(self, true_index: int, pred_index: int) -> None:
        evaluation = self.evaluation
        if evaluation is None:
            return
        self.matrix.selected = (true_index, pred_index)
        self.matrix.update()
        true, predicted = evaluation.labels[true_index], evaluation.labels[pred_index]

        self.cell_examples.show_examples(
            evaluation,
            evaluation.cell_examples(true_index, pred_index),
            self.model.task if self.model else "image",
            lambda: texts.cell_heading(len(self.cell_examples.indices), true, predicted),
        )

    def _mistakes_heading(self) -> str:
        return texts.mistakes_heading(self.evaluation, len(self.mistakes.indices))

    # -- comparing ---------------------------------------------------------------
    def compare_with(self, key: str) -> None:
        self.compare_key = key
        if not key or self.evaluation is None or self.model is None:
            self.compare.show_result(None)
            return
        self.open_model(key, self._compare_opened)

    def _compare_opened(self, other: OpenedModel) -> None:
        from engine.models.evaluation import compare

        if self.source == VALIDATION:
            evaluation = other.validation
            if evaluation is None:
                self.compare.show_result(None)
                self.set_status(
                    lambda: _("{model} has no saved evaluation to compare with.").format(
                        model=other.name
                    )
                )
                return
            self.compare.show_result(
                compare(self.evaluation, evaluation), (self.model.name, other.name)
            )
            return
        dataset, evaluation = self.dataset_evaluations.get(other.key, (None, None))
        current_dataset = self.dataset_evaluations[self.model.key][0]
        if evaluation is not None and dataset is current_dataset:
            self.compare.show_result(
                compare(self.evaluation, evaluation), (self.model.name, other.name)
            )
            return

        def finished(result) -> None:
            self.dataset_evaluations[other.key] = (current_dataset, result)
            if self.compare_key == other.key and self.evaluation is not None:
                self.compare.show_result(
                    compare(self.evaluation, result), (self.model.name, other.name)
                )

        self.run_job(
            "evaluate-compare",
            lambda progress, cancel: evaluate_model(other.path, current_dataset, progress, cancel),
            finished,
            _("Evaluating the model…"),
        )

    # -- closing the loop ----------------------------------------------------------
    def correct_example(self, index: int) -> None:
        """Ask for the right label of example ``index``, then apply it to the dataset."""
        evaluation = self.evaluation
        dataset = self.session.current
        if evaluation is None:
            return
        if dataset is None:
            self.set_status(
                lambda: _(
                    "Open the dataset on the Data page first: the corrected label goes into it."
                )
            )
            return
        labels = sorted(
            set(dataset.class_counts().index.astype(str)) | set(evaluation.labels), key=str.casefold
        )
        item = evaluation.items[index]
        label = correction.ask_label(
            self,
            _("The right label for {item}:").format(item=correction.short_item(item, dataset.task)),
            labels,
            evaluation.labels[evaluation.y_true[index]],
        )
        if label:
            self.apply_correction(index, label)

    def apply_correction(self, index: int, label: str) -> bool:
        """Put ``label`` on example ``index`` in the session's dataset (a plan step)."""
        evaluation = self.evaluation
        dataset = self.session.current
        task = self.model.task if self.model else "image"
        if evaluation is None or dataset is None or dataset.task != task:
            self.set_status(
                lambda: _(
                    "Open the dataset on the Data page first: the corrected label goes into it."
                )
            )
            return False
        row_id = int(evaluation.row_ids[index]) if evaluation.row_ids is not None else None
        message = correction.apply_label(self.session, evaluation.items[index], label, row_id)
        if message is None:
            return False
        self.corrections[index] = label
        self.cell_examples.retranslate_ui()
        self.mistakes.retranslate_ui()
        self.set_status(lambda: message.text() + " " + _("Train the model again to use it."))
        self.retrain_button.setVisible(self.can_show("trainPage"))
        return True

    def show_train_page(self) -> None:
        if self.can_show("trainPage"):
            self.show_page("trainPage")

    # -- state and text ---------------------------------------------------------------
    def _update_buttons(self) -> None:
        running = self.job is not None
        self.model_combo.setEnabled(not running)
        self.compare.combo.setEnabled(not running)
        self.evaluate_button.setEnabled(not running and self.model is not None)
        self.model_buttons.update_state()
        self.evaluate_button.setToolTip(
            _("Runs the model on every labelled row of the data open on the Data page.")
            if self.session.current is not None
            else _("Import data on the Data page first.")
        )

    def retranslate_ui(self) -> None:
        self.model_label.setText(_("Model:"))
        self.model_combo.retranslate_ui()
        self.evaluate_button.setText(_("Evaluate on the current dataset"))
        self.retrain_button.setText(_("Train again…"))
        for position, title in enumerate(TABS):
            self.tabs.setTabText(position, _(title))
        self.source_label.setText(
            texts.source_text(self.model is not None, self.evaluation, self.source == DATASET)
        )
        skipped = self.evaluation.skipped[:15] if self.evaluation is not None else []
        self.source_label.setToolTip(
            "\n".join(
                f"\u2068{Path(item).name or item}\u2069: {reason}" for item, reason in skipped
            )
        )
        self.cards.retranslate_ui()
        self.per_class.retranslate()
        self.calibration.text.setText(texts.calibration_text(self.evaluation))
        self.cell_examples.retranslate_ui()
        self.mistakes.retranslate_ui()
        self.compare.retranslate_ui()
        self.matrix.update()
        self.diagram.update()
        self.retranslate_status()
        self._update_buttons()

    def shutdown(self) -> None:
        self.cell_examples.stop()
        self.mistakes.stop()
