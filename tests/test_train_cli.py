"""The headless training path as a user runs it: ``train``, ``classify --model``, ``evaluate``,
a run killed mid-way and resumed, and DistributedDataParallel on two CPU processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.digits import write_digits

#: Every test here trains on digits in a fresh process (tens of seconds each).
pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
TRAIN = ["--epochs", "20", "--seed", "5", "--device", "cpu", "--json"]


def _run(
    *args: str, env: dict[str, str] | None = None, timeout: int = 240
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-digits")
    write_digits(root / "test", per_class=6, classes=(0, 1, 2), offset=40)
    return write_digits(root / "train", per_class=20, classes=(0, 1, 2)), root / "test"


def test_train_then_classify_and_evaluate_with_the_package(digits, tmp_path):
    train_folder, test_folder = digits
    done = _run("train", str(train_folder), "--out", str(tmp_path / "model"), *TRAIN)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["metrics"]["accuracy"] >= 0.8 and result["package"] == str(tmp_path / "model")
    assert "Epoch 1:" in done.stderr  # progress goes to stderr, not into the JSON

    classified = _run(
        "classify",
        "--model",
        str(tmp_path / "model"),
        "--json",
        "--top-k",
        "2",
        str(test_folder / "1"),
    )
    assert classified.returncode == 0, classified.stderr
    rows = [json.loads(line) for line in classified.stdout.splitlines()]  # JSON Lines
    assert len(rows) == 6 and all(len(row["predictions"]) == 2 for row in rows)
    assert sum(row["predictions"][0]["label"] == "1" for row in rows) >= 4

    exported = _run("export", str(tmp_path / "model"), "--out", str(tmp_path / "digits"), "--json")
    assert exported.returncode == 0, exported.stderr
    archive = json.loads(exported.stdout)["output"]  # digits.taxon-model: what a double-click opens
    again = _run(
        "classify", "--model", str(archive), "--json", "--top-k", "2", str(test_folder / "1")
    )
    assert again.returncode == 0, again.stderr
    assert [json.loads(line) for line in again.stdout.splitlines()] == rows

    evaluated = _run(
        "evaluate",
        str(tmp_path / "model"),
        str(test_folder),
        "--json",
        "--out",
        str(tmp_path / "predictions.json"),
    )
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads(evaluated.stdout)
    assert report["labels"] == ["0", "1", "2"] and report["metrics"]["count"] == 18
    assert sum(map(sum, report["confusion"])) == 18
    assert json.loads((tmp_path / "predictions.json").read_text(encoding="utf-8"))["labels"] == [
        "0",
        "1",
        "2",
    ]


def test_a_killed_run_resumes_from_its_checkpoint_and_ends_with_the_same_metrics(digits, tmp_path):
    train_folder, _test = digits
    reference = _run(
        "train", str(train_folder), "--out", str(tmp_path / "reference"), "--restart", *TRAIN
    )
    assert reference.returncode == 0, reference.stderr

    runs = Path(os.environ["TAXON_HOME"]).resolve()
    started = time.monotonic()
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "main.py"),
            "train",
            str(train_folder),
            "--out",
            str(tmp_path / "model"),
            "--restart",
            *TRAIN,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "TAXON_FAULTS": "slow@0.05"},
    )
    try:
        while time.monotonic() - started < 180:
            markers = [json.loads(p.read_text()) for p in runs.rglob("runs/*/latest.json")]
            if any(marker["epoch"] >= 3 for marker in markers):
                break
            assert process.poll() is None, process.communicate()[1].decode()
            time.sleep(0.1)
        process.send_signal(signal.SIGKILL)  # no clean-up, as in a power cut
    finally:
        process.wait(30)
    assert not (tmp_path / "model").exists()

    resumed = _run("train", str(train_folder), "--out", str(tmp_path / "model"), *TRAIN)
    assert resumed.returncode == 0, resumed.stderr
    result, expected = json.loads(resumed.stdout), json.loads(reference.stdout)
    assert result["resumed_from_epoch"] >= 3
    assert result["metrics"] == expected["metrics"]
    assert result["best_epoch"] == expected["best_epoch"]


def test_train_runs_unchanged_under_torchrun_with_two_cpu_processes(digits, tmp_path):
    train_folder, _test = digits
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            str(ROOT / "main.py"),
            "train",
            str(train_folder),
            "--out",
            str(tmp_path / "model"),
            *TRAIN,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)  # only rank 0 prints: exactly one JSON document
    assert result["metrics"]["accuracy"] >= 0.7
    manifest = json.loads((tmp_path / "model" / "taxon-model.json").read_text(encoding="utf-8"))
    assert manifest["labels"] == ["0", "1", "2"]
