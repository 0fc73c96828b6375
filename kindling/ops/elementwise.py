"""Elementwise arithmetic, math and comparison ops: each forward beside its gradient rule.

Rules return gradients in the output's (broadcast) shape; the engine sums them to each input's
shape. Rules use Tensor ops, so every gradient here can be differentiated again.
"""
import numpy as np

from ..engine.function import Op
from ..engine.tensor import Tensor, _make
from ._util import operands, shape_error, inplace


def _binary(op, a, b, name):
    x, y = operands(a, b, name)
    try:
        return op(x, y)
    except ValueError:
        raise shape_error(name, x, y) from None


# --- arithmetic -----------------------------------------------------------------------------
class Add(Op):
    @staticmethod
    def forward(ctx, a, b):
        return _binary(np.add, a, b, "add")

    @staticmethod
    def backward(ctx, g):
        return g, g


class Sub(Op):
    @staticmethod
    def forward(ctx, a, b):
        return _binary(np.subtract, a, b, "sub")

    @staticmethod
    def backward(ctx, g):
        return g, (-g if ctx.needs_input_grad[1] else None)


class Mul(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if isinstance(a, Tensor) else None,
                              b if isinstance(b, Tensor) else None)
        ctx.scalars = (a, b)
        return _binary(np.multiply, a, b, "mul")

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        a = ctx.scalars[0] if a is None else a
        b = ctx.scalars[1] if b is None else b
        return (g * b if ctx.needs_input_grad[0] else None,
                g * a if ctx.needs_input_grad[1] else None)


class Div(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if isinstance(a, Tensor) else None,
                              b if isinstance(b, Tensor) else None)
        ctx.scalars = (a, b)
        x, y = operands(a, b, "div")
        if x.dtype.kind != "f" if isinstance(x, np.ndarray) else not isinstance(x, float):
            # true division of integers gives the default float dtype, as in PyTorch
            from ..engine.dtypes import get_default_dtype
            x = np.asarray(x, dtype=get_default_dtype().np)
        try:
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.true_divide(x, y)
        except ValueError:
            raise shape_error("div", x, y) from None

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        a = ctx.scalars[0] if a is None else a
        b = ctx.scalars[1] if b is None else b
        ga = g / b if ctx.needs_input_grad[0] else None
        gb = -g * a / (b * b) if ctx.needs_input_grad[1] else None
        return ga, gb


class Neg(Op):
    @staticmethod
    def forward(ctx, x):
        return np.negative(x._array)

    @staticmethod
    def backward(ctx, g):
        return -g


class Pow(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if isinstance(a, Tensor) else None,
                              b if isinstance(b, Tensor) else None)
        ctx.scalars = (a, b)
        x, y = operands(a, b, "pow")
        if isinstance(y, np.ndarray) and y.dtype.kind in "iu" and np.any(y < 0):
            raise RuntimeError("pow: integers to negative integer powers are not allowed")
        with np.errstate(divide="ignore", invalid="ignore"):
            try:
                return np.power(x, y)
            except ValueError:
                raise shape_error("pow", x, y) from None

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        base = ctx.scalars[0] if a is None else a
        exponent = ctx.scalars[1] if b is None else b
        ga = gb = None
        if ctx.needs_input_grad[0]:
            if isinstance(exponent, Tensor):
                ga = g * exponent * pow(base, exponent - 1)
            elif exponent == 0:
                ga = g * 0
            else:
                ga = g * exponent * pow(base, exponent - 1)
        if ctx.needs_input_grad[1]:
            out = pow(base, exponent)
            # d/db a**b = a**b * log(a), taken as 0 where a == 0 (PyTorch's convention)
            base_t = base if isinstance(base, Tensor) else _make(np.asarray(base, g._array.dtype))
            safe = where(base_t == 0, 1.0, base_t)
            gb = g * out * log(safe)
        return ga, gb


# --- unary math -------------------------------------------------------------------------------
class Exp(Op):
    saves_output = True

    @staticmethod
    def forward(ctx, x):
        return np.exp(_float(x))

    @staticmethod
    def backward(ctx, g):
        return g * ctx.output


class Log(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(_float(x))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g / x


class Tanh(Op):
    saves_output = True

    @staticmethod
    def forward(ctx, x):
        return np.tanh(_float(x))

    @staticmethod
    def backward(ctx, g):
        y = ctx.output
        return g * (1 - y * y)


class Sigmoid(Op):
    saves_output = True

    @staticmethod
    def forward(ctx, x):
        a = _float(x)
        # exp of -|x| never overflows: stable for logits of any size
        e = np.exp(-np.abs(a))
        return np.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        y = ctx.output
        return g * y * (1 - y)


class Relu(Op):
    @staticmethod
    def forward(ctx, x):
        out = np.maximum(x._array, 0)
        ctx.mask = out > 0
        return out

    @staticmethod
    def backward(ctx, g):
        return g * _make(ctx.mask)


def _float(x):
    """Math functions of integer tensors compute in the default float dtype, as in PyTorch."""
    a = x._array
    if a.dtype.kind == "f":
        return a
    from ..engine.dtypes import get_default_dtype
    return a.astype(get_default_dtype().np)


# --- comparisons and selection (no gradient) ---------------------------------------------------
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
        zero = g * 0
        return (None,
                where(c, g, zero) if ctx.needs_input_grad[1] else None,
                where(c, zero, g) if ctx.needs_input_grad[2] else None)


# --- public functions ---------------------------------------------------------------------------
def add(input, other, *, alpha=1, out=None):
    if alpha != 1:
        other = mul(other, alpha)
    return Add.apply(input, other)


def sub(input, other, *, alpha=1, out=None):
    if alpha != 1:
        other = mul(other, alpha)
    return Sub.apply(input, other)


def mul(input, other, *, out=None):
    return Mul.apply(input, other)


def div(input, other, *, rounding_mode=None, out=None):
    if rounding_mode is None:
        return Div.apply(input, other)
    raise NotImplementedError("div: rounding_mode is added with floor_divide")


def neg(input):
    return Neg.apply(input)


def pow(input, exponent):
    return Pow.apply(input, exponent)


def exp(input):
    return Exp.apply(input)


def log(input):
    return Log.apply(input)


def tanh(input):
    return Tanh.apply(input)


def sigmoid(input):
    return Sigmoid.apply(input)


def relu(input):
    return Relu.apply(input)


def where(condition, input=None, other=None):
    if input is None and other is None:
        from .index import nonzero
        return nonzero(condition, as_tuple=True)
    return Where.apply(condition, input, other)


FUNCTIONS = ["add", "sub", "mul", "div", "neg", "pow", "exp", "log", "tanh", "sigmoid", "relu",
             "where", "eq", "ne", "lt", "le", "gt", "ge"]

METHODS = {
    "add": add, "sub": sub, "mul": mul, "div": div, "neg": neg, "pow": pow, "exp": exp,
    "log": log, "tanh": tanh, "sigmoid": sigmoid, "relu": relu,
    "eq": eq, "ne": ne, "lt": lt, "le": le, "gt": gt, "ge": ge,
    "where": lambda self, condition, other: where(condition, self, other),
    "__add__": add, "__radd__": lambda self, other: add(other, self),
    "__sub__": sub, "__rsub__": lambda self, other: sub(other, self),
    "__mul__": mul, "__rmul__": lambda self, other: mul(other, self),
    "__truediv__": div, "__rtruediv__": lambda self, other: div(other, self),
    "__pow__": pow, "__rpow__": lambda self, other: pow(other, self),
    "__neg__": neg,
    "__eq__": eq, "__ne__": ne, "__lt__": lt, "__le__": le, "__gt__": gt, "__ge__": ge,
    "add_": inplace(add, "add_"), "sub_": inplace(sub, "sub_"), "mul_": inplace(mul, "mul_"),
    "div_": inplace(div, "div_"), "pow_": inplace(pow, "pow_"), "neg_": inplace(neg, "neg_"),
    "exp_": inplace(exp, "exp_"), "log_": inplace(log, "log_"),
    "tanh_": inplace(tanh, "tanh_"), "sigmoid_": inplace(sigmoid, "sigmoid_"),
    "relu_": inplace(relu, "relu_"),
}
