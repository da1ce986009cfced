"""Training decodes images the way the serving decoders do: EXIF orientation applied."""

import io

from PIL import Image

from training.image_decode import decode_bytes


def _jpeg_with_orientation(width, height, orientation):
    image = Image.new("RGB", (width, height), (200, 30, 30))
    # Left half blue, so the orientation is visible in the pixels.
    image.paste((30, 30, 200), (0, 0, width // 2, height))
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95, exif=exif.tobytes())
    return buffer.getvalue()


def test_exif_orientation_is_applied():
    decoded = decode_bytes(_jpeg_with_orientation(40, 20, 6))
    # Orientation 6: rotate 90° clockwise to display; a stored 40×20 image displays as 20×40.
    assert decoded.size == (20, 40)
    # The stored left (blue) half ends up on top after the rotation.
    top = decoded.getpixel((10, 5))
    bottom = decoded.getpixel((10, 35))
    assert top[2] > 150 and top[0] < 100
    assert bottom[0] > 150 and bottom[2] < 100


def test_upright_images_are_unchanged():
    decoded = decode_bytes(_jpeg_with_orientation(40, 20, 1))
    assert decoded.size == (40, 20)
