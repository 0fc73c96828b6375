"""torch.linalg decompositions and solvers against PyTorch and finite differences.

Decompositions are unique only up to the signs of singular vectors, eigenvectors and Q's
columns, so the comparisons use sign-invariant quantities (reconstructions, projectors,
squared entries), whose gradients exercise every output's backward."""
import numpy as np
import pytest
import torch

import kindling
from kindling.autograd import gradcheck, gradgradcheck
from oracle import check, assert_close

rng = np.random.default_rng(0)
L = kindling.linalg
TOL = {np.float32: dict(rtol=2e-3, atol=2e-4), np.float64: dict(rtol=1e-7, atol=1e-9)}


def randn(*shape, dtype=np.float64):
    return rng.standard_normal(shape).astype(dtype)


def spd(*shape, dtype=np.float64):
    a = rng.standard_normal(shape)
    return (a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])).astype(dtype)


def leaf(array):
    return kindling.tensor(np.array(array, dtype=np.float64), requires_grad=True)


def mT(t):
    return t.transpose(-1, -2)


SHAPES = [(3, 3), (5, 3), (3, 5), (2, 4, 3), (2, 3, 4), (2, 1, 3, 3)]
DTYPES = [np.float32, np.float64]


# --- SVD ----------------------------------------------------------------------------------------
def svd_invariants(lib, full):
    """S, the reconstruction, and the projectors onto the singular subspaces (sign-free)."""
    def fn(a):
        U, S, Vh = lib.linalg.svd(a, full_matrices=full)
        k = S.shape[-1]
        Uk, Vhk = U[..., :, :k], Vh[..., :k, :]
        return S, (Uk * S.unsqueeze(-2)) @ Vhk, Uk @ mT(Uk), mT(Vhk) @ Vhk
    return fn


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("full", [False, True])
def test_svd_matches_torch(shape, dtype, full):
    check(svd_invariants(kindling, full), svd_invariants(torch, full), randn(*shape, dtype=dtype),
          **TOL[dtype])
    U, S, Vh = L.svd(kindling.tensor(randn(*shape, dtype=dtype)), full_matrices=full)
    Ut, St, Vht = torch.linalg.svd(torch.tensor(randn(*shape, dtype=dtype)), full_matrices=full)
    assert (U.shape, S.shape, Vh.shape) == (Ut.shape, St.shape, Vht.shape)
    assert U.dtype == S.dtype == Vh.dtype == getattr(kindling, np.dtype(dtype).name)


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4), (2, 3, 2)])
def test_svd_gradcheck(shape):
    assert gradcheck(svd_invariants(kindling, False), (leaf(randn(*shape)),))
    assert gradgradcheck(lambda a: svd_invariants(kindling, False)(a)[1], (leaf(randn(*shape)),))


def test_svd_full_matrices_ignores_extra_columns_like_torch():
    a = randn(4, 2)
    def loss(lib):
        return lambda x: lib.linalg.svd(x, full_matrices=True).U.abs().sum()
    check(loss(kindling), loss(torch), a)  # U[:, 2:] is arbitrary: its gradient is dropped


def test_svd_values_only_gradient_with_repeated_singular_values():
    a = leaf(np.eye(3))  # S = (1, 1, 1): the F-matrix is singular; S alone still has a gradient
    L.svd(a).S.sum().backward()
    assert np.allclose(a.grad.numpy(), np.eye(3))


@pytest.mark.parametrize("some", [True, False])
def test_legacy_svd(some):
    def fn(lib):
        def f(a):
            U, S, V = lib.svd(a, some=some)
            k = S.shape[-1]
            return S, (U[..., :, :k] * S.unsqueeze(-2)) @ mT(V[..., :, :k]), V[..., :, :k].abs()
        return f
    check(fn(kindling), fn(torch), randn(2, 5, 3))
    a = randn(2, 5, 3)
    for out, ref in zip(kindling.tensor(a).svd(some=some), torch.tensor(a).svd(some=some)):
        assert out.shape == ref.shape
    U, S, V = kindling.svd(kindling.tensor(a), compute_uv=False)
    Ut, St, Vt = torch.svd(torch.tensor(a), compute_uv=False)
    assert_close(U, Ut), assert_close(V, Vt), assert_close(S, St)


def test_svdvals_agrees_with_svd():
    a = kindling.tensor(randn(3, 4, 2))
    assert_close(L.svdvals(a), torch.tensor(L.svd(a).S.numpy()))


# --- eigh ---------------------------------------------------------------------------------------
def eigh_invariants(lib, uplo):
    def fn(a):
        w, V = lib.linalg.eigh(a, UPLO=uplo)
        return w, V * V, (V * w.unsqueeze(-2)) @ mT(V)
    return fn


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (1, 1)])
@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_matches_torch(shape, dtype, uplo):
    a = randn(*shape, dtype=dtype)  # not symmetric: only the UPLO triangle is read
    check(eigh_invariants(kindling, uplo), eigh_invariants(torch, uplo), a, **TOL[dtype])
    check(lambda x: L.eigvalsh(x, UPLO=uplo), lambda x: torch.linalg.eigvalsh(x, UPLO=uplo), a,
          **TOL[dtype])


def test_eigh_gradcheck():
    sym = lambda a: eigh_invariants(kindling, "L")(a + mT(a))  # noqa: E731
    assert gradcheck(sym, (leaf(randn(2, 3, 3)),))
    assert gradgradcheck(lambda a: L.eigvalsh(a + mT(a)), (leaf(randn(3, 3)),))


def test_eigvalsh_with_repeated_eigenvalues_has_finite_gradient():
    a = leaf(np.diag([2.0, 2.0, 5.0]))
    L.eigvalsh(a).sum().backward()
    assert np.allclose(a.grad.numpy(), np.eye(3))


def test_eig_is_honestly_unsupported():
    with pytest.raises(NotImplementedError, match="linalg.eig.*complex"):
        L.eig(kindling.ones(2, 2))
    with pytest.raises(NotImplementedError, match="linalg.eigvals.*complex"):
        L.eigvals(kindling.ones(2, 2))


# --- QR -----------------------------------------------------------------------------------------
def qr_invariants(lib, mode):
    def fn(a):
        Q, R = lib.linalg.qr(a, mode=mode)
        return Q @ R, Q * Q, R * R
    return fn


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("mode", ["reduced", "complete"])
def test_qr_matches_torch(shape, dtype, mode):
    a = randn(*shape, dtype=dtype)
    grad = mode == "reduced" or shape[-2] <= shape[-1]
    check(qr_invariants(kindling, mode), qr_invariants(torch, mode), a, grad=grad, **TOL[dtype])
    Q, R = L.qr(kindling.tensor(a), mode=mode)
    Qt, Rt = torch.linalg.qr(torch.tensor(a), mode=mode)
    assert Q.shape == Qt.shape and R.shape == Rt.shape


@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (3, 5), (2, 2, 4)])
def test_qr_gradcheck(shape):
    assert gradcheck(qr_invariants(kindling, "reduced"), (leaf(randn(*shape)),))
    assert gradgradcheck(lambda a: qr_invariants(kindling, "reduced")(a)[2],
                         (leaf(randn(*shape)),))


def test_qr_mode_r_and_gradient_errors_like_torch():
    a = kindling.tensor(randn(4, 3), requires_grad=True)
    Q, R = L.qr(a, mode="r")
    assert Q.shape == (0,)
    assert_close(R.abs(), torch.linalg.qr(torch.tensor(a.detach().numpy()), mode="r").R.abs())
    with pytest.raises(RuntimeError, match="mode='r'"):
        R.sum().backward()
    with pytest.raises(RuntimeError, match="not differentiable when mode='complete'"):
        L.qr(a, mode="complete").Q.sum().backward()
    with pytest.raises(RuntimeError, match="unrecognized mode 'full'"):
        L.qr(a, mode="full")


def test_legacy_qr():
    a = randn(5, 3)
    for some in (True, False):
        fn = lambda lib: lambda x: (lambda q: (q.Q @ q.R, q.R * q.R))(lib.qr(x, some=some))  # noqa
        check(fn(kindling), fn(torch), a, grad=some)
    assert kindling.tensor(a).qr().Q.shape == (5, 3)


# --- Cholesky -----------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (2, 1, 2, 2)])
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_matches_torch(shape, dtype, upper):
    a = spd(*shape, dtype=dtype)
    check(lambda x: L.cholesky(x, upper=upper), lambda x: torch.linalg.cholesky(x, upper=upper),
          a, **TOL[dtype])
    check(lambda x: tuple(L.cholesky_ex(x, upper=upper)),
          lambda x: tuple(torch.linalg.cholesky_ex(x, upper=upper)), a, **TOL[dtype])
    check(lambda x: kindling.cholesky(x, upper), lambda x: torch.cholesky(x, upper), a,
          **TOL[dtype])
    check(lambda x: x.cholesky(), lambda x: x.cholesky(), a, **TOL[dtype])


def test_cholesky_reads_one_triangle():
    a = spd(3, 3)
    a[0, 2] = 100.0  # garbage in the upper triangle is ignored by the lower factorization
    check(lambda x: L.cholesky(x), lambda x: torch.linalg.cholesky(x), a)
    a = spd(3, 3)
    a[2, 0] = 100.0
    check(lambda x: L.cholesky(x, upper=True), lambda x: torch.linalg.cholesky(x, upper=True), a)


def test_cholesky_gradcheck():
    f = lambda a: L.cholesky(a @ mT(a) + 3 * kindling.eye(3, dtype=kindling.float64))  # noqa
    assert gradcheck(f, (leaf(randn(2, 3, 3)),))
    assert gradgradcheck(f, (leaf(randn(3, 3)),))


def test_cholesky_errors_and_info():
    bad = np.stack([spd(3, 3), np.diag([1.0, -1.0, 1.0])])
    with pytest.raises(L.LinAlgError, match=r"linalg.cholesky: \(Batch element 1\).*not "
                                            r"positive-definite.*order 2"):
        L.cholesky(kindling.tensor(bad))
    with pytest.raises(RuntimeError, match="order 1"):  # LinAlgError is a RuntimeError
        kindling.cholesky(kindling.tensor(-np.eye(2)))
    out, ref = L.cholesky_ex(kindling.tensor(bad)), torch.linalg.cholesky_ex(torch.tensor(bad))
    assert_close(out.info, ref.info)
    assert_close(out.L[0], ref.L[0])
    assert_close(out.L[1], ref.L[1])  # the partial factorization, as LAPACK leaves it
    with pytest.raises(L.LinAlgError, match="cholesky_ex"):
        L.cholesky_ex(kindling.tensor(bad), check_errors=True)
    with pytest.raises(RuntimeError, match=r"linalg.cholesky: A must be batches of square "
                                           r"matrices, but they are 3 by 4 matrices"):
        L.cholesky(kindling.zeros(3, 4))


@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("sl,sb", [((3, 3), (3, 2)), ((2, 3, 3), (2, 3, 1)), ((3, 3), (2, 3, 4))])
def test_cholesky_solve_and_inverse(upper, sl, sb):
    factor = np.linalg.cholesky(spd(*sl))
    if upper:
        factor = np.swapaxes(factor, -1, -2)
    check(lambda b, f: kindling.cholesky_solve(b, f, upper),
          lambda b, f: torch.cholesky_solve(b, f, upper), randn(*sb), factor)
    check(lambda b, f: b.cholesky_solve(f, upper=upper),
          lambda b, f: b.cholesky_solve(f, upper=upper), randn(*sb), factor)
    check(lambda f: kindling.cholesky_inverse(f, upper), lambda f: torch.cholesky_inverse(f, upper),
          factor[..., :, :] if factor.ndim == 2 else factor[0])
    check(lambda f: f.cholesky_inverse(upper=upper), lambda f: f.cholesky_inverse(upper=upper),
          factor if factor.ndim == 2 else factor[0])


def test_cholesky_solve_inverse_gradcheck():
    f = leaf(np.linalg.cholesky(spd(3, 3)))
    # only the factor's triangle is read, while torch's gradient fills the whole matrix:
    # finite differences see it through tril
    solve = lambda b, l: kindling.cholesky_solve(b, l.tril())  # noqa: E731
    assert gradcheck(solve, (leaf(randn(3, 2)), f))
    assert gradgradcheck(solve, (leaf(randn(3, 2)), f))
    assert gradcheck(lambda l: kindling.cholesky_inverse(l.tril()), (f,))


# --- triangular solves --------------------------------------------------------------------------
def tri(*shape, dtype=np.float64):
    return (randn(*shape) + 3 * np.eye(shape[-1])).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("unit", [False, True])
@pytest.mark.parametrize("sa,sb", [((3, 3), (3, 2)), ((2, 3, 3), (3, 3)), ((3, 3), (2, 3, 3))])
def test_solve_triangular(dtype, upper, left, unit, sa, sb):
    check(lambda a, b: L.solve_triangular(a, b, upper=upper, left=left, unitriangular=unit),
          lambda a, b: torch.linalg.solve_triangular(a, b, upper=upper, left=left,
                                                     unitriangular=unit),
          tri(*sa, dtype=dtype), randn(*sb, dtype=dtype) if left else
          np.swapaxes(randn(*sb, dtype=dtype), -1, -2), **TOL[dtype])


def test_solve_triangular_gradcheck_and_singular():
    for upper, left in [(True, True), (False, False)]:
        f = lambda a, b: L.solve_triangular(a, b, upper=upper, left=left)  # noqa: E731
        assert gradcheck(f, (leaf(tri(3, 3)), leaf(randn(3, 3))))
        assert gradgradcheck(f, (leaf(tri(3, 3)), leaf(randn(3, 3))))
    # a zero on the diagonal gives inf/nan, no error, as in torch
    check(lambda a, b: L.solve_triangular(a, b, upper=True),
          lambda a, b: torch.linalg.solve_triangular(a, b, upper=True), np.zeros((3, 3)),
          np.ones((3, 1)), grad=False)


@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("unit", [False, True])
def test_legacy_triangular_solve(upper, transpose, unit):
    def fn(lib):
        return lambda b, a: tuple(lib.triangular_solve(b, a, upper, transpose, unit))
    check(fn(kindling), fn(torch), randn(2, 3, 2), tri(3, 3))
    check(lambda b, a: tuple(b.triangular_solve(a, upper)),
          lambda b, a: tuple(b.triangular_solve(a, upper)), randn(3, 2), tri(3, 3))


def test_solve_triangular_errors():
    with pytest.raises(RuntimeError, match=r"Incompatible shapes of A and B for the equation "
                                           r"AX = B \(3x3 and 4x2"):
        L.solve_triangular(kindling.ones(3, 3), kindling.ones(4, 2), upper=True)
    with pytest.raises(RuntimeError, match="B must have at least 2 dimensions"):
        L.solve_triangular(kindling.ones(3, 3), kindling.ones(3), upper=True)
    with pytest.raises(RuntimeError, match="same dtype.*Float.*Double"):
        L.solve_triangular(kindling.ones(3, 3), kindling.ones(3, 1, dtype=kindling.float64),
                           upper=True)


# --- pinv, lstsq, matrix_rank -------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_pinv(shape, dtype):
    check(L.pinv, torch.linalg.pinv, randn(*shape, dtype=dtype), **TOL[dtype])
    check(lambda a: a.pinverse(), lambda a: a.pinverse(), randn(*shape, dtype=dtype),
          **TOL[dtype])


def test_pinv_hermitian_tolerances_and_rank_deficient():
    s = spd(2, 3, 3)
    check(lambda a: L.pinv(a, hermitian=True), lambda a: torch.linalg.pinv(a, hermitian=True), s)
    low = randn(4, 2) @ randn(2, 5)  # rank 2
    check(L.pinv, torch.linalg.pinv, low, grad=False)
    for kw in [dict(atol=0.5), dict(rtol=0.3), dict(atol=0.1, rtol=0.2)]:
        check(lambda a: L.pinv(a, **kw), lambda a: torch.linalg.pinv(a, **kw), randn(4, 5),
              grad=False)
        check(lambda a: L.matrix_rank(a, **kw), lambda a: torch.linalg.matrix_rank(a, **kw),
              randn(3, 4, 5), grad=False)
    check(L.matrix_rank, torch.linalg.matrix_rank, low, grad=False)
    check(lambda a: L.matrix_rank(a, hermitian=True),
          lambda a: torch.linalg.matrix_rank(a, hermitian=True), s, grad=False)
    check(lambda a: kindling.pinverse(a, rcond=0.3), lambda a: torch.pinverse(a, rcond=0.3),
          randn(4, 5), grad=False)
    assert gradcheck(L.pinv, (leaf(randn(4, 3)),))
    assert gradcheck(L.pinv, (leaf(randn(2, 4)),))


@pytest.mark.parametrize("driver", [None, "gels", "gelsy", "gelsd", "gelss"])
@pytest.mark.parametrize("sa,sb", [((5, 3), (5, 2)), ((2, 5, 3), (2, 5, 1)), ((5, 3), (5,)),
                                   ((3, 5), (3, 2))])
def test_lstsq(driver, sa, sb):
    if driver == "gels" and sa[-2] < sa[-1]:
        pytest.skip("gels on a wide matrix is not minimum-norm (LAPACK assumes full rank)")
    def fn(lib):
        return lambda a, b: tuple(lib.linalg.lstsq(a, b, driver=driver))
    check(fn(kindling), fn(torch), randn(*sa), randn(*sb))
    check(fn(kindling), fn(torch), randn(*sa, dtype=np.float32), randn(*sb, dtype=np.float32),
          **TOL[np.float32])


def test_lstsq_rank_deficient_and_errors():
    low = randn(6, 2) @ randn(2, 3)
    check(lambda a, b: tuple(L.lstsq(a, b, driver="gelsd")),
          lambda a, b: tuple(torch.linalg.lstsq(a, b, driver="gelsd")), low, randn(6, 2),
          grad=False)
    with pytest.raises(RuntimeError, match="`driver` should be one of"):
        L.lstsq(kindling.ones(3, 2), kindling.ones(3, 1), driver="foo")
    with pytest.raises(RuntimeError, match="lstsq.*same dtype"):
        L.lstsq(kindling.ones(3, 2), kindling.ones(3, 1, dtype=kindling.float64))
    assert gradcheck(lambda a, b: L.lstsq(a, b).solution, (leaf(randn(5, 3)), leaf(randn(5, 2))))


# --- matrix functions and small helpers ---------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,scale", [((3, 3), 1.0), ((2, 4, 4), 0.1), ((2, 3, 3), 10.0),
                                         ((1, 1), 1.0)])
def test_matrix_exp(shape, scale, dtype):
    a = (randn(*shape) * scale).astype(dtype)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-9)
    check(L.matrix_exp, torch.linalg.matrix_exp, a, **tol)
    check(kindling.matrix_exp, torch.matrix_exp, a, **tol)
    check(lambda x: x.matrix_exp(), lambda x: x.matrix_exp(), a, **tol)


def test_matrix_exp_gradcheck():
    assert gradcheck(L.matrix_exp, (leaf(randn(2, 3, 3)),))
    assert gradgradcheck(L.matrix_exp, (leaf(randn(3, 3) * 0.5),))


@pytest.mark.parametrize("p", [None, 2, -2, "fro", "nuc", 1, -1, float("inf"), float("-inf")])
def test_cond(p):
    if p in (None, 2, -2):
        check(lambda a: L.cond(a, p), lambda a: torch.linalg.cond(a, p), randn(2, 3, 3))
        check(lambda a: L.cond(a, p), lambda a: torch.linalg.cond(a, p), randn(4, 3))
        return
    # torch's own backward of cond fails here (an in-place write into inv_ex's output), so
    # the gradient is checked against the definition norm(A) * norm(inv(A))
    check(lambda a: L.cond(a, p), lambda a: torch.linalg.matrix_norm(a, p) *
          torch.linalg.matrix_norm(torch.linalg.inv(a), p), randn(2, 3, 3))
    check(lambda a: L.cond(a, p), lambda a: torch.linalg.cond(a, p), randn(2, 3, 3), grad=False)
    check(lambda a: L.cond(a, p), lambda a: torch.linalg.cond(a, p), np.diag([1.0, 0.0, 2.0]),
          grad=False)  # singular: inf


def test_vecdot_and_diagonal():
    check(lambda x, y: L.vecdot(x, y), lambda x, y: torch.linalg.vecdot(x, y), randn(2, 3, 4),
          randn(3, 4))
    check(lambda x, y: L.vecdot(x, y, dim=0), lambda x, y: torch.linalg.vecdot(x, y, dim=0),
          randn(3, 4), randn(3, 1))
    with pytest.raises(RuntimeError, match="vecdot.*same dtype"):
        L.vecdot(kindling.ones(3), kindling.ones(3, dtype=kindling.float64))
    for kw in [{}, dict(offset=1), dict(offset=-1, dim1=0, dim2=2)]:
        check(lambda a: L.diagonal(a, **kw), lambda a: torch.linalg.diagonal(a, **kw),
              randn(3, 4, 5))


def test_inv_solve_raise_linalg_error_and_ex_variants_report_info():
    assert issubclass(L.LinAlgError, RuntimeError)
    sing = np.stack([np.eye(3) * 2, np.zeros((3, 3))])
    with pytest.raises(L.LinAlgError, match=r"linalg.inv: \(Batch element 1\): The diagonal "
                                            r"element 1 is zero.*singular"):
        L.inv(kindling.tensor(sing))
    with pytest.raises(L.LinAlgError, match="linalg.solve.*singular"):
        L.solve(kindling.zeros(3, 3), kindling.ones(3))
    out, ref = L.inv_ex(kindling.tensor(sing)), torch.linalg.inv_ex(torch.tensor(sing))
    assert_close(out.info, ref.info)
    assert_close(out.inverse[0], ref.inverse[0])
    assert np.isnan(out.inverse[1].numpy()).all()
    with pytest.raises(L.LinAlgError, match="inv_ex"):
        L.inv_ex(kindling.tensor(sing), check_errors=True)
    b = randn(2, 3)
    out, ref = L.solve_ex(kindling.tensor(sing), kindling.tensor(b)), \
        torch.linalg.solve_ex(torch.tensor(sing), torch.tensor(b))
    assert_close(out.info, ref.info)
    assert_close(out.result[0], ref.result[0])
    with pytest.raises(L.LinAlgError, match="solve"):
        L.solve_ex(kindling.tensor(sing), kindling.tensor(b), check_errors=True)
    a = spd(2, 3, 3)
    check(lambda x: tuple(L.inv_ex(x)), lambda x: tuple(torch.linalg.inv_ex(x)), a)
    check(lambda x, y: tuple(L.solve_ex(x, y)), lambda x, y: tuple(torch.linalg.solve_ex(x, y)),
          a, randn(2, 3))
    check(L.inv, torch.linalg.inv, a)
    check(lambda x, y: L.solve(x, y, left=False),
          lambda x, y: torch.linalg.solve(x, y, left=False), a, randn(2, 4, 3))


@pytest.mark.parametrize("name,args", [
    ("svd", ()), ("eigh", ()), ("eigvalsh", ()), ("qr", ()), ("cholesky", ()), ("pinv", ()),
    ("matrix_rank", ()), ("matrix_exp", ()), ("inv", ()), ("cholesky_ex", ())])
def test_input_validation_names_the_op(name, args):
    fn = getattr(L, name)
    with pytest.raises(RuntimeError, match=rf"linalg.{name}: The input tensor A must have at "
                                           rf"least 2 dimensions \(got shape \(3,\)\)"):
        fn(kindling.ones(3))
    with pytest.raises(RuntimeError, match=rf"linalg.{name}: Expected a float32 or float64 "
                                           rf"tensor as input. Got Long"):
        fn(kindling.ones(3, 3, dtype=kindling.int64))
    if name in ("eigh", "eigvalsh", "cholesky", "matrix_exp", "inv", "cholesky_ex"):
        with pytest.raises(RuntimeError, match=rf"linalg.{name}: A must be batches of square "
                                               rf"matrices, but they are 2 by 3 matrices"):
            fn(kindling.ones(2, 3))


def test_float32_stays_float32():
    a = kindling.tensor(spd(2, 3, 3, dtype=np.float32))
    outs = [*L.svd(a), *L.eigh(a), *L.qr(a), L.cholesky(a), L.pinv(a), L.matrix_exp(a),
            L.lstsq(a, a).solution, L.solve_triangular(a, a, upper=True), L.cond(a),
            kindling.cholesky_inverse(L.cholesky(a))]
    assert all(o.dtype == kindling.float32 for o in outs)
