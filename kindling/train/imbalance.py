"""Class imbalance: loss weights, re-sampling and focal loss.

Class weights (inverse frequency, normalized): with n_c examples of class c among N and C
classes,

    w_c = N / (C * n_c)

so a perfectly balanced set gets all weights 1, and sum_c n_c * w_c = N: the weighted loss
has the same overall scale as the unweighted one while every class contributes the same total
weight (N / C). Classes absent from the labels get weight 0 (`class_weights` warns).

Re-sampling: `balanced_sampler` (oversampling: a `WeightedRandomSampler` drawing every class
equally often, minority examples repeated) and `undersample_indices` (drop majority examples so
every class keeps `min_c n_c`). `focal_loss` / `FocalLoss` down-weight easy examples
(Lin et al. 2017) using `kindling.nn.functional.focal_loss`.
"""
import warnings

import numpy as np

from .. import nn
from .. import Tensor
from .. import from_numpy as _make
from ..nn import functional as F
from ..utils.data import WeightedRandomSampler


def _labels(labels):
    a = np.asarray(labels.detach().numpy() if isinstance(labels, Tensor) else labels).reshape(-1)
    if a.dtype.kind not in "iu":
        raise TypeError(f"expected integer class labels, got dtype {a.dtype}")
    return a.astype(np.int64)


def class_counts(labels, num_classes=None):
    y = _labels(labels)
    return np.bincount(y, minlength=num_classes or (int(y.max()) + 1 if y.size else 0))


def class_weights(labels, num_classes=None):
    """Per-class loss weights w_c = N / (C * n_c) as a float32 tensor (see module docstring);
    pass to `nn.CrossEntropyLoss(weight=...)`."""
    counts = class_counts(labels, num_classes).astype(np.float64)
    n, c = counts.sum(), len(counts)
    if (counts == 0).any():
        warnings.warn(f"class_weights: classes {np.flatnonzero(counts == 0).tolist()} have no "
                      f"examples; their weight is 0")
    w = np.divide(n, c * counts, out=np.zeros_like(counts), where=counts > 0)
    return _make(w.astype(np.float32))


def sample_weights(labels, num_classes=None):
    """Per-example sampling weights 1 / n_(class of the example): every class gets the same
    total probability mass."""
    y = _labels(labels)
    counts = class_counts(y, num_classes).astype(np.float64)
    return 1.0 / counts[y]


def balanced_sampler(labels, num_samples=None, replacement=True, generator=None):
    """Oversampling: a `WeightedRandomSampler` that draws each class with probability 1/C
    (`num_samples` defaults to the dataset size, so an epoch keeps its length)."""
    w = sample_weights(labels)
    return WeightedRandomSampler(_make(w), num_samples or len(w), replacement=replacement,
                                 generator=generator)


def undersample_indices(labels, seed=0):
    """Undersampling: indices keeping `min_c n_c` random examples of every present class
    (sorted; use with `Subset`)."""
    y = _labels(labels)
    rng = np.random.default_rng(seed)
    present = np.flatnonzero(np.bincount(y))
    keep = min(int((y == c).sum()) for c in present)
    idx = [rng.choice(np.flatnonzero(y == c), keep, replace=False) for c in present]
    return np.sort(np.concatenate(idx))


class FocalLoss(nn.Module):
    """Focal loss as a module: `-alpha_t (1 - p_t)^gamma log p_t`, mean over the batch;
    gamma=0 and alpha=None give cross-entropy."""

    def __init__(self, gamma=2.0, alpha=None, reduction="mean"):
        super().__init__()
        self.gamma, self.alpha, self.reduction = gamma, alpha, reduction

    def forward(self, input, target):
        return F.focal_loss(input, target, gamma=self.gamma, alpha=self.alpha,
                            reduction=self.reduction)

    def extra_repr(self):
        return f"gamma={self.gamma}"
