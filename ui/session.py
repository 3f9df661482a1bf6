"""What the Data and Health pages share: the open project, the dataset, its cleaning plan.

One ``Session`` per window. The original dataset is never changed: the cleaned
dataset is ``plan.apply(original)``, recomputed whenever the plan changes, and
the plan is stored in the project (autosaved) so it survives a restart.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from engine.core.jobs import UserError

if TYPE_CHECKING:
    from engine.cleaning.findings import Finding, Fix
    from engine.cleaning.plan import CleaningPlan
    from engine.core.i18n import Message
    from engine.data.datasets import Dataset
    from engine.data.project import Project

log = logging.getLogger(__name__)
AUTOSAVE_MS = 3_000


class Session(QObject):
    project_changed = Signal()
    dataset_changed = Signal()  # a new original dataset (or none)
    plan_changed = Signal()  # the plan, and so the cleaned dataset, changed
    findings_changed = Signal()
    models_changed = Signal()  # a model was trained (or its list changed)
    autosave_failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project: Project | None = None
        self.dataset_id: str | None = None
        self.original: Dataset | None = None
        self.plan: CleaningPlan | None = None
        self.cleaned: Dataset | None = None
        self.findings: list[Finding] = []
        self._trained: list[tuple[str, str]] = []  # (folder, name) trained in this session
        self._autosave = QTimer(self, interval=AUTOSAVE_MS)
        self._autosave.timeout.connect(self.autosave)
        self._autosave.start()

    # -- project ------------------------------------------------------------
    def set_project(self, project: Project | None) -> None:
        self.autosave()
        self.project = project
        self.set_dataset(None)
        self.project_changed.emit()

    def autosave(self) -> None:
        if self.project is None:
            return
        try:
            self.project.autosave()
        except UserError as error:
            log.warning("Autosave failed: %s", error.details)
            self.autosave_failed.emit(error.message)

    # -- models ----------------------------------------------------------------
    def add_model(self, path) -> None:
        """A freshly trained package: into the project (if one is open) and the choosers."""
        from pathlib import Path

        from engine.models.package import load_package

        package = load_package(path)
        folder = str(Path(package.path).resolve())
        if self.project is not None and all(
            str(Path(entry.path).resolve()) != folder for entry in self.project.models
        ):
            self.project.add_model(package.name, folder)
            self.autosave()
        self._trained = [(p, n) for p, n in self._trained if p != folder] + [(folder, package.name)]
        self.models_changed.emit()

    def trained_models(self) -> list[tuple[str, str]]:
        return list(self._trained)

    # -- dataset ---------------------------------------------------------------
    def set_dataset(
        self, dataset: Dataset | None, dataset_id: str | None = None, plan_json: dict | None = None
    ) -> None:
        """Show ``dataset``; add it to the open project unless it came from there."""
        from engine.cleaning.plan import CleaningPlan

        self.original = dataset
        self.findings = []
        self.plan = CleaningPlan.from_json(plan_json) if plan_json else CleaningPlan()
        if dataset is not None and self.project is not None and dataset_id is None:
            dataset_id = self.project.add_dataset(dataset.source, dataset.name, dataset.task)
        self.dataset_id = dataset_id
        self._reapply()
        self.dataset_changed.emit()
        self.findings_changed.emit()

    def set_findings(self, findings: list[Finding]) -> None:
        self.findings = list(findings)
        self.findings_changed.emit()

    # -- plan ----------------------------------------------------------------
    def add_fixes(self, findings: list[Finding]) -> int:
        added = 0
        for finding in findings:
            if finding.fix is not None:
                self.plan.add_finding(finding)
                added += 1
        if added:
            self._plan_edited()
        return added

    def add_fix(self, fix: Fix, finding_kind: str = "", note: Message | None = None) -> bool:
        """Add one fix made outside the checks (a corrected label, an added image) to the plan.

        Like ticked findings it goes through the plan, so it is used by the next
        training, undoable on the Health page and saved with the project.
        Returns False when no dataset is open.
        """
        if self.plan is None or self.original is None:
            return False
        self.plan.add(fix, finding_kind, note)
        self._plan_edited()
        return True

    def undo(self) -> None:
        if self.plan is not None and self.plan.undo() is not None:
            self._plan_edited()

    def _plan_edited(self) -> None:
        if self.project is not None and self.dataset_id is not None:
            self.project.set_plan(self.dataset_id, self.plan.to_json() if len(self.plan) else None)
        self._reapply()
        self.plan_changed.emit()

    def _reapply(self) -> None:
        if self.original is None:
            self.cleaned = None
        else:
            self.cleaned = self.plan.apply(self.original) if len(self.plan) else self.original

    @property
    def current(self) -> Dataset | None:
        """The dataset as the user sees it now: the original with the plan applied."""
        return self.cleaned
