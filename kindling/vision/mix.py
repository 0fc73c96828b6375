"""Batch-level augmentation that mixes examples: Mixup (Zhang et al., 2018) and CutMix
(Yun et al., 2019). Both return soft targets (N, num_classes) that `cross_entropy` accepts as
class probabilities."""
import numpy as np

from ..engine.tensor import _make
from ..random import _np_rng


def _one_hot(target, num_classes, dtype):
    t = np.asarray(target._array if hasattr(target, "_array") else target)
    if t.ndim == 2:  # already probabilities
        return t.astype(dtype)
    out = np.zeros((t.shape[0], num_classes), dtype=dtype)
    out[np.arange(t.shape[0]), t] = 1
    return out


class Mixup:
    """x' = lam x + (1 - lam) x[perm], y' = lam y + (1 - lam) y[perm], lam ~ Beta(alpha, alpha).

    `label_smoothing` optionally smooths the one-hot targets first."""

    def __init__(self, alpha=1.0, num_classes=10, label_smoothing=0.0):
        if alpha <= 0:
            raise ValueError(f"Mixup: alpha must be positive, got {alpha}")
        self.alpha, self.num_classes, self.label_smoothing = alpha, num_classes, label_smoothing

    def _targets(self, target, dtype):
        y = _one_hot(target, self.num_classes, dtype)
        if self.label_smoothing:
            y = y * (1 - self.label_smoothing) + self.label_smoothing / self.num_classes
        return y

    def __call__(self, input, target):
        x = input._array
        rng = _np_rng()
        lam = float(rng.beta(self.alpha, self.alpha))
        perm = rng.permutation(x.shape[0])
        y = self._targets(target, x.dtype)
        mixed = lam * x + (1 - lam) * x[perm]
        self.last_lambda = lam
        return _make(mixed.astype(x.dtype)), _make((lam * y + (1 - lam) * y[perm]).astype(x.dtype))


class CutMix(Mixup):
    """Paste a random box from a shuffled batch; targets mix by the pasted area."""

    def __call__(self, input, target):
        x = input._array
        n, _, h, w = x.shape
        rng = _np_rng()
        lam = float(rng.beta(self.alpha, self.alpha))
        perm = rng.permutation(n)
        cut = np.sqrt(1 - lam)
        ch, cw = int(h * cut), int(w * cut)
        cy, cx = int(rng.integers(0, h)), int(rng.integers(0, w))
        y0, y1 = np.clip(cy - ch // 2, 0, h), np.clip(cy + ch // 2, 0, h)
        x0, x1 = np.clip(cx - cw // 2, 0, w), np.clip(cx + cw // 2, 0, w)
        mixed = x.copy()
        mixed[:, :, y0:y1, x0:x1] = x[perm, :, y0:y1, x0:x1]
        lam = 1 - (y1 - y0) * (x1 - x0) / (h * w)  # the area actually pasted
        y = self._targets(target, x.dtype)
        self.last_lambda, self.last_box = lam, (y0, y1, x0, x1)
        return _make(mixed), _make((lam * y + (1 - lam) * y[perm]).astype(x.dtype))
