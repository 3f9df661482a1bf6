"""``classify`` with a text model streams like the image path: --output, --resume, --shard."""

from __future__ import annotations

import contextlib
import io
import json
import re

import pandas as pd
import pytest

from engine.data.dataset_io import load_dataset
from engine.training import TrainConfig, train
from tests.helpers.texts import FOOD, SPORT

ROWS = 600  # more than two batches (ui.cli.classify.TEXT_BATCH)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("text-model")
    rows = [(text, "sport") for text in SPORT] + [(text, "food") for text in FOOD]
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(folder / "topics.csv", index=False)
    dataset = load_dataset(str(folder / "topics.csv"))
    return train(dataset, folder / "instant", TrainConfig(mode="instant", seed=2)).package


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "inbox.csv"
    texts = [(SPORT + FOOD)[index % 24] + f" (message {index})" for index in range(ROWS)]
    pd.DataFrame({"message": texts}).to_csv(path, index=False)
    return path


def classify(model, table, *options: str, lang: str = "en") -> tuple[int, list[dict]]:
    from ui.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(
            ["classify", "--model", str(model), str(table), "--column", "message", "--json"]
            + ["--lang", lang, *options]
        )
    return code, [json.loads(line) for line in out.getvalue().splitlines()]


def rows_of(records: list[dict]) -> list[int]:
    return [int(re.search(r"(\d+)$", record["input"]).group(1)) for record in records]


def test_output_is_written_per_batch_and_resume_finishes_without_duplicates(model, table, tmp_path):
    out = tmp_path / "results.jsonl"
    code, printed = classify(model, table, "--output", str(out))
    assert code == 0 and len(printed) == ROWS
    saved = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert saved == printed
    assert all(record["size"] == table.stat().st_size for record in saved)

    # A run killed after its first batch: whole lines, then half a line.
    lines = out.read_text(encoding="utf-8").splitlines(keepends=True)
    out.write_text("".join(lines[:256]) + lines[256][:20], encoding="utf-8")
    code, printed = classify(model, table, "--output", str(out), "--resume")
    assert code == 0 and len(printed) == ROWS - 256
    saved = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(rows_of(saved)) == list(range(2, ROWS + 2))  # each row exactly once

    code, printed = classify(model, table, "--output", str(out), "--resume")
    assert code == 0 and printed == []  # nothing left

    table.write_text(table.read_text(encoding="utf-8") + "One more goal\n", encoding="utf-8")
    code, printed = classify(model, table, "--output", str(out), "--resume")
    assert len(printed) == ROWS + 1  # the table changed: every row again


def test_an_existing_output_is_not_overwritten(model, table, tmp_path):
    out = tmp_path / "results.csv"
    out.write_text("path\n", encoding="utf-8")
    code, printed = classify(model, table, "--output", str(out))
    assert code == 1 and printed == [] and out.read_text(encoding="utf-8") == "path\n"


def test_csv_output_resumes_too(model, table, tmp_path):
    out = tmp_path / "results.csv"
    assert classify(model, table, "--output", str(out), "--shard", "1/2")[0] == 0
    code, printed = classify(model, table, "--output", str(out), "--resume")
    assert code == 0
    saved = pd.read_csv(out, encoding="utf-8-sig")
    assert len(saved) == ROWS and saved["path"].is_unique
    assert len(printed) == ROWS - len(rows_of(classify(model, table, "--shard", "1/2")[1]))


def test_shards_split_rows_the_same_way_in_every_language(model, table):
    parts = [rows_of(classify(model, table, "--shard", f"{i}/3")[1]) for i in (1, 2, 3)]
    assert sorted(sum(parts, [])) == list(range(2, ROWS + 2))  # every row once
    assert all(len(part) > ROWS / 6 for part in parts)
    german = classify(model, table, "--shard", "1/3", lang="de")[1]
    assert german[0]["input"] != f"inbox.csv, row {parts[0][0]}"  # the names are translated...
    assert rows_of(german) == parts[0]  # ...the split is not
