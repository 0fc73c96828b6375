"""Elementwise arithmetic, math, comparison and logical ops: each forward beside its gradient rule.

Rules return gradients in the output's (broadcast) shape; the engine sums them to each input's
shape. Rules use Tensor ops, so every gradient here can be differentiated again. Masks that
select where a gradient flows (clamp, maximum, abs...) are plain arrays: they are constants of
the gradient, whose own derivative is zero almost everywhere.

The one-input math functions are one table line each (`_unary`): NumPy's forward and the
gradient as a function of (g, x, y), with x the input and y the output.
"""
import math

import numpy as np

from ..engine import dtypes, grad_mode
from ..engine.function import Op
from ..engine.tensor import Tensor, _make
from ._util import operands, shape_error, inplace
from . import _fastpaths, _special

_NUMBER = (int, float, bool, np.generic)


def _binary(op, a, b, name):
    x, y = operands(a, b, name)
    try:
        return op(x, y)
    except ValueError:
        raise shape_error(name, x, y) from None


def _save_pair(ctx, a, b, cross=False):
    """Save the tensor operands of a binary op; Python numbers are kept as they are. With
    `cross`, each operand is saved only when the *other* one requires grad (mul's rule: a's
    gradient reads only b), so an in-place change of an operand that no rule reads is fine."""
    a_t, b_t = isinstance(a, Tensor), isinstance(b, Tensor)
    save_a = a_t and (not cross or (b_t and b._requires_grad))
    save_b = b_t and (not cross or (a_t and a._requires_grad))
    ctx.save_for_backward(a if save_a else None, b if save_b else None)
    ctx.scalars = (None if a_t else a, None if b_t else b)


def _saved_pair(ctx):
    a, b = ctx.saved_tensors
    return (ctx.scalars[0] if a is None else a), (ctx.scalars[1] if b is None else b)


def _default_float():
    return dtypes.get_default_dtype().np


def _float(x):
    """Math functions of integer tensors compute in the default float dtype, as in PyTorch."""
    a = x._array
    if a.dtype.kind == "f":
        return a
    return a.astype(_default_float())


def _float_operands(a, b, name):
    """operands() cast to a floating dtype: integer inputs give the default float dtype."""
    x, y = operands(a, b, name)
    xf = x.dtype.kind == "f" if isinstance(x, np.ndarray) else isinstance(x, float)
    yf = y.dtype.kind == "f" if isinstance(y, np.ndarray) else isinstance(y, float)
    if not (xf or yf):
        d = _default_float()
        x, y = np.asarray(x, dtype=d), np.asarray(y, dtype=d)
    return x, y


def _zeros(g):
    return _make(np.zeros_like(g._array))


def _mask(array, like):
    """A 0/1 array of `like`'s dtype from a bool array, for masking gradients."""
    return _make(array.astype(like._array.dtype))


def _arr(v):
    return v._array if isinstance(v, Tensor) else v


# --- arithmetic -----------------------------------------------------------------------------
class Add(Op):
    @staticmethod
    def forward(ctx, a, b):
        return _binary(np.add, a, b, "add")

    @staticmethod
    def backward(ctx, g):
        return g, g


def _is_bool(v):
    return isinstance(v, bool) or (isinstance(v, Tensor) and v._array.dtype == np.bool_)


class Sub(Op):
    @staticmethod
    def forward(ctx, a, b):
        if _is_bool(a) or _is_bool(b):
            raise RuntimeError("sub: subtraction, the `-` operator, with a bool tensor is not "
                               "supported; use the `^` or `logical_xor()` operator instead")
        x, y = operands(a, b, "sub")
        try:
            return np.subtract(x, y)
        except ValueError:
            raise shape_error("sub", x, y) from None

    @staticmethod
    def backward(ctx, g):
        return g, (-g if ctx.needs_input_grad[1] else None)


class Mul(Op):
    @staticmethod
    def forward(ctx, a, b):
        _save_pair(ctx, a, b, cross=True)
        return _binary(np.multiply, a, b, "mul")

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_pair(ctx)
        return (g * b if ctx.needs_input_grad[0] else None,
                g * a if ctx.needs_input_grad[1] else None)


class Div(Op):
    @staticmethod
    def forward(ctx, a, b):
        b_grad = isinstance(b, Tensor) and b._requires_grad
        _save_pair(ctx, a if b_grad or not isinstance(a, Tensor) else None, b)
        x, y = _float_operands(a, b, "div")
        try:
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.true_divide(x, y)
        except ValueError:
            raise shape_error("div", x, y) from None

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_pair(ctx)
        ga = g / b if ctx.needs_input_grad[0] else None
        gb = -g * a / (b * b) if ctx.needs_input_grad[1] else None
        return ga, gb


def _int_zero_check(y, name):
    if isinstance(y, np.ndarray) and y.dtype.kind in "iub" and not np.all(y):
        raise RuntimeError(f"{name}: ZeroDivisionError (integer division by zero)")
    if not isinstance(y, np.ndarray) and isinstance(y, (int, np.integer)) and y == 0:
        raise RuntimeError(f"{name}: ZeroDivisionError (integer division by zero)")


def _no_bool(x, y, name):
    if np.result_type(x, y) == np.bool_:
        raise RuntimeError(f"{name}: not implemented for bool tensors")


class RoundedDiv(Op):
    """div(a, b, rounding_mode='trunc' | 'floor'): piecewise constant, so zero gradients."""

    @staticmethod
    def forward(ctx, a, b, mode):
        name = f"div(rounding_mode={mode!r})"
        x, y = operands(a, b, name)
        _no_bool(x, y, name)
        integer = np.result_type(x, y).kind in "iub"
        try:
            if integer:
                _int_zero_check(y, name)
                if mode == "floor":
                    return np.floor_divide(x, y)
                return np.floor_divide(np.subtract(x, np.fmod(x, y)), y)  # exact: C truncation
            with np.errstate(divide="ignore", invalid="ignore"):
                if mode == "floor":
                    return np.floor_divide(x, y)
                return np.trunc(np.true_divide(x, y))
        except ValueError:
            raise shape_error(name, x, y) from None

    @staticmethod
    def backward(ctx, g):
        zero = _zeros(g)
        return zero, zero, None


class FloorDivide(RoundedDiv):
    """floor_divide: div(rounding_mode='floor'), but, as in PyTorch, with no derivative."""

    @staticmethod
    def forward(ctx, a, b):
        return RoundedDiv.forward(ctx, a, b, "floor")

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("derivative for aten::floor_divide is not implemented (use "
                           "torch.div(a, b, rounding_mode='floor'), whose gradient is zero)")


def _modulo(ctx, a, b, np_op, name):
    _save_pair(ctx, a, b)
    x, y = operands(a, b, name)
    _no_bool(x, y, name)
    if np.result_type(x, y).kind in "iub":
        _int_zero_check(y, name)
    try:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np_op(x, y)
    except ValueError:
        raise shape_error(name, x, y) from None


def _modulo_backward(ctx, g, rounding_mode):
    """a - b * round(a / b): d/da = 1, d/db = -round(a / b)."""
    a, b = _saved_pair(ctx)
    gb = None
    if ctx.needs_input_grad[1]:
        gb = -g * div(a, b, rounding_mode=rounding_mode)
    return g, gb


class Remainder(Op):
    """Python's %: the result has the sign of the divisor (PyTorch's remainder)."""

    @staticmethod
    def forward(ctx, a, b):
        return _modulo(ctx, a, b, np.remainder, "remainder")

    @staticmethod
    def backward(ctx, g):
        return _modulo_backward(ctx, g, "floor")


class Fmod(Op):
    """C's fmod: the result has the sign of the dividend."""

    @staticmethod
    def forward(ctx, a, b):
        return _modulo(ctx, a, b, np.fmod, "fmod")

    @staticmethod
    def backward(ctx, g):
        return _modulo_backward(ctx, g, "trunc")


class Neg(Op):
    @staticmethod
    def forward(ctx, x):
        if x._array.dtype == np.bool_:
            raise RuntimeError("neg: negation, the `-` operator, on a bool tensor is not "
                               "supported; use the `~` or `logical_not()` operator instead")
        return np.negative(x._array)

    @staticmethod
    def backward(ctx, g):
        return -g


class Pow(Op):
    saves_output = True

    @staticmethod
    def forward(ctx, a, b):
        _save_pair(ctx, a, b)
        x, y = operands(a, b, "pow")
        kind = np.result_type(x, y).kind
        try:
            if kind == "b":
                if isinstance(y, np.ndarray):
                    raise RuntimeError("pow: not implemented for bool tensors")
                return x.copy() if y else np.ones(x.shape, dtype=bool)
            if kind in "iu":
                if not isinstance(y, np.ndarray):
                    if y < 0:
                        raise RuntimeError("pow: integers to negative integer powers are not "
                                           "allowed")
                    return np.power(x, y)
                negative = y < 0
                if negative.any():
                    # PyTorch's integer pow: 1 ** -n = 1, (-1) ** -n = +-1, otherwise 0
                    out = np.power(x, np.where(negative, 0, y))
                    odd = np.where(y % 2 == 0, 1, -1)
                    special = np.where(x == 1, 1, np.where(x == -1, odd, 0))
                    return np.where(negative, special, out).astype(out.dtype, copy=False)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                if type(y) is float and y in (0.5, -0.5) and isinstance(x, np.ndarray):
                    # PyTorch runs these as sqrt and rsqrt (so does the gradient's x ** -0.5):
                    # -0.0 ** 0.5 is -0.0, -inf ** -0.5 is NaN there, unlike C's pow
                    return np.sqrt(x) if y > 0 else np.reciprocal(np.sqrt(x))
                return np.power(x, y)
        except ValueError:
            raise shape_error("pow", x, y) from None

    @staticmethod
    def backward(ctx, g):
        base, exponent = _saved_pair(ctx)
        with np.errstate(divide="ignore", invalid="ignore"):  # 0 * inf at a == 0, masked below
            return Pow._grads(ctx, g, base, exponent)

    @staticmethod
    def _grads(ctx, g, base, exponent):
        ga = gb = None
        if ctx.needs_input_grad[0]:
            if isinstance(exponent, Tensor):
                d = exponent * pow(base, exponent - 1)
                # d/da a**0 is 0, even at a == 0 where the formula gives 0 * inf
                ga = g * where(exponent == 0, _zeros(d), d)
            elif exponent == 0:
                ga = _zeros(g)
            else:
                ga = g * (exponent * pow(base, exponent - 1))
        if ctx.needs_input_grad[1]:
            # d/db a**b = a**b * log(a), taken as 0 where a == 0 and b >= 0 (PyTorch's convention)
            out = ctx.output
            if isinstance(base, Tensor):
                zero = (base._array == 0) & (_arr(exponent) >= 0)
                safe = where(_make(zero), _make(np.ones((), base._array.dtype)), base)
                gb = g * where(_make(zero), _zeros(out), out * log(safe))
            elif base == 0:
                gb = g * where(exponent >= 0, _zeros(out), out * -math.inf)
            else:
                gb = g * (out * (math.log(base) if base > 0 else math.nan))
        return ga, gb


# --- one-input math: (name, forward, gradient rule, what the rule reads) ----------------------
def _unary(name, fn, grad, reads="x", floating=True, errors=True):
    """An Op computing fn(array) elementwise; `grad(g, x, y)` gives the input's gradient from
    the output gradient g, the input x and the output y. `reads` says which of x / y the rule
    uses, so only those are kept for backward."""
    saves_x, saves_y = "x" in reads, "y" in reads

    def forward(ctx, x):
        if saves_x:
            ctx.save_for_backward(x)
        a = _float(x) if floating else x._array
        if errors:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                return fn(a)
        return fn(a)

    def backward(ctx, g):
        x = ctx.saved_tensors[0] if saves_x else None
        y = ctx.output if saves_y else None
        return grad(g, x, y)

    return type(name, (Op,), {"forward": staticmethod(forward),
                              "backward": staticmethod(backward), "saves_output": saves_y,
                              "__doc__": f"{name}: elementwise, forward beside its gradient."})


_LN2, _LN10 = math.log(2.0), math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_PI_OVER_TWO = math.sqrt(math.pi) / 2.0


def _sign_array(a):
    if a.dtype.kind == "f":  # sign(NaN) is 0 in PyTorch
        return np.subtract(a > 0, a < 0, dtype=a.dtype)
    return a.copy() if a.dtype == np.bool_ else np.sign(a)


def _no_bool_input(fn, name):
    def checked(a):
        if a.dtype == np.bool_:
            raise RuntimeError(f"{name}: not implemented for bool tensors")
        return fn(a)
    return checked


def _round_like(fn, name):
    """floor/ceil/trunc keep integer tensors as they are (a copy), as in PyTorch."""
    return _no_bool_input(lambda a: a.copy() if a.dtype.kind in "iu" else fn(a), name)


Exp = _unary("Exp", np.exp, lambda g, x, y: g * y, reads="y")
Exp2 = _unary("Exp2", np.exp2, lambda g, x, y: g * (y * _LN2), reads="y")
Expm1 = _unary("Expm1", np.expm1, lambda g, x, y: g * (y + 1), reads="y")
Log = _unary("Log", np.log, lambda g, x, y: g / x)
Log2 = _unary("Log2", np.log2, lambda g, x, y: g / (x * _LN2))
Log10 = _unary("Log10", np.log10, lambda g, x, y: g / (x * _LN10))
Log1p = _unary("Log1p", np.log1p, lambda g, x, y: g / (x + 1))
Sqrt = _unary("Sqrt", np.sqrt, lambda g, x, y: g / (y * 2), reads="y")
Rsqrt = _unary("Rsqrt", lambda a: np.reciprocal(np.sqrt(a)),
               lambda g, x, y: g * (y * y * y) * -0.5, reads="y")
Reciprocal = _unary("Reciprocal", np.reciprocal, lambda g, x, y: -g * (y * y), reads="y")
Sin = _unary("Sin", np.sin, lambda g, x, y: g * cos(x))
Cos = _unary("Cos", np.cos, lambda g, x, y: -g * sin(x))
Tan = _unary("Tan", np.tan, lambda g, x, y: g * (y * y + 1), reads="y")
Asin = _unary("Asin", np.arcsin, lambda g, x, y: g * rsqrt(1 - x * x))
Acos = _unary("Acos", np.arccos, lambda g, x, y: -g * rsqrt(1 - x * x))
Atan = _unary("Atan", np.arctan, lambda g, x, y: g / (x * x + 1))
Sinh = _unary("Sinh", np.sinh, lambda g, x, y: g * cosh(x))
Cosh = _unary("Cosh", np.cosh, lambda g, x, y: g * sinh(x))
Asinh = _unary("Asinh", np.arcsinh, lambda g, x, y: g * rsqrt(x * x + 1))
Acosh = _unary("Acosh", np.arccosh, lambda g, x, y: g * rsqrt(x * x - 1))
Atanh = _unary("Atanh", np.arctanh, lambda g, x, y: g / (1 - x * x))
Tanh = _unary("Tanh", np.tanh, lambda g, x, y: g * (1 - y * y), reads="y", errors=False)
Erf = _unary("Erf", _special.erf,
             lambda g, x, y: g * (exp(-(x * x)) * _TWO_OVER_SQRT_PI), errors=False)
Erfc = _unary("Erfc", _special.erfc,
              lambda g, x, y: g * (exp(-(x * x)) * -_TWO_OVER_SQRT_PI), errors=False)
Erfinv = _unary("Erfinv", _special.erfinv,
                lambda g, x, y: g * (exp(y * y) * _SQRT_PI_OVER_TWO), reads="y", errors=False)
Abs = _unary("Abs", _no_bool_input(np.abs, "abs"), lambda g, x, y: g * sign(x), floating=False,
             errors=False)
Sign = _unary("Sign", _sign_array, lambda g, x, y: _zeros(g), reads="", floating=False,
              errors=False)
Square = _unary("Square", lambda a: np.square(a.astype(np.int64) if a.dtype == np.bool_ else a),
                lambda g, x, y: g * (x * 2), floating=False, errors=False)
Floor = _unary("Floor", _round_like(np.floor, "floor"), lambda g, x, y: _zeros(g), reads="",
               floating=False, errors=False)
Ceil = _unary("Ceil", _round_like(np.ceil, "ceil"), lambda g, x, y: _zeros(g), reads="",
              floating=False, errors=False)
Trunc = _unary("Trunc", _round_like(np.trunc, "trunc"), lambda g, x, y: _zeros(g), reads="",
               floating=False, errors=False)
Frac = _unary("Frac", lambda a: a - np.trunc(a), lambda g, x, y: g, reads="", floating=False)


Deg2rad = _unary("Deg2rad", lambda a: a * a.dtype.type(math.pi / 180),
                  lambda g, x, y: g * (math.pi / 180), reads="")
Rad2deg = _unary("Rad2deg", lambda a: a * a.dtype.type(180 / math.pi),
                 lambda g, x, y: g * (180 / math.pi), reads="")


def _sinc_grad(g, x, y):
    # d/dx sin(pi x)/(pi x) = (cos(pi x) - sinc(x)) / x, and 0 at x = 0
    zero = x == 0
    safe = where(zero, 1.0, x)
    return g * where(zero, 0.0, (cos(safe * math.pi) - y) / safe)


Sinc = _unary("Sinc", np.sinc, _sinc_grad, reads="xy", errors=False)


class Logit(Op):
    """log(x / (1 - x)), x first clamped to [eps, 1 - eps] when eps is given (its gradient is
    then 0 outside that range, as in PyTorch)."""

    @staticmethod
    def forward(ctx, x, eps):
        ctx.save_for_backward(x)
        ctx.eps = eps
        a = _float(x)
        if eps is not None:
            a = np.clip(a, a.dtype.type(eps), a.dtype.type(1 - eps))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(a / (1 - a))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        grad = g / (x * (1 - x))
        if ctx.eps is None:  # PyTorch: NaN outside [0, 1]
            return where(_make((x._array < 0) | (x._array > 1)), math.nan, grad), None
        inside = (x >= ctx.eps) & (x <= 1 - ctx.eps)
        return where(inside, grad, 0.0), None


class LogAddExp(Op):
    """log(exp(a) + exp(b)) (base 2 with `two`) without overflow. Each operand's gradient is its
    share of the sum: exp(a - out), or 2^(a - out) in base 2 (the log 2 factors cancel)."""
    saves_output = True

    @staticmethod
    def forward(ctx, a, b, two):
        _save_pair(ctx, a, b)
        ctx.two = two
        name = "logaddexp2" if two else "logaddexp"
        x, y = _float_operands(a, b, name)
        try:
            return np.asarray((np.logaddexp2 if two else np.logaddexp)(x, y))
        except ValueError:
            raise shape_error(name, x, y) from None

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_pair(ctx)
        out = ctx.output
        share = exp2 if ctx.two else exp
        # g / (1 + e^(other - self)): finite where one operand is infinite (PyTorch's form)
        return (g / (share(b - a) + 1) if ctx.needs_input_grad[0] else None,
                g / (share(a - b) + 1) if ctx.needs_input_grad[1] else None, None)


class Copysign(Op):
    """|a| with the sign of b (floating result); gradient sign(a) * sign(result) for a, 0 at
    a = 0, and none for b (PyTorch's rule)."""
    saves_output = True

    @staticmethod
    def forward(ctx, a, b):
        _save_pair(ctx, a, b)
        x, y = _float_operands(a, b, "copysign")
        try:
            return np.asarray(np.copysign(x, y))
        except ValueError:
            raise shape_error("copysign", x, y) from None

    @staticmethod
    def backward(ctx, g):
        a, _ = _saved_pair(ctx)
        if not ctx.needs_input_grad[0]:
            return None, (_zeros(g) if ctx.needs_input_grad[1] else None)
        y = ctx.output
        zero = a == 0
        ratio = where(zero, 0.0, y / where(zero, 1.0, a))               # sign(a) * sign(y)
        return g * ratio, (_zeros(g) if ctx.needs_input_grad[1] else None)


def _no_derivative(name, forward):
    """A binary op PyTorch defines no derivative for: backward through it raises."""
    def backward(ctx, g):
        raise RuntimeError(f"derivative for aten::{name} is not implemented")
    return type(name.capitalize(), (Op,), {
        "forward": staticmethod(forward), "backward": staticmethod(backward),
        "__doc__": f"{name}: elementwise, no derivative (as in PyTorch)."})


def _heaviside(ctx, a, b):
    if a._array.dtype != b._array.dtype:  # PyTorch does not promote here
        raise RuntimeError(f"heaviside is not yet implemented for tensors with different dtypes: "
                           f"{a.dtype.name} and {b.dtype.name}")
    x, y = operands(a, b, "heaviside")
    try:
        return np.asarray(np.heaviside(x, y)).astype(np.result_type(x, y), copy=False)
    except ValueError:
        raise shape_error("heaviside", x, y) from None


class Nextafter(Op):
    """The next float after a toward b. Gradient, as in PyTorch: g for a where a != b (the
    result is a one-ulp step from a), 0 where a == b (the result is b), and 0 for b."""

    @staticmethod
    def forward(ctx, a, b):
        x, y = operands(a, b, "nextafter")
        if np.result_type(x).kind != "f":
            raise RuntimeError(f"nextafter: expected floating point tensors, got "
                               f"{np.result_type(x)}")
        try:
            out = np.asarray(np.nextafter(x, y))
        except ValueError:
            raise shape_error("nextafter", x, y) from None
        ctx.moved = np.not_equal(x, y)
        return out

    @staticmethod
    def backward(ctx, g):
        return g * _mask(ctx.moved, g), (_zeros(g) if ctx.needs_input_grad[1] else None)


def _integer_only(name, np_fn):
    def forward(ctx, a, b):
        x, y = operands(a, b, name)
        if np.result_type(x, y).kind not in "iu":
            raise RuntimeError(f"{name}: expected integer tensors, got "
                               f"{np.result_type(x, y)}")
        try:
            return np.asarray(np_fn(x, y))
        except ValueError:
            raise shape_error(name, x, y) from None
    return forward


Heaviside = _no_derivative("heaviside", _heaviside)
Gcd = _no_derivative("gcd", _integer_only("gcd", np.gcd))
Lcm = _no_derivative("lcm", _integer_only("lcm", np.lcm))


class Sigmoid(Op):
    saves_output = True

    @staticmethod
    def forward(ctx, x):
        a = _float(x)
        if a.ndim == 0:  # NumPy gives scalars for 0-d, which cannot be written in place
            return Sigmoid.forward(ctx, _make(a.reshape(1))).reshape(())
        # exp of -|x| never overflows: stable for logits of any size
        e = np.exp(-np.abs(a))
        r = np.add(e, 1.0)
        np.divide(1.0, r, out=r)  # sigmoid(|x|)
        return _fastpaths.select(a >= 0, r, np.multiply(e, r, out=e))

    @staticmethod
    def backward(ctx, g):
        y = ctx.output
        return g * (y * (1 - y))


class Relu(Op):
    """max(x, 0); `into_input` writes the result over x's own array (relu_: one pass, no copy
    back), which is safe because the graph keeps only the mask of positive outputs."""

    @staticmethod
    def forward(ctx, x, into_input=False):
        a = x._array
        if a.dtype == np.bool_:
            raise RuntimeError("relu: bool inputs are not supported")
        out = a if into_input and a.flags.writeable else None
        out = _fastpaths.clamp(a, 0, out=out) if a.dtype.kind == "f" else np.maximum(a, 0, out=out)
        if ctx.needs_input_grad[0]:
            ctx.mask = ~np.less_equal(out, 0)  # NaN passes its gradient, as in PyTorch
        return out

    @staticmethod
    def backward(ctx, g):
        if not grad_mode.is_grad_enabled():  # first order: one pass, no float copy of the mask
            return _make(np.multiply(g._array, ctx.mask, dtype=g._array.dtype)), None
        return g * _mask(ctx.mask, g), None


class Round(Op):
    @staticmethod
    def forward(ctx, x, decimals):
        a = x._array
        if a.dtype == np.bool_:
            raise RuntimeError("round: not implemented for bool tensors")
        if a.dtype.kind in "iu":
            if decimals != 0:
                raise RuntimeError(f"round: decimals={decimals} is not implemented for "
                                   f"{x.dtype.name} tensors (floating point only)")
            return a.copy()
        if decimals == 0:
            return np.round(a)
        # PyTorch: nearbyint(x * 10**d) / 10**d (d > 0), nearbyint(x / 10**-d) * 10**-d (d < 0)
        if decimals > 0:
            p = 10.0 ** decimals
            return np.round(a * p) / p
        p = 10.0 ** -decimals
        return np.round(a / p) * p

    @staticmethod
    def backward(ctx, g):
        return _zeros(g), None


# --- two-input math ---------------------------------------------------------------------------
class Atan2(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        x, y = _float_operands(a, b, "atan2")
        try:
            return np.arctan2(x, y)
        except ValueError:
            raise shape_error("atan2", x, y) from None

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        r = g / (a * a + b * b)
        return (r * b if ctx.needs_input_grad[0] else None,
                -r * a if ctx.needs_input_grad[1] else None)


class Hypot(Op):
    saves_output = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        x, y = _float_operands(a, b, "hypot")
        try:
            return np.hypot(x, y)
        except ValueError:
            raise shape_error("hypot", x, y) from None

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        r = g / ctx.output
        return (r * a if ctx.needs_input_grad[0] else None,
                r * b if ctx.needs_input_grad[1] else None)


class Xlogy(Op):
    """x * log(y), defined as 0 where x == 0 (unless y is NaN)."""

    @staticmethod
    def forward(ctx, a, b):
        _save_pair(ctx, a, b)
        x, y = _float_operands(a, b, "xlogy")
        rt = np.result_type(x, y)
        x, y = np.asarray(x, dtype=rt), np.asarray(y, dtype=rt)
        try:
            with np.errstate(divide="ignore", invalid="ignore"):
                out = np.multiply(x, np.log(y))
                return np.where((np.asarray(x) == 0) & ~np.isnan(y), 0, out).astype(
                    out.dtype, copy=False)
        except ValueError:
            raise shape_error("xlogy", x, y) from None

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_pair(ctx)
        ga = gb = None
        if ctx.needs_input_grad[0]:
            zero = (a._array == 0) & (np.asarray(_arr(b)) <= 0)
            if isinstance(b, Tensor):
                log_b = log(b)
            else:
                with np.errstate(divide="ignore", invalid="ignore"):
                    log_b = float(np.log(b))
            ga = where(_make(zero), _zeros(g), g * log_b)
        if ctx.needs_input_grad[1]:
            gb = g * a / b
        return ga, gb


class _Extremum(Op):
    """maximum / minimum / fmax / fmin: the gradient goes to the selected input (split in
    half at ties for maximum/minimum, as in PyTorch; all to `input` for fmax/fmin)."""
    name = fn = None

    @classmethod
    def forward(cls, ctx, a, b):
        x, y = operands(a, b, cls.name)
        try:
            out = cls.fn(x, y)
        except ValueError:
            raise shape_error(cls.name, x, y) from None
        if out.dtype.kind == "f":
            ctx.weights = tuple(w.astype(out.dtype, copy=False) for w in cls.weights(x, y))
        return out

    @staticmethod
    def backward(ctx, g):
        w_first, w_second = ctx.weights
        return (g * _make(w_first) if ctx.needs_input_grad[0] else None,
                g * _make(w_second) if ctx.needs_input_grad[1] else None)


class Maximum(_Extremum):
    name, fn = "maximum", staticmethod(np.maximum)

    @staticmethod
    def weights(x, y):  # a NaN gives both operands the whole gradient, as in PyTorch
        tie = np.where(x == y, 0.5, 1.0)
        return np.where(x < y, 0.0, tie), np.where(x > y, 0.0, tie)


class Minimum(_Extremum):
    name, fn = "minimum", staticmethod(np.minimum)

    @staticmethod
    def weights(x, y):
        tie = np.where(x == y, 0.5, 1.0)
        return np.where(x > y, 0.0, tie), np.where(x < y, 0.0, tie)


class Fmax(_Extremum):
    name, fn = "fmax", staticmethod(np.fmax)

    @staticmethod
    def weights(x, y):
        first = (x >= y) | np.isnan(y)
        return first, ~first


class Fmin(_Extremum):
    name, fn = "fmin", staticmethod(np.fmin)

    @staticmethod
    def weights(x, y):
        first = (x <= y) | np.isnan(y)
        return first, ~first


class Clamp(Op):
    """clamp(x, min, max) = minimum(maximum(x, min), max). The gradient passes where
    min <= x <= max (bounds included); a tensor bound gets it where x lies beyond it."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x, lo if isinstance(lo, Tensor) else None,
                              hi if isinstance(hi, Tensor) else None)
        ctx.bounds = (None if isinstance(lo, Tensor) else lo,
                      None if isinstance(hi, Tensor) else hi)
        rt = dtypes.result_type(x, lo, hi).np
        a = x._array if x._array.dtype == rt else x._array.astype(rt)
        if rt.kind == "f" and not isinstance(lo, Tensor) and not isinstance(hi, Tensor) and (
                lo is not None or hi is not None):
            return _fastpaths.clamp(a, lo, hi)
        out = a
        try:
            if lo is not None:
                lv = lo._array.astype(rt, copy=False) if isinstance(lo, Tensor) else lo
                out = np.maximum(out, lv)
            if hi is not None:
                hv = hi._array.astype(rt, copy=False) if isinstance(hi, Tensor) else hi
                out = np.minimum(out, hv)
        except ValueError:
            raise shape_error("clamp", *(v for v in (x, lo, hi) if isinstance(v, Tensor))) \
                from None
        return out.copy() if out is x._array else out

    @staticmethod
    def backward(ctx, g):
        x, lo_t, hi_t = ctx.saved_tensors
        lo = lo_t._array if lo_t is not None else ctx.bounds[0]
        hi = hi_t._array if hi_t is not None else ctx.bounds[1]
        a = x._array
        keep = np.ones(a.shape, dtype=bool)
        if lo is not None:
            keep = keep & (a >= lo)
        if hi is not None:
            keep = keep & (a <= hi)
        gx = g * _mask(keep, g) if ctx.needs_input_grad[0] else None
        glo = g * _mask(a < lo, g) if ctx.needs_input_grad[1] else None
        ghi = g * _mask(a > hi, g) if ctx.needs_input_grad[2] else None
        return gx, glo, ghi


class Lerp(Op):
    """start + weight * (end - start), computed from the nearer end as PyTorch does."""

    @staticmethod
    def forward(ctx, start, end, weight):
        ctx.save_for_backward(start, end, weight if isinstance(weight, Tensor) else None)
        ctx.weight = None if isinstance(weight, Tensor) else weight
        s, e = operands(start, end, "lerp")
        w = weight._array if isinstance(weight, Tensor) else weight
        try:
            diff = e - s
            if isinstance(w, np.ndarray):
                w = w.astype(diff.dtype, copy=False)
                return np.where(np.abs(w) < 0.5, s + w * diff, e - diff * (1 - w))
            return s + w * diff if -0.5 < w < 0.5 else e - diff * (1 - w)
        except ValueError:
            raise shape_error("lerp", start, end, weight) from None

    @staticmethod
    def backward(ctx, g):
        start, end, w_t = ctx.saved_tensors
        w = ctx.weight if w_t is None else w_t
        return (g * (1 - w) if ctx.needs_input_grad[0] else None,
                g * w if ctx.needs_input_grad[1] else None,
                g * (end - start) if ctx.needs_input_grad[2] else None)


class Addcmul(Op):
    @staticmethod
    def forward(ctx, x, t1, t2, value):
        ctx.save_for_backward(t1, t2)
        ctx.value = value
        rt = dtypes.result_type(x, t1, t2).np
        a, b, c = (v._array.astype(rt, copy=False) for v in (x, t1, t2))
        try:
            return a + (value * b) * c if value != 1 else a + b * c
        except ValueError:
            raise shape_error("addcmul", x, t1, t2) from None

    @staticmethod
    def backward(ctx, g):
        t1, t2 = ctx.saved_tensors
        v = ctx.value
        return (g,
                g * (t2 * v) if ctx.needs_input_grad[1] else None,
                g * (t1 * v) if ctx.needs_input_grad[2] else None, None)


class Addcdiv(Op):
    @staticmethod
    def forward(ctx, x, t1, t2, value):
        ctx.save_for_backward(t1, t2)
        ctx.value = value
        rt = dtypes.result_type(x, t1, t2)
        if not rt.is_floating_point:
            raise RuntimeError("addcdiv: integer division with addcdiv is no longer supported; "
                               "use floating point tensors")
        a, b, c = (v._array.astype(rt.np, copy=False) for v in (x, t1, t2))
        try:
            with np.errstate(divide="ignore", invalid="ignore"):
                return a + (value * b) / c if value != 1 else a + b / c
        except ValueError:
            raise shape_error("addcdiv", x, t1, t2) from None

    @staticmethod
    def backward(ctx, g):
        t1, t2 = ctx.saved_tensors
        v = ctx.value
        return (g,
                g * v / t2 if ctx.needs_input_grad[1] else None,
                -g * v * t1 / (t2 * t2) if ctx.needs_input_grad[2] else None, None)


class NanToNum(Op):
    @staticmethod
    def forward(ctx, x, nan, posinf, neginf):
        a = x._array
        if a.dtype.kind != "f":
            return a.copy()
        ctx.finite = np.isfinite(a)
        return np.nan_to_num(a, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, g):
        return g * _mask(ctx.finite, g), None, None, None


# --- comparisons, predicates, logical and bitwise ops (no gradient) ---------------------------
def _compare(np_op, name):
    def compare(input, other):
        x, y = operands(input, other, name)
        try:
            return _make(np.asarray(np_op(x, y)))
        except ValueError:
            raise shape_error(name, x, y) from None
    compare.__name__ = name
    return compare


eq = _compare(np.equal, "eq")
ne = _compare(np.not_equal, "ne")
lt = _compare(np.less, "lt")
le = _compare(np.less_equal, "le")
gt = _compare(np.greater, "gt")
ge = _compare(np.greater_equal, "ge")


def _logical(np_op, name):
    def logical(input, other):
        x, y = _arr(input), _arr(other)
        try:
            return _make(np.asarray(np_op(x, y)))
        except ValueError:
            raise shape_error(name, input, other) from None
    logical.__name__ = name
    return logical


logical_and = _logical(np.logical_and, "logical_and")
logical_or = _logical(np.logical_or, "logical_or")
logical_xor = _logical(np.logical_xor, "logical_xor")


def logical_not(input):
    return _make(np.logical_not(input._array))


def _bitwise(np_op, name):
    def bitwise(input, other):
        x, y = operands(input, other, name)
        for v in (x, y):
            kind = v.dtype.kind if isinstance(v, np.ndarray) else np.asarray(v).dtype.kind
            if kind not in "biu":
                raise RuntimeError(f"{name}: only integer and bool tensors are supported, got "
                                   f"{np.asarray(v).dtype}")
        try:
            return _make(np.asarray(np_op(x, y)))
        except ValueError:
            raise shape_error(name, x, y) from None
    bitwise.__name__ = name
    return bitwise


bitwise_and = _bitwise(np.bitwise_and, "bitwise_and")
bitwise_or = _bitwise(np.bitwise_or, "bitwise_or")
bitwise_xor = _bitwise(np.bitwise_xor, "bitwise_xor")
bitwise_left_shift = _bitwise(np.left_shift, "bitwise_left_shift")
bitwise_right_shift = _bitwise(np.right_shift, "bitwise_right_shift")


def bitwise_not(input):
    a = input._array
    if a.dtype.kind not in "biu":
        raise RuntimeError(f"bitwise_not: only integer and bool tensors are supported, got "
                           f"{input.dtype.name}")
    return _make(np.invert(a))


def isnan(input):
    return _make(np.isnan(input._array))


def isinf(input):
    return _make(np.isinf(input._array))


def isfinite(input):
    return _make(np.isfinite(input._array))


def isposinf(input):
    return _make(np.isposinf(input._array))


def isneginf(input):
    return _make(np.isneginf(input._array))


def isreal(input):
    return _make(np.ones(input._array.shape, dtype=bool))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    if isinstance(other, Tensor) and input.dtype is not other.dtype:
        raise RuntimeError(f"isclose: expected both inputs to have the same dtype, but got "
                           f"{input.dtype.name} and {other.dtype.name}")
    x, y = operands(input, other, "isclose")
    try:
        return _make(np.asarray(np.isclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan)))
    except ValueError:
        raise shape_error("isclose", x, y) from None


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True when every element is close (a Python bool, as in PyTorch)."""
    return bool(isclose(input, other, rtol, atol, equal_nan)._array.all())


def equal(input, other):
    """True when both tensors have the same shape and the same values (a Python bool)."""
    return input._array.shape == other._array.shape and bool(
        np.array_equal(input._array, other._array))


# --- selection --------------------------------------------------------------------------------
class Where(Op):
    @staticmethod
    def forward(ctx, condition, a, b):
        x, y = operands(a, b, "where")
        c = condition._array if isinstance(condition, Tensor) else np.asarray(condition)
        if c.dtype != np.bool_:
            raise RuntimeError(f"where: expected condition to be a bool tensor, got "
                               f"{c.dtype}")
        ctx.condition = c
        try:
            return np.asarray(np.where(c, x, y))
        except ValueError:
            raise shape_error("where", c, x, y) from None

    @staticmethod
    def backward(ctx, g):
        c = _make(ctx.condition)
        zero = _zeros(g)
        return (None,
                where(c, g, zero) if ctx.needs_input_grad[1] else None,
                where(c, zero, g) if ctx.needs_input_grad[2] else None)


# --- public functions ---------------------------------------------------------------------------
def _tensors_only(name, *args):
    for i, a in enumerate(args):
        if not isinstance(a, Tensor):
            raise TypeError(f"{name}(): argument {i} must be a Tensor, not {type(a).__name__}")


def _into(result, out, name):
    """Write `result` into the `out=` tensor (resized if its shape differs, as in PyTorch)."""
    if out is None:
        return result
    if result._requires_grad:
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                           f"differentiation, but one of the arguments requires grad")
    if not np.can_cast(result._array.dtype, out._array.dtype, casting="same_kind"):
        raise RuntimeError(f"{name}(): result type {result.dtype.name} can't be cast to the "
                           f"desired output type {out.dtype.name}")
    if out._array.shape != result._array.shape:
        out._array = np.empty(result._array.shape, out._array.dtype)
    np.copyto(out._array, result._array, casting="same_kind")
    out._vc[0] += 1
    return out


def add(input, other, *, alpha=1, out=None):
    if alpha != 1:
        other = mul(other, alpha)
    return _into(Add.apply(input, other), out, "add")


def sub(input, other, *, alpha=1, out=None):
    if alpha != 1:
        other = mul(other, alpha)
    return _into(Sub.apply(input, other), out, "sub")


def rsub(input, other, *, alpha=1):
    return sub(other, input, alpha=alpha)


def mul(input, other, *, out=None):
    return _into(Mul.apply(input, other), out, "mul")


def div(input, other, *, rounding_mode=None, out=None):
    """input / other. rounding_mode None: true division (integers give the default float dtype);
    'trunc' rounds toward zero and 'floor' toward -inf, keeping integer dtypes (zero gradient)."""
    if rounding_mode is None:
        return _into(Div.apply(input, other), out, "div")
    if rounding_mode not in ("trunc", "floor"):
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                           f"but found '{rounding_mode}'")
    return _into(RoundedDiv.apply(input, other, rounding_mode), out, "div")


def true_divide(input, other):
    return Div.apply(input, other)


def floor_divide(input, other):
    """input // other, rounded toward -inf. Backward through it raises, as in PyTorch."""
    return FloorDivide.apply(input, other)


def remainder(input, other):
    """Python's %: input - floor(input / other) * other, with the sign of other."""
    return Remainder.apply(input, other)


def fmod(input, other):
    """C's fmod: input - trunc(input / other) * other, with the sign of input."""
    return Fmod.apply(input, other)


def neg(input):
    return Neg.apply(input)


def positive(input):
    if input._array.dtype == np.bool_:
        raise RuntimeError("positive: the `+` operator on a bool tensor is not supported")
    return input


def pow(input, exponent):
    """input ** exponent; either may be a number. d/dexponent is taken as 0 where input == 0."""
    return Pow.apply(input, exponent)


def float_power(input, exponent):
    """pow computed in float64, as PyTorch's float_power."""
    if isinstance(input, Tensor):
        input = input.to(dtypes.float64)
    if isinstance(exponent, Tensor):
        exponent = exponent.to(dtypes.float64)
    return Pow.apply(input, float(exponent) if isinstance(exponent, _NUMBER) else exponent)


def square(input):
    return Square.apply(input)


def exp(input):
    return Exp.apply(input)


def exp2(input):
    return Exp2.apply(input)


def expm1(input):
    return Expm1.apply(input)


def log(input):
    return Log.apply(input)


def log2(input):
    return Log2.apply(input)


def log10(input):
    return Log10.apply(input)


def log1p(input):
    return Log1p.apply(input)


def sqrt(input):
    return Sqrt.apply(input)


def rsqrt(input):
    return Rsqrt.apply(input)


def reciprocal(input):
    return Reciprocal.apply(input)


def sin(input):
    return Sin.apply(input)


def cos(input):
    return Cos.apply(input)


def tan(input):
    return Tan.apply(input)


def asin(input):
    return Asin.apply(input)


def acos(input):
    return Acos.apply(input)


def atan(input):
    return Atan.apply(input)


def sinh(input):
    return Sinh.apply(input)


def cosh(input):
    return Cosh.apply(input)


def asinh(input):
    return Asinh.apply(input)


def acosh(input):
    return Acosh.apply(input)


def atanh(input):
    return Atanh.apply(input)


def tanh(input):
    return Tanh.apply(input)


def sigmoid(input):
    return Sigmoid.apply(input)


def relu(input):
    return Relu.apply(input)


def _relu_into_input(input):
    return Relu.apply(input, True)


# relu_: Tensor._apply_inplace hands over the tensor's own array (no copy) and relu writes there
_relu_into_input.inplace_needs_no_copy = True


def erf(input):
    return Erf.apply(input)


def erfc(input):
    return Erfc.apply(input)


def erfinv(input):
    return Erfinv.apply(input)


def abs(input):
    return Abs.apply(input)


def sign(input):
    return Sign.apply(input)


def sgn(input):
    return Sign.apply(input)  # real tensors: sgn is sign


def floor(input):
    return Floor.apply(input)


def ceil(input):
    return Ceil.apply(input)


def trunc(input):
    return Trunc.apply(input)


def round(input, *, decimals=0):
    return Round.apply(input, int(decimals))


def frac(input):
    if input._array.dtype.kind != "f":
        raise RuntimeError(f"frac: not implemented for {input.dtype.name} tensors (floating "
                           f"point only)")
    return Frac.apply(input)


def atan2(input, other):
    _tensors_only("atan2", input, other)
    return Atan2.apply(input, other)


def hypot(input, other):
    _tensors_only("hypot", input, other)
    return Hypot.apply(input, other)


def logaddexp(input, other):
    _tensors_only("logaddexp", input, other)
    return LogAddExp.apply(input, other, False)


def logaddexp2(input, other):
    _tensors_only("logaddexp2", input, other)
    return LogAddExp.apply(input, other, True)


def signbit(input):
    """Whether the sign bit is set (True for -0.0 and negative NaNs too)."""
    a = input._array
    return _make(np.signbit(a) if a.dtype.kind != "u" and a.dtype != np.bool_ else
                 np.zeros(a.shape, dtype=bool))


def deg2rad(input):
    return Deg2rad.apply(input)


def rad2deg(input):
    return Rad2deg.apply(input)


def sinc(input):
    """sin(pi x) / (pi x), 1 at x = 0 (the normalized sinc, as torch.sinc)."""
    return Sinc.apply(input)


def logit(input, eps=None):
    return Logit.apply(input, None if eps is None else float(eps))


def copysign(input, other):
    return Copysign.apply(input, other)


def ldexp(input, other):
    """input * 2 ** other, in a floating dtype (PyTorch computes it this way too)."""
    if not isinstance(other, Tensor):
        other = _make(np.asarray(other))
    scale = pow(2.0, other)
    if scale.dtype != input.dtype and input._array.dtype.kind == "f":
        scale = scale.to(input.dtype)
    return mul(input, scale)


def heaviside(input, values):
    """0 where input < 0, `values` where input == 0, 1 where input > 0; no derivative."""
    _tensors_only("heaviside", input, values)
    return Heaviside.apply(input, values)


def nextafter(input, other):
    return Nextafter.apply(input, other)


def gcd(input, other):
    return Gcd.apply(input, other)


def lcm(input, other):
    return Lcm.apply(input, other)


def xlogy(input, other):
    return Xlogy.apply(input, other)


def maximum(input, other):
    """Elementwise max of two tensors (NaN propagates); ties split the gradient in half."""
    _tensors_only("maximum", input, other)
    return Maximum.apply(input, other)


def minimum(input, other):
    _tensors_only("minimum", input, other)
    return Minimum.apply(input, other)


def fmax(input, other):
    """Elementwise max ignoring NaN; ties send the gradient to input."""
    _tensors_only("fmax", input, other)
    return Fmax.apply(input, other)


def fmin(input, other):
    _tensors_only("fmin", input, other)
    return Fmin.apply(input, other)


def clamp(input, min=None, max=None):
    """minimum(maximum(input, min), max); min / max are numbers or tensors, one may be None.
    The gradient reaches input where min <= input <= max, a tensor bound where it binds."""
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
    return Clamp.apply(input, min, max)


def clamp_min(input, min):
    return Clamp.apply(input, min, None)


def clamp_max(input, max):
    return Clamp.apply(input, None, max)


def lerp(input, end, weight):
    """input + weight * (end - input); weight is a number or a tensor."""
    return Lerp.apply(input, end, weight)


def addcmul(input, tensor1, tensor2, *, value=1):
    return Addcmul.apply(input, tensor1, tensor2, value)


def addcdiv(input, tensor1, tensor2, *, value=1):
    return Addcdiv.apply(input, tensor1, tensor2, value)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """NaN -> nan, +inf -> posinf (dtype max by default), -inf -> neginf (dtype min)."""
    return NanToNum.apply(input, nan, posinf, neginf)


def where(condition, input=None, other=None):
    if input is None and other is None:
        from .index import nonzero
        return nonzero(condition, as_tuple=True)
    return Where.apply(condition, input, other)


# aliases PyTorch also exports
clip = clamp
absolute = abs
negative = neg
multiply = mul
subtract = sub
divide = div
fix = trunc
arcsin, arccos, arctan, arctan2 = asin, acos, atan, atan2
arcsinh, arccosh, arctanh = asinh, acosh, atanh
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne

_ALIASES = ["clip", "absolute", "negative", "multiply", "subtract", "divide", "fix", "arcsin",
            "arccos", "arctan", "arctan2", "arcsinh", "arccosh", "arctanh", "greater",
            "greater_equal", "less", "less_equal", "not_equal"]

# ops that have an in-place `name_` method on Tensor
_INPLACE = ["add", "sub", "mul", "div", "true_divide", "floor_divide", "remainder", "fmod",
            "neg", "pow", "float_power", "square", "exp", "exp2", "expm1", "log", "log2",
            "log10", "log1p", "sqrt", "rsqrt", "reciprocal", "sin", "cos", "tan", "asin",
            "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "tanh", "sigmoid",
            "relu", "erf", "erfc", "erfinv", "abs", "sign", "sgn", "floor", "ceil", "trunc",
            "round", "frac", "atan2", "hypot", "xlogy", "clamp", "clamp_min", "clamp_max",
            "lerp", "addcmul", "addcdiv", "nan_to_num", "eq", "ne", "lt", "le", "gt", "ge",
            "logical_and", "logical_or", "logical_xor", "logical_not", "bitwise_and",
            "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift",
            "bitwise_right_shift", "clip", "absolute", "negative", "multiply", "subtract",
            "divide", "fix", "arcsin", "arccos", "arctan", "arctan2", "arcsinh", "arccosh",
            "arctanh", "greater", "greater_equal", "less", "less_equal", "not_equal",
            "deg2rad", "rad2deg", "sinc", "logit", "copysign", "ldexp", "heaviside",
            "nextafter", "gcd", "lcm"]
_PLAIN_EXTRA = ["logaddexp", "logaddexp2", "signbit"]

_PLAIN = ["rsub", "positive", "maximum", "minimum", "fmax", "fmin", "isnan", "isinf",
          "isfinite", "isposinf", "isneginf", "isreal", "isclose", "allclose", "equal"]

FUNCTIONS = sorted(set(_INPLACE) | set(_PLAIN) | set(_PLAIN_EXTRA) | {"where"})

METHODS = {name: globals()[name] for name in FUNCTIONS if name != "where"}
METHODS.update({name + "_": inplace(globals()[name], name + "_") for name in _INPLACE})
METHODS["relu_"] = inplace(_relu_into_input, "relu_")
METHODS["where"] = lambda self, condition, other: where(condition, self, other)


def _operator(fn, reflected=False):
    """A binary operator method: NumPy arrays act as tensors (as in PyTorch); NotImplemented
    for operands that are neither tensors, arrays nor numbers (so `t == None` is False)."""
    if reflected:
        def method(self, other):
            if isinstance(other, np.ndarray):
                other = _make(other)
            elif not isinstance(other, (Tensor,) + _NUMBER):
                return NotImplemented
            return fn(other, self)
    else:
        def method(self, other):
            if isinstance(other, np.ndarray):
                other = _make(other)
            elif not isinstance(other, (Tensor,) + _NUMBER):
                return NotImplemented
            return fn(self, other)
    return method


for _name, _fn in [("add", add), ("sub", sub), ("mul", mul), ("truediv", div),
                   ("floordiv", floor_divide), ("mod", remainder), ("pow", pow),
                   ("and", bitwise_and), ("or", bitwise_or), ("xor", bitwise_xor),
                   ("lshift", bitwise_left_shift), ("rshift", bitwise_right_shift)]:
    METHODS[f"__{_name}__"] = _operator(_fn)
    METHODS[f"__r{_name}__"] = _operator(_fn, reflected=True)
    METHODS[f"__i{_name}__"] = METHODS[{"truediv": "div", "floordiv": "floor_divide",
                                        "mod": "remainder", "and": "bitwise_and",
                                        "or": "bitwise_or", "xor": "bitwise_xor",
                                        "lshift": "bitwise_left_shift",
                                        "rshift": "bitwise_right_shift"}.get(_name, _name) + "_"]
for _name, _fn in [("eq", eq), ("ne", ne), ("lt", lt), ("le", le), ("gt", gt), ("ge", ge)]:
    METHODS[f"__{_name}__"] = _operator(_fn)
METHODS.update({"__neg__": neg, "__pos__": positive, "__abs__": abs, "__invert__": bitwise_not})
del _name, _fn


# --- frexp ----------------------------------------------------------------------------------------
class Frexp(Op):
    """input = mantissa * 2**exponent, |mantissa| in [0.5, 1); exponent is int32 (as torch)."""

    @staticmethod
    def forward(ctx, x):
        mantissa, exponent = np.frexp(x._array)
        ctx.exponent = exponent
        return mantissa, exponent.astype(np.int32, copy=False)

    @staticmethod
    def backward(ctx, g, _):
        return g / _make(np.ldexp(np.ones((), g._array.dtype), ctx.exponent))


def frexp(input):
    if not isinstance(input, Tensor):
        raise TypeError(f"frexp(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input._array.dtype.kind != "f":
        raise RuntimeError(f"frexp: only supports floating-point dtypes, got {input.dtype.name} "
                           f"(shape {tuple(input.shape)})")
    from .. import return_types
    return return_types.frexp(*Frexp.apply(input))


FUNCTIONS.append("frexp")
METHODS["frexp"] = frexp

# --- torch.exp_(x), torch.relu_(x), ...: the in-place methods called as functions ----------------
# The names of _INPLACE for which torch has a top-level `name_` (checked against torch 2.13).
_TOP_LEVEL_INPLACE = [
    "neg", "square", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt",
    "reciprocal", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh",
    "atanh", "tanh", "sigmoid", "relu", "erf", "erfc", "abs", "floor", "ceil", "trunc", "round",
    "frac", "xlogy", "clamp", "clamp_min", "clamp_max", "nan_to_num", "clip", "negative", "fix",
    "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "deg2rad", "rad2deg", "sinc",
    "logit", "ldexp", "gcd", "lcm"]


def _top_level_inplace(name):
    method = METHODS[name]

    def fn(input, *args, **kwargs):
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}(): argument 'input' must be Tensor, not "
                            f"{type(input).__name__}")
        return method(input, *args, **kwargs)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"In-place {name[:-1]} of `input`: the same as `input.{name}(...)`."
    return fn


for _name in _TOP_LEVEL_INPLACE:
    globals()[_name + "_"] = _top_level_inplace(_name + "_")
    FUNCTIONS.append(_name + "_")
del _name
