"""The HTML renderers (Jupyter's ``_repr_html_``) on hand-built results: no TensorFlow needed.

Structure is checked on the parsed tree (tests/htmltree.py), content against the text renderers,
the bytes against golden files. tests/test_browser.py renders the same HTML in Chromium.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest

from modelscope.analysis.diff import ArchitectureDiff, Comparison, LayerChange, VariableChange, WeightsDiff
from modelscope.analysis.stats import compute_stats
from modelscope.analysis.view import View, display_name
from modelscope.model.report import InputInfo, ModelInfo, Report, VariableInfo
from modelscope.model.traced import TracedLayer, TracedModel, build_report
from modelscope.render.diff import describe, render_diff_text
from modelscope.render.fmt import static_entries
from modelscope.render.html import render_diff_html, render_report_html, render_stats_html
from modelscope.render.safe import printable
from modelscope.render.stats import StatsOptions
from modelscope.render.table import TableOptions, columns, footer

from .handmade import residual_model
from .htmltree import Node, parse

ALLOWED_TAGS = {"#root", "div", "span", "style", "details", "summary", "br", "svg", "title", "path"}
HOSTILE = {
    "stem": "<script>alert(1)</script>",
    "block": "\"&'",
    "tied": "\x1b[31mred\u202e",
}


@pytest.fixture
def report() -> Report:
    return build_report(residual_model())


def hostile_report() -> Report:
    """The hand-made report with markup, quotes and control characters in every kind of name."""
    base = build_report(residual_model())
    layers = tuple(
        replace(l, name=HOSTILE.get(l.path, l.name), cls="<b>Bold</b>" if l.path == "block/conv" else l.cls)
        for l in base.layers
    )
    variables = tuple(replace(v, dtype="<i>") if v.layer == "" else v for v in base.variables)
    return replace(
        base, layers=layers, variables=variables,
        model=ModelInfo("</div><script>x()</script>", "&amp;", "subclassed"),
        inputs=(replace(base.inputs[0], name="</style><style>*{display:none}</style>"),),
        warnings=("<img src=x onerror=alert(1)>",),
    )  # fmt: skip


def static_report() -> Report:
    """The hand-made model as a weights file would show it: layers and variables, nothing run."""
    traced = residual_model()
    layers = tuple(replace(l, calls=0, input_shapes=(), output_shapes=()) for l in traced.layers)
    traced = replace(traced, layers=layers, edges=(), inputs=(), outputs=(),
                     model=ModelInfo("net.weights.h5", "", "weights"))  # fmt: skip
    report = build_report(traced)
    assert report.static
    return report


def rows(doc: Node) -> list[Node]:
    """The body rows of the first table (header row left out), in document order."""
    table = doc.find_all("div", "tb")[0]
    return [n for n in table.iter() if "r" in n.classes and "hr" not in n.classes]


def header(doc: Node, k: int = 0) -> list[str]:
    hr = doc.find_all("div", "hr")[k]
    return [c.text() for c in hr.cells()]


def check_well_formed(text: str) -> Node:
    doc = parse(text)
    tags = {n.tag for n in doc.iter()}
    assert tags <= ALLOWED_TAGS, tags - ALLOWED_TAGS
    styles = doc.find_all("style")
    assert len(styles) == 1
    root = doc.children[0]
    assert isinstance(root, Node) and root.classes == {"modelscope"} and len(doc.children) == 1
    for rule in re.findall(r"([^{}]+)\{[^{}]*\}", styles[0].text()):
        for selector in rule.split(","):
            assert selector.strip().startswith(".modelscope"), selector
    for node in doc.iter():  # inline style only for a table's column widths
        if "style" in node.attrs:
            assert "tb" in node.classes and re.fullmatch(r"--c:(\d+ch|\d+px)( (\d+ch|\d+px))*", node.attrs["style"])
        assert not any(a.startswith("on") for a in node.attrs)
    return doc


# -- the summary ---------------------------------------------------------------------------------


def test_report_golden(report: Report, golden) -> None:
    text = render_report_html(report)
    check_well_formed(text)
    assert render_report_html(report) == text  # deterministic
    golden("report_handmade.html", text)


def test_report_rows_follow_the_table(report: Report) -> None:
    doc = check_well_formed(render_report_html(report))
    view = View(report)
    assert header(doc) == columns(report, view)
    body = rows(doc)
    names = [r.cells()[0].text() for r in body]
    assert names == [display_name(l) for l in report.layers] + ["(own weights)"]
    cols = columns(report, view)
    for row, layer in zip(body, report.layers):  # every column's text, line by line, is the table's
        cells = [c.text() for c in row.cells()]
        assert len(cells) == len(cols)
        assert cells[cols.index("Type")] == layer.cls
        assert cells[cols.index("Calls")] == ("" if layer.calls == 1 else str(layer.calls))
    connected = {names[i]: body[i].cells()[cols.index("Connected to")].text() for i in range(len(names))}
    assert connected["norm"] == "stem\nconv"  # two sources, two lines


def test_report_nesting_is_details_per_container(report: Report) -> None:
    doc = check_well_formed(render_report_html(report))
    containers = [l for l in report.layers if report.children(l.path)]
    details = doc.find_all("details")
    assert len(details) == len(containers) == 1
    assert all(d.attrs.get("open") == "" for d in details)  # open by default
    layers = {display_name(l): l for l in report.layers}
    for row in rows(doc):
        layer = layers.get(row.cells()[0].text())
        depth = layer.depth if layer else 1
        assert f"d{depth}" in row.classes
        if row.tag == "summary":
            assert row.parent is not None and row.parent.tag == "details" and row.parent.children[0] is row
            assert len(row.ancestors("details")) == depth
        else:
            assert row.tag == "div" and len(row.ancestors("details")) == depth - 1


def test_report_params_add_up_and_footer_is_the_tables(report: Report) -> None:
    doc = check_well_formed(render_report_html(report))
    cols = columns(report, View(report))
    k = cols.index("Params")

    def params(row: Node) -> int:
        text = row.cells()[k].text()
        return 0 if text == "unbuilt" else int(text.replace(",", ""))

    for details in doc.find_all("details"):  # a container's params are its children's (none shared here)
        summary, *children = [c for c in details.children if isinstance(c, Node)]
        assert params(summary) == sum(params(c) for c in children) == 80
    top = [r for r in rows(doc) if "d1" in r.classes]
    shared = report.layer("tied").params  # block/conv's kernel, counted under both
    assert sum(params(r) for r in top) - shared == report.totals.params == 147
    lines = [d.text() for d in doc.find_all("div", "ft")[0].children if isinstance(d, Node)]
    assert lines == footer(printable(report)).plain.splitlines()
    assert lines[0] == "Total params: 147 (572.00 B)"
    warning = doc.find_all("div", "ft")[0].children[-1]
    assert isinstance(warning, Node) and warning.find_all("span", "w")[0].text().startswith("Warning: 1 layer(s)")


def test_report_reads_without_its_style_sheet(report: Report) -> None:
    # sanitising viewers (GitHub, untrusted notebooks) drop <style>: cells still read as words
    doc = parse(re.sub(r"<style>.*?</style>", "", render_report_html(report), flags=re.S))
    assert rows(doc)[0].text() == "stem Dense (None, 8) 64   input:x"
    assert doc.find_all("div", "hr")[0].text().startswith("Layer Type Output shape Params")


def test_report_of_an_empty_model() -> None:
    empty = build_report(TracedModel(ModelInfo("", "Model", "functional"), (), (), (), (), (), ()))
    doc = check_well_formed(render_report_html(empty))
    assert not rows(doc) and doc.find_all("div", "hd")[0].text() == "(no name) (Model, functional)"
    assert doc.find_all("div", "ft")[0].text().startswith("Total params: 0 (0.00 B)")


def test_report_options_depth_and_columns(report: Report) -> None:
    doc = check_well_formed(render_report_html(report, TableOptions(depth=1)))
    assert not doc.find_all("details")
    assert [r.cells()[0].text() for r in rows(doc)] == ["stem", "block (residual_block)", "tied", "spare",
                                                        "(own weights)"]  # fmt: skip
    doc = check_well_formed(render_report_html(report, TableOptions(columns=("params",))))
    assert header(doc) == ["Layer", "Params"]
    assert all(len(r.cells()) == 2 for r in rows(doc))


def test_report_hostile_names_are_escaped(golden) -> None:
    hostile = hostile_report()
    text = render_report_html(hostile)
    doc = check_well_formed(text)  # no <script>, <img> or stray <style>: only the renderer's own tags
    assert "<script" not in text and "<img" not in text and "\x1b" not in text and "\u202e" not in text
    names = [r.cells()[0].text() for r in rows(doc)]
    assert names == [display_name(l) for l in printable(hostile).layers] + ["(own weights)"]
    assert "<script>alert(1)</script>" in names[0] and names[1] == "block (\"&')"
    assert "\\x1b[31mred\\u202e" in names[4]  # control characters shown as escapes (render.safe)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "block (&quot;&amp;&#x27;)" in text
    assert doc.find_all("div", "hd")[0].text() == "</div><script>x()</script> (&amp;, subclassed)"
    foot = doc.find_all("div", "ft")[0].text()
    assert "Warning: <img src=x onerror=alert(1)>" in foot and "Input: (None, 8) float32" in foot
    assert "<b>Bold</b>" in [c.text() for r in rows(doc) for c in r.cells()]
    golden("report_hostile.html", text)


def test_report_static_tree(golden) -> None:
    static = static_report()
    text = render_report_html(static)
    doc = check_well_formed(text)
    view = View(static)
    entries = static_entries(static, view)
    names = [r.cells()[0].text() for r in rows(doc)]
    expected = [item.path.rpartition("/")[2] if isinstance(item, VariableInfo) else f"{display_name(item)} ({item.cls})"
                for _, item in entries]  # fmt: skip
    assert names == expected
    assert names[:3] == ["scale", "stem (Dense)", "kernel"]  # the model's own variables first
    assert header(doc) == ["Layer / variable", "Shape", "Dtype", "Params", "Non-train."]
    # containers: every layer with variables or sublayers shown under it
    assert len(doc.find_all("details")) == sum(1 for l in static.layers if static.children(l.path) or any(
        v.layer == l.path for v in static.variables))  # fmt: skip
    assert "A weights file does not record which variables are trainable" in doc.find_all("div", "ft")[0].text()
    assert doc.find_all("span", "i")  # variables in italics, as in the table
    golden("report_static.html", text)


def _big_report(blocks: int = 100, per_block: int = 9) -> Report:
    variables, layers = [], []
    for b in range(blocks):
        children = []
        for c in range(per_block):
            path = f"block_{b}/dense_{c}"
            variables.append(VariableInfo(f"{path}/kernel", path, (16, 16), "float32", True))
            children.append(TracedLayer(path, f"dense_{c}", None, "Dense", 2, f"block_{b}", ((None, 16),),
                                        ((None, 16),), 1, True, (len(variables) - 1,)))  # fmt: skip
        own = tuple(i for child in children for i in child.variables)
        layers.append(TracedLayer(f"block_{b}", f"block_{b}", None, "Block", 1, None, ((None, 16),), ((None, 16),),
                                  1, True, own))  # fmt: skip
        layers += children
    traced = TracedModel(ModelInfo("big", "Big", "subclassed"), (InputInfo("x", (None, 16), "float32"),), (),
                         tuple(layers), (), tuple(variables), tuple(range(len(variables))))  # fmt: skip
    return build_report(traced)


def test_report_of_a_thousand_layers_stays_small() -> None:
    big = _big_report()
    assert len(big.layers) == 1000
    text = render_report_html(big, TableOptions(unfold=True))  # folded, it is one block (tests/test_fold.py)
    doc = check_well_formed(text)
    assert len(doc.find_all("details")) == 100 and len(doc.find_all("style")) == 1
    assert len(text) < 400 * len(big.layers)  # bytes per layer: no per-row style
    names = [r.cells()[0].text() for r in rows(doc)]
    assert names == [display_name(l) for l in big.layers]
    assert len(rows(check_well_formed(render_report_html(big)))) == 10  # block_0…99 ×100 and its Dense layers


# -- statistics ----------------------------------------------------------------------------------


def _stats(nan: bool = True):
    report = build_report(residual_model())
    values = []
    for v in report.variables:
        arr = (np.arange(int(np.prod(v.shape))) % 7 - 3).reshape(v.shape).astype(v.dtype) / 10
        if nan and v.path == "stem/kernel":
            arr[3, 5] = np.nan
        values.append((v, arr))
    return compute_stats(report, values)


def test_stats_golden_and_content(golden) -> None:
    stats = _stats()
    text = render_stats_html(stats)
    doc = check_well_formed(text)
    assert header(doc) == ["Variable", "Shape", "dtype", "Count", "mean", "std", "min", "max", "|w| mean", "zeros",
                           "NaN/Inf", "Flags", "Histogram"]  # fmt: skip
    body = rows(doc)
    assert [r.cells()[0].text() for r in body] == [v.info.path.rpartition("/")[2] for v in stats.variables]
    titles = [g.text() for g in doc.find_all("div", "g")]
    assert titles[0] == "stem (Dense)" and titles[-1] == "(model's own weights) (Net)"
    assert any(t.startswith("block/conv (Dense)  σmax ") for t in titles)
    flagged = [r for r in body if "fl" in r.classes]
    assert [r.cells()[0].text() for r in flagged] == ["kernel"] and flagged[0].cells()[11].text() == "nan_inf"
    assert flagged[0].cells()[10].text() == "1/0" and flagged[0].cells()[3].text() == "64"
    svgs = doc.find_all("svg")
    assert len(svgs) == len(stats.variables)
    assert all(s.attrs["width"] == "80" and s.attrs["height"] == "16" for s in svgs)
    bars = [len(re.findall("M", s.find_all("path")[0].attrs["d"])) for s in svgs]
    assert bars == [sum(1 for c in v.histogram.counts if c) for v in stats.variables]
    foot = [d.text() for d in doc.find_all("div", "ft")[0].children if isinstance(d, Node)]
    assert foot == ["1 flag(s):", "  stem/kernel: nan_inf: 1 NaN and 0 Inf values"]
    golden("stats_handmade.html", text)


def test_stats_sorted_and_filtered_and_clean() -> None:
    stats = _stats(nan=False)
    doc = check_well_formed(render_stats_html(stats, StatsOptions(sort="count")))
    assert not doc.find_all("div", "g")  # sorted: full paths, no layer titles
    assert [r.cells()[0].text() for r in rows(doc)][:2] == ["block/conv/kernel", "stem/kernel"]
    assert doc.find_all("div", "ft")[0].text() == "No health flags."
    doc = check_well_formed(render_stats_html(stats, StatsOptions(filter="block/*")))
    assert [r.cells()[0].text() for r in rows(doc)] == ["kernel", "gamma", "moving_mean"]


def test_stats_hostile_names_are_escaped() -> None:
    base = _stats()
    hostile = hostile_report()
    variables = tuple(replace(v, info=replace(v.info, path=v.info.path.replace("stem", "<script>s</script>"),
                                              dtype="<i>")) for v in base.variables)  # fmt: skip
    flags = tuple(replace(f, message="<img src=x>") for f in base.flags)
    text = render_stats_html(replace(base, report=hostile, variables=variables, flags=flags))
    doc = check_well_formed(text)
    assert "<script" not in text and "<img" not in text
    assert doc.find_all("div", "ft")[0].text().endswith("<img src=x>")
    assert doc.find_all("div", "hd")[0].text().startswith("</div><script>x()</script> (&amp;)")


# -- diff ----------------------------------------------------------------------------------------

S8, S9 = ((None, 8),), ((None, 9),)


def comparison() -> Comparison:
    arch = ArchitectureDiff(
        layers=(
            LayerChange("stem", "same", ("Dense", "Dense"), (64, 64), (S8, S8), (S8, S8)),
            LayerChange("block/conv", "changed", ("Dense", "Dense"), (64, 72), (S8, S8), (S8, S9), {"units": (8, 9)}),
            LayerChange("block/drop", "added", (None, "Dropout"), (None, 0), (None, S9), (None, S9)),
            LayerChange("spare", "removed", ("Dense", None), (0, None), (S8, None), (S8, None)),
        ),
        totals={"params": (147, 155), "trainable": (139, 147), "non_trainable": (8, 8)},
    )
    weights = WeightsDiff(
        variables=(
            VariableChange("stem/kernel", "stem", (8, 8), 0.25, 1.5, 0.5, 1.0, False),
            VariableChange("block/norm/gamma", "block/norm", (8,), None, 0.3, 0.1, 0.5, True),
            VariableChange("scale", "", (3,), 0.0, 0.0, 0.0, 0.0, False),
        ),
        layers=(("block/norm", float("inf")), ("stem", 0.25), ("", 0.0)),
        unmatched=("block/conv/kernel",),
    )
    return Comparison("before.json", "after.json", arch, weights)


def test_diff_golden_and_content(golden) -> None:
    comp = comparison()
    text = render_diff_html(comp)
    doc = check_well_formed(text)
    body = rows(doc)
    changed = comp.architecture.changed  # type: ignore[union-attr]
    assert [r.cells()[1].text() for r in body] == [c.path for c in changed]
    assert [r.cells()[0].text() for r in body] == ["~", "+", "\u2212"]
    assert [sorted(r.classes - {"r"}) for r in body] == [["cg"], ["ad"], ["rm"]]
    assert [r.cells()[3].text() for r in body] == [describe(c).replace("; ", "\n") for c in changed]
    plain = render_diff_text(comp.a, comp.b, comp.architecture, comp.weights)
    assert "Totals: " + doc.find_all("div", "p")[1].text().removeprefix("Totals: ") in plain
    assert doc.find_all("div", "hd")[0].text() == "modelscope diff: before.json → after.json"
    tables = doc.find_all("div", "tb")
    assert len(tables) == 3  # layers, layers by movement, variables
    moved = [r for r in tables[2].iter() if "r" in r.classes and "hr" not in r.classes]
    assert [r.cells()[0].text() for r in moved] == ["block/norm/gamma", "stem/kernel"]  # as the text sorts them
    assert plain.index("  block/norm/gamma ") < plain.index("  stem/kernel ")
    assert "rm" in moved[0].classes and moved[0].cells()[4].text() == "new"
    assert "Not comparable: block/conv/kernel" in doc.text()
    golden("diff_handmade.html", text)


def test_diff_show_all_and_equal() -> None:
    comp = comparison()
    doc = check_well_formed(render_diff_html(comp, show_all=True))
    assert [r.cells()[0].text() for r in rows(doc)] == ["=", "~", "+", "\u2212"]
    assert comp.architecture is not None
    totals = {"params": (1, 1), "trainable": (1, 1), "non_trainable": (0, 0)}
    same = replace(comp, architecture=ArchitectureDiff(comp.architecture.layers[:1], totals), weights=None)
    doc = check_well_formed(render_diff_html(same))
    assert not doc.find_all("div", "tb") and "Architecture: the same (1 layers)" in doc.text()


def test_diff_hostile_names_are_escaped() -> None:
    comp = comparison()
    arch = comp.architecture
    assert arch is not None
    hostile = replace(arch.layers[1], path="<script>p</script>", cls=("<b>", "<b>"), config={"<k>": ("<a>", "</a>")})
    text = render_diff_html(replace(comp, a="<a href=x>", b="\x07", architecture=replace(arch, layers=(hostile,))))
    doc = check_well_formed(text)
    assert "<script" not in text and "<a " not in text and "\x07" not in text
    cells = [c.text() for c in rows(doc)[0].cells()]
    assert cells[1:3] == ["<script>p</script>", "<b>"] and '<k> "<a>" -> "</a>"' in cells[3]
    assert doc.find_all("div", "hd")[0].text() == "modelscope diff: <a href=x> → \\x07"
