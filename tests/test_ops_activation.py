"""Activation ops against torch.nn.functional: a registry of every activation (with argument
variants) and the input domain its tests sample, iterated by forward/gradient/gradcheck tests,
plus kinks, extreme inputs, in-place forms and errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import kindling as K
from kindling.ops import activation as A
from kindling.autograd import gradcheck, gradgradcheck
from oracle import check
from test_ops_elementwise import sample

WIDE = (-4.0, 4.0)

# name, kindling fn, torch fn, domain (lo, hi, kinks)
ACTIVATIONS = [
    ("relu6", A.relu6, F.relu6, (-3.0, 9.0, (0.0, 6.0))),
    ("leaky_relu", A.leaky_relu, F.leaky_relu, (-3.0, 3.0, (0.0,))),
    ("leaky_relu_0.2", lambda x: A.leaky_relu(x, 0.2), lambda x: F.leaky_relu(x, 0.2),
     (-3.0, 3.0, (0.0,))),
    ("elu", A.elu, F.elu, (-3.0, 3.0, (0.0,))),
    ("elu_alpha", lambda x: A.elu(x, 0.5), lambda x: F.elu(x, 0.5), (-3.0, 3.0, (0.0,))),
    ("selu", A.selu, F.selu, (-3.0, 3.0, (0.0,))),
    ("celu", A.celu, F.celu, (-3.0, 3.0, (0.0,))),
    ("celu_alpha", lambda x: A.celu(x, 2.0), lambda x: F.celu(x, 2.0), (-3.0, 3.0, (0.0,))),
    ("gelu", A.gelu, F.gelu, WIDE),
    ("gelu_tanh", lambda x: A.gelu(x, approximate="tanh"),
     lambda x: F.gelu(x, approximate="tanh"), WIDE),
    ("silu", A.silu, F.silu, WIDE),
    ("mish", A.mish, F.mish, WIDE),
    ("hardtanh", A.hardtanh, F.hardtanh, (-3.0, 3.0, (-1.0, 1.0))),
    ("hardtanh_range", lambda x: A.hardtanh(x, -2.0, 0.5), lambda x: F.hardtanh(x, -2.0, 0.5),
     (-3.0, 3.0, (-2.0, 0.5))),
    ("hardsigmoid", A.hardsigmoid, F.hardsigmoid, (-5.0, 5.0, (-3.0, 3.0))),
    ("hardswish", A.hardswish, F.hardswish, (-5.0, 5.0, (-3.0, 3.0))),
    ("softplus", A.softplus, F.softplus, WIDE),
    ("softplus_beta", lambda x: A.softplus(x, 2.0, 3.0), lambda x: F.softplus(x, 2.0, 3.0),
     (-4.0, 4.0, (1.5,))),
    ("softsign", A.softsign, F.softsign, (-4.0, 4.0, (0.0,))),
    ("threshold", lambda x: A.threshold(x, 0.5, -2.0), lambda x: F.threshold(x, 0.5, -2.0),
     (-3.0, 3.0, (0.5,))),
    ("logsigmoid", A.logsigmoid, F.logsigmoid, (-6.0, 6.0)),
    ("tanhshrink", A.tanhshrink, F.tanhshrink, WIDE),
    ("softshrink", A.softshrink, F.softshrink, (-3.0, 3.0, (-0.5, 0.5))),
    ("softshrink_1", lambda x: A.softshrink(x, 1.0), lambda x: F.softshrink(x, 1.0),
     (-3.0, 3.0, (-1.0, 1.0))),
    ("hardshrink", A.hardshrink, F.hardshrink, (-3.0, 3.0, (-0.5, 0.5))),
    ("rrelu_eval", A.rrelu, F.rrelu, (-3.0, 3.0, (0.0,))),
    ("glu", A.glu, F.glu, WIDE),
    ("glu_dim0", lambda x: A.glu(x, 0), lambda x: F.glu(x, 0), WIDE),
    ("prelu_1", lambda x: A.prelu(x, K.tensor([0.25], dtype=x.dtype)),
     lambda x: F.prelu(x, torch.tensor([0.25], dtype=x.dtype)), (-3.0, 3.0, (0.0,))),
    ("relu", K.relu, F.relu, (-3.0, 3.0, (0.0,))),
    ("sigmoid", K.sigmoid, torch.sigmoid, WIDE),
    ("tanh", K.tanh, torch.tanh, WIDE),
]
IDS = [a[0] for a in ACTIVATIONS]


def rng_for(name):
    return np.random.default_rng(abs(hash(name)) % (2 ** 32))


def test_registry_covers_every_activation():
    covered = {a[0].split("_")[0] for a in ACTIVATIONS} | {"leaky", "relu6", "rrelu"}
    for name in A.ALL:
        assert name.split("_")[0] in covered, name


@pytest.mark.parametrize("name,kf,tf,domain", ACTIVATIONS, ids=IDS)
@pytest.mark.parametrize("shape", [(4, 6), (2, 3, 4), (2,), (0, 4)], ids=str)
def test_matches_torch(name, kf, tf, domain, shape):
    if name == "glu_dim0" and shape == (2, 3, 4):
        shape = (4, 3)
    x = sample(domain, shape, rng_for(name + str(shape)))
    check(kf, tf, x, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name,kf,tf,domain", ACTIVATIONS, ids=IDS)
def test_zero_dim(name, kf, tf, domain):
    if name.startswith("glu"):
        with pytest.raises(RuntimeError):
            kf(K.tensor(1.0))
        return
    check(kf, tf, sample(domain, (), rng_for(name)))


@pytest.mark.parametrize("name,kf,tf,domain", ACTIVATIONS, ids=IDS)
def test_gradcheck(name, kf, tf, domain):
    x = K.tensor(sample(domain, (2, 4), rng_for(name), np.float64), requires_grad=True)
    assert gradcheck(kf, (x,))


@pytest.mark.parametrize("name,kf,tf,domain", ACTIVATIONS, ids=IDS)
def test_float64_stays_float64(name, kf, tf, domain):
    x = sample(domain, (2, 4), rng_for(name), np.float64)
    check(kf, tf, x, rtol=1e-10, atol=1e-12)


SECOND_ORDER = ["gelu", "gelu_tanh", "softplus", "softplus_beta", "silu", "elu", "selu", "celu",
                "mish", "logsigmoid", "leaky_relu", "hardswish", "softsign", "tanhshrink", "glu",
                "sigmoid", "tanh"]


@pytest.mark.parametrize("name", SECOND_ORDER)
def test_gradgradcheck(name):
    _, kf, tf, domain = ACTIVATIONS[IDS.index(name)]
    x = K.tensor(sample(domain, (2, 4), rng_for(name), np.float64), requires_grad=True)
    assert gradgradcheck(kf, (x,))


@pytest.mark.parametrize("name", ["gelu", "gelu_tanh", "softplus", "silu", "elu", "mish",
                                  "logsigmoid", "selu"])
def test_second_derivative_matches_torch(name):
    _, kf, tf, domain = ACTIVATIONS[IDS.index(name)]
    x = sample(domain, (7,), rng_for(name), np.float64)
    kx, tx = K.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    kg, = K.autograd.grad(kf(kx).sum(), kx, create_graph=True)
    tg, = torch.autograd.grad(tf(tx).sum(), tx, create_graph=True)
    kgg, = K.autograd.grad((kg * kg).sum(), kx)
    tgg, = torch.autograd.grad((tg * tg).sum(), tx)
    np.testing.assert_allclose(kgg.numpy(), tgg.numpy(), rtol=1e-9, atol=1e-12)


# --- kinks: the gradient at the exact break points is PyTorch's choice ---------------------------
KINK_POINTS = np.array([-6.0, -3.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 6.0, 20.0],
                       np.float32)


@pytest.mark.parametrize("name,kf,tf,domain", ACTIVATIONS, ids=IDS)
def test_gradient_at_kinks_matches_torch(name, kf, tf, domain):
    x = KINK_POINTS[:10] if name.startswith("glu") else KINK_POINTS
    check(kf, tf, x)


# --- extreme inputs ------------------------------------------------------------------------------
EXTREME = np.array([-1e4, -100.0, -30.0, 30.0, 100.0, 1e4], np.float32)


@pytest.mark.parametrize("name,kf,tf,domain", ACTIVATIONS, ids=IDS)
def test_stable_at_extremes(name, kf, tf, domain):
    for dtype in (np.float32, np.float64):
        x = K.tensor(EXTREME.astype(dtype), requires_grad=True)
        out = kf(x)
        assert np.all(np.isfinite(out.detach().numpy())), name
        out.sum().backward()
        assert np.all(np.isfinite(x.grad.numpy())), name
        check(kf, tf, EXTREME.astype(dtype))


@pytest.mark.parametrize("kf,tf", [(K.sigmoid, torch.sigmoid), (A.logsigmoid, F.logsigmoid),
                                   (A.softplus, F.softplus), (A.silu, F.silu),
                                   (A.gelu, F.gelu), (A.mish, F.mish), (A.elu, F.elu)])
def test_extreme_values_exact(kf, tf):
    x = np.array([-1e4, 1e4, -88.0, 88.0], np.float32)
    check(kf, tf, x, rtol=1e-6, atol=0)


def test_gelu_float32_dense_grid():
    """float32 GELU and its gradient (the fast normal-CDF rational) on 1.2M points in [-12, 12]
    against PyTorch, in units of max(ulp, |x| * 2**-24): the float32 rounding of x * Phi(x)."""
    x = np.concatenate([np.linspace(-12, 12, 1_200_001, dtype=np.float32),
                        np.array([0.0, -0.0, 1e-30, -1e-30, 5.1775, -5.1775, 5.18, -5.18],
                                 np.float32)])
    kx, tx = K.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ko, to = A.gelu(kx), F.gelu(tx)
    ko.sum().backward()
    to.sum().backward()
    assert ko.dtype == K.float32 and kx.grad.dtype == K.float32
    unit = np.maximum(np.spacing(np.abs(to.detach().numpy())), np.abs(x) * 2.0 ** -24)
    assert np.max(np.abs(ko.detach().numpy() - to.detach().numpy()) / unit) <= 8
    grad_unit = np.maximum(np.spacing(np.abs(tx.grad.numpy())), 2.0 ** -24)
    assert np.max(np.abs(kx.grad.numpy() - tx.grad.numpy()) / grad_unit) <= 8


# --- prelu ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,wshape", [((2, 3, 4, 5), (3,)), ((2, 3), (3,)), ((2, 3, 4), (1,)),
                                          ((5,), (1,)), ((2, 3, 4), (3,))], ids=str)
def test_prelu_channels(shape, wshape):
    rng = np.random.default_rng(1)
    x = sample((-3.0, 3.0, (0.0,)), shape, rng)
    w = rng.uniform(0.05, 0.5, wshape).astype(np.float32)
    check(A.prelu, F.prelu, x, w)
    xk = K.tensor(x.astype(np.float64), requires_grad=True)
    wk = K.tensor(w.astype(np.float64), requires_grad=True)
    assert gradcheck(A.prelu, (xk, wk))
    assert gradgradcheck(A.prelu, (xk, wk))


def test_prelu_bad_weight():
    with pytest.raises(RuntimeError, match="parameter numbers = 4 and channel size = 3"):
        A.prelu(K.ones(2, 3), K.ones(4))
    with pytest.raises(RuntimeError, match="channel size = 1"):
        A.prelu(K.ones(3), K.ones(3))
    with pytest.raises(RuntimeError, match="dtype"):
        A.prelu(K.ones(2, 3), K.ones(3, dtype=K.float64))


# --- in place ------------------------------------------------------------------------------------
INPLACE = [("relu6", lambda x: A.relu6(x, inplace=True), lambda x: F.relu6(x, inplace=True)),
           ("leaky_relu", lambda x: A.leaky_relu(x, 0.1, inplace=True),
            lambda x: F.leaky_relu(x, 0.1, inplace=True)),
           ("elu", lambda x: A.elu(x, inplace=True), lambda x: F.elu(x, inplace=True)),
           ("selu", lambda x: A.selu(x, inplace=True), lambda x: F.selu(x, inplace=True)),
           ("celu", lambda x: A.celu(x, inplace=True), lambda x: F.celu(x, inplace=True)),
           ("hardtanh", lambda x: A.hardtanh(x, inplace=True),
            lambda x: F.hardtanh(x, inplace=True)),
           ("silu", lambda x: A.silu(x, inplace=True), lambda x: F.silu(x, inplace=True)),
           ("mish", lambda x: A.mish(x, inplace=True), lambda x: F.mish(x, inplace=True)),
           ("hardsigmoid", lambda x: A.hardsigmoid(x, inplace=True),
            lambda x: F.hardsigmoid(x, inplace=True)),
           ("hardswish", lambda x: A.hardswish(x, inplace=True),
            lambda x: F.hardswish(x, inplace=True)),
           ("threshold", lambda x: A.threshold(x, 0.1, 2.0, inplace=True),
            lambda x: F.threshold(x, 0.1, 2.0, inplace=True))]


@pytest.mark.parametrize("name,kf,tf", INPLACE, ids=[i[0] for i in INPLACE])
def test_inplace_matches_torch(name, kf, tf):
    x = sample((-4.0, 4.0, (-3.0, -1.0, 0.0, 0.1, 1.0, 3.0)), (3, 4), rng_for(name))

    def run(f):
        def g(t):
            y = t * 1
            out = f(y)
            assert out is y
            return y * 2
        return g

    check(run(kf), run(tf), x)


def test_rrelu_training_slopes_in_range():
    K.manual_seed(0)
    x = K.tensor(-np.ones(1000, np.float32), requires_grad=True)
    out = A.rrelu(x, 0.1, 0.3, training=True)
    slopes = -out.detach().numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.03
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), slopes, rtol=1e-6)
    pos = K.tensor([1.0, 2.0])
    assert A.rrelu(pos, training=True).tolist() == [1.0, 2.0]


# --- errors and names ----------------------------------------------------------------------------
def test_errors():
    with pytest.raises(RuntimeError, match="even"):
        A.glu(K.ones(2, 3))
    with pytest.raises(IndexError, match="glu"):
        A.glu(K.ones(2, 4), 3)
    with pytest.raises(RuntimeError, match="approximate"):
        A.gelu(K.ones(2), approximate="fast")
    with pytest.raises(ValueError, match="min_val"):
        A.hardtanh(K.ones(2), 1.0, -1.0)
    with pytest.raises(RuntimeError, match="lambda"):
        A.softshrink(K.ones(2), -1.0)
    with pytest.raises(RuntimeError, match="gelu"):
        A.gelu(K.tensor([1, 2]))


def test_top_level_exports_follow_torch():
    for name in A.FUNCTIONS:
        assert hasattr(torch, name), name
        assert getattr(K, name) is getattr(A, name)
    for name in set(A.ALL) - set(A.FUNCTIONS):
        assert not hasattr(torch, name), name


def test_grad_fn_names():
    x = K.tensor([1.0], requires_grad=True)
    assert "Gelu" in A.gelu(x).grad_fn.name()
    assert "Softplus" in A.softplus(x).grad_fn.name()
