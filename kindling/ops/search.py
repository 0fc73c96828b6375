"""Searching and counting: unique, unique_consecutive, searchsorted, bucketize, bincount, isin,
histc. Their results are indices, counts or set membership, so none has a gradient (as in
PyTorch); each is one NumPy call or a loop over a batch of them."""
import numpy as np

from ..engine.tensor import Tensor, _make
from ._util import wrap_dim


def _array(x, op, name="input"):
    if isinstance(x, Tensor):
        return x._array
    if isinstance(x, (int, float, bool, np.generic)):
        return np.asarray(x)
    raise TypeError(f"{op}(): argument '{name}' must be a Tensor or a number, got "
                    f"{type(x).__name__}")


def _index_dtype(out_int32):
    return np.int32 if out_int32 else np.int64


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values (sorted, as PyTorch's CPU kernel returns them whatever `sorted`
    says), with optionally the index of each input element in them and each value's count;
    with `dim`, the distinct slices along dim."""
    a = input._array
    if dim is None:
        values, inverse, counts = np.unique(a, return_inverse=True, return_counts=True)
        inverse = inverse.reshape(a.shape)
    else:
        d = wrap_dim(dim, a.ndim, "unique")
        values, inverse, counts = np.unique(a, return_inverse=True, return_counts=True, axis=d)
        inverse = inverse.reshape(-1)
    out = [_make(np.ascontiguousarray(values))]
    if return_inverse:
        out.append(_make(inverse.astype(np.int64)))
    if return_counts:
        out.append(_make(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """Collapse runs of equal consecutive values (or slices along `dim`) into one."""
    a = input._array
    if dim is None:
        flat = a.reshape(-1)
        starts = np.ones(flat.shape[0], dtype=bool)
        starts[1:] = flat[1:] != flat[:-1]
        values = flat[starts]
        inverse_shape = a.shape
    else:
        d = wrap_dim(dim, a.ndim, "unique_consecutive")
        moved = np.moveaxis(a, d, 0)
        starts = np.ones(moved.shape[0], dtype=bool)
        if moved.shape[0] > 1:
            starts[1:] = (moved[1:] != moved[:-1]).reshape(moved.shape[0] - 1, -1).any(axis=1)
        values = np.moveaxis(moved[starts], 0, d)
        inverse_shape = (moved.shape[0],)
    out = [_make(np.ascontiguousarray(values))]
    if return_inverse:
        out.append(_make((np.cumsum(starts) - 1).astype(np.int64).reshape(inverse_shape)))
    if return_counts:
        bounds = np.append(np.flatnonzero(starts), starts.shape[0])
        out.append(_make(np.diff(bounds).astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None,
                 sorter=None, out=None):
    """For each value, the index where it would be inserted into the (last dim of the) sorted
    sequence to keep it sorted: before equal entries, or after them with right=True or
    side="right". An N-D sequence is searched row by row against the matching rows of input."""
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"searchsorted(): side can only be 'left' or 'right' but got "
                               f"{side!r}")
        if right and side == "left":
            raise RuntimeError("searchsorted(): side and right can't be set to opposites, got "
                               "side of left while right was True")
        right = side == "right"
    seq = sorted_sequence._array
    if sorter is not None:
        seq = np.take_along_axis(seq, sorter._array, axis=-1)
    values = _array(input, "searchsorted")
    how = "right" if right else "left"
    if seq.ndim <= 1:
        result = np.searchsorted(seq, values, side=how)
    else:
        if values.ndim == 0 or values.shape[:-1] != seq.shape[:-1]:
            raise RuntimeError(f"searchsorted(): boundaries tensor should be 1 dimension or the "
                               f"first N-1 dimensions of boundaries tensor and input value tensor "
                               f"must match, but we got boundaries tensor {list(seq.shape)} and "
                               f"input value tensor {list(values.shape)}")
        rows, vals = seq.reshape(-1, seq.shape[-1]), values.reshape(-1, values.shape[-1])
        result = np.stack([np.searchsorted(r, v, side=how) for r, v in zip(rows, vals)])
        result = result.reshape(values.shape)
    return _make(np.asarray(result, dtype=_index_dtype(out_int32)))


def bucketize(input, boundaries, *, out_int32=False, right=False, out=None):
    """The bucket of each value among 1-D sorted `boundaries`: i with boundaries[i-1] < x <=
    boundaries[i], or boundaries[i-1] <= x < boundaries[i] with right=True."""
    if boundaries.dim() != 1:
        raise RuntimeError(f"bucketize(): boundaries tensor must be 1 dimension, but got dim("
                           f"{boundaries.dim()})")
    values = _array(input, "bucketize")
    side = "right" if right else "left"
    return _make(np.asarray(np.searchsorted(boundaries._array, values, side=side),
                            dtype=_index_dtype(out_int32)))


def bincount(input, weights=None, minlength=0):
    """Occurrences of each value 0..max of a 1-D non-negative integer tensor (summed weights
    instead with `weights`, in their dtype; float64 for integer weights as in PyTorch)."""
    a = input._array
    if a.ndim != 1 or a.dtype.kind not in "iu":
        raise RuntimeError(f"bincount only supports 1-d non-negative integral inputs, got "
                           f"shape {list(a.shape)} and dtype {input.dtype.name}")
    if a.size and a.min() < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is None:
        return _make(np.bincount(a, minlength=minlength).astype(np.int64))
    w = weights._array
    counts = np.bincount(a, weights=w, minlength=minlength)
    return _make(counts.astype(w.dtype if w.dtype.kind == "f" else np.float64))


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """Whether each element occurs among test_elements (either may be a number)."""
    a = _array(elements, "isin", "elements")
    b = _array(test_elements, "isin", "test_elements")
    return _make(np.isin(a, b, assume_unique=assume_unique, invert=invert))


def histc(input, bins=100, min=0, max=0):  # noqa: A002 - PyTorch's parameter names
    """Histogram of `bins` equal bins over [min, max] (the data's range when min == max);
    values outside are ignored. Floating point only, as in PyTorch."""
    a = input._array
    if a.dtype.kind != "f":
        raise RuntimeError(f"\"histogram_cpu\" not implemented for '{input.dtype.name}'")
    lo, hi = float(min), float(max)
    if lo == hi and a.size:
        lo, hi = float(a.min()), float(a.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise RuntimeError(f"histc: max must be larger than min, got min {min} and max {max}")
    counts, _ = np.histogram(a.reshape(-1), bins=int(bins), range=(lo, hi))
    return _make(counts.astype(a.dtype))


FUNCTIONS = ["unique", "unique_consecutive", "searchsorted", "bucketize", "bincount", "isin",
             "histc"]
METHODS = {"unique": unique, "unique_consecutive": unique_consecutive, "bincount": bincount,
           "histc": histc, "bucketize": lambda self, boundaries, **kw: bucketize(self, boundaries,
                                                                                **kw)}
