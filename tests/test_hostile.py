"""Hostile and broken inputs through the real command line: nothing of the user's changes, every
failure is a clear message with its documented exit code, and output stays well-formed."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from xml.etree import ElementTree

import pytest

pytestmark = pytest.mark.tf

TINY = """import keras

def build_model():
    inputs = keras.Input((4,), name="x")
    return keras.Model(inputs, keras.layers.Dense(3, name="head")(inputs), name="tiny")
"""

# Names Keras accepts (no "/"), each trying to break one kind of output.
HOSTILE_NAMES = [
    'evil\n"]; injected -> node; \\\\',  # DOT statements after a newline
    "\x1b[31mred\x1b]0;title\x07",  # terminal colour and window title
    "md`` <img src=x onerror=alert(1)> |x|",  # Markdown code span breakout, raw HTML, table pipe
    "cr\rsplit",  # a carriage return splitting rows
    "<b>shape<\\b>",  # looks like an HTML-like DOT label
    "\u202eevil",  # right-to-left override
]
HOSTILE = f"""import keras

NAMES = {HOSTILE_NAMES!r}

def build_model():
    inputs = keras.Input((4,), name="in\\nput")
    x = inputs
    for name in NAMES:
        x = keras.layers.Dense(4, name=name)(x)
    return keras.Model(inputs, x, name="hostile")
"""


def run(args: list[str], cwd: Path, env: dict[str, str], *prefix: str, timeout: float = 300,
        ) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run([*prefix, sys.executable, "-m", "modelscope", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip


def snapshot(folder: Path) -> dict[str, tuple[bytes | None, int, int]]:
    """Bytes (None for non-files), mtime and mode of everything below ``folder``."""
    out = {}
    for p in sorted(folder.rglob("*")):
        st = p.lstat()
        data = p.read_bytes() if stat.S_ISREG(st.st_mode) else None
        out[str(p.relative_to(folder))] = (data, st.st_mtime_ns, st.st_mode)
    return out


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    (tmp_path / "tiny.py").write_text(TINY)
    return tmp_path


# -- -o never overwrites an input ----------------------------------------------------------------


def test_output_onto_any_input_is_refused_and_nothing_changes(tiny: Path, cli_env) -> None:
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.save_weights(tiny / "w.weights.h5")
    (tiny / "layers.py").write_text("X = 1\n")
    model.export(tiny / "sm", verbose=False)
    before = snapshot(tiny)
    cases = [
        (["summary", "tiny.py:build_model", "-o", "tiny.py"], "tiny.py"),
        (["stats", "tiny.py", "--weights", "w.weights.h5", "-o", "w.weights.h5", "--format", "json"], "w.weights.h5"),
        (["summary", "sm", "-o", "sm/saved_model.pb"], "sm"),
        (["summary", "tiny.py", "--import", "layers.py", "-o", "layers.py"], "layers.py"),
        (["graph", "tiny.py", "-o", "./tiny.py", "--format", "svg"], "tiny.py"),
    ]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda c: run(c[0], tiny, cli_env), cases))
    for (args, what), result in zip(cases, results):
        assert result.returncode == 2, (args, result.stderr)
        assert f"would overwrite {what}, which this run reads" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert snapshot(tiny) == before


def test_output_to_a_device_or_stdout_link_writes_through(tiny: Path, cli_env) -> None:
    result = run(["summary", "tiny.py", "-o", "/dev/null"], tiny, cli_env)
    assert result.returncode == 0, result.stderr
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)  # still the device (this runs as root in CI)
    result = run(["summary", "tiny.py", "--format", "json", "-o", "/dev/stdout"], tiny, cli_env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["totals"]["params"] == 15
    assert os.path.islink("/dev/stdout")


def test_output_to_dev_null_as_an_ordinary_user() -> None:
    # The installed Python lives in root's home, out of an ordinary user's reach; Debian's python3
    # runs the writer itself (it needs only the standard library) as user nobody.
    python = shutil.which("python3", path="/usr/bin")
    if os.geteuid() != 0 or not shutil.which("setpriv") or python is None:
        pytest.skip("needs root, setpriv and /usr/bin/python3 to run as an ordinary user")
    root = Path(__file__).resolve().parent.parent
    code = "from modelscope.output import write_output; write_output('x' * 100, '/dev/null'); print('ok')"
    result = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", python, "-c", code],
                            cwd="/", env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0 and result.stdout == "ok\n", result.stderr


def test_output_through_a_symlink_updates_its_target(tiny: Path, cli_env) -> None:
    (tiny / "real.json").write_text("old\n")
    (tiny / "link.json").symlink_to("real.json")
    result = run(["summary", "tiny.py", "--format", "json", "-o", "link.json"], tiny, cli_env)
    assert result.returncode == 0, result.stderr
    assert (tiny / "link.json").is_symlink()
    assert json.loads((tiny / "real.json").read_text())["model"]["name"] == "tiny"
    assert stat.S_IMODE((tiny / "real.json").stat().st_mode) == 0o644  # the file's own mode kept


def test_parallel_writers_never_collide(tiny: Path, cli_env) -> None:
    (tiny / "report.json").write_text("{}")
    # one process, many threads: write_output is the code under test, the model is traced once
    code = ("import json, threading; from modelscope.output import write_output\n"
            "data = [json.dumps({'writer': i, 'pad': 'x' * 200000}) for i in range(16)]\n"
            "ts = [threading.Thread(target=write_output, args=(d, 'report.json')) for d in data]\n"
            "[t.start() for t in ts]; [t.join() for t in ts]\n")  # fmt: skip
    for _ in range(3):
        result = subprocess.run([sys.executable, "-c", code], cwd=tiny, env=cli_env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert "writer" in json.loads((tiny / "report.json").read_text())
    assert sorted(p.name for p in tiny.iterdir()) == ["report.json", "tiny.py"]  # no partial file left
    assert stat.S_IMODE((tiny / "report.json").stat().st_mode) == 0o644


def test_a_failed_write_leaves_no_partial_file(tiny: Path, cli_env) -> None:
    result = run(["summary", "tiny.py", "-o", "missing_dir/out.txt"], tiny, cli_env)
    assert result.returncode == 2 and "cannot write missing_dir/out.txt" in result.stderr
    assert sorted(p.name for p in tiny.iterdir()) == ["tiny.py"]


# -- names are data -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory, cli_env) -> dict[str, subprocess.CompletedProcess[str]]:
    folder = tmp_path_factory.mktemp("hostile")
    (folder / "hostile.py").write_text(HOSTILE)
    commands = {
        "table": ["summary", "hostile.py"],
        "markdown": ["summary", "hostile.py", "--format", "markdown"],
        "json": ["summary", "hostile.py", "--format", "json"],
        "dot": ["graph", "hostile.py", "-o", "-", "--format", "dot"],
        "svg": ["graph", "hostile.py", "-o", "-", "--format", "svg"],
        "csv": ["stats", "hostile.py", "--format", "csv"],
        "stats": ["stats", "hostile.py"],
    }
    with ThreadPoolExecutor(2) as pool:
        futures = {k: pool.submit(run, args, folder, cli_env) for k, args in commands.items()}
    return {k: f.result() for k, f in futures.items()}


@pytest.mark.parametrize("kind", ["table", "markdown", "dot", "svg", "csv", "stats"])
def test_hostile_names_cannot_reach_the_terminal(hostile, kind: str) -> None:
    result = hostile[kind]
    assert result.returncode == 0, result.stderr
    assert not any(c in result.stdout for c in "\x1b\x07\r\u202e")


def test_hostile_names_show_as_escapes_in_the_table(hostile) -> None:
    out = hostile["table"].stdout
    for shown in ("evil\\n\"]; injected -> node; \\\\\\\\", "\\x1b[31mred\\x1b]0;title\\x07", "cr\\rsplit",
                  "\\u202eevil"):  # fmt: skip
        assert shown in out
    rows = [line for line in out.splitlines() if "Dense" in line]
    assert len(rows) == len(HOSTILE_NAMES)  # one row per layer: no name split one


def test_hostile_names_stay_inside_markdown_cells(hostile) -> None:
    out = hostile["markdown"].stdout
    rows = [line for line in out.splitlines() if "`Dense`" in line]
    assert len(rows) == len(HOSTILE_NAMES)
    assert "<img" not in out.replace("`` <img", "")  # only inside a code span
    img_row = next(r for r in rows if "img" in r)
    assert img_row.startswith("| ├──\u00a0```md`` <img src=x onerror=alert(1)> \\|x\\|``` | `Dense` |")
    assert all(len(re.split(r"(?<!\\)\|", row)) == 7 for row in rows)  # 5 cells between unescaped pipes


def test_json_keeps_names_exactly(hostile) -> None:
    names = [layer["name"] for layer in json.loads(hostile["json"].stdout)["layers"]]
    assert names == HOSTILE_NAMES


def test_hostile_names_cannot_change_the_graph(hostile) -> None:
    edges = [line for line in hostile["dot"].stdout.splitlines() if re.match(r'\t"(?:[^"\\]|\\.)*" -> "', line)]
    assert len(edges) == len(HOSTILE_NAMES) + 1  # no edge statement injected
    svg = ElementTree.fromstring(hostile["svg"].stdout.encode())  # well-formed XML
    ns = "{http://www.w3.org/2000/svg}"
    nodes = [g for g in svg.iter(f"{ns}g") if g.get("class") == "node"]
    assert len(nodes) == len(HOSTILE_NAMES) + 2 + 1  # layers, input and output, the one legend box (trainable)
    assert len([g for g in svg.iter(f"{ns}g") if g.get("class") == "edge"]) == len(HOSTILE_NAMES) + 1
    texts = {t.text for t in svg.iter(f"{ns}text")}
    assert "<b>shape<\\\\b>" in texts and "cr\\rsplit" in texts


def test_hostile_names_keep_csv_records_whole(hostile) -> None:
    rows = list(csv.reader(io.StringIO(hostile["csv"].stdout)))
    assert len(rows) == 1 + 2 * len(HOSTILE_NAMES)  # header, kernel and bias of each Dense
    assert all(len(r) == len(rows[0]) for r in rows)


def test_a_report_cannot_choose_where_graph_writes(tmp_path: Path, cli_env) -> None:
    from modelscope.model.report import InputInfo, ModelInfo, OutputInfo, Report, Totals

    for name in ("../x/pwned", "/tmp/abs_pwned", ".."):
        report = Report(ModelInfo(name, "X", "functional"), (InputInfo("i", (None, 1), "float32"),),
                        (OutputInfo("o", (None, 1), "float32"),), Totals(0, 0, 0, 0), ())  # fmt: skip
        (tmp_path / "r.json").write_text(report.to_json())
        result = run(["graph", "r.json", "--format", "dot"], tmp_path, cli_env)
        assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.dot", "r.json", "tmp_abs_pwned.dot", "x_pwned.dot"]
    assert not Path("/tmp/abs_pwned.dot").exists() and not (tmp_path.parent / "x").exists()


# -- user code cannot hijack the run ---------------------------------------------------------------

PRINTS = TINY.replace("def build_model():", "print('hello from import')\n\ndef build_model():\n    print('building')")
EXITS_IN_BUILD = TINY.replace("def build_model():", "import sys\n\ndef build_model():\n    sys.exit(0)")
EXITS_IN_CALL = """import sys
import keras

class Quitter(keras.Model):
    def call(self, x):
        sys.exit(0)

model = Quitter()
"""


def test_model_prints_do_not_corrupt_json(tmp_path: Path, cli_env) -> None:
    (tmp_path / "prints.py").write_text(PRINTS)
    result = run(["summary", "prints.py", "--format", "json", "-o", "-"], tmp_path, cli_env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["totals"]["params"] == 15
    assert "hello from import" in result.stderr and "building" in result.stderr


@pytest.mark.parametrize(("code", "args"), [(EXITS_IN_BUILD, []), (EXITS_IN_CALL, ["--input-shape", "None,3"])],
                         ids=["build", "call"])
def test_sys_exit_in_model_code_is_an_error(tmp_path: Path, cli_env, code: str, args: list[str]) -> None:
    (tmp_path / "quits.py").write_text(code)
    for command in ("summary", "stats"):
        result = run([command, "quits.py", *args, *(["--check"] if command == "stats" else [])], tmp_path, cli_env)
        assert result.returncode == 1, result.stderr
        assert "called sys.exit(0)" in result.stderr and "Traceback" not in result.stderr
        assert result.stdout == ""


def test_special_files_are_named_and_never_hang(tmp_path: Path, cli_env) -> None:
    os.mkfifo(tmp_path / "fifo.py")
    (tmp_path / "loop1.py").symlink_to("loop2.py")
    (tmp_path / "loop2.py").symlink_to("loop1.py")
    (tmp_path / "dir.py").mkdir()
    (tmp_path / "dir.keras").mkdir()
    cases = {"fifo.py": "not a regular file (a FIFO", "loop1.py": "a loop of symbolic links",
             "dir.py": "a directory, not a .py file", "dir.keras": "a directory, not a .keras file"}  # fmt: skip
    for name, words in cases.items():
        start = time.monotonic()
        result = run(["summary", name], tmp_path, cli_env, timeout=60)
        assert result.returncode == 2 and words in result.stderr, result.stderr
        assert time.monotonic() - start < 50  # answered, not hung (the real bound is the timeout above)


# -- hostile files --------------------------------------------------------------------------------


def test_an_oversized_config_is_refused_before_it_is_read(tmp_path: Path, cli_env) -> None:
    big = tmp_path / "big.keras"
    with zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.0.0"}))
        z.writestr("config.json", '{"a": "' + " " * (80 * 2**20) + '"}')  # 80 MiB, compresses to ~80 KB
    assert big.stat().st_size < 2**20
    result = run(["summary", "big.keras"], tmp_path, cli_env)
    assert result.returncode == 1
    assert "config.json is 80 MiB" in result.stderr and "MODELSCOPE_MAX_CONFIG_MB" in result.stderr


def _weights_file(path: Path, build) -> None:
    import h5py

    with h5py.File(path, "w") as f:
        build(f)


@pytest.mark.parametrize(
    ("case", "words"),
    [("string dataset", "is not a numeric dataset"), ("no layer group", "KeyError"),
     ("names not strings", "not a Keras weights file")],
)  # fmt: skip
def test_malformed_weights_files_are_explained(tmp_path: Path, cli_env, case: str, words: str) -> None:
    import numpy as np

    def build(f) -> None:
        if case == "string dataset":
            f.create_dataset("dense/vars/0", data=np.array([b"a", b"b"]))
        elif case == "no layer group":
            f.attrs["layer_names"] = [b"dense"]
        else:
            f.attrs["layer_names"] = [b"dense"]
            f.create_group("dense").attrs["weight_names"] = np.array([1.5, 2.5])

    _weights_file(tmp_path / "bad.weights.h5", build)
    for command in ("summary", "stats"):
        result = run([command, "bad.weights.h5"], tmp_path, cli_env)
        assert result.returncode == 1, result.stderr
        assert "bad.weights.h5: not a Keras weights file" in result.stderr and words in result.stderr
        assert "Traceback" not in result.stderr


def test_a_deeply_nested_report_json_is_explained(tmp_path: Path, cli_env) -> None:
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    result = run(["summary", "deep.json"], tmp_path, cli_env)
    assert result.returncode == 1 and "deep.json: not a modelscope report JSON" in result.stderr


DEEP = """import keras

class Wrap(keras.layers.Layer):
    def __init__(self, inner, **kwargs):
        super().__init__(**kwargs)
        self.inner = inner

    def call(self, x):
        return self.inner(x)

def build_model():
    layer = keras.layers.Dense(2)
    for i in range(150):
        layer = Wrap(layer, name=f"w{i}")
    inputs = keras.Input((3,))
    return keras.Model(inputs, layer(inputs))
"""


def test_a_model_nested_as_deep_as_keras_allows(tmp_path: Path, cli_env) -> None:
    (tmp_path / "deep.py").write_text(DEEP)
    result = run(["summary", "deep.py", "--format", "json"], tmp_path, cli_env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert max(layer["depth"] for layer in data["layers"]) == 151 and data["totals"]["params"] == 8
    result = run(["graph", "deep.py", "--depth", "3", "-o", "deep.svg"], tmp_path, cli_env)
    assert result.returncode == 0, result.stderr


# -- found by a red-team pass (each once broke a promise) -------------------------------------------


def test_output_onto_the_users_modules_is_refused(tiny: Path, cli_env) -> None:
    (tiny / "helper.py").write_text("UNITS = 3\n")
    (tiny / "main.py").write_text("from helper import UNITS\n" + TINY.replace("Dense(3", "Dense(UNITS"))
    (tiny / "pkg").mkdir()
    (tiny / "pkg" / "__init__.py").write_text("")
    (tiny / "pkg" / "mod.py").write_text(TINY)
    (tiny / "mylayers.py").write_text("X = 1\n")
    before = snapshot(tiny)
    cases = [(["summary", "main.py", "-o", "helper.py"], "helper.py"),
             (["summary", "pkg.mod:build_model", "-o", "pkg/mod.py"], "mod.py"),
             (["summary", "tiny:build_model", "-o", "tiny.py"], "tiny.py"),
             (["summary", "tiny.py", "--import", "mylayers", "-o", "mylayers.py"], "mylayers.py")]  # fmt: skip
    for args, name in cases:
        result = run(args, tiny, cli_env)
        assert result.returncode == 2 and f"{name}, which this run reads" in result.stderr, (args, result.stderr)
    assert snapshot(tiny) == before


def test_writes_to_file_descriptor_1_do_not_corrupt_json(tmp_path: Path, cli_env) -> None:
    prints = "import os, sys\nos.write(1, b'GARBAGE\\n')\nprint('x', file=sys.__stdout__)\n"
    (tmp_path / "m.py").write_text(prints + TINY)
    result = run(["summary", "m.py", "--format", "json", "-o", "-"], tmp_path, cli_env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["totals"]["params"] == 15
    assert "GARBAGE" in result.stderr


@pytest.mark.parametrize("tail", ["raise GeneratorExit('g')", "class Boom(BaseException):\n    pass\nraise Boom('b')"])
def test_any_base_exception_from_model_code_is_an_error(tmp_path: Path, cli_env, tail: str) -> None:
    (tmp_path / "m.py").write_text(TINY + tail + "\n")
    result = run(["summary", "m.py"], tmp_path, cli_env)
    assert result.returncode == 1 and "the model's code raised" in result.stderr
    assert "Traceback" not in result.stderr


def test_names_in_the_markdown_footer_are_escaped(tmp_path: Path, cli_env) -> None:
    code = ("import keras\n\ndef build_model():\n    i = keras.Input((None, 4))\n"
            "    return keras.Model(i, keras.layers.Dense(4, name='<img src=x onerror=alert(1)>')(i))\n")  # fmt: skip
    (tmp_path / "m.py").write_text(code)
    result = run(["summary", "m.py", "--format", "markdown"], tmp_path, cli_env)
    assert result.returncode == 0, result.stderr
    assert not re.search(r"(?<![\\`])<img", result.stdout)  # escaped, or inside a code span
    assert "\\<img src=x onerror=alert(1)\\>" in result.stdout


def test_special_files_inside_model_files_never_hang(tmp_path: Path, cli_env) -> None:
    import h5py
    import keras

    os.mkfifo(tmp_path / "fifo")
    with h5py.File(tmp_path / "k2.h5", "w") as f:  # Keras 2 layout whose dataset links to a FIFO
        f.attrs["layer_names"] = [b"dense"]
        group = f.create_group("dense")
        group.attrs["weight_names"] = [b"dense/kernel:0"]
        group["dense/kernel:0"] = h5py.ExternalLink("fifo", "/x")
    keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)]).export(tmp_path / "sm", verbose=False)
    (tmp_path / "sm" / "variables" / "variables.index").unlink()
    os.mkfifo(tmp_path / "sm" / "variables" / "variables.index")
    for args, words in ((["stats", "k2.h5"], "is a link to another file"), (["stats", "sm"], "not a regular file")):
        result = run(args, tmp_path, cli_env, timeout=120)
        assert result.returncode == 1 and words in result.stderr, result.stderr


def test_long_names_are_written_or_shortened(tmp_path: Path, cli_env) -> None:
    (tmp_path / "cjk.py").write_text(TINY.replace('name="tiny"', 'name="' + "模" * 150 + '"'))
    result = run(["graph", "cjk.py", "--format", "dot"], tmp_path, cli_env)
    assert result.returncode == 0, result.stderr
    written = [p.name for p in tmp_path.iterdir() if p.suffix == ".dot"]
    assert len(written) == 1 and len(written[0].encode()) <= 104
    long_name = "a" * 245 + ".txt"  # 249 bytes: a legal name whose partial file must not be longer
    result = run(["summary", "cjk.py", "-o", long_name], tmp_path, cli_env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / long_name).read_text().startswith("模")


def test_odd_values_in_weights_and_options(tmp_path: Path, cli_env) -> None:
    import h5py
    import numpy as np

    with h5py.File(tmp_path / "compound.weights.h5", "w") as f:
        f.create_dataset("layers/dense/vars/0", data=np.zeros(3, dtype=[("a", "f4"), ("b", "i4")]))
    with h5py.File(tmp_path / "big.weights.h5", "w") as f:
        f.create_dataset("layers/dense/vars/0", data=np.full((4, 3), 1e308))
    result = run(["stats", "compound.weights.h5"], tmp_path, cli_env)
    assert result.returncode == 1 and "not a numeric dataset" in result.stderr
    result = run(["stats", "big.weights.h5", "--format", "json"], tmp_path, cli_env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["variables"][0]["mean"] is None  # overflowed: no finite figure
    for value in ("inf", "nan", "-1"):
        result = run(["stats", "big.weights.h5", "--threshold", f"exploding={value}"], tmp_path, cli_env)
        assert result.returncode == 2 and "give a finite number, 0 or more" in result.stderr
    env = dict(cli_env, MODELSCOPE_MAX_CONFIG_MB="inf")
    result = run(["summary", "big.weights.h5"], tmp_path, env)
    assert result.returncode == 0, result.stderr
