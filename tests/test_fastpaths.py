"""kindling.ops._fastpaths: each faster spelling gives bit for bit what the NumPy call it replaces
gives, on every dtype, size (around the constant block's length), layout and special value; and
the ops built on them (relu, relu_, clamp, hardtanh, the where-based activations) match torch."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import kindling as K
import kindling.nn.functional as F
from kindling.ops import _fastpaths as fp

SIZES = [0, 1, 7, fp._BLOCK - 1, fp._BLOCK, fp._BLOCK + 1, 3 * fp._BLOCK + 5]
FLOATS = [np.float16, np.float32, np.float64]


def values(n, dtype, seed=0):
    a = (np.random.default_rng(seed).standard_normal(n) * 3).astype(dtype)
    special = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0], dtype)[:n]
    a[:special.size] = special
    return a


def same(x, y):
    """Equal bit patterns (so NaN == NaN and -0.0 != 0.0)."""
    assert x.dtype == y.dtype and x.shape == y.shape
    return np.array_equal(x.view(f"u{x.itemsize}"), y.view(f"u{y.itemsize}"))


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("lo,hi", [(0, None), (None, 1.5), (-1, 1), (0.25, 0.25), (2, -2)])
def test_clamp_is_np_clip(n, dtype, lo, hi):
    a = values(n, dtype)
    expected = np.minimum(np.maximum(a, lo), hi) if lo is not None and hi is not None \
        else np.clip(a, lo, hi)
    assert same(fp.clamp(a, lo, hi), expected)
    b = a.copy()
    assert fp.clamp(b, lo, hi, out=b) is b and same(b, expected)


def test_clamp_other_layouts_and_dtypes():
    a = values(60, np.float32).reshape(6, 10)
    assert same(fp.clamp(a.T, 0), np.maximum(a.T, np.float32(0)))      # not contiguous
    assert same(fp.clamp(a[:, ::3], -1, 1), np.clip(a[:, ::3], -1, 1))
    ints = np.arange(-5, 5, dtype=np.int32)
    assert same(fp.clamp(ints, 0, 3), np.clip(ints, 0, 3))
    scalar = np.array(-2.0, np.float32)                                  # 0-d
    assert same(fp.clamp(scalar, 0), np.maximum(scalar, np.float32(0)))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 3 * 8192 + 9), seed=st.integers(0, 2 ** 16),
       dtype=st.sampled_from(FLOATS + [np.int32, np.int64, np.int8]), scalar=st.booleans())
def test_select_is_np_where(n, seed, dtype, scalar):
    rng = np.random.default_rng(seed)
    a = values(n, dtype, seed) if np.dtype(dtype).kind == "f" else \
        rng.integers(-100, 100, n).astype(dtype)
    cond = rng.random(n) < 0.5
    b = (2 if np.dtype(dtype).kind != "f" else -0.5) if scalar else a[::-1].copy()
    expected = np.where(cond, a, np.asarray(b, dtype))
    assert same(fp.select(cond, a, b), expected)


def test_select_broadcasts_and_falls_back():
    a = values(20, np.float32).reshape(4, 5)
    row = np.array([True, False, True, False, False])
    assert same(fp.select(row, a, a[0]), np.where(row, a, a[0]))        # cond and b broadcast
    assert same(fp.select(a > 0, a.T.copy().T, -a), np.where(a > 0, a, -a))
    wide = fp.select(a > 0, a, np.zeros(5))                              # b float64: promotes
    assert wide.dtype == np.float64 and same(wide, np.where(a > 0, a, np.zeros(5)))
    grown = fp.select(np.ones((2, 4, 5), bool), a, 0.0)                 # cond wider than a
    assert same(grown, np.where(np.ones((2, 4, 5), bool), a, np.float32(0)))


def test_strided_is_as_strided():
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)
    for base in (x, x[1], x[:, :, 2:, :]):        # contiguous, contiguous view, not contiguous
        s = base.strides
        shape, strides = base.shape[:-2] + (3, 3, 2), s[:-2] + (2 * s[-2], 2 * s[-1], s[-1])
        view = fp.strided(base, shape, strides)
        assert not view.flags.writeable
        np.testing.assert_array_equal(view, np.lib.stride_tricks.as_strided(base, shape, strides))
    with pytest.raises(ValueError):              # reaching past the array is refused
        fp.strided(x, (10, 400), (4, 4))


# --- the ops on top -----------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 70, 60), (4, 8192 + 3)], ids=str)
def test_relu_and_relu_into_input_match_torch(shape):
    x = values(int(np.prod(shape)), np.float32).reshape(shape)
    x[np.isnan(x)] = 1.0   # torch and kindling agree on NaN; the gradient check wants finite
    x[np.isinf(x)] = -2.0
    grads = []
    for lib, fn in ((K, F), (torch, torch.nn.functional)):
        a = lib.tensor(x, requires_grad=True)
        h = a * 2
        out = fn.relu(h, inplace=True)
        assert out is h
        plain = fn.relu(a * 2)
        ((h * 3).sum() + plain.sum()).backward()
        grads.append((h.detach().numpy(), a.grad.numpy()))
    np.testing.assert_array_equal(grads[0][0], grads[1][0])
    np.testing.assert_array_equal(grads[0][1], grads[1][1])


def test_relu_into_input_without_grad_and_on_views():
    x = values(12, np.float32).reshape(3, 4)
    t = K.tensor(x)
    version = t._version
    with K.no_grad():
        assert F.relu(t, inplace=True) is t
    assert same(t.numpy(), np.maximum(x, np.float32(0))) and t._version == version + 1
    u = K.tensor(x)
    u[1].relu_()                                  # a view: writes through to the base
    expected = x.copy()
    expected[1] = np.maximum(expected[1], 0)
    assert same(u.numpy(), expected)
    with pytest.raises(RuntimeError, match="read-only broadcast view"):
        K.ones(3).expand(2, 3).relu_()


def test_relu_of_integers_and_bools():
    assert K.relu(K.tensor([-2, 0, 3])).tolist() == [0, 0, 3]
    with pytest.raises(RuntimeError, match="bool"):
        K.relu(K.tensor([True, False]))


@pytest.mark.parametrize("name,kf,tf", [
    ("clamp", lambda x: K.clamp(x, -0.5, 0.7), lambda x: torch.clamp(x, -0.5, 0.7)),
    ("clamp_min", lambda x: K.clamp(x, min=0.1), lambda x: torch.clamp(x, min=0.1)),
    ("hardtanh", F.hardtanh, torch.nn.functional.hardtanh),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2), lambda x: torch.nn.functional.leaky_relu(x, 0.2)),
    ("elu", F.elu, torch.nn.functional.elu),
    ("sigmoid", K.sigmoid, torch.sigmoid),
    ("softplus", F.softplus, torch.nn.functional.softplus),
    ("threshold", lambda x: F.threshold(x, 0.1, -3.0),
     lambda x: torch.nn.functional.threshold(x, 0.1, -3.0)),
    ("hardshrink", F.hardshrink, torch.nn.functional.hardshrink),
    ("softshrink", F.softshrink, torch.nn.functional.softshrink),
], ids=lambda v: v if isinstance(v, str) else "")
def test_ops_on_fast_paths_match_torch_on_special_values(name, kf, tf):
    x = values(3 * fp._BLOCK + 5, np.float32)
    x[5:9] = [30.0, -30.0, 1e-30, -1e-30]
    np.testing.assert_allclose(kf(K.tensor(x)).numpy(), tf(torch.tensor(x)).numpy(),
                               rtol=1e-6, atol=1e-7, equal_nan=True)
