"""Pooling, unfold/fold (im2col exposed) and unpooling, in 1-D, 2-D and 3-D.

Max pooling finds each window's argmax without autograd, then *gathers* those positions: the
gradient of a gather is a scatter-add and vice versa (`PlaneGather`/`PlaneScatter` are each
other's adjoint), so max pooling, max unpooling and their gradients are differentiable again.
Average pooling is a depthwise convolution with a ones kernel divided by the window count.
"""
import math

import numpy as np

from ..engine import grad_mode
from ..engine.function import Op
from ..engine.tensor import Tensor, _make
from .conv import _windows, _pair, _single, _triple, _im2col, _col2im, conv2d, conv3d
from ._fastpaths import strided


# --- gather/scatter within each (n, c) plane ------------------------------------------------
class PlaneGather(Op):
    """out[n, c, k] = x[n, c, idx[n, c, k]] over flattened (H*W) planes.

    `unique=True` promises no index repeats within a plane (non-overlapping pooling windows),
    so the adjoint scatter may assign instead of accumulating. `values`, when given, is the
    already-gathered result (the fast max-pool path reads it off its window array)."""

    @staticmethod
    def forward(ctx, x, idx, unique=False, values=None):
        ctx.idx, ctx.plane, ctx.unique = idx, x._array.shape[2], unique
        return np.take_along_axis(x._array, idx, axis=2) if values is None else values

    @staticmethod
    def backward(ctx, g):
        return PlaneScatter.apply(g, ctx.idx, ctx.plane, ctx.unique), None, None, None


class PlaneScatter(Op):
    """out[n, c, idx[n, c, k]] += g[n, c, k], into zero planes of size `plane`."""

    @staticmethod
    def forward(ctx, g, idx, plane, unique=False):
        ga = g._array
        n, c, k = ga.shape
        out = np.zeros((n, c, plane), dtype=ga.dtype)
        flat = (idx + (np.arange(n * c) * plane).reshape(n, c, 1)).ravel()
        if unique:  # no repeats: a plain assignment equals the accumulation, and is far faster
            out.reshape(-1)[flat] = ga.ravel()
        else:
            np.add.at(out.reshape(-1), flat, ga.ravel())
        ctx.idx, ctx.unique = idx, unique
        return out

    @staticmethod
    def backward(ctx, gg):
        return PlaneGather.apply(gg, ctx.idx, ctx.unique), None, None, None


_gather = PlaneGather.apply


# --- max pooling ---------------------------------------------------------------------------------
def _pool_out(size, k, s, p, d, ceil_mode):
    span = size + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:  # last window must start inside input or left pad
        out -= 1
    return out


def _check_pool(op, x, kernel, stride, padding, dilation=(1, 1)):
    if x.ndim not in (3, 4):
        raise RuntimeError(f"{op}: expected a 3-D (unbatched) or 4-D input, got shape "
                           f"{tuple(x.shape)}")
    for k, p in zip(kernel, padding):
        if p > k // 2:
            raise RuntimeError(f"{op}: pad should be at most half of effective kernel size, but "
                               f"got pad={p}, kernel_size={k}")
    if any(s <= 0 for s in stride) or any(k <= 0 for k in kernel) or any(d <= 0 for d in dilation):
        raise RuntimeError(f"{op}: kernel_size, stride and dilation must be positive, got "
                           f"{kernel}, {stride}, {dilation}")


def _max_pool_indices(a, kernel, stride, padding, dilation, ceil_mode, op):
    """(flat indices (N, C, oH*oW), (oH, oW), values (N, C, oH*oW) or None)."""
    n, c, h, w = a.shape
    oh = _pool_out(h, kernel[0], stride[0], padding[0], dilation[0], ceil_mode)
    ow = _pool_out(w, kernel[1], stride[1], padding[1], dilation[1], ceil_mode)
    if oh <= 0 or ow <= 0:
        raise RuntimeError(f"{op}: output size is too small ({oh}x{ow}) for input of shape "
                           f"{a.shape} with kernel {kernel}, stride {stride}, padding {padding}")
    if (tuple(stride) == tuple(kernel) and padding == (0, 0) and dilation == (1, 1)
            and oh * kernel[0] <= h and ow * kernel[1] <= w):
        return _tiled_max(a, kernel, oh, ow) + (True,)
    need_h = (oh - 1) * stride[0] + dilation[0] * (kernel[0] - 1) + 1
    need_w = (ow - 1) * stride[1] + dilation[1] * (kernel[1] - 1) + 1
    pad = ((0, 0), (0, 0), (padding[0], max(0, need_h - h - padding[0])),
           (padding[1], max(0, need_w - w - padding[1])))
    fill = -np.inf if a.dtype.kind == "f" else np.iinfo(a.dtype).min
    ap = np.pad(a, pad, constant_values=fill)
    win = _windows(ap, kernel, stride, dilation, (oh, ow)).reshape(n, c, oh, ow, -1)
    local = win.argmax(axis=-1)
    ki, kj = np.divmod(local, kernel[1])
    rows = np.arange(oh).reshape(-1, 1) * stride[0] - padding[0] + ki * dilation[0]
    cols = np.arange(ow).reshape(1, -1) * stride[1] - padding[1] + kj * dilation[1]
    return (rows * w + cols).reshape(n, c, oh * ow), (oh, ow), None, False


def _tiled_max(a, kernel, oh, ow):
    """Non-overlapping windows (stride == kernel, no padding) tile the input: window element
    (i, j) of every window is the strided view tiles[:, :, :, i, :, j]. A running np.maximum
    over the kH*kW views gives the values (NaN propagates, as in PyTorch); then a backward scan
    of equality masks finds the first position holding the maximum (or the first NaN), as
    argmax does. No padding copy, no window copy, no per-window argmax over a tiny axis."""
    n, c, h, w = a.shape
    kh, kw = kernel
    tiles = a[:, :, :oh * kh, :ow * kw].reshape(n, c, oh, kh, ow, kw)
    views = [tiles[:, :, :, pos // kw, :, pos % kw] for pos in range(kh * kw)]
    best = views[0].copy()                                                  # (N, C, oH, oW)
    for v in views[1:]:
        np.maximum(best, v, out=best)
    last = kh * kw - 1  # holds the maximum wherever no earlier position does
    local = np.full(best.shape, last, dtype=np.uint8 if last < 256 else np.int64)
    hit = np.empty(best.shape, dtype=bool)
    nan = a.dtype.kind in "fc" and np.isnan(best).any()
    for pos in range(last - 1, -1, -1):
        np.equal(views[pos], best, out=hit)
        if nan:
            hit |= np.isnan(views[pos])
        np.copyto(local, pos, where=hit)
    offsets = (np.arange(kh) * w)[:, None] + np.arange(kw)                 # flat offset of (i, j)
    base = np.arange(oh).reshape(-1, 1) * (kh * w) + np.arange(ow) * kw     # (oH, oW)
    return ((base + offsets.ravel()[local]).reshape(n, c, oh * ow), (oh, ow),
            best.reshape(n, c, oh * ow))


def _max_pool2d(x, kernel, stride, padding, dilation, ceil_mode, return_indices, op):
    _check_pool(op, x, kernel, stride, padding, dilation)
    unbatched = x.ndim == 3
    if unbatched:
        x = x.unsqueeze(0)
    n, c, h, w = x.shape
    if (not return_indices and not (x.requires_grad and grad_mode.is_grad_enabled())
            and tuple(stride) == tuple(kernel) and padding == (0, 0) and dilation == (1, 1)
            and h >= kernel[0] and w >= kernel[1] and not ceil_mode):
        # nothing will ask for the argmax (inference): a running np.maximum over the kH*kW
        # strided views of the tiles (10-30x faster than .max(axis=(3, 5)) on that view)
        kh, kw = kernel
        oh, ow = h // kh, w // kw
        tiles = x._array[:, :, :oh * kh, :ow * kw].reshape(n, c, oh, kh, ow, kw)
        best = tiles[:, :, :, 0, :, 0].copy()
        for pos in range(1, kh * kw):
            np.maximum(best, tiles[:, :, :, pos // kw, :, pos % kw], out=best)
        out = _make(best)
        return out.squeeze(0) if unbatched else out
    idx, (oh, ow), values, unique = _max_pool_indices(x._array, kernel, stride, padding,
                                                      dilation, ceil_mode, op)
    out = _gather(x.reshape(n, c, h * w), idx, unique, values).reshape(n, c, oh, ow)
    indices = _make(idx.reshape(n, c, oh, ow))
    if unbatched:
        out, indices = out.squeeze(0), indices.squeeze(0)
    return (out, indices) if return_indices else out


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    kernel = _pair(kernel_size, "kernel_size", "max_pool2d")
    stride = kernel if stride is None or stride == [] else _pair(stride, "stride", "max_pool2d")
    return _max_pool2d(input, kernel, stride, _pair(padding, "padding", "max_pool2d"),
                       _pair(dilation, "dilation", "max_pool2d"), ceil_mode, return_indices,
                       "max_pool2d")


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    k = _single(kernel_size)
    s = k if stride is None or stride == [] else _single(stride)
    out = _max_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, _single(padding)),
                      (1, _single(dilation)), ceil_mode, True, "max_pool1d")
    values, indices = out[0].squeeze(-2), out[1].squeeze(-2)
    return (values, indices) if return_indices else values


# --- average pooling ----------------------------------------------------------------------------
def _avg_divisor(h, w, oh, ow, kernel, stride, padding, count_include_pad):
    """How many elements each output averages, as PyTorch counts them."""
    def counts(size, out, k, s, p):
        start = np.arange(out) * s - p
        end = np.minimum(start + k, size + p)
        if count_include_pad:
            return end - start
        return np.minimum(end, size) - np.maximum(start, 0)
    return np.outer(counts(h, oh, kernel[0], stride[0], padding[0]),
                    counts(w, ow, kernel[1], stride[1], padding[1]))


def _avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override, op):
    _check_pool(op, x, kernel, stride, padding)
    unbatched = x.ndim == 3
    if unbatched:
        x = x.unsqueeze(0)
    n, c, h, w = x.shape
    oh = _pool_out(h, kernel[0], stride[0], padding[0], 1, ceil_mode)
    ow = _pool_out(w, kernel[1], stride[1], padding[1], 1, ceil_mode)
    extra_h = max(0, (oh - 1) * stride[0] + kernel[0] - h - 2 * padding[0])
    extra_w = max(0, (ow - 1) * stride[1] + kernel[1] - w - 2 * padding[1])
    if extra_h or extra_w:  # ceil_mode windows past the padding see zeros, not counted
        from .shape import pad
        x = pad(x, (0, extra_w, 0, extra_h))
    ones = _make(np.ones((c, 1) + tuple(kernel), dtype=x._array.dtype))
    summed = conv2d(x, ones, stride=stride, padding=padding, groups=c)
    if divisor_override:
        out = summed / float(divisor_override)
    else:
        divisor = _avg_divisor(h, w, oh, ow, kernel, stride, padding, count_include_pad)
        out = summed / _make(divisor.astype(x._array.dtype))
    return out.squeeze(0) if unbatched else out


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    kernel = _pair(kernel_size, "kernel_size", "avg_pool2d")
    stride = kernel if stride is None or stride == [] else _pair(stride, "stride", "avg_pool2d")
    return _avg_pool2d(input, kernel, stride, _pair(padding, "padding", "avg_pool2d"),
                       ceil_mode, count_include_pad, divisor_override, "avg_pool2d")


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    k = _single(kernel_size)
    s = k if stride is None or stride == [] else _single(stride)
    return _avg_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, _single(padding)), ceil_mode,
                       count_include_pad, None, "avg_pool1d").squeeze(-2)


# --- adaptive pooling ------------------------------------------------------------------------------
def _adaptive_bounds(size, out):
    return [(math.floor(i * size / out), math.ceil((i + 1) * size / out)) for i in range(out)]


def _averaging_matrix(size, out, dtype):
    m = np.zeros((out, size), dtype=dtype)
    for i, (a, b) in enumerate(_adaptive_bounds(size, out)):
        m[i, a:b] = 1.0 / (b - a)
    return m


def _output_size(output_size, in_hw):
    oh, ow = _pair(output_size, "output_size", "adaptive pool") \
        if not isinstance(output_size, (tuple, list)) or None not in output_size \
        else tuple(in_hw[i] if v is None else v for i, v in enumerate(output_size))
    return oh, ow


def adaptive_avg_pool2d(input, output_size):
    """Each output averages a window [floor(i*H/oH), ceil((i+1)*H/oH)); computed as
    P_h @ x @ P_w^T with averaging matrices, so its gradient comes from matmul."""
    if input.ndim not in (3, 4):
        raise RuntimeError(f"adaptive_avg_pool2d: expected a 3-D or 4-D input, got shape "
                           f"{tuple(input.shape)}")
    h, w = input.shape[-2:]
    oh, ow = _output_size(output_size, (h, w))
    if oh == 1 and ow == 1:
        return input.mean(dim=(-2, -1), keepdim=True)
    dtype = input._array.dtype
    ph = _make(_averaging_matrix(h, oh, dtype))
    pw = _make(_averaging_matrix(w, ow, dtype).T.copy())
    return ph.matmul(input).matmul(pw)


def adaptive_avg_pool1d(input, output_size):
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, _single(output_size))).squeeze(-2)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    if input.ndim not in (3, 4):
        raise RuntimeError(f"adaptive_max_pool2d: expected a 3-D or 4-D input, got shape "
                           f"{tuple(input.shape)}")
    unbatched = input.ndim == 3
    x = input.unsqueeze(0) if unbatched else input
    n, c, h, w = x.shape
    oh, ow = _output_size(output_size, (h, w))
    a = x._array
    idx = np.empty((n, c, oh, ow), dtype=np.int64)
    for i, (r0, r1) in enumerate(_adaptive_bounds(h, oh)):
        for j, (c0, c1) in enumerate(_adaptive_bounds(w, ow)):
            block = a[:, :, r0:r1, c0:c1].reshape(n, c, -1)
            local = block.argmax(axis=-1)
            idx[:, :, i, j] = (r0 + local // (c1 - c0)) * w + c0 + local % (c1 - c0)
    out = _gather(x.reshape(n, c, h * w), idx.reshape(n, c, -1)).reshape(n, c, oh, ow)
    indices = _make(idx)
    if unbatched:
        out, indices = out.squeeze(0), indices.squeeze(0)
    return (out, indices) if return_indices else out


def adaptive_max_pool1d(input, output_size, return_indices=False):
    out, idx = adaptive_max_pool2d(input.unsqueeze(-2), (1, _single(output_size)), True)
    out, idx = out.squeeze(-2), idx.squeeze(-2)
    return (out, idx) if return_indices else out


# --- unpooling -----------------------------------------------------------------------------------
def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    kernel = _pair(kernel_size, "kernel_size", "max_unpool2d")
    stride = kernel if stride is None else _pair(stride, "stride", "max_unpool2d")
    padding = _pair(padding, "padding", "max_unpool2d")
    unbatched = input.ndim == 3
    x = input.unsqueeze(0) if unbatched else input
    idx = indices._array.reshape(x.shape[0], x.shape[1], -1)
    h_in, w_in = x.shape[-2:]
    if output_size is None:
        oh = (h_in - 1) * stride[0] - 2 * padding[0] + kernel[0]
        ow = (w_in - 1) * stride[1] - 2 * padding[1] + kernel[1]
    else:
        oh, ow = tuple(output_size)[-2:]
    if idx.size and (idx.min() < 0 or idx.max() >= oh * ow):
        raise RuntimeError(f"max_unpool2d: found an invalid max index {int(idx.max())} (output "
                           f"volumes are of size {oh}x{ow})")
    n, c = x.shape[:2]
    out = PlaneScatter.apply(x.reshape(n, c, -1), idx, oh * ow).reshape(n, c, oh, ow)
    return out.squeeze(0) if unbatched else out


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    k = _single(kernel_size)
    s = k if stride is None else _single(stride)
    size = None if output_size is None else (1, tuple(output_size)[-1])
    return max_unpool2d(input.unsqueeze(-2), indices.unsqueeze(-2), (1, k), (1, s),
                        (0, _single(padding)), size).squeeze(-2)


# --- unfold / fold -------------------------------------------------------------------------------
class Unfold(Op):
    @staticmethod
    def forward(ctx, x, kernel, dilation, padding, stride):
        a = x._array
        n, c, h, w = a.shape
        oh = (h + 2 * padding[0] - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1
        ow = (w + 2 * padding[1] - dilation[1] * (kernel[1] - 1) - 1) // stride[1] + 1
        if oh <= 0 or ow <= 0:
            raise RuntimeError(f"unfold: input of spatial size {(h, w)} is too small for kernel "
                               f"{kernel} with padding {padding} and dilation {dilation}")
        ctx.conf = ((h, w), kernel, dilation, padding, stride)
        cols = _im2col(a, kernel, stride, padding, dilation, (oh, ow), 1)  # (1, C*kk, N*L)
        return np.ascontiguousarray(
            cols.reshape(c * kernel[0] * kernel[1], n, oh * ow).transpose(1, 0, 2))

    @staticmethod
    def backward(ctx, g):
        in_hw, kernel, dilation, padding, stride = ctx.conf
        return Fold.apply(g, in_hw, kernel, dilation, padding, stride), None, None, None, None


class Fold(Op):
    @staticmethod
    def forward(ctx, cols, output_size, kernel, dilation, padding, stride):
        a = cols._array
        n, ckk, length = a.shape
        kk = kernel[0] * kernel[1]
        if ckk % kk:
            raise RuntimeError(f"fold: expected size of input's dimension 1 ({ckk}) to be "
                               f"divisible by the product of kernel_size ({kk})")
        c = ckk // kk
        h, w = output_size
        oh = (h + 2 * padding[0] - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1
        ow = (w + 2 * padding[1] - dilation[1] * (kernel[1] - 1) - 1) // stride[1] + 1
        if oh * ow != length:
            raise RuntimeError(f"fold: expected input's dimension 2 to match the calculated "
                               f"number of sliding blocks {oh} * {ow} = {oh * ow}, but got "
                               f"{length}")
        ctx.conf = (kernel, dilation, padding, stride)
        cols = np.ascontiguousarray(a.transpose(1, 0, 2))  # (C*kk, N, L): _im2col's order
        return _col2im(cols, (h, w), n, kernel, stride, padding, dilation, (oh, ow))

    @staticmethod
    def backward(ctx, g):
        kernel, dilation, padding, stride = ctx.conf
        return Unfold.apply(g, kernel, dilation, padding, stride), None, None, None, None, None


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    if input.ndim not in (3, 4):
        raise RuntimeError(f"unfold: expected a 3-D or 4-D input, got shape {tuple(input.shape)}")
    unbatched = input.ndim == 3
    x = input.unsqueeze(0) if unbatched else input
    out = Unfold.apply(x, _pair(kernel_size, "kernel_size", "unfold"),
                       _pair(dilation, "dilation", "unfold"), _pair(padding, "padding", "unfold"),
                       _pair(stride, "stride", "unfold"))
    return out.squeeze(0) if unbatched else out


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    if input.ndim not in (2, 3):
        raise RuntimeError(f"fold: expected a 2-D or 3-D input, got shape {tuple(input.shape)}")
    unbatched = input.ndim == 2
    x = input.unsqueeze(0) if unbatched else input
    out = Fold.apply(x, _pair(output_size, "output_size", "fold"),
                     _pair(kernel_size, "kernel_size", "fold"), _pair(dilation, "dilation", "fold"),
                     _pair(padding, "padding", "fold"), _pair(stride, "stride", "fold"))
    return out.squeeze(0) if unbatched else out


# --- 3-D -------------------------------------------------------------------------------------------
def _volume_input(op, input):
    if input.ndim not in (4, 5):
        raise RuntimeError(f"{op}: expected a 4-D (unbatched) or 5-D (batched) input, got shape "
                           f"{tuple(input.shape)}")
    return input.unsqueeze(0) if input.ndim == 4 else input


def _pool3d_args(op, kernel_size, stride, padding, dilation=1):
    kernel = _triple(kernel_size, "kernel_size", op)
    stride = kernel if stride is None or stride == [] else _triple(stride, "stride", op)
    padding, dilation = _triple(padding, "padding", op), _triple(dilation, "dilation", op)
    for k, p in zip(kernel, padding):
        if p > k // 2:
            raise RuntimeError(f"{op}: pad should be at most half of effective kernel size, but "
                               f"got pad={p}, kernel_size={k}")
    if min(kernel) <= 0 or min(stride) <= 0 or min(dilation) <= 0:
        raise RuntimeError(f"{op}: kernel_size, stride and dilation must be positive, got "
                           f"{kernel}, {stride}, {dilation}")
    return kernel, stride, padding, dilation


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Each window's first maximum (a NaN counts as one), gathered from the flattened D*H*W
    volume: the indices are positions in it, as PyTorch returns them."""
    op = "max_pool3d"
    x = _volume_input(op, input)
    kernel, stride, padding, dilation = _pool3d_args(op, kernel_size, stride, padding, dilation)
    n, c = x.shape[:2]
    size = tuple(x.shape[2:])
    out = tuple(_pool_out(size[i], kernel[i], stride[i], padding[i], dilation[i], ceil_mode)
                for i in range(3))
    if min(out) <= 0:
        raise RuntimeError(f"{op}: output size is too small ({out}) for input of shape "
                           f"{tuple(input.shape)} with kernel {kernel}, stride {stride}, padding "
                           f"{padding}")
    a = x._array
    need = [(out[i] - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1 for i in range(3)]
    fill = -np.inf if a.dtype.kind == "f" else np.iinfo(a.dtype).min
    ap = np.pad(a, ((0, 0), (0, 0)) + tuple((padding[i], max(0, need[i] - size[i] - padding[i]))
                                            for i in range(3)), constant_values=fill)
    st = ap.strides
    win = strided(ap, (n, c) + out + kernel, st[:2] + tuple(st[2 + i] * stride[i] for i in range(3))
                  + tuple(st[2 + i] * dilation[i] for i in range(3))).reshape(n, c, *out, -1)
    local = win.argmax(axis=-1)
    if a.dtype.kind == "f":
        nan = np.isnan(win)
        if nan.any():
            local = np.where(nan.any(axis=-1), nan.argmax(axis=-1), local)
    kd, rest = np.divmod(local, kernel[1] * kernel[2])
    kh, kw = np.divmod(rest, kernel[2])
    pos = [np.arange(out[i]).reshape([-1 if j == i else 1 for j in range(3)]) * stride[i]
           - padding[i] for i in range(3)]
    idx = ((pos[0] + kd * dilation[0]) * size[1] + pos[1] + kh * dilation[1]) * size[2] \
        + pos[2] + kw * dilation[2]
    idx = idx.reshape(n, c, -1)
    values = _gather(x.reshape(n, c, -1), idx).reshape((n, c) + out)
    indices = _make(idx.reshape((n, c) + out))
    if input.ndim == 4:
        values, indices = values.squeeze(0), indices.squeeze(0)
    return (values, indices) if return_indices else values


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Window sums by a depthwise conv3d with a ones kernel, divided by each window's count
    (PyTorch's, for count_include_pad and ceil_mode) or by divisor_override."""
    op = "avg_pool3d"
    x = _volume_input(op, input)
    kernel, stride, padding, _ = _pool3d_args(op, kernel_size, stride, padding)
    c = x.shape[1]
    size = tuple(x.shape[2:])
    out = tuple(_pool_out(size[i], kernel[i], stride[i], padding[i], 1, ceil_mode)
                for i in range(3))
    extra = [max(0, (out[i] - 1) * stride[i] + kernel[i] - size[i] - 2 * padding[i])
             for i in range(3)]
    if any(extra):  # ceil_mode windows past the padding see zeros, not counted
        from .shape import pad
        x = pad(x, (0, extra[2], 0, extra[1], 0, extra[0]))
    ones = _make(np.ones((c, 1) + kernel, dtype=x._array.dtype))
    summed = conv3d(x, ones, stride=stride, padding=padding, groups=c)
    if divisor_override:
        result = summed / float(divisor_override)
    else:
        counts = [_axis_counts(size[i], out[i], kernel[i], stride[i], padding[i],
                               count_include_pad) for i in range(3)]
        divisor = np.einsum("i,j,k->ijk", *counts).astype(x._array.dtype)
        result = summed / _make(divisor)
    return result.squeeze(0) if input.ndim == 4 else result


def _axis_counts(size, out, k, s, p, count_include_pad):
    start = np.arange(out) * s - p
    end = np.minimum(start + k, size + p)
    if count_include_pad:
        return end - start
    return np.minimum(end, size) - np.maximum(start, 0)


def adaptive_avg_pool3d(input, output_size):
    """Averages over windows [floor(i*D/oD), ceil((i+1)*D/oD)) in each dim: separable, so three
    products with averaging matrices (gradients from matmul)."""
    x = _volume_input("adaptive_avg_pool3d", input)
    size = tuple(x.shape[2:])
    out = _output_size3(output_size, size, "adaptive_avg_pool3d")
    dtype = x._array.dtype
    for axis in range(3):  # average the last axis, then rotate it to the front of the volume
        m = _make(_averaging_matrix(size[axis], out[axis], dtype).T.copy())
        x = x.permute(0, 1, 3, 4, 2).matmul(m)
    return x.squeeze(0) if input.ndim == 4 else x


def _output_size3(output_size, size, op):
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != 3:
            raise ValueError(f"{op}: output_size must be an int or a triple, got {output_size!r}")
        return tuple(size[i] if v is None else int(v) for i, v in enumerate(output_size))
    return (int(output_size),) * 3


def adaptive_max_pool3d(input, output_size, return_indices=False):
    x = _volume_input("adaptive_max_pool3d", input)
    n, c = x.shape[:2]
    size = tuple(x.shape[2:])
    out = _output_size3(output_size, size, "adaptive_max_pool3d")
    a = x._array
    idx = np.empty((n, c) + out, dtype=np.int64)
    bounds = [_adaptive_bounds(size[i], out[i]) for i in range(3)]
    for i, (d0, d1) in enumerate(bounds[0]):
        for j, (h0, h1) in enumerate(bounds[1]):
            for k, (w0, w1) in enumerate(bounds[2]):
                block = a[:, :, d0:d1, h0:h1, w0:w1].reshape(n, c, -1)
                local = _first_max(block)
                dd, rest = np.divmod(local, (h1 - h0) * (w1 - w0))
                hh, ww = np.divmod(rest, w1 - w0)
                idx[:, :, i, j, k] = ((d0 + dd) * size[1] + h0 + hh) * size[2] + w0 + ww
    values = _gather(x.reshape(n, c, -1), idx.reshape(n, c, -1)).reshape((n, c) + out)
    indices = _make(idx)
    if input.ndim == 4:
        values, indices = values.squeeze(0), indices.squeeze(0)
    return (values, indices) if return_indices else values


def _first_max(block):
    """Index of the first maximum along the last axis, a NaN counting as the maximum."""
    local = block.argmax(axis=-1)
    if block.dtype.kind == "f":
        nan = np.isnan(block)
        if nan.any():
            local = np.where(nan.any(axis=-1), nan.argmax(axis=-1), local)
    return local


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    op = "max_unpool3d"
    x = _volume_input(op, input)
    kernel = _triple(kernel_size, "kernel_size", op)
    stride = kernel if stride is None else _triple(stride, "stride", op)
    padding = _triple(padding, "padding", op)
    n, c = x.shape[:2]
    if output_size is None:
        out = tuple((x.shape[2 + i] - 1) * stride[i] - 2 * padding[i] + kernel[i]
                    for i in range(3))
    else:
        out = tuple(output_size)[-3:]
    idx = indices._array.reshape(n, c, -1)
    volume = out[0] * out[1] * out[2]
    if idx.size and (idx.min() < 0 or idx.max() >= volume):
        raise RuntimeError(f"{op}: found an invalid max index {int(idx.max())} (output volumes "
                           f"are of size {out[0]}x{out[1]}x{out[2]})")
    result = PlaneScatter.apply(x.reshape(n, c, -1), idx, volume).reshape((n, c) + out)
    return result.squeeze(0) if input.ndim == 4 else result


# --- power-average (LP) pooling: PyTorch's composite --------------------------------------------
def _lp_pool(avg_pool, input, norm_type, kernel, stride, ceil_mode):
    """(sum over each window of x^p)^(1/p): p = inf is max pooling, p = 1 sum pooling."""
    p = float(norm_type)
    out = avg_pool(input.pow(p), kernel, stride, 0, ceil_mode)
    from .elementwise import relu
    return (out.sign() * relu(out.abs())).mul(float(np.prod(kernel))).pow(1.0 / p)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    return _lp_pool(avg_pool1d, input, norm_type, _single(kernel_size), stride, ceil_mode)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    return _lp_pool(avg_pool2d, input, norm_type, _pair(kernel_size, "kernel_size", "lp_pool2d"),
                    stride, ceil_mode)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    return _lp_pool(avg_pool3d, input, norm_type,
                    _triple(kernel_size, "kernel_size", "lp_pool3d"), stride, ceil_mode)


FUNCTIONS = ["max_pool1d", "max_pool2d", "avg_pool1d", "adaptive_avg_pool1d",
             "adaptive_max_pool1d"]
METHODS = {}
