"""What loading a source gives: the report, the live model when there is one, the values."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelscope.model.report import Report, VariableInfo

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Opened:
    """A loaded source: its report, the live Keras model when there is one, and a way to read
    each variable's value (one at a time) for ``stats``."""

    report: Report
    model: Any | None
    values: Callable[[], Iterator[tuple[VariableInfo, np.ndarray]]]
    stored: bool = True  # the values were saved (a model file, a checkpoint), not fresh initialisations
    # the same values in the order they are stored (a sequential read), for consumers of any order
    values_as_stored: Callable[[], Iterator[tuple[VariableInfo, np.ndarray]]] | None = None
