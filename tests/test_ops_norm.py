"""The fused BatchNorm op (kindling/ops/norm.py) against PyTorch: outputs, gradients and running
statistics in training and eval, every affine / track_running_stats combination, 1-D to 3-D
inputs; float64 gradcheck and gradgradcheck (the create_graph path); instance norm on top."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import kindling
import kindling.nn.functional as F
from kindling.ops import norm as N

RNG = np.random.default_rng(0)


def rand(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


SHAPES = [(6, 3), (5, 3, 7), (4, 3, 5, 6), (2, 3, 3, 4, 5), (3, 4, 40)]


def _run_both(shape, training, affine, track, momentum, steps=3):
    """Call F.batch_norm `steps` times on both frameworks, backward through each output; return
    everything that should match."""
    c = shape[1]
    w, b, mean0 = rand(c) * 0.5 + 1, rand(c), rand(c) * 0.1
    out = {}
    for m, fn in ((kindling, F.batch_norm), (torch, TF.batch_norm)):
        rm = m.tensor(mean0) if track else None
        rv = m.tensor(np.full(c, 1.5, np.float32)) if track else None
        weight = m.tensor(w, requires_grad=True) if affine else None
        bias = m.tensor(b, requires_grad=True) if affine else None
        results = []
        for step in range(steps):
            rng = np.random.default_rng(step)
            xa = (rng.standard_normal(shape) * (step + 1) + 3 * step).astype(np.float32)
            ga = rng.standard_normal(shape).astype(np.float32)
            x = m.tensor(xa, requires_grad=True)
            y = fn(x, rm, rv, weight, bias, training=training, momentum=momentum, eps=1e-4)
            (y * m.tensor(ga)).sum().backward()
            results += [y.detach().numpy(), x.grad.numpy()]
        if affine:
            results += [weight.grad.numpy(), bias.grad.numpy()]
        if track:
            results += [rm.numpy(), rv.numpy()]
        out[m.__name__] = results
    return out["kindling"], out["torch"]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("track", [True, False])
def test_batch_norm_matches_torch(shape, training, affine, track):
    if not training and not track:
        return  # eval needs running statistics (the module falls back to batch statistics)
    ks, ts = _run_both(shape, training, affine, track, momentum=0.1)
    for i, (k, t) in enumerate(zip(ks, ts)):
        assert k.dtype == t.dtype, f"result {i}: dtype {k.dtype} vs torch {t.dtype}"
        np.testing.assert_allclose(k, t, rtol=1e-4, atol=2e-5, err_msg=f"result {i}")


@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (8, 4)), ("BatchNorm2d", (4, 4, 5, 5)),
                                       ("BatchNorm3d", (2, 4, 3, 3, 3))])
@pytest.mark.parametrize("momentum", [None, 0.3])
@pytest.mark.parametrize("affine,track", [(True, True), (False, True), (True, False)])
def test_batch_norm_modules_match_torch(cls, shape, momentum, affine, track):
    k = getattr(kindling.nn, cls)(shape[1], momentum=momentum, affine=affine,
                                  track_running_stats=track)
    t = getattr(torch.nn, cls)(shape[1], momentum=momentum, affine=affine,
                               track_running_stats=track)
    for mode in ("train", "train", "train", "eval"):
        k.train(mode == "train")
        t.train(mode == "train")
        xa = rand(*shape) * 2 + 1
        xk, xt = kindling.tensor(xa, requires_grad=True), torch.tensor(xa, requires_grad=True)
        yk, yt = k(xk), t(xt)
        np.testing.assert_allclose(yk.detach().numpy(), yt.detach().numpy(), rtol=1e-4, atol=1e-5)
        (yk * yk).sum().backward()
        (yt * yt).sum().backward()
        np.testing.assert_allclose(xk.grad.numpy(), xt.grad.numpy(), rtol=1e-3, atol=1e-4)
    for name, buf in t.named_buffers():
        np.testing.assert_allclose(getattr(k, name).numpy(), buf.numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=name)
    if affine:
        np.testing.assert_allclose(k.weight.grad.numpy(), t.weight.grad.numpy(), rtol=1e-3,
                                   atol=1e-3)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(4, 3), (3, 3, 2, 2)])
def test_batch_norm_gradcheck_and_gradgradcheck(training, shape):
    x = kindling.tensor(rand(*shape, dtype=np.float64) + 1, requires_grad=True)
    w = kindling.tensor(rand(3, dtype=np.float64), requires_grad=True)
    b = kindling.tensor(rand(3, dtype=np.float64), requires_grad=True)
    rm = kindling.tensor(rand(3, dtype=np.float64))
    rv = kindling.tensor(np.abs(rand(3, dtype=np.float64)) + 0.5)

    def f(x, w, b):  # running stats are only read in eval mode; copies keep them fixed anyway
        return F.batch_norm(x, rm.clone(), rv.clone(), w, b, training=training)
    assert kindling.autograd.gradcheck(f, (x, w, b))
    assert kindling.autograd.gradgradcheck(f, (x, w, b))
    g = lambda x: F.batch_norm(x, rm.clone(), rv.clone(), training=training)  # noqa: E731
    assert kindling.autograd.gradgradcheck(g, (x,))


def test_batch_norm_double_backward_matches_torch():
    xa, wa = rand(4, 3, 2, 2, dtype=np.float64), rand(3, dtype=np.float64)
    res = []
    for m, fn in ((kindling, F.batch_norm), (torch, TF.batch_norm)):
        x, w = m.tensor(xa, requires_grad=True), m.tensor(wa, requires_grad=True)
        y = fn(x, None, None, w, None, training=True)
        grad = kindling.autograd.grad if m is kindling else torch.autograd.grad
        gx, = grad((y * y * y).sum(), x, create_graph=True)
        (gx * gx).sum().backward()
        res.append((x.grad.detach().numpy(), w.grad.detach().numpy()))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-7, atol=1e-9)


def test_batch_norm_keeps_dtype_and_counts_updates():
    for dtype in (np.float32, np.float64):
        x = kindling.tensor(rand(4, 2, 3, dtype=dtype), requires_grad=True)
        rm, rv = kindling.zeros(2, dtype=x.dtype), kindling.ones(2, dtype=x.dtype)
        y = F.batch_norm(x, rm, rv, training=True)
        y.sum().backward()
        assert y.dtype == x.dtype and x.grad.dtype == x.dtype and rm.dtype == x.dtype
        assert rm._vc[0] == 1 and rv._vc[0] == 1  # in-place updates bump the version


def test_batch_norm_errors_are_clear():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(kindling.randn(1, 3), None, None, training=True)
    with pytest.raises(RuntimeError, match="running_mean should contain 3 elements"):
        F.batch_norm(kindling.randn(2, 3), kindling.zeros(2), kindling.ones(3))
    with pytest.raises(RuntimeError, match="needed when not training"):
        F.batch_norm(kindling.randn(2, 3), None, None)


@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 3, 4, 4)])
@pytest.mark.parametrize("affine", [True, False])
def test_instance_norm_matches_torch(shape, affine):
    w, b = rand(3), rand(3)
    res = []
    for m, fn in ((kindling, F.instance_norm), (torch, TF.instance_norm)):
        x = m.tensor(rand(*shape) * 3 + 1 if not res else xa, requires_grad=True)
        xa = x.detach().numpy().copy()
        rm, rv = m.zeros(3), m.ones(3)
        weight = m.tensor(w, requires_grad=True) if affine else None
        bias = m.tensor(b, requires_grad=True) if affine else None
        y = fn(x, rm, rv, weight, bias, use_input_stats=True, momentum=0.2)
        (y * y * y).sum().backward()
        out = [y.detach().numpy(), x.grad.numpy(), rm.numpy(), rv.numpy()]
        res.append(out + ([weight.grad.numpy(), bias.grad.numpy()] if affine else []))
    for i, (k, t) in enumerate(zip(*res)):
        np.testing.assert_allclose(k, t, rtol=1e-4, atol=1e-4, err_msg=f"result {i}")


def test_batch_norm_is_one_graph_node():
    x = kindling.randn(4, 3, 5, 5, requires_grad=True)
    y = F.batch_norm(x, kindling.zeros(3), kindling.ones(3), kindling.ones(3, requires_grad=True),
                     kindling.zeros(3, requires_grad=True), training=True)
    assert isinstance(y.grad_fn.op, type) and y.grad_fn.op is N.BatchNorm
    assert all(e is None or not hasattr(e[0], "op") for e in y.grad_fn.edges)
