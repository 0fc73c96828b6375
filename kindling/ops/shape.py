"""Shape ops: views and rearrangements. A view shares its input's array and version counter."""
import numpy as np

from ..engine.function import Op
from ..engine.tensor import Tensor, _make
from ..engine.broadcast import broadcast_to
from ._util import shape_args, wrap_dim


class Reshape(Op):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x._array.shape
        try:
            return x._array.reshape(shape)
        except ValueError:
            raise RuntimeError(f"reshape: shape {list(shape)} is invalid for input of size "
                               f"{x._array.size} (shape {tuple(x._array.shape)})") from None

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape), None


def reshape(input, *shape):
    shape = shape_args(shape, "reshape")
    if shape == input._array.shape:
        return input
    out = Reshape.apply(input, shape)
    if np.shares_memory(out._array, input._array):
        out._vc, out._base = input._vc, input
    return out


class Permute(Op):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return x._array.transpose(dims)

    @staticmethod
    def backward(ctx, g):
        return g.permute(tuple(np.argsort(ctx.dims))), None


def permute(input, *dims):
    dims = shape_args(dims, "permute")
    n = input._array.ndim
    if len(dims) != n:
        raise RuntimeError(f"permute: number of dims don't match: input has {n} dims but "
                           f"{len(dims)} were given ({dims})")
    dims = tuple(wrap_dim(d, n, "permute") for d in dims)
    if len(set(dims)) != n:
        raise RuntimeError(f"permute: repeated dim in {dims}")
    out = Permute.apply(input, dims)
    out._vc, out._base = input._vc, input
    return out


def transpose(input, dim0, dim1):
    n = input._array.ndim
    if n == 0:
        return input
    dims = list(range(n))
    d0, d1 = wrap_dim(dim0, n, "transpose"), wrap_dim(dim1, n, "transpose")
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return permute(input, dims)


def expand(input, *sizes):
    sizes = shape_args(sizes, "expand")
    n = input._array.ndim
    if len(sizes) < n:
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater "
                           f"or equal to the number of dimensions in the tensor ({n})")
    lead = len(sizes) - n
    shape = tuple(input._array.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
    out = broadcast_to(input, shape)
    if out is not input:
        out._vc, out._base = input._vc, input
    return out


FUNCTIONS = ["reshape", "permute", "transpose"]
METHODS = {"reshape": reshape, "view": reshape, "permute": permute, "transpose": transpose,
           "expand": expand}
