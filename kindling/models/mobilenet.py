"""MobileNet v1 (Howard et al., 2017): depthwise separable convolutions.

A standard KxK convolution from M to N channels costs K*K*M*N multiply-adds per output pixel;
a depthwise KxK convolution (groups = M) followed by a pointwise 1x1 costs K*K*M + M*N, a ratio
of 1/N + 1/K^2 (about 8-9x fewer for K=3). `separable_savings()` reports it for a network."""
from .. import nn


class DepthwiseSeparable(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, 3, stride=stride, padding=1,
                                   groups=in_channels, bias=False)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        x = self.relu(self.bn1(self.depthwise(x)))     # (N, C_in, H', W')
        return self.relu(self.bn2(self.pointwise(x)))  # (N, C_out, H', W')


# (output channels, stride) of the 13 separable blocks of the paper's table 1
_LAYOUT = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
           (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]


class MobileNetV1(nn.Module):
    """`width` is the paper's width multiplier alpha; `stem_stride=1` suits 28/32 inputs."""

    def __init__(self, num_classes=10, in_channels=3, width=1.0, stem_stride=1):
        super().__init__()
        scale = lambda c: max(8, int(c * width))  # noqa: E731
        c = scale(32)
        layers = [nn.Conv2d(in_channels, c, 3, stride=stem_stride, padding=1, bias=False),
                  nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
        for out, stride in _LAYOUT:
            layers.append(DepthwiseSeparable(c, scale(out), stride))
            c = scale(out)
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x):
        return self.fc(self.avgpool(self.features(x)).flatten(1))


def separable_savings(model):
    """For each DepthwiseSeparable block: (params, standard-conv params) and the totals, i.e.
    what the same layers would cost as ordinary 3x3 convolutions."""
    separable = standard = 0
    for m in model.modules():
        if isinstance(m, DepthwiseSeparable):
            c_in, c_out = m.depthwise.in_channels, m.pointwise.out_channels
            separable += m.depthwise.weight.numel() + m.pointwise.weight.numel()
            standard += 3 * 3 * c_in * c_out
    return {"separable_params": separable, "standard_params": standard,
            "ratio": separable / standard if standard else float("nan")}
