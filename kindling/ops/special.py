"""Special functions of the gamma family and their relatives (lgamma, digamma, polygamma, ...),
each forward beside its gradient; the NumPy kernels live in ops/_special.py.

The kernels evaluate in float64 and return the input's dtype (float32 in, float32 out). The
gradient rules are written in Tensor ops (digamma, polygamma, i0, ...), so they can be
differentiated again. Functions exported as `kindling.<name>` are torch's top-level ones (lgamma,
digamma, polygamma, mvlgamma, i0, igamma, igammac); the others (i0e, i1, i1e, erfcx, ndtr,
ndtri, log_ndtr, entr, xlog1py, zeta) are reached through `kindling.special`.
"""
import math

import numpy as np

from ..engine.function import Op
from ..engine.tensor import Tensor, _make
from ._util import inplace, shape_error
from . import _special
from .elementwise import (_unary, _float, _float_operands, _save_pair, _saved_pair, _zeros,
                          _arr, where, exp, log, log1p, sign)

_SQRT_2PI = math.sqrt(2 * math.pi)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_LOG_PI = math.log(math.pi)


def _tiny_safe(x):
    """(mask |x| > eps, x with eps where it is not): the guard of PyTorch's i1/i1e backward."""
    eps = float(np.finfo(x._array.dtype).eps)
    big = _make(np.abs(x._array) > eps)
    return big, where(big, x, eps)


def _i1_grad(g, x, y):
    # I1'(x) = I0(x) - I1(x)/x, and 1/2 at x = 0
    big, safe = _tiny_safe(x)
    return g * where(big, i0(safe) - y / safe, 0.5)


def _i1e_grad(g, x, y):
    # (e^-|x| I1)' = e^-|x| I0 - e^-|x| I1 (sign(x) + 1/x), and 1/2 at x = 0
    big, safe = _tiny_safe(x)
    return g * where(big, i0e(safe) - y * (sign(safe) + 1 / safe), 0.5)


def _entr(a):
    out = -a * np.log(a)
    out = np.where(a == 0, 0, out)
    return np.where(a < 0, -np.inf, out).astype(a.dtype, copy=False)


Lgamma = _unary("Lgamma", _special.lgamma, lambda g, x, y: g * digamma(x), errors=False)
Digamma = _unary("Digamma", _special.digamma, lambda g, x, y: g * polygamma(1, x), errors=False)
I0 = _unary("I0", _special.i0, lambda g, x, y: g * i1(x), errors=False)
I0e = _unary("I0e", _special.i0e, lambda g, x, y: g * (i1e(x) - sign(x) * y), reads="xy",
             errors=False)
I1 = _unary("I1", _special.i1, _i1_grad, reads="xy", errors=False)
I1e = _unary("I1e", _special.i1e, _i1e_grad, reads="xy", errors=False)
Erfcx = _unary("Erfcx", _special.erfcx,
               lambda g, x, y: g * (2 * x * y - _TWO_OVER_SQRT_PI), reads="xy", errors=False)
Ndtr = _unary("Ndtr", _special.ndtr_accurate,
              lambda g, x, y: g * (exp(x * x * -0.5) * (1 / _SQRT_2PI)), errors=False)
Ndtri = _unary("Ndtri", _special.ndtri,
               lambda g, x, y: g * (exp(y * y * 0.5) * _SQRT_2PI), reads="y", errors=False)
LogNdtr = _unary("LogNdtr", _special.log_ndtr,
                 lambda g, x, y: g * (exp(x * x * -0.5 - y) * (1 / _SQRT_2PI)), reads="xy",
                 errors=False)
Entr = _unary("Entr", _entr, lambda g, x, y: g * -(log(x) + 1))


class Polygamma(Op):
    """polygamma(n, x): the n-th derivative of digamma; its gradient is polygamma(n + 1, x)."""

    @staticmethod
    def forward(ctx, x, n):
        ctx.save_for_backward(x)
        ctx.n = n
        return _special.polygamma(n, _float(x))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * polygamma(ctx.n + 1, x), None


class Mvlgamma(Op):
    """The multivariate log-gamma function of dimension p:
    sum_{i<p} lgamma(x - i/2) + p (p - 1) / 4 log(pi); its gradient is sum_i digamma(x - i/2)."""

    @staticmethod
    def forward(ctx, x, p):
        ctx.save_for_backward(x)
        ctx.p = p
        a = _float(x)
        a64 = a.astype(np.float64)
        out = np.full(a.shape, p * (p - 1) / 4 * _LOG_PI)
        for i in range(p):
            out = out + _special.lgamma(a64 - i / 2)
        return out.astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        total = digamma(x)
        for i in range(1, ctx.p):
            total = total + digamma(x - i / 2)
        return g * total, None


def _binary_float(a, b, name):
    """The arrays of a binary float op, both of the promoted floating dtype (integers give the
    default float dtype), broadcast together; a shape mismatch names the op and the shapes."""
    x, y = _float_operands(a, b, name)
    rt = np.result_type(x, y)
    x, y = np.asarray(x, dtype=rt), np.asarray(y, dtype=rt)
    try:
        return np.broadcast_arrays(x, y)
    except ValueError:
        raise shape_error(name, x, y) from None


def _gamma_density(a, x):
    """d/dx P(a, x) = x^(a-1) e^-x / Gamma(a), as PyTorch writes it: a may be a number."""
    lg = lgamma(a) if isinstance(a, Tensor) else math.lgamma(a)
    return exp((a - 1) * log(x) - x - lg)


class Igamma(Op):
    """The regularized lower incomplete gamma function P(a, x); differentiable in x only (as in
    PyTorch, whose gradient with respect to a is not implemented)."""
    upper = False

    @classmethod
    def _name(cls):
        return "igammac" if cls.upper else "igamma"

    @classmethod
    def forward(cls, ctx, a, x):
        _save_pair(ctx, a, x)
        av, xv = _binary_float(a, x, cls._name())
        return (_special.igammac if cls.upper else _special.igamma)(av, xv)

    @classmethod
    def backward(cls, ctx, g):
        if ctx.needs_input_grad[0]:
            raise NotImplementedError(f"the derivative for '{cls._name()}: input' is not "
                                      f"implemented.")
        a, x = _saved_pair(ctx)
        d = g * _gamma_density(a, x)
        return None, (-d if cls.upper else d)


class Igammac(Igamma):
    """The regularized upper incomplete gamma function Q(a, x) = 1 - P(a, x)."""
    upper = True


class Zeta(Op):
    """The Hurwitz zeta function zeta(s, q) = sum_k (q + k)^-s; differentiable in q
    (d/dq = -s zeta(s + 1, q)) but, as in PyTorch, not in s."""

    @staticmethod
    def forward(ctx, s, q):
        _save_pair(ctx, s, q)
        sv, qv = _binary_float(s, q, "zeta")
        return _special.zeta(sv, qv)

    @staticmethod
    def backward(ctx, g):
        if ctx.needs_input_grad[0]:
            raise NotImplementedError("the derivative for 'zeta' is not implemented.")
        s, q = _saved_pair(ctx)
        return None, -g * s * zeta(s + 1, q)


class Xlog1py(Op):
    """x * log1p(y), defined as 0 where x == 0 (unless y is NaN)."""

    @staticmethod
    def forward(ctx, a, b):
        _save_pair(ctx, a, b)
        x, y = _binary_float(a, b, "xlog1py")
        with np.errstate(divide="ignore", invalid="ignore"):
            out = x * np.log1p(y)
        return np.where((x == 0) & ~np.isnan(y), 0, out).astype(out.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_pair(ctx)
        ga = gb = None
        if ctx.needs_input_grad[0]:
            zero = (a._array == 0) & (np.asarray(_arr(b)) <= -1)
            if isinstance(b, Tensor):
                log_b = log1p(b)
            else:
                with np.errstate(divide="ignore", invalid="ignore"):
                    log_b = float(np.log1p(b))
            ga = where(_make(zero), _zeros(g), g * log_b)
        if ctx.needs_input_grad[1]:
            gb = g * a / (b + 1)
        return ga, gb


def _order(n, name, what="n"):
    if isinstance(n, Tensor):
        n = n.item()
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{name}: expected an int {what}, got {type(n).__name__} {n!r}")
    return int(n)


# --- the functions: torch's top level ---------------------------------------------------------
def lgamma(input):
    """log|Gamma(input)| (+inf at the poles 0, -1, -2, ...)."""
    return Lgamma.apply(input)


def digamma(input):
    """The logarithmic derivative of Gamma; -inf at +0 (+inf at -0), NaN at negative
    integers, as in PyTorch."""
    return Digamma.apply(input)


def polygamma(n, input):
    """The n-th derivative of digamma (n >= 0)."""
    n = _order(n, "polygamma")
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    return Polygamma.apply(input, n)


def mvlgamma(input, p):
    """The multivariate log-gamma function of dimension p (p >= 1), elementwise."""
    p = _order(p, "mvlgamma", "p")
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    return Mvlgamma.apply(input, p)


def i0(input):
    """The modified Bessel function of the first kind of order 0."""
    return I0.apply(input)


def igamma(input, other):
    """The regularized lower incomplete gamma function P(input, other)."""
    return Igamma.apply(input, other)


def igammac(input, other):
    """The regularized upper incomplete gamma function Q(input, other) = 1 - P."""
    return Igammac.apply(input, other)


# --- the rest of torch.special (exported there, by kindling.special) --------------------------
def i0e(input):
    """exp(-|x|) I0(x)."""
    return I0e.apply(input)


def i1(input):
    """The modified Bessel function of the first kind of order 1."""
    return I1.apply(input)


def i1e(input):
    """exp(-|x|) I1(x)."""
    return I1e.apply(input)


def erfcx(input):
    """exp(x^2) erfc(x)."""
    return Erfcx.apply(input)


def ndtr(input):
    """The standard normal CDF."""
    return Ndtr.apply(input)


def ndtri(input):
    """The standard normal quantile function (inverse of ndtr)."""
    return Ndtri.apply(input)


def log_ndtr(input):
    """log of the standard normal CDF, accurate far into the lower tail."""
    return LogNdtr.apply(input)


def entr(input):
    """-x log(x) for x > 0, 0 at 0, -inf for x < 0."""
    return Entr.apply(input)


def xlog1py(input, other):
    """input * log1p(other), 0 where input == 0."""
    return Xlog1py.apply(input, other)


def zeta(input, other):
    """The Hurwitz zeta function zeta(input, other) (torch.special.zeta)."""
    return Zeta.apply(input, other)


_TOP_LEVEL = ["lgamma", "digamma", "polygamma", "mvlgamma", "i0", "igamma", "igammac"]

FUNCTIONS = list(_TOP_LEVEL)

METHODS = {"lgamma": lgamma, "digamma": digamma, "mvlgamma": mvlgamma, "i0": i0,
           "igamma": igamma, "igammac": igammac,
           "polygamma": lambda self, n: polygamma(n, self)}
METHODS["polygamma"].__name__ = "polygamma"
METHODS.update({name + "_": inplace(METHODS[name], name + "_") for name in _TOP_LEVEL})
