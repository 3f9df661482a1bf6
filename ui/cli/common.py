"""What every command-line module shares: exit codes, the progress bar, running a job,
loading the dataset the options name. Sub-command modules import it; ``ui.cli.main`` builds
the parser over them, so nothing imports back into ``ui.cli.main``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from engine.core.jobs import CancelToken

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2


class ProgressBar:
    """A tqdm progress bar on stderr shaped as an engine ``Progress`` callback."""

    def __init__(self) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=None, file=sys.stderr, disable=None, unit="", leave=False)

    def __call__(self, done: int, total: int | None, message: str) -> None:
        if total is not None and self._bar.total != total:
            self._bar.total = total
        self._bar.set_description_str(message[:40], refresh=False)
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        self._bar.close()


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

    options = {key: value for key, value in (
        ("item_column", args.item_column), ("label_column", args.label_column),
        ("encoding", args.encoding), ("delimiter", args.delimiter)) if value}
    dataset = run_job(load_dataset, args.dataset, args.task, **options)
    for warning in dataset.warnings:  # left-out files and folders: said, never silently
        print(warning.text(), file=sys.stderr)
    return dataset
