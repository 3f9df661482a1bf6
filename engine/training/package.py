"""Turning a finished run into a model package with a model card a person can read.

The card is written in the UI language at training time: it is for the people
who will use the model, so it says what data it saw, how it was trained, how
well it did on examples it never trained on, and what it must not be used for.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from engine.core.i18n import _, format_number, format_percent, ngettext
from engine.models.package import save_package
from engine.training.config import MODE_NAMES, TrainConfig
from engine.training.run import Trained


def write_model(
    out_dir: str | Path,
    trained: Trained,
    *,
    name: str,
    task: str,
    dataset_name: str,
    evaluation: Any,
    config: TrainConfig,
    device: str,
) -> Path:
    """Save the package; ``evaluation`` is an ``engine.models.evaluation.Evaluation`` on
    validation rows."""
    outcome = trained.outcome
    config = dataclasses.replace(config, batch_size=outcome.batch_size)  # after OOM back-off
    metrics = evaluation.summary()
    manifest = {
        "name": name,
        "task": task,
        "kind": trained.kind,
        "labels": trained.prepared.labels,
        "backbone": trained.backbone,
        "preprocess": trained.preprocess,
        "metrics": metrics,
        "training": {
            **config.to_json(),
            "best_epoch": outcome.best_epoch,
            "epochs_run": len(outcome.history),
            "device": device,
            "history": outcome.history,
        },
        "data": trained.prepared.summary(task, dataset_name),
    }
    card = model_card(manifest)
    return save_package(
        out_dir,
        manifest=manifest,
        tensors=trained.tensors,
        evaluation=evaluation.to_json(),
        extra_files=trained.extra_files,
        card=card,
    )


def model_card(manifest: dict[str, Any]) -> str:
    training, data, metrics = manifest["training"], manifest["data"], manifest["metrics"]
    lines = [f"# {manifest['name']}", ""]
    lines += [
        _("A Taxon model that sorts {task} into {n} classes.").format(
            task=_("images") if manifest["task"] == "image" else _("texts"),
            n=len(manifest["labels"]),
        ),
        "",
        "## " + _("Data"),
        "",
        _(
            "Trained on {train} examples and checked on {validation} examples it never trained on "
            "(from “{dataset}”)."
        ).format(
            train=format_number(data["train_examples"]),
            validation=format_number(data["validation_examples"]),
            dataset=data["name"],
        ),
    ]
    if data.get("skipped_examples"):
        skipped = int(data["skipped_examples"])
        lines += [
            "",
            ngettext(
                "{n} example could not be read and was left out.",
                "{n} examples could not be read and were left out.",
                skipped,
            ).format(n=format_number(skipped)),
        ]
    lines += [
        "",
        "| {} | {} | {} |".format(_("Class"), _("Training"), _("Validation")),
        "|---|---:|---:|",
    ]
    for label, counts in data["classes"].items():
        lines.append(
            "| {} | {} | {} |".format(
                label, format_number(counts["train"]), format_number(counts["validation"])
            )
        )
    backbone = manifest["backbone"]
    lines += [
        "",
        "## " + _("Training"),
        "",
        "- " + _("Mode: {mode}").format(mode=_(MODE_NAMES.get(training["mode"], training["mode"]))),
        "- "
        + _("Starting point: {name}").format(name=backbone.get("name", backbone.get("id", ""))),
        "- "
        + _("Epochs: {epochs} (best: {best})").format(
            epochs=format_number(training["epochs_run"]), best=format_number(training["best_epoch"])
        ),
        "- "
        + _("Learning rate: {rate}; batch size: {batch}; seed: {seed}").format(
            rate=f"{training['learning_rate']:g}",
            batch=format_number(training["batch_size"]),
            seed=training["seed"],
        ),
        "- " + _("Device: {device}").format(device=training["device"]),
        "",
        "## " + _("How well it works"),
        "",
        _(
            "On the validation examples: accuracy {accuracy}, macro-F1 {f1}, expected calibration "
            "error {ece}."
        ).format(
            accuracy=format_percent(metrics["accuracy"]),
            f1=format_percent(metrics["macro_f1"]),
            ece=format_percent(metrics["ece"]),
        ),
        "",
        "## " + _("Intended use"),
        "",
        _("Sorting new items that look like the training data into the classes above."),
        "",
        "## " + _("Limits"),
        "",
        _(
            "The model only knows these classes: anything else still gets one of them. It can be "
            "wrong, most often on items unlike its training data, and it repeats any bias or error "
            "in that data. Check its answers before acting on them, and do not use it alone for "
            "decisions about people."
        ),
        "",
    ]
    return "\n".join(lines)
