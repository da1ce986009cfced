import io

import numpy as np
import pytest
from PIL import Image

from training.image_decode import decode_bytes, to_rgb


def encoded(img: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "img, expected",
    [
        (Image.new("L", (2, 2), 100), (100, 100, 100)),
        (Image.new("LA", (2, 2), (100, 0)), (255, 255, 255)),  # transparent -> white
        (Image.new("LA", (2, 2), (100, 255)), (100, 100, 100)),
        (Image.new("RGBA", (2, 2), (10, 20, 30, 0)), (255, 255, 255)),
        (Image.new("RGBA", (2, 2), (10, 20, 30, 255)), (10, 20, 30)),
        (Image.new("RGB", (2, 2), (1, 2, 3)), (1, 2, 3)),
        (Image.new("CMYK", (2, 2), (0, 0, 0, 0)), (255, 255, 255)),
    ],
)
def test_modes_become_rgb(img, expected):
    out = decode_bytes(encoded(img, "TIFF" if img.mode == "CMYK" else "PNG"))
    assert out.mode == "RGB"
    assert out.getpixel((0, 0)) == expected


def test_half_transparent_rgba_is_blended_on_white():
    out = to_rgb(Image.new("RGBA", (1, 1), (0, 0, 0, 128)))
    assert all(abs(c - 127) <= 1 for c in out.getpixel((0, 0)))


def test_palette_with_transparency():
    img = Image.new("P", (2, 1))
    img.putpalette([0, 0, 255] + [0, 0, 0] * 255)
    img.info["transparency"] = 0
    assert decode_bytes(encoded(img)).getpixel((0, 0)) == (255, 255, 255)


def test_sixteen_bit_grey_keeps_the_top_byte():
    img = Image.fromarray(np.array([[0, 65535, 32896]], dtype=np.uint16))
    assert img.mode.startswith("I;16")
    out = decode_bytes(encoded(img))
    assert [out.getpixel((x, 0))[0] for x in range(3)] == [0, 255, 128]


def test_corrupt_bytes_raise_value_error():
    with pytest.raises(ValueError, match="cannot decode image"):
        decode_bytes(b"not an image")
