"""Sampling and rearranging layers: affine_grid and grid_sample (spatial transformer networks),
channel_shuffle (ShuffleNet) and LP pooling, against torch and finite differences."""
import numpy as np
import pytest
import torch

import kindling as K
import kindling.nn as nn
import kindling.nn.functional as F
import torch.nn.functional as TF

from oracle import check


def rand(*shape, seed=0, scale=1.0, dtype=np.float32):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


@pytest.mark.parametrize("size", [(2, 3, 4, 5), (2, 3, 4, 5, 6), (1, 1, 1, 3)], ids=str)
@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_matches_torch(size, align_corners):
    theta = rand(size[0], len(size) - 2, len(size) - 1)
    check(lambda t: F.affine_grid(t, size, align_corners=align_corners),
          lambda t: TF.affine_grid(t, size, align_corners=align_corners), theta)


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_matches_torch(mode, padding_mode, align_corners):
    # grid values past [-1, 1] exercise every padding mode; gradients reach input and grid
    x, grid = rand(2, 3, 5, 6), rand(2, 4, 7, 2, seed=1, scale=0.9)
    check(lambda a, g: F.grid_sample(a, g, mode, padding_mode, align_corners),
          lambda a, g: TF.grid_sample(a, g, mode, padding_mode, align_corners), x, grid,
          rtol=1e-4, atol=1e-5)


def test_spatial_transformer_identity_and_gradcheck():
    x = K.tensor(rand(2, 3, 4, 5, dtype=np.float64), requires_grad=True)
    identity = K.tensor(np.tile(np.array([[1.0, 0, 0], [0, 1.0, 0]]), (2, 1, 1)))
    grid = F.affine_grid(identity, x.shape, align_corners=False)
    np.testing.assert_allclose(F.grid_sample(x, grid, align_corners=False).detach().numpy(),
                               x.detach().numpy(), atol=1e-12)
    theta = K.tensor(np.tile(np.array([[0.9, 0.1, 0.05], [-0.2, 1.1, 0.1]]), (2, 1, 1)),
                     requires_grad=True)
    assert K.autograd.gradcheck(
        lambda a, t: F.grid_sample(a, F.affine_grid(t, a.shape, align_corners=False),
                                   padding_mode="border", align_corners=False), (x, theta))


def test_grid_sample_is_not_differentiable_twice_and_checks_shapes():
    x = K.tensor(rand(1, 1, 3, 3), requires_grad=True)
    out = F.grid_sample(x, K.tensor(rand(1, 2, 2, 2, seed=1)), align_corners=False)
    with pytest.raises(RuntimeError, match="derivative of its backward is not implemented"):
        K.autograd.grad(out.sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match=r"grid_sample: expected a 4-D input"):
        F.grid_sample(K.ones(1, 1, 3, 3), K.ones(1, 2, 2, 3))
    with pytest.raises(ValueError, match="padding_mode must be"):
        F.grid_sample(K.ones(1, 1, 3, 3), K.ones(1, 2, 2, 2), padding_mode="wrap")
    with pytest.raises(ValueError, match=r"affine_grid: expected theta of shape \(N, 2, 3\)"):
        F.affine_grid(K.ones(1, 3, 3), (1, 1, 4, 4))


def test_channel_shuffle_matches_torch():
    x = rand(2, 6, 3, 4)
    np.testing.assert_array_equal(F.channel_shuffle(K.tensor(x), 3).numpy(),
                                  TF.channel_shuffle(torch.tensor(x), 3).numpy())
    check(nn.ChannelShuffle(2), torch.nn.ChannelShuffle(2), x)
    assert repr(nn.ChannelShuffle(2)) == repr(torch.nn.ChannelShuffle(2))
    with pytest.raises(RuntimeError, match="Got 6 channels and 4 groups"):
        F.channel_shuffle(K.tensor(x), 4)


@pytest.mark.parametrize("name,shape,args", [
    ("lp_pool1d", (2, 3, 9), (2.0, 3)), ("lp_pool1d", (2, 3, 9), (1.5, 2, 3, True)),
    ("lp_pool2d", (2, 3, 7, 8), (2.0, 2)), ("lp_pool2d", (2, 3, 7, 8), (3.0, (2, 3), (1, 2))),
    ("lp_pool3d", (2, 3, 4, 5, 6), (2.0, 2))], ids=str)
def test_lp_pool_matches_torch(name, shape, args):
    x = np.abs(rand(*shape)) + 0.1   # positive: x^p has a gradient everywhere
    check(lambda t: getattr(F, name)(t, *args), lambda t: getattr(TF, name)(t, *args), x,
          rtol=1e-4, atol=1e-5)
    layer = {"lp_pool1d": (nn.LPPool1d, torch.nn.LPPool1d), "lp_pool2d": (nn.LPPool2d,
             torch.nn.LPPool2d), "lp_pool3d": (nn.LPPool3d, torch.nn.LPPool3d)}[name]
    assert repr(layer[0](*args)) == repr(layer[1](*args))
