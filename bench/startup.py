"""Start-up benchmark: process start to first painted window, Taxon vs a bare PySide6 window.

All are measured the same way in the same run (alternating, several rounds) and
reported as medians with their ratio. Target: Taxon ≤ 1.5× the bare window, with
torch not yet imported at first paint. When a frozen Taxon is present (the
installed ``/usr/bin/taxon``, else ``dist/Taxon/Taxon`` from ``make package``, or
``--bundle PATH``) it is timed too, against ``python main.py``: target ≤ 1.2×.

    python bench/startup.py [--rounds N] [--bundle PATH | --no-bundle]
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BARE_WINDOW = """
import json, sys, time
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow
from PySide6.QtCore import QTimer

class Window(QMainWindow):
    painted = False
    def paintEvent(self, event):
        super().paintEvent(event)
        if not self.painted:
            self.painted = True
            state = {"painted_at": time.time(), "torch_imported": "torch" in sys.modules}
            print(json.dumps(state), flush=True)
            QTimer.singleShot(0, QApplication.quit)

app = QApplication(sys.argv)
window = Window()
window.setCentralWidget(QLabel("bare window"))
window.resize(1100, 720)
window.show()
app.exec()
"""


def measure(command: list[str], env: dict[str, str]) -> tuple[float, bool]:
    started = time.time()
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(f"{command} failed:\n{result.stderr}")
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return report["painted_at"] - started, report["torch_imported"]


def find_bundle(explicit: str | None) -> Path | None:
    """The frozen Taxon to time: the one asked for, the installed one, or the built one."""
    if explicit:
        return Path(explicit)
    for candidate in (Path("/usr/bin/taxon"), ROOT / "dist" / "Taxon" / "Taxon"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--bundle", help="a frozen Taxon executable to time beside main.py")
    parser.add_argument("--no-bundle", action="store_true", help="skip the frozen Taxon")
    args = parser.parse_args()
    bundle = None if args.no_bundle else find_bundle(args.bundle)
    home = tempfile.mkdtemp(prefix="taxon-bench-")
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    env = dict(os.environ, TAXON_HOME=home, TAXON_EXIT_AFTER_PAINT="1")
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    taxon_cmd = [sys.executable, str(ROOT / "main.py")]
    bare_cmd = [sys.executable, "-c", BARE_WINDOW]
    bundle_cmd = [str(bundle)] if bundle else None
    measure(taxon_cmd, env)  # warm the OS file cache for each
    measure(bare_cmd, env)
    if bundle_cmd:
        measure(bundle_cmd, env)
    taxon, bare, frozen, torch_seen = [], [], [], False
    for _ in range(args.rounds):
        seconds, torch_imported = measure(taxon_cmd, env)
        taxon.append(seconds)
        torch_seen |= torch_imported
        bare.append(measure(bare_cmd, env)[0])
        if bundle_cmd:
            seconds, torch_imported = measure(bundle_cmd, env)
            frozen.append(seconds)
            torch_seen |= torch_imported
    taxon_median, bare_median = statistics.median(taxon), statistics.median(bare)
    ratio = taxon_median / bare_median
    print(
        f"first paint, median of {args.rounds}: Taxon {taxon_median * 1000:.0f} ms, "
        f"bare PySide6 {bare_median * 1000:.0f} ms, ratio {ratio:.2f}x (target <= 1.5x)"
    )
    frozen_ok = True
    if frozen:
        frozen_median = statistics.median(frozen)
        frozen_ratio = frozen_median / taxon_median
        frozen_ok = frozen_ratio <= 1.2
        print(
            f"frozen Taxon ({bundle}), median of {args.rounds}: {frozen_median * 1000:.0f} ms, "
            f"{frozen_ratio:.2f}x python main.py (target <= 1.2x)"
        )
    else:
        print("frozen Taxon: none found (make package, or --bundle PATH)")
    print(f"torch imported at first paint: {'yes' if torch_seen else 'no'} (target: no)")
    return 0 if ratio <= 1.5 and not torch_seen and frozen_ok else 1


if __name__ == "__main__":
    sys.exit(main())
