"""Finding the model in a Python file or module.

Candidates, in the module's own namespace: module-level ``keras.Model`` instances; ``Model``
subclasses defined in that module whose constructor needs no arguments; zero-argument factory
functions defined there with a telling name (``build_model`` ...). An instance hides its own
class. Exactly one candidate is used; several need ``--object``.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import traceback
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

from modelscope.errors import LoadError, UsageError

FACTORY_NAMES = ("build_model", "get_model", "create_model", "make_model", "model_fn")


def _user_line(error: BaseException, path: str) -> str:
    """``file:line`` of the deepest frame in the user's file, for error messages."""
    where = path
    for frame in traceback.extract_tb(error.__traceback__):
        if Path(frame.filename).resolve() == Path(path).resolve():
            where = f"{path}:{frame.lineno}"
    return where


def _exec_error(error: BaseException, path: str) -> LoadError:
    where = _user_line(error, path)
    if isinstance(error, ModuleNotFoundError) and error.name:
        top = error.name.split(".")[0]
        return LoadError(
            f"{where}: importing {error.name!r} failed: no module named {error.name!r}. "
            f"Install it (pip install {top}) or fix the import."
        )
    if isinstance(error, ImportError):
        return LoadError(f"{where}: an import failed: {error}. Fix the import or install what it needs.")
    if isinstance(error, SyntaxError):
        return LoadError(f"{error.filename}:{error.lineno}: syntax error: {error.msg}")
    return LoadError(f"{where}: running the file failed: {type(error).__name__}: {error}")


def import_file(path: str) -> ModuleType:
    """Import ``path`` as a fresh module, its folder importable; no bytecode is written."""
    file = Path(path).resolve()
    folder = str(file.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    name = f"modelscope_user.{file.stem}_{abs(hash(str(file))) & 0xFFFFFF:06x}"
    spec = importlib.util.spec_from_file_location(name, file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader = spec.loader
    assert loader is not None
    return _run(lambda: loader.exec_module(module), path, module)


def import_module(name: str) -> ModuleType:
    """Import ``package.module`` with the current folder importable (as uvicorn does)."""
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        spec = importlib.util.find_spec(name)
    except ModuleNotFoundError:
        spec = None
    if spec is None:
        raise LoadError(f"{name}: no such module. Check the name, or pass a file path instead.")
    return _run(lambda: importlib.import_module(name), spec.origin or name, None)


def _run(action: Any, path: str, module: ModuleType | None) -> ModuleType:
    saved = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # never write __pycache__ next to the user's files
    try:
        result = action()
    except (Exception, SystemExit) as e:
        raise _exec_error(e, path) from e
    finally:
        sys.dont_write_bytecode = saved
    return module if module is not None else result


def _required_params(fn: Any) -> list[str]:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return []
    return [
        p.name for p in sig.parameters.values()
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]  # fmt: skip


def _make(name: str, value: Any, where: str, model_cls: type) -> Any:
    """Turn a named object (instance, class or factory) into a model instance."""
    if isinstance(value, model_cls):
        return value
    if isinstance(value, type) and issubclass(value, model_cls):
        needed = _required_params(value.__init__)[1:]
        if needed:
            raise LoadError(
                f"{where}: {name}() needs constructor arguments ({', '.join(needed)}). Add a "
                f"build_model() function that returns {name}(...) with them, or a module-level "
                f"instance, and point modelscope at it (--object build_model)."
            )
    elif not callable(value):
        raise LoadError(f"{where}: {name} is a {type(value).__name__}, not a Keras model.")
    elif _required_params(value):
        raise LoadError(
            f"{where}: {name}() needs arguments ({', '.join(_required_params(value))}); "
            "modelscope calls it with none. Give them defaults or add a wrapper function."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            made = value()
    except Exception as e:
        raise LoadError(f"{_user_line(e, where)}: {name}() failed: {type(e).__name__}: {e}") from e
    if not isinstance(made, model_cls):
        raise LoadError(f"{where}: {name}() returned a {type(made).__name__}, not a Keras model.")
    return made


def candidates(module: ModuleType, model_cls: type) -> tuple[dict[str, Any], list[str]]:
    """The module's model candidates by name, and classes/functions skipped for needing args."""
    found: dict[str, Any] = {}
    needs_args: list[str] = []
    instance_types = set()
    seen_ids = set()
    for name, value in vars(module).items():
        if isinstance(value, model_cls) and not name.startswith("_") and id(value) not in seen_ids:
            found[name] = value
            seen_ids.add(id(value))
            instance_types.add(type(value))
    for name, value in vars(module).items():
        if getattr(value, "__module__", None) != module.__name__ or name.startswith("_"):
            continue
        if isinstance(value, type) and issubclass(value, model_cls) and value not in instance_types:
            if _required_params(value.__init__)[1:]:
                needs_args.append(f"{name}()")
            else:
                found[name] = value
        elif inspect.isfunction(value) and name in FACTORY_NAMES:
            if _required_params(value):
                needs_args.append(f"{name}()")
            else:
                found[name] = value
    return found, needs_args


def _describe(name: str, value: Any, model_cls: type) -> str:
    if isinstance(value, model_cls):
        return f"{name} (a {type(value).__name__} instance)"
    if isinstance(value, type):
        return f"{name} (class)"
    return f"{name}() (function)"


def model_from_module(module: ModuleType, where: str, attr: str | None) -> tuple[Any, str]:
    """The model a module defines: ``attr`` if given, else its single candidate."""
    import keras

    model_cls = keras.Model
    if attr:
        if not hasattr(module, attr):
            found, _ = candidates(module, model_cls)
            hint = f" Models found there: {', '.join(found)}." if found else ""
            raise LoadError(f"{where}: has no attribute {attr!r}.{hint}")
        return _make(attr, getattr(module, attr), where, model_cls), attr
    found, needs_args = candidates(module, model_cls)
    if len(found) == 1:
        ((name, value),) = found.items()
        return _make(name, value, where, model_cls), name
    if not found:
        if needs_args:
            name = needs_args[0].rstrip("()")
            _make(name, getattr(module, name), where, model_cls)  # raises with the arguments
        raise LoadError(
            f"{where}: no Keras model found. Define a module-level model, a keras.Model "
            f"subclass, or a function named {' / '.join(FACTORY_NAMES[:2])} that returns one."
        )
    listed = "\n".join(f"  {_describe(n, v, model_cls)}" for n, v in found.items())
    first = next(iter(found))
    raise UsageError(f"{where}: several models found; choose one with --object NAME (e.g. --object {first}):\n{listed}")
