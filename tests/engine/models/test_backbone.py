"""The built-in EfficientNet-Lite0: weights mapping, preprocessing, real-photo answers."""

from __future__ import annotations

import hashlib
import importlib.resources
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

from engine.data.images import decode_for_model
from engine.models.backbones import efficientnet_lite0 as lite0

torch = pytest.importorskip("torch")
timm = pytest.importorskip("timm")

SAMPLES = Path(importlib.resources.files("sklearn").joinpath("datasets", "images"))
#: Reasonable top-5 answers for scikit-learn's two sample photos.
EXPECTED = {
    "flower.jpg": {"daisy", "bee", "pot", "sea anemone", "hen-of-the-woods", "mushroom"},
    "china.jpg": {"palace", "monastery", "bell cote", "pagoda", "castle", "church", "dome"},
}


@pytest.fixture(scope="module")
def model():
    return lite0.load_model()


def sample_pixels() -> tuple[list[str], np.ndarray]:
    names = sorted(EXPECTED)
    pixels = np.stack(
        [
            decode_for_model(SAMPLES / name, lite0.INPUT_SIZE, lite0.RESIZE_SHORTER).pixels
            for name in names
        ]
    )
    return names, pixels


def to_tensor(pixels: np.ndarray):
    batch = pixels.astype(np.float32) / 255.0
    batch = (batch - np.array(lite0.MEAN, np.float32)) / np.array(lite0.STD, np.float32)
    return torch.from_numpy(np.ascontiguousarray(batch.transpose(0, 3, 1, 2)))


def test_weights_are_found_inside_the_installed_package():
    path = lite0.weights_path()
    package = Path(str(importlib.resources.files(lite0.PACKAGE)))
    assert path.is_file() and path.suffix == ".pth"
    assert package in path.parents


def test_weights_hash_matches_the_file_and_is_cached():
    expected = hashlib.sha256(lite0.weights_path().read_bytes()).hexdigest()
    assert lite0.weights_sha256() == expected
    assert lite0.weights_sha256() is lite0.weights_sha256()  # served from the cache


def test_all_296_tensors_map_in_order_with_matching_shapes():
    source = torch.load(lite0.weights_path(), map_location="cpu", weights_only=True)
    target = timm.create_model(lite0.ARCHITECTURE, pretrained=False, num_classes=1000).state_dict()
    mapped = lite0.load_state_dict()
    assert len(source) == len(target) == len(mapped) == lite0.EXPECTED_TENSORS == 296
    assert list(mapped) == list(target)
    for (src_key, tensor), (dst_key, reference) in zip(source.items(), target.items(), strict=True):
        assert tensor.shape == reference.shape, (src_key, dst_key)
        assert torch.equal(mapped[dst_key], tensor)
    assert torch.equal(mapped["conv_stem.weight"], source["_conv_stem.weight"])
    assert torch.equal(mapped["classifier.weight"], source["_fc.weight"])


def test_a_checkpoint_that_does_not_fit_raises_a_clear_error():
    target = timm.create_model(lite0.ARCHITECTURE, pretrained=False).state_dict()
    source = torch.load(lite0.weights_path(), map_location="cpu", weights_only=True)
    short = OrderedDict(list(source.items())[:-1])
    with pytest.raises(lite0.WeightsMismatchError) as info:
        lite0._mapped_state_dict(short, target)
    assert "295 tensors" in info.value.details
    reshaped = OrderedDict(source)
    reshaped["_fc.weight"] = torch.zeros(10, 1280)
    with pytest.raises(lite0.WeightsMismatchError) as info:
        lite0._mapped_state_dict(reshaped, target)
    assert "_fc.weight" in info.value.details and "classifier.weight" in info.value.details
    assert "weights do not fit" in info.value.message


def test_preprocessing_matches_timms_pretrained_config():
    cfg = timm.create_model(lite0.ARCHITECTURE, pretrained=False).pretrained_cfg
    config = lite0.preprocess_config()
    assert config["size"] == cfg["input_size"][1] == cfg["input_size"][2] == 224
    assert config["resize_shorter"] == round(224 / cfg["crop_pct"]) == 256
    assert tuple(config["mean"]) == tuple(cfg["mean"])
    assert tuple(config["std"]) == tuple(cfg["std"])
    assert config["interpolation"] == cfg["interpolation"] == "bicubic"


def test_class_names_are_readable_and_unique():
    names = lite0.class_names()
    assert len(names) == 1000 == len(set(names))
    assert names[281] == "tabby" and names[985] == "daisy" and names[1] == "goldfish"
    assert all("," not in name for name in names)


def test_real_photos_get_sensible_top5(model):
    names, pixels = sample_pixels()
    with torch.inference_mode():
        probabilities = model(to_tensor(pixels)).softmax(1).numpy()
    labels = lite0.class_names()
    for name, row in zip(names, probabilities, strict=True):
        top5 = {labels[i] for i in np.argsort(-row)[:5]}
        assert top5 & EXPECTED[name], (name, top5)
    assert labels[int(probabilities[names.index("flower.jpg")].argmax())] == "daisy"
    assert labels[int(probabilities[names.index("china.jpg")].argmax())] == "palace"


def test_feature_extractor_gives_the_pooled_1280_features(model):
    _names, pixels = sample_pixels()
    extractor = lite0.load_feature_extractor()
    batch = to_tensor(pixels)
    with torch.inference_mode():
        features = extractor(batch)
        expected = model.forward_head(model.forward_features(batch), pre_logits=True)
    assert features.shape == (2, lite0.NUM_FEATURES) == (2, 1280)
    assert torch.allclose(features, expected, atol=1e-5)


def test_normalization_inside_the_network_matches_normalizing_outside(model):
    from engine.models.backbones.onnx_runtime import with_normalization

    _names, pixels = sample_pixels()
    wrapped = with_normalization(model, lite0.MEAN, lite0.STD)
    with torch.inference_mode():
        inside = wrapped(torch.from_numpy(pixels))
        outside = model(to_tensor(pixels))
    assert torch.allclose(inside, outside, atol=1e-4)
