"""Which models the Evaluate page offers, and how it opens them.

The list is the project's models, those trained or opened this session, then the
model library (which survives restarts). Opening a package is a job (its files'
hashes are checked); a model asked for while another job runs opens right after it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer

from engine.core.i18n import _
from ui.pages.evaluate.models import OpenedModel, open_model, with_library
from ui.pages.evaluate.tables import ModelCombo


class ModelList:
    """Mixin for ``EvaluatePage`` (a ``Page`` with ``opened``, ``model``, ``model_combo``,
    ``compare``, ``compare_key`` and ``show_model``)."""

    #: (package key, what to do with it) asked for while a job ran.
    _next_open: tuple[str, Callable | None] | None = None

    def model_choices(self) -> list[tuple[str, str]]:
        """(path, name) of the project's models, then those opened this session."""
        choices: list[tuple[str, str]] = []
        project = self.session.project
        for entry in project.models if project is not None else []:
            choices.append((str(Path(entry.path).resolve()), entry.name))
        choices += [(folder, name) for folder, name in self.session.trained_models()]
        known: set[str] = set()
        choices = [c for c in choices if not (c[0] in known or known.add(c[0]))]
        choices += [(key, opened.name) for key, opened in self.opened.items() if key not in known]
        return choices

    def refresh_models(self) -> None:
        current = self.model.key if self.model else ""
        choices = with_library(self.model_choices())  # + the model library (survives restarts)
        self.model_combo.set_models(choices, current)
        self.compare.set_choices([(k, n) for k, n in choices if k != current], self.compare_key)

    def project_changed(self) -> None:
        """Refresh the model list; with no model shown yet, show the project's first one."""
        self.refresh_models()
        choices = self.model_choices()
        if self.model is None and choices:
            self.open_model(choices[0][0])

    def model_activated(self, _index: int) -> None:
        key = self.model_combo.currentData()
        if key == ModelCombo.OPEN:
            self.refresh_models()  # back to the model shown, whatever the dialog says
            self.choose_model_folder()
        elif key:
            self.open_model(key)

    def choose_model_folder(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        folder = QFileDialog.getExistingDirectory(self, _("Open a trained model"))
        if folder:
            self.open_model(folder)

    def use_model(self, path: str) -> None:
        """Show the model at ``path`` (another page sent it here)."""
        self.open_model(path)

    def open_model(
        self, path: str | Path, then: Callable[[OpenedModel], None] | None = None
    ) -> None:
        """Read a package (a job); then show it, or hand it to ``then``."""
        key = str(Path(path).resolve())
        done = then or self.show_model
        if key in self.opened:
            done(self.opened[key])
            return
        if self.job is not None:  # e.g. the first model still opening: this one comes next
            self._next_open = (key, then)
            return

        def finished(opened: OpenedModel) -> None:
            self.opened[opened.key] = opened
            self.refresh_models()
            done(opened)

        self.run_job(
            "open-model",
            lambda progress, cancel: open_model(key, progress, cancel),
            finished,
            _("Opening the model…"),
        )

    def open_queued(self, running: bool) -> None:
        """A job ended: open the model asked for while it ran."""
        if not running and self._next_open is not None:
            # after the ending job's own result is handled (it may be this very package)
            QTimer.singleShot(0, self._open_next)

    def _open_next(self) -> None:
        if self._next_open is not None and self.job is None:
            (key, then), self._next_open = self._next_open, None
            self.open_model(key, then)
