"""matmul and relatives, einsum, tensordot and norms, against PyTorch and finite differences."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import kindling
from kindling.autograd import gradcheck, gradgradcheck
from oracle import check, pair, assert_close

rng = np.random.default_rng(0)


def randn(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def f64(*shape):
    return kindling.tensor(rng.standard_normal(shape), requires_grad=True)


# --- matmul -------------------------------------------------------------------------------------
MATMUL_SHAPES = [
    ((3,), (3,)),              # dot -> 0-d
    ((3,), (3, 4)),            # vector @ matrix
    ((2, 3), (3,)),            # matrix @ vector
    ((2, 3), (3, 4)),
    ((5, 2, 3), (3, 4)),       # batch @ matrix
    ((2, 3), (5, 3, 4)),       # matrix @ batch
    ((3,), (5, 3, 4)),         # vector @ batch
    ((5, 2, 3), (3,)),         # batch @ vector
    ((2, 1, 2, 3), (4, 3, 2)),  # broadcast batch dims
    ((1, 2, 3), (4, 3, 2)),
]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
def test_matmul_all_cases(sa, sb):
    check(lambda a, b: kindling.matmul(a, b), lambda a, b: torch.matmul(a, b),
          randn(*sa), randn(*sb), rtol=1e-4, atol=1e-5)
    check(lambda a, b: a @ b, lambda a, b: a @ b, randn(*sa), randn(*sb), rtol=1e-4, atol=1e-5)


def test_matmul_dtypes():
    a, b = randn(2, 3), randn(3, 4)
    out = kindling.tensor(a) @ kindling.tensor(b)
    assert out.dtype == kindling.float32
    check(lambda x, y: x @ y, lambda x, y: x @ y, a.astype(np.float64), b.astype(np.float64))
    ai, bi = rng.integers(-3, 3, (2, 3)), rng.integers(-3, 3, (3, 4))
    check(lambda x, y: x @ y, lambda x, y: x @ y, ai, bi, grad=False)


def test_rmatmul_with_array_like():
    a = kindling.tensor(randn(2, 3))
    b = kindling.tensor(randn(3, 2))
    assert_close(b.__rmatmul__(a), torch.tensor(a.numpy()) @ torch.tensor(b.numpy()))


def test_matmul_errors_name_op_and_shapes():
    a, b = kindling.zeros(2, 3), kindling.zeros(4, 5)
    with pytest.raises(RuntimeError, match=r"matmul: shapes \(2, 3\) and \(4, 5\) cannot be "
                                           r"multiplied \(3 != 4\)"):
        a @ b
    with pytest.raises(RuntimeError, match=r"matmul.*\(2, 2, 3\).*\(3, 3, 4\)"):
        kindling.zeros(2, 2, 3) @ kindling.zeros(3, 3, 4)
    with pytest.raises(RuntimeError, match="matmul.*at least 1-D"):
        kindling.matmul(kindling.tensor(1.0), kindling.zeros(3))
    with pytest.raises(RuntimeError, match="matmul.*same dtype"):
        kindling.zeros(2, 3) @ kindling.zeros(3, 2, dtype=kindling.float64)
    with pytest.raises(RuntimeError, match=r"mm: expected 2-D and 2-D tensors, got shapes "
                                           r"\(3,\) and \(3, 2\)"):
        kindling.mm(kindling.zeros(3), kindling.zeros(3, 2))
    with pytest.raises(RuntimeError, match="mm: shapes"):
        kindling.mm(kindling.zeros(2, 3), kindling.zeros(2, 3))
    with pytest.raises(RuntimeError, match="bmm: batch sizes differ"):
        kindling.bmm(kindling.zeros(2, 2, 3), kindling.zeros(3, 3, 2))
    with pytest.raises(RuntimeError, match="bmm: expected 3-D"):
        kindling.bmm(kindling.zeros(2, 3), kindling.zeros(3, 2))
    with pytest.raises(RuntimeError, match="dot: inconsistent"):
        kindling.dot(kindling.zeros(3), kindling.zeros(4))
    with pytest.raises(RuntimeError, match="mv"):
        kindling.mv(kindling.zeros(2, 3), kindling.zeros(2, 3))


def test_mm_bmm_mv_dot_outer():
    check(lambda a, b: kindling.mm(a, b), lambda a, b: torch.mm(a, b), randn(2, 3), randn(3, 4))
    check(lambda a, b: a.bmm(b), lambda a, b: a.bmm(b), randn(5, 2, 3), randn(5, 3, 4),
          rtol=1e-4)
    check(lambda a, b: kindling.mv(a, b), lambda a, b: torch.mv(a, b), randn(2, 3), randn(3))
    check(lambda a, b: a.dot(b), lambda a, b: a.dot(b), randn(4), randn(4))
    check(lambda a, b: kindling.vdot(a, b), lambda a, b: torch.vdot(a, b), randn(4), randn(4))
    check(lambda a, b: kindling.outer(a, b), lambda a, b: torch.outer(a, b), randn(3), randn(4))
    check(lambda a, b: a.ger(b), lambda a, b: a.ger(b), randn(3), randn(2))


@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 2.0), (0, 1)])
def test_addmm_family(beta, alpha):
    kw = dict(beta=beta, alpha=alpha)
    check(lambda i, a, b: kindling.addmm(i, a, b, **kw), lambda i, a, b: torch.addmm(i, a, b, **kw),
          randn(2, 4), randn(2, 3), randn(3, 4), rtol=1e-4)
    check(lambda i, a, b: i.addmm(a, b, **kw), lambda i, a, b: i.addmm(a, b, **kw),
          randn(4), randn(2, 3), randn(3, 4), rtol=1e-4)  # broadcast input
    check(lambda i, a, b: kindling.addmv(i, a, b, **kw), lambda i, a, b: torch.addmv(i, a, b, **kw),
          randn(2), randn(2, 3), randn(3), rtol=1e-4)
    check(lambda i, a, b: kindling.baddbmm(i, a, b, **kw),
          lambda i, a, b: torch.baddbmm(i, a, b, **kw),
          randn(5, 2, 4), randn(5, 2, 3), randn(5, 3, 4), rtol=1e-4)
    check(lambda i, a, b: kindling.addbmm(i, a, b, **kw),
          lambda i, a, b: torch.addbmm(i, a, b, **kw),
          randn(2, 4), randn(5, 2, 3), randn(5, 3, 4), rtol=1e-4)
    check(lambda i, a, b: kindling.addr(i, a, b, **kw), lambda i, a, b: torch.addr(i, a, b, **kw),
          randn(2, 3), randn(2), randn(3), rtol=1e-4)


@pytest.mark.parametrize("name,shapes", [
    ("addmm_", ((2, 4), (2, 3), (3, 4))), ("addmv_", ((2,), (2, 3), (3,))),
    ("baddbmm_", ((5, 2, 4), (5, 2, 3), (5, 3, 4))), ("addbmm_", ((2, 4), (5, 2, 3), (5, 3, 4))),
    ("addr_", ((2, 3), (2,), (3,)))])
def test_addmm_family_in_place(name, shapes):
    def run(i, a, b):
        x = i * 1                         # a leaf that requires grad may not change in place
        out = getattr(x, name)(a, b, beta=0.5, alpha=2.0)
        assert out is x
        return x
    check(run, run, *[randn(*s) for s in shapes], rtol=1e-4)


def test_addmm_beta_zero_ignores_nan():
    i = np.full((2, 2), np.nan, np.float32)
    check(lambda i, a, b: kindling.addmm(i, a, b, beta=0),
          lambda i, a, b: torch.addmm(i, a, b, beta=0), i, randn(2, 3), randn(3, 2), grad=False)


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
def test_matmul_gradcheck(sa, sb):
    assert gradcheck(lambda a, b: a @ b, (f64(*sa), f64(*sb)))


@pytest.mark.parametrize("sa,sb", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)),
                                   ((2, 2, 3), (3, 2)), ((2, 3), (2, 3, 2))])
def test_matmul_gradgradcheck(sa, sb):
    assert gradgradcheck(lambda a, b: a @ b, (f64(*sa), f64(*sb)))


@settings(max_examples=40, deadline=None)
@given(batch_a=st.lists(st.integers(1, 3), max_size=2), batch_b=st.lists(st.integers(1, 3),
       max_size=2), m=st.integers(1, 3), k=st.integers(1, 3), n=st.integers(1, 3),
       vec_a=st.booleans(), vec_b=st.booleans(), data=st.data())
def test_property_matmul_broadcast(batch_a, batch_b, m, k, n, vec_a, vec_b, data):
    # make the batch dims broadcastable: where both have a dim, one of them may be 1
    la, lb = len(batch_a), len(batch_b)
    for i in range(1, min(la, lb) + 1):
        if batch_a[-i] != batch_b[-i] and batch_a[-i] != 1:
            batch_b[-i] = data.draw(st.sampled_from([1, batch_a[-i]]))
    sa = (k,) if vec_a else tuple(batch_a) + (m, k)
    sb = (k,) if vec_b else tuple(batch_b) + (k, n)
    a, b = randn(*sa), randn(*sb)
    ka, ta = pair(a)
    kb, tb = pair(b)
    out_k, out_t = ka @ kb, ta @ tb
    assert_close(out_k, out_t, rtol=1e-4, atol=1e-5)
    w = randn(*out_t.shape)
    (out_k * kindling.tensor(w)).sum().backward()
    (out_t * torch.tensor(w)).sum().backward()
    assert ka.grad.shape == ka.shape and kb.grad.shape == kb.shape
    assert_close(ka.grad, ta.grad, rtol=1e-4, atol=1e-5)
    assert_close(kb.grad, tb.grad, rtol=1e-4, atol=1e-5)


# --- einsum / tensordot ---
EINSUM_CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),                     # implicit output
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]),
    ("i,i->", [(4,), (4,)]),
    ("i,j->ij", [(3,), (2,)]),
    ("ii->i", [(3, 3)]),                             # diagonal
    ("ii", [(3, 3)]),                                # trace (implicit)
    ("iij->j", [(2, 2, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->ji", [(2, 3)]),
    ("ij,ij->i", [(1, 3), (4, 3)]),                  # broadcast of a size-1 dim
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (4, 3, 2)]),
    ("b...,b->...", [(2, 3, 4), (2,)]),
    ("...i,i", [(2, 3, 4), (4,)]),
    ("ab,bc,cd->ad", [(2, 3), (3, 4), (4, 2)]),
    ("ij,jk,k->i", [(2, 3), (3, 4), (4,)]),
    ("i,ik->k", [(3,), (3, 2)]),
    ("ijk,jl->il", [(2, 3, 4), (3, 2)]),             # k summed in one operand only
    ("Ab,bC->AC", [(2, 3), (3, 2)]),
    ("ii,i->i", [(3, 3), (3,)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUM_CASES)
def test_einsum(eq, shapes):
    arrays = [randn(*s) for s in shapes]
    check(lambda *t: kindling.einsum(eq, *t), lambda *t: torch.einsum(eq, *t), *arrays,
          rtol=1e-4, atol=1e-5)
    check(lambda *t: kindling.einsum(eq, list(t)), lambda *t: torch.einsum(eq, list(t)),
          *arrays, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("eq,shapes", [c for c in EINSUM_CASES if "..." not in c[0]][:12] +
                         [("...ij,...jk->...ik", [(2, 1, 2, 3), (2, 3, 2)])])
def test_einsum_gradcheck(eq, shapes):
    assert gradcheck(lambda *t: kindling.einsum(eq, *t), tuple(f64(*s) for s in shapes))


@pytest.mark.parametrize("eq,shapes", [("ij,jk->ik", [(2, 3), (3, 2)]), ("ii->i", [(3, 3)]),
                                       ("ij,j->", [(2, 3), (3,)])])
def test_einsum_gradgradcheck(eq, shapes):
    assert gradgradcheck(lambda *t: kindling.einsum(eq, *t) ** 2 if eq.endswith("->") else
                         kindling.einsum(eq, *t), tuple(f64(*s) for s in shapes))


def test_einsum_errors():
    a = kindling.zeros(2, 3)
    with pytest.raises(RuntimeError, match="einsum.*number of subscripts"):
        kindling.einsum("ijk->i", a)
    with pytest.raises(RuntimeError, match="einsum.*2 operand"):
        kindling.einsum("ij,jk->ik", a)
    with pytest.raises(RuntimeError, match="einsum.*do not fit"):
        kindling.einsum("ij,jk->ik", a, kindling.zeros(4, 2))
    with pytest.raises(RuntimeError, match="einsum.*output subscript"):
        kindling.einsum("ij->k", a)


@pytest.mark.parametrize("dims,sa,sb", [(2, (3, 4, 2), (4, 2, 5)), (1, (3, 4), (4, 2)),
                                        (0, (3,), (2, 2)), (([1, 0], [0, 1]), (3, 4, 2), (4, 3, 5)),
                                        (([2], [1]), (3, 4, 2), (3, 2, 5))])
def test_tensordot(dims, sa, sb):
    check(lambda x, y: kindling.tensordot(x, y, dims), lambda x, y: torch.tensordot(x, y, dims),
          randn(*sa), randn(*sb), rtol=1e-4, atol=1e-5)


# --- norms ---------------------------------------------------------------------------------------
ORDS = [2, 1, 3, 0.5, 1.5, math.inf, -math.inf, 0, -1]


@pytest.mark.parametrize("ord", ORDS)
@pytest.mark.parametrize("dim,keepdim", [(None, False), (1, True), ((0, 2), False), (-1, False)])
def test_vector_norm(ord, dim, keepdim):
    x = randn(2, 3, 4)
    check(lambda t: kindling.linalg.vector_norm(t, ord, dim, keepdim),
          lambda t: torch.linalg.vector_norm(t, ord, dim, keepdim), x, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("ord", [2, 1, 3, 1.5, math.inf, 0.5])
def test_vector_norm_zero_vector_subgradient(ord):
    x = np.zeros((2, 3), np.float32)
    x[1] = [1.0, -2.0, 0.0]
    check(lambda t: kindling.linalg.vector_norm(t, ord, 1),
          lambda t: torch.linalg.vector_norm(t, ord, 1), x, rtol=1e-4, atol=1e-5)


def test_inf_norm_ties_share_gradient():
    x = np.array([[1.0, -3.0, 3.0], [2.0, 2.0, -2.0]], np.float32)
    check(lambda t: kindling.linalg.vector_norm(t, math.inf, 1),
          lambda t: torch.linalg.vector_norm(t, math.inf, 1), x)


@pytest.mark.parametrize("ord", ["fro", 1, -1, math.inf, -math.inf, "nuc", 2, -2])
@pytest.mark.parametrize("dim,keepdim", [((-2, -1), False), ((0, 2), True), ((2, 0), False)])
def test_matrix_norm(ord, dim, keepdim):
    x = randn(3, 2, 4)
    check(lambda t: kindling.linalg.matrix_norm(t, ord, dim, keepdim),
          lambda t: torch.linalg.matrix_norm(t, ord, dim, keepdim), x, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("args,kwargs", [((), {}), ((3,), {}), ((None, 1), {}),
                                         ((None, (0, 1)), {}), (("fro", (1, 2), True), {}),
                                         ((math.inf, (0, 1)), {}), ((1, 2), {"keepdim": True})])
def test_linalg_norm(args, kwargs):
    x = randn(2, 3, 4)
    if len(args) == 1:
        x = randn(5)
    check(lambda t: kindling.linalg.norm(t, *args, **kwargs),
          lambda t: torch.linalg.norm(t, *args, **kwargs), x, rtol=1e-4, atol=1e-5)
    check(lambda t: kindling.linalg.norm(t, math.inf), lambda t: torch.linalg.norm(t, math.inf),
          randn(3, 4), rtol=1e-4)


@pytest.mark.parametrize("args", [(), ("fro",), (2, 1), (1, (0, 1), True), (3,),
                                  ("fro", (1, 2)), (math.inf, -1)])
def test_torch_norm_and_tensor_norm(args):
    x = randn(2, 3, 4)
    check(lambda t: kindling.norm(t, *args), lambda t: torch.norm(t, *args), x, rtol=1e-4,
          atol=1e-5)
    check(lambda t: t.norm(*args), lambda t: t.norm(*args), x, rtol=1e-4, atol=1e-5)


def test_dist():
    check(lambda a, b: kindling.dist(a, b), lambda a, b: torch.dist(a, b), randn(3, 4),
          randn(3, 4))
    check(lambda a, b: a.dist(b, 1), lambda a, b: a.dist(b, 1), randn(3, 4), randn(4))


def test_norm_errors():
    with pytest.raises(RuntimeError, match="vector_norm.*floating point.*Long"):
        kindling.linalg.vector_norm(kindling.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="matrix_norm.*at least 2"):
        kindling.linalg.matrix_norm(kindling.zeros(3))
    with pytest.raises(RuntimeError, match="inf norm on an empty"):
        kindling.linalg.vector_norm(kindling.zeros(0), math.inf)


@pytest.mark.parametrize("ord", [2, 1, 3, 1.5, math.inf])
def test_vector_norm_gradcheck(ord):
    assert gradcheck(lambda t: kindling.linalg.vector_norm(t, ord, 1), (f64(3, 4),))


@pytest.mark.parametrize("ord", [2, 3])
def test_vector_norm_gradgradcheck(ord):
    assert gradgradcheck(lambda t: kindling.linalg.vector_norm(t, ord, 1), (f64(3, 4),))


def test_matrix_norm_gradcheck():
    assert gradcheck(lambda t: kindling.linalg.matrix_norm(t, 1), (f64(2, 3, 3),))
    assert gradcheck(lambda t: kindling.linalg.matrix_norm(t), (f64(2, 3, 3),))


# --- inv / det / solve ----------------------------------------------------------------------------
def well_conditioned(*shape):
    a = randn(*shape).astype(np.float64)
    return (a + 3 * np.eye(shape[-1])).astype(np.float32)


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4)])
def test_inv_det(shape):
    A = well_conditioned(*shape)
    check(lambda a: kindling.linalg.inv(a), lambda a: torch.linalg.inv(a), A, rtol=1e-4,
          atol=1e-5)
    check(lambda a: kindling.linalg.det(a), lambda a: torch.linalg.det(a), A, rtol=1e-4,
          atol=1e-4)
    check(lambda a: a.inverse(), lambda a: a.inverse(), A, rtol=1e-4, atol=1e-5)
    check(lambda a: kindling.det(a), lambda a: torch.det(a), A, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("sa,sb,left", [((3, 3), (3,), True), ((3, 3), (3, 2), True),
                                        ((2, 3, 3), (2, 3), True), ((2, 3, 3), (3, 4), True),
                                        ((3, 3), (2, 3), False)])
def test_solve(sa, sb, left):
    check(lambda a, b: kindling.linalg.solve(a, b, left=left),
          lambda a, b: torch.linalg.solve(a, b, left=left), well_conditioned(*sa), randn(*sb),
          rtol=1e-4, atol=1e-5)


def test_inv_det_solve_second_order():
    A = kindling.tensor(well_conditioned(3, 3).astype(np.float64), requires_grad=True)
    b = f64(3, 2)
    assert gradcheck(kindling.linalg.inv, (A,))
    assert gradgradcheck(kindling.linalg.det, (A,))
    assert gradgradcheck(kindling.linalg.solve, (A, b))


def test_inv_errors():
    with pytest.raises(RuntimeError, match="linalg.inv.*square"):
        kindling.linalg.inv(kindling.zeros(2, 3))
    with pytest.raises(RuntimeError, match="linalg.inv.*singular"):
        kindling.linalg.inv(kindling.zeros(2, 2))


def test_matmul_with_non_tensor_raises_type_error_like_torch():
    with pytest.raises(TypeError):
        [[1.0, 2.0]] @ kindling.ones(2, 3)
    with pytest.raises(TypeError):
        kindling.ones(2, 3) @ [[1.0], [2.0], [3.0]]


def test_svdvals_slogdet():
    check(lambda a: kindling.linalg.svdvals(a), lambda a: torch.linalg.svdvals(a), randn(2, 3, 4),
          rtol=1e-4, atol=1e-5)
    A = well_conditioned(2, 3, 3)
    A[0] *= -1
    check(lambda a: tuple(kindling.linalg.slogdet(a)), lambda a: tuple(torch.linalg.slogdet(a)),
          A, rtol=1e-4, atol=1e-5)
    out = kindling.linalg.slogdet(kindling.tensor(A))
    assert out.sign.shape == (2,) and out.logabsdet.dtype == kindling.float32
    assert gradcheck(kindling.linalg.svdvals, (f64(3, 2),))
    assert gradcheck(lambda a: kindling.linalg.slogdet(a).logabsdet,
                     (kindling.tensor(well_conditioned(3, 3).astype(np.float64),
                                      requires_grad=True),))
    with pytest.raises(RuntimeError, match="matrix_norm.*not supported"):
        kindling.linalg.matrix_norm(kindling.ones(2, 2), 3)


def test_trace_matches_torch():
    check(kindling.trace, torch.trace, randn(3, 4))
    check(lambda a: a.trace(), lambda a: a.trace(), randn(4, 4))
    assert kindling.trace(kindling.tensor([[1, 2], [3, 4]])).item() == 5
    with pytest.raises(RuntimeError, match="expected a matrix"):
        kindling.trace(kindling.ones(3))


@pytest.mark.parametrize("n", [0, 1, 2, 3, 6, -1, -2])
def test_matrix_power_matches_torch(n):
    a = randn(3, 3) + 3 * np.eye(3, dtype=np.float32)        # well conditioned for n < 0
    check(lambda x: kindling.matrix_power(x, n), lambda x: torch.matrix_power(x, n), a,
          rtol=1e-4, atol=1e-4)
    check(lambda x: kindling.linalg.matrix_power(x, n), lambda x: torch.linalg.matrix_power(x, n),
          randn(2, 3, 3) + 3 * np.eye(3, dtype=np.float32), rtol=1e-4, atol=1e-4)


def test_cross_kron_multi_dot_logdet_match_torch():
    check(lambda a, b: kindling.cross(a, b), lambda a, b: torch.cross(a, b, dim=1),
          randn(4, 3), randn(4, 3))
    check(lambda a, b: kindling.cross(a, b, dim=0), lambda a, b: torch.cross(a, b, dim=0),
          randn(3, 2), randn(3, 1))                                # broadcasting
    check(kindling.linalg.cross, torch.linalg.cross, randn(2, 3), randn(2, 3))
    check(kindling.kron, torch.kron, randn(2, 3), randn(3, 2, 2))
    check(lambda *m: kindling.linalg.multi_dot(list(m)), lambda *m: torch.linalg.multi_dot(list(m)),
          randn(5), randn(5, 3), randn(3, 7), randn(7, 2), rtol=1e-4, atol=1e-5)
    spd = randn(3, 3)
    spd = spd @ spd.T + 3 * np.eye(3, dtype=np.float32)
    check(kindling.logdet, torch.logdet, spd, rtol=1e-4, atol=1e-5)
    assert np.isnan(kindling.logdet(kindling.tensor([[2.0, 0.0], [0.0, -3.0]])).item())
    with pytest.raises(RuntimeError, match="must have length 3"):
        kindling.cross(kindling.ones(2, 4), kindling.ones(2, 4), dim=1)


def test_top_level_cosine_similarity_and_pairwise_distance():
    a, b = randn(4, 5), randn(4, 5)
    check(kindling.cosine_similarity, torch.cosine_similarity, a, b)
    check(kindling.pairwise_distance, torch.pairwise_distance, a, b)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 0.0, float("inf")])
def test_cdist_matches_torch(p):
    a, b = randn(2, 4, 3), randn(2, 5, 3)
    b[0, 1] = a[0, 2]                                      # a zero distance: zero gradient
    check(lambda x, y: kindling.cdist(x, y, p=p), lambda x, y: torch.cdist(x, y, p=p), a, b,
          rtol=1e-4, atol=1e-5, grad=p != 0.0)


@pytest.mark.parametrize("weights", ["none", "f", "a", "fa"])
@pytest.mark.parametrize("correction", [0, 1, 2])
def test_cov_and_corrcoef_match_torch(weights, correction):
    rng = np.random.default_rng(correction)
    fw, aw = rng.integers(1, 4, 6), rng.uniform(0.5, 2, 6).astype(np.float32)

    def kw(m):
        out = {"correction": correction}
        if "f" in weights:
            out["fweights"] = m.tensor(fw)
        if "a" in weights:
            out["aweights"] = m.tensor(aw)
        return out
    check(lambda x: kindling.cov(x, **kw(kindling)), lambda x: torch.cov(x, **kw(torch)),
          randn(3, 6), rtol=1e-4, atol=1e-5)
    check(kindling.corrcoef, torch.corrcoef, randn(3, 6), rtol=1e-4, atol=1e-5)
    check(lambda x: x.cov(), lambda x: x.cov(), randn(6), rtol=1e-4, atol=1e-5)   # one variable


def test_inner_diagflat_and_small_tensor_predicates_match_torch():
    check(kindling.inner, torch.inner, randn(3), randn(3))
    check(kindling.inner, torch.inner, randn(2, 3), randn(4, 3))
    check(lambda a, b: a.inner(b), lambda a, b: a.inner(b), randn(2, 2, 3), randn(3))
    check(kindling.inner, torch.inner, np.float32(2.0), randn(2, 3))
    for offset in (0, 1, -2):
        check(lambda a: kindling.diagflat(a, offset), lambda a: torch.diagflat(a, offset),
              randn(2, 2))
    for m in (kindling, torch):
        assert m.ones(2, 3).is_same_size(m.zeros(2, 3)) and not m.ones(2).is_same_size(m.ones(3))
        assert m.tensor([1], dtype=m.int8).is_signed() and not m.tensor([1], dtype=m.uint8) \
            .is_signed()
        assert m.tensor([0.5]).is_nonzero() and not m.tensor([0.0]).is_nonzero()
        with pytest.raises(RuntimeError, match="ambiguous"):
            m.ones(2).is_nonzero()
