"""torch.cuda for a CPU-only framework: scripts may ask about CUDA, never use it.

kindling computes with NumPy on the CPU, so `is_available()` is False and `device_count()` is 0,
exactly as on a CPU-only PyTorch build. The calls scripts make unconditionally (seeding,
`synchronize`, `empty_cache`) are no-ops. Anything else exists, as on a CPU-only PyTorch build,
but raises a clear RuntimeError when called. Tensor.cuda() and `.to('cuda')` raise too.
"""
from . import amp

__all__ = ["is_available", "device_count", "is_initialized", "manual_seed", "manual_seed_all",
           "seed", "seed_all", "synchronize", "empty_cache", "amp"]


def is_available():
    return False


def device_count():
    return 0


def is_initialized():
    return False


def manual_seed(seed):
    """No-op: there is no CUDA generator to seed (kindling.manual_seed seeds the CPU one)."""


def manual_seed_all(seed):
    """No-op, like manual_seed."""


def seed():
    """No-op."""


def seed_all():
    """No-op."""


def synchronize(device=None):
    """No-op: CPU work is synchronous."""


def empty_cache():
    """No-op: there is no CUDA caching allocator (PyTorch also ignores it before CUDA init)."""


def _not_available(name):
    def unavailable(*args, **kwargs):
        raise RuntimeError(f"torch.cuda.{name}: kindling runs on the CPU only and has no CUDA "
                           f"support (torch.cuda.is_available() is False; use device='cpu')")
    unavailable.__name__ = unavailable.__qualname__ = name
    return unavailable


def __getattr__(name):
    # Like a CPU-only PyTorch build, every torch.cuda function exists and fails when called, so
    # `hasattr` checks behave as with torch. Private and dunder names are simply missing.
    if name.startswith("_"):
        raise AttributeError(f"module 'kindling.cuda' has no attribute '{name}'")
    return _not_available(name)
