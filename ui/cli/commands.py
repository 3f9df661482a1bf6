"""Taxon's command line: the same engine jobs as the window, with a tqdm bar on stderr.

Every command takes ``--lang CODE`` and ``--json``. Exit codes: 0 when every
input succeeded, 1 when some failed, 2 for a usage error. No Qt is imported.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.core import i18n
from engine.core.about import app_version
from engine.core.i18n import _
from engine.core.jobs import Cancelled, UserError
from engine.core.logs import log_file_path, setup_logging
from ui.cli import args as cli_args
from ui.cli.common import EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, ProgressBar, run_job
from ui.cli.common import load_dataset_from_args as _load

log = logging.getLogger(__name__)


def _translate_argparse() -> None:
    """argparse looks up its own strings ("usage:", "options") through these names."""
    argparse._ = i18n._  # type: ignore[attr-defined]
    argparse.ngettext = i18n.ngettext  # type: ignore[attr-defined]


def _language_from_argv(argv: Sequence[str]) -> str | None:
    for index, arg in enumerate(argv):
        if arg == "--lang" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return None


def _common_options(inherit: bool = False) -> argparse.ArgumentParser:
    """``--lang`` and ``--json``, accepted before and after the command.

    The sub-commands' copy (``inherit``) has no defaults of its own: argparse would
    otherwise reset ``--json`` given before the command to False.
    """
    default: dict[str, Any] = {"default": argparse.SUPPRESS} if inherit else {}
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--lang",
        metavar="CODE",
        **default,
        help=_("interface language, e.g. en, zh_CN, ar (default: the system's)"),
    )
    common.add_argument("--json", action="store_true", **default, help=_("print results as JSON"))
    return common


def build_parser() -> argparse.ArgumentParser:
    """Built after the language is set, so every help text is translated."""
    parser = argparse.ArgumentParser(
        prog="taxon",
        description=_(
            "Sort images and text into categories on your own computer: offline, in your language."
        ),
        epilog=_("Run without a command to open the window."),
        parents=[_common_options()],
    )
    common = _common_options(inherit=True)
    parser.add_argument(
        "--version",
        action="version",
        version=f"Taxon {app_version()}",
        help=_("show the version and exit"),
    )
    commands = parser.add_subparsers(dest="command", metavar=_("COMMAND"), title=_("commands"))

    classify = commands.add_parser(
        "classify",
        parents=[common],
        help=_("classify images with the built-in ImageNet model or a trained model"),
        description=_(
            "Classify image files and folders (searched recursively), or texts with a text model."
        ),
        epilog=_(
            "Results are printed as they are made. With --json, each input's result is "
            "one JSON object on its own line (JSON Lines), printed as soon as it is ready."
        ),
    )
    classify.add_argument(
        "paths",
        nargs="*",
        metavar=_("PATH"),
        help=_("image files or folders; for a text model, .txt files or tables"),
    )
    classify.add_argument(
        "--text",
        action="append",
        default=[],
        metavar=_("TEXT"),
        help=_("a text to classify with a text model (repeatable)"),
    )
    classify.add_argument(
        "--text-file",
        action="append",
        default=[],
        metavar=_("FILE"),
        help=_("a text file to classify as one document (repeatable)"),
    )
    classify.add_argument(
        "--column", metavar=_("COLUMN"), help=_("classify this column of each table given as PATH")
    )
    classify.add_argument(
        "--model",
        metavar=_("DIR"),
        help=_("a trained model package (default: the built-in ImageNet model)"),
    )
    classify.add_argument(
        "--top-k",
        type=cli_args.whole_number(1),
        default=5,
        metavar="K",
        help=_("how many labels to show for each input (default: 5)"),
    )
    from ui.cli.classify import add_options as add_stream_options

    add_stream_options(classify)
    classify.set_defaults(handler=cmd_classify, parser=classify)

    dataset_options = argparse.ArgumentParser(add_help=False)
    dataset_options.add_argument(
        "dataset",
        metavar=_("DATASET"),
        help=_(
            "a folder with one sub-folder per class, or a table (CSV, TSV, XLSX, JSONL, Parquet)"
        ),
    )
    dataset_options.add_argument(
        "--task",
        choices=("image", "text"),
        help=_("image or text (default: guessed from the data)"),
    )
    dataset_options.add_argument(
        "--item-column",
        metavar=_("COLUMN"),
        help=_("the column holding the text or the image path (default: guessed)"),
    )
    dataset_options.add_argument(
        "--label-column",
        metavar=_("COLUMN"),
        help=_("the column holding the label (default: guessed)"),
    )
    dataset_options.add_argument(
        "--encoding",
        type=cli_args.encoding,
        help=_("the table's text encoding (default: detected)"),
    )
    dataset_options.add_argument(
        "--delimiter", type=cli_args.delimiter, help=_("the table's delimiter (default: detected)")
    )

    inspect = commands.add_parser(
        "inspect",
        parents=[common, dataset_options],
        help=_("find problems in a dataset"),
        description=_(
            "Check a dataset for problems: unreadable or duplicate items, label mistakes, "
            "imbalance, odd text, and more."
        ),
    )
    inspect.add_argument(
        "--report",
        metavar=_("FILE"),
        type=cli_args.report_file,
        help=_("also write the findings as a report (.html or .json)"),
    )
    inspect.set_defaults(handler=cmd_inspect)

    clean = commands.add_parser(
        "clean",
        parents=[common, dataset_options],
        help=_("write a cleaned copy of a dataset"),
        description=_("Apply fixes to a copy of a dataset; the original files are never changed."),
    )
    clean.add_argument(
        "--out", required=True, metavar=_("DIR"), help=_("the folder for the cleaned data")
    )
    clean.add_argument(
        "--plan",
        metavar=_("FILE"),
        help=_(
            "replay a cleaning plan saved by Taxon (default: apply the suggested fixes "
            "that need no review)"
        ),
    )
    clean.add_argument(
        "--fix",
        action="append",
        metavar=_("KIND"),
        type=cli_args.finding_kind,
        help=_("apply only the suggested fixes of these finding kinds (repeatable)"),
    )
    clean.set_defaults(handler=cmd_clean)

    from ui.cli.train import add_commands

    add_commands(commands, common, dataset_options)
    from ui.cli.models import add_commands as add_model_commands

    add_model_commands(commands, common)
    from ui.cli.serve import add_commands as add_serve

    add_serve(commands, common)
    return parser


def cmd_classify(args: argparse.Namespace) -> int:
    from engine.models.loading import load_classifier

    if not (args.paths or args.text or args.text_file):  # a usage error: exit 2, with usage
        args.parser.error(
            _("Give images or folders to classify, or text with --text or --text-file.")
        )
    from ui.cli.classify import check_options

    check_options(args)
    classifier = run_job(load_classifier, args.model)
    if classifier.task == "text":
        try:
            return classify_texts_command(args, classifier)
        finally:
            classifier.close()
    if args.text or args.text_file or args.column:
        classifier.close()
        raise UserError(i18n.N_("--text, --text-file and --column need a text model (--model)."))
    from ui.cli.classify import classify_image_folders

    bar = ProgressBar()
    try:
        return classify_image_folders(args, classifier, bar)
    finally:
        bar.close()
        classifier.close()


def classify_texts_command(args: argparse.Namespace, classifier) -> int:
    from engine.data.text_inputs import gather
    from ui.cli.classify import classify_text_inputs

    inputs = gather(args.text, list(args.text_file) + list(args.paths), args.column)
    if not inputs:
        print(
            _("Nothing to classify: give --text, --text-file or a table with --column."),
            file=sys.stderr,
        )
        return EXIT_USAGE
    bar = ProgressBar()
    try:
        return classify_text_inputs(args, classifier, inputs, bar)
    finally:
        bar.close()


def _print_findings(findings) -> None:
    from engine.cleaning.report import severity_name

    if not findings:
        print(_("No problems found."))
    for finding in findings:
        count = i18n.ngettext("{n} row", "{n} rows", finding.count).format(
            n=i18n.format_number(finding.count)
        )
        suffix = f" ({count})" if finding.count else ""
        print(
            f"[{severity_name(finding.severity)}] {finding.title.text()}{suffix}  <{finding.kind}>"
        )
        print(f"    {finding.explanation.text()}")
        if finding.fix is not None:
            print("    " + _("Suggested fix:") + " " + finding.fix.description.text())


def cmd_inspect(args: argparse.Namespace) -> int:
    from engine.cleaning.report import findings_json, write_report
    from engine.cleaning.run import inspect_dataset

    dataset = _load(args)
    findings = run_job(inspect_dataset, dataset)
    if args.report:
        write_report(dataset, findings, args.report)
    if args.json:
        print(json.dumps(findings_json(dataset, findings), ensure_ascii=False, indent=2))
    else:
        _print_findings(findings)
    return EXIT_OK


def cmd_clean(args: argparse.Namespace) -> int:
    from engine.cleaning.run import inspect_dataset
    from engine.cleaning.save import PLAN_NAME, save_cleaned_copy
    from engine.core.output_folder import check_new_output

    out = check_new_output(args.out, args.dataset)  # before any work: refusing is instant
    dataset = _load(args)
    plan = _cleaning_plan(args, dataset)
    cleaned = plan.apply(dataset)
    findings_after = run_job(inspect_dataset, cleaned)
    written = save_cleaned_copy(cleaned, plan, findings_after, out, args.dataset)
    summary = plan.summary(dataset)
    if args.json:
        print(
            json.dumps(
                {"output": str(written), "plan": str(out / PLAN_NAME), "summary": summary},
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        print(
            _("Wrote {path}: {before} rows in, {after} out, {labels} labels changed.").format(
                path=written,
                before=i18n.format_number(summary["rows_before"]),
                after=i18n.format_number(summary["rows_after"]),
                labels=i18n.format_number(summary["labels_changed"]),
            )
        )
    return EXIT_OK


def _cleaning_plan(args: argparse.Namespace, dataset):
    """The plan ``--plan`` names, or the suggested fixes (``--fix`` kinds, or all that need
    no review)."""
    from engine.cleaning.findings import REVIEW_BEFORE_FIXING
    from engine.cleaning.plan import CleaningPlan
    from engine.cleaning.run import inspect_dataset

    if args.plan:
        try:
            return CleaningPlan.from_json(json.loads(Path(args.plan).read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise UserError(
                i18n.N_("The cleaning plan {name} cannot be read."),
                str(error),
                name=Path(args.plan).name,
            ) from error
    plan = CleaningPlan()
    for finding in run_job(inspect_dataset, dataset):
        wanted = finding.kind in args.fix if args.fix else finding.kind not in REVIEW_BEFORE_FIXING
        if finding.fix is not None and wanted:
            plan.add_finding(finding)
    return plan


def _silence_stdout() -> None:
    """Point stdout at the null device, so flushing it at exit cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    setup_logging()
    i18n.set_language(_language_from_argv(argv) or i18n.system_language())
    _translate_argparse()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.handler(args)
    except UserError as error:
        print(_("Error: {message}").format(message=error.message), file=sys.stderr)
        return EXIT_SOME_FAILED
    except Cancelled:
        print(_("Cancelled."), file=sys.stderr)
        return EXIT_SOME_FAILED
    except KeyboardInterrupt:
        print(_("Cancelled."), file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader stopped early (``taxon inspect --json | head``)
        _silence_stdout()
        return EXIT_SOME_FAILED
    except Exception:
        log.exception("Unexpected error in %s", args.command)
        print(
            _("Something went wrong. The details were written to {path}").format(
                path=log_file_path()
            ),
            file=sys.stderr,
        )
        return EXIT_SOME_FAILED
