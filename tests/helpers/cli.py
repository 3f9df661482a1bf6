"""Run the real command line in a fresh process, as a user's shell would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, home: Path | None = None) -> subprocess.CompletedProcess:
    """``python main.py *args`` with captured text output; ``home`` is its private user folder."""
    env = dict(os.environ)
    if home is not None:
        env["TAXON_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
