"""The language line of the text Classify view: which languages the model was trained
on, and which languages the user's texts are in.

Cross-lingual use is a headline feature (train on English examples, classify
Chinese), so the page states the two mixes side by side. The training mix is the
engine's (``engine.models.training_languages``) and language names are
``i18n.display_language``'s; this module only words the line. No Qt here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from engine.core import i18n
from engine.core.i18n import _, ngettext
from engine.core.i18n import display_language as language_label
from engine.models.training_languages import TrainingLanguages, training_languages

#: The view modules import these from here; ``language_label`` is ``display_language``.
__all__ = [
    "TrainingLanguages",
    "inputs_part",
    "join_list",
    "language_label",
    "mix_line",
    "training_languages",
    "training_part",
    "unseen_languages",
]

SHOWN_TRAINING = 3  # languages named with their share; the rest are counted
SHOWN_INPUTS = 5
MIN_SHARE = 0.01
INSTANT_KIND = "text-instant"


def join_list(items: list[str]) -> str:
    """ "A, B and C" the way the UI language writes a list."""
    if len(items) < 2:
        return "".join(items)
    from babel.lists import format_list

    try:
        return format_list(items, style="standard", locale=i18n.babel_locale())
    except (KeyError, ValueError):
        return ", ".join(items)


def training_part(counts: dict[str, int]) -> str:
    """ "English 92 %, Spanish 8 %" (the most common languages, then how many more)."""
    total = sum(counts.values())
    if not total:
        return ""
    ranked = sorted(counts.items(), key=lambda item: -item[1])
    shown = [(code, n) for code, n in ranked[:SHOWN_TRAINING] if n / total >= MIN_SHARE] or ranked[
        :1
    ]
    parts = [
        _("{language} {percent}").format(
            language=i18n.display_language(code), percent=i18n.format_percent(n / total)
        )
        for code, n in shown
    ]
    others = len(ranked) - len(shown)
    if others:
        parts.append(
            ngettext("{n} other language", "{n} other languages", others).format(
                n=i18n.format_number(others)
            )
        )
    return join_list(parts)


def inputs_part(codes: Iterable[str]) -> str:
    """ "Chinese and Arabic": the languages of the classified texts, most common first."""
    counts = Counter(code for code in codes if code and code != "und")
    ranked = [code for code, _n in counts.most_common()]
    names = [i18n.display_language(code) for code in ranked[:SHOWN_INPUTS]]
    if len(ranked) > SHOWN_INPUTS:
        rest = len(ranked) - SHOWN_INPUTS
        names.append(ngettext("{n} more", "{n} more", rest).format(n=i18n.format_number(rest)))
    return join_list(names)


def unseen_languages(training: TrainingLanguages | None, codes: Iterable[str]) -> list[str]:
    """Input languages the training data did not contain (empty when the mix is unknown)."""
    if training is None or not training.counts:
        return []
    seen = set(training.counts)
    return sorted({code for code in codes if code and code != "und" and code not in seen})


def mix_line(training: TrainingLanguages | None, codes: list[str]) -> str:
    """ "Trained on: English 92 %, Spanish 8 % · Your texts: Chinese, Arabic", plus a
    caution when an instant model (spellings, not meanings) meets new languages."""
    parts = []
    if training is not None and training.counts:
        parts.append(_("Trained on: {languages}").format(languages=training_part(training.counts)))
    texts = inputs_part(codes)
    if texts:
        parts.append(_("Your texts: {languages}").format(languages=texts))
    line = " · ".join(parts)
    unseen = unseen_languages(training, codes)
    if unseen and training is not None:
        if training.kind == INSTANT_KIND:
            line += "\n" + _(
                "This Instant model learned spellings, not meanings: expect poor "
                "answers for languages it was not trained on. Fast and Fine-tune "
                "models carry what they learned across languages."
            )
        else:
            line += "\n" + _(
                "The model learned from other languages and carries that over to "
                "these texts; check a few of its answers."
            )
    return line
