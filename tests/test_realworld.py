"""The real-world corpus (tests/corpus.py), found by introspection: every keras-hub backbone that
builds from a small config, keras-hub task models, every keras.applications model (weights=None),
and GPT-2 small and BERT base at full size. For each, as ``summary``, ``graph`` and ``stats`` do:
totals equal to Keras's, output shapes equal to what Keras says (or, where Keras's own spec is
wrong, to what the model really returns), a graph Graphviz renders, no health flag on fresh
weights. Expected figures come from Keras, computed here.

Each family runs in one pytest-xdist worker (``xdist_group``); ``-m "not tf"`` skips collecting
the corpus (that would import TensorFlow and keras-hub).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

import modelscope
from modelscope.analysis.stats import compute_stats
from modelscope.api import open_source
from modelscope.model.inputs import make_input_spec
from modelscope.render.graphviz import render_graph

pytestmark = pytest.mark.tf


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "entry" not in metafunc.fixturenames:
        return
    if "not tf" in (metafunc.config.option.markexpr or ""):
        metafunc.parametrize("entry", [])  # deselected anyway; enumerating would import keras-hub
        return
    from .corpus import corpus

    params = [
        pytest.param(e, id=e.id, marks=[pytest.mark.xdist_group(e.family), *([pytest.mark.slow] if e.slow else [])])
        for e in corpus()
    ]  # fmt: skip
    metafunc.parametrize("entry", params)


def _size(variables: list[Any]) -> int:
    return sum(math.prod(int(d) for d in v.shape) for v in variables)


def _real_outputs(model: Any) -> list[tuple[int | None, ...]] | None:
    """What the model really returns for a batch of 2 (unknown lengths 5), or None if it cannot be
    run on such made-up inputs."""
    import keras

    def value(t: Any) -> Any:
        shape = tuple((2 if i == 0 else 5) if d is None else d for i, d in enumerate(t.shape))
        dtype = str(t.dtype)
        return keras.random.uniform(shape, dtype=dtype) if "float" in dtype else keras.ops.zeros(shape, dtype)

    try:
        real = {id(t): value(t) for t in keras.tree.flatten(model.inputs)}
        result = model(keras.tree.map_structure(lambda t: real[id(t)], model._inputs_struct))
    except Exception:
        return None
    return [tuple(t.shape) for t in keras.tree.flatten(result)]


def _agrees(ours: tuple[int | None, ...] | None, real: tuple[int, ...]) -> bool:
    """Our shape holds for the real output: same rank, every size we print is the real one."""
    return ours is not None and len(ours) == len(real) and all(d is None or d == r for d, r in zip(ours, real))


# keras-hub layers whose compute_output_shape disagrees with their own call() (read in keras-hub
# 0.32's source); modelscope traces the call, so it shows what call() returns. Each maps an
# output index to the true shape, derived from Keras's own figures the way call() derives it.
SPEC_BUGS = {
    # SAM3MaskDecoder: einsum("bqc,bhwc->bhwq") ends in the number of queries (pred_boxes' axis 1),
    # its compute_output_shape says hidden_dim; SAM3BoxDecoder returns presence_logits[:, -1]
    # (axis 1 dropped), its compute_output_shape keeps it.
    "hub/SAM3PromptableConceptBackbone": lambda k: {2: (*k[2][:3], k[0][1]), 3: (k[3][0], k[3][2])},
}


def test_corpus_model(entry: Any, keras_fresh, tmp_path: Path) -> None:
    model = entry.make()
    opened = open_source(model, make_input_spec())
    report = opened.report

    # counts: Keras's own
    assert report.totals.params == model.count_params()
    assert report.totals.trainable == _size(model.trainable_weights)
    assert report.totals.non_trainable == _size(model.non_trainable_weights)
    if entry.expected_params is not None:
        assert report.totals.params == entry.expected_params

    # shapes: Keras's symbolic outputs, or where they differ, the model's real output
    import keras

    declared = [tuple(t.shape) for t in keras.tree.flatten(model.outputs)]
    ours = [o.shape for o in report.outputs]
    assert len(ours) == len(declared)
    expected = list(declared)
    for index, shape in SPEC_BUGS.get(entry.id, lambda k: {})(declared).items():
        expected[index] = shape
    if ours != expected:
        real = _real_outputs(model)
        assert real is not None, f"{ours} != Keras's {expected}, and the model cannot be run to tell"
        assert all(_agrees(o, r) for o, r in zip(ours, real)), f"{ours} vs real {real} (Keras says {declared})"
        # a size Keras knows correctly is never lost
        assert all(e is None or e != r or o == e for oo, ee, rr in zip(ours, expected, real)
                   for o, e, r in zip(oo or (), ee, rr))  # fmt: skip

    # graph: the DOT renders
    assert b"<svg" in render_graph(report.to_dot(), "svg")

    # stats: every variable read, no flag on fresh weights
    stats = compute_stats(report, opened.values(), spectral_metrics=False)
    assert sum(v.info.count for v in stats.variables) == report.totals.params
    assert [(f.path, f.rule) for f in stats.flags] == []
    assert modelscope.Report.from_json(report.to_json()) == report

    # weightless (what summary does for a model built from code): the same report, no value allocated
    from modelscope.trace.weightless import weightless

    with weightless():
        light = entry.make()
        assert not any(v._value is not None for v in light.weights)  # truly without values
        light_report = open_source(light, make_input_spec()).report
    assert _without_keras_names(light_report) == _without_keras_names(report)

    # without code: saved as .keras and read as data, Keras's count; where the configuration lists
    # every layer (keras.applications), the same layers, classes, trainable split and connections
    model.save(tmp_path / "model.keras")
    free = modelscope.inspect(str(tmp_path / "model.keras"), no_code=True)
    assert free.totals.params == report.totals.params
    if entry.family == "app":  # by Keras name: automatic names are renumbered in the configuration's
        assert free.totals.trainable == report.totals.trainable  # order there, in call order by a trace
        assert sorted((l.name, l.cls, l.params) for l in free.layers) == sorted(
            (l.name, l.cls, l.params) for l in report.layers)  # fmt: skip

        def named_edges(r: modelscope.Report) -> set[tuple[str, str]]:
            name = {l.path: l.name for l in r.layers}
            return {(name[e.src], name[e.dst]) for e in r.edges}

        assert named_edges(free) == named_edges(report) and len(free.inputs) == len(report.inputs)


def _without_keras_names(report: modelscope.Report) -> dict[str, Any]:
    """The report as JSON, but for the Keras names, which count the layers built before. A cost
    note naming the op whose size is unknown keeps only why: which of several such ops comes
    first in a scratch graph may differ (SAM3's mask decoder: ``If`` or ``TensorScatterUpdate``)."""
    data = report.to_dict()
    for layer in data["layers"]:
        layer.pop("name")
        if layer.get("macs") is None and layer.get("cost_note", "").endswith(": a dimension is unknown"):
            layer["cost_note"] = "a dimension is unknown"
    return data


KERAS_HUB_SOURCE = '''import keras_hub

def build_model():
    return keras_hub.models.{cls}({args})
'''
CLI_MODELS = {  # the classes behind the two failures users met first: GELU as a function, sparse specs
    "BertTextClassifier": "backbone=keras_hub.models.BertBackbone(vocabulary_size=64, num_layers=2, num_heads=2, "
                          "hidden_dim=16, intermediate_dim=32, max_sequence_length=16), num_classes=2, "
                          "preprocessor=None",
    "GemmaBackbone": "vocabulary_size=64, num_layers=2, num_query_heads=2, num_key_value_heads=1, hidden_dim=16, "
                     "intermediate_dim=32, head_dim=8",
}  # fmt: skip


@pytest.mark.xdist_group("task")
@pytest.mark.parametrize("cls", sorted(CLI_MODELS))
def test_keras_hub_models_through_the_cli(cls: str, tmp_path, cli_env, keras_fresh) -> None:
    import json
    import subprocess
    import sys

    import keras_hub

    code = KERAS_HUB_SOURCE.format(cls=cls, args=CLI_MODELS[cls])
    (tmp_path / "hub_model.py").write_text(code)
    expected = eval(f"keras_hub.models.{cls}({CLI_MODELS[cls]})", {"keras_hub": keras_hub}).count_params()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "modelscope", *args, "hub_model.py"], cwd=tmp_path, env=cli_env,
                              capture_output=True, text=True, timeout=300)  # fmt: skip

    summary = run("summary", "--format", "json")
    assert summary.returncode == 0, summary.stderr
    assert json.loads(summary.stdout)["totals"]["params"] == expected
    graph = run("graph", "-o", "g.svg")
    assert graph.returncode == 0, graph.stderr
    assert (tmp_path / "g.svg").read_text().startswith("<?xml")
    stats = run("stats", "--check", "--no-spectral")
    assert stats.returncode == 0, stats.stderr + stats.stdout
    assert "No health flags." in stats.stdout
