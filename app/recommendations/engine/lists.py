"""What a page does with a stored list: the per-request part, kept apart from the engine.

This module imports nothing heavy, so the web workers that look lists up never load numpy's
friends (scipy, numba, jieba) that build them.
"""

from __future__ import annotations

from collections.abc import Container, Sequence

PAD = -1  # pads a short list (app.recommendations.engine.topk writes them)


def pick_unowned(stored: Sequence[int], owned: Container[int], n: int) -> list[int]:
    """The first n stored item indices (best first, -1 padded) that the reader does not own.

    This is the per-request part. An item's related list is shared by all its readers, and a
    reader's own list may predate their latest purchase, so the shop stores more than it shows
    and drops owned items as it reads. Store plain lists of ints (`indices.tolist()`): iterating a
    numpy row costs more than the whole lookup.
    """
    picked: list[int] = []
    for item in stored:
        if item == PAD:
            break
        if item not in owned:
            picked.append(item)
            if len(picked) == n:
                break
    return picked
