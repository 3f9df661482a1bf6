"""Decode workers, the forkserver and the resource tracker die with the app.

A killed ``classify`` or ``inspect`` (SIGKILL, a crash, the GUI's SIGTERM) used to
leave its worker processes running for minutes. Linux only: the test finds the
processes through ``/proc``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc"),
]

#: Starts a decode pool, says so, then keeps its workers busy until stopped.
SCRIPT = """
import sys, time
sys.argv = ["main.py"]
import main
main._interrupt_on_sigterm()
from engine.core.workers import DecodePool
pool = DecodePool(2)
executor = pool.executor()
pids = {executor.submit(__import__("os").getpid).result() for _ in range(8)}
print("ready", flush=True)
try:
    while True:  # like a long classify: short decodes, one after another
        for future in [executor.submit(time.sleep, 0.3) for _ in range(4)]:
            future.result()
except KeyboardInterrupt:  # what the command line does on Ctrl+C
    pool.discard()
    sys.exit(130)
"""


def _state_and_parent(pid: int) -> tuple[str, int] | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0].decode(), int(fields[1])


def _descendants(root: int) -> set[int]:
    """Every live process whose parent chain leads to ``root``."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (info := _state_and_parent(int(entry))) and info[0] != "Z":
            parents[int(entry)] = info[1]
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pids: set[int]) -> set[int]:
    return {pid for pid in pids if (info := _state_and_parent(pid)) and info[0] != "Z"}


def _start_app(tmp_path: Path) -> tuple[subprocess.Popen, set[int]]:
    env = {**os.environ, "TAXON_HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    app = subprocess.Popen(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert app.stdout.readline().strip() == "ready", app.stderr.read()
    helpers = _descendants(app.pid)
    assert len(helpers) >= 3, helpers  # the forkserver and two workers at least
    return app, helpers


def _wait_gone(pids: set[int], deadline_s: float = 15.0) -> set[int]:
    end = time.monotonic() + deadline_s
    while _alive(pids) and time.monotonic() < end:
        time.sleep(0.2)
    return _alive(pids)


@pytest.mark.timeout(90)
def test_workers_exit_when_the_app_is_killed(tmp_path):
    app, helpers = _start_app(tmp_path)
    app.kill()
    app.wait(10)
    leftovers = _wait_gone(helpers)
    for pid in leftovers:  # don't leave them behind for the next test
        os.kill(pid, signal.SIGKILL)
    assert not leftovers, f"still running after the app was killed: {sorted(leftovers)}"


@pytest.mark.timeout(90)
def test_sigterm_shuts_the_app_and_its_workers_down(tmp_path):
    app, helpers = _start_app(tmp_path)
    app.terminate()
    assert app.wait(30) == 130  # the handler turned SIGTERM into a clean cancel
    leftovers = _wait_gone(helpers)
    for pid in leftovers:
        os.kill(pid, signal.SIGKILL)
    assert not leftovers, f"still running after SIGTERM: {sorted(leftovers)}"
