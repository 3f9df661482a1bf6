"""Image models exported as ONNX and TorchScript answer like Taxon, outside Taxon.

Each exportable image kind is trained in seconds on real digits, exported, and
run with a bare ONNX Runtime session (as a user's script runs it) on pixels
prepared as the README says; its top label must be Taxon's. A tampered export is
refused with the figures and leaves nothing behind, and the output rules never
write over a file the user did not name.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from engine.core.jobs import UserError
from engine.deploy import export_model, parity
from tests.helpers import deploy_models as dm

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("deploy-images")


@pytest.fixture(scope="module")
def digits(base):
    return dm.digits_dataset(base / "digits")


@pytest.fixture(scope="module")
def vit(base) -> Path:
    return dm.tiny_image_backbone(base / "tiny-vit")


class _Packages(dict):
    """Packages trained on first use, so fast tests never wait for the slower kinds."""

    def __init__(self, base: Path, digits, vit: Path) -> None:
        super().__init__()
        self.settings = {
            "image-linear": dict(mode="fast", epochs=10),
            "image-hf-linear": dict(mode="fast", epochs=10, backbone=str(vit)),
            "image-hf-finetuned": dict(
                mode="finetune", epochs=1, batch_size=8, workers=0, backbone=str(vit)
            ),
        }
        self.base, self.digits = base, digits

    def __missing__(self, kind: str) -> Path:
        self[kind] = dm.train_package(self.digits, self.base / kind, **self.settings[kind])
        return self[kind]


@pytest.fixture(scope="module")
def packages(base, digits, vit) -> dict[str, Path]:
    return _Packages(base, digits, vit)


def _images(package: Path) -> list[str]:
    from engine.models.package import load_package

    return load_package(package).evaluation().items[:6]


def _taxon_top1(package: Path | None, paths: list[str]) -> list[str]:
    from engine.models.inference import classify_images
    from engine.models.loading import load_classifier

    classifier = load_classifier(package)
    try:
        return [r.predictions[0].label for r in classify_images(classifier, paths, top_k=1)]
    finally:
        classifier.close()


def _pixels(session, paths: list[str]) -> np.ndarray:
    from engine.data.images import decode_for_model

    meta = session.get_modelmeta().custom_metadata_map
    size, shorter = int(meta["input_size"]), int(meta["resize_shorter"])
    return np.stack([decode_for_model(path, size, shorter).pixels for path in paths])


def _onnx_top1(model_file: Path, paths: list[str]) -> list[str]:
    session = ort.InferenceSession(str(model_file), providers=["CPUExecutionProvider"])
    labels = json.loads(session.get_modelmeta().custom_metadata_map["labels"])
    probabilities = session.run(None, {"pixels": _pixels(session, paths)})[0]
    np.testing.assert_allclose(probabilities.sum(1), 1.0, atol=1e-5)
    return [labels[i] for i in probabilities.argmax(1)]


@pytest.mark.parametrize(
    "kind",
    [pytest.param("image-linear", marks=pytest.mark.slow), "image-hf-linear", "image-hf-finetuned"],
)
def test_every_image_kind_exports_an_onnx_file_that_answers_like_taxon(packages, kind, tmp_path):
    package = packages[kind]
    result = export_model(package, tmp_path / "exported", "onnx")
    assert result.output == tmp_path / "exported.onnx"
    assert result.files == [tmp_path / "exported.onnx", tmp_path / "exported.onnx.README.md"]
    assert result.parity["checked"] >= 4 and result.parity["max_difference"] <= 1e-4

    session = ort.InferenceSession(str(result.output), providers=["CPUExecutionProvider"])
    (pixels,), (probabilities,) = session.get_inputs(), session.get_outputs()
    assert (pixels.name, pixels.type, pixels.shape[1:]) == (
        "pixels",
        "tensor(uint8)",
        pixels.shape[1:],
    )
    assert probabilities.name == "probabilities"
    meta = session.get_modelmeta().custom_metadata_map
    assert json.loads(meta["labels"]) == ["0", "1", "6"]
    assert meta["taxon_model_kind"] == kind and meta["taxon_model_name"] == kind
    assert "shorter side" in meta["resize_rule"] and int(meta["input_size"]) > 0

    paths = _images(package)
    assert _onnx_top1(result.output, paths) == _taxon_top1(package, paths)
    assert _onnx_top1(result.output, paths[:1]) == _taxon_top1(package, paths[:1])  # any batch


def test_the_readme_names_inputs_outputs_labels_and_the_resize_rule(packages, tmp_path):
    result = export_model(packages["image-hf-linear"], tmp_path / "digits.onnx", "onnx")
    readme = (tmp_path / "digits.onnx.README.md").read_text(encoding="utf-8")
    for needle in (
        "`pixels`",
        "[N, 32, 32, 3]",
        "`probabilities`",
        "[N, 3]",
        '"6"',
        "shorter side is 32 pixels",
        "32 × 32",
        "```python",
        "InferenceSession('digits.onnx')",
    ):
        assert needle in readme
    assert result.output.is_file()


def test_the_readme_follows_the_interface_language(packages, tmp_path):
    from engine.core import i18n

    previous = i18n.current_language()
    i18n.set_language("en_XA")  # pseudo-locale: every translated string is bracketed
    try:
        export_model(packages["image-hf-linear"], tmp_path / "digits.onnx", "onnx")
    finally:
        i18n.set_language(previous)
    readme = (tmp_path / "digits.onnx.README.md").read_text(encoding="utf-8")
    prose = [
        line
        for line in readme.split("```")[0].splitlines()
        if line and not line.startswith(("# ", "0.", "1.", "2."))
    ]
    assert prose and all("⟦" in line for line in prose)
    assert "session.run(None" in readme  # the code stays code


@pytest.mark.parametrize(
    "kind", [pytest.param("image-linear", marks=pytest.mark.slow), "image-hf-finetuned"]
)
def test_torchscript_export_answers_like_taxon(packages, kind, tmp_path):
    package = packages[kind]
    result = export_model(package, tmp_path / "digits", "torchscript")
    assert result.output == tmp_path / "digits.pt"
    extra = {"labels.json": ""}
    model = torch.jit.load(str(result.output), _extra_files=extra)
    labels = json.loads(extra["labels.json"])
    paths = _images(package)
    session = ort.InferenceSession(str(export_model(package, tmp_path / "digits", "onnx").output))
    with torch.no_grad():
        probabilities = model(torch.from_numpy(_pixels(session, paths))).numpy()
    assert [labels[i] for i in probabilities.argmax(1)] == _taxon_top1(package, paths)


def test_a_tampered_export_is_refused_with_the_figures_and_leaves_nothing(
    packages, tmp_path, monkeypatch
):
    from engine.deploy import networks

    real = networks.image_module

    def tampered(source):
        module = real(source)
        with torch.no_grad():  # a "converter bug": the last layer's bias shifted
            last = [p for p in module.parameters()][-1]
            last.add_(torch.linspace(-3, 3, last.numel()))
        return module

    monkeypatch.setattr(networks, "image_module", tampered)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(UserError) as caught:
        export_model(packages["image-hf-linear"], out / "digits.onnx", "onnx")
    assert caught.value.msgid == parity.MSG_MISMATCH
    assert "validation examples" in caught.value.message and "1e-04" in caught.value.message
    assert list(out.iterdir()) == []  # no model, no README, no temporary file


def test_existing_files_are_replaced_only_when_named(packages, tmp_path):
    package = packages["image-hf-linear"]
    mine = tmp_path / "image-hf-linear.onnx"
    mine.write_bytes(b"the user's own file")
    with pytest.raises(UserError):  # --out a folder: Taxon picks the model's name
        export_model(package, tmp_path, "onnx")
    assert mine.read_bytes() == b"the user's own file"

    (tmp_path / "other.onnx.README.md").write_text("notes", encoding="utf-8")
    with pytest.raises(UserError):  # the README Taxon would write beside it is the user's
        export_model(package, tmp_path / "other.onnx", "onnx")
    assert (tmp_path / "other.onnx.README.md").read_text(encoding="utf-8") == "notes"
    assert not (tmp_path / "other.onnx").exists()

    result = export_model(package, mine, "onnx")  # named exactly: replaced
    assert result.output == mine and mine.read_bytes() != b"the user's own file"
    again = export_model(package, mine, "onnx")  # and again, README included
    assert again.files[1].is_file()
    inside = export_model(package, f"{tmp_path / 'exports'}{os.sep}", "onnx")
    assert inside.output.parent == tmp_path / "exports"


@pytest.mark.slow
def test_the_builtin_model_exports_and_answers_like_classify(tmp_path):
    from tests.helpers.synthetic import natural

    paths = []
    for seed in range(3):
        paths.append(str(tmp_path / f"photo{seed}.jpg"))
        natural(seed).save(paths[-1])
    result = export_model("builtin", tmp_path / "lite0", "onnx")
    session = ort.InferenceSession(str(result.output))
    meta = session.get_modelmeta().custom_metadata_map
    assert len(json.loads(meta["labels"])) == 1000
    assert meta["taxon_model_id"] == "efficientnet_lite0.in1k"
    assert _onnx_top1(result.output, paths) == _taxon_top1(None, paths)


@pytest.mark.slow
def test_a_fine_tuned_lite0_package_exports(digits, tmp_path):
    package = dm.train_package(
        digits, tmp_path / "ft", mode="finetune", epochs=1, batch_size=8, workers=0
    )
    result = export_model(package, tmp_path / "ft.onnx", "onnx")
    paths = _images(package)
    assert _onnx_top1(result.output, paths) == _taxon_top1(package, paths)
