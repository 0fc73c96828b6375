"""torch.distributed: kindling is a single-process framework with no collective backend.

`is_available()` and `is_initialized()` answer False, so the usual guards
(`if dist.is_available() and dist.is_initialized(): ...`) take the single-process path. Every
other function raises a clear RuntimeError when called.
"""


def is_available():
    return False


def is_initialized():
    return False


def is_torchelastic_launched():
    return False


def _not_available(name):
    def unavailable(*args, **kwargs):
        raise RuntimeError(f"torch.distributed.{name}: kindling has no distributed backend "
                           f"(torch.distributed.is_available() is False); run in one process")
    unavailable.__name__ = unavailable.__qualname__ = name
    return unavailable


def __getattr__(name):
    if name.startswith("_"):
        raise AttributeError(f"module 'kindling.distributed' has no attribute '{name}'")
    return _not_available(name)
