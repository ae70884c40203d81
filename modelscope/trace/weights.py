"""Reading variable values out of a traced model, one variable at a time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from modelscope.errors import LoadError, first_line
from modelscope.model.report import Report, VariableInfo


def variable_values(model: Any, report: Report) -> Iterator[tuple[VariableInfo, np.ndarray]]:
    """Each of the report's variables with its current value (a fresh NumPy copy each)."""
    weights = list(model.weights)
    if len(weights) != len(report.variables):
        raise LoadError("the model's variables changed after the trace; trace it again")
    for info, variable in zip(report.variables, weights):
        yield info, np.asarray(variable.numpy())


def load_weights(model: Any, path: str) -> None:
    """Load trained weights (``model.save_weights``) into a built model; the file is only read."""
    try:
        model.load_weights(path)
    except Exception as e:
        first = first_line(e)
        raise LoadError(
            f"{path}: could not load these weights into the model: {first}. The weights must come "
            "from model.save_weights() of the same architecture (same layers, same shapes)."
        ) from e
