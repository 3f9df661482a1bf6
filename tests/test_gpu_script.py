"""bench/gpu.py, the GPU proof, tested on the CPU: its dry run, its report, its budget, and
what it does on a machine without CUDA (SKIP lines, exit 0)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "gpu.py"
CHECKS = [
    "environment",
    "finetune-image",
    "finetune-text",
    "oom-backoff",
    "resume",
    "ddp",
    "inference",
    "gpu-decode",
    "memory-figure",
]
LINE = re.compile(r"^(PASS|FAIL|SKIP)  ([a-z-]+)  (\S.*)$")


def _run(*args: str, cuda_visible: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if cuda_visible is not None:
        env["CUDA_VISIBLE_DEVICES"] = cuda_visible
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=280,
        cwd=ROOT,
        env=env,
    )


def _lines(stdout: str) -> list[re.Match]:
    return [m for m in map(LINE.match, stdout.splitlines()) if m]


def _summary(stdout: str) -> dict:
    return json.loads(stdout[stdout.index("\n{") + 1 :])


@pytest.mark.slow
def test_dry_run_exercises_the_cpu_side_and_reports_one_line_per_check(tmp_path):
    out = tmp_path / "gpu.json"
    done = _run("--dry-run", "--json-out", str(out), cuda_visible="")
    assert done.returncode == 0, done.stderr[-3000:]
    lines = _lines(done.stdout)
    assert [m.group(2) for m in lines] == CHECKS
    status = {m.group(2): m.group(1) for m in lines}
    assert status["environment"] == status["finetune-image"] == status["gpu-decode"] == "PASS"
    assert "FAIL" not in status.values()
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report == _summary(done.stdout)
    assert report["dry_run"] is True and report["ok"] is True
    assert [c["name"] for c in report["checks"]] == CHECKS
    assert report["counts"]["PASS"] + report["counts"]["SKIP"] == len(CHECKS)
    assert all(c["seconds"] <= c["allowed_s"] for c in report["checks"])


@pytest.mark.slow  # ~5-9 s: importing torch in a fresh interpreter
def test_without_cuda_every_check_is_skipped_and_the_script_exits_0(tmp_path):
    out = tmp_path / "gpu.json"
    done = _run("--json-out", str(out), cuda_visible="")
    assert done.returncode == 0, done.stderr[-3000:]
    lines = _lines(done.stdout)
    assert [(m.group(1), m.group(2), m.group(3)) for m in lines] == [
        ("SKIP", name, "no CUDA device") for name in CHECKS
    ]
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["cuda"] is False and report["counts"] == {"PASS": 0, "FAIL": 0, "SKIP": 9}


@pytest.mark.slow
def test_a_check_runs_in_its_own_process_and_the_budget_skips_the_rest():
    done = _run("--dry-run", "--isolate", "yes", "--only", "environment", cuda_visible="")
    assert done.returncode == 0, done.stderr[-3000:]
    assert [m.group(1, 2) for m in _lines(done.stdout)] == [("PASS", "environment")]

    done = _run("--dry-run", "--budget", "0", "--only", "environment,gpu-decode", cuda_visible="")
    assert done.returncode == 0, done.stderr[-3000:]
    lines = _lines(done.stdout)
    assert [m.group(1) for m in lines] == ["SKIP", "SKIP"]
    assert all("over the time budget" in m.group(3) for m in lines)


def test_unknown_checks_are_a_usage_error():
    done = _run("--only", "environment,warp-drive", cuda_visible="")
    assert done.returncode == 2 and "warp-drive" in done.stderr
