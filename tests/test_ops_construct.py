"""Construction ops (block_diag, vander, trapezoid, pdist, ...), logcumsumexp/mode, frexp and the
top-level in-place functions, windows and index helpers: against PyTorch and finite differences."""
import math

import numpy as np
import pytest
import torch

import kindling
from kindling.autograd import gradcheck, gradgradcheck
from oracle import check, assert_close

rng = np.random.default_rng(0)
FLOATS = [np.float32, np.float64]


def randn(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def f64(*shape):
    return kindling.tensor(rng.standard_normal(shape), requires_grad=True)


def both(fn_name, *args, **kwargs):
    """Call kindling.<fn> and torch.<fn> with the same non-tensor arguments."""
    return getattr(kindling, fn_name)(*args, **kwargs), getattr(torch, fn_name)(*args, **kwargs)


def raises_like_torch(fn_k, fn_t):
    with pytest.raises(Exception) as et:
        fn_t()
    with pytest.raises(type(et.value)):
        fn_k()


# --- block_diag ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
def test_block_diag_values_and_grad(dtype):
    arrays = [randn(dtype=dtype), randn(3, dtype=dtype), randn(2, 2, dtype=dtype),
              randn(0, 2, dtype=dtype), randn(2, 0, dtype=dtype), randn(1, 3, dtype=dtype)]
    check(lambda *xs: kindling.block_diag(*xs), lambda *xs: torch.block_diag(*xs), *arrays)


def test_block_diag_promotes_and_edges():
    k, t = kindling, torch
    assert_close(k.block_diag(k.tensor(2), k.tensor([1., 2.]), k.ones(2, 2, dtype=k.int32)),
                 t.block_diag(t.tensor(2), t.tensor([1., 2.]), t.ones(2, 2, dtype=t.int32)))
    assert_close(k.block_diag(k.tensor([[1, 2]]), k.tensor([3], dtype=k.int8)),
                 t.block_diag(t.tensor([[1, 2]]), t.tensor([3], dtype=t.int8)))
    assert_close(k.block_diag(), t.block_diag())
    # a float64 block promotes the result; the float32 input still gets a float32 gradient
    a, b = k.ones(2, requires_grad=True), k.ones(1, dtype=k.float64, requires_grad=True)
    k.block_diag(a, b).sum().backward()
    assert a.grad.dtype is k.float32 and b.grad.dtype is k.float64
    with pytest.raises(RuntimeError, match="2 or fewer dimensions"):
        k.block_diag(k.ones(2, 2, 2))


def test_block_diag_gradcheck():
    assert gradcheck(lambda *xs: kindling.block_diag(*xs), (f64(2, 3), f64(4), f64(1, 1)))


# --- cartesian_prod, combinations ----------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
def test_cartesian_prod(dtype):
    check(lambda *xs: kindling.cartesian_prod(*xs), lambda *xs: torch.cartesian_prod(*xs),
          randn(3, dtype=dtype), randn(2, dtype=dtype), randn(4, dtype=dtype))
    check(lambda x: kindling.cartesian_prod(x), lambda x: torch.cartesian_prod(x),
          randn(3, dtype=dtype))
    ints = [np.array([1, 2]), np.array([3, 4, 5])]
    check(lambda *xs: kindling.cartesian_prod(*xs), lambda *xs: torch.cartesian_prod(*xs), *ints)
    raises_like_torch(lambda: kindling.cartesian_prod(kindling.ones(2, 2)),
                      lambda: torch.cartesian_prod(torch.ones(2, 2)))


@pytest.mark.parametrize("r", [0, 1, 2, 3, 5, 6])
@pytest.mark.parametrize("with_replacement", [False, True])
def test_combinations(r, with_replacement):
    check(lambda x: kindling.combinations(x, r, with_replacement),
          lambda x: torch.combinations(x, r, with_replacement), randn(5))
    check(lambda x: kindling.combinations(x, r=r, with_replacement=with_replacement),
          lambda x: torch.combinations(x, r=r, with_replacement=with_replacement),
          np.arange(4), grad=False)


def test_combinations_edges():
    check(lambda x: kindling.combinations(x), lambda x: torch.combinations(x),
          np.zeros(0, np.float32), grad=False)
    raises_like_torch(lambda: kindling.combinations(kindling.ones(2, 2)),
                      lambda: torch.combinations(torch.ones(2, 2)))
    raises_like_torch(lambda: kindling.combinations(kindling.ones(2), -1),
                      lambda: torch.combinations(torch.ones(2), -1))
    assert gradcheck(lambda x: kindling.combinations(x, 3), (f64(5),))


# --- vander ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("N", [None, 0, 1, 2, 5])
@pytest.mark.parametrize("increasing", [False, True])
def test_vander(dtype, N, increasing):
    x = randn(4, dtype=dtype)
    x[1] = 0  # cumprod's gradient through a zero
    # torch's vander backward fails (it cumprods in place into a slice it saved), so values are
    # compared with torch and gradients with finite differences.
    check(lambda a: kindling.vander(a, N, increasing), lambda a: torch.vander(a, N, increasing),
          x, rtol=1e-5, atol=1e-5, grad=False)
    assert gradcheck(lambda a: kindling.vander(a, N, increasing),
                     (kindling.tensor(x.astype(np.float64), requires_grad=True),))


@pytest.mark.parametrize("array", [np.array([1, 2, 3]), np.array([1, -2], np.int32),
                                   np.array([True, False]), np.zeros(0)])
def test_vander_ints_and_empty(array):
    check(lambda a: kindling.vander(a, N=3), lambda a: torch.vander(a, N=3), array, grad=False)
    check(lambda a: kindling.vander(a), lambda a: torch.vander(a), array, grad=False)


def test_vander_errors_and_gradcheck():
    raises_like_torch(lambda: kindling.vander(kindling.ones(2, 2)),
                      lambda: torch.vander(torch.ones(2, 2)))
    raises_like_torch(lambda: kindling.vander(kindling.ones(2), N=-1),
                      lambda: torch.vander(torch.ones(2), N=-1))
    assert gradcheck(lambda x: kindling.vander(x, 4), (f64(3),))
    assert gradgradcheck(lambda x: kindling.vander(x, 3), (f64(3),))


# --- trapezoid, trapz, cumulative_trapezoid --------------------------------------------------------
Y_X_DIM = [((5,), (5,), -1), ((3, 4), (4,), -1), ((3, 4), (3,), 0), ((3, 4), (3, 1), 0),
           ((3, 4), (1, 4), 1), ((2, 3, 4), (3, 4), 1), ((2, 3, 4), (2, 3, 4), 0),
           ((2, 3, 4), (3, 1), 1), ((3, 1), (3,), 0), ((2, 1, 3), (1,), 1)]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("fn", ["trapezoid", "trapz", "cumulative_trapezoid"])
@pytest.mark.parametrize("y_shape,x_shape,dim", Y_X_DIM)
def test_trapezoid_with_x(dtype, fn, y_shape, x_shape, dim):
    check(lambda y, x: getattr(kindling, fn)(y, x, dim=dim),
          lambda y, x: getattr(torch, fn)(y, x, dim=dim),
          randn(*y_shape, dtype=dtype), randn(*x_shape, dtype=dtype), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("fn", ["trapezoid", "trapz", "cumulative_trapezoid"])
@pytest.mark.parametrize("dx", [None, 0.5, 2, -1.5])
@pytest.mark.parametrize("shape,dim", [((5,), -1), ((3, 4), 0), ((2, 3, 4), 1), ((3, 1), 1)])
def test_trapezoid_with_dx(dtype, fn, dx, shape, dim):
    kwargs = {"dim": dim} if dx is None else {"dx": dx, "dim": dim}
    check(lambda y: getattr(kindling, fn)(y, **kwargs), lambda y: getattr(torch, fn)(y, **kwargs),
          randn(*shape, dtype=dtype), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("fn", ["trapezoid", "cumulative_trapezoid"])
def test_trapezoid_ints_empty_and_errors(fn):
    k, t = getattr(kindling, fn), getattr(torch, fn)
    ints = np.array([[1, 2, 4], [3, 0, -2]])
    check(lambda y: k(y), lambda y: t(y), ints, grad=False)
    check(lambda y: k(y, dx=2), lambda y: t(y, dx=2), ints, grad=False)
    check(lambda y: k(y, dx=2.5), lambda y: t(y, dx=2.5), ints, grad=False)
    check(lambda y, x: k(y, x), lambda y, x: t(y, x), ints, np.array([1, 3, 4]), grad=False)
    check(lambda y, x: k(y, x), lambda y, x: t(y, x), ints, np.array([1., 3, 4], np.float32),
          grad=False)
    check(lambda y: k(y, dim=0), lambda y: t(y, dim=0), np.zeros((0, 3), np.float32), grad=False)
    check(lambda y: k(y), lambda y: t(y), np.ones(1, np.float32), grad=False)
    raises_like_torch(lambda: k(kindling.ones(3, 4), kindling.ones(5)),
                      lambda: t(torch.ones(3, 4), torch.ones(5)))
    raises_like_torch(lambda: k(kindling.tensor(1.)), lambda: t(torch.tensor(1.)))
    raises_like_torch(lambda: k(kindling.tensor([True, False])),
                      lambda: t(torch.tensor([True, False])))


def test_trapezoid_gradcheck():
    assert gradcheck(lambda y, x: kindling.trapezoid(y, x, dim=0), (f64(4, 3), f64(4)))
    assert gradcheck(lambda y, x: kindling.cumulative_trapezoid(y, x), (f64(2, 5), f64(1, 5)))
    assert gradcheck(lambda y: kindling.trapz(y, dx=0.3, dim=1), (f64(2, 5),))


# --- renorm ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("p", [1, 2, 3, 0.5, math.inf])
@pytest.mark.parametrize("shape,dim", [((4, 3), 0), ((4, 3), 1), ((2, 3, 4), -1), ((2, 3, 4), 1)])
def test_renorm(dtype, p, shape, dim):
    x = randn(*shape, dtype=dtype) * 2
    maxnorm = 1.5
    check(lambda a: kindling.renorm(a, p, dim, maxnorm), lambda a: torch.renorm(a, p, dim, maxnorm),
          x, rtol=1e-4, atol=1e-5)
    check(lambda a: a.renorm(p, dim, maxnorm), lambda a: a.renorm(p, dim, maxnorm), x,
          rtol=1e-4, atol=1e-5)


def test_renorm_zero_slices_inplace_and_errors():
    x = randn(3, 4)
    x[1] = 0  # a zero slice: norm 0 <= maxnorm, gradient 1 (no NaN)
    check(lambda a: kindling.renorm(a, 2, 0, 1.0), lambda a: torch.renorm(a, 2, 0, 1.0), x)
    k, t = kindling.tensor(x), torch.tensor(x)
    assert k.renorm_(2, 1, 0.5) is k
    t.renorm_(2, 1, 0.5)
    assert_close(k, t)
    # in place on a non-leaf keeps the gradient
    check(lambda a: (a * 1).renorm_(2, 0, 1.0), lambda a: (a * 1).renorm_(2, 0, 1.0), x)
    for bad in [lambda m: m.renorm(m.ones(3), 2, 0, 1), lambda m: m.renorm(m.ones(2, 2), 0, 0, 1),
                lambda m: m.renorm(m.ones(2, 2), 2, 0, -1),
                lambda m: m.renorm(m.ones(2, 2, dtype=m.int64), 2, 0, 1)]:
        raises_like_torch(lambda: bad(kindling), lambda: bad(torch))
    assert gradcheck(lambda a: kindling.renorm(a, 3, 1, 0.8), (f64(3, 4),))


# --- pdist -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("p", [0, 0.5, 1, 1.5, 2, 3, math.inf])
@pytest.mark.parametrize("shape", [(5, 3), (2, 1), (1, 4), (0, 3), (6, 0)])
def test_pdist(dtype, p, shape):
    # torch's pdist backward crashes the process on an empty input: compare values only there
    check(lambda a: kindling.pdist(a, p), lambda a: torch.pdist(a, p), randn(*shape, dtype=dtype),
          rtol=1e-4, atol=1e-5, grad=0 not in shape)


def test_pdist_repeated_rows_and_errors():
    x = randn(4, 3)
    x[2] = x[0]  # a zero distance: gradient 0, as torch
    for p in [1, 2, 3, math.inf]:
        check(lambda a: kindling.pdist(a, p), lambda a: torch.pdist(a, p), x, rtol=1e-4)
    for bad in [lambda m: m.pdist(m.ones(3)), lambda m: m.pdist(m.ones(3, 2, dtype=m.int64)),
                lambda m: m.pdist(m.ones(3, 2), p=-1)]:
        raises_like_torch(lambda: bad(kindling), lambda: bad(torch))
    for p in [1.5, 2, 3]:
        assert gradcheck(lambda a: kindling.pdist(a, p), (f64(4, 3),))
    assert gradgradcheck(lambda a: kindling.pdist(a), (f64(3, 2),))


# --- unravel_index ---------------------------------------------------------------------------------
@pytest.mark.parametrize("indices,shape", [([4, 1, 0, 5], (2, 3)), (7, (2, 3, 4)),
                                           ([[1, 2], [3, 23]], (2, 3, 4)), ([-1, -7, 6], (2, 3)),
                                           ([3], 6), ([3], (6,)), ([1], ()), (0, (1, 1))])
@pytest.mark.parametrize("dtype", [torch.int64, torch.int32])
def test_unravel_index(indices, shape, dtype):
    name = str(dtype).split(".")[1]
    out_k = kindling.unravel_index(kindling.tensor(indices, dtype=getattr(kindling, name)), shape)
    out_t = torch.unravel_index(torch.tensor(indices, dtype=dtype), shape)
    assert isinstance(out_k, tuple)
    assert_close(out_k, out_t)


def test_unravel_index_errors():
    for bad in [lambda m: m.unravel_index(m.tensor([1.]), (2, 3)),
                lambda m: m.unravel_index(m.tensor(0), (2, -3)),
                lambda m: m.unravel_index(m.tensor(0), (2, 0))]:
        raises_like_torch(lambda: bad(kindling), lambda: bad(torch))


# --- fill_diagonal_ --------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(3, 3), (2, 5), (7, 3), (3, 3, 3), (1, 1), (4, 4, 4, 4)])
@pytest.mark.parametrize("wrap", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_fill_diagonal_(shape, wrap, dtype):
    x = (randn(*shape) * 10).astype(dtype)
    k, t = kindling.tensor(x), torch.tensor(x)
    assert k.fill_diagonal_(2.7, wrap=wrap) is k
    t.fill_diagonal_(2.7, wrap=wrap)
    assert_close(k, t)
    if dtype != np.int64:
        check(lambda a: (a * 2).fill_diagonal_(-1.0, wrap), lambda a: (a * 2).fill_diagonal_(
            -1.0, wrap), x)


def test_fill_diagonal_errors():
    for bad in [lambda m: m.zeros(3).fill_diagonal_(1), lambda m: m.zeros(3, 3, 2).fill_diagonal_(1),
                lambda m: m.zeros(2, 2, requires_grad=True).fill_diagonal_(1)]:
        raises_like_torch(lambda: bad(kindling), lambda: bad(torch))


# --- logcumsumexp ----------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape,dim", [((6,), 0), ((3, 4), 1), ((3, 4), 0), ((2, 3, 4), -2),
                                       ((), 0), ((0, 3), 0), ((3, 0), 1)])
def test_logcumsumexp(dtype, shape, dim):
    x = randn(*shape, dtype=dtype) * 3
    check(lambda a: kindling.logcumsumexp(a, dim), lambda a: torch.logcumsumexp(a, dim), x,
          rtol=1e-5, atol=1e-5)
    check(lambda a: a.logcumsumexp(dim), lambda a: a.logcumsumexp(dim), x, rtol=1e-5, atol=1e-5)


def test_logcumsumexp_stable_and_special_values():
    x = np.array([-1e30, 0., 1., 2., 1e3, -50., 88.], np.float32)  # exp overflows float32
    check(lambda a: kindling.logcumsumexp(a, 0), lambda a: torch.logcumsumexp(a, 0), x)
    x = np.array([[1000., 1001., -1000.], [-np.inf, -np.inf, 1.]], np.float32)
    check(lambda a: kindling.logcumsumexp(a, 1), lambda a: torch.logcumsumexp(a, 1), x,
          grad=False)
    x = np.array([-np.inf, 1., np.inf, 2.], np.float32)
    check(lambda a: kindling.logcumsumexp(a, 0), lambda a: torch.logcumsumexp(a, 0), x,
          grad=False)
    raises_like_torch(lambda: kindling.logcumsumexp(kindling.tensor([1, 2]), 0),
                      lambda: torch.logcumsumexp(torch.tensor([1, 2]), 0))
    assert gradcheck(lambda a: kindling.logcumsumexp(a, 1), (f64(3, 5),))
    assert gradgradcheck(lambda a: kindling.logcumsumexp(a, 0), (f64(4),))


# --- mode ------------------------------------------------------------------------------------------
def _compare_mode(x, *args):
    k, t = kindling.mode(kindling.tensor(x), *args), torch.mode(torch.tensor(x), *args)
    assert type(k).__name__ == "mode"
    assert_close(k.values, t.values, what="values")
    assert_close(k.indices, t.indices, what="indices")


@pytest.mark.parametrize("n", [1, 5, 16, 17, 40, 300])
@pytest.mark.parametrize("dtype", [np.int64, np.float32, np.float64, np.int32])
def test_mode_matches_torch_indices(n, dtype):
    # Few distinct values: many ties, so the tie rule and the returned index both matter.
    for _ in range(5):
        x = rng.integers(0, max(2, n // 4), (3, n)).astype(dtype)
        _compare_mode(x)
        _compare_mode(x, 1, True)
        _compare_mode(x.T.copy(), 0)


def test_mode_nan_bool_zero_signs_and_shapes():
    x = rng.integers(0, 4, (4, 30)).astype(np.float32)
    x[:, ::7] = np.nan
    _compare_mode(x)
    _compare_mode(np.array([np.nan, 1., np.nan, 1., np.nan], np.float32))
    _compare_mode(np.array([True, False, True]))
    _compare_mode(np.array([-0.0, 0.0, 0.0, -0.0], np.float32))
    _compare_mode(np.array(5., np.float32))
    _compare_mode(np.array(5., np.float32), 0, True)
    _compare_mode(rng.integers(0, 3, (2, 3, 4)), 1)
    _compare_mode(rng.integers(0, 3, (2, 3, 4)), -3, True)
    _compare_mode(np.zeros((2, 0), np.float32), 0)
    _compare_mode(np.zeros((2, 0), np.float32), 0, True)
    _compare_mode(np.zeros((0, 3), np.float32), 1)
    raises_like_torch(lambda: kindling.mode(kindling.zeros(0, 3), 0),
                      lambda: torch.mode(torch.zeros(0, 3), 0))
    raises_like_torch(lambda: kindling.mode(kindling.zeros(3), 1),
                      lambda: torch.mode(torch.zeros(3), 1))


def test_mode_grad_and_method():
    x = np.array([[1., 2., 2., 1.], [3., 3., 1., 0.]], np.float32)
    check(lambda a: tuple(kindling.mode(a, 1)), lambda a: tuple(torch.mode(a, 1)), x)
    check(lambda a: tuple(a.mode(0, keepdim=True)), lambda a: tuple(a.mode(0, keepdim=True)), x)


# --- frexp, top-level in-place functions -----------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS + [np.float16])
def test_frexp(dtype):
    x = np.array([0., -0., 1., -3.5, 1e-3, 7e4, np.inf, -np.inf, np.nan], dtype)
    if dtype != np.float16:
        x = np.concatenate([x, np.array([1e-40, 3e38], dtype), randn(20, dtype=dtype) * 100])
    k = kindling.frexp(kindling.tensor(x))
    t = torch.frexp(torch.tensor(x))
    assert type(k).__name__ == "frexp"
    assert_close(k.mantissa, t.mantissa)
    assert_close(k.exponent, t.exponent)
    assert_close(kindling.tensor(x).frexp(), torch.tensor(x).frexp())


def test_frexp_grad_and_errors():
    check(lambda a: kindling.frexp(a).mantissa, lambda a: torch.frexp(a).mantissa,
          randn(3, 4) * 50)
    assert gradcheck(lambda a: kindling.frexp(a).mantissa, (f64(5),))
    raises_like_torch(lambda: kindling.frexp(kindling.tensor([1, 2])),
                      lambda: torch.frexp(torch.tensor([1, 2])))


def _inplace_names():
    from kindling.ops.elementwise import _INPLACE
    return [n for n in _INPLACE if hasattr(torch, n + "_")]


def test_top_level_inplace_covers_torch():
    names = _inplace_names()
    assert names, "torch exposes top-level in-place functions"
    for name in names:
        assert hasattr(kindling, name + "_"), name + "_"


_ARGS = {"xlogy": (np.float32(2.0),), "clamp": (-0.5, 0.5), "clip": (-0.5, 0.5),
         "clamp_min": (0.1,), "clamp_max": (0.1,), "ldexp": None, "gcd": None, "lcm": None}


@pytest.mark.parametrize("name", _inplace_names())
def test_top_level_inplace(name):
    if name in ("gcd", "lcm"):
        a, b = rng.integers(1, 30, 6), rng.integers(1, 30, 6)
        k, t = kindling.tensor(a), torch.tensor(a)
        assert getattr(kindling, name + "_")(k, kindling.tensor(b)) is k
        getattr(torch, name + "_")(t, torch.tensor(b))
        assert_close(k, t)
        return
    x = rng.uniform(0.2, 0.8, 6).astype(np.float32)  # inside every op's domain, incl. logit/acosh
    if name in ("acosh", "arccosh"):
        x = x + 1.5
    args = _ARGS.get(name, ())
    if name == "ldexp":
        # nonnegative exponents: torch's in-place ldexp_ gradient is 0 for negative ones
        args = (torch.tensor([1, 2, 0, 4, 3, 1]),)
    args_k = tuple(kindling.tensor(a.numpy()) if isinstance(a, torch.Tensor) else a for a in args)
    k, t = kindling.tensor(x), torch.tensor(x)
    out_k = getattr(kindling, name + "_")(k, *args_k)
    getattr(torch, name + "_")(t, *args)
    assert out_k is k
    assert_close(k, t)
    # the same as the method, and recorded by autograd on a non-leaf (torch has no in-place
    # derivative for the inverse hyperbolic functions: values only there)
    grad = name not in ("asinh", "acosh", "atanh", "arcsinh", "arccosh", "arctanh")
    check(lambda a: getattr(kindling, name + "_")(a * 1, *args_k),
          lambda a: getattr(torch, name + "_")(a * 1, *args), x, rtol=1e-4, atol=1e-5, grad=grad)


# --- windows, tril/triu_indices, scalar_tensor, asarray --------------------------------------------
WINDOWS = ["hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"]


@pytest.mark.parametrize("name", WINDOWS)
@pytest.mark.parametrize("n", [0, 1, 2, 3, 8, 51])
@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_windows(name, n, periodic, dtype):
    k = getattr(kindling, name)(n, periodic, dtype=getattr(kindling, dtype))
    t = getattr(torch, name)(n, periodic, dtype=getattr(torch, dtype))
    assert_close(k, t, rtol=1e-5, atol=1e-6)
    assert_close(getattr(kindling, name)(n), getattr(torch, name)(n), rtol=1e-5, atol=1e-6)


def test_window_parameters_and_errors():
    assert_close(kindling.hamming_window(9, False, 0.5, 0.3),
                 torch.hamming_window(9, False, 0.5, 0.3))
    assert_close(kindling.kaiser_window(9, False, 5.0), torch.kaiser_window(9, False, 5.0),
                 rtol=1e-5)
    assert_close(kindling.kaiser_window(7, True, 0.5), torch.kaiser_window(7, True, 0.5), rtol=1e-5)
    w = kindling.hann_window(4, requires_grad=True)
    assert w.requires_grad and w.is_leaf
    for name in WINDOWS:
        raises_like_torch(lambda: getattr(kindling, name)(-1), lambda: getattr(torch, name)(-1))
        raises_like_torch(lambda: getattr(kindling, name)(4, dtype=kindling.int64),
                          lambda: getattr(torch, name)(4, dtype=torch.int64))


@pytest.mark.parametrize("fn", ["tril_indices", "triu_indices"])
@pytest.mark.parametrize("row,col,offset", [(3, 4, 0), (3, 4, -1), (3, 4, 2), (5, 2, 1),
                                            (4, 4, -10), (4, 4, 10), (0, 4, 0), (3, 0, 0),
                                            (1, 1, 0)])
def test_tri_indices(fn, row, col, offset):
    assert_close(getattr(kindling, fn)(row, col, offset), getattr(torch, fn)(row, col, offset))
    assert_close(getattr(kindling, fn)(row, col, offset, dtype=kindling.int32),
                 getattr(torch, fn)(row, col, offset, dtype=torch.int32))
    raises_like_torch(lambda: getattr(kindling, fn)(3, 3, dtype=kindling.float32),
                      lambda: getattr(torch, fn)(3, 3, dtype=torch.float32))


@pytest.mark.parametrize("value,dtype", [(3, None), (2.5, None), (True, None), (3, "int64"),
                                         (True, "int64"), (2.5, "float64"), (1, "bool")])
def test_scalar_tensor(value, dtype):
    kwargs_k = {} if dtype is None else {"dtype": getattr(kindling, dtype)}
    kwargs_t = {} if dtype is None else {"dtype": getattr(torch, dtype)}
    assert_close(kindling.scalar_tensor(value, **kwargs_k), torch.scalar_tensor(value, **kwargs_t))
    assert_close(kindling.scalar_tensor(kindling.tensor(2)), torch.scalar_tensor(torch.tensor(2)))
    assert kindling.scalar_tensor(1.5, requires_grad=True).requires_grad


def test_asarray_numpy_sharing():
    a = np.arange(3.)
    k, t = kindling.asarray(a), torch.asarray(a)
    a[0] = 9
    assert_close(k, t)  # both see the write: shared memory, float64 kept
    k, t = kindling.asarray(a, copy=True), torch.asarray(a, copy=True)
    a[0] = 8
    assert_close(k, t)  # copies do not
    k, t = kindling.asarray(a, dtype=kindling.float32), torch.asarray(a, dtype=torch.float32)
    a[1] = 7
    assert_close(k, t)  # a dtype change copies
    raises_like_torch(lambda: kindling.asarray(a, dtype=kindling.float32, copy=False),
                      lambda: torch.asarray(a, dtype=torch.float32, copy=False))
    b = np.array([1, 2], np.int32)
    assert_close(kindling.asarray(b), torch.asarray(b))
    assert_close(kindling.asarray(np.float64(3.5)), torch.asarray(np.float64(3.5)))


def test_asarray_tensors_and_sequences():
    k, t = kindling.ones(2), torch.ones(2)
    assert kindling.asarray(k) is k and torch.asarray(t) is t
    kindling.asarray(k)[0] = 5
    torch.asarray(t)[0] = 5
    kc, tc = kindling.asarray(k, copy=True), torch.asarray(t, copy=True)
    kc[1], tc[1] = 6, 6
    assert_close(k, t)
    assert_close(kindling.asarray(kindling.tensor([1, 2]), dtype=kindling.float32),
                 torch.asarray(torch.tensor([1, 2]), dtype=torch.float32))
    raises_like_torch(
        lambda: kindling.asarray(kindling.tensor([1, 2]), dtype=kindling.float32, copy=False),
        lambda: torch.asarray(torch.tensor([1, 2]), dtype=torch.float32, copy=False))
    for obj in ([1, 2], [1., 2.], 3, 3.5, [[True, False]], [kindling.tensor(1.), 2.]):
        tobj = [torch.tensor(1.), 2.] if isinstance(obj, list) and isinstance(
            obj[0], kindling.Tensor) else obj
        assert_close(kindling.asarray(obj), torch.asarray(tobj))
    assert_close(kindling.asarray(3.5, dtype=kindling.float64),
                 torch.asarray(3.5, dtype=torch.float64))
    raises_like_torch(lambda: kindling.asarray([1, 2], copy=False),
                      lambda: torch.asarray([1, 2], copy=False))
    raises_like_torch(lambda: kindling.asarray([1, 2], requires_grad=True),
                      lambda: torch.asarray([1, 2], requires_grad=True))


def test_asarray_requires_grad():
    k = kindling.ones(2, requires_grad=True)
    t = torch.ones(2, requires_grad=True)
    for rg in (False, True):
        yk, yt = kindling.asarray(k, requires_grad=rg), torch.asarray(t, requires_grad=rg)
        assert yk.requires_grad == yt.requires_grad
    yk = kindling.asarray(k.detach(), requires_grad=True)
    assert yk.requires_grad and yk.is_leaf
    zk = k * 3
    assert kindling.asarray(zk).grad_fn is zk.grad_fn
    assert kindling.asarray([1., 2.], requires_grad=True).requires_grad
