"""Tensor basics against PyTorch: creation, dtypes and promotion, printing, conversion, RNG."""
import itertools

import numpy as np
import pytest
import torch

import kindling


def same(k, t):
    assert str(k.dtype) == str(t.dtype), (k.dtype, t.dtype)
    assert tuple(k.shape) == tuple(t.shape)
    np.testing.assert_allclose(k.numpy(), t.numpy(), rtol=1e-6)


@pytest.mark.parametrize("data", [
    1.5, 3, True, [1, 2], [1.0, 2], [[1, 2], [3, 4]], [True, False], [], [[]],
    np.arange(3, dtype=np.float64), np.arange(3, dtype=np.int32), np.float32(2.5),
])
def test_tensor_infers_dtype_like_torch(data):
    same(kindling.tensor(data), torch.tensor(data))


def test_tensor_of_tensors_and_legacy_constructor():
    same(kindling.tensor([kindling.tensor(1.0), kindling.tensor(2.0)]),
         torch.tensor([torch.tensor(1.0), torch.tensor(2.0)]))
    same(kindling.Tensor([1, 2]), torch.Tensor([1, 2]))
    same(kindling.Tensor(2, 3), torch.Tensor(2, 3).zero_())


@pytest.mark.parametrize("name,args,kwargs", [
    ("zeros", (2, 3), {}), ("ones", ((2, 3),), {}), ("zeros", (0, 3), {}),
    ("ones", (2,), {"dtype": "int64"}), ("full", ((2, 2), 7), {}), ("full", ((2,), 1.5), {}),
    ("full", ((2,), True), {}), ("arange", (5,), {}), ("arange", (1, 4, 0.5), {}),
    ("arange", (0.0, 1.0, 0.1), {}), ("arange", (10, 0, -3), {}), ("linspace", (0, 1, 7), {}),
    ("logspace", (0, 2, 5), {}), ("eye", (3,), {}), ("eye", (2, 4), {}),
    ("empty", (3,), {}),
])
def test_factories_match_torch(name, args, kwargs):
    kw_k = {k: getattr(kindling, v) for k, v in kwargs.items()}
    kw_t = {k: getattr(torch, v) for k, v in kwargs.items()}
    k, t = getattr(kindling, name)(*args, **kw_k), getattr(torch, name)(*args, **kw_t)
    if name == "empty":
        assert tuple(k.shape) == tuple(t.shape) and str(k.dtype) == str(t.dtype)
    else:
        same(k, t)


def test_like_factories():
    base_k, base_t = kindling.ones(2, 3, dtype=kindling.float64), torch.ones(2, 3, dtype=torch.float64)
    for name in ["zeros_like", "ones_like"]:
        same(getattr(kindling, name)(base_k), getattr(torch, name)(base_t))
    same(kindling.full_like(base_k, 4), torch.full_like(base_t, 4))
    assert kindling.randn_like(base_k).dtype == kindling.float64
    assert kindling.rand_like(base_k).shape == (2, 3)


_DTYPES = ["bool", "uint8", "int32", "int64", "float32", "float64"]


@pytest.mark.parametrize("da,db", list(itertools.product(_DTYPES, _DTYPES)))
def test_type_promotion_matches_torch(da, db):
    for sa, sb in [((2,), (2,)), ((2,), ()), ((), (2,)), ((), ())]:
        tk = kindling.ones(sa, dtype=getattr(kindling, da))
        uk = kindling.ones(sb, dtype=getattr(kindling, db))
        tt = torch.ones(sa, dtype=getattr(torch, da))
        ut = torch.ones(sb, dtype=getattr(torch, db))
        assert str((tk + uk).dtype) == str(torch.result_type(tt, ut)), (da, db, sa, sb)
    for scalar in [2, 2.5, True]:
        tk, tt = kindling.ones(2, dtype=getattr(kindling, da)), torch.ones(2, dtype=getattr(torch, da))
        if da == "bool" and scalar is True:
            continue  # torch adds bools with +; NumPy's bool + is logical or: covered elsewhere
        assert str((tk * scalar).dtype) == str((tt * scalar).dtype), (da, scalar)
        assert str((scalar * tk).dtype) == str((scalar * tt).dtype), (da, scalar)


def test_integer_true_division_gives_float32():
    same(kindling.tensor([1, 2]) / kindling.tensor([2, 4]),
         torch.tensor([1, 2]) / torch.tensor([2, 4]))


@pytest.mark.parametrize("make", [
    lambda m: m.tensor([1.0, 2.0]),
    lambda m: m.tensor([[1.5, 2], [3, 4]]),
    lambda m: m.tensor(3),
    lambda m: m.tensor([1, 2]),
    lambda m: m.tensor([True, False]),
    lambda m: m.ones(2, dtype=m.float64),
    lambda m: m.zeros(0, 3),
    lambda m: m.tensor([1e-5, 1e5]),
    lambda m: m.tensor([1.123456789, 100.0]),
    lambda m: m.tensor([[1.0, -2.5], [float("nan"), float("inf")]]),
    lambda m: m.tensor(2.5, requires_grad=True),
    lambda m: m.ones(2, requires_grad=True) * 2,
    lambda m: m.arange(12.0).reshape(3, 4),
    lambda m: m.tensor([123456789.0, 1.0]),
])
def test_repr_matches_torch(make):
    assert repr(make(kindling)) == repr(make(torch))


def test_size_and_conversions():
    x = kindling.arange(6.0).reshape(2, 3)
    assert repr(x.shape) == "torch.Size([2, 3])" and x.size(1) == 3 and x.size(-1) == 3
    assert x.numel() == 6 and x.dim() == 2 and x.ndim == 2
    assert x.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert kindling.tensor(2.5).item() == 2.5 and isinstance(kindling.tensor(3).item(), int)
    assert float(kindling.tensor([1.5])) == 1.5 and int(kindling.tensor(7)) == 7
    assert f"{kindling.tensor(3.14159):.2f}" == "3.14"
    assert len(x) == 2 and [r.tolist() for r in x] == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert x.long().dtype == kindling.int64 and x.double().dtype == kindling.float64
    assert x.to(kindling.int32).dtype == kindling.int32 and x.type_as(kindling.tensor(1)).dtype == kindling.int64
    assert x.type() == "torch.FloatTensor"
    with pytest.raises(RuntimeError, match="cannot be converted to Scalar"):
        x.item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(x)
    with pytest.raises(IndexError, match="dimension out of range"):
        x.size(2)


def test_device_api():
    d = kindling.device("cpu")
    x = kindling.ones(2)
    assert x.device == d and str(x.device) == "cpu" and repr(d) == "device(type='cpu')"
    assert x.to("cpu") is x and x.cpu() is x and x.to(d, kindling.float64).dtype == kindling.float64
    kindling.device("cuda")  # constructing is fine, as in torch
    with pytest.raises(RuntimeError, match="CPU only"):
        x.to("cuda")
    with pytest.raises(RuntimeError, match="CPU only"):
        x.cuda()
    with pytest.raises(RuntimeError, match="CPU only"):
        kindling.zeros(2, device="cuda")
    assert kindling.zeros(2, device="cpu").shape == (2,)


def test_data_is_a_detached_view_sharing_memory():
    x = kindling.ones(3, requires_grad=True)
    d = x.data
    assert not d.requires_grad
    d[0] = 5.0
    d.mul_(2)
    np.testing.assert_allclose(x.detach().numpy(), [10.0, 2.0, 2.0])
    assert x._version == 2


def test_manual_seed_reproduces_every_distribution():
    def draw():
        return [kindling.rand(3).tolist(), kindling.randn(2, 2).tolist(),
                kindling.randint(0, 10, (5,)).tolist(), kindling.randperm(6).tolist(),
                kindling.normal(0.0, 1.0, (3,)).tolist(),
                kindling.multinomial(kindling.tensor([0.2, 0.8]), 4, replacement=True).tolist()]
    kindling.manual_seed(123)
    first = draw()
    kindling.manual_seed(123)
    assert draw() == first
    state = kindling.get_rng_state()
    after = draw()
    kindling.set_rng_state(state)
    assert draw() == after


def test_generator_is_independent_of_global_state():
    g = kindling.Generator().manual_seed(7)
    a = kindling.randn(4, generator=g).tolist()
    kindling.randn(10)
    g2 = kindling.Generator().manual_seed(7)
    assert kindling.randn(4, generator=g2).tolist() == a
    s = g.get_state()
    b = kindling.rand(3, generator=g).tolist()
    g.set_state(s)
    assert kindling.rand(3, generator=g).tolist() == b
    with pytest.raises(RuntimeError, match="not a kindling RNG state"):
        g.set_state(kindling.tensor([1, 2, 3], dtype=kindling.uint8))


def test_distributions_have_right_statistics():
    kindling.manual_seed(0)
    n = 200_000
    u = kindling.rand(n).numpy()
    assert u.dtype == np.float32 and 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    z = kindling.randn(n).numpy()
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
    r = kindling.randint(3, 7, (n,)).numpy()
    assert set(np.unique(r)) == {3, 4, 5, 6} and r.dtype == np.int64
    p = kindling.randperm(50).numpy()
    assert sorted(p.tolist()) == list(range(50))
    b = kindling.bernoulli(kindling.full((n,), 0.3)).numpy()
    assert abs(b.mean() - 0.3) < 0.01
    m = kindling.multinomial(kindling.tensor([0.1, 0.2, 0.7]), n, replacement=True).numpy()
    np.testing.assert_allclose(np.bincount(m) / n, [0.1, 0.2, 0.7], atol=0.01)
    w = kindling.multinomial(kindling.tensor([[1.0, 1, 1, 1]]), 4).numpy()
    assert sorted(w[0].tolist()) == [0, 1, 2, 3]
    x = kindling.empty(n).uniform_(-2, 2).numpy()
    assert -2 <= x.min() and x.max() <= 2 and abs(x.mean()) < 0.02
    y = kindling.empty(n).normal_(3, 2).numpy()
    assert abs(y.mean() - 3) < 0.03 and abs(y.std() - 2) < 0.03


def test_factory_errors_are_clear():
    with pytest.raises(RuntimeError, match="randint: expected low < high"):
        kindling.randint(5, 2, (3,))
    with pytest.raises(RuntimeError, match="multinomial: cannot sample"):
        kindling.multinomial(kindling.tensor([1.0, 0.0]), 2)
    with pytest.raises(TypeError, match="from_numpy: expected np.ndarray"):
        kindling.from_numpy([1, 2])
    with pytest.raises(TypeError, match="no dtype for NumPy dtype"):
        kindling.from_numpy(np.array(["a"]))
    with pytest.raises(RuntimeError, match="negative dimension"):
        kindling.zeros(-1)


def test_from_numpy_and_as_tensor_share_memory():
    a = np.zeros(3, np.float32)
    t = kindling.from_numpy(a)
    a[0] = 4
    assert t[0].item() == 4
    assert kindling.as_tensor(a).numpy() is a
    assert kindling.tensor(a).numpy() is not a


def test_no_silent_float64_upcast():
    x = kindling.randn(3)
    for y in [x * 2.5, x + 1, 2 ** x, x / 3, x ** 0.5, x * np.float32(2), x.exp() * 1e-3]:
        assert y.dtype == kindling.float32


def test_tensors_refuse_pickle():
    import pickle
    with pytest.raises(TypeError, match="kindling.save"):
        pickle.dumps(kindling.ones(2))


@pytest.mark.parametrize("make", [
    lambda m: m.arange(2000.0), lambda m: m.arange(1000.0), lambda m: m.arange(12.0).reshape(3, 4) * 1e5,
])
def test_repr_of_large_and_summarized_tensors_matches_torch(make):
    assert repr(make(kindling)) == repr(make(torch))


def test_set_printoptions_matches_torch():
    try:
        for m in (kindling, torch):
            m.set_printoptions(precision=2)
        assert repr(kindling.tensor([1.12345, 2.5])) == repr(torch.tensor([1.12345, 2.5]))
    finally:
        for m in (kindling, torch):
            m.set_printoptions(profile="default")


def test_numpy_arrays_act_as_tensors_in_operators():
    for m in (kindling, torch):
        a = m.ones(2)
        r1, r2 = a + np.ones(2), a * np.ones(2, np.float32)
        assert type(r1).__name__ == "Tensor" and type(r2).__name__ == "Tensor"
        assert str(r1.dtype) == "torch.float64" and str(r2.dtype) == "torch.float32"
    # kindling also keeps the graph, and accepts the array on the left (torch raises there)
    w = kindling.ones(2, requires_grad=True)
    for r in (w * np.ones(2, np.float32), np.ones(2, np.float32) * w):
        assert isinstance(r, kindling.Tensor) and r.requires_grad
