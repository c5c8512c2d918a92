"""Covers the creator uploads, or draws: checked, cropped to 16:9, stored with a thumbnail.

A picture is judged by what Pillow finds inside it, never by its file name or the type the
browser claims: only JPEG, PNG and WebP pass. Whatever comes in is stored as a JPEG (the one
format every WeChat version shows) under a content-hashed name, so a new picture gets a new
URL and browsers may keep covers for a year. The thumbnail (for the studio's list) and the
WebP sizes the pages offer (cover_variants) sit beside it, named after it.
"""

import hashlib
import io
import random
import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from app.catalog import cover_variants, covers

MAX_COVER_BYTES = 5 * 1024 * 1024
# Larger pictures are refused before they are decoded: a small file can unpack into gigabytes.
MAX_COVER_PIXELS = 40_000_000
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP"}
THUMBNAIL_SIZE = (240, 135)
_THUMBNAIL_SUFFIX = "-thumb"

# Gradient pairs for drawn covers, in the spirit of the demo's.
_DRAWN_COLORS = (
    ("#0f766e", "#5eead4"),
    ("#1d4ed8", "#60a5fa"),
    ("#15803d", "#84cc16"),
    ("#4338ca", "#a78bfa"),
    ("#9f1239", "#fb7185"),
    ("#b45309", "#f59e0b"),
)


class CoverRejected(ValueError):
    """An upload that is not a cover we can use; the message is for the creator."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def store_cover(folder: Path, slug: str, image: Image.Image) -> str:
    """Crop a picture (from open_cover) to the cover size and store it; its file name."""
    cover = ImageOps.fit(_rgb(image), covers.COVER_SIZE, Image.Resampling.LANCZOS)
    data = _jpeg(cover, quality=85)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{slug}-{hashlib.sha256(data).hexdigest()[:10]}.jpg"
    (folder / name).write_bytes(data)
    thumbnail = cover.resize(THUMBNAIL_SIZE, Image.Resampling.LANCZOS)
    (folder / thumbnail_name(name)).write_bytes(_jpeg(thumbnail, quality=80))
    cover_variants.write_variants(folder, name, cover)
    return name


def store_drawn_cover(folder: Path, slug: str, title: str, kind_label: str) -> str:
    """A cover drawn from the title, for a product created without a picture."""
    colors = random.choice(_DRAWN_COLORS)
    drawn = covers.draw_cover(title, kind_label, colors)
    with Image.open(io.BytesIO(drawn)) as image:
        return store_cover(folder, slug, image)


def cover_files(folder: Path, cover_name: str) -> list[Path]:
    """A cover's files on disk: the picture, its thumbnail and its WebP sizes (any may be
    missing)."""
    variants = [folder / name for name in cover_variants.variant_names(cover_name)]
    return [folder / cover_name, folder / thumbnail_name(cover_name), *variants]


def remove_cover(folder: Path, cover_name: str) -> None:
    """Delete a cover no product uses any more, with its thumbnail and WebP sizes."""
    for path in cover_files(folder, cover_name):
        path.unlink(missing_ok=True)


def thumbnail_name(cover_name: str) -> str:
    """'slug-1a2b3c.jpg' -> 'slug-1a2b3c-thumb.jpg'."""
    path = Path(cover_name)
    return f"{path.stem}{_THUMBNAIL_SUFFIX}{path.suffix}"


def thumbnail_or_cover(folder: Path, cover_name: str | None) -> str | None:
    """The thumbnail when one was made (covers seeded by the demo have none), else the cover."""
    if cover_name and (folder / thumbnail_name(cover_name)).is_file():
        return thumbnail_name(cover_name)
    return cover_name


def open_cover(data: bytes) -> Image.Image:
    """The uploaded picture, decoded and upright, or CoverRejected saying what is wrong."""
    if len(data) > MAX_COVER_BYTES:
        raise CoverRejected(f"封面图片不能超过 {MAX_COVER_BYTES // (1024 * 1024)} MB")
    if not data:
        raise CoverRejected("封面图片是空文件")
    refused = CoverRejected("封面只支持 JPEG、PNG 或 WebP 图片")
    too_large = CoverRejected(
        f"封面图片太大了：最多 {MAX_COVER_PIXELS // 10_000} 万像素，请换一张小一些的图"
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ACCEPTED_FORMATS:
                raise refused
            width, height = image.size
            if width * height > MAX_COVER_PIXELS:
                raise too_large
            image.load()  # decodes now, so a truncated or corrupt file is refused here
    except CoverRejected:
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


def _rgb(image: Image.Image) -> Image.Image:
    """JPEG has no transparency: put see-through pictures on white, not on black."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def _jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, optimize=True, progressive=True)
    return buffer.getvalue()
