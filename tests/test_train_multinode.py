"""Training beyond one machine: the multi-node ``torchrun`` launch, rehearsed on one CPU box.

``--nnodes N --rdzv-backend c10d --rdzv-endpoint HOST:PORT`` is what each machine runs
(docs/performance.md, "Huge folders"); here one node with two CPU processes (gloo) takes
the same rendezvous path. torchrun runs as a subprocess: the suite's network guard only
blocks connections made inside the test process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.digits import write_digits

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_train_through_a_c10d_rendezvous_like_a_multi_node_run(tmp_path):
    train = write_digits(tmp_path / "train", per_class=20, classes=(0, 1, 2))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nnodes",
            "1",
            "--nproc_per_node",
            "2",
            "--rdzv-backend",
            "c10d",
            "--rdzv-endpoint",
            "localhost:0",
            str(ROOT / "main.py"),
            "train",
            str(train),
            "--out",
            str(tmp_path / "model"),
            "--epochs",
            "10",
            "--seed",
            "5",
            "--device",
            "cpu",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)  # rank 0 alone prints
    assert result["metrics"]["accuracy"] >= 0.6
    manifest = json.loads((tmp_path / "model" / "taxon-model.json").read_text(encoding="utf-8"))
    assert manifest["labels"] == ["0", "1", "2"]
