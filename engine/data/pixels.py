"""Any Pillow pixel mode as the 8-bit RGB a viewer would show.

Files on users' disks come in every mode Pillow knows: 16-bit and float scans,
CMYK prints, palettes with a transparent colour, premultiplied alpha. Models and
thumbnails want one thing, 8-bit RGB, and the conversion must look like the
picture: transparency over white, high bit depths rescaled rather than clipped.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}
_SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N"}


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB as a viewer would show it.

    Transparency is composited over white (a transparent logo is dark-on-white,
    not dark-on-black), high bit depths are rescaled rather than clipped.
    Always returns a new image.
    """
    mode = image.mode
    if mode == "RGB":
        return image.copy()
    if mode in _SIXTEEN_BIT_MODES or mode in {"I", "F"}:
        return Image.fromarray(_to_uint8(np.asarray(image)), mode="L").convert("RGB")
    if mode in {"La", "RGBa"}:
        image = image.convert(mode.upper())
        mode = image.mode
    if mode in _ALPHA_MODES or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    # 1, L, P, CMYK (Pillow already un-inverts Adobe CMYK JPEGs), YCbCr, HSV, RGBX.
    return image.convert("RGB")


def _to_uint8(values: np.ndarray) -> np.ndarray:
    """Scale single-channel integer or float samples to 0..255.

    16-bit data maps 0..65535 onto 0..255 (so mid grey stays mid grey). A
    32-bit ``I`` image holding 8-bit or 16-bit values is read as such; floats in
    0..1 are fractions; anything else is stretched from its minimum to maximum.
    """
    # One float64 copy, scaled in place: a full-size 16-bit scan must not need
    # five times its size in temporaries.
    data = values.astype(np.float64)
    if data.dtype.kind == "f" and values.dtype.kind == "f":
        np.nan_to_num(data, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    low = float(data.min()) if data.size else 0.0
    high = float(data.max()) if data.size else 0.0
    if values.dtype.kind == "u" and values.dtype.itemsize == 2:
        data /= 257.0
    elif values.dtype.kind == "f" and low >= 0.0 and high <= 1.0:
        data *= 255.0
    elif values.dtype.kind in "iu" and low >= 0 and high <= 255:
        pass
    elif values.dtype.kind in "iu" and low >= 0 and high <= 65535:
        data /= 257.0
    elif high > low:
        data -= low
        data *= 255.0 / (high - low)
    else:
        data[...] = 0.0
    np.rint(data, out=data)
    np.clip(data, 0, 255, out=data)
    return data.astype(np.uint8)
