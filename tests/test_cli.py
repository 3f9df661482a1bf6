"""The command line: help, translation, exit codes."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.cli import run_cli


def test_help_lists_the_sub_commands():
    result = run_cli("--help", "--lang", "en")
    assert result.returncode == 0
    assert "classify" in result.stdout and "usage: taxon" in result.stdout


def test_help_is_translated_with_lang():
    result = run_cli("--lang", "zh_CN", "--help")
    assert result.returncode == 0
    assert "用法" in result.stdout and "显示此帮助信息并退出" in result.stdout
    assert "classify" in result.stdout
    arabic = run_cli("--help", "--lang=ar")
    assert "الاستخدام" in arabic.stdout


def test_usage_errors_exit_2_with_a_translated_message():
    result = run_cli("--lang", "zh_CN", "classify")
    assert result.returncode == 2
    assert "错误" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_command_exits_2():
    assert run_cli("frobnicate", "--lang", "en").returncode == 2


SAMPLES = Path(__import__("sklearn").__file__).parent / "datasets" / "images"


def _mixed(tmp_path: Path) -> Path:
    import shutil

    folder = tmp_path / "in put"
    folder.mkdir()
    shutil.copy(SAMPLES / "flower.jpg", folder / "花 🌼.jpg")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    return folder


def test_classify_json_reports_each_input_and_exits_1_when_some_fail(tmp_path):
    import json

    folder = _mixed(tmp_path)
    result = run_cli(
        "classify", str(folder), "--json", "--top-k", "3", "--lang", "en", home=tmp_path / "home"
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()  # JSON Lines: one object per input
    rows = {Path(row["input"]).name: row for row in map(json.loads, lines)}
    assert len(lines) == 2
    assert set(rows) == {"花 🌼.jpg", "broken.png"}
    flower = rows["花 🌼.jpg"]
    assert len(flower["predictions"]) == 3 and "error" not in flower
    assert flower["predictions"][0]["score"] >= flower["predictions"][1]["score"]
    assert "damaged" in rows["broken.png"]["error"] and "predictions" not in rows["broken.png"]


def test_classify_plain_output_all_good_exits_0_and_errors_go_to_stderr(tmp_path):
    folder = _mixed(tmp_path)
    good = run_cli("classify", str(folder / "花 🌼.jpg"), "--lang", "en", home=tmp_path / "home")
    assert good.returncode == 0, good.stderr
    line = good.stdout.strip().splitlines()[0].split("\t")
    assert line[0].endswith("花 🌼.jpg") and line[2].endswith("%")
    bad = run_cli(
        "classify",
        str(folder / "broken.png"),
        str(tmp_path / "missing.jpg"),
        "--lang",
        "zh_CN",
        home=tmp_path / "home",
    )
    assert bad.returncode == 1
    errors = bad.stderr.strip().splitlines()
    assert sum("错误" in line for line in errors) == 2


MESSY = "text,label\n" + "".join(
    f"{text},{label}\n"
    for text, label in [
        ("The team won the match", "sport"),
        ("She scored two goals", "sport"),
        ("The coach praised them", "sport"),
        ("The soup was delicious", "food"),
        ("She baked fresh bread", "food"),
        ("We ordered pizza", "food"),
        ("The soup was delicious", "food"),
        ("", "sport"),
        ("Great pasta", "Food"),
    ]
)


def test_inspect_lists_planted_problems_as_json(tmp_path):
    import json

    table = tmp_path / "messy.csv"
    table.write_text(MESSY, encoding="utf-8")
    result = run_cli("inspect", str(table), "--json", "--lang", "en", home=tmp_path / "home")
    assert result.returncode == 0, result.stderr
    kinds = {finding["kind"] for finding in json.loads(result.stdout)["findings"]}
    assert {"text.empty", "text.exact_duplicates", "label.variants"} <= kinds


def test_clean_writes_a_cleaned_copy_plan_and_report_and_leaves_the_original(tmp_path):
    import json

    table = tmp_path / "messy.csv"
    table.write_text(MESSY, encoding="utf-8")
    out = tmp_path / "out"
    result = run_cli(
        "clean", str(table), "--out", str(out), "--json", "--lang", "en", home=tmp_path / "home"
    )
    assert result.returncode == 0, result.stderr
    assert table.read_text(encoding="utf-8") == MESSY
    cleaned = (out / "messy.csv").read_text(encoding="utf-8")
    # Only provably repeated or empty rows go by default; merging "Food" into "food" is a
    # judgement call that needs --fix label.variants.
    assert cleaned.count("The soup was delicious") == 1 and ",Food" in cleaned
    assert "\n,sport" not in cleaned
    plan = json.loads((out / "cleaning-plan.json").read_text(encoding="utf-8"))
    assert {step["finding_kind"] for step in plan["steps"]} >= {
        "text.empty",
        "text.exact_duplicates",
    }
    assert "label.likely_errors" not in {step["finding_kind"] for step in plan["steps"]}
    assert (out / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    replay = run_cli(
        "clean",
        str(table),
        "--out",
        str(tmp_path / "again"),
        "--plan",
        str(out / "cleaning-plan.json"),
        home=tmp_path / "home",
    )
    assert replay.returncode == 0, replay.stderr
    assert (tmp_path / "again" / "messy.csv").read_text(encoding="utf-8") == cleaned


def test_an_unreadable_dataset_exits_non_zero_with_the_reason(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"")
    result = run_cli("inspect", str(bad), "--lang", "en", home=tmp_path / "home")
    assert result.returncode == 1
    assert "bad.csv" in result.stderr and "Traceback" not in result.stderr
