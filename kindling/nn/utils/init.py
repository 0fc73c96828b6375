"""torch.nn.utils.skip_init: build a module without running its parameter initialization."""
import contextlib
import inspect
import threading

from .. import init
from ..modules.module import Module

__all__ = ["skip_init"]

_lock = threading.Lock()


@contextlib.contextmanager
def _no_init():
    """Make every in-place initializer of kindling.nn.init (`kaiming_uniform_`, `uniform_`,
    `ones_`, ...) return its tensor untouched while the block runs.

    PyTorch builds the module on the 'meta' device (no memory, so nothing to initialize) and
    then allocates uninitialized memory with `to_empty()`. kindling has no meta device; every
    layer initializes through kindling.nn.init (its `reset_parameters`), so disabling those
    functions gives the same result: the parameters keep the uninitialized memory they were
    created with, and no random numbers are drawn. Buffers set with tensor methods (BatchNorm's
    running statistics) still get their values, which is allowed: skip_init promises nothing
    about them. The switch is process-wide for the duration of the constructor call (held under
    a lock), so a module built concurrently by another thread would also skip its init.
    """
    names = [n for n in init.__all__ if n.endswith("_")]
    saved = {n: getattr(init, n) for n in names}
    with _lock:
        try:
            for n in names:
                setattr(init, n, lambda tensor, *args, **kwargs: tensor)
            yield
        finally:
            for n, fn in saved.items():
                setattr(init, n, fn)


def skip_init(module_cls, *args, **kwargs):
    """Instantiate `module_cls(*args, **kwargs)` without initializing its parameters (their
    values are whatever memory they got, as torch.empty), e.g. when they will be loaded or set
    right after. The class must accept a `device` argument, as in PyTorch.

    Example::

        >>> m = skip_init(nn.Linear, 5, 1)
        >>> m.weight.shape
        torch.Size([1, 5])
    """
    if not issubclass(module_cls, Module):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    kwargs["device"] = kwargs.pop("device", "cpu")
    with _no_init():
        return module_cls(*args, **kwargs)
