"""Intra-op parallelism for memory-bound NumPy work: split it into slices run on a thread pool.

NumPy's BLAS is multi-threaded, but its ufuncs and copies run on one core. torch splits such
loops across its intra-op threads, so on a multi-core CPU kindling does the same for the large
ones (optimizer updates, convolution's patch copies, normalization): NumPy releases the GIL
inside ufunc loops and copies, so slices given to different threads run at the same time. The
number of threads is `kindling.set_num_threads`'s (by default BLAS's). Work is only split where
each slice still has at least `min_items` items, since a thread handoff costs some microseconds.
"""
import numpy as np

_pool = {"size": 0, "executor": None, "default_threads": None}


def num_threads():
    from .. import threads
    n = threads._state["threads"]
    if n is None:  # asked once: threadpoolctl's lookup is slow
        if _pool["default_threads"] is None:
            _pool["default_threads"] = threads.get_num_threads()
        n = _pool["default_threads"]
    return n


def _executor(workers):
    if _pool["size"] < workers:
        from concurrent.futures import ThreadPoolExecutor
        if _pool["executor"] is not None:
            _pool["executor"].shutdown(wait=False)
        _pool["executor"] = ThreadPoolExecutor(workers, thread_name_prefix="kindling")
        _pool["size"] = workers
    return _pool["executor"]


def parallel_ranges(fn, n, min_items):
    """Call fn(start, stop) over consecutive ranges covering range(n), on up to `num_threads()`
    threads (the caller's thread takes the first range). fn must write disjoint outputs."""
    parts = min(num_threads(), n // max(min_items, 1))
    if parts < 2:
        fn(0, n)
        return
    bounds = [n * i // parts for i in range(parts + 1)]
    pool = _executor(parts - 1)
    futures = [pool.submit(fn, lo, hi) for lo, hi in zip(bounds[1:-1], bounds[2:])]
    try:
        fn(bounds[0], bounds[1])
    finally:
        for future in futures:
            future.result()


def run_elementwise(update, arrays, min_items=1 << 16):
    """Run `update(*arrays)`, an elementwise in-place update, on matching slices of the arrays in
    parallel. Every element sees the same operations, so the result is bitwise that of one
    call. Arrays that are not all C-contiguous and of one size are updated in one call."""
    size = arrays[0].size
    if not all(a.flags.c_contiguous and a.size == size for a in arrays):
        update(*arrays)
        return
    flat = [a.reshape(-1) for a in arrays]
    parallel_ranges(lambda lo, hi: update(*[f[lo:hi] for f in flat]), size, min_items)


def map_elementwise(fn, *arrays, min_items=1 << 17):
    """fn(*arrays) for an elementwise `fn` of same-shaped arrays, computed on slices in parallel
    (worth it for ufunc chains heavy in arithmetic, such as GELU's normal CDF)."""
    first = arrays[0]
    if num_threads() < 2 or first.size < 2 * min_items or not all(
            a.flags.c_contiguous and a.shape == first.shape for a in arrays):
        return fn(*arrays)
    flat = [a.reshape(-1) for a in arrays]
    out = np.empty(first.size, np.result_type(*arrays))

    def run(lo, hi):
        out[lo:hi] = fn(*[f[lo:hi] for f in flat])
    parallel_ranges(run, first.size, min_items)
    return out.reshape(first.shape)
