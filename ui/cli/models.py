"""The ``export``, ``combine`` and ``models`` commands: what can be done with models that
exist, the same engine jobs the Models and Evaluate pages run.

They act on finished model packages and share no code with training or
evaluation, so they live apart from ``ui.cli.train``: pack or export a model,
combine several into one, list the model library.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine.core import i18n
from engine.core.i18n import _


def add_commands(commands, common: argparse.ArgumentParser) -> None:
    export = commands.add_parser(
        "export",
        parents=[common],
        help=_("pack a model into one file, or export it as ONNX or TorchScript"),
        description=_(
            "Write a model package as one .taxon-model file (the default); opening that "
            "file (or double-clicking it where Taxon is installed) uses the model. With "
            "--format onnx or torchscript, write the model for use without Taxon, with "
            "a README, after checking that it answers like Taxon."
        ),
    )
    export.add_argument(
        "model",
        metavar=_("MODEL"),
        help=_(
            "a model package folder, a .taxon-model file, or “builtin” for the built-in image model"
        ),
    )
    export.add_argument(
        "--out",
        required=True,
        metavar=_("PATH"),
        help=_("the file (or, for text models in ONNX or TorchScript, the folder) to write"),
    )
    export.add_argument(
        "--format",
        choices=("taxon", "onnx", "torchscript"),
        default="taxon",
        help=_(
            "taxon: one .taxon-model file (default); onnx or torchscript: a standard model file"
        ),
    )
    export.set_defaults(handler=cmd_export)

    combine = commands.add_parser(
        "combine",
        parents=[common],
        help=_("combine two or more models into one"),
        description=_(
            "Combine models of the same task and labels into one model that averages "
            "their probabilities, with weights chosen on their validation examples. "
            "The result is a model package like any other."
        ),
    )
    combine.add_argument(
        "models",
        nargs="+",
        metavar=_("MODEL"),
        help=_("model package folders or .taxon-model files (two or more)"),
    )
    combine.add_argument(
        "--out",
        required=True,
        metavar=_("DIR"),
        help=_("the folder for the combined model package"),
    )
    combine.add_argument("--name", help=_("the model's name (default: the folder's name)"))
    combine.set_defaults(handler=cmd_combine)

    models = commands.add_parser(
        "models",
        parents=[common],
        help=_("list the models you trained or opened"),
        description=_(
            "List every model in the model library: those trained with Taxon or "
            "train, and those opened in the window. A model whose folder was moved "
            "or deleted is marked as missing."
        ),
    )
    models.set_defaults(handler=cmd_models)


def cmd_export(args: argparse.Namespace) -> int:
    from engine.deploy import export_model
    from ui.cli.common import EXIT_OK, run_job

    fmt = getattr(args, "format", "taxon")
    if fmt == "taxon":
        result = export_model(args.model, args.out, "taxon")
    else:
        result = run_job(export_model, args.model, args.out, fmt)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
        return EXIT_OK
    print(_("Saved the model to {path}").format(path=result.output))
    if result.parity:
        print(
            _(
                "Checked against Taxon on {n} examples: the same top label on all, largest "
                "probability difference {difference}."
            ).format(
                n=i18n.format_number(result.parity["checked"]),
                difference=f"{result.parity['max_difference']:.1e}",
            )
        )
    return EXIT_OK


def cmd_combine(args: argparse.Namespace) -> int:
    from engine.models.ensemble import combine
    from engine.models.ensemble_card import EQUAL
    from engine.models.library import TRAINED, ModelLibrary, register
    from ui.cli.common import EXIT_OK, run_job

    name = args.name or ModelLibrary().unique_name(Path(args.out).resolve().name, exclude=args.out)
    result = run_job(combine, args.models, args.out, name=name)
    register(result.package, origin=TRAINED)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
        return EXIT_OK
    print(_("Saved the model to {path}").format(path=result.package))
    for member in result.members:
        accuracy = "—" if member.accuracy is None else i18n.format_percent(member.accuracy, 1)
        print(
            "  "
            + _("{name}: weight {weight}, validation accuracy {accuracy}").format(
                name=member.name, weight=i18n.format_percent(member.weight, 1), accuracy=accuracy
            )
        )
    if result.accuracy is not None:
        print(
            _("Validation accuracy of the combination: {value}").format(
                value=i18n.format_percent(result.accuracy, 1)
            )
        )
    for note in result.notes:
        print(note, file=sys.stderr if result.weighting == EQUAL else sys.stdout)
    return EXIT_OK


def cmd_models(args: argparse.Namespace) -> int:
    """Every model in the library, newest first; ``--json`` gives one object per model."""
    from engine.models.library import ModelLibrary
    from ui.cli.common import EXIT_OK

    entries = ModelLibrary().entries()
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "name": entry.name,
                        "task": entry.task,
                        "classes": entry.classes,
                        "labels": entry.labels,
                        "accuracy": entry.accuracy,
                        "created": entry.created,
                        "size": entry.size,
                        "path": entry.path,
                        "missing": entry.missing,
                        "format": entry.format,
                        "trained_by_taxon": entry.trained_by_taxon,
                    }
                    for entry in entries
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return EXIT_OK
    if not entries:
        print(_("No models yet. Train one with “train”, or open one in the window."))
    for entry in entries:
        print(_model_line(entry))
        where = (_("missing: {path}") if entry.missing else "{path}").format(path=entry.path)
        print("  " + where)
    return EXIT_OK


def _model_line(entry) -> str:
    task = (
        _("images") if entry.task == "image" else _("texts") if entry.task == "text" else entry.task
    )
    parts = [
        entry.name,
        task,
        i18n.ngettext("{n} class", "{n} classes", entry.classes).format(
            n=i18n.format_number(entry.classes)
        ),
    ]
    if entry.accuracy is not None:
        parts.append(_("accuracy {value}").format(value=i18n.format_percent(entry.accuracy, 1)))
    if entry.created_at is not None:
        parts.append(i18n.format_datetime(entry.created_at))
    if not entry.missing:
        parts.append(i18n.format_bytes(entry.size))
    return " · ".join(parts)
