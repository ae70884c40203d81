"""`modelscope graph` on real models: golden DOT, the SVG a user gets, the CLI and the API."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import modelscope
from modelscope.render.dot import GraphOptions, render_dot

from .conftest import ROOT, SAMPLES

pytestmark = pytest.mark.tf

CASES = {
    "hybrid_cnn": "None,28,28,1",
    "sequential": "None,10",
    "subclassed": "None,10",
    "functional_two_heads": None,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_sample_dot_golden(keras_fresh, golden, monkeypatch, name: str) -> None:
    monkeypatch.chdir(ROOT)
    report = modelscope.inspect(f"samples/{name}.py", CASES[name])
    golden(f"{name}.dot", render_dot(report))
    assert render_dot(report) == render_dot(modelscope.Report.from_json(report.to_json()))


def test_hybrid_svg_has_every_layer_both_clusters_and_the_shapes(keras_fresh) -> None:
    report = modelscope.inspect(str(SAMPLES / "hybrid_cnn.py"), "None,28,28,1")
    svg = modelscope.graph(report)
    root = ET.fromstring(svg)
    texts = {"".join(e.itertext()) for e in root.iter() if e.tag.endswith("text")}
    for layer in report.layers:
        if layer.depth == 2:
            assert layer.name in texts
    assert {"fe", "classifier"} <= texts
    assert {"(None, 28, 28, 8)", "(None, 14, 14, 8)", "(None, 7, 7, 32)", "(None, 1568)", "(None, 10)"} <= texts
    clusters = [g for g in root.iter() if g.get("class") == "cluster"]
    titles = {"".join(g.find("{http://www.w3.org/2000/svg}title").itertext()) for g in clusters}
    assert {"cluster_fe", "cluster_classifier"} <= titles


def test_shared_layer_loop_and_residuals_draw_true_edges(keras_fresh) -> None:
    from tests.models import LoopNet

    dot = render_dot(modelscope.inspect(LoopNet(), (None, 16)))
    assert "shared -> shared" in dot  # applied three times
    assert "shared ×3" in dot
    assert 'stem -> "blocks[0]/norm"' in dot  # the residual add inside block0
    assert '"blocks[0]/inner/dense_1" -> "blocks[0]/norm"' in dot
    assert 'head -> "/output/output"' in dot
    assert "unbuilt" in dot  # the unused layer is drawn, marked


def test_unroll_draws_one_box_per_call(keras_fresh) -> None:
    from tests.models import LoopNet

    report = modelscope.inspect(LoopNet(), (None, 16))
    assert [(c.layer, c.index) for c in report.calls] == [("shared", 0), ("shared", 1), ("shared", 2)]
    dot = render_dot(report, GraphOptions(unroll=True, unfold=True))  # both blocks (identical: one box by default)
    edges = [line.strip() for line in dot.splitlines() if "->" in line]
    chain = ['"blocks[1]/norm" -> "/call/0/shared"', '"/call/0/shared" -> "/call/1/shared"',
             '"/call/1/shared" -> "/call/2/shared"', '"/call/2/shared" -> bn']  # fmt: skip
    assert [e for e in edges if "shared" in e] == chain
    assert "shared (call 2 of 3)" in dot and "shared ×3" not in dot
    assert modelscope.Report.from_json(report.to_json()).to_dot(unroll=True, unfold=True) == dot
    folded = render_dot(report, GraphOptions(unroll=True))
    assert '"blocks[0]/norm" -> "/call/0/shared"' in folded and "blocks[1]" not in folded


def test_depth_one_shows_only_top_level_blocks(keras_fresh) -> None:
    from tests.models import LoopNet

    report = modelscope.inspect(LoopNet(), (None, 16))
    dot = render_dot(report, GraphOptions(depth=1, unfold=True))
    assert "cluster_blocks[0]" not in dot and "blocks[0]/" not in dot
    assert 'stem -> "blocks[0]"' in dot and '"blocks[0]" -> "blocks[1]"' in dot and '"blocks[1]" -> shared' in dot
    folded = render_dot(report, GraphOptions(depth=1))  # the two identical blocks: one box
    assert "blocks[0…1] ×2 (block0…1)" in folded and "blocks[1]" not in folded
    assert 'stem -> "blocks[0]"' in folded and '"blocks[0]" -> shared' in folded


def test_container_with_its_own_output_ops_gets_an_ops_node(keras_fresh) -> None:
    from keras import layers

    inputs = keras_fresh.Input((6, 4), name="seq")
    outputs = layers.Bidirectional(layers.LSTM(3), name="bi")(inputs)
    dot = render_dot(modelscope.inspect(keras_fresh.Model(inputs, outputs)))
    edges = {line.strip() for line in dot.splitlines() if "->" in line}
    assert edges == {
        '"/input/seq" -> "/ops/bi/forward_layer"', '"/input/seq" -> "/ops/bi/backward_layer"',  # the LSTM loops
        '"/input/seq" -> "bi/forward_layer/cell"', '"/input/seq" -> "bi/backward_layer/cell"',
        '"/ops/bi/forward_layer" -> "/ops/bi"', '"/ops/bi/backward_layer" -> "/ops/bi"',  # the concatenation
        '"/ops/bi" -> "/output/bi"',
    }  # fmt: skip


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "modelscope", *args], cwd=cwd, env=env, capture_output=True,
                          timeout=300)  # fmt: skip


def test_cli_default_file_name_and_formats(tmp_path: Path, cli_env) -> None:
    sample = str(SAMPLES / "hybrid_cnn.py")
    result = run(["graph", sample, "--input-shape", "None,28,28,1"], tmp_path, cli_env)
    assert result.returncode == 0, result.stderr
    assert b"wrote cnn__model.svg (SVG," in result.stderr
    assert (tmp_path / "cnn__model.svg").read_bytes().startswith(b"<?xml")
    dot = run(["graph", sample, "--input-shape", "None,28,28,1", "-o", "-", "--format", "dot",
               "--rankdir", "LR", "--edge-shapes", "--show-input-shapes"], tmp_path, cli_env)  # fmt: skip
    assert dot.returncode == 0
    text = dot.stdout.decode()
    assert text.startswith("digraph model {") and "rankdir=LR" in text
    assert 'label="(None, 28, 28, 8)"' in text and "in: (None, 28, 28, 1)" in text
    bad = run(["graph", sample, "--input-shape", "None,28,28,1", "-o", "x.png", "--format", "svg"], tmp_path, cli_env)
    assert bad.returncode == 2 and b"--format svg contradicts -o x.png" in bad.stderr
