"""The Evaluate page's sentences, built from an evaluation at display time (so they follow a
language switch) and kept apart from the widgets that show them."""

from __future__ import annotations

from engine.core import i18n
from engine.core.i18n import _, ngettext
from engine.models.evaluation import Evaluation


def source_text(has_model: bool, evaluation: Evaluation | None, on_dataset: bool) -> str:
    """What the numbers were measured on, and what was left out."""
    if not has_model:
        return _("Choose a trained model to see how well it does, class by class.")
    if evaluation is None:
        return ""
    count = i18n.format_number(len(evaluation))
    if on_dataset:
        text = ngettext(
            "On the current dataset: {n} example.",
            "On the current dataset: {n} examples.",
            len(evaluation),
        ).format(n=count)
        text += " " + _("Numbers on examples the model was trained on look better than they are.")
    else:
        text = ngettext(
            "On the validation split saved with the model: {n} example.",
            "On the validation split saved with the model: {n} examples.",
            len(evaluation),
        ).format(n=count)
    if evaluation.skipped:
        skipped = len(evaluation.skipped)
        text += " " + ngettext(
            "{n} row was skipped (hover to see why).",
            "{n} rows were skipped (hover to see why).",
            skipped,
        ).format(n=i18n.format_number(skipped))
    return text


def calibration_text(evaluation: Evaluation | None) -> str:
    if evaluation is None:
        return ""
    return (
        _("Expected calibration error: {ece}.").format(
            ece=i18n.format_percent(evaluation.expected_calibration_error(), 1)
        )
        + "\n\n"
        + _(
            "Each bar shows how often the model was right among the examples it gave that much "
            "confidence. On the dashed line, a confidence of {share} means right {share} of the "
            "time; hatched gaps show how far the model is off."
        ).format(share=i18n.format_percent(0.8))
    )


def mistakes_heading(evaluation: Evaluation | None, count: int) -> str:
    if evaluation is None:
        return ""
    if not count:
        return _("No mistakes: every example got its true label.")
    return ngettext(
        "{n} mistake, most confident first", "{n} mistakes, most confident first", count
    ).format(n=i18n.format_number(count))


def cell_heading(count: int, true: str, predicted: str) -> str:
    return ngettext(
        "{n} example of {true} predicted as {predicted}",
        "{n} examples of {true} predicted as {predicted}",
        count,
    ).format(n=i18n.format_number(count), true=true, predicted=predicted)


def cell_hint() -> str:
    return _(
        "Click a cell of the matrix to see its examples here. Cells off the diagonal are "
        "the mistakes: the row is the true label, the column the predicted one."
    )
