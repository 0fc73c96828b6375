"""Intra-op parallelism for NumPy work: split it into slices run on a thread pool.

NumPy's BLAS is multi-threaded, but its ufuncs and copies run on one core. torch splits such
loops across its intra-op threads, so on a multi-core CPU kindling does the same for the large
ones (optimizer updates, attention over the batch, convolution over samples): NumPy
releases the GIL inside ufunc loops, copies and GEMMs, so slices given to different threads run
at the same time. The number of threads is `kindling.set_num_threads`'s (by default BLAS's).

Two costs shape where work is split. A handoff to a sleeping thread costs tens to hundreds of
microseconds (measured on a 2-core VM), so slices must be large. And after each threaded GEMM,
OpenBLAS's own threads spin for ~0.1 s waiting for the next one, holding the other cores, so
work that mixes GEMMs with copies (convolution) runs in `split_batch`, which holds BLAS to one
thread and gives each of kindling's threads whole slices, GEMMs included. Elementwise chains
between threaded GEMMs (a transformer's GELU) stay on one thread: split, they measured 4-5%
slower on the GPT benchmark step, their second thread sharing a core with those spinners.
"""
import contextlib
import threading

import numpy as np

_pool = {"size": 0, "executor": None, "default_threads": None}
_WORKER_PREFIX = "kindling-intra-op"
_blas = {"controllers": None, "depth": 0, "saved": (), "lock": threading.Lock()}


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
        _pool["executor"] = ThreadPoolExecutor(workers, thread_name_prefix=_WORKER_PREFIX)
        _pool["size"] = workers
    return _pool["executor"]


def parallel_ranges(fn, n, min_items):
    """Call fn(start, stop) over consecutive ranges covering range(n), on up to `num_threads()`
    threads (the caller's thread takes the first range), and return the results in range order.
    fn must write disjoint outputs."""
    parts = min(num_threads(), n // max(min_items, 1))
    if parts < 2 or _in_worker():
        return [fn(0, n)]
    bounds = [n * i // parts for i in range(parts + 1)]
    pool = _executor(parts - 1)
    futures = [pool.submit(fn, lo, hi) for lo, hi in zip(bounds[1:-1], bounds[2:])]
    try:
        first = fn(bounds[0], bounds[1])
    finally:
        rest = [future.result() for future in futures]
    return [first] + rest


def _in_worker():
    """Whether this is one of the pool's threads: work split from there would wait on the pool
    it occupies, so it runs in place."""
    return threading.current_thread().name.startswith(_WORKER_PREFIX)


def _blas_controllers():
    """threadpoolctl's controllers of the loaded BLAS libraries (empty without threadpoolctl)."""
    if _blas["controllers"] is None:
        try:
            import threadpoolctl
            found = threadpoolctl.ThreadpoolController().select(user_api="blas").lib_controllers
        except Exception:  # threadpoolctl missing, or a BLAS it cannot drive
            found = []
        _blas["controllers"] = list(found)
    return _blas["controllers"]


class _OneBlasThread:
    """Holds every BLAS library to one thread (restored on exit; re-entrant across threads)."""

    def __enter__(self):
        with _blas["lock"]:
            if _blas["depth"] == 0:
                _blas["saved"] = [c.get_num_threads() for c in _blas["controllers"]]
                for c in _blas["controllers"]:
                    c.set_num_threads(1)
            _blas["depth"] += 1

    def __exit__(self, *exc):
        with _blas["lock"]:
            _blas["depth"] -= 1
            if _blas["depth"] == 0:
                for c, n in zip(_blas["controllers"], _blas["saved"]):
                    c.set_num_threads(n)


_NO_CHANGE = contextlib.nullcontext()
# OpenBLAS runs GEMMs of fewer multiply-adds than about this on the calling thread alone
# (interface/gemm.c: m*n*k <= 65536 * GEMM_MULTITHREAD_THRESHOLD, 4 by default, and two threads
# from twice that): work this small needs no care about BLAS's threads.
ONE_THREAD_GEMM_MACS = 1 << 19


def one_blas_thread():
    """Context: BLAS calls inside run on the calling thread only. For BLAS work too small to
    gain from BLAS's threads, whose wake-up and ~0.1 s of spinning afterwards would take the
    other cores from kindling's threads."""
    if _blas["depth"] or num_threads() < 2 or not _blas_controllers():
        return _NO_CHANGE
    return _OneBlasThread()


def split_batch(fn, n, min_items=1, max_items=None):
    """[fn(start, stop), ...] over consecutive ranges covering range(n), in range order, the
    ranges shared out between threads as each finishes its last, every thread's GEMMs on one
    BLAS thread. Ranges hold at least `min_items` (waking a thread costs ~0.1 ms or more)
    and at most `max_items` (say, to keep each range's temporaries in cache) when BLAS can be
    held to one thread; where it cannot, and BLAS has several, the batch is one range.

    For work that mixes copies and GEMMs on slices of a batch (convolution's im2col): NumPy's
    copies run on one core, and BLAS spreads each GEMM over its own threads, which then spin for
    ~0.1 s waiting for the next one and hold the other cores (OpenBLAS's default). Giving each
    thread whole slices, GEMMs included, keeps every core on useful work. BLAS's thread count is
    a process-wide setting, so while this runs other threads' GEMMs also get one thread."""
    threads = num_threads()
    if threads > 1 and not _blas["depth"] and not _blas_controllers():
        return [fn(0, n)]                     # BLAS runs its own threads: leave GEMMs whole
    parts = threads if max_items is None else max(threads, -(-n // max(max_items, 1)))
    parts = max(1, min(parts, n // max(min_items, 1)))
    ranges = [(n * i // parts, n * (i + 1) // parts) for i in range(parts)]
    if threads < 2 or _blas["depth"] or _in_worker():
        return [fn(lo, hi) for lo, hi in ranges]
    with _OneBlasThread():  # also when too small to split: no BLAS threads left spinning
        if len(ranges) == 1:
            return [fn(0, n)]
        return _share_out(fn, ranges, threads)


def _share_out(fn, ranges, threads):
    results = [None] * len(ranges)
    queue = iter(enumerate(ranges))           # next() on it is atomic under the GIL
    failed = []

    def work():
        for i, (lo, hi) in queue:
            try:
                results[i] = fn(lo, hi)
            except BaseException as e:  # noqa: BLE001 - re-raised in the caller below
                failed.append(e)
                return
    pool = _executor(threads - 1)
    futures = [pool.submit(work) for _ in range(min(threads, len(ranges)) - 1)]
    work()
    for future in futures:
        future.result()
    if failed:
        raise failed[0]
    return results


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
