"""The fused LayerNorm op against PyTorch: forward and gradients over shapes, normalized
shapes and affine options, float32 and float64; gradcheck and gradgradcheck in float64."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import kindling
import kindling.nn.functional as F
from oracle import check

RNG = np.random.default_rng(0)


def rand(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,normalized", [
    ((7,), (7,)),
    ((5, 8), (8,)),
    ((2, 3, 16), (16,)),
    ((3, 4, 5, 6), (5, 6)),
    ((32, 64, 128), (128,)),      # GPT's (B, T, C)
])
@pytest.mark.parametrize("affine", ["both", "weight", "bias", "none"])
def test_layer_norm_matches_torch(shape, normalized, affine, dtype):
    x = rand(*shape, dtype=dtype) * 3 + 1.5  # an offset mean: the variance must not cancel
    w = rand(*normalized, dtype=dtype)
    b = rand(*normalized, dtype=dtype)
    use_w, use_b = affine in ("both", "weight"), affine in ("both", "bias")

    def run(f):
        return lambda x, w, b: f(x, normalized, w if use_w else None, b if use_b else None)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    out, _ = check(run(F.layer_norm), run(TF.layer_norm), x, w, b, **tol)
    assert out.dtype == (kindling.float32 if dtype == np.float32 else kindling.float64)



@pytest.mark.parametrize("need", [(True, False, False), (False, True, False),
                                  (False, False, True), (False, True, True)])
def test_layer_norm_partial_grads(need):
    """Each of input, weight and bias alone requiring grad (the backward skips the others), on a
    large offset mean: its BLAS row sums must not lose the variance."""
    arrays = rand(64, 32) * 2 + 300, rand(32), rand(32)
    ks = [kindling.tensor(a, requires_grad=n) for a, n in zip(arrays, need)]
    ts = [torch.tensor(a, requires_grad=n) for a, n in zip(arrays, need)]
    g = rand(64, 32)
    out_k = F.layer_norm(ks[0], (32,), ks[1], ks[2])
    out_t = TF.layer_norm(ts[0], (32,), ts[1], ts[2])
    np.testing.assert_allclose(out_k.detach().numpy(), out_t.detach().numpy(), rtol=1e-3,
                               atol=1e-3)
    (out_k * kindling.tensor(g)).sum().backward()
    (out_t * torch.tensor(g)).sum().backward()
    for a, b in zip(ks, ts):
        assert (a.grad is None) == (b.grad is None)
        if b.grad is not None:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-3, atol=1e-3)

def test_layer_norm_module_and_eps():
    k, t = kindling.nn.LayerNorm(6, eps=1e-2), torch.nn.LayerNorm(6, eps=1e-2)
    x = rand(4, 6)
    check(k, t, x, rtol=1e-5, atol=1e-6, grad=False)


@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_gradcheck_and_gradgradcheck(affine):
    x = kindling.tensor(rand(3, 2, 5, dtype=np.float64), requires_grad=True)
    w = kindling.tensor(rand(2, 5, dtype=np.float64), requires_grad=True)
    b = kindling.tensor(rand(2, 5, dtype=np.float64), requires_grad=True)
    if affine:
        def f(x, w, b):
            return F.layer_norm(x, (2, 5), w, b)
        inputs = (x, w, b)
    else:
        def f(x):
            return F.layer_norm(x, (2, 5))
        inputs = (x,)
    assert kindling.autograd.gradcheck(f, inputs)
    assert kindling.autograd.gradgradcheck(f, inputs)


def test_layer_norm_double_backward_vs_torch():
    x, w, b = rand(4, 6, dtype=np.float64), rand(6, dtype=np.float64), rand(6, dtype=np.float64)
    results = []
    for m, f in ((kindling, F.layer_norm), (torch, TF.layer_norm)):
        xs, ws, bs = (m.tensor(a, requires_grad=True) for a in (x, w, b))
        out = f(xs, (6,), ws, bs)
        gx, gw = m.autograd.grad((out * out * out).sum(), (xs, ws), create_graph=True)
        results.append([g.detach().numpy() for g in
                        m.autograd.grad((gx * gx).sum() + (gw * gw).sum(), (xs, ws, bs))])
    for k, t in zip(*results):
        np.testing.assert_allclose(k, t, rtol=1e-9, atol=1e-11)


def test_layer_norm_backward_twice_with_retain_graph():
    x = kindling.tensor(rand(3, 8), requires_grad=True)
    w = kindling.tensor(rand(8), requires_grad=True)
    out = (F.layer_norm(x, (8,), w) * kindling.tensor(rand(3, 8))).sum()
    out.backward(retain_graph=True)
    first = x.grad.numpy().copy(), w.grad.numpy().copy()
    x.grad = w.grad = None
    out.backward()
    np.testing.assert_array_equal(x.grad.numpy(), first[0])
    np.testing.assert_array_equal(w.grad.numpy(), first[1])


def test_layer_norm_errors():
    with pytest.raises(RuntimeError, match="normalized_shape"):
        F.layer_norm(kindling.randn(2, 3), (4,))
    with pytest.raises(RuntimeError, match="weight of shape"):
        F.layer_norm(kindling.randn(2, 3), (3,), kindling.ones(2))


@pytest.mark.parametrize("shape,normalized", [((2, 3, 4), 4), ((2, 3, 4), (3, 4)), ((5, 6), 6)])
@pytest.mark.parametrize("eps", [None, 1e-5])
@pytest.mark.parametrize("affine", [True, False])
def test_rms_norm_matches_torch(shape, normalized, eps, affine):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    k_mod, t_mod = kindling.nn.RMSNorm(normalized, eps=eps, elementwise_affine=affine), \
        torch.nn.RMSNorm(normalized, eps=eps, elementwise_affine=affine)
    if affine:
        w = rng.standard_normal(t_mod.weight.shape).astype(np.float32)
        with torch.no_grad():
            t_mod.weight.copy_(torch.tensor(w))
        k_mod.weight.data = kindling.tensor(w)
    assert sorted(k_mod.state_dict()) == sorted(t_mod.state_dict())
    xk, xt = kindling.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    g = rng.standard_normal(shape).astype(np.float32)
    yk, yt = k_mod(xk), t_mod(xt)
    (yk * kindling.tensor(g)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(yk.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(xk.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    if affine:
        np.testing.assert_allclose(k_mod.weight.grad.numpy(), t_mod.weight.grad.numpy(),
                                   rtol=1e-4, atol=1e-5)


def test_rms_norm_gradgradcheck_and_errors():
    from kindling.autograd import gradcheck, gradgradcheck
    x = kindling.tensor(np.random.default_rng(1).standard_normal((2, 3)), requires_grad=True)
    w = kindling.tensor(np.random.default_rng(2).standard_normal(3), requires_grad=True)

    def fn(a, b):
        return kindling.nn.functional.rms_norm(a, 3, b, eps=1e-6)
    assert gradcheck(fn, (x, w)) and gradgradcheck(fn, (x, w))
    with pytest.raises(RuntimeError, match="normalized_shape"):
        kindling.nn.functional.rms_norm(kindling.ones(2, 3), 4)
