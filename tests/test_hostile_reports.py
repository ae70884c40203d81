"""Hand-edited or hostile report JSON files: every command reads them without TensorFlow, and a
report whose fields have the wrong types or refer to layers it does not hold is a clear error
(exit 1; ``diff`` exit 2), never a crash (exit 3) in a renderer."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import GOLDEN

BASE = json.loads((GOLDEN / "hybrid_cnn.json").read_text())

MUTATIONS: dict[str, Callable[[dict[str, Any]], None]] = {
    "params as text": lambda d: d["totals"].__setitem__("params", "15"),
    "params null": lambda d: d["totals"].__setitem__("params", None),
    "params beyond any count": lambda d: d["totals"].__setitem__("params", 10**400),
    "calls as text": lambda d: d["layers"][0].__setitem__("calls", "2"),
    "class as a list": lambda d: d["layers"][0].__setitem__("class", ["Conv2D"]),
    "model name a number": lambda d: d["model"].__setitem__("name", 12),
    "path null": lambda d: d["layers"][0].__setitem__("path", None),
    "edge to a ghost": lambda d: d["edges"].append({"src": "ghost", "dst": "sequential"}),
    "consumers as text": lambda d: d["inputs"][0].__setitem__("consumers", "sequential"),
    "variable shape as text": lambda d: d["variables"][0].__setitem__("shape", "5x5"),
    "macs as text": lambda d: d["totals"].__setitem__("macs", "x"),
    "dtype a list": lambda d: d["inputs"][0].__setitem__("dtype", ["float32"]),
    "negative depth": lambda d: d["layers"][0].__setitem__("depth", -1),
    "parent unknown": lambda d: d["layers"][1].__setitem__("parent", "nowhere"),
    "layers not a list": lambda d: d.__setitem__("layers", {"a": 1}),
    "not an object": lambda d: d.clear(),
}


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "modelscope", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_a_malformed_report_is_an_error_of_the_file(case: str, tmp_path: Path, cli_env) -> None:
    data = copy.deepcopy(BASE)
    MUTATIONS[case](data)
    text = json.dumps(data) if data else "[]"
    (tmp_path / "r.json").write_text(text)
    for args, code in ((["summary", "r.json"], 1), (["graph", "r.json", "-o", "g.dot"], 1),
                       (["diff", "r.json", "r.json"], 2)):  # fmt: skip
        result = run(args, tmp_path, cli_env)
        assert result.returncode == code, (args, result.stderr)
        assert "r.json: not a modelscope report JSON" in result.stderr
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_the_unchanged_report_still_reads(tmp_path: Path, cli_env) -> None:
    (tmp_path / "r.json").write_text(json.dumps(BASE))
    result = run(["summary", "r.json"], tmp_path, cli_env)
    assert result.returncode == 0 and "Total params: 107,706" in result.stdout
