"""Identical repeated blocks fold into one row marked ×N (issue #16): the table, Markdown, HTML and
the graph; the report and its JSON never change. Hand-built reports need no TensorFlow; one test
folds a real keras-hub Llama."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from rich.text import Text

from modelscope.analysis.fold import FoldedView, fold, signatures, span
from modelscope.analysis.view import View
from modelscope.model.report import Cost, Edge, InputInfo, ModelInfo, OutputInfo, Report, VariableInfo
from modelscope.model.traced import TracedLayer, TracedModel, build_report
from modelscope.render import render
from modelscope.render.dot import GraphOptions, render_dot
from modelscope.render.html import render_report_html
from modelscope.render.layout import truncate
from modelscope.render.markdown import render_markdown
from modelscope.render.table import FOLDED_NOTE, TableOptions, render_table

from .handmade import residual_model

pytestmark = pytest.mark.xdist_group("fast")

# -- a hand-built stack ------------------------------------------------------------------------


@dataclass
class Spec:
    path: str
    cls: str
    own: tuple[tuple[int, ...], ...] = ()  # shapes of the layer's own variables
    name: str | None = None  # the Keras name (default: the path's last part)
    out: tuple[int | None, ...] = (None, 8)
    calls: int = 1
    macs: int = 0
    config: dict[str, Any] = field(default_factory=dict)


def traced(specs: list[Spec], edges: list[tuple[str, str]], inputs: tuple[InputInfo, ...],
           outputs: tuple[OutputInfo, ...]) -> TracedModel:  # fmt: skip
    """A trace from layer specs: a container holds its sublayers' variables; attributes are the
    paths' parts, so paths stay as written."""
    variables: list[VariableInfo] = []
    owned: dict[str, list[int]] = {}
    for s in specs:
        for k, shape in enumerate(s.own):
            owned_path = s.path
            while owned_path:
                owned.setdefault(owned_path, []).append(len(variables))
                owned_path = owned_path.rpartition("/")[0]
            variables.append(VariableInfo(f"{s.path}/w{k}", s.path, shape, "float32", True))
    layers = tuple(
        TracedLayer(s.path, s.name or s.path.rpartition("/")[2], s.path.rpartition("/")[2], s.cls,
                    s.path.count("/") + 1, s.path.rpartition("/")[0] or None, ((None, 8),), (s.out,), s.calls, True,
                    tuple(owned.get(s.path, ())), cost=Cost(s.macs, 2 * s.macs), activation_bytes=32 * s.calls,
                    config=s.config)
        for s in specs
    )  # fmt: skip
    return TracedModel(
        model=ModelInfo("stack", "Stack", "subclassed", "models/stack.py"),
        inputs=inputs, outputs=outputs, layers=layers,
        edges=tuple(Edge(a, b) for a, b in edges),
        variables=tuple(variables), model_variables=tuple(range(len(variables))), own_cost=Cost(0, 0),
    )  # fmt: skip


def block(path: str, name: str, units: int = 8) -> tuple[list[Spec], list[tuple[str, str]]]:
    """A block: attention, three identical experts (each a container of one Dense), a norm called
    twice; its edges inside."""
    specs = [Spec(path, "Block", name=name, config={"units": units}), Spec(f"{path}/attn", "Dense", ((8, units),),
                                                                        macs=64, config={"units": units})]
    edges = [(f"{path}/attn", f"{path}/experts[0]"), (f"{path}/attn", f"{path}/experts[0]/dense")]
    for j in range(3):
        expert = f"{path}/experts[{j}]"
        specs += [Spec(expert, "Expert"), Spec(f"{expert}/dense", "Dense", ((8, 8),), macs=64)]
        if j:
            edges += [(f"{path}/experts[{j - 1}]/dense", expert), (f"{path}/experts[{j - 1}]/dense", f"{expert}/dense")]
    specs.append(Spec(f"{path}/norm", "LayerNormalization", ((8,),), calls=2))
    edges.append((f"{path}/experts[2]/dense", f"{path}/norm"))
    return specs, edges


def stack_model(n: int = 5, change: dict[int, dict[str, Any]] | None = None) -> TracedModel:
    """``embed``, ``n`` identical blocks (``blocks[i]``, Keras names ``decoder_i``), two identical
    Dense leaves side by side, a block identical to the others but not next to them, a head fed by
    the last block's successor and by ``blocks[2]``; ``mask`` feeds every block. ``change`` alters
    block i's spec (``{"units": 4}``: its config, attention params and output)."""
    specs = [Spec("embed", "Embedding", ((16, 8),))]
    edges = [("embed", "blocks[0]"), ("embed", "blocks[0]/attn"), ("embed", "blocks[0]/norm")]
    for i in range(n):
        units = (change or {}).get(i, {}).get("units", 8)
        more, inner = block(f"blocks[{i}]", f"decoder_{i}", units)
        specs += more
        edges += inner
        if i:
            edges += [(f"blocks[{i - 1}]/norm", f"blocks[{i}]"), (f"blocks[{i - 1}]/norm", f"blocks[{i}]/attn"),
                      (f"blocks[{i - 1}]/norm", f"blocks[{i}]/norm")]  # fmt: skip
    for path in ("pool", "dense_a", "dense_b"):
        specs.append(Spec(path, "Dense" if path != "pool" else "Pooling", ((8, 8),) if path != "pool" else ()))
    more, inner = block("tail_block", f"decoder_{n}")
    specs += more + [Spec("head", "Dense", ((8, 2),), out=(None, 2), macs=16)]
    last = f"blocks[{n - 1}]/norm"
    edges += [(last, "pool"), ("pool", "dense_a"), ("dense_a", "dense_b"), ("dense_b", "tail_block"),
              ("dense_b", "tail_block/attn"), ("dense_b", "tail_block/norm"), *inner, ("tail_block/norm", "head"),
              ("blocks[2]/norm", "head")]  # fmt: skip
    inputs = (InputInfo("x", (None, 8), "int32", ("embed",)),
              InputInfo("mask", (None, 8), "float32", (*(f"blocks[{i}]/attn" for i in range(n)), "tail_block/attn")))
    return traced(specs, edges, inputs, (OutputInfo("output", (None, 2), "float32", ("head",)),))  # fmt: skip


@pytest.fixture
def report() -> Report:
    return build_report(stack_model())


def layer_cells(text: str) -> list[str]:
    """The Layer cell of each table row (the tree guides removed)."""
    rows = text.split("\n\n")[0].splitlines()[3:]
    return [re.split(r" {3,}", row.lstrip("│├└─ "))[0] for row in rows if row.lstrip(" │")[:1] in ("├", "└")]


def row(text: str, name: str) -> str:
    """The table row whose Layer cell is ``name``."""
    found = [line for line in text.splitlines() if re.search(rf"── {re.escape(name)}( {{3,}}|$)", line)]
    assert len(found) == 1, (name, found)
    return found[0]


# -- the rule ------------------------------------------------------------------------------------


def test_a_run_of_identical_blocks_folds_into_one_row_with_one_blocks_figures(report: Report) -> None:
    text = render_table(report).plain
    assert layer_cells(text) == [
        "embed", "blocks[0…4] ×5 (decoder_0…4)", "attn", "experts[0…2] ×3", "dense", "norm",
        "pool", "dense_a", "dense_b", "tail_block (decoder_5)", "attn", "experts[0…2] ×3", "dense", "norm", "head",
    ]  # fmt: skip
    one = report.layer("blocks[3]")  # each block's figures are the same: the row shows one block's
    assert (one.params, one.macs) == (64 + 3 * 64 + 8, 64 + 3 * 64)
    folded = row(text, "blocks[0…4] ×5 (decoder_0…4)")
    assert re.search(r"Block +\(None, 8\) +264 +256 +", folded), folded
    assert re.search(r"── norm +LayerNormalization +\(None, 8\) +8 +2 ", text)  # Calls: 2 per block
    assert "×5" not in render_table(report).plain.split("\n\n")[1].replace(FOLDED_NOTE, "")  # footer: the model's
    assert "blocks[1]" not in text and "decoder_1 " not in text


def test_connected_to_names_the_block_a_folded_run_feeds_from(report: Report) -> None:
    text = render_table(report).plain
    assert row(text, "pool").endswith("blocks[4] (decoder_4)")  # the last block of the run
    head = text.split("── head", 1)[1].split("\n\n")[0]
    assert "blocks[2] (decoder_2)" in head and "norm" in head  # a middle block feeding past the run: named
    attn = text.split("── attn", 1)[1].split("├── experts")[0]
    assert "embed" in attn and "input:mask" in attn and "norm" not in attn  # block i -> i+1: not listed
    norm = text.split("── norm", 1)[1].split("├── pool")[0]
    assert "experts[2]" in norm and "embed" in norm  # the last expert of the inner run


def test_nested_runs_fold_at_both_levels(report: Report) -> None:
    folding = fold(report)
    assert {path: run.count for path, run in folding.runs.items()} == {
        "blocks[0]": 5, "blocks[0]/experts[0]": 3, "tail_block/experts[0]": 3}  # fmt: skip
    assert folding.stand_in("blocks[3]/experts[2]/dense") == "blocks[0]/experts[0]/dense"
    assert folding.hidden_block("blocks[0]/experts[2]/dense") == "blocks[0]/experts[2]"
    assert folding.within_run("blocks[1]/norm", "blocks[2]/attn") and folding.within_run("blocks[3]/attn",
                                                                                         "blocks[3]/norm")
    assert not folding.within_run("blocks[0]/attn", "blocks[0]/norm")
    assert not folding.within_run("blocks[4]/norm", "pool") and not folding.within_run("input:mask", "blocks[1]")


@pytest.mark.parametrize("what", ["config", "params", "shape"])
def test_a_block_that_differs_breaks_the_run(what: str) -> None:
    base = stack_model()
    if what == "config":
        layers = tuple(replace(l, config={"units": 9}) if l.path == "blocks[2]" else l for l in base.layers)
    elif what == "params":  # one more weight in blocks[2]'s norm
        extra = VariableInfo("blocks[2]/norm/beta", "blocks[2]/norm", (8,), "float32", True)
        index = len(base.variables)
        layers = tuple(replace(l, variables=(*l.variables, index)) if l.path in ("blocks[2]", "blocks[2]/norm")
                       else l for l in base.layers)  # fmt: skip
        base = replace(base, variables=(*base.variables, extra), model_variables=(*base.model_variables, index))
    else:
        layers = tuple(replace(l, output_shapes=((None, 9),)) if l.path == "blocks[2]/attn" else l
                       for l in base.layers)  # fmt: skip
    report = build_report(replace(base, layers=layers))
    cells = layer_cells(render_table(report).plain)
    assert [c for c in cells if c.startswith("blocks")] == [
        "blocks[0…1] ×2 (decoder_0…1)", "blocks[2] (decoder_2)", "blocks[3…4] ×2 (decoder_3…4)"]  # fmt: skip


def test_identical_blocks_apart_and_identical_leaves_do_not_fold(report: Report) -> None:
    sig = signatures(report)
    assert sig["tail_block"] == sig["blocks[0]"] and sig["dense_a"] == sig["dense_b"]  # identical, yet:
    cells = layer_cells(render_table(report).plain)
    assert "tail_block (decoder_5)" in cells  # not next to the run
    assert "dense_a" in cells and "dense_b" in cells  # leaves never fold
    assert sig["blocks[0]"] != sig["blocks[0]/experts[0]"]


def test_unfold_gives_every_layer_and_the_table_without_folding(report: Report, golden) -> None:
    text = render_table(report, TableOptions(unfold=True)).plain
    assert len(layer_cells(text)) == len(report.layers)
    assert "×" not in text and FOLDED_NOTE not in text
    golden("table_stack_unfolded.txt", text)  # made by the renderer before folding existed
    for traced_model in (residual_model(),):  # nothing to fold: the same table either way
        plain = build_report(traced_model)
        assert render_table(plain).plain == render_table(plain, TableOptions(unfold=True)).plain
        assert render_markdown(plain) == render_markdown(plain, unfold=True)
        assert render_dot(plain) == render_dot(plain, GraphOptions(unfold=True))


def test_footer_and_json_are_unchanged(report: Report) -> None:
    folded, unfolded = (render_table(report, TableOptions(unfold=u)).plain.split("\n\n", 1)[1] for u in (False, True))
    assert folded.replace(FOLDED_NOTE + "\n", "") == unfolded
    assert "Total params: 1,856 (7.25 KB)" in folded
    assert report.totals.params == sum(v.count for v in report.variables) == 1856
    before = report.to_json()
    for options in (TableOptions(), TableOptions(unfold=True), TableOptions(depth=1)):
        assert render(report, "json", options) == before
    render_table(report)
    render_dot(report)
    assert report.to_json() == before and len(json.loads(before)["layers"]) == len(report.layers) == 59


def test_depth_shows_a_folded_block_as_one_row_fed_by_the_whole_run(report: Report) -> None:
    text = render_table(report, TableOptions(depth=1)).plain
    assert layer_cells(text) == ["embed", "blocks[0…4] ×5 (decoder_0…4)", "pool", "dense_a", "dense_b",
                                 "tail_block (decoder_5)", "head"]  # fmt: skip
    sources = FoldedView(report, 1).sources()
    assert sources["blocks[0]"] == ["embed", "input:mask"]
    assert sources["pool"] == ["blocks[4]"] and sources["head"] == ["tail_block", "blocks[2]"]
    assert View(report, 1).sources()["pool"] == ["blocks[4]"]


def test_goldens_table_markdown_dot(report: Report, golden) -> None:
    golden("table_stack.txt", render_table(report).plain)
    markdown = render_markdown(report)
    assert "| ├──\u00a0`blocks[0…4] ×5 (decoder_0…4)` | `Block` | `(None, 8)` | 264 | 1 | 256 |" in markdown
    assert "- **Folded:** A row marked ×N stands for" in markdown
    assert render(report, "markdown", TableOptions(unfold=True)) == render_markdown(report, unfold=True)
    golden("markdown_stack.md", markdown)
    golden("stack.dot", render_dot(report))


def test_dot_draws_a_run_as_one_cluster_with_edges_in_and_out(report: Report) -> None:
    dot = render_dot(report)
    assert "blocks[0…4] ×5 (decoder_0…4)</b> · Block · 264 params each" in dot
    assert "experts[0…2] ×3</b> · Expert · 64 params each" in dot
    assert not re.search(r'"blocks\[[1-4]\]', dot) and '"tail_block/experts[1]' not in dot  # folded away
    edges = {line.strip() for line in dot.splitlines() if "->" in line}
    assert 'embed -> "blocks[0]/attn"' in edges and '"/input/mask" -> "blocks[0]/attn"' in edges  # in
    assert '"blocks[0]/norm" -> pool' in edges  # out: blocks[4]/norm, drawn from the block shown
    assert '"blocks[0]/norm" -> head' in edges  # out of blocks[2]
    assert '"blocks[0]/norm" -> "blocks[0]/attn"' not in edges  # block i -> i+1: not drawn
    assert '"blocks[0]/experts[0]/dense" -> "blocks[0]/experts[0]/dense"' not in edges
    boxed = render_dot(report, GraphOptions(depth=1))
    assert re.search(r'"blocks\[0\]" \[label=<<b>blocks\[0…4\] ×5 \(decoder_0…4\)</b>.*264 params each.*'
                     r"peripheries=2", boxed)  # fmt: skip
    assert {'embed -> "blocks[0]"', '"blocks[0]" -> pool', '"blocks[0]" -> head'} <= {
        line.strip() for line in boxed.splitlines()}  # fmt: skip
    unfolded = render_dot(report, GraphOptions(unfold=True))
    assert '"blocks[4]/norm" -> pool' in unfolded and "×5" not in unfolded


def test_html_folds_like_the_table(report: Report) -> None:
    page = render_report_html(report)
    assert page.count('class="r d') == 15 and "blocks[0…4] ×5 (decoder_0…4)" in page and "one block" in page
    assert render_report_html(report, TableOptions(unfold=True)).count('class="r d') == len(report.layers)


def test_a_folded_name_cut_to_fit_keeps_its_count() -> None:
    label = Text("├── transformer_layers[0…79] ×80 (transformer_layer_0…79)")
    cuts = [truncate(label, width, keep=4).plain for width in (34, 30, 22)]
    assert cuts == ["├── transformer_layers[0…79] ×80", "├── transformer_layers[0… ×80", "├── transformer_l… ×80"]


def test_span() -> None:
    assert span([f"transformer_layers[{i}]" for i in range(80)]) == "transformer_layers[0…79]"
    assert span([f"blocks[{i}]" for i in range(10, 20)]) == "blocks[10…19]"
    assert span(["layer_9", "layer_10", "layer_11"]) == "layer_9…11"
    assert span(["block", "block_1", "block_2"]) == "block…block_2"
    assert span(["heads[6]", "heads[5]"]) == "heads[6]…heads[5]"  # not counting up: first and last
    assert span(["heads[0]", "heads[2]", "heads[3]"]) == "heads[0]…heads[3]"
    assert span(["a1b2", "a3b4"]) == "a1b2…a3b4" and span(["x"]) == "x"


def test_thousands_of_layers_fold() -> None:
    report = build_report(stack_model(400))  # speed: see the report of issue #16 (tests check no times)
    assert len(report.layers) > 3000
    text = render_table(report).plain
    assert "blocks[0…399] ×400 (decoder_0…399)" in text and len(layer_cells(text)) == 15
    assert "blocks[0…399] ×400" in render_dot(report)


# -- a real Llama (TensorFlow) ---------------------------------------------------------------------


@pytest.mark.tf
@pytest.mark.xdist_group("hub")
def test_llama_decoder_blocks_fold() -> None:
    import keras_hub

    import modelscope

    model = keras_hub.models.Llama3Backbone(vocabulary_size=128, num_layers=6, num_query_heads=4, hidden_dim=16,
                                            intermediate_dim=32, num_key_value_heads=2)  # fmt: skip
    report = modelscope.inspect(model, {"token_ids": "None,8", "padding_mask": "None,8"},
                                {"token_ids": "int32", "padding_mask": "int32"})  # fmt: skip
    folded, unfolded = render_table(report).plain, render_table(report, TableOptions(unfold=True)).plain
    assert folded.count("×6") == 1 and "transformer_layers[0…5] ×6" in folded
    assert len(layer_cells(unfolded)) == len(report.layers) > 2 * len(layer_cells(folded))
    assert len(folded.splitlines()) < len(unfolded.splitlines()) / 2
    assert row(folded, "layer_norm (sequence_output_layernorm)").endswith("transformer_layers[5] (transformer_layer_5)")
    block = report.layer("transformer_layers[0]")
    assert f" {block.params:,} " in row(folded, "transformer_layers[0…5] ×6 (transformer_layer_0…5)")
    assert f"Total params: {model.count_params():,}" in folded
    dot = render_dot(report)
    assert "×6" in dot and '"transformer_layers[5]' not in dot
