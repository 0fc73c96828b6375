"""Vision layers against PyTorch with weights copied across: conv, pooling, normalization,
padding, resampling, weight/spectral norm. Also state_dict layout and repr."""
import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import kindling
import kindling.nn as nn
import kindling.nn.functional as F
from oracle import assert_close

RNG = np.random.default_rng(0)


def rand(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def copy_weights(km, tm):
    """Load torch's state_dict into the kindling module (same keys and layout)."""
    km.load_state_dict({k: kindling.tensor(v.detach().numpy()) for k, v in
                        tm.state_dict().items()})


def compare_module(km, tm, x, train=True, rtol=1e-4, atol=1e-5):
    copy_weights(km, tm)
    km.train(train)
    tm.train(train)
    xk = kindling.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    yk, yt = km(xk), tm(xt)
    assert_close(yk, yt, rtol, atol)
    w = rand(*yt.shape)
    (yk * kindling.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    assert_close(xk.grad, xt.grad, rtol * 10, atol * 10, "input grad")
    tp = dict(tm.named_parameters())
    for name, p in km.named_parameters():
        assert_close(p.grad, tp[name].grad, rtol * 10, atol * 10, f"grad of {name}")
    assert repr(km) == repr(tm)
    return km, tm


@pytest.mark.parametrize("make,shape", [
    (lambda m: m.Conv2d(3, 8, 3), (2, 3, 9, 9)),
    (lambda m: m.Conv2d(4, 8, (3, 2), stride=2, padding=1, dilation=(2, 1), groups=2,
                        bias=False), (2, 4, 9, 8)),
    (lambda m: m.Conv2d(3, 6, 3, padding="same", padding_mode="reflect"), (2, 3, 7, 7)),
    (lambda m: m.Conv2d(3, 6, 3, padding=2, padding_mode="replicate"), (2, 3, 7, 7)),
    (lambda m: m.Conv2d(3, 6, 3, padding=1, padding_mode="circular"), (2, 3, 7, 7)),
    (lambda m: m.Conv2d(4, 4, 3, padding=1, groups=4), (2, 4, 6, 6)),
    (lambda m: m.Conv1d(3, 5, 4, stride=2, padding=1), (2, 3, 12)),
    (lambda m: m.Conv1d(3, 5, 3, padding=1, padding_mode="reflect"), (2, 3, 12)),
    (lambda m: m.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1), (2, 4, 5, 5)),
    (lambda m: m.ConvTranspose2d(4, 6, 2, stride=2, groups=2, bias=False), (2, 4, 3, 3)),
    (lambda m: m.ConvTranspose1d(3, 2, 5, stride=3), (2, 3, 6)),
])
def test_conv_layers(make, shape):
    torch.manual_seed(0)
    compare_module(make(nn), make(tnn), rand(*shape))


def test_conv_default_init_and_parameter_layout_match_torch():
    k, t = nn.Conv2d(16, 32, 5, groups=2), tnn.Conv2d(16, 32, 5, groups=2)
    assert {n: tuple(p.shape) for n, p in k.named_parameters()} == \
        {n: tuple(p.shape) for n, p in t.named_parameters()}
    bound = 1 / np.sqrt(8 * 25)  # kaiming_uniform(a=sqrt 5) gives U(-1/sqrt(fan_in), ...)
    w = k.weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.05 * bound
    kt = nn.ConvTranspose2d(8, 4, 3)
    assert tuple(kt.weight.shape) == tuple(tnn.ConvTranspose2d(8, 4, 3).weight.shape)


def test_conv_transpose_output_size_argument():
    torch.manual_seed(0)
    k, t = nn.ConvTranspose2d(2, 3, 3, stride=2), tnn.ConvTranspose2d(2, 3, 3, stride=2)
    copy_weights(k, t)
    x = rand(1, 2, 4, 4)
    assert_close(k(kindling.tensor(x), output_size=(10, 10)), t(torch.tensor(x), output_size=(10, 10)),
                 rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="output size"):
        k(kindling.tensor(x), output_size=(20, 20))


@pytest.mark.parametrize("make,shape", [
    (lambda m: m.MaxPool2d(2), (2, 3, 8, 8)),
    (lambda m: m.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), (2, 3, 8, 8)),
    (lambda m: m.MaxPool1d(3, stride=2), (2, 3, 9)),
    (lambda m: m.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), (2, 3, 7, 7)),
    (lambda m: m.AvgPool1d(2), (2, 3, 8)),
    (lambda m: m.AdaptiveAvgPool2d(1), (2, 3, 5, 5)),
    (lambda m: m.AdaptiveAvgPool2d((3, 2)), (2, 3, 7, 5)),
    (lambda m: m.AdaptiveMaxPool2d(2), (2, 3, 5, 5)),
    (lambda m: m.AdaptiveAvgPool1d(3), (2, 3, 8)),
])
def test_pool_layers(make, shape):
    compare_module(make(nn), make(tnn), rand(*shape))


def test_max_unpool_layer_roundtrip():
    kp, tp = nn.MaxPool2d(2, return_indices=True), tnn.MaxPool2d(2, return_indices=True)
    ku, tu = nn.MaxUnpool2d(2), tnn.MaxUnpool2d(2)
    x = rand(1, 2, 4, 4)
    ko, ki = kp(kindling.tensor(x))
    to, ti = tp(torch.tensor(x))
    assert_close(ku(ko, ki), tu(to, ti))
    assert repr(ku) == repr(tu)


@pytest.mark.parametrize("momentum", [0.1, None, 0.5])
@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (8, 5)), ("BatchNorm1d", (8, 5, 4)),
                                       ("BatchNorm2d", (4, 3, 5, 5))])
def test_batchnorm_running_stats_over_steps(cls, shape, momentum):
    k, t = getattr(nn, cls)(shape[1], momentum=momentum), getattr(tnn, cls)(shape[1], momentum=momentum)
    with torch.no_grad():
        t.weight.uniform_(0.5, 1.5)
        t.bias.uniform_(-0.5, 0.5)
    copy_weights(k, t)
    for step in range(4):
        x = rand(*shape) * (step + 1) + step
        xk, xt = kindling.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        yk, yt = k(xk), t(xt)
        assert_close(yk, yt, 1e-4, 1e-5)
        (yk * yk).sum().backward()
        (yt * yt).sum().backward()
        assert_close(xk.grad, xt.grad, 1e-3, 1e-4)
    for name in ["running_mean", "running_var", "num_batches_tracked"]:
        assert_close(getattr(k, name), getattr(t, name), 1e-5, 1e-6, name)
    assert_close(k.weight.grad, t.weight.grad, 1e-3, 1e-3)
    k.eval()
    t.eval()
    x = rand(*shape)
    assert_close(k(kindling.tensor(x)), t(torch.tensor(x)), 1e-4, 1e-5, "eval output")
    assert repr(k) == repr(t)
    assert list(k.state_dict()) == list(t.state_dict())


def test_batchnorm_without_running_stats_and_errors():
    k, t = nn.BatchNorm2d(3, affine=False, track_running_stats=False), \
        tnn.BatchNorm2d(3, affine=False, track_running_stats=False)
    compare_module(k, t, rand(4, 3, 2, 2), train=False)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(kindling.randn(1, 3))
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.BatchNorm2d(3)(kindling.randn(2, 3))


@pytest.mark.parametrize("make,shape", [
    (lambda m: m.LayerNorm(6), (3, 4, 6)),
    (lambda m: m.LayerNorm((4, 6), elementwise_affine=False), (3, 4, 6)),
    (lambda m: m.LayerNorm(6, bias=False), (2, 6)),
    (lambda m: m.GroupNorm(2, 6), (3, 6, 4, 4)),
    (lambda m: m.GroupNorm(3, 6, affine=False), (3, 6, 5)),
    (lambda m: m.InstanceNorm2d(3), (2, 3, 4, 4)),
    (lambda m: m.InstanceNorm2d(3, affine=True), (2, 3, 4, 4)),
    (lambda m: m.InstanceNorm1d(3), (2, 3, 7)),
    (lambda m: m.LocalResponseNorm(3), (2, 5, 4, 4)),
    (lambda m: m.LocalResponseNorm(4, alpha=0.01, beta=0.5, k=2.0), (2, 6, 3)),
])
def test_normalization_layers(make, shape):
    k, t = make(nn), make(tnn)
    with torch.no_grad():
        for p in t.parameters():
            p.uniform_(0.5, 1.5)
    compare_module(k, t, rand(*shape))


def test_instance_norm_running_stats():
    k = nn.InstanceNorm2d(3, track_running_stats=True)
    t = tnn.InstanceNorm2d(3, track_running_stats=True)
    for _ in range(3):
        x = rand(2, 3, 4, 4) + 1
        k(kindling.tensor(x))
        t(torch.tensor(x))
    assert_close(k.running_mean, t.running_mean, 1e-5, 1e-6)
    assert_close(k.running_var, t.running_var, 1e-5, 1e-6)
    k.eval()
    t.eval()
    x = rand(2, 3, 4, 4)
    assert_close(k(kindling.tensor(x)), t(torch.tensor(x)), 1e-4, 1e-5)


def test_norm_functionals_gradcheck():
    x = kindling.tensor(rand(4, 3, 2, dtype=np.float64), requires_grad=True)
    w = kindling.tensor(rand(3, dtype=np.float64), requires_grad=True)
    b = kindling.tensor(rand(3, dtype=np.float64), requires_grad=True)
    rm, rv = kindling.zeros(3, dtype=kindling.float64), kindling.ones(3, dtype=kindling.float64)
    for f in (lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=True),
              lambda x, w, b: F.group_norm(x, 3, w, b),
              lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
              lambda x, w, b: F.layer_norm(x, (2,)) * w.sum() + b.sum()):
        assert kindling.autograd.gradcheck(f, (x, w, b))
        assert kindling.autograd.gradgradcheck(f, (x, w, b))


@pytest.mark.parametrize("make,shape", [
    (lambda m: m.ZeroPad2d((1, 2, 0, 3)), (2, 3, 4, 4)),
    (lambda m: m.ZeroPad2d(2), (2, 3, 4, 4)),
    (lambda m: m.ConstantPad1d(2, 3.5), (2, 3, 4)),
    (lambda m: m.ReflectionPad2d(1), (2, 3, 4, 4)),
    (lambda m: m.ReflectionPad1d((2, 1)), (2, 3, 5)),
    (lambda m: m.ReplicationPad2d((1, 0, 2, 1)), (2, 3, 4, 4)),
    (lambda m: m.CircularPad2d(1), (2, 3, 4, 4)),
])
def test_padding_layers(make, shape):
    compare_module(make(nn), make(tnn), rand(*shape))


@pytest.mark.parametrize("kwargs,shape", [
    ({"scale_factor": 2}, (2, 3, 4, 5)),
    ({"size": (7, 3)}, (2, 3, 4, 5)),
    ({"scale_factor": 2, "mode": "bilinear", "align_corners": False}, (2, 3, 4, 5)),
    ({"scale_factor": 1.5, "mode": "bilinear", "align_corners": False}, (2, 3, 4, 5)),
    ({"size": (6, 9), "mode": "bilinear", "align_corners": True}, (2, 3, 4, 5)),
    ({"size": (3, 2), "mode": "bilinear"}, (2, 3, 7, 5)),
    ({"scale_factor": 3, "mode": "linear"}, (2, 3, 4)),
    ({"size": 9, "mode": "nearest"}, (2, 3, 4)),
    ({"size": (5, 7), "mode": "nearest-exact"}, (2, 3, 4, 5)),
])
def test_interpolate_matches_torch(kwargs, shape):
    x = rand(*shape)
    xk, xt = kindling.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yk, yt = F.interpolate(xk, **kwargs), TF.interpolate(xt, **kwargs)
    assert_close(yk, yt, 1e-5, 1e-6)
    yk.sum().backward()
    yt.sum().backward()
    assert_close(xk.grad, xt.grad, 1e-5, 1e-5)


def test_upsample_and_pixel_shuffle_modules():
    compare_module(nn.Upsample(scale_factor=2, mode="bilinear"),
                   tnn.Upsample(scale_factor=2, mode="bilinear"), rand(1, 2, 3, 3))
    compare_module(nn.UpsamplingNearest2d(scale_factor=2), tnn.UpsamplingNearest2d(scale_factor=2),
                   rand(1, 2, 3, 3))
    compare_module(nn.PixelShuffle(2), tnn.PixelShuffle(2), rand(2, 8, 3, 3))
    compare_module(nn.PixelUnshuffle(2), tnn.PixelUnshuffle(2), rand(2, 2, 4, 6))
    compare_module(nn.Unfold(2, stride=2), tnn.Unfold(2, stride=2), rand(2, 3, 4, 6))
    compare_module(nn.Fold((4, 5), 2), tnn.Fold((4, 5), 2), rand(2, 12, 12))


def test_weight_norm_matches_torch():
    torch.manual_seed(0)
    for dim in (0, 1, None):
        t = tnn.utils.weight_norm(tnn.Linear(5, 4), dim=dim)
        k = nn.utils.weight_norm(nn.Linear(5, 4), dim=dim)
        assert sorted(dict(k.named_parameters())) == sorted(dict(t.named_parameters()))
        k.load_state_dict({n: kindling.tensor(v.detach().numpy()) for n, v in t.state_dict().items()})
        x = rand(3, 5)
        xk, xt = kindling.tensor(x), torch.tensor(x)
        assert_close(k(xk), t(xt), 1e-5, 1e-6)
        k(xk).sum().backward()
        t(xt).sum().backward()
        assert_close(k.weight_g.grad, t.weight_g.grad, 1e-4, 1e-5)
        assert_close(k.weight_v.grad, t.weight_v.grad, 1e-4, 1e-5)
    conv = nn.utils.weight_norm(nn.Conv2d(2, 3, 3))
    assert tuple(conv.weight_g.shape) == (3, 1, 1, 1)
    nn.utils.remove_weight_norm(conv)
    assert "weight" in dict(conv.named_parameters())


def test_spectral_norm_matches_torch():
    torch.manual_seed(0)
    t = tnn.utils.spectral_norm(tnn.Linear(6, 4))
    k = nn.utils.spectral_norm(nn.Linear(6, 4))
    assert sorted(k.state_dict()) == sorted(t.state_dict())
    k.load_state_dict({n: kindling.tensor(v.detach().numpy()) for n, v in t.state_dict().items()})
    for _ in range(3):  # training forwards run one power iteration each
        x = rand(2, 6)
        assert_close(k(kindling.tensor(x)), t(torch.tensor(x)), 1e-4, 1e-5)
    assert_close(k.weight_u, t.weight_u, 1e-4, 1e-5)
    sigma = np.linalg.svd(k.weight_orig.detach().numpy(), compute_uv=False)[0]
    for _ in range(50):
        k(kindling.tensor(rand(2, 6)))
    np.testing.assert_allclose(np.linalg.svd(k.weight.detach().numpy(), compute_uv=False)[0], 1.0,
                               rtol=1e-3)
    assert sigma > 0
    ct = nn.utils.spectral_norm(nn.ConvTranspose2d(3, 2, 3))
    assert tuple(ct.weight_u.shape) == (2,)  # dim=1 for transposed convolutions


def test_small_cnn_trains():
    kindling.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 2))
    x = kindling.randn(32, 1, 8, 8)
    y = (x[:, 0, :4].sum(dim=(1, 2)) > x[:, 0, 4:].sum(dim=(1, 2))).long()
    opt = kindling.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]


def test_distance_modules_match_torch():
    a, b = rand(4, 5), rand(4, 5)
    for km, tm in [(nn.PairwiseDistance(), tnn.PairwiseDistance()),
                   (nn.PairwiseDistance(p=1.0, keepdim=True), tnn.PairwiseDistance(p=1.0, keepdim=True)),
                   (nn.CosineSimilarity(dim=1), tnn.CosineSimilarity(dim=1))]:
        assert_close(km(kindling.tensor(a), kindling.tensor(b)), tm(torch.tensor(a), torch.tensor(b)),
                     1e-5, 1e-6)
        assert repr(km) == repr(tm)
