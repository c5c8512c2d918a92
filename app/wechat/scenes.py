"""A poster's 带参数二维码 scene (its scene_str, at most 64 characters): the item shown and
the sharer, as `i<item id>-<sharer code>`, or `i<item id>` for a reader without a code yet.
The code is checked where it is credited (app/readers/sharer_codes.py), not here.
"""

import re
from dataclasses import dataclass

_SCENE = re.compile(r"i([0-9]{1,12})(?:-(.+))?")


@dataclass(frozen=True)
class Scene:
    """What a poster's QR code says: the item shown and the sharer code."""

    product_id: int
    code: str | None = None

    def __str__(self) -> str:
        return f"i{self.product_id}-{self.code}" if self.code else f"i{self.product_id}"


def parse_scene(text: str | None) -> Scene | None:
    match = _SCENE.fullmatch(text or "")
    if match is None:
        return None
    return Scene(int(match.group(1)), match.group(2))
