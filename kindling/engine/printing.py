"""PyTorch-style tensor printing: 4 decimals, scientific notation when magnitudes span widely,
`1.` for integral floats, and the dtype/grad suffixes PyTorch shows."""
import numpy as np

from . import dtypes

# torch.set_printoptions edits these (kindling/_misc.py); PyTorch's defaults.
DEFAULT_OPTIONS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80,
                   "sci_mode": None}
OPTIONS = dict(DEFAULT_OPTIONS)


def _float_formatter(array):
    p = OPTIONS["precision"]
    sci = OPTIONS["sci_mode"]
    finite = array[np.isfinite(array)]
    nonzero = np.abs(finite[finite != 0]).astype(np.float64)
    if nonzero.size == 0:
        return lambda v: _special(v) or "0."
    lo, hi = nonzero.min(), nonzero.max()
    if np.all(finite == np.ceil(finite)):
        if sci or (sci is None and (hi / lo > 1000 or hi > 1e8)):
            return lambda v: _special(v) or f"{v:.{p}e}"
        return lambda v: _special(v) or f"{v:.0f}."
    if sci or (sci is None and (hi / lo > 1000 or hi > 1e8 or lo < 1e-4)):
        return lambda v: _special(v) or f"{v:.{p}e}"
    return lambda v: _special(v) or f"{v:.{p}f}"


def _special(v):
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return None


def format_array(array, prefix="tensor("):
    if array.dtype.kind == "f":
        shown = _shown_values(array)
        fmt = _float_formatter(shown)
    elif array.dtype.kind == "b":
        shown = _shown_values(array)
        fmt = lambda v: "True" if v else "False"  # noqa: E731
    else:
        shown = _shown_values(array)
        fmt = str
    if array.ndim == 0:
        return fmt(array.item())
    # Every element takes the width of the widest one, as in PyTorch.
    width = max((len(fmt(v)) for v in shown.ravel().tolist()), default=1)
    kind = {"f": "float_kind", "b": "bool"}.get(array.dtype.kind, "int")
    formatter = {kind: lambda v: fmt(v).rjust(width)}
    threshold = OPTIONS["threshold"]
    text = np.array2string(array, separator=", ", prefix=prefix, formatter=formatter,
                           max_line_width=OPTIONS["linewidth"],
                           threshold=threshold if np.isfinite(threshold) else np.iinfo(np.int64).max,
                           edgeitems=OPTIONS["edgeitems"])
    return text.replace(", ..., ", ",  ..., ")  # PyTorch's summary marker is " ..."


def _shown_values(array):
    """The elements PyTorch looks at for formatting: all, or the corners when summarized."""
    if array.size <= OPTIONS["threshold"]:
        return array
    flat = array.reshape(-1)
    edge = OPTIONS["edgeitems"]
    return np.concatenate([flat[:edge], flat[-edge:]]) if array.ndim == 1 else _corners(array)


def _corners(array):
    edge = OPTIONS["edgeitems"]
    index = tuple(np.r_[0:min(edge, n), max(n - edge, edge if n > edge else n):n]
                  for n in array.shape)
    return array[np.ix_(*index)]


def tensor_repr(t):
    array = t._array
    suffix = []
    if array.size == 0 and array.shape != (0,):
        body = "[]"
        suffix.append(f"size={tuple(array.shape)}")
    else:
        body = format_array(array)
    d = t.dtype
    if d not in (dtypes.get_default_dtype(), dtypes.int64, dtypes.bool):
        suffix.append(f"dtype={d!r}")
    if t.grad_fn is not None:
        suffix.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._requires_grad:
        suffix.append("requires_grad=True")
    return "tensor(" + body + "".join(", " + s for s in suffix) + ")"
