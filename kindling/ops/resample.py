"""Resizing feature maps: interpolate (nearest, linear, bilinear, bicubic, trilinear) and pixel
(un)shuffle.

Both are gathers along the spatial axes (plus a weighted sum for the interpolating modes, one
axis at a time: every mode is separable), built from indexing and arithmetic, so gradients come
from those ops."""
import math

import numpy as np

from ..engine.tensor import _make


def _source_coords(out_size, in_size, scale, align_corners, mode):
    dst = np.arange(out_size, dtype=np.float64)
    if mode == "nearest":
        ratio = 1.0 / scale if scale else in_size / out_size
        return np.minimum(np.floor(dst * ratio).astype(np.int64), in_size - 1)
    if mode == "nearest-exact":
        ratio = 1.0 / scale if scale else in_size / out_size
        return np.minimum(np.floor((dst + 0.5) * ratio).astype(np.int64), in_size - 1)
    if align_corners:
        ratio = (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
        return dst * ratio
    ratio = 1.0 / scale if scale else in_size / out_size
    src = (dst + 0.5) * ratio - 0.5
    return src if mode == "cubic" else np.maximum(src, 0.0)  # cubic taps clamp instead


def _linear_along(x, axis, out_size, in_size, scale, align_corners):
    src = _source_coords(out_size, in_size, scale, align_corners, "linear")
    lo = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    hi = np.minimum(lo + 1, in_size - 1)
    w_hi = (src - lo).astype(x._array.dtype)
    shape = [1] * x.ndim
    shape[axis] = out_size
    w_hi_t = _make(w_hi.reshape(shape))
    w_lo_t = _make((1 - w_hi).reshape(shape))
    return x.index_select(axis, _make(lo)) * w_lo_t + x.index_select(axis, _make(hi)) * w_hi_t


_CUBIC_A = -0.75  # PyTorch's (and OpenCV's) cubic convolution coefficient


def _cubic_along(x, axis, out_size, in_size, scale, align_corners):
    """Keys' cubic convolution over the four inputs around each source coordinate, indices
    clamped to the edge, as PyTorch's bicubic mode."""
    src = _source_coords(out_size, in_size, scale, align_corners, "cubic")
    base = np.floor(src)
    t = src - base
    a = _CUBIC_A
    near = lambda d: ((a + 2) * d - (a + 3)) * d * d + 1                 # noqa: E731, |d| <= 1
    far = lambda d: ((a * d - 5 * a) * d + 8 * a) * d - 4 * a            # noqa: E731, 1 < |d| < 2
    weights = (far(t + 1), near(t), near(1 - t), far(2 - t))
    shape = [1] * x.ndim
    shape[axis] = out_size
    out = None
    for k, w in enumerate(weights):
        idx = np.clip(base.astype(np.int64) - 1 + k, 0, in_size - 1)
        term = x.index_select(axis, _make(idx)) * _make(w.astype(x._array.dtype).reshape(shape))
        out = term if out is None else out + term
    return out


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    spatial = input.ndim - 2
    if spatial not in (1, 2, 3):
        raise ValueError(f"interpolate: expected a 3-D, 4-D or 5-D input (batch, channels, "
                         f"spatial dims), got shape {tuple(input.shape)}")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported by kindling")
    dims_of = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
    if mode not in ("nearest", "nearest-exact") and mode not in dims_of:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported; use one of "
                                  f"{sorted(['nearest', 'nearest-exact'] + list(dims_of))}")
    if mode in dims_of and dims_of[mode] != spatial:
        raise ValueError(f"interpolate: mode {mode!r} expects a {dims_of[mode] + 2}-D input, got "
                         f"shape {tuple(input.shape)}")
    if mode.startswith("nearest") and align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: exactly one of size or scale_factor must be given")
    in_sizes = input.shape[2:]
    if size is not None:
        sizes = (size,) * spatial if isinstance(size, int) else tuple(size)
        scales = (None,) * spatial
    else:
        scales = (scale_factor,) * spatial if not isinstance(scale_factor, (tuple, list)) \
            else tuple(scale_factor)
        sizes = tuple(int(math.floor(n * s)) for n, s in zip(in_sizes, scales))
        if recompute_scale_factor:
            scales = (None,) * spatial
    if len(sizes) != spatial:
        raise ValueError(f"interpolate: size {sizes} must have {spatial} elements for input of "
                         f"shape {tuple(input.shape)}")
    out = input
    for i, (n_in, n_out, scale) in enumerate(zip(in_sizes, sizes, scales)):
        axis = 2 + i
        if mode.startswith("nearest"):
            idx = _source_coords(n_out, n_in, scale, None, mode)
            out = out.index_select(axis, _make(idx))
        elif mode == "bicubic":
            out = _cubic_along(out, axis, n_out, n_in, scale, bool(align_corners))
        else:
            out = _linear_along(out, axis, n_out, n_in, scale, bool(align_corners))
    return out


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    return interpolate(input, size, scale_factor, mode, align_corners)


def pixel_shuffle(input, upscale_factor):
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r)."""
    r = int(upscale_factor)
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={c} "
                           f"is not divisible by {r * r}")
    x = input.reshape(-1, c // (r * r), r, r, h, w).permute(0, 1, 4, 2, 5, 3)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W)."""
    r = int(downscale_factor)
    *lead, c, h, w = input.shape
    if h % r or w % r:
        raise RuntimeError(f"pixel_unshuffle expects height and width to be divisible by "
                           f"downscale_factor={r}, got {h}x{w}")
    x = input.reshape(-1, c, h // r, r, w // r, r).permute(0, 1, 3, 5, 2, 4)
    return x.reshape(*lead, c * r * r, h // r, w // r)


FUNCTIONS = ["pixel_shuffle", "pixel_unshuffle"]
METHODS = {}
