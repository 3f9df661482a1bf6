"""The language line of the text Classify view: which languages the model was trained
on, and which languages the user's texts are in.

Cross-lingual use is a headline feature (train on English examples, classify
Chinese), so the page states the two mixes side by side. The training mix comes
from the package's manifest (``data.languages``, written at training time); for
packages made before that, from the validation texts saved in ``evaluation.json``.
No Qt here: the functions run on a worker thread and in tests as they are.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from engine.core import i18n
from engine.core.i18n import _, ngettext

SHOWN_TRAINING = 3  # languages named with their share; the rest are counted
SHOWN_INPUTS = 5
MIN_SHARE = 0.01
_MAX_MANIFEST_BYTES = 8 * 1024 * 1024
INSTANT_KIND = "text-instant"


@dataclass
class TrainingLanguages:
    """The model's kind and how many training texts were in each language."""

    kind: str = ""
    counts: dict[str, int] = field(default_factory=dict)


def fold(code: str | None) -> str:
    """A dialect or historical form as the language a user would name; "" when unknown.

    Imports the language detector's module (pandas, pyarrow): call it on a worker thread;
    the functions below take codes already folded.
    """
    from engine.data.languages import MACRO_LANGUAGES, UNDETERMINED

    code = MACRO_LANGUAGES.get(code or "", code or "")
    return "" if code == UNDETERMINED else code


def training_languages(folder: str | Path) -> TrainingLanguages:
    """Read the language mix of a text package's training data (worker thread).

    Packages trained before the manifest recorded it fall back to the validation
    texts, a fair sample of the same data. Anything unreadable gives an empty mix.
    """
    folder = Path(folder)
    try:
        manifest_path = folder / "taxon-model.json"
        if manifest_path.stat().st_size > _MAX_MANIFEST_BYTES:
            return TrainingLanguages()
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return TrainingLanguages()
    kind = str(manifest.get("kind") or "")
    recorded = (manifest.get("data") or {}).get("languages")
    if isinstance(recorded, dict):
        counts = Counter({fold(str(code)): int(n) for code, n in recorded.items()
                          if isinstance(n, int) and n > 0})
        counts.pop("", None)
        return TrainingLanguages(kind, dict(counts.most_common()))
    from engine.core.jobs import UserError
    from engine.data.languages import detect_languages
    from engine.models.package import load_package

    try:
        evaluation = load_package(folder).evaluation()
    except UserError:
        return TrainingLanguages(kind)
    texts = [str(item) for item in (evaluation.items if evaluation is not None else [])]
    counts = Counter(fold(code) for code in detect_languages(texts))
    counts.pop("", None)
    return TrainingLanguages(kind, dict(counts.most_common()))


def language_label(code: str) -> str:
    """The language's name in the UI language ("Chinese" in English, "中文" in Chinese);
    its own name when the UI language has none; "unknown" when undetermined."""
    if not code or code == "und":
        return _("unknown")
    try:
        name = i18n.babel_locale().languages.get(code)
    except (ValueError, TypeError):
        name = None
    if not name:
        try:
            return i18n.language_name(code)
        except (ValueError, TypeError):
            return code
    return name[:1].upper() + name[1:]


def join_list(items: list[str]) -> str:
    """"A, B and C" the way the UI language writes a list."""
    if len(items) < 2:
        return "".join(items)
    from babel.lists import format_list

    try:
        return format_list(items, style="standard", locale=i18n.babel_locale())
    except (KeyError, ValueError):
        return ", ".join(items)


def training_part(counts: dict[str, int]) -> str:
    """"English 92 %, Spanish 8 %" (the most common languages, then how many more)."""
    total = sum(counts.values())
    if not total:
        return ""
    ranked = sorted(counts.items(), key=lambda item: -item[1])
    shown = [(code, n) for code, n in ranked[:SHOWN_TRAINING] if n / total >= MIN_SHARE] or ranked[:1]
    parts = [_("{language} {percent}").format(language=language_label(code),
                                              percent=i18n.format_percent(n / total))
             for code, n in shown]
    others = len(ranked) - len(shown)
    if others:
        parts.append(ngettext("{n} other language", "{n} other languages", others).format(
            n=i18n.format_number(others)))
    return join_list(parts)


def inputs_part(codes: Iterable[str]) -> str:
    """"Chinese and Arabic": the languages of the classified texts, most common first."""
    counts = Counter(code for code in codes if code and code != "und")
    ranked = [code for code, _n in counts.most_common()]
    names = [language_label(code) for code in ranked[:SHOWN_INPUTS]]
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
    """"Trained on: English 92 %, Spanish 8 % · Your texts: Chinese, Arabic", plus a
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
            line += "\n" + _("This Instant model learned spellings, not meanings: expect poor "
                             "answers for languages it was not trained on. Fast and Fine-tune "
                             "models carry what they learned across languages.")
        else:
            line += "\n" + _("The model learned from other languages and carries that over to "
                             "these texts; check a few of its answers.")
    return line
