"""LeNet-5 (LeCun et al., 1998), for 28x28 (MNIST) or 32x32 inputs.

conv 6@5x5 -> pool -> conv 16@5x5 -> pool -> 120 -> 84 -> classes. A 28x28 input is padded by
2 in the first convolution so both sizes reach the classic 16@5x5 feature map (61,706 parameters
for 10 classes). `activation='tanh', pool='avg'` gives the original; the default ReLU + max
pooling is the modern variant that trains faster.
"""
from dataclasses import dataclass

from .. import nn


@dataclass
class LeNetConfig:
    num_classes: int = 10
    in_channels: int = 1
    input_size: int = 28
    activation: str = "relu"   # or "tanh"
    pool: str = "max"          # or "avg"


class LeNet5(nn.Module):
    def __init__(self, num_classes=10, in_channels=1, input_size=28, activation="relu",
                 pool="max"):
        super().__init__()
        if input_size not in (28, 32):
            raise ValueError(f"LeNet5: input_size must be 28 or 32, got {input_size}")
        self.config = LeNetConfig(num_classes, in_channels, input_size, activation, pool)
        act = {"relu": nn.ReLU, "tanh": nn.Tanh}[activation]
        pooling = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}[pool]
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=2 if input_size == 28 else 0),  # (N, 6, 28, 28)
            act(), pooling(2),                                                   # (N, 6, 14, 14)
            nn.Conv2d(6, 16, 5), act(), pooling(2),                              # (N, 16, 5, 5)
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),                                                        # (N, 400)
            nn.Linear(16 * 5 * 5, 120), act(),
            nn.Linear(120, 84), act(),
            nn.Linear(84, num_classes),                                          # (N, classes)
        )

    def forward(self, x):
        return self.classifier(self.features(x))
