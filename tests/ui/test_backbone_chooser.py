"""The Train form's "Starting point" row: a local model folder is checked when chosen, a
hostile one is refused with its reason, and the choice reaches the run's settings."""

from __future__ import annotations

import json
import shutil

import pytest

from engine.models.backbones.tiny_models import tiny_image_model

pytest.importorskip("transformers")


@pytest.fixture
def form(qtbot):
    from ui.pages.train.form import TrainForm

    widget = TrainForm()
    qtbot.addWidget(widget)
    return widget


def test_a_valid_folder_becomes_the_starting_point_until_the_task_changes(form, tmp_path):
    folder = tiny_image_model(tmp_path / "my-vit")
    assert form.config().backbone is None
    assert form.backbone_combo.currentText() == "Built-in model"
    assert form.set_backbone(str(folder))
    assert form.backbone_combo.currentText() == "my-vit"
    assert form.config().backbone == str(folder.resolve())
    form.set_task("text")  # an image model is no starting point for texts
    assert form.config().backbone is None


def test_a_hostile_folder_is_refused_with_its_reason(form, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(
        "ui.pages.train.form.show_error", lambda parent, message, details="": shown.append(message)
    )
    good = tiny_image_model(tmp_path / "good")
    assert form.set_backbone(str(good))
    hostile = shutil.copytree(good, tmp_path / "hostile")
    config = json.loads((hostile / "config.json").read_text(encoding="utf-8"))
    config["auto_map"] = {"AutoModel": "modeling_evil.Evil"}
    (hostile / "config.json").write_text(json.dumps(config), encoding="utf-8")
    assert not form.set_backbone(str(hostile))
    assert len(shown) == 1 and "trust_remote_code" in shown[0]
    assert form.config().backbone == str(good.resolve())  # the earlier choice stays


def test_instant_text_mode_has_no_starting_point(form):
    form.set_task("text")
    form.mode_combo.setCurrentIndex(form.mode_combo.findData("instant"))
    assert not form.backbone_row.isVisibleTo(form)
    assert form.config().backbone is None
    form.mode_combo.setCurrentIndex(form.mode_combo.findData("fast"))
    assert form.backbone_row.isVisibleTo(form)
