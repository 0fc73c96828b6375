"""Indexing ops against PyTorch: __getitem__/__setitem__, gather/scatter, index_*, masked_*."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import kindling
from kindling.autograd import gradcheck, gradgradcheck
from kindling.ops.index import one_hot
from oracle import check, assert_close

rng = np.random.default_rng(0)


def r(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def same(fn, *arrays, **kw):
    return check(lambda *a: fn(kindling, *a), lambda *a: fn(torch, *a), *arrays, **kw)


# --- __getitem__ ---------------------------------------------------------------------------------
KEYS = [
    ("int", lambda m: 1), ("neg_int", lambda m: -1), ("tuple_ints", lambda m: (1, -2)),
    ("slice", lambda m: slice(1, None)), ("slice_step", lambda m: (slice(None), slice(0, 4, 2))),
    ("slice_neg_bounds", lambda m: slice(-2, None)), ("slice_clamped", lambda m: slice(1, 100)),
    ("empty_slice", lambda m: slice(2, 1)), ("none", lambda m: None),
    ("none_mid", lambda m: (0, None, slice(None))), ("ellipsis", lambda m: (Ellipsis, 1)),
    ("ellipsis_none", lambda m: (None, Ellipsis, None)),
    ("int_list", lambda m: [0, 2, 0]), ("int_tensor", lambda m: m.tensor([2, 0, 2, 2])),
    ("neg_int_tensor", lambda m: m.tensor([-1, 0])),
    ("2d_int_tensor", lambda m: m.tensor([[0, 1], [2, 2]])),
    ("adv_pair", lambda m: (m.tensor([0, 1, 1]), m.tensor([3, 0, 3]))),
    ("adv_broadcast", lambda m: (m.tensor([[0], [2]]), m.tensor([1, 3, 1]))),
    ("adv_with_slice", lambda m: (slice(None), [1, 1, 3])),
    ("adv_int_mix", lambda m: (m.tensor([0, 0, 1]), 1)),
    ("bool_tensor", lambda m: m.tensor([True, False, True])),
    ("bool_list", lambda m: [False, True, True]),
    ("bool_2d", lambda m: m.tensor([[True, False, True, False]] * 3)),
    ("bool_with_slice", lambda m: (slice(None), m.tensor([True, False, False, True]))),
    ("zero_d_int_tensor", lambda m: m.tensor(1)), ("zero_d_pair", lambda m: (m.tensor(2), 1)),
    ("empty_int", lambda m: m.tensor([], dtype=m.int64)),
    ("tensor_slice_bounds", lambda m: slice(m.tensor(1), m.tensor(3))),
    ("seq_as_tuple", lambda m: [[0, 1], [1, 2]]),
    ("all_int_0d", lambda m: (1, 2)),
]


@pytest.mark.parametrize("make_key", [k[1] for k in KEYS], ids=[k[0] for k in KEYS])
def test_getitem_matches_torch(make_key):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same(lambda m, x: x[make_key(m)], r(3, 4))


def test_getitem_noncontiguous_and_chained():
    same(lambda m, x: x.t()[1:, [0, 2]][:, 0], r(3, 4))
    same(lambda m, x: x[::2][:, 1:][0], r(4, 5))
    same(lambda m, x: x.permute(2, 0, 1)[m.tensor([1, 0]), :, 1], r(2, 3, 4))
    same(lambda m, x: x[m.tensor([0, 2]), :, m.tensor([1, 1])], r(3, 2, 2))
    same(lambda m, x: x[:, m.tensor([[0], [1]]), m.tensor([1, 0, 1])], r(3, 2, 2))


def test_int_and_tensor_indices_follow_torch_order():
    # PyTorch selects with the ints first; NumPy would move the array dims to the front here
    key = lambda m: (0, slice(None), m.tensor([0, 0, 1]))  # noqa: E731
    same(lambda m, x: x[key(m)], r(2, 3, 2))
    same(lambda m, x: x[:, m.tensor([0, 1]), 1, m.tensor([[1], [0]])], r(2, 3, 2, 2))

    def put(m, a, b):
        x = a * 1
        x[key(m)] = b
        return x
    same(put, r(2, 3, 2), r(3))


def test_getitem_repeated_indices_accumulate():
    x = kindling.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x[[0, 0, 2, 0]]
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 0.0, 1.0]
    same(lambda m, x: x[m.tensor([[0, 1], [0, 0]]), m.tensor([2, 2])] * 2, r(2, 3))


def test_getitem_negative_step_supported():
    x = kindling.arange(5.)
    assert x[::-1].tolist() == [4, 3, 2, 1, 0]
    assert x[3:0:-2].tolist() == [3, 1]


def test_getitem_int_dtypes_and_0d():
    same(lambda m, x: x[1:], np.arange(5), grad=False)
    same(lambda m, x: x[()], np.float32(3.0))
    same(lambda m, x: x[None], np.float32(3.0))
    same(lambda m, x: x[...], np.float32(3.0))


@pytest.mark.parametrize("make_key", [
    lambda m: 3, lambda m: -4, lambda m: (0, 5), lambda m: (0, 0, 0), lambda m: m.tensor([3]),
    lambda m: m.tensor([0, -4]), lambda m: m.tensor([True, False]), lambda m: 1.5,
    lambda m: m.tensor([0.0]), lambda m: "a",
])
def test_getitem_errors(make_key):
    with pytest.raises((IndexError, TypeError)) as ti:
        torch.zeros(3, 4)[make_key(torch)]
    with pytest.raises((IndexError, TypeError)) as ki:
        kindling.zeros(3, 4)[make_key(kindling)]
    assert ti.type is ki.type or issubclass(ki.type, ti.type)


def test_getitem_error_message():
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 3"):
        kindling.zeros(3)[5]
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 3"):
        kindling.zeros(3)[[0, 5]]
    with pytest.raises(IndexError, match="too many indices for tensor of dimension 1"):
        kindling.zeros(3)[0, 0]


def test_basic_index_is_view():
    x = kindling.arange(6.).reshape(2, 3)
    y = x[0]
    v = x._version
    y.add_(1)
    assert x.tolist() == [[1, 2, 3], [3, 4, 5]]
    assert x._version == v + 1 and y._base is x._base
    z = x[:, 1]
    z.mul_(0)
    assert x[:, 1].tolist() == [0, 0]
    x[1, 2].fill_(-1)  # a 0-d view
    assert x[1, 2].item() == -1
    w = x[[0, 1]]  # advanced: a copy
    w.add_(100)
    assert x.numpy().max() < 100


@pytest.mark.parametrize("key", [(slice(None), 1), ([0, 1, 0],), (slice(None), [0, 0, 2])])
def test_getitem_gradcheck(key):
    x = kindling.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    assert gradcheck(lambda t: t[key], (x,))
    assert gradgradcheck(lambda t: t[key] * t[key], (x,))


# --- __setitem__ ---------------------------------------------------------------------------------
SET_CASES = [
    ("int_scalar", lambda m: 0, lambda m: 5.0),
    ("slice_tensor", lambda m: (slice(None), 1), lambda m: m.tensor([1.0, 2.0, 3.0])),
    ("broadcast", lambda m: slice(0, 2), lambda m: m.tensor([1.0, 2.0, 3.0, 4.0])),
    ("adv", lambda m: m.tensor([2, 0]), lambda m: m.tensor(7.0)),
    ("adv_pairs", lambda m: (m.tensor([0, 1]), m.tensor([3, 2])), lambda m: m.tensor([8.0, 9.0])),
    ("mask", lambda m: m.tensor([[True, False, False, True]] * 3), lambda m: -1.0),
    ("mask_rows", lambda m: m.tensor([True, False, True]), lambda m: m.ones(4)),
    ("ellipsis", lambda m: (Ellipsis, 0), lambda m: 3),
    ("leading_ones", lambda m: 1, lambda m: m.ones(1, 4)),
]


@pytest.mark.parametrize("key,value", [c[1:] for c in SET_CASES], ids=[c[0] for c in SET_CASES])
def test_setitem_no_grad(key, value):
    xk, xt = kindling.tensor(r(3, 4)), torch.tensor(r(3, 4))
    xt.copy_(torch.tensor(xk.numpy()))
    v0 = xk._version
    xk[key(kindling)] = value(kindling)
    xt[key(torch)] = value(torch)
    assert_close(xk, xt)
    assert xk._version == v0 + 1


@pytest.mark.parametrize("key,value", [c[1:] for c in SET_CASES], ids=[c[0] for c in SET_CASES])
def test_setitem_autograd(key, value):
    a = r(3, 4)

    def fn(m, x, b):
        y = x * 1
        v = value(m)
        if isinstance(v, (m.Tensor,)):
            v = v * b.sum()  # the value takes part in autograd too
        y[key(m)] = v
        return y * y

    same(fn, a, r(2))


def test_setitem_value_grad_and_target_grad():
    def fn(m, a, b):
        x = a * 1
        x[0] = b
        return x

    same(fn, r(3, 4), r(4))
    same(fn, r(3, 4), r(1, 4))
    same(lambda m, a, b: (lambda x: (x.__setitem__((slice(None), m.tensor([0, 2])), b), x)[1])(
        a * 2), r(3, 4), r(3, 2))


def test_setitem_int_tensor_and_dtype_cast():
    xk, xt = kindling.zeros(3, dtype=kindling.int64), torch.zeros(3, dtype=torch.int64)
    xk[1] = 2.7
    xt[1] = 2.7
    assert xk.tolist() == xt.tolist()


def test_setitem_on_leaf_requiring_grad_raises():
    a = kindling.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        a[0] = 1.0
    with kindling.no_grad():
        a[0] = 1.0
    assert a.tolist() == [1.0, 0.0, 0.0]


def test_setitem_after_save_for_backward_raises():
    a = kindling.randn(3, requires_grad=True)
    x = a * 1
    y = (x * x).sum()  # saves x
    x[0] = 5.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()
    at = torch.randn(3, requires_grad=True)
    xt = at * 1
    yt = (xt * xt).sum()
    xt[0] = 5.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        yt.backward()


def test_setitem_through_view_no_grad_changes_base():
    x = kindling.zeros(2, 3)
    x[0][1] = 4.0
    x[1, :2] = kindling.tensor([1.0, 2.0])
    assert x.tolist() == [[0, 4, 0], [1, 2, 0]]


def test_setitem_shape_mismatch_error():
    with pytest.raises(RuntimeError, match="shape mismatch"):
        kindling.zeros(3, 4)[0] = kindling.ones(3)


def test_index_put():
    idx = lambda m: (m.tensor([0, 2, 0]), m.tensor([1, 1, 1]))  # noqa: E731
    same(lambda m, x, v: x.index_put(idx(m), v, accumulate=True), r(3, 4), r(3))
    same(lambda m, x, v: m.index_put(x, (m.tensor([1, 2]),), v), r(3, 4), r(4))
    xk, xt = kindling.zeros(3), torch.zeros(3)
    xk.index_put_((kindling.tensor([0, 0, 2]),), kindling.tensor(1.0), accumulate=True)
    xt.index_put_((torch.tensor([0, 0, 2]),), torch.tensor(1.0), accumulate=True)
    assert_close(xk, xt)

    def inplace(m, a, v):
        x = a * 1
        x.index_put_((m.tensor([0, 0]),), v, accumulate=True)
        return x
    same(inplace, r(3, 2), r(2))


# --- gather / scatter ----------------------------------------------------------------------------
IDX = np.array([[0, 1, 1], [2, 0, 0]])


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gather(dim):
    index = IDX if dim == 0 else np.array([[0, 1, 1, 1], [2, 0, 0, 1], [1, 1, 1, 1]])
    same(lambda m, x: m.gather(x, dim, m.tensor(index)), r(3, 4) if dim == 0 else r(3, 3))
    same(lambda m, x: x.gather(dim, m.tensor(index[:2, :2])), r(3, 4))


def test_gather_3d_and_smaller_index():
    index = rng.integers(0, 4, (2, 2, 3))
    same(lambda m, x: x.gather(1, m.tensor(index)), r(3, 4, 5))


SCATTERS = [
    ("scatter_src", lambda m, x, s: x.scatter(0, m.tensor([[0, 1, 2]]), s)),
    ("scatter_dim1", lambda m, x, s: m.scatter(x, 1, m.tensor([[2, 0], [1, 3]]), s)),
    ("scatter_value", lambda m, x, s: x.scatter(1, m.tensor([[2, 0], [1, 3]]), 5.0) * s.sum()),
    ("scatter_add", lambda m, x, s: x.scatter_add(0, m.tensor([[0, 1, 0, 0], [0, 0, 0, 1]]), s)),
    ("scatter_add_fn", lambda m, x, s: m.scatter_add(x, 1, m.tensor([[1, 1], [3, 3]]), s)),
    ("scatter_reduce_add", lambda m, x, s: x.scatter(0, m.tensor([[0, 0, 1]]), s, reduce="add")),
]


@pytest.mark.parametrize("fn", [c[1] for c in SCATTERS], ids=[c[0] for c in SCATTERS])
def test_scatter(fn):
    # src has index's shape: PyTorch's own backward rejects a larger src (see the next test)
    idx_shape = {"scatter_src": (1, 3), "scatter_dim1": (2, 2), "scatter_value": (2, 4),
                 "scatter_add": (2, 4), "scatter_add_fn": (2, 2), "scatter_reduce_add": (1, 3)}
    name = [c[0] for c in SCATTERS if c[1] is fn][0]
    same(fn, r(3, 4), r(2, 4), grad=False)  # larger src: forward only
    same(fn, r(3, 4), r(*idx_shape[name]), grad=name != "scatter_reduce_add")


def test_scatter_larger_src_grad():
    # PyTorch's autograd rejects this (its grad has index's shape); kindling returns the full shape
    x = kindling.zeros(3, 4, requires_grad=True)
    s = kindling.tensor(r(2, 4), requires_grad=True)
    x.scatter(0, kindling.tensor([[0, 1, 2]]), s).sum().backward()
    assert s.grad.tolist() == [[1, 1, 1, 0], [0, 0, 0, 0]]
    assert x.grad.tolist() == [[0, 1, 1, 1], [1, 0, 1, 1], [1, 1, 0, 1]]


@pytest.mark.parametrize("reduce", ["sum", "mean", "amax", "amin", "prod"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce(reduce, include_self):
    index = np.array([0, 2, 0, 0, 1, 0])
    x = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    src = np.array([5.0, 2.0, 5.0, -1.0, 0.5, 3.0], np.float32)  # ties at index 0 for amax
    fn = lambda m, a, s: a.scatter_reduce(0, m.tensor(index), s, reduce,  # noqa: E731
                                          include_self=include_self)
    same(fn, x, src, grad=reduce != "prod")


def test_scatter_inplace_methods():
    for name in ["scatter_", "scatter_add_"]:
        xk, xt = kindling.zeros(3, 4), torch.zeros(3, 4)
        sk, st_ = kindling.ones(2, 4), torch.ones(2, 4)
        getattr(xk, name)(0, kindling.tensor([[0, 1, 2, 0], [2, 2, 2, 0]]), sk)
        getattr(xt, name)(0, torch.tensor([[0, 1, 2, 0], [2, 2, 2, 0]]), st_)
        assert_close(xk, xt)


@pytest.mark.parametrize("fn", [
    lambda m, x: x.gather(0, m.tensor([[3, 0]])), lambda m, x: x.gather(0, m.tensor([[-1]])),
    lambda m, x: x.gather(0, m.tensor([0, 1])), lambda m, x: x.gather(1, m.tensor([[0.0]])),
    lambda m, x: x.gather(1, m.tensor([[0], [0], [0], [0]])),
    lambda m, x: x.scatter(0, m.tensor([[5]]), 1.0),
    lambda m, x: x.index_select(0, m.tensor([3])),
])
def test_gather_scatter_errors(fn):
    with pytest.raises((RuntimeError, IndexError)):
        fn(torch, torch.zeros(3, 2))
    with pytest.raises((RuntimeError, IndexError)) as info:
        fn(kindling, kindling.zeros(3, 2))
    assert "gather" in str(info.value) or "scatter" in str(info.value) or \
        "index" in str(info.value)


def test_gather_out_of_bounds_message():
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 0 with size 3"):
        kindling.zeros(3, 2).gather(0, kindling.tensor([[3]]))


# --- index_* -------------------------------------------------------------------------------------
INDEX_OPS = [
    ("index_select0", lambda m, x, s: x.index_select(0, m.tensor([2, 0, 2]))),
    ("index_select1", lambda m, x, s: m.index_select(x, 1, m.tensor([1]))),
    ("index_select0d", lambda m, x, s: m.index_select(x, -1, m.tensor(3))),
    ("index_add", lambda m, x, s: x.index_add(0, m.tensor([2, 2]), s)),
    ("index_add_alpha", lambda m, x, s: m.index_add(x, 0, m.tensor([0, 2]), s, alpha=-2.0)),
    ("index_copy", lambda m, x, s: x.index_copy(0, m.tensor([2, 0]), s)),
    ("index_fill", lambda m, x, s: x.index_fill(1, m.tensor([0, 3]), -1.0)),
    ("index_fill_tensor", lambda m, x, s: x.index_fill(0, m.tensor([1]), s.sum())),
    ("masked_fill", lambda m, x, s: x.masked_fill(m.tensor([True, False, False, True]), 2.0)),
    ("masked_fill_tensor", lambda m, x, s: m.masked_fill(x, m.tensor([[True], [False], [True]]),
                                                         s[0, 0])),
    ("masked_fill_bcast_out", lambda m, x, s: s[0].masked_fill(m.tensor([[True] * 4] * 2), 1.0)),
    ("masked_select", lambda m, x, s: x.masked_select(x > 0)),
    ("masked_select_bcast", lambda m, x, s: m.masked_select(s[0], m.tensor([[True], [False]]))),
    ("masked_scatter", lambda m, x, s: x.masked_scatter(m.tensor([[True, False, True, False]]), s)),
    ("take", lambda m, x, s: m.take(x, m.tensor([[0, 11], [5, 5]]))),
    ("take_neg", lambda m, x, s: x.take(m.tensor([-1, 0]))),
    ("take_along_dim", lambda m, x, s: m.take_along_dim(x, m.tensor([[0], [2], [1]]), 1)),
    ("take_along_dim_bcast", lambda m, x, s: x.take_along_dim(m.tensor([[0, 1, 1, 2]]), dim=0)),
    ("take_along_dim_none", lambda m, x, s: m.take_along_dim(x, m.tensor([3, 3, 0]))),
    ("take_along_argsort", lambda m, x, s: x.take_along_dim(m.tensor(np.argsort(
        np.arange(12).reshape(3, 4) % 5, 1)), 1)),
]


@pytest.mark.parametrize("fn", [c[1] for c in INDEX_OPS], ids=[c[0] for c in INDEX_OPS])
def test_index_ops(fn):
    same(fn, r(3, 4), r(2, 4))


def test_index_ops_0d():
    same(lambda m, x: m.index_select(x, 0, m.tensor([0])), np.float32(2.0))
    same(lambda m, x: x.index_fill(0, m.tensor([0]), 1.0), np.float32(2.0))
    same(lambda m, x, s: x.index_copy(0, m.tensor([0]), s), np.float32(2.0), np.float32(3.0))
    same(lambda m, x, s: x.index_add(0, m.tensor([0]), s), np.float32(2.0), np.float32(3.0))


def test_put_and_take():
    for acc in (False, True):
        res = []
        for m in (kindling, torch):
            x = m.zeros(2, 3)
            out = x.put_(m.tensor([1, -1, 1]), m.tensor([2.0, 3.0, 4.0]), accumulate=acc)
            assert out is x
            res.append(x)
        if acc:
            assert_close(*res)
        else:  # repeated index without accumulate: the value written is unspecified in torch
            assert res[0].tolist()[1][2] == 3.0

    def fn(m, a, s):
        x = a * 1
        x.put_(m.tensor([[0], [4]]), s, accumulate=True)
        return x
    same(fn, r(2, 3), r(2, 1))
    with pytest.raises(IndexError, match="out of range"):
        kindling.zeros(2, 2).take(kindling.tensor([4]))


def test_index_ops_inplace():
    for name, args in [("index_add_", (0, [0, 0], "src")), ("index_copy_", (0, [2, 1], "src")),
                       ("index_fill_", (1, [1], 3.0)), ("masked_fill_", ("mask", 3.0)),
                       ("masked_scatter_", ("mask", "src"))]:
        res = []
        for m in (kindling, torch):
            x = m.zeros(3, 4)
            a = [m.tensor(v) if isinstance(v, list) else
                 (m.ones(2, 4) if v == "src" else
                  m.tensor([True, False, True, False]) if v == "mask" else v)
                 for v in args]
            out = getattr(x, name)(*a)
            assert out is x
            res.append(x)
        assert_close(*res)


def test_index_ops_gradcheck():
    x = kindling.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    s = kindling.tensor(rng.standard_normal((2, 4)), requires_grad=True)
    i = kindling.tensor([2, 2])
    g = kindling.tensor([[0, 1, 1, 2], [2, 2, 0, 0]])
    for fn, inputs in [
        (lambda a: a.gather(0, g), (x,)),
        (lambda a: a.index_select(1, kindling.tensor([3, 3])), (x,)),
        (lambda a, b: a.index_add(0, i, b), (x, s)), (lambda a, b: a.scatter_add(0, g, b), (x, s)),
        (lambda a, b: a.scatter(0, kindling.tensor([[0, 1, 2, 0]]), b), (x, s)),
        (lambda a, b: a.index_copy(0, kindling.tensor([0, 2]), b), (x, s)),
        (lambda a: a.masked_fill(a > 0, 0.5), (x,)), (lambda a: a.masked_select(a > 0), (x,)),
        (lambda a: a.take(kindling.tensor([1, 1, 7])), (x,)),
        (lambda a, b: a.scatter_reduce(0, g, b, "mean"), (x, s)),
        (lambda a, b: a.scatter_reduce(0, g, b, "amax", include_self=False), (x, s)),
    ]:
        assert gradcheck(fn, inputs), fn
        assert gradgradcheck(fn, inputs), fn


# --- nonzero / where / one_hot -------------------------------------------------------------------
@pytest.mark.parametrize("a", [np.array([[0, 1, 0], [2, 0, 3]]), np.array([0.0, 1.5]),
                               np.array([True, False, True]), np.array(3.0), np.array(0),
                               np.zeros((2, 0))])
def test_nonzero(a):
    same(lambda m, x: m.nonzero(x), a, grad=False)
    same(lambda m, x: x.nonzero(as_tuple=True), a, grad=False)
    same(lambda m, x: m.argwhere(x), a, grad=False)
    if a.ndim:
        same(lambda m, x: m.where(x != 0), a, grad=False)


@pytest.mark.parametrize("a,n", [(np.array([0, 2, 1]), -1), (np.array([[1], [0]]), 4),
                                 (np.array(2), 3)])
def test_one_hot(a, n):
    out = one_hot(kindling.tensor(a), n)
    expected = torch.nn.functional.one_hot(torch.tensor(a), n)
    assert_close(out, expected)


def test_one_hot_errors():
    with pytest.raises(RuntimeError, match="non-negative"):
        one_hot(kindling.tensor([-1, 0]))
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        one_hot(kindling.tensor([3]), 2)
    with pytest.raises(RuntimeError, match="LongTensor"):
        one_hot(kindling.tensor([1.0]))
    assert not hasattr(kindling, "one_hot")


# --- property tests ------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), data=st.data())
def test_random_advanced_indexing(shape, data):
    a = np.random.default_rng(len(shape)).standard_normal(shape).astype(np.float32)
    key_np = []
    length = data.draw(st.integers(1, 4))  # index arrays in one key must broadcast together
    for n in shape[:data.draw(st.integers(1, len(shape)))]:
        kind = data.draw(st.sampled_from(["int", "slice", "array", "none"]))
        if kind == "int":
            key_np.append(data.draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            key_np.append(slice(data.draw(st.integers(0, n)), None, data.draw(st.integers(1, 2))))
        elif kind == "array":
            key_np.append(data.draw(st.lists(st.integers(-n, n - 1), min_size=length,
                                             max_size=length)))
        else:
            key_np += [None, slice(None)]
    key = tuple(key_np)
    k = lambda m: tuple(m.tensor(x) if isinstance(x, list) else x for x in key)  # noqa: E731
    same(lambda m, x: x[k(m)], a)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 5), m=st.integers(1, 4), data=st.data())
def test_random_gather_scatter_add(n, m, data):
    idx = np.array(data.draw(st.lists(st.lists(st.integers(0, n - 1), min_size=m, max_size=m),
                                      min_size=1, max_size=3)))
    same(lambda lib, x: x.gather(0, lib.tensor(idx)), r(n, m))
    same(lambda lib, x, s: x.scatter_add(0, lib.tensor(idx), s), r(n, m), r(*idx.shape))


# --- in-place ops on views of tensors that require grad (the base is rewritten) -------------------
def test_augmented_assignment_on_slices():
    def fn(m, a, b):
        x = a * 1
        x[:, 0] += b
        x[x > 0] *= 2
        x.index_put_((m.tensor([True, False, True]),), b[:1] * 3)
        x[0][2] = b[2]
        x.t()[3].zero_()
        return x

    same(fn, r(3, 4), r(3))


def test_inplace_on_view_reaches_base_and_args():
    def fn(m, a, b):
        x = a * 2
        v = x[1]
        v.mul_(b)
        w = x[:, 1:3]
        w.add_(1)
        return (v * 3).sum() + (x * x).sum() + (w * b[:2]).sum()

    same(fn, r(3, 4), r(4))

    def fn2(m, a, b):
        x = a.exp() * 1
        x.diagonal().copy_(b)
        x.permute(1, 0)[::2].sub_(b.sum())
        return x

    same(fn2, r(3, 3), r(3))


def test_views_made_before_an_inplace_op_see_it_in_their_gradients():
    """Like PyTorch, an in-place op through the base or any view changes the grad_fn of every
    other view made earlier (here each in-place op scales, so a stale view would miss it)."""
    def through_sibling(m, a, b):
        x = a * 1
        first, last, middle = x[0], x[2:], x[1:3]        # middle overlaps the rewritten rows
        col = x.t()[1]                                   # a view of a view, transposed
        x[1:3].mul_(b)
        return (first * 2).sum() + (last * 3).sum() + (middle * middle).sum() + \
            (col * b[1]).sum() + (x * 7).sum()

    same(through_sibling, r(4, 3), r(3))

    def through_base(m, a, b):
        x = a * 1
        row, flat = x[1], x.reshape(-1)
        x.mul_(b)                                        # the base itself, in place
        x[0].add_(row)                                   # then a view, reading another view
        return (row * 5).sum() + (flat * flat).sum()

    same(through_base, r(3, 3), r(3))


def test_inplace_on_view_gradgradcheck():
    a = kindling.tensor(rng.standard_normal((3, 2)), requires_grad=True)

    def fn(t):
        x = t * 1
        x[1:].mul_(t[0])
        return x

    assert gradcheck(fn, (a,))
    assert gradgradcheck(fn, (a,))


def test_inplace_on_view_of_leaf_raises():
    a = kindling.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        a[0:2].add_(1)
    x = a * 1
    y = (x * x).sum()
    x[0:1].add_(1)  # x was saved by the multiplication
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()
