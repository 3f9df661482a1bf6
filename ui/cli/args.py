"""argparse ``type=`` checks for the command line's options.

A bad value is a usage error: argparse prints the usage and one line naming the
option ("argument --epochs: must be a whole number from 1 to 10,000, not 0") and
exits with 2, before any data is read. The limits come from the engine
(``engine.training.config``, ``engine.cleaning.run``) so the window and the
command line agree on them. No Qt here.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from pathlib import Path

from engine.core import i18n
from engine.core.i18n import N_, _

MSG_WHOLE_RANGE = N_("must be a whole number from {low} to {high}, not {value}")
MSG_WHOLE_AT_LEAST = N_("must be a whole number of at least {low}, not {value}")
MSG_NUMBER_RANGE = N_("must be a number greater than {low} and at most {high}, not {value}")
MSG_DELIMITER = N_("must be a single character (or \\t for a tab), not {value}")
MSG_REPORT_SUFFIX = N_("the report's file name must end in {suffixes}, not {value}")
MSG_REPORT_FOLDER = N_("{value} is a folder; give a file name ending in {suffixes}")
MSG_REPORT_NO_FOLDER = N_("the folder {folder} does not exist")
MSG_UNKNOWN_KIND = N_("{value} is not a kind of finding; the kinds are: {kinds}")

REPORT_SUFFIXES = (".html", ".htm", ".json")
_TAB_NAMES = ("\\t", "tab", "TAB", "Tab")


def _fail(message: str, **params: object) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(_(message).format(**params))


def whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """An integer option in ``low..high`` (inclusive; no upper bound when ``high`` is None)."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            if high is None:
                raise _fail(MSG_WHOLE_AT_LEAST, low=i18n.format_number(low), value=text)
            raise _fail(
                MSG_WHOLE_RANGE,
                low=i18n.format_number(low),
                high=i18n.format_number(high),
                value=text,
            )
        return value

    return parse


def positive_number(high: float) -> Callable[[str], float]:
    """A finite float option in ``(0, high]``: ``nan``, ``inf``, 0 and negatives are refused."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and 0 < value <= high):
            raise _fail(
                MSG_NUMBER_RANGE,
                low=i18n.format_number(0),
                high=i18n.format_number(high),
                value=text,
            )
        return value

    return parse


def delimiter(text: str) -> str:
    """One character; ``\\t`` or ``tab`` as typed in a shell mean a tab."""
    if text in _TAB_NAMES:
        return "\t"
    if len(text) != 1 or text in '\r\n"':
        raise _fail(MSG_DELIMITER, value=repr(text))
    return text


def encoding(text: str) -> str:
    """A text codec Python knows (``rot13`` and ``base64`` are codecs, but not of text)."""
    from engine.core.jobs import UserError
    from engine.data.tables.detect import codec_name

    try:
        return codec_name(text)
    except UserError as error:
        raise argparse.ArgumentTypeError(error.message) from None


def report_file(text: str) -> str:
    """A report path ending in .html, .htm or .json whose folder exists and that is no folder."""
    path = Path(text)
    suffixes = ", ".join(REPORT_SUFFIXES)
    if path.is_dir():
        raise _fail(MSG_REPORT_FOLDER, value=text, suffixes=suffixes)
    if path.suffix.lower() not in REPORT_SUFFIXES:
        raise _fail(MSG_REPORT_SUFFIX, value=text, suffixes=suffixes)
    folder = Path(os.path.abspath(text)).parent
    if not folder.is_dir():
        raise _fail(MSG_REPORT_NO_FOLDER, folder=str(folder))
    return text


def known_finding_kinds() -> list[str]:
    """Every finding kind a check can report, for images and texts, read from the checks."""
    from engine.cleaning.run import IMAGE_CHECKS, LABEL_CHECKS, LABEL_ERRORS, TEXT_CHECKS

    kinds = [*TEXT_CHECKS, *(kind for kind, _check in IMAGE_CHECKS), *LABEL_CHECKS, LABEL_ERRORS]
    return list(dict.fromkeys(kinds))


def finding_kind(text: str) -> str:
    """A ``--fix`` value: one of the finding kinds the checks report."""
    kinds = known_finding_kinds()
    if text not in kinds:
        raise _fail(MSG_UNKNOWN_KIND, value=text, kinds=", ".join(kinds))
    return text
