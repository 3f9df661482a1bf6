"""Texts to classify, from wherever the user has them: typed, ``.txt`` files, a table column.

Each input keeps a display name (the file, or "file.csv, row 12") so results
and errors point at the source. A file that cannot be read is reported on its
own; the rest of the batch goes on. Text files are decoded with the same
encoding detection as tables (never silently replacing bad bytes).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.core.i18n import N_, Message, _
from engine.core.jobs import CancelToken, Progress, UserError, no_progress
from engine.core.regular_files import (
    MSG_NOT_REGULAR,
    FileTooLargeError,
    NotRegularFileError,
    read_regular,
)

TEXT_SUFFIXES = {".txt", ".text", ".md"}
MAX_TEXT_BYTES = 5 * 1024 * 1024
MSG_TOO_BIG = N_("The file is larger than 5 MB; classify a shorter text.")
MSG_UNREADABLE = N_("The file cannot be read: {reason}")
MSG_NO_COLUMN = N_("The table has no column “{column}”. Its columns: {columns}")
MSG_ROW = N_("{name}, row {row}")
MSG_NOT_TEXT = N_("The file is not plain text (it looks like a program, picture or other binary file).")


@dataclass
class TextInput:
    name: str  # shown to the user
    text: str | None = None
    error: Message | None = None


@dataclass
class TextResult:
    input: str
    text: str = ""
    predictions: list[tuple[str, float]] = field(default_factory=list)
    language: str = ""
    error: Message | None = None

    def to_json(self) -> dict[str, Any]:
        if self.error is not None:
            return {"input": self.input, "error": self.error.text()}
        return {"input": self.input, "language": self.language,
                "predictions": [{"label": label, "score": score} for label, score in self.predictions]}


def read_text_file(path: str | os.PathLike[str]) -> TextInput:
    from engine.data.tables.detect import MSG_BINARY, detect_encoding

    """One text file as an input; a problem with it becomes that input's error.

    Only regular files are read, and at most ``MAX_TEXT_BYTES`` + 1 bytes of them:
    ``getsize`` says 0 for ``/dev/zero``, which would otherwise fill the memory,
    and a FIFO would block forever.
    """
    name = os.fspath(path)
    try:
        data = read_regular(name, MAX_TEXT_BYTES)
        encoding = detect_encoding(data, Path(name).name)
        return TextInput(name, data.decode(encoding).lstrip("\ufeff"))
    except UserError as error:
        binary = error.msgid == MSG_BINARY
        return TextInput(name, error=Message(MSG_NOT_TEXT) if binary else error.as_message())
    except FileTooLargeError:
        return TextInput(name, error=Message(MSG_TOO_BIG))
    except NotRegularFileError:
        return TextInput(name, error=Message(MSG_NOT_REGULAR, {"name": Path(name).name or name}))
    except (OSError, UnicodeDecodeError, LookupError) as error:
        return TextInput(name, error=Message(MSG_UNREADABLE, {"reason": str(error)}))


def read_table_column(path: str | os.PathLike[str], column: str) -> list[TextInput]:
    """One input per row of ``column`` (the table's own problems raise a UserError)."""
    from engine.data.tables.table_io import read_table

    table = read_table(path)
    if column not in table.frame.columns:
        raise UserError(MSG_NO_COLUMN, column=column, columns=", ".join(map(str, table.frame.columns)))
    name = Path(path).name
    lines = table.line_numbers if table.line_numbers is not None else range(2, len(table.frame) + 2)
    out = []
    for value, line in zip(table.frame[column].tolist(), lines, strict=False):
        label = Message(MSG_ROW, {"name": name, "row": int(line)}).text()
        out.append(TextInput(label, "" if value is None or value != value else str(value)))
    return out


def gather(texts: list[str], paths: list[str], column: str | None) -> list[TextInput]:
    """Typed texts, then each path: a text file, or a table when ``column`` is given."""
    inputs = [TextInput(_("Text {n}").format(n=index), text) for index, text in enumerate(texts, 1)]
    for path in paths:
        if column and Path(path).suffix.lower() not in TEXT_SUFFIXES:
            inputs.extend(read_table_column(path, column))
        else:
            inputs.append(read_text_file(path))
    return inputs


def classify_texts(classifier, inputs: list[TextInput], top_k: int = 5,
                   progress: Progress = no_progress, cancel: CancelToken | None = None
                   ) -> list[TextResult]:
    """Label, top-k and detected language of every readable input, in order."""
    from engine.data.languages import detect_languages

    cancel = cancel or CancelToken()
    readable = [i for i, item in enumerate(inputs) if item.error is None]
    texts = [inputs[i].text or "" for i in readable]
    probabilities = classifier.predict_texts(texts, progress, cancel) if texts else np.zeros((0, 0))
    languages = detect_languages(texts, cancel=cancel) if texts else []
    results = [TextResult(item.name, error=item.error) for item in inputs]
    for row, index in enumerate(readable):
        order = np.argsort(-probabilities[row], kind="stable")[:max(1, top_k)]
        results[index] = TextResult(
            inputs[index].name, texts[row],
            [(classifier.labels[i], float(probabilities[row, i])) for i in order], languages[row] or "")
    return results
