"""The CNN zoo: documented parameter counts (equal to the reference architectures), output
shapes for 28x28 and 32x32 inputs, one training step each, summary and receptive field."""
import numpy as np
import pytest
import torch
import torch.nn as tnn

import kindling
import kindling.nn as nn
import kindling.nn.functional as F
from kindling import models as M


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def test_lenet_matches_a_torch_lenet():
    ref = tnn.Sequential(tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2),
                         tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
                         tnn.Linear(400, 120), tnn.ReLU(), tnn.Linear(120, 84), tnn.ReLU(),
                         tnn.Linear(84, 10))
    k = M.LeNet5()
    assert n_params(k) == sum(p.numel() for p in ref.parameters()) == 61706
    # same layout: torch weights load in order, outputs agree
    params = [kindling.tensor(p.detach().numpy()) for p in ref.parameters()]
    with kindling.no_grad():
        for kp, tp in zip(k.parameters(), params):
            kp.copy_(tp)
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(k(kindling.tensor(x)).detach().numpy(),
                               ref(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)
    assert M.LeNet5(input_size=32)(kindling.randn(2, 1, 32, 32)).shape == (2, 10)


@pytest.mark.parametrize("build,expected", [
    (lambda: M.resnet18(), 11_689_512),      # torchvision's counts, 1000 classes
    (lambda: M.resnet34(), 21_797_672),
    (lambda: M.resnet50(), 25_557_032),
    (lambda: M.MobileNetV1(num_classes=1000, stem_stride=2), 4_231_976),  # the paper's 4.2M
    (lambda: M.VGG(16, num_classes=10), 14_714_688 + 5130),  # torchvision vgg16 features + head
    (lambda: M.resnet20(), 272_474),
])
def test_documented_parameter_counts(build, expected):
    assert n_params(build()) == expected


def test_inception_module_channels_and_parameters():
    block = M.Inception(192, 64, 96, 128, 16, 32, 32)   # inception (3a)
    out = block(kindling.randn(2, 192, 8, 8))
    assert out.shape == (2, 256, 8, 8) and block.out_channels == 256
    conv_bn = lambda i, o, k: i * o * k * k + 2 * o  # noqa: E731  (no conv bias, BN affine)
    expected = (conv_bn(192, 64, 1) + conv_bn(192, 96, 1) + conv_bn(96, 128, 3) +
                conv_bn(192, 16, 1) + conv_bn(16, 32, 5) + conv_bn(192, 32, 1))
    assert n_params(block) == expected


def test_depthwise_separable_saving_matches_theory():
    s = M.separable_savings(M.MobileNetV1())
    # 1/N + 1/K^2 per block, so between 1/9 and 1/9 + 1/64
    assert 1 / 9 < s["ratio"] < 1 / 9 + 1 / 64
    block = M.DepthwiseSeparable(64, 128)
    standard = nn.Conv2d(64, 128, 3, padding=1, bias=False)
    fs = M.summary(block, (64, 16, 16), print_result=False).total_flops
    ff = M.summary(standard, (64, 16, 16), print_result=False).total_flops
    np.testing.assert_allclose(fs / ff, 1 / 128 + 1 / 9, rtol=1e-6)


@pytest.mark.parametrize("build,shape", [
    (lambda: M.LeNet5(), (1, 28, 28)),
    (lambda: M.VGG(11, batch_norm=True, width=0.125), (3, 32, 32)),
    (lambda: M.VGG(11, width=0.125, in_channels=1), (1, 28, 28)),
    (lambda: M.resnet20(), (3, 32, 32)),
    (lambda: M.resnet18(num_classes=10, stem="cifar", in_channels=1, widths=(8, 16, 32, 64)),
     (1, 28, 28)),
    (lambda: M.resnet50(num_classes=10, stem="cifar", widths=(4, 8, 16, 32)), (3, 32, 32)),
    (lambda: M.GoogLeNet(width=0.125), (3, 32, 32)),
    (lambda: M.MobileNetV1(width=0.25, in_channels=1), (1, 28, 28)),
])
def test_each_model_takes_a_training_step(build, shape):
    kindling.manual_seed(0)
    model = build()
    x = kindling.randn(4, *shape)
    y = kindling.tensor([0, 1, 2, 3])
    opt = kindling.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    before = [p.detach().numpy().copy() for p in model.parameters()]
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    assert all(p.grad is not None and np.isfinite(p.grad.numpy()).all()
               for p in model.parameters())
    opt.step()
    # every parameter with a real gradient moved (a conv bias just before BatchNorm gets only
    # rounding noise: BN cancels it analytically)
    live = [np.abs(p.grad.numpy()).max() > 1e-6 for p in model.parameters()]
    for b, p, moving in zip(before, model.parameters(), live):
        if moving:
            assert not np.array_equal(b, p.detach().numpy())
    assert sum(live) >= len(before) // 2
    assert model(x).shape == (4, 10)


def test_summary_reports_shapes_params_and_flops(capsys):
    s = M.summary(M.LeNet5(), (1, 28, 28))
    printed = capsys.readouterr().out
    assert "Total params: 61,706" in printed
    shapes = {l.name: l.output_shape for l in s.layers}
    assert shapes["features.0"] == (1, 6, 28, 28) and shapes["features.5"] == (1, 16, 5, 5)
    conv1 = 2 * 1 * 25 * 6 * 28 * 28
    conv2 = 2 * 6 * 25 * 16 * 10 * 10
    fcs = 2 * (400 * 120 + 120 * 84 + 84 * 10)
    assert s.total_flops == conv1 + conv2 + fcs


def test_receptive_field_of_a_conv_stack():
    stack = nn.Sequential(nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3), nn.MaxPool2d(2),
                          nn.Conv2d(1, 1, 3, dilation=2))
    rows = M.receptive_field(stack)
    assert [r["size"] for r in rows] == [3, 5, 6, 14]
    assert rows[-1]["jump"] == 2
    # two 3x3 convs see 5x5: VGG's argument
    assert M.receptive_field([nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3)])[-1]["size"] == 5
