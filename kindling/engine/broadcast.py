"""Broadcasting and its reverse. `sum_to` is the only un-broadcasting code in kindling: the engine
applies it wherever a gradient reaches an input of a different shape."""
import numpy as np

from .function import Op


def _sum_axes(shape_from, shape_to):
    lead = len(shape_from) - len(shape_to)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape_to) if n == 1 and shape_from[lead + i] != 1)
    return axes, lead


class SumTo(Op):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x._array.shape
        axes, lead = _sum_axes(x._array.shape, shape)
        out = x._array.sum(axis=axes, keepdims=True) if axes else x._array
        return out.reshape(shape) if lead or out.shape != shape else out

    @staticmethod
    def backward(ctx, g):
        return broadcast_to(g, ctx.in_shape), None


class BroadcastTo(Op):
    @staticmethod
    def forward(ctx, x, shape, copy=False):
        if copy:  # a writable array; for small ones also much cheaper than np.broadcast_to
            out = np.empty(shape, x._array.dtype)
            out[...] = x._array
            return out
        return np.broadcast_to(x._array, shape)

    @staticmethod
    def backward(ctx, g):
        return g, None, None  # the engine sums g back to x's shape


def sum_to(g, shape, node=None):
    shape = tuple(shape)
    if g._array.shape == shape:
        return g
    try:
        if np.broadcast_shapes(shape, g._array.shape) != g._array.shape:
            raise ValueError
    except ValueError:
        where = f" from {node.name()}" if node is not None else ""
        raise RuntimeError(f"autograd: gradient{where} has shape {tuple(g._array.shape)}, which "
                           f"cannot be summed to the input's shape {shape}") from None
    return SumTo.apply(g, shape)


def broadcast_to(x, shape, copy=False):
    """x broadcast to `shape`: a read-only view sharing memory (expand), or with copy=True a new
    array (what gradient rules such as sum's want: they never need the view)."""
    shape = tuple(shape)
    if x._array.shape == shape:
        return x
    if not _broadcastable(x._array.shape, shape):
        raise RuntimeError(f"expand: the shape {tuple(x._array.shape)} cannot be broadcast to "
                           f"{shape} (each dimension must match or be 1)")
    return BroadcastTo.apply(x, shape, copy)


def _broadcastable(source, target):
    if len(source) > len(target):
        return False
    for s, t in zip(reversed(source), reversed(target)):
        if s != t and s != 1:
            return False
    return True
