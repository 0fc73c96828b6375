"""Convolution as GEMM, in 1-D and 2-D (1-D runs as 2-D with height 1).

Three NumPy kernels do all the work, and each op's gradient is written with the others, so
convolutions can be differentiated any number of times:

    conv(x, w)            y[n,o,p,q]  = sum_{c,i,j} x_pad[n,c,p*s+i*d, q*s+j*d] * w[o,c,i,j]
    conv_transpose(g, w)  the adjoint of conv in x (col2im of g . w): grad of conv wrt x
    conv_weight(x, g)     the adjoint of conv in w (im2col(x)^T . g):   grad of conv wrt w

im2col copies a strided view of the padded input into (C/G * kH * kW, N * oH * oW) columns per
group, so every kernel is one batched GEMM over the groups (depthwise included); col2im adds
kernel-offset slices back, one NumPy call per kernel position, never a loop over pixels. With
stride 1, conv_transpose is itself a convolution (kernel flipped, channels swapped), which is
cheaper than col2im where channels do not grow, and whose columns also give conv_weight.
What dominates a CNN step here is memory traffic (the column copies), not the GEMMs; so on one
BLAS thread, columns too large for the cache are built and multiplied a few samples at a time.
"""
import numpy as np

from ..engine import grad_mode, parallel
from ..engine.function import Op
from ..engine.tensor import Tensor, _make
from ._fastpaths import strided


# Columns up to this size are kept from forward for the weight gradient; larger ones are rebuilt
# in backward. Keeping them all costs kH*kW times each conv input for the whole step (a ResNet-20
# step at batch 32 would hold ~200 MB more than torch) to save one copy per convolution.
_CACHE_COLS_BYTES = 8 << 20
# Larger columns are built and consumed about this many bytes at a time (see _chunk_samples),
# small enough to stay in cache between the copy and the GEMMs (measured on ResNet-20's 32x32
# and 16x16 stages: 1-2.5 MB chunks gain most, 5 MB less).
_CHUNK_COLS_BYTES = 5 << 19
# col2im writes straight into (N, C, H, W) when an output plane has at most this many pixels.
_DIRECT_COL2IM_PLANE = 64
# Each chunk of a convolution shared out between threads has at least this many bytes of
# columns (see _split_samples): waking a thread costs ~0.1 ms or more.
_SPLIT_MIN_BYTES = 256 << 10


def _pair(v, name, op):
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{op}: {name} must be an int or a pair, got {v!r}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


def _out_size(size, kernel, stride, pad, dilation):
    return (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1


def _windows(xp, kernel, stride, dilation, out_hw):
    """(N, C, oH, oW, kH, kW) strided view of the padded input (used by pooling)."""
    n, c = xp.shape[:2]
    sn, sc, sh, sw = xp.strides
    shape = (n, c, out_hw[0], out_hw[1], kernel[0], kernel[1])
    strides = (sn, sc, sh * stride[0], sw * stride[1], sh * dilation[0], sw * dilation[1])
    return strided(xp, shape, strides)


def _pad(x, padding):
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    n, c, h, w = x.shape
    xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype)  # np.pad: same, more overhead
    xp[:, :, ph:ph + h, pw:pw + w] = x
    return xp


def _im2col(x, kernel, stride, padding, dilation, out_hw, groups):
    """Columns (G, C/G * kH * kW, N * oH * oW): each column one receptive field.

    Built as one copy of a strided view laid out (C, kH, kW, N, oH, oW), whose innermost axis
    walks the input row, so the copy streams through memory and each group's rows are
    contiguous for the batched GEMM. That copy costs NumPy one inner loop per output row; on
    narrow outputs with tall kernels (LeNet, the last ResNet stage) two copies with longer inner
    loops are faster, see _im2col_by_shifts."""
    xp = _pad(x, padding)
    n, c = xp.shape[:2]
    oh, ow = out_hw
    if _by_shifts(kernel, stride, out_hw):
        return _im2col_by_shifts(xp, kernel, stride, dilation, out_hw, groups)
    sn, sc, sh, sw = xp.strides
    shape = (c, kernel[0], kernel[1], n, oh, ow)
    strides = (sc, sh * dilation[0], sw * dilation[1], sn, sh * stride[0], sw * stride[1])
    return np.ascontiguousarray(strided(xp, shape, strides)).reshape(groups, -1, n * oh * ow)


def _by_shifts(kernel, stride, out_hw):
    """Whether im2col/col2im go through column shifts: their extra copy of kW times the input
    pays for itself when kernel rows are many and output rows short (measured: LeNet's 5x5 on
    14x14 and 28x28, ResNet's 3x3 on 8x8 gain 25-45%; 3x3 on 16x16 and up lose)."""
    return stride[0] == 1 and out_hw[1] < 8 * (kernel[0] - 1)


def _im2col_by_shifts(xp, kernel, stride, dilation, out_hw, groups):
    """_im2col for a row stride of 1: first copy each of the kW column shifts of the padded
    input as (kW, N, C, Hp, oW); in a shift, the rows a kernel row i reads (i*d .. i*d + oH)
    are one contiguous block of oH*oW, so the second copy has one inner loop per (c, i, j, n)
    instead of per output row."""
    n, c, hp = xp.shape[:3]
    (kh, kw), (oh, ow) = kernel, out_hw
    sn, sc, sh, sw = xp.strides
    shifts = np.ascontiguousarray(strided(
        xp, (kw, n, c, hp, ow), (sw * dilation[1], sn, sc, sh, sw * stride[1])))
    e = shifts.itemsize
    plane = hp * ow * e
    view = strided(shifts, (c, kh, kw, n, oh * ow),
                   (plane, dilation[0] * ow * e, n * c * plane, c * plane, e))
    return np.ascontiguousarray(view).reshape(groups, -1, n * oh * ow)


def _col2im(cols, in_hw, n, kernel, stride, padding, dilation, out_hw):
    """Adjoint of _im2col: add each column back onto the input positions it was read from.

    Small planes and 1x1 kernels accumulate straight into the (N, C, H, W) result, each kernel
    offset adding only the outputs whose reads land inside the unpadded input (no padded buffer,
    no final copy). Large planes accumulate in the columns' (C, N) order into a padded buffer,
    where every add streams, then crop and transpose in one copy (faster there, measured)."""
    c = cols.size // (kernel[0] * kernel[1] * n * out_hw[0] * out_hw[1])
    cols = cols.reshape(c, kernel[0], kernel[1], n, out_hw[0], out_hw[1])
    if _by_shifts(kernel, stride, out_hw):
        return _col2im_by_shifts(cols, in_hw, n, kernel, stride, padding, dilation, out_hw)
    if out_hw[0] * out_hw[1] > _DIRECT_COL2IM_PLANE and tuple(kernel) != (1, 1):
        return _col2im_padded(cols, in_hw, n, kernel, stride, padding, dilation, out_hw)
    dx = np.zeros((n, c) + tuple(in_hw), dtype=cols.dtype)
    ranges = [[_valid_range(k * dilation[a] - padding[a], stride[a], out_hw[a], in_hw[a])
               for k in range(kernel[a])] for a in (0, 1)]
    for i, (p0, p1, y0) in enumerate(ranges[0]):
        for j, (q0, q1, x0) in enumerate(ranges[1]):
            if p1 > p0 and q1 > q0:
                dx[:, :, y0:y0 + (p1 - p0 - 1) * stride[0] + 1:stride[0],
                   x0:x0 + (q1 - q0 - 1) * stride[1] + 1:stride[1]] += \
                    cols[:, i, j, :, p0:p1, q0:q1].transpose(1, 0, 2, 3)
    return dx


def _col2im_padded(cols, in_hw, n, kernel, stride, padding, dilation, out_hw):
    c = cols.shape[0]
    h, w = in_hw
    oh, ow = out_hw
    # room for windows that run past the padded input (when (size - kernel) % stride != 0)
    full_h = max(h + 2 * padding[0], (oh - 1) * stride[0] + dilation[0] * (kernel[0] - 1) + 1)
    full_w = max(w + 2 * padding[1], (ow - 1) * stride[1] + dilation[1] * (kernel[1] - 1) + 1)
    dx = np.zeros((c, n, full_h, full_w), dtype=cols.dtype)
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            hi, wj = i * dilation[0], j * dilation[1]
            dx[:, :, hi:hi + stride[0] * (oh - 1) + 1:stride[0],
               wj:wj + stride[1] * (ow - 1) + 1:stride[1]] += cols[:, i, j]
    dx = dx[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + w]
    return np.ascontiguousarray(dx.transpose(1, 0, 2, 3))


def _col2im_by_shifts(cols, in_hw, n, kernel, stride, padding, dilation, out_hw):
    """Adjoint of _im2col_by_shifts (row stride 1): add the columns of each kernel row into the
    kW column shifts, where they are contiguous blocks of oH*oW, then each shift onto the input."""
    c = cols.shape[0]
    (h, w), (kh, kw), (oh, ow) = in_hw, kernel, out_hw
    full_h = max(h + 2 * padding[0], oh + dilation[0] * (kh - 1))
    full_w = max(w + 2 * padding[1], (ow - 1) * stride[1] + dilation[1] * (kw - 1) + 1)
    shifts = np.zeros((kw, n, c, full_h * ow), dtype=cols.dtype)
    for i in range(kh):
        start = i * dilation[0] * ow
        shifts[..., start:start + oh * ow] += \
            cols[:, i].reshape(c, kw, n, oh * ow).transpose(1, 2, 0, 3)
    shifts = shifts.reshape(kw, n, c, full_h, ow)
    dx = np.zeros((n, c, full_h, full_w), dtype=cols.dtype)
    for j in range(kw):
        wj = j * dilation[1]
        dx[:, :, :, wj:wj + stride[1] * (ow - 1) + 1:stride[1]] += shifts[j]
    if (full_h, full_w) == (h, w):
        return dx
    return np.ascontiguousarray(dx[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + w])


def _valid_range(offset, stride, out, size):
    """Outputs p in [p0, p1) whose read p*stride + offset falls in [0, size); y0 is p0's read."""
    p0 = max(0, -(offset // stride))  # ceil(-offset / stride)
    p1 = min(out, (size - 1 - offset) // stride + 1)
    return p0, p1, p0 * stride + offset


def _conv_out_hw(in_hw, kernel, stride, padding, dilation):
    return tuple(_out_size(in_hw[i], kernel[i], stride[i], padding[i], dilation[i])
                 for i in range(2))


def _chunk_samples(n, sample_bytes):
    """Most samples to compute a convolution over at once, so their columns stay in cache (None:
    no limit). Columns larger than _CACHE_COLS_BYTES spill to memory between the im2col copy
    that writes them and the GEMMs that read them; built a few samples at a time they are read
    back from cache (a ResNet-20 step on one thread: 9% less CPU time). `parallel.split_batch`
    shares such chunks out between threads, each with one BLAS thread."""
    if n * sample_bytes <= _CACHE_COLS_BYTES:
        return None
    return max(1, _CHUNK_COLS_BYTES // sample_bytes)


def _split_samples(run, n, sample_bytes, rows, itemsize):
    """parallel.split_batch over samples, in chunks of at least _SPLIT_MIN_BYTES of columns;
    one plain call when the GEMMs (`rows` times the columns) are too small for BLAS threads."""
    if rows * n * sample_bytes // itemsize < parallel.ONE_THREAD_GEMM_MACS:
        return [run(0, n)]
    return parallel.split_batch(run, n, max(1, _SPLIT_MIN_BYTES // max(sample_bytes, 1)),
                                _chunk_samples(n, sample_bytes))


def _cols_sample_bytes(c, kernel, out_hw, itemsize):
    return c * kernel[0] * kernel[1] * out_hw[0] * out_hw[1] * itemsize


def _conv_forward(x, w, stride, padding, dilation, groups, cols=None):
    n = x.shape[0]
    o, cg, kh, kw = w.shape
    out_hw = _conv_out_hw(x.shape[2:], (kh, kw), stride, padding, dilation)
    plane = out_hw[0] * out_hw[1]
    wg = w.reshape(groups, o // groups, -1)
    sample_bytes = _cols_sample_bytes(x.shape[1], (kh, kw), out_hw, x.itemsize)
    out = np.empty((n, o) + out_hw, dtype=np.result_type(x, w))

    # One GEMM per chunk of samples, then a transposing copy into (N, O, oH, oW): one GEMM per
    # sample would write that layout directly, but small GEMMs run far from BLAS's peak.
    def run(n0, n1):
        c = cols[:, :, n0 * plane:n1 * plane] if cols is not None else \
            _im2col(x[n0:n1], (kh, kw), stride, padding, dilation, out_hw, groups)
        part = np.matmul(wg, c)                                  # (G, O/G, nb*oH*oW)
        out[n0:n1] = part.reshape(o, n1 - n0, out_hw[0], out_hw[1]).transpose(1, 0, 2, 3)
    _split_samples(run, n, sample_bytes, o // groups, x.itemsize)
    return out


def _channel_major(a, groups):
    """(N, C, H, W) as (G, C/G, N*H*W): the column order of _im2col, one transposing copy."""
    n, c = a.shape[:2]
    return np.ascontiguousarray(a.transpose(1, 0, 2, 3)).reshape(groups, c // groups, -1)


def _adjoint_padding(w_shape, in_hw, g_shape, stride, padding, dilation, groups):
    """Padding of the flipped-kernel convolution of g that equals conv's input gradient, or None
    where that is not valid (stride > 1, padding past the kernel) or not the cheaper way.

    With stride 1 the adjoint of conv is a convolution of g with the kernel flipped and its in
    and out channels swapped (per group), padded by dilation*(k-1) - padding. Its im2col + GEMM
    beats a GEMM into columns + col2im's kH*kW strided adds by ~40% when its columns (g's
    channels times x's plane) are no larger than col2im's (x's channels times g's plane), as in
    ResNets; those columns then also give the weight gradient (see _conv_weight_grad)."""
    o, cg, kh, kw = w_shape
    pad = tuple(dilation[a] * (w_shape[2 + a] - 1) - padding[a] for a in (0, 1))
    if tuple(stride) != (1, 1) or min(pad) < 0 or \
            o * in_hw[0] * in_hw[1] > groups * cg * g_shape[2] * g_shape[3]:
        return None
    if tuple(in_hw) != _conv_out_hw(g_shape[2:], (kh, kw), (1, 1), pad, dilation):
        return None
    return pad


def _flipped_kernel(w, groups):
    """(C, O/G, kH, kW): the kernel of conv's adjoint in x at stride 1, flipped and with its in
    and out channels swapped per group."""
    o, cg, kh, kw = w.shape
    flipped = w.reshape(groups, o // groups, cg, kh, kw).transpose(0, 2, 1, 3, 4)
    return flipped[..., ::-1, ::-1].reshape(groups * cg, o // groups, kh, kw)


def _conv_input_grad(g, w, in_hw, stride, padding, dilation, groups, gcols=None):
    """The adjoint of _conv_forward in x: a flipped-kernel convolution of g (stride 1), else
    col2im(W^T g). `gcols` (g channel-major) may be given."""
    o, cg, kh, kw = w.shape
    pad = _adjoint_padding(w.shape, in_hw, g.shape, stride, padding, dilation, groups)
    if pad is not None:
        return _conv_forward(g, _flipped_kernel(w, groups), (1, 1), pad, dilation, groups)
    wg_t = w.reshape(groups, o // groups, -1).transpose(0, 2, 1)  # (G, C/G*kH*kW, O/G)
    if gcols is None:
        gcols = _channel_major(g, groups)
    n, out_hw = g.shape[0], tuple(g.shape[2:])
    plane = out_hw[0] * out_hw[1]
    sample_bytes = _cols_sample_bytes(cg * groups, (kh, kw), out_hw, g.itemsize)
    def run(lo, hi):
        cols = np.matmul(wg_t, gcols[:, :, lo * plane:hi * plane])
        return _col2im(cols, in_hw, hi - lo, (kh, kw), stride, padding, dilation, out_hw)
    parts = _split_samples(run, n, sample_bytes, o // groups, g.itemsize)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _conv_weight_grad(x, g, kernel, stride, padding, dilation, groups, cols=None, gcols=None):
    """The adjoint of _conv_forward in w: g . im2col(x)^T, with im2col built a chunk of samples
    at a time unless the forward's `cols` are given."""
    n, o = g.shape[:2]
    if gcols is None:
        gcols = _channel_major(g, groups)                        # (G, O/G, N*oH*oW)
    out_hw = tuple(g.shape[2:])
    plane = out_hw[0] * out_hw[1]
    sample_bytes = _cols_sample_bytes(x.shape[1], kernel, out_hw, x.itemsize)

    def run(n0, n1):                                             # these samples' part of dw
        c = cols[:, :, n0 * plane:n1 * plane] if cols is not None else \
            _im2col(x[n0:n1], kernel, stride, padding, dilation, out_hw, groups)
        return np.matmul(gcols[:, :, n0 * plane:n1 * plane], c.transpose(0, 2, 1))
    dw = sum(_split_samples(run, n, sample_bytes, o // groups, x.itemsize))
    return dw.reshape(o, -1, kernel[0], kernel[1])


def _conv_grads_adjoint(x, g, w, pad, dilation, groups):
    """Both gradients of a stride-1 convolution (pad from _adjoint_padding), a chunk of samples
    at a time. A chunk's columns of g for the flipped-kernel convolution give its part of the
    input gradient, and, contracted with x, its part of the weight gradient, while in cache:
    cols[o, (i', j'), (n, h, w)] = g[n, o, h + pad - i'*d, ...] with i' = kH-1-i, so the sum
    over (n, h, w) against x[n, c, h, w] is dW[o, c] with the kernel flipped."""
    n, c = x.shape[:2]
    in_hw = tuple(x.shape[2:])
    o, cg, kh, kw = w.shape
    flipped = _flipped_kernel(w, groups).reshape(groups, cg, -1)  # (G, C/G, O/G*kH*kW)
    dx = np.empty(x.shape, dtype=g.dtype)
    sample_bytes = _cols_sample_bytes(o, (kh, kw), in_hw, g.itemsize)

    def run(n0, n1):                                 # dx of samples [n0, n1), their part of dw
        cols = _im2col(g[n0:n1], (kh, kw), (1, 1), pad, dilation, in_hw, groups)
        part = np.matmul(flipped, cols)                          # (G, C/G, nb*H*W)
        dx[n0:n1] = part.reshape(c, n1 - n0, in_hw[0], in_hw[1]).transpose(1, 0, 2, 3)
        return np.matmul(cols, _channel_major(x[n0:n1], groups).transpose(0, 2, 1))
    dw = sum(_split_samples(run, n, sample_bytes, cg, g.itemsize))
    dw = dw.reshape(groups, o // groups, kh, kw, cg)[:, :, ::-1, ::-1]  # (G, O/G*kk, C/G) above
    return dx, np.ascontiguousarray(dw.transpose(0, 1, 4, 2, 3)).reshape(o, cg, kh, kw)


class Conv(Op):
    @staticmethod
    def forward(ctx, x, w, stride, padding, dilation, groups):
        ctx.save_for_backward(x, w)
        ctx.conf = (stride, padding, dilation, groups)
        xa, wa = x._array, w._array
        kernel = wa.shape[2:]
        out_hw = _conv_out_hw(xa.shape[2:], kernel, stride, padding, dilation)
        cols = None
        if ctx.needs_input_grad[1] and xa.shape[0] * _cols_sample_bytes(
                xa.shape[1], kernel, out_hw, xa.itemsize) <= _CACHE_COLS_BYTES and not (
                ctx.needs_input_grad[0] and _adjoint_padding(
                    wa.shape, xa.shape[2:], (0, 0) + out_hw, stride, padding, dilation, groups)):
            # reused by the weight gradient: saves redoing the im2col copy
            cols = ctx.cols = _im2col(xa, kernel, stride, padding, dilation, out_hw, groups)
        return _conv_forward(xa, wa, stride, padding, dilation, groups, cols)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        stride, padding, dilation, groups = ctx.conf
        need_x, need_w = ctx.needs_input_grad[:2]
        in_hw, kernel = tuple(x.shape[2:]), tuple(w.shape[2:])
        first_order = not grad_mode.is_grad_enabled()
        # First-order backward with both gradients: make once what both kernels read (a
        # differentiable backward recomputes it inside each op).
        gcols = None
        if need_x and need_w and first_order:
            pad = _adjoint_padding(w.shape, in_hw, g.shape, stride, padding, dilation, groups)
            if pad is not None:
                gx, gw = _conv_grads_adjoint(x._array, g._array, w._array, pad, dilation, groups)
                return _make(gx), _make(gw), None, None, None, None
            gcols = _channel_major(g._array, groups)
        # The weight gradient first: the forward's columns are then freed before the input
        # gradient allocates its own, so the allocator can hand their memory straight back.
        gw = ConvWeight.apply(x, g, kernel, stride, padding, dilation, groups,
                              getattr(ctx, "cols", None) if first_order else None,
                              gcols) if need_w else None
        ctx.cols = None
        gx = ConvTranspose.apply(g, w, in_hw, stride, padding, dilation, groups,
                                 gcols) if need_x else None
        return gx, gw, None, None, None, None


class ConvTranspose(Op):
    """Adjoint of Conv in its input: maps (N, O, oH, oW) to (N, C, H, W)."""

    @staticmethod
    def forward(ctx, g, w, in_hw, stride, padding, dilation, groups, gcols=None):
        ctx.save_for_backward(g, w)
        ctx.conf = (stride, padding, dilation, groups)
        return _conv_input_grad(g._array, w._array, in_hw, stride, padding, dilation, groups,
                                gcols)

    @staticmethod
    def backward(ctx, gg):
        g, w = ctx.saved_tensors
        stride, padding, dilation, groups = ctx.conf
        d_g = Conv.apply(gg, w, stride, padding, dilation, groups) \
            if ctx.needs_input_grad[0] else None
        d_w = ConvWeight.apply(gg, g, tuple(w.shape[2:]), stride, padding, dilation, groups) \
            if ctx.needs_input_grad[1] else None
        return d_g, d_w, None, None, None, None, None, None


class ConvWeight(Op):
    """Adjoint of Conv in its weight: maps (x, g) to a (O, C/groups, kH, kW) weight gradient."""

    @staticmethod
    def forward(ctx, x, g, kernel, stride, padding, dilation, groups, cols=None, gcols=None):
        ctx.save_for_backward(x, g)
        ctx.conf = (stride, padding, dilation, groups)
        return _conv_weight_grad(x._array, g._array, kernel, stride, padding, dilation, groups,
                                 cols, gcols)

    @staticmethod
    def backward(ctx, gw):
        x, g = ctx.saved_tensors
        stride, padding, dilation, groups = ctx.conf
        d_x = ConvTranspose.apply(g, gw, tuple(x.shape[2:]), stride, padding, dilation, groups) \
            if ctx.needs_input_grad[0] else None
        d_g = Conv.apply(x, gw, stride, padding, dilation, groups) \
            if ctx.needs_input_grad[1] else None
        return d_x, d_g, None, None, None, None, None, None, None


# --- public API (torch.nn.functional) -----------------------------------------------------------
def _check_conv(op, x, w, groups, dims):
    if not isinstance(x, Tensor) or not isinstance(w, Tensor):
        raise TypeError(f"{op}: expected input and weight Tensors")
    if w.ndim != dims + 2:
        raise RuntimeError(f"{op}: expected a {dims + 2}-D weight, got shape {tuple(w.shape)}")
    if x.ndim not in (dims + 1, dims + 2):
        raise RuntimeError(f"{op}: expected a {dims + 1}-D (unbatched) or {dims + 2}-D (batched) "
                           f"input, got shape {tuple(x.shape)}")
    if x.dtype != w.dtype:
        raise RuntimeError(f"{op}: input ({x.dtype}) and weight ({w.dtype}) must have the same "
                           f"dtype")


def _conv_nd(op, x, weight, bias, stride, padding, dilation, groups, dims):
    _check_conv(op, x, weight, groups, dims)
    unbatched = x.ndim == dims + 1
    if unbatched:
        x = x.unsqueeze(0)
    if dims == 1:  # 1-D as 2-D with height 1
        x, weight = x.unsqueeze(2), weight.unsqueeze(2)
        stride, dilation = (1, _single(stride)), (1, _single(dilation))
        padding = padding if isinstance(padding, str) else (0, _single(padding))
    else:
        stride, dilation = _pair(stride, "stride", op), _pair(dilation, "dilation", op)
    c, o = x.shape[1], weight.shape[0]
    if c % groups or o % groups:
        raise RuntimeError(f"{op}: in_channels ({c}) and out_channels ({o}) must be divisible by "
                           f"groups ({groups})")
    if weight.shape[1] * groups != c:
        raise RuntimeError(f"{op}: expected input with {weight.shape[1] * groups} channels "
                           f"(weight of shape {tuple(weight.shape)}, groups={groups}), but got "
                           f"input of shape {tuple(x.shape)}")
    kernel = tuple(weight.shape[2:])
    if isinstance(padding, str):
        x, padding = _string_padding(op, x, padding, kernel, stride, dilation)
    else:
        padding = _pair(padding, "padding", op)
    for size, k, p, d in zip(x.shape[2:], kernel, padding, dilation):
        if size + 2 * p < d * (k - 1) + 1:
            raise RuntimeError(f"{op}: input size {tuple(x.shape[2:])} (padded by {padding}) is "
                               f"smaller than the kernel {kernel} (dilation {dilation})")
    out = Conv.apply(x, weight, stride, padding, dilation, groups)
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)
    if dims == 1:
        out = out.squeeze(2)
    return out.squeeze(0) if unbatched else out


def _single(v):
    return int(v[0]) if isinstance(v, (tuple, list)) else int(v)


def _string_padding(op, x, mode, kernel, stride, dilation):
    if mode == "valid":
        return x, (0, 0)
    if mode != "same":
        raise ValueError(f"{op}: padding must be 'valid', 'same' or ints, got {mode!r}")
    if any(s != 1 for s in stride):
        raise ValueError(f"{op}: padding='same' is not supported for strided convolutions")
    total = [d * (k - 1) for k, d in zip(kernel, dilation)]
    if all(t % 2 == 0 for t in total):
        return x, (total[0] // 2, total[1] // 2)
    # Odd total padding: PyTorch pads the extra element at the end.
    from .shape import pad
    x = pad(x, (total[1] // 2, total[1] - total[1] // 2, total[0] // 2, total[0] - total[0] // 2))
    return x, (0, 0)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv_nd("conv2d", input, weight, bias, stride, padding, dilation, groups, 2)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv_nd("conv1d", input, weight, bias, stride, padding, dilation, groups, 1)


def _check_transposed(op, x, weight, output_padding, stride, dilation):
    # weight is (C_in, C_out/groups, *kernel): the weight of the conv this transposes.
    if x.shape[1] != weight.shape[0]:
        raise RuntimeError(f"{op}: expected input with {weight.shape[0]} channels (weight shape "
                           f"{tuple(weight.shape)}), got input of shape {tuple(x.shape)}")
    for o_p, st, d in zip(output_padding, stride, dilation):
        if o_p >= max(st, d):
            raise RuntimeError(f"{op}: output padding must be smaller than either stride or "
                               f"dilation, got output_padding={output_padding}, stride={stride}, "
                               f"dilation={dilation}")


def _conv_transpose_nd(op, x, weight, bias, stride, padding, output_padding, groups, dilation,
                       dims):
    if weight.ndim != dims + 2:
        raise RuntimeError(f"{op}: expected a {dims + 2}-D weight, got shape "
                           f"{tuple(weight.shape)}")
    unbatched = x.ndim == dims + 1
    if unbatched:
        x = x.unsqueeze(0)
    if x.ndim != dims + 2:
        raise RuntimeError(f"{op}: expected a {dims + 2}-D input, got shape {tuple(x.shape)}")
    if dims == 1:
        x, weight = x.unsqueeze(2), weight.unsqueeze(2)
        stride, padding = (1, _single(stride)), (0, _single(padding))
        output_padding, dilation = (0, _single(output_padding)), (1, _single(dilation))
    else:
        stride, padding = _pair(stride, "stride", op), _pair(padding, "padding", op)
        output_padding = _pair(output_padding, "output_padding", op)
        dilation = _pair(dilation, "dilation", op)
    _check_transposed(op, x, weight, output_padding, stride, dilation)
    kernel = weight.shape[2:]
    out_hw = tuple((size - 1) * s - 2 * p + d * (k - 1) + op_ + 1 for size, s, p, d, k, op_ in
                   zip(x.shape[2:], stride, padding, dilation, kernel, output_padding))
    out = ConvTranspose.apply(x, weight, out_hw, stride, padding, dilation, groups)
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)
    if dims == 1:
        out = out.squeeze(2)
    return out.squeeze(0) if unbatched else out


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _conv_transpose_nd("conv_transpose2d", input, weight, bias, stride, padding,
                              output_padding, groups, dilation, 2)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _conv_transpose_nd("conv_transpose1d", input, weight, bias, stride, padding,
                              output_padding, groups, dilation, 1)


# --- 3-D: sums of 2-D convolutions over the kernel's depth ------------------------------------
def _triple(v, name, op):
    if isinstance(v, (tuple, list)):
        if len(v) != 3:
            raise ValueError(f"{op}: {name} must be an int or a triple, got {v!r}")
        return tuple(int(e) for e in v)
    return (int(v),) * 3


def _depth_slices(x, start, count, step):
    """Depths start, start + step, ... (count of them) of (N, C, D, H, W) as (N * count, C, H, W),
    the batch the 2-D kernels run over."""
    n, c = x.shape[:2]
    part = x[:, :, start:start + (count - 1) * step + 1:step]
    return part.permute(0, 2, 1, 3, 4).reshape(n * count, c, x.shape[3], x.shape[4])


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution: output depth z is the sum over the kernel's depth i of the 2-D
    convolution of input depth z * stride + i * dilation with the kernel slice i. Each term is
    one conv2d over every (sample, output depth), so the 2-D path's batched GEMMs do the work
    and the gradients, of any order, are conv2d's."""
    op = "conv3d"
    _check_conv(op, input, weight, groups, 3)
    x = input.unsqueeze(0) if input.ndim == 4 else input
    stride, dilation = _triple(stride, "stride", op), _triple(dilation, "dilation", op)
    kernel = tuple(weight.shape[2:])
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0, 0, 0)
        elif padding != "same":
            raise ValueError(f"{op}: padding must be 'valid', 'same' or ints, got {padding!r}")
        elif any(st != 1 for st in stride):
            raise ValueError(f"{op}: padding='same' is not supported for strided convolutions")
        else:  # odd totals put the extra element at the end, as PyTorch does
            from .shape import pad
            total = [d * (k - 1) for k, d in zip(kernel, dilation)]
            x = pad(x, tuple(v for t in reversed(total) for v in (t // 2, t - t // 2)))
            padding = (0, 0, 0)
    padding = _triple(padding, "padding", op)
    if x.shape[1] != weight.shape[1] * groups:
        raise RuntimeError(f"{op}: expected input with {weight.shape[1] * groups} channels "
                           f"(weight of shape {tuple(weight.shape)}, groups={groups}), but got "
                           f"input of shape {tuple(input.shape)}")
    if padding[0]:
        from .shape import pad
        x = pad(x, (0, 0, 0, 0, padding[0], padding[0]))
    depth = x.shape[2]
    out_d = (depth - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1
    if out_d < 1:
        raise RuntimeError(f"{op}: input depth {input.shape[-3]} (padded by {padding[0]}) is "
                           f"smaller than the kernel depth {kernel[0]} (dilation {dilation[0]})")
    out = None
    for i in range(kernel[0]):
        term = conv2d(_depth_slices(x, i * dilation[0], out_d, stride[0]), weight[:, :, i],
                      None, stride[1:], padding[1:], dilation[1:], groups)
        out = term if out is None else out + term
    n = x.shape[0]
    out = out.reshape((n, out_d) + tuple(out.shape[1:])).permute(0, 2, 1, 3, 4)
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1, 1)
    return out.squeeze(0) if input.ndim == 4 else out


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """The adjoint of conv3d in its input: input depth z sends, through the kernel slice i, the
    2-D transposed convolution of its plane to output depth z * stride + i * dilation (before
    the padding is cropped). Each slice i is one conv_transpose2d over every (sample, depth)."""
    op = "conv_transpose3d"
    if weight.ndim != 5:
        raise RuntimeError(f"{op}: expected a 5-D weight, got shape {tuple(weight.shape)}")
    if input.ndim not in (4, 5):
        raise RuntimeError(f"{op}: expected a 4-D (unbatched) or 5-D (batched) input, got shape "
                           f"{tuple(input.shape)}")
    x = input.unsqueeze(0) if input.ndim == 4 else input
    stride, padding = _triple(stride, "stride", op), _triple(padding, "padding", op)
    output_padding = _triple(output_padding, "output_padding", op)
    dilation = _triple(dilation, "dilation", op)
    _check_transposed(op, x, weight, output_padding, stride, dilation)
    from .shape import pad
    n, depth, k_d = x.shape[0], x.shape[2], weight.shape[2]
    span = (depth - 1) * stride[0] + 1                 # depths one kernel slice writes to
    full = span + dilation[0] * (k_d - 1) + output_padding[0]
    planes = _depth_slices(x, 0, depth, 1)
    out = None
    for i in range(k_d):
        term = conv_transpose2d(planes, weight[:, :, i], None, stride[1:], padding[1:],
                                output_padding[1:], groups, dilation[1:])
        term = term.reshape((n, depth) + tuple(term.shape[1:]))
        if stride[0] > 1:  # zeros between the depths: (N, D, s, ...) -> (N, D * s, ...)
            term = pad(term.unsqueeze(2), (0, 0, 0, 0, 0, 0, 0, stride[0] - 1))
            term = term.reshape((n, depth * stride[0]) + tuple(term.shape[3:]))[:, :span]
        start = i * dilation[0]
        term = pad(term, (0, 0, 0, 0, 0, 0, start, full - start - span))
        out = term if out is None else out + term
    out = out[:, padding[0]:full - padding[0]].permute(0, 2, 1, 3, 4)
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1, 1)
    return out.squeeze(0) if input.ndim == 4 else out


FUNCTIONS = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
             "conv_transpose3d"]
METHODS = {}
