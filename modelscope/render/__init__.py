"""Renderers: pure functions of a result (and options) returning text or a rich ``Text``.

:func:`render` is the one dispatch from a result and an output format to what is written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from modelscope.errors import UsageError

if TYPE_CHECKING:
    from rich.text import Text

FORMATS = {"report": ("table", "json", "markdown"), "stats": ("table", "json", "csv"),
           "diff": ("table", "json", "markdown"), "profile": ("table", "json", "markdown")}  # fmt: skip


def render(result: Any, fmt: str, options: Any = None) -> str | Text:
    """``result`` (a Report, a StatsReport, a ProfileReport or a Comparison) in ``fmt``; ``options`` are the
    renderer's own (TableOptions, StatsOptions, ProfileOptions, or ``show_all`` for a comparison). A table is a
    rich ``Text`` (styled on a terminal, ``.plain`` elsewhere); the other formats are text."""
    views = _views(result, options)
    if fmt not in views:
        raise UsageError(f"--format {fmt}: not one of {', '.join(views)}")
    return views[fmt]()


def _views(result: Any, options: Any) -> dict[str, Callable[[], str | Text]]:
    """The formats ``result`` renders in. Each kind of result is imported only when the one before
    did not match: a report's table needs neither the stats nor the diff modules."""
    from modelscope.model.report import Report

    if isinstance(result, Report):
        from modelscope.render.markdown import render_markdown
        from modelscope.render.table import TableOptions, render_table

        table = options or TableOptions()
        return {"json": result.to_json,
                "markdown": lambda: render_markdown(result, table.depth, table.macs, table.unfold),
                "table": lambda: render_table(result, table)}  # fmt: skip
    from modelscope.analysis.stats import StatsReport

    if isinstance(result, StatsReport):
        from modelscope.render.stats import StatsOptions, render_stats_csv, render_stats_json, render_stats_table

        chosen = options or StatsOptions()
        return {"json": lambda: render_stats_json(result, chosen), "csv": lambda: render_stats_csv(result, chosen),
                "table": lambda: render_stats_table(result, chosen)}  # fmt: skip
    from modelscope.model.profile import ProfileReport

    if isinstance(result, ProfileReport):
        from modelscope.render.profile import (
            ProfileOptions,
            render_profile_json,
            render_profile_markdown,
            render_profile_table,
        )

        shown = options or ProfileOptions()
        return {"json": lambda: render_profile_json(result), "markdown": lambda: render_profile_markdown(result, shown),
                "table": lambda: render_profile_table(result, shown)}  # fmt: skip
    from modelscope.analysis.diff import Comparison

    if isinstance(result, Comparison):
        from modelscope.render.diff import render_diff_json, render_diff_markdown, render_diff_text

        args = (result.a, result.b, result.architecture, result.weights, bool(options))
        return {"json": lambda: render_diff_json(*args), "markdown": lambda: render_diff_markdown(*args),
                "table": lambda: render_diff_text(*args)}  # fmt: skip
    raise TypeError(f"nothing renders a {type(result).__name__}")


def parse_columns(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """Table columns (``"type,params,macs"`` or a list of names) checked against the known names."""
    if value is None:
        return None
    from modelscope.render.table import COLUMN_NAMES

    items = value.split(",") if isinstance(value, str) else list(value)
    names = tuple(str(n).strip().lower() for n in items if str(n).strip())
    unknown = [n for n in names if n not in COLUMN_NAMES]
    if unknown or not names:
        shown = value if isinstance(value, str) else ",".join(map(str, items))
        raise UsageError(f"--columns {shown}: unknown {', '.join(unknown) or '(empty)'}; choose from "
                         f"{', '.join(COLUMN_NAMES)}")  # fmt: skip
    return names
