"""The text Classify view's job, on a worker thread: read every queued source (typed
texts, text files, table columns) into inputs, then classify them all at once.

A file or a table that cannot be read becomes one error input; empty texts are
errors too (a model would still give them a label, which means nothing). Row
names are kept as ``Message``s so they follow a language switch. No Qt here.
"""

from __future__ import annotations

from pathlib import Path

from engine.core.i18n import N_, Message, _
from engine.core.jobs import CancelToken, Progress
from ui.pages.classify.text_languages import fold

TOP_K = 5
MSG_TYPED = N_("Text {n}")
MSG_EMPTY = N_("The text is empty.")


def classify_sources(classifier, sources: list[tuple], progress: Progress, cancel: CancelToken):
    """Read every source into inputs, then classify them all: (results, row names)."""
    from engine.data.text_inputs import TextInput, classify_texts, read_text_file

    inputs: list[TextInput] = []
    names: list[Message | None] = []
    for source in sources:
        cancel.raise_if_cancelled()
        if source[0] == "typed":
            for number, text in source[1]:
                name = Message(MSG_TYPED, {"n": number})
                inputs.append(TextInput(name.text(), text))
                names.append(name)
        elif source[0] == "files":
            for count, path in enumerate(source[1]):
                cancel.raise_if_cancelled()
                name = "\u2068" + Path(path).name + "\u2069"  # left to right in RTL text
                progress(count, len(source[1]), _("Reading {name}…").format(name=name))
                inputs.append(read_text_file(path))
                names.append(None)
        else:
            _kind, path, column, read = source
            rows, row_names = table_inputs(path, column, read, cancel)
            inputs += rows
            names += row_names
    for item in inputs:
        if item.error is None and not (item.text or "").strip():
            item.error = Message(MSG_EMPTY)
    results = classify_texts(classifier, inputs, TOP_K, progress, cancel)
    for result in results:  # here, not on the UI thread: folding imports the detector's module
        result.language = fold(result.language)
    return results, names


def table_inputs(path: str, column: str, read, cancel):
    """One input per row of ``column``, named "table.csv, row 12"; a table that cannot be
    read is one error row."""
    import pandas as pd

    from engine.core.jobs import UserError
    from engine.data.tables.table_io import read_table
    from engine.data.text_inputs import MSG_NO_COLUMN, MSG_ROW, TextInput

    name = Path(path).name
    try:
        read = read if read is not None else read_table(path, cancel=cancel)
        frame = read.frame
        if column not in frame.columns:
            raise UserError(MSG_NO_COLUMN, column=column, columns=", ".join(map(str, frame.columns)))
    except UserError as error:
        return [TextInput(name, error=error.as_message())], [None]
    lines = read.line_numbers if read.line_numbers is not None else range(2, len(frame) + 2)
    inputs, names = [], []
    for value, line in zip(frame[column].tolist(), lines, strict=False):
        row_name = Message(MSG_ROW, {"name": name, "row": int(line)})
        inputs.append(TextInput(row_name.text(), "" if pd.isna(value) else str(value)))
        names.append(row_name)
    return inputs, names
