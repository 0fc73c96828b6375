"""Reductions, scans, softmax and sorting, against PyTorch and finite differences."""
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


def distinct(*shape, dtype=np.float32):
    """Values with no ties (so argmax/sort/median are unique)."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.37 - n * 0.15).reshape(shape).astype(dtype)


def f64(*shape, positive=False):
    a = rng.standard_normal(shape)
    if positive:
        a = np.abs(a) + 0.5
    return kindling.tensor(a, requires_grad=True)


DIMS = [None, 0, -1, (0, 2), [-1, 1], ()]


# --- sum / mean / nansum / nanmean ---------------------------------------------------------------
@pytest.mark.parametrize("dim", DIMS)
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("name", ["sum", "mean", "nansum", "nanmean"])
def test_sum_mean_family(name, dim, keepdim):
    x = randn(2, 3, 4)
    if dim is None:
        check(lambda t: getattr(kindling, name)(t), lambda t: getattr(torch, name)(t), x)
        return
    check(lambda t: getattr(kindling, name)(t, dim, keepdim),
          lambda t: getattr(torch, name)(t, dim, keepdim), x)
    # as a method, keywords
    check(lambda t: getattr(t, name)(dim=dim, keepdim=keepdim),
          lambda t: getattr(t, name)(dim=dim, keepdim=keepdim), x)


def test_nan_reductions_ignore_nan():
    x = randn(3, 4)
    x[0, 1] = np.nan
    x[2, :] = np.nan
    check(lambda t: kindling.nansum(t, 1), lambda t: torch.nansum(t, 1), x)
    k, t = pair(x)
    assert_close(kindling.nanmean(k, 1), torch.nanmean(t, 1))
    check(lambda t: kindling.nanmean(t, 0), lambda t: torch.nanmean(t, 0), x)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.bool_, np.uint8])
def test_sum_prod_of_integers_is_int64(dtype):
    x = (rng.integers(0, 3, (3, 4))).astype(dtype)
    check(lambda t: kindling.sum(t), lambda t: torch.sum(t), x, grad=False)
    check(lambda t: kindling.sum(t, 0), lambda t: torch.sum(t, 0), x, grad=False)
    check(lambda t: kindling.prod(t, 1), lambda t: torch.prod(t, 1), x, grad=False)
    check(lambda t: kindling.nansum(t), lambda t: torch.nansum(t), x, grad=False)
    check(lambda t: kindling.cumsum(t, 0), lambda t: torch.cumsum(t, 0), x, grad=False)


def test_dtype_arguments():
    x = randn(3, 4)
    check(lambda t: kindling.sum(t, 1, dtype=kindling.float64),
          lambda t: torch.sum(t, 1, dtype=torch.float64), x)
    check(lambda t: kindling.mean(t, dtype=kindling.float64),
          lambda t: torch.mean(t, dtype=torch.float64), x)
    xi = rng.integers(0, 5, (3, 4))
    check(lambda t: kindling.mean(t, 0, dtype=kindling.float32),
          lambda t: torch.mean(t, 0, dtype=torch.float32), xi, grad=False)
    check(lambda t: kindling.prod(t, 0, dtype=kindling.float32),
          lambda t: torch.prod(t, 0, dtype=torch.float32), x)


def test_mean_of_integers_raises_like_torch():
    with pytest.raises(RuntimeError, match="mean.*floating point.*Long"):
        kindling.mean(kindling.tensor([1, 2, 3]))
    with pytest.raises(RuntimeError, match="std and var"):
        kindling.var(kindling.tensor([1, 2, 3]))


def test_empty_and_zero_dim():
    check(lambda t: t.sum(), lambda t: t.sum(), np.zeros((0,), np.float32))
    check(lambda t: t.sum(0), lambda t: t.sum(0), np.zeros((0, 3), np.float32))
    check(lambda t: t.prod(), lambda t: t.prod(), np.zeros((0,), np.float32))
    check(lambda t: t.mean(), lambda t: t.mean(), np.zeros((0,), np.float32), grad=False)
    check(lambda t: kindling.logsumexp(t, 0), lambda t: torch.logsumexp(t, 0),
          np.zeros((0,), np.float32), grad=False)
    s = np.array(2.5, np.float32)
    for name in ["sum", "mean", "prod", "amax", "amin", "logsumexp"]:
        check(lambda t: getattr(t, name)(0), lambda t: getattr(t, name)(0), s)
        check(lambda t: getattr(t, name)(-1, True), lambda t: getattr(t, name)(-1, True), s)
    check(lambda t: t.max(0), lambda t: t.max(0), s)
    check(lambda t: t.cumsum(0), lambda t: t.cumsum(0), s)
    check(lambda t: t.sort(), lambda t: t.sort(), s)
    check(lambda t: t.softmax(0), lambda t: t.softmax(0), s)


def test_dim_errors():
    x = kindling.zeros(2, 3)
    with pytest.raises(IndexError, match="sum.*out of range"):
        x.sum(2)
    with pytest.raises(RuntimeError, match="multiple times"):
        x.sum((0, -2))
    with pytest.raises(RuntimeError, match="max.*numel\\(\\) == 0"):
        kindling.zeros(0).max()
    with pytest.raises(RuntimeError, match="amax.*non-zero size"):
        kindling.zeros(0, 3).amax(0)
    assert tuple(kindling.zeros(0, 3).amax(1).shape) == (0,)


# --- var / std --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["var", "std"])
def test_var_std_signatures(name):
    x = randn(3, 4, 5)
    kf, tf = getattr(kindling, name), getattr(torch, name)
    check(lambda t: kf(t), lambda t: tf(t), x)
    check(lambda t: kf(t, False), lambda t: tf(t, False), x)            # var(x, unbiased)
    check(lambda t: kf(t, 1), lambda t: tf(t, 1), x)
    check(lambda t: kf(t, 1, False, True), lambda t: tf(t, 1, False, True), x)
    check(lambda t: kf(t, (0, 2), keepdim=True), lambda t: tf(t, (0, 2), keepdim=True), x)
    check(lambda t: kf(t, -1, correction=0), lambda t: tf(t, -1, correction=0), x)
    check(lambda t: kf(t, dim=[0, 1], correction=2, keepdim=True),
          lambda t: tf(t, dim=[0, 1], correction=2, keepdim=True), x)
    check(lambda t: getattr(t, name)(unbiased=False), lambda t: getattr(t, name)(unbiased=False), x)


def test_var_mean_std_mean():
    x = randn(3, 4)
    check(lambda t: kindling.var_mean(t, 1), lambda t: torch.var_mean(t, 1), x)
    check(lambda t: kindling.std_mean(t, 0, correction=0, keepdim=True),
          lambda t: torch.std_mean(t, 0, correction=0, keepdim=True), x)
    check(lambda t: kindling.std_mean(t, False), lambda t: torch.std_mean(t, False), x)


def test_std_of_constant_has_zero_grad_like_torch():
    check(lambda t: t.std(1), lambda t: t.std(1), np.ones((2, 3), np.float32))


def test_var_single_element_is_nan():
    with pytest.warns(UserWarning):
        out = kindling.var(kindling.tensor([1.0]))
    assert math.isnan(out.item())


# --- max / min / amax / amin / argmax / argmin ------------------------------------------------
@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_forms(name):
    x = distinct(3, 4, 5)
    kf, tf = getattr(kindling, name), getattr(torch, name)
    check(lambda t: kf(t), lambda t: tf(t), x)
    for dim in [0, -1, 1]:
        for keepdim in [False, True]:
            check(lambda t: tuple(kf(t, dim, keepdim)), lambda t: tuple(tf(t, dim, keepdim)), x)
    k, t = pair(x)
    out_k, out_t = getattr(k, name)(dim=1, keepdim=True), getattr(t, name)(dim=1, keepdim=True)
    assert_close(out_k.values, out_t.values)
    assert_close(out_k.indices, out_t.indices)
    values, indices = out_k
    assert values is out_k[0] and indices is out_k.indices
    assert type(out_k).__name__ == name
    assert repr(out_k).startswith(f"torch.return_types.{name}(")


def test_max_with_ties():
    x = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0]], np.float32)
    check(lambda t: t.max(), lambda t: t.max(), x)           # shared evenly
    check(lambda t: t.min(), lambda t: t.min(), x)
    check(lambda t: tuple(t.max(1)), lambda t: tuple(t.max(1)), x)   # first index
    check(lambda t: tuple(t.min(0)), lambda t: tuple(t.min(0)), x)
    check(lambda t: t.amax(1), lambda t: t.amax(1), x)
    check(lambda t: t.amin((0, 1)), lambda t: t.amin((0, 1)), x)
    check(lambda t: t.argmax(1), lambda t: t.argmax(1), x, grad=False)
    check(lambda t: t.argmin(), lambda t: t.argmin(), x, grad=False)


def test_max_binary_delegates_to_maximum():
    if not hasattr(kindling, "maximum"):
        pytest.skip("elementwise maximum not available yet")
    a, b = distinct(3, 4), distinct(3, 4)
    check(lambda s, o: kindling.max(s, o), lambda s, o: torch.max(s, o), a, b)
    check(lambda s, o: s.min(o), lambda s, o: s.min(o), a, b)


@pytest.mark.parametrize("dim", [None, 0, (0, 2), -1, ()])
@pytest.mark.parametrize("keepdim", [False, True])
def test_amax_amin(dim, keepdim):
    x = distinct(2, 3, 4)
    d = () if dim is None else dim
    check(lambda t: kindling.amax(t, d, keepdim), lambda t: torch.amax(t, d, keepdim), x)
    check(lambda t: t.amin(d, keepdim), lambda t: t.amin(d, keepdim), x)


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin(name):
    x = distinct(3, 4, 5)
    for args in [(), (0,), (-1, True), (1, False)]:
        check(lambda t: getattr(t, name)(*args), lambda t: getattr(t, name)(*args), x,
              grad=False)
    check(lambda t: getattr(kindling, name)(t, keepdim=True),
          lambda t: getattr(torch, name)(t, keepdim=True), x, grad=False)
    xi = rng.integers(0, 100, (4, 5))
    check(lambda t: getattr(t, name)(1), lambda t: getattr(t, name)(1), xi, grad=False)


def test_max_propagates_nan():
    x = np.array([[1.0, np.nan, 3.0], [1.0, 2.0, 0.0]], np.float32)
    check(lambda t: tuple(t.max(1)), lambda t: tuple(t.max(1)), x, grad=False)
    check(lambda t: t.argmin(1), lambda t: t.argmin(1), x, grad=False)
    check(lambda t: t.amax(1), lambda t: t.amax(1), x, grad=False)


def test_aminmax():
    x = distinct(3, 4)
    check(lambda t: tuple(kindling.aminmax(t)), lambda t: tuple(torch.aminmax(t)), x)
    check(lambda t: tuple(kindling.aminmax(t, dim=1, keepdim=True)),
          lambda t: tuple(torch.aminmax(t, dim=1, keepdim=True)), x)
    out = kindling.aminmax(kindling.tensor(x), dim=0)
    assert out.min.shape == (4,) and out.max.shape == (4,)


# --- prod / logsumexp ---
@pytest.mark.parametrize("zeros", [0, 1, 2])
@pytest.mark.parametrize("dim", [None, 1, -1])
def test_prod_with_zeros(zeros, dim):
    x = randn(3, 5) + 0.1
    x[:, :zeros] = 0
    x[0, :] = randn(5) + 3  # one row without zeros
    if dim is None:
        check(lambda t: t.prod(), lambda t: t.prod(), x)
    else:
        check(lambda t: t.prod(dim, keepdim=True), lambda t: t.prod(dim, keepdim=True), x)
        check(lambda t: kindling.prod(t, dim), lambda t: torch.prod(t, dim), x)


def test_prod_rejects_tuple_dim():
    with pytest.raises(TypeError, match="prod"):
        kindling.prod(kindling.ones(2, 3), (0, 1))


def test_logsumexp_is_stable():
    x = np.array([[1e4, 1e4 - 1, -1e4], [-1e30, 0.0, 1.0]], np.float32)
    check(lambda t: kindling.logsumexp(t, 1), lambda t: torch.logsumexp(t, 1), x)
    check(lambda t: t.logsumexp((0, 1), keepdim=True), lambda t: t.logsumexp((0, 1), True), x)
    check(lambda t: t.logsumexp(0), lambda t: t.logsumexp(0),
          np.array([-np.inf, -np.inf], np.float32), grad=False)
    check(lambda t: t.logsumexp(0), lambda t: t.logsumexp(0), np.array([1, 2, 3]), grad=False)


# --- scans ---
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumsum_cumprod(dim):
    x = randn(3, 4, 2) + 0.5
    check(lambda t: t.cumsum(dim), lambda t: t.cumsum(dim), x)
    check(lambda t: kindling.cumprod(t, dim), lambda t: torch.cumprod(t, dim), x)
    check(lambda t: kindling.cumsum(t, dim=dim, dtype=kindling.float64),
          lambda t: torch.cumsum(t, dim=dim, dtype=torch.float64), x)


def test_inplace_scans():
    def k_fn(t):
        y = t * 1
        y.cumsum_(1)
        return y.cumprod_(0)

    def t_fn(t):
        y = t * 1
        y.cumsum_(1)
        return y.cumprod_(0)

    check(k_fn, t_fn, randn(3, 4) + 2)


def test_cumprod_with_zeros():
    x = randn(4, 6) + 0.2
    x[0, 0] = 0
    x[1, 3] = 0
    x[2, 2] = x[2, 4] = 0
    x[3, 5] = 0
    check(lambda t: t.cumprod(1), lambda t: t.cumprod(1), x, rtol=1e-4)
    check(lambda t: t.cumprod(0), lambda t: t.cumprod(0), x, rtol=1e-4)


@pytest.mark.parametrize("name", ["cummax", "cummin"])
def test_cummax_cummin(name):
    x = np.array([[1.0, 3.0, 3.0, 2.0, 5.0, 0.0], [4.0, 4.0, 1.0, 4.0, 0.0, 6.0]], np.float32)
    check(lambda t: tuple(getattr(t, name)(1)), lambda t: tuple(getattr(t, name)(1)), x)
    x = distinct(3, 4)
    check(lambda t: tuple(getattr(kindling, name)(t, 0)),
          lambda t: tuple(getattr(torch, name)(t, 0)), x)


# --- logical ---
@pytest.mark.parametrize("name", ["all", "any"])
def test_all_any(name):
    for x in [rng.integers(0, 2, (3, 4)).astype(bool), np.array([[0.0, 1.0], [2.0, 3.0]]),
              np.zeros((0, 2), np.float32), rng.integers(0, 2, (3, 4)).astype(np.uint8)]:
        check(lambda t: getattr(t, name)(), lambda t: getattr(t, name)(), x, grad=False)
        check(lambda t: getattr(kindling, name)(t, 1), lambda t: getattr(torch, name)(t, 1), x,
              grad=False)
        check(lambda t: getattr(t, name)(0, True), lambda t: getattr(t, name)(0, True), x,
              grad=False)


def test_count_nonzero():
    x = rng.integers(0, 2, (3, 4, 2)).astype(np.float32)
    for dim in [None, 0, (1, 2), -1]:
        check(lambda t: kindling.count_nonzero(t, dim), lambda t: torch.count_nonzero(t, dim), x,
              grad=False)


# --- median / kthvalue ---
def test_median():
    x = distinct(3, 4)
    check(lambda t: t.median(), lambda t: t.median(), x)
    for dim, keepdim in [(0, False), (1, True), (-1, False)]:
        check(lambda t: tuple(kindling.median(t, dim, keepdim)),
              lambda t: tuple(torch.median(t, dim, keepdim)), x)
    ties = np.array([[1.0, 2.0, 2.0, 5.0], [2.0, 0.0, 2.0, 9.0]], np.float32)
    check(lambda t: t.median(), lambda t: t.median(), ties)  # gradient shared among ties


def test_nanmedian_and_median_with_nan():
    x = np.array([[np.nan, np.nan, np.nan], [1.0, np.nan, 0.0], [4.0, 2.0, 3.0]], np.float32)
    for name in ["median", "nanmedian"]:
        check(lambda t: tuple(getattr(kindling, name)(t, 1)),
              lambda t: tuple(getattr(torch, name)(t, 1)), x, grad=False)
        check(lambda t: getattr(t, name)(), lambda t: getattr(t, name)(), x, grad=False)
    y = np.array([[3.0, 1.0, np.nan, 2.0], [5.0, 1.0, 2.0, 0.5]], np.float32)
    check(lambda t: t.nanmedian(), lambda t: t.nanmedian(), y)
    check(lambda t: tuple(t.nanmedian(1, True)), lambda t: tuple(t.nanmedian(1, True)), y)


def test_kthvalue():
    x = distinct(3, 5)
    check(lambda t: tuple(kindling.kthvalue(t, 2)), lambda t: tuple(torch.kthvalue(t, 2)), x)
    check(lambda t: tuple(t.kthvalue(3, 0, True)), lambda t: tuple(t.kthvalue(3, 0, True)), x)
    with pytest.raises(RuntimeError, match="kthvalue.*out of range"):
        kindling.kthvalue(kindling.tensor(x), 6)


# --- softmax / log_softmax ---
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax(name, dim):
    x = randn(3, 4, 5)
    check(lambda t: getattr(kindling, name)(t, dim), lambda t: getattr(torch, name)(t, dim), x)
    check(lambda t: getattr(t, name)(dim), lambda t: getattr(t, name)(dim), x)
    check(lambda t: getattr(kindling, name)(t, dim, dtype=kindling.float64),
          lambda t: getattr(torch, name)(t, dim, dtype=torch.float64), x)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_stable_for_huge_logits(name):
    x = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, 1e4], [-1e4, -1e4 + 1, 3.0]], np.float32)
    k, t = pair(x)
    out_k, out_t = getattr(k, name)(1), getattr(t, name)(1)
    assert np.all(np.isfinite(out_k.detach().numpy()))
    assert_close(out_k, out_t)
    w = randn(3, 3)
    (out_k * kindling.tensor(w)).sum().backward()
    (out_t * torch.tensor(w)).sum().backward()
    assert np.all(np.isfinite(k.grad.numpy()))
    assert_close(k.grad, t.grad)


def test_softmax_integer_input_needs_dtype():
    with pytest.raises(RuntimeError, match="softmax"):
        kindling.softmax(kindling.tensor([1, 2]), 0)
    check(lambda t: kindling.softmax(t, 0, dtype=kindling.float32),
          lambda t: torch.softmax(t, 0, dtype=torch.float32), np.array([1, 2, 3]), grad=False)


# --- sort / argsort / topk / msort ---
@pytest.mark.parametrize("dim", [0, -1])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_argsort(dim, descending):
    x = distinct(4, 5)
    check(lambda t: tuple(kindling.sort(t, dim, descending)),
          lambda t: tuple(torch.sort(t, dim, descending)), x)
    check(lambda t: t.argsort(dim, descending), lambda t: t.argsort(dim, descending), x,
          grad=False)


def test_sort_stable_with_ties_and_nan():
    x = np.array([3.0, 1.0, np.nan, 1.0, 3.0, 2.0, 1.0], np.float32)
    for descending in [False, True]:
        check(lambda t: tuple(t.sort(stable=True, descending=descending)),
              lambda t: tuple(t.sort(stable=True, descending=descending)), x, grad=False)
    xi = np.array([[3, 1, 1, 2], [0, 0, 5, 0]])
    check(lambda t: tuple(kindling.sort(t, descending=True, stable=True)),
          lambda t: tuple(torch.sort(t, descending=True, stable=True)), xi, grad=False)
    check(lambda t: t.msort(), lambda t: t.msort(), distinct(4, 3))


@pytest.mark.parametrize("largest", [True, False])
def test_topk(largest):
    x = distinct(4, 6)
    check(lambda t: tuple(kindling.topk(t, 3, largest=largest)),
          lambda t: tuple(torch.topk(t, 3, largest=largest)), x)
    check(lambda t: tuple(t.topk(2, 0, largest)), lambda t: tuple(t.topk(2, 0, largest)), x)
    out = kindling.tensor(x).topk(2)
    assert out.values.shape == (4, 2) and out.indices.dtype == kindling.int64
    with pytest.raises(RuntimeError, match="topk.*out of range"):
        kindling.tensor(x).topk(7)


# --- gradients: finite differences, second order ---
@pytest.mark.parametrize("fn", [
    lambda x: x.sum((0, 2)),
    lambda x: x.mean(1, keepdim=True),
    lambda x: x.var(1),
    lambda x: x.std((0, 1), correction=0),
    lambda x: x.nansum(0),
    lambda x: x.nanmean(),
    lambda x: x.prod(1),
    lambda x: x.logsumexp(-1),
    lambda x: x.softmax(1),
    lambda x: x.log_softmax(0),
    lambda x: x.cumsum(2),
    lambda x: x.cumprod(1),
    lambda x: x.amax((1, 2)),
    lambda x: x.max(1).values,
    lambda x: x.min(),
    lambda x: x.cummax(2).values,
    lambda x: x.median(1).values,
    lambda x: x.sort(2, descending=True).values,
    lambda x: x.topk(2).values,
    lambda x: x.kthvalue(2, 1).values,
])
def test_gradcheck(fn):
    assert gradcheck(fn, (f64(2, 3, 4, positive=True),))


@pytest.mark.parametrize("fn", [
    lambda x: x.sum(1) ** 2,
    lambda x: x.mean((0, 1)) ** 2,
    lambda x: x.var(1),
    lambda x: x.std(0),
    lambda x: x.softmax(1),
    lambda x: x.log_softmax(-1),
    lambda x: x.logsumexp(1),
    lambda x: x.prod(1),
    lambda x: x.cumsum(1) ** 2,
    lambda x: x.cumprod(1),
])
def test_gradgradcheck(fn):
    assert gradgradcheck(fn, (f64(3, 4, positive=True),))


def test_prod_gradgrad_with_a_zero():
    x = rng.standard_normal((2, 4)) + 2
    x[0, 1] = 0.0
    assert gradgradcheck(lambda t: t.prod(1), (kindling.tensor(x, requires_grad=True),))


def test_prod_gradcheck_with_zeros():
    x = rng.standard_normal((3, 4)) + 2
    x[0, 1] = 0.0
    x[1, 0] = x[1, 2] = 0.0
    assert gradcheck(lambda t: t.prod(1), (kindling.tensor(x, requires_grad=True),))
    assert gradcheck(lambda t: t.cumprod(1), (kindling.tensor(x, requires_grad=True),))


def test_float32_stays_float32():
    x = kindling.tensor(randn(3, 4), requires_grad=True)
    outs = [x.mean(), x.var(0), x.std(), x.prod(), x.logsumexp(1), x.softmax(1),
            x.log_softmax(0), x.cumprod(1), x.nanmean(), x.amax(0), x.median()]
    for o in outs:
        assert o.dtype == kindling.float32
    sum(o.sum() for o in outs).backward()
    assert x.grad.dtype == kindling.float32


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), data=st.data())
def test_property_reductions_match_torch(shape, data):
    x = np.random.default_rng(len(shape)).standard_normal(shape).astype(np.float32)
    ndim = len(shape)
    dims = data.draw(st.lists(st.integers(-ndim, ndim - 1), unique_by=lambda d: d % ndim,
                              min_size=1, max_size=ndim))
    keepdim = data.draw(st.booleans())
    name = data.draw(st.sampled_from(["sum", "mean", "amax", "amin", "logsumexp", "nansum"]))
    check(lambda t: getattr(t, name)(tuple(dims), keepdim),
          lambda t: getattr(t, name)(tuple(dims), keepdim), x)


EDGE_CASES = [
    (lambda m: lambda t: tuple(m.topk(t, 0)), np.ones((3, 4), np.float32)),
    (lambda m: lambda t: tuple(m.sort(t)), np.zeros((0,), np.float32)),
    (lambda m: lambda t: m.cumsum(t, 0), np.zeros((0, 2), np.float32)),
    (lambda m: lambda t: m.cumprod(t, 1), np.zeros((0, 2), np.float32)),
    (lambda m: lambda t: m.mean(t, 0), np.zeros((0, 2), np.float32)),
    (lambda m: lambda t: m.prod(t, 0), np.zeros((0, 2), np.float32)),
    (lambda m: lambda t: tuple(m.cummax(t, 0)), np.array([1.0, np.nan, 2, 5], np.float32)),
    (lambda m: lambda t: m.logsumexp(t, 1), np.array([[-np.inf, -np.inf], [3.0, 1]], np.float32)),
    (lambda m: lambda t: m.softmax(t, 1), np.array([[-np.inf, 0], [-np.inf, -np.inf]],
                                                   np.float32)),
    (lambda m: lambda t: m.amax(t, (0, 1)), np.array([[1, 5], [5, 2]])),
    (lambda m: lambda t: m.median(t), np.array([[1, 5], [5, 2]])),
    (lambda m: lambda t: m.all(t, (0, 1)), np.array([[1, 5], [5, 2]])),
    (lambda m: lambda t: m.count_nonzero(t, (0, 1)), np.array([[1, 0], [5, 2]])),
    (lambda m: lambda t: tuple(m.max(t, 1)), np.array([[True, False], [False, False]])),
    (lambda m: lambda t: m.nanmean(t, 1), np.array([[np.nan, np.nan], [1.0, 2.0]], np.float32)),
]


@pytest.mark.parametrize("case", range(len(EDGE_CASES)))
def test_edge_cases_match_torch(case):
    make, x = EDGE_CASES[case]
    with np.errstate(all="ignore"):
        check(make(kindling), make(torch), x)


def test_softmax_implicit_dim_warns():
    x = randn(2, 3)
    with pytest.warns(UserWarning, match="Implicit dimension"):
        out = kindling.softmax(kindling.tensor(x))
    assert_close(out, torch.softmax(torch.tensor(x), 1))


def test_return_types_repr_and_unpacking():
    out = kindling.tensor([[1.0, 3.0], [4.0, 2.0]]).sort(1)
    values, indices = out
    assert out.values is values and out[1] is indices
    assert repr(out).startswith("torch.return_types.sort(\nvalues=tensor(")
    assert isinstance(out, tuple) and len(out) == 2
    assert kindling.return_types.max is type(kindling.tensor([1.0]).max(0))


@pytest.mark.parametrize("fn", [
    lambda x: x.max(1).values ** 2,
    lambda x: x.amin(0) ** 2,
    lambda x: x.sort(1, descending=True).values ** 2,
    lambda x: x.topk(2, 0).values ** 2,
    lambda x: x.cummax(1).values ** 2,
    lambda x: x.median(0).values ** 2,
])
def test_gradgradcheck_selection(fn):
    x = kindling.tensor(distinct(3, 4, dtype=np.float64) + 0.05, requires_grad=True)
    assert gradgradcheck(fn, (x,))


@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
@pytest.mark.parametrize("q,dim,keepdim", [(0.3, None, False), ([0.0, 0.25, 0.5, 1.0], 1, True),
                                           (0.75, 0, False), ([0.1, 0.9], None, True)])
def test_quantile_and_nanquantile_match_torch(interpolation, q, dim, keepdim):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 7)).astype(np.float32)

    def fn(m, name):
        qq = m.tensor(np.array(q, np.float32)) if isinstance(q, list) else q
        return lambda a: getattr(m, name)(a, qq, dim=dim, keepdim=keepdim,
                                          interpolation=interpolation)
    for name in ("quantile", "nanquantile"):
        check(fn(kindling, name), fn(torch, name), x, rtol=1e-5, atol=1e-6)
    with_nan = x.copy()
    with_nan[0, 2], with_nan[2, :] = np.nan, np.nan
    for name in ("quantile", "nanquantile"):
        k = fn(kindling, name)(kindling.tensor(with_nan)).numpy()
        t = fn(torch, name)(torch.tensor(with_nan)).numpy()
        np.testing.assert_allclose(k, t, atol=1e-6, equal_nan=True)


def test_quantile_errors():
    with pytest.raises(RuntimeError, match="range"):
        kindling.quantile(kindling.ones(3), 1.5)
    with pytest.raises(ValueError, match="interpolation"):
        kindling.quantile(kindling.ones(3), 0.5, interpolation="cubic")
    with pytest.raises(RuntimeError, match="float"):
        kindling.quantile(kindling.tensor([1, 2]), 0.5)
