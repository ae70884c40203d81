"""A dataset's value mapped read-only from its HDF5 file: no copy, the page cache read in place.

Keras writes each variable as one contiguous, unfiltered dataset, so its bytes lie in the file as
a plain array. Mapping them costs nothing until they are read: the statistics then read the page
cache directly (a ``read()`` would first copy it, which costs about as much as the statistics
themselves), and ``madvise(WILLNEED)`` lets the kernel read the bytes from disk in the background
while the previous variable is computed. Touched pages count in the process's RSS as a read
array would, and are released with the array. The array is read-only: a consumer that keeps it
(``weights_diff`` keeps A's values) keeps a valid view.

Every figure comes from the file and is checked: a plain numeric dtype, a contiguous layout
without filters, bytes inside the file, and first and last elements equal to what HDF5 itself
reads; anything else is read by HDF5 as before (``None``). The file is mapped through HDF5's own
descriptor, never opened again by name. A file truncated by another process while it is mapped
would make reading past its new end fail with SIGBUS; files are not expected to change under a run.
"""

from __future__ import annotations

import mmap
import os
from typing import Any

import numpy as np

MIN_BYTES = 1 << 20  # smaller values are read: a mapping per small bias costs more than it saves


def mapped(f: Any, dataset: Any) -> np.ndarray | None:
    """``dataset``'s value as a read-only array over the file's bytes, or None (read it instead)."""
    try:
        return _map(f, dataset)
    except (OSError, ValueError, TypeError, AttributeError, OverflowError):
        return None


def _map(f: Any, dataset: Any) -> np.ndarray | None:
    import h5py

    dtype = np.dtype(dataset.dtype)
    if dtype.kind not in "fiu" or dtype.names or dtype.subdtype or dtype.metadata:  # enum, compound, string...
        return None  # only a plain number's bytes are its value
    nbytes = int(dataset.size) * dtype.itemsize
    if nbytes < MIN_BYTES or f.driver != "sec2" or dataset.chunks is not None:
        return None
    plist = dataset.id.get_create_plist()
    if plist.get_layout() != h5py.h5d.CONTIGUOUS or plist.get_nfilters() or plist.get_external_count():
        return None
    offset = dataset.id.get_offset()
    fd = f.id.get_vfd_handle()
    if offset is None or not isinstance(fd, int) or offset < 0 or offset + nbytes > os.fstat(fd).st_size:
        return None
    start = offset - offset % mmap.ALLOCATIONGRANULARITY
    region = mmap.mmap(fd, offset - start + nbytes, access=mmap.ACCESS_READ, offset=start)
    if hasattr(region, "madvise"):
        region.madvise(mmap.MADV_WILLNEED)
    value = np.frombuffer(region, dtype=dtype, count=int(dataset.size), offset=offset - start)
    value = value.reshape(dataset.shape)
    ends = (tuple(0 for _ in dataset.shape), tuple(n - 1 for n in dataset.shape))
    for index in ends:  # the bytes are where HDF5 says: its own reading agrees at both ends
        if np.asarray(dataset[index], dtype=dtype).tobytes() != value[index].tobytes():
            return None
    return value
