"""Datasets: a table of items (image paths or texts) with labels, and where it came from.

Every dataset, whatever it was read from, is one pandas DataFrame with these
columns, so checks, fixes, splits and training treat images and text alike:

- ``row_id``: a stable integer id (findings and fixes refer to rows by it);
- ``item``: the absolute image path (image task) or the text (text task);
- ``label``: the class as a string, or missing (``pd.NA``);
- ``source_line``: where the row was in the user's file (1-based line number of
  a table, counting the header), or ``pd.NA`` for folders;
- ``split`` (optional): "train", "validation" or "test" when the user's data
  came with a split.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import pandas as pd

Task = Literal["image", "text"]
ROW_ID, ITEM, LABEL, SOURCE_LINE, SPLIT = "row_id", "item", "label", "source_line", "split"
REQUIRED_COLUMNS = (ROW_ID, ITEM, LABEL, SOURCE_LINE)
TASKS: tuple[str, ...] = ("image", "text")

TRAIN, VALIDATION, TEST = "train", "validation", "test"
#: The split names a dataset frame uses, in the order they are reported.
SPLITS: tuple[str, ...] = (TRAIN, VALIDATION, TEST)
#: Spellings found in users' files (compared case-insensitively, trimmed).
SPLIT_ALIASES: dict[str, str] = {
    "train": TRAIN, "training": TRAIN, "trn": TRAIN,
    "validation": VALIDATION, "val": VALIDATION, "valid": VALIDATION, "dev": VALIDATION,
    "test": TEST, "testing": TEST, "tst": TEST,
}  # fmt: skip


def _is_missing(value: object) -> bool:
    """None, pd.NA or NaN: the ways a table cell can be empty in pandas."""
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def normalize_split(value: object) -> str | None:
    """Map a user's split spelling ("Val", " DEV ") to a canonical name, or None if unknown.

    Imported tables spell splits in many ways; checks and training only ever see
    the three canonical names.
    """
    if _is_missing(value):
        return None
    return SPLIT_ALIASES.get(str(value).strip().casefold())


@dataclass(frozen=True)
class DatasetSource:
    """How the data was read, so it can be read again and written back in its own form."""

    kind: Literal["folder", "table"]
    path: str
    format: str | None = None  # "csv", "tsv", "xlsx", "jsonl", "parquet" for tables
    encoding: str | None = None
    delimiter: str | None = None
    item_column: str | None = None  # the text column, or the image path column
    label_column: str | None = None
    sheet: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DatasetSource:
        return cls(**data)


@dataclass
class Dataset:
    task: Task
    frame: pd.DataFrame
    source: DatasetSource
    name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [column for column in REQUIRED_COLUMNS if column not in self.frame.columns]
        if missing:
            raise ValueError(f"dataset frame lacks columns {missing}")

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def has_split(self) -> bool:
        """True when the user's data came with its own train/validation/test split."""
        return SPLIT in self.frame.columns and bool(self.frame[SPLIT].notna().any())

    @property
    def warnings(self) -> list:
        """Problems noticed while loading (``Message`` objects, translated when shown)."""
        return self.extra.setdefault("warnings", [])

    @property
    def labels(self) -> pd.Series:
        return self.frame[LABEL]

    def class_counts(self) -> pd.Series:
        """Rows per label, most common first (missing labels not counted)."""
        return self.frame[LABEL].dropna().value_counts()

    def rows(self, row_ids) -> pd.DataFrame:
        return self.frame[self.frame[ROW_ID].isin(list(row_ids))]

    def with_frame(self, frame: pd.DataFrame) -> Dataset:
        return replace(self, frame=frame.reset_index(drop=True))


def make_frame(items, labels, source_lines=None, splits=None) -> pd.DataFrame:
    """Build a dataset frame with fresh row ids 0..n-1."""
    items = list(items)
    frame = pd.DataFrame(
        {
            ROW_ID: pd.Series(range(len(items)), dtype="int64"),
            ITEM: pd.Series(items, dtype="string"),
            LABEL: pd.Series(list(labels), dtype="string"),
            SOURCE_LINE: pd.Series(
                list(source_lines) if source_lines is not None else [pd.NA] * len(items),
                dtype="Int64",
            ),
        }
    )
    if splits is not None:
        frame[SPLIT] = pd.Series(list(splits), dtype="string")
    return frame


# --------------------------------------------------------------------- column helpers
# Pure functions over table columns, shared by the loaders and by the GUI's column picker.

#: Names (case-insensitive) of a column holding an imported split.
SPLIT_COLUMN_NAMES: tuple[str, ...] = ("split", "subset", "set", "partition", "fold")
#: Share of non-empty cells that must look like image paths for a column to be one.
IMAGE_PATH_SHARE = 0.8


def blank_to_na(column: pd.Series) -> pd.Series:
    """Strings, with empty and whitespace-only cells missing (tables read everything as text)."""
    values = column.astype("string")
    return values.where(values.str.strip() != "", pd.NA)


def looks_like_image_paths(column: pd.Series) -> bool:
    """True when most non-empty cells end in an image file extension.

    This is how a table is told to be an image dataset rather than a text one.
    """
    from engine.data.images import IMAGE_EXTENSIONS

    values = blank_to_na(column).dropna().str.strip()
    if values.empty:
        return False
    extensions = values.map(lambda v: os.path.splitext(v)[1].lower())
    return float(extensions.isin(IMAGE_EXTENSIONS).mean()) >= IMAGE_PATH_SHARE


def resolve_image_paths(paths: pd.Series, folder: str | os.PathLike[str]) -> pd.Series:
    """Absolute paths for a table's image column; relative ones start at the table's folder.

    Tables made on Windows use backslashes; elsewhere those become slashes so
    ``images\\cat.jpg`` is found. Empty cells stay missing.
    """

    def resolve(value: object) -> object:
        if _is_missing(value):
            return pd.NA
        text = str(value).strip()
        if not text:
            return pd.NA
        if os.sep == "/" and "\\" in text and not os.path.exists(text):
            text = text.replace("\\", "/")
        if text.startswith("~"):
            text = os.path.expanduser(text)
        return os.path.normpath(text if os.path.isabs(text) else os.path.join(folder, text))

    return pd.Series([resolve(v) for v in paths.tolist()], index=paths.index, dtype="string")


def find_split_column(frame: pd.DataFrame, exclude: tuple[str, ...] = ()) -> str | None:
    """The column carrying an imported split: named like one and holding known split values."""
    by_name = {str(c).strip().casefold(): c for c in frame.columns if c not in exclude}
    for name in SPLIT_COLUMN_NAMES:
        column = by_name.get(name)
        if column is not None and frame[column].map(normalize_split).notna().any():
            return column
    return None


def normalize_split_column(column: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Canonical split names (missing where blank or unknown), and a mask of the unknown ones."""
    canonical = pd.Series(
        [normalize_split(v) for v in column.tolist()], index=column.index, dtype="string"
    )
    unknown = canonical.isna() & blank_to_na(column).notna()
    return canonical, unknown.astype(bool)
