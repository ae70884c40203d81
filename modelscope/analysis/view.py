"""A report seen down to a depth: which layers show, and how data flows between them (pure).

Renderers share this: the table's "connected to" column and the graph's edges are the same
data flow, folded so that anything deeper than ``depth`` counts as its visible ancestor.
:class:`modelscope.analysis.fold.FoldedView` also shows runs of identical blocks as one row.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from modelscope.model.paths import automatic_base
from modelscope.model.report import LayerInfo, Report

NO_NAME = "(no name)"  # Keras allows name='' (TensorFlow's custom-layers tutorial uses it)


def display_name(layer: LayerInfo) -> str:
    """The last part of the layer's stable path, with the Keras name after it when the user
    chose that name and it differs (``encoder (my_encoder)``); names Keras made up are left out,
    so a table does not depend on what else the process built."""
    part = layer.path.rpartition("/")[2] or NO_NAME
    if layer.name and layer.name != part and automatic_base(layer.name, layer.cls) is None:
        return f"{part} ({layer.name})"
    return part


@dataclass(frozen=True)
class View:
    report: Report
    depth: int | None = None

    @property
    def layers(self) -> list[LayerInfo]:
        """The layers shown, parents first."""
        return list(self.report.walk(self.depth))

    def children(self, path: str | None) -> list[LayerInfo]:
        """The shown children of ``path`` (``None``: the model's own)."""
        return self.report.children(path)

    def label(self, layer: LayerInfo) -> str:
        """The name a shown layer's row or box carries."""
        return display_name(layer)

    def times(self, path: str) -> int:
        """How many identical blocks the row of ``path`` stands for (see ``fold.py``)."""
        return 1

    @property
    def folded(self) -> bool:
        """Whether some row stands for several identical blocks."""
        return False

    def flow(self) -> Iterator[tuple[str, str]]:
        """``(src, dst)`` of the edges between layers, as this view draws them (for the table:
        a source is named as the row or block it comes from)."""
        return ((e.src, e.dst) for e in self.report.edges)

    def feeds(self) -> Iterator[tuple[str, str]]:
        """``(input name, consumer)`` for each layer a model input feeds."""
        return ((item.name, consumer) for item in self.report.inputs for consumer in item.consumers)

    def graph_end(self, path: str) -> str:
        """The layer whose box draws an edge end at ``path`` (the graph draws shown layers only)."""
        return path

    def graph_edge(self, src: str, dst: str) -> tuple[str, str] | None:
        """An edge's ends as the graph draws them; None when it is not drawn."""
        return src, dst

    def visible(self, path: str) -> str:
        """The visible layer standing for ``path`` (itself, or its ancestor at ``depth``)."""
        if self.depth is None:
            return path
        return "/".join(path.split("/")[: self.depth])

    def expanded(self, path: str) -> bool:
        """Whether ``path`` shows its children (so edges go to them, not to it)."""
        layer = self.report.layer(path)
        return (self.depth is None or layer.depth < self.depth) and bool(self.report.children(path))

    def _is_within(self, path: str, ancestor: str) -> bool:
        return path == ancestor or path.startswith(ancestor + "/")

    def sources(self) -> dict[str, list[str]]:
        """For each visible, non-expanded layer: what feeds it (layer paths or ``input:NAME``).

        Edges inside a folded layer are dropped; edges into an expanded layer are carried by
        its children.
        """
        result: dict[str, list[str]] = {}

        def add(src: str, dst_path: str, loop: bool = False) -> None:
            dst = self.visible(dst_path)
            inside = not src.startswith("input:") and self._is_within(src, dst)
            if self.expanded(dst) or (inside and not loop):
                return
            bucket = result.setdefault(dst, [])
            if src not in bucket:
                bucket.append(src)

        for src_path, dst_path in self.flow():
            src, dst = self.visible(src_path), self.visible(dst_path)
            loop = src_path == dst_path  # a layer applied to its own output, kept
            if loop or not self._is_within(dst, src):  # not inside one folded layer
                add(src, dst_path, loop)
        for name, consumer in self.feeds():
            add(f"input:{name}", consumer)
        return result

    def is_chain(self) -> bool:
        """True when data flows in one line: one input, one output, no branches or merges."""
        if len(self.report.inputs) != 1 or len(self.report.outputs) != 1:
            return False
        sources = self.sources()
        if any(len(s) > 1 for s in sources.values()):
            return False
        fan_out: dict[str, int] = {}
        for srcs in sources.values():
            for s in srcs:
                fan_out[s] = fan_out.get(s, 0) + 1
        return all(n <= 1 for n in fan_out.values())
