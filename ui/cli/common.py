"""What every command-line module shares: exit codes, the progress bar, running a job,
loading the dataset the options name. Sub-command modules import it; ``ui.cli.commands`` builds
the parser over them, so nothing imports back into ``ui.cli.commands``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from engine.core.jobs import CancelToken

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2


class ProgressBar:
    """The one tqdm progress bar on stderr, shaped as an engine ``Progress`` callback.

    ``width`` cuts the message; ``forward_only`` keeps the count from going back when a
    job's next phase starts again from zero (training: its steps after the checks).
    """

    def __init__(self, unit: str = "", width: int = 40, forward_only: bool = False) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=None, file=sys.stderr, disable=None, unit=unit, leave=False)
        self.width, self.forward_only = width, forward_only

    def __call__(self, done: int, total: int | None, message: str) -> None:
        if total is not None and self._bar.total != total:
            self._bar.total = total
        self._bar.set_description_str(message[: self.width], refresh=False)
        step = done - self._bar.n
        self._bar.update(max(0, step) if self.forward_only else step)

    def postfix(self, text: str) -> None:
        """Show ``text`` after the bar (training: the latest loss and speed)."""
        self._bar.set_postfix_str(text, refresh=False)

    def close(self) -> None:
        self._bar.close()


def say(text: str) -> None:
    """A line on stderr, above the progress bar rather than through it."""
    from tqdm import tqdm

    tqdm.write(text, file=sys.stderr)


def run_job(fn, *args: Any, **kwargs: Any) -> Any:
    """Run an engine job with a progress bar on stderr."""
    bar, cancel = ProgressBar(), CancelToken()
    try:
        return fn(*args, progress=bar, cancel=cancel, **kwargs)
    finally:
        bar.close()


def load_dataset_from_args(args: argparse.Namespace):
    """The dataset ``DATASET`` and its column/encoding options name; warnings on stderr."""
    from engine.data.dataset_io import load_dataset

    options = {
        key: value
        for key, value in (
            ("item_column", args.item_column),
            ("label_column", args.label_column),
            ("encoding", args.encoding),
            ("delimiter", args.delimiter),
        )
        if value
    }
    dataset = run_job(load_dataset, args.dataset, args.task, **options)
    for warning in dataset.warnings:  # left-out files and folders: said, never silently
        print(warning.text(), file=sys.stderr)
    return dataset
