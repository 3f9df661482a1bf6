"""engine.data.datasets and engine.data.dataset_io: reading folders and tables, writing them
back."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd
import pytest

from engine.core.jobs import Cancelled, CancelToken, UserError
from engine.data import dataset_io
from engine.data.dataset_io import load_dataset, load_image_folder, load_table_dataset, save_dataset
from engine.data.datasets import (
    ITEM,
    LABEL,
    SOURCE_LINE,
    SPLIT,
    looks_like_image_paths,
    normalize_split,
    resolve_image_paths,
)


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def image_tree(tmp_path: Path) -> Path:
    root = tmp_path / "pets"
    for name in [
        "猫/a.jpg", "猫/b.PNG", "猫/indoor/sofa/c.webp", "猫/notes.txt",
        "قطة/1.jpg", "قطة/.hidden.jpg",
        "dog/x.jpeg", "dog/Thumbs.db", "dog/.cache/y.jpg",
        ".trash/z.jpg", "__MACOSX/dog/._x.jpeg", "empty/readme.md",
    ]:  # fmt: skip
        touch(root / name)
    return root


def by_label(dataset) -> dict[str, list[str]]:
    root = Path(dataset.source.path)
    result: dict[str, list[str]] = {}
    for item, label in zip(dataset.frame[ITEM], dataset.frame[LABEL], strict=True):
        result.setdefault(label, []).append(Path(item).relative_to(root).as_posix())
    return result


# --------------------------------------------------------------------- image folders


def test_image_folder_one_class_per_top_level_folder(image_tree):
    progress = []
    data = load_image_folder(image_tree, lambda *a: progress.append(a))
    assert data.task == "image" and data.source.kind == "folder" and data.name == "pets"
    assert by_label(data) == {
        "dog": ["dog/x.jpeg"],
        "قطة": ["قطة/1.jpg"],
        "猫": ["猫/a.jpg", "猫/b.PNG", "猫/indoor/sofa/c.webp"],
    }
    assert all(os.path.isabs(p) for p in data.frame[ITEM])
    assert data.frame["row_id"].tolist() == list(range(5))
    assert data.frame[SOURCE_LINE].isna().all() and SPLIT not in data.frame
    assert progress and progress[-1][0] == progress[-1][1] == 5
    texts = [w.text() for w in data.warnings]
    assert texts == ["The class folder empty holds no images and was left out."]


def test_loose_images_in_the_root_are_ignored_with_a_warning(image_tree):
    touch(image_tree / "stray.jpg")
    touch(image_tree / "stray2.jpg")
    data = load_image_folder(image_tree)
    assert len(data) == 5
    assert any("2 images directly inside" in w.text() for w in data.warnings)


def test_only_loose_images_or_no_images_are_user_errors(tmp_path):
    touch(tmp_path / "flat" / "a.jpg")
    with pytest.raises(UserError, match="not sorted into classes"):
        load_image_folder(tmp_path / "flat")
    (tmp_path / "none" / "cats").mkdir(parents=True)
    with pytest.raises(UserError, match="No images were found"):
        load_image_folder(tmp_path / "none")
    with pytest.raises(UserError, match="was not found"):
        load_image_folder(tmp_path / "missing")
    with pytest.raises(UserError, match="not a folder"):
        load_image_folder(touch(tmp_path / "file.jpg"))


def test_single_class_folder_is_allowed(tmp_path):
    touch(tmp_path / "one" / "cats" / "a.jpg")
    assert load_image_folder(tmp_path / "one").class_counts().to_dict() == {"cats": 1}


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_symlink_loop_ends(image_tree):
    os.symlink(image_tree, image_tree / "猫" / "loop")
    data = load_image_folder(image_tree)
    assert len(data) == 5


def test_cancel_stops_the_scan(image_tree):
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        load_image_folder(image_tree, cancel=token)


def test_load_dataset_dispatches_folders(image_tree):
    assert load_dataset(image_tree).task == "image"
    with pytest.raises(UserError, match="text datasets are read from a table"):
        load_dataset(image_tree, "text")


# --------------------------------------------------------------------- helpers


def test_split_spellings_are_normalized():
    cases = {
        "Train": "train",
        " VAL ": "validation",
        "valid": "validation",
        "Dev": "validation",
        "TEST": "test",
        "holdout": None,
        "": None,
        None: None,
    }
    assert {k: normalize_split(k) for k in cases} == cases


def test_image_path_resolution_and_detection(tmp_path):
    paths = pd.Series(["a/b.jpg", "/abs/c.png", "win\\d.jpg", "", None])
    resolved = resolve_image_paths(paths, tmp_path).tolist()
    assert resolved[:3] == [
        str(tmp_path / "a" / "b.jpg"),
        os.path.normpath("/abs/c.png"),
        str(tmp_path / "win" / "d.jpg") if os.sep == "/" else resolved[2],
    ]
    assert resolved[3] is pd.NA and resolved[4] is pd.NA
    assert looks_like_image_paths(paths)
    assert not looks_like_image_paths(pd.Series(["a nice day", "photo.jpg is great", ""]))


# --------------------------------------------------------------------- tables


@pytest.fixture
def image_table(tmp_path: Path) -> Path:
    folder = tmp_path / "shoot"
    touch(folder / "img" / "a.jpg")
    touch(folder / "img" / "b.jpg")
    touch(tmp_path / "elsewhere" / "c.jpg")
    absolute = tmp_path / "elsewhere" / "c.jpg"
    table = folder / "labels.csv"
    table.write_text(
        "file,species,Split,notes\n"
        "img/a.jpg,cat,TRAIN,first\n"
        f"img/b.jpg,dog,Val,\n"
        f"{absolute},cat,test,third\n",
        encoding="utf-8",
    )
    return table


def test_image_table_resolves_relative_paths_and_carries_the_split(image_table):
    data = load_table_dataset(image_table, "image", item_column="file", label_column="species")
    folder = image_table.parent
    assert data.frame[ITEM].tolist() == [
        str(folder / "img" / "a.jpg"),
        str(folder / "img" / "b.jpg"),
        str(folder.parent / "elsewhere" / "c.jpg"),
    ]
    assert data.frame[LABEL].tolist() == ["cat", "dog", "cat"]
    assert data.frame[SPLIT].tolist() == ["train", "validation", "test"]
    assert data.frame[SOURCE_LINE].tolist() == [2, 3, 4]
    assert data.has_split
    assert data.source.kind == "table" and data.source.item_column == "file"


def test_table_task_is_guessed_from_image_paths(image_table):
    data = load_dataset(image_table)
    assert data.task == "image"
    assert data.source.item_column == "file" and data.source.label_column == "species"


def test_text_csv_with_guessed_columns(tmp_path):
    table = tmp_path / "reviews.csv"
    table.write_text(
        'id,text,label\n1,Great phone, love it,pos\n2,"Broke after a day, sadly",neg\n'
        "3,Всё отлично,pos\n4,ひどい,neg\n".replace(
            "Great phone, love it", '"Great phone, love it"'
        ),
        encoding="utf-8",
    )
    data = load_dataset(table)
    assert data.task == "text"
    assert data.source.item_column == "text" and data.source.label_column == "label"
    assert data.frame[ITEM].tolist()[2:] == ["Всё отлично", "ひどい"]
    assert data.frame[SOURCE_LINE].tolist() == [2, 3, 4, 5]


def test_a_missing_named_column_lists_the_available_ones(image_table):
    with pytest.raises(UserError) as caught:
        load_table_dataset(image_table, "image", item_column="path", label_column="species")
    message = caught.value.message
    assert "path" in message and "file, species, Split, notes" in message


def test_table_round_trip_keeps_columns_and_drops_cleaned_rows(image_table, tmp_path):
    data = load_table_dataset(image_table, "image", item_column="file", label_column="species")
    frame = data.frame.copy()
    frame.loc[frame["row_id"] == 2, LABEL] = "kitten"
    cleaned = data.with_frame(frame[frame["row_id"] != 1])  # a fix dropped row 1
    before = image_table.read_bytes()
    out = save_dataset(cleaned, tmp_path / "out")
    assert out == tmp_path / "out" / "labels.csv"
    assert image_table.read_bytes() == before
    again = load_table_dataset(out, "image", item_column="file", label_column="species")
    assert list(again.extra["table_columns"]) == ["file", "species", "Split", "notes"]
    assert again.frame[ITEM].tolist() == [cleaned.frame[ITEM].iloc[0], cleaned.frame[ITEM].iloc[1]]
    assert again.frame[LABEL].tolist() == ["cat", "kitten"]
    assert again.frame[SPLIT].tolist() == ["train", "test"]
    assert again.extra["other_columns"]["notes"].tolist() == ["first", "third"]


def test_image_folder_saves_as_a_manifest_of_the_originals(image_tree, tmp_path):
    data = load_image_folder(image_tree)
    frame = data.frame.copy()
    frame[SPLIT] = ["train", "train", "test", "validation", "train"]
    out = save_dataset(data.with_frame(frame), tmp_path / "out")
    assert out.name == dataset_io.MANIFEST_NAME
    again = load_dataset(out)
    assert again.task == "image"
    assert again.frame[ITEM].tolist() == frame[ITEM].tolist()
    assert again.frame[LABEL].tolist() == frame[LABEL].tolist()
    assert again.frame[SPLIT].tolist() == frame[SPLIT].tolist()


@pytest.mark.parametrize("fmt", ["tsv", "jsonl", "xlsx", "parquet"])
def test_text_round_trip_in_each_format(tmp_path, fmt):
    from engine.data.tables.table_io import write_table

    source = tmp_path / f"texts.{fmt}"
    original = pd.DataFrame(
        {
            "sentence": ["hello", "مرحبا", "你好", 'a, "quoted"\ttab'],
            "category": ["en", "ar", "zh", "math"],
        },
        dtype="string",
    )
    try:
        write_table(original, source, fmt)
    except ImportError as error:  # an optional engine (openpyxl, pyarrow) missing here
        pytest.skip(str(error))
    data = load_table_dataset(source, "text", item_column="sentence", label_column="category")
    out = save_dataset(data, tmp_path / "out")
    assert out.suffix == source.suffix
    again = load_table_dataset(out, "text", item_column="sentence", label_column="category")
    assert again.frame[ITEM].tolist() == original["sentence"].tolist()
    assert again.frame[LABEL].tolist() == original["category"].tolist()


def test_saving_over_the_original_is_refused(image_table):
    data = load_table_dataset(image_table, "image", item_column="file", label_column="species")
    before = image_table.read_bytes()
    with pytest.raises(UserError, match="overwrite the original"):
        save_dataset(data, image_table.parent)
    assert image_table.read_bytes() == before


def test_a_split_column_is_never_guessed_as_the_label(tmp_path):
    table = tmp_path / "reviews.csv"
    rows = [
        f"This is review number {i} of many,{1 + i % 5},{['train', 'test', 'dev'][i % 3]}"
        for i in range(30)
    ]
    table.write_text("review,stars,split\n" + "\n".join(rows) + "\n", encoding="utf-8")
    data = load_dataset(table)
    assert (data.task, data.source.item_column, data.source.label_column) == (
        "text",
        "review",
        "stars",
    )
    assert data.frame[SPLIT].value_counts().to_dict() == {"train": 10, "test": 10, "validation": 10}


def test_unknown_split_values_are_unsplit_with_a_warning(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text(
        "text,label,split\nhello there,a,train\nhi you,b,holdout\nyo yo,a,\n", encoding="utf-8"
    )
    data = load_table_dataset(table, "text")
    assert data.frame[SPLIT].tolist()[:1] == ["train"]
    assert data.frame[SPLIT].isna().tolist() == [False, True, True]
    assert [w.text() for w in data.warnings] == [
        "1 row has a split value Taxon does not know (holdout); it is treated as unsplit."
    ]


def test_inspecting_a_dataset_with_a_leaky_imported_split_reports_it(tmp_path):
    from engine.cleaning.run import inspect_dataset
    from engine.data.dataset_io import load_dataset

    rows = [
        ("The match ended in a draw", "sport", "train"),
        ("The match ended in a draw", "sport", "test"),
        ("She baked bread", "food", "train"),
        ("We grilled fish", "food", "test"),
        ("He scored a goal", "sport", "train"),
        ("Soup for dinner", "food", "train"),
    ]
    table = tmp_path / "split.csv"
    table.write_text(
        "text,label,split\n" + "".join(f"{t},{lab},{s}\n" for t, lab, s in rows), encoding="utf-8"
    )
    dataset = load_dataset(table, "text")
    leak = [f for f in inspect_dataset(dataset) if f.kind == "split.leakage"]
    assert len(leak) == 1 and leak[0].severity == "error"
    assert sorted(leak[0].groups[0]) == [0, 1]
