"""Every page after real work in the pseudo-locales: nothing untranslated or cut off.

The slow test renders every page after real work, in both pseudo-locales (see
``test_pseudo_locales.py`` for what they show): Classify with photo results and an
error row selected, Health with findings and one selected, Train after a finished run
with its note, Evaluate with a model open, the text view of Classify with results,
Models with models, and the main dialogs.
"""

from __future__ import annotations

import re

import pytest
from PySide6.QtWidgets import QWidget

from tests.helpers.pseudo_locales import PSEUDO, problems, settle_events
from tests.helpers.qt import settle

#: Language names and list words come from the locale's CLDR data (Babel), not from the
#: catalogs: Russian gets "английский и арабский", the pseudo-locales their English base.
CLDR_WORDS = {"English", "Chinese", "Arabic", "Russian", "Spanish", "and"}


def _check(
    window,
    report: list[str],
    state: str,
    root: QWidget | None = None,
    data: frozenset[str] = frozenset(),
) -> None:
    """Look at ``root`` (default: the window) in both pseudo-locales."""
    for code in PSEUDO:
        window.languages.switch(code, persist=False)
        settle_events()
        untranslated, clipped = problems(root or window, data)
        if untranslated or clipped:
            report.append(
                f"{state} in {code}: untranslated {sorted(untranslated)}; clipped {sorted(clipped)}"
            )
    window.languages.switch("en", persist=False)
    settle_events()


def _select_error_row(page) -> bool:
    for row in range(page.proxy.rowCount()):
        source = page.proxy.mapToSource(page.proxy.index(row, 0))
        if page.model.rows[source.row()].error:
            page.table.selectRow(row)
            return True
    return False


def _trained(table, folder, mode: str, name: str, epochs: int = 60):
    from engine.data.dataset_io import load_dataset
    from engine.training import TrainConfig, train

    return train(
        load_dataset(str(table)), folder, TrainConfig(mode=mode, epochs=epochs, seed=0), name=name
    ).package


@pytest.mark.slow
def test_every_page_after_real_work_is_translated_and_unclipped(window, qtbot, tmp_path):
    from tools.screenshots import sample_folder, sample_table

    settle(window, qtbot)
    window.resize(1280, 800)
    report: list[str] = []
    folder, table = sample_folder(), sample_table()
    names = {path.name for path in folder.iterdir()}
    data = frozenset(
        {
            *names,
            *(name.rsplit(".", 1)[0] for name in names),
            "positive",
            "negative",
            "Positive",
            "reviews",
            "reviews.csv",
            "text",
            "label",
            "Reviews",
            "Topics",
            "CPU",
            folder.name,
            str(folder),
            *CLDR_WORDS,
        }
    )

    # Classify: photos and a damaged file, the error row selected.
    classify = window.page("classifyPage")
    window.show_page(classify)
    classify.add_inputs([str(folder)])
    qtbot.waitUntil(
        lambda: classify.job is None and classify.model.rowCount() == 5, timeout=300_000
    )
    assert _select_error_row(classify)
    imagenet = frozenset(
        {row.label for row in classify.model.rows if getattr(row, "label", None)}
        | {
            label
            for row in classify.model.rows
            for label, _score in (getattr(row, "predictions", None) or [])
        }
    )
    _check(window, report, "classify (photos, error row selected)", data=data | imagenet)

    # Data and Health: a table with planted problems, one finding selected.
    data_page, health = window.page("dataPage"), window.page("healthPage")
    data_page.import_path(
        str(table), {"task": "text", "item_column": "text", "label_column": "label"}
    )
    qtbot.waitUntil(
        lambda: data_page.job is None and window.session.current is not None, timeout=120_000
    )
    window.show_page(data_page)
    rows = frozenset(str(value) for value in window.session.current.frame.to_numpy().ravel())
    _check(window, report, "data (a text table)", data=data | rows)
    window.show_page(health)
    health.run_checks()
    qtbot.waitUntil(lambda: health.job is None and bool(window.session.findings), timeout=300_000)
    health.findings_list.setCurrentRow(1)
    _check(window, report, "health (a finding selected)", data=data | rows)

    # Train: a finished run with its note (a far too high learning rate: the validation
    # loss stops improving and the run stops early, which a note says).
    trainer = window.page("trainPage")
    window.show_page(trainer)
    trainer.form.mode_combo.setCurrentIndex(trainer.form.mode_combo.findData("fast"))
    trainer.form.name_edit.setText("Reviews")
    trainer.form.epochs_spin.setValue(300)
    trainer.form.rate_spin.setValue(1.0)
    trainer.start()
    qtbot.waitUntil(
        lambda: trainer.worker is None and trainer.last_result is not None, timeout=600_000
    )
    assert trainer.notes.count() and trainer.notes.isVisibleTo(trainer)
    _check(window, report, "train (finished, with its note)", data=data)
    window.languages.switch("ar_XB", persist=False)  # numbers follow the language, live
    settle_events()
    assert re.search("[\u0660-\u0669]", trainer.result_label.text())
    assert "\u2068" + str(trainer.last_result.package) + "\u2069" in trainer.result_label.text()
    window.languages.switch("en", persist=False)

    # Evaluate: that model, the confusion matrix tab (its example pane shows a hint).
    evaluate = window.page("evaluatePage")
    evaluate.open_model(str(trainer.last_result.package))
    window.show_page(evaluate)
    qtbot.waitUntil(
        lambda: evaluate.job is None and evaluate.evaluation is not None, timeout=300_000
    )
    for tab in range(evaluate.tabs.count()):
        evaluate.tabs.setCurrentIndex(tab)
        _check(window, report, f"evaluate (tab {tab})", data=data | rows)
    evaluate.tabs.setCurrentIndex(1)
    assert evaluate.cell_examples.hint.isVisibleTo(evaluate)

    # Classify's text view: an instant text model on typed texts, one result selected.
    instant = _trained(table, tmp_path / "instant", "instant", "Topics")
    classify.use_model(str(instant))
    window.show_page(classify)
    qtbot.waitUntil(lambda: classify.model_ready and classify.text_mode, timeout=300_000)
    panel = classify.text_panel
    panel.per_line.setChecked(True)
    texts = ["Great phone", "الشاشة سيئة", "Ужасный экран"]
    panel.text_box.setPlainText("\n".join(texts))
    panel.classify_typed()
    qtbot.waitUntil(lambda: panel.idle and panel.model.rowCount() == len(texts), timeout=120_000)
    panel.select_row(panel.model.rows[0])
    qtbot.waitUntil(lambda: panel.idle, timeout=120_000)
    _check(window, report, "classify (texts)", data=data | frozenset(texts))
    panel.text_box.clear()  # typed texts are data: with them gone the placeholder is judged
    _check(window, report, "classify (texts, empty box)", data=data)

    # Models: the models trained above.
    window.show_page(window.page("modelsPage"))
    window.page("modelsPage").refresh()
    _check(window, report, "models", data=data)

    # The main dialogs.
    for name, opener in (
        ("about", window.open_about),
        ("settings", window.open_settings),
        ("log", window.open_log),
        ("shortcuts", window.open_shortcuts),
    ):
        dialog = opener()
        qtbot.waitExposed(dialog)
        _check(window, report, f"{name} dialog", root=dialog, data=data)
        dialog.close()

    assert not report, "\n".join(report)
