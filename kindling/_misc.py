"""Small top-level torch functions scripts call: is_tensor, numel, set_printoptions, compile, ...

Exported by kindling/__init__.py (and reachable through the `torch` alias of kindling.compat).
"""
import numpy as np

from .engine.tensor import Tensor
from .amp import autocast
from .autograd.anomaly_mode import (set_anomaly_enabled, is_anomaly_enabled,
                                    is_anomaly_check_nan_enabled)

__all__ = ["is_tensor", "is_storage", "numel", "is_floating_point", "is_nonzero",
           "set_printoptions", "get_printoptions", "use_deterministic_algorithms",
           "are_deterministic_algorithms_enabled", "is_deterministic_algorithms_warn_only_enabled",
           "set_float32_matmul_precision", "get_float32_matmul_precision", "compile", "autocast",
           "finfo", "iinfo", "promote_types", "can_cast", "is_complex", "is_signed",
           "set_anomaly_enabled", "is_anomaly_enabled", "is_anomaly_check_nan_enabled"]


def is_tensor(obj):
    return isinstance(obj, Tensor)


def is_storage(obj):
    return False  # kindling exposes no storages


def numel(input):
    return input.numel()


def is_floating_point(input):
    return input.is_floating_point()


def is_complex(input):
    return False  # kindling has no complex dtypes


def is_signed(input):
    return input.dtype.is_signed


class finfo:
    """Machine limits of a floating dtype: bits, eps, max, min, tiny (= smallest_normal),
    resolution, dtype, as torch.finfo (default: the default float dtype)."""

    def __init__(self, type=None):  # noqa: A002 - PyTorch's parameter name
        from .engine import dtypes
        d = dtypes.get_default_dtype() if type is None else type
        if not d.is_floating_point:
            raise TypeError(f"torch.finfo() requires a floating point input type. Use "
                            f"torch.iinfo to handle '{d.name}'")
        info = np.finfo(d.np)
        self.dtype = d.name
        self.bits = info.bits
        self.eps, self.max, self.min = float(info.eps), float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -info.precision

    def __repr__(self):
        return (f"finfo(resolution={self.resolution}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.tiny:g}, tiny={self.tiny:g}, "
                f"dtype={self.dtype})")


class iinfo:
    """Limits of an integer dtype: bits, max, min, dtype, as torch.iinfo."""

    def __init__(self, type):  # noqa: A002
        if type.is_floating_point:
            raise TypeError(f"torch.iinfo() requires an integer input type. Use torch.finfo to "
                            f"handle '{type.name}'")
        info = np.iinfo(np.uint8 if type.np == np.bool_ else type.np)
        self.dtype, self.bits, self.max, self.min = type.name, info.bits, int(info.max), \
            int(info.min)

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


def promote_types(type1, type2):
    """The dtype both promote to (PyTorch's rules: bool < integers < floating)."""
    from .engine import dtypes
    return dtypes._promote([type1, type2])


def can_cast(from_, to):
    """Whether PyTorch's same-kind rule allows the cast (no float to integer, nothing but bool
    to bool)."""
    if from_.is_floating_point and not to.is_floating_point:
        return False
    if to.np == np.bool_ and from_.np != np.bool_:
        return False
    return True


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
