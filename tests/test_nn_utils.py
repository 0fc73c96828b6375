"""kindling.nn.utils vs torch: gradient clipping and parameter vectors."""
import numpy as np
import pytest
import torch

import kindling
import kindling.nn as nn
from oracle import assert_close


def _pair(scale=1.0):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in [(3, 4), (4,), (2, 2, 2)]]
    grads = [rng.standard_normal(s).astype(np.float32) * scale for s in [(3, 4), (4,), (2, 2, 2)]]
    kp = [nn.Parameter(kindling.tensor(a)) for a in arrays]
    tp = [torch.nn.Parameter(torch.tensor(a)) for a in arrays]
    for p, g in zip(kp, grads):
        p.grad = kindling.tensor(g)
    for p, g in zip(tp, grads):
        p.grad = torch.tensor(g)
    return kp, tp


@pytest.mark.parametrize("norm_type", [2.0, 1, float("inf"), 3.0])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    kp, tp = _pair()
    nk = nn.utils.clip_grad_norm_(kp, max_norm, norm_type=norm_type)
    nt = torch.nn.utils.clip_grad_norm_(tp, max_norm, norm_type=norm_type)
    assert isinstance(nk, kindling.Tensor) and nk.shape == ()
    assert_close(nk, nt)
    for a, b in zip(kp, tp):
        assert_close(a.grad, b.grad)


def test_clip_grad_norm_single_tensor_and_none_grads():
    kp, tp = _pair()
    kp[1].grad, tp[1].grad = None, None
    assert_close(nn.utils.clip_grad_norm_(kp, 1.0), torch.nn.utils.clip_grad_norm_(tp, 1.0))
    for a, b in zip(kp, tp):
        if b.grad is None:
            assert a.grad is None
        else:
            assert_close(a.grad, b.grad)
    kp, tp = _pair()
    assert_close(nn.utils.clip_grad_norm_(kp[0], 0.1), torch.nn.utils.clip_grad_norm_(tp[0], 0.1))
    assert_close(kp[0].grad, tp[0].grad)
    assert float(nn.utils.clip_grad_norm_([], 1.0)) == 0.0


def test_clip_grad_norm_nonfinite():
    kp, tp = _pair()
    kp[0].grad.numpy()[0, 0] = np.inf
    tp[0].grad[0, 0] = float("inf")
    with pytest.raises(RuntimeError) as ek:
        nn.utils.clip_grad_norm_(kp, 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError) as et:
        torch.nn.utils.clip_grad_norm_(tp, 1.0, error_if_nonfinite=True)
    assert str(ek.value) == str(et.value)
    nk = nn.utils.clip_grad_norm_(kp, 1.0)
    nt = torch.nn.utils.clip_grad_norm_(tp, 1.0)
    assert np.isinf(float(nk)) and np.isinf(float(nt))


def test_clip_grad_value():
    kp, tp = _pair(scale=3.0)
    assert nn.utils.clip_grad_value_(kp, 1.5) is None
    torch.nn.utils.clip_grad_value_(tp, 1.5)
    for a, b in zip(kp, tp):
        assert_close(a.grad, b.grad)


def test_clip_with_real_model():
    k, t = nn.Linear(5, 3), torch.nn.Linear(5, 3)
    t.load_state_dict({n: torch.tensor(v.numpy()) for n, v in k.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((8, 5)).astype(np.float32)
    (k(kindling.tensor(x)) ** 2).sum().backward()
    (t(torch.tensor(x)) ** 2).sum().backward()
    assert_close(nn.utils.clip_grad_norm_(k.parameters(), 0.3),
                 torch.nn.utils.clip_grad_norm_(t.parameters(), 0.3), rtol=1e-5)
    assert_close(k.weight.grad, t.weight.grad, rtol=1e-5)


def test_parameters_vector_round_trip():
    k = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    t = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 1))
    t.load_state_dict({n: torch.tensor(v.numpy()) for n, v in k.state_dict().items()})
    vk = nn.utils.parameters_to_vector(k.parameters())
    vt = torch.nn.utils.parameters_to_vector(t.parameters())
    assert_close(vk, vt)
    vk.sum().backward()  # differentiable
    assert np.all(k[0].weight.grad.numpy() == 1)
    new = kindling.arange(vk.numel(), dtype=kindling.float32)
    w = k[0].weight
    nn.utils.vector_to_parameters(new, k.parameters())
    torch.nn.utils.vector_to_parameters(torch.arange(vt.numel(), dtype=torch.float32),
                                        t.parameters())
    assert k[0].weight is w
    for (n, a), (_, b) in zip(k.named_parameters(), t.named_parameters()):
        assert_close(a, b, what=n)
    with pytest.raises(TypeError, match="expected torch.Tensor"):
        nn.utils.vector_to_parameters([1.0], k.parameters())
