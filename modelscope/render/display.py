"""The renderers results use to show themselves (see :mod:`modelscope.model.display`)."""

from __future__ import annotations

from typing import Any

from modelscope.model.display import register
from modelscope.model.report import Report
from modelscope.render.dot import GraphOptions, render_dot
from modelscope.render.views import Shown, describe


def _dot(report: Report, **options: Any) -> str:
    return render_dot(report, GraphOptions(**options))


register("dot", _dot)
register("shown", Shown)
register("describe", describe)
