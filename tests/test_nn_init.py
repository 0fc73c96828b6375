"""kindling.nn.init: gains equal to torch's, distributions match theory."""
import math

import numpy as np
import pytest
import torch

import kindling
import kindling.nn as nn
from kindling.nn import init


@pytest.mark.parametrize("name,param", [
    ("linear", None), ("conv1d", None), ("conv2d", None), ("conv3d", None),
    ("conv_transpose1d", None), ("conv_transpose2d", None), ("conv_transpose3d", None),
    ("sigmoid", None), ("tanh", None), ("relu", None), ("leaky_relu", None),
    ("leaky_relu", 0.2), ("leaky_relu", 1), ("selu", None)])
def test_calculate_gain_matches_torch(name, param):
    assert init.calculate_gain(name, param) == torch.nn.init.calculate_gain(name, param)


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity foo"):
        init.calculate_gain("foo")
    with pytest.raises(ValueError, match="negative_slope True not a valid number"):
        init.calculate_gain("leaky_relu", True)


def test_fans():
    for shape in [(3, 4), (8, 3, 5, 5), (6, 2, 7)]:
        assert init._calculate_fan_in_and_fan_out(kindling.empty(shape)) == \
            torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(kindling.empty(3))


def _std(t):
    return float(t.numpy().std())


def test_xavier_and_kaiming_std():
    w = kindling.empty(512, 512)
    assert init.xavier_uniform_(w) is w
    assert abs(_std(w) - math.sqrt(2 / 1024)) < 0.02 * math.sqrt(2 / 1024)
    bound = math.sqrt(6 / 1024)
    assert np.abs(w.numpy()).max() <= bound
    init.xavier_normal_(w, gain=2.0)
    assert abs(_std(w) - 2 * math.sqrt(2 / 1024)) < 0.02 * 2 * math.sqrt(2 / 1024)
    init.kaiming_uniform_(w, nonlinearity="relu")
    expected = math.sqrt(2) / math.sqrt(512)
    assert abs(_std(w) - expected) < 0.02 * expected
    assert np.abs(w.numpy()).max() <= math.sqrt(3) * expected
    conv = kindling.empty(64, 32, 3, 3)  # fan_out = 64*9 = 576
    init.kaiming_normal_(conv, mode="fan_out", nonlinearity="relu")
    expected = math.sqrt(2 / 576)
    assert abs(_std(conv) - expected) < 0.02 * expected
    init.kaiming_normal_(w, a=0.1)  # leaky_relu with slope 0.1
    expected = math.sqrt(2 / (1 + 0.01)) / math.sqrt(512)
    assert abs(_std(w) - expected) < 0.02 * expected
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(w, mode="fan_avg")


def test_basic_fills():
    w = kindling.empty(300, 300)
    init.uniform_(w, -2.0, 3.0)
    a = w.numpy()
    assert a.min() >= -2 and a.max() <= 3 and abs(a.mean() - 0.5) < 0.05
    init.normal_(w, 1.0, 0.5)
    assert abs(w.numpy().mean() - 1.0) < 0.01 and abs(_std(w) - 0.5) < 0.01
    init.constant_(w, 0.3)
    assert np.all(w.numpy() == np.float32(0.3))
    init.zeros_(w)
    assert not w.numpy().any()
    init.ones_(w)
    assert np.all(w.numpy() == 1)
    e = init.eye_(kindling.empty(3, 5))
    np.testing.assert_array_equal(e.numpy(), torch.nn.init.eye_(torch.empty(3, 5)).numpy())
    d = init.dirac_(kindling.empty(4, 2, 3, 3), groups=2)
    np.testing.assert_array_equal(d.numpy(),
                                  torch.nn.init.dirac_(torch.empty(4, 2, 3, 3), groups=2).numpy())
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions"):
        init.eye_(kindling.empty(2, 2, 2))


def test_in_place_on_parameters_outside_autograd():
    lin = nn.Linear(4, 4)
    w = lin.weight
    init.orthogonal_(w)
    assert lin.weight is w and w.requires_grad and w.is_leaf and w.grad_fn is None
    lin(kindling.randn(2, 4)).sum().backward()
    assert w.grad is not None


def test_orthogonal():
    for shape in [(64, 64), (32, 128), (128, 32), (16, 4, 3, 3)]:
        w = init.orthogonal_(kindling.empty(*shape), gain=1.0)
        m = w.numpy().reshape(shape[0], -1).astype(np.float64)
        if m.shape[0] <= m.shape[1]:
            np.testing.assert_allclose(m @ m.T, np.eye(m.shape[0]), atol=1e-5)
        else:
            np.testing.assert_allclose(m.T @ m, np.eye(m.shape[1]), atol=1e-5)
    w = init.orthogonal_(kindling.empty(10, 10), gain=2.0).numpy().astype(np.float64)
    np.testing.assert_allclose(w @ w.T, 4 * np.eye(10), atol=1e-4)
    with pytest.raises(ValueError, match="Only tensors with 2 or more dimensions"):
        init.orthogonal_(kindling.empty(3))


def test_trunc_normal():
    w = init.trunc_normal_(kindling.empty(400, 400), mean=0.5, std=1.0, a=-1.0, b=1.5)
    a = w.numpy()
    assert a.min() >= -1.0 and a.max() <= 1.5
    # theory: truncated normal mean = mu + sigma*(phi(alpha)-phi(beta))/Z
    phi = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))  # noqa: E731
    alpha, beta = -1.5, 1.0
    mean = 0.5 + (phi(alpha) - phi(beta)) / (cdf(beta) - cdf(alpha))
    assert abs(a.mean() - mean) < 0.01
    t = torch.nn.init.trunc_normal_(torch.empty(400, 400), mean=0.5, std=1.0, a=-1.0, b=1.5)
    assert abs(a.std() - t.numpy().std()) < 0.01


def test_sparse():
    w = init.sparse_(kindling.empty(100, 20), sparsity=0.3, std=0.1)
    zeros_per_col = (w.numpy() == 0).sum(0)
    assert np.all(zeros_per_col == 30)


def test_generator_reproducible():
    g = kindling.Generator().manual_seed(7)
    a = init.kaiming_uniform_(kindling.empty(5, 5), generator=g).numpy().copy()
    g.manual_seed(7)
    b = init.kaiming_uniform_(kindling.empty(5, 5), generator=g).numpy()
    np.testing.assert_array_equal(a, b)


def test_zero_element_warns():
    with pytest.warns(UserWarning, match="no-op"):
        init.kaiming_uniform_(kindling.empty(0, 3))
