"""Regularization as callbacks, plus input normalization from training-set statistics.

Weight decay needs no code here: coupled L2 is `optim.SGD/Adam(..., weight_decay=wd)` (the
gradient gets `+ wd * w`, which Adam then rescales), decoupled is `optim.AdamW(...,
weight_decay=wd)` (`w -= lr * wd * w` apart from the adaptive step). Dropout is `nn.Dropout`
(or `models.MLP(dropout=p)`), label smoothing is `nn.CrossEntropyLoss(label_smoothing=eps)`.

    L1Penalty       adds lam * sign(w) to the gradients: the (sub)gradient of lam * sum |w|
    l1_penalty      lam * sum |w| as a tensor, to add to a loss yourself
    MaxNorm         after each step, rescale every row w_i (output unit) with ||w_i|| > c to c
    Normalizer      per-feature / per-channel mean and std computed on the training split only
"""
import re

import numpy as np

from .. import Tensor, no_grad
from .. import from_numpy as _make
from .callbacks import Callback


def _weights(model, pattern=None, include_bias=False):
    """(name, param) of weight matrices/kernels (ndim > 1), or all params with include_bias,
    optionally restricted to names matching the regex `pattern`."""
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if not include_bias and p.dim() < 2:
            continue
        if pattern is not None and not re.search(pattern, name):
            continue
        yield name, p


def l1_penalty(model, lam, pattern=None, include_bias=False):
    """lam * sum_i |w_i| over the selected parameters, as a differentiable tensor."""
    total = None
    for _, p in _weights(model, pattern, include_bias):
        term = p.abs().sum()
        total = term if total is None else total + term
    if total is None:
        raise ValueError("l1_penalty: no parameter selected")
    return total * lam


class L1Penalty(Callback):
    """L1 regularization: before each optimizer step add `lam * sign(w)` to the gradient of
    each selected weight, i.e. train on `loss + lam * sum |w|` (weights only unless
    `include_bias`; `pattern` is a regex on parameter names). Drives unneeded weights to ~0
    (they then hover within about lr * lam of zero with plain SGD)."""
    order = -15  # before clipping, so the clipped gradient includes the penalty

    def __init__(self, lam, pattern=None, include_bias=False):
        super().__init__()
        if lam < 0:
            raise ValueError(f"L1Penalty: lam must be >= 0, got {lam}")
        self.lam, self.pattern, self.include_bias = float(lam), pattern, include_bias

    def on_before_step(self, trainer):
        with no_grad():
            for _, p in _weights(trainer.model, self.pattern, self.include_bias):
                g = p.detach().sign() * self.lam
                p.grad = g if p.grad is None else p.grad + g


def apply_max_norm(model, max_norm, pattern=None, dim=0, eps=1e-7):
    """Rescale each slice `w[i]` along `dim` (a unit's incoming weights for Linear/Conv) whose
    L2 norm exceeds `max_norm` to norm `max_norm`. Returns the largest norm seen before."""
    largest = 0.0
    with no_grad():
        for _, p in _weights(model, pattern):
            w = p.detach().numpy()
            axes = tuple(a for a in range(w.ndim) if a != dim)
            norms = np.sqrt((w.astype(np.float64) ** 2).sum(axis=axes, keepdims=True))
            largest = max(largest, float(norms.max()))
            scale = np.minimum(1.0, max_norm / (norms + eps)).astype(w.dtype)
            p.mul_(_make(scale))  # in place: the optimizer keeps the same tensor
    return largest


class MaxNorm(Callback):
    """Max-norm constraint (Srebro et al.; used with dropout by Srivastava et al. 2014): after
    every optimizer step each unit's incoming weight vector is projected back into the ball of
    radius `max_norm`."""
    order = 10

    def __init__(self, max_norm, pattern=None):
        super().__init__()
        if max_norm <= 0:
            raise ValueError(f"MaxNorm: max_norm must be > 0, got {max_norm}")
        self.max_norm, self.pattern = float(max_norm), pattern

    def on_after_step(self, trainer):
        apply_max_norm(trainer.model, self.max_norm, self.pattern)


def _array(x):
    return np.asarray(x.detach().numpy() if isinstance(x, Tensor) else x)


class Normalizer:
    """Standardize inputs with statistics of the training split only.

    `Normalizer.fit(x_train)` computes the mean and std per feature for (N, D) data and per
    channel for (N, C, ...) images (over N and the spatial axes); `normalizer(x)` returns
    `(x - mean) / std` as a float32 tensor. Apply the same fitted normalizer to validation and
    test data: their own statistics must not leak into preprocessing.
    """

    def __init__(self, mean, std, eps=1e-8):
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.maximum(np.asarray(std, dtype=np.float32), eps)

    @classmethod
    def fit(cls, x):
        a = _array(x).astype(np.float64)
        if a.ndim < 2:
            raise ValueError(f"Normalizer.fit: expected (N, D) or (N, C, ...) data, got shape "
                             f"{a.shape}")
        axes = (0,) + tuple(range(2, a.ndim))
        return cls(a.mean(axis=axes), a.std(axis=axes))

    def __call__(self, x):
        a = _array(x).astype(np.float32)
        shape = (1, -1) + (1,) * (a.ndim - 2)
        return _make(((a - self.mean.reshape(shape)) / self.std.reshape(shape))
                     .astype(np.float32))

    def state_dict(self):
        return {"mean": self.mean, "std": self.std}

    @classmethod
    def from_state_dict(cls, state):
        return cls(state["mean"], state["std"])
