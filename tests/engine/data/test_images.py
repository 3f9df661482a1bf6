"""engine.data.images: every file kind is built here with Pillow/numpy, nothing is downloaded."""

from __future__ import annotations

import builtins
import io
import multiprocessing
import os
import pickle
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.data import images
from engine.data.images import (
    ALLOWED_FORMATS,
    IMAGE_EXTENSIONS,
    DecodedImage,
    ImageReadError,
    decode_for_model,
    load_rgb,
    make_thumbnail,
    to_rgb,
)

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def close_to(pixel, expected, tolerance=12) -> bool:
    return all(abs(int(a) - int(b)) <= tolerance for a, b in zip(pixel, expected, strict=True))


def save(image: Image.Image, path: Path, **params) -> Path:
    image.save(path, **params)
    return path


def read_error(path) -> ImageReadError:
    with pytest.raises(ImageReadError) as caught:
        load_rgb(path)
    return caught.value


# --- formats -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "suffix"),
    [("JPEG", ".jpg"), ("PNG", ".png"), ("WEBP", ".webp"), ("GIF", ".gif"), ("BMP", ".bmp"),
     ("TIFF", ".tif")],
)  # fmt: skip
def test_each_allowed_format_loads_as_rgb(tmp_path, fmt, suffix):
    path = save(Image.new("RGB", (64, 48), (200, 40, 30)), tmp_path / f"a{suffix}", format=fmt)
    image = load_rgb(path)
    assert image.mode == "RGB"
    assert image.size == (64, 48)
    assert close_to(image.getpixel((32, 24)), (200, 40, 30), tolerance=20)
    assert fmt in ALLOWED_FORMATS and suffix in IMAGE_EXTENSIONS


def test_animated_gif_uses_first_frame(tmp_path):
    frames = [Image.new("RGB", (32, 32), colour) for colour in (GREEN, RED, BLUE)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    with Image.open(path) as check:
        assert check.n_frames == 3
    assert close_to(load_rgb(path).getpixel((16, 16)), GREEN)


def test_exif_orientation_6_rotates_clockwise(tmp_path):
    stored = Image.new("RGB", (80, 40), WHITE)
    stored.paste(RED, (0, 0, 16, 16))  # marker in the stored top-left corner
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    path = save(stored, tmp_path / "rotated.jpg", format="JPEG", exif=exif, quality=95)

    image = load_rgb(path)
    assert image.size == (40, 80)
    assert close_to(image.getpixel((40 - 6, 6)), RED, tolerance=40)  # now top-right
    assert close_to(image.getpixel((6, 6)), WHITE, tolerance=40)


def test_cmyk_jpeg_converts_to_rgb(tmp_path):
    cmyk_red = Image.new("CMYK", (32, 32), (0, 255, 255, 0))
    path = save(cmyk_red, tmp_path / "cmyk.jpg", format="JPEG", quality=95)
    with Image.open(path) as check:
        assert check.mode == "CMYK"
    red, green, blue = load_rgb(path).getpixel((16, 16))
    assert red > 200 and green < 60 and blue < 60


def test_16_bit_png_is_scaled_not_clipped(tmp_path):
    ramp = np.tile(np.linspace(0, 65535, 257).round().astype(np.uint16), (8, 1))
    path = save(Image.fromarray(ramp), tmp_path / "deep.png")
    with Image.open(path) as check:
        assert check.mode.startswith("I")
    pixels = np.asarray(load_rgb(path))
    assert tuple(pixels[4, 0]) == (0, 0, 0)
    assert abs(int(pixels[4, 128, 0]) - 128) <= 1
    assert tuple(pixels[4, 256]) == (255, 255, 255)


@pytest.mark.parametrize(
    ("values", "expected_mid"),
    [
        (np.linspace(0.0, 1.0, 101, dtype=np.float32), 128),  # F as fractions
        (np.linspace(-5.0, 5.0, 101, dtype=np.float32), 128),  # F stretched
        (np.linspace(0, 65535, 101).astype(np.int32), 128),  # I holding 16-bit data
        (np.linspace(0, 200, 101).astype(np.int32), 100),  # I holding 8-bit data
    ],
)
def test_float_and_32_bit_modes(values, expected_mid):
    image = Image.fromarray(np.tile(values, (4, 1)))
    assert image.mode in {"F", "I"}
    rgb = to_rgb(image)
    assert rgb.mode == "RGB"
    assert abs(rgb.getpixel((50, 2))[0] - expected_mid) <= 2


def test_palette_transparency_becomes_white(tmp_path):
    palette_image = Image.new("P", (16, 16), 0)
    palette_image.putpalette([0, 0, 0] + [255, 0, 0] * 255)
    palette_image.paste(1, (8, 0, 16, 16))
    path = save(palette_image, tmp_path / "pal.png", transparency=0)
    image = load_rgb(path)
    assert image.getpixel((2, 8)) == WHITE  # transparent black -> white
    assert image.getpixel((12, 8)) == RED


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_is_composited_over_white(tmp_path, mode):
    base = Image.new("RGBA", (16, 16), (0, 0, 0, 0))
    base.paste((0, 0, 0, 128), (8, 0, 16, 16))
    path = save(base.convert(mode), tmp_path / f"alpha-{mode}.png")
    image = load_rgb(path)
    assert image.getpixel((2, 8)) == WHITE
    assert close_to(image.getpixel((12, 8)), (127, 127, 127), tolerance=2)


@pytest.mark.parametrize("mode", ["1", "L"])
def test_bilevel_and_grey(tmp_path, mode):
    grey = Image.new("L", (16, 16), 0)
    grey.paste(255, (8, 0, 16, 16))
    path = save(grey.convert(mode), tmp_path / f"grey-{mode}.png")
    image = load_rgb(path)
    assert image.getpixel((2, 2)) == (0, 0, 0)
    assert image.getpixel((12, 2)) == WHITE


def test_content_decides_not_extension(tmp_path):
    path = save(Image.new("RGB", (10, 10), BLUE), tmp_path / "really-a-png.jpg", format="PNG")
    assert load_rgb(path).getpixel((5, 5)) == BLUE


def test_non_ascii_and_emoji_names(tmp_path):
    path = save(Image.new("RGB", (10, 10), GREEN), tmp_path / "猫 🐱.png")
    assert load_rgb(path).getpixel((5, 5)) == GREEN
    error = read_error(tmp_path / "картинка 🐶.png")
    assert "картинка 🐶.png" in error.message


# --- fast JPEG decode ----------------------------------------------------------


def test_large_jpeg_decodes_at_reduced_scale(tmp_path):
    path = save(Image.new("RGB", (4000, 3000), (10, 120, 200)), tmp_path / "big.jpg", quality=80)
    image = load_rgb(path, target_min_side=256)
    assert 256 <= min(image.size) <= 512
    assert image.size == (500, 375)  # 1/8 scale
    assert load_rgb(path).size == (4000, 3000)


def test_draft_keeps_target_for_awkward_sizes(tmp_path):
    path = save(Image.new("RGB", (1000, 700), RED), tmp_path / "mid.jpg")
    image = load_rgb(path, target_min_side=300)
    assert image.size == (500, 350)  # 1/4 would give 175 < 300, so 1/2


# --- errors ------------------------------------------------------------------


def test_all_messages_are_distinct():
    ids = [images.MSG_EMPTY, images.MSG_NOT_IMAGE, images.MSG_CORRUPT, images.MSG_TOO_LARGE,
           images.MSG_PERMISSION, images.MSG_NOT_FOUND, images.MSG_UNREADABLE]  # fmt: skip
    assert len(set(ids)) == len(ids)
    assert all("{name}" in msgid for msgid in ids)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    error = read_error(path)
    assert error.msgid == images.MSG_EMPTY
    assert error.path == path
    assert "empty.jpg" in error.message


def test_truncated_jpeg(tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8)
    data = io.BytesIO()
    Image.fromarray(noise).save(data, format="JPEG")
    path = tmp_path / "half.jpg"
    path.write_bytes(data.getvalue()[: len(data.getvalue()) // 2])
    assert read_error(path).msgid == images.MSG_CORRUPT


def test_truncated_png(tmp_path):
    noise = np.random.default_rng(1).integers(0, 256, (100, 100, 3), dtype=np.uint8)
    data = io.BytesIO()
    Image.fromarray(noise).save(data, format="PNG")
    path = tmp_path / "half.png"
    path.write_bytes(data.getvalue()[: len(data.getvalue()) // 2])
    assert read_error(path).msgid == images.MSG_CORRUPT


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.jpg"
    path.write_bytes(np.random.default_rng(2).bytes(4096))
    assert read_error(path).msgid == images.MSG_NOT_IMAGE


def test_text_file_named_png(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("these are not pixels\n", encoding="utf-8")
    assert read_error(path).msgid == images.MSG_NOT_IMAGE


def test_format_pillow_knows_but_app_does_not(tmp_path):
    path = save(Image.new("RGB", (16, 16), RED), tmp_path / "icon.png", format="ICO")
    assert read_error(path).msgid == images.MSG_NOT_IMAGE


def test_missing_file_and_folder(tmp_path):
    assert read_error(tmp_path / "gone.png").msgid == images.MSG_NOT_FOUND
    assert read_error(tmp_path).msgid == images.MSG_NOT_IMAGE


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0, reason="chmod cannot stop root reading"
)
def test_unreadable_file_chmod(tmp_path):
    path = save(Image.new("RGB", (8, 8)), tmp_path / "locked.png")
    path.chmod(0)
    try:
        assert read_error(path).msgid == images.MSG_PERMISSION
    finally:
        path.chmod(0o644)


def test_permission_denied_when_opening(tmp_path, monkeypatch):
    path = save(Image.new("RGB", (8, 8)), tmp_path / "locked.png")
    real_open = builtins.open

    def refusing_open(file, *args, **kwargs):
        if Path(os.fsdecode(file)) == path:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", refusing_open)
    assert read_error(path).msgid == images.MSG_PERMISSION


def test_permission_denied_inside_pillow(tmp_path, monkeypatch):
    path = save(Image.new("RGB", (8, 8)), tmp_path / "locked.png")

    def refusing_image_open(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Image, "open", refusing_image_open)
    assert read_error(path).msgid == images.MSG_PERMISSION


def test_other_os_error_is_unreadable(tmp_path, monkeypatch):
    path = save(Image.new("RGB", (8, 8)), tmp_path / "flaky.png")

    def failing_open(*args, **kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(builtins, "open", failing_open)
    assert read_error(path).msgid == images.MSG_UNREADABLE


@pytest.mark.parametrize("side", [40, 100])  # 1600 px: warning range; 10000 px: error range
@pytest.mark.parametrize("explicit_check", [True, False])
def test_decompression_bomb(tmp_path, monkeypatch, side, explicit_check):
    path = save(Image.new("RGB", (side, side)), tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    if not explicit_check:
        # Prove Pillow's own warning (1x..2x) and error (>2x) are both refused.
        monkeypatch.setattr(images, "_check_pixel_limit", lambda size: None)
    error = read_error(path)
    assert error.msgid == images.MSG_TOO_LARGE
    assert error.details


def test_bomb_limit_disabled_means_no_check(tmp_path, monkeypatch):
    path = save(Image.new("RGB", (40, 40)), tmp_path / "fine.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    assert load_rgb(path).size == (40, 40)


def test_error_pickles_with_its_fields(tmp_path):
    error = read_error(tmp_path / "gone.png")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is ImageReadError
    assert (copy.msgid, copy.path, copy.details, copy.params) == (
        error.msgid, error.path, error.details, error.params
    )  # fmt: skip
    assert copy.message == error.message


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_no_file_handle_left_open(tmp_path):
    good = save(Image.new("RGB", (50, 50), RED), tmp_path / "good.gif")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(5):
        load_rgb(good, target_min_side=10)
        with pytest.raises(ImageReadError):
            load_rgb(bad)
        decode_for_model(good, size=16, resize_shorter=20)
    assert len(os.listdir("/proc/self/fd")) == before


# --- thumbnails and model input ------------------------------------------------


def test_make_thumbnail_keeps_aspect_and_original():
    original = Image.new("RGBA", (300, 150), (0, 0, 0, 0))
    thumb = make_thumbnail(original, 128)
    assert thumb.mode == "RGB" and thumb.size == (128, 64)
    assert thumb.getpixel((5, 5)) == WHITE
    assert original.size == (300, 150) and original.mode == "RGBA"
    assert make_thumbnail(Image.new("RGB", (20, 10))).size == (20, 10)  # never enlarged


def test_decode_for_model_crops_the_centre(tmp_path):
    picture = Image.new("RGB", (400, 300), BLUE)
    picture.paste(GREEN, (100, 50, 300, 250))  # 200 x 200 centre square
    path = save(picture, tmp_path / "centre.png")
    decoded = decode_for_model(path)
    assert isinstance(decoded, DecodedImage)
    assert decoded.pixels.shape == (224, 224, 3) and decoded.pixels.dtype == np.uint8
    assert (decoded.width, decoded.height) == (400, 300)
    # Shorter side 300 -> 256 (scale 0.853): the green square spans 171 px in the middle.
    assert tuple(decoded.pixels[112, 112]) == GREEN
    assert close_to(decoded.pixels[112, 2], BLUE, tolerance=5)
    assert close_to(decoded.pixels[2, 112], BLUE, tolerance=5)
    with Image.open(io.BytesIO(decoded.thumbnail_jpeg)) as thumb:
        assert thumb.format == "JPEG" and thumb.size == (128, 96)


def test_decode_for_model_reports_oriented_size(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6
    path = save(Image.new("RGB", (4000, 3000), RED), tmp_path / "phone.jpg", exif=exif)
    decoded = decode_for_model(path)
    assert (decoded.width, decoded.height) == (3000, 4000)
    assert decoded.pixels.shape == (224, 224, 3)
    with Image.open(io.BytesIO(decoded.thumbnail_jpeg)) as thumb:
        assert thumb.size == (96, 128)


def test_decode_for_model_in_worker_processes(tmp_path):
    good = save(Image.new("RGB", (64, 64), RED), tmp_path / "good.png")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        decoded = pool.submit(decode_for_model, good, 32, 40).result(timeout=120)
        failed = pool.submit(decode_for_model, empty).exception(timeout=120)
    assert decoded.pixels.shape == (32, 32, 3)
    assert tuple(decoded.pixels[16, 16]) == RED
    assert isinstance(failed, ImageReadError) and failed.msgid == images.MSG_EMPTY
    assert failed.path == empty
