"""GPU JPEG decoding, checked on the CPU: ``device="cpu"`` runs the same code (libjpeg instead of
nvJPEG), so dispatch, per-file fallback, order and pixels are tested without a GPU."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.data import gpu_decode
from engine.data.images import MSG_CORRUPT, MSG_NOT_IMAGE, ImageReadError, decode_for_model


def _photo(size: tuple[int, int], seed: int) -> Image.Image:
    """Smooth colour fields plus grain: photo-like, so resize filters matter."""
    rng = np.random.default_rng(seed)
    coarse = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8))
    smooth = np.asarray(coarse.resize(size, Image.Resampling.BICUBIC)).astype(np.int16)
    grain = rng.integers(-8, 9, (size[1], size[0], 1), dtype=np.int16)
    return Image.fromarray(np.clip(smooth + grain, 0, 255).astype(np.uint8))


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("gpu-decode")
    out = {}

    def save(name: str, image: Image.Image, **kwargs) -> None:
        out[name] = folder / f"{name}.jpg"
        image.save(out[name], **kwargs)

    save("landscape", _photo((1200, 900), 1), quality=90)
    save("portrait", _photo((300, 500), 2), quality=90)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: shown rotated 90° clockwise
    save("rotated", _photo((800, 600), 3), quality=90, exif=exif)
    save("grey", _photo((400, 300), 4).convert("L"), quality=90)
    save("cmyk", _photo((400, 300), 5).convert("CMYK"), quality=90)
    save("png_named_jpg", _photo((400, 300), 6), format="PNG")
    broken = folder / "broken.jpg"
    broken.write_bytes(out["landscape"].read_bytes()[:2000])
    out["broken"] = broken
    out["text"] = folder / "text.jpg"
    out["text"].write_text("not a picture", encoding="utf-8")
    return out


def _difference(pixels, path: Path) -> np.ndarray:
    reference = decode_for_model(path, 224, 256).pixels.astype(np.int16)
    return np.abs(np.asarray(pixels).astype(np.int16) - reference)


def test_pixels_match_the_cpu_preprocessing_within_a_grey_level_on_average(files):
    names = ["landscape", "portrait", "rotated", "grey"]
    fallbacks: list[str] = []
    batch, errors = gpu_decode.decode_batch([files[n] for n in names], 224, "cpu")
    results = gpu_decode.decode_images(
        [files[n] for n in names],
        224,
        256,
        "cpu",
        on_fallback=lambda path, why: fallbacks.append(path),
    )
    assert fallbacks == []  # all four took the nvJPEG-style path
    assert tuple(batch.shape) == (4, 224, 224, 3) and str(batch.dtype) == "torch.uint8"
    assert errors == [None] * 4
    for name, row in zip(names, batch, strict=True):
        difference = _difference(row.numpy(), files[name])
        # Pillow shrinks in the DCT domain first; the GPU path resizes the full decode.
        assert difference.mean() < 1.5, name
        assert np.percentile(difference, 99) <= 4, name
    assert results[2][2] == (600, 800)  # the upright size of the EXIF-rotated photo


def test_each_file_falls_back_on_its_own_and_order_and_errors_are_kept(files):
    names = ["cmyk", "landscape", "broken", "png_named_jpg", "text", "portrait"]
    fallbacks: list[str] = []
    results = gpu_decode.decode_images(
        [files[n] for n in names],
        224,
        256,
        "cpu",
        on_fallback=lambda path, why: fallbacks.append(Path(path).stem),
    )
    assert fallbacks == ["cmyk", "broken", "png_named_jpg", "text"]
    batch, errors = gpu_decode.decode_batch([files[n] for n in names], 224, "cpu")
    assert [type(e).__name__ if e else None for e in errors] == [
        None,
        None,
        "ImageReadError",
        None,
        "ImageReadError",
        None,
    ]
    assert errors[2].msgid == MSG_CORRUPT and errors[2].path == files["broken"]
    assert errors[4].msgid == MSG_NOT_IMAGE
    for row, name in enumerate(names):
        if errors[row] is None:  # CPU-decoded rows are exactly the CPU's pixels
            difference = _difference(batch[row].numpy(), files[name])
            assert difference.mean() < 1.5, name
            if name in ("cmyk", "png_named_jpg"):
                assert difference.max() == 0, name
        else:
            assert int(batch[row].sum()) == 0
    assert isinstance(results[4], ImageReadError)


def test_special_and_missing_files_never_reach_the_decoder(tmp_path, files):
    missing = tmp_path / "gone.jpg"
    batch, errors = gpu_decode.decode_batch([missing, tmp_path, files["portrait"]], 224, "cpu")
    assert errors[0] is not None and errors[1] is not None and errors[2] is None
    assert tuple(batch.shape) == (3, 224, 224, 3)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientations_turn_the_picture_as_pillow_does(orientation):
    import torch
    from PIL import ImageOps

    picture = Image.fromarray(np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3))
    exif = Image.Exif()
    exif[0x0112] = orientation
    picture.info["exif"] = exif.tobytes()
    expected = np.asarray(ImageOps.exif_transpose(picture))
    chw = torch.from_numpy(np.array(picture)).permute(2, 0, 1)
    got = gpu_decode.orient(chw, orientation).permute(1, 2, 0).numpy()
    assert np.array_equal(got, expected)


def test_decoded_for_model_gives_what_the_inference_batches_take(files):
    decoded = gpu_decode.decoded_for_model(
        [str(files["landscape"]), str(files["text"])], 224, 256, "cpu"
    )
    first = decoded[0]
    assert first.pixels.shape == (224, 224, 3) and first.pixels.dtype == np.uint8
    assert (first.width, first.height) == (1200, 900)
    with Image.open(__import__("io").BytesIO(first.thumbnail_jpeg)) as thumb:
        assert max(thumb.size) == 128
    assert isinstance(decoded[1], ImageReadError)


def test_the_gpu_is_used_only_for_a_classifier_on_cuda(monkeypatch):
    class Runner:
        providers = ["CPUExecutionProvider"]

    class Model:
        runner = Runner()

    assert gpu_decode.device_for(Model()) is None
    monkeypatch.setenv(gpu_decode.ENV, "0")
    Runner.providers = ["CUDAExecutionProvider"]
    assert gpu_decode.device_for(Model()) is None
