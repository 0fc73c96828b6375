"""Small top-level torch functions scripts call: is_tensor, numel, set_printoptions, compile, ...

Exported by kindling/__init__.py (and reachable through the `torch` alias of kindling.compat).
"""
import numpy as np

from .engine.tensor import Tensor
from .amp import autocast

__all__ = ["is_tensor", "is_storage", "numel", "is_floating_point", "is_nonzero",
           "set_printoptions", "get_printoptions", "use_deterministic_algorithms",
           "are_deterministic_algorithms_enabled", "is_deterministic_algorithms_warn_only_enabled",
           "set_float32_matmul_precision", "get_float32_matmul_precision", "compile", "autocast"]


def is_tensor(obj):
    return isinstance(obj, Tensor)


def is_storage(obj):
    return False  # kindling exposes no storages


def numel(input):
    return input.numel()


def is_floating_point(input):
    return input.is_floating_point()


def is_nonzero(input):
    if input.numel() != 1:
        raise RuntimeError(f"Boolean value of Tensor with {input.numel()} elements is ambiguous")
    return bool(input.item())


# PyTorch's defaults. The printer (engine/printing.py) reads PRINT_OPTIONS; NumPy's own print
# options are set alongside, so `tensor.numpy()` prints the same way.
from .engine.printing import DEFAULT_OPTIONS as _DEFAULT_PRINT, OPTIONS as PRINT_OPTIONS  # noqa: E402


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """torch.set_printoptions. profile='default' | 'short' | 'full' resets to a preset first."""
    if profile is not None:
        presets = {"default": {}, "short": {"precision": 2, "edgeitems": 2},
                   "full": {"threshold": np.inf}}
        if profile not in presets:
            raise ValueError(f"set_printoptions: unknown profile {profile!r}")
        PRINT_OPTIONS.clear()
        PRINT_OPTIONS.update(_DEFAULT_PRINT, **presets[profile])
    for name, value in (("precision", precision), ("threshold", threshold),
                        ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            PRINT_OPTIONS[name] = value
    PRINT_OPTIONS["sci_mode"] = sci_mode
    threshold = PRINT_OPTIONS["threshold"]
    np.set_printoptions(precision=PRINT_OPTIONS["precision"],
                        threshold=threshold if np.isfinite(threshold) else np.iinfo(np.int64).max,
                        edgeitems=PRINT_OPTIONS["edgeitems"], linewidth=PRINT_OPTIONS["linewidth"],
                        suppress=sci_mode is False)


def get_printoptions():
    return dict(PRINT_OPTIONS)


_deterministic = {"mode": False, "warn_only": False}


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Recorded only: every kindling kernel is deterministic already."""
    _deterministic.update(mode=bool(mode), warn_only=bool(warn_only))


def are_deterministic_algorithms_enabled():
    return _deterministic["mode"]


def is_deterministic_algorithms_warn_only_enabled():
    return _deterministic["warn_only"]


_matmul_precision = ["highest"]


def set_float32_matmul_precision(precision):
    """Recorded only: NumPy's float32 matmul always computes in full float32 ('highest')."""
    if precision not in ("highest", "high", "medium"):
        raise RuntimeError(f"set_float32_matmul_precision: invalid precision {precision!r}")
    _matmul_precision[0] = precision


def get_float32_matmul_precision():
    return _matmul_precision[0]


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None,
            options=None, disable=False):
    """torch.compile without a compiler: returns `model` unchanged.

    torch.compile promises the same results as eager execution, only faster, so returning the
    eager model keeps a script's meaning (it just does not speed it up). Works as a plain call
    and as a decorator with or without arguments."""
    if model is None:
        return lambda m: m
    return model
