"""Streaming weight values: a background thread reads ahead within a memory budget, into reused buffers.

``streamed`` hands out ``(variable, value)`` one at a time. A thread reads the next values while the
consumer works on the current one (h5py releases the GIL while it reads), as long as the values
alive — the one handed out and those read ahead — fit in the budget. Values are read into one
arena of the budget's size, carved in order and given back in order (a ring), so its memory is
touched once and reused rather than faulted in again for every variable. A consumer that keeps a
value after asking for the next (``weights_diff`` keeps A's) is noticed by the value's reference
count; from then on every value gets its own fresh array.
"""

from __future__ import annotations

import math
import sys
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator
from functools import partial

import numpy as np

from modelscope.model.report import VariableInfo

Allocate = Callable[[tuple[int, ...], np.dtype], np.ndarray]  # an empty array to read a value into
ALIGN = 64


class Ring:
    """Regions of one arena of ``capacity`` bytes, taken in order and given back in the same order."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.arena: np.ndarray | None = None  # allocated at the first take; untouched pages cost nothing
        self.live: deque[tuple[int, int] | None] = deque()  # one entry per value alive; None: not in the arena

    def place(self, nbytes: int) -> int | None:
        """Where ``nbytes`` would go now (the offset), or None when no contiguous room is free."""
        regions = [r for r in self.live if r is not None]
        if not regions:
            return 0 if nbytes <= self.capacity else None
        first, end = regions[0][0], regions[-1][1]
        end = -(-end // ALIGN) * ALIGN
        if end > first:  # not wrapped: after the newest, else from the start up to the oldest
            if end + nbytes <= self.capacity:
                return end
            return 0 if nbytes <= first else None
        return end if end + nbytes <= first else None

    def take(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray | None:
        nbytes = math.prod(shape) * dtype.itemsize
        offset = self.place(nbytes)
        if offset is None:
            return None
        if self.arena is None:
            try:
                self.arena = np.empty(self.capacity, dtype=np.uint8)
            except MemoryError:  # the budget is a claim of the file (at most this machine's memory)
                self.capacity = 0
                return None
        self.live.append((offset, offset + nbytes))
        return self.arena[offset : offset + nbytes].view(dtype).reshape(shape)


class ReadAhead:
    """Values ``read(0, allocate)``, ``read(1, allocate)``, ... produced by a background thread, in
    order, while the bytes held — the value last handed out (released when the next is asked for)
    and those read ahead — stay within ``budget``; a value larger than the budget is read when
    nothing is held. ``read`` may read into ``allocate(shape, dtype)`` (a region of the ring, or
    a fresh array). ``close`` runs in the thread when it ends; an error in ``read`` is raised in
    the consumer."""

    def __init__(self, sizes: list[int], read: Callable[[int, Allocate], np.ndarray], close: Callable[[], None],
                 budget: int) -> None:  # fmt: skip
        self._sizes, self._read, self._close, self._budget = sizes, read, close, budget
        self._ready: deque[tuple[np.ndarray | None, BaseException | None]] = deque()
        self._held, self._stop = 0, False
        self._ring: Ring | None = Ring(budget) if budget > 0 else None
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="modelscope-read-ahead", daemon=True)

    def _room(self, size: int) -> bool:
        if self._stop or self._held == 0:
            return True
        fits = self._ring is None or self._ring.place(size) is not None
        return self._held + size <= self._budget and fits

    def _allocate(self, taken: list[bool], shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        with self._cond:
            value = self._ring.take(shape, dtype) if self._ring is not None and not taken else None
            if self._ring is not None and self._ring.capacity == 0:  # its arena could not be allocated
                self._ring = None
            taken.append(value is not None)
        return value if value is not None else np.empty(shape, dtype=dtype)

    def _run(self) -> None:
        try:
            for i, size in enumerate(self._sizes):
                with self._cond:
                    self._cond.wait_for(partial(self._room, size))
                    if self._stop:
                        return
                    self._held += size
                taken: list[bool] = []
                try:
                    item: tuple[np.ndarray | None, BaseException | None] = (
                        self._read(i, partial(self._allocate, taken)), None)  # fmt: skip
                except BaseException as e:  # handed to the consumer, raised there
                    item = (None, e)
                failed = item[1] is not None
                with self._cond:
                    if self._ring is not None and not any(taken):
                        self._ring.live.append(None)
                    self._ready.append(item)
                    self._cond.notify_all()
                del item
                if failed:
                    return
        finally:
            self._close()

    def values(self) -> Generator[np.ndarray, None, None]:
        """The values in order; stops the thread (after its current read) when closed early."""
        self._thread.start()
        try:
            for size in self._sizes:
                with self._cond:
                    self._cond.wait_for(lambda: bool(self._ready))
                    value, error = self._ready.popleft()
                if error is not None:
                    raise error
                assert value is not None
                yield value
                kept = sys.getrefcount(value) > 2  # this name and the call's argument: nobody else
                del value
                with self._cond:
                    self._held -= size
                    if self._ring is not None:
                        self._ring.live.popleft()
                        if kept:  # its region must never be reused: fresh arrays from now on
                            self._ring = None
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._stop = True
                self._ready.clear()
                self._cond.notify_all()
            self._thread.join()
            self._ready.clear()  # what the thread read after being told to stop


def streamed(variables: tuple[VariableInfo, ...], read: Callable[[int, Allocate], np.ndarray],
             close: Callable[[], None], memory: int, order: list[int] | None = None,
             ) -> Iterator[tuple[VariableInfo, np.ndarray]]:  # fmt: skip
    """``(variables[i], read(i, allocate))`` for each i of ``order`` (default: in turn), read ahead by
    a :class:`ReadAhead` whose budget is the largest variable; each value is dropped here before the
    next is asked for."""
    order = list(range(len(variables))) if order is None else order
    sizes = [min(variables[i].bytes, memory) for i in order]
    ahead = ReadAhead(sizes, lambda n, allocate: read(order[n], allocate), close, budget=max(sizes, default=0))
    values = ahead.values()
    try:
        for i in order:  # no zip(): its reused result tuple would keep the last value alive
            value = next(values)
            yield variables[i], value
            del value  # before the next is asked for: the reader counts it released then
    finally:
        values.close()
