"""Render the real main window in every shipped language into docs/screenshots/.

Runs offscreen (``QT_QPA_PLATFORM=offscreen``) with the system's Noto fonts; the
Classify page shows real results for photos shipped with scikit-learn plus a
damaged file, so the screenshots show labels, confidence bars and an error. The
Evaluate page shows a model trained here (fast mode) on scikit-learn's digits,
its confusion tab open on the largest mistake cell. The Health page is shown twice
more on handwritten digits with planted slips (``health-labels-<lang>.png``, every
suggested label beside its scan) and copies (``health-duplicates-<lang>.png``, which
copy stays). The Models page (``models-<lang>.png``, 1,024×640) lists those models, a
shared copy and one whose folder was deleted. The text Classify view
(``classify-text-<lang>.png``) shows a text model trained here (fast mode) on a
small English and Spanish table classifying Chinese, Arabic, Russian and Spanish
texts, with the words that pushed one decision highlighted.

    python tools/screenshots.py [--languages en zh_CN ar]   (default: every shipped language)
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tools.screenshot_data import (  # noqa: E402  (sets TAXON_HOME before the engine loads)
    TEXTS,
    digits_with_problems,
    sample_folder,
    sample_table,
    scratch,
    trained_digits_model,
    trained_text_model,
)

# isort: split
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from engine.core import i18n  # noqa: E402
from ui.app import build_window, create_application  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


def show_text_results(app: QApplication, page, model: Path) -> None:
    """Switch the Classify page to the text model, classify ``TEXTS``, explain the Arabic one."""
    panel = page.text_panel
    page.use_model(str(model))
    wait(app, lambda: page.model_ready and page.text_mode and panel.idle)
    panel.per_line.setChecked(True)
    panel.text_box.setPlainText("\n".join(TEXTS))
    panel.classify_typed()
    wait(app, lambda: panel.idle and panel.model.rowCount() == len(TEXTS))
    panel.select_row(panel.model.rows[3])
    wait(app, lambda: panel.idle)


def show_worst_cell(app: QApplication, page) -> None:
    """Open the Evaluate page's confusion tab on its largest mistake cell, thumbnails loaded."""
    import numpy as np

    page.tabs.setCurrentIndex(1)
    matrix = page.evaluation.confusion()
    np.fill_diagonal(matrix, -1)
    true_index, pred_index = np.unravel_index(int(matrix.argmax()), matrix.shape)
    page.show_cell(int(true_index), int(pred_index))
    wait(app, lambda: not page.cell_examples.loading)


def training_in_progress(app: QApplication, window):
    """The Train page mid-run on the digits: charts filling, then paused for the pictures."""
    from engine.data.dataset_io import load_image_folder
    from tests.helpers.digits import write_digits

    root = scratch("taxon-train-shots-")
    window.session.set_dataset(load_image_folder(write_digits(root / "digits", per_class=40)))
    page = window.page("trainPage")
    window.show_page(page)
    page.form.name_edit.setText("Digits")
    page.form.epochs_spin.setValue(80)
    os.environ["TAXON_FAULTS"] = "slow@0.02"  # slow enough to catch the run in the middle
    page.start()
    wait(app, lambda: len(page.charts.epochs) >= 25)
    page.toggle_pause()
    del os.environ["TAXON_FAULTS"]
    return page


def image_health_screens(app: QApplication, window, languages: list[str]) -> None:
    """The Health page on the digits: label-error suggestions, then a duplicate group."""
    from engine.data.dataset_io import load_image_folder

    health = window.page("healthPage")
    window.session.set_dataset(load_image_folder(digits_with_problems()))
    window.show_page(health)
    health.run_checks()
    wait(app, lambda: health.job is None and bool(window.session.findings), timeout=900)
    kinds = [
        health.findings_list.item(row).data(Qt.ItemDataRole.UserRole + 1).kind
        for row in range(health.findings_list.count())
    ]
    for name, kind in (
        ("health-labels", "label.likely_errors"),
        ("health-duplicates", "image.exact_duplicates"),
    ):
        if kind not in kinds:
            print(f"no {kind} finding to show; skipped {name}")
            continue
        health.findings_list.setCurrentRow(kinds.index(kind))
        wait(app, lambda: health.thumbnails.job is None)
        for code in languages:
            window.languages.switch(code, persist=False)
            health.findings_list.setCurrentRow(kinds.index(kind))
            wait(app, lambda: health.thumbnails.job is None)
            for _ in range(5):
                app.processEvents()
            path = OUT / f"{name}-{code}.png"
            window.grab().save(str(path))
            print(path.relative_to(ROOT))


def models_screens(app: QApplication, window, languages: list[str], models: list[Path]) -> None:
    """The Models page at 1,024×640 (``models-<lang>.png``): the models trained above, a
    shared ``.taxon-model`` copy, and one whose folder was deleted (listed as missing)."""
    from engine.models.library import TRAINED, ModelLibrary, register
    from engine.models.package import write_archive

    library, root = ModelLibrary(), scratch("taxon-library-")
    (root / "Downloads").mkdir()
    gone = root / "USB stick" / "flowers"
    shutil.copytree(models[0], gone)
    register(gone, origin=TRAINED)
    library.rename(gone, "Flowers 2026-11-30 09.12")
    shutil.rmtree(gone.parent)
    shared = write_archive(models[0], root / "Downloads" / "digits from Sam")
    register(shared)
    library.rename(shared, "Digits (from Sam)")
    for path in models:
        register(path, origin=TRAINED)
    size = window.size()
    window.resize(1024, 640)
    page = window.page("modelsPage")
    window.show_page(page)
    page.view.selectRow(0)
    for code in languages:
        window.languages.switch(code, persist=False)
        for _ in range(5):
            app.processEvents()
        path = OUT / f"models-{code}.png"
        window.grab().save(str(path))
        print(path.relative_to(ROOT))
    window.resize(size)


def service_and_combine_screens(
    app: QApplication, window, languages: list[str], model: Path
) -> None:
    """The prediction service dialog running for the digits model (``service-<lang>.png``) and
    the combine dialog with it and a second digits model (``combine-<lang>.png``), 1,024×640."""
    from engine.data.dataset_io import load_image_folder
    from engine.models.library import TRAINED, register
    from engine.models.package import load_package
    from engine.training import TrainConfig, train
    from tests.helpers.digits import write_digits
    from ui.pages.evaluate.combine import CombineDialog
    from ui.pages.models.service import ServiceDialog

    root = scratch("taxon-digits-2-")
    first = load_package(model).evaluation()
    folder = Path(first.items[0]).parents[1] if first is not None and len(first) else None
    dataset = load_image_folder(folder or write_digits(root / "digits", per_class=30))
    second = train(
        dataset,
        root / "digits quick",
        TrainConfig(mode="fast", epochs=8, seed=0, learning_rate=0.05),
        name="Digits (quick)",
    ).package
    register(model, origin=TRAINED)
    register(second, origin=TRAINED)
    service = ServiceDialog(model, "Digits", "image", window)
    service.resize(1024, 640)
    service.show()
    service.start()
    wait(app, lambda: service.worker is None)
    if not service.running:  # 8765 taken on this machine: any free port
        service.port.setValue(0)
        service.start()
        wait(app, lambda: service.worker is None)
    package = load_package(model)
    combine = CombineDialog(str(model), "image", package.labels, window)
    combine.resize(1024, 640)
    combine.show()
    combine.set_checked([str(model), str(second)])
    wait(app, lambda: combine.result_ is not None and combine.worker is None)
    combine.name.setText("Digits (combined)")
    for code in languages:
        window.languages.switch(code, persist=False)
        for name, dialog in (("service", service), ("combine", combine)):
            dialog.raise_()
            for _ in range(5):
                app.processEvents()
            path = OUT / f"{name}-{code}.png"
            dialog.grab().save(str(path))
            print(path.relative_to(ROOT))
    service.close()
    combine.reject()


def wait(app: QApplication, condition, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for the window")
        app.processEvents()
        time.sleep(0.02)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--languages", nargs="+", default=list(i18n.SHIPPED_LANGUAGES))
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    app = create_application(["taxon-screenshots"])
    folder = sample_folder()
    model = trained_digits_model()
    text_model = trained_text_model()
    window = build_window(args.languages[0])
    window.resize(1180, 760)
    window.show()
    page = window.page("classifyPage")
    wait(app, lambda: page.model_ready and window.device_info is not None)
    page.add_inputs([str(folder)])
    wait(app, lambda: page.job is None and page.model.rowCount() == 5)
    page.table.selectRow(0)  # a classified photo: its top labels in the detail panel
    data = window.page("dataPage")
    health = window.page("healthPage")
    data.import_path(
        str(sample_table()), {"task": "text", "item_column": "text", "label_column": "label"}
    )
    wait(app, lambda: data.job is None and window.session.current is not None)
    health.run_checks()
    wait(app, lambda: health.job is None and bool(window.session.findings))
    health.findings_list.setCurrentRow(1)
    evaluate = window.page("evaluatePage")
    evaluate.open_model(str(model))
    wait(app, lambda: evaluate.job is None and evaluate.evaluation is not None)
    show_worst_cell(app, evaluate)
    for code in args.languages:
        window.languages.switch(code, persist=False)
        for name, widget in (
            ("classify", page),
            ("data", data),
            ("health", health),
            ("evaluate", evaluate),
        ):
            window.show_page(widget)
            for _ in range(5):
                app.processEvents()
            path = OUT / f"{name}-{code}.png"
            window.grab().save(str(path))
            print(path.relative_to(ROOT))
    show_text_results(app, page, text_model)
    window.show_page(page)
    for code in args.languages:
        window.languages.switch(code, persist=False)
        for _ in range(5):
            app.processEvents()
        path = OUT / f"classify-text-{code}.png"
        window.grab().save(str(path))
        print(path.relative_to(ROOT))
    train = training_in_progress(app, window)
    for code in args.languages:
        window.languages.switch(code, persist=False)
        for _ in range(5):
            app.processEvents()
        path = OUT / f"train-{code}.png"
        window.grab().save(str(path))
        print(path.relative_to(ROOT))
    train.cancel()
    wait(app, lambda: train.worker is None)
    image_health_screens(app, window, args.languages)
    models_screens(app, window, args.languages, [model, text_model])
    service_and_combine_screens(app, window, args.languages, model)
    window.close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:  # the window's own handler writes only to the log in the scratch folder
        traceback.print_exc()
        sys.exit(1)
