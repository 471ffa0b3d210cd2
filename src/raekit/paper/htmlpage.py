"""Self-contained HTML pages: a title, a table of contents, sections, PNGs embedded as data URLs."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path

STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1400px;padding:0 1em;color:#222;"
    "overflow-wrap:anywhere}"
    "nav{background:#f6f6f6;padding:.5em 1.5em;border-radius:6px}nav ol{margin:.3em 0}"
    "table{border-collapse:collapse;margin:.6em 0;display:block;max-width:100%;overflow-x:auto}"
    "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right;overflow-wrap:normal}"
    "th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}"
    "p.note{color:#555;font-size:.9em;max-width:60em;margin-top:0}"
    # Fig. 4: the columns share the page's width; a click (or Tab) on a cell enlarges it.
    "table.grid{display:table;width:100%;table-layout:fixed}table.grid th:first-child{width:5.5em}"
    "table.grid td{text-align:center;vertical-align:middle;padding:2px}"
    "table.grid img{width:100%;max-width:340px;cursor:zoom-in}"
    "img.zoom:focus{position:fixed;inset:0;margin:auto;width:min(96vw,96vh);max-width:none;"
    "height:auto;z-index:10;cursor:zoom-out;box-shadow:0 0 0 100vmax rgba(0,0,0,.6);outline:none}"
    "figure{display:inline-block;margin:6px;vertical-align:top;text-align:center;font-size:.85em;"
    "max-width:100%}"
    "img{max-width:100%;image-rendering:pixelated}img.plot{image-rendering:auto;max-width:min(900px,100%)}"
    "figure img{max-width:min(440px,100%)}table.grid th{text-align:center}"
    "section{margin-bottom:2em}"
)


@dataclass
class Section:
    key: str  # the anchor id
    title: str
    body: str  # HTML
    level: int = 2  # h2 sections are numbered in the contents, h3 ones nest under them


def embed_png(source: str | Path | bytes, alt: str, css: str = "", zoom: bool = False) -> str:
    """An <img> whose PNG travels inside the page; `zoom`: a click enlarges it to the window
    (it takes the focus; a click elsewhere or Tab shrinks it back), no script needed."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    encoded = base64.b64encode(data).decode("ascii")
    classes = " ".join(c for c in (css, "zoom" if zoom else "") if c)
    klass = f' class="{classes}"' if classes else ""
    focus = ' tabindex="0" title="click to enlarge"' if zoom else ""
    return f'<img{klass}{focus} src="data:image/png;base64,{encoded}" alt="{html.escape(alt)}">'


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
