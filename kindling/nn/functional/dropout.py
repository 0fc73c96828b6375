"""Dropout: zero each element with probability p and scale the rest by 1/(1-p) (inverted
dropout), so expectations are unchanged and evaluation needs no rescaling. Masks come from
kindling's RNG (`kindling.manual_seed` makes them reproducible)."""
import numpy as np

from ...engine.tensor import _make
from ...random import _np_rng


def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(shape, p, dtype):
    """Bernoulli(1-p) mask scaled by 1/(1-p), in the input's dtype."""
    if p == 1.0:
        return np.zeros(shape, dtype=dtype)
    keep = _np_rng().random(shape) >= p
    return keep.astype(dtype) * dtype.type(1.0 / (1.0 - p))


def _apply_mask(input, mask, inplace, name):
    m = _make(mask)
    if inplace:
        return input._apply_inplace(name, lambda x, mm: x * mm, m)
    return input * m


def dropout(input, p=0.5, training=True, inplace=False):
    """During training, zero elements with probability `p` and scale the others by 1/(1-p);
    the identity when `training` is False."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    mask = _keep_mask(tuple(input.shape), p, input._array.dtype)
    return _apply_mask(input, mask, inplace, "dropout_")


def _feature_dropout(input, p, training, inplace, batched_ndim, name):
    """Drop whole channels: one mask value per (N, C) entry, broadcast over the rest."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    nd = input.dim()
    if nd not in (batched_ndim, batched_ndim - 1):
        raise RuntimeError(f"{name}: Expected {batched_ndim - 1}D or {batched_ndim}D input, but "
                           f"received a {nd}D input of shape {tuple(input.shape)}")
    lead = 2 if nd == batched_ndim else 1
    shape = tuple(input.shape[:lead]) + (1,) * (nd - lead)
    mask = _keep_mask(shape, p, input._array.dtype)
    return _apply_mask(input, mask, inplace, name + "_")


def dropout1d(input, p=0.5, training=True, inplace=False):
    return _feature_dropout(input, p, training, inplace, 3, "dropout1d")


def dropout2d(input, p=0.5, training=True, inplace=False):
    return _feature_dropout(input, p, training, inplace, 4, "dropout2d")


def dropout3d(input, p=0.5, training=True, inplace=False):
    return _feature_dropout(input, p, training, inplace, 5, "dropout3d")


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _alpha_dropout(input, p, training, inplace, mask_shape):
    _check_p(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0
    alpha_p = -_SELU_ALPHA * _SELU_SCALE
    a = 1.0 / np.sqrt((alpha_p ** 2 * p + 1) * (1 - p))
    b = -a * alpha_p * p
    dtype = input._array.dtype
    keep = (_np_rng().random(mask_shape) >= p).astype(dtype)
    # kept: a*x + b; dropped: a*alpha_p + b  ->  x * (a*keep) + (a*alpha_p*(1-keep) + b)
    scale = _make((keep * a).astype(dtype))
    shift = _make((a * alpha_p * (1 - keep) + b).astype(dtype))
    if inplace:
        return input._apply_inplace("alpha_dropout_", lambda x, s, t: x * s + t, scale, shift)
    return input * scale + shift


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout for SELU networks: dropped values become SELU's negative saturation and an
    affine correction keeps mean and variance."""
    return _alpha_dropout(input, p, training, inplace, tuple(input.shape))


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    nd = input.dim()
    shape = tuple(input.shape[:2]) + (1,) * (nd - 2)
    return _alpha_dropout(input, p, training, inplace, shape)
