"""Comparing kindling with PyTorch: run the same function on both, compare outputs and grads."""
import numpy as np
import torch

import kindling


def pair(array, requires_grad=None):
    """The same data as a kindling tensor and a torch tensor (independent copies)."""
    array = np.asarray(array)
    rg = array.dtype.kind == "f" if requires_grad is None else requires_grad
    k = kindling.tensor(array.copy(), requires_grad=rg)
    t = torch.tensor(array.copy(), requires_grad=rg)
    return k, t


def to_numpy(x):
    if isinstance(x, kindling.Tensor):
        return x.detach().numpy()
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    return np.asarray(x)


def assert_close(k, t, rtol=1e-5, atol=1e-6, what="output"):
    if isinstance(t, (tuple, list)):
        assert isinstance(k, (tuple, list)) and len(k) == len(t), f"{what}: structure differs"
        for i, (a, b) in enumerate(zip(k, t)):
            assert_close(a, b, rtol, atol, f"{what}[{i}]")
        return
    if isinstance(t, torch.Tensor):
        assert isinstance(k, kindling.Tensor), f"{what}: expected a Tensor, got {type(k)}"
        assert tuple(k.shape) == tuple(t.shape), f"{what}: shape {tuple(k.shape)} vs torch {tuple(t.shape)}"
        assert str(k.dtype) == str(t.dtype), f"{what}: dtype {k.dtype} vs torch {t.dtype}"
    np.testing.assert_allclose(to_numpy(k), to_numpy(t), rtol=rtol, atol=atol, err_msg=what)


def check(fn_k, fn_t, *arrays, rtol=1e-5, atol=1e-6, grad=True, seed=0):
    """Run fn on kindling and torch copies of `arrays`; compare outputs and, for float inputs,
    gradients of a random weighted sum of the outputs."""
    pairs = [pair(a, requires_grad=grad and np.asarray(a).dtype.kind == "f") for a in arrays]
    ks, ts = [p[0] for p in pairs], [p[1] for p in pairs]
    out_k, out_t = fn_k(*ks), fn_t(*ts)
    assert_close(out_k, out_t, rtol, atol)
    if not grad:
        return out_k, out_t
    outs_k = out_k if isinstance(out_k, (tuple, list)) else (out_k,)
    outs_t = out_t if isinstance(out_t, (tuple, list)) else (out_t,)
    rng = np.random.default_rng(seed)
    loss_k, loss_t = 0, 0
    for ok, ot in zip(outs_k, outs_t):
        if isinstance(ot, torch.Tensor) and ot.requires_grad:
            w = rng.standard_normal(tuple(ot.shape)).astype(to_numpy(ot).dtype)
            loss_k = loss_k + (ok * kindling.tensor(w)).sum()
            loss_t = loss_t + (ot * torch.tensor(w)).sum()
    if isinstance(loss_t, torch.Tensor):
        loss_k.backward()
        loss_t.backward()
        for i, (k, t) in enumerate(zip(ks, ts)):
            if t.requires_grad:
                if t.grad is None:
                    assert k.grad is None or np.all(k.grad.numpy() == 0), f"grad[{i}] should be None"
                else:
                    assert k.grad is not None, f"grad[{i}] missing"
                    assert_close(k.grad, t.grad, rtol * 10, atol * 10, f"grad[{i}]")
    return out_k, out_t
