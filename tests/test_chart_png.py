"""The charts' PNG encoder: lossless, the same bytes for the same pixels, and a file the PDF
writer can embed as it is."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from analysis.build.patches import png_pixel_data
from analysis.charts.png import encode_rgb


def _pixels(seed: int = 0) -> np.ndarray:
    """A chart-like image: flat white, a coloured block, and noisy anti-aliased edges."""
    rng = np.random.default_rng(seed)
    pixels = np.full((37, 53, 3), 255, dtype=np.uint8)
    pixels[5:20, 8:40] = (18, 67, 109)
    pixels[20:23] = rng.integers(0, 256, size=(3, 53, 3), dtype=np.uint8)
    return pixels


def test_png_is_lossless_and_deterministic():
    pixels = _pixels()
    png = encode_rgb(pixels)
    image = Image.open(io.BytesIO(png))
    assert (image.format, image.mode, image.size) == ("PNG", "RGB", (53, 37))
    assert np.array_equal(np.asarray(image), pixels)
    assert encode_rgb(pixels.copy()) == png
    assert encode_rgb(_pixels(seed=1)) != png


def test_png_from_rgba_drops_the_alpha_channel():
    """The charts pass the canvas's RGBA buffer (opaque), or a view of its RGB part."""
    rgba = np.dstack([_pixels(), np.full((37, 53), 255, dtype=np.uint8)])
    png = encode_rgb(rgba)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png))), _pixels())
    assert encode_rgb(rgba[..., :3]) == png == encode_rgb(_pixels())


def test_png_scanlines_pass_to_the_pdf_as_they_are():
    """The PDF takes the compressed rows directly (FlateDecode with PNG predictors)."""
    import zlib

    pixels = _pixels()
    rows = zlib.decompress(png_pixel_data(encode_rgb(pixels)))
    assert len(rows) == 37 * (1 + 53 * 3)
    assert rows[:: 1 + 53 * 3] == bytes(37)  # each row: filter byte 0
    assert np.array_equal(
        np.frombuffer(rows, dtype=np.uint8).reshape(37, -1)[:, 1:].reshape(37, 53, 3), pixels
    )


@pytest.mark.parametrize("bad", [np.zeros((4, 4, 2), np.uint8), np.zeros((4, 4, 3), np.float64)])
def test_png_refuses_other_pixels(bad):
    with pytest.raises(ValueError, match=r"height x width x 3 \(or 4\) uint8"):
        encode_rgb(bad)
