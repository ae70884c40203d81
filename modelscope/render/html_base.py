"""What the HTML renderers share: one style sheet, escaping, styled text, grid tables (pure).

The HTML is meant for notebook front ends (JupyterLab, classic Notebook, VS Code, Colab), which
show ``_repr_html_`` output inside their own page, in light and dark themes:

* Self-contained: no JavaScript, no external assets, no web fonts. One ``<style>`` block, every
  rule scoped under the root class ``modelscope`` (as pandas scopes a DataFrame's), and the same
  for every output, so many outputs on one page never disagree. What differs between outputs (the
  column widths) is an inline custom property on the table (``style="--c:…"``), never a rule.
* Theme-neutral: text colour is inherited; lines and tints are translucent, or JupyterLab's own
  variables with translucent fallbacks; the few accent colours are mid-tones legible on white and
  on near-black.
* Tables are CSS grid rows, not ``<table>``: a collapsible container is a ``<details open>`` whose
  ``<summary>`` is its own row, and ``<details>`` cannot live inside a table. Every row of a table
  is a grid with the same ``grid-template-columns`` (in ``ch`` of the monospaced font, from the
  longest cell of each column), so the columns line up across nesting levels. Grid rows also
  escape the table styles notebooks apply to every ``<table>`` (stripes, centring, black text).
* Readable without the style sheet too (sanitising viewers such as GitHub's drop ``<style>``):
  cells are separated by a space, which a grid ignores, and ``<details>`` folds natively.
* Every string from a result goes through :func:`esc` after :func:`~modelscope.render.safe.printable`.
"""

from __future__ import annotations

import html
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text

ROOT = "modelscope"

# Style names used by the rich renderers -> the short classes below (unknown names are ignored).
_CLASSES = {"bold": "b", "italic": "i", "dim": "m", "cyan": "t", "yellow": "w", "red": "x", "green": "ok"}

_CSS = """\
.modelscope{font-family:var(--jp-code-font-family,ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",\
monospace);font-size:var(--jp-code-font-size,12px);line-height:1.45;color:inherit;background:transparent;\
text-align:left;overflow-x:auto;font-variant-numeric:tabular-nums}
.modelscope .hd{margin:0 0 .4em}
.modelscope .p{margin:.4em 0;white-space:pre-wrap}
.modelscope .tb{width:max-content;margin:0 0 .4em}
.modelscope .r{display:grid;grid-template-columns:var(--c);column-gap:2ch;padding:0 .5ch;\
border-bottom:1px solid rgba(128,128,128,.12)}
.modelscope .r:hover{box-shadow:inset 0 0 0 100vmax rgba(128,128,128,.1)}
.modelscope .hr{font-weight:bold;border-bottom:1px solid var(--jp-border-color1,rgba(128,128,128,.5))}
.modelscope .r>span{min-width:0;overflow-wrap:anywhere}
.modelscope .r>.u{text-align:right;white-space:nowrap}
.modelscope details{margin:0;padding:0}
.modelscope summary{list-style:none;cursor:pointer}
.modelscope summary::-webkit-details-marker{display:none}
.modelscope summary::marker{content:""}
.modelscope summary:focus-visible{outline:1px dotted currentColor}
.modelscope .tr .n::before{content:"";display:inline-block;width:2ch}
.modelscope .tr summary>.n::before{content:"\\25B8"}
.modelscope .tr details[open]>summary>.n::before{content:"\\25BE"}
.modelscope .g{padding:.3em .5ch 0;border-bottom:1px solid rgba(128,128,128,.12)}
.modelscope .ft{margin-top:.6em}
.modelscope .ft>div{white-space:pre-wrap}
.modelscope .b{font-weight:bold}
.modelscope .i{font-style:italic}
.modelscope .m{opacity:.62}
.modelscope .t{color:#2b8fa0}
.modelscope .w{color:#c27c0e}
.modelscope .x{color:#d43c3c}
.modelscope .ok{color:#3b9a4c}
.modelscope .ad{background-color:rgba(46,160,67,.18)}
.modelscope .rm{background-color:rgba(218,54,51,.18)}
.modelscope .cg{background-color:rgba(212,160,23,.24)}
.modelscope .fl{background-color:rgba(218,54,51,.14)}
.modelscope .in{padding-left:2ch}
.modelscope .mk{font-weight:bold;text-align:center}
.modelscope svg.h{width:80px;height:16px;max-width:none;vertical-align:middle;\
box-shadow:inset 0 -1px rgba(128,128,128,.45)}
"""


def esc(text: str) -> str:
    """``text`` safe in HTML content and in quoted attribute values."""
    return html.escape(text, quote=True)


def classes(style: str) -> list[str]:
    """The CSS classes for a rich style string (``"bold yellow"`` -> ``["b", "w"]``)."""
    return list(dict.fromkeys(c for word in style.split() if (c := _CLASSES.get(word))))


def _span(text: str, names: Sequence[str]) -> str:
    body = esc(text).replace("\n", "<br>")
    return f'<span class="{" ".join(names)}">{body}</span>' if names else body


def text_html(text: Text) -> str:
    """A rich ``Text`` as escaped HTML, its styles as classes, line breaks as ``<br>``."""
    plain = text.plain
    base = str(text.style or "")
    spans = [s for s in text.spans if s.end > s.start]
    if not spans:
        return _span(plain, classes(base)) if plain else ""
    cuts = sorted({0, len(plain), *(s.start for s in spans), *(s.end for s in spans)})
    parts = []
    for a, b in zip(cuts, cuts[1:]):
        if a < b:
            style = " ".join([base, *(str(s.style) for s in spans if s.start <= a and s.end >= b)])
            parts.append(_span(plain[a:b], classes(style)))
    return "".join(parts)


def text_lines(text: Text) -> list[str]:
    """Each line of a multi-line rich ``Text`` (such as a footer) as HTML; no trailing empty line."""
    lines = text.split("\n")
    return [text_html(line) for line in lines]


def width(text: str) -> int:
    """Terminal cells of the widest line of ``text``: its width in ``ch`` of a monospaced font."""
    return max((cell_len(line) for line in text.split("\n")), default=0)


@dataclass(frozen=True)
class Column:
    name: str
    numeric: bool = False  # right-aligned, never wraps
    cap: int | None = None  # widest it gets in ch; longer text wraps
    size: str | None = None  # a fixed width (``80px``) instead of the widest cell's


def cell(content: Text | str, numeric: bool = False, extra: str = "") -> str:
    """One grid cell: ``<span>`` holding escaped (styled) text."""
    text = content if isinstance(content, Text) else Text(content)
    names = (["u"] if numeric else []) + ([extra] if extra else [])
    spans = [s for s in text.spans if s.end > s.start]
    whole = not spans or (len(spans) == 1 and spans[0].start == 0 and spans[0].end >= len(text.plain))
    if whole:  # one style for the whole cell: its classes go on the cell itself
        names += classes(" ".join([str(text.style or ""), *(str(s.style) for s in spans)]))
        body = esc(text.plain).replace("\n", "<br>")
    else:
        body = text_html(text)
    return f'<span class="{" ".join(names)}">{body}</span>' if names else f"<span>{body}</span>"


def template(cols: Sequence[Column], widths: Sequence[int]) -> str:
    """``grid-template-columns`` for the table: each column as wide as its widest cell (capped)."""
    sizes = []
    for col, w in zip(cols, widths):
        if col.size:
            sizes.append(col.size)
            continue
        w = max(w, width(col.name), 1)
        sizes.append(f"{min(w, col.cap) if col.cap else w}ch")
    return " ".join(sizes)


def header_row(cols: Sequence[Column]) -> str:
    return '<div class="r hr">' + " ".join(cell(c.name, c.numeric) for c in cols) + "</div>"


def table(cols: Sequence[Column], widths: Sequence[int], body: str, kind: str = "") -> str:
    """A grid table: the header row then ``body`` (rows, and ``<details>`` holding rows)."""
    names = "tb" + (f" {kind}" if kind else "")
    return f'<div class="{names}" style="--c:{template(cols, widths)}">\n{header_row(cols)}\n{body}\n</div>'


def document(*parts: str, css: str = "") -> str:
    """The root element: the shared style sheet (plus ``css``, rules the output's content needs,
    the same for any output that needs them) and the parts."""
    return f'<div class="{ROOT}"><style>\n{_CSS}{css}</style>\n' + "\n".join(parts) + "\n</div>"


Row = tuple[int, dict[str, Text]]  # depth (1 = top level), cells by column


def tree_rows(cols: Sequence[str], rows: Sequence[Row], numeric: Collection[str]) -> str:
    """Rows listed parents-first as nested ``<details open>``: a row followed by a deeper one is a
    container, its ``<summary>`` the row itself."""
    out: list[str] = []
    open_depths: list[int] = []
    for i, (depth, row) in enumerate(rows):
        while open_depths and open_depths[-1] >= depth:
            out.append("</details>")
            open_depths.pop()
        cells = " ".join(cell(row.get(c, Text("")), c in numeric, "n" if k == 0 else "") for k, c in enumerate(cols))
        if i + 1 < len(rows) and rows[i + 1][0] > depth:
            out.append(f'<details open><summary class="r d{depth}">{cells}</summary>')
            open_depths.append(depth)
        else:
            out.append(f'<div class="r d{depth}">{cells}</div>')
    out.extend("</details>" for _ in open_depths)
    return "\n".join(out)
