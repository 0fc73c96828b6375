"""Inception (Szegedy et al., 2014): parallel 1x1, 3x3, 5x5 and pooling branches, concatenated.

1x1 "reduce" convolutions before the 3x3 and 5x5 branches keep the cost down. `GoogLeNet` here
is a small version for 28x28/32x32 inputs: a 3x3 stem and the paper's inception(3a)-(5b) blocks
(channel counts scaled by `width`), then global average pooling and a linear classifier."""
from ..ops.shape import cat as _cat
from .. import nn


def _conv_bn(in_c, out_c, k, **kw):
    return nn.Sequential(nn.Conv2d(in_c, out_c, k, bias=False, **kw), nn.BatchNorm2d(out_c),
                         nn.ReLU(inplace=True))


class Inception(nn.Module):
    """Output channels: ch1x1 + ch3x3 + ch5x5 + pool_proj."""

    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        self.branch1 = _conv_bn(in_channels, ch1x1, 1)
        self.branch2 = nn.Sequential(_conv_bn(in_channels, ch3x3red, 1),
                                     _conv_bn(ch3x3red, ch3x3, 3, padding=1))
        self.branch3 = nn.Sequential(_conv_bn(in_channels, ch5x5red, 1),
                                     _conv_bn(ch5x5red, ch5x5, 5, padding=2))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1),
                                     _conv_bn(in_channels, pool_proj, 1))
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj

    def forward(self, x):
        branches = [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]
        return _cat(branches, 1)  # (N, out_channels, H, W)


# The paper's table 1 for inception (3a) to (5b): (1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool)
_BLOCKS = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64), "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128), "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


class GoogLeNet(nn.Module):
    def __init__(self, num_classes=10, in_channels=3, width=1.0, dropout=0.2):
        super().__init__()
        scale = lambda c: max(1, int(round(c * width)))  # noqa: E731
        stem = scale(192)
        self.stem = _conv_bn(in_channels, stem, 3, padding=1)
        blocks, c = [], stem
        for name in ["3a", "3b", "pool", "4a", "4b", "4c", "4d", "4e", "pool", "5a", "5b"]:
            if name == "pool":
                blocks.append(nn.MaxPool2d(3, stride=2, padding=1))
                continue
            block = Inception(c, *[scale(v) for v in _BLOCKS[name]])
            blocks.append(block)
            c = block.out_channels
        self.blocks = nn.Sequential(*blocks)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x):
        x = self.blocks(self.stem(x))          # (N, C, H/4, W/4)
        x = self.avgpool(x).flatten(1)         # (N, C)
        return self.fc(self.dropout(x))        # (N, classes)
