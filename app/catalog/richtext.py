"""Creator Markdown to safe HTML, and the free-preview split.

Markdown is rendered with markdown-it (CommonMark, raw HTML off) and the result is passed
through nh3's allow-list anyway: what reaches a page can hold no script, no event handler
and no javascript: URL, whatever a creator pastes.
"""

import re

import nh3
from markdown_it import MarkdownIt

PREVIEW_MARKER = "<!--more-->"
# The marker on a line of its own, with any spacing inside the comment: <!-- more -->.
_MARKER_LINE = re.compile(r"^[ \t]*<!--\s*more\s*-->[ \t]*$", re.MULTILINE | re.IGNORECASE)

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_markdown.enable(["table", "strikethrough"])

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table",
    "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "code": {"class"},
    "th": {"style"},
    "td": {"style"},
}


def render_markdown(text: str) -> str:
    html = _markdown.render(text or "")
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        filter_style_properties={"text-align"},
    )


def split_at_marker(text: str) -> tuple[str, str] | None:
    """(before, after) the preview marker, or None when the text has no marker."""
    match = _MARKER_LINE.search(text or "")
    if match is None:
        return None
    return text[: match.start()], text[match.end() :]


def strip_marker(text: str) -> str:
    return _MARKER_LINE.sub("", text or "")
