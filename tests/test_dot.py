"""The DOT renderer and Graphviz rendering on hand-made reports (no TensorFlow)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest

from modelscope.errors import GraphvizError
from modelscope.model.report import Edge
from modelscope.model.traced import build_report
from modelscope.render.dot import GraphOptions, render_dot
from modelscope.render.graphviz import render_graph

from .handmade import residual_model

HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="system Graphviz ('dot') is not installed; .ci/run installs it")


@pytest.fixture
def report():
    return build_report(residual_model())


def test_dot_golden(report, golden) -> None:
    golden("handmade.dot", render_dot(report))


def test_clusters_edges_loops_and_marks(report) -> None:
    dot = render_dot(report)
    assert "subgraph cluster_block {" in dot
    assert '"/input/x" -> stem' in dot
    assert 'stem -> "block/norm"' in dot and '"block/conv" -> "block/norm"' in dot  # the residual
    assert "stem -> block" not in dot  # an expanded block's input is drawn into its children
    assert "tied -> tied" in dot  # a layer applied to its own output
    assert "tied ×3" in dot
    assert 'tied -> "/output/output"' in dot
    assert "unbuilt" in dot and "dashed" in dot


def test_depth_collapses_blocks_into_boxes(report) -> None:
    dot = render_dot(report, GraphOptions(depth=1))
    assert "cluster_block" not in dot and "block/conv" not in dot
    assert "stem -> block" in dot and "block -> tied" in dot


def test_ops_node_for_a_container_that_computes_its_own_output(report) -> None:
    traced = residual_model()
    edges = traced.edges + (Edge("block/norm", "block", True), Edge("stem", "block", True))
    dot = render_dot(build_report(replace(traced, edges=edges)))
    assert '"block/norm" -> "/ops/block"' in dot and 'stem -> "/ops/block"' in dot
    assert '"/ops/block" -> tied' in dot  # the block's output leaves from its own ops


def test_edge_shapes_and_rankdir(report) -> None:
    dot = render_dot(report, GraphOptions(edge_shapes=True, rankdir="LR", legend=False))
    assert 'stem -> "block/conv" [label="(None, 8)"]' in dot
    assert "rankdir=LR" in dot and "legend" not in dot


HOSTILE = 'a"b<c>&{d}é:x'


@pytest.fixture
def hostile_report(report):
    traced = residual_model()
    layers = tuple(replace(l, name=HOSTILE, path=HOSTILE) if l.path == "stem" else l for l in traced.layers)
    edges = tuple(Edge(HOSTILE if e.src == "stem" else e.src, e.dst, e.ops) for e in traced.edges)
    inputs = (replace(traced.inputs[0], name="<in>", consumers=(HOSTILE,)),)
    model = replace(traced.model, name='m"</text><script>')
    return build_report(replace(traced, layers=layers, edges=edges, inputs=inputs, model=model))


def _svg_texts(svg: bytes) -> list[str]:
    root = ET.fromstring(svg)  # well-formed: nothing was injected
    assert not [e for e in root.iter() if e.tag.endswith("script")]
    return ["".join(e.itertext()) for e in root.iter() if e.tag.endswith("text")]


def test_hostile_names_are_escaped_in_dot(hostile_report) -> None:
    dot = render_dot(hostile_report)
    assert "a&quot;b&lt;c&gt;&amp;{d}é:x" in dot
    assert '"a\\"b%3Cc%3E&{d}é%3Ax"' in dot  # the node id: quoted, ':' (a port) and '<>' (HTML) encoded
    assert "<script>" not in dot


@needs_dot
def test_hostile_names_render_with_system_graphviz(hostile_report) -> None:
    texts = _svg_texts(render_graph(render_dot(hostile_report), "svg"))
    assert HOSTILE in texts and "<in>" in texts


def test_hostile_names_render_with_the_portable_fallback(hostile_report, monkeypatch) -> None:
    monkeypatch.setattr("modelscope.render.graphviz.system_dot", lambda: None)
    texts = _svg_texts(render_graph(render_dot(hostile_report), "svg"))
    assert HOSTILE in texts


def test_pdf_without_system_graphviz_says_how_to_install_it(report, monkeypatch) -> None:
    monkeypatch.setattr("modelscope.render.graphviz.system_dot", lambda: None)
    with pytest.raises(GraphvizError, match="apt-get install graphviz.*SVG, PNG and DOT work without it"):
        render_graph(render_dot(report), "pdf")
    assert render_graph(render_dot(report), "png").startswith(b"\x89PNG")


@needs_dot
@pytest.mark.parametrize(("fmt", "magic"), [("png", b"\x89PNG"), ("pdf", b"%PDF"), ("svg", b"<?xml")])
def test_system_graphviz_formats(report, fmt: str, magic: bytes) -> None:
    assert render_graph(render_dot(report), fmt).startswith(magic)


def test_fallback_output_stays_off_stdout(report, tmp_path) -> None:
    """With no 'dot' on PATH: SVG through the portable renderer on stdout, nothing else; PDF refused."""
    saved = tmp_path / "r.json"
    saved.write_text(report.to_json())
    env = dict(os.environ, PATH=os.path.dirname(sys.executable))
    out = subprocess.run([sys.executable, "-m", "modelscope", "graph", str(saved), "-o", "-"],
                         capture_output=True, env=env, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(b"<?xml") and out.stdout.rstrip().endswith(b"</svg>")
    pdf = subprocess.run([sys.executable, "-m", "modelscope", "graph", str(saved), "-o", str(tmp_path / "g.pdf")],
                         capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert pdf.returncode == 1 and "needs the Graphviz 'dot' program" in pdf.stderr
    assert not (tmp_path / "g.pdf").exists()


def test_api_renders_reports_for_jupyter_and_files(report) -> None:
    import modelscope

    svg = modelscope.graph(report)
    assert isinstance(svg, str) and svg._repr_svg_() == svg  # a notebook shows the picture
    assert svg.startswith("<?xml") and "stem" in svg and repr(svg) == f"<SVG image, {len(svg):,} characters>"
    dot = modelscope.graph(report, format="dot")
    assert dot == render_dot(report) and dot._repr_svg_().startswith("<?xml")
    png = modelscope.graph(report, format="png", depth=1)
    assert png.startswith(b"\x89PNG") and png._repr_png_() == bytes(png)
    assert not hasattr(report, "_repr_svg_")  # a report shows as its table (HTML), the graph on request
    assert report.to_dot(rankdir="LR") == render_dot(report, GraphOptions(rankdir="LR"))


# -- graph --profile: boxes coloured by their share of the forward time ----------------------------


def _fills(dot: str) -> dict[str, str]:
    """Node id -> fill colour, for the layer boxes (not inputs, outputs or the legend)."""
    import re

    found = re.findall(r'^\s*"?([\w/]+)"? \[label=<.*fillcolor="(#[0-9a-f]{6})"', dot, re.M)
    return {node: fill for node, fill in found if not node.startswith("/")}


def test_profile_colours_boxes_by_share(report) -> None:
    from modelscope.render.dot import NOT_TIMED, SHARE_COLOURS

    from .test_profile import handmade_profile

    profile = handmade_profile()
    dot = render_dot(report, GraphOptions(), profile)
    fills = _fills(dot)
    timed = sorted((p for p in fills if profile.timing(p)), key=lambda p: profile.share(p) or 0)
    assert timed == ["stem", "block/norm", "tied", "block/conv"]  # by share: 10%, 15%, 30%, 50%
    steps = [SHARE_COLOURS.index(fills[p]) for p in timed]
    assert steps == sorted(steps) and fills["block/conv"] == SHARE_COLOURS[-1]  # the heaviest is the darkest
    assert fills["spare"] == NOT_TIMED  # never called: no time
    assert "<b>1.000 ms · 50.0%</b>" in dot and "1.500 ms · 75.0%" in dot  # box, and the block's cluster
    assert "0.600 ms · 30.0% (all 3 calls)" in dot
    assert "forward time share" in dot and "41.7%–50.0% of the model&#x27;s time" not in dot
    assert "41.7%–50.0% of the model's time" in dot and '"/legend/not timed"' in dot
    assert "forward 2.000 ms (whole model, median) at batch 4 on CPU" in dot
    assert "trainable params" not in dot  # the parameter legend gives way: fill means time here
    top = _fills(render_dot(report, GraphOptions(depth=1), profile))
    assert top["block"] == SHARE_COLOURS[-1] and "block/conv" not in top  # a folded block: its own time
    assert render_dot(report) == render_dot(report, GraphOptions(), None)  # unchanged without a profile


def test_profile_of_another_model_is_refused(report) -> None:
    from modelscope.errors import UsageError

    from .test_profile import handmade_profile

    other = handmade_profile({"stem": "embed"})
    with pytest.raises(UsageError, match=r"no layer 'stem' of this model.*same input shape"):
        render_dot(report, GraphOptions(), other)
    wider = replace(report, inputs=(replace(report.inputs[0], shape=(None, 16)),))
    with pytest.raises(UsageError, match=r"measured on inputs \(None, 8\), this model is traced on \(None, 16\)"):
        render_dot(wider, GraphOptions(), handmade_profile())


def test_cli_and_api_graph_with_a_profile(report, tmp_path, cli_env) -> None:
    import modelscope

    from .conftest import ROOT
    from .test_profile import handmade_profile

    saved, timed, other = tmp_path / "r.json", tmp_path / "p.json", tmp_path / "o.json"
    saved.write_text(report.to_json())
    timed.write_text(handmade_profile().to_json())
    other.write_text(handmade_profile({"tied": "shared"}).to_json())
    dot = modelscope.graph(report, format="dot", profile=handmade_profile())
    assert dot == modelscope.graph(report, format="dot", profile=str(timed)) and "forward time share" in dot

    def graph(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "modelscope", "graph", str(saved), *args], cwd=ROOT,
                              env=cli_env, capture_output=True, text=True, timeout=120)  # fmt: skip

    out = graph("--profile", str(timed), "-o", "-", "--format", "dot")
    assert out.returncode == 0, out.stderr
    assert out.stdout == dot
    out = graph("--profile", str(other), "-o", "-", "--format", "dot")
    assert out.returncode == 2 and out.stdout == ""
    assert "no layer 'tied'" in out.stderr and "profile the same source with the same input shape" in out.stderr
    out = graph("--profile", str(saved), "-o", "-", "--format", "dot")  # a report, not a profile
    assert out.returncode == 2 and "not a modelscope profile JSON" in out.stderr
    out = graph("--profile", str(timed), "-o", str(timed), "--format", "dot")
    assert out.returncode == 2 and "which this run reads" in out.stderr
