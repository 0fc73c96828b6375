"""Normalization: batch, layer, group, instance and local response normalization.

Each is composed from differentiable primitives (mean, variance, arithmetic), so gradients of
any order come from the engine; the running statistics of batch/instance norm are updated in
place outside the graph, as in PyTorch.
"""
import numpy as np

from ..engine.tensor import Tensor
from ..engine import grad_mode


def _normalize(x, dims, eps):
    mean = x.mean(dim=dims, keepdim=True)
    centered = x - mean
    var = (centered * centered).mean(dim=dims, keepdim=True)
    return centered * (var + eps).rsqrt(), mean, var


def _channel_shape(x):
    return (1, -1) + (1,) * (x.ndim - 2)


def _update_running(running, batch_stat, momentum):
    with grad_mode.no_grad():
        running.mul_(1 - momentum).add_(batch_stat.detach().reshape(-1).to(running.dtype),
                                        alpha=momentum)


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
    dims = (0,) + tuple(range(2, input.ndim))
    shape = _channel_shape(input)
    if training:
        count = input.numel() // c
        if count <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size {list(input.shape)}")
        out, mean, var = _normalize(input, dims, eps)
        if running_mean is not None:
            _update_running(running_mean, mean, momentum)
        if running_var is not None:
            _update_running(running_var, var * (count / (count - 1)), momentum)
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("batch_norm: running_mean and running_var are needed when not "
                               "training")
        out = (input - running_mean.reshape(shape)) * (running_var.reshape(shape) + eps).rsqrt()
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalize each (sample, channel) over its spatial dims."""
    if input.ndim < 3:
        raise ValueError(f"instance_norm: expected at least 3-D input (N, C, ...), got shape "
                         f"{tuple(input.shape)}")
    shape = _channel_shape(input)
    dims = tuple(range(2, input.ndim))
    if use_input_stats:
        out, mean, var = _normalize(input, dims, eps)
        count = int(np.prod(input.shape[2:]))
        if running_mean is not None:
            _update_running(running_mean, mean.mean(0), momentum)
        if running_var is not None:
            _update_running(running_var, (var * (count / max(count - 1, 1))).mean(0), momentum)
    else:
        out = (input - running_mean.reshape(shape)) * (running_var.reshape(shape) + eps).rsqrt()
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize over the trailing `normalized_shape` dims of each sample."""
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) \
        else tuple(normalized_shape)
    k = len(normalized_shape)
    if tuple(input.shape[input.ndim - k:]) != normalized_shape or input.ndim < k:
        raise RuntimeError(f"layer_norm: given normalized_shape={list(normalized_shape)}, "
                           f"expected input with shape [*, {', '.join(map(str, normalized_shape))}]"
                           f", but got input of size {list(input.shape)}")
    out, _, _ = _normalize(input, tuple(range(input.ndim - k, input.ndim)), eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


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


FUNCTIONS = ["batch_norm", "instance_norm", "layer_norm", "group_norm"]
METHODS = {}
