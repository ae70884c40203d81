"""Memory estimates from a report (pure): what training a model at a batch size needs.

Formula (documented in the README): parameters (their own dtypes) + one gradient per trainable
parameter (same dtype) + the optimizer's slot variables (``SLOTS`` per trainable parameter: Adam
keeps two moments) + activations kept for the backward pass, estimated as the batch size times the
per-sample bytes of every layer's outputs (layers without sublayers). Framework workspace, the
input pipeline and allocator fragmentation are not included: treat it as a lower bound.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelscope.errors import UsageError
from modelscope.model.report import Report

SLOTS = {"sgd": 0, "momentum": 1, "rmsprop": 1, "adagrad": 1, "lion": 1, "adam": 2, "adamw": 2, "nadam": 2,
         "adamax": 2, "adadelta": 2, "ftrl": 2, "lamb": 2}  # fmt: skip


@dataclass(frozen=True)
class TrainingMemory:
    batch_size: int
    optimizer: str
    params: int
    gradients: int
    optimizer_state: int
    activations: int | None  # None when a layer's output size is unknown

    @property
    def total(self) -> int | None:
        if self.activations is None:
            return None
        return self.params + self.gradients + self.optimizer_state + self.activations


def check_optimizer(optimizer: str) -> str:
    """The optimizer's name in ``SLOTS`` (lower case); an unknown one is a UsageError."""
    name = optimizer.lower()
    if name not in SLOTS:
        raise UsageError(
            f"--optimizer {optimizer}: unknown optimizer {optimizer!r}; use one of {', '.join(sorted(SLOTS))}"
        )
    return name


def training_memory(report: Report, batch_size: int, optimizer: str = "adam") -> TrainingMemory:
    """The estimate for training ``report``'s model with ``optimizer`` (a name in ``SLOTS``)."""
    name = check_optimizer(optimizer)
    t = report.totals
    per_sample = t.activation_bytes
    return TrainingMemory(batch_size, name, t.bytes, t.trainable_bytes, SLOTS[name] * t.trainable_bytes,
                          None if per_sample is None else batch_size * per_sample)  # fmt: skip
