"""set_num_threads / get_num_threads / set_num_interop_threads / get_num_interop_threads.

kindling's heavy lifting (matmul, convolution as matmul) runs in NumPy's BLAS, which has its own
thread pool. When `threadpoolctl` is installed (scikit-learn depends on it), `set_num_threads(n)`
limits that pool to n threads for the rest of the process, which is what torch's intra-op setting
controls. Without threadpoolctl the number is only recorded: set OMP_NUM_THREADS /
OPENBLAS_NUM_THREADS before starting Python to limit BLAS. kindling has no inter-op pool (ops run
one after another), so the inter-op number is recorded and reported back, nothing more.
"""
import os

__all__ = ["set_num_threads", "get_num_threads", "set_num_interop_threads",
           "get_num_interop_threads"]

_state = {"threads": None, "interop": None, "limiter": None}


def _threadpoolctl():
    """The optional threadpoolctl module, or None; imported on first use (startup time)."""
    try:
        import threadpoolctl
    except ImportError:
        return None
    return threadpoolctl


def _cpu_count():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def set_num_threads(int):  # noqa: A002 - PyTorch's parameter name
    n = _check("set_num_threads", int)
    threadpoolctl = _threadpoolctl()
    if threadpoolctl is not None:
        _state["limiter"] = threadpoolctl.threadpool_limits(limits=n, user_api="blas")
    _state["threads"] = n


def get_num_threads():
    if _state["threads"] is not None:
        return _state["threads"]
    threadpoolctl = _threadpoolctl()
    if threadpoolctl is not None:
        blas = [p["num_threads"] for p in threadpoolctl.threadpool_info()
                if p.get("user_api") == "blas"]
        if blas:
            return max(blas)
    return _cpu_count()


def set_num_interop_threads(int):  # noqa: A002
    n = _check("set_num_interop_threads", int)
    if _state["interop"] is not None:
        # PyTorch allows this once, before any parallel work; keep the same contract.
        raise RuntimeError("Error: cannot set number of interop threads after parallel work has "
                           "started or set_num_interop_threads called")
    _state["interop"] = n


def get_num_interop_threads():
    return _state["interop"] if _state["interop"] is not None else _cpu_count()


def _check(fn, n):
    if isinstance(n, bool) or not isinstance(n, type(1)) or n <= 0:
        raise RuntimeError(f"{fn}: Number of threads must be a positive integer, got {n!r}")
    return n
