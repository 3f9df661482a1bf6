"""The text Classify view's job, on a worker thread: read every queued source (typed
texts, text files, table columns) into inputs, then classify them all at once.

The reading and classifying are the engine's (``engine.data.text_inputs``), the
same the command line uses; this module only walks the view's queue. Row names
are handed back as ``Message``s so they follow a language switch. No Qt here.
"""

from __future__ import annotations

from engine.core.i18n import Message
from engine.core.jobs import CancelToken, Progress

TOP_K = 5


def classify_sources(classifier, sources: list[tuple], progress: Progress, cancel: CancelToken):
    """Read every source into inputs, then classify them all: (results, row names).

    A source is ``("typed", [(number, text), ...])``, ``("files", [path, ...])`` or
    ``("table", path, column, table read or None)``.
    """
    from engine.data.text_inputs import (
        TextInput,
        classify_texts,
        read_table_column,
        read_text_files,
        typed_inputs,
    )

    inputs: list[TextInput] = []
    for source in sources:
        cancel.raise_if_cancelled()
        if source[0] == "typed":
            inputs += typed_inputs(source[1])
        elif source[0] == "files":
            inputs += read_text_files(source[1], progress, cancel)
        else:
            _kind, path, column, read = source
            inputs += read_table_column(path, column, read, cancel)
    results = classify_texts(classifier, inputs, TOP_K, progress, cancel)
    names: list[Message | None] = [item.name_message for item in inputs]
    return results, names
