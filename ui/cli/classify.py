"""``classify`` over image folders and text tables of any size: results stream out as made.

Nothing is collected: each result is printed (a tab-separated line, or with
``--json`` one JSON object per line, flushed at once) and, with ``--output FILE``,
appended to a results file that is made durable after every batch
(``engine.data.result_log``), then dropped. ``--resume`` skips what that file already
holds, ``--shard I/N`` takes one of N fixed parts of the inputs, and the first
Ctrl+C stops after the current batch with everything so far written (exit 130);
a second one stops at once. Texts (typed, text files, table columns) go the same way
in batches of ``TEXT_BATCH``; their ``--resume`` matches an input by its name as shown
(file, or table and row, so resume in the same ``--lang``) and its file's size and
modification time. No Qt is imported.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

from engine.core import i18n
from engine.core.i18n import _
from engine.core.jobs import Cancelled, CancelToken
from ui.cli.common import say

EXIT_OK, EXIT_SOME_FAILED, EXIT_INTERRUPTED = 0, 1, 130
#: Texts classified, printed and saved together: small enough that a stop loses little,
#: large enough that batching pays (language detection and the model run per batch).
TEXT_BATCH = 256


def shard_spec(text: str) -> tuple[int, int]:
    """argparse type for ``--shard I/N``: 1-based part I of N, returned as (I - 1, N)."""
    try:
        part, count = (int(value) for value in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(_("expected I/N with whole numbers, e.g. 1/4")) from None
    if count < 1 or not 1 <= part <= count:
        raise argparse.ArgumentTypeError(
            _("the part must be between 1 and the number of parts, e.g. 1/4 to 4/4")
        )
    return part - 1, count


def add_options(parser: argparse.ArgumentParser) -> None:
    """The streaming options of ``classify``."""
    parser.add_argument(
        "--output",
        metavar=_("FILE"),
        help=_(
            "also write the results to FILE as they are made, one line per "
            "input: JSON Lines, or CSV for a .csv name; saved after every "
            "batch"
        ),
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help=_(
            "continue the --output FILE of an interrupted run: skip the "
            "inputs it holds (same path, size and modification time)"
        ),
    )
    parser.add_argument(
        "--shard",
        type=shard_spec,
        metavar="I/N",
        help=_(
            "classify only part I of N (1/4 … 4/4); an input's part is fixed "
            "by a hash of its path inside the folder given, or of its table "
            "and row for a text, so N runs on N machines split the inputs "
            "without talking to each other"
        ),
    )


def record(result, classifier=None) -> dict[str, Any]:
    """The JSON object of one result: ``to_json()`` plus size and mtime (for --resume) and,
    for the built-in model, each label's ``display_label`` in the UI language (``label``
    stays the stable English name)."""
    row = result.to_json()
    if classifier is not None and classifier.label_domain is not None:
        for prediction in row.get("predictions", ()):
            prediction["display_label"] = classifier.display_label(prediction["label"])
    if result.size is not None:
        row["size"], row["mtime_ns"] = result.size, result.mtime_ns
    return row


def _selector(args: argparse.Namespace, log) -> Callable | None:
    from engine.data.files import shard_of

    tests: list[Callable] = []
    if args.shard is not None:
        part, count = args.shard
        tests.append(lambda item: shard_of(item.relative, count) == part)
    if log is not None and log.index.count:
        index = log.index
        tests.append(
            lambda item: not index.has(str(item.path), _known(item.size), _known(item.mtime_ns))
        )
    if not tests:
        return None
    return lambda item: all(test(item) for test in tests)


def _known(value: int) -> int | None:
    return None if value < 0 else value


class _FileStamps:
    """Size and modification time of each source file, looked up once per file."""

    def __init__(self) -> None:
        self._stamps: dict[str, tuple[int | None, int | None]] = {}

    def __call__(self, source: str | None) -> tuple[int | None, int | None]:
        if source is None:
            return None, None
        if source not in self._stamps:
            try:
                info = os.stat(source)
                self._stamps[source] = (info.st_size, info.st_mtime_ns)
            except OSError:
                self._stamps[source] = (None, None)
        return self._stamps[source]


class _Printer:
    """Prints each result as it comes; errors to stderr above the progress bar. A line ends
    with the other labels for an image, with the detected language for a text."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.count = self.errors = 0

    def __call__(self, row: dict[str, Any]) -> None:
        self.count += 1
        if "error" in row:
            self.errors += 1
        if self.as_json:
            print(json.dumps(row, ensure_ascii=False), flush=True)
        elif "error" in row:
            say(_("{input}: error: {message}").format(input=row["input"], message=row["error"]))
        else:
            best, *rest = [
                (p.get("display_label", p["label"]), p["score"]) for p in row["predictions"]
            ]
            tail = row.get("language")
            if tail is None:
                tail = ", ".join(f"{name} {i18n.format_percent(score, 1)}" for name, score in rest)
            print(
                f"{row['input']}\t{best[0]}\t{i18n.format_percent(best[1], 1)}\t{tail}",
                flush=True,
            )


def _say_nothing_left(log) -> None:
    """A resumed run found every input in its results file already."""
    print(
        i18n.ngettext(
            "Nothing left to classify: {name} holds all {n} result.",
            "Nothing left to classify: {name} holds all {n} results.",
            log.index.count,
        ).format(name=log.path.name, n=i18n.format_number(log.index.count)),
        file=sys.stderr,
    )


@contextlib.contextmanager
def _first_ctrl_c_cancels(cancel: CancelToken) -> Iterator[None]:
    """The first Ctrl+C asks the job to stop after its batch; a second one interrupts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(_signum, _frame) -> None:
        if cancel.cancelled:
            raise KeyboardInterrupt
        cancel.cancel()
        # Not printed here: the signal may have arrived inside a write to stderr (the progress
        # bar's), and writing to it again from the same thread raises "reentrant call". A
        # thread of its own waits for that write to finish.
        threading.Thread(
            target=say,
            args=(_("Stopping after the current batch… (press Ctrl+C again to stop now)"),),
            name="ctrl-c-message",
            daemon=True,
        ).start()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def check_options(args: argparse.Namespace) -> None:
    """Usage errors (exit 2) before the model loads."""
    if args.resume and not args.output:
        args.parser.error(_("--resume needs --output FILE: the file to continue."))


def classify_image_folders(args: argparse.Namespace, classifier, bar) -> int:
    """Run ``classify`` on images, streaming; returns the exit code."""
    from engine.data.result_log import ResultLog
    from engine.models.inference import classify_images

    log = ResultLog(args.output, resume=args.resume) if args.output else None
    printer = _Printer(args.json)

    def on_result(result) -> None:
        row = record(result, classifier)
        if log is not None:
            if args.resume and log.index.has(row["input"], row.get("size"), row.get("mtime_ns")):
                return  # a folder error already recorded
            log.add(row)
        printer(row)

    cancel = CancelToken()
    interrupted = False
    try:
        with _first_ctrl_c_cancels(cancel):
            classify_images(
                classifier,
                args.paths,
                args.top_k,
                bar,
                cancel,
                on_result,
                select=_selector(args, log),
                keep_results=False,
                on_batch=log.commit if log is not None else None,
            )
    except Cancelled:
        interrupted = True
    finally:
        if log is not None:
            log.close()  # what was classified is saved, even on Ctrl+C
    bar.close()
    if interrupted:
        print(_("Cancelled."), file=sys.stderr)
        return EXIT_INTERRUPTED
    if printer.count == 0:
        if log is not None and log.index.count:
            _say_nothing_left(log)
            return EXIT_OK
        print(_("No images found."), file=sys.stderr)
        return EXIT_SOME_FAILED
    return EXIT_SOME_FAILED if printer.errors else EXIT_OK


def _within(bar, start: int, size: int, total: int):
    """A batch's own progress (done of its steps) as progress over all ``total`` inputs."""

    def progress(done: int, steps: int | None, message: str) -> None:
        bar(start + (done * size // steps if steps else 0), total, message)

    return progress


def classify_text_inputs(args: argparse.Namespace, classifier, inputs: list, bar) -> int:
    """Run ``classify`` on gathered texts (``engine.data.text_inputs``), a batch at a time:
    each batch is printed and saved before the next starts. Returns the exit code."""
    from engine.data.files import shard_of
    from engine.data.result_log import ResultLog
    from engine.data.text_inputs import classify_texts

    log = ResultLog(args.output, resume=args.resume) if args.output else None
    stamps = _FileStamps()
    if args.shard is not None:
        part, count = args.shard
        inputs = [item for item in inputs if shard_of(item.key or item.name, count) == part]
    if log is not None and log.index.count:
        inputs = [item for item in inputs if not log.index.has(item.name, *stamps(item.source))]
    printer = _Printer(args.json)
    cancel = CancelToken()
    interrupted = False
    try:
        with _first_ctrl_c_cancels(cancel):
            for start in range(0, len(inputs), TEXT_BATCH):
                cancel.raise_if_cancelled()
                batch = inputs[start : start + TEXT_BATCH]
                progress = _within(bar, start, len(batch), len(inputs))
                for item, result in zip(
                    batch,
                    classify_texts(classifier, batch, args.top_k, progress, cancel),
                    strict=True,
                ):
                    row = result.to_json()
                    size, mtime_ns = stamps(item.source)
                    if size is not None:
                        row["size"], row["mtime_ns"] = size, mtime_ns
                    if log is not None:
                        log.add(row)
                    printer(row)
                if log is not None:
                    log.commit()
    except Cancelled:
        interrupted = True
    finally:
        if log is not None:
            log.close()
    bar.close()
    if interrupted:
        print(_("Cancelled."), file=sys.stderr)
        return EXIT_INTERRUPTED
    if printer.count == 0 and log is not None and log.index.count:
        _say_nothing_left(log)
    return EXIT_SOME_FAILED if printer.errors else EXIT_OK
