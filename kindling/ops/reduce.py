"""Reductions (sum, mean, var, max, ...), scans, softmax and sorting: forward beside gradient.

Gradients are built from Tensor ops, so they can be differentiated again. Ops that select
elements (max with a dim, sort, topk, median, cummax) share one differentiable gather,
`_TakeAlong`, whose gradient is the matching scatter `_PutAlong` (and vice versa).
"""
import builtins
import math
import warnings

import numpy as np

from ..engine import dtypes, grad_mode
from ..engine.function import Op
from ..engine.tensor import Tensor, _make
from ..engine.broadcast import broadcast_to
from ..engine.cast import cast
from .. import return_types
from ._util import dims_tuple, wrap_dim, inplace

_TORCH_NAMES = {"float16": "Half", "float32": "Float", "float64": "Double", "uint8": "Byte",
                "int8": "Char", "int16": "Short", "int32": "Int", "int64": "Long", "bool": "Bool"}


# --- helpers ------------------------------------------------------------------------------------
def _axes(input, dim, op):
    """`dim` as a sorted tuple of axes, or None for all. A 0-d tensor accepts dim 0/-1 and
    reduces to itself."""
    axes = dims_tuple(dim, input._array.ndim, op)
    if input._array.ndim == 0:
        return None
    return axes


def _axis(input, dim, op):
    """A single reduction dim, wrapped; None for a 0-d input."""
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"{op}(): argument 'dim' must be int, not {type(dim).__name__}")
    d = wrap_dim(dim, input._array.ndim, op)
    return None if input._array.ndim == 0 else d


def _count(shape, axes):
    if axes is None:
        return int(np.prod(shape, dtype=np.int64))
    return int(np.prod([shape[a] for a in axes], dtype=np.int64))


def _restored_shape(g_shape, in_shape, axes, keepdim):
    """The shape of a reduced gradient with its reduced dims back as 1s."""
    if axes is None:
        return (1,) * len(in_shape)
    if keepdim:
        return tuple(g_shape)
    return tuple(1 if i in axes else n for i, n in enumerate(in_shape))


def _restore_dims(g, in_shape, axes, keepdim):
    """Reshape a reduced gradient so it broadcasts against the input again."""
    shape = _restored_shape(g.shape, in_shape, axes, keepdim)
    return g if tuple(g.shape) == shape else g.reshape(shape)


def _expand_back(g, in_shape, axes, keepdim):
    return broadcast_to(_restore_dims(g, in_shape, axes, keepdim), in_shape)


def _expand_array(g, in_shape, axes, keepdim):
    """_expand_back on arrays: small results as a filled array (cheaper than np.broadcast_to's
    checks, and writable), large ones as a broadcast view (no memory)."""
    g = g.reshape(_restored_shape(g.shape, in_shape, axes, keepdim))
    if g.shape == tuple(in_shape):
        return g
    if math.prod(in_shape) <= 4096:
        out = np.empty(in_shape, g.dtype)
        out[...] = g
        return out
    return np.broadcast_to(g, in_shape)


def _keep(array, axes):
    """A reduced NumPy array (keepdims=False) reshaped with its reduced axes kept as 1."""
    return array if axes is None else np.expand_dims(array, axes)


def _squeeze(out, axes, keepdim):
    """A result computed with keepdims=True, in the shape `keepdim` asks for."""
    if keepdim:
        return out
    return out.reshape(()) if axes is None else np.squeeze(out, axis=axes)


def _require_float(input, op):
    if input._array.dtype.kind != "f":
        raise RuntimeError(f"{op}(): could not infer output dtype. Input dtype must be either a "
                           f"floating point or complex dtype. Got: "
                           f"{_TORCH_NAMES[input.dtype.name]}")


def _default_float(a):
    return a if a.dtype.kind == "f" else a.astype(dtypes.get_default_dtype().np)


def _check_nonempty(input, axes, op):
    shape = input._array.shape
    if input._array.size:
        return
    if axes is None:
        raise RuntimeError(f"{op}(): Expected reduction dim to be specified for "
                           f"input.numel() == 0. Specify the reduction dim with the 'dim' "
                           f"argument.")
    for a in axes:
        if shape[a] == 0:
            raise RuntimeError(f"{op}(): Expected reduction dim {a} to have non-zero size "
                               f"(input shape {tuple(shape)}).")


def _cast_dtype(input, dtype):
    d = dtypes.as_dtype(dtype)
    return input if d is None else cast(input, d)


# --- sum, mean and their NaN-ignoring forms ------------------------------------------------------
class Sum(Op):
    @staticmethod
    def forward(ctx, x, axes, keepdim, dtype):
        ctx.in_shape, ctx.axes, ctx.keepdim = x._array.shape, axes, keepdim
        a = x._array
        if dtype is not None:
            a = a.astype(dtype.np)
        elif a.dtype.kind in "bu" or a.dtype.kind == "i":
            a = a.astype(np.int64)  # PyTorch sums integers and bools as int64
        return np.asarray(a.sum(axis=axes, keepdims=keepdim))

    @staticmethod
    def backward(ctx, g):
        if not grad_mode.is_grad_enabled():  # first order: no graph, plain arrays
            return _make(_expand_array(g._array, ctx.in_shape, ctx.axes, ctx.keepdim)), \
                None, None, None
        return _expand_back(g, ctx.in_shape, ctx.axes, ctx.keepdim), None, None, None


def sum(input, dim=None, keepdim=False, *, dtype=None):
    return Sum.apply(input, _axes(input, dim, "sum"), keepdim, dtypes.as_dtype(dtype))


class NanSum(Op):
    @staticmethod
    def forward(ctx, x, axes, keepdim):
        a = x._array
        ctx.in_shape, ctx.axes, ctx.keepdim = a.shape, axes, keepdim
        if a.dtype.kind != "f":
            return np.asarray(a.astype(np.int64).sum(axis=axes, keepdims=keepdim))
        ctx.valid = ~np.isnan(a)
        return np.asarray(np.nansum(a, axis=axes, keepdims=keepdim))

    @staticmethod
    def backward(ctx, g):
        return _expand_back(g, ctx.in_shape, ctx.axes, ctx.keepdim) * _make(ctx.valid), None, None


def nansum(input, dim=None, keepdim=False, *, dtype=None):
    input = _cast_dtype(input, dtype)
    return NanSum.apply(input, _axes(input, dim, "nansum"), keepdim)


class Mean(Op):
    @staticmethod
    def forward(ctx, x, axes, keepdim):
        a = x._array
        ctx.in_shape, ctx.axes, ctx.keepdim = a.shape, axes, keepdim
        ctx.n = _count(a.shape, axes)
        if ctx.n == 0:  # mean of nothing is NaN, as in PyTorch (NumPy would warn)
            return np.full(np.sum(a, axis=axes, keepdims=keepdim).shape, np.nan, a.dtype)
        return np.asarray(a.mean(axis=axes, keepdims=keepdim))

    @staticmethod
    def backward(ctx, g):
        n = builtins.max(ctx.n, 1)
        if not grad_mode.is_grad_enabled():  # first order: divide the small reduced gradient
            scaled = np.divide(g._array, n, dtype=g._array.dtype)
            return _make(_expand_array(scaled, ctx.in_shape, ctx.axes, ctx.keepdim)), None, None
        return _expand_back(g, ctx.in_shape, ctx.axes, ctx.keepdim) / n, None, None


def mean(input, dim=None, keepdim=False, *, dtype=None):
    input = _cast_dtype(input, dtype)
    _require_float(input, "mean")
    return Mean.apply(input, _axes(input, dim, "mean"), keepdim)


class NanMean(Op):
    @staticmethod
    def forward(ctx, x, axes, keepdim):
        a = x._array
        ctx.in_shape, ctx.axes, ctx.keepdim = a.shape, axes, keepdim
        valid = ~np.isnan(a)
        count = valid.sum(axis=axes, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            ctx.scale = valid / count.astype(a.dtype)  # NaN where a whole slice is NaN
            total = np.nansum(a, axis=axes, keepdims=True)
            out = (total / count).astype(a.dtype, copy=False)
        return _squeeze(out, axes, keepdim)

    @staticmethod
    def backward(ctx, g):
        return _expand_back(g, ctx.in_shape, ctx.axes, ctx.keepdim) * _make(ctx.scale), None, None


def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    input = _cast_dtype(input, dtype)
    _require_float(input, "nanmean")
    return NanMean.apply(input, _axes(input, dim, "nanmean"), keepdim)


# --- variance and standard deviation --------------------------------------------------------------
def _correction(dim, unbiased, correction, op):
    """Both of PyTorch's signatures: var(x, dim, unbiased, keepdim) and var(x, dim,
    correction=c, keepdim=...); var(x, True) passes `unbiased` positionally."""
    if isinstance(dim, bool):
        if unbiased is not None:
            raise TypeError(f"{op}(): got both a positional 'unbiased' and a bool dim")
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise RuntimeError(f"{op}(): can't specify both 'unbiased' and 'correction'")
    if correction is None:
        correction = 0 if unbiased is False else 1
    return dim, correction


class Var(Op):
    @staticmethod
    def forward(ctx, x, axes, keepdim, correction):
        a = x._array
        ctx.in_shape, ctx.axes, ctx.keepdim = a.shape, axes, keepdim
        n = _count(a.shape, axes)
        ctx.n, ctx.divisor = n, builtins.max(n - correction, 0)
        if ctx.divisor == 0:
            warnings.warn("var(): degrees of freedom is <= 0. Correction should be strictly "
                          "less than the reduction factor (input numel divided by output "
                          "numel).", UserWarning, stacklevel=4)
        ctx.save_for_backward(x)
        with np.errstate(invalid="ignore", divide="ignore"):
            m = a.mean(axis=axes, keepdims=True) if n else np.zeros_like(a.sum(axes, keepdims=True))
            d = a - m
            out = (d * d).sum(axis=axes, keepdims=keepdim) / a.dtype.type(ctx.divisor)
        return np.asarray(out, dtype=a.dtype)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        centered = x - sum(x, ctx.axes, keepdim=True) / builtins.max(ctx.n, 1)
        scale = 2.0 / ctx.divisor if ctx.divisor else float("inf")
        return _restore_dims(g, ctx.in_shape, ctx.axes, ctx.keepdim) * centered * scale, \
            None, None, None


class Std(Op):
    saves_output = True

    @staticmethod
    def forward(ctx, x, axes, keepdim, correction):
        out = Var.forward(ctx, x, axes, keepdim, correction)
        return np.sqrt(out)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        out = _restore_dims(ctx.output, ctx.in_shape, ctx.axes, ctx.keepdim)
        zero = out._array == 0  # PyTorch's subgradient: 0 where the deviation is 0
        safe = where_const(zero, 1.0, out)
        centered = x - sum(x, ctx.axes, keepdim=True) / builtins.max(ctx.n, 1)
        scale = 1.0 / ctx.divisor if ctx.divisor else float("inf")
        g = _restore_dims(g, ctx.in_shape, ctx.axes, ctx.keepdim) * _make(~zero)
        return g / safe * centered * scale, None, None, None


def where_const(mask, value, t):
    """where(mask, value, t) for a constant NumPy mask (no gradient into the mask)."""
    from .elementwise import where
    return where(_make(mask), value, t)


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    dim, c = _correction(dim, unbiased, correction, "var")
    _check_var_dtype(input)
    return Var.apply(input, _axes(input, dim, "var"), keepdim, c)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    dim, c = _correction(dim, unbiased, correction, "std")
    _check_var_dtype(input)
    return Std.apply(input, _axes(input, dim, "std"), keepdim, c)


def _check_var_dtype(input):
    if input._array.dtype.kind != "f":
        raise RuntimeError(f"std and var only support floating point and complex dtypes (got "
                           f"{input.dtype.name})")


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    dim, c = _correction(dim, unbiased, correction, "var_mean")
    return var(input, dim, keepdim=keepdim, correction=c), mean(input, dim, keepdim)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    dim, c = _correction(dim, unbiased, correction, "std_mean")
    return std(input, dim, keepdim=keepdim, correction=c), mean(input, dim, keepdim)


# --- gather and scatter along one dim (the gradient path of every selecting op) ----------------
class _TakeAlong(Op):
    """out = take_along_axis(x, index, axis), with `axis` dropped unless keepdim."""

    @staticmethod
    def forward(ctx, x, index, axis, unique, keepdim):
        ctx.index, ctx.axis, ctx.unique, ctx.in_shape = index, axis, unique, x._array.shape
        ctx.keepdim = keepdim
        out = np.take_along_axis(x._array, index, axis)
        return out if keepdim else np.squeeze(out, axis)

    @staticmethod
    def backward(ctx, g):
        return _PutAlong.apply(g, ctx.index, ctx.axis, ctx.unique, ctx.keepdim, ctx.in_shape), \
            None, None, None, None


class _PutAlong(Op):
    """out = zeros(shape); out[index along axis] += g. Indices that repeat accumulate."""

    @staticmethod
    def forward(ctx, g, index, axis, unique, keepdim, shape):
        ctx.index, ctx.axis, ctx.unique, ctx.keepdim = index, axis, unique, keepdim
        values = g._array if keepdim else np.expand_dims(g._array, axis)
        out = np.zeros(shape, dtype=g._array.dtype)
        if unique:
            np.put_along_axis(out, index, values, axis)
        else:
            grids = list(np.ogrid[tuple(slice(n) for n in index.shape)])
            grids[axis] = index
            np.add.at(out, tuple(grids), values)
        return out

    @staticmethod
    def backward(ctx, g):
        return _TakeAlong.apply(g, ctx.index, ctx.axis, ctx.unique, ctx.keepdim), \
            None, None, None, None, None


def _select(input, index, axis, keepdim=True, unique=True):
    """The differentiable values of `input` at `index` (an int array) along `axis`."""
    values = _TakeAlong.apply(input, index, axis, unique, keepdim)
    if not keepdim:
        index = np.squeeze(index, axis)
    return values, _make(np.array(index, dtype=np.int64))  # keeps 0-d indices 0-d


# --- max, min, amax, amin, argmax, argmin --------------------------------------------------------
class _Extreme(Op):
    """amax/amin over some dims, and max()/min() over all; the gradient is shared evenly among
    tied extremes. For max()/min() (`nan_wins`) a NaN result's gradient goes to the NaN inputs,
    as in PyTorch (amax/amin give NaN gradients there, as PyTorch's do)."""

    @staticmethod
    def forward(ctx, x, axes, keepdim, largest, nan_wins=False):
        a = x._array
        ctx.in_shape, ctx.axes, ctx.keepdim = a.shape, axes, keepdim
        out = np.asarray((np.max if largest else np.min)(a, axis=axes, keepdims=True))
        if a.dtype.kind == "f":
            hit = np.equal(a, out)
            if nan_wins and np.isnan(out).any():
                hit |= np.isnan(a) & np.isnan(out)
            with np.errstate(invalid="ignore", divide="ignore"):
                ctx.share = hit / hit.sum(axis=axes, keepdims=True).astype(a.dtype)
        return _squeeze(out, axes, keepdim)

    @staticmethod
    def backward(ctx, g):
        return _restore_dims(g, ctx.in_shape, ctx.axes, ctx.keepdim) * _make(ctx.share), \
            None, None, None, None


def amax(input, dim=(), keepdim=False):
    axes = _axes(input, dim, "amax")
    _check_nonempty(input, axes, "amax")
    return _Extreme.apply(input, axes, keepdim, True)


def amin(input, dim=(), keepdim=False):
    axes = _axes(input, dim, "amin")
    _check_nonempty(input, axes, "amin")
    return _Extreme.apply(input, axes, keepdim, False)


def _arg_extreme(a, axis, largest):
    """Index of the first extreme along `axis`; a NaN counts as the extreme, as in PyTorch."""
    index = (np.argmax if largest else np.argmin)(a, axis=axis)
    if a.dtype.kind == "f":
        nan = np.isnan(a)
        if nan.any():
            index = np.where(nan.any(axis=axis), np.argmax(nan, axis=axis), index)
    return index


def _max_min(input, dim, keepdim, largest, other, name):
    if isinstance(dim, Tensor) or other is not None:
        other = dim if isinstance(dim, Tensor) else other
        from . import elementwise
        fn = getattr(elementwise, "maximum" if largest else "minimum", None)
        if fn is None:
            raise NotImplementedError(f"{name}(input, other): elementwise "
                                      f"{'maximum' if largest else 'minimum'} is not available")
        return fn(input, other)
    if dim is None:
        _check_nonempty(input, None, name)
        return _Extreme.apply(input, None, False, largest, True)
    axis = _axis(input, dim, name)
    x = input if axis is not None else input.reshape(1)
    axis = 0 if axis is None else axis
    _check_nonempty(x, (axis,), name)
    index = np.expand_dims(_arg_extreme(x._array, axis, largest), axis)
    values, indices = _select(x, index, axis, keepdim=keepdim or input._array.ndim == 0)
    if input._array.ndim == 0:
        values, indices = values.reshape(()), indices.reshape(())
    return getattr(return_types, name)(values, indices)


def max(input, dim=None, keepdim=False, *, other=None, out=None):
    return _max_min(input, dim, keepdim, True, other, "max")


def min(input, dim=None, keepdim=False, *, other=None, out=None):
    return _max_min(input, dim, keepdim, False, other, "min")


def _argmax_min(input, dim, keepdim, largest, name):
    a = input._array
    if dim is None:
        _check_nonempty(input, None, name)
        out = np.asarray(_arg_extreme(a.reshape(-1), 0, largest), dtype=np.int64)
        return _make(out.reshape((1,) * a.ndim) if keepdim else out)
    axis = _axis(input, dim, name)
    if axis is None:
        return _make(np.zeros((), dtype=np.int64))
    _check_nonempty(input, (axis,), name)
    out = np.asarray(_arg_extreme(a, axis, largest), dtype=np.int64)
    return _make(np.expand_dims(out, axis) if keepdim else out)


def argmax(input, dim=None, keepdim=False):
    return _argmax_min(input, dim, keepdim, True, "argmax")


def argmin(input, dim=None, keepdim=False):
    return _argmax_min(input, dim, keepdim, False, "argmin")


def aminmax(input, *, dim=None, keepdim=False):
    return return_types.aminmax(amin(input, () if dim is None else dim, keepdim),
                                amax(input, () if dim is None else dim, keepdim))


# --- product and log-sum-exp ---
class Prod(Op):
    saves_output = True

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        a = x._array
        ctx.in_shape, ctx.axes, ctx.keepdim = a.shape, axes, keepdim
        ctx.save_for_backward(x)
        return np.asarray(np.prod(a, axis=axes, keepdims=keepdim))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        g = _restore_dims(g, ctx.in_shape, ctx.axes, ctx.keepdim)
        is_zero = x._array == 0
        if not is_zero.any():
            return g * _restore_dims(ctx.output, ctx.in_shape, ctx.axes, ctx.keepdim) / x, \
                None, None
        # With zeros, the product of the others is built from the nonzero factors p, times the
        # (zero) value of the slice's single zero z: exact, and differentiable again.
        zeros = is_zero.sum(axis=ctx.axes, keepdims=True)
        safe = where_const(is_zero, 1.0, x)
        p = Prod.apply(safe, ctx.axes, True)
        z = sum(where_const(is_zero, x, 0.0), ctx.axes, keepdim=True) + _make(
            (zeros == 0).astype(x._array.dtype))
        others = where_const(is_zero, p, p * z / safe)
        # two zeros or more: every product of the others is 0, even beside inf or NaN (PyTorch)
        return where_const(np.broadcast_to(zeros > 1, is_zero.shape), 0.0, g * others), None, None


def prod(input, dim=None, keepdim=False, *, dtype=None):
    d = dtypes.as_dtype(dtype)
    if d is not None:
        input = cast(input, d)
    elif input._array.dtype.kind in "biu":
        input = cast(input, dtypes.int64)
    axes = None if dim is None else _axis(input, dim, "prod")
    return Prod.apply(input, None if axes is None else (axes,), keepdim)


class LogSumExp(Op):
    saves_output = True

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        a = _default_float(x._array)
        ctx.in_shape, ctx.axes, ctx.keepdim = a.shape, axes, keepdim
        ctx.save_for_backward(x)
        m = np.max(a, axis=axes, keepdims=True, initial=-np.inf)
        m = np.where(np.isfinite(m), m, 0).astype(a.dtype, copy=False)
        with np.errstate(divide="ignore"):
            out = np.log(np.sum(np.exp(a - m), axis=axes, keepdims=True)) + m
        return _squeeze(out, axes, keepdim)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        out = _restore_dims(ctx.output, ctx.in_shape, ctx.axes, ctx.keepdim)
        return _restore_dims(g, ctx.in_shape, ctx.axes, ctx.keepdim) * (x - out).exp(), \
            None, None


def logsumexp(input, dim, keepdim=False):
    axes = _axes(input, dim, "logsumexp")
    if input._array.dtype.kind != "f":
        input = cast(input, dtypes.get_default_dtype())
    return LogSumExp.apply(input, axes, keepdim)


# --- scans ---
class Cumsum(Op):
    @staticmethod
    def forward(ctx, x, axis, reverse):
        ctx.axis, ctx.reverse = axis, reverse
        a = x._array
        if a.dtype.kind in "biu":
            a = a.astype(np.int64)
        if reverse:
            return np.flip(np.cumsum(np.flip(a, axis), axis=axis), axis).copy()
        return np.cumsum(a, axis=axis)

    @staticmethod
    def backward(ctx, g):
        return Cumsum.apply(g, ctx.axis, not ctx.reverse), None, None


def _scan_input(input, dim, dtype, op):
    input = _cast_dtype(input, dtype)
    axis = _axis(input, dim, op)
    return (input, axis) if axis is not None else (input.reshape(1), 0)


def cumsum(input, dim, *, dtype=None):
    x, axis = _scan_input(input, dim, dtype, "cumsum")
    out = Cumsum.apply(x, axis, False)
    return out.reshape(()) if input._array.ndim == 0 else out


class Cumprod(Op):
    saves_output = True

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        ctx.save_for_backward(x)
        a = x._array
        return np.cumprod(a.astype(np.int64) if a.dtype.kind in "biu" else a, axis=axis)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        out, axis = ctx.output, ctx.axis
        if not (x._array == 0).any():
            return Cumsum.apply(g * out, axis, True) / x, None
        return _make(_cumprod_grad_with_zeros(x._array, g._array, out._array, axis)), None


def _cumprod_grad_with_zeros(x, g, out, axis):
    """d/dx_j of sum_k g_k prod_{i<=k} x_i, exact when x has zeros (first order only).
    Before a slice's first zero z the usual formula holds; at z it is out[z-1] times the
    suffix sum of g_k prod_{z<i<=k} x_i; after z it is 0."""
    x, g, out = (np.moveaxis(v, axis, -1) for v in (x, g, out))
    n = x.shape[-1]
    is_zero = x == 0
    has = is_zero.any(axis=-1, keepdims=True)
    z = np.where(has, np.argmax(is_zero, axis=-1)[..., None], n)
    j = np.arange(n)
    safe = np.where(is_zero, 1, x)
    rev = np.flip(np.cumsum(np.flip(g * out, -1), -1), -1)
    after = np.where(j <= z, 1, x)
    q = np.cumprod(after, axis=-1)
    s = np.sum(np.where(j >= z, g * q, 0), axis=-1, keepdims=True)
    prev = np.take_along_axis(out, np.clip(z - 1, 0, n - 1), -1)
    prev = np.where(z == 0, 1, prev)
    grad = np.where(j < z, rev / safe, np.where(j == z, prev * s, 0))
    return np.moveaxis(grad.astype(x.dtype, copy=False), -1, axis)


def cumprod(input, dim, *, dtype=None):
    x, axis = _scan_input(input, dim, dtype, "cumprod")
    out = Cumprod.apply(x, axis)
    return out.reshape(()) if input._array.ndim == 0 else out


def _cum_extreme(input, dim, largest, name):
    x, axis = _scan_input(input, dim, None, name)
    a = x._array
    if a.size == 0:
        values, indices = x * 1, _make(np.zeros(a.shape, np.int64))
    else:
        running = (np.maximum if largest else np.minimum).accumulate(a, axis=axis)
        shape = [1] * a.ndim
        shape[axis] = a.shape[axis]
        positions = np.arange(a.shape[axis]).reshape(shape)
        hit = (a == running) | (np.isnan(a) if a.dtype.kind == "f" else False)
        index = np.maximum.accumulate(np.where(hit, positions, 0), axis=axis)
        if a.dtype.kind == "f" and np.isnan(a).any():  # after a NaN, its index sticks
            first_nan = np.where(np.isnan(a), positions, a.shape[axis])
            first_nan = np.minimum.accumulate(first_nan, axis=axis)
            index = np.where(first_nan < a.shape[axis], first_nan, index)
        values, indices = _select(x, index, axis, unique=False)
    if input._array.ndim == 0:
        values, indices = values.reshape(()), indices.reshape(())
    return getattr(return_types, name)(values, indices)


def cummax(input, dim):
    return _cum_extreme(input, dim, True, "cummax")


def cummin(input, dim):
    return _cum_extreme(input, dim, False, "cummin")


# --- logical reductions ---
def _logical(input, dim, keepdim, fn, name):
    a = input._array
    out = np.asarray(fn(a, axis=_axes(input, dim, name), keepdims=keepdim))
    return _make(out.astype(np.uint8) if a.dtype == np.uint8 else out)


def all(input, dim=None, keepdim=False):
    return _logical(input, dim, keepdim, np.all, "all")


def any(input, dim=None, keepdim=False):
    return _logical(input, dim, keepdim, np.any, "any")


def count_nonzero(input, dim=None):
    axes = _axes(input, dim, "count_nonzero")
    return _make(np.asarray(np.count_nonzero(input._array, axis=axes), dtype=np.int64))


# --- median ---------------------------------------------------------------------------------------
def _lower_median_index(a, axis, ignore_nan=False):
    """Index of the lower median along axis. A NaN wins (median) or is skipped (nanmedian; a
    slice of only NaN gives its first element), as in PyTorch."""
    n = a.shape[axis]
    order = np.argsort(a, axis=axis, kind="stable")  # NaN sorts last
    if a.dtype.kind != "f":
        return np.take(order, [(n - 1) // 2], axis=axis)
    nan = np.isnan(a)
    if ignore_nan:
        valid = np.sum(~nan, axis=axis, keepdims=True)
        return np.take_along_axis(order, np.maximum(valid - 1, 0) // 2, axis)
    index = np.take(order, [(n - 1) // 2], axis=axis)
    return np.where(nan.any(axis=axis, keepdims=True),
                    np.expand_dims(np.argmax(nan, axis=axis), axis), index)


class _Median(Op):
    """median over all elements; the gradient is shared among elements equal to it."""

    @staticmethod
    def forward(ctx, x, ignore_nan):
        a = x._array.reshape(-1)
        out = a[_lower_median_index(a, 0, ignore_nan)[0]]
        hit = x._array == out
        with np.errstate(invalid="ignore", divide="ignore"):  # NaN median: NaN gradient
            ctx.share = hit / np.asarray(hit.sum(), dtype=a.dtype)
        return np.asarray(out)

    @staticmethod
    def backward(ctx, g):
        return g * _make(ctx.share.astype(g._array.dtype, copy=False)), None


def _median(input, dim, keepdim, ignore_nan, name):
    if dim is None:
        _check_nonempty(input, None, name)
        return _Median.apply(input, ignore_nan)
    axis = _axis(input, dim, name)
    x = input if axis is not None else input.reshape(1)
    axis = 0 if axis is None else axis
    _check_nonempty(x, (axis,), name)
    index = _lower_median_index(x._array, axis, ignore_nan)
    values, indices = _select(x, index, axis, keepdim=keepdim or input._array.ndim == 0)
    if input._array.ndim == 0:
        values, indices = values.reshape(()), indices.reshape(())
    return getattr(return_types, name)(values, indices)


def median(input, dim=None, keepdim=False):
    return _median(input, dim, keepdim, False, "median")


def nanmedian(input, dim=None, keepdim=False):
    return _median(input, dim, keepdim, True, "nanmedian")


# --- softmax ---
class Softmax(Op):
    saves_output = True

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        a = x._array
        with np.errstate(invalid="ignore"):  # a row of -inf gives NaN, as in PyTorch
            e = np.exp(a - np.max(a, axis=axis, keepdims=True, initial=-np.inf))
            return e / e.sum(axis=axis, keepdims=True)

    @staticmethod
    def backward(ctx, g):
        y = ctx.output
        return y * (g - sum(g * y, (ctx.axis,), keepdim=True)), None


class LogSoftmax(Op):
    saves_output = True

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        a = x._array
        with np.errstate(divide="ignore", invalid="ignore"):
            shifted = a - np.max(a, axis=axis, keepdims=True, initial=-np.inf)
            return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))

    @staticmethod
    def backward(ctx, g):
        y = ctx.output
        return g - y.exp() * sum(g, (ctx.axis,), keepdim=True), None


def _softmax_dim(input, dim, op):
    if dim is None:
        warnings.warn(f"Implicit dimension choice for {op} has been deprecated. Change the call "
                      f"to include dim=X as an argument.", UserWarning, stacklevel=3)
        dim = 0 if input._array.ndim in (0, 1, 3) else 1
    return wrap_dim(dim, input._array.ndim, op)


def _softmax_input(input, dtype, op):
    d = dtypes.as_dtype(dtype)
    if d is not None:
        input = cast(input, d)
    if input._array.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating point input, got {input.dtype.name} "
                           f"(pass dtype=torch.float32 to convert)")
    return input


def softmax(input, dim=None, dtype=None):
    axis = _softmax_dim(input, dim, "softmax")
    x = _softmax_input(input, dtype, "softmax")
    if x._array.ndim == 0:
        return Softmax.apply(x.reshape(1), 0).reshape(())
    return Softmax.apply(x, axis)


def log_softmax(input, dim=None, dtype=None):
    axis = _softmax_dim(input, dim, "log_softmax")
    x = _softmax_input(input, dtype, "log_softmax")
    if x._array.ndim == 0:
        return LogSoftmax.apply(x.reshape(1), 0).reshape(())
    return LogSoftmax.apply(x, axis)


# --- sorting and selection ----------------------------------------------------------------------
def _argsort(a, axis, descending):
    """Stable argsort; descending keeps equal elements in their original order and puts NaN
    first, as PyTorch does (sorting the reversed array ascending, then reversing back)."""
    if not descending:
        return np.argsort(a, axis=axis, kind="stable")
    n = a.shape[axis]
    order = np.argsort(np.flip(a, axis), axis=axis, kind="stable")
    return np.flip(n - 1 - order, axis)


def _sortable(input, dim, op):
    axis = _axis(input, dim, op)
    return (input, axis) if axis is not None else (input.reshape(1), 0)


def sort(input, dim=-1, descending=False, stable=False):
    x, axis = _sortable(input, dim, "sort")
    index = _argsort(x._array, axis, descending)
    values, indices = _select(x, index, axis)
    if input._array.ndim == 0:
        values, indices = values.reshape(()), indices.reshape(())
    return return_types.sort(values, indices)


_QUANTILE_MODES = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(input, q, dim, keepdim, interpolation, ignore_nan, op):
    """Sort, then read (and interpolate between) the order statistics at q * (n - 1): the
    gathers and the lerp are Tensor ops, so the result differentiates like torch's."""
    from .index import gather
    from .elementwise import where
    if interpolation not in _QUANTILE_MODES:
        raise ValueError(f"{op}() interpolation must be one of {', '.join(_QUANTILE_MODES)}. "
                         f"Got {interpolation!r}")
    if input._array.dtype.kind != "f":
        raise RuntimeError(f"{op}() input tensor must be either float or double dtype")
    q_array = np.asarray(q._array if isinstance(q, Tensor) else q, dtype=np.float64)
    single = q_array.ndim == 0                                     # no leading q dim then
    qs = np.atleast_1d(q_array)
    if qs.ndim > 1 or np.any((qs < 0) | (qs > 1)) or np.any(np.isnan(qs)):
        raise RuntimeError(f"{op}() q values must be in the range [0, 1] and q must be a scalar "
                           f"or a 1-D tensor")
    x = input.reshape(-1) if dim is None else input.movedim(wrap_dim(dim, input.ndim, op), -1) \
        if input.ndim else input.reshape(1)
    a = x._array
    n = a.shape[-1]
    if n == 0:
        raise RuntimeError(f"{op}() input tensor must be non-empty")
    nan = np.isnan(a)
    count = (n - nan.sum(-1)) if ignore_nan else np.full(a.shape[:-1], n)
    # positions in the input's dtype, as torch computes them (0.9 * 20 is 18 in float32 but
    # 17.9999995 from a float32 0.9 in float64): the lower/higher/nearest picks depend on it
    pos = qs.astype(a.dtype).reshape((1,) * (a.ndim - 1) + (-1,)) * \
        (np.maximum(count, 1) - 1)[..., None].astype(a.dtype)
    lo, hi = np.floor(pos), np.ceil(pos)
    if interpolation == "lower":
        hi = lo
    elif interpolation == "higher":
        lo = hi
    elif interpolation == "nearest":
        lo = hi = np.round(pos)                                    # half to even, as torch
    weight = (pos - lo) if interpolation == "linear" else np.full(pos.shape, 0.5 if
                                                                    interpolation == "midpoint"
                                                                    else 0.0)
    sorted_x = sort(x, dim=-1).values                              # NaNs sort last
    low = gather(sorted_x, -1, _make(lo.astype(np.int64)))
    high = gather(sorted_x, -1, _make(hi.astype(np.int64)))
    out = low + (high - low) * _make(weight.astype(a.dtype))       # (..., Q)
    undefined = (count == 0) if ignore_nan else nan.any(-1)        # torch: NaN there
    if undefined.any():
        out = where(_make(np.broadcast_to(undefined[..., None], out.shape)), float("nan"), out)
    out = out.movedim(-1, 0)                                        # (Q, ...)
    if keepdim:
        if dim is None:
            out = out.reshape((out.shape[0],) + (1,) * input.ndim)
        else:
            out = out.unsqueeze(wrap_dim(dim, input.ndim, op) + 1)
    return out[0] if single else out


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):
    """The q-th quantiles (q a number or a 1-D tensor in [0, 1], which then leads the result's
    shape) over dim (all elements when None); NaN where a slice holds a NaN."""
    return _quantile(input, q, dim, keepdim, interpolation, False, "quantile")


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):
    """quantile ignoring NaNs (NaN only for a slice that is all NaN)."""
    return _quantile(input, q, dim, keepdim, interpolation, True, "nanquantile")


def argsort(input, dim=-1, descending=False, stable=False):
    x, axis = _sortable(input, dim, "argsort")
    index = _argsort(x._array, axis, descending).astype(np.int64)
    return _make(index.reshape(()) if input._array.ndim == 0 else index)


def msort(input):
    return sort(input, 0).values


def topk(input, k, dim=-1, largest=True, sorted=True):
    x, axis = _sortable(input, dim, "topk")
    n = x._array.shape[axis]
    if not 0 <= k <= n:
        raise RuntimeError(f"topk: selected index k={k} out of range for dim {dim} of size {n} "
                           f"(input shape {tuple(input.shape)})")
    index = np.take(_argsort(x._array, axis, largest), np.arange(k), axis=axis)
    values, indices = _select(x, index, axis)
    if input._array.ndim == 0:
        values, indices = values.reshape(()), indices.reshape(())
    return return_types.topk(values, indices)


def kthvalue(input, k, dim=-1, keepdim=False):
    x, axis = _sortable(input, dim, "kthvalue")
    n = x._array.shape[axis]
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue: selected number k={k} out of range for dim {dim} of size "
                           f"{n} (input shape {tuple(input.shape)})")
    index = np.take(_argsort(x._array, axis, False), [k - 1], axis=axis)
    values, indices = _select(x, index, axis, keepdim=keepdim or input._array.ndim == 0)
    if input._array.ndim == 0:
        values, indices = values.reshape(()), indices.reshape(())
    return return_types.kthvalue(values, indices)


# --- logcumsumexp -------------------------------------------------------------------------------
class LogCumSumExp(Op):
    """out_k = log(sum_{j<=k} exp(x_j)) along axis, by a logaddexp scan (stable, exact -inf)."""
    saves_output = True

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        ctx.save_for_backward(x)
        with np.errstate(invalid="ignore"):
            return np.logaddexp.accumulate(x._array, axis=axis)

    @staticmethod
    def backward(ctx, g):
        # d out_k / d x_j = exp(x_j - out_k) for j <= k, so grad_j = sum_{k>=j} g_k exp(x_j - out_k)
        # = exp(x_j + rev_logcumsumexp(log g_k - out_k)), split into g > 0 and g < 0 (as torch).
        from .shape import flip
        from .elementwise import where
        x, = ctx.saved_tensors
        axis = ctx.axis
        if grad_mode.is_grad_enabled():
            # create_graph: the plain sum over k >= j of g_k exp(x_j - out_k) (each factor <= 1,
            # so stable), built from differentiable ops with out recomputed from x. It holds an
            # (n, n) matrix per slice, so it is only used when a second derivative is asked for.
            from .shape import movedim
            out = LogCumSumExp.apply(x, axis)
            xm, om, gm = (movedim(t, axis, -1) for t in (x, out, g))
            n = xm.shape[-1]
            upper = _make(np.triu(np.ones((n, n), dtype=bool)))  # [j, k]: k >= j
            ninf = _make(np.asarray(-np.inf, dtype=xm._array.dtype))
            logw = where(upper, xm.unsqueeze(-1) - om.unsqueeze(-2), ninf)
            return movedim((logw.exp() * gm.unsqueeze(-2)).sum(-1), -1, axis), None
        out = ctx.output

        def reverse_scan(v):
            return flip(LogCumSumExp.apply(flip(v, axis), axis), axis)

        ninf = _make(np.asarray(-np.inf, dtype=g._array.dtype))
        with np.errstate(divide="ignore"):
            pos = reverse_scan(where(g > 0, g, ninf.exp()).log() - out)
            neg = reverse_scan(where(g < 0, -g, ninf.exp()).log() - out)
        return (x + pos).exp() - (x + neg).exp(), None


def logcumsumexp(input, dim):
    if input._array.dtype.kind != "f":
        raise NotImplementedError(f"logcumsumexp: expected a floating point input, got "
                           f"{input.dtype.name} (shape {tuple(input.shape)})")
    x, axis = _scan_input(input, dim, None, "logcumsumexp")
    out = LogCumSumExp.apply(x, axis)
    return out.reshape(()) if input._array.ndim == 0 else out


# --- mode -----------------------------------------------------------------------------------------
def _std_sort(items):
    """libstdc++'s std::sort (introsort) of (value, index) pairs by value: torch's CPU mode sorts
    with it, so which index of a repeated value ends its run (torch's answer) is the one this
    unstable sort leaves last. Comparisons are `a < b` on values, so NaN compares false."""
    def less(a, b):
        return a[0] < b[0]

    def heap_sort(lo, hi):
        def adjust(hole, n, value):
            top, child = hole, hole
            while child < (n - 1) // 2:
                child = 2 * (child + 1)
                if less(items[lo + child], items[lo + child - 1]):
                    child -= 1
                items[lo + hole] = items[lo + child]
                hole = child
            if n % 2 == 0 and child == (n - 2) // 2:
                child = 2 * (child + 1)
                items[lo + hole] = items[lo + child - 1]
                hole = child - 1
            parent = (hole - 1) // 2
            while hole > top and less(items[lo + parent], value):
                items[lo + hole] = items[lo + parent]
                hole, parent = parent, (parent - 1) // 2
            items[lo + hole] = value

        n = hi - lo
        if n >= 2:
            for parent in range((n - 2) // 2, -1, -1):
                adjust(parent, n, items[lo + parent])
        while hi - lo > 1:
            hi -= 1
            value, items[hi] = items[hi], items[lo]
            adjust(0, hi - lo, value)

    def median_to_first(result, a, b, c):
        if less(items[a], items[b]):
            m = b if less(items[b], items[c]) else (c if less(items[a], items[c]) else a)
        elif less(items[a], items[c]):
            m = a
        else:
            m = c if less(items[b], items[c]) else b
        items[result], items[m] = items[m], items[result]

    def partition(first, last, pivot):
        while True:
            while less(items[first], items[pivot]):
                first += 1
            last -= 1
            while less(items[pivot], items[last]):
                last -= 1
            if not first < last:
                return first
            items[first], items[last] = items[last], items[first]
            first += 1

    def introsort(first, last, depth):
        while last - first > 16:
            if depth == 0:
                heap_sort(first, last)
                return
            depth -= 1
            median_to_first(first, first + 1, first + (last - first) // 2, last - 1)
            cut = partition(first + 1, last, first)
            introsort(cut, last, depth)
            last = cut

    def linear_insert(i):
        value = items[i]
        while less(value, items[i - 1]):
            items[i] = items[i - 1]
            i -= 1
        items[i] = value

    def insertion_sort(first, last):
        for i in range(first + 1, last):
            if less(items[i], items[first]):
                value = items[i]
                items[first + 1:i + 1] = items[first:i]
                items[first] = value
            else:
                linear_insert(i)

    n = len(items)
    if n > 1:
        introsort(0, n, 2 * (n.bit_length() - 1))
        insertion_sort(0, builtins.min(n, 16))
        for i in range(16, n):
            linear_insert(i)
    return items


def _mode_row(values):
    """torch's CPU mode of one slice: the first run (in sorted order) of greatest length."""
    items = _std_sort(list(zip(values, range(len(values)))))
    best, best_index, best_count, count = None, 0, 0, 0
    for k, (v, i) in enumerate(items):
        count += 1
        if k == len(items) - 1 or v != items[k + 1][0]:
            if count > best_count:
                best, best_index, best_count = v, i, count
            count = 0
    return best_index


def _mode_index(a):
    """Index of the mode along the last axis of a 2-D array, as torch's CPU kernel picks it."""
    rows, n = a.shape
    index = np.zeros((rows, 1), dtype=np.int64)
    if n == 0:
        return index
    order = np.argsort(a, axis=1, kind="stable")
    s = np.take_along_axis(a, order, 1)
    # A run ends where the next sorted value differs; its length is its end minus the previous end.
    ends = np.ones(s.shape, dtype=bool)
    ends[:, :-1] = s[:, 1:] != s[:, :-1]
    pos = np.arange(n)
    prev_end = np.concatenate([np.full((rows, 1), -1), np.where(ends, pos, -1)[:, :-1]], 1)
    prev_end = np.maximum.accumulate(prev_end, axis=1)
    length = np.where(ends, pos - prev_end, 0)
    best = np.argmax(length, axis=1)  # first maximal run = smallest most frequent value
    # Stable sort: the run's last element is the value's last occurrence. std::sort agrees when
    # it is stable (insertion sort: n <= 16) or the run has one element; NaNs and longer rows with
    # repeats replay std::sort itself.
    index[:, 0] = order[np.arange(rows), best]
    nan = np.isnan(a).any(axis=1) if a.dtype.kind == "f" else np.zeros(rows, bool)
    replay = nan | ((n > 16) & (length[np.arange(rows), best] > 1))
    for r in np.flatnonzero(replay):
        index[r, 0] = _mode_row(a[r].tolist())
    return index


def mode(input, dim=-1, keepdim=False):
    """The most frequent value of each slice along dim (the smallest, among ties) and the
    index torch's CPU kernel returns for it."""
    axis = _axis(input, dim, "mode")
    x = input if axis is not None else input.reshape(1)
    axis = 0 if axis is None else axis
    a = x._array
    out_shape = a.shape[:axis] + ((1,) if keepdim else ()) + a.shape[axis + 1:]
    if a.size == 0:
        if a.shape[axis] == 0 and math.prod(out_shape) > 0:
            raise IndexError(f"mode(): Expected reduction dim {axis} to have non-zero size "
                             f"(input shape {tuple(input.shape)}).")
        return return_types.mode(_make(np.zeros(out_shape, dtype=a.dtype)),
                                 _make(np.zeros(out_shape, dtype=np.int64)))
    moved = np.moveaxis(a, axis, -1)
    flat = moved.reshape(-1, moved.shape[-1])
    index = np.moveaxis(_mode_index(flat).reshape(moved.shape[:-1] + (1,)), -1, axis)
    values, indices = _select(x, index, axis, keepdim=keepdim or input._array.ndim == 0)
    shape = () if input._array.ndim == 0 else out_shape
    return return_types.mode(values.reshape(shape), indices.reshape(shape))


FUNCTIONS = ["sum", "nansum", "mean", "nanmean", "var", "std", "var_mean", "std_mean", "max",
             "min", "amax", "amin", "argmax", "argmin", "aminmax", "prod", "logsumexp", "cumsum",
             "cumprod", "cummax", "cummin", "all", "any", "count_nonzero", "median", "nanmedian",
             "softmax",
             "log_softmax", "sort", "argsort", "msort", "topk", "kthvalue", "quantile",
             "nanquantile", "logcumsumexp", "mode"]

METHODS = {name: globals()[name] for name in FUNCTIONS}
METHODS.update({"cumsum_": inplace(cumsum, "cumsum_"), "cumprod_": inplace(cumprod, "cumprod_")})
