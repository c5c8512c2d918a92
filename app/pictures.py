"""Pictures people upload (covers, readers' avatars): checked, re-encoded, written whole.

A picture is judged by what Pillow finds inside it, never by its file name or the type the
browser claims: only JPEG, PNG and WebP pass. What is stored is always a fresh encoding of
the pixels, so nothing of the upload's own bytes (EXIF, GPS position, comments) survives.
"""

import io
import os
import tempfile
import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

# Larger pictures are refused before they are decoded: a small file can unpack into gigabytes.
MAX_PIXELS = 40_000_000
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP"}


class PictureRejected(ValueError):
    """An upload that is not a picture we can use; the message is for the person uploading."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def open_upload(data: bytes, max_bytes: int, noun: str) -> Image.Image:
    """The uploaded picture, decoded and upright, or PictureRejected saying what is wrong.

    `noun` names the picture in the messages ("封面", "头像")."""
    if len(data) > max_bytes:
        raise PictureRejected(f"{noun}图片不能超过 {max_bytes // (1024 * 1024)} MB")
    if not data:
        raise PictureRejected(f"{noun}图片是空文件")
    refused = PictureRejected(f"{noun}只支持 JPEG、PNG 或 WebP 图片")
    too_large = PictureRejected(
        f"{noun}图片太大了：最多 {MAX_PIXELS // 10_000} 万像素，请换一张小一些的图"
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ACCEPTED_FORMATS:
                raise refused
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise too_large
            image.load()  # decodes now, so a truncated or corrupt file is refused here
    except PictureRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        # Pillow's own bomb guards fire at open, before our pixel check, on pictures far
        # larger than it: still a real picture, too large, not a wrong format.
        raise too_large from error
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
    ) as error:
        raise refused from error
    # Phones store photos sideways with an orientation tag; turn them upright first.
    return ImageOps.exif_transpose(image)


def flat_rgb(image: Image.Image) -> Image.Image:
    """JPEG has no transparency: put see-through pictures on white, not on black."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def jpeg(image: Image.Image, quality: int) -> bytes:
    """The picture as a JPEG (the one format every WeChat version shows), with no metadata."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, optimize=True, progressive=True)
    return buffer.getvalue()


def atomic_write(path: Path, data: bytes) -> None:
    """Write a temporary file, then rename it: two workers writing the same file at once
    both leave a whole one, and a reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
