"""The pytest plugin (entry point ``modelscope``): hooks and fixtures only; the checks live in
:mod:`modelscope.testing`.

Every pytest run in an environment with modelscope imports this module, so it imports nothing
heavy: TensorFlow loads only when a test inspects a live model or a model file.

* fixtures ``modelscope`` (``.assert_params``, ``.inspect``) and ``modelscope_snapshot``
  (``.assert_match``), with reports cached per source for the session;
* ``modelscope*.toml`` files collected as one test item per ``[[model]]``;
* ``--modelscope-update`` writes or rewrites snapshots in ``__modelscope__/`` beside the test
  (also under pytest-xdist: each test writes its own file, atomically).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

SNAPSHOT_DIR = "__modelscope__"


@dataclass
class State:
    update: bool
    written: int = 0  # snapshots created or rewritten
    unchanged: int = 0
    cache: dict[tuple[Any, ...], Any] = field(default_factory=dict)


STATE = pytest.StashKey[State]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("modelscope", "modelscope: checks of Keras model architectures")
    group.addoption("--modelscope-update", action="store_true", default=False,
                    help="Write or rewrite the architecture snapshots (__modelscope__/) instead of "
                         "comparing.")  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "modelscope: a test that checks a Keras model's architecture with modelscope")
    config.stash[STATE] = State(update=config.getoption("modelscope_update"))


def _report(state: State, model_or_source: Any, input_shape: Any, dtype: Any, options: dict[str, Any]) -> Any:
    """The report, cached per source file (and its modification time) and input shape."""
    from modelscope.load.source import split_attr
    from modelscope.testing import inspect_for_test

    if not isinstance(model_or_source, (str, os.PathLike)):
        return inspect_for_test(model_or_source, input_shape, dtype, **options)
    path = os.fspath(model_or_source)
    file = split_attr(path)[0]  # "model.py:build_model" names a file too
    stamp = os.stat(file).st_mtime_ns if os.path.exists(file) else None
    key = (os.path.abspath(path), stamp, repr(input_shape), repr(dtype), repr(sorted(options.items())))
    if key not in state.cache:
        state.cache[key] = inspect_for_test(path, input_shape, dtype, **options)
    return state.cache[key]


def _label(model_or_source: Any) -> str | None:
    return os.fspath(model_or_source) if isinstance(model_or_source, (str, os.PathLike)) else None


class ModelscopeFixture:
    """``modelscope.assert_params(...)`` and ``modelscope.inspect(...)`` with a session cache."""

    def __init__(self, state: State) -> None:
        self._state = state

    def inspect(self, model_or_source: Any, input_shape: Any = None, dtype: Any = None, **options: Any) -> Any:
        return _report(self._state, model_or_source, input_shape, dtype, options)

    def assert_params(self, model_or_source: Any, *, input_shape: Any = None, dtype: Any = None,
                      **expected: Any) -> Any:  # fmt: skip
        __tracebackhide__ = True
        from modelscope.testing import assert_params

        load = {k: expected.pop(k) for k in ("object", "unsafe", "imports", "signature") if k in expected}
        report = self.inspect(model_or_source, input_shape, dtype, **load)
        return assert_params(report, label=_label(model_or_source), **expected)


@pytest.fixture
def modelscope(request: pytest.FixtureRequest) -> ModelscopeFixture:
    """Check parameter counts and budgets: ``modelscope.assert_params(model, total=...)``."""
    return ModelscopeFixture(request.config.stash[STATE])


def _snapshot_file(node: pytest.Item) -> Path:
    """``__modelscope__/<module>/[<Class>.]<test>[-<params>].json``: unique per test item."""
    test = re.sub(r"[^\w.-]+", "-", node.name).strip("-")
    cls = getattr(node, "cls", None)
    if cls is not None:
        test = f"{cls.__name__}.{test}"
    return node.path.parent / SNAPSHOT_DIR / node.path.stem / f"{test}.json"


def write_snapshot(path: Path, text: str) -> None:
    from modelscope.output import write_bytes

    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(text.encode("utf-8"), path)


class Snapshot:
    """``modelscope_snapshot.assert_match(model_or_source, input_shape=...)``: the architecture
    against ``__modelscope__/<test module>/<test name>.json`` (``-2``, ``-3`` for later calls)."""

    def __init__(self, state: State, node: pytest.Item) -> None:
        self._state, self._node, self._calls = state, node, 0

    def path(self) -> Path:
        first = _snapshot_file(self._node)
        return first if self._calls <= 1 else first.with_name(f"{first.stem}-{self._calls}.json")

    def assert_match(self, model_or_source: Any, input_shape: Any = None, dtype: Any = None, **options: Any) -> None:
        __tracebackhide__ = True
        from modelscope.testing import ModelscopeMismatch, dump_snapshot, snapshot_diff, snapshot_of

        self._calls += 1
        data = snapshot_of(_report(self._state, model_or_source, input_shape, dtype, options))
        text, path = dump_snapshot(data), self.path()
        shown = os.path.relpath(path)
        old_text = path.read_text(encoding="utf-8") if path.exists() else None
        if self._state.update:
            if old_text == text:
                self._state.unchanged += 1
            else:
                write_snapshot(path, text)
                self._state.written += 1
            return
        if old_text is None:
            raise ModelscopeMismatch(f"modelscope: no snapshot {shown} yet. Run pytest --modelscope-update to "
                                     "create it, then commit it.")  # fmt: skip
        import json

        try:
            lines = snapshot_diff(json.loads(old_text), data)
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise ModelscopeMismatch(f"modelscope: snapshot {shown} is not a modelscope snapshot ({type(e).__name__}: "
                                     f"{e}); run pytest --modelscope-update to write it again.") from None  # fmt: skip
        if lines:
            body = "\n".join(f"  {line}" for line in lines)
            raise ModelscopeMismatch(f"modelscope: the architecture differs from snapshot {shown}:\n{body}\n"
                                     "Run pytest --modelscope-update to accept it.")  # fmt: skip


@pytest.fixture
def modelscope_snapshot(request: pytest.FixtureRequest) -> Snapshot:
    """Compare a model's architecture with its snapshot file (``--modelscope-update`` writes it)."""
    return Snapshot(request.config.stash[STATE], request.node)


# -- declarative checks: modelscope*.toml ---------------------------------------------------------

_EXPECTED = ("total", "trainable", "non_trainable", "layers", "max_params", "max_bytes")
_LOAD = ("object", "imports", "unsafe", "signature")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix == ".toml" and file_path.name.startswith("modelscope"):
        return ModelsFile.from_parent(parent, path=file_path)
    return None


class ModelsFile(pytest.File):
    """``[[model]]`` tables, each one test item."""

    def collect(self):  # type: ignore[no-untyped-def]
        import tomllib

        try:
            data = tomllib.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise self.CollectError(f"{self.path}: not valid TOML ({e})") from e
        models = data.get("model", [])
        if not isinstance(models, list) or not models:
            raise self.CollectError(f"{self.path}: no [[model]] tables; see the modelscope README")
        for i, spec in enumerate(models):
            unknown = set(spec) - {"name", "source", "input_shape", "dtype", *_EXPECTED, *_LOAD}
            if "source" not in spec or unknown:
                what = f"unknown keys {sorted(unknown)}" if unknown else "no 'source'"
                raise self.CollectError(f"{self.path}: [[model]] #{i + 1}: {what}")
            yield ModelItem.from_parent(self, name=str(spec.get("name", spec["source"])), spec=spec)


class ModelItem(pytest.Item):
    def __init__(self, *, spec: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.add_marker("modelscope")

    def runtest(self) -> None:
        from modelscope.load.source import split_attr
        from modelscope.testing import assert_params

        spec, here = self.spec, self.path.parent
        target, attr = split_attr(spec["source"])  # "C:\\models\\m.py" is a path, "m.py:build" names an attribute
        source = spec["source"]
        if (here / target).exists():
            source = str(here / target) + (f":{attr}" if attr else "")
        load = {k: spec[k] for k in _LOAD if k in spec}
        if "imports" in load:
            load["imports"] = tuple(str(here / p) if (here / p).exists() else p for p in load["imports"])
        report = _report(self.config.stash[STATE], source, spec.get("input_shape"), spec.get("dtype"), load)
        assert_params(report, label=spec["source"], **{k: spec[k] for k in _EXPECTED if k in spec})

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        from modelscope.errors import ModelscopeError
        from modelscope.testing import ModelscopeMismatch

        if isinstance(excinfo.value, (ModelscopeMismatch, ModelscopeError)):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"modelscope: {self.name}"


# -- reporting, with pytest-xdist -------------------------------------------------------------------


def pytest_sessionfinish(session: pytest.Session) -> None:
    state = session.config.stash[STATE]
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand the counts to the controller
        workeroutput["modelscope"] = (state.written, state.unchanged)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    written, unchanged = getattr(node, "workeroutput", {}).get("modelscope", (0, 0))
    state = node.config.stash[STATE]
    state.written += written
    state.unchanged += unchanged


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash[STATE]
    if state.update:
        terminalreporter.write_line(f"modelscope: {state.written} snapshot(s) written, "
                                    f"{state.unchanged} unchanged")  # fmt: skip
