"""Cover images drawn locally with Pillow: a two-colour gradient, the kind, and the title.

Used by the demo (and by the studio later) so a shop looks finished without any image
from the internet. The title is drawn when a CJK font is installed; the page shows it
anyway, so the cover still works without one.
"""

import functools
import hashlib
import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from app.catalog import cover_variants

COVER_SIZE = (720, 405)  # 16:9, sharp on a 390 px phone at 2x
_CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
)


def draw_cover(title: str, label: str, colors: tuple[str, str]) -> bytes:
    width, height = COVER_SIZE
    start, end = (np.array(_rgb(c), dtype=np.float32) for c in colors)
    # Diagonal blend: t runs 0 -> 1 from the top-left corner to the bottom-right one.
    t = np.linspace(0, 0.6, width)[None, :] + np.linspace(0, 0.4, height)[:, None]
    rgb = start + (end - start) * t[..., None]
    image = Image.fromarray(rgb.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image, "RGBA")
    draw.ellipse((width - 260, -120, width + 120, 260), fill=(255, 255, 255, 40))
    draw.ellipse((-80, height - 140, 180, height + 120), fill=(255, 255, 255, 28))

    label_font, title_font = cjk_font(26), cjk_font(46)
    if label_font and title_font:
        draw.rounded_rectangle((40, 40, 40 + 30 * len(label) + 28, 86), 10, fill=(0, 0, 0, 70))
        draw.text((54, 44), label, font=label_font, fill="white")
        for i, line in enumerate(_wrap(title, 13)[:3]):
            draw.text((40, 150 + i * 62), line, font=title_font, fill="white")
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


@functools.lru_cache(maxsize=16)
def cjk_font(size: int) -> ImageFont.FreeTypeFont | None:
    """A font that has Chinese characters at `size` pixels, or None when none is installed
    (Pillow's own font has no Chinese; a shop's Docker image installs fonts-noto-cjk). Kept
    per size: opening a CJK font file costs milliseconds, and posters are drawn per view."""
    path = next((p for p in _CJK_FONTS if Path(p).exists()), None)
    return ImageFont.truetype(path, size) if path else None


def save_cover(folder: Path, slug: str, data: bytes) -> str:
    """Store under a content-hashed name, so the URL changes whenever the picture does, with
    the WebP sizes that pages offer."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{slug}-{hashlib.sha256(data).hexdigest()[:10]}.png"
    (folder / name).write_bytes(data)
    cover_variants.write_variants(folder, name)
    return name


def _wrap(text: str, width: int) -> list[str]:
    return [text[i : i + width] for i in range(0, len(text), width)]


def _rgb(color: str) -> tuple[int, int, int]:
    color = color.lstrip("#")
    return tuple(int(color[i : i + 2], 16) for i in (0, 2, 4))
