"""The real command line in subprocesses: output, files, exit codes, error messages, start-up cost."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .conftest import GOLDEN, ROOT

HYBRID = ["summary", "samples/hybrid_cnn.py", "--input-shape", "None,28,28,1"]


def run(args: list[str], env: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "modelscope", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def heavy_modules(code: str, env: dict[str, str]) -> list[str]:
    probe = f"{code}\nimport sys\nprint(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1].replace("'", '"'))


HELP = "from modelscope.cli import main\ntry:\n    main({args!r})\nexcept SystemExit:\n    pass"


@pytest.mark.parametrize(
    "args", [["--help"], ["summary", "--help"], ["graph", "--help"], ["stats", "--help"], ["--version"]]
)
def test_help_does_not_import_tensorflow(args: list[str], cli_env) -> None:
    assert heavy_modules(HELP.format(args=args), cli_env) == []


def test_import_modelscope_is_light(cli_env) -> None:
    modules = "modelscope, modelscope.model.report, modelscope.render.table, modelscope.render.dot, modelscope.render.graphviz, modelscope.analysis.stats, modelscope.render.stats"  # noqa: E501
    assert heavy_modules(f"import {modules}", cli_env) == []


def test_summary_help_lists_every_option(cli_env) -> None:
    out = run(["summary", "--help"], cli_env).stdout
    for option in ("--input-shape", "--dtype", "--object", "--format", "--output", "--depth", "--width",
                   "--traceback"):  # fmt: skip
        assert option in out


# -- the main job and its outputs (TensorFlow) ------------------------------------------------


@pytest.mark.tf
def test_main_job_prints_the_golden_table(cli_env) -> None:
    result = run(HYBRID, cli_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (GOLDEN / "hybrid_cnn.txt").read_text(encoding="utf-8")
    assert "\x1b[" not in result.stdout  # no colour codes when stdout is not a terminal
    assert result.stderr == ""  # TensorFlow's start-up chatter is kept away from the user


@pytest.mark.tf
def test_json_file_renders_again_without_tensorflow(tmp_path: Path, cli_env) -> None:
    report_file = tmp_path / "cnn.json"
    result = run([*HYBRID, "--format", "json", "-o", str(report_file)], cli_env)
    assert result.returncode == 0, result.stderr
    data = json.loads(report_file.read_text())
    assert data["totals"]["params"] == 107706 and data["model"]["source"] == "samples/hybrid_cnn.py"
    assert not list(tmp_path.glob(".*partial"))
    code = f"from modelscope.cli import main\ntry:\n    main(['summary', {str(report_file)!r}, '--depth', '1'])\nexcept SystemExit:\n    pass"  # noqa: E501
    assert heavy_modules(code, cli_env) == []
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=cli_env, capture_output=True, text=True)
    assert "\n└── classifier " in out.stdout and "dense_1" not in out.stdout
    assert "Total params: 107,706 (420.73 KB)" in out.stdout


@pytest.mark.tf
def test_markdown_and_object_forms(tmp_path: Path, cli_env) -> None:
    pkg = tmp_path / "mypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "nets.py").write_text((ROOT / "samples" / "hybrid_cnn.py").read_text())
    module_form = run(["summary", "mypkg.nets:CNN_Model", "--input-shape", "None,28,28,1",
                       "--format", "markdown"], cli_env, cwd=tmp_path)  # fmt: skip
    assert module_form.returncode == 0, module_form.stderr
    assert module_form.stdout == (GOLDEN / "hybrid_cnn.md").read_text(encoding="utf-8")
    assert not (pkg / "__pycache__").exists()  # nothing written next to the user's code


# -- errors: message, exit code, no traceback --------------------------------------------------

FILES = {
    "syntax.py": "import keras\nx = (\n",
    "badimport.py": "import keras\nimport notapkg_xyz\n",
    "nomodel.py": "import keras\nx = 1\n",
    "several.py": "import keras\nclass A(keras.Model):\n    def call(self, x): return x\n"
                  "class B(keras.Model):\n    def call(self, x): return x\n",
    "ctorargs.py": "import keras\nclass Net(keras.Model):\n    def __init__(self, n):\n        super().__init__()\n"
                   "        self.d = keras.layers.Dense(n)\n    def call(self, x): return self.d(x)\n",
    "callfail.py": "import keras\nclass Net(keras.Model):\n    def __init__(self):\n        super().__init__()\n"
                   "        self.a = keras.layers.Dense(4)\n        self.b = keras.layers.Conv2D(3, 3)\n"
                   "    def call(self, x): return self.b(self.a(x))\n",
    "notes.txt": "hello\n",
}  # fmt: skip

SUBCLASSED = str(ROOT / "samples" / "subclassed.py")
FUNCTIONAL = str(ROOT / "samples" / "functional_two_heads.py")

# (arguments, exit code, words the message must hold)
ERRORS = {
    "missing file": (["missing.py"], 2, "missing.py: no such file"),
    "unsupported type": (["notes.txt"], 2, "unsupported file type '.txt'"),
    "syntax error": (["syntax.py"], 1, "syntax.py:2: syntax error"),
    "malformed shape": ([SUBCLASSED, "--input-shape", "None,x"], 2, "'x' is not a dimension"),
    "bad option": ([SUBCLASSED, "--format", "xml"], 2, "Invalid value for '--format'"),
    "failing import": (["badimport.py"], 1, "importing 'notapkg_xyz' failed"),
    "no model": (["nomodel.py"], 1, "no Keras model found"),
    "several models": (["several.py"], 2, "several models found; choose one with --object NAME"),
    "constructor arguments": (["ctorargs.py"], 1, "Net() needs constructor arguments (n)"),
    "no input shape": ([SUBCLASSED], 2, "add --input-shape"),
    "contradicting shape": ([FUNCTIONAL, "--input-shape", "None,28,28,3", "--input-shape", "None,16"], 2,
                            "contradicts the model's input 'image' of shape (None, 32, 32, 3)"),
    "call fails": (["callfail.py", "--input-shape", "None,8"], 1,
                   "failed in layer 'conv2d' (Conv2D) on input shape (None, 4)"),
    "output is the source": (["callfail.py", "--input-shape", "None,4,4,1", "-o", "callfail.py"], 2,
                             "would overwrite callfail.py, which this run reads"),
}  # fmt: skip


@pytest.fixture(scope="module")
def error_runs(tmp_path_factory: pytest.TempPathFactory, cli_env) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every error case run once, two at a time (each one starts TensorFlow)."""
    folder = tmp_path_factory.mktemp("errors")
    for name, text in FILES.items():
        (folder / name).write_text(text)
    with ThreadPoolExecutor(2) as pool:
        futures = {k: pool.submit(run, ["summary", *args], cli_env, folder) for k, (args, _, _) in ERRORS.items()}
    runs = {k: f.result() for k, f in futures.items()}
    runs["_folder"] = folder  # type: ignore[assignment]
    return runs


@pytest.mark.tf
@pytest.mark.parametrize("case", sorted(ERRORS))
def test_error_message_and_exit_code(case: str, error_runs) -> None:
    _, code, words = ERRORS[case]
    result = error_runs[case]
    assert result.returncode == code, result.stderr
    assert words in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    if case == "output is the source":
        assert (error_runs["_folder"] / "callfail.py").read_text() == FILES["callfail.py"]


@pytest.mark.tf
def test_traceback_flag_shows_the_traceback(tmp_path: Path, cli_env) -> None:
    (tmp_path / "nomodel.py").write_text(FILES["nomodel.py"])
    result = run(["summary", "nomodel.py", "--traceback"], cli_env, cwd=tmp_path)
    assert result.returncode != 0
    assert "Traceback (most recent call last)" in result.stderr and "LoadError" in result.stderr
