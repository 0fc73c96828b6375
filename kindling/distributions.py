"""torch.distributions, the common part: Normal, Bernoulli, Categorical and Uniform, with
sample / rsample (reparameterized, so gradients reach the parameters: VAEs), log_prob (policy
gradients, likelihoods), entropy, mean, variance, cdf / icdf where defined, and
kl_divergence between two of the same family (register_kl adds pairs).

Parameters are checked as PyTorch checks them by default (a ValueError naming the constraint),
and `validate_args=False` skips the checks.
"""
import math

import numpy as np

from . import creation
from .engine.grad_mode import no_grad
from .engine.tensor import Tensor, Size
from .ops import elementwise as E

__all__ = ["Distribution", "Normal", "Bernoulli", "Categorical", "Uniform", "kl_divergence",
           "register_kl"]

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def _as_tensor(*values):
    """Numbers become tensors of the default float dtype; tensors are broadcast together."""
    ts = [v if isinstance(v, Tensor) else creation.tensor(float(v)) for v in values]
    shape = np.broadcast_shapes(*(tuple(t.shape) for t in ts))
    return [t.expand(*shape) if tuple(t.shape) != shape else t for t in ts]


def _extended(sample_shape, batch_shape, event_shape=()):
    return tuple(Size(sample_shape)) + tuple(batch_shape) + tuple(event_shape)


class Distribution:
    has_rsample = False

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape, self._event_shape = Size(batch_shape), Size(event_shape)
        self._validate_args = True if validate_args is None else bool(validate_args)

    @property
    def batch_shape(self):
        return self._batch_shape

    @property
    def event_shape(self):
        return self._event_shape

    @property
    def stddev(self):
        return self.variance.sqrt()

    def sample(self, sample_shape=()):
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()):
        raise NotImplementedError(f"{type(self).__name__} has no reparameterized sampler "
                                  f"(rsample); use sample()")

    def _check(self, name, value, ok, constraint):
        if self._validate_args and not bool(np.all(ok)):
            raise ValueError(f"Expected parameter {name} ({type(value).__name__} of shape "
                             f"{tuple(value.shape)}) of distribution {self!r} to satisfy the "
                             f"constraint {constraint}, but found invalid values:\n{value}")

    def _check_sample(self, value, ok, support):
        """log_prob of a value outside the support: a ValueError, as PyTorch's default."""
        if self._validate_args and not bool(np.all(ok)):
            raise ValueError(f"Expected value argument ({type(value).__name__} of shape "
                             f"{tuple(value.shape)}) to be within the support ({support}) of "
                             f"the distribution {self!r}, but found invalid values:\n{value}")

    def __repr__(self):
        return f"{type(self).__name__}()"


class Normal(Distribution):
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = _as_tensor(loc, scale)
        super().__init__(self.loc.shape, (), validate_args)
        self._check("scale", self.scale, self.scale._array > 0, "GreaterThan(lower_bound=0.0)")

    def __repr__(self):
        return f"Normal(loc: {self.loc.size()}, scale: {self.scale.size()})"

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return self.scale * self.scale

    @property
    def stddev(self):
        return self.scale

    def rsample(self, sample_shape=()):
        eps = creation.randn(_extended(sample_shape, self.batch_shape), dtype=self.loc.dtype)
        return self.loc + eps * self.scale

    def log_prob(self, value):
        z = (value - self.loc) / self.scale
        return -0.5 * z * z - self.scale.log() - _LOG_SQRT_2PI

    def entropy(self):
        return 0.5 + _LOG_SQRT_2PI + self.scale.log()

    def cdf(self, value):
        return 0.5 * (1 + E.erf((value - self.loc) / (self.scale * math.sqrt(2))))

    def icdf(self, value):
        return self.loc + self.scale * E.erfinv(2 * value - 1) * math.sqrt(2)


class Uniform(Distribution):
    has_rsample = True

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = _as_tensor(low, high)
        super().__init__(self.low.shape, (), validate_args)
        self._check("low", self.low, self.low._array < self.high._array,
                    "LessThan(upper_bound=high)")

    def __repr__(self):
        return f"Uniform(low: {self.low.size()}, high: {self.high.size()})"

    @property
    def mean(self):
        return (self.low + self.high) / 2

    @property
    def variance(self):
        width = self.high - self.low
        return width * width / 12

    def rsample(self, sample_shape=()):
        u = creation.rand(_extended(sample_shape, self.batch_shape), dtype=self.low.dtype)
        return self.low + u * (self.high - self.low)

    def log_prob(self, value):
        inside = (self.low <= value) & (self.high > value)
        self._check_sample(value, inside._array, "Interval(lower_bound=low, upper_bound=high)")
        return inside.to(self.low.dtype).log() - (self.high - self.low).log()

    def entropy(self):
        return (self.high - self.low).log()

    def cdf(self, value):
        return ((value - self.low) / (self.high - self.low)).clamp(0, 1)

    def icdf(self, value):
        return self.low + value * (self.high - self.low)


def _clamp_probs(p):
    eps = float(np.finfo(p._array.dtype).eps)
    return p.clamp(eps, 1 - eps)


class Bernoulli(Distribution):
    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        super().__init__((), (), validate_args)
        if probs is not None:
            self.probs, = _as_tensor(probs)
            self._check("probs", self.probs,
                        (self.probs._array >= 0) & (self.probs._array <= 1), "Interval("
                        "lower_bound=0.0, upper_bound=1.0)")
            p = _clamp_probs(self.probs)
            self.logits = p.log() - (-p).log1p()
        else:
            self.logits, = _as_tensor(logits)
            self.probs = self.logits.sigmoid()
        self._batch_shape = Size(self.probs.shape)

    def __repr__(self):
        return f"Bernoulli(probs: {self.probs.size()})"

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        return (self.probs > 0.5).to(self.probs.dtype)

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        with no_grad():
            shape = _extended(sample_shape, self.batch_shape)
            return creation.bernoulli(self.probs.expand(*shape))

    def log_prob(self, value):
        from .nn.functional import binary_cross_entropy_with_logits
        logits, value = _as_tensor(self.logits, value)
        self._check_sample(value, (value._array == 0) | (value._array == 1), "Boolean()")
        return -binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self):
        from .nn.functional import binary_cross_entropy_with_logits
        return binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")


class Categorical(Distribution):
    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        super().__init__((), (), validate_args)
        if probs is not None:
            if probs.dim() < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self._check("probs", probs, (probs._array >= 0).all() and
                        (probs._array.sum(-1) > 0).all(), "Simplex()")
            self.probs = probs / probs.sum(-1, keepdim=True)
            self.logits = _clamp_probs(self.probs).log()
        else:
            if logits.dim() < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - logits.logsumexp(-1, keepdim=True)
            self.probs = self.logits.softmax(-1)
        self._num_events = self.probs.shape[-1]
        self._batch_shape = Size(self.probs.shape[:-1])

    def __repr__(self):
        return f"Categorical(probs: {self.probs.size()})"

    @property
    def mean(self):
        return creation.full(tuple(self.batch_shape), float("nan"), dtype=self.probs.dtype)

    @property
    def variance(self):
        return self.mean

    @property
    def mode(self):
        return self.probs.argmax(-1)

    def sample(self, sample_shape=()):
        with no_grad():
            n = int(np.prod(Size(sample_shape)))                      # 1 for ()
            rows = self.probs.reshape(-1, self._num_events)
            draws = creation.multinomial(rows, n, replacement=True)     # (batch, n)
            return draws.t().reshape(_extended(sample_shape, self.batch_shape))

    def log_prob(self, value):
        from .ops.index import gather
        v = value._array
        self._check_sample(value, (v == np.round(v)) & (v >= 0) & (v < self._num_events),
                           f"IntegerInterval(lower_bound=0, upper_bound={self._num_events - 1})")
        value = value.long()
        shape = np.broadcast_shapes(tuple(value.shape), tuple(self.batch_shape))
        logits = self.logits.expand(*shape, self._num_events)
        return gather(logits, -1, value.expand(*shape).unsqueeze(-1)).squeeze(-1)

    def entropy(self):
        min_real = float(np.finfo(self.logits._array.dtype).min)
        return -(self.logits.clamp(min=min_real) * self.probs).sum(-1)


# --- KL divergence ----------------------------------------------------------------------------
_KL = {}


def register_kl(type_p, type_q):
    """Decorator: `@register_kl(P, Q)` makes fn(p, q) the KL(p || q) of those types."""
    def decorate(fn):
        _KL[type_p, type_q] = fn
        return fn
    return decorate


def kl_divergence(p, q):
    """KL(p || q), elementwise over the batch."""
    for (tp, tq), fn in _KL.items():
        if isinstance(p, tp) and isinstance(q, tq):
            return fn(p, q)
    raise NotImplementedError(f"No KL(p || q) is implemented for p type {type(p).__name__} and "
                              f"q type {type(q).__name__}")


def _infinite_where(t, mask):
    return E.where(mask, float("inf"), t)


def _zero_where(t, mask):
    return E.where(mask, 0.0, t)


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    var_ratio = (p.scale / q.scale) ** 2
    t1 = ((p.loc - q.loc) / q.scale) ** 2
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    t = p.probs * (p.logits - q.logits)
    t = _infinite_where(t, (q.probs == 0).expand(*t.shape))
    t = _zero_where(t, (p.probs == 0).expand(*t.shape))
    return t.sum(-1)


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    from .nn.functional import softplus
    t1 = p.probs * (softplus(-q.logits) - softplus(-p.logits))
    t1 = _zero_where(_infinite_where(t1, q.probs == 0), p.probs == 0)
    t2 = (1 - p.probs) * (softplus(q.logits) - softplus(p.logits))
    t2 = _zero_where(_infinite_where(t2, q.probs == 1), p.probs == 1)
    return t1 + t2


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    result = ((q.high - q.low) / (p.high - p.low)).log()
    return _infinite_where(result, (q.low > p.low) | (q.high < p.high))
