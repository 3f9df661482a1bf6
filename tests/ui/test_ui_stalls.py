"""The window never stalls while models load, convert and train on worker threads.

A 50 ms ``QTimer`` on the UI thread records how late each tick comes: a tick a second
late means the window froze for a second (a click, a repaint, a progress bar all wait).
Work on a worker thread can still freeze the window when it holds Python's global lock
inside one long C call: parsing the 17 MB tokenizer, building it, loading the ``onnx``
extension. Those run in helper processes (``engine.models.tokenizer_process``,
``engine.models.backbones.image_runner``), and this test walks the first hour's heavy moments
with a fresh home folder, so every first-use conversion happens:

- the built-in image model's first load (the ONNX export and its check), whose
  progress shows as steps on the Classify page;
- a first text training in the Train page's default text mode;
- a fast-mode (multilingual encoder) training: the encoder's first-use conversion,
  its tokenizer, the features, the head;
- that text model's first load on the Classify page (its tokenizer built again).

The budget (1 s, against the 1.4 s these steps froze the window before the helper
processes) catches a step back on the UI thread, or a long C call back on a worker, but
not scheduling noise. What remains is importing torch's and SciPy's C extensions on the
worker (each holds the lock for 0.2–0.5 s, once per session): measured longest gaps
0.05–0.35 s on a quiet two-core machine, up to 0.9 s with a benchmark loading both cores
(faulthandler's watchdog named the imports). The figures are printed.
"""

from __future__ import annotations

import time

import pandas as pd
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from engine.data.dataset_io import load_dataset
from tests.helpers.texts import FOOD, SPORT

BUDGET_S = 1.0
TIMEOUT_S = 900


class GapRecorder:
    """The longest wait between 50 ms ticks of a UI-thread timer, per phase."""

    def __init__(self) -> None:
        self.phase: str | None = None
        self.longest: dict[str, float] = {}
        self._last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setInterval(50)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        if self.phase is not None:
            self.longest[self.phase] = max(self.longest.get(self.phase, 0.0), now - self._last)
        self._last = now

    def wait(self, phase: str, condition, seen: list[str] | None = None, label=None) -> float:
        """Run the event loop until ``condition()``; returns the seconds it took."""
        self._last, self.phase = time.perf_counter(), phase
        start, deadline = time.perf_counter(), time.monotonic() + TIMEOUT_S
        while not condition():
            assert time.monotonic() < deadline, f"timed out: {phase}"
            QApplication.processEvents()
            if label is not None and seen is not None and label.text() not in seen:
                seen.append(label.text())
            time.sleep(0.01)
        self.phase = None
        return time.perf_counter() - start


@pytest.fixture
def fresh_window(qtbot, tmp_path, monkeypatch):
    """The main window on an empty home folder: nothing converted or cached yet."""
    from ui.app import build_window, create_application
    from ui.settings import app_settings
    from ui.worker import running_workers

    monkeypatch.setenv("TAXON_HOME", str(tmp_path / "home"))
    create_application(["taxon-tests"])
    app_settings().clear()
    recorder = GapRecorder()
    window = build_window("en")
    qtbot.addWidget(window)
    window.show()
    yield window, recorder
    recorder.timer.stop()
    window.close()
    for worker in running_workers():
        worker.wait(120_000)


@pytest.mark.slow
def test_loading_converting_and_training_never_freeze_the_window(fresh_window, tmp_path):
    from engine.models import tokenizer_process
    from engine.models.text_features import release_encoders
    from engine.training import TrainConfig, train
    from ui.worker import JobWorker

    window, gaps = fresh_window
    classify = window.page("classifyPage")
    shown: list[str] = []
    took = {
        "built-in model, first load": gaps.wait(
            "built-in model, first load", lambda: classify.model_ready, shown, classify.model_status
        )
    }
    steps = [text for text in shown if "4" in text and "first use" in text]
    assert len(steps) >= 3, shown  # the first start says how far along it is, step by step

    table = tmp_path / "topics.csv"
    pd.DataFrame(
        [(t, "sport") for t in SPORT] + [(t, "food") for t in FOOD], columns=["text", "label"]
    ).to_csv(table, index=False)
    dataset = load_dataset(str(table))
    window.session.set_dataset(dataset)
    trainer = window.page("trainPage")
    window.show_page(trainer)
    phase = f"first text training ({trainer.form.mode} mode, the default)"
    trainer.start()
    took[phase] = gaps.wait(
        phase, lambda: trainer.worker is None and trainer.last_result is not None
    )

    phase = "fast-mode training (encoder converted on first use)"
    worker = JobWorker(
        lambda progress, cancel: train(
            dataset,
            tmp_path / "fast model",
            TrainConfig(mode="fast", epochs=5, seed=0),
            progress,
            cancel,
            name="Topics fast",
        ),
        name="train-fast",
    )
    results: list = []
    worker.finished.connect(results.append)
    worker.failed.connect(lambda message, details: results.append(message + details))
    worker.start()
    took[phase] = gaps.wait(phase, lambda: bool(results) and not worker.is_running())
    package = results[0].package

    release_encoders()  # the encoder and its tokenizer are built again, as after a restart
    tokenizer_process.shutdown()
    window.show_page(classify)
    classify.use_model(str(package))
    phase = "fast-mode text model, first load"
    took[phase] = gaps.wait(phase, lambda: classify.model_ready and classify.text_mode)

    report = "\n".join(
        f"{name}: longest UI gap {gaps.longest.get(name, 0.0):.3f} s (took {took[name]:.1f} s)"
        for name in took
    )
    print("\n" + report)
    assert all(gaps.longest.get(name, 0.0) < BUDGET_S for name in took), report
