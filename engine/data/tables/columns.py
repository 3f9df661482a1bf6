"""Guessing which column of a table holds the items and which the labels.

The user can always pick the columns; a good first guess saves them a step on
most real files. Names are matched first, in the languages Taxon ships, then
content decides: image paths end in an image extension, texts are long and
mostly distinct, labels are few short repeated values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class ColumnGuess:
    """The columns that most likely hold the items (texts or image paths) and the labels."""

    item: str | None
    label: str | None


_TEXT_NAMES = (
    "text",
    "texts",
    "sentence",
    "content",
    "review",
    "comment",
    "message",
    "body",
    "utterance",
    "document",
    "tweet",
    "description",
    "question",
    "query",
    "文本",
    "内容",
    "评论",
    "句子",
    "正文",
    "テキスト",
    "本文",
    "نص",
    "النص",
    "текст",
)
_LABEL_NAMES = (
    "label",
    "labels",
    "class",
    "category",
    "target",
    "y",
    "tag",
    "sentiment",
    "topic",
    "intent",
    "标签",
    "类别",
    "分类",
    "ラベル",
    "تصنيف",
    "التصنيف",
    "فئة",
    "الفئة",
    "метка",
    "класс",
)
_IMAGE_NAMES = (
    "path",
    "file",
    "filename",
    "image",
    "img",
    "filepath",
    "imagepath",
    "imagefile",
    "imagename",
    "图片",
    "图像",
    "路径",
    "文件",
    "صورة",
    "مسار",
)
_SAMPLE_ROWS = 20_000


def _normal(name: object) -> str:
    return "".join(c for c in str(name).casefold() if c not in " _-.")


def _words(name: object) -> set[str]:
    """``"ReviewText"``, ``"review_text"`` and ``"Review Text"`` all give {review, text}."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(name)).casefold()
    return {word for word in re.split(r"[\W_]+", spaced) if word}


def _contains(column: object, wanted: str) -> bool:
    """Whole words for scripts with spaces (``stage`` holds no "tag", ``контекст`` no
    "текст"); any substring for Chinese and Japanese, which are written without them."""
    if any(ord(c) >= 0x2E80 for c in wanted):
        return wanted in str(column)
    words = _words(column)
    return wanted in words or wanted + "s" in words


def _by_name(columns: list, names: tuple[str, ...]) -> object | None:
    """The first column named exactly like one of ``names``, else one with such a word
    in its name (``review_text``, ``LabelId``)."""
    normal = {column: _normal(column) for column in columns}
    for wanted in names:
        for column in columns:
            if normal[column] == _normal(wanted):
                return column
    for wanted in names:
        for column in columns:
            if _contains(column, wanted.casefold()):
                return column
    return None


def _profile(values: pd.Series) -> dict[str, float]:
    text = values.dropna().astype(str).str.strip()
    text = text[text != ""]
    if text.empty:
        return {"count": 0, "distinct": 0, "length": 0.0, "numeric": 0.0, "images": 0.0}
    from engine.data.images import IMAGE_EXTENSIONS

    images = text.str.lower().str.extract(r"(\.[a-z0-9]+)$", expand=False).isin(IMAGE_EXTENSIONS)
    numeric = text.str.fullmatch(r"[\d\s.,:/+-]+")  # numbers, dates, times
    return {
        "count": len(text),
        "distinct": text.nunique(),
        "length": float(text.str.len().mean()),
        "numeric": float(numeric.mean()),
        "images": float(images.mean()),
    }


def guess_columns(frame: pd.DataFrame, task: str) -> ColumnGuess:
    """Which column holds the items and which the labels, by name, then by content.

    Names cover English, Chinese, Japanese, Arabic and Russian spellings. By content,
    image paths end in an image extension (80% of cells); text is long and mostly
    distinct; a label has few short values (2 to max(50, 5% of rows) distinct). Rows are
    sampled evenly (20,000 at most), so a million-row table is guessed instantly.
    """
    columns = list(frame.columns)
    if len(frame) > _SAMPLE_ROWS:
        frame = frame.iloc[np.linspace(0, len(frame) - 1, _SAMPLE_ROWS).astype(int)]
    profiles = {c: _profile(frame[c]) for c in columns}
    if task == "image":
        content = [c for c in columns if profiles[c]["count"] and profiles[c]["images"] >= 0.8]
        item = _by_name(content, _IMAGE_NAMES) or (content[0] if content else None)
        if item is None:
            item = _by_name(columns, _IMAGE_NAMES)
    else:
        item = _by_name(columns, _TEXT_NAMES)
        if item is None:
            texts = [
                c
                for c in columns
                if profiles[c]["count"]
                and profiles[c]["numeric"] < 0.9
                and profiles[c]["distinct"] >= 0.5 * profiles[c]["count"]
                and profiles[c]["length"] >= 8
                and profiles[c]["images"] < 0.8
            ]
            item = max(texts, key=lambda c: profiles[c]["length"], default=None)
    others = [c for c in columns if c != item]
    label = _by_name(others, _LABEL_NAMES)
    if label is None:

        def is_label(column) -> bool:
            p = profiles[column]
            limit = max(50, 0.05 * p["count"])
            return (
                bool(p["count"])
                and 2 <= p["distinct"] <= limit
                and p["length"] <= 40
                and p["distinct"] < p["count"]
            )

        # Words before numbers and dates; then the rightmost, where labels usually are.
        candidates = sorted(
            (c for c in others if is_label(c)),
            key=lambda c: (profiles[c]["numeric"] >= 0.9, -columns.index(c)),
        )
        label = candidates[0] if candidates else None
    return ColumnGuess(item, label)
