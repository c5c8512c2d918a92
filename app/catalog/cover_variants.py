"""The WebP sizes of a cover, which pages offer in srcset: what a phone actually downloads.

A stored cover ('slug-1a2b3c4d5e.jpg', 720×405, JPEG or the demo's PNG) stays as it is: it is
the og:image that WeChat's share card fetches, and the `src` fallback. Beside it sit WebP
copies at the widths in VARIANT_WIDTHS, named after it ('slug-1a2b3c4d5e-360.webp'), so the
names need no column in the database and carry the cover's content hash: a new picture gets
new variant URLs, and browsers keep them for a year.

Variants are written when a cover is stored (upload, drawn cover, demo), by
`flask shop covers` for covers stored before they existed, and, as a safety net, on the
first request for a missing one (`ensure_variant`). Writing is atomic (a temporary file, then
a rename), so two workers making the same variant at once both leave a whole file.

Widths (the `sizes` in templates/_macros.html): a card's cover is 128 CSS px wide on a
390 px phone and 339 px in the desktop's three columns; a product page's cover is the phone's
width less the margins (358 px) or 760 px on a desktop; the 已购 and order lists show 112 px.
So 240 w serves the small ones at 2x, 360 w a phone's card at 3x (Chromium takes the smaller
candidate while the pair's geometric mean is above the device's pixel ratio: 384 device px
still pick 360 w), and 720 w the product pages and desktop cards.

AVIF was tried (this Pillow writes it): about a third smaller than WebP on the demo covers,
but 5 to 10 times slower to encode (a quarter of a second for 720 w), and offering it beside
WebP needs a <picture> element around every cover. WebP alone meets the page budget.
"""

import io
import re
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from app.pictures import atomic_write

VARIANT_WIDTHS = (240, 360, 720)
WEBP_QUALITY = 80
WEBP_METHOD = 6  # slowest, smallest: about 30 ms for 720 w, paid once per cover
SOURCE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
# A stored cover's stem ends in its 10-digit content hash; the thumbnail's ('-thumb') does not,
# so a request cannot make sizes of thumbnails.
_VARIANT = re.compile(r"(?P<stem>[^/\\]+-[0-9a-f]{10})-(?P<width>\d+)\.webp")


def variant_name(cover_name: str, width: int) -> str:
    """'slug-1a2b3c.jpg', 360 -> 'slug-1a2b3c-360.webp'."""
    return f"{Path(cover_name).stem}-{width}.webp"


def variant_names(cover_name: str) -> list[str]:
    return [variant_name(cover_name, width) for width in VARIANT_WIDTHS]


def write_variants(folder: Path, cover_name: str, image: Image.Image | None = None) -> list[str]:
    """Write every variant of a stored cover (from `image` when the caller has it decoded);
    the names written."""
    if image is None:
        with Image.open(folder / cover_name) as stored:
            return write_variants(folder, cover_name, stored.convert("RGB"))
    return [_write(folder, cover_name, width, image) for width in VARIANT_WIDTHS]


def ensure_variant(folder: Path, requested: str) -> bool:
    """Make a missing variant from its cover when `requested` names one; True if it exists now.

    Only the names `variant_name` makes, for a width in VARIANT_WIDTHS and a cover stored in
    `folder`, are made: any other name is refused without touching the disk beyond a stat.
    """
    if not _plain_name(requested):
        return False
    if (folder / requested).is_file():
        return True
    found = _VARIANT.fullmatch(requested)
    if found is None or int(found["width"]) not in VARIANT_WIDTHS:
        return False
    source = _source_of(folder, found["stem"])
    if source is None:
        return False
    with Image.open(source) as stored:
        _write(folder, source.name, int(found["width"]), stored.convert("RGB"))
    return True


@dataclass
class Backfill:
    covers: int = 0  # covers looked at
    written: int = 0  # variant files written
    complete: int = 0  # covers that had every variant already
    missing: list[str] | None = None  # covers whose file is gone: nothing to make them from


def backfill(folder: Path, cover_names) -> Backfill:
    """Write the variants the given covers lack; running it again writes nothing."""
    report = Backfill(missing=[])
    for cover_name in sorted(set(cover_names)):
        report.covers += 1
        lacking = [
            w for w in VARIANT_WIDTHS if not (folder / variant_name(cover_name, w)).is_file()
        ]
        if not lacking:
            report.complete += 1
            continue
        if not (folder / cover_name).is_file():
            report.missing.append(cover_name)
            continue
        with Image.open(folder / cover_name) as stored:
            picture = stored.convert("RGB")
        for width in lacking:
            _write(folder, cover_name, width, picture)
            report.written += 1
    return report


def _write(folder: Path, cover_name: str, width: int, image: Image.Image) -> str:
    name = variant_name(cover_name, width)
    height = max(1, int(image.height * width / image.width + 0.5))
    resized = image
    if image.width != width:
        resized = image.resize((width, height), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    resized.save(buffer, "WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
    atomic_write(folder / name, buffer.getvalue())
    return name


def _source_of(folder: Path, stem: str) -> Path | None:
    for suffix in SOURCE_SUFFIXES:
        candidate = folder / f"{stem}{suffix}"
        if _plain_name(candidate.name) and candidate.is_file():
            return candidate
    return None


def _plain_name(name: str) -> bool:
    """A file name in the folder itself: no separator, not hidden, not '..'."""
    return bool(name) and "/" not in name and "\\" not in name and not name.startswith(".")
