"""Loss functions: torch.nn.functional's losses, plus focal and contrastive losses.

Every loss takes `reduction` in {'none', 'mean', 'sum'} (and the deprecated `size_average` /
`reduce` pair, which maps to it as in PyTorch). The numerically delicate losses (cross_entropy,
nll_loss, binary_cross_entropy[_with_logits]) are fused ops in `kindling/ops/loss.py`; the others
are composites of elementwise ops, so their gradients (and second gradients) come for free.
"""
import math
import warnings

import numpy as np

from ...engine.tensor import Tensor, _make
from ...ops import loss as _ops
from ...ops import activation as _activation
from ...ops.elementwise import where, relu, exp, log, sigmoid
from . import pairwise_distance  # the package __init__ defines it before importing this file

__all__ = [
    "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss", "kl_div",
    "poisson_nll_loss", "gaussian_nll_loss", "cosine_embedding_loss", "margin_ranking_loss",
    "hinge_embedding_loss", "triplet_margin_loss", "multilabel_soft_margin_loss",
    "soft_margin_loss", "multi_margin_loss", "multilabel_margin_loss",
    "triplet_margin_with_distance_loss", "ctc_loss", "focal_loss", "sigmoid_focal_loss",
    "contrastive_loss",
]


# --- shared helpers -----------------------------------------------------------------------------
def _legacy_reduction(size_average, reduce, reduction):
    """Map the deprecated size_average/reduce pair to a reduction string, as PyTorch does."""
    if size_average is None and reduce is None:
        return reduction
    warnings.warn("size_average and reduce args will be deprecated, please use "
                  "reduction='mean' (or 'sum' / 'none') instead.", stacklevel=3)
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def _check_reduction(reduction, name, allowed=("none", "mean", "sum")):
    if reduction not in allowed:
        raise ValueError(f"{name}: {reduction!r} is not a valid value for reduction (expected "
                         f"one of {', '.join(repr(a) for a in allowed)})")


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return total
    return total / loss.numel() if loss.numel() else total * np.nan  # mean of nothing: nan


def _check_tensor(x, name, what):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected {what} to be a Tensor, got {type(x).__name__}")


def _check_float(x, name, what):
    if not x.is_floating_point():
        raise RuntimeError(f"{name}: expected {what} to be a floating point tensor, got "
                           f"{x.dtype.name}")


def _check_same_shape(input, target, name, strict=False):
    """Elementwise losses: torch broadcasts a differently-shaped target with a warning (`strict`
    losses refuse it). Shapes that cannot broadcast are an error either way."""
    _check_tensor(input, name, "input")
    _check_tensor(target, name, "target")
    if input.shape == target.shape:
        return
    message = (f"{name}: target shape {tuple(target.shape)} is different from input shape "
               f"{tuple(input.shape)}")
    if strict:
        raise ValueError(message + "; please ensure they have the same size")
    try:
        np.broadcast_shapes(input.shape, target.shape)
    except ValueError:
        raise RuntimeError(message + " and the two cannot be broadcast together") from None
    warnings.warn(message + ". This will likely lead to incorrect results due to broadcasting. "
                  "Please ensure they have the same size.", stacklevel=3)


def _weighted_mean_loss(loss, weight, reduction, name):
    """mse/l1 with a per-element weight: 'mean' divides by the sum of the weights."""
    if weight.shape != loss.shape:
        raise ValueError(f"{name}: weight shape {tuple(weight.shape)} must be the same as the "
                         f"input shape {tuple(loss.shape)}")
    loss = loss * weight
    if reduction == "mean":
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction)


# --- regression losses --------------------------------------------------------------------------
def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error: loss = (input - target)^2, optionally times `weight` (then 'mean'
    divides by the sum of the weights)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, "mse_loss")
    _check_same_shape(input, target, "mse_loss")
    diff = input - target
    loss = diff * diff
    if weight is not None:
        return _weighted_mean_loss(loss, weight, reduction, "mse_loss")
    return _reduce(loss, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error: loss = |input - target|, optionally times `weight` (then 'mean'
    divides by the sum of the weights)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, "l1_loss")
    _check_same_shape(input, target, "l1_loss")
    loss = (input - target).abs()
    if weight is not None:
        return _weighted_mean_loss(loss, weight, reduction, "l1_loss")
    return _reduce(loss, reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """loss = 0.5 d^2 / beta if |d| < beta else |d| - 0.5 beta, with d = input - target
    (beta = 0 gives l1_loss)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, "smooth_l1_loss")
    _check_same_shape(input, target, "smooth_l1_loss")
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    d = input - target
    a = d.abs()
    if beta == 0:
        return _reduce(a, reduction)
    loss = where(a < beta, d * d * (0.5 / beta), a - 0.5 * beta)
    return _reduce(loss, reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """loss = 0.5 d^2 if |d| < delta else delta (|d| - 0.5 delta), with d = input - target,
    optionally times `weight` ('mean' stays the plain mean, as in PyTorch)."""
    _check_reduction(reduction, "huber_loss")
    _check_same_shape(input, target, "huber_loss")
    if delta <= 0:
        raise RuntimeError(f"huber_loss: delta must be positive, got {delta}")
    d = input - target
    a = d.abs()
    loss = where(a < delta, d * d * 0.5, (a - 0.5 * delta) * delta)
    if weight is not None:
        if weight.shape != loss.shape:
            raise ValueError(f"huber_loss: weight shape {tuple(weight.shape)} must be the same "
                             f"as the input shape {tuple(loss.shape)}")
        loss = loss * weight
    return _reduce(loss, reduction)


# --- binary classification ----------------------------------------------------------------------
def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """loss = -weight (y log x + (1 - y) log(1 - x)), each log clamped at -100 as in PyTorch.

    `input` holds probabilities in [0, 1]; prefer binary_cross_entropy_with_logits on logits."""
    name = "binary_cross_entropy"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, name)
    _check_tensor(input, name, "input")
    _check_tensor(target, name, "target")
    _check_same_shape(input, target, name, strict=True)
    x = input._array
    if x.size and not (np.all(x >= 0) and np.all(x <= 1)):
        raise RuntimeError(f"{name}: all elements of input should be between 0 and 1 (got "
                           f"values in [{x.min()}, {x.max()}]); use "
                           f"binary_cross_entropy_with_logits for logits")
    y = target._array
    if y.size and not (np.all(y >= 0) and np.all(y <= 1)):
        raise RuntimeError(f"{name}: all elements of target should be between 0 and 1")
    loss = _ops.BCE.apply(input, target)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """loss = weight ((1 - y) x + (1 + (pos_weight - 1) y) softplus(-x)), which equals
    -weight (pos_weight y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))) and is finite for any x.
    `pos_weight` broadcasts along the last (class) dimension."""
    name = "binary_cross_entropy_with_logits"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, name)
    _check_tensor(input, name, "input")
    _check_tensor(target, name, "target")
    _check_same_shape(input, target, name, strict=True)
    _check_float(target, name, "target")
    loss = _ops.BCEWithLogits.apply(input, target, pos_weight)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


# --- multi-class classification -----------------------------------------------------------------
def _check_class_targets(input, target, weight, name, allow_probabilities):
    """Validate (input, target) for class-index or class-probability targets; returns whether
    the targets are probabilities."""
    _check_tensor(input, name, "input")
    _check_tensor(target, name, "target")
    if input.ndim == 0:
        raise ValueError(f"{name}: expected input of shape (C,), (N, C) or (N, C, d1, ...), got "
                         f"a 0-d tensor")
    ca = 1 if input.ndim >= 2 else 0
    n_classes = input.shape[ca]
    if weight is not None and (weight.ndim != 1 or weight.shape[0] != n_classes):
        raise RuntimeError(f"{name}: weight tensor should be defined either for all "
                           f"{n_classes} classes or no classes but got weight tensor of shape "
                           f"{tuple(weight.shape)}")
    if target.is_floating_point():
        if allow_probabilities and target.shape == input.shape:
            return True
        expected = tuple(s for i, s in enumerate(input.shape) if i != ca)
        if allow_probabilities:
            raise RuntimeError(
                f"{name}: expected target of dtype int64 for class indices, got "
                f"{target.dtype.name} (float targets are class probabilities and need the input's "
                f"shape {tuple(input.shape)}, got {tuple(target.shape)})")
        raise RuntimeError(f"{name}: expected target of dtype int64 for class indices, got "
                           f"{target.dtype.name}")
    if target.dtype.name not in ("int64", "uint8"):
        raise RuntimeError(f"{name}: expected target of dtype int64 for class indices, got "
                           f"{target.dtype.name}")
    expected = tuple(s for i, s in enumerate(input.shape) if i != ca)
    if tuple(target.shape) != expected:
        if input.ndim >= 2 and target.ndim >= 1 and target.shape[0] != input.shape[0]:
            raise ValueError(f"{name}: expected input batch_size ({input.shape[0]}) to match "
                             f"target batch_size ({target.shape[0]}) (input shape "
                             f"{tuple(input.shape)}, target shape {tuple(target.shape)})")
        raise ValueError(f"{name}: expected target of shape {expected} for input of shape "
                         f"{tuple(input.shape)}, got {tuple(target.shape)}")
    return False


def _check_index_range(target, ignore_index, n_classes, name):
    t = target._array
    if t.size == 0:
        return
    bad = (t != ignore_index) & ((t < 0) | (t >= n_classes))
    if np.any(bad):
        index = int(t[bad].ravel()[0])
        raise IndexError(f"{name}: target {index} is out of bounds for {n_classes} classes "
                         f"(valid class indices are 0..{n_classes - 1}, or ignore_index="
                         f"{ignore_index})")


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """Cross-entropy of logits `input` (C,), (N, C) or (N, C, d1, ...) against class indices
    (shape without C, int64) or class probabilities (input's shape, float).

    With class indices, weights w and label smoothing e, item i contributes
    (1 - e) (-w_{y_i} log p_{i,y_i}) + (e / C) sum_c (-w_c log p_{i,c}); items equal to
    `ignore_index` contribute 0, and 'mean' divides by sum_i w_{y_i} over the kept items (nan
    when all are ignored, as in PyTorch). With probabilities t, item i contributes
    -sum_c w_c ((1 - e) t_ic + e / C) log p_ic and 'mean' divides by the number of items.
    """
    name = "cross_entropy"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, name)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"{name}: label_smoothing must be between 0.0 and 1.0. Got: "
                           f"{label_smoothing}")
    probabilities = _check_class_targets(input, target, weight, name, True)
    _check_float(input, name, "input")
    if not probabilities:
        _check_index_range(target, ignore_index, input.shape[1 if input.ndim >= 2 else 0], name)
    return _ops.CrossEntropy.apply(input, target, weight, ignore_index, reduction,
                                   float(label_smoothing), probabilities)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood of log-probabilities `input` (C,), (N, C) or (N, C, d1, ...):
    item i contributes -w_{y_i} input[i, y_i] (0 if y_i == ignore_index); 'mean' divides by the
    sum of w_{y_i} over the kept items."""
    name = "nll_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, name)
    _check_class_targets(input, target, weight, name, False)
    _check_float(input, name, "input")
    _check_index_range(target, ignore_index, input.shape[1 if input.ndim >= 2 else 0], name)
    return _ops.NLLLoss.apply(input, target, weight, ignore_index, reduction)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None,
                      reduce=None, reduction="mean"):
    """Multi-class hinge loss: item i contributes
    sum_{j != y_i} w_{y_i} max(0, margin - x[i, y_i] + x[i, j])^p / C, with p in {1, 2}."""
    name = "multi_margin_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, name)
    if p not in (1, 2):
        raise ValueError(f"{name}: only p == 1 and p == 2 are supported, got {p}")
    if input.ndim not in (1, 2):
        raise ValueError(f"{name}: expected input of shape (C,) or (N, C), got "
                         f"{tuple(input.shape)}")
    _check_class_targets(input, target, weight, name, False)
    n_classes = input.shape[-1]
    _check_index_range(target, None, n_classes, name)
    x = input if input.ndim == 2 else input.reshape(1, n_classes)
    t = target._array.reshape(-1)
    one_hot = np.zeros(x.shape, dtype=x._array.dtype)
    one_hot[np.arange(t.shape[0]), t] = 1
    picked = (x * _make(one_hot)).sum(1, keepdim=True)
    margins = relu(x - picked + margin)
    if p == 2:
        margins = margins * margins
    margins = margins * _make(1 - one_hot)
    if weight is not None:
        margins = margins * _make(weight._array[t].reshape(-1, 1))
    loss = margins.sum(1) / n_classes
    if input.ndim == 1:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


# --- divergences and likelihoods ----------------------------------------------------------------
def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """KL divergence with `input` as log-probabilities: loss = target (log target - input)
    (0 where target == 0), or exp(target) (target - input) when `log_target`. 'batchmean'
    divides the sum by the batch size input.size(0), the mathematical KL divergence."""
    name = "kl_div"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, name, ("none", "mean", "sum", "batchmean"))
    if reduction == "mean" and size_average is None and reduce is None:
        warnings.warn("kl_div: reduction='mean' divides the total loss by both the batch size "
                      "and the support size; 'batchmean' divides only by the batch size, which "
                      "is the mathematical KL divergence ('mean' will behave like 'batchmean' "
                      "in a future PyTorch release).", stacklevel=2)
    _check_same_shape(input, target, name)
    if log_target:
        loss = exp(target) * (target - input)
    else:
        positive = target > 0
        safe = where(positive, target, 1.0)
        loss = where(positive, target * log(safe), 0.0) - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.ndim else total
    return _reduce(loss, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    """Poisson negative log-likelihood: loss = exp(input) - target input if `log_input`, else
    input - target log(input + eps); `full` adds the Stirling term
    target log target - target + 0.5 log(2 pi target) where target > 1."""
    name = "poisson_nll_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, name)
    _check_same_shape(input, target, name)
    if log_input:
        loss = exp(input) - target * input
    else:
        loss = input - target * log(input + eps)
    if full:
        big = target > 1
        safe = where(big, target, 1.0)
        stirling = safe * log(safe) - safe + 0.5 * log(2 * math.pi * safe)
        loss = loss + where(big, stirling, 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """Gaussian negative log-likelihood: loss = 0.5 (log max(var, eps) + (input - target)^2 /
    max(var, eps)) (+ 0.5 log(2 pi) if `full`). `var` has the input's shape, or lacks its last
    dimension, or has a size-1 dimension (heteroscedastic), or is a float. As in PyTorch, the
    clamp at eps is not differentiated (the gradient flows to var as if unclamped)."""
    name = "gaussian_nll_loss"
    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError(f"{name}: var has negative entry/entries")
        var = _make(np.full(input.shape, float(var), dtype=input._array.dtype))
    elif np.any(var._array < 0):
        raise ValueError(f"{name}: var has negative entry/entries")
    if var.shape != input.shape:
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.reshape(tuple(var.shape) + (1,))
        elif input.ndim == var.ndim and sum(
                v for i, v in zip(input.shape, var.shape) if i != v) == 1:
            pass  # heteroscedastic: one dimension of size 1 broadcasts
        else:
            raise ValueError(f"{name}: var is of incorrect size {tuple(var.shape)} for input of "
                             f"shape {tuple(input.shape)}")
    _check_reduction(reduction, name)
    clamped = np.maximum(var._array, eps)
    if np.any(clamped != var._array):
        var = var + _make((clamped - var._array).astype(var._array.dtype))  # identity gradient
    diff = input - target
    loss = (log(var) + diff * diff / var) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


# --- embeddings and ranking ---------------------------------------------------------------------
def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                          reduction="mean"):
    """loss = 1 - cos(x1, x2) where target == 1, max(0, cos(x1, x2) - margin) where
    target == -1; cos uses sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12)) as in PyTorch."""
    name = "cosine_embedding_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, name)
    if input1.shape != input2.shape:
        raise RuntimeError(f"{name}: input1 shape {tuple(input1.shape)} and input2 shape "
                           f"{tuple(input2.shape)} must match")
    if input1.ndim not in (1, 2):
        raise RuntimeError(f"{name}: expected 1-D or 2-D inputs, got {tuple(input1.shape)}")
    dim = input1.ndim - 1
    expected = tuple(input1.shape[:-1])
    if tuple(target.shape) != expected:
        raise RuntimeError(f"{name}: expected target of shape {expected} for inputs of shape "
                           f"{tuple(input1.shape)}, got {tuple(target.shape)}")
    eps = 1e-12
    prod = (input1 * input2).sum(dim)
    mag = ((input1 * input1).sum(dim) + eps) * ((input2 * input2).sum(dim) + eps)
    cos = prod / mag ** 0.5
    zero = cos * 0
    loss = where(target == 1, 1 - cos, zero) + where(target == -1, relu(cos - margin), zero)
    return _reduce(loss, reduction)


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                        reduction="mean"):
    """loss = max(0, -target (input1 - input2) + margin), target in {1, -1}."""
    name = "margin_ranking_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, name)
    if not (input1.ndim == input2.ndim == target.ndim):
        raise RuntimeError(f"{name}: all input tensors should have the same dimension; got "
                           f"shapes {tuple(input1.shape)}, {tuple(input2.shape)} and "
                           f"{tuple(target.shape)}")
    loss = relu(-target * (input1 - input2) + margin)
    return _reduce(loss, reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    """loss = input where target == 1, max(0, margin - input) where target == -1 (both terms
    where target is neither, as in PyTorch)."""
    name = "hinge_embedding_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, name)
    zero = input * 0
    loss = (where(target != 1, relu(margin - input), zero)
            + where(target != -1, input, zero))
    return _reduce(loss, reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """loss = max(0, margin + d(a, p) - d(a, n)), d the pairwise p-norm distance (with eps added
    to the difference); with `swap`, d(a, n) becomes min(d(a, n), d(p, n))."""
    name = "triplet_margin_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, name)
    if margin <= 0:
        raise ValueError(f"{name}: margin must be greater than 0, got {margin}")
    if not (anchor.ndim == positive.ndim == negative.ndim) or anchor.ndim not in (1, 2):
        raise RuntimeError(f"{name}: anchor, positive and negative must all be 1-D or all 2-D; "
                           f"got shapes {tuple(anchor.shape)}, {tuple(positive.shape)} and "
                           f"{tuple(negative.shape)}")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_swap = pairwise_distance(positive, negative, p, eps)
        d_neg = where(d_swap < d_neg, d_swap, d_neg)
    loss = relu(margin + d_pos - d_neg)
    return _reduce(loss, reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):
    """triplet_margin_loss with any distance: loss = max(0, margin + d(a, p) - d(a, n)), d =
    `distance_function` (default: pairwise_distance, p=2, eps=1e-6); `swap` uses
    min(d(a, n), d(p, n)) as the negative distance."""
    name = "triplet_margin_with_distance_loss"
    _check_reduction(reduction, name)
    if margin <= 0:
        raise ValueError(f"{name}: margin must be greater than 0, got {margin}")
    if not (anchor.ndim == positive.ndim == negative.ndim):
        raise RuntimeError(f"{name}: the anchor, positive, and negative tensors are expected to "
                           f"have the same number of dimensions, got shapes "
                           f"{tuple(anchor.shape)}, {tuple(positive.shape)} and "
                           f"{tuple(negative.shape)}")
    distance = distance_function or pairwise_distance
    d_pos = distance(anchor, positive)
    d_neg = distance(anchor, negative)
    if swap:
        d_swap = distance(positive, negative)
        d_neg = where(d_swap < d_neg, d_swap, d_neg)
    loss = relu(margin + d_pos - d_neg)
    return _reduce(loss, reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Multi-label hinge loss. Each row of `target` (int64, the input's shape) lists the row's
    classes, ended by the first -1; item i contributes
    sum_{j in targets} sum_{k not in targets} max(0, 1 - (x[i, j] - x[i, k])) / C."""
    name = "multilabel_margin_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, name)
    _check_tensor(input, name, "input")
    _check_tensor(target, name, "target")
    if input.ndim not in (1, 2) or target.shape != input.shape:
        raise ValueError(f"{name}: expected input of shape (C,) or (N, C) and a target of the "
                         f"same shape, got input {tuple(input.shape)} and target "
                         f"{tuple(target.shape)}")
    if target.is_floating_point():
        raise RuntimeError(f"{name}: expected target of dtype int64 for class indices, got "
                           f"{target.dtype.name}")
    n_classes = input.shape[-1]
    x = input if input.ndim == 2 else input.reshape(1, n_classes)
    t = target._array.reshape(x.shape).astype(np.int64)
    pairs = np.zeros((x.shape[0], n_classes, n_classes), dtype=x._array.dtype)  # (N, j, k)
    for i, row in enumerate(t):
        stop = np.flatnonzero(row == -1)
        labels = row[:stop[0]] if stop.size else row
        if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
            bad = labels[(labels < 0) | (labels >= n_classes)][0]
            raise IndexError(f"{name}: target {bad} is out of bounds for {n_classes} classes")
        is_target = np.zeros(n_classes, dtype=bool)
        is_target[labels] = True
        counts = np.bincount(labels, minlength=n_classes).astype(pairs.dtype)
        pairs[i] = counts[:, None] * ~is_target[None, :]
    rows, cols = x.reshape(x.shape[0], n_classes, 1), x.reshape(x.shape[0], 1, n_classes)
    loss = (relu(1 - rows + cols) * _make(pairs)).sum((1, 2)) / n_classes
    if input.ndim == 1:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    """loss_i = mean_c -w_c (y_ic log sigmoid(x_ic) + (1 - y_ic) log sigmoid(-x_ic))."""
    name = "multilabel_soft_margin_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, name)
    _check_same_shape(input, target, name)
    loss = _ops.BCEWithLogits.apply(input, target, None)
    if weight is not None:
        loss = loss * weight
    n_classes = input.shape[-1]
    loss = loss.sum(input.ndim - 1) / n_classes
    return _reduce(loss, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """loss = log(1 + exp(-target input)), computed stably, target in {1, -1} (finite where
    PyTorch's float32 overflows to inf, -target * input > 88)."""
    name = "soft_margin_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, name)
    _check_same_shape(input, target, name)
    # softplus(z), z = -target * input: 0 at z = -inf, z itself past 20 (where PyTorch's
    # log1p(exp(z)) agrees to float precision, then overflows from z = 89 in float32)
    loss = _activation.softplus(-target * input)
    return _reduce(loss, reduction)


# --- sequences -----------------------------------------------------------------------------------
def _lengths(x, name, what):
    array = x._array if isinstance(x, Tensor) else np.asarray(x)
    if array.dtype.kind not in "iu":
        raise RuntimeError(f"{name}: expected {what} of integer dtype, got {array.dtype}")
    return np.atleast_1d(array).astype(np.int64)


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    """Connectionist temporal classification loss: -log of the total probability of all
    alignments of each target sequence to its input (Graves et al. 2006).

    log_probs (T, N, C) or (T, C) (log_softmax outputs); targets (N, S) padded, or 1-D holding
    the concatenated targets; input_lengths and target_lengths (N,) (tensors or sequences of
    ints). 'mean' divides each item's loss by its target length, then averages over the batch;
    `zero_infinity` replaces infinite losses (impossible alignments) and their gradients by 0."""
    name = "ctc_loss"
    _check_reduction(reduction, name)
    _check_tensor(log_probs, name, "log_probs")
    _check_tensor(targets, name, "targets")
    unbatched = log_probs.ndim == 2
    if log_probs.ndim not in (2, 3):
        raise RuntimeError(f"{name}: expected log_probs of shape (T, N, C) or (T, C), got "
                           f"{tuple(log_probs.shape)}")
    _check_float(log_probs, name, "log_probs")
    lp = log_probs.reshape(log_probs.shape[0], 1, log_probs.shape[1]) if unbatched else log_probs
    T, N, C = lp.shape
    in_len = _lengths(input_lengths, name, "input_lengths")
    tg_len = _lengths(target_lengths, name, "target_lengths")
    if in_len.shape != (N,) or tg_len.shape != (N,):
        raise RuntimeError(f"{name}: expected input_lengths and target_lengths of shape ({N},), "
                           f"got {in_len.shape} and {tg_len.shape}")
    if np.any(in_len > T) or np.any(in_len < 0):
        bad = int(in_len[(in_len > T) | (in_len < 0)][0])
        raise RuntimeError(f"{name}: input length {bad} is out of range for log_probs with "
                           f"{T} time steps")
    if not 0 <= blank < C:
        raise RuntimeError(f"{name}: blank {blank} must be in the range [0, {C})")
    t = targets._array.astype(np.int64)
    if unbatched:
        t = t.reshape(1, -1)
    if t.ndim == 2:
        if t.shape[0] != N or np.any(tg_len > t.shape[1]):
            raise RuntimeError(f"{name}: targets of shape {tuple(targets.shape)} do not match "
                               f"batch size {N} and target_lengths {tg_len.tolist()}")
        labels = [t[n, :tg_len[n]] for n in range(N)]
    else:
        if tg_len.sum() != t.shape[0]:
            raise RuntimeError(f"{name}: 1-D targets hold {t.shape[0]} labels but target_lengths "
                               f"sum to {int(tg_len.sum())}")
        labels = np.split(t, np.cumsum(tg_len)[:-1])
    for row in labels:
        if row.size and (row.min() < 0 or row.max() >= C):
            bad = int(row[(row < 0) | (row >= C)][0])
            raise IndexError(f"{name}: target {bad} is out of bounds for {C} classes")
    out = _ops.CTCLoss.apply(lp, labels, in_len, tg_len, blank, reduction, zero_infinity)
    return out.reshape(()) if unbatched and reduction == "none" else out


# --- beyond PyTorch -----------------------------------------------------------------------------
def focal_loss(input, target, gamma=2.0, alpha=None, reduction="mean", ignore_index=-100):
    """Focal loss (Lin et al. 2017) for multi-class logits `input` (N, C) or (N, C, d1, ...) and
    class-index targets:

        FL_i = -alpha_t (1 - p_t)^gamma log p_t,   p_t = softmax(input_i)[y_i]

    `alpha` is None (alpha_t = 1), a per-class tensor of shape (C,) (alpha_t = alpha[y_i]), or a
    float: binary-style weighting, shorthand for the per-class tensor [1 - alpha, alpha, ...,
    alpha] (class 0 is the negative/background class, as in the binary focal loss, so with C = 2
    it weighs positives by alpha and negatives by 1 - alpha). Items equal to `ignore_index`
    contribute 0. 'mean' divides by sum_i alpha_t over the kept items when alpha is given
    (exactly cross_entropy's weighted mean), else by the number of kept items; so with gamma=0,
    focal_loss(x, y, alpha=w) == cross_entropy(x, y, weight=w) and with alpha=None it
    is cross_entropy(x, y). log p_t comes from the fused cross-entropy op: finite for any logits.
    """
    name = "focal_loss"
    _check_reduction(reduction, name)
    if gamma < 0:
        raise ValueError(f"{name}: gamma must be non-negative, got {gamma}")
    _check_class_targets(input, target, None, name, False)
    n_classes = input.shape[1 if input.ndim >= 2 else 0]
    _check_index_range(target, ignore_index, n_classes, name)
    neg_log_pt = _ops.CrossEntropy.apply(input, target, None, ignore_index, "none", 0.0, False)
    valid = target._array != ignore_index
    if gamma == 0:
        loss = neg_log_pt
    else:
        pt = exp(-neg_log_pt)
        loss = (1 - pt) ** gamma * neg_log_pt
    if alpha is not None and not isinstance(alpha, Tensor):
        a = float(alpha)
        alpha = _make(np.array([1 - a] + [a] * (n_classes - 1), dtype=input._array.dtype))
    if alpha is None:
        normalizer = valid.sum()
    else:
        if alpha.shape != (n_classes,):
            raise ValueError(f"{name}: alpha must be a float or a tensor of shape "
                             f"({n_classes},), got shape {tuple(alpha.shape)}")
        safe = np.where(valid, target._array, 0)
        # alpha is a constant here: no gradient flows to it.
        alpha_t = _make((alpha._array[safe] * valid).astype(alpha._array.dtype))
        loss = loss * alpha_t
        normalizer = alpha_t.sum()
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return total
    if isinstance(normalizer, Tensor):
        return total / normalizer
    return total / int(normalizer) if normalizer else total * np.nan


def sigmoid_focal_loss(input, target, alpha=0.25, gamma=2.0, reduction="none"):
    """Binary focal loss on logits, torchvision's formula (RetinaNet):

        p = sigmoid(x),  ce = BCE-with-logits(x, y),  p_t = p y + (1 - p)(1 - y)
        loss = alpha_t (1 - p_t)^gamma ce,  alpha_t = alpha y + (1 - alpha)(1 - y)

    (no alpha weighting when alpha < 0). The default reduction is 'none', as in torchvision."""
    name = "sigmoid_focal_loss"
    _check_reduction(reduction, name)
    _check_same_shape(input, target, name, strict=True)
    p = sigmoid(input)
    ce = _ops.BCEWithLogits.apply(input, target, None)
    p_t = p * target + (1 - p) * (1 - target)
    loss = ce * (1 - p_t) ** gamma if gamma != 0 else ce
    if alpha >= 0:
        loss = (target * alpha + (1 - target) * (1 - alpha)) * loss
    return _reduce(loss, reduction)


def contrastive_loss(x1, x2, target, margin=1.0, reduction="mean"):
    """Contrastive loss (Hadsell, Chopra and LeCun 2006) on embedding pairs (N, D) or (D,):

        loss_i = y_i d_i^2 + (1 - y_i) max(0, margin - d_i)^2,   d_i = ||x1_i - x2_i||_2

    Convention: target 1 = similar pair (pulled together), 0 = dissimilar (pushed at least
    `margin` apart). No factor 1/2 (the paper's 1/2 only rescales the loss). d^2 is computed
    without a square root so similar pairs at distance 0 have gradient 0, not nan."""
    name = "contrastive_loss"
    _check_reduction(reduction, name)
    if x1.shape != x2.shape:
        raise ValueError(f"{name}: x1 shape {tuple(x1.shape)} and x2 shape {tuple(x2.shape)} "
                         f"must match")
    if tuple(target.shape) != tuple(x1.shape[:-1]):
        raise ValueError(f"{name}: expected target of shape {tuple(x1.shape[:-1])} for "
                         f"embeddings of shape {tuple(x1.shape)}, got {tuple(target.shape)}")
    diff = x1 - x2
    sq = (diff * diff).sum(-1)
    positive = sq > 0
    d = where(positive, where(positive, sq, 1.0) ** 0.5, 0.0)  # sqrt with a zero gradient at 0
    y = target if target.dtype == sq.dtype else target.to(sq.dtype)
    hinge = relu(margin - d)
    loss = y * sq + (1 - y) * hinge * hinge
    return _reduce(loss, reduction)
