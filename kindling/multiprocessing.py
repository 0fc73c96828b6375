"""torch.multiprocessing: Python's multiprocessing, plus torch's `spawn`.

This is the standard library module re-exported, as torch does. kindling tensors cannot be
pickled (by design, see kindling.save), so pass NumPy arrays or file paths between processes, not
tensors. DataLoader workers are the data module's business, not this one's.
"""
import multiprocessing as _mp
from multiprocessing import *  # noqa: F401,F403 - torch.multiprocessing re-exports it all

__all__ = list(getattr(_mp, "__all__", [])) + ["spawn", "get_all_sharing_strategies",
                                                "get_sharing_strategy", "set_sharing_strategy"]

_sharing = ["file_system"]


def get_all_sharing_strategies():
    return {"file_system"}


def get_sharing_strategy():
    return _sharing[0]


def set_sharing_strategy(new_strategy):
    if new_strategy not in get_all_sharing_strategies():
        raise ValueError(f"set_sharing_strategy: unknown strategy {new_strategy!r}")
    _sharing[0] = new_strategy


def spawn(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    """Run `fn(i, *args)` in `nprocs` new processes (i = 0..nprocs-1), as torch's spawn. With
    join=True, wait for all and raise if any failed; otherwise return the processes."""
    ctx = _mp.get_context(start_method)
    procs = [ctx.Process(target=fn, args=(i,) + tuple(args), daemon=daemon)
             for i in range(nprocs)]
    for p in procs:
        p.start()
    if not join:
        return procs
    for p in procs:
        p.join()
    failed = [i for i, p in enumerate(procs) if p.exitcode != 0]
    if failed:
        raise RuntimeError(f"spawn: process {failed[0]} exited with code "
                           f"{procs[failed[0]].exitcode}")
    return None
