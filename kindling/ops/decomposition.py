"""Matrix decompositions and the solvers built on them (torch.linalg's svd, qr, cholesky, eigh,
...), each forward beside its gradient.

Forwards call LAPACK through np.linalg on the input's dtype (float32 stays float32). Gradients
follow PyTorch's formulas (FunctionsManual.cpp) and are written in Tensor ops, so they can be
differentiated again. Decompositions are unique only up to signs: PyTorch's and kindling's U, Q,
V may differ by column signs, so compare gauge-invariant quantities.
"""
import numpy as np

from ..engine.function import Op
from ..engine.tensor import Tensor, _make
from .linalg import matmul, _mT, inv as _inv, solve as _solve, matrix_norm
from .reduce import _TORCH_NAMES
from .shape import tril, triu, diag_embed, diagonal as _diagonal, cat


class LinAlgError(RuntimeError):
    """torch.linalg.LinAlgError: a factorization or solve failed on its input (a matrix that is
    singular, or not positive-definite). A RuntimeError, as in PyTorch."""


LinAlgError.__module__ = "kindling.linalg"


# --- checks and small helpers ---------------------------------------------------------------
def _check_matrix(op, A, square=False, name="A"):
    if not isinstance(A, Tensor):
        raise TypeError(f"{op}: expected {name} to be a Tensor, got {type(A).__name__}")
    shape = tuple(A.shape)
    if A._array.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor {name} must have at least 2 dimensions "
                           f"(got shape {shape})")
    if A._array.dtype not in (np.float32, np.float64):
        raise RuntimeError(f"{op}: Expected a float32 or float64 tensor as input. Got "
                           f"{_TORCH_NAMES.get(A.dtype.name, A.dtype.name)} (shape {shape})")
    if square and shape[-1] != shape[-2]:
        raise RuntimeError(f"{op}: {name} must be batches of square matrices, but they are "
                           f"{shape[-2]} by {shape[-1]} matrices (shape {shape})")


def _check_same_dtype(op, A, B):
    if A._array.dtype != B._array.dtype:
        raise RuntimeError(f"{op}: Expected A and B to have the same dtype, but found A of type "
                           f"{_TORCH_NAMES[A.dtype.name]} and B of type "
                           f"{_TORCH_NAMES[B.dtype.name]} instead")


def _eye(n, like):
    return _make(np.eye(n, dtype=like._array.dtype))


def _unused(g):
    """An output that got no gradient: the engine hands it zeros. Skipping it keeps 0 * inf
    (repeated singular values or eigenvalues) out of the gradients that do not need it."""
    return g is None or (not g._requires_grad and not np.any(g._array))


def _batch_prefix(info, index):
    return f"(Batch element {index}): " if info.ndim else ""


def _first_failure(info):
    """(flat batch index, info value) of the first failed matrix."""
    flat = np.asarray(info).reshape(-1)
    k = int(np.flatnonzero(flat)[0])
    return k, int(flat[k])


# --- triangular solves ----------------------------------------------------------------------
def _trisolve(a, b, upper, unit):
    """Solve T X = B for the triangle of a (with a unit diagonal if `unit`), batched."""
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    t = np.triu(a) if upper else np.tril(a)
    if unit:
        n = a.shape[-1]
        t[..., np.arange(n), np.arange(n)] = 1
    t = np.broadcast_to(t, batch + a.shape[-2:])
    b = np.broadcast_to(b, batch + b.shape[-2:])
    if np.all(np.diagonal(t, axis1=-2, axis2=-1) != 0):
        try:
            return np.linalg.solve(t, b)
        except np.linalg.LinAlgError:
            pass
    # A zero on the diagonal: substitute row by row, giving inf/nan where LAPACK's trsm would.
    n = t.shape[-1]
    x = np.zeros(b.shape, dtype=np.result_type(t, b))
    with np.errstate(all="ignore"):
        for i in (range(n - 1, -1, -1) if upper else range(n)):
            rest = slice(i + 1, n) if upper else slice(0, i)
            r = b[..., i, :] - (t[..., i:i + 1, rest] @ x[..., rest, :])[..., 0, :]
            x[..., i, :] = r / t[..., i, i, None]
    return x


class SolveTriangular(Op):
    """X = A^-1 B (left) or B A^-1 (right) for triangular A. gB = A^-T g; gA = -gB X^T (left)
    or -X^T gB (right), kept to A's triangle (the part of A that was read)."""
    saves_output = True

    @staticmethod
    def forward(ctx, A, B, upper, left, unit):
        ctx.save_for_backward(A)
        ctx.upper, ctx.left, ctx.unit = upper, left, unit
        a, b = A._array, B._array
        if left:
            return _trisolve(a, b, upper, unit)
        return np.swapaxes(_trisolve(np.swapaxes(a, -1, -2), np.swapaxes(b, -1, -2),
                                     not upper, unit), -1, -2)

    @staticmethod
    def backward(ctx, g):
        A, = ctx.saved_tensors
        X = ctx.output
        upper, left, unit = ctx.upper, ctx.left, ctx.unit
        gB = SolveTriangular.apply(_mT(A), g, not upper, left, unit)
        gA = None
        if ctx.needs_input_grad[0]:
            gA = -matmul(gB, _mT(X)) if left else -matmul(_mT(X), gB)
            gA = triu(gA, int(unit)) if upper else tril(gA, -int(unit))
        return gA, (gB if ctx.needs_input_grad[1] else None), None, None, None


def solve_triangular(A, B, *, upper, left=True, unitriangular=False, out=None):
    op = "linalg.solve_triangular"
    _check_matrix(op, A, square=True)
    _check_matrix(op, B, name="B")
    _check_same_dtype(op, A, B)
    n = A.shape[-1]
    k = B.shape[-2] if left else B.shape[-1]
    try:
        np.broadcast_shapes(tuple(A.shape[:-2]), tuple(B.shape[:-2]))
        ok = k == n
    except ValueError:
        ok = False
    if not ok:
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(f"{op}: Incompatible shapes of A and B for the equation {eq} "
                           f"({'x'.join(map(str, A.shape[-2:]))} and "
                           f"{'x'.join(map(str, B.shape[-2:]))}; shapes {tuple(A.shape)} and "
                           f"{tuple(B.shape)})")
    return SolveTriangular.apply(A, B, bool(upper), bool(left), bool(unitriangular))


def triangular_solve(b, A, upper=True, transpose=False, unitriangular=False, *, out=None):
    """The old torch.triangular_solve: solves A X = b (A^T X = b with transpose) and returns
    the solution with a copy of A (broadcast to the batch shape)."""
    from .. import return_types
    _check_matrix("triangular_solve", A, square=True)
    _check_matrix("triangular_solve", b, name="b")
    coefficient = _mT(A) if transpose else A
    X = solve_triangular(coefficient, b, upper=bool(upper) != bool(transpose),
                         unitriangular=unitriangular)
    batch = tuple(X.shape[:-2])
    return return_types.triangular_solve(X, A.expand(*batch, *A.shape[-2:]).clone())


# --- SVD --------------------------------------------------------------------------------------
class Svd(Op):
    """A = U diag(S) Vh. The gradient is PyTorch's svd_backward: the F-matrix formula
    (1 / (s_j^2 - s_i^2) off the diagonal), plus the terms for the columns of U (tall A) or rows
    of Vh (wide A) outside the square part. With full_matrices, the extra columns of U and rows
    of Vh are arbitrary bases, so their gradients are ignored, as PyTorch documents."""
    saves_output = True

    @staticmethod
    def forward(ctx, A, full_matrices):
        ctx.full = full_matrices
        a = A._array
        try:
            u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
        except np.linalg.LinAlgError:
            raise LinAlgError(f"linalg.svd: the SVD of the input of shape {tuple(A.shape)} did "
                              f"not converge (does it contain NaN or inf?)") from None
        return u.astype(a.dtype, copy=False), s.astype(a.dtype, copy=False), \
            vh.astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, gU, gS, gVh):
        U, S, Vh = (ctx._output_tensor(i) for i in range(3))
        if ctx.full:
            k = S.shape[-1]
            U, Vh = U[..., :, :k], Vh[..., :k, :]
            gU, gVh = gU[..., :, :k], gVh[..., :k, :]
        return _svd_backward(None if _unused(gU) else gU, gS, None if _unused(gVh) else gVh,
                             U, S, Vh), None


def _svd_backward(gU, gS, gVh, U, S, Vh):
    m, n = U.shape[-2], Vh.shape[-1]
    if gU is None and gVh is None:  # only S used: gA = U diag(gS) Vh
        return matmul(U * gS.unsqueeze(-2), Vh)
    Srow, Scol = S.unsqueeze(-2), S.unsqueeze(-1)
    S2 = S * S
    E = S2.unsqueeze(-2) - S2.unsqueeze(-1) + _eye(S.shape[-1], S)  # diagonal: any nonzero
    ret = 0
    if gU is not None:
        UhgU = matmul(_mT(U), gU)
        ret = (UhgU - _mT(UhgU)) * Srow
    if gVh is not None:
        VhgV = matmul(Vh, _mT(gVh))
        ret = ret + Scol * (VhgV - _mT(VhgV))
    gA = ret / E + diag_embed(gS)
    if m > n and gU is not None:  # + (I - U U^T) gU S^-1, the part of gU outside span(U)
        gUSinv = gU / Srow
        gA = matmul(matmul(U, gA) + gUSinv - matmul(U, matmul(_mT(U), gUSinv)), Vh)
    elif m < n and gVh is not None:  # + S^-1 gVh (I - V V^T)
        SinvgVh = gVh / Scol
        gA = matmul(U, matmul(gA, Vh) + SinvgVh - matmul(matmul(SinvgVh, _mT(Vh)), Vh))
    else:
        gA = matmul(U, matmul(gA, Vh))
    return gA


def linalg_svd(A, full_matrices=True, *, driver=None, out=None):
    """torch.linalg.svd: (U, S, Vh) with A = U diag(S) Vh, S descending."""
    from .. import return_types
    _check_matrix("linalg.svd", A)
    if driver is not None:
        raise RuntimeError(f"linalg.svd: keyword argument `driver=` is only supported on CUDA "
                           f"inputs with cuSOLVER backend (got driver={driver!r})")
    return return_types.linalg_svd(*Svd.apply(A, bool(full_matrices)))


def svd(input, some=True, compute_uv=True, *, out=None):
    """The old torch.svd: (U, S, V) with V = Vh^T; `some=False` gives full U and V. Without
    compute_uv, U and V are zero-filled (m, m) and (n, n) matrices, as in PyTorch."""
    from .. import return_types
    from .linalg import svdvals
    _check_matrix("svd", input)
    if not compute_uv:
        S = svdvals(input)
        shape, dt = tuple(input.shape), input._array.dtype
        return return_types.svd(_make(np.zeros(shape[:-1] + (shape[-2],), dt)), S,
                                _make(np.zeros(shape[:-2] + (shape[-1],) * 2, dt)))
    U, S, Vh = Svd.apply(input, not some)
    return return_types.svd(U, S, _mT(Vh))


# --- eigh -------------------------------------------------------------------------------------
class Eigh(Op):
    """A = V diag(L) V^T for symmetric A (only the UPLO triangle is read), L ascending.
    gA = V (diag(gL) + skew(V^T gV) / 2 / (L_j - L_i)) V^T, PyTorch's rule: symmetric."""
    saves_output = True

    @staticmethod
    def forward(ctx, A, uplo):
        a = A._array
        try:
            w, v = np.linalg.eigh(a, UPLO=uplo)
        except np.linalg.LinAlgError:
            raise LinAlgError(f"linalg.eigh: the eigendecomposition of the input of shape "
                              f"{tuple(A.shape)} did not converge (does it contain NaN or "
                              f"inf?)") from None
        return w.astype(a.dtype, copy=False), v.astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, gL, gV):
        L, V = ctx._output_tensor(0), ctx._output_tensor(1)
        if _unused(gV):
            return matmul(V * gL.unsqueeze(-2), _mT(V)), None
        VhgV = matmul(_mT(V), gV)
        E = L.unsqueeze(-2) - L.unsqueeze(-1) + _eye(L.shape[-1], L)
        gA = (VhgV - _mT(VhgV)) * 0.5 / E + diag_embed(gL)  # the skew part's diagonal is 0
        return matmul(V, matmul(gA, _mT(V))), None


def _check_uplo(op, UPLO):
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"{op}: Expected UPLO argument to be 'L' or 'U', but got {UPLO!r}")


def eigh(A, UPLO="L", *, out=None):
    """torch.linalg.eigh: (eigenvalues ascending, eigenvectors as columns) of symmetric A."""
    from .. import return_types
    _check_matrix("linalg.eigh", A, square=True)
    _check_uplo("linalg.eigh", UPLO)
    return return_types.linalg_eigh(*Eigh.apply(A, UPLO))


def eigvalsh(A, UPLO="L", *, out=None):
    _check_matrix("linalg.eigvalsh", A, square=True)
    _check_uplo("linalg.eigvalsh", UPLO)
    return Eigh.apply(A, UPLO)[0]


def eig(A, *, out=None):
    raise NotImplementedError("linalg.eig: the eigenvalues and eigenvectors of a general real "
                              "matrix are complex, and kindling has no complex dtypes; for "
                              "symmetric matrices use linalg.eigh")


def eigvals(A, *, out=None):
    raise NotImplementedError("linalg.eigvals: the eigenvalues of a general real matrix are "
                              "complex, and kindling has no complex dtypes; for symmetric "
                              "matrices use linalg.eigvalsh")


# --- QR ---------------------------------------------------------------------------------------
class Qr(Op):
    """A = Q R (Householder, as LAPACK's geqrf/orgqr). PyTorch's gradient: for m >= n,
    gA = (gQ + Q copyltu(M)) R^-T with M = gR R^T - Q^T gQ; for m < n, A = Q [X | Y] and the
    square part X is handled the same way, Y through gR."""
    saves_output = True

    @staticmethod
    def forward(ctx, A, mode):
        ctx.mode = mode
        a = A._array
        if mode == "r":
            r = np.linalg.qr(a, mode="r")
            return np.zeros((0,), a.dtype), r.astype(a.dtype, copy=False)
        q, r = np.linalg.qr(a, mode=mode)
        return q.astype(a.dtype, copy=False), r.astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, gQ, gR):
        if ctx.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed "
                               "when mode='r'. Please use linalg.qr(A, mode='reduced') if you "
                               "are going to differentiate through linalg.qr.")
        Q, R = ctx._output_tensor(0), ctx._output_tensor(1)
        m, n = Q.shape[-2], R.shape[-1]
        if ctx.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' "
                               "and nrows > ncols.")
        gA = matmul(gR, _mT(R)) - matmul(_mT(Q), gQ)
        if m >= n:
            upper = triu(gA)
            sym = upper + _mT(triu(gA, 1))  # copyltu: symmetric, with gA's upper triangle
            return SolveTriangular.apply(_mT(R), matmul(Q, sym) + gQ, False, False, False), None
        X = -gA
        skew = tril(X - _mT(X))
        gX = SolveTriangular.apply(_mT(R[..., :, :m]), matmul(Q, skew), False, False, False)
        zeros = _make(np.zeros(tuple(R.shape[:-1]) + (n - m,), R._array.dtype))
        return cat([gX, zeros], -1) + matmul(Q, gR), None


def linalg_qr(A, mode="reduced", *, out=None):
    """torch.linalg.qr: mode 'reduced' (Q m x k), 'complete' (Q m x m) or 'r' (Q empty)."""
    from .. import return_types
    _check_matrix("linalg.qr", A)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           f"'reduced' (default), 'r', or 'complete'")
    return return_types.linalg_qr(*Qr.apply(A, mode))


def qr(input, some=True, *, out=None):
    from .. import return_types
    _check_matrix("qr", input)
    return return_types.qr(*Qr.apply(input, "reduced" if some else "complete"))


# --- Cholesky ---------------------------------------------------------------------------------
def _potf2(a):
    """Unblocked Cholesky of one matrix (LAPACK's potf2): (L, info). On failure at column j,
    L holds the finished columns and the failing pivot, as LAPACK leaves it."""
    L = np.tril(a).astype(a.dtype)
    n = a.shape[-1]
    for j in range(n):
        d = L[j, j] - L[j, :j] @ L[j, :j]
        if not d > 0:  # also NaN
            L[j, j] = d
            return L, j + 1
        L[j, j] = np.sqrt(d)
        L[j + 1:, j] = (L[j + 1:, j] - L[j + 1:, :j] @ L[j, :j]) / L[j, j]
    return L, 0


def _cholesky_np(a):
    """Lower Cholesky factors of a batch, from its lower triangles; info as LAPACK's potrf."""
    batch = a.shape[:-2]
    try:
        return np.linalg.cholesky(a).astype(a.dtype, copy=False), np.zeros(batch, np.int32)
    except np.linalg.LinAlgError:
        pass
    flat = a.reshape((-1,) + a.shape[-2:])
    L = np.empty_like(flat)
    info = np.zeros(len(flat), np.int32)
    for i, m in enumerate(flat):
        try:
            L[i] = np.linalg.cholesky(m)
        except np.linalg.LinAlgError:
            L[i], info[i] = _potf2(m)
    return L.reshape(a.shape), info.reshape(batch)


class Cholesky(Op):
    """A = L L^T (or U^T U). Gradient (Murray 2016, as PyTorch): Phi = tril(L^T gL) with a
    halved diagonal, symmetrized; gA = L^-T Phi L^-1."""
    saves_output = True

    @staticmethod
    def forward(ctx, A, upper, op):
        ctx.upper = upper
        a = A._array
        # upper reads A's upper triangle: the lower triangle of A^T
        L, info = _cholesky_np(np.swapaxes(a, -1, -2) if upper else a)
        if op is not None and info.any():
            k, order = _first_failure(info)
            raise LinAlgError(f"{op}: {_batch_prefix(info, k)}The factorization could not be "
                              f"completed because the input is not positive-definite (the "
                              f"leading minor of order {order} is not positive-definite; input "
                              f"shape {tuple(A.shape)})")
        return (np.swapaxes(L, -1, -2).copy() if upper else L), info

    @staticmethod
    def backward(ctx, gL, ginfo):
        L = ctx._output_tensor(0)
        if ctx.upper:
            L, gL = _mT(L), _mT(gL)
        phi = tril(matmul(_mT(L), gL))
        phi = 0.5 * (phi + _mT(tril(phi, -1)))
        gA = SolveTriangular.apply(_mT(L), phi, True, True, False)
        return SolveTriangular.apply(L, gA, False, False, False), None, None


def linalg_cholesky(A, *, upper=False, out=None):
    """torch.linalg.cholesky: raises LinAlgError if A is not positive-definite."""
    _check_matrix("linalg.cholesky", A, square=True)
    return Cholesky.apply(A, bool(upper), "linalg.cholesky")[0]


def cholesky_ex(A, *, upper=False, check_errors=False, out=None):
    """(L, info): info > 0 is the order of the leading minor that is not positive-definite,
    where L holds LAPACK's partial factorization."""
    from .. import return_types
    _check_matrix("linalg.cholesky_ex", A, square=True)
    return return_types.linalg_cholesky_ex(
        *Cholesky.apply(A, bool(upper), "linalg.cholesky_ex" if check_errors else None))


def cholesky(input, upper=False, *, out=None):
    _check_matrix("cholesky", input, square=True)
    return Cholesky.apply(input, bool(upper), "cholesky")[0]


def _chol_solve_np(b, l, upper):
    if upper:  # A = U^T U: U^T Y = B, then U X = Y
        return _trisolve(l, _trisolve(np.swapaxes(l, -1, -2), b, False, False), True, False)
    return _trisolve(np.swapaxes(l, -1, -2), _trisolve(l, b, False, False), True, False)


class CholeskySolve(Op):
    """X = A^-1 B with A = L L^T. PyTorch's gradient: gB = A^-1 g, and for the factor
    -(gB X^T + X gB^T) L (not restricted to the triangle, as in PyTorch)."""
    saves_output = True

    @staticmethod
    def forward(ctx, B, L, upper):
        ctx.save_for_backward(L)
        ctx.upper = upper
        return _chol_solve_np(B._array, L._array, upper)

    @staticmethod
    def backward(ctx, g):
        L, = ctx.saved_tensors
        X = ctx.output
        gB = CholeskySolve.apply(g, L, ctx.upper)
        gL = None
        if ctx.needs_input_grad[1]:
            common = matmul(gB, _mT(X))
            common = common + _mT(common)
            gL = -matmul(L, common) if ctx.upper else -matmul(common, L)
        return gB, gL, None


def cholesky_solve(B, L, upper=False, *, out=None):
    """Solve A X = B given A's Cholesky factor L (lower, or upper with upper=True)."""
    _check_matrix("cholesky_solve", L, square=True, name="L")
    _check_matrix("cholesky_solve", B, name="B")
    _check_same_dtype("cholesky_solve", L, B)
    if B.shape[-2] != L.shape[-1]:
        raise RuntimeError(f"cholesky_solve: Incompatible matrix sizes for B {tuple(B.shape)} "
                           f"and L {tuple(L.shape)}: B.size(-2) must equal L.size(-1)")
    return CholeskySolve.apply(B, L, bool(upper))


class CholeskyInverse(Op):
    """(L L^T)^-1 from the factor L. PyTorch's gradient: -(Ainv (g + g^T) Ainv) L."""
    saves_output = True

    @staticmethod
    def forward(ctx, L, upper):
        ctx.save_for_backward(L)
        ctx.upper = upper
        l = L._array
        eye = np.broadcast_to(np.eye(l.shape[-1], dtype=l.dtype), l.shape)
        return _chol_solve_np(eye, l, upper)

    @staticmethod
    def backward(ctx, g):
        L, = ctx.saved_tensors
        Ainv = ctx.output
        common = matmul(Ainv, matmul(g + _mT(g), Ainv))
        return (-matmul(L, common) if ctx.upper else -matmul(common, L)), None


def cholesky_inverse(L, upper=False, *, out=None):
    _check_matrix("cholesky_inverse", L, square=True, name="L")
    return CholeskyInverse.apply(L, bool(upper))


# --- LU (for the info of inv_ex / solve_ex, and lu_factor) -----------------------------------
def _lu_np(a):
    """LU with partial pivoting (LAPACK's getrf), batched: (LU packed, 1-based pivots, info).
    info = the first zero pivot (1-based), 0 if none."""
    lu = np.array(a, copy=True)
    m, n = lu.shape[-2:]
    batch = lu.shape[:-2]
    k = min(m, n)
    piv = np.empty(batch + (k,), np.int32)
    info = np.zeros(batch, np.int32)
    for j in range(k):
        p = j + np.argmax(np.abs(lu[..., j:, j]), axis=-1)
        piv[..., j] = p + 1
        index = np.broadcast_to(p[..., None, None], batch + (1, n))
        row_j = lu[..., j:j + 1, :].copy()
        lu[..., j:j + 1, :] = np.take_along_axis(lu, index, axis=-2)
        np.put_along_axis(lu, index, row_j, axis=-2)
        pivot = lu[..., j, j]
        zero = pivot == 0
        info = np.where(zero & (info == 0), j + 1, info).astype(np.int32)
        # a zero pivot has an all-zero column below it: nothing to eliminate
        lu[..., j + 1:, j] /= np.where(zero, 1, pivot)[..., None]
        lu[..., j + 1:, j + 1:] -= lu[..., j + 1:, j, None] * lu[..., j, None, j + 1:]
    return lu, piv, info


def _singular_info(a):
    return _lu_np(a)[2]


def _singular_error(op, info, A):
    k, order = _first_failure(info)
    return LinAlgError(f"{op}: {_batch_prefix(info, k)}The diagonal element {order} is zero, "
                       f"the inversion could not be completed because the input matrix of "
                       f"shape {tuple(A.shape)} is singular.")


def _where_singular(info, A):
    """A with its singular matrices replaced by the identity, so a solve runs; and the mask."""
    from .elementwise import where
    bad = _make((info > 0)[..., None, None])
    return where(bad, _eye(A.shape[-1], A), A), bad


def linalg_inv(A, *, out=None):
    """torch.linalg.inv: raises LinAlgError for a singular matrix."""
    _check_matrix("linalg.inv", A, square=True)
    try:
        return _inv(A)
    except RuntimeError:
        info = _singular_info(A._array)
        if info.any():
            raise _singular_error("linalg.inv", info, A) from None
        raise


def inv_ex(A, *, check_errors=False, out=None):
    """(inverse, info): info > 0 marks a singular matrix (its first zero pivot), whose
    inverse is NaN here (PyTorch leaves it undefined)."""
    from .. import return_types
    from .elementwise import where
    _check_matrix("linalg.inv_ex", A, square=True)
    batch = tuple(A.shape[:-2])
    try:
        return return_types.linalg_inv_ex(_inv(A), _make(np.zeros(batch, np.int32)))
    except RuntimeError:
        info = _singular_info(A._array)
        if not info.any():
            raise
    if check_errors:
        raise _singular_error("linalg.inv_ex", info, A)
    safe, bad = _where_singular(info, A)
    return return_types.linalg_inv_ex(where(bad, float("nan"), _inv(safe)), _make(info))


def linalg_solve(A, B, *, left=True, out=None):
    """torch.linalg.solve: raises LinAlgError for a singular A."""
    _check_matrix("linalg.solve", A, square=True)
    try:
        return _solve(A, B, left=left)
    except RuntimeError:
        info = _singular_info(A._array)
        if info.any():
            k, _ = _first_failure(info)
            raise LinAlgError(f"torch.linalg.solve: {_batch_prefix(info, k)}The solver failed "
                              f"because the input matrix of shape {tuple(A.shape)} is "
                              f"singular.") from None
        raise


def solve_ex(A, B, *, left=True, check_errors=False, out=None):
    """(result, info) as linalg.solve, with NaN results where A is singular (info > 0)."""
    from .. import return_types
    from .elementwise import where
    _check_matrix("linalg.solve_ex", A, square=True)
    batch = tuple(A.shape[:-2])
    try:
        return return_types.linalg_solve_ex(_solve(A, B, left=left),
                                            _make(np.zeros(batch, np.int32)))
    except RuntimeError:
        info = _singular_info(A._array)
        if not info.any():
            raise
    if check_errors:
        return linalg_solve(A, B, left=left)  # raises the LinAlgError
    safe, bad = _where_singular(info, A)
    X = _solve(safe, B, left=left)
    if X.dim() == len(batch) + 1:  # vector right-hand side
        bad = bad[..., 0]
    return return_types.linalg_solve_ex(where(bad, float("nan"), X), _make(info))


# --- pseudoinverse, least squares, rank -----------------------------------------------------
def _tolerance(s_max, dtype, m, n, atol, rtol):
    """max(atol, rtol * s_max), with PyTorch's defaults: rtol = eps * max(m, n) unless atol > 0
    is given alone."""
    def arr(x):
        return np.asarray(x._array if isinstance(x, Tensor) else x, dtype=dtype)
    if rtol is None:
        positive_atol = atol is not None and np.all(arr(atol) > 0)
        rtol = 0.0 if positive_atol else np.finfo(dtype).eps * max(m, n)
    atol = 0.0 if atol is None else atol
    return np.maximum(arr(atol), arr(rtol) * s_max)


class Pinv(Op):
    """The Moore-Penrose pseudoinverse P, via SVD (or eigh when hermitian), dropping singular
    values <= tol. The gradient (Golub and Pereyra; PyTorch's pinv_backward) holds where the
    rank is locally constant: gA = -P^T g P^T + (I - A P) g^T P P^T + P^T P g^T (I - P A)."""
    saves_output = True

    @staticmethod
    def forward(ctx, A, atol, rtol, hermitian):
        ctx.save_for_backward(A)
        a = A._array
        m, n = a.shape[-2:]
        if hermitian:
            w, v = np.linalg.eigh(a)
            tol = _tolerance(np.abs(w).max(-1, initial=0), a.dtype, m, n, atol,
                             rtol)
            keep = np.abs(w) > tol[..., None]
            winv = np.where(keep, 1 / np.where(keep, w, 1), 0)
            return ((v * winv[..., None, :]) @ np.swapaxes(v, -1, -2)).astype(a.dtype)
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        tol = _tolerance(s.max(-1, initial=0), a.dtype, m, n, atol, rtol)
        keep = s > tol[..., None]
        sinv = np.where(keep, 1 / np.where(keep, s, 1), 0)
        return (np.swapaxes(vh, -1, -2) * sinv[..., None, :] @ np.swapaxes(u, -1, -2)).astype(
            a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        A, = ctx.saved_tensors
        P = ctx.output
        Pt, gt = _mT(P), _mT(g)
        return (-matmul(matmul(Pt, g), Pt)
                + matmul(gt - matmul(A, matmul(P, gt)), matmul(P, Pt))
                + matmul(matmul(Pt, P), gt - matmul(matmul(gt, P), A))), None, None, None


def pinv(A, *, atol=None, rtol=None, hermitian=False, out=None):
    _check_matrix("linalg.pinv", A, square=hermitian)
    return Pinv.apply(A, atol, rtol, bool(hermitian))


def pinverse(input, rcond=1e-15):
    """The old torch.pinverse: singular values <= rcond * the largest are dropped."""
    return pinv(input, rtol=rcond)


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False, out=None):
    """The number of singular values (|eigenvalues| if hermitian) > max(atol, rtol * largest),
    as int64."""
    _check_matrix("linalg.matrix_rank", A, square=hermitian)
    a = A._array
    s = np.abs(np.linalg.eigvalsh(a)) if hermitian else np.linalg.svd(a, compute_uv=False)
    tol = _tolerance(s.max(-1, initial=0), a.dtype, *a.shape[-2:], atol,
                     rtol)
    return _make(np.asarray((s > tol[..., None]).sum(-1), dtype=np.int64))


_LSTSQ_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def lstsq(A, B, rcond=None, *, driver=None):
    """torch.linalg.lstsq: the minimum-norm X minimizing ||A X - B||, as pinv(A) @ B (so it
    differentiates as PyTorch's, through pinv). The other fields follow the driver, as on
    PyTorch's CPU: rank for all but 'gels'; singular values for 'gelsd'/'gelss'; residuals
    (squared column norms of A X - B) when m > n, except with 'gelsy' (the default), and for
    'gelsd'/'gelss' only when every A has full rank."""
    from .. import return_types
    op = "torch.linalg.lstsq"
    _check_matrix(op, A)
    if not isinstance(B, Tensor) or B._array.ndim < 1:
        raise RuntimeError(f"{op}: input.dim() must be greater or equal to other.dim() and "
                           f"(input.dim() - other.dim()) <= 1 (got B of shape "
                           f"{tuple(getattr(B, 'shape', ()))})")
    _check_same_dtype(op, A, B)
    driver = "gelsy" if driver is None else driver
    if driver not in _LSTSQ_DRIVERS:
        raise RuntimeError(f"{op}: parameter `driver` should be one of "
                           f"({', '.join(_LSTSQ_DRIVERS)})")
    vector = B._array.ndim == A._array.ndim - 1
    Bm = B.unsqueeze(-1) if vector else B
    m, n = A.shape[-2:]
    if Bm._array.ndim < 2 or Bm.shape[-2] != m:
        raise RuntimeError(f"{op}: input.size(-2) should match other.size(-2) (got A of shape "
                           f"{tuple(A.shape)} and B of shape {tuple(B.shape)})")
    X = matmul(pinv(A, rtol=rcond), Bm)
    a, dt = A._array, A._array.dtype
    empty = _make(np.zeros((0,), dt))
    rank = sv = empty
    if driver != "gels":
        rank = matrix_rank(A, rtol=rcond)
    if driver in ("gelsd", "gelss"):
        sv = _make(np.linalg.svd(a, compute_uv=False).astype(dt, copy=False))
    residuals = empty
    if m > n and driver != "gelsy" and (driver == "gels" or np.all(rank._array == n)):
        residuals = ((matmul(A, X) - Bm) ** 2).sum(-2)  # (..., k); (..., 1) for a vector B
    if vector:
        X = X.squeeze(-1)
    if driver == "gels":
        rank = _make(np.zeros((0,), np.int64))
    return return_types.linalg_lstsq(X, residuals, rank, sv)


# --- matrix functions -------------------------------------------------------------------------
_PADE13 = (64764752532480000., 32382376266240000., 7771770303897600., 1187353796428800.,
           129060195264000., 10559470521600., 670442572800., 33522128640., 1323241920.,
           40840800., 960960., 16380., 182., 1.)
_THETA13 = 5.371920351148152


def _expm_np(a):
    """exp(A) by scaling and squaring with the [13/13] Pade approximant (Higham 2005), batched,
    each matrix scaled by its own 2^-s. Computed in float64 and returned in a's dtype: float32
    gains accuracy and loses nothing."""
    x = a.astype(np.float64)
    n = x.shape[-1]
    norm = np.abs(x).sum(-2).max(-1, initial=0)
    with np.errstate(divide="ignore"):
        s = np.maximum(0, np.ceil(np.log2(np.maximum(norm, 1e-300) / _THETA13))).astype(int)
    x = x / (2.0 ** s)[..., None, None]
    b = _PADE13
    eye = np.eye(n)
    x2 = x @ x
    x4 = x2 @ x2
    x6 = x4 @ x2
    u = x @ (x6 @ (b[13] * x6 + b[11] * x4 + b[9] * x2) + b[7] * x6 + b[5] * x4 + b[3] * x2
             + b[1] * eye)
    v = x6 @ (b[12] * x6 + b[10] * x4 + b[8] * x2) + b[6] * x6 + b[4] * x4 + b[2] * x2 \
        + b[0] * eye
    r = np.linalg.solve(v - u, v + u)
    for k in range(int(s.max(initial=0))):  # square each matrix s times
        r = np.where((k < s)[..., None, None], r @ r, r)
    return r.astype(a.dtype)


class MatrixExp(Op):
    """exp(A). Its gradient is the Frechet derivative at A^T applied to g, read off the upper
    right block of exp([[A^T, g], [0, A^T]]): one more MatrixExp, so it differentiates again."""

    @staticmethod
    def forward(ctx, A):
        ctx.save_for_backward(A)
        return _expm_np(A._array)

    @staticmethod
    def backward(ctx, g):
        A, = ctx.saved_tensors
        n = A.shape[-1]
        At = _mT(A).expand(*g.shape)
        zeros = _make(np.zeros(tuple(g.shape), g._array.dtype))
        block = cat([cat([At, g], -1), cat([zeros, At], -1)], -2)
        return MatrixExp.apply(block)[..., :n, n:]


def matrix_exp(A):
    _check_matrix("linalg.matrix_exp", A, square=True)
    return MatrixExp.apply(A)


def cond(A, p=None, *, out=None):
    """The condition number: s_max / s_min for p None or 2 (s_min / s_max for -2), else
    norm(A, p) * norm(inv(A), p) (inf for a singular A, as PyTorch)."""
    from .linalg import svdvals
    from .elementwise import where
    _check_matrix("linalg.cond", A)
    if p is None or p in (2, -2):
        s = svdvals(A)
        big, small = s[..., 0], s[..., -1]
        return big / small if p != -2 else small / big
    if p not in ("fro", "nuc", 1, -1, float("inf"), float("-inf")):
        raise RuntimeError(f"linalg.cond got an invalid norm type: {p!r}")
    _check_matrix("linalg.cond", A, square=True)
    Ainv, info = inv_ex(A)
    value = matrix_norm(A, p) * matrix_norm(where(_make((info._array > 0)[..., None, None]),
                                                  0.0, Ainv), p)
    return where(_make(info._array > 0), float("inf"), value)


def vecdot(x, y, *, dim=-1, out=None):
    """sum(x * y) along dim, broadcasting (no conjugation: kindling is real)."""
    if x._array.dtype != y._array.dtype:
        raise RuntimeError(f"linalg.vecdot: Expected x and y to have the same dtype, but found "
                           f"x of type {_TORCH_NAMES[x.dtype.name]} and y of type "
                           f"{_TORCH_NAMES[y.dtype.name]} instead")
    return (x * y).sum(dim)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """torch.linalg.diagonal: torch.diagonal with defaults for batches of matrices."""
    return _diagonal(A, offset, dim1, dim2)


FUNCTIONS = ["svd", "qr", "cholesky", "cholesky_solve", "cholesky_inverse", "triangular_solve",
             "pinverse", "matrix_exp"]

METHODS = {
    "svd": svd, "qr": qr, "cholesky": cholesky,
    "cholesky_solve": cholesky_solve, "cholesky_inverse": cholesky_inverse,
    "triangular_solve": triangular_solve, "pinverse": pinverse, "matrix_exp": matrix_exp,
}
