"""Linear algebra: matmul and its relatives, einsum, tensordot, and norms.

Matmul is the hottest op in kindling: its forward is one `np.matmul` (float32 stays float32)
and its gradient two more. Every gradient is written with Tensor ops, so it can be
differentiated again; broadcast batch dims are summed by the engine.
"""
import math
import string

import numpy as np

from ..engine import dtypes
from ..engine.function import Op
from ..engine.tensor import Tensor, _make
from ..engine.broadcast import broadcast_to
from ..engine.cast import cast
from ._util import dims_tuple, wrap_dim, inplace
from .reduce import amax, amin, sum as _sum, where_const, _restore_dims, _squeeze, \
    _TORCH_NAMES


# --- matmul ---------------------------------------------------------------------------------
def _matmul_error(op, x, y):
    a, b = tuple(x.shape), tuple(y.shape)
    if x.ndim == 0 or y.ndim == 0:
        return RuntimeError(f"{op}: both arguments need to be at least 1-D, but got shapes {a} "
                            f"and {b}")
    k1 = a[-1]
    k2 = b[0] if y.ndim == 1 else b[-2]
    if k1 != k2:
        return RuntimeError(f"{op}: shapes {a} and {b} cannot be multiplied ({k1} != {k2})")
    return RuntimeError(f"{op}: the batch dimensions of shapes {a} and {b} cannot be broadcast "
                        f"together ({a[:-2]} and {b[:-2]})")


class Matmul(Op):
    @staticmethod
    def forward(ctx, a, b):
        x, y = a._array, b._array
        if x.dtype != y.dtype:
            raise RuntimeError(f"matmul: expected both operands to have the same dtype, but got "
                               f"{a.dtype.name} and {b.dtype.name}")
        ctx.save_for_backward(a, b)
        if x.ndim > 2 and y.ndim == 2 and x.shape[-1] == y.shape[0]:
            # (..., m, k) @ (k, n) as one (...*m, k) GEMM: NumPy's matmul would run one small
            # GEMM per batch entry, which BLAS cannot spread over its threads
            return (x.reshape(-1, x.shape[-1]) @ y).reshape(x.shape[:-1] + (y.shape[1],))
        try:
            return np.matmul(x, y)
        except ValueError:
            raise _matmul_error("matmul", x, y) from None

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = a._array.ndim, b._array.ndim
        need_a, need_b = ctx.needs_input_grad
        ga = gb = None
        if na == 1 and nb == 1:  # dot product: g is 0-d
            return (g * b if need_a else None), (g * a if need_b else None)
        if na == 1:  # (k,) @ (..., k, n) -> (..., n): a acts as a (1, k) matrix
            g2 = g.reshape(g.shape[:-1] + (1, g.shape[-1]))
            if need_a:
                ga = matmul(g2, b.transpose(-1, -2)).reshape(g.shape[:-1] + (a.shape[0],))
            if need_b:
                gb = a.reshape(a.shape[0], 1) * g2
            return ga, gb
        if nb == 1:  # (..., m, k) @ (k,) -> (..., m): b acts as a (k, 1) matrix
            g2 = g.reshape(g.shape + (1,))
            if need_a:
                ga = g2 * b
            if need_b:
                gb = matmul(a.transpose(-1, -2), g2).reshape(g.shape[:-1] + (b.shape[0],))
            return ga, gb
        if need_a:
            ga = matmul(g, b.transpose(-1, -2))
        if need_b:
            if nb == 2 and na > 2:  # a batch against one matrix (a Linear layer): one GEMM
                k, n = a.shape[-1], g.shape[-1]
                gb = matmul(a.reshape(-1, k).transpose(0, 1), g.reshape(-1, n))
            else:
                gb = matmul(a.transpose(-1, -2), g)
        return ga, gb


def matmul(input, other, *, out=None):
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        raise TypeError(f"matmul: expected Tensors, got {type(input).__name__} and "
                        f"{type(other).__name__}")
    if input._array.ndim == 0 or other._array.ndim == 0:
        raise _matmul_error("matmul", input._array, other._array)
    return Matmul.apply(input, other)


def _check_ndim(op, expected, *tensors):
    if any(t._array.ndim != n for t, n in zip(tensors, expected)):
        shapes = " and ".join(str(tuple(t.shape)) for t in tensors)
        raise RuntimeError(f"{op}: expected {' and '.join(f'{n}-D' for n in expected)} tensors, "
                           f"got shapes {shapes}")


def mm(input, mat2, *, out=None):
    _check_ndim("mm", (2, 2), input, mat2)
    if input.shape[1] != mat2.shape[0]:
        raise _matmul_error("mm", input._array, mat2._array)
    return Matmul.apply(input, mat2)


def bmm(input, mat2, *, out=None):
    _check_ndim("bmm", (3, 3), input, mat2)
    if input.shape[0] != mat2.shape[0]:
        raise RuntimeError(f"bmm: batch sizes differ: shapes {tuple(input.shape)} and "
                           f"{tuple(mat2.shape)} ({input.shape[0]} != {mat2.shape[0]})")
    if input.shape[2] != mat2.shape[1]:
        raise _matmul_error("bmm", input._array, mat2._array)
    return Matmul.apply(input, mat2)


def mv(input, vec, *, out=None):
    _check_ndim("mv", (2, 1), input, vec)
    if input.shape[1] != vec.shape[0]:
        raise _matmul_error("mv", input._array, vec._array)
    return Matmul.apply(input, vec)


def dot(input, tensor, *, out=None):
    _check_ndim("dot", (1, 1), input, tensor)
    if input.shape[0] != tensor.shape[0]:
        raise RuntimeError(f"dot: inconsistent tensor size: shapes {tuple(input.shape)} and "
                           f"{tuple(tensor.shape)} must have the same number of elements")
    if input.dtype is not tensor.dtype:
        raise RuntimeError(f"dot: expected both vectors to have same dtype, but found "
                           f"{_TORCH_NAMES[input.dtype.name]} and "
                           f"{_TORCH_NAMES[tensor.dtype.name]}")
    return Matmul.apply(input, tensor)


vdot = dot  # no complex dtypes: conjugation is the identity


def outer(input, vec2, *, out=None):
    _check_ndim("outer", (1, 1), input, vec2)
    return input.reshape(-1, 1) * vec2.reshape(1, -1)


ger = outer


def _scaled_add(op, input, product, beta, alpha):
    """beta * input + alpha * product; with beta == 0, input is ignored (NaN included)."""
    try:
        ok = np.broadcast_shapes(input._array.shape, product._array.shape) == product._array.shape
    except ValueError:
        ok = False
    if not ok:
        raise RuntimeError(f"{op}: input of shape {tuple(input.shape)} cannot be broadcast to "
                           f"the product's shape {tuple(product.shape)}")
    if alpha != 1:
        product = product * alpha
    if beta == 0:
        if input._requires_grad:  # input gets a zero gradient, as in PyTorch, and no NaN
            return where_const(np.ones(product._array.shape, bool), product, input)
        return product
    return product + (input if beta == 1 else input * beta)


def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):
    return _scaled_add("addmm", input, mm(mat1, mat2), beta, alpha)


def addmv(input, mat, vec, *, beta=1, alpha=1, out=None):
    return _scaled_add("addmv", input, mv(mat, vec), beta, alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    return _scaled_add("baddbmm", input, bmm(batch1, batch2), beta, alpha)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    return _scaled_add("addbmm", input, _sum(bmm(batch1, batch2), 0), beta, alpha)


def addr(input, vec1, vec2, *, beta=1, alpha=1, out=None):
    return _scaled_add("addr", input, outer(vec1, vec2), beta, alpha)


# --- einsum and tensordot -------------------------------------------------------------------
def _parse_einsum(equation, shapes):
    """Normalize an equation to explicit form with letters only: '...' becomes unused letters
    (right-aligned, so ellipsis dims broadcast), and an implicit output becomes the ellipsis
    followed by the letters used once, in alphabetical order (uppercase first), as in PyTorch."""
    eq = equation.replace(" ", "")
    if eq.count("->") > 1:
        raise RuntimeError(f"einsum(): more than one '->' in the equation {equation!r}")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise RuntimeError(f"einsum(): the equation {equation!r} has {len(terms)} operand(s) but "
                           f"{len(shapes)} were given")
    letters = set(c for c in eq if c.isalpha())
    for c in eq.replace("...", "").replace(",", "").replace("->", ""):
        if c not in string.ascii_letters:
            raise RuntimeError(f"einsum(): invalid subscript {c!r} in {equation!r}: subscripts "
                               f"must be letters in [a-zA-Z]")
    ell_dims = []
    for i, (term, shape) in enumerate(zip(terms, shapes)):
        if term.count("...") > 1:
            raise RuntimeError(f"einsum(): more than one ellipsis for operand {i}")
        explicit = len(term) - 3 if "..." in term else len(term)
        n = len(shape) - explicit if "..." in term else 0
        if n < 0 or ("..." not in term and explicit != len(shape)):
            extra = " even with an ellipsis" if "..." in term else ""
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({explicit}) "
                               f"does not match the number of dimensions ({len(shape)}) for "
                               f"operand {i}{extra}")
        ell_dims.append(n)
    n_ell = max(ell_dims, default=0)
    free = [c for c in string.ascii_letters if c not in letters]
    ell = "".join(free[:n_ell])
    terms = [t.replace("...", ell[n_ell - n:] if n else "") for t, n in zip(terms, ell_dims)]
    if arrow:
        if "..." in rhs:
            rhs = rhs.replace("...", ell)
        for c in rhs:
            if rhs.count(c) > 1:
                raise RuntimeError(f"einsum(): output subscript {c!r} appears more than once")
            if not any(c in t for t in terms):
                raise RuntimeError(f"einsum(): output subscript {c!r} does not appear in the "
                                   f"equation for any input operand")
    else:
        counts = {}
        for t in lhs.replace("...", "").split(","):
            for c in t:
                counts[c] = counts.get(c, 0) + 1
        rhs = ell + "".join(sorted(c for c, n in counts.items() if n == 1))
    return terms, rhs


def _unique(term):
    return "".join(dict.fromkeys(term))


class Einsum(Op):
    @staticmethod
    def forward(ctx, terms, out, *operands):
        ctx.terms, ctx.out = terms, out
        ctx.save_for_backward(*operands)
        d = dtypes.result_type(*operands).np
        arrays = [t._array if t._array.dtype == d else t._array.astype(d) for t in operands]
        try:
            return np.asarray(np.einsum(",".join(terms) + "->" + out, *arrays,
                                        optimize=len(arrays) > 1))
        except ValueError as e:
            shapes = ", ".join(str(tuple(a.shape)) for a in arrays)
            raise RuntimeError(f"einsum(): operands of shapes {shapes} do not fit the equation "
                               f"{','.join(terms)}->{out} ({e})") from None

    @staticmethod
    def backward(ctx, g):
        operands = ctx.saved_tensors
        grads = [None, None]
        for i, x in enumerate(operands):
            if ctx.needs_input_grad[i + 2]:
                grads.append(_einsum_grad(g, ctx.out, ctx.terms, operands, i))
            else:
                grads.append(None)
        return tuple(grads)


def _einsum_grad(g, out, terms, operands, i):
    """The gradient for operand i: einsum of g with the other operands into operand i's
    subscripts; letters summed only within operand i are broadcast back, and repeated letters
    (a diagonal) are written back onto the diagonal."""
    term, x = terms[i], operands[i]
    unique = _unique(term)
    others = [t for j, t in enumerate(terms) if j != i]
    available = set(out).union(*others)
    target = "".join(c for c in unique if c in available)
    grad = _einsum_terms([out] + others, target,
                         [g] + [o for j, o in enumerate(operands) if j != i])
    size = {c: x.shape[term.index(c)] for c in unique}
    if len(target) < len(unique):  # letters only operand i has: broadcast the gradient back
        full = dict(zip(target, grad.shape))
        grad = grad.reshape(tuple(full.get(c, 1) for c in unique))
        grad = broadcast_to(grad, tuple(full.get(c, size[c]) for c in unique))
    if len(unique) < len(term):  # repeated letters: a diagonal of the operand
        for k, c in enumerate(unique):  # sum dims the operand broadcast (size 1) first
            if grad.shape[k] != size[c]:
                grad = _sum(grad, k, keepdim=True)
        grad = _EinsumDiagonal.apply(grad, term, unique, tuple(x.shape))
    return grad


class _EinsumDiagonal(Op):
    """Write g (subscripts `unique`) onto the diagonal of a zero tensor with subscripts `term`;
    its gradient reads the diagonal back with einsum."""

    @staticmethod
    def forward(ctx, g, term, unique, shape):
        ctx.term, ctx.unique = term, unique
        out = np.zeros(shape, dtype=g._array.dtype)
        index = tuple(np.arange(shape[k]).reshape(
            [-1 if c == u else 1 for u in unique]) for k, c in enumerate(term))
        out[index] = g._array
        return out

    @staticmethod
    def backward(ctx, g):
        return _einsum_terms([ctx.term], ctx.unique, [g]), None, None, None


def _einsum_terms(terms, out, operands):
    return Einsum.apply(tuple(terms), out, *operands)


def einsum(equation, *operands):
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    for o in operands:
        if not isinstance(o, Tensor):
            raise TypeError(f"einsum(): expected Tensor operands, got {type(o).__name__}")
    terms, out = _parse_einsum(equation, [o._array.shape for o in operands])
    return Einsum.apply(tuple(terms), out, *operands)


def tensordot(a, b, dims=2, out=None):
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot: expects dims >= 0, but got dims={dims}")
        dims_a = list(range(a.ndim - dims, a.ndim))
        dims_b = list(range(dims))
    else:
        dims_a, dims_b = dims
        dims_a = [dims_a] if isinstance(dims_a, int) else list(dims_a)
        dims_b = [dims_b] if isinstance(dims_b, int) else list(dims_b)
    if len(dims_a) != len(dims_b):
        raise RuntimeError(f"tensordot: both dimension lists should have the same length, got "
                           f"{dims_a} and {dims_b}")
    letters = iter(string.ascii_letters)
    ta = [next(letters) for _ in range(a.ndim)]
    tb = [next(letters) for _ in range(b.ndim)]
    for da, db in zip(dims_a, dims_b):
        da, db = da % max(a.ndim, 1), db % max(b.ndim, 1)
        if a.shape[da] != b.shape[db]:
            raise RuntimeError(f"tensordot: contracted dimensions need to match, but first has "
                               f"size {a.shape[da]} in dim {da} and second has size "
                               f"{b.shape[db]} in dim {db}")
        tb[db] = ta[da]
    contracted = set(tb) & set(ta)
    result = "".join(c for c in ta if c not in contracted) + \
        "".join(c for c in tb if c not in contracted)
    return _einsum_terms(["".join(ta), "".join(tb)], result, [a, b])


# --- norms ----------------------------------------------------------------------------------
class VectorNorm(Op):
    saves_output = True

    @staticmethod
    def forward(ctx, x, ord, axes, keepdim):
        a = x._array
        ctx.ord, ctx.in_shape, ctx.axes, ctx.keepdim = ord, a.shape, axes, keepdim
        ctx.save_for_backward(x)
        if ord == 2:
            out = np.sqrt(np.sum(a * a, axis=axes, keepdims=True))
        elif ord == 1:
            out = np.sum(np.abs(a), axis=axes, keepdims=True)
        elif ord == math.inf:
            out = np.max(np.abs(a), axis=axes, keepdims=True)
        elif ord == -math.inf:
            out = np.min(np.abs(a), axis=axes, keepdims=True)
        elif ord == 0:
            out = np.sum(a != 0, axis=axes, keepdims=True).astype(a.dtype)
        else:
            with np.errstate(divide="ignore"):
                out = np.sum(np.abs(a) ** ord, axis=axes, keepdims=True) ** (1.0 / ord)
        return _squeeze(np.asarray(out, dtype=a.dtype), axes, keepdim)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        p = ctx.ord
        if p == 0:
            return x * 0, None, None, None
        a = x._array
        sign = _make(np.sign(a))
        g = _restore_dims(g, ctx.in_shape, ctx.axes, ctx.keepdim)
        if p == 1:
            return g * sign, None, None, None
        out = _restore_dims(ctx.output, ctx.in_shape, ctx.axes, ctx.keepdim)
        if p in (math.inf, -math.inf):  # shared evenly among the entries at the extreme
            hit = np.abs(a) == out._array
            share = hit / hit.sum(axis=ctx.axes, keepdims=True).astype(a.dtype)
            return g * sign * _make(share), None, None, None
        zero_norm = out._array == 0  # PyTorch's subgradient at the zero vector is 0
        scale = g * _make(~zero_norm) / where_const(zero_norm, 1.0, out) ** (p - 1)
        if p == 2:
            return x * scale, None, None, None
        zero = a == 0
        magnitude = where_const(zero, 1.0, x * sign)  # |x|, kept away from 0 where masked
        if p < 2:
            return sign * magnitude ** (p - 1) * _make(~zero) * scale, None, None, None
        return x * magnitude ** (p - 2) * scale, None, None, None


def _norm_input(input, dtype, op):
    d = dtypes.as_dtype(dtype)
    if d is not None:
        input = cast(input, d)
    if input._array.dtype.kind != "f":
        raise RuntimeError(f"{op}: Expected a floating point or complex tensor as input. Got "
                           f"{_TORCH_NAMES[input.dtype.name]}")
    return input


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None):
    x = _norm_input(x, dtype, "linalg.vector_norm")
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: ord must be a number, got {ord!r}")
    ord = float(ord)
    axes = dims_tuple(dim, x._array.ndim, "linalg.vector_norm")
    if x._array.ndim == 0:
        axes = None
    if ord < 0 or ord == math.inf:
        shape = x._array.shape
        if x._array.size == 0 and (axes is None or any(shape[a] == 0 for a in axes)):
            raise RuntimeError(f"linalg.vector_norm cannot compute the {ord} norm on an empty "
                               f"tensor because the operation does not have an identity")
    return VectorNorm.apply(x, ord, axes, keepdim)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None, out=None):
    A = _norm_input(A, dtype, "linalg.matrix_norm")
    if A._array.ndim < 2:
        raise RuntimeError(f"linalg.matrix_norm: The input tensor A must have at least 2 "
                           f"dimensions (got shape {tuple(A.shape)})")
    if len(dim) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple, got {dim}")
    d0, d1 = (wrap_dim(d, A._array.ndim, "linalg.matrix_norm") for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different, got {tuple(dim)}")
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    if ord in (1, -1, math.inf, -math.inf):
        # 1: the largest column sum of |A| (sum over rows d0, extreme over columns d1); inf: rows.
        sum_dim, ext_dim = (d0, d1) if abs(ord) == 1 else (d1, d0)
        sums = vector_norm(A, 1, sum_dim, keepdim=True)
        out = (amax if ord > 0 else amin)(sums, ext_dim, keepdim=True)
        return out if keepdim else out.reshape(tuple(
            n for k, n in enumerate(out.shape) if k not in (d0, d1)))
    if ord in ("nuc", 2, -2):
        # moved to the last two dims, in the given order, then reduced over singular values
        rest = [k for k in range(A._array.ndim) if k not in (d0, d1)]
        s = svdvals(A.permute(rest + [d0, d1]))
        out = _sum(s, -1) if ord == "nuc" else (amax(s, -1) if ord == 2 else amin(s, -1))
        if keepdim:
            shape = list(A.shape)
            shape[d0] = shape[d1] = 1
            out = out.reshape(tuple(shape))
        return out
    raise RuntimeError(f"linalg.matrix_norm: Order {ord!r} not supported; use 'fro', 'nuc', 1, "
                       f"-1, 2, -2, inf or -inf")


def linalg_norm(A, ord=None, dim=None, keepdim=False, *, out=None, dtype=None):
    """torch.linalg.norm: a vector norm over one dim (or all, flattened, when ord and dim are
    None) and a matrix norm over two."""
    if isinstance(dim, int):
        dim = (dim,)
    if dim is not None:
        if len(dim) == 1:
            return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
        if len(dim) == 2:
            return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
        raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got "
                           f"{list(dim)}")
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if A.ndim == 1:
        return vector_norm(A, ord, None, keepdim, dtype=dtype)
    if A.ndim == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D "
                       f"or 2D. Got {A.ndim}D.")


def norm(input, p="fro", dim=None, keepdim=False, out=None, dtype=None):
    """The old torch.norm: 'fro' (or None) is the 2-norm over `dim` (all dims by default), a
    number p the vector p-norm over `dim`."""
    if isinstance(dim, int):
        dim = (dim,)
    if p is None or p == "fro":
        if dim is not None and len(dim) > 2:
            raise RuntimeError(f"norm: 'fro' needs at most 2 dims, got {list(dim)}")
        return vector_norm(input, 2, dim, keepdim, dtype=dtype)
    if p == "nuc":
        return matrix_norm(input, "nuc", (-2, -1) if dim is None else dim, keepdim, dtype=dtype)
    return vector_norm(input, p, dim, keepdim, dtype=dtype)


def inverse(input, *, out=None):
    from .decomposition import linalg_inv  # torch.linalg.inv's errors (LinAlgError)
    return linalg_inv(input)


def dist(input, other, p=2):
    return vector_norm(input - other, p)


# --- inverse, determinant, solve --------------------------------------------------------------
def _check_square(op, A):
    shape = tuple(A.shape)
    if A._array.ndim < 2 or shape[-1] != shape[-2]:
        raise RuntimeError(f"{op}: A must be batches of square matrices, but they are "
                           f"{'x'.join(map(str, shape[-2:])) if len(shape) >= 2 else shape} "
                           f"matrices (shape {shape})")
    if A._array.dtype.kind != "f":
        raise RuntimeError(f"{op}: Expected a floating point tensor as input. Got "
                           f"{_TORCH_NAMES[A.dtype.name]}")


def _mT(t):
    return t.transpose(-1, -2)


class Inv(Op):
    saves_output = True

    @staticmethod
    def forward(ctx, A):
        try:
            return np.linalg.inv(A._array)
        except np.linalg.LinAlgError:
            raise RuntimeError(f"linalg.inv: the input matrix of shape {tuple(A.shape)} is "
                               f"singular, so it cannot be inverted") from None

    @staticmethod
    def backward(ctx, g):
        inv_t = _mT(ctx.output)
        return -matmul(matmul(inv_t, g), inv_t)


def inv(A, *, out=None):
    _check_square("linalg.inv", A)
    return Inv.apply(A)


class Det(Op):
    saves_output = True

    @staticmethod
    def forward(ctx, A):
        ctx.save_for_backward(A)
        return np.asarray(np.linalg.det(A._array), dtype=A._array.dtype)

    @staticmethod
    def backward(ctx, g):
        # d det(A) / dA = det(A) * inv(A)^T (A must be invertible)
        A, = ctx.saved_tensors
        scale = (g * ctx.output).reshape(tuple(g.shape) + (1, 1))
        return scale * _mT(inv(A))


def det(A, *, out=None):
    _check_square("linalg.det", A)
    return Det.apply(A)


class Solve(Op):
    saves_output = True

    @staticmethod
    def forward(ctx, A, B, vector):
        ctx.save_for_backward(A)
        ctx.vector = vector
        b = B._array[..., None] if vector else B._array
        a = A._array
        if b.dtype != a.dtype:
            raise RuntimeError(f"linalg.solve: expected A and B to have the same dtype, but got "
                               f"{A.dtype.name} and {B.dtype.name}")
        try:
            batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
            x = np.linalg.solve(np.broadcast_to(a, batch + a.shape[-2:]),
                                np.broadcast_to(b, batch + b.shape[-2:]))
        except np.linalg.LinAlgError:
            raise RuntimeError(f"linalg.solve: the solver failed because the input matrix of "
                               f"shape {tuple(A.shape)} is singular") from None
        except ValueError:
            raise RuntimeError(f"linalg.solve: incompatible shapes: A {tuple(A.shape)} and B "
                               f"{tuple(B.shape)}") from None
        return x[..., 0] if vector else x

    @staticmethod
    def backward(ctx, g):
        A, = ctx.saved_tensors
        X = ctx.output
        gB = Solve.apply(_mT(A), g, ctx.vector)
        if not ctx.needs_input_grad[0]:
            return None, gB, None
        if ctx.vector:
            gA = -(gB.reshape(tuple(gB.shape) + (1,)) * X.reshape(X.shape[:-1] + (1, X.shape[-1])))
        else:
            gA = -matmul(gB, _mT(X))
        return gA, gB, None


def solve(A, B, *, left=True, out=None):
    _check_square("linalg.solve", A)
    if not left:  # X A = B  <=>  A^T X^T = B^T
        return _mT(solve(_mT(A), _mT(B)))
    vector = B._array.ndim == 1 or (B._array.ndim == A._array.ndim - 1 and
                                    tuple(B.shape) == tuple(A.shape[:-1]))
    return Solve.apply(A, B, vector)


class SlogDet(Op):
    @staticmethod
    def forward(ctx, A):
        ctx.save_for_backward(A)
        sign, logabsdet = np.linalg.slogdet(A._array)
        dt = A._array.dtype
        return np.asarray(sign, dtype=dt), np.asarray(logabsdet, dtype=dt)

    @staticmethod
    def backward(ctx, g_sign, g_logabsdet):
        A, = ctx.saved_tensors  # d log|det A| / dA = inv(A)^T; the sign is piecewise constant
        return g_logabsdet.reshape(tuple(g_logabsdet.shape) + (1, 1)) * _mT(inv(A))


def slogdet(A, *, out=None):
    _check_square("linalg.slogdet", A)
    from .. import return_types
    return return_types.slogdet(*SlogDet.apply(A))


class SvdVals(Op):
    """Singular values, descending. d sigma_i / dA = u_i v_i^T for distinct nonzero singular
    values; U and V are held as constants, so the gradient is exact to first order only."""

    @staticmethod
    def forward(ctx, A):
        try:
            u, s, vh = np.linalg.svd(A._array, full_matrices=False)
        except np.linalg.LinAlgError:
            raise RuntimeError(f"linalg.svdvals: the SVD of the input of shape {tuple(A.shape)} "
                               f"did not converge") from None
        ctx.u, ctx.vh = u, vh
        return s

    @staticmethod
    def backward(ctx, g):
        u = _make(ctx.u)
        return matmul(u * g.reshape(g.shape[:-1] + (1, g.shape[-1])), _make(ctx.vh))


def svdvals(A, *, driver=None, out=None):
    if A._array.ndim < 2:
        raise RuntimeError(f"linalg.svdvals: The input tensor A must have at least 2 dimensions "
                           f"(got shape {tuple(A.shape)})")
    return SvdVals.apply(_norm_input(A, None, "linalg.svdvals"))


class _IdentityLike(Op):
    """Identity matrices shaped like A, in A's graph with a zero gradient (A^0, as in torch)."""

    @staticmethod
    def forward(ctx, A):
        a = A._array
        return np.broadcast_to(np.eye(a.shape[-1], dtype=a.dtype), a.shape).copy()

    @staticmethod
    def backward(ctx, g):
        return _make(np.zeros(g._array.shape, g._array.dtype))


def matrix_power(A, n):
    """A @ A @ ... (n times) by repeated squaring; the identity for n = 0, inv(A)^|n| for n < 0.
    Composed of matmuls, so it differentiates like them."""
    _check_square("linalg.matrix_power", A)
    n = int(n)
    if n == 0:
        return _IdentityLike.apply(A)
    if n < 0:
        A, n = inv(A), -n
    result = None
    while n:
        if n & 1:
            result = A if result is None else matmul(result, A)
        n >>= 1
        if n:
            A = matmul(A, A)
    return result


def multi_dot(tensors, *, out=None):
    """The product of a chain of matrices (the first and last may be vectors), multiplied in
    the order that costs fewest multiply-adds (the classic dynamic program)."""
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    first_vec, last_vec = tensors[0].dim() == 1, tensors[-1].dim() == 1
    mats = list(tensors)
    if first_vec:
        mats[0] = mats[0].unsqueeze(0)
    if last_vec:
        mats[-1] = mats[-1].unsqueeze(1)
    if any(m.dim() != 2 for m in mats):
        raise RuntimeError("multi_dot(): tensors except the first and last must be 2-D")
    dims = [mats[0].shape[0]] + [m.shape[1] for m in mats]
    k = len(mats)
    cost = [[0] * k for _ in range(k)]
    split = [[0] * k for _ in range(k)]
    for length in range(1, k):
        for i in range(k - length):
            j = i + length
            cost[i][j] = None
            for s in range(i, j):
                c = cost[i][s] + cost[s + 1][j] + dims[i] * dims[s + 1] * dims[j + 1]
                if cost[i][j] is None or c < cost[i][j]:
                    cost[i][j], split[i][j] = c, s

    def chain(i, j):
        if i == j:
            return mats[i]
        return matmul(chain(i, split[i][j]), chain(split[i][j] + 1, j))
    result = chain(0, k - 1)
    if first_vec:
        result = result.squeeze(0)
    if last_vec:
        result = result.squeeze(-1)
    return result


def cross(input, other, dim=None):
    """The 3-D cross product along `dim` (torch.cross: by default the first dim of size 3;
    linalg.cross: dim=-1), broadcasting the other dims."""
    from .shape import select, stack
    shape = np.broadcast_shapes(tuple(input.shape), tuple(other.shape))
    if dim is None:
        dim = next((i for i, n in enumerate(shape) if n == 3), None)
        if dim is None:
            raise RuntimeError("cross: no dimension of size 3 in input")
    d = wrap_dim(dim, len(shape), "cross")
    if shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{input.shape[d] if d < input.dim() else 1} and "
                           f"{other.shape[d] if d < other.dim() else 1}")
    a, b = input.expand(*shape), other.expand(*shape)
    a0, a1, a2 = (select(a, d, i) for i in range(3))
    b0, b1, b2 = (select(b, d, i) for i in range(3))
    return stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], dim=d)


def kron(input, other):
    """The Kronecker product: every element of input times the whole of other, in blocks."""
    nd = max(input.dim(), other.dim())
    a = input.reshape((1,) * (nd - input.dim()) + tuple(input.shape))
    b = other.reshape((1,) * (nd - other.dim()) + tuple(other.shape))
    a_shape, b_shape = tuple(a.shape), tuple(b.shape)
    spread_a = a.reshape(sum(((n, 1) for n in a_shape), ()))          # (a0, 1, a1, 1, ...)
    spread_b = b.reshape(sum(((1, n) for n in b_shape), ()))          # (1, b0, 1, b1, ...)
    return (spread_a * spread_b).reshape(tuple(x * y for x, y in zip(a_shape, b_shape)))


def logdet(A):
    """log(det(A)): NaN where the determinant is negative, -inf where it is 0 (as torch)."""
    sign, logabs = slogdet(A)
    from .elementwise import where
    return where(sign < 0, float("nan"), logabs)


def cdist(x1, x2, p=2.0, compute_mode=None):
    """p-norm distances between the rows of x1 (..., P, M) and of x2 (..., R, M): (..., P, R).
    Computed from the differences (torch's exact mode; no |x|^2 + |y|^2 - 2xy shortcut), so
    zero distances have zero gradients, as with torch."""
    if x1.dim() < 2 or x2.dim() < 2 or x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"cdist: X1 and X2 must be at least 2-D with the same last dimension, "
                           f"got shapes {tuple(x1.shape)} and {tuple(x2.shape)}")
    if p < 0:
        raise RuntimeError(f"cdist only supports non-negative p values, got {p}")
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)                    # (..., P, R, M)
    return vector_norm(diff, ord=p, dim=-1)


def cov(input, *, correction=1, fweights=None, aweights=None):
    """Covariance of the variables in input's rows (observations in columns), with optional
    integer frequency and float observation weights, normalized by sum(w) - correction *
    sum(w * aweights) / sum(w) (torch.cov's and numpy.cov's formula)."""
    if input.dim() > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an "
                           f"input with {input.dim()} dimensions")
    x = input.reshape(1, -1) if input.dim() < 2 else input
    if not x.is_floating_point():
        from .. import get_default_dtype
        x = x.to(get_default_dtype())
    w = None
    if fweights is not None:
        w = fweights.to(x.dtype)
    if aweights is not None:
        w = aweights.to(x.dtype) if w is None else w * aweights.to(x.dtype)
    n = x.shape[1]
    if w is None:
        avg = x.mean(dim=1, keepdim=True)
        norm = n - correction
        xm = x - avg
        c = matmul(xm, xm.t())
    else:
        w_sum = w.sum()
        avg = (x * w).sum(dim=1, keepdim=True) / w_sum
        norm = w_sum if correction == 0 else (
            w_sum - correction * (w * aweights.to(x.dtype)).sum() / w_sum
            if aweights is not None else w_sum - correction)
        xm = x - avg
        c = matmul(xm * w, xm.t())
    c = c / norm
    return c.squeeze() if input.dim() < 2 else c


def corrcoef(input):
    """Pearson correlation coefficients of input's rows, clamped to [-1, 1] as in torch."""
    c = cov(input)
    if c.dim() == 0:
        return c / c
    d = c.diagonal().sqrt()
    return (c / d.unsqueeze(1) / d.unsqueeze(0)).clamp(-1, 1)


def inner(input, other, *, out=None):
    """Sum over the last dims of both (a number times a tensor when either is 0-d)."""
    if input.dim() == 0 or other.dim() == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but "
                           f"got shapes {list(input.shape)} and {list(other.shape)}")
    return tensordot(input, other, dims=([-1], [-1]))


def trace(input):
    """Sum of the main diagonal of a 2-D tensor (integers sum as int64, as in PyTorch)."""
    if input.dim() != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.dim()}")
    from .shape import diagonal
    return _sum(diagonal(input))


FUNCTIONS = ["matmul", "mm", "bmm", "mv", "dot", "vdot", "outer", "ger", "addmm", "addmv",
             "addbmm", "baddbmm", "addr", "einsum", "tensordot", "norm", "dist", "det", "inverse",
             "trace", "matrix_power", "cross", "kron", "logdet", "cdist", "cov", "corrcoef",
             "inner"]

METHODS = {
    "matmul": matmul, "mm": mm, "bmm": bmm, "mv": mv, "dot": dot, "vdot": vdot,
    "outer": outer, "ger": ger, "addmm": addmm, "addmv": addmv, "addbmm": addbmm,
    "baddbmm": baddbmm, "addr": addr, "norm": norm, "dist": dist,
    "det": det, "inverse": inverse, "trace": trace,
    "matrix_power": matrix_power, "cross": cross, "kron": kron, "logdet": logdet,
    "cov": cov, "corrcoef": corrcoef, "inner": inner,
    **{name + "_": inplace(fn, name + "_") for name, fn in [
        ("addmm", addmm), ("addmv", addmv), ("addbmm", addbmm), ("baddbmm", baddbmm),
        ("addr", addr)]},
    "__matmul__": lambda self, other: matmul(self, other) if isinstance(other, Tensor)
    else NotImplemented,
    "__rmatmul__": lambda self, other: matmul(other, self) if isinstance(other, Tensor)
    else NotImplemented,
}
