"""Showing untrusted text (note excerpts, coder reasons) inside Markdown without it being interpreted.

Note text can contain Markdown: an image link in a note rendered as Markdown would make the browser fetch
a remote URL, and ``$`` or ``*`` would garble the display. Every ASCII punctuation character is
backslash-escaped (CommonMark renders an escaped character literally), and raw HTML is entity-escaped.
"""

from __future__ import annotations

import html
import re

_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:$>])")


def md_escape(text: str) -> str:
    """``text`` as Markdown that renders exactly as the characters given, on one line."""
    escaped = html.escape(str(text), quote=False)  # &, <, > as entities: no raw HTML
    escaped = _PUNCTUATION.sub(r"\\\1", escaped)
    return " ".join(escaped.split())
