"""unique, unique_consecutive, searchsorted, bucketize, bincount, isin, histc against torch, and
the small dtype helpers (finfo, iinfo, promote_types, can_cast, is_signed)."""
import numpy as np
import pytest
import torch

import kindling as K

RNG = np.random.default_rng(0)


def same(kout, tout):
    kout = kout if isinstance(kout, tuple) else (kout,)
    tout = tout if isinstance(tout, tuple) else (tout,)
    assert len(kout) == len(tout)
    for k, t in zip(kout, tout):
        assert str(k.dtype) == str(t.dtype) and tuple(k.shape) == tuple(t.shape)
        np.testing.assert_array_equal(k.numpy(), t.numpy())


@pytest.mark.parametrize("kw", [{}, {"return_inverse": True}, {"return_counts": True},
                                {"return_inverse": True, "return_counts": True, "dim": 0},
                                {"return_counts": True, "dim": 1}])
def test_unique_matches_torch(kw):
    a = RNG.integers(0, 3, (6, 2))
    same(K.unique(K.tensor(a), **kw), torch.unique(torch.tensor(a), **kw))
    same(K.tensor(a).unique(**kw), torch.tensor(a).unique(**kw))
    if "dim" not in kw:
        f = RNG.integers(0, 4, 10).astype(np.float32) / 2
        same(K.unique(K.tensor(f), **kw), torch.unique(torch.tensor(f), **kw))


@pytest.mark.parametrize("kw", [{}, {"return_inverse": True, "return_counts": True},
                                {"return_counts": True, "dim": 0}])
def test_unique_consecutive_matches_torch(kw):
    a = np.array([[1, 1], [1, 1], [2, 3], [2, 3], [1, 1]])
    arg = a if "dim" in kw else a.reshape(-1)
    same(K.unique_consecutive(K.tensor(arg), **kw), torch.unique_consecutive(torch.tensor(arg),
                                                                              **kw))


@pytest.mark.parametrize("right", [False, True])
def test_searchsorted_and_bucketize_match_torch(right):
    seq = np.array([1.0, 3.0, 3.0, 5.0, 7.0], np.float32)
    vals = np.array([[0.0, 3.0, 6.0], [7.0, 8.0, 3.0]], np.float32)
    same(K.searchsorted(K.tensor(seq), K.tensor(vals), right=right),
         torch.searchsorted(torch.tensor(seq), torch.tensor(vals), right=right))
    same(K.searchsorted(K.tensor(seq), K.tensor(vals), side="right" if right else "left",
                        out_int32=True),
         torch.searchsorted(torch.tensor(seq), torch.tensor(vals),
                            side="right" if right else "left", out_int32=True))
    rows = np.sort(RNG.standard_normal((2, 5)).astype(np.float32), axis=1)     # batched
    same(K.searchsorted(K.tensor(rows), K.tensor(vals), right=right),
         torch.searchsorted(torch.tensor(rows), torch.tensor(vals), right=right))
    same(K.searchsorted(K.tensor(seq), 3.0, right=right),
         torch.searchsorted(torch.tensor(seq), 3.0, right=right))
    same(K.bucketize(K.tensor(vals), K.tensor(seq), right=right),
         torch.bucketize(torch.tensor(vals), torch.tensor(seq), right=right))
    with pytest.raises(RuntimeError, match="first N-1 dimensions"):
        K.searchsorted(K.tensor(rows), K.tensor(vals[:1]))


def test_bincount_isin_histc_match_torch():
    idx = np.array([0, 1, 1, 3, 5])
    for kw in ({}, {"minlength": 8}):
        same(K.bincount(K.tensor(idx), **kw), torch.bincount(torch.tensor(idx), **kw))
    for w in (np.array([0.5, 1, 1, 2, 3], np.float32), np.array([1, 2, 3, 4, 5])):
        same(K.bincount(K.tensor(idx), weights=K.tensor(w)),
             torch.bincount(torch.tensor(idx), weights=torch.tensor(w)))
    with pytest.raises(RuntimeError, match="non-negative"):
        K.bincount(K.tensor([1, -1]))
    a, b = RNG.integers(0, 6, (3, 4)), np.array([1, 4])
    for kw in ({}, {"invert": True}):
        same(K.isin(K.tensor(a), K.tensor(b), **kw), torch.isin(torch.tensor(a), torch.tensor(b),
                                                                 **kw))
    same(K.isin(K.tensor(a), 4), torch.isin(torch.tensor(a), 4))
    x = RNG.standard_normal(50).astype(np.float32)
    for kw in ({"bins": 7}, {"bins": 5, "min": -1, "max": 1}):
        same(K.histc(K.tensor(x), **kw), torch.histc(torch.tensor(x), **kw))


def test_dtype_helpers_match_torch():
    pairs = [(K.float32, torch.float32), (K.float16, torch.float16), (K.float64, torch.float64)]
    for kd, td in pairs:
        kf, tf = K.finfo(kd), torch.finfo(td)
        for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
            assert getattr(kf, attr) == getattr(tf, attr), (kd, attr)
    for kd, td in [(K.int8, torch.int8), (K.uint8, torch.uint8), (K.int64, torch.int64)]:
        ki, ti = K.iinfo(kd), torch.iinfo(td)
        assert (ki.bits, ki.max, ki.min) == (ti.bits, ti.max, ti.min)
    with pytest.raises(TypeError):
        K.iinfo(K.float32)
    names = ["bool", "uint8", "int8", "int32", "int64", "float16", "float32", "float64"]
    for a in names:
        for b in names:
            ka, kb, ta, tb = getattr(K, a), getattr(K, b), getattr(torch, a), getattr(torch, b)
            assert str(K.promote_types(ka, kb)) == str(torch.promote_types(ta, tb)), (a, b)
            assert K.can_cast(ka, kb) == torch.can_cast(ta, tb), (a, b)
    assert K.is_signed(K.tensor([1], dtype=K.uint8)) is False and not K.is_complex(K.zeros(1))
