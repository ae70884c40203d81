"""How results show themselves: in a notebook (HTML), printed (the table), in ``repr`` (one line).

:class:`Shown` pairs a result (Report, StatsReport, ProfileReport or Comparison) with its rendering options;
``Report._repr_html_``, ``print(report)`` and ``modelscope.summary`` all go through it. Every
method is a pure function of the result, but for the width ``print`` uses on a terminal.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelscope.analysis.view import NO_NAME
from modelscope.render.fmt import count, shapes
from modelscope.render.safe import printable

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions
    from rich.text import Text


@dataclass(frozen=True)
class Shown:
    """A result as a notebook, a terminal or ``repr`` shows it; ``options`` are its renderer's
    (TableOptions, StatsOptions, ProfileOptions, or ``show_all`` for a comparison)."""

    result: Any
    options: Any = None

    def table(self, width: int | None = None) -> Text:
        """The rich table at the width its options ask for, else ``width`` columns (None: as wide
        as it needs)."""
        from dataclasses import replace

        from rich.text import Text

        from modelscope.render import render

        options = self.options
        if options is not None and hasattr(options, "width"):
            options = replace(options, width=options.width or width)  # a width asked for wins
        elif width is not None and _kind(self.result) != "diff":
            options = _default_options(_kind(self.result), width)
        out = render(self.result, "table", options)
        return out if isinstance(out, Text) else Text(out)

    def _repr_html_(self) -> str:
        from modelscope.render import html

        kind = _kind(self.result)
        if kind == "report":
            return html.render_report_html(self.result, self.options)
        if kind == "stats":
            return html.render_stats_html(self.result, self.options)
        if kind == "profile":
            return html.render_profile_html(self.result, self.options)
        return html.render_diff_html(self.result, bool(self.options))

    def __str__(self) -> str:
        width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
        return self.table(width).plain

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Text]:
        yield self.table(options.max_width)

    def __repr__(self) -> str:
        return describe(self.result)


def _kind(result: Any) -> str:
    from modelscope.analysis.diff import Comparison
    from modelscope.analysis.stats import StatsReport
    from modelscope.model.profile import ProfileReport

    if isinstance(result, StatsReport):
        return "stats"
    if isinstance(result, ProfileReport):
        return "profile"
    if isinstance(result, Comparison):
        return "diff"
    return "report"


def _default_options(kind: str, width: int) -> Any:
    if kind == "stats":
        from modelscope.render.stats import StatsOptions

        return StatsOptions(width=width)
    if kind == "profile":
        from modelscope.render.profile import ProfileOptions

        return ProfileOptions(width=width)
    from modelscope.render.table import TableOptions

    return TableOptions(width=width)


def describe(result: Any) -> str:
    """One line: what the result is about and its headline figures."""
    kind = _kind(result)
    if kind == "stats":
        m = result.report.model
        flags = len(result.flags)
        return printable(f"<StatsReport {m.name or NO_NAME} ({m.cls}): {len(result.variables)} variables, "
                         f"{flags} health flag{'s' if flags != 1 else ''}>")  # fmt: skip
    if kind == "profile":
        m, s = result.report.model, result.settings
        whole = f"{result.model_forward.median * 1e3:.3f} ms"
        return printable(f"<ProfileReport {m.name or NO_NAME} ({m.cls}): {len(result.layers)} layers timed, "
                         f"model {whole} at batch {s.batch_size} on {s.device}>")  # fmt: skip
    if kind == "diff":
        parts = []
        if result.architecture is not None:
            parts.append(f"{len(result.architecture.changed)} layer(s) differ")
        if result.weights is not None:
            parts.append(f"{len(result.weights.variables)} variable(s) compared")
        return printable(f"<Comparison {result.a} -> {result.b}: {', '.join(parts) or 'nothing compared'}>")
    m, t = result.model, result.totals
    inputs = ", ".join(shapes((i.shape,)) for i in result.inputs)
    return printable(f"<Report {m.name or NO_NAME} ({m.cls}, {m.kind}): {len(result.layers)} layers, "
                     f"{count(t.params)} params" + (f", input {inputs}" if inputs else "") + ">")  # fmt: skip
