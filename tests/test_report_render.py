"""The report and its renderers on hand-built reports: no TensorFlow needed."""

from __future__ import annotations

import json

import pytest

from modelscope.analysis.view import View
from modelscope.model.report import Report
from modelscope.model.traced import build_report
from modelscope.render.markdown import render_markdown
from modelscope.render.table import TableOptions, render_table

from .handmade import residual_model


@pytest.fixture
def report() -> Report:
    return build_report(residual_model())


def test_totals_count_shared_variables_once_and_bytes_follow_dtypes(report: Report) -> None:
    t = report.totals
    assert (t.params, t.trainable, t.non_trainable) == (64 + 64 + 8 + 8 + 3, 64 + 64 + 8 + 3, 8)
    assert t.bytes == 64 * 4 + 64 * 4 + 8 * 2 + 8 * 4 + 3 * 4
    assert t.trainable_bytes == t.bytes - 8 * 4
    block = report.layer("block")
    assert (block.params, block.trainable, block.non_trainable) == (80, 72, 8)
    assert report.layer("tied").params == 64  # the shared kernel counts for the layer too
    assert report.layer("block/norm").depth == 2 and report.layer("block/norm").parent == "block"


def test_json_round_trip_is_exact(report: Report) -> None:
    text = report.to_json()
    data = json.loads(text)
    assert data["schema"] == "modelscope.report/2"
    assert set(data) >= {"model", "inputs", "outputs", "totals", "layers", "edges"}
    assert data["layers"][1] | {} == {
        "path": "block", "name": "residual_block", "attr": "block", "class": "Residual", "depth": 1,
        "parent": None, "input_shapes": [[None, 8]], "output_shapes": [[None, 8]], "params": 80,
        "trainable": 72, "non_trainable": 8, "bytes": 64 * 4 + 8 * 2 + 8 * 4, "calls": 1, "built": True,
        "macs": None, "flops": None, "activation_bytes": None,  # a hand-made report: no costs computed
    }  # fmt: skip
    assert '"shape": [null, 8]' in text
    assert Report.from_json(text) == report


def test_from_dict_refuses_other_documents() -> None:
    with pytest.raises(ValueError, match="not a modelscope report"):
        Report.from_dict({"schema": "something/2"})


def test_view_folds_edges_into_visible_layers(report: Report) -> None:
    full = View(report).sources()
    assert full["block/norm"] == ["stem", "block/conv"]
    assert "block" not in full  # an expanded block's inputs are shown on its children
    assert full["tied"] == ["block", "tied"]
    folded = View(report, depth=1).sources()
    assert folded == {"stem": ["input:x"], "block": ["stem"], "tied": ["block", "tied"]}
    assert not View(report).is_chain()


def test_table_golden(report: Report, golden) -> None:
    golden("table_handmade.txt", render_table(report).plain)


def test_table_fits_the_width_without_splitting_names(report: Report, golden) -> None:
    natural = render_table(report).plain.splitlines()[2]
    text = render_table(report, TableOptions(width=95)).plain
    assert len(natural) > 95 >= max(len(line) for line in text.splitlines())
    assert "├── block (residual_block)   Residual" in text  # whole: a column left instead (tests/test_width.py)
    assert "Connected to" not in text
    golden("table_handmade_w95.txt", text)


def test_table_depth_folds_children(report: Report) -> None:
    text = render_table(report, TableOptions(depth=1)).plain
    assert "conv" not in text and "block" in text and "80" in text


def test_table_columns_sum_to_the_totals(report: Report) -> None:
    # the top-level rows plus the model's own weights add up to the footer's total, less sharing
    top = sum(l.params for l in report.children(None)) + sum(v.count for v in report.variables if v.layer == "")
    shared = report.layer("tied").params  # counted under block/conv and tied
    assert top - shared == report.totals.params
    text = render_table(report).plain
    assert "Total params: 147 (572.00 B)" in text
    assert "(own weights)" in text and "unbuilt" in text and "not called" in text


def test_markdown_golden_and_escaping(report: Report, golden) -> None:
    text = render_markdown(report)
    assert "### `net<1>` (`Net`, subclassed)" in text
    assert "| ├──\u00a0`block (residual_block)` | `Residual` | `(None, 8)` | 80 | 1 |" in text
    golden("markdown_handmade.md", text)
