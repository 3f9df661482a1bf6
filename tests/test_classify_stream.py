"""``classify`` on big folders: JSON Lines as results come, durable --output, --resume, shards."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.core.jobs import UserError
from engine.data.result_log import ResultLog

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "main.py"), *args, "--lang", "en"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        cli(*args),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


def make_folder(folder: Path, count: int) -> Path:
    rng = np.random.default_rng(0)
    for index in range(count):
        sub = folder / f"part {index % 3}"
        sub.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(sub / f"img_{index:04d}.jpg", quality=70)
    return folder


def inputs_of(folder: Path) -> set[str]:
    return {str(path) for path in folder.rglob("*.jpg")}


def lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def wait_for_lines(path: Path, count: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if path.exists() and path.read_bytes().count(b"\n") >= count:
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    raise AssertionError("no results written")


# --------------------------------------------------------------------------- the results file


def test_result_log_appends_whole_batches_and_resumes_past_a_partial_line(tmp_path):
    path = tmp_path / "out.jsonl"
    with ResultLog(path) as log:
        for index in range(3):
            log.add({"input": f"/p/{index}.jpg", "predictions": [], "size": 10, "mtime_ns": 5})
        log.commit()
    with open(path, "ab") as handle:
        handle.write(b'{"input": "/p/3.jpg", "predic')  # the power went out here
    resumed = ResultLog(path, resume=True)
    assert resumed.index.count == 3
    assert resumed.index.has("/p/0.jpg", 10, 5)
    assert not resumed.index.has("/p/0.jpg", 11, 5)  # changed since: classified again
    assert not resumed.index.has("/p/3.jpg", 10, 5)
    resumed.add({"input": "/p/3.jpg", "predictions": [], "size": 10, "mtime_ns": 5})
    resumed.close()
    assert [row["input"] for row in lines_of(path)] == [f"/p/{i}.jpg" for i in range(4)]


def test_result_log_csv_round_trips_formula_safe_paths(tmp_path):
    path = tmp_path / "out.csv"
    with ResultLog(path) as log:
        log.add(
            {
                "input": "=HYPERLINK(1).jpg",
                "size": 3,
                "mtime_ns": 9,
                "predictions": [{"label": "cat", "score": 0.9}],
            }
        )
        log.add({"input": "/p/bad.jpg", "error": "damaged", "size": 4, "mtime_ns": 9})
    text = path.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == "path,label,score,top5,error,size,mtime_ns"
    assert "'=HYPERLINK(1).jpg,cat,0.9" in text
    resumed = ResultLog(path, resume=True)
    assert resumed.index.has("=HYPERLINK(1).jpg", 3, 9) and resumed.index.has("/p/bad.jpg", 4, 9)
    resumed.close()


def test_an_existing_results_file_is_never_overwritten_without_resume(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text('{"input": "x"}\n', encoding="utf-8")
    with pytest.raises(UserError):
        ResultLog(path)
    assert path.read_text(encoding="utf-8") == '{"input": "x"}\n'


# --------------------------------------------------------------------------- the command


@pytest.mark.slow
def test_json_lines_arrive_while_the_run_is_going(tmp_path):
    folder = make_folder(tmp_path / "in", 160)
    process = subprocess.Popen(
        cli("classify", str(folder), "--json", "--top-k", "2"),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = json.loads(process.stdout.readline())  # one whole object per line
        assert process.poll() is None  # ... read before the process has ended
        assert Path(first["input"]).name.startswith("img_") and len(first["predictions"]) == 2
        assert first["size"] > 0 and first["mtime_ns"] > 0
        rest = [json.loads(line) for line in process.stdout]
    finally:
        process.wait(300)
    assert process.returncode == 0, process.stderr.read()
    assert {row["input"] for row in [first, *rest]} == inputs_of(folder)


@pytest.mark.slow
def test_resume_after_sigkill_gives_exactly_one_result_per_input(tmp_path):
    folder = make_folder(tmp_path / "in", 150)
    out = tmp_path / "results.jsonl"
    process = subprocess.Popen(
        cli("classify", str(folder), "--output", str(out)),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_lines(out, 20, process)
        process.send_signal(signal.SIGKILL)  # no clean-up, as in a power cut
    finally:
        process.wait(30)
    before = lines_of(out)
    assert 20 <= len(before) < 150
    with open(out, "ab") as handle:
        handle.write(b'{"input": "' + str(folder).encode() + b"/part 0/img_")  # a torn line
    resumed = run("classify", str(folder), "--output", str(out), "--resume", "--json")
    assert resumed.returncode == 0, resumed.stderr
    printed = [json.loads(line)["input"] for line in resumed.stdout.splitlines()]
    assert len(printed) == 150 - len(before)  # only what was missing is classified
    rows = lines_of(out)
    assert sorted(row["input"] for row in rows) == sorted(inputs_of(folder))
    again = run("classify", str(folder), "--output", str(out), "--resume")
    assert again.returncode == 0 and "Nothing left to classify" in again.stderr
    assert len(lines_of(out)) == 150


@pytest.mark.slow
def test_shards_cover_every_input_exactly_once(tmp_path):
    folder = make_folder(tmp_path / "in", 24)
    seen: list[str] = []
    for part in ("1/3", "2/3", "3/3"):
        done = run(
            "classify",
            str(folder),
            "--json",
            "--shard",
            part,
            "--output",
            str(tmp_path / f"shard-{part[0]}.csv"),
        )
        assert done.returncode == 0, done.stderr
        seen += [json.loads(line)["input"] for line in done.stdout.splitlines()]
    assert sorted(seen) == sorted(inputs_of(folder))
    bad = run("classify", str(folder), "--shard", "4/3")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def _log_tail() -> str:
    """The end of the suite's log: what "Something went wrong" refers to."""
    log = Path(os.environ["TAXON_HOME"]) / "logs" / "taxon.log"
    return "\n" + log.read_text(errors="replace")[-4000:] if log.exists() else ""


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child is POSIX here")
def test_ctrl_c_stops_after_the_batch_with_everything_so_far_saved(tmp_path):
    folder = make_folder(tmp_path / "in", 300)
    out = tmp_path / "results.jsonl"
    process = subprocess.Popen(
        cli("classify", str(folder), "--json", "--output", str(out)),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_lines(out, 10, process)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr + _log_tail()
    assert "Traceback" not in stderr
    printed = [json.loads(line)["input"] for line in stdout.splitlines()]
    saved = [row["input"] for row in lines_of(out)]  # every line whole
    assert saved == printed and 10 <= len(saved) < 300
    assert len(set(saved)) == len(saved)


class _StderrPipe:
    """stderr as CPython's buffered writer behaves: a second write from the thread that is
    already writing raises "reentrant call"; other threads wait for the first to finish."""

    def __init__(self) -> None:
        self.lock, self.writer, self.text = threading.Lock(), None, []
        self.during_next_write = None

    def write(self, text: str) -> int:
        if self.writer == threading.get_ident():
            raise RuntimeError("reentrant call inside <_io.BufferedWriter name='<stderr>'>")
        with self.lock:
            self.writer = threading.get_ident()
            try:
                interrupt, self.during_next_write = self.during_next_write, None
                if interrupt is not None:
                    interrupt()  # the signal lands while this write is blocked (EINTR)
                self.text.append(text)
            finally:
                self.writer = None
        return len(text)

    def flush(self) -> None:
        pass


def test_ctrl_c_during_a_write_to_stderr_cancels_and_says_so(monkeypatch):
    from engine.core.jobs import CancelToken
    from ui.cli.classify import _first_ctrl_c_cancels

    stderr = _StderrPipe()
    monkeypatch.setattr(sys, "stderr", stderr)
    cancel = CancelToken()
    with _first_ctrl_c_cancels(cancel):
        handler = signal.getsignal(signal.SIGINT)
        stderr.during_next_write = lambda: handler(signal.SIGINT, None)
        sys.stderr.write("progress 10/300\r")  # the bar's write, interrupted by Ctrl+C
        deadline = time.monotonic() + 10
        while not any("Stopping" in text for text in stderr.text):
            assert time.monotonic() < deadline, stderr.text
            time.sleep(0.01)
    assert cancel.cancelled
    assert stderr.text[0] == "progress 10/300\r"  # the interrupted write finished first


def test_resume_needs_an_output_file(tmp_path):
    done = run("classify", str(tmp_path), "--resume")
    assert done.returncode == 2 and "--output" in done.stderr
