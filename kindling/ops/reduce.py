"""Reductions (sum, mean, var, max, ...), scans, softmax and sorting: forward beside gradient."""
import numpy as np

from ..engine.function import Op
from ..engine.tensor import Tensor, _make
from ..engine.broadcast import broadcast_to
from ._util import dims_tuple


def _restore_dims(g, in_shape, axes, keepdim):
    """Reshape a reduced gradient so it broadcasts against the input again."""
    if axes is None:
        return g.reshape((1,) * len(in_shape)) if len(in_shape) else g
    if keepdim:
        return g
    shape = list(in_shape)
    for a in axes:
        shape[a] = 1
    return g.reshape(tuple(shape))


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
        return broadcast_to(_restore_dims(g, ctx.in_shape, ctx.axes, ctx.keepdim),
                            ctx.in_shape), None, None, None


def sum(input, dim=None, keepdim=False, *, dtype=None):
    axes = dims_tuple(dim, input._array.ndim, "sum")
    from ..engine.dtypes import as_dtype
    return Sum.apply(input, axes, keepdim, as_dtype(dtype))


FUNCTIONS = ["sum"]
METHODS = {"sum": sum}
