"""Substring search text, shared by the shop's search box and the studio's reader search."""

import unicodedata


def clean_query(text: str | None, max_chars: int) -> str:
    """A search box's text as searched and shown again: control characters count as spaces.

    A NUL (`?q=%00`) ends SQLite's LIKE pattern early, so "%<NUL>%" matched every row, and
    PostgreSQL refuses NUL in a string outright; nothing searched contains them.
    """
    cleaned = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text or "")
    return cleaned.strip()[:max_chars]


def contains_pattern(word: str) -> str:
    """A LIKE pattern (escape character backslash) matching `word` anywhere, taken literally."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
