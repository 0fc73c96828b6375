"""torch.special: special functions, under PyTorch's names.

The gamma family (gammaln, digamma / psi, polygamma, multigammaln, gammainc, gammaincc), the
Bessel functions i0, i0e, i1, i1e, the normal distribution's ndtr, ndtri, log_ndtr, the error
functions erf, erfc, erfcx, erfinv, the Hurwitz zeta function, and the numerically careful
elementwise helpers (expit, logit, xlogy, xlog1py, entr, sinc, ...). Each is differentiable where
PyTorch's is; the NumPy kernels evaluate in float64 and return the input's dtype.

    >>> import kindling
    >>> kindling.special.gammaln(kindling.tensor([0.5, 10.0]))
    tensor([ 0.5724, 12.8018])
"""
from .ops.special import (digamma, polygamma, i0, i0e, i1, i1e, erfcx, ndtr, ndtri, log_ndtr,
                          entr, xlog1py, zeta)
from .ops import special as _special_ops
from .ops.elementwise import (erf, erfc, erfinv, sigmoid as _sigmoid, logit, xlogy, sinc, round,
                              exp2, expm1, log1p)
from .ops.reduce import (softmax as _softmax, log_softmax as _log_softmax,
                         logsumexp as _logsumexp)

__all__ = ["gammaln", "digamma", "psi", "polygamma", "multigammaln", "i0", "i0e", "i1", "i1e",
           "gammainc", "gammaincc", "erf", "erfc", "erfcx", "erfinv", "ndtr", "ndtri",
           "log_ndtr", "expit", "logit", "xlogy", "xlog1py", "entr", "sinc", "round", "softmax",
           "log_softmax", "logsumexp", "exp2", "expm1", "log1p", "zeta"]


def gammaln(input):
    """log|Gamma(input)| (torch.lgamma)."""
    return _special_ops.lgamma(input)


psi = digamma


def multigammaln(input, p):
    """The multivariate log-gamma function of dimension p (torch.mvlgamma)."""
    return _special_ops.mvlgamma(input, p)


def gammainc(input, other):
    """The regularized lower incomplete gamma function (torch.igamma)."""
    return _special_ops.igamma(input, other)


def gammaincc(input, other):
    """The regularized upper incomplete gamma function (torch.igammac)."""
    return _special_ops.igammac(input, other)


def expit(input):
    """The logistic sigmoid 1 / (1 + exp(-input))."""
    return _sigmoid(input)


def softmax(input, dim, *, dtype=None):
    return _softmax(input, dim, dtype=dtype)


def log_softmax(input, dim, *, dtype=None):
    return _log_softmax(input, dim, dtype=dtype)


def logsumexp(input, dim, keepdim=False):
    return _logsumexp(input, dim, keepdim=keepdim)
