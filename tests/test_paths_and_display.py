"""Stable paths (model/paths.py, model/rename.py) and how results show themselves from Python
(render/views.py, render/pictures.py, the magic's parser). No TensorFlow."""

from __future__ import annotations

import json

import click
import pytest

from modelscope.model.paths import stable_path_map
from modelscope.model.report import Report
from modelscope.model.traced import TracedLayer, TracedModel, build_report
from modelscope.render.table import render_table

from .handmade import residual_model

pytestmark = pytest.mark.xdist_group("fast")


def _layer(path: str, name: str, cls: str, attr: str | None = None) -> TracedLayer:
    parent = path.rpartition("/")[0] or None
    return TracedLayer(path, name, attr, cls, path.count("/") + 1, parent, (), (), 1, True, ())


def _paths(*layers: TracedLayer) -> list[str]:
    mapping = stable_path_map(layers)
    return [mapping[l.path] for l in layers]


def test_automatic_names_renumbered_per_parent_and_attributes_win() -> None:
    assert _paths(
        _layer("sequential_8", "sequential_8", "Sequential", attr="fe"),
        _layer("sequential_8/conv2d_8", "conv2d_8", "Conv2D"),
        _layer("sequential_8/conv2d_9", "conv2d_9", "Conv2D"),
        _layer("sequential_9", "sequential_9", "Sequential"),
        _layer("sequential_9/conv2d_10", "conv2d_10", "Conv2D"),
    ) == ["fe", "fe/conv2d", "fe/conv2d_1", "sequential", "sequential/conv2d"]


def test_chosen_names_are_kept_and_clashes_get_a_suffix() -> None:
    assert _paths(
        _layer("dense_3", "dense_3", "Dense"),
        _layer("dense", "dense", "Dense", attr=None),  # Keras's first automatic name
        _layer("head", "head", "Dense"),  # chosen by the user
        _layer("x", "head", "Dense", attr="head"),  # an attribute with the same name
        _layer("dense_1", "my_dense", "Dense", attr="dense_1"),  # an attribute that looks automatic
    ) == ["dense", "dense_2", "head", "head#2", "dense_1"]


def test_report_paths_are_stable_and_unique_whatever_keras_numbered() -> None:
    def traced(offset: int) -> TracedModel:
        base = residual_model()
        rename = {"stem": f"dense_{offset}", "tied": f"dense_{offset + 1}", "spare": f"dense_{offset + 2}"}

        def p(path: str) -> str:
            head, sep, rest = path.partition("/")
            return rename.get(head, head) + sep + rest

        from dataclasses import replace

        layers = tuple(replace(l, path=p(l.path), name=p(l.path).rpartition("/")[2],
                               parent=None if l.parent is None else p(l.parent)) for l in base.layers)  # fmt: skip
        edges = tuple(replace(e, src=p(e.src), dst=p(e.dst)) for e in base.edges)
        variables = tuple(replace(v, path=p(v.path), layer=p(v.layer)) for v in base.variables)
        inputs = tuple(replace(i, consumers=tuple(map(p, i.consumers))) for i in base.inputs)
        outputs = tuple(replace(o, producers=tuple(map(p, o.producers))) for o in base.outputs)
        model = replace(base.model, name=f"net_{offset}", cls="Net")
        return replace(base, layers=layers, edges=edges, variables=variables, inputs=inputs, outputs=outputs,
                       model=model)  # fmt: skip

    first, second = build_report(traced(3)), build_report(traced(40))

    def without_keras_names(report: Report) -> dict:
        data = report.to_dict()
        for layer in data["layers"]:
            layer.pop("name")
        return data

    assert without_keras_names(first) == without_keras_names(second)
    assert [l.path for l in first.layers] == ["dense", "block", "block/conv", "block/norm", "dense_1", "dense_2"]
    assert [l.name for l in second.layers][0] == "dense_40"  # the Keras name stays, as its own field
    assert first.model.name == "net"  # Keras's automatic number removed from the model's name too
    assert [v.path for v in first.variables][:2] == ["dense/kernel", "block/conv/kernel"]
    assert first.outputs[0].producers == ("dense_1",) and first.inputs[0].consumers == ("dense",)
    assert len({l.path for l in first.layers}) == len(first.layers)


def test_layer_accepts_the_keras_name_and_keras_path() -> None:
    report = build_report(residual_model())
    block = report.layer("block")
    assert report.layer("residual_block") is block  # the Keras name
    assert report.layer("residual_block/conv") is report.layer("block/conv")  # the path of Keras names
    with pytest.raises(KeyError, match="no layer 'nope'; layers: stem, block"):
        report.layer("nope")


def test_schema_1_reports_are_read_with_stable_paths() -> None:
    data = json.loads(build_report(residual_model()).to_json())
    data["schema"] = "modelscope.report/1"
    for layer in data["layers"]:  # as schema 1 wrote them: paths of Keras names
        layer["path"] = layer["path"].replace("block", "residual_block")
        if layer["parent"]:
            layer["parent"] = layer["parent"].replace("block", "residual_block")
    for v in data["variables"]:
        v["path"], v["layer"] = [x.replace("block", "residual_block") for x in (v["path"], v["layer"])]
    for e in data["edges"]:
        e["src"], e["dst"] = [x.replace("block", "residual_block") for x in (e["src"], e["dst"])]
    old = Report.from_dict(data)
    assert old.to_json() == build_report(residual_model()).to_json()
    assert json.loads(old.to_json())["schema"] == "modelscope.report/2"


def test_print_repr_and_html_of_a_report() -> None:
    report = build_report(residual_model())
    assert str(report) == render_table(report).plain  # not a terminal here: the natural width
    assert repr(report) == "<Report net<1> (Net, subclassed): 6 layers, 147 params, input (None, 8)>"
    page = report._repr_html_()
    assert page.startswith('<div class="modelscope">') and "block (residual_block)" in page


def test_rich_prints_the_table_at_the_console_width() -> None:
    from rich.console import Console

    console = Console(width=70, record=True, color_system=None)
    console.print(build_report(residual_model()))
    lines = console.export_text().splitlines()
    assert lines[0] == "net<1> (Net, subclassed)" and max(map(len, lines)) <= 70


def test_pictures_display_as_what_they_are() -> None:
    from modelscope.render.pictures import picture

    svg = picture(b"<svg/>", "svg")
    assert svg == "<svg/>" and svg._repr_svg_() == "<svg/>" and repr(svg) == "<SVG image, 6 characters>"
    png = picture(b"\x89PNG..", "png")
    assert png == b"\x89PNG.." and png._repr_png_() == b"\x89PNG.." and repr(png) == "<PNG image, 6 bytes>"
    assert repr(picture(b"%PDF", "pdf")) == "<PDF document, 4 bytes>"


def test_magic_line_parsing() -> None:
    from modelscope.magic import parse

    view, options = parse("model --input-shape None,28,28,1 --depth 1")
    assert view == "summary" and options["source"] == "model" and options["input_shapes"] == ("None,28,28,1",)
    assert options["depth"] == 1
    view, options = parse("stats 'my models/a.keras' --weights w.weights.h5")
    assert view == "stats" and options["source"] == "my models/a.keras" and options["weights"] == "w.weights.h5"
    view, options = parse("profile model --input-shape None,8 --batch-size 4 --repeat 5 --backward --timing isolated")
    assert view == "profile" and (options["batch_size"], options["repeat"], options["warmup"]) == (4, 5, 3)
    assert options["backward"] and not options["jit"] and options["timing"] == "isolated"
    with pytest.raises(click.BadParameter):
        parse("profile model --timing guessed")
    with pytest.raises(click.UsageError, match="no model given"):
        parse("")
    with pytest.raises(click.UsageError, match="No such option"):
        parse("model --nope")


def test_a_stable_path_always_wins_and_an_ambiguous_keras_name_is_refused() -> None:
    layers = (
        _layer("dense_1", "dense_1", "Dense"),  # Keras numbered these from 1: stable dense, dense_1
        _layer("dense_2", "dense_2", "Dense"),
        _layer("a", "a", "Block"), _layer("a/p", "proj", "Dense", attr="p"),
        _layer("b", "b", "Block"), _layer("b/p", "proj", "Dense", attr="p"),
    )  # fmt: skip
    report = build_report(TracedModel(residual_model().model, (), (), layers, (), (), ()))
    assert [l.path for l in report.layers][:2] == ["dense", "dense_1"]
    assert report.layer("dense_1").name == "dense_2"  # a stable path means that path, whatever Keras called it
    assert report.layer("dense_2").path == "dense_1"  # a Keras name that is no stable path finds its layer
    with pytest.raises(KeyError, match=r"'proj' is the Keras name of 2 layers \(a/p, b/p\): give a stable path"):
        report.layer("proj")


def test_automatic_input_and_output_names_become_stable() -> None:
    from dataclasses import replace

    base = residual_model()
    traced = replace(base, inputs=(replace(base.inputs[0], name="keras_tensor_22"),),
                     outputs=(replace(base.outputs[0], name="dense_9"),),
                     layers=tuple(replace(l, name="dense_9") if l.path == "tied" else l
                                  for l in base.layers))  # fmt: skip
    report = build_report(traced)
    assert report.inputs[0].name == "input"
    assert report.outputs[0].name == "dense" and report.outputs[0].producers == ("dense",)  # its layer's path
    two = replace(base, inputs=(replace(base.inputs[0], name="input_layer_3"), replace(base.inputs[0], name="ids")))
    assert [i.name for i in build_report(two).inputs] == ["input_0", "ids"]


def test_a_slash_in_a_foreign_name_does_not_nest() -> None:
    layers = (_layer("x", "</script>", "Dense"),)
    report = build_report(TracedModel(residual_model().model, (), (), layers, (), (), ()))
    assert [l.path for l in report.layers] == ["<_script>"]


def test_python_api_refuses_what_the_cli_refuses() -> None:
    import modelscope
    from modelscope.errors import UsageError

    report = build_report(residual_model())
    with pytest.raises(UsageError, match="42 is of type int, not a Keras model"):
        modelscope.summary(42)
    with pytest.raises(UsageError, match=r"Report is a class: give a model built from it \(Report\(...\)\)"):
        modelscope.inspect(Report)
    with pytest.raises(UsageError, match="a Report holds no weight values"):
        modelscope.stats(report)
    for options, message in (({"width": 10}, "width=10: must be a whole number at least 60"),
                             ({"width": "80"}, "width='80'"), ({"depth": 0}, "depth=0"),
                             ({"batch_size": -3}, "batch_size=-3")):  # fmt: skip
        with pytest.raises(UsageError, match=message):
            modelscope.summary(report, **options)
    assert modelscope.inspect(report) is report
    comparison = modelscope.diff(report, report)  # reports compare without TensorFlow
    assert comparison.architecture is not None and comparison.architecture.equal and comparison.weights is None


def test_a_name_and_its_keras_name_lose_the_keras_name_before_being_cut() -> None:
    from rich.text import Text

    from modelscope.render.layout import truncate

    label = Text("├── blocks[3] (ffn_3_intermediate_dense_output_projection)")
    assert truncate(label, 30, keep=4).plain == "├── blocks[3]"
    assert truncate(Text("├── a_very_long_attribute_name[3] (x_y)"), 20, keep=4).plain == "├── a_very_long_…[3]"


def test_magic_lines_with_spaces_help_and_bad_expressions() -> None:
    from modelscope.magic import _Help, _target, parse

    assert parse("models[ 1 ] --depth 2")[1]["source"] == "models[ 1 ]"
    assert parse("models[-1]")[1]["source"] == "models[-1]"
    with pytest.raises(_Help):
        parse("--help")
    assert _target("samples/hybrid_cnn.py", {}) == "samples/hybrid_cnn.py"  # not Python: a source path
    assert _target("models[0]", {"models": ["m"]}) == "m"
    with pytest.raises(click.UsageError, match=r"could not evaluate 'models\[5\]': IndexError"):
        _target("models[5]", {"models": []})
