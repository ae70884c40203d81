"""Models copied as published in Keras's code examples and TensorFlow's tutorials (tests/published/,
each file names its source and what was left out). Keras's own figures are computed here, from a
real call of the model the file builds; modelscope must agree with them, draw the model and find
no health flag on its fresh weights.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import modelscope
from modelscope.errors import ModelscopeError

pytestmark = [pytest.mark.tf, pytest.mark.xdist_group("published")]

FOLDER = Path(__file__).resolve().parent / "published"
FILES = sorted(p.name for p in FOLDER.glob("*.py"))
# Published code that Keras 3 itself cannot run (each file's docstring says where it breaks):
# modelscope must say so as an error of the model (exit 1), not crash.
BROKEN_IN_KERAS_3 = {"keras_nmt_transformer.py", "keras_nmt_transformer_k3.py", "tf_custom_layers.py",
                     "tf_text_generation.py", "tf_data_augmentation.py"}  # fmt: skip
FACTORIES = ("build_model", "get_model", "create_model", "make_model", "model_fn")


def _module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"published_{name[:-3]}", FOLDER / name)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _model(module: ModuleType) -> Any:
    """The model the file offers, found as a user would name it (``--object``) or the only one."""
    import keras

    name = getattr(module, "OBJECT", None)
    if name:
        value = getattr(module, name)
        return value() if callable(value) and not isinstance(value, keras.Model) else value
    models = [v for v in vars(module).values() if isinstance(v, keras.Model)]
    if len(models) == 1:
        return models[0]
    factory = next(getattr(module, f) for f in FACTORIES if hasattr(module, f))
    return factory()


def _shapes(module: ModuleType) -> list[str]:
    shape = getattr(module, "INPUT_SHAPE", None)
    return [] if shape is None else [shape] if isinstance(shape, str) else list(shape)


def _real_inputs(shapes: list[str], dtype: str) -> list[Any]:
    import keras

    out = []
    for text in shapes:
        dims = tuple((2 if i == 0 else 5) if d.strip() == "None" else int(d) for i, d in enumerate(text.split(",")))
        out.append(keras.ops.zeros(dims, dtype) if "int" in dtype else keras.random.uniform(dims, dtype=dtype))
    return out


def keras_figures(name: str) -> tuple[int, list[tuple[int | None, ...]] | None]:
    """Keras's parameter count once the model has run, and its real output shapes (None for a
    model without call())."""
    import keras

    module = _module(name)
    model = _model(module)
    has_call = type(model).call not in (keras.Model.call, keras.layers.Layer.call)
    outputs = None
    if has_call:
        inputs = _real_inputs(_shapes(module), getattr(module, "DTYPE", "float32"))
        if inputs:
            sig = [p for p in inspect.signature(model.call).parameters.values() if p.name not in ("training", "mask")]
            result = model(*inputs) if len(inputs) > 1 and len(sig) >= len(inputs) else model(
                inputs[0] if len(inputs) == 1 else tuple(inputs))
        else:
            result = model(model.inputs)
        outputs = [tuple(t.shape) for t in keras.tree.flatten(result)]
    return sum(int(w.numpy().size) if hasattr(w, "numpy") else 0 for w in model.weights), outputs


def _options(name: str) -> dict[str, Any]:
    """The file's INPUT_SHAPE, DTYPE and OBJECT, read without running it."""
    constants = {}
    for node in ast.parse((FOLDER / name).read_text()).body:
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
        if isinstance(target, ast.Name) and target.id in ("INPUT_SHAPE", "DTYPE", "OBJECT"):
            constants[target.id] = ast.literal_eval(node.value)
    shape = constants.get("INPUT_SHAPE")
    return {"input_shape": [shape] if isinstance(shape, str) else shape, "dtype": constants.get("DTYPE"),
            "object": constants.get("OBJECT")}  # fmt: skip


@pytest.mark.parametrize("name", sorted(set(FILES) - BROKEN_IN_KERAS_3))
def test_published_model_matches_keras(name: str, keras_fresh) -> None:
    options = _options(name)
    source = str(FOLDER / name)
    report = modelscope.inspect(source, **options)
    params, outputs = keras_figures(name)
    assert report.totals.params == params
    if outputs is not None:
        assert len(report.outputs) == len(outputs)
        for ours, real in zip(report.outputs, outputs):
            assert ours.shape is not None and len(ours.shape) == len(real)
            assert ours.shape[0] is None or ours.shape[0] == real[0]  # the batch is never invented
            assert all(d is None or d == r for d, r in zip(ours.shape[1:], real[1:])), (ours.shape, real)
    assert "<svg" in modelscope.graph(report)
    stats = modelscope.api.stats(source, options["input_shape"], options["dtype"], object=options["object"],
                                 spectral=False)  # fmt: skip
    assert [f.path for f in stats.flags] == []
    assert sum(v.info.count for v in stats.variables) == params


@pytest.mark.parametrize("name", sorted(BROKEN_IN_KERAS_3 & set(FILES)))
def test_published_code_that_keras_3_cannot_run_is_the_models_error(name: str, keras_fresh) -> None:
    with pytest.raises(Exception):  # noqa: B017 - Keras's own error, whatever its type
        keras_figures(name)
    with pytest.raises(ModelscopeError) as info:
        modelscope.inspect(str(FOLDER / name), **_options(name))
    assert info.value.exit_code == 1


@pytest.mark.parametrize("name", ["tf_cvae.py", "tf_resnet_identity_block.py", "keras_vae.py"])
def test_published_models_through_the_cli(name: str, tmp_path: Path, cli_env) -> None:
    options = _options(name)
    args = [str(FOLDER / name)]
    args += [f"--input-shape={s}" for s in options["input_shape"] or []]
    args += ["--object", options["object"]] if options["object"] else []
    for command in (["summary"], ["graph", "-o", str(tmp_path / "g.svg")], ["stats", "--check", "--no-spectral"]):
        result = subprocess.run([sys.executable, "-m", "modelscope", *command, *args], cwd=tmp_path, env=cli_env,
                                capture_output=True, text=True, timeout=300)  # fmt: skip
        assert result.returncode == 0, (command, result.stderr)
        assert "Traceback" not in result.stderr
    assert (tmp_path / "g.svg").read_text().startswith("<?xml")
