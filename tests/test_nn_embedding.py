"""Embedding and EmbeddingBag against PyTorch with weights copied: lookups and gradients,
padding_idx, scale_grad_by_freq, max_norm renormalization, from_pretrained; bag modes with
offsets, 2-D input, include_last_offset, per_sample_weights; double backward."""
import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import kindling
import kindling.nn as nn
import kindling.nn.functional as F
from oracle import assert_close

RNG = np.random.default_rng(0)


def copy(km, tm):
    km.load_state_dict({k: kindling.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})


def run_both(km, tm, *inputs, extra=None, rtol=1e-5, atol=1e-6):
    copy(km, tm)
    ks = [kindling.tensor(a) if a is not None else None for a in inputs]
    ts = [torch.tensor(a) if a is not None else None for a in inputs]
    ek = et = None
    if extra is not None:
        ek = kindling.tensor(extra, requires_grad=True)
        et = torch.tensor(extra, requires_grad=True)
        out_k, out_t = km(*ks, per_sample_weights=ek), tm(*ts, per_sample_weights=et)
    else:
        out_k, out_t = km(*ks), tm(*ts)
    assert_close(out_k, out_t, rtol, atol, "output")
    w = RNG.standard_normal(tuple(out_t.shape)).astype(np.float32)
    (out_k * kindling.tensor(w)).sum().backward()
    (out_t * torch.tensor(w)).sum().backward()
    assert_close(km.weight.grad, tm.weight.grad, rtol * 10, atol * 10, "weight grad")
    if extra is not None:
        assert_close(ek.grad, et.grad, rtol * 10, atol * 10, "per_sample_weights grad")
    assert repr(km) == repr(tm)
    return out_k


@pytest.mark.parametrize("kw", [{}, dict(padding_idx=2), dict(padding_idx=-1),
                                dict(scale_grad_by_freq=True),
                                dict(padding_idx=0, scale_grad_by_freq=True)])
@pytest.mark.parametrize("shape", [(), (5,), (2, 3), (2, 2, 3)])
def test_embedding(kw, shape):
    idx = RNG.integers(0, 6, size=shape)
    torch.manual_seed(0)
    run_both(nn.Embedding(6, 4, **kw), tnn.Embedding(6, 4, **kw), idx)


def test_embedding_padding_row():
    e = nn.Embedding(5, 3, padding_idx=1)
    assert np.all(e.weight.detach().numpy()[1] == 0)
    e(kindling.tensor([[1, 1, 2], [0, 1, 4]])).sum().backward()
    g = e.weight.grad.numpy()
    assert np.all(g[1] == 0) and np.all(g[2] == 1) and np.all(g[3] == 0)
    with pytest.raises(AssertionError):
        nn.Embedding(5, 3, padding_idx=5)


@pytest.mark.parametrize("norm_type", [2.0, 1.0])
def test_embedding_max_norm(norm_type):
    torch.manual_seed(0)
    tm = tnn.Embedding(6, 4, max_norm=1.0, norm_type=norm_type)
    km = nn.Embedding(6, 4, max_norm=1.0, norm_type=norm_type)
    idx = np.array([[0, 2, 2], [5, 0, 1]])
    run_both(km, tm, idx)
    # the looked-up rows were renormalized in place, the others were left alone
    assert_close(km.weight.detach(), tm.weight.detach())
    norms = np.linalg.norm(km.weight.detach().numpy(), ord=norm_type, axis=1)
    assert np.all(norms[[0, 1, 2, 5]] <= 1.0 + 1e-5)
    assert np.any(norms[[3, 4]] > 1.0)


def test_embedding_from_pretrained():
    w = RNG.standard_normal((4, 3)).astype(np.float32)
    e = nn.Embedding.from_pretrained(kindling.tensor(w))
    assert not e.weight.requires_grad
    out = e(kindling.tensor([3, 1]))
    np.testing.assert_array_equal(out.numpy(), w[[3, 1]])
    e2 = nn.Embedding.from_pretrained(kindling.tensor(w), freeze=False, padding_idx=0)
    assert e2.weight.requires_grad and e2.padding_idx == 0
    np.testing.assert_array_equal(e2.weight.detach().numpy()[0], w[0])  # not zeroed
    e2(kindling.tensor([0, 2])).sum().backward()
    assert np.all(e2.weight.grad.numpy()[0] == 0) and np.all(e2.weight.grad.numpy()[2] == 1)
    with pytest.raises(AssertionError):
        nn.Embedding.from_pretrained(kindling.tensor(w[0]))
    tm = tnn.Embedding.from_pretrained(torch.tensor(w), padding_idx=0)
    assert repr(nn.Embedding.from_pretrained(kindling.tensor(w), padding_idx=0)) == repr(tm)


def test_embedding_functional_and_errors():
    w = RNG.standard_normal((5, 3))
    idx = np.array([[4, 0], [1, 1]])
    wk, wt = kindling.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    ok = F.embedding(kindling.tensor(idx), wk, padding_idx=1)
    ot = TF.embedding(torch.tensor(idx), wt, padding_idx=1)
    assert_close(ok, ot)
    with pytest.raises(IndexError):
        F.embedding(kindling.tensor([5]), wk)
    with pytest.raises(RuntimeError):
        F.embedding(kindling.tensor([1.0]), wk)


def test_embedding_double_backward():
    w = RNG.standard_normal((5, 3))
    idx = np.array([[4, 0, 4], [1, 1, 2]])
    wk = kindling.tensor(w, requires_grad=True)
    # (padding_idx and scale_grad_by_freq change the gradient on purpose: not gradcheck-able)
    assert kindling.autograd.gradcheck(lambda x: F.embedding(kindling.tensor(idx), x) ** 2, (wk,))
    assert kindling.autograd.gradgradcheck(lambda x: F.embedding(kindling.tensor(idx), x,
                                                                 padding_idx=0) ** 2, (wk,))


def test_embedding_backward_is_fast():
    import time
    e = nn.Embedding(1000, 64)
    idx = kindling.tensor(RNG.integers(0, 1000, size=(64, 128)))
    t = time.perf_counter()
    e(idx).sum().backward()
    assert time.perf_counter() - t < 0.5


# --- EmbeddingBag -------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_bag_offsets(mode, padding_idx):
    inp = np.array([1, 2, 4, 5, 4, 3, 2, 2, 0, 5])
    off = np.array([0, 3, 3, 6, 7])                 # bag 1 is empty; bag 3 is all padding (2)
    torch.manual_seed(0)
    run_both(nn.EmbeddingBag(6, 3, mode=mode, padding_idx=padding_idx),
             tnn.EmbeddingBag(6, 3, mode=mode, padding_idx=padding_idx), inp, off)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_2d_and_last_offset(mode):
    torch.manual_seed(0)
    run_both(nn.EmbeddingBag(7, 4, mode=mode), tnn.EmbeddingBag(7, 4, mode=mode),
             RNG.integers(0, 7, size=(3, 4)))
    torch.manual_seed(0)
    run_both(nn.EmbeddingBag(7, 4, mode=mode, include_last_offset=True),
             tnn.EmbeddingBag(7, 4, mode=mode, include_last_offset=True),
             np.array([1, 2, 4, 5, 4, 3]), np.array([0, 2, 5, 6]))


def test_embedding_bag_per_sample_weights():
    torch.manual_seed(0)
    inp, off = np.array([1, 2, 4, 5, 4, 3]), np.array([0, 2])
    psw = RNG.standard_normal(6).astype(np.float32)
    run_both(nn.EmbeddingBag(6, 3, mode="sum"), tnn.EmbeddingBag(6, 3, mode="sum"), inp, off,
             extra=psw)
    torch.manual_seed(0)
    run_both(nn.EmbeddingBag(6, 3, mode="sum", padding_idx=4),
             tnn.EmbeddingBag(6, 3, mode="sum", padding_idx=4), inp.reshape(2, 3), None,
             extra=psw.reshape(2, 3))
    with pytest.raises(NotImplementedError):
        nn.EmbeddingBag(6, 3)(kindling.tensor(inp), kindling.tensor(off),
                              kindling.tensor(psw))


def test_embedding_bag_max_norm_and_functional():
    w = RNG.standard_normal((6, 3)).astype(np.float32) * 3
    wk = kindling.tensor(w.copy(), requires_grad=True)
    wt = torch.tensor(w.copy(), requires_grad=True)
    inp, off = np.array([1, 2, 4, 5]), np.array([0, 1])
    ok = F.embedding_bag(kindling.tensor(inp), wk, kindling.tensor(off), max_norm=1.0)
    ot = TF.embedding_bag(torch.tensor(inp), wt, torch.tensor(off), max_norm=1.0)
    assert_close(ok, ot, 1e-5, 1e-6)
    assert_close(wk.detach(), wt.detach(), 1e-5, 1e-6)
    with pytest.raises(ValueError):
        F.embedding_bag(kindling.tensor(inp), wk)             # 1-D input needs offsets
    with pytest.raises(ValueError):
        F.embedding_bag(kindling.tensor(inp.reshape(2, 2)), wk, kindling.tensor(off))


def test_embedding_bag_from_pretrained_and_gradcheck():
    w = RNG.standard_normal((5, 3))
    bag = nn.EmbeddingBag.from_pretrained(kindling.tensor(w), mode="sum")
    assert not bag.weight.requires_grad
    np.testing.assert_allclose(bag(kindling.tensor([[0, 1], [2, 2]])).numpy(),
                               np.stack([w[0] + w[1], 2 * w[2]]))
    wk = kindling.tensor(w, requires_grad=True)
    inp, off = kindling.tensor([1, 2, 4, 1, 3]), kindling.tensor([0, 2])
    for mode in ("sum", "mean", "max"):
        assert kindling.autograd.gradcheck(lambda x: F.embedding_bag(inp, x, off, mode=mode),
                                           (wk,))
