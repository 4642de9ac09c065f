"""Message text → safe HTML: everything escaped, web links made clickable."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

# http(s) links and bare www. links; the scheme list is closed so javascript: never links.
URL_RE = re.compile(r"\b(?:https?://|www\.)[^\s<>\"'`]+", re.IGNORECASE)
TRAILING = ".,;:!?)]}'\""


def linkify(text: str) -> Markup:
    out: list[str] = []
    last = 0
    for match in URL_RE.finditer(text or ""):
        url = match.group(0)
        # A sentence's final punctuation is not part of the link (but keep balanced parens).
        while (
            url
            and url[-1] in TRAILING
            and not (url[-1] == ")" and url.count("(") >= url.count(")"))
        ):
            url = url[:-1]
        if not url or url.lower() in ("http://", "https://", "www."):
            continue
        start, end = match.start(), match.start() + len(url)
        out.append(str(escape(text[last:start])))
        href = url if url.lower().startswith("http") else "https://" + url
        out.append(
            f'<a href="{escape(href)}" rel="noopener noreferrer nofollow ugc" '
            f'target="_blank">{escape(url)}</a>'
        )
        last = end
    out.append(str(escape((text or "")[last:])))
    return Markup("".join(out))
