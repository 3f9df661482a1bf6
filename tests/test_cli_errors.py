"""The command line never crashes on a bad argument: one translated line, exit 2.

And the messages that used to end in "Something went wrong" (a huge loss, a table of
10,000 columns, classes too small to check on, unwritable folders, file names that are
not UTF-8) now say what is wrong.
"""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from engine.core.jobs import UserError

ROOT = Path(__file__).resolve().parent.parent

SAMPLES = Path(__import__("sklearn").__file__).parent / "datasets" / "images"


def _usage_error(capsys, *argv: str) -> str:
    """Run the CLI expecting argparse's refusal; returns its one ``error:`` line."""
    from ui.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "Something went wrong" not in err
    lines = err.strip().splitlines()  # argparse's usage block, then the one error line
    errors = [index for index, line in enumerate(lines) if "error:" in line or "éŕŕóŕ:" in line]
    assert len(errors) == 1 and errors[0] > 0, err
    assert all(set(line) <= set("·⟧") for line in lines[errors[0] + 1 :]), err  # en_XA padding
    return lines[errors[0]]


@pytest.fixture
def table(tmp_path) -> Path:
    path = tmp_path / "t.csv"
    path.write_text("text,label\nhello there friend,a\nhow are you today,b\n", encoding="utf-8")
    return path


TRAIN_CASES = [
    ("--learning-rate", "1e30"),
    ("--learning-rate", "nan"),
    ("--learning-rate", "inf"),
    ("--learning-rate", "-1"),
    ("--learning-rate", "0"),
    ("--epochs", "0"),
    ("--epochs", "-3"),
    ("--batch-size", "0"),
    ("--batch-size", "-5"),
    ("--seed", "-1"),
    ("--seed", "1e20"),
]


@pytest.mark.parametrize(("option", "value"), TRAIN_CASES)
def test_bad_training_numbers_are_usage_errors_naming_the_option(
    capsys, table, tmp_path, option, value
):
    line = _usage_error(
        capsys,
        "--lang",
        "en",
        "train",
        str(table),
        "--out",
        str(tmp_path / "model"),
        f"{option}={value}",
    )
    assert f"argument {option}:" in line and value in line
    assert not (tmp_path / "model").exists()


@pytest.mark.parametrize(
    ("command", "option", "value", "expected"),
    [
        ("classify", "--top-k", "0", "at least 1"),
        ("inspect", "--delimiter", ";;", "single character"),
        ("inspect", "--encoding", "rot13", "not a text encoding"),
        ("inspect", "--encoding", "no-such-codec", "not a text encoding"),
        ("inspect", "--report", "r.exe", ".html, .htm, .json"),
        ("clean", "--fix", "text.typos", "label.variants"),
    ],
)
def test_bad_option_values_are_usage_errors(
    capsys, table, tmp_path, command, option, value, expected
):
    target = ["x.jpg"] if command == "classify" else [str(table)]
    extra = ["--out", str(tmp_path / "out")] if command == "clean" else []
    line = _usage_error(capsys, "--lang", "en", command, *target, *extra, option, value)
    assert f"argument {option}:" in line and expected in line
    assert not (tmp_path / "out").exists()


def test_a_report_path_that_is_a_folder_is_refused(capsys, table, tmp_path):
    line = _usage_error(capsys, "--lang", "en", "inspect", str(table), "--report", str(tmp_path))
    assert "is a folder" in line


def test_the_messages_go_through_the_translations(capsys, table, tmp_path):
    """en_XA accents every translated message, so plain English would show a missing ``_``."""
    line = _usage_error(
        capsys,
        "--lang",
        "en_XA",
        "train",
        str(table),
        "--out",
        str(tmp_path / "m"),
        "--epochs",
        "0",
    )
    assert "ɱúšţ" in line  # "must", translated
    line = _usage_error(capsys, "--lang", "en_XA", "inspect", str(table), "--report", "r.exe")
    assert "ŕéþóŕţ" in line  # "report", translated


def test_tab_delimiter_spellings_are_accepted():
    from ui.cli.args import delimiter

    assert delimiter("\\t") == delimiter("tab") == "\t" and delimiter(";") == ";"


def test_the_known_finding_kinds_are_read_from_the_checks():
    from engine.cleaning.run import applicable_checks
    from ui.cli.args import known_finding_kinds

    kinds = known_finding_kinds()
    for task in ("image", "text"):
        assert set(applicable_checks(SimpleNamespace(task=task))) <= set(kinds)


def test_json_before_the_command_is_not_ignored(capsys, table):
    from ui.cli import build_parser, main

    assert main(["--json", "--lang", "en", "inspect", str(table)]) == 0
    assert json.loads(capsys.readouterr().out)["format"] == "taxon-findings"
    assert build_parser().parse_args(["inspect", str(table), "--json"]).json is True
    assert build_parser().parse_args(["inspect", str(table)]).json is False


# --------------------------------------------------------------------------- training messages


def test_a_huge_or_nan_loss_is_reported_not_a_crash_in_number_formatting():
    from engine.training.divergence import check_loss, format_loss

    assert format_loss(1e30) == "1e+30" and format_loss(math.nan) == "NaN"
    assert format_loss(math.inf) == "∞" and format_loss(0.5, 3) == "0.500"
    run = SimpleNamespace(first_loss=1.0, global_step=6)
    with pytest.raises(UserError) as caught:
        check_loss(run, 1e30)
    assert "the loss became 1e+30" in caught.value.message and "step 7" in caught.value.message


def _tiny_text(per_class: dict[str, int]):
    from engine.data.datasets import Dataset, DatasetSource, make_frame

    items, labels = [], []
    for label, count in per_class.items():
        items += [f"{label} example number {i}" for i in range(count)]
        labels += [label] * count
    return Dataset(
        "text", make_frame(items, labels), DatasetSource(kind="table", path="t.csv"), "t"
    )


def test_classes_too_small_to_check_on_say_how_many_are_needed_and_which_class():
    from engine.training.data import prepare

    with pytest.raises(UserError) as caught:
        prepare(_tiny_text({"cat": 2, "dog": 2}), validation_fraction=0.2, seed=0)
    message = caught.value.message
    assert "at least 3 examples" in message and "cat" in message and "has only 2" in message


def test_classes_checked_on_too_few_examples_are_named():
    from engine.training.data import thin_validation

    warning = thin_validation(
        {"cat": {"train": 9, "validation": 1}, "dog": {"train": 40, "validation": 10}}
    )
    assert warning is not None and "cat" in warning.text() and "dog" not in warning.text()
    assert thin_validation({"dog": {"train": 40, "validation": 10}}) is None


@pytest.mark.slow
def test_train_says_what_it_left_out_and_warns_about_thin_classes(capsys, tmp_path):
    from tests.helpers.digits import write_digits
    from ui.cli import main

    data = write_digits(tmp_path / "digits", per_class=6, classes=(0, 1))
    (data / "1" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (data / "2").mkdir()  # an empty class folder
    code = main(
        [
            "--lang",
            "en",
            "--json",
            "train",
            str(data),
            "--out",
            str(tmp_path / "m"),
            "--epochs",
            "3",
            "--device",
            "cpu",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = json.loads(captured.out)
    assert [Path(row["item"]).name for row in result["skipped"]] == ["broken.png"]
    assert result["skipped_count"] == 1 and result["skipped"][0]["error"]
    assert any("holds no images" in warning for warning in result["warnings"])
    assert any("not meaningful" in warning for warning in result["warnings"])
    assert "1 example could not be read" in captured.err and "broken.png" in captured.err
    assert "not meaningful" in captured.err and "holds no images" in captured.err


# --------------------------------------------------------------------------- tables and files


def test_a_table_of_10000_columns_names_a_few_and_the_count(tmp_path):
    from engine.data.dataset_io import load_table_dataset

    columns = [f"c{i}" for i in range(10_000)]
    path = tmp_path / "wide.csv"
    pd.DataFrame(np.zeros((2, len(columns)), dtype=int), columns=columns).to_csv(path, index=False)
    with pytest.raises(UserError) as caught:
        load_table_dataset(path, "text", item_column="c1", label_column="nope")
    message = caught.value.message
    assert len(message) < 300 and "10,000 columns" in message and "c0, c1" in message


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (errno.EROFS, "read-only"),
        (errno.EACCES, "read-only"),
        (errno.ENOSPC, "disk is full"),
        (errno.ENOENT, "does not exist"),
    ],
)
def test_a_refused_write_gets_the_hint_that_fits(tmp_path, code, expected):
    from engine.core.output_folder import write_problem

    error = write_problem(OSError(code, os.strerror(code)), tmp_path / "gone" / "out.csv")
    assert expected in error.message and "another program" not in error.message


def test_saving_into_a_read_only_folder_says_read_only(tmp_path, monkeypatch):
    import tempfile

    from engine.data.dataset_io import save_dataset

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    with pytest.raises(UserError) as caught:
        save_dataset(_tiny_text({"a": 2, "b": 2}), tmp_path)
    assert "read-only" in caught.value.message and "another program" not in caught.value.message
    assert list(tmp_path.iterdir()) == []


def _folder_with_a_latin1_name(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    for label, sample in (("a", "flower.jpg"), ("b", "china.jpg")):
        (root / label).mkdir(parents=True)
        for index in range(3):
            shutil.copy(SAMPLES / sample, root / label / f"{index}.jpg")
    shutil.copy(SAMPLES / "flower.jpg", os.fsencode(root / "a") + b"/caf\xe9.jpg")
    return root


def test_an_image_named_in_non_utf8_bytes_is_left_out_with_a_warning(tmp_path):
    from engine.cleaning.report import write_report
    from engine.data.dataset_io import load_image_folder

    dataset = load_image_folder(_folder_with_a_latin1_name(tmp_path))
    assert len(dataset) == 6
    assert [w.text() for w in dataset.warnings] == [
        "1 image was left out because its name is not valid text (a/caf\\xe9.jpg); rename it "
        "to use it."
    ]
    dataset.name = os.fsdecode(b"caf\xe9")  # a surrogate reaching the report still writes
    write_report(dataset, [], tmp_path / "r.html")
    write_report(dataset, [], tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["dataset"]["rows"] == 6
    assert "caf\\udce9" in (tmp_path / "r.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_inspect_report_of_a_folder_with_a_non_utf8_name(capsys, tmp_path):
    from ui.cli import main

    root = _folder_with_a_latin1_name(tmp_path)
    code = main(["--lang", "en", "inspect", str(root), "--report", str(tmp_path / "r.html")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "caf\\xe9.jpg" in captured.err and "Something went wrong" not in captured.err
    assert (tmp_path / "r.html").read_text(encoding="utf-8").endswith("</html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photos", "r.html"]


def test_a_reader_that_stops_early_ends_the_command_quietly():
    """``taxon inspect --json | head``: the closed pipe is no "Something went wrong"."""
    script = (
        "import ui.cli.commands as cli\n"
        "def flood(args):\n"
        "    while True:\n"
        "        print('{\"finding\": 1}', flush=True)\n"
        "cli.cmd_inspect = flood\n"
        "raise SystemExit(cli.main(['inspect', 'data.csv', '--lang', 'en']))\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().startswith("{")
    process.stdout.close()  # like `head -1` leaving
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 1
    assert "Something went wrong" not in stderr and "Traceback" not in stderr, stderr
