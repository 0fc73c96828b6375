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


# --- window functions (torch's formulas, evaluated in the window's dtype) --------------------------
def _window(op, window_length, periodic, dtype, requires_grad, device, formula):
    """A length-`window_length` window; periodic windows are the symmetric window one longer,
    without its last point (as torch, for spectral analysis)."""
    check_device(device)
    d = dtypes.as_dtype(dtype) or dtypes.get_default_dtype()
    if not d.is_floating_point:
        raise RuntimeError(f"{op} expects floating point dtypes, got: {d.name}")
    window_length = int(window_length)
    if window_length < 0:
        raise RuntimeError(f"{op} requires non-negative window_length, got "
                           f"window_length={window_length}")
    if window_length <= 1:
        return _finish(np.ones(window_length, dtype=d.np), requires_grad)
    n = window_length + 1 if periodic else window_length
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.asarray(formula(np.arange(n, dtype=d.np), n, d.np.type), dtype=d.np)
    return _finish(np.ascontiguousarray(w[:window_length]), requires_grad)


def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None,
                   layout=None, device=None, requires_grad=False):
    """alpha - beta * cos(2 pi n / (N - 1))."""
    return _window("hamming_window", window_length, periodic, dtype, requires_grad, device,
                   lambda k, n, f: np.cos(k * f(2 * math.pi / (n - 1))) * f(-beta) + f(alpha))


def hann_window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
                requires_grad=False):
    """0.5 - 0.5 * cos(2 pi n / (N - 1)) (torch: hamming_window with alpha = beta = 0.5)."""
    return _window("hann_window", window_length, periodic, dtype, requires_grad, device,
                   lambda k, n, f: np.cos(k * f(2 * math.pi / (n - 1))) * f(-0.5) + f(0.5))


def blackman_window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
                    requires_grad=False):
    """0.42 - 0.5 * cos(2 pi n / (N - 1)) + 0.08 * cos(4 pi n / (N - 1))."""
    def formula(k, n, f):
        w = k * f(math.pi / (n - 1))
        return np.cos(w * f(4)) * f(0.08) - np.cos(w * f(2)) * f(0.5) + f(0.42)
    return _window("blackman_window", window_length, periodic, dtype, requires_grad, device,
                   formula)


def bartlett_window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
                    requires_grad=False):
    """The triangle 1 - |2n / (N - 1) - 1|."""
    def formula(k, n, f):
        w = k * f(2.0 / (n - 1))
        half = ((n - 1) >> 1) + 1
        w[half:] = w[half:] * f(-1) + f(2)
        return w
    return _window("bartlett_window", window_length, periodic, dtype, requires_grad, device,
                   formula)


def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, layout=None,
                  device=None, requires_grad=False):
    """I0(beta * sqrt(1 - ((n - a) / a)**2)) / I0(beta), a = (N - 1) / 2."""
    def formula(k, n, f):
        a = f((n - 1) / 2.0)
        arg = f(beta) * np.sqrt(np.abs(f(1) - ((k - a) / a) ** 2))
        return (np.i0(arg) / np.i0(f(beta))).astype(k.dtype)
    return _window("kaiser_window", window_length, periodic, dtype, requires_grad, device,
                   formula)


# --- index helpers, scalars, asarray ------------------------------------------------------------
def _tri_indices(op, which, row, col, offset, dtype, device):
    check_device(device)
    d = dtypes.as_dtype(dtype) or dtypes.int64
    if d.is_floating_point or d is dtypes.bool:  # NotImplementedError, as torch (a RuntimeError)
        raise NotImplementedError(f"{op}: expected an integer dtype, got {d.name}")
    if row < 0 or col < 0:
        raise RuntimeError(f"{op}: row and col must be non-negative, got row={row}, col={col}")
    rows, cols = which(int(row), int(offset), int(col))
    return _make(np.stack([rows, cols]).astype(d.np).reshape(2, -1))


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The (2, N) coordinates of the lower triangle of a row x col matrix, row by row."""
    return _tri_indices("tril_indices", np.tril_indices, row, col, offset, dtype, device)


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The (2, N) coordinates of the upper triangle of a row x col matrix, row by row."""
    return _tri_indices("triu_indices", np.triu_indices, row, col, offset, dtype, device)


def scalar_tensor(s, *, dtype=None, layout=None, device=None, pin_memory=False,
                  requires_grad=False):
    """A 0-d tensor holding the number s, in the default float dtype unless dtype is given."""
    check_device(device)
    if isinstance(s, Tensor):
        s = s.item()
    return _finish(np.asarray(s, dtype=_dtype_or_default(dtype)), requires_grad)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=None):
    """Convert obj to a tensor, sharing memory with a Tensor or NumPy array when it can.

    copy=None shares when the dtype allows and copies otherwise; copy=True always copies;
    copy=False shares or raises. requires_grad=None (torch's default) keeps a tensor's own
    requires_grad (and its graph); True/False set it on a tensor that shares obj's memory."""
    check_device(device)
    d = dtypes.as_dtype(dtype)
    if isinstance(obj, Tensor):
        if d is None or d is obj.dtype:
            if copy:
                out = _make(obj._array.copy())
            elif requires_grad is None or bool(requires_grad) == obj.requires_grad:
                return obj
            else:
                out = obj.detach()
        elif copy is False:
            raise ValueError(f"asarray: can't alias tensor with dtype '{obj.dtype.name}' into "
                             f"dtype '{d.name}'.")
        else:
            out = _make(obj._array.astype(d.np))
        keep = obj.requires_grad if requires_grad is None else requires_grad
        return out.requires_grad_(True) if keep else out
    if isinstance(obj, (np.ndarray, np.generic)):
        array = np.asarray(obj)
        dtypes.from_numpy_dtype(array.dtype)  # a clear error for unsupported dtypes
        if d is not None and d.np != array.dtype:
            if copy is False:
                raise ValueError(f"asarray: can't alias NumPy array with dtype "
                                 f"'{array.dtype}' into dtype '{d.name}'.")
            array = array.astype(d.np)
        elif copy or isinstance(obj, np.generic):
            array = array.copy()
        return _finish(array, bool(requires_grad))
    if copy is False:
        raise ValueError(f"asarray: can't alias {type(obj).__name__} (an arbitrary sequence or "
                         f"scalar) into a tensor; pass copy=None or True")
    return tensor(obj, dtype=d, requires_grad=bool(requires_grad))


FUNCTIONS = ["tensor", "as_tensor", "from_numpy", "zeros", "ones", "empty", "full",
             "zeros_like", "ones_like", "empty_like", "full_like", "arange", "linspace",
             "logspace", "eye", "rand", "randn", "randint", "randperm", "rand_like",
             "randn_like", "randint_like", "normal", "bernoulli", "multinomial", "poisson",
             "hann_window", "hamming_window", "blackman_window", "bartlett_window",
             "kaiser_window", "tril_indices", "triu_indices", "scalar_tensor", "asarray"]

METHODS = {"uniform_": uniform_, "normal_": normal_, "bernoulli_": bernoulli_,
           "exponential_": exponential_, "random_": random_, "log_normal_": log_normal_,
           "bernoulli": bernoulli, "multinomial": multinomial}
