"""Fitting text tables and lines into a width (pure): columns laid out by hand, names never split.

A table too wide for the room is narrowed by *steps*, applied in the order a renderer gives until
it fits (see ``DROP_ORDER`` in :mod:`modelscope.render.table` and :mod:`modelscope.render.stats`):

* ``("drop", header, ...)`` leaves those columns out;
* ``("shorten", header)`` switches a column to its next, narrower form (shapes without spaces, ...);
* ``SQUEEZE`` narrows text columns down to their floor: each line keeps its tree guides and at least
  ``least`` cells, and a name that no longer fits is cut in its middle with one ``…``
  (``transformer_la…_11``), never wrapped;
* ``LAST_RESORT`` narrows every column but the numbers below the floors (tree guides included).

Numbers are never cut. A table with no room given keeps its natural layout. Lines outside the table
(titles, footers) wrap at spaces, never inside a word or number; see :func:`wrap`.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate

from rich.cells import cell_len
from rich.text import Text

from modelscope.render.fmt import GAP

ELLIPSIS = "…"
SQUEEZE = ("squeeze",)
LAST_RESORT = ("last resort",)
Step = tuple[str, ...]
_SEPARATORS = "_-./ ([:"  # a cut name keeps its last part from one of these (``…_11``) when it is short


@dataclass
class Column:
    header: str
    forms: list[list[Text]]  # the cells, one per row: the natural form first, then each narrower one
    numeric: bool = False  # right-aligned, never cut
    least: int | None = None  # text cut only to fit: cells each line keeps past its guides (None: last resort)
    keep: list[int] = field(default_factory=list)  # per row: leading cells (tree guides) a cut leaves alone


@dataclass
class Placed:
    """A column as laid out: its cells in the chosen form and its width."""

    column: Column
    cells: list[Text]
    width: int


def _lines(cell: Text) -> list[str]:
    return cell.plain.split("\n")


def _width(column: Column, cells: list[Text]) -> int:
    return max([cell_len(column.header), *(cell_len(line) for cell in cells for line in _lines(cell))])


def _floor(column: Column, cells: list[Text], natural: int, last_resort: bool) -> int:
    if column.numeric or (column.least is None and not last_resort):
        return natural
    if last_resort:
        return 1
    least = column.least or 0
    keeps = column.keep or [0] * len(cells)
    floor = cell_len(column.header)
    for cell, keep in zip(cells, keeps):
        for i, line in enumerate(_lines(cell)):
            floor = max(floor, min(cell_len(line), (keep if i == 0 else 0) + least))
    return min(floor, natural)


def total_width(widths: Sequence[int]) -> int:
    return sum(widths) + len(GAP) * (len(widths) - 1)


def _squeeze(widths: list[int], floors: list[int], room: int) -> None:
    """Narrow the columns with the most cells above their floor first, until the total fits ``room``."""
    excess = total_width(widths) - room
    while excess > 0:
        slack = sorted(((w - f, i) for i, (w, f) in enumerate(zip(widths, floors))), reverse=True)
        most, widest = slack[0]
        if most <= 0:
            return
        step = min(excess, max(most - (slack[1][0] if len(slack) > 1 else 0), 1))
        widths[widest] -= step
        excess -= step


def fit(columns: list[Column], room: int | None, steps: Sequence[Step] = ()) -> list[Placed]:
    """The columns that stay, in a form and at widths that fit ``room`` (see the module's steps)."""
    shown = list(columns)
    level = {c.header: 0 for c in columns}
    narrowing = ""  # "", then "squeeze", then "last resort"

    def cells(c: Column) -> list[Text]:
        return c.forms[min(level[c.header], len(c.forms) - 1)]

    measured: dict[tuple[str, int], int] = {}

    def natural(c: Column) -> int:
        key = (c.header, min(level[c.header], len(c.forms) - 1))
        if key not in measured:
            measured[key] = _width(c, cells(c))
        return measured[key]

    def widths() -> list[int]:
        naturals = [natural(c) for c in shown]
        if narrowing and room is not None:
            floors = [_floor(c, cells(c), n, narrowing == "last resort") for c, n in zip(shown, naturals)]
            _squeeze(naturals, floors, room)
        return naturals

    current = widths()
    for step in steps:
        if room is None or total_width(current) <= room:
            break
        kind, names = step[0], step[1:]
        if kind == "drop":
            shown = [c for c in shown if c.header not in names]
        elif kind == "shorten":
            level.update({n: level[n] + 1 for n in names if n in level})
        else:
            narrowing = kind
        current = widths()
    return [Placed(c, cells(c), w) for c, w in zip(shown, current)]


def _take(plain: str, cells: int, from_end: bool = False) -> int:
    """How many characters of ``plain`` (from its start, or its end) fill at most ``cells`` cells."""
    used = taken = 0
    for ch in reversed(plain) if from_end else plain:
        used += cell_len(ch)
        if used > cells:
            break
        taken += 1
    return taken


def truncate(text: Text, width: int, keep: int = 0) -> Text:
    """``text`` in at most ``width`` cells: its first ``keep`` cells (tree guides) kept, then a name
    followed by a Keras name in brackets loses the brackets, then the rest is cut in its middle with
    one ``…`` (``transformer_la…_11``: the start and the last part of a name). Guides that leave no
    room for a name lose their left part."""
    plain = text.plain
    if cell_len(plain) <= width:
        return text
    if width <= 0:
        return Text()
    guides = _take(plain, keep)
    aside = plain.find(" (", guides)
    if aside > guides and plain.endswith(")"):  # "name (keras_name)": the name alone first
        text, plain = text[:aside], plain[:aside]
        if cell_len(plain) <= width:
            return text
    first = guides - _take(plain[:guides], min(keep, max(width - 4, 0)), from_end=True)
    room = width - cell_len(plain[first:guides]) - 1
    head, tail = _split(plain[guides:], room)
    while head and plain[guides + head - 1] == ELLIPSIS:  # one … where the cut is (a folded row's [0…79])
        head -= 1
    out = text[first : guides + head]
    out.append(ELLIPSIS)
    if tail:
        out.append_text(text[len(plain) - tail :])
    return out


def _split(name: str, room: int) -> tuple[int, int]:
    """Characters kept from the start and from the end of ``name`` in ``room`` cells: the end is the
    name's last part (from its last ``_``, ``/``, ...) when that takes at most half, else a third."""
    cut = max(name.rfind(c) for c in _SEPARATORS)
    suffix = cell_len(name[cut:]) if cut > 0 else room
    tail = _take(name, suffix if suffix <= room // 2 else room // 3, from_end=True)
    return _take(name, room - cell_len(name[len(name) - tail :])), tail


def render_rows(placed: list[Placed]) -> tuple[Text, list[list[Text]]]:
    """The header line and each row's lines (a cell with several lines makes a row of several lines)."""

    def lines(cells: list[Text], keeps: Sequence[int]) -> list[Text]:
        split = []
        for cell, p, k in zip(cells, placed, keeps):
            parts = cell.split("\n", allow_blank=True) if "\n" in cell.plain else [cell]
            split.append([truncate(line, p.width, k if i == 0 else 0) for i, line in enumerate(parts)])
        out = []
        for n in range(max(len(s) for s in split)):
            # One Text appended to in place, the spaces between cells (padding, gaps) in one piece
            # each: no intermediate Text per cell (a large model's table has thousands of cells).
            line, spaces = Text(), ""
            for j, (s, p) in enumerate(zip(split, placed)):
                piece = s[n] if n < len(s) else Text("")
                pad = " " * max(p.width - cell_len(piece.plain), 0)
                spaces += GAP if j else ""
                if p.column.numeric:
                    line.append(spaces + pad).append(piece)
                    spaces = ""
                elif piece.style:
                    line.append(spaces).append_text(piece + pad)  # a styled cell's style runs under its padding
                    spaces = ""
                else:
                    line.append(spaces).append(piece)
                    spaces = pad
            line.append(spaces)
            line.rstrip()
            out.append(line)
        return out

    header = lines([Text(p.column.header, style="bold") for p in placed], [0] * len(placed))[0]
    rows = []
    for i in range(len(placed[0].cells) if placed else 0):
        keeps = [(p.column.keep[i] if p.column.keep else 0) for p in placed]
        rows.append(lines([p.cells[i] for p in placed], keeps))
    return header, rows


def rule(placed: list[Placed]) -> Text:
    return Text("─" * total_width([p.width for p in placed]), style="dim")


# -- lines outside the table ----------------------------------------------------------------------

_NUMBER = re.compile(r"[-+]?[\d.,]+")
_BRACKETS = {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}


def _breaks(plain: str) -> list[tuple[int, int]]:
    """Where a line may break (the index of a space) and how good a place it is (0 best): after a
    ``·`` or a double space, then any other space but those inside brackets or after a number."""
    out, depth = [], 0
    for i, ch in enumerate(plain):
        depth = max(depth + _BRACKETS.get(ch, 0), 0)
        if ch != " " or i == 0 or plain[i - 1] == " ":
            continue
        phrase = plain[i - 1] == "·" or plain[i + 1 : i + 2] == " "
        inner = depth or _NUMBER.fullmatch(plain[plain.rfind(" ", 0, i) + 1 : i])  # or after a number (its unit)
        out.append((i, 0 if phrase and not inner else 2 if inner else 1))
    return out


def wrap(text: Text, width: int | None, indent: int = 2) -> Text:
    """Each line of ``text`` folded into ``width`` cells at spaces, never inside a word or number
    (continuation lines indented by ``indent`` more); a word longer than a whole line is cut in its
    middle with ``…``. ``None``: unchanged."""
    if width is None:
        return text
    return Text("\n").join(
        [piece for line in text.split("\n", allow_blank=True) for piece in _wrap_line(line, width, indent)]
    )


def _wrap_line(line: Text, width: int, indent: int) -> list[Text]:
    plain = line.plain
    if cell_len(plain) <= width:
        return [line]
    cells = [0, *accumulate(cell_len(ch) for ch in plain)]  # cells[i]: the width of plain[:i]
    lead = len(plain) - len(plain.lstrip(" "))
    margin = " " * min(lead + indent, max(width // 2, 0))
    breaks = _breaks(plain)
    out: list[Text] = []
    start = 0
    while start < len(plain):
        prefix = margin if out else ""
        room = width - cell_len(prefix)
        if cells[-1] - cells[start] <= room:
            out.append(Text(prefix) + line[start:])
            break
        limit = bisect_right(cells, cells[start] + room) - 1  # the furthest end that fits
        fitting = breaks[bisect_right(breaks, (start, 9)) : bisect_right(breaks, (limit, 9))]
        end = _best_break([(i, q) for i, q in fitting if plain[start:i].strip()], room // 2, cells[start], cells)
        if end is None:  # one word longer than the line: cut in its middle
            found = plain.find(" ", start + 1)
            end = len(plain) if found < 0 else found
            out.append(Text(prefix) + truncate(line[start:end], room))
        else:
            out.append(Text(prefix) + line[start:end])
        start = end
        while start < len(plain) and plain[start] == " ":
            start += 1
    for piece in out:
        piece.rstrip()
    return out


def _best_break(fitting: list[tuple[int, int]], half: int, start: int, cells: list[int]) -> int | None:
    """The furthest break of the best quality that still fills half the line; else the furthest."""
    for quality in (0, 1, 2):
        good = [i for i, q in fitting if q <= quality and cells[i] - start >= half]
        if good:
            return max(good)
    return max((i for i, _ in fitting), default=None)
