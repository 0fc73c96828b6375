"""Normalization: batch, layer, group, instance and local response normalization.

Batch (and so instance) normalization and layer normalization are fused ops, `BatchNorm` and
`LayerNorm`: they sit after every convolution of a CNN and around every Transformer block, where
a composite of Tensor ops costs a dozen full passes and temporaries. Their first-order backward
is NumPy; under create_graph the same formula runs in Tensor ops, so gradients of any order stay
exact. Group and local response normalization are composed from differentiable primitives. Running statistics are updated in place outside
the graph, as in PyTorch.
"""
import numpy as np

from ..engine import grad_mode, parallel
from ..engine.function import Op
from ..engine.tensor import _make


def _normalize(x, dims, eps):
    mean = x.mean(dim=dims, keepdim=True)
    centered = x - mean
    var = (centered * centered).mean(dim=dims, keepdim=True)
    return centered * (var + eps).rsqrt(), mean, var


def _channel_shape(x):
    return (1, -1) + (1,) * (x.ndim - 2)


def _update_running(running, batch_stat, momentum):
    """running = (1 - momentum) * running + momentum * batch_stat, in place outside the graph."""
    r = running._array
    r *= 1 - momentum
    r += (momentum * batch_stat).astype(r.dtype, copy=False)
    running._vc[0] += 1


def _channel_sum(a):
    """Per-channel sum of an (N, C, L) array in its own dtype. Long rows are summed by BLAS
    (a matrix-vector product with ones: vectorized with several accumulators, ~3x NumPy's
    reduction over a strided axis), then the N partial sums are added."""
    n, c, length = a.shape
    if length < 16:
        return a.sum(axis=2).sum(axis=0)
    with parallel.one_blas_thread():  # BLAS's threads would spin on after, taking a core
        rows = a.reshape(n * c, length) @ np.ones(length, dtype=a.dtype)
    return rows.reshape(n, c).sum(axis=0)


def _channel_dot(a, b):
    """Per-channel sum of a * b over (N, C, L) arrays, without a temporary of their size."""
    n, c, length = a.shape
    if length < 16:
        return (a * b).sum(axis=2).sum(axis=0)
    rows = np.matmul(a.reshape(n * c, 1, length), b.reshape(n * c, length, 1))  # BLAS dots
    return rows.reshape(n, c).sum(axis=0)


class BatchNorm(Op):
    """Batch normalization as one op on the (N, C, L) view of the input.

    Forward finds each channel's mean and biased variance, updates the running statistics in
    place (with the unbiased variance, as PyTorch does) and writes (x - mean) * (w * invstd) + b
    into the one buffer it allocates. The first-order backward is a few in-place NumPy passes;
    under create_graph the same gradients are written in Tensor ops (`_backward_graph`), so
    every order stays exact."""

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, training, momentum, eps):
        xa = x._array
        n, c = xa.shape[:2]
        x3 = xa.reshape(n, c, -1)
        count = x3.shape[0] * x3.shape[2]
        if training:  # two passes: no E[x^2] - E[x]^2 cancellation
            mean = _channel_sum(x3) / count
            out = np.subtract(x3, mean[:, None])
            var = _channel_dot(out, out) / count
            if running_mean is not None:
                _update_running(running_mean, mean, momentum)
            if running_var is not None:
                _update_running(running_var, var * (count / (count - 1)), momentum)
        else:
            mean, var = running_mean._array.copy(), running_var._array
            out = np.subtract(x3, mean[:, None])
        invstd = 1 / np.sqrt(var + eps)
        out *= (invstd if weight is None else weight._array * invstd)[:, None]
        if bias is not None:
            out += bias._array[:, None]
        ctx.save_for_backward(x, weight, bias)
        ctx.stats = (mean, invstd, training, eps)
        return out.reshape(xa.shape)

    @staticmethod
    def backward(ctx, g):
        x, weight, bias = ctx.saved_tensors
        mean, invstd, training, eps = ctx.stats
        if grad_mode.is_grad_enabled():
            gx, gw, gb = _backward_graph(ctx, x, weight, g)
            return gx, gw, gb, None, None, None, None, None
        xa = x._array
        n, c = xa.shape[:2]
        x3, g3 = xa.reshape(n, c, -1), g._array.reshape(n, c, -1)
        count = x3.shape[0] * x3.shape[2]
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        scale = invstd if weight is None else weight._array * invstd
        g_sum = _channel_sum(g3) if need_b or (need_x and training) else None
        gx = gw = gb = None
        if need_w or (need_x and training):
            work = np.subtract(x3, mean[:, None])
            dot = _channel_dot(work, g3)                         # sum of g * (x - mean)
            if need_w:
                gw = _make(dot * invstd)
            if need_x and training:  # the batch statistics depend on x too (PyTorch's formula)
                work *= (dot * invstd * invstd / count)[:, None]
                np.subtract(g3, work, out=work)
                work -= (g_sum / count)[:, None]
                work *= scale[:, None]
                gx = _make(work.reshape(xa.shape))
        if need_x and not training:
            gx = _make(np.multiply(g3, scale[:, None]).reshape(xa.shape))
        if need_b:
            gb = _make(g_sum)
        return gx, gw, gb, None, None, None, None, None


def _backward_graph(ctx, x, weight, g):
    """create_graph=True: BatchNorm's gradients written in Tensor ops (differentiable again)."""
    mean, invstd, training, eps = ctx.stats
    dims, shape = (0,) + tuple(range(2, x.ndim)), _channel_shape(x)
    if training:  # the statistics are functions of x here
        centered = x - x.mean(dim=dims, keepdim=True)
        rstd = ((centered * centered).mean(dim=dims, keepdim=True) + eps).rsqrt()
    else:
        centered, rstd = x - _make(mean.reshape(shape)), _make(invstd.reshape(shape))
    x_hat = centered * rstd
    scale = rstd if weight is None else rstd * weight.reshape(shape)
    g_sum, dot = g.sum(dim=dims), (g * x_hat).sum(dim=dims)
    gx = None
    if ctx.needs_input_grad[0]:
        if training:
            count = x.numel() // x.shape[1]
            gx = scale * (g - (g_sum / count).reshape(shape) - x_hat * (dot / count).reshape(shape))
        else:
            gx = g * scale
    return gx, dot, g_sum


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalize each channel (dim 1) over the batch and spatial dims.

    Training uses the batch's biased variance to normalize and updates the running variance
    with the unbiased one (n / (n - 1)), exactly as PyTorch does."""
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected at least 2-D input (N, C, ...), got shape "
                         f"{tuple(input.shape)}")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"batch_norm: {name} should contain {c} elements (one per "
                               f"channel of input {tuple(input.shape)}), not {t.numel()}")
    if training:
        if input.numel() // c <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size {list(input.shape)}")
    elif running_mean is None or running_var is None:
        raise RuntimeError("batch_norm: running_mean and running_var are needed when not "
                           "training")
    return BatchNorm.apply(input, weight, bias, running_mean, running_var, bool(training),
                           momentum, eps)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalize each (sample, channel) over its spatial dims: batch norm of the input viewed
    as one sample with N*C channels, as PyTorch computes it (running statistics averaged over
    the batch afterwards)."""
    if input.ndim < 3:
        raise ValueError(f"instance_norm: expected at least 3-D input (N, C, ...), got shape "
                         f"{tuple(input.shape)}")
    if not use_input_stats:
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    n, c = input.shape[:2]
    if int(np.prod(input.shape[2:])) <= 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                         f"{list(input.shape)}")
    stats = [None if r is None else _make(np.tile(r._array, n)) for r in (running_mean,
                                                                           running_var)]
    out = BatchNorm.apply(input.reshape((1, n * c) + tuple(input.shape[2:])),
                          None if weight is None else weight.repeat(n),
                          None if bias is None else bias.repeat(n),
                          stats[0], stats[1], True, momentum, eps).reshape(input.shape)
    for running, tiled in zip((running_mean, running_var), stats):
        if running is not None:
            running._array[...] = tiled._array.reshape(n, c).mean(axis=0)
            running._vc[0] += 1
    return out


class LayerNorm(Op):
    """Layer normalization as one op on the (rows, d) view of the input, d the number of
    normalized elements (a transformer has one before every attention and MLP).

    Forward takes each row's mean and biased variance in two passes (no E[x^2] - E[x]^2
    cancellation) and keeps x_hat = (x - mean) * rstd for backward. The first-order backward is
    PyTorch's formula in NumPy, with gy = g * weight:
        gx = rstd * (gy - mean(gy) - x_hat * mean(gy * x_hat))   (means over each row)
        gweight = sum over rows of g * x_hat,   gbias = sum over rows of g
    Under create_graph the same formula is written in Tensor ops (`_layer_norm_graph`), so every
    order stays exact. Sums over rows and columns are BLAS matrix-vector products (the mean is
    rows @ (1/d), mean(gy) = g @ weight / d, mean(gy * x_hat) = (g * x_hat) @ weight / d, the
    column sums ones @ ...): NumPy's reduction over short rows costs a call per row. Replacing
    the composite (mean, sub, square, mean, rsqrt, mul, mul, add: 8 nodes) cut forward+backward
    of a (32, 64, 128) float32 input from about 2.6 ms to 1.3 ms, the BLAS sums to about 1.15 ms
    (torch: 0.6 ms; 1 thread). Splitting the rows over 2 threads measured slower: each share
    is a fraction of a millisecond."""

    @staticmethod
    def forward(ctx, x, weight, bias, shape, eps):
        d = int(np.prod(shape))
        rows = x._array.reshape(-1, d)
        x_hat = np.subtract(rows, (rows @ np.full(d, 1.0 / d, rows.dtype))[:, None])
        var = np.einsum("ij,ij->i", x_hat, x_hat)[:, None]
        var /= d
        var += eps
        rstd = np.sqrt(var, out=var)
        np.divide(1, rstd, out=rstd)
        x_hat *= rstd
        out = x_hat.copy() if weight is None else np.multiply(x_hat, weight._array.reshape(d))
        if bias is not None:
            out += bias._array.reshape(d)
        ctx.save_for_backward(x, weight)
        ctx.stats = (x_hat, rstd, shape, eps)
        return out.reshape(x._array.shape)

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        x_hat, rstd, shape, eps = ctx.stats
        d = x_hat.shape[1]
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        if grad_mode.is_grad_enabled():
            gx, gw, gb = (t if need else None for t, need in
                          zip(_layer_norm_graph(x, weight, g, d, eps), (need_x, need_w, need_b)))
            return gx, (None if gw is None else gw.reshape(shape)), \
                (None if gb is None else gb.reshape(shape)), None, None
        g2 = g._array.reshape(-1, d)
        w = np.ones(d, g2.dtype) if weight is None else weight._array.reshape(d)
        gxh = np.multiply(g2, x_hat) if need_x or need_w else None             # g * x_hat
        gx = None
        if need_x:
            dot = (gxh @ w)[:, None] / d                                       # mean(gy * x_hat)
            mean = (g2 @ w)[:, None] / d                                       # mean(gy)
            gx = np.multiply(g2, w)
            gx -= mean
            gx -= x_hat * dot
            gx *= rstd
        col_ones = np.ones(g2.shape[0], g2.dtype)
        gw = _make((col_ones @ gxh).reshape(shape)) if need_w else None
        gb = _make((col_ones @ g2).reshape(shape)) if need_b else None
        return (None if gx is None else _make(gx.reshape(x._array.shape))), gw, gb, None, None


def _layer_norm_graph(x, weight, g, d, eps):
    """create_graph=True: LayerNorm's gradients in Tensor ops (differentiable again)."""
    rows = x.reshape(-1, d)
    centered = rows - rows.mean(dim=1, keepdim=True)
    rstd = ((centered * centered).mean(dim=1, keepdim=True) + eps).rsqrt()
    x_hat = centered * rstd
    g2 = g.reshape(-1, d)
    gy = g2 if weight is None else g2 * weight.reshape(d)
    gx = rstd * (gy - gy.mean(dim=1, keepdim=True) -
                 x_hat * (gy * x_hat).mean(dim=1, keepdim=True))
    return gx.reshape(x.shape), (g2 * x_hat).sum(dim=0), g2.sum(dim=0)


def _checked_normalized_shape(op, input, normalized_shape, **affine):
    """normalized_shape as a tuple, after checking that it ends input's shape, that the affine
    tensors given (weight, bias) have it, and that input is floating point."""
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) \
        else tuple(normalized_shape)
    k = len(normalized_shape)
    if input.ndim < k or tuple(input.shape[input.ndim - k:]) != normalized_shape:
        raise RuntimeError(f"{op}: given normalized_shape={list(normalized_shape)}, expected "
                           f"input with shape [*, {', '.join(map(str, normalized_shape))}], but "
                           f"got input of size {list(input.shape)}")
    for name, t in affine.items():
        if t is not None and tuple(t.shape) != normalized_shape:
            raise RuntimeError(f"{op}: expected {name} of shape {list(normalized_shape)}, got "
                               f"{list(t.shape)}")
    if input._array.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating point input, got {input.dtype}")
    return normalized_shape


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize over the trailing `normalized_shape` dims of each sample, then scale by `weight`
    and shift by `bias` (both of shape `normalized_shape`)."""
    normalized_shape = _checked_normalized_shape("layer_norm", input, normalized_shape,
                                                 weight=weight, bias=bias)
    return LayerNorm.apply(input, weight, bias, normalized_shape, eps)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """x / sqrt(mean(x^2 over the trailing `normalized_shape` dims) + eps) * weight: layer norm
    without centering or bias (T5, LLaMA). eps defaults to the input dtype's machine epsilon,
    as in PyTorch. Written with Tensor ops, so it differentiates any number of times."""
    normalized_shape = _checked_normalized_shape("rms_norm", input, normalized_shape,
                                                 weight=weight)
    k = len(normalized_shape)
    if eps is None:
        eps = float(np.finfo(input._array.dtype).eps)
    dims = tuple(range(input.ndim - k, input.ndim))
    out = input * ((input * input).mean(dim=dims, keepdim=True) + eps).rsqrt()
    return out if weight is None else out * weight


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalize each sample's channels in `num_groups` groups (over channels and space)."""
    if input.ndim < 2:
        raise RuntimeError(f"group_norm: expected at least 2-D input, got shape "
                           f"{tuple(input.shape)}")
    n, c = input.shape[:2]
    if c % num_groups:
        raise RuntimeError(f"group_norm: expected number of channels in input ({c}) to be "
                           f"divisible by num_groups ({num_groups})")
    grouped = input.reshape(n, num_groups, -1)
    out, _, _ = _normalize(grouped, (2,), eps)
    out = out.reshape(input.shape)
    shape = _channel_shape(input)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """x / (k + alpha/size * sum of x^2 over `size` neighbouring channels)^beta (AlexNet)."""
    if input.ndim < 3:
        raise ValueError(f"local_response_norm: expected 3-D or higher input, got shape "
                         f"{tuple(input.shape)}")
    from .shape import pad
    c = input.shape[1]
    squares = input * input
    # pad the channel dim: size//2 before, (size-1)//2 after, as PyTorch does
    moved = squares.transpose(1, -1)
    padded = pad(moved, (size // 2, (size - 1) // 2)).transpose(1, -1)
    total = padded.narrow(1, 0, c)
    for offset in range(1, size):
        total = total + padded.narrow(1, offset, c)
    return input / (total * (alpha / size) + k) ** beta


FUNCTIONS = ["batch_norm", "instance_norm", "layer_norm", "group_norm", "rms_norm"]
METHODS = {}
