"""Activation functions (torch.nn.functional's names and signatures), forward beside gradient.

Each is one Op whose gradient rule uses Tensor ops (so it can be differentiated again), or a
composite of differentiable ops where that is as fast (softsign, tanhshrink, glu). Ops are
stable at extreme inputs: exponentials only ever see non-positive arguments, or are selected
away before they could overflow. Gradient masks at the kinks follow PyTorch exactly (for
example hardtanh passes no gradient at its bounds, leaky_relu gives the slope at 0).

`inplace=True` runs the op through the tensor in-place machinery (`Tensor._apply_inplace`), so
autograd stays correct; kindling.nn.functional builds on these functions.
"""
import math

import numpy as np

from ..engine.function import Op
from ..engine.tensor import _make
from . import _fastpaths, _special
from .elementwise import where, exp, sigmoid, tanh, erf, clamp_max, Sigmoid, _zeros, _mask

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_SQRT1_2 = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_C = 0.044715
_ONE_SIXTH_F32 = float(np.float32(1.0) / np.float32(6.0))


def _maybe_inplace(name, inplace, fn, input, *args):
    if inplace:
        return input._apply_inplace(name + "_", fn, *args)
    return fn(input, *args)


def _check_float(x, name):
    if x._array.dtype.kind != "f":
        raise RuntimeError(f"{name}: expected a floating point tensor, got {x.dtype.name}")
    return x._array


# --- piecewise linear ---------------------------------------------------------------------------
class Hardtanh(Op):
    """clip(x, min_val, max_val); the gradient passes strictly inside (min_val, max_val)."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = lo, hi
        return _fastpaths.clamp(x._array, lo, hi)

    @staticmethod
    def backward(ctx, g):
        a = ctx.saved_tensors[0]._array
        return g * _mask((a > ctx.lo) & (a < ctx.hi), g), None, None


class LeakyRelu(Op):
    @staticmethod
    def forward(ctx, x, slope):
        ctx.save_for_backward(x)
        ctx.slope = slope
        a = x._array
        return _fastpaths.select(a > 0, a, a * slope)

    @staticmethod
    def backward(ctx, g):
        a = ctx.saved_tensors[0]._array
        return g * _make(np.where(a > 0, 1, ctx.slope).astype(g._array.dtype)), None


class Threshold(Op):
    """x where x > threshold, else value."""

    @staticmethod
    def forward(ctx, x, threshold, value):
        a = x._array
        ctx.keep = ~(a <= threshold)  # NaN is kept, as in PyTorch
        return _fastpaths.select(ctx.keep, a, np.asarray(value, dtype=a.dtype))

    @staticmethod
    def backward(ctx, g):
        return g * _mask(ctx.keep, g), None, None


class Softshrink(Op):
    @staticmethod
    def forward(ctx, x, lambd):
        a = _check_float(x, "softshrink")
        ctx.keep = np.abs(a) > lambd   # PyTorch: a NaN passes through forward, no gradient back
        shrunk = a - np.copysign(a.dtype.type(lambd), a)
        return _fastpaths.select(ctx.keep | np.isnan(a), shrunk, 0)

    @staticmethod
    def backward(ctx, g):
        return g * _mask(ctx.keep, g), None


class Hardshrink(Op):
    @staticmethod
    def forward(ctx, x, lambd):
        a = x._array
        ctx.keep = np.abs(a) > lambd   # PyTorch: a NaN passes through forward, no gradient back
        return _fastpaths.select(ctx.keep | np.isnan(a), a, 0)

    @staticmethod
    def backward(ctx, g):
        return g * _mask(ctx.keep, g), None


class Hardsigmoid(Op):
    """relu6(x + 3) / 6."""

    @staticmethod
    def forward(ctx, x):
        a = _check_float(x, "hardsigmoid")
        ctx.inside = (a > -3) & (a < 3)
        return np.clip(a + 3, 0, 6) / 6

    @staticmethod
    def backward(ctx, g):
        # PyTorch scales by the float32 value of 1/6 in every dtype; so does kindling
        return g * _mask(ctx.inside, g) * _ONE_SIXTH_F32


class Hardswish(Op):
    """x * relu6(x + 3) / 6."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        a = _check_float(x, "hardswish")
        return a * np.clip(a + 3, 0, 6) / 6

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        a = x._array
        # 0 for x <= -3, x / 3 + 0.5 inside, 1 for x >= 3 (PyTorch's choice at the kinks)
        inside = _make(~((a <= -3) | (a >= 3)))  # NaN counts as inside: NaN gradient
        above = _mask(a >= 3, g)
        return g * where(inside, x / 3 + 0.5, above)


class Prelu(Op):
    """x where x > 0, else weight * x (weight already shaped to broadcast over channels)."""

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        a = x._array
        return _fastpaths.select(a > 0, a, a * w._array)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        positive = _make(x._array > 0)
        gx = g * where(positive, _make(np.ones((), g._array.dtype)), w) \
            if ctx.needs_input_grad[0] else None
        gw = g * where(positive, _zeros(x), x) if ctx.needs_input_grad[1] else None
        return gx, gw


# --- exponential family -------------------------------------------------------------------------
class Elu(Op):
    """scale * x for x > 0, else scale * alpha * (exp(x * input_scale) - 1): elu, selu, celu."""

    @staticmethod
    def forward(ctx, x, alpha, scale, input_scale):
        ctx.save_for_backward(x)
        ctx.params = (alpha, scale, input_scale)
        a = _check_float(x, "elu")
        negative = np.expm1(np.minimum(a, 0) * input_scale) * (scale * alpha)
        return _fastpaths.select(a > 0, a * scale if scale != 1 else a, negative)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        alpha, scale, input_scale = ctx.params
        negative = exp(clamp_max(x, 0) * input_scale) * (scale * alpha * input_scale)
        return g * where(_make(x._array > 0), scale, negative), None, None, None


class Softplus(Op):
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold."""

    @staticmethod
    def forward(ctx, x, beta, threshold):
        ctx.save_for_backward(x)
        ctx.beta, ctx.threshold = beta, threshold
        a = _check_float(x, "softplus")
        z = a * beta if beta != 1 else a
        soft = np.log1p(np.exp(np.minimum(z, threshold)))
        if beta != 1:
            soft = soft / beta
        return _fastpaths.select(z > threshold, a, soft)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        beta = ctx.beta
        z = x * beta if beta != 1 else x
        linear = z._array > ctx.threshold
        return g * where(_make(linear), _make(np.ones((), g._array.dtype)), sigmoid(z)), \
            None, None


class Logsigmoid(Op):
    """log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|))."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        a = _check_float(x, "logsigmoid")
        return np.minimum(a, 0) - np.log1p(np.exp(-np.abs(a)))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * sigmoid(-x)


class Silu(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        a = _check_float(x, "silu")
        return a * Sigmoid.forward(None, x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        s = sigmoid(x)
        return g * (s * (1 + x * (1 - s)))


class Mish(Op):
    """x * tanh(softplus(x))."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        a = _check_float(x, "mish")
        return a * np.tanh(Softplus.forward(_Scratch(), x, 1, 20))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        t = tanh(softplus(x))
        return g * (t + x * sigmoid(x) * (1 - t * t))


class _Scratch:
    """A throwaway ctx for calling another op's forward on arrays."""

    def save_for_backward(self, *tensors):
        pass


class Gelu(Op):
    """x * Phi(x), Phi the standard normal CDF; or PyTorch's tanh approximation of it."""

    @staticmethod
    def forward(ctx, x, approximate):
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        a = _check_float(x, "gelu")
        if approximate == "tanh":
            inner = (a + _GELU_C * (a * a * a)) * _SQRT_2_OVER_PI
            return (a * 0.5) * (1 + np.tanh(inner))
        cdf = _special.ndtr(a)
        ctx.cdf = cdf  # reused by the gradient: the CDF is the expensive part
        return a * cdf

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        if ctx.approximate == "tanh":
            inner = (x + x * x * x * _GELU_C) * _SQRT_2_OVER_PI
            t = tanh(inner)
            d_inner = (1 + x * x * (3 * _GELU_C)) * _SQRT_2_OVER_PI
            return g * ((1 + t) * 0.5 + x * 0.5 * (1 - t * t) * d_inner), None
        return GeluGrad.apply(g, x, ctx.cdf), None


def _gelu_grad(g, a, cdf):
    # One buffer updated in place: a transformer MLP's activations are large, and every extra
    # temporary is another sweep through memory.
    d = np.multiply(a, a, out=np.empty_like(a))  # an array even for 0-d inputs
    d *= -0.5
    np.exp(d, out=d)
    d *= a
    d *= _INV_SQRT_2PI                 # x * pdf(x)
    d += cdf
    d *= g
    return d


class GeluGrad(Op):
    """The exact GELU's gradient g * (Phi(x) + x * phi(x)) as one fused op (it is on the hot
    path of every transformer MLP); its own gradient makes GELU twice differentiable."""

    @staticmethod
    def forward(ctx, g, x, cdf):
        ctx.save_for_backward(g, x)
        return _gelu_grad(g._array, x._array, cdf)

    @staticmethod
    def backward(ctx, gg):
        g, x = ctx.saved_tensors
        pdf = exp(x * x * -0.5) * _INV_SQRT_2PI
        d_g = (erf(x * _SQRT1_2) + 1) * 0.5 + x * pdf if ctx.needs_input_grad[0] else None
        d_x = gg * g * pdf * (2 - x * x) if ctx.needs_input_grad[1] else None
        return (gg * d_g if d_g is not None else None), d_x, None


# --- public functions ---------------------------------------------------------------------------
def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if min_val > max_val:
        raise ValueError("hardtanh: min_val cannot be greater than max_val")
    return _maybe_inplace("hardtanh", inplace, Hardtanh.apply, input, min_val, max_val)


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return _maybe_inplace("leaky_relu", inplace, LeakyRelu.apply, input, negative_slope)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Randomized leaky ReLU: in training the negative slope of each element is drawn from
    U(lower, upper); in evaluation it is (lower + upper) / 2."""
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    from ..random import _np_rng
    rng = _np_rng()
    a = input._array
    slopes = rng.uniform(lower, upper, size=a.shape).astype(a.dtype)
    weight = _make(np.where(a >= 0, 1, slopes).astype(a.dtype))
    if inplace:
        return input._apply_inplace("rrelu_", lambda x, w: x * w, weight)
    return input * weight


def threshold(input, threshold, value, inplace=False):
    return _maybe_inplace("threshold", inplace, Threshold.apply, input, threshold, value)


def elu(input, alpha=1.0, inplace=False):
    return _maybe_inplace("elu", inplace, Elu.apply, input, alpha, 1.0, 1.0)


def selu(input, inplace=False):
    return _maybe_inplace("selu", inplace, Elu.apply, input, _SELU_ALPHA, _SELU_SCALE, 1.0)


def celu(input, alpha=1.0, inplace=False):
    if alpha == 0:
        raise RuntimeError("celu: ZeroDivisionError (alpha must not be 0)")
    return _maybe_inplace("celu", inplace, Elu.apply, input, alpha, 1.0, 1.0 / alpha)


def gelu(input, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return Gelu.apply(input, approximate)


def silu(input, inplace=False):
    return _maybe_inplace("silu", inplace, Silu.apply, input)


def mish(input, inplace=False):
    return _maybe_inplace("mish", inplace, Mish.apply, input)


def hardsigmoid(input, inplace=False):
    return _maybe_inplace("hardsigmoid", inplace, Hardsigmoid.apply, input)


def hardswish(input, inplace=False):
    return _maybe_inplace("hardswish", inplace, Hardswish.apply, input)


def softplus(input, beta=1.0, threshold=20.0):
    return Softplus.apply(input, beta, threshold)


def softsign(input):
    return input / (input.abs() + 1)


def tanhshrink(input):
    return input - tanh(input)


def logsigmoid(input):
    return Logsigmoid.apply(input)


def softshrink(input, lambd=0.5):
    if lambd < 0:
        raise RuntimeError(f"softshrink: lambda must be greater or equal to 0, but found to be "
                           f"{lambd}.")
    return Softshrink.apply(input, lambd)


def hardshrink(input, lambd=0.5):
    return Hardshrink.apply(input, lambd)


def prelu(input, weight):
    """x if x > 0 else weight * x, with weight (1 or C values) applied along dim 1."""
    channels = input.shape[1] if input.ndim >= 2 else 1
    n = weight.numel()
    if weight.dtype is not input.dtype:
        raise RuntimeError(f"prelu: weight dtype {weight.dtype.name} must match the input dtype "
                           f"{input.dtype.name}")
    if n != 1 and n != channels:
        raise RuntimeError(f"prelu: mismatch of parameter numbers and input channel size. Found "
                           f"parameter numbers = {n} and channel size = {channels}.")
    if n == channels and n != 1 and input.ndim > 2:
        weight = weight.reshape((n,) + (1,) * (input.ndim - 2))
    elif n == 1 and weight.ndim > input.ndim:
        weight = weight.reshape(())
    return Prelu.apply(input, weight)


def glu(input, dim=-1):
    """a * sigmoid(b), where a and b are the two halves of input along dim."""
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    from .shape import chunk
    d = dim % input.ndim if -input.ndim <= dim < input.ndim else dim
    size = input.shape[d] if isinstance(d, int) and 0 <= d < input.ndim else None
    if size is None:
        raise IndexError(f"glu: dimension out of range (expected to be in range of "
                         f"[{-input.ndim}, {input.ndim - 1}], but got {dim})")
    if size % 2:
        raise RuntimeError(f"glu: halving dimension must be even, but dimension {d} is size "
                           f"{size}")
    a, b = chunk(input, 2, d)
    return a * sigmoid(b)


ALL = ["relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "mish", "hardtanh",
             "hardsigmoid", "hardswish", "softplus", "softsign", "prelu", "threshold",
             "logsigmoid", "tanhshrink", "softshrink", "hardshrink", "glu", "rrelu"]
# exported as kindling.<name> only where torch has it there too (all are in nn.functional)
FUNCTIONS = ["selu", "celu", "prelu", "threshold", "hardshrink", "rrelu"]
METHODS = {"prelu": prelu, "hardshrink": hardshrink}
