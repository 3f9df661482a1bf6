"""Files dropped anywhere on the window: images to Classify, datasets on request.

Pages that take drops themselves (Classify's drop zone, the Data page) handle
theirs; whatever lands elsewhere comes here. Image files go straight to the
Classify page. One folder or one table could be either photos to classify or a
dataset to import, so a small question asks which.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData
from PySide6.QtWidgets import QMessageBox

from engine.core.i18n import _

TABLE_SUFFIXES = {".csv", ".tsv", ".tab", ".txt", ".xlsx", ".xlsm", ".jsonl", ".ndjson", ".parquet"}


def local_paths(mime: QMimeData) -> list[str]:
    """The local files and folders in a drop or the clipboard (web links are not files)."""
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]


def is_dataset_candidate(paths: list[str]) -> bool:
    """One folder or one table: it may be a dataset."""
    if len(paths) != 1:
        return False
    path = Path(paths[0])
    return path.is_dir() or path.suffix.lower() in TABLE_SUFFIXES


def classify(window, paths: list[str]) -> None:
    page = window.page("classifyPage")
    window.show_page(page)
    page.add_inputs(paths)


def import_dataset(window, path: str) -> None:
    page = window.page("dataPage")
    window.show_page(page)
    page.import_path(path)


def handle_drop(window, paths: list[str]) -> QMessageBox | None:
    """Route ``paths``; returns the question when one is asked (it is non-modal)."""
    if not paths:
        return None
    if not is_dataset_candidate(paths):
        classify(window, paths)
        return None
    box = QMessageBox(
        QMessageBox.Icon.Question,
        _("What should Taxon do with it?"),
        _(
            "Classify the images in “{name}”, or import it as a dataset to check and train on?"
        ).format(name="\u2068" + Path(paths[0]).name + "\u2069"),
        QMessageBox.StandardButton.Cancel,
        window,
    )
    box.setObjectName("dropQuestion")
    classify_button = box.addButton(_("Classify these images"), QMessageBox.ButtonRole.AcceptRole)
    import_button = box.addButton(_("Import as a dataset"), QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(
        import_button if Path(paths[0]).suffix.lower() in TABLE_SUFFIXES else classify_button
    )

    def answered(button) -> None:
        if button is classify_button:
            classify(window, paths)
        elif button is import_button:
            import_dataset(window, paths[0])

    box.buttonClicked.connect(answered)
    box.open()
    window.drop_question = box
    return box
