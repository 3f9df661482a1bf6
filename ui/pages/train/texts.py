"""The Train page's texts, built from the run's state in the current language.

Each is rebuilt on every language switch, so it is a function of plain values
(the dataset, the last event, the result) rather than a string kept from when
the run reported it.
"""

from __future__ import annotations

from engine.core import i18n
from engine.core.i18n import N_, _, ngettext

MSG_PREPARING = N_("Preparing the training data…")
MSG_FINISHED = N_("Training finished after epoch {epoch} of {epochs}.")
MSG_CANCELLED = N_("Cancelled. Press Train to continue from the last completed epoch.")


def dataset_text(dataset) -> str:
    """What the page will train on: the dataset's name, rows and classes."""
    if dataset is None:
        return _("Open a dataset on the Data page to train a model on it.")
    rows = len(dataset.frame)
    classes = dataset.frame["label"].nunique()
    text = (
        ngettext(
            "Dataset “{name}”: {rows} image in {classes} classes.",
            "Dataset “{name}”: {rows} images in {classes} classes.",
            rows,
        )
        if dataset.task == "image"
        else ngettext(
            "Dataset “{name}”: {rows} text in {classes} classes.",
            "Dataset “{name}”: {rows} texts in {classes} classes.",
            rows,
        )
    )
    return text.format(
        name=dataset.name, rows=i18n.format_number(rows), classes=i18n.format_number(classes)
    )


def run_status(device, event, running: bool, paused: bool, task: str) -> str:
    """The line under the charts: device, epoch, speed, time left, GPU memory, paused."""
    from engine.core.devices import describe

    parts = [describe(device)] if device is not None else []
    if event is not None and running:
        parts.append(
            _("Epoch {epoch} of {epochs}").format(
                epoch=i18n.format_number(event.epoch), epochs=i18n.format_number(event.epochs)
            )
        )
        if event.items_per_s:
            unit = _("{n} images/s") if task == "image" else _("{n} texts/s")
            parts.append(unit.format(n=i18n.format_number(event.items_per_s, 0)))
        if event.eta_s is not None and not paused:
            parts.append(_("{time} left").format(time=i18n.format_duration(event.eta_s)))
        if event.gpu_memory_bytes:
            parts.append(
                _("GPU memory: {size}").format(size=i18n.format_bytes(event.gpu_memory_bytes))
            )
    if paused and running:
        parts.append(_("Paused"))
    return " · ".join(parts)


def result_text(result) -> str:
    """The finished model: its name in the library, its scores and where it is."""
    from engine.models.library import ModelLibrary

    metrics = result.metrics
    entry = ModelLibrary().get(result.package)
    name = entry.name if entry is not None else result.package.name
    return (
        _(
            "Saved “{name}”: validation accuracy {accuracy}, macro-F1 {f1} (best epoch: {epoch})."
        ).format(
            name=name,
            accuracy=i18n.format_percent(metrics["accuracy"], 1),
            f1=i18n.format_percent(metrics["macro_f1"], 1),
            epoch=i18n.format_number(result.best_epoch or 0),
        )
        + "\n"
        + _("The model is in {folder}").format(folder="\u2068" + str(result.package) + "\u2069")
    )
