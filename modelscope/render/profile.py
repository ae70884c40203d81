"""A profile as a table tree, Markdown or JSON (pure functions of a ProfileReport).

The rows are the summary's tree (down to ``depth``); times are milliseconds: with the traced
method the mean over the profiled calls, then min–max over the same calls; isolated, the median
of the timed runs, then min–max. "Share" is the row's time over the traced call's (traced) or the
whole model's median (isolated); a container's time holds its children's, so only the top-level
shares are meant to add up. The ``SLOWEST`` slowest rows without shown children are highlighted.
The footer accounts for the whole model's time: traced, the top-level layers + unattributed ops +
runtime overhead = the traced call, beside the untraced call; isolated, the layers' sum and the gap.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

from modelscope.analysis.view import NO_NAME, View, display_name
from modelscope.model.profile import ProfileReport
from modelscope.model.report import LayerInfo
from modelscope.render.fmt import human_bytes, metric, model_kind, shapes, tree_prefixes
from modelscope.render.layout import LAST_RESORT, SQUEEZE, Column, fit, render_rows, rule, wrap
from modelscope.render.safe import code_span, markdown_text, printable

SLOWEST = 3
NUMERIC = ("Time (ms)", "Min–max (ms)", "Share", "MAC/s", "Output bytes", "Fwd+bwd (ms)")
_DROP = ("Output bytes", "Min–max (ms)", "MAC/s", "Type")


@dataclass(frozen=True)
class ProfileOptions:
    depth: int | None = None
    width: int | None = None
    slowest: int = SLOWEST


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f}"


def row_cells(profile: ProfileReport, layer: LayerInfo) -> dict[str, str]:
    """A row's figures as text (empty for a layer that was not called)."""
    t = profile.timing(layer.path)
    cells = {"Type": layer.cls, "Output shape": shapes(layer.output_shapes) if layer.calls else "not called"}
    if t is None:
        return cells
    share = profile.share(layer.path)
    rate = profile.macs_per_second(layer.path)
    cells |= {
        "Time (ms)": _ms(t.forward.value),
        "Min–max (ms)": f"{_ms(t.forward.min)}–{_ms(t.forward.max)}",
        "Share": "" if share is None else f"{share:.1%}",
        "MAC/s": "-" if rate is None or rate == 0 else metric(round(rate)),
        "Output bytes": human_bytes(t.output_bytes),
    }
    if t.backward is not None:
        cells["Fwd+bwd (ms)"] = _ms(t.backward.value)
    return cells


def profile_columns(profile: ProfileReport) -> list[str]:
    cols = ["Layer", "Type", "Output shape", "Time (ms)", "Min–max (ms)", "Share", "MAC/s", "Output bytes"]
    return cols + (["Fwd+bwd (ms)"] if profile.settings.backward else [])


def footer_lines(profile: ProfileReport) -> list[tuple[str, str]]:
    """(label, text) lines under the table: settings, the whole model, how the layers add up to it."""
    s = profile.settings
    lines = [
        ("Settings", f"batch {s.batch_size}, {s.repeat} timed run(s) after {s.warmup} warm-up, "
                     f"{'XLA (jit)' if s.jit else 'tf.function, no XLA'}, on {s.device}, method {s.method}"),
    ]  # fmt: skip
    if profile.forward_call is not None:
        lines += _traced_lines(profile)
    else:
        lines += _isolated_lines(profile)
    lines.append(("Memory", memory_text(profile)))
    lines.append(("Method", profile.method))
    lines += [("Note", n) for n in profile.notes]
    return lines


def _traced_lines(profile: ProfileReport) -> list[tuple[str, str]]:
    """The untraced whole model, then each traced call's account (forward, fwd+bwd)."""
    out = []
    for label, untraced, call in (("", profile.model_forward, profile.forward_call),
                                  (" fwd+bwd", profile.model_backward, profile.backward_call)):  # fmt: skip
        if untraced is None or call is None:
            continue
        t = call.traced
        out.append((f"Whole model{label}", f"{_ms(untraced.median)} ms median ({_ms(untraced.min)}–"
                    f"{_ms(untraced.max)}) of {profile.settings.repeat} compiled calls, not profiled"))  # fmt: skip
        share = call.layers / t.value if t.value > 0 else 0.0
        cost = f", {t.value / untraced.median - 1:+.1%} vs not profiled" if untraced.median > 0 else ""
        out.append((f"Traced call{label}", f"{_ms(t.value)} ms mean of {call.calls} of {call.profiled} profiled "
                    f"calls{cost} = top-level layers {_ms(call.layers)} ms ({share:.1%}) + unattributed ops "
                    f"{_ms(call.unattributed)} ms + runtime overhead {_ms(call.overhead)} ms (no op running: "
                    "call dispatch, executor scheduling, copying the results)"))  # fmt: skip
        if call.op_time > call.busy * 1.001:
            out.append((f"Parallel ops{label}", f"ops ran {_ms(call.op_time)} ms summed within {_ms(call.busy)} ms: "
                        "where ops ran at once, each instant is shared equally among them"))  # fmt: skip
        if call.unattributed_ops:
            ops = ", ".join(f"{name} {_ms(sec)} ms" for name, sec in call.unattributed_ops)
            out.append((f"Unattributed{label}", f"largest: {ops}"))
    return out


def _isolated_lines(profile: ProfileReport) -> list[tuple[str, str]]:
    """The whole model timed alone, the layers' sum and the gap, and the empty-call overhead."""
    whole, total = profile.model_forward, profile.top_level_sum
    gap = total - whole.median
    lines = [("Whole model", f"{_ms(whole.median)} ms median ({_ms(whole.min)}–{_ms(whole.max)}), one compiled call")]
    if profile.model_backward is not None:
        b = profile.model_backward
        lines.append(("Whole model fwd+bwd", f"{_ms(b.median)} ms median ({_ms(b.min)}–{_ms(b.max)})"))
    if whole.median > 0:
        lines.append(("Top-level layers", f"{_ms(total)} ms summed, {total / whole.median:.1%} of the whole model; "
                      f"gap {'+' if gap >= 0 else '-'}{_ms(abs(gap))} ms: each layer timed alone pays its own call "
                      "overhead, and the whole model's compiled call may fuse work across layers"))  # fmt: skip
    if profile.overhead is not None:
        lines.append(("Call overhead", f"{_ms(profile.overhead.median)} ms median for a compiled call that does "
                      "nothing but return its input, here: part of every figure above"))  # fmt: skip
        net = profile.top_level_net
        if net is not None and whole.median > 0:
            lines.append(("Net of overhead", f"top-level layers {_ms(net)} ms summed less one call overhead each, "
                          f"{net / whole.median:.1%} of the whole model"))  # fmt: skip
    return lines


def memory_text(profile: ProfileReport) -> str:
    """The activation bytes at the batch size and, where it was read, the process's peak RSS."""
    text = (f"activations {human_bytes(profile.activation_bytes)} at batch {profile.settings.batch_size} (the "
            "outputs of every innermost layer in one forward pass: inference frees most of them as it goes, a "
            "training step keeps much of them for the gradient)")  # fmt: skip
    m = profile.memory
    if m is None:
        return text + "; process peak RSS not measured (no getrusage here)"
    return text + (f"; process peak RSS {human_bytes(m.peak_after)}, up {human_bytes(m.growth)} during the runs "
                   "(ru_maxrss is a high-water mark: the growth counts only memory above the peak before "
                   "them)")  # fmt: skip


def _layers(profile: ProfileReport, depth: int | None) -> list[LayerInfo]:
    return list(profile.report.walk(depth))


def render_profile_table(profile: ProfileReport, options: ProfileOptions = ProfileOptions()) -> Text:
    """The profile as a tree table; the slowest rows in bold red."""
    profile = printable(profile)  # the timings' paths too, so they still match the report's
    report = profile.report
    view = View(report, options.depth)
    layers = _layers(profile, options.depth)
    hot = set(profile.slowest(options.slowest, options.depth))
    header = profile_columns(profile)
    cells: dict[str, list[Text]] = {c: [] for c in header}
    guides = []
    for prefix, layer in zip(tree_prefixes(layers), layers):
        style = "bold red" if layer.path in hot else ""
        row = row_cells(profile, layer)
        cells["Layer"].append(
            Text.assemble((prefix, "dim"), (view.label(layer), style or ("bold" if layer.depth == 1 else "")))
        )
        guides.append(len(prefix))
        for c in header[1:]:
            text = row.get(c, "")
            cells[c].append(Text(text, style=style if c == "Time (ms)" else "cyan" if c == "Type" else ""))
    columns = [Column(c, [cells[c]], numeric=c in NUMERIC, least=12 if c == "Layer" else None,
                      keep=guides if c == "Layer" else []) for c in header]  # fmt: skip
    steps = [*(("drop", c) for c in _DROP), SQUEEZE, LAST_RESORT]
    placed = fit(columns, options.width, steps)
    head, rows = render_rows(placed)
    out = Text()
    out.append(report.model.name or NO_NAME, style="bold").append(f" ({model_kind(report)}) — profile\n")
    out.append_text(head).append("\n").append_text(rule(placed)).append("\n")
    for lines in rows:
        for line in lines:
            out.append_text(line).append("\n")
    out.append("\n")
    for label, text in footer_lines(profile):
        out.append(f"{label}: ", style="bold").append(text + "\n", style="dim" if label in ("Method", "Note") else "")
    return wrap(out, options.width) if options.width is not None else out


def render_profile_markdown(profile: ProfileReport, options: ProfileOptions = ProfileOptions()) -> str:
    """The profile as a GitHub-flavoured Markdown table; the slowest rows' times in bold."""
    profile = printable(profile)
    report = profile.report
    layers = _layers(profile, options.depth)
    hot = set(profile.slowest(options.slowest, options.depth))
    header = profile_columns(profile)
    out = [f"### {code_span(report.model.name or NO_NAME)} ({markdown_text(model_kind(report))}) — profile", ""]
    out.append("| " + " | ".join(header) + " |")
    out.append("|" + "|".join("---:" if h in NUMERIC else "---" for h in header) + "|")
    for prefix, layer in zip(tree_prefixes(layers), layers):
        row = row_cells(profile, layer)
        name = code_span(display_name(layer))
        values = [name] + [markdown_text(row.get(c, "")).replace("\n", "<br>") for c in header[1:]]
        if layer.path in hot:
            values[0], values[3] = f"**{values[0]}**", f"**{values[3]}**"
        values[0] = prefix.replace(" ", "\u00a0") + values[0]
        out.append("| " + " | ".join(values) + " |")
    out.append("")
    out += [f"- **{label}:** {markdown_text(text)}" for label, text in footer_lines(profile)]
    return "\n".join(out) + "\n"


def render_profile_json(profile: ProfileReport) -> str:
    """The ``modelscope.profile/1`` JSON (see the README)."""
    return profile.to_json()
