"""torch.testing.assert_close, computed with NumPy.

Defaults follow PyTorch: tolerances chosen by dtype (float32 rtol 1.3e-6 / atol 1e-5, float64
1e-7 / 1e-7, float16 1e-3 / 1e-5, exact for integers and bools); shapes must match; dtypes must
match unless check_dtype=False; NaNs compare equal only with equal_nan=True. Inputs may be
tensors, NumPy arrays, Python numbers or (nested) sequences/mappings of them.
"""
import numpy as np

__all__ = ["assert_close"]

_TOLERANCES = {"float16": (1e-3, 1e-5), "float32": (1.3e-6, 1e-5), "float64": (1e-7, 1e-7)}


def _as_array(x):
    from .engine.tensor import Tensor
    if isinstance(x, Tensor):
        return x.detach().numpy(), x.dtype.name
    a = np.asarray(x)
    return a, a.dtype.name


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None,
                 equal_nan=False, check_device=True, check_dtype=True, check_layout=True,
                 check_stride=False, msg=None):
    if (rtol is None) != (atol is None):
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but got "
                         f"no {'rtol' if rtol is None else 'atol'}.")
    if isinstance(actual, dict) and isinstance(expected, dict):
        if actual.keys() != expected.keys():
            raise AssertionError(f"The keys of the mappings do not match: {set(actual)} != "
                                 f"{set(expected)}")
        for k in actual:
            assert_close(actual[k], expected[k], rtol=rtol, atol=atol, equal_nan=equal_nan,
                         check_dtype=check_dtype, msg=msg)
        return
    if isinstance(actual, (list, tuple)) and isinstance(expected, (list, tuple)) and (
            len(actual) != len(expected) or any(not np.isscalar(a) for a in actual)):
        if len(actual) != len(expected):
            raise AssertionError(f"The length of the sequences mismatch: {len(actual)} != "
                                 f"{len(expected)}")
        for a, e in zip(actual, expected):
            assert_close(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan,
                         check_dtype=check_dtype, msg=msg)
        return
    a, a_dtype = _as_array(actual)
    e, e_dtype = _as_array(expected)
    if a.shape != e.shape:
        raise AssertionError(msg or f"The values for attribute 'shape' do not match: "
                                    f"{a.shape} != {e.shape}.")
    if check_dtype and a_dtype != e_dtype:
        raise AssertionError(msg or f"The values for attribute 'dtype' do not match: "
                                    f"torch.{a_dtype} != torch.{e_dtype}.")
    if rtol is None:
        rtol, atol = max(_TOLERANCES.get(a_dtype, (0.0, 0.0)), _TOLERANCES.get(e_dtype, (0.0, 0.0)))
    if a.dtype == np.bool_ or e.dtype == np.bool_:
        a, e = a.astype(np.int64), e.astype(np.int64)
    a64, e64 = a.astype(np.float64), e.astype(np.float64)
    diff = np.abs(a64 - e64)
    ok = diff <= atol + rtol * np.abs(e64)
    ok |= a64 == e64  # equal infinities
    if equal_nan:
        ok |= np.isnan(a64) & np.isnan(e64)
    if ok.all():
        return
    if msg is not None:
        raise AssertionError(msg)
    bad = ~ok
    n_bad, total = int(bad.sum()), bad.size
    finite = np.where(bad & np.isfinite(diff), diff, 0.0)
    worst = np.unravel_index(int(np.argmax(finite)), bad.shape) if bad.ndim else ()
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(bad & np.isfinite(diff), finite / np.abs(e64), 0.0)
        rel = np.where(np.isfinite(rel), rel, 0.0)
    raise AssertionError(
        f"Tensor-likes are not close!\n\nMismatched elements: {n_bad} / {total} "
        f"({100.0 * n_bad / total:.1f}%)\nGreatest absolute difference: {finite.max()} at index "
        f"{tuple(int(i) for i in worst)} (up to {atol} allowed)\nGreatest relative difference: "
        f"{rel.max()} (up to {rtol} allowed)")
