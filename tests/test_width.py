"""Tables fit the width they are given (issue #15): columns leave in the documented order, shapes
shorten, names are cut in their middle with one ``…`` but never split over lines; ``--width`` is
respected exactly. The hand-built reports need no TensorFlow; the sample runs the real command."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
from rich.cells import cell_len
from rich.text import Text

from modelscope.analysis.stats import compute_stats
from modelscope.analysis.view import View, display_name
from modelscope.model.report import Cost, Edge, InputInfo, ModelInfo, OutputInfo, Report, VariableInfo
from modelscope.model.traced import TracedLayer, TracedModel, build_report
from modelscope.render.fmt import shapes, tree_prefixes
from modelscope.render.layout import truncate, wrap
from modelscope.render.stats import DROP_ORDER as STATS_DROP_ORDER
from modelscope.render.stats import HEADER as STATS_HEADER
from modelscope.render.stats import StatsOptions, render_stats_table
from modelscope.render.table import DROP_ORDER, TableOptions, columns, render_table

from .conftest import ROOT
from .handmade import residual_model

WIDTHS = (60, 80, 120)
HEADERS = ("Layer", "Type", "Output shape", "Params", "Non-train.", "Calls", "MACs", "Act. memory", "Connected to")


# -- hand-built reports ----------------------------------------------------------------------------

LONG_HEAD = "classification_head_with_a_name_longer_than_a_sixty_column_table_is_wide"


def _layer(path: str, cls: str, out: tuple, variables: tuple[int, ...] = (), calls: int = 1, attr=None,
           name=None, macs: int = 0) -> TracedLayer:  # fmt: skip
    parent = path.rpartition("/")[0] or None
    return TracedLayer(path, name or path.rpartition("/")[2], attr, cls, path.count("/") + 1, parent,
                       ((None, 128, 768),), out, calls, True, variables, cost=Cost(macs, 2 * macs),
                       activation_bytes=4096)  # fmt: skip


def long_names_model() -> TracedModel:
    """Long names four levels deep, a layer with several outputs, a frozen weight, a layer called
    twice, costs and a branching data flow: every optional column has something to say."""
    enc = "encoder"
    variables = [VariableInfo(f"{enc}/transformer_layer_{i}/self_attention_with_a_descriptive_name/"
                              "query_dense_projection_for_heads/kernel", "", (768, 768), "float32", True)
                 for i in (0, 11)]  # fmt: skip
    variables = [VariableInfo(v.path, v.path.rpartition("/")[0], v.shape, v.dtype, v.trainable) for v in variables]
    variables.append(VariableInfo(f"{LONG_HEAD}/kernel", LONG_HEAD, (768, 10), "float32", False))
    layers = [_layer(enc, "TransformerEncoder", ((None, 128, 768),), (0, 1), attr=enc,
                     name="transformer_encoder_with_a_rather_long_name")]  # fmt: skip
    for i in range(12):
        block = f"{enc}/transformer_layer_{i}"
        own = (0,) if i == 0 else (1,) if i == 11 else ()
        layers.append(_layer(block, "TransformerEncoderLayer", ((None, 128, 768),), own, macs=1000 * i))
        if own:
            attention = f"{block}/self_attention_with_a_descriptive_name"
            layers.append(_layer(attention, "MultiHeadAttention", ((None, 128, 768), (None, 12, 128, 128),
                                                                   (None, 12, 128, 64)), own, macs=5))  # fmt: skip
            layers.append(_layer(f"{attention}/query_dense_projection_for_heads", "EinsumDense",
                                 ((None, 128, 12, 64),), own, macs=7))  # fmt: skip
    layers.append(_layer("pooler", "GlobalAveragePooling1D", ((None, 768),), calls=2))
    layers.append(_layer(LONG_HEAD, "Dense", ((None, 10),), (2,), macs=7680))
    edges = [Edge(f"{enc}/transformer_layer_{i}", f"{enc}/transformer_layer_{i + 1}") for i in range(11)]
    edges += [Edge(f"{enc}/transformer_layer_11", "pooler"), Edge("pooler", "pooler"), Edge("pooler", LONG_HEAD),
              Edge(f"{enc}/transformer_layer_0", LONG_HEAD)]  # fmt: skip
    return TracedModel(
        model=ModelInfo("bert_like", "BertLike", "subclassed", "models/bert.py"),
        inputs=(InputInfo("tokens", (None, 128, 768), "float32", (f"{enc}/transformer_layer_0",)),),
        outputs=(OutputInfo("logits", (None, 10), "float32", (LONG_HEAD,)),),
        layers=tuple(layers),
        edges=tuple(edges),
        variables=tuple(variables),
        model_variables=(0, 1, 2),
        own_cost=Cost(0, 0),
        warnings=("a warning long enough to wrap: the layer classification_head_with_a_name_longer_than_a_sixty_"
                  "column_table_is_wide (Dense) reported 1,234,567 MACs from its ops (MatMul, BiasAdd)",),
    )  # fmt: skip


def static_model() -> TracedModel:
    """A model known from stored variables only (nothing called): the layer / variable tree."""
    traced = long_names_model()
    layers = tuple(TracedLayer(l.path, l.name, l.attr, l.cls, l.depth, l.parent, (), (), 0, True, l.variables)
                   for l in traced.layers)  # fmt: skip
    return TracedModel(ModelInfo("bert_like", "", "weights", "bert.weights.h5"), (), (), layers, (),
                       traced.variables, traced.model_variables)  # fmt: skip


REPORTS = {
    "handmade": lambda: build_report(residual_model()),
    "long names": lambda: build_report(long_names_model()),
}


# -- what a rendered table says ----------------------------------------------------------------------


def table_part(text: str) -> list[str]:
    """The header, rule and rows of a rendered summary (title and footer left out)."""
    return text.split("\n\n")[0].splitlines()[1:]


def headers(text: str) -> list[str]:
    line = table_part(text)[0]
    return [h for h in HEADERS if re.search(rf"(^|   ){re.escape(h)}(   |$)", line)]


def assert_fits(text: str, width: int) -> None:
    too_long = [line for line in text.splitlines() if cell_len(line) > width]
    assert not too_long, f"lines wider than {width}: {too_long}"
    rule = table_part(text)[1]
    assert set(rule) == {"─"} and cell_len(rule) <= width


def cut_forms(name: str, cell: str) -> bool:
    """Whether ``cell`` (one cell, or a line of cells) holds ``name`` cut in its middle: a start of it,
    one ``…``, an end of it."""
    for part in cell.split("   "):
        head, ellipsis, tail = part.strip().lstrip("│├└─ ").partition("…")
        if ellipsis and name.startswith(head) and name.endswith(tail) and len(head) + len(tail) < len(name):
            return True
    return False


def assert_dropped_in_order(natural: list[str], shown: list[str], order: tuple[str, ...]) -> None:
    """The columns gone are the first of ``order`` (among those the natural table had), nothing else."""
    gone = [c for c in natural if c not in shown]
    present = [c for c in order if c in natural]
    assert gone == [c for c in natural if c in present[: len(gone)]], (natural, shown)
    assert sorted(gone, key=order.index) == present[: len(gone)], (natural, shown)


# -- the summary table --------------------------------------------------------------------------------


def test_no_width_keeps_the_natural_layout() -> None:
    report = build_report(residual_model())
    assert render_table(report, TableOptions(width=None)).plain == render_table(report).plain
    natural = render_table(report).plain
    assert render_table(report, TableOptions(width=500)).plain == natural  # room enough: the same table


@pytest.mark.parametrize("name", sorted(REPORTS))
@pytest.mark.parametrize("width", WIDTHS)
def test_table_fits_and_drops_columns_in_the_documented_order(name: str, width: int) -> None:
    report = REPORTS[name]()
    natural = render_table(report).plain
    text = render_table(report, TableOptions(width=width)).plain
    assert_fits(text, width)
    shown = headers(text)
    assert {"Layer", "Output shape", "Params"} <= set(shown)
    assert_dropped_in_order(headers(natural), shown, DROP_ORDER)
    if max(cell_len(line) for line in natural.splitlines()) <= width:
        assert text == natural


@pytest.mark.parametrize("name", sorted(REPORTS))
@pytest.mark.parametrize("width", WIDTHS)
def test_names_are_never_split(name: str, width: int) -> None:
    report = REPORTS[name]()
    text = render_table(report, TableOptions(width=width)).plain
    rows = table_part(text)[2:]
    layer_width = re.search(r"   +\S", table_part(text)[0]).end() - 4  # type: ignore[union-attr]
    layers = View(report).layers
    for prefix, layer in zip(tree_prefixes(layers), layers):
        label = display_name(layer)
        alone = label.split(" (")[0]  # "name (keras_name)" loses the Keras name first
        whole = [row for row in rows
                 if any(row.startswith(prefix + form + " ") or row == prefix + form for form in (label, alone))]
        if whole:
            continue
        cut = [row for row in rows if row.startswith(prefix) and cut_forms(alone, row[len(prefix) :].split("   ")[0])]
        assert cut, f"{label!r} neither whole nor cut with … in:\n{text}"
        # cut only when it cannot fit: every optional column gone, shapes shortened, the name wider than its column
        assert headers(text) == ["Layer", "Output shape", "Params"]
        assert cell_len(prefix + label) > layer_width and headers(text)[1] == "Output shape"
        assert "(None, " not in text.split("\n\n")[0]
    for line in rows:  # no line carries the rest of a name: a Layer cell is a tree row or blank
        cell = line[:layer_width].strip()
        assert not cell or cell[0] in "│├└" or cell == "(own weights)", line


def test_long_names_keep_their_start_and_end() -> None:
    text = render_table(build_report(long_names_model()), TableOptions(width=60)).plain
    assert "transformer_layer_11" in text  # short enough to stay whole
    assert re.search(r"└── classification_head_\w+…_wide +\(\?,10\)", text), text
    assert "(?,128,768)…+2" in text  # several outputs: the first and a count


def test_shapes_shorten_in_the_documented_forms() -> None:
    several = ((None, 28, 28, 8), (None, 14, 14, 8), (None, 7, 7, 8))
    assert [shapes(several[:1], form) for form in range(5)] == [
        "(None, 28, 28, 8)", "(None,28,28,8)", "(?,28,28,8)", "(?,28,28,8)", "(?,…,8)"]  # fmt: skip
    assert shapes(several, 0) == "(None, 28, 28, 8)\n(None, 14, 14, 8)\n(None, 7, 7, 8)"
    assert shapes(several, 3) == "(?,28,28,8)…+2"
    assert shapes(((None,),), 2) == "(?,)" and shapes((None,), 4) == "?" and shapes((), 4) == "-"


def test_chosen_columns_stay_until_nothing_else_gives() -> None:
    report = build_report(long_names_model())
    chosen = ("type", "shape", "params", "connected")
    wide = render_table(report, TableOptions(width=120, columns=chosen)).plain
    assert_fits(wide, 120)
    assert headers(wide) == ["Layer", "Type", "Output shape", "Params", "Connected to"]
    assert "…" in wide  # names cut before a chosen column leaves
    narrow = render_table(report, TableOptions(width=60, columns=chosen)).plain
    assert_fits(narrow, 60)
    assert headers(narrow) == ["Layer", "Output shape", "Params"]  # Connected to, then Type: DROP_ORDER
    assert columns(report, View(report), TableOptions(columns=chosen)) == ["Layer", *headers(wide)[1:]]


def test_static_table_fits() -> None:
    report = build_report(static_model())
    assert report.static
    natural = render_table(report).plain
    for width in WIDTHS:
        text = render_table(report, TableOptions(width=width)).plain
        assert_fits(text, width)
        assert "Layer / variable" in text and "Params" in text
        for variable in report.variables:
            leaf = variable.path.rpartition("/")[2]
            assert re.search(rf"(── |…){leaf}\b", text), (leaf, text)
    assert "Dtype" in natural and "Dtype" not in render_table(report, TableOptions(width=60)).plain


def test_footer_wraps_between_words() -> None:
    report = build_report(long_names_model())
    natural = render_table(report).plain.split("\n\n", 1)[1]
    for width in WIDTHS:
        footer = render_table(report, TableOptions(width=width)).plain.split("\n\n", 1)[1]
        assert all(cell_len(line) <= width for line in footer.splitlines())
        words, natural_words = footer.split(), natural.split()
        assert len(words) == len(natural_words)  # the same words in the same order, none split ...
        for word, whole in zip(words, natural_words):  # ... but one wider than a whole line, cut in its middle
            assert word == whole or (cell_len(whole) > width - 2 and cut_forms(whole, word)), (word, whole)


def test_wrap_and_truncate() -> None:
    assert truncate(Text("transformer_layer_11"), 18).plain == "transformer_la…_11"
    assert truncate(Text("│   ├── transformer_layer_11"), 20, keep=8).plain == "│   ├── transfor…_11"
    assert truncate(Text("short"), 10).plain == "short"
    line = Text("Compute: 1.512 MMACs / sample (3.062 MFLOPs) · activations 67.66 KB / sample")
    assert wrap(line, 60).plain == "Compute: 1.512 MMACs / sample (3.062 MFLOPs) ·\n  activations 67.66 KB / sample"
    assert wrap(line, None) is line
    assert wrap(Text("x " + "y" * 80), 60).plain == "x\n  " + "y" * 38 + "…" + "y" * 19


# -- the stats table ------------------------------------------------------------------------------------


def _stats(report: Report):
    values = [(v, (np.arange(int(np.prod(v.shape))) % 7 - 3).reshape(v.shape).astype(v.dtype) / 10)
              for v in report.variables]  # fmt: skip
    return compute_stats(report, values)


def stats_headers(text: str) -> list[str]:
    line = text.splitlines()[1]
    return [h for h in STATS_HEADER if re.search(rf"(^|   ){re.escape(h)}(   |$)", line)]


STATS_ORDER = tuple(h for names in STATS_DROP_ORDER for h in names)


@pytest.mark.parametrize("name", sorted(REPORTS))
@pytest.mark.parametrize("sort", [None, "path"])
@pytest.mark.parametrize("width", WIDTHS)
def test_stats_table_fits(name: str, sort: str | None, width: int) -> None:
    stats = _stats(REPORTS[name]())
    natural = render_stats_table(stats, StatsOptions(sort=sort)).plain
    text = render_stats_table(stats, StatsOptions(sort=sort, width=width)).plain
    assert all(cell_len(line) <= width for line in text.splitlines()), text
    shown = stats_headers(text)
    assert {"Variable", "Shape", "mean", "std"} <= set(shown)
    assert_dropped_in_order(list(STATS_HEADER), shown, STATS_ORDER)
    assert not ("min" in shown) ^ ("max" in shown)  # they leave together
    for variable in stats.variables:
        label = variable.info.path if sort else variable.info.path.rpartition("/")[2]
        assert label in text or any(cut_forms(label, line) for line in text.splitlines()), label
    if sort is None:  # layer titles wrap between words
        assert text.split("\n\n")[-1].split() == natural.split("\n\n")[-1].split()


def test_stats_drops_columns_by_width() -> None:
    stats = _stats(build_report(residual_model()))
    expected = {120: list(STATS_HEADER), 80: ["Variable", "Shape", "mean", "std", "min", "max", "zeros", "NaN/Inf"],
                60: ["Variable", "Shape", "mean", "std", "min", "max"]}  # fmt: skip
    for width, shown in expected.items():
        assert stats_headers(render_stats_table(stats, StatsOptions(width=width)).plain) == shown


# -- the real sample through the command line (TensorFlow) -----------------------------------------


SAMPLE = ["samples/hybrid_cnn.py", "--input-shape", "None,28,28,1"]
SAMPLE_HEADERS = {
    120: ["Layer", "Type", "Output shape", "Params", "MACs", "Act. memory"],
    80: ["Layer", "Type", "Output shape", "Params", "MACs"],
    60: ["Layer", "Output shape", "Params"],
}


def run(args: list[str], env: dict[str, str]) -> str:
    result = subprocess.run([sys.executable, "-m", "modelscope", *args], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.tf
@pytest.mark.xdist_group("width")
@pytest.mark.parametrize("width", WIDTHS)
def test_sample_summary_fits(width: int, cli_env, golden) -> None:
    text = run(["summary", *SAMPLE, "--width", str(width)], cli_env)
    assert_fits(text, width)
    assert headers(text) == SAMPLE_HEADERS[width]
    for name in ("conv2d", "max_pooling2d", "max_pooling2d_1", "MaxPooling2D" if width > 60 else "dense_1"):
        assert re.search(rf"(^|[ ─]){name}(\s|$)", text, re.M), name
    if width in (60, 80):
        golden(f"hybrid_cnn_w{width}.txt", text)


@pytest.mark.tf
@pytest.mark.xdist_group("width")
@pytest.mark.parametrize("width", WIDTHS)
def test_sample_stats_fits(width: int, cli_env) -> None:
    text = run(["stats", *SAMPLE, "--width", str(width)], cli_env)
    assert all(cell_len(line) <= width for line in text.splitlines()), text
    shown = stats_headers(text)
    assert_dropped_in_order(list(STATS_HEADER), shown, STATS_ORDER)
    assert {"Variable", "Shape", "mean", "std"} <= set(shown)


@pytest.mark.tf
@pytest.mark.xdist_group("width")
def test_readme_first_command_fits_80_columns(cli_env) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = re.search(r"modelscope (summary [^\n&|]*)", readme)
    assert command, "no modelscope summary command in the README"
    args = command.group(1).split()
    text = run([*args, "--width", "80"], cli_env)
    assert max(cell_len(line) for line in text.splitlines()) <= 80
    assert "MaxPooling2D" in text and "max_pooling2d_1" in text


def test_width_option_minimum_is_60(cli_env) -> None:
    result = subprocess.run([sys.executable, "-m", "modelscope", "summary", "x.py", "--width", "59"], cwd=ROOT,
                            env=cli_env, capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 2 and "59 is not in the range x>=60" in result.stderr
    for command in ("summary", "stats"):
        out = subprocess.run([sys.executable, "-m", "modelscope", command, "--help"], cwd=ROOT, env=cli_env,
                             capture_output=True, text=True).stdout  # fmt: skip
        assert "--width COLS" in out
