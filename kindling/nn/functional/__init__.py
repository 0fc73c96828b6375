"""kindling.nn.functional: PyTorch's functional API.

Activations, softmax, pad and one_hot are the ops of `kindling/ops/` (which already take
torch.nn.functional's signatures, `inplace=` included), re-exported here. This module adds the
`relu_`-style aliases, softmax's implicit-dim rule, and the composites that live only in the
functional API: dropout, linear, bilinear, normalize and the distances.
"""
import warnings

from ...ops.activation import (relu6, leaky_relu, elu, selu, celu, gelu, silu, mish, hardtanh,
                               hardsigmoid, hardswish, softplus, softsign, prelu, threshold,
                               logsigmoid, tanhshrink, softshrink, hardshrink, glu, rrelu)
from ...ops.elementwise import sigmoid, tanh
from ...ops import elementwise as _elementwise
from ...ops import reduce as _reduce
from ...ops.shape import pad
from ...ops.index import one_hot
from .linear import linear, bilinear
from .dropout import (dropout, alpha_dropout, feature_alpha_dropout, dropout1d, dropout2d,
                      dropout3d)


# --- activations (the ops live in kindling/ops/activation.py) ----------------------------------
def relu(input, inplace=False):
    """max(0, x)."""
    if inplace:
        return input._apply_inplace("relu_", _elementwise._relu_into_input)
    return _elementwise.relu(input)


def relu_(input):
    return relu(input, inplace=True)


def threshold_(input, threshold_value, value):
    return threshold(input, threshold_value, value, inplace=True)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, inplace=True)


def elu_(input, alpha=1.0):
    return elu(input, alpha, inplace=True)


def selu_(input):
    return selu(input, inplace=True)


def celu_(input, alpha=1.0):
    return celu(input, alpha, inplace=True)


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, inplace=True)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    return rrelu(input, lower, upper, training, inplace=True)


# --- softmax family -----------------------------------------------------------------------------
def _get_softmax_dim(name, ndim, stacklevel=3):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to "
                  f"include dim=X as an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _get_softmax_dim("softmax", input.dim(), _stacklevel)
    return _reduce.softmax(input, dim, dtype=dtype)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _get_softmax_dim("softmin", input.dim(), _stacklevel)
    if dtype is not None:
        input = input.to(dtype)
    return _reduce.softmax(-input, dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _get_softmax_dim("log_softmax", input.dim(), _stacklevel)
    return _reduce.log_softmax(input, dim, dtype=dtype)


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    """Samples from the Gumbel-softmax distribution; `hard=True` returns one-hot vectors with
    the soft sample's gradient (straight-through)."""
    from ...creation import rand_like
    u = rand_like(logits)
    gumbels = -(-(u.clamp_min(1e-20)).log()).log()  # -log(Exponential(1))
    y_soft = softmax((logits + gumbels) / tau, dim)
    if not hard:
        return y_soft
    index = y_soft.argmax(dim, keepdim=True)
    y_hard = (y_soft * 0).scatter(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft


# --- distances ----------------------------------------------------------------------------------
def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """input / max(||input||_p, eps) along `dim`."""
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps)
    return input / denom


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum(x1/||x1|| * x2/||x2||) along `dim`, each norm clamped to at least eps.

    As in PyTorch, the clamp is applied outside autograd: the gradient is that of the
    unclamped norm (this keeps the result in [-1, 1] and matches PyTorch's gradients)."""
    n1 = x1.norm(2, dim, keepdim=True)
    n2 = x2.norm(2, dim, keepdim=True)
    n1 = n1 + (n1.detach().clamp_min(eps) - n1.detach())
    n2 = n2 + (n2.detach().clamp_min(eps) - n2.detach())
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p over the last dimension."""
    last = max(x1.dim(), x2.dim(), 1) - 1
    return (x1 - x2 + eps).norm(p, last, keepdim=keepdim)


def pdist(input, p=2):
    n = input.shape[0]
    diffs = input.unsqueeze(1) - input.unsqueeze(0)
    rows, cols = zip(*[(i, j) for i in range(n) for j in range(i + 1, n)]) if n > 1 else ((), ())
    from ...creation import tensor
    from ...engine import dtypes
    rows = tensor(list(rows), dtype=dtypes.int64)
    cols = tensor(list(cols), dtype=dtypes.int64)
    return diffs[rows, cols].norm(p, -1)


from .loss import *  # noqa: E402,F401,F403  (losses; last, so they can use everything above)


# --- vision: convolution, pooling, normalization, resampling (kindling/ops) -------------------
from ...ops.conv import (conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d,  # noqa: E402,F401
                         conv_transpose3d)
from ...ops.pool import (max_pool1d, max_pool2d, max_pool3d, avg_pool1d,  # noqa: E402,F401
                         avg_pool2d, avg_pool3d, adaptive_avg_pool1d, adaptive_avg_pool2d,
                         adaptive_avg_pool3d, adaptive_max_pool1d, adaptive_max_pool2d,
                         adaptive_max_pool3d, max_unpool1d, max_unpool2d, max_unpool3d, unfold,
                         fold, lp_pool1d, lp_pool2d, lp_pool3d)
from ...ops.norm import (batch_norm, instance_norm, layer_norm, group_norm,  # noqa: E402,F401
                         local_response_norm, rms_norm)
from ...ops.resample import (interpolate, upsample, pixel_shuffle,  # noqa: E402,F401
                             pixel_unshuffle, channel_shuffle, affine_grid, grid_sample)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool3d(input, output_size, True)


def upsample_nearest(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# --- embeddings and attention (kindling/ops/attention.py, functional/attention.py) ------------
from .attention import (embedding, embedding_bag, scaled_dot_product_attention,  # noqa: E402,F401
                        multi_head_attention_forward)
