"""Spectral figures of a Dense/Conv kernel seen as a 2-D matrix (NumPy only).

The kernel is reshaped to ``(prod(shape[:-1]), shape[-1])`` — inputs by output channels.
Small enough kernels get every singular value exactly, from the eigenvalues of the Gram matrix
``WᵀW`` accumulated in float64 over row blocks (no float64 copy of the kernel). Larger ones get
the largest singular value by block power iteration in the kernel's own float32 precision
(other dtypes converted a block of rows at a time, never copied whole), with a bounded number
of iterations; the smallest singular value, and so the condition number, is then not known.
The method used is named in the result. Besides the kernel, memory holds one row block and
vectors of ``rows × BLOCK`` (8/columns of the kernel: under 1% past the exact method's 1024).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

EXACT_MAX_COLUMNS = 1024  # Gram matrix side; cost rows·cols² + cols³
POWER_ITERATIONS = 30
POWER_TOLERANCE = 1e-6
BLOCK = 8  # vectors iterated together
ROW_BLOCK_ELEMENTS = 1 << 20


@dataclass(frozen=True)
class Spectral:
    spectral_norm: float  # largest singular value
    stable_rank: float  # ‖W‖_F² / σ_max²
    condition_number: float | None  # σ_max / σ_min; None when σ_min is unknown or 0
    method: str  # "exact-gram" or "power-iteration"


def as_matrix(kernel: np.ndarray) -> np.ndarray:
    """Inputs × output channels (a view when the kernel is contiguous)."""
    return kernel.reshape(-1, kernel.shape[-1])


def _row_blocks(w: np.ndarray) -> Iterator[np.ndarray]:
    rows = max(1, ROW_BLOCK_ELEMENTS // max(w.shape[1], 1))
    for start in range(0, w.shape[0], rows):
        yield w[start : start + rows]


def spectral(kernel: np.ndarray, frobenius_sq: float) -> Spectral | None:
    """Spectral figures, or None for a kernel that is empty or not finite."""
    w = as_matrix(kernel)
    if w.size == 0 or frobenius_sq == 0 or not math.isfinite(frobenius_sq):
        return None
    if min(w.shape) <= EXACT_MAX_COLUMNS:
        return _exact(w if w.shape[1] <= w.shape[0] else w.T, frobenius_sq)
    return _power(w, frobenius_sq)


def _exact(w: np.ndarray, frobenius_sq: float) -> Spectral:
    gram = np.zeros((w.shape[1], w.shape[1]), dtype=np.float64)
    for block in _row_blocks(w):
        b = block.astype(np.float64)
        gram += b.T @ b
    eig = np.linalg.eigvalsh(gram)
    top = math.sqrt(max(float(eig[-1]), 0.0))
    low = math.sqrt(max(float(eig[0]), 0.0))
    cond = top / low if low > 0 and top / low < 1e12 else None  # beyond that the Gram loses it
    return Spectral(top, frobenius_sq / (top * top), cond, "exact-gram")


COPY_LIMIT = 64 * 2**20  # bytes: a converted copy of a kernel this small costs less than converting blocks


def _power(w: np.ndarray, frobenius_sq: float) -> Spectral:
    """Block power (subspace) iteration: a few vectors at once converge even when the top
    singular values are close, where a single power vector crawls. A float32/float64 kernel is
    used as it is; any other is converted to float32 once when that copy is small, else block by
    block at every iteration (slower, but never copied whole)."""
    dtype = w.dtype if w.dtype in (np.float32, np.float64) else np.dtype(np.float32)
    if w.dtype != dtype and w.size * dtype.itemsize <= COPY_LIMIT:
        w = w.astype(dtype)
    rng = np.random.default_rng(0)  # deterministic: the same kernel gives the same figure
    q, _ = np.linalg.qr(_times(w, rng.standard_normal((w.shape[1], BLOCK)).astype(dtype)))
    sigma = 0.0
    for _ in range(POWER_ITERATIONS):
        z = _transposed_times(w, q)  # its singular values are those of QᵀW: estimates from below
        top = float(np.linalg.svd(z, compute_uv=False)[0])
        if abs(top - sigma) <= POWER_TOLERANCE * top:
            sigma = top
            break
        sigma = top
        q, _ = np.linalg.qr(_times(w, z))
    return Spectral(sigma, frobenius_sq / (sigma * sigma) if sigma else math.inf, None, "block-power-iteration")


def _times(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``W @ x`` in ``x``'s dtype; W converted a row block at a time when its dtype differs."""
    if w.dtype == x.dtype:
        same: np.ndarray = w @ x
        return same
    out = np.empty((w.shape[0], x.shape[1]), dtype=x.dtype)
    start = 0
    for block in _row_blocks(w):
        out[start : start + len(block)] = block.astype(x.dtype) @ x
        start += len(block)
    return out


def _transposed_times(w: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``Wᵀ @ q`` in ``q``'s dtype; W converted a row block at a time when its dtype differs."""
    if w.dtype == q.dtype:
        same: np.ndarray = w.T @ q
        return same
    out = np.zeros((w.shape[1], q.shape[1]), dtype=q.dtype)
    start = 0
    for block in _row_blocks(w):
        out += block.astype(q.dtype).T @ q[start : start + len(block)]
        start += len(block)
    return out
