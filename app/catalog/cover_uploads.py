"""Covers the creator uploads, or draws: checked, cropped to 16:9, stored with a thumbnail.

An upload is checked and re-encoded as every uploaded picture is (app/pictures.py) and stored
as a JPEG under a content-hashed name, so a new picture gets a new URL and browsers may keep
covers for a year. The thumbnail (for the studio's list) and the WebP sizes the pages offer
(cover_variants) sit beside it, named after it.
"""

import hashlib
import io
import random
from pathlib import Path

from PIL import Image, ImageOps

from app import pictures
from app.catalog import cover_variants, covers

MAX_COVER_BYTES = 5 * 1024 * 1024
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


def store_cover(folder: Path, slug: str, image: Image.Image) -> str:
    """Crop a picture (from open_cover) to the cover size and store it; its file name."""
    cover = ImageOps.fit(pictures.flat_rgb(image), covers.COVER_SIZE, Image.Resampling.LANCZOS)
    data = pictures.jpeg(cover, quality=85)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{slug}-{hashlib.sha256(data).hexdigest()[:10]}.jpg"
    (folder / name).write_bytes(data)
    thumbnail = cover.resize(THUMBNAIL_SIZE, Image.Resampling.LANCZOS)
    (folder / thumbnail_name(name)).write_bytes(pictures.jpeg(thumbnail, quality=80))
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
    """The uploaded picture, decoded and upright, or pictures.PictureRejected saying why not."""
    return pictures.open_upload(data, MAX_COVER_BYTES, "封面")
