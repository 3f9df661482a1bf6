"""What an ensemble package tells its user about how it was made, in words.

Combining writes the same account twice: as notes (the combine dialog's preview, the
command line, ``CombineResult.notes``) and in the package's MODEL_CARD.md. Both say
how the weights were found and what the validation score is worth, so they are
written here, once, in the interface language; the weighting names they describe
(``SEARCHED``, ``EQUAL``) live here too, for ``ensemble`` to record in the manifest.
"""

from __future__ import annotations

from typing import Any

from engine.core.i18n import N_, Nn_, _, format_number, format_percent, ngettext

#: How the weights were found (the manifest's ``ensemble.weighting``).
SEARCHED, EQUAL = "searched", "equal"


NOTE_EQUAL = N_(
    "The models were checked on different validation examples, so their weights "
    "could not be fitted without using examples some of them trained on: the "
    "weights are equal."
)
NOTE_CHECKED = Nn_(
    "The combination was checked on {n} validation example that none of the models trained on.",
    "The combination was checked on {n} validation examples that none of the models trained on.",
)
NOTE_UNCHECKED = N_(
    "No validation example was checked by every model, so the combination has "
    "no validation score: evaluate it on a labelled dataset."
)
NOTE_SEARCHED = N_(
    "The weights were chosen on the same validation examples that give its "
    "score, so the score may be slightly optimistic."
)


def combination_notes(weighting: str, checked: int) -> list[str]:
    notes = [_(NOTE_EQUAL)] if weighting == EQUAL else [_(NOTE_SEARCHED)]
    notes.append(
        ngettext(*NOTE_CHECKED, checked).format(n=format_number(checked))
        if checked
        else _(NOTE_UNCHECKED)
    )
    return notes


def model_card(manifest: dict[str, Any], notes: list[str]) -> str:
    """The ensemble's MODEL_CARD.md, in the interface language."""
    ensemble = manifest["ensemble"]
    task = _("images") if manifest["task"] == "image" else _("texts")
    lines = [
        f"# {manifest['name']}",
        "",
        _(
            "A combination of {n} Taxon models that sort {task} into {classes} classes: "
            "the weighted average of their probabilities."
        ).format(
            n=format_number(len(ensemble["members"])),
            task=task,
            classes=format_number(len(manifest["labels"])),
        ),
        "",
        "| {} | {} | {} |".format(_("Model"), _("Weight"), _("Validation accuracy")),
        "|---|---:|---:|",
    ]
    for member in ensemble["members"]:
        accuracy = member["accuracy"]
        lines.append(
            "| {} | {} | {} |".format(
                member["name"],
                format_percent(member["weight"], 1),
                format_percent(accuracy, 1) if accuracy is not None else "—",
            )
        )
    metrics = manifest.get("metrics") or {}
    if "accuracy" in metrics:
        lines += [
            "",
            _("Validation accuracy of the combination: {value}").format(
                value=format_percent(metrics["accuracy"], 1)
            ),
        ]
    lines += [""] + [f"- {note}" for note in notes]
    lines += [
        "",
        "## " + _("Limits"),
        "",
        _(
            "Each member's own model card says what data it saw and what it must not be "
            "used for; all of it applies to the combination."
        ),
        "",
    ]
    return "\n".join(lines)
