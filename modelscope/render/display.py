"""The renderers a report uses to show itself (see :mod:`modelscope.model.display`)."""

from __future__ import annotations

from typing import Any

from modelscope.model.display import register
from modelscope.model.report import Report
from modelscope.render.dot import GraphOptions, render_dot
from modelscope.render.graphviz import render_graph


def _dot(report: Report, **options: Any) -> str:
    return render_dot(report, GraphOptions(**options))


def _svg(report: Report) -> str:
    return render_graph(render_dot(report), "svg").decode("utf-8")


register("dot", _dot)
register("svg", _svg)
