"""Input specifications: ``--input-shape`` / ``--dtype`` parsing and matching (pure, no TensorFlow).

A shape is written like Keras prints it, with ``None`` (or ``?``) for unknown dimensions:
``None,28,28,1``, ``(None, 28, 28, 1)`` or ``[?, 28, 28, 1]``. ``NAME=SHAPE`` binds a shape to a
named input; ``NAME=DTYPE`` does the same for ``--dtype``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from modelscope.errors import InputSpecError
from modelscope.model.shapes import Shape, format_shape

DTYPES = frozenset(
    ["float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16",
     "uint32", "uint64", "bool", "string", "complex64", "complex128"]
)  # fmt: skip
_UNKNOWN = {"none", "?", "null"}
_NAME = re.compile(r"^\s*([A-Za-z_][\w.\-]*)\s*=(.*)$", re.S)


@dataclass(frozen=True)
class InputArg:
    """One input of the model call: its shape, and optionally a name and a dtype."""

    shape: Shape
    name: str | None = None
    dtype: str | None = None


def parse_shape(text: str) -> Shape:
    """Parse ``None,28,28,1`` / ``(None, 28, 28, 1)`` / ``[?,28,28,1]`` into a tuple."""
    body = text.strip()
    if body[:1] in "([" and body[-1:] in ")]":
        body = body[1:-1]
    parts = [p.strip() for p in body.split(",")]
    if parts and parts[-1] == "" and len(parts) > 1:  # trailing comma: "(None,)"
        parts.pop()
    dims: list[int | None] = []
    for part in parts:
        if part.lower() in _UNKNOWN:
            dims.append(None)
        elif re.fullmatch(r"[0-9]{1,12}", part):  # 0 too: a zero-length axis (an empty prompt list) is a valid size
            dims.append(int(part))
        else:
            raise InputSpecError(
                f"--input-shape {text!r}: {part!r} is not a dimension. Write sizes (0 or more) "
                "and None (or ?) separated by commas, e.g. --input-shape None,28,28,1"
            )
    return tuple(dims)


def _split_name(text: str) -> tuple[str | None, str]:
    match = _NAME.match(text)
    if match and not match.group(2).strip().startswith("="):
        return match.group(1), match.group(2)
    return None, text


def parse_dtype(text: str) -> tuple[str | None, str]:
    """``int32`` or ``tokens=int32`` into (name, dtype)."""
    name, value = _split_name(text)
    dtype = value.strip()
    if dtype not in DTYPES:
        raise InputSpecError(f"--dtype {text!r}: unknown dtype {dtype!r}. Use one of: {', '.join(sorted(DTYPES))}")
    return name, dtype


def _is_dim(value: object) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


def _shape_from_value(value: object) -> Shape:
    if isinstance(value, str):
        return parse_shape(value)
    if isinstance(value, Sequence) and all(_is_dim(d) for d in value):
        dims = tuple(value)
        if any(d is not None and d < 0 for d in dims):
            raise InputSpecError(f"input shape {dims}: dimensions must be sizes (0 or more) or None")
        return dims
    raise InputSpecError(f"input shape {value!r} is not a shape; give a tuple such as (None, 28, 28, 1)")


def _shape_entries(value: object) -> list[tuple[str | None, Shape]]:
    """Normalise the Python API's ``input_shape=`` (or the CLI's strings) to (name, shape) pairs."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [(str(k), _shape_from_value(v)) for k, v in value.items()]
    if isinstance(value, str):
        name, body = _split_name(value)
        return [(name, parse_shape(body))]
    if isinstance(value, Sequence) and value and all(_is_dim(d) for d in value):
        return [(None, _shape_from_value(value))]
    if isinstance(value, Sequence):
        entries: list[tuple[str | None, Shape]] = []
        for item in value:
            entries.extend(_shape_entries(item) if isinstance(item, str) else [(None, _shape_from_value(item))])
        return entries
    raise InputSpecError(f"input shape {value!r} is not a shape; give e.g. (None, 28, 28, 1)")


def _dtype_entries(value: object) -> list[tuple[str | None, str]]:
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [parse_dtype(f"{k}={v}") for k, v in value.items()]
    if isinstance(value, str):
        return [parse_dtype(value)]
    if isinstance(value, Sequence):
        return [e for item in value for e in _dtype_entries(item)]
    return [parse_dtype(str(value))]


@dataclass(frozen=True)
class InputSpec:
    """What the user said about the inputs. ``args`` may be empty: the model's own inputs apply.

    ``dtypes_by_name`` holds ``NAME=DTYPE`` entries for inputs named later by the model itself.
    """

    args: tuple[InputArg, ...] = ()
    dtypes_by_name: tuple[tuple[str, str], ...] = ()
    default_dtype: str | None = None
    method: str | None = None  # trace this method of the model instead of ``call`` (``--method``)

    @property
    def named(self) -> bool:
        return any(a.name for a in self.args)


def make_input_spec(input_shape: object = None, dtype: object = None, method: str | None = None) -> InputSpec:
    """Build an :class:`InputSpec` from CLI strings or Python values (tuple, list, dict)."""
    if method is not None and not re.fullmatch(r"[A-Za-z_]\w*", method):
        raise InputSpecError(f"--method {method!r}: give the name of a method of the model, e.g. --method encode")
    shapes = _shape_entries(input_shape)
    names = [n for n, _ in shapes if n]
    if names and len(names) != len(shapes):
        raise InputSpecError("--input-shape: name all inputs (NAME=SHAPE) or none of them, not a mix")
    if len(set(names)) != len(names):
        raise InputSpecError("--input-shape: the same input name is given twice")

    dtypes = _dtype_entries(dtype)
    positional = [d for n, d in dtypes if n is None]
    by_name = {n: d for n, d in dtypes if n is not None}
    default = None
    if len(positional) == 1 and len(shapes) != 1:
        default = positional[0]  # one --dtype applies to every input
    elif positional and len(positional) != len(shapes):
        raise InputSpecError(
            f"{len(positional)} --dtype values for {len(shapes)} --input-shape values: "
            "give one --dtype for all inputs, one per input in the same order, or NAME=DTYPE"
        )
    args = []
    for i, (name, shape) in enumerate(shapes):
        chosen = by_name.pop(name, None) if name else None
        if chosen is None and positional and default is None:
            chosen = positional[i]
        args.append(InputArg(shape=shape, name=name, dtype=chosen or default))
    return InputSpec(tuple(args), tuple(sorted(by_name.items())), default, method)


@dataclass(frozen=True)
class ModelInput:
    """An input the model already declares (functional inputs, a loaded file)."""

    name: str
    shape: Shape
    dtype: str


def _compatible(given: Shape, known: Shape) -> bool:
    return len(given) == len(known) and all(k is None or g is None or g == k for g, k in zip(given, known))


def resolve(spec: InputSpec, declared: Sequence[ModelInput]) -> list[InputArg]:
    """Match what the user gave with what the model declares; the result is what gets traced.

    With no declared inputs the user's shapes are used as given (float32 unless a dtype says
    otherwise). With declared inputs, ``--input-shape`` is optional; given, it must agree.
    """
    if not declared:
        if not spec.args:
            raise InputSpecError(
                "this model does not declare its inputs, so modelscope needs their shape: "
                "add --input-shape, e.g. --input-shape None,28,28,1 (None for the batch)"
            )
        if spec.dtypes_by_name and not spec.named:
            unknown = ", ".join(n for n, _ in spec.dtypes_by_name)
            raise InputSpecError(f"--dtype names {unknown}, but no --input-shape has that name")
        return [replace(a, dtype=a.dtype or "float32") for a in spec.args]

    names = {d.name: d for d in declared}
    dtypes = dict(spec.dtypes_by_name)
    for name in dtypes:
        if name not in names:
            raise InputSpecError(
                f"--dtype {name}=...: the model has no input named {name!r} (its inputs: {', '.join(names)})"
            )
    if not spec.args:
        return [InputArg(d.shape, d.name, dtypes.get(d.name) or spec.default_dtype or d.dtype) for d in declared]
    if spec.named:
        given = {str(a.name): a for a in spec.args}
        for name in given:
            if name not in names:
                raise InputSpecError(
                    f"--input-shape {name}=...: the model has no input named {name!r} (its inputs: {', '.join(names)})"
                )
        pairs = [(given.get(d.name), d) for d in declared]
    else:
        if len(spec.args) != len(declared):
            raise InputSpecError(
                f"{len(spec.args)} --input-shape values given, but the model has "
                f"{len(declared)} inputs ({', '.join(names)}); give one per input, in order"
            )
        pairs = list(zip(spec.args, declared))
    resolved = []
    for arg, decl in pairs:
        if arg is None:
            resolved.append(InputArg(decl.shape, decl.name, dtypes.get(decl.name) or decl.dtype))
            continue
        if not _compatible(arg.shape, decl.shape):
            raise InputSpecError(
                f"--input-shape {format_shape(arg.shape)} contradicts the model's input "
                f"{decl.name!r} of shape {format_shape(decl.shape)}; drop --input-shape to use "
                "the model's own, or give a compatible one"
            )
        dtype = arg.dtype or dtypes.get(decl.name) or decl.dtype
        merged = tuple(g if g is not None else k for g, k in zip(arg.shape, decl.shape))
        resolved.append(InputArg(merged, decl.name, dtype))
    return resolved
