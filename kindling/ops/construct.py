"""Tensors built from others by combinatorial or geometric rules (block_diag, cartesian_prod,
combinations, tril_indices, vander, trapezoid, ...), each forward beside its gradient.

Most are composites of differentiable primitives (indexing, cumprod, sums), so their gradients
come for free and match PyTorch's, which builds them the same way. `block_diag`, `pdist` and
`fill_diagonal_` are ops of their own, with forward and backward side by side.
"""
import itertools
import math

import numpy as np

from ..engine import dtypes
from ..engine.cast import cast
from ..engine.function import Op
from ..engine.tensor import Tensor, _make
from ._util import wrap_dim


def _check_tensor(x, op, name="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(x).__name__}")


# --- block_diag ---------------------------------------------------------------------------------
class BlockDiag(Op):
    """out = the 2-D inputs laid along the diagonal of a zero matrix."""

    @staticmethod
    def forward(ctx, np_dtype, *tensors):
        arrays = [t._array.reshape(1, -1) if t._array.ndim < 2 else t._array for t in tensors]
        rows = sum(a.shape[0] for a in arrays)
        cols = sum(a.shape[1] for a in arrays)
        out = np.zeros((rows, cols), dtype=np_dtype)
        spans, r, c = [], 0, 0
        for a in arrays:
            out[r:r + a.shape[0], c:c + a.shape[1]] = a
            spans.append((r, r + a.shape[0], c, c + a.shape[1]))
            r, c = r + a.shape[0], c + a.shape[1]
        ctx.spans, ctx.shapes = spans, [t._array.shape for t in tensors]
        return out

    @staticmethod
    def backward(ctx, g):
        return (None,) + tuple(
            g[r0:r1, c0:c1].reshape(shape) if needed else None
            for (r0, r1, c0, c1), shape, needed in zip(ctx.spans, ctx.shapes,
                                                       ctx.needs_input_grad[1:]))


def block_diag(*tensors):
    """Block-diagonal matrix of 0-, 1- (a row) and 2-D tensors, in their promoted dtype."""
    for i, t in enumerate(tensors):
        _check_tensor(t, "block_diag", f"tensors[{i}]")
        if t._array.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. "
                               f"Input {i} has {t._array.ndim} dimensions (shape "
                               f"{tuple(t.shape)})")
    if not tensors:
        return _make(np.zeros((1, 0), dtype=dtypes.get_default_dtype().np))
    d = dtypes._promote([t.dtype for t in tensors])
    return BlockDiag.apply(d.np, *(cast(t, d) for t in tensors))


# --- cartesian_prod, combinations -----------------------------------------------------------------
def _check_1d(x, op):
    _check_tensor(x, op)
    if x._array.ndim != 1:
        raise RuntimeError(f"{op}: Expect a 1D vector, but got shape {list(x.shape)}")


def cartesian_prod(*tensors):
    """All tuples (a, b, ...) with a from the first 1-D tensor, b from the second, ... as rows."""
    from .shape import meshgrid, stack
    for t in tensors:
        _check_1d(t, "cartesian_prod")
    if not tensors:
        raise RuntimeError("cartesian_prod: expects a non-empty TensorList")
    if len(tensors) == 1:
        return tensors[0]
    if len({t.dtype for t in tensors}) > 1:
        raise RuntimeError(f"cartesian_prod: expects all tensors to have the same dtype, got "
                           f"{[t.dtype.name for t in tensors]}")
    grids = meshgrid(*tensors, indexing="ij")
    return stack([g.reshape(-1) for g in grids], 1)


def combinations(input, r=2, with_replacement=False):
    """The length-r combinations of a 1-D tensor's elements (itertools' order), as rows."""
    _check_1d(input, "combinations")
    if r < 0:
        raise RuntimeError(f"combinations: Expect a non-negative number, but got {r}")
    if r == 0:
        return _make(np.empty((0,), dtype=input._array.dtype))
    n = input._array.shape[0]
    pick = itertools.combinations_with_replacement if with_replacement \
        else itertools.combinations
    index = np.fromiter(itertools.chain.from_iterable(pick(range(n), r)), dtype=np.int64)
    return input[_make(index.reshape(-1, r))]


# --- vander ---------------------------------------------------------------------------------------
def vander(x, N=None, increasing=False):
    """Columns x**(N-1), ..., x, 1 (reversed if increasing), as torch: powers by cumprod."""
    from .reduce import cumprod
    from .shape import cat, flip
    _check_tensor(x, "vander", "x")
    if x._array.ndim != 1:
        raise RuntimeError(f"vander: x must be a one-dimensional tensor (got shape "
                           f"{tuple(x.shape)}).")
    n = x._array.shape[0] if N is None else int(N)
    if n < 0:
        raise RuntimeError(f"vander: N must be non-negative, got {n}.")
    d = x.dtype if x.dtype.is_floating_point else dtypes.int64
    x = cast(x, d)
    ones = _make(np.ones((x._array.shape[0], min(n, 1)), dtype=d.np))
    if n > 1:
        powers = cumprod(x.unsqueeze(1).expand(x._array.shape[0], n - 1), 1)
        out = cat([ones, powers], 1)
    else:
        out = ones
    return out if increasing else flip(out, 1)


# --- trapezoid rules --------------------------------------------------------------------------------
def _slice_dim(t, dim, start, stop):
    return t[(slice(None),) * dim + (slice(start, stop),)]


def _integration_dim(y, dim, op):
    _check_tensor(y, op, "y")
    if y._array.ndim == 0:
        raise IndexError(f"{op}: Dimension specified as {dim} but tensor has no dimensions")
    if y.dtype is dtypes.bool:
        raise RuntimeError(f"{op}: received a bool input for `y`, but bool is not supported")
    return wrap_dim(dim, y._array.ndim, op)


def _spacing(y, x, dim, op):
    """dx = x[1:] - x[:-1] along dim, with x viewed so it broadcasts against y (as torch)."""
    _check_tensor(x, op, "x")
    if x.dtype is dtypes.bool:
        raise RuntimeError(f"{op}: received a bool input for `x`, but bool is not supported")
    if x._array.ndim == 1:
        if x._array.shape[0] != y._array.shape[dim]:
            raise RuntimeError(f"{op}: There must be one `x` value for each sample point "
                               f"(x has {x._array.shape[0]} values, y has "
                               f"{y._array.shape[dim]} along dim {dim}; y shape "
                               f"{tuple(y.shape)})")
        shape = [1] * y._array.ndim
        shape[dim] = x._array.shape[0]
        x = x.reshape(shape)
    elif x._array.ndim < y._array.ndim:
        x = x.reshape((1,) * (y._array.ndim - x._array.ndim) + tuple(x.shape))
    return _slice_dim(x, dim, 1, None) - _slice_dim(x, dim, 0, -1)


def _scalar_dx(dx, op):
    if isinstance(dx, Tensor):
        dx = dx.item()
    if isinstance(dx, (bool, np.bool_)) or isinstance(dx, complex):
        raise RuntimeError(f"{op}: Currently, we only support dx as a real number, got {dx!r}.")
    return float(dx)


def trapezoid(y, x=None, *, dx=None, dim=-1):
    """Integral of y along dim by the trapezoid rule, at sample points x or spacing dx."""
    d = _integration_dim(y, dim, "trapezoid")
    if x is not None and dx is not None:
        raise TypeError("trapezoid: give x or dx, not both")
    if y._array.shape[d] == 0:
        shape = y._array.shape[:d] + y._array.shape[d + 1:]
        return _make(np.zeros(shape, dtype=y._array.dtype))
    if x is not None:
        spacing = _spacing(y, x, d, "trapezoid")
        return ((_slice_dim(y, d, 1, None) + _slice_dim(y, d, 0, -1)) * spacing).sum(d) / 2.0
    step = 1.0 if dx is None else _scalar_dx(dx, "trapezoid")
    ends = y.select(d, 0) + y.select(d, -1)
    return (y.sum(d) - ends * 0.5) * step


def trapz(y, x=None, *, dx=None, dim=-1):
    """Alias of trapezoid (torch.trapz)."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """Running trapezoid-rule integral of y along dim (one element fewer than y there)."""
    from .reduce import cumsum
    d = _integration_dim(y, dim, "cumulative_trapezoid")
    if x is not None and dx is not None:
        raise TypeError("cumulative_trapezoid: give x or dx, not both")
    pairs = _slice_dim(y, d, 0, -1) + _slice_dim(y, d, 1, None)
    if x is not None:
        half = _spacing(y, x, d, "cumulative_trapezoid") / 2.0
    else:
        half = (1.0 if dx is None else _scalar_dx(dx, "cumulative_trapezoid")) / 2.0
    return cumsum(half * pairs, d)


# --- renorm ---------------------------------------------------------------------------------------
def renorm(input, p, dim, maxnorm):
    """Rescale each slice input.select(dim, i) whose p-norm exceeds maxnorm to norm maxnorm."""
    from ..linalg import vector_norm
    from .elementwise import where
    _check_tensor(input, "renorm")
    n = input._array.ndim
    if n < 2:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {n} dimensions "
                           f"(shape {tuple(input.shape)})")
    if input._array.dtype.kind != "f":
        raise RuntimeError(f"renorm: expected a floating point input, got {input.dtype.name}")
    if not p > 0:
        raise RuntimeError(f"renorm: non-positive-norm not supported (p={p})")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    d = wrap_dim(dim, n, "renorm")
    norm = vector_norm(input, p, [i for i in range(n) if i != d], keepdim=True)
    factor = where(norm > maxnorm, maxnorm / (norm + 1e-7), 1.0)
    return input * factor


def _renorm_(self, p, dim, maxnorm):
    return self._apply_inplace("renorm_", renorm, p, dim, maxnorm)


# --- pdist ----------------------------------------------------------------------------------------
class PDist(Op):
    """p-norm distances between the rows of an (N, M) matrix, pairs (i < j) in row-major order."""
    saves_output = True

    @staticmethod
    def forward(ctx, x, p):
        a = x._array
        i, j = np.triu_indices(a.shape[0], 1)
        ctx.pairs, ctx.p = (i, j), p
        ctx.save_for_backward(x)
        diff = np.abs(a[i] - a[j])
        if p == 0:
            out = np.count_nonzero(diff, axis=1).astype(a.dtype)
        elif p == 1:
            out = diff.sum(axis=1)
        elif p == 2:
            out = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        elif p == math.inf:
            out = diff.max(axis=1, initial=0)
        else:
            out = np.power(np.power(diff, a.dtype.type(p)).sum(axis=1), a.dtype.type(1 / p))
        return out.astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        from .elementwise import where
        x, = ctx.saved_tensors
        dist, p = ctx.output.unsqueeze(1), ctx.p
        i, j = (_make(k.astype(np.int64)) for k in ctx.pairs)
        diff = x[i] - x[j]
        g = g.unsqueeze(1)
        zero = diff * 0
        if p == 0:
            gd = zero
        elif p == 1:
            gd = diff.sign() * g
        elif p == 2:
            gd = where(dist == 0, zero, diff * g / where(dist == 0, 1.0, dist))
        elif p == math.inf:
            hit = diff.abs() == dist
            gd = where(hit, diff.sign() * g, zero)
        else:
            scale = where(dist == 0, 1.0, dist) ** (p - 1)
            grad = diff.sign() * diff.abs() ** (p - 1) * g / scale
            gd = where((dist == 0) | ((diff == 0) if p < 1 else (dist < 0)), zero, grad)
        return (x * 0).index_add(0, i, gd).index_add(0, j, -gd), None


def pdist(input, p=2):
    """Distances between every pair of rows of an (N, M) matrix: N*(N-1)/2 values."""
    _check_tensor(input, "pdist")
    if input._array.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input._array.ndim}D (shape "
                           f"{tuple(input.shape)})")
    if input._array.dtype.kind != "f":
        raise RuntimeError(f"pdist only supports floating-point dtypes, got {input.dtype.name}")
    if p < 0:
        raise RuntimeError(f"pdist only supports non-negative p values, got {p}")
    return PDist.apply(input, float(p))


# --- unravel_index ----------------------------------------------------------------------------------
def unravel_index(indices, shape):
    """Flat indices into a tensor of `shape` to a tuple of coordinate tensors (int64). As in
    torch, indices wrap modulo the size (floor division then remainder per dim)."""
    if isinstance(indices, (int, np.integer)) and not isinstance(indices, bool):
        indices = _make(np.asarray(indices, dtype=np.int64))
    _check_tensor(indices, "unravel_index", "indices")
    if indices._array.dtype.kind not in "iu":
        raise TypeError(f"unravel_index: expected 'indices' to be integer dtype, but got "
                        f"{indices.dtype}")
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    try:
        shape = tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(f"unravel_index: expected 'shape' to be int or sequence of ints, got "
                        f"{shape!r}") from None
    if any(s < 0 for s in shape):
        raise ValueError(f"unravel_index: 'shape' cannot have negative values, but got {shape}")
    if 0 in shape:
        raise RuntimeError(f"unravel_index: shape {shape} has a zero dimension "
                           f"(ZeroDivisionError)")
    strides = np.cumprod((shape[1:] + (1,))[::-1])[::-1].astype(np.int64)
    flat = indices._array.astype(np.int64)[..., None]
    coords = np.floor_divide(flat, strides) % np.asarray(shape, dtype=np.int64)
    return tuple(_make(np.array(coords[..., k], copy=True)) for k in range(len(shape)))


# --- fill_diagonal_ ----------------------------------------------------------------------------------
class FillDiagonal(Op):
    @staticmethod
    def forward(ctx, x, value, wrap):
        out = x._array.copy()
        np.fill_diagonal(out, value, wrap=wrap)
        if ctx.needs_input_grad[0]:
            keep = np.ones(out.shape, dtype=out.dtype)
            np.fill_diagonal(keep, 0, wrap=wrap)
            ctx.keep = keep
        return out

    @staticmethod
    def backward(ctx, g):
        return g * _make(ctx.keep), None, None


def _fill_diagonal_(self, fill_value, wrap=False):
    """Fill the main diagonal in place (all dims equal if ndim > 2; `wrap` restarts it below
    the square part of a tall matrix, as torch and numpy)."""
    shape = self._array.shape
    if len(shape) < 2:
        raise RuntimeError(f"fill_diagonal_: dimensions must larger than 1 (got shape "
                           f"{tuple(shape)})")
    if len(shape) > 2 and len(set(shape)) != 1:
        raise RuntimeError(f"fill_diagonal_: all dimensions of input must be of equal length "
                           f"(got shape {tuple(shape)})")
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    return self._apply_inplace("fill_diagonal_", FillDiagonal.apply, fill_value, wrap)


FUNCTIONS = ["block_diag", "cartesian_prod", "combinations", "vander", "trapezoid", "trapz",
             "cumulative_trapezoid", "renorm", "pdist", "unravel_index"]

METHODS = {"renorm": renorm, "renorm_": _renorm_, "fill_diagonal_": _fill_diagonal_}
