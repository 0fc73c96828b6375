"""Making tensors: from data, filled, ranges, and random distributions."""
import math

import numpy as np

from .engine import dtypes
from .engine.device import check_device
from .engine.tensor import Tensor, _make, _to_array, _init
from .ops._util import shape_args
from .random import _np_rng


def _finish(array, requires_grad=False):
    t = _make(array)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _infer_dtype(data):
    if isinstance(data, Tensor):
        return data.dtype
    if isinstance(data, np.ndarray) or isinstance(data, np.generic):
        return dtypes.from_numpy_dtype(data.dtype)
    probe = np.asarray(_first_leaves(data))
    if probe.dtype.kind == "b":
        return dtypes.bool
    if probe.dtype.kind in "iu":
        return dtypes.int64
    if probe.dtype.kind == "f":
        return dtypes.get_default_dtype()
    if probe.size == 0:
        return dtypes.get_default_dtype()
    raise TypeError(f"tensor: can't infer a dtype from data of type {type(data).__name__} "
                    f"(NumPy sees {probe.dtype}); pass numbers, nested lists or an ndarray")


def _first_leaves(data):
    from .engine.tensor import _unwrap_nested
    flat = np.asarray(_unwrap_nested(data), dtype=object).ravel()
    kinds = {np.asarray(v).dtype.kind for v in flat}
    if "f" in kinds:
        return [0.0]
    if kinds & {"i", "u"}:
        return [0]
    if kinds == {"b"}:
        return [True]
    return list(flat[:1]) if flat.size else []


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """Copy `data` (numbers, nested lists, ndarrays, tensors) into a new leaf tensor."""
    check_device(device)
    d = dtypes.as_dtype(dtype) or _infer_dtype(data)
    return _finish(np.array(_to_array(data, d), copy=True), requires_grad)


def as_tensor(data, dtype=None, device=None):
    """Like `tensor`, but shares memory with a tensor or ndarray of the right dtype."""
    check_device(device)
    d = dtypes.as_dtype(dtype)
    if isinstance(data, Tensor):
        return data if d is None or d is data.dtype else data.to(d)
    if isinstance(data, np.ndarray) and (d is None or d.np == data.dtype):
        return _make(data)
    return tensor(data, dtype=d)


def from_numpy(array):
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(array).__name__})")
    dtypes.from_numpy_dtype(array.dtype)  # clear error for unsupported dtypes
    return _make(array)


def _dtype_or_default(dtype):
    return (dtypes.as_dtype(dtype) or dtypes.get_default_dtype()).np


def _filled(fill, size, dtype, requires_grad, device, op):
    check_device(device)
    shape = shape_args(size, op)
    if any(s < 0 for s in shape):
        raise RuntimeError(f"{op}: negative dimension in size {shape}")
    return _finish(np.full(shape, fill, dtype=_dtype_or_default(dtype)), requires_grad)


def zeros(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    return _filled(0, size, dtype, requires_grad, device, "zeros")


def ones(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    return _filled(1, size, dtype, requires_grad, device, "ones")


def empty(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          memory_format=None, pin_memory=False):
    return _filled(0, size, dtype, requires_grad, device, "empty")  # zeroed: never garbage


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None,
         requires_grad=False):
    if dtype is None:
        dtype = dtypes.as_dtype(type(fill_value.item() if isinstance(fill_value, Tensor)
                                     else fill_value))
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    return _filled(fill_value, (size,) if not isinstance(size, (tuple, list)) else size, dtype,
                   requires_grad, device, "full")


def _like(input, dtype):
    return dtypes.as_dtype(dtype) or input.dtype


def zeros_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None):
    return zeros(input.shape, dtype=_like(input, dtype), requires_grad=requires_grad)


def ones_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None):
    return ones(input.shape, dtype=_like(input, dtype), requires_grad=requires_grad)


def empty_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None):
    return zeros(input.shape, dtype=_like(input, dtype), requires_grad=requires_grad)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None):
    return full(input.shape, fill_value, dtype=_like(input, dtype), requires_grad=requires_grad)


def arange(start, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           requires_grad=False):
    check_device(device)
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if vals[2] == 0:
        raise RuntimeError("arange: step must be nonzero")
    if (vals[1] - vals[0]) * vals[2] < 0:
        raise RuntimeError(f"arange: upper bound and larger bound inconsistent with step sign "
                           f"(start={vals[0]}, end={vals[1]}, step={vals[2]})")
    d = dtypes.as_dtype(dtype)
    if d is None:
        d = dtypes.get_default_dtype() if any(isinstance(v, float) for v in vals) \
            else dtypes.int64
    n = max(0, math.ceil((vals[1] - vals[0]) / vals[2]))
    array = (vals[0] + np.arange(n, dtype=np.float64) * vals[2]) if d.is_floating_point \
        else np.arange(vals[0], vals[1], vals[2])
    return _finish(array.astype(d.np), requires_grad)


def linspace(start, end, steps, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False):
    check_device(device)
    return _finish(np.linspace(start, end, int(steps)).astype(_dtype_or_default(dtype)),
                   requires_grad)


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False):
    check_device(device)
    return _finish(np.logspace(start, end, int(steps), base=base).astype(
        _dtype_or_default(dtype)), requires_grad)


def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    check_device(device)
    return _finish(np.eye(n, m, dtype=_dtype_or_default(dtype)), requires_grad)


# --- random -----------------------------------------------------------------------------------
def rand(*size, generator=None, out=None, dtype=None, layout=None, device=None,
         requires_grad=False):
    check_device(device)
    shape = shape_args(size, "rand")
    array = _np_rng(generator).random(shape, dtype=np.float64).astype(_dtype_or_default(dtype))
    return _finish(array, requires_grad)


def randn(*size, generator=None, out=None, dtype=None, layout=None, device=None,
          requires_grad=False):
    check_device(device)
    shape = shape_args(size, "randn")
    array = _np_rng(generator).standard_normal(shape).astype(_dtype_or_default(dtype))
    return _finish(array, requires_grad)


def randint(low, high=None, size=None, *, generator=None, out=None, dtype=None, layout=None,
            device=None, requires_grad=False):
    check_device(device)
    if size is None:  # randint(high, size)
        if not isinstance(high, (tuple, list)):
            raise TypeError("randint: expected a size tuple, e.g. randint(low, high, (n,))")
        low, high, size = 0, low, high
    elif high is None:
        raise TypeError("randint: expected randint(high, size) or randint(low, high, size)")
    if high <= low:
        raise RuntimeError(f"randint: expected low < high, got low={low}, high={high}")
    d = dtypes.as_dtype(dtype) or dtypes.int64
    array = _np_rng(generator).integers(low, high, size=tuple(size)).astype(d.np)
    return _finish(array, requires_grad)


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None,
             requires_grad=False):
    check_device(device)
    d = dtypes.as_dtype(dtype) or dtypes.int64
    return _finish(_np_rng(generator).permutation(int(n)).astype(d.np), requires_grad)


def rand_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None):
    return rand(input.shape, dtype=_like(input, dtype), requires_grad=requires_grad)


def randn_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None):
    return randn(input.shape, dtype=_like(input, dtype), requires_grad=requires_grad)


def randint_like(input, low=0, high=None, *, dtype=None, layout=None, device=None,
                 requires_grad=False, memory_format=None):
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input.shape), dtype=_like(input, dtype))


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None,
           layout=None, device=None, requires_grad=False):
    """normal(mean, std, size) with numbers, or elementwise with tensor mean and/or std."""
    check_device(device)
    rng = _np_rng(generator)
    m = mean._array if isinstance(mean, Tensor) else mean
    s = std._array if isinstance(std, Tensor) else std
    if size is None:
        if not isinstance(mean, Tensor) and not isinstance(std, Tensor):
            raise TypeError("normal: give a size, or a tensor mean or std")
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        d = (mean if isinstance(mean, Tensor) else std).dtype.np
    else:
        shape = shape_args((size,) if isinstance(size, int) else size, "normal")
        d = _dtype_or_default(dtype)
    if np.any(np.asarray(s) < 0):
        raise RuntimeError("normal: expected all elements of std >= 0.0")
    return _finish((m + s * rng.standard_normal(shape)).astype(d), requires_grad)


def bernoulli(input, p=None, *, generator=None, out=None):
    prob = input._array if p is None else np.full(input.shape, p)
    if np.any((prob < 0) | (prob > 1)):
        raise RuntimeError("bernoulli: expected all probabilities to be in [0, 1]")
    return _make((_np_rng(generator).random(prob.shape) < prob).astype(input._array.dtype))


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
    probs = np.asarray(input._array, dtype=np.float64)
    if probs.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got shape "
                           f"{tuple(input.shape)}")
    if np.any(probs < 0) or not np.all(np.isfinite(probs)):
        raise RuntimeError("multinomial: probability tensor contains either inf, nan or "
                           "element < 0")
    rows = probs.reshape(-1, probs.shape[-1])
    rng = _np_rng(generator)
    out = np.empty((rows.shape[0], num_samples), dtype=np.int64)
    for i, row in enumerate(rows):
        total = row.sum()
        if total <= 0:
            raise RuntimeError("multinomial: invalid distribution (sum of probabilities <= 0)")
        if not replacement and num_samples > np.count_nonzero(row):
            raise RuntimeError(f"multinomial: cannot sample n_sample={num_samples} > "
                               f"prob_dist.size(-1)={np.count_nonzero(row)} samples without "
                               f"replacement")
        out[i] = rng.choice(row.shape[0], size=num_samples, replace=replacement, p=row / total)
    return _make(out.reshape(probs.shape[:-1] + (num_samples,)))


def poisson(input, generator=None):
    return _make(_np_rng(generator).poisson(input._array).astype(input._array.dtype))


# --- in-place random fills, used by initializers (always outside the graph) -----------------
def _fill_random(self, op, draw):
    self._check_inplace(op)
    self._array[...] = draw(self._array.shape)
    self._vc[0] += 1
    return self


def uniform_(self, a=0.0, b=1.0, *, generator=None):
    return _fill_random(self, "uniform_", lambda s: _np_rng(generator).uniform(a, b, s))


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    return _fill_random(self, "normal_", lambda s: _np_rng(generator).normal(mean, std, s))


def bernoulli_(self, p=0.5, *, generator=None):
    prob = p._array if isinstance(p, Tensor) else p
    return _fill_random(self, "bernoulli_", lambda s: _np_rng(generator).random(s) < prob)


def exponential_(self, lambd=1.0, *, generator=None):
    return _fill_random(self, "exponential_",
                        lambda s: _np_rng(generator).exponential(1.0 / lambd, s))


def random_(self, low=0, high=None, *, generator=None):
    if high is None:
        low, high = 0, low if low else 2 ** 24
    return _fill_random(self, "random_", lambda s: _np_rng(generator).integers(low, high, s))


def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    return _fill_random(self, "log_normal_",
                        lambda s: _np_rng(generator).lognormal(mean, std, s))


FUNCTIONS = ["tensor", "as_tensor", "from_numpy", "zeros", "ones", "empty", "full",
             "zeros_like", "ones_like", "empty_like", "full_like", "arange", "linspace",
             "logspace", "eye", "rand", "randn", "randint", "randperm", "rand_like",
             "randn_like", "randint_like", "normal", "bernoulli", "multinomial", "poisson"]

METHODS = {"uniform_": uniform_, "normal_": normal_, "bernoulli_": bernoulli_,
           "exponential_": exponential_, "random_": random_, "log_normal_": log_normal_,
           "bernoulli": bernoulli, "multinomial": multinomial}
