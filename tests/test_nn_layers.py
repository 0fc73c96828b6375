"""Layers and containers vs PyTorch: same weights, same outputs and gradients."""
from collections import OrderedDict

import numpy as np
import pytest
import torch

import kindling
import kindling.nn as nn
import kindling.nn.functional as F
from oracle import assert_close, check


def rand(*shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def sync(k_module, t_module):
    """Copy kindling's parameters and buffers into the torch module."""
    t_module.load_state_dict({k: torch.tensor(v.numpy().copy())
                              for k, v in k_module.state_dict().items()})


def compare_module(k_module, t_module, *inputs, rtol=1e-5, atol=1e-6):
    """Forward and backward of a random weighted sum; compare outputs, input grads and
    parameter grads."""
    sync(k_module, t_module)
    ks = [kindling.tensor(a, requires_grad=a.dtype.kind == "f") for a in inputs]
    ts = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in inputs]
    out_k, out_t = k_module(*ks), t_module(*ts)
    assert_close(out_k, out_t, rtol, atol)
    w = rand(*out_t.shape, seed=99)
    (out_k * kindling.tensor(w)).sum().backward()
    (out_t * torch.tensor(w)).sum().backward()
    for i, (a, b) in enumerate(zip(ks, ts)):
        if b.requires_grad:
            assert_close(a.grad, b.grad, rtol * 10, atol * 10, f"input grad {i}")
    pk, pt = dict(k_module.named_parameters()), dict(t_module.named_parameters())
    assert list(pk) == list(pt)
    for name in pk:
        assert_close(pk[name].grad, pt[name].grad, rtol * 10, atol * 10, f"grad of {name}")


# --- Linear / Bilinear / Identity ---------------------------------------------------------------
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (4,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear(shape, bias):
    compare_module(nn.Linear(4, 3, bias=bias), torch.nn.Linear(4, 3, bias=bias), rand(*shape))


def test_linear_float64_and_errors():
    k = nn.Linear(4, 3, dtype=kindling.float64)
    assert k.weight.dtype == kindling.float64
    t = torch.nn.Linear(4, 3, dtype=torch.float64)
    compare_module(k, t, rand(2, 4, dtype=np.float64))
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        nn.Linear(4, 3)(kindling.randn(2, 5))
    with pytest.raises(RuntimeError, match="same dtype"):
        nn.Linear(4, 3)(kindling.randn(2, 4, dtype=kindling.float64))


def test_linear_default_init_bounds():
    k = nn.Linear(400, 300)
    w, b = k.weight.detach().numpy(), k.bias.detach().numpy()
    bound = 1 / np.sqrt(400)  # kaiming_uniform_(a=sqrt(5)) gives exactly this bound
    t = torch.nn.Linear(400, 300)
    tw = t.weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert abs(np.abs(w).max() - np.abs(tw).max()) < 1e-3
    # uniform: std = bound / sqrt(3)
    assert abs(w.std() - tw.std()) < 0.02 * tw.std()
    assert abs(w.mean()) < 1e-3
    # a fresh layer gets fresh weights; reproducible under a seed
    kindling.manual_seed(3)
    a = nn.Linear(3, 3).weight.detach().numpy().copy()
    kindling.manual_seed(3)
    np.testing.assert_array_equal(a, nn.Linear(3, 3).weight.detach().numpy())


def test_linear_double_backward():
    x = kindling.randn(3, 4, dtype=kindling.float64, requires_grad=True)
    w = kindling.randn(2, 4, dtype=kindling.float64, requires_grad=True)
    xt = torch.tensor(x.detach().numpy(), requires_grad=True)
    wt = torch.tensor(w.detach().numpy(), requires_grad=True)
    gk, = kindling.autograd.grad((F.linear(x, w) ** 2).sum(), x, create_graph=True)
    gt, = torch.autograd.grad((torch.nn.functional.linear(xt, wt) ** 2).sum(), xt,
                              create_graph=True)
    gk.sum().backward()
    gt.sum().backward()
    assert_close(w.grad, wt.grad)


def test_bilinear():
    compare_module(nn.Bilinear(3, 4, 2), torch.nn.Bilinear(3, 4, 2), rand(5, 3), rand(5, 4, seed=1))
    compare_module(nn.Bilinear(3, 4, 2, bias=False), torch.nn.Bilinear(3, 4, 2, bias=False),
                   rand(2, 5, 3), rand(2, 5, 4, seed=1))
    assert repr(nn.Bilinear(3, 4, 2)) == repr(torch.nn.Bilinear(3, 4, 2))


def test_identity():
    x = kindling.randn(2)
    assert nn.Identity(54, unused="x")(x) is x
    assert repr(nn.Identity()) == "Identity()"


# --- activations --------------------------------------------------------------------------------
ACTIVATIONS = [
    ("ReLU", (), {}), ("ReLU6", (), {}), ("LeakyReLU", (0.2,), {}), ("ELU", (), {"alpha": 0.7}),
    ("SELU", (), {}), ("CELU", (1.3,), {}), ("GELU", (), {}), ("GELU", ("tanh",), {}),
    ("SiLU", (), {}), ("Mish", (), {}), ("Sigmoid", (), {}), ("Tanh", (), {}),
    ("Hardtanh", (-0.5, 0.7), {}), ("Hardsigmoid", (), {}), ("Hardswish", (), {}),
    ("Softplus", (), {"beta": 2.0, "threshold": 5.0}), ("Softsign", (), {}),
    ("Softmax", (), {"dim": 1}), ("LogSoftmax", (), {"dim": -1}), ("Softmin", (), {"dim": 0}),
    ("Threshold", (0.1, 20.0), {}), ("LogSigmoid", (), {}), ("Tanhshrink", (), {}),
    ("Softshrink", (0.3,), {}), ("Hardshrink", (0.3,), {}), ("GLU", (), {"dim": 1}),
]


def _away_from_kinks(shape, seed=0):
    x = rand(*shape, seed=seed) * 3
    for k in (0.0, 0.1, 0.3, -0.3, 0.5, -0.5, 0.7, -0.7, 3.0, -3.0, 6.0, 2.5):
        x[np.abs(x - k) < 1e-2] += 0.05
    return x


@pytest.mark.parametrize("name,args,kwargs", ACTIVATIONS, ids=lambda v: str(v))
def test_activation_modules(name, args, kwargs):
    k = getattr(nn, name)(*args, **kwargs)
    t = getattr(torch.nn, name)(*args, **kwargs)
    assert repr(k) == repr(t)
    compare_module(k, t, _away_from_kinks((4, 6)))


def test_prelu():
    compare_module(nn.PReLU(), torch.nn.PReLU(), _away_from_kinks((4, 3, 5)))
    k, t = nn.PReLU(3, init=0.1), torch.nn.PReLU(3, init=0.1)
    assert repr(k) == repr(t)
    np.testing.assert_allclose(k.weight.detach().numpy(), t.weight.detach().numpy())
    compare_module(k, t, _away_from_kinks((4, 3, 5)))


INPLACE = [("ReLU", ()), ("ReLU6", ()), ("LeakyReLU", (0.1,)), ("ELU", ()), ("SELU", ()),
           ("CELU", ()), ("SiLU", ()), ("Mish", ()), ("Hardtanh", ()), ("Hardsigmoid", ()),
           ("Hardswish", ()), ("Threshold", (0.1, 2.0))]


@pytest.mark.parametrize("name,args", INPLACE, ids=lambda v: str(v))
def test_inplace_activations(name, args):
    k = getattr(nn, name)(*args, inplace=True)
    t = getattr(torch.nn, name)(*args, inplace=True)
    assert repr(k) == repr(t)
    x = _away_from_kinks((3, 4))
    xk, xt = kindling.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    hk, ht = xk * 1, xt * 1  # non-leaf, so in place is allowed
    ok, ot = k(hk), t(ht)
    assert ok is hk  # really in place
    assert_close(hk, ht)
    (ok * kindling.tensor(x)).sum().backward()
    (ot * torch.tensor(x)).sum().backward()
    assert_close(xk.grad, xt.grad)


def test_functional_activations_signatures():
    x = _away_from_kinks((3, 5))
    tf = torch.nn.functional
    cases = [
        (lambda a: F.relu(a), lambda a: tf.relu(a)),
        (lambda a: F.leaky_relu(a, 0.3), lambda a: tf.leaky_relu(a, 0.3)),
        (lambda a: F.elu(a, 0.5), lambda a: tf.elu(a, 0.5)),
        (lambda a: F.hardtanh(a, -2.0, 2.0), lambda a: tf.hardtanh(a, -2.0, 2.0)),
        (lambda a: F.softplus(a, 3.0, 4.0), lambda a: tf.softplus(a, 3.0, 4.0)),
        (lambda a: F.gelu(a, approximate="tanh"), lambda a: tf.gelu(a, approximate="tanh")),
        (lambda a: F.softmax(a, dim=0), lambda a: tf.softmax(a, dim=0)),
        (lambda a: F.log_softmax(a, 1), lambda a: tf.log_softmax(a, 1)),
        (lambda a: F.softmin(a, 1), lambda a: tf.softmin(a, 1)),
        (lambda a: F.softmax(a, 1, dtype=kindling.float64),
         lambda a: tf.softmax(a, 1, dtype=torch.float64)),
        (lambda a: F.glu(a[:, :4], -1), lambda a: tf.glu(a[:, :4], -1)),
        (lambda a: F.threshold(a, 0.5, -1.0), lambda a: tf.threshold(a, 0.5, -1.0)),
        (lambda a: F.sigmoid(a), lambda a: tf.sigmoid(a)),
        (lambda a: F.tanh(a), lambda a: tf.tanh(a)),
    ]
    for fk, ft in cases:
        check(fk, ft, x)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        out = F.softmax(kindling.tensor(x))
    assert_close(out, tf.softmax(torch.tensor(x), dim=1))
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        F.hardtanh(kindling.tensor(x), 1.0, 0.0)


# --- dropout ------------------------------------------------------------------------------------
def test_dropout_statistics():
    x = kindling.ones(200, 500)
    for p in (0.2, 0.5, 0.8):
        y = nn.Dropout(p)(x).numpy()
        kept = y != 0
        assert abs(kept.mean() - (1 - p)) < 0.01
        np.testing.assert_allclose(y[kept], 1 / (1 - p), rtol=1e-6)
        assert abs(y.mean() - 1.0) < 0.03  # expectation preserved


def test_dropout_gradient_uses_mask():
    x = kindling.randn(50, 40, requires_grad=True)
    y = F.dropout(x, 0.3)
    y.sum().backward()
    mask = (y.detach().numpy() != 0)
    np.testing.assert_allclose(x.grad.numpy(), mask / 0.7, rtol=1e-6)


def test_dropout_eval_and_edges():
    x = kindling.randn(10, 10)
    m = nn.Dropout(0.5).eval()
    assert m(x) is x
    assert F.dropout(x, 0.5, training=False) is x
    assert nn.Dropout(0.0)(x) is x
    assert not nn.Dropout(1.0)(x).numpy().any()
    for bad in (-0.1, 1.1):
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
            nn.Dropout(bad)
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
            F.dropout(x, bad)
    assert repr(nn.Dropout(0.3)) == repr(torch.nn.Dropout(0.3))
    assert repr(nn.Dropout2d(0.3, inplace=True)) == repr(torch.nn.Dropout2d(0.3, inplace=True))
    # reproducible under a seed
    kindling.manual_seed(5)
    a = F.dropout(kindling.ones(20)).numpy().copy()
    kindling.manual_seed(5)
    np.testing.assert_array_equal(a, F.dropout(kindling.ones(20)).numpy())


def test_dropout_inplace_and_dtype():
    x = kindling.ones(100, 100, dtype=kindling.float64)
    y = F.dropout(x, 0.5, inplace=True)
    assert y is x and x.dtype == kindling.float64
    assert 0.4 < (x.numpy() == 0).mean() < 0.6


def test_dropout2d_drops_channels():
    x = kindling.ones(8, 16, 5, 5)
    y = nn.Dropout2d(0.5)(x).numpy()
    per_channel = y.reshape(8, 16, 25)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))


def test_alpha_dropout_keeps_moments():
    x = kindling.randn(400, 500)
    y = nn.AlphaDropout(0.2).train()(x).numpy()
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02
    assert nn.AlphaDropout(0.2).eval()(x) is x


# --- flatten ------------------------------------------------------------------------------------
def test_flatten_unflatten():
    x = rand(2, 3, 4, 5)
    check(lambda a: nn.Flatten()(a), lambda a: torch.nn.Flatten()(a), x)
    check(lambda a: nn.Flatten(0, 2)(a), lambda a: torch.nn.Flatten(0, 2)(a), x)
    check(lambda a: nn.Unflatten(1, (3, 1))(a), lambda a: torch.nn.Unflatten(1, (3, 1))(a), x)
    check(lambda a: nn.Unflatten(-1, (-1, 5))(a),
          lambda a: torch.nn.Unflatten(-1, (-1, 5))(a), x)
    assert repr(nn.Flatten(0, 2)) == repr(torch.nn.Flatten(0, 2))
    assert repr(nn.Unflatten(1, (3, 1))) == repr(torch.nn.Unflatten(1, (3, 1)))


# --- containers ---------------------------------------------------------------------------------
def test_sequential_api():
    a, b, c = nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1)
    s = nn.Sequential(a, b, c)
    assert len(s) == 3 and s[0] is a and s[-1] is c and list(s) == [a, b, c]
    sl = s[1:]
    assert isinstance(sl, nn.Sequential) and list(sl) == [b, c]
    assert list(sl._modules) == ["1", "2"]  # slicing keeps the names, as in PyTorch
    with pytest.raises(IndexError, match="index 3 is out of range"):
        s[3]
    s2 = nn.Sequential(OrderedDict([("fc", a), ("act", b)]))
    assert s2.fc is a and [n for n, _ in s2.named_children()] == ["fc", "act"]
    s.append(nn.Tanh())
    assert len(s) == 4
    s.insert(1, nn.Identity())
    assert isinstance(s[1], nn.Identity) and s[2] is b
    del s[1]
    assert s[1] is b and list(s._modules) == ["0", "1", "2", "3"]
    popped = s.pop(-1)
    assert isinstance(popped, nn.Tanh) and len(s) == 3
    s[1] = nn.Sigmoid()
    assert isinstance(s[1], nn.Sigmoid)
    s.extend([nn.ReLU()])
    assert len(s) == 4
    combined = s + nn.Sequential(nn.Tanh())
    assert len(combined) == 5 and len(s) == 4
    with pytest.raises(ValueError, match="add operator supports only objects of Sequential"):
        s + [nn.Tanh()]
    x = kindling.randn(3, 2)
    seq = nn.Sequential(a, nn.ReLU(), c)
    expected = c(F.relu(a(x)))
    assert_close(seq(x), expected.detach().numpy())
    assert len(nn.Sequential(nn.ReLU()) * 3) == 3


def test_module_list_api():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(layers) == 3 and len(list(layers.parameters())) == 6
    assert isinstance(layers[1:], nn.ModuleList) and len(layers[1:]) == 2
    assert layers[-1] is layers[2]
    layers.append(nn.ReLU())
    layers.extend([nn.Tanh()])
    layers += [nn.Sigmoid()]
    assert [type(m).__name__ for m in layers][-3:] == ["ReLU", "Tanh", "Sigmoid"]
    layers.insert(0, nn.Identity())
    assert isinstance(layers[0], nn.Identity) and len(layers) == 7
    del layers[0]
    assert len(layers) == 6 and list(layers._modules) == [str(i) for i in range(6)]
    assert isinstance(layers.pop(-1), nn.Sigmoid)
    layers[0] = nn.Tanh()
    assert isinstance(layers[0], nn.Tanh)
    with pytest.raises(IndexError):
        layers[10]
    t = torch.nn.ModuleList([torch.nn.Linear(2, 2) for _ in range(3)] + [torch.nn.ReLU()])
    k = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU()])
    assert repr(k) == repr(t)
    assert len(k + layers) == len(k) + len(layers)


def test_module_dict_api():
    d = nn.ModuleDict({"b": nn.Linear(2, 2), "a": nn.ReLU()})
    assert list(d.keys()) == ["b", "a"] and "a" in d and len(d) == 2
    d["c"] = nn.Tanh()
    assert list(d) == ["b", "a", "c"]
    assert isinstance(d.pop("a"), nn.ReLU) and "a" not in d
    d.update([("e", nn.Sigmoid())])
    assert [k for k, _ in d.items()] == ["b", "c", "e"]
    assert len(list(d.values())) == 3
    assert [n for n, _ in d.named_parameters()] == ["b.weight", "b.bias"]
    d.clear()
    assert len(d) == 0


def test_parameter_list_and_dict():
    pl = nn.ParameterList([nn.Parameter(kindling.randn(2)), kindling.randn(3)])
    assert isinstance(pl[1], nn.Parameter) and len(pl) == 2
    pl.append(kindling.zeros(4))
    assert [n for n, _ in pl.named_parameters()] == ["0", "1", "2"]
    tl = torch.nn.ParameterList([torch.nn.Parameter(torch.randn(2)), torch.randn(3),
                                 torch.zeros(4)])
    assert repr(pl) == repr(tl)
    pd = nn.ParameterDict({"w": kindling.randn(2, 2), "b": nn.Parameter(kindling.zeros(2))})
    assert list(pd.keys()) == ["b", "w"]  # plain dicts are sorted, as in PyTorch
    assert isinstance(pd["w"], nn.Parameter)
    td = torch.nn.ParameterDict({"w": torch.randn(2, 2), "b": torch.nn.Parameter(torch.zeros(2))})
    assert repr(pd) == repr(td)
    assert [n for n, _ in pd.named_parameters()] == [n for n, _ in td.named_parameters()]
    assert "w" in pd and pd.get("z") is None
    pd["z"] = kindling.ones(1)
    assert isinstance(pd.pop("z"), nn.Parameter) and "z" not in pd
    m = nn.Module()
    m.plist = pl
    assert len(list(m.parameters())) == 3


# --- functional composites ----------------------------------------------------------------------
def test_normalize_cosine_pairwise():
    tf = torch.nn.functional
    x, y = rand(4, 5), rand(4, 5, seed=1)
    check(lambda a: F.normalize(a), lambda a: tf.normalize(a), x)
    check(lambda a: F.normalize(a, p=1.0, dim=0), lambda a: tf.normalize(a, p=1.0, dim=0), x)
    z = x.copy()
    z[1] = 0  # a zero row: clamped by eps, finite gradient
    check(lambda a: F.normalize(a, dim=1), lambda a: tf.normalize(a, dim=1), z)
    check(lambda a, b: F.cosine_similarity(a, b), lambda a, b: tf.cosine_similarity(a, b), x, y)
    check(lambda a, b: F.cosine_similarity(a, b, dim=0),
          lambda a, b: tf.cosine_similarity(a, b, dim=0), x, y)
    check(lambda a, b: F.cosine_similarity(a, b, dim=-1),
          lambda a, b: tf.cosine_similarity(a, b, dim=-1), x, rand(1, 5, seed=2))
    check(lambda a, b: F.pairwise_distance(a, b), lambda a, b: tf.pairwise_distance(a, b), x, y)
    check(lambda a, b: F.pairwise_distance(a, b, p=1.0, keepdim=True),
          lambda a, b: tf.pairwise_distance(a, b, p=1.0, keepdim=True), x, y)
    check(lambda a, b: F.pairwise_distance(a, b, p=3.0),
          lambda a, b: tf.pairwise_distance(a, b, p=3.0), x, y)


def test_functional_reexports():
    x = kindling.tensor([[1.0, 2.0]])
    assert_close(F.pad(x, (1, 1)), torch.nn.functional.pad(torch.tensor([[1.0, 2.0]]), (1, 1)))
    assert_close(F.one_hot(kindling.tensor([0, 2]), 3),
                 torch.nn.functional.one_hot(torch.tensor([0, 2]), 3))
    y = x * 1
    assert F.relu_(y) is y
    kindling.manual_seed(0)
    g = F.gumbel_softmax(kindling.randn(4, 3), tau=0.5, hard=True)
    np.testing.assert_array_equal(g.numpy().sum(1), np.ones(4))


def test_pdist_softmax2d_rrelu():
    tf = torch.nn.functional
    check(lambda a: F.pdist(a), lambda a: tf.pdist(a), rand(5, 3))
    check(lambda a: F.pdist(a, p=1), lambda a: tf.pdist(a, p=1), rand(4, 3))
    compare_module(nn.Softmax2d(), torch.nn.Softmax2d(), rand(2, 3, 4, 4))
    assert repr(nn.RReLU(0.1, 0.3, inplace=True)) == repr(torch.nn.RReLU(0.1, 0.3, inplace=True))
    r = nn.RReLU().eval()
    compare_module(r, torch.nn.RReLU().eval(), _away_from_kinks((3, 4)))
    y = nn.RReLU(0.1, 0.3).train()(kindling.full((1000,), -1.0)).numpy()
    assert -0.3 <= y.min() and y.max() <= -0.1 and abs(y.mean() + 0.2) < 0.01


# --- finite differences and random shapes -------------------------------------------------------
def test_gradcheck_linear_bilinear_composites():
    from kindling.autograd import gradcheck, gradgradcheck
    d = kindling.float64
    x = kindling.randn(3, 4, dtype=d, requires_grad=True)
    w = kindling.randn(2, 4, dtype=d, requires_grad=True)
    b = kindling.randn(2, dtype=d, requires_grad=True)
    assert gradcheck(F.linear, (x, w, b))
    assert gradgradcheck(F.linear, (x, w, b))
    x2 = kindling.randn(3, 5, dtype=d, requires_grad=True)
    wb = kindling.randn(2, 4, 5, dtype=d, requires_grad=True)
    assert gradcheck(F.bilinear, (x, x2, wb, b))
    y = kindling.randn(3, 4, dtype=d, requires_grad=True)
    assert gradcheck(lambda a, c: F.cosine_similarity(a, c), (x, y))
    assert gradcheck(lambda a, c: F.pairwise_distance(a, c), (x, y))
    assert gradcheck(lambda a: F.normalize(a, dim=0), (x,))


def test_linear_random_shapes():
    from hypothesis import given, settings, strategies as st

    @settings(max_examples=25, deadline=None)
    @given(lead=st.lists(st.integers(1, 3), min_size=0, max_size=3),
           n_in=st.integers(1, 5), n_out=st.integers(1, 5), bias=st.booleans())
    def run(lead, n_in, n_out, bias):
        compare_module(nn.Linear(n_in, n_out, bias=bias), torch.nn.Linear(n_in, n_out, bias=bias),
                       rand(*lead, n_in))

    run()


def test_sequential_imul():
    s = nn.Sequential(nn.Linear(1, 1), nn.ReLU())
    s *= 2
    assert len(s) == 4 and s[2] is s[0]
