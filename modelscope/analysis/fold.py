"""Identical repeated blocks shown once (pure): the 80 decoder blocks of a Llama as one row,
``transformer_layers[0…79] ×80``, in the table, the Markdown, the notebook HTML and the graph.

**The rule.** Only *blocks* fold: layers with sublayers. Leaves never do, so two identical Dense
layers in a row stay two rows. Two blocks are identical when they have the same class,
configuration (``LayerInfo.config``), parameter counts (total, trainable, non-trainable, bytes),
input and output shapes, number of calls, built state and cost (MACs, FLOPs, activation bytes),
and the same subtree beneath: children under the same relative path parts, identical in turn,
recursively. Names are not compared (``transformer_layer_0`` and ``transformer_layer_1`` are the
same block). Two or more identical blocks that are consecutive siblings (the same parent,
adjacent among its children in report order) form a *run*; the first block of the run stands for
it, and its subtree is shown once beneath it (where identical sub-blocks fold in turn). Models
known only from stored variables (nothing run) do not fold.

**What a folded row says.** Its name is the span of the run's path parts and the count,
``blocks[0…79] ×80`` when the parts count up one by one in a number (``first…last ×N``
otherwise, first and last in call order), then the span of the Keras names the user chose, if
any (``(decoder_0…79)``). Its figures (Params, Non-train., Calls, MACs, Act. memory, and those
of every row beneath it) are **per block**: those of the first block, equal in each. The
footer's totals stay the whole model's, every block counted, and a footer line says that rows
marked ×N are per block. JSON always lists every layer: folding is a view, the report never
changes. The graph's ``GraphOptions.unfold`` and the table's ``TableOptions.unfold`` (Markdown:
``unfold=``; HTML: the table's options) show every block.

**Data flow.** Edges between the blocks of one run (block i to block i+1) are not drawn; an edge
from outside into any block of the run goes into the first block (so the row shows everything
that feeds the run); an edge from a block of the run to a layer outside comes out of the block it
leaves: the table's *Connected to* names that block (``transformer_layers[79]``, the last block
for a plain stack), the graph draws it from the folded box or cluster, labelled ``×80``.

Signatures are computed once, bottom-up (the report lists parents before children), each subtree
interned as a small integer, so folding a report of thousands of layers takes linear time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from modelscope.analysis.view import NO_NAME, View, display_name
from modelscope.model.report import LayerInfo, Report


@dataclass(frozen=True)
class Run:
    """Identical consecutive blocks, shown as one row: ``blocks`` are their paths, in order."""

    blocks: tuple[str, ...]

    @property
    def first(self) -> str:
        return self.blocks[0]

    @property
    def last(self) -> str:
        return self.blocks[-1]

    @property
    def count(self) -> int:
        return len(self.blocks)


@dataclass(frozen=True)
class Folding:
    """Which layers show and which runs fold (see the module's docstring)."""

    layers: tuple[LayerInfo, ...]  # shown, parents first, down to the depth
    runs: dict[str, Run] = field(default_factory=dict)  # the first block's path -> its run
    blocks: dict[str, tuple[Run, int]] = field(default_factory=dict)  # every block of a run -> run, index

    def _hidden(self, prefix: str) -> Run | None:
        found = self.blocks.get(prefix)
        return found[0] if found is not None and found[1] > 0 else None

    def hidden_block(self, path: str) -> str | None:
        """The block folded away that ``path`` is in (or is), if any."""
        parts = path.split("/")
        for k in range(1, len(parts) + 1):
            prefix = "/".join(parts[:k])
            if self._hidden(prefix) is not None:
                return prefix
        return None

    def stand_in(self, path: str) -> str:
        """``path`` moved into the first block of every run it is in: ``blocks[7]/attn`` ->
        ``blocks[0]/attn`` (the same relative path in the block that is shown)."""
        parts = path.split("/")
        for k in range(1, len(parts) + 1):
            run = self._hidden("/".join(parts[:k]))
            if run is not None:
                parts[:k] = run.first.split("/")
        return "/".join(parts)

    def within_run(self, src: str, dst: str) -> bool:
        """Whether an edge stays inside one run: between two of its blocks, or inside a block
        folded away (the first block shows the same edges)."""
        a, b = src.split("/"), dst.split("/")
        for k in range(1, min(len(a), len(b)) + 1):
            p, q = "/".join(a[:k]), "/".join(b[:k])
            if p == q:
                if self._hidden(p) is not None:
                    return True
                continue
            found_p, found_q = self.blocks.get(p), self.blocks.get(q)
            return found_p is not None and found_q is not None and found_p[0] is found_q[0]
        return False


def signatures(report: Report) -> dict[str, int]:
    """Each layer's path -> an integer equal for identical subtrees (see the module's rule)."""
    interned: dict[tuple[Any, ...], int] = {}
    result: dict[str, int] = {}
    below: dict[str | None, list[tuple[str, int]]] = {}
    for layer in reversed(report.layers):  # children before parents
        children = tuple(reversed(below.pop(layer.path, [])))
        key = (
            layer.cls, json.dumps(layer.config, sort_keys=True, default=repr),
            layer.params, layer.trainable, layer.non_trainable, layer.bytes,
            layer.input_shapes, layer.output_shapes, layer.calls, layer.built,
            layer.macs, layer.flops, layer.activation_bytes, children,
        )  # fmt: skip
        result[layer.path] = interned.setdefault(key, len(interned))
        below.setdefault(layer.parent, []).append((layer.path.rpartition("/")[2], result[layer.path]))
    return result


def fold(report: Report, depth: int | None = None) -> Folding:
    """The layers shown down to ``depth`` with runs of identical blocks folded into their first."""
    if report.static:
        return Folding(tuple(report.walk(depth)))
    sig = signatures(report)
    runs: dict[str, Run] = {}
    blocks: dict[str, tuple[Run, int]] = {}

    def find_runs(parent: str | None) -> None:
        kids = report.children(parent)
        i = 0
        while i < len(kids):
            j = i + 1
            if report.children(kids[i].path):  # a block: leaves never fold
                while j < len(kids) and sig[kids[j].path] == sig[kids[i].path]:
                    j += 1
            if j - i >= 2:
                run = Run(tuple(k.path for k in kids[i:j]))
                runs[run.first] = run
                blocks.update((path, (run, n)) for n, path in enumerate(run.blocks))
            i = j

    find_runs(None)
    hidden: set[str] = set()
    shown = []
    for layer in report.walk(depth):
        if layer.parent in hidden or (layer.path in blocks and blocks[layer.path][1] > 0):
            hidden.add(layer.path)
            continue
        shown.append(layer)
        if depth is None or layer.depth < depth:
            find_runs(layer.path)
    return Folding(tuple(shown), runs, blocks)


def span(names: Sequence[str]) -> str:
    """``blocks[0]`` … ``blocks[79]`` -> ``blocks[0…79]`` when the names count up one by one in a
    number, all else equal; otherwise the first and the last joined by ``…``."""
    first, last = names[0], names[-1]
    if len(names) == 1 or first == last:
        return first
    i = 0
    while i < min(len(first), len(last)) and first[i] == last[i]:
        i += 1
    j = 0
    while j < min(len(first), len(last)) - i and first[-1 - j] == last[-1 - j]:
        j += 1
    while i > 0 and first[i - 1].isdecimal():  # whole numbers: blocks[10…19], not blocks[10…9]
        i -= 1
    while j > 0 and first[len(first) - j].isdecimal():
        j -= 1
    head, tail, a = first[:i], first[len(first) - j :], first[i : len(first) - j]
    if a.isascii() and a.isdecimal() and all(n == f"{head}{int(a) + k}{tail}" for k, n in enumerate(names)):
        return f"{head}{a}…{last[i : len(last) - j]}{tail}"
    return f"{first}…{last}"


def run_label(report: Report, run: Run) -> str:
    """``transformer_layers[0…79] ×80 (transformer_layer_0…79)``: the span of the paths' last parts,
    the count, and the span of the Keras names when the user chose them (as :func:`display_name`
    shows one)."""
    layers = [report.layer(path) for path in run.blocks]
    part = layers[0].path.rpartition("/")[2] or NO_NAME
    label = f"{span([l.path.rpartition('/')[2] or NO_NAME for l in layers])} ×{run.count}"
    if display_name(layers[0]) != part:
        label += f" ({span([l.name for l in layers])})"
    return label


@dataclass(frozen=True)
class FoldedView(View):
    """A :class:`View` with runs of identical blocks shown once (see the module's docstring)."""

    @cached_property
    def folding(self) -> Folding:
        return fold(self.report, self.depth)

    @property
    def layers(self) -> list[LayerInfo]:
        return list(self.folding.layers)

    def children(self, path: str | None) -> list[LayerInfo]:
        blocks = self.folding.blocks
        return [l for l in self.report.children(path) if l.path not in blocks or blocks[l.path][1] == 0]

    def label(self, layer: LayerInfo) -> str:
        run = self.folding.runs.get(layer.path)
        return display_name(layer) if run is None else run_label(self.report, run)

    def times(self, path: str) -> int:
        run = self.folding.runs.get(path)
        return 1 if run is None else run.count

    @property
    def folded(self) -> bool:
        return bool(self.folding.runs)

    def flow(self) -> Iterator[tuple[str, str]]:
        f = self.folding
        for src, dst in super().flow():
            if not f.within_run(src, dst):
                yield f.hidden_block(src) or src, f.stand_in(dst)

    def feeds(self) -> Iterator[tuple[str, str]]:
        return ((name, self.folding.stand_in(consumer)) for name, consumer in super().feeds())

    def graph_end(self, path: str) -> str:
        return self.folding.stand_in(path)

    def graph_edge(self, src: str, dst: str) -> tuple[str, str] | None:
        f = self.folding
        return None if f.within_run(src, dst) else (f.stand_in(src), f.stand_in(dst))


def make_view(report: Report, depth: int | None = None, unfold: bool = False) -> View:
    """The view renderers use: identical blocks folded unless ``unfold``."""
    return View(report, depth) if unfold else FoldedView(report, depth)
