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
import atexit
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Sample data, trained models and (unless given) the user folder live in one scratch folder
# that goes when the tool ends.
WORK = Path(tempfile.mkdtemp(prefix="taxon-shots-"))
atexit.register(shutil.rmtree, WORK, ignore_errors=True)
os.environ.setdefault("TAXON_HOME", str(WORK / "home"))

from PIL import Image  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from engine.core import i18n  # noqa: E402
from ui.app import build_window, create_application  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


def sample_folder() -> Path:
    import sklearn

    images = Path(sklearn.__file__).parent / "datasets" / "images"
    folder = Path(tempfile.mkdtemp(prefix="taxon-samples-", dir=WORK)) / "photos"
    folder.mkdir()
    shutil.copy(images / "china.jpg", folder / "summer palace.jpg")
    shutil.copy(images / "flower.jpg", folder / "garden 花园.jpg")
    with Image.open(images / "flower.jpg") as flower:
        flower.crop((120, 60, 520, 400)).save(folder / "close-up.jpg", quality=92)
    with Image.open(images / "china.jpg") as china:
        china.crop((0, 0, 320, 240)).save(folder / "roof detail.jpg", quality=92)
    (folder / "scan-0042.jpg").write_bytes((images / "china.jpg").read_bytes()[:9000])
    return folder


def sample_table() -> Path:
    """A small multilingual review table with a few planted problems."""
    rows = [
        ("Great phone, the battery lasts two days", "positive"),
        ("Terrible screen, returned it", "negative"),
        ("Works perfectly", "positive"),
        ("Stopped working after a week", "negative"),
        ("手机很好用，电池很耐用", "positive"),
        ("屏幕太差了，已经退货", "negative"),
        ("الهاتف رائع والبطارية تدوم طويلا", "positive"),
        ("الشاشة سيئة جدا", "negative"),
        ("Muy buen teléfono", "positive"),
        ("No funciona bien", "negative"),
        ("Works perfectly", "positive"),
        ("Great camera", "Positive"),
        ("", "negative"),
        ("cafÃ© app crashes", "negative"),
        ("Fast delivery and good price", "positive"),
        ("Broken on arrival", "negative"),
        ("Отличный телефон", "positive"),
        ("Ужасный экран", "negative"),
    ]
    path = Path(tempfile.mkdtemp(prefix="taxon-table-", dir=WORK)) / "reviews.csv"
    path.write_text(
        "text,label\n" + "".join(f'"{t}",{label}\n' for t, label in rows), encoding="utf-8"
    )
    return path


def trained_digits_model() -> Path:
    """A real model package: the trainer's fast mode on scikit-learn's handwritten digits."""
    from engine.data.dataset_io import load_image_folder
    from engine.training import TrainConfig, train
    from tests.helpers.digits import write_digits

    root = Path(tempfile.mkdtemp(prefix="taxon-digits-", dir=WORK))
    dataset = load_image_folder(write_digits(root / "digits", per_class=30))
    return train(
        dataset, root / "digits model", TrainConfig(mode="fast", epochs=30, seed=0), name="Digits"
    ).package


TOPICS = {
    "sport": [
        "The team won the football match",
        "She scored a goal in the final",
        "The tennis player served an ace",
        "Our basketball coach trains us hard",
        "He runs a marathon every year",
        "The referee gave a red card",
        "The swimmer broke the world record",
        "Fans cheered in the stadium",
        "El equipo ganó el partido",
        "La jugadora marcó un gol",
    ],
    "food": [
        "I cooked pasta with tomato sauce",
        "This soup needs more salt",
        "We baked bread this morning",
        "The restaurant serves fresh fish",
        "She likes chocolate cake",
        "Add garlic and onions to the pan",
        "The chef grilled the vegetables",
        "Fry the eggs in butter",
        "Cocinamos arroz con verduras",
        "Me gusta la tarta de chocolate",
    ],
}
#: Typed into the text view, one per line: none of these languages but Spanish was trained on.
TEXTS = [
    "球队在决赛中赢得了比赛",
    "我们做了巧克力蛋糕",
    "فاز الفريق بالمباراة النهائية",
    "طبخنا الأرز مع الخضار والثوم",
    "Вратарь отбил пенальти в финале",
    "El pan recién horneado",
]


def trained_text_model() -> Path:
    """A real text package: fast mode (the multilingual encoder) on English and Spanish."""
    from engine.data.dataset_io import load_dataset
    from engine.training import TrainConfig, train

    root = Path(tempfile.mkdtemp(prefix="taxon-topics-", dir=WORK))
    rows = "".join(f'"{text}",{label}\n' for label, texts in TOPICS.items() for text in texts)
    (root / "topics.csv").write_text("text,label\n" + rows, encoding="utf-8")
    return train(
        load_dataset(str(root / "topics.csv")),
        root / "topics model",
        TrainConfig(mode="fast", epochs=30, seed=0),
        name="Topics",
    ).package


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

    root = Path(tempfile.mkdtemp(prefix="taxon-train-shots-", dir=WORK))
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


def digits_with_problems() -> Path:
    """Handwritten digits with planted problems: relabelled scans and copies of one scan."""
    import random

    from tests.helpers.digits import write_digits

    root = write_digits(
        Path(tempfile.mkdtemp(prefix="taxon-health-", dir=WORK)) / "digits", per_class=40, size=64
    )
    files = sorted(root.glob("*/*.png"))
    for path in random.Random(3).sample(files, 16):  # a slip of the hand: filed under another digit
        wrong = str((int(path.parent.name) + 1 + random.Random(path.name).randrange(9)) % 10)
        path.rename(root / wrong / f"moved-{path.parent.name}-{path.name}")
    original = root / "7" / "0007.png"
    shutil.copy(original, root / "7" / "0007 copy.png")
    with Image.open(original) as image:
        image.resize((96, 96)).save(root / "7" / "0007-large.png")
    return root


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
        wait(app, lambda: health._thumb_job is None)
        for code in languages:
            window.languages.switch(code, persist=False)
            health.findings_list.setCurrentRow(kinds.index(kind))
            wait(app, lambda: health._thumb_job is None)
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

    library, root = ModelLibrary(), Path(tempfile.mkdtemp(prefix="taxon-library-", dir=WORK))
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

    root = Path(tempfile.mkdtemp(prefix="taxon-digits-2-", dir=WORK))
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
    sys.exit(main())
