"""Resizing feature maps: interpolate (nearest, linear, bilinear, bicubic, trilinear) and pixel
(un)shuffle.

Both are gathers along the spatial axes (plus a weighted sum for the interpolating modes, one
axis at a time: every mode is separable), built from indexing and arithmetic, so gradients come
from those ops."""
import math

import numpy as np

from ..engine import grad_mode
from ..engine.function import Op
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


def channel_shuffle(input, groups):
    """(N, g * k, *) -> (N, k * g, *): channel j of group i moves to position j * g + i, so the
    next grouped convolution mixes information across groups (ShuffleNet)."""
    g = int(groups)
    if g <= 0:
        raise ValueError(f"channel_shuffle: number of groups to divide channels in must be "
                         f"positive, got {g}")
    if input.ndim < 3:
        raise RuntimeError(f"channel_shuffle: expected an input of at least 3 dims, got shape "
                           f"{tuple(input.shape)}")
    n, c, *rest = input.shape
    if c % g:
        raise RuntimeError(f"channel_shuffle: number of channels must be divisible by groups. "
                           f"Got {c} channels and {g} groups.")
    return input.reshape(n, g, c // g, *rest).transpose(1, 2).reshape(n, c, *rest)


# --- sampling at arbitrary points (spatial transformer networks) -------------------------------
def affine_grid(theta, size, align_corners=False):
    """The sampling grid of an affine map: for each output pixel, theta @ (x, y, 1) in
    normalized [-1, 1] coordinates (x along the width), (N, H, W, 2); in 3-D (N, D, H, W, 3)."""
    size = tuple(int(v) for v in size)
    spatial = len(size) - 2
    if spatial not in (2, 3) or theta.ndim != 3 or tuple(theta.shape[1:]) != (spatial,
                                                                               spatial + 1):
        raise ValueError(f"affine_grid: expected theta of shape (N, 2, 3) with a 4-D size or "
                         f"(N, 3, 4) with a 5-D size, got theta {tuple(theta.shape)} and size "
                         f"{list(size)}")
    if theta.shape[0] != size[0]:
        raise ValueError(f"affine_grid: theta's batch ({theta.shape[0]}) does not match size's "
                         f"({size[0]})")
    if theta._array.dtype.kind != "f":
        raise ValueError(f"affine_grid: expected a floating point theta, got {theta.dtype}")
    dtype = theta._array.dtype

    def axis(steps):
        line = np.linspace(-1.0, 1.0, steps) if steps > 1 else np.zeros(1)
        return line if align_corners else line * (steps - 1) / steps

    grids = np.meshgrid(*[axis(s) for s in size[2:]], indexing="ij")     # D?, H, W
    base = np.stack(list(grids[::-1]) + [np.ones_like(grids[0])], axis=-1)  # x, y(, z), 1
    base = _make(base.reshape(-1, spatial + 1).astype(dtype))
    grid = base.matmul(theta.transpose(1, 2))                            # (N, points, spatial)
    return grid.reshape((size[0],) + size[2:] + (spatial,))


def _reflect(coord, low2, high2):
    """PyTorch's reflect_coordinates: fold coord into [low2 / 2, high2 / 2]; also returns the
    derivative's sign."""
    if low2 == high2:
        return np.zeros_like(coord), np.zeros_like(coord)
    lo, span = low2 / 2, (high2 - low2) / 2
    c = coord - lo
    sign = np.where(c < 0, -1.0, 1.0)
    c = np.abs(c)
    extra = np.fmod(c, span)
    flips = np.floor(c / span)
    even = flips % 2 == 0
    return np.where(even, extra + lo, span - extra + lo), np.where(even, sign, -sign)


def _source_index(coord, size, padding_mode, align_corners):
    """Unnormalized source coordinate of each grid value along one axis, and d(index)/d(coord)."""
    if align_corners:
        index, slope = (coord + 1) / 2 * (size - 1), (size - 1) / 2
    else:
        index, slope = ((coord + 1) * size - 1) / 2, size / 2
    grad = np.full_like(index, slope)
    if padding_mode == "reflection":
        index, sign = _reflect(index, 0, 2 * (size - 1)) if align_corners else \
            _reflect(index, -1, 2 * size - 1)
        grad = grad * sign
    if padding_mode in ("border", "reflection"):
        inside = (index > 0) & (index < size - 1)
        grad = np.where(inside | (index == 0) | (index == size - 1), grad, 0.0)
        index = np.clip(index, 0, size - 1)
    return index, grad


class GridSample(Op):
    """out[n, c, i, j] = input[n, c] sampled at grid[n, i, j] = (x, y) in [-1, 1] (bilinear or
    nearest; outside the input: zeros, the border's value, or its reflection). Forward and
    backward in NumPy, as PyTorch's kernels: the gradient reaches the input (scattered back to
    the corners) and, for bilinear, the grid; it is not differentiable again (nor is torch's)."""

    @staticmethod
    def forward(ctx, input, grid, mode, padding_mode, align_corners):
        a, g = input._array, grid._array
        n, c, h, w = a.shape
        ix, gx = _source_index(g[..., 0].astype(np.float64), w, padding_mode, align_corners)
        iy, gy = _source_index(g[..., 1].astype(np.float64), h, padding_mode, align_corners)
        flat = a.reshape(n, c, h * w)
        if mode == "nearest":
            corners = [(np.rint(ix), np.rint(iy), 1.0)]
        else:
            x0, y0 = np.floor(ix), np.floor(iy)
            wx, wy = ix - x0, iy - y0
            corners = [(x0, y0, (1 - wx) * (1 - wy)), (x0 + 1, y0, wx * (1 - wy)),
                       (x0, y0 + 1, (1 - wx) * wy), (x0 + 1, y0 + 1, wx * wy)]
        out = np.zeros((n, c) + g.shape[1:3], dtype=a.dtype)
        taps = []
        for cx, cy, weight in corners:
            valid = (cx >= 0) & (cx <= w - 1) & (cy >= 0) & (cy <= h - 1)
            index = (np.clip(cy, 0, h - 1) * w + np.clip(cx, 0, w - 1)).astype(np.int64)
            index = index.reshape(n, 1, -1)
            values = np.take_along_axis(flat, np.broadcast_to(index, (n, c, index.shape[2])), 2)
            values = values.reshape(out.shape) * valid[:, None]
            out += (values * np.asarray(weight)[:, None] if mode != "nearest" else values
                    ).astype(a.dtype, copy=False)
            taps.append((index, valid, values))
        ctx.saved = (a.shape, taps, corners, ix, iy, gx, gy, mode)
        ctx.dtypes = (a.dtype, g.dtype)
        return out

    @staticmethod
    def backward(ctx, grad):
        if grad_mode.is_grad_enabled():
            raise RuntimeError("grid_sample: the derivative of its backward is not implemented "
                               "(as in PyTorch)")
        (n, c, h, w), taps, corners, ix, iy, gx, gy, mode = ctx.saved
        ga = grad._array
        d_input = np.zeros((n, c, h * w), dtype=ctx.dtypes[0])
        d_ix = np.zeros(ix.shape)
        d_iy = np.zeros(iy.shape)
        base = (np.arange(n * c) * (h * w)).reshape(n, c, 1)
        for (index, valid, values), (cx, cy, weight) in zip(taps, corners):
            contribution = ga * (np.asarray(weight)[:, None] if mode != "nearest" else 1.0)
            contribution = (contribution * valid[:, None]).reshape(n, c, -1)
            np.add.at(d_input.reshape(-1), (index + base).ravel(), contribution.ravel())
            if mode != "nearest":  # d weight / d ix, d iy for this corner, times the values
                sx = np.where(cx > np.floor(ix), 1.0, -1.0)
                sy = np.where(cy > np.floor(iy), 1.0, -1.0)
                wx = np.where(sx > 0, ix - np.floor(ix), 1 - (ix - np.floor(ix)))
                wy = np.where(sy > 0, iy - np.floor(iy), 1 - (iy - np.floor(iy)))
                dot = (ga * values).sum(axis=1)
                d_ix += dot * sx * wy
                d_iy += dot * sy * wx
        d_grid = np.stack([d_ix * gx, d_iy * gy], axis=-1).astype(ctx.dtypes[1])
        return _make(d_input.reshape(n, c, h, w)), _make(d_grid), None, None, None


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """Sample input (N, C, H, W) at grid (N, H_out, W_out, 2) of normalized (x, y) coordinates
    (-1: the left/top edge, 1: the right/bottom; pixel centres unless align_corners)."""
    if mode not in ("bilinear", "nearest"):
        raise ValueError(f"grid_sample: mode must be 'bilinear' or 'nearest' ('bicubic' is not "
                         f"supported by kindling), got {mode!r}")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"grid_sample: padding_mode must be 'zeros', 'border' or 'reflection', "
                         f"got {padding_mode!r}")
    if input.ndim != 4 or grid.ndim != 4 or grid.shape[-1] != 2 or \
            grid.shape[0] != input.shape[0]:
        raise RuntimeError(f"grid_sample: expected a 4-D input (N, C, H, W) and a grid "
                           f"(N, H_out, W_out, 2) with the same N, got input "
                           f"{tuple(input.shape)} and grid {tuple(grid.shape)} (5-D volumes are "
                           f"not supported by kindling)")
    if input.dtype != grid.dtype or input._array.dtype.kind != "f":
        raise RuntimeError(f"grid_sample: expected input and grid of one floating dtype, got "
                           f"{input.dtype} and {grid.dtype}")
    return GridSample.apply(input, grid, mode, padding_mode, bool(align_corners))


FUNCTIONS = ["pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "affine_grid",
             "grid_sample"]
METHODS = {}
