"""Self-contained HTML pages: a title, a table of contents, sections, PNGs embedded as data URLs."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path

STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#222}"
    "nav{background:#f6f6f6;padding:.5em 1.5em;border-radius:6px}nav ol{margin:.3em 0}"
    "table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
    "th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}"
    "p.note{color:#555;font-size:.9em;max-width:60em;margin-top:0}"
    "table.grid td{text-align:center;vertical-align:middle}table.grid img{width:190px}"
    "figure{display:inline-block;margin:6px;vertical-align:top;text-align:center;font-size:.85em}"
    "img{max-width:100%;image-rendering:pixelated}img.plot{image-rendering:auto;max-width:900px}"
    "figure img{max-width:440px}table.grid th{text-align:center}"
    "section{margin-bottom:2em}"
)


@dataclass
class Section:
    key: str  # the anchor id
    title: str
    body: str  # HTML
    level: int = 2  # h2 sections are numbered in the contents, h3 ones nest under them


def embed_png(source: str | Path | bytes, alt: str, css: str = "") -> str:
    """An <img> whose PNG travels inside the page."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    encoded = base64.b64encode(data).decode("ascii")
    klass = f' class="{css}"' if css else ""
    return f'<img{klass} src="data:image/png;base64,{encoded}" alt="{html.escape(alt)}">'


def figure(img_html: str, caption: str) -> str:
    return f"<figure>{img_html}<figcaption>{html.escape(caption)}</figcaption></figure>"


def page(title: str, sections: list[Section], intro: str = "") -> str:
    """The full document: title, an intro paragraph, the contents, then every section."""
    items, open_sub = [], False
    for s in sections:
        link = f'<a href="#{s.key}">{_text(s.title)}</a>'
        if s.level > 2 and not open_sub:
            items.append("<ol>")
            open_sub = True
        elif s.level <= 2 and open_sub:
            items.append("</ol>")
            open_sub = False
        items.append(f"<li>{link}</li>")
    if open_sub:
        items.append("</ol>")
    contents = f"<nav><strong>Contents</strong><ol>{''.join(items)}</ol></nav>"
    body = "".join(
        f'<section id="{s.key}"><h{s.level}>{_text(s.title)}</h{s.level}>{s.body}</section>'
        for s in sections
    )
    intro_html = f"<p>{intro}</p>" if intro else ""
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<link rel='icon' href='data:,'><style>{STYLE}</style></head><body><h1>{_text(title)}</h1>"
        f"{intro_html}{contents}{body}</body></html>"
    )


def _text(text: str) -> str:
    """Escaped for element text (quotes stay as they are: they need no escaping there)."""
    return html.escape(text, quote=False)
