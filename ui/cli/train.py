"""The ``train`` and ``evaluate`` commands: the same engine jobs the Train and Evaluate
pages run (``export``, ``combine`` and ``models`` are in ``ui.cli.models``).

Progress goes to stderr as a tqdm bar (epoch, loss, images per second); the
metrics go to stdout, as JSON with ``--json``. Under ``torchrun`` only rank 0
prints, so the output is the same as a single-process run's.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path
from typing import Any

from engine.core import i18n
from engine.core.i18n import _

MODES_HELP = {"image": "fast, finetune", "text": "instant, fast, finetune"}


def add_commands(
    commands, common: argparse.ArgumentParser, dataset_options: argparse.ArgumentParser
) -> None:
    from engine.core.devices import DEVICE_CHOICES
    from engine.training.config import (
        BATCH_SIZE_MAX,
        EPOCHS_MAX,
        LEARNING_RATE_MAX,
        MODES,
        SEED_MAX,
        TRAIN_BLOCKS,
    )
    from ui.cli.args import positive_number, whole_number

    train = commands.add_parser(
        "train",
        parents=[common, dataset_options],
        help=_("train a model on a dataset"),
        description=_(
            "Train a classifier on a dataset and save it as a model package. A run that "
            "was interrupted resumes from its last checkpoint when started again with "
            "the same data and settings."
        ),
    )
    train.add_argument(
        "--out", required=True, metavar=_("DIR"), help=_("the folder for the model package")
    )
    train.add_argument(
        "--mode",
        choices=MODES,
        help=_("fast (default for images), finetune, or instant (default for text)"),
    )
    train.add_argument(
        "--epochs",
        type=whole_number(1, EPOCHS_MAX),
        metavar="N",
        help=_("the most epochs to train"),
    )
    train.add_argument(
        "--batch-size",
        type=whole_number(1, BATCH_SIZE_MAX),
        metavar="N",
        help=_("examples per training step"),
    )
    train.add_argument(
        "--learning-rate",
        type=positive_number(LEARNING_RATE_MAX),
        metavar="LR",
        help=_("the peak learning rate"),
    )
    train.add_argument(
        "--device",
        choices=DEVICE_CHOICES,
        default="auto",
        help=_("where to train (default: a GPU when there is one)"),
    )
    train.add_argument(
        "--seed",
        type=whole_number(0, SEED_MAX),
        default=0,
        help=_("random seed; the same seed gives the same result on the CPU"),
    )
    train.add_argument(
        "--train-blocks",
        choices=TRAIN_BLOCKS,
        default="all",
        help=_("fine-tune the whole network or only its top blocks"),
    )
    train.add_argument(
        "--no-augment",
        action="store_true",
        help=_("fine-tune without crops, flips and colour changes"),
    )
    train.add_argument(
        "--backbone",
        metavar=_("DIR"),
        help=_(
            "start from a local Hugging Face model folder instead of the "
            "built-in model (safetensors weights only)"
        ),
    )
    train.add_argument(
        "--restart",
        action="store_true",
        help=_("ignore a checkpoint of an interrupted run and start again"),
    )
    train.add_argument("--name", help=_("the model's name (default: the folder's name)"))
    train.set_defaults(handler=cmd_train)

    model_first = argparse.ArgumentParser(add_help=False)  # positional order: MODEL DATASET
    model_first.add_argument("model", metavar=_("MODEL"), help=_("a model package folder"))
    evaluate = commands.add_parser(
        "evaluate",
        parents=[common, model_first, dataset_options],
        help=_("measure a model on a labelled dataset"),
        description=_(
            "Classify every item of a labelled dataset with a model package and report "
            "accuracy, macro-F1, per-class scores, the confusion matrix and calibration."
        ),
    )
    evaluate.add_argument(
        "--out",
        metavar=_("FILE"),
        help=_("also write every prediction as JSON (for the Evaluate page)"),
    )
    evaluate.set_defaults(handler=cmd_evaluate)


def _show_event(bar, event) -> None:
    """A training event on the bar: notes and epochs as lines, each step's loss and speed
    as its postfix."""
    from engine.training.divergence import format_loss
    from ui.cli.common import say

    if event.kind == "note" and event.note is not None:
        say(event.note.text())
    elif event.kind == "step" and event.loss is not None:
        speed = i18n.format_number(event.items_per_s or 0, 0)
        bar.postfix(
            _("loss {loss} · {speed}/s").format(loss=format_loss(event.loss, 3), speed=speed)
        )
    elif event.kind == "epoch":
        say(
            _(
                "Epoch {epoch}: loss {loss}, validation loss {val_loss}, validation "
                "accuracy {accuracy}"
            ).format(
                epoch=event.epoch,
                loss=format_loss(event.loss, 3),
                val_loss=format_loss(event.val_loss, 3),
                accuracy=i18n.format_percent(event.val_accuracy, 1),
            )
        )


def cmd_train(args: argparse.Namespace) -> int:
    from engine.core.jobs import CancelToken
    from engine.models.library import TRAINED, ModelLibrary, register
    from engine.training import default_config, train
    from engine.training.distributed import world_from_env
    from ui.cli.common import EXIT_OK, ProgressBar
    from ui.cli.common import load_dataset_from_args as _load

    dataset = _load(args)
    warnings = [warning.text() for warning in dataset.warnings]  # printed by _load
    config = default_config(dataset.task)
    overrides: dict[str, Any] = {
        "mode": args.mode,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "device": args.device,
        "seed": args.seed,
        "train_blocks": args.train_blocks,
        "backbone": args.backbone,
    }
    for key, value in overrides.items():
        if value is not None:
            setattr(config, key, value)
    if args.no_augment:
        config.augment_crop = config.augment_flip = config.augment_color = False
    name = args.name or ModelLibrary().unique_name(
        Path(args.out).resolve().name, exclude=args.out
    )  # two "model"s: "model (2)"
    bar = ProgressBar(unit=_("steps"), width=48, forward_only=True)
    try:
        result = train(
            dataset,
            args.out,
            config,
            bar,
            CancelToken(),
            on_event=functools.partial(_show_event, bar),
            resume=not args.restart,
            name=name,
        )
    finally:
        bar.close()
    if not world_from_env().main:
        return EXIT_OK
    register(result.package, origin=TRAINED)  # listed by ``models`` and in the window
    skipped, thin = _what_the_package_says(result.package)
    _print_skipped(skipped)
    if thin:
        warnings.append(thin)
        print(thin, file=sys.stderr)
    output = {
        "package": str(result.package),
        "metrics": result.metrics,
        "best_epoch": result.best_epoch,
        "epochs_run": len(result.history),
        "resumed_from_epoch": result.resumed_from_epoch,
        "notes": result.notes,
        "skipped": [{"item": item, "error": reason} for item, reason in skipped],
        "skipped_count": len(skipped),
        "warnings": warnings,
    }
    if args.json:
        print(json.dumps(output, ensure_ascii=False, indent=2))
    else:
        for note in result.notes:
            print(note)
        print(_("Saved the model to {path}").format(path=result.package))
        _print_metrics(result.metrics)
    return EXIT_OK


def _what_the_package_says(package_path) -> tuple[list[tuple[str, str]], str | None]:
    """The examples left out (unreadable) and a warning about classes checked on too few
    examples, read back from the package just written (its manifest and evaluation)."""
    from engine.models.package import load_package
    from engine.training.data import thin_validation

    package = load_package(package_path)
    evaluation = package.evaluation()
    skipped = (
        [(str(item), str(reason)) for item, reason in evaluation.skipped] if evaluation else []
    )
    thin = thin_validation(package.manifest.get("data", {}).get("classes", {}))
    return skipped, None if thin is None else thin.text()


#: Unreadable examples listed one by one on the terminal; the rest are only counted.
SKIPPED_LISTED = 10


def _print_skipped(skipped: list[tuple[str, str]]) -> None:
    if not skipped:
        return
    print(
        i18n.ngettext(
            "{n} example could not be read and was left out.",
            "{n} examples could not be read and were left out.",
            len(skipped),
        ).format(n=i18n.format_number(len(skipped))),
        file=sys.stderr,
    )
    for item, reason in skipped[:SKIPPED_LISTED]:
        print(
            "  " + _("{input}: error: {message}").format(input=item, message=reason),
            file=sys.stderr,
        )
    if len(skipped) > SKIPPED_LISTED:
        rest = len(skipped) - SKIPPED_LISTED
        print(
            "  "
            + i18n.ngettext("… and {n} more", "… and {n} more", rest).format(
                n=i18n.format_number(rest)
            ),
            file=sys.stderr,
        )


def _print_metrics(metrics: dict[str, Any]) -> None:
    print(_("Accuracy: {value}").format(value=i18n.format_percent(metrics["accuracy"], 1)))
    print(_("Macro-F1: {value}").format(value=i18n.format_percent(metrics["macro_f1"], 1)))
    print(
        _("Expected calibration error: {value}").format(
            value=i18n.format_percent(metrics["ece"], 1)
        )
    )
    print(_("Examples: {n}").format(n=i18n.format_number(metrics["count"])))


def cmd_evaluate(args: argparse.Namespace) -> int:
    from engine.core.atomic import write_atomic
    from engine.models.evaluation import evaluate_classifier
    from engine.models.loading import load_classifier
    from ui.cli.common import EXIT_OK, EXIT_SOME_FAILED, run_job
    from ui.cli.common import load_dataset_from_args as _load

    classifier = run_job(load_classifier, args.model)
    try:
        dataset = _load(args)
        evaluation = run_job(evaluate_classifier, classifier, dataset)
    finally:
        classifier.close()
    if args.out:
        write_atomic(args.out, json.dumps(evaluation.to_json(), ensure_ascii=False).encode("utf-8"))
    per_class = [
        {
            "label": r.label,
            "precision": r.precision,
            "recall": r.recall,
            "f1": r.f1,
            "support": r.support,
        }
        for r in evaluation.per_class()
    ]
    if args.json:
        print(
            json.dumps(
                {
                    "metrics": evaluation.summary(),
                    "per_class": per_class,
                    "confusion": evaluation.confusion().tolist(),
                    "labels": evaluation.labels,
                    "skipped": [
                        {"input": item, "error": reason} for item, reason in evaluation.skipped
                    ],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        _print_metrics(evaluation.summary())
        for row in per_class:
            print(
                "  "
                + _(
                    "{label}: precision {precision}, recall {recall}, F1 {f1}, {support} examples"
                ).format(
                    label=row["label"],
                    precision=i18n.format_percent(row["precision"], 1),
                    recall=i18n.format_percent(row["recall"], 1),
                    f1=i18n.format_percent(row["f1"], 1),
                    support=i18n.format_number(row["support"]),
                )
            )
        for item, reason in evaluation.skipped:
            print(
                _("{input}: error: {message}").format(input=item, message=reason), file=sys.stderr
            )
    return EXIT_SOME_FAILED if evaluation.skipped else EXIT_OK
