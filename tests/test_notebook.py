"""modelscope in a real Jupyter kernel (nbclient + ipykernel): what each call displays.

The notebook is the README's workflow: define the hybrid CNN in a cell, then
``modelscope.summary(model, input_shape=...)``, ``%modelscope``, stats, diff, graph. The
expected figures are Keras's own, computed in the same kernel.
"""

from __future__ import annotations

import html
import json
import re

import nbclient
import nbformat
import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.tf, pytest.mark.xdist_group("notebook")]

def readme_notebook_code() -> str:
    """The README's "In a notebook" example, as a user would paste it into a cell."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## In a notebook") :]
    return section[section.index("```python\n") + len("```python\n") : section.index("```\n\n")]


CELLS = [
    # 0: the model, defined in the notebook as people do
    f"""import os, sys, json
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
sys.path.insert(0, {str(ROOT / "samples")!r})
import numpy as np
import modelscope
from hybrid_cnn import CNN_Model""",
    # 1: Keras's own figures, after a real call
    """ref = CNN_Model()
ref(np.zeros((1, 28, 28, 1), "float32"))
print(json.dumps({"total": ref.count_params(),
                  "fe": [l.count_params() for l in ref.fe.layers],
                  "classifier": [l.count_params() for l in ref.classifier.layers]}))""",
    # 2: where model.summary() would be
    "modelscope.summary(CNN_Model(), input_shape=(None, 28, 28, 1))",
    # 3: the magic
    "%load_ext modelscope\nmodel = CNN_Model()\n%modelscope model --input-shape None,28,28,1",
    # 4: stats
    "modelscope.stats(model, (None, 28, 28, 1))",
    # 5: diff of two builds
    "modelscope.diff(CNN_Model(), CNN_Model(), (None, 28, 28, 1))",
    # 6: graph
    "modelscope.graph(model, (None, 28, 28, 1))",
    # 7: the report itself, built twice: same paths
    """first = modelscope.inspect(CNN_Model(), (None, 28, 28, 1))
second = modelscope.inspect(CNN_Model(), (None, 28, 28, 1))
print([l.path for l in first.layers] == [l.path for l in second.layers])
second""",
    # 8: a mistake gets one line, not a traceback; so does something that is not a model
    "%modelscope no_such_file.py --input-shape None,4\n%modelscope 42\n%modelscope models[5]",
    # 9: the README's example, verbatim
    readme_notebook_code(),
    # 10: a profile displays as its table
    "modelscope.profile(CNN_Model(), (None, 28, 28, 1), batch_size=2, repeat=2, warmup=0)",
    # 11: and through the magic
    "%modelscope profile model --input-shape None,28,28,1 --batch-size 2 --repeat 4 --warmup 0",
]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> list[list[dict]]:
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    folder = tmp_path_factory.mktemp("notebook")
    client = nbclient.NotebookClient(book, timeout=300, kernel_name="python3", allow_errors=False,
                                     resources={"metadata": {"path": str(folder)}})  # fmt: skip
    client.execute()
    (folder / "executed.ipynb").write_text(nbformat.writes(book), encoding="utf-8")
    return [cell.outputs for cell in book.cells]


def _mime(outputs: list[dict], mime: str) -> str:
    found = [o["data"][mime] for o in outputs if "data" in o and mime in o["data"]]
    assert len(found) == 1, f"expected one {mime} output, got {[sorted(o.get('data', {})) for o in outputs]}"
    return found[0] if isinstance(found[0], str) else "".join(found[0])


def _stream(outputs: list[dict], name: str) -> str:
    return "".join(o["text"] for o in outputs if o.get("output_type") == "stream" and o["name"] == name)


def _cells_text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def _in_order(text: str, names: list[str]) -> bool:
    """Each name appears as a whole word, after the one before it."""
    at = 0
    for name in names:
        found = re.compile(rf"(?<![\w.]){re.escape(name)}(?![\w.])").search(text, at)
        if found is None:
            return False
        at = found.end()
    return True


def _keras(outputs: list[list[dict]]) -> dict:
    return json.loads(_stream(outputs[1], "stdout").strip().splitlines()[-1])


def test_summary_displays_the_tree_table_as_html(outputs) -> None:
    page = _mime(outputs[2], "text/html")
    keras = _keras(outputs)
    text = _cells_text(page)
    names = ["fe", "conv2d", "max_pooling2d", "conv2d_1", "max_pooling2d_1", "classifier", "flatten", "dense",
             "dense_1"]  # fmt: skip
    assert _in_order(text, names)
    assert f"{keras['total']:,}" == "107,706" and "107,706" in text
    for count in keras["fe"] + keras["classifier"]:
        assert f"{count:,}" in text
    assert page.count("<details") == 2  # fe and classifier fold; their seven layers inside
    assert "<script" not in page.lower()
    assert not _stream(outputs[2], "stdout")  # displayed, not printed
    plain = _mime(outputs[2], "text/plain")  # front ends without HTML get the table as text
    assert plain.startswith("cnn__model (CNN_Model, hybrid)\n") and "Total params: 107,706" in plain


def test_magic_shows_the_same_table(outputs) -> None:
    page = _mime(outputs[3], "text/html")
    assert page == _mime(outputs[2], "text/html")


def test_stats_displays_html_with_inline_histograms(outputs) -> None:
    page = _mime(outputs[4], "text/html")
    text = _cells_text(page)
    assert _in_order(text, ["fe/conv2d", "kernel", "bias", "fe/conv2d_1", "classifier/dense", "classifier/dense_1",
                            "kernel", "bias"])  # fmt: skip
    assert page.count("<svg") == 8  # one histogram per variable
    assert "No health flags" in text
    plain = _mime(outputs[4], "text/plain")
    assert plain.startswith("<StatsReport") and "\n" not in plain.strip()


def test_diff_displays_html(outputs) -> None:
    page = _mime(outputs[5], "text/html")
    assert "classifier/dense/kernel" in html.unescape(page)
    assert _mime(outputs[5], "text/plain").startswith("<Comparison")


def test_graph_displays_as_svg(outputs) -> None:
    svg = _mime(outputs[6], "image/svg+xml")
    assert "<svg" in svg and "classifier" in svg
    assert _mime(outputs[6], "text/plain").startswith("<SVG image")


def test_paths_do_not_depend_on_what_was_built_before(outputs) -> None:
    assert _stream(outputs[7], "stdout").strip() == "True"
    plain = _mime(outputs[7], "text/plain")
    assert re.fullmatch(r"<Report cnn__model \(CNN_Model, hybrid\): 9 layers, 107,706 params, "
                        r"input \(None, 28, 28, 1\)>", plain)  # fmt: skip
    assert _mime(outputs[7], "text/html") == _mime(outputs[2], "text/html")  # same table, same names


def test_the_readme_example_shows_the_true_table(outputs) -> None:
    pages = ["".join(o["data"]["text/html"]) for o in outputs[9] if "text/html" in o.get("data", {})]
    ours = [p for p in pages if p.startswith('<div class="modelscope">')]
    assert ours == [_mime(outputs[2], "text/html")]  # the README's own class: the same table as the sample's
    theirs = " ".join(p for p in pages if p not in ours) + _stream(outputs[9], "stdout")
    keras = re.sub(r"\s+", " ", _cells_text(theirs))
    assert "0 (unbuilt)" in keras  # what Keras's own summary showed just before


def test_profile_displays_html(outputs) -> None:
    page = _mime(outputs[10], "text/html")
    text = _cells_text(page)
    assert _in_order(text, ["fe", "conv2d", "max_pooling2d_1", "classifier", "dense_1", "Whole model:", "Method:"])
    assert page.count("<details") == 2 and "Time (ms)" in text and "<script" not in page.lower()
    assert re.fullmatch(r"<ProfileReport cnn__model \(CNN_Model\): 9 layers timed, model [\d.]+ ms at batch 2 on "
                        r"\w+(:\d)?>", _mime(outputs[10], "text/plain"))  # fmt: skip


def test_the_magic_profiles_too(outputs) -> None:
    page = _mime(outputs[11], "text/html")
    text = _cells_text(page)
    assert _in_order(text, ["fe", "conv2d", "classifier", "dense_1", "Whole model:", "Traced call:", "Method:"])
    assert "batch 2, 4 timed run(s) after 0 warm-up" in text and not _stream(outputs[11], "stderr")


def test_a_mistake_prints_one_line_not_a_traceback(outputs) -> None:
    err = _stream(outputs[8], "stderr")
    assert err.startswith("%modelscope: ") and "no_such_file.py" in err
    assert "%modelscope: 42 is of type int, not a Keras model" in err
    assert "%modelscope: could not evaluate 'models[5]': NameError" not in err and "models[5]" in err
    assert "Traceback" not in err and all(o.get("output_type") != "error" for o in outputs[8])


def test_summary_in_a_script_prints_the_table_the_cli_prints(cli_env, tmp_path) -> None:
    import subprocess
    import sys

    code = ("import sys; sys.path.insert(0, 'samples')\n"
            "import modelscope\nfrom hybrid_cnn import CNN_Model\n"
            "result = modelscope.summary(CNN_Model(), input_shape=(None, 28, 28, 1), width=70)\n"
            "assert result is None\n")  # fmt: skip
    script = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=cli_env, capture_output=True, text=True,
                            timeout=300)  # fmt: skip
    assert script.returncode == 0, script.stderr
    cli = subprocess.run([sys.executable, "-m", "modelscope", "summary", "samples/hybrid_cnn.py", "--input-shape",
                          "None,28,28,1", "--width", "70"], cwd=ROOT, env=cli_env, capture_output=True, text=True,
                         timeout=300)  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    assert script.stdout == cli.stdout  # plain text in a pipe, the same table
    assert max(len(line) for line in script.stdout.splitlines()) <= 70 and "\x1b[" not in script.stdout
