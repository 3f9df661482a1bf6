"""What can be done with a model from the library, as small functions the Models page and
the Train page share: show its folder, export it, ask before removing it.

Export formats are a list (``EXPORT_FORMATS``: a ``.taxon-model`` file for another
Taxon, ONNX and TorchScript for other programs), each an ``ExportFormat`` whose ``run``
is an engine job: the Models page builds its Export menu from this list and runs the
chosen job on a ``JobWorker``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox, QWidget

from engine.core.i18n import N_, _
from engine.core.jobs import CancelToken, Progress
from engine.models.library import LibraryEntry, can_trash

#: What "Remove…" may answer.
FROM_LIST, TO_TRASH, FOR_GOOD = "list", "trash", "delete"


def isolate(text: str) -> str:
    """A path or name inside a sentence, kept in one direction in right-to-left text."""
    return "\u2068" + text + "\u2069"


def show_in_folder(path: str | Path) -> bool:
    """Open the model's folder in the file manager (for a ``.taxon-model`` file, the folder
    that holds it). False when the system has no file manager to open."""
    target = Path(path)
    folder = target if target.is_dir() else target.parent
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


# --------------------------------------------------------------------------- export


@dataclass(frozen=True)
class ExportFormat:
    """One way to write a model to a file: menu text, file-dialog filter, suffix, job."""

    id: str
    title: str  # an N_ message id, for the Export menu
    file_filter: str  # an N_ message id; the suffix pattern is added at display
    suffix: str
    run: Callable[[str, str, Progress, CancelToken], Path]

    def filter_text(self) -> str:
        label = _(self.file_filter)
        return f"{label} (*{self.suffix})"


def _export_archive(model: str, out: str, progress: Progress, cancel: CancelToken) -> Path:
    from engine.models.package import write_archive

    progress(0, None, _("Exporting the model…"))
    return write_archive(model, out)


def _standard_export(fmt: str) -> Callable[[str, str, Progress, CancelToken], Path]:
    """An ``engine.deploy`` export as a job; a text model's ONNX export is a folder, so the
    chosen file name (without its suffix) names that folder."""

    def run(model: str, out: str, progress: Progress, cancel: CancelToken) -> Path:
        from engine.deploy import export_model
        from engine.models.package import load_package

        if fmt == "onnx" and load_package(model).task == "text":
            out = str(Path(out).with_suffix(""))
        return export_model(model, out, fmt, progress, cancel).output

    return run


EXPORT_FORMATS: list[ExportFormat] = [
    ExportFormat(
        "taxon-model",
        N_("Taxon model file (.taxon-model)…"),
        N_("Taxon model"),
        ".taxon-model",
        _export_archive,
    ),
    ExportFormat(
        "onnx",
        N_("ONNX, for other programs (.onnx)…"),
        N_("ONNX model"),
        ".onnx",
        _standard_export("onnx"),
    ),
    ExportFormat(
        "torchscript",
        N_("TorchScript, for PyTorch programs (.pt)…"),
        N_("TorchScript model"),
        ".pt",
        _standard_export("torchscript"),
    ),
]


# --------------------------------------------------------------------------- remove


def ask_removal(parent: QWidget | None, entry: LibraryEntry) -> str | None:
    """Ask how to remove ``entry``: ``FROM_LIST``, ``TO_TRASH``, ``FOR_GOOD`` or None
    (cancelled). Deleting is offered only where it is safe: to the trash, or for good
    only for a model Taxon trained itself when there is no trash."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(_("Remove a model"))
    box.setText(_("Remove “{name}”?").format(name=entry.name))
    listed = box.addButton(_("Remove from the list"), QMessageBox.ButtonRole.AcceptRole)
    delete = None
    if entry.missing:
        box.setInformativeText(_("Its folder is no longer there."))
    elif can_trash():
        box.setInformativeText(
            _(
                "“Remove from the list” keeps its files in {path}. “Move to "
                "the trash” deletes them; you can restore them from the "
                "trash."
            ).format(path=isolate(entry.path))
        )
        delete = box.addButton(_("Move to the trash"), QMessageBox.ButtonRole.DestructiveRole)
    elif entry.trained_by_taxon:
        box.setInformativeText(
            _(
                "“Remove from the list” keeps its files in {path}. “Delete "
                "from disk” deletes them for good."
            ).format(path=isolate(entry.path))
        )
        delete = box.addButton(_("Delete from disk"), QMessageBox.ButtonRole.DestructiveRole)
    else:
        box.setInformativeText(_("Its files stay in {path}.").format(path=isolate(entry.path)))
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(listed)
    box.exec()
    clicked = box.clickedButton()
    if clicked is listed:
        return FROM_LIST
    if delete is not None and clicked is delete:
        return TO_TRASH if can_trash() else FOR_GOOD
    return None


def confirm_delete_for_good(parent: QWidget | None, entry: LibraryEntry, reason: str) -> bool:
    """After the trash failed: delete a model Taxon trained for good? (Default: no.)"""
    answer = QMessageBox.question(
        parent,
        _("Remove a model"),
        reason
        + "\n\n"
        + _("Delete “{name}” for good? This cannot be undone.").format(name=entry.name),
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes
