"""Reading datasets from the user's folders and tables, and writing them back.

Two layouts are read (see DESIGN.md, "Datasets"): a folder with one
sub-folder per class, and a table (CSV, TSV, XLSX, JSONL, Parquet) with an
item column and a label column. Both become the one frame of
``engine.data.datasets``. Writing goes the other way "in the input's own form", so
a user who cleaned a CSV gets a CSV back with their own column names, and
nothing the user gave Taxon is ever modified: output goes to a new folder.

Image folders are read by ``engine.data.image_folders``; tables are read and written
by ``engine.data.tables.table_io`` (encoding, delimiter and header detection live there).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pandas as pd

from engine.core.i18n import N_, Message, Nn_, _, format_number
from engine.core.jobs import CancelToken, Progress, UserError, no_progress
from engine.core.output_folder import check_writable, write_problem
from engine.data.datasets import (
    ITEM,
    LABEL,
    ROW_ID,
    SPLIT,
    TASKS,
    Dataset,
    DatasetSource,
    Task,
    blank_to_na,
    find_split_column,
    looks_like_image_paths,
    make_frame,
    normalize_split_column,
    resolve_image_paths,
)
from engine.data.image_folders import MSG_NOT_FOUND, load_image_folder
from engine.data.tables.table_io import TableRead, guess_columns, read_table, write_table

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.csv"
#: Column names of the manifest written for an image folder.
MANIFEST_PATH, MANIFEST_LABEL, MANIFEST_SPLIT = "path", "label", "split"

MSG_MANY_COLUMNS = N_("{first}, … ({count} columns in all)")
#: Column names listed in a message before the rest are summed up as a count.
COLUMNS_LISTED = 8
MSG_FOLDER_NOT_TEXT = N_(
    "{path} is a folder; text datasets are read from a table (CSV, TSV, Excel, JSON Lines or "
    "Parquet)."
)
MSG_NO_COLUMN = N_("The table has no column named {column}. Its columns are: {columns}.")
MSG_CANNOT_GUESS_ITEM = N_(
    "Taxon could not tell which column holds the {what}. Choose it from: {columns}."
)
MSG_CANNOT_GUESS_LABEL = N_(
    "Taxon could not tell which column holds the labels. Choose it from: {columns}."
)
MSG_SAME_COLUMN = N_("The item and label columns must be different (both are {column}).")
MSG_UNKNOWN_SPLITS, MSG_UNKNOWN_SPLITS_PLURAL = Nn_(
    "{count} row has a split value Taxon does not know ({values}); it is treated as unsplit.",
    "{count} rows have split values Taxon does not know ({values}); they are treated as unsplit.",
)
MSG_WOULD_OVERWRITE = N_(
    "Saving to {path} would overwrite the original data. Choose a different output folder."
)
MSG_ITEM_IMAGES = N_("image paths")
MSG_ITEM_TEXTS = N_("texts")


# --------------------------------------------------------------------- tables


def load_table_dataset(
    path: str | os.PathLike[str],
    task: Task,
    *,
    item_column: str | None = None,
    label_column: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    format: str | None = None,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> Dataset:
    """Read a table of items and labels; columns are guessed unless named.

    Image paths are resolved against the table's folder (absolute paths are
    kept). A column named like ``split`` is carried as the dataset's split.
    ``source_line`` is each row's line in the file, so messages can say
    "line 42" and the user finds it in their editor.
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}")
    table_path = Path(os.path.abspath(path))
    read = read_table(
        table_path,
        encoding=encoding,
        delimiter=delimiter,
        sheet=sheet,
        format=format,
        progress=progress,
        cancel=cancel,
    )
    return _dataset_from_read(read, table_path, task, item_column, label_column)


def _dataset_from_read(
    read: TableRead,
    table_path: Path,
    task: Task,
    item_column: str | None,
    label_column: str | None,
) -> Dataset:
    """Turn a ``TableRead`` into a dataset (shared by loading with and without a task guess)."""
    frame = read.frame
    columns = [str(c) for c in frame.columns]
    if item_column is None or label_column is None:
        guess = _guess(frame, task, item_column, label_column)
        item_column = item_column or guess.item
        label_column = label_column or guess.label
    listed = column_list(columns)
    if item_column is None:
        what = MSG_ITEM_IMAGES if task == "image" else MSG_ITEM_TEXTS
        raise UserError(MSG_CANNOT_GUESS_ITEM, what=_(what), columns=listed)
    if label_column is None:
        raise UserError(MSG_CANNOT_GUESS_LABEL, columns=listed)
    for column in (item_column, label_column):
        if column not in frame.columns:
            raise UserError(MSG_NO_COLUMN, column=column, columns=listed)
    if item_column == label_column:
        raise UserError(MSG_SAME_COLUMN, column=item_column)

    items = blank_to_na(frame[item_column])
    if task == "image":
        items = resolve_image_paths(items, table_path.parent)
    labels = blank_to_na(frame[label_column])  # as written: "label.variants" reports " cat"
    lines = _source_lines(read, len(frame))
    split_column = find_split_column(frame, exclude=(item_column, label_column))
    warnings: list[Message] = []
    splits = None
    if split_column is not None:
        splits, unknown = normalize_split_column(frame[split_column])
        if unknown.any():
            count = int(unknown.sum())
            values = ", ".join(sorted(set(frame[split_column][unknown].astype(str)))[:5])
            warnings.append(
                Message(
                    MSG_UNKNOWN_SPLITS,
                    {"count": count, "values": values},
                    MSG_UNKNOWN_SPLITS_PLURAL,
                    count,
                )
            )
    dataset = Dataset(
        task=task,
        frame=make_frame(items.tolist(), labels.tolist(), lines, splits),
        source=DatasetSource(
            kind="table",
            path=str(table_path),
            format=read.format,
            encoding=read.encoding,
            delimiter=read.delimiter,
            item_column=item_column,
            label_column=label_column,
            sheet=read.sheet,
        ),
        name=table_path.stem,
    )
    # The user's other columns ride along so that saving gives their table back whole.
    dataset.extra["table_columns"] = columns
    dataset.extra["split_column"] = split_column
    others = [c for c in frame.columns if c not in (item_column, label_column, split_column)]
    dataset.extra["other_columns"] = frame[others].reset_index(drop=True)
    dataset.warnings.extend(Message(w.msgid, dict(w.params)) for w in read.warnings)
    dataset.warnings.extend(warnings)
    return dataset


def column_list(columns: list[str], limit: int = COLUMNS_LISTED) -> str:
    """``a, b, c`` for a message; a table of 10,000 columns names its first few and the count
    instead of a line of 70 KB."""
    if len(columns) <= limit:
        return ", ".join(columns)
    return _(MSG_MANY_COLUMNS).format(
        first=", ".join(columns[:limit]), count=format_number(len(columns))
    )


def _guess(frame: pd.DataFrame, task: Task, item: str | None, label: str | None):
    """``guess_columns``, blind to a split column: train/test values look like labels."""
    split_column = find_split_column(frame, exclude=tuple(c for c in (item, label) if c))
    if split_column is not None:
        frame = frame.drop(columns=[split_column])
    return guess_columns(frame, task)


# --------------------------------------------------------------------- any dataset


def load_dataset(
    path: str | os.PathLike[str],
    task: Task | None = None,
    *,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
    **options: Any,
) -> Dataset:
    """Read any supported dataset: a folder of class folders, or a table.

    Without ``task``, a table whose guessed item column holds image paths is
    an image dataset, otherwise a text one. ``options`` are those of
    ``load_table_dataset`` (column names, encoding, delimiter, sheet, format).
    """
    target = Path(os.path.abspath(path))
    if not target.exists():
        raise UserError(MSG_NOT_FOUND, path=str(target))
    if target.is_dir():
        if task == "text":
            raise UserError(MSG_FOLDER_NOT_TEXT, path=str(target))
        return load_image_folder(target, progress, cancel)
    if task is not None:
        return load_table_dataset(target, task, progress=progress, cancel=cancel, **options)
    item_column = options.pop("item_column", None)
    label_column = options.pop("label_column", None)
    read = read_table(target, progress=progress, cancel=cancel, **options)
    guessed = _guess_task(read.frame, item_column)
    return _dataset_from_read(read, target, guessed, item_column, label_column)


def _source_lines(read: TableRead, rows: int) -> list[int] | None:
    """1-based file line of each row (the Excel row for workbooks; none for Parquet)."""
    if read.line_numbers is not None and len(read.line_numbers) == rows:
        return [int(n) for n in read.line_numbers]
    return None


def _guess_task(frame: pd.DataFrame, item_column: str | None) -> Task:
    """Image if the chosen (or guessed-for-images) item column holds image paths."""
    if item_column is None:
        item_column = _guess(frame, "image", None, None).item
    if item_column is not None and item_column in frame.columns:
        if looks_like_image_paths(frame[item_column]):
            return "image"
    return "text"


def load_from_source(
    source: DatasetSource,
    task: Task,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> Dataset:
    """Read a dataset again exactly as before (a project stores only the ``DatasetSource``)."""
    if source.kind == "folder":
        return load_image_folder(source.path, progress, cancel)
    return load_table_dataset(
        source.path,
        task,
        item_column=source.item_column,
        label_column=source.label_column,
        encoding=source.encoding,
        delimiter=source.delimiter,
        sheet=source.sheet,
        format=source.format,
        progress=progress,
        cancel=cancel,
    )


# --------------------------------------------------------------------- saving


def save_dataset(dataset: Dataset, out_dir: str | os.PathLike[str]) -> Path:
    """Write ``dataset`` into ``out_dir`` in its input's form; returns the file written.

    A table comes back as a UTF-8 table of the same format and file name, with
    the user's column names and other columns; an image dataset becomes
    ``manifest.csv`` (``path,label[,split]``) pointing at the untouched
    original images by absolute path. Refuses to write over the original.
    """
    folder = Path(os.path.abspath(out_dir))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise write_problem(error, folder) from error
    check_writable(folder)  # "read-only folder", not a hint about a file open elsewhere
    frame = dataset.frame
    source = dataset.source
    options: dict[str, Any] = {}
    if source.kind == "table":
        fmt = source.format or Path(source.path).suffix.lstrip(".").lower() or "csv"
        target = folder / Path(source.path).name
        table = _table_for_saving(dataset)
        if fmt == "csv" and source.delimiter:
            options["delimiter"] = source.delimiter  # a ";" file stays one for the user's Excel
        if fmt == "xlsx" and source.sheet:
            options["sheet"] = source.sheet
    else:
        fmt = "csv"
        target = folder / MANIFEST_NAME
        table = pd.DataFrame({MANIFEST_PATH: frame[ITEM], MANIFEST_LABEL: frame[LABEL]})
        if SPLIT in frame.columns:
            table[MANIFEST_SPLIT] = frame[SPLIT]
    if _is_original(target, source):
        raise UserError(MSG_WOULD_OVERWRITE, path=str(target))
    # Cells are written as the user had them: defusing "=..." would change the data
    # (a text "-5 stars", a label "-1"), and these values came from the user's own file.
    write_table(table.reset_index(drop=True), target, fmt, neutralize=False, **options)
    return target


def _table_for_saving(dataset: Dataset) -> pd.DataFrame:
    """The user's table again: their columns in their order, rows as cleaned."""
    frame = dataset.frame
    source = dataset.source
    item_column = source.item_column or ITEM
    label_column = source.label_column or LABEL
    columns = list(dataset.extra.get("table_columns") or [item_column, label_column])
    split_column = dataset.extra.get("split_column")
    if split_column is None and SPLIT in frame.columns:  # a split made in Taxon: a new column
        split_column = SPLIT if SPLIT not in columns else "taxon_split"
    others: pd.DataFrame | None = dataset.extra.get("other_columns")
    out = pd.DataFrame(index=range(len(frame)))
    for column in columns:
        if column == item_column:
            out[column] = frame[ITEM].to_numpy()
        elif column == label_column:
            out[column] = frame[LABEL].to_numpy()
        elif column == split_column and SPLIT in frame.columns:
            out[column] = frame[SPLIT].to_numpy()
        elif others is not None and column in others.columns:
            # row_id is the row's position in the table that was read.
            out[column] = others[column].reindex(frame[ROW_ID].to_numpy()).to_numpy()
    if split_column and split_column not in out.columns and SPLIT in frame.columns:
        out[split_column] = frame[SPLIT].to_numpy()
    return out.astype("string")


def _is_original(target: Path, source: DatasetSource) -> bool:
    """Whether ``target`` is the user's input file (or inside its image folder's files)."""
    original = Path(source.path)
    try:
        if target.exists() and original.exists() and os.path.samefile(target, original):
            return True
    except OSError:
        pass
    return os.path.normcase(os.path.abspath(target)) == os.path.normcase(os.path.abspath(original))
