"""The training charts keep up with a burst of events without redrawing for each one."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from ui.pages.train.charts import TrainingCharts

EVENTS = 500
STEPS_PER_EPOCH = 50


def _points(curve) -> list[tuple[float, float]]:
    xs, ys = curve.getData()
    return [] if xs is None else list(zip(xs.tolist(), ys.tolist(), strict=True))


def test_a_burst_of_events_is_drawn_in_few_redraws_and_ends_with_every_point(qtbot, monkeypatch):
    charts = TrainingCharts()
    qtbot.addWidget(charts)
    charts.show()
    redraws: list[int] = []
    draw = charts.step_loss.setData

    def counted(*args, **kwargs):
        redraws.append(1)
        return draw(*args, **kwargs)

    monkeypatch.setattr(charts.step_loss, "setData", counted)
    app = QApplication.instance()
    steps, epochs = [], []
    for event in range(1, EVENTS + 1):  # as fast as a fast-mode run reports, with the UI live
        step = (event / STEPS_PER_EPOCH, 1.0 / event)
        steps.append(step)
        charts.add_step(*step)
        if event % STEPS_PER_EPOCH == 0:
            epoch = (event // STEPS_PER_EPOCH, 0.5, 0.8, 0.7)
            epochs.append(epoch)
            charts.add_epoch(*epoch)
        app.processEvents()
        if event % 10 == 0:
            qtbot.wait(5)
    assert len(redraws) <= 20, f"{len(redraws)} redraws for {EVENTS} events"
    # The run has ended: the pending redraw still shows every point, with no further event.
    qtbot.waitUntil(lambda: len(_points(charts.step_loss)) == EVENTS, timeout=5_000)
    assert _points(charts.step_loss) == steps
    assert _points(charts.val_loss) == [(e[0], e[1]) for e in epochs]
    assert _points(charts.train_accuracy) == [(e[0], e[2]) for e in epochs]
    assert _points(charts.val_accuracy) == [(e[0], e[3]) for e in epochs]


def test_history_and_clear_are_drawn_at_once():
    charts = TrainingCharts()
    charts.add_step(0.5, 2.0)  # pending: superseded by the history below
    charts.set_history(
        [{"epoch": 1, "loss": 1.5, "val_loss": 1.2, "accuracy": 0.6, "val_accuracy": 0.55}]
    )
    assert _points(charts.step_loss) == [(1.0, 1.5)]
    assert _points(charts.val_accuracy) == [(1.0, 0.55)]
    charts.clear()
    assert _points(charts.step_loss) == [] and _points(charts.val_loss) == []
    charts.deleteLater()
