"""VGG (Simonyan & Zisserman, 2014): stacks of 3x3 convolutions and 2x2 max pooling.

Configurations 11/13/16/19 as in the paper ('M' is a pool), optional BatchNorm after each
convolution. For small inputs (28x28, 32x32) the feature map is averaged to 1x1 before a small
classifier, the usual CIFAR adaptation; `classifier='imagenet'` gives the paper's 4096-4096 head
on a 7x7 map for 224x224 inputs."""
from .. import nn

CONFIGS = {
    11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    13: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    19: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
         512, 512, 512, 512, "M"],
}


def make_layers(cfg, batch_norm=False, in_channels=3):
    layers = []
    for v in cfg:
        if v == "M":
            # ceil_mode: identical on 32x32 and 224x224, and keeps 28x28 inputs alive through all
            # five pools (28 -> 14 -> 7 -> 4 -> 2 -> 1)
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2, ceil_mode=True))
            continue
        layers.append(nn.Conv2d(in_channels, v, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU(inplace=True))
        in_channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    def __init__(self, depth=16, batch_norm=False, num_classes=10, in_channels=3,
                 classifier="small", cfg=None, width=1.0):
        super().__init__()
        cfg = cfg or CONFIGS.get(depth)
        if cfg is None:
            raise ValueError(f"VGG: depth must be one of {sorted(CONFIGS)}, got {depth}")
        cfg = [v if v == "M" else max(1, int(v * width)) for v in cfg]
        self.features = make_layers(cfg, batch_norm, in_channels)
        last = [v for v in cfg if v != "M"][-1]
        if classifier == "imagenet":
            self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
            self.classifier = nn.Sequential(
                nn.Linear(last * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(),
                nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(),
                nn.Linear(4096, num_classes))
        else:
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.classifier = nn.Linear(last, num_classes)

    def forward(self, x):
        x = self.avgpool(self.features(x))   # (N, C, 1, 1) or (N, C, 7, 7)
        return self.classifier(x.flatten(1))  # (N, classes)


def vgg11(**kw):
    return VGG(11, **kw)


def vgg16(**kw):
    return VGG(16, **kw)
