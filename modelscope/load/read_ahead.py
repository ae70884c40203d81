"""Streaming weight values: a background thread reads ahead within a memory budget.

``streamed`` hands out ``(variable, value)`` one at a time. A thread reads the next values while the
consumer works on the current one (h5py releases the GIL while it reads; a mapped value, see
``mapped.py``, is only asked for from the disk then), as long as the values alive — the one handed
out and those read ahead — fit in the budget.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator
from functools import partial

import numpy as np

from modelscope.model.report import VariableInfo


class ReadAhead:
    """Values ``read(0)``, ``read(1)``, ... produced by a background thread, in order, while the
    bytes held — the value last handed out (released when the next is asked for) and those read
    ahead — stay within ``budget``; a value larger than the budget is read when nothing is held.
    ``close`` runs in the thread when it ends; an error in ``read`` is raised in the consumer."""

    def __init__(self, sizes: list[int], read: Callable[[int], np.ndarray], close: Callable[[], None],
                 budget: int) -> None:  # fmt: skip
        self._sizes, self._read, self._close, self._budget = sizes, read, close, budget
        self._ready: deque[tuple[np.ndarray | None, BaseException | None]] = deque()
        self._held, self._stop = 0, False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="modelscope-read-ahead", daemon=True)

    def _room(self, size: int) -> bool:
        return self._stop or self._held == 0 or self._held + size <= self._budget

    def _run(self) -> None:
        try:
            for i, size in enumerate(self._sizes):
                with self._cond:
                    self._cond.wait_for(partial(self._room, size))
                    if self._stop:
                        return
                    self._held += size
                try:
                    item: tuple[np.ndarray | None, BaseException | None] = (self._read(i), None)
                except BaseException as e:  # handed to the consumer, raised there
                    item = (None, e)
                failed = item[1] is not None
                with self._cond:
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
                del value
                with self._cond:
                    self._held -= size
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._stop = True
                self._ready.clear()
                self._cond.notify_all()
            self._thread.join()
            self._ready.clear()  # what the thread read after being told to stop


def streamed(variables: tuple[VariableInfo, ...], read: Callable[[int], np.ndarray], close: Callable[[], None],
             memory: int, order: list[int] | None = None) -> Iterator[tuple[VariableInfo, np.ndarray]]:  # fmt: skip
    """``(variables[i], read(i))`` for each i of ``order`` (default: in turn), read ahead by a
    :class:`ReadAhead` whose budget is the largest variable; each value is dropped here before the
    next is asked for."""
    order = list(range(len(variables))) if order is None else order
    sizes = [min(variables[i].bytes, memory) for i in order]
    values = ReadAhead(sizes, lambda n: read(order[n]), close, budget=max(sizes, default=0)).values()
    try:
        for i in order:
            value = next(values)
            yield variables[i], value
            del value  # before the next is asked for: the reader counts it released then
    finally:
        values.close()
