"""Texts to classify, from wherever the user has them: typed, ``.txt`` files, a table column.

The command line and the window's text Classify view both gather their texts
here, so both read files and tables the same way. Each input keeps a display name
(the file, or "file.csv, row 12") so results and errors point at the source;
typed texts and table rows also keep that name as a ``Message``, so a window can
show it again in another language. A file or table that cannot be read is
reported on its own and the rest of the batch goes on. Text files are decoded
with the same encoding detection as tables (never silently replacing bad bytes).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
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
MSG_NOT_TEXT = N_(
    "The file is not plain text (it looks like a program, picture or other binary file)."
)
MSG_TYPED = N_("Text {n}")
MSG_EMPTY = N_("The text is empty.")


@dataclass
class TextInput:
    name: str  # shown to the user
    text: str | None = None
    error: Message | None = None
    #: The name as a message ("Text 3", "notes.csv, row 12"), for a display that
    #: follows a language switch; None when the name is a path.
    name_message: Message | None = None
    #: The file the text came from (a text file or a table), as given; None when typed.
    source: str | None = None
    #: Where the input sits, in words that do not depend on the UI language or the folder
    #: the file lies in ("notes.csv:12", "doc.txt", "text:3"): what ``--shard`` hashes, so
    #: N machines split the same inputs the same way.
    key: str = ""

    @classmethod
    def named(
        cls,
        message: Message,
        text: str | None = None,
        error: Message | None = None,
        source: str | None = None,
        key: str = "",
    ) -> TextInput:
        return cls(message.text(), text, error, message, source, key)


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
        return {
            "input": self.input,
            "language": self.language,
            "predictions": [{"label": label, "score": score} for label, score in self.predictions],
        }


def typed_inputs(numbered: Iterable[tuple[int, str]]) -> list[TextInput]:
    """Typed texts named "Text {n}" by the number each was given."""
    return [
        TextInput.named(Message(MSG_TYPED, {"n": number}), text, key=f"text:{number}")
        for number, text in numbered
    ]


def read_text_file(path: str | os.PathLike[str]) -> TextInput:
    """One text file as an input; a problem with it becomes that input's error.

    Only regular files are read, and at most ``MAX_TEXT_BYTES`` + 1 bytes of them:
    ``getsize`` says 0 for ``/dev/zero``, which would otherwise fill the memory,
    and a FIFO would block forever.
    """
    from engine.data.tables.encoding_guess import MSG_BINARY, detect_encoding

    name = os.fspath(path)

    def failed(error: Message) -> TextInput:
        return TextInput(name, error=error, source=name, key=Path(name).name)

    try:
        data = read_regular(name, MAX_TEXT_BYTES)
        encoding = detect_encoding(data, Path(name).name)
        text = data.decode(encoding).lstrip("\ufeff")
        return TextInput(name, text, source=name, key=Path(name).name)
    except UserError as error:
        return failed(Message(MSG_NOT_TEXT) if error.msgid == MSG_BINARY else error.as_message())
    except FileTooLargeError:
        return failed(Message(MSG_TOO_BIG))
    except NotRegularFileError:
        return failed(Message(MSG_NOT_REGULAR, {"name": Path(name).name or name}))
    except (OSError, UnicodeDecodeError, LookupError) as error:
        return failed(Message(MSG_UNREADABLE, {"reason": str(error)}))


def read_text_files(
    paths: list[str], progress: Progress = no_progress, cancel: CancelToken | None = None
) -> list[TextInput]:
    """``read_text_file`` for each path, saying which file is being read."""
    from engine.data.tables.common import MSG_READING

    inputs = []
    for count, path in enumerate(paths):
        if cancel is not None:
            cancel.raise_if_cancelled()
        name = "\u2068" + Path(path).name + "\u2069"  # left to right in RTL text
        progress(count, len(paths), _(MSG_READING).format(name=name))
        inputs.append(read_text_file(path))
    return inputs


def read_table_column(
    path: str | os.PathLike[str], column: str, table: Any = None, cancel: CancelToken | None = None
) -> list[TextInput]:
    """One input per row of ``column``, named "table.csv, row 12".

    ``table`` is the ``TableRead`` when the caller has read it already (to offer its
    columns). A table that cannot be read, or lacks the column, is one error input
    named by the file: the other sources of the batch are still classified.
    """
    import pandas as pd

    from engine.data.tables.table_io import read_table

    name = Path(path).name
    try:
        table = table if table is not None else read_table(path, cancel=cancel)
        frame = table.frame
        if column not in frame.columns:
            raise UserError(
                MSG_NO_COLUMN, column=column, columns=", ".join(map(str, frame.columns))
            )
    except UserError as error:
        return [TextInput(name, error=error.as_message(), source=os.fspath(path), key=name)]
    # The row is an identifier the user looks up in the spreadsheet, written as the
    # spreadsheet writes it (no grouping): not a count to localise, and cheap per row.
    lines = table.line_numbers if table.line_numbers is not None else range(2, len(frame) + 2)
    source = os.fspath(path)
    return [
        TextInput.named(
            Message(MSG_ROW, {"name": name, "row": str(int(line))}),
            "" if pd.isna(value) else str(value),
            source=source,
            key=f"{name}:{int(line)}",
        )
        for value, line in zip(frame[column].tolist(), lines, strict=False)
    ]


def gather(texts: list[str], paths: list[str], column: str | None) -> list[TextInput]:
    """Typed texts, then each path: a text file, or a table when ``column`` is given
    (the command line's arguments, read by the same functions as the window's queue)."""
    inputs = typed_inputs(enumerate(texts, 1))
    for path in paths:
        if column and Path(path).suffix.lower() not in TEXT_SUFFIXES:
            inputs.extend(read_table_column(path, column))
        else:
            inputs.append(read_text_file(path))
    return inputs


def classify_texts(
    classifier,
    inputs: list[TextInput],
    top_k: int = 5,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> list[TextResult]:
    """Label, top-k and detected language of every readable input, in order.

    An empty (or all-space) text is an error, not classified: a model would still
    give it a label, which means nothing. Languages are folded as a user names them
    (``fold_language``: Cantonese is Chinese), "" when undetermined.
    """
    from engine.data.languages import detect_languages, fold_language

    cancel = cancel or CancelToken()
    errors = [
        item.error if item.error is not None or (item.text or "").strip() else Message(MSG_EMPTY)
        for item in inputs
    ]
    readable = [i for i, error in enumerate(errors) if error is None]
    texts = [inputs[i].text or "" for i in readable]
    probabilities = classifier.predict_texts(texts, progress, cancel) if texts else np.zeros((0, 0))
    languages = detect_languages(texts, cancel=cancel) if texts else []
    results = [
        TextResult(item.name, error=error) for item, error in zip(inputs, errors, strict=True)
    ]
    for row, index in enumerate(readable):
        order = np.argsort(-probabilities[row], kind="stable")[: max(1, top_k)]
        results[index] = TextResult(
            inputs[index].name,
            texts[row],
            [(classifier.labels[i], float(probabilities[row, i])) for i in order],
            fold_language(languages[row]),
        )
    return results
