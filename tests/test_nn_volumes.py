"""3-D layers (volumes, video clips): conv3d and conv_transpose3d as sums of 2-D convolutions over
the kernel's depth, 3-D max/average/adaptive pooling and unpooling, 3-D padding and instance
norm, against torch (forward, gradients, indices) and finite differences."""
import numpy as np
import pytest
import torch

import kindling as K
import kindling.nn as nn
import kindling.nn.functional as F
import torch.nn.functional as TF

from oracle import check


def rand(*shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


CONV3D = [((2, 4, 6, 7, 8), (6, 4, 3, 3, 2), {}),
          ((2, 4, 7, 7, 8), (6, 2, 3, 2, 3), dict(stride=(2, 1, 2), padding=(1, 0, 1),
                                                  dilation=(2, 1, 1), groups=2)),
          ((4, 5, 6, 7), (3, 4, 2, 2, 2), dict(padding="same")),        # unbatched, odd total
          ((1, 2, 5, 5, 5), (2, 2, 3, 3, 3), dict(padding=2, stride=3)),
          ((2, 3, 4, 4, 4), (3, 1, 1, 1, 1), dict(groups=3))]            # depthwise 1x1x1


@pytest.mark.parametrize("xs,ws,kw", CONV3D, ids=[str(c[2]) for c in CONV3D])
def test_conv3d_matches_torch(xs, ws, kw):
    check(lambda x, w, b: F.conv3d(x, w, b, **kw), lambda x, w, b: TF.conv3d(x, w, b, **kw),
          rand(*xs), rand(*ws, seed=1), rand(ws[0], seed=2), rtol=1e-4, atol=1e-4)


TRANSPOSED = [((2, 4, 3, 4, 5), (4, 3, 3, 3, 2), {}),
              ((2, 4, 3, 4, 5), (4, 2, 3, 2, 3), dict(stride=(2, 1, 2), padding=(1, 0, 1),
                                                      output_padding=(1, 0, 1), groups=2)),
              ((2, 4, 3, 4, 5), (4, 3, 2, 2, 2), dict(stride=3, padding=1, output_padding=2)),
              ((4, 3, 4, 5), (4, 3, 2, 2, 2), dict(dilation=(2, 1, 1)))]


@pytest.mark.parametrize("xs,ws,kw", TRANSPOSED, ids=[str(c[2]) for c in TRANSPOSED])
def test_conv_transpose3d_matches_torch(xs, ws, kw):
    out_channels = ws[1] * kw.get("groups", 1)
    check(lambda x, w, b: F.conv_transpose3d(x, w, b, **kw),
          lambda x, w, b: TF.conv_transpose3d(x, w, b, **kw),
          rand(*xs), rand(*ws, seed=1), rand(out_channels, seed=2), rtol=1e-4, atol=1e-4)


def test_conv3d_gradcheck_and_second_order():
    x = K.tensor(rand(1, 2, 4, 4, 3, dtype=np.float64), requires_grad=True)
    w = K.tensor(rand(3, 2, 2, 2, 2, seed=1, dtype=np.float64), requires_grad=True)
    assert K.autograd.gradcheck(lambda x, w: F.conv3d(x, w, stride=(2, 1, 1), padding=1),
                                (x, w))
    assert K.autograd.gradcheck(lambda x, w: F.conv_transpose3d(x, w.transpose(0, 1), stride=2),
                                (x, w))
    assert K.autograd.gradgradcheck(lambda x, w: F.conv3d(x, w, padding=(1, 0, 0)), (x, w))


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=(2, 3, 2), stride=(1, 2, 3), dilation=(2, 1, 1),
                                     ceil_mode=True),
                                dict(kernel_size=3, stride=2, ceil_mode=True, padding=1)],
                         ids=str)
def test_max_pool3d_values_indices_and_gradient(kw):
    x = np.maximum(rand(2, 3, 7, 8, 9), 0)   # ties at 0: the gradient goes to the first max
    check(lambda t: F.max_pool3d(t, **kw), lambda t: TF.max_pool3d(t, **kw), x)
    k_idx = F.max_pool3d(K.tensor(x), return_indices=True, **kw)[1]
    t_idx = TF.max_pool3d(torch.tensor(x), return_indices=True, **kw)[1]
    np.testing.assert_array_equal(k_idx.numpy(), t_idx.numpy())


def test_max_pool3d_nan_wins_and_unbatched():
    x = rand(2, 4, 4, 4)
    x[0, 1, 2, 3] = np.nan
    check(lambda t: F.max_pool3d(t, 2), lambda t: TF.max_pool3d(t, 2), x)


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=(2, 3, 2), stride=(1, 2, 3), ceil_mode=True),
                                dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                     count_include_pad=False),
                                dict(kernel_size=2, divisor_override=3)], ids=str)
def test_avg_pool3d_matches_torch(kw):
    check(lambda t: F.avg_pool3d(t, **kw), lambda t: TF.avg_pool3d(t, **kw), rand(2, 3, 7, 8, 9))


@pytest.mark.parametrize("size", [1, (3, 4, 5), (2, None, 4), (7, 8, 9)], ids=str)
def test_adaptive_pool3d_matches_torch(size):
    x = np.maximum(rand(2, 3, 7, 8, 9), 0)
    check(lambda t: F.adaptive_avg_pool3d(t, size), lambda t: TF.adaptive_avg_pool3d(t, size), x)
    check(lambda t: F.adaptive_max_pool3d(t, size), lambda t: TF.adaptive_max_pool3d(t, size), x)
    np.testing.assert_array_equal(F.adaptive_max_pool3d(K.tensor(x), size, True)[1].numpy(),
                                  TF.adaptive_max_pool3d(torch.tensor(x), size, True)[1].numpy())


def test_max_unpool3d_inverts_max_pool3d():
    x = rand(2, 3, 6, 8, 8)
    kv, ki = F.max_pool3d(K.tensor(x), 2, return_indices=True)
    tv, ti = TF.max_pool3d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(F.max_unpool3d(kv, ki, 2).numpy(),
                                  TF.max_unpool3d(tv, ti, 2).numpy())
    with pytest.raises(RuntimeError, match="invalid max index"):
        F.max_unpool3d(*F.max_pool3d(K.tensor(rand(1, 1, 7, 4, 4)), 2, return_indices=True), 2,
                       output_size=(2, 2, 2))


def test_layers_match_torch_with_the_same_weights():
    K.manual_seed(0)
    pairs = [(nn.Conv3d(3, 4, 3, padding=1, padding_mode="reflect"),
              torch.nn.Conv3d(3, 4, 3, padding=1, padding_mode="reflect")),
             (nn.ConvTranspose3d(3, 2, 2, stride=2), torch.nn.ConvTranspose3d(3, 2, 2, stride=2)),
             (nn.MaxPool3d(2, ceil_mode=True), torch.nn.MaxPool3d(2, ceil_mode=True)),
             (nn.AvgPool3d(3, stride=2, padding=1), torch.nn.AvgPool3d(3, stride=2, padding=1)),
             (nn.AdaptiveAvgPool3d((2, 1, 3)), torch.nn.AdaptiveAvgPool3d((2, 1, 3))),
             (nn.AdaptiveMaxPool3d(2), torch.nn.AdaptiveMaxPool3d(2)),
             (nn.InstanceNorm3d(3, affine=True), torch.nn.InstanceNorm3d(3, affine=True)),
             (nn.ReflectionPad3d((1, 2, 0, 1, 1, 0)), torch.nn.ReflectionPad3d((1, 2, 0, 1, 1, 0))),
             (nn.ReplicationPad3d(1), torch.nn.ReplicationPad3d(1)),
             (nn.CircularPad3d(1), torch.nn.CircularPad3d(1)),
             (nn.ConstantPad3d(1, 2.5), torch.nn.ConstantPad3d(1, 2.5)),
             (nn.ZeroPad3d((0, 1, 0, 1, 0, 1)), torch.nn.ZeroPad3d((0, 1, 0, 1, 0, 1)))]
    x = rand(2, 3, 5, 6, 7)
    for km, tm in pairs:
        tm.load_state_dict({k: torch.tensor(v.numpy()) for k, v in km.state_dict().items()})
        assert repr(km) == repr(tm)
        check(km, tm, x, rtol=1e-4, atol=1e-5)


def test_errors_name_the_op_and_shapes():
    with pytest.raises(RuntimeError, match=r"conv3d: expected input with 4 channels"):
        F.conv3d(K.ones(1, 3, 4, 4, 4), K.ones(2, 4, 1, 1, 1))
    with pytest.raises(RuntimeError, match=r"conv3d: expected a 4-D \(unbatched\) or 5-D"):
        F.conv3d(K.ones(3, 4, 4), K.ones(2, 3, 1, 1, 1))
    with pytest.raises(RuntimeError, match="smaller than the kernel depth"):
        F.conv3d(K.ones(1, 1, 2, 4, 4), K.ones(1, 1, 3, 1, 1))
    with pytest.raises(RuntimeError, match="max_pool3d: pad should be at most half"):
        F.max_pool3d(K.ones(1, 1, 4, 4, 4), 2, padding=2)
    with pytest.raises(ValueError, match="kernel_size must be an int or a triple"):
        F.avg_pool3d(K.ones(1, 1, 4, 4, 4), (2, 2))


@pytest.mark.parametrize("shape,kw", [
    ((2, 3, 5, 7), dict(size=(9, 4), mode="bicubic")),
    ((2, 3, 5, 7), dict(scale_factor=2.5, mode="bicubic", align_corners=True)),
    ((2, 3, 5, 7), dict(scale_factor=(1.7, 0.6), mode="bicubic")),
    ((2, 3, 4, 5, 6), dict(size=(7, 3, 9), mode="trilinear")),
    ((2, 3, 4, 5, 6), dict(scale_factor=2, mode="trilinear", align_corners=True)),
    ((2, 3, 4, 5, 6), dict(scale_factor=1.5, mode="nearest")),
    ((2, 3, 4, 5, 6), dict(size=(5, 7, 3), mode="nearest-exact"))], ids=str)
def test_interpolate_bicubic_trilinear_and_volumes_match_torch(shape, kw):
    check(lambda t: F.interpolate(t, **kw), lambda t: TF.interpolate(t, **kw), rand(*shape),
          rtol=1e-5, atol=1e-5)
    layer, reference = nn.Upsample(**kw), torch.nn.Upsample(**kw)
    check(layer, reference, rand(*shape, seed=3), rtol=1e-5, atol=1e-5)


def test_interpolate_mode_needs_its_dims():
    with pytest.raises(ValueError, match="'trilinear' expects a 5-D input"):
        F.interpolate(K.ones(1, 1, 4, 4), scale_factor=2, mode="trilinear")
    with pytest.raises(ValueError, match="expected a 3-D, 4-D or 5-D input"):
        F.interpolate(K.ones(4, 4), scale_factor=2)
