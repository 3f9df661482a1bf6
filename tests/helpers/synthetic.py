"""Generated test data shared by the tests and the benchmarks."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def natural(seed: int, width: int = 160, height: int = 120) -> Image.Image:
    """A photo-like picture: a colour gradient, a few shapes, a little blur and grain,
    so that perceptual hashes have real structure to work on."""
    rng = np.random.default_rng(seed)
    c0, c1 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:height, 0:width] / max(width, height)
    t = np.cos(angle) * xx + np.sin(angle) * yy
    t = (t - t.min()) / (np.ptp(t) + 1e-9)
    image = Image.fromarray((c0 * (1 - t[..., None]) + c1 * t[..., None]).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 8))):
        x0, y0 = rng.uniform(-0.2, 1.0) * width, rng.uniform(-0.2, 1.0) * height
        x1, y1 = x0 + rng.uniform(0.1, 0.6) * width, y0 + rng.uniform(0.1, 0.6) * height
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        shape = int(rng.integers(0, 3))
        if shape == 0:
            draw.ellipse([x0, y0, x1, y1], fill=colour)
        elif shape == 1:
            draw.rectangle([x0, y0, x1, y1], fill=colour)
        else:
            draw.polygon(
                [(float(rng.uniform(0, width)), float(rng.uniform(0, height))) for _ in range(3)],
                fill=colour,
            )
    pixels = np.asarray(image.filter(ImageFilter.GaussianBlur(1.0))).astype(np.float32)
    pixels += rng.normal(0, 6, pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
