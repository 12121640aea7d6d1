"""The page around the sections: HTML building blocks, the style sheet and the script.

Every piece of text goes through :func:`esc` on its way in; the functions here
take text and return HTML, or take HTML (named ``*_html``) and wrap it. The page
is one file: its style and script are inline and its pictures are data: URIs,
so it opens anywhere, offline, from a mail attachment as well as from the run.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from typing import Any

from gankit import __version__


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def number(value: Any) -> str:
    """A value as a table shows it: 4 significant digits, thousands without exponent, YAML's null/true."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    if value == "":
        return '""'
    return str(value)


def note(text: str) -> str:
    """A one-line message in place of a part that is missing."""
    return f'<p class="note">{esc(text)}</p>'


def table(head: Sequence[str], rows: Sequence[Sequence[str]], cls: str = "") -> str:
    """A table from header text and rows of cell HTML (escape cell text with esc first)."""
    th = "".join(f"<th>{esc(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table class="{esc(cls)}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def image(uri: str, alt: str, cls: str = "", ident: str = "") -> str:
    attrs = f' class="{esc(cls)}"' if cls else ""
    attrs += f' id="{esc(ident)}"' if ident else ""
    return f'<img src="{esc(uri)}" alt="{esc(alt)}"{attrs}>'


def figure(body_html: str, caption_html: str) -> str:
    return f"<figure>{body_html}<figcaption>{caption_html}</figcaption></figure>"


def section(title: str, body_html: str, ident: str = "", cls: str = "card") -> str:
    anchor = f' id="{esc(ident)}"' if ident else ""
    return f'<section class="{esc(cls)}"{anchor}><h2>{esc(title)}</h2>{body_html}</section>'


def facts(pairs: Sequence[tuple[str, str]]) -> str:
    """Key facts as a grid of small labels over values (both plain text)."""
    items = "".join(f"<div><dt>{esc(k)}</dt><dd>{esc(v)}</dd></div>" for k, v in pairs)
    return f'<dl class="facts">{items}</dl>'


def slider(frames: Sequence[tuple[int, str]], ident: str, pixelated: bool) -> str:
    """The epoch pictures behind a range input: frames are (epoch, data URI); the last is shown
    first (and alone, without the script)."""
    last_epoch, last_uri = frames[-1]
    data = json.dumps([{"epoch": e, "src": uri} for e, uri in frames]).replace("</", "<\\/")
    cls = "grid" if pixelated else "plot-picture"
    return (
        f'<div class="epochs" id="{esc(ident)}">'
        + image(last_uri, f"samples after epoch {last_epoch}", cls, ident=f"{ident}-img")
        + '<div class="controls"><button type="button" class="play">play</button>'
        f'<input type="range" min="0" max="{len(frames) - 1}" value="{len(frames) - 1}" step="1" '
        f'aria-label="epoch" id="{esc(ident)}-slider">'
        f'<span class="epoch-label" id="{esc(ident)}-label" aria-live="polite">'
        f"epoch {last_epoch} of {last_epoch}</span></div>"
        f'<script type="application/json" class="frames">{data}</script></div>'
    )


def document(title: str, body_html: str, generated: str) -> str:
    """The whole page: head with the inline style, the body, a footer, the inline script."""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="icon" href="data:,"><title>{esc(title)}</title><style>{STYLE}</style></head>\n'
        f"<body><main>{body_html}"
        f'<footer>Written by gankit {esc(__version__)} on {esc(generated)}.</footer></main>'
        f"<script>{SCRIPT}</script></body></html>\n"
    )


STYLE = """
:root { --fg: #1f2328; --muted: #656d76; --line: #d8dee4; --bg: #f6f8fa; --accent: #0969da; --mark: #fff8c5; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1160px; margin: 0 auto; padding: 20px 24px 40px; }
h1 { font-size: 26px; margin: 4px 0 2px; }
h2 { font-size: 18px; margin: 0 0 12px; }
h3 { font-size: 15px; margin: 18px 0 8px; }
a { color: var(--accent); }
.subtitle { color: var(--muted); margin: 0 0 14px; overflow-wrap: anywhere; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 16px 20px; margin: 16px 0; }
.hero h1 { margin: 0 0 2px; }
section + .hero { margin-top: 44px; border-top: 4px solid var(--accent); }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 10px 22px; margin: 0; }
.facts dt { color: var(--muted); font-size: 11px; text-transform: uppercase; letter-spacing: .05em; }
.facts dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
.pictures { display: flex; flex-wrap: wrap; gap: 28px; align-items: flex-start; }
figure { margin: 0; max-width: 100%; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 6px; max-width: 520px; }
img { max-width: 100%; height: auto; display: block; }
img.grid { image-rendering: pixelated; border-radius: 4px; background: #000; }
img.plot-picture { border: 1px solid var(--line); border-radius: 4px; }
.compare img { width: 320px; image-rendering: auto; }  /* thumbnails: smooth, three a row */
.controls { display: flex; align-items: center; gap: 10px; margin-top: 8px; }
.controls input { flex: 1; min-width: 120px; accent-color: var(--accent); }
.controls button { font: inherit; font-size: 13px; padding: 2px 12px; border: 1px solid var(--line);
  border-radius: 6px; background: var(--bg); cursor: pointer; }
.epoch-label { font-variant-numeric: tabular-nums; font-size: 13px; min-width: 110px; text-align: right; }
table { border-collapse: collapse; font-size: 14px; margin: 4px 0 8px; }
th, td { padding: 4px 12px 4px 0; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
tr.changed td { background: var(--mark); }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
.note { color: var(--muted); font-style: italic; margin: 4px 0; }
.small { color: var(--muted); font-size: 13px; }
details > summary { cursor: pointer; color: var(--accent); margin: 4px 0; }
footer { color: var(--muted); font-size: 12px; margin-top: 28px; }
"""

SCRIPT = """
document.querySelectorAll(".epochs").forEach(function (box) {
  var frames = JSON.parse(box.querySelector("script.frames").textContent);
  var img = box.querySelector("img"), slider = box.querySelector("input[type=range]");
  var label = box.querySelector(".epoch-label"), play = box.querySelector("button.play"), timer = null;
  var last = frames[frames.length - 1].epoch;
  function show() {
    var frame = frames[Number(slider.value)];
    img.src = frame.src;
    img.alt = "samples after epoch " + frame.epoch;
    label.textContent = "epoch " + frame.epoch + " of " + last;
  }
  function stop() { clearInterval(timer); timer = null; play.textContent = "play"; }
  slider.addEventListener("input", function () { if (timer) { stop(); } show(); });
  play.addEventListener("click", function () {
    if (timer) { stop(); return; }
    if (Number(slider.value) === frames.length - 1) { slider.value = 0; show(); }
    play.textContent = "pause";
    timer = setInterval(function () {
      if (Number(slider.value) >= frames.length - 1) { stop(); return; }
      slider.value = Number(slider.value) + 1;
      show();
    }, 350);
  });
});
"""
