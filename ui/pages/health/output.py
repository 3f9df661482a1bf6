"""What the Health page writes: the cleaned copy of the data and the health report.

Nothing is ever written over the user's files: the cleaned copy goes into a folder
the user chooses, into a new sub-folder when that one already holds files. Each
function returns the status line to show, or None when it failed (the error was
shown) or the user cancelled.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

from engine.core.i18n import _
from engine.core.jobs import UserError
from ui.errors import show_error
from ui.session import Session


def free_folder(folder: Path, name: str) -> Path:
    """``folder`` when it is empty or new, else a new ``name`` (numbered) inside it."""
    if not folder.is_dir() or not any(folder.iterdir()):
        return folder
    candidate, number = folder / name, 2
    while candidate.exists():
        candidate, number = folder / f"{name} {number}", number + 1
    return candidate


def ask_save_folder(parent: QWidget) -> str:
    return QFileDialog.getExistingDirectory(parent, _("Save cleaned data into"))


def ask_report_file(parent: QWidget) -> str:
    path, _selected = QFileDialog.getSaveFileName(
        parent,
        _("Export report"),
        "taxon-report.html",
        _("Web page") + " (*.html);;" + _("JSON file") + " (*.json)",
    )
    return path


def save_cleaned(parent: QWidget, session: Session, folder: str) -> str | None:
    """The cleaned copy, its plan and its report; the project records it as a version.

    A chosen folder that already holds files gets a new sub-folder named after the
    dataset, so nothing in it is ever overwritten.
    """
    from engine.cleaning.save import save_cleaned_copy

    dataset = session.current
    target = free_folder(Path(folder), _("{name} (cleaned)").format(name=dataset.name))
    try:
        written = save_cleaned_copy(
            dataset, session.plan, session.findings, target, dataset.source.path
        )
    except UserError as error:
        show_error(parent, error.message, error.details)
        return None
    project = session.project
    if project is not None and session.dataset_id is not None:
        project.add_version(
            session.dataset_id, written, rows=len(dataset), plan=session.plan.to_json()
        )
    return _("Saved {name}.").format(name="\u2068" + str(written) + "\u2069")


def export_report(parent: QWidget, session: Session, path: str) -> str | None:
    from engine.cleaning.report import write_report

    try:
        write_report(session.current, session.findings, path)
    except UserError as error:
        show_error(parent, error.message, error.details)
        return None
    return _("Saved {name}.").format(name=Path(path).name)
