"""RNN/LSTM/GRU layers and cells against PyTorch with weights copied across: every option
combination, packed variable-length batches, initial states, double backward; packing utils."""
import itertools

import numpy as np
import pytest
import torch
import torch.nn as tnn

import kindling
import kindling.nn as nn
from kindling.nn.utils import rnn as R
from kindling.ops.recurrent import recurrent_layer, reference_layer
from oracle import assert_close

RNG = np.random.default_rng(0)


def rand(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def copy(km, tm):
    km.load_state_dict({k: kindling.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})


def run_both(km, tm, x, hx=None, rtol=1e-4, atol=1e-5):
    copy(km, tm)
    xk = kindling.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    hk = ht = None
    if hx is not None:
        if isinstance(hx, tuple):
            hk = tuple(kindling.tensor(h, requires_grad=True) for h in hx)
            ht = tuple(torch.tensor(h, requires_grad=True) for h in hx)
        else:
            hk, ht = kindling.tensor(hx, requires_grad=True), torch.tensor(hx, requires_grad=True)
    out_k, state_k = km(xk, hk)
    out_t, state_t = tm(xt, ht)
    assert_close(out_k, out_t, rtol, atol, "output")
    states_k = state_k if isinstance(state_k, tuple) else (state_k,)
    states_t = state_t if isinstance(state_t, tuple) else (state_t,)
    assert_close(list(states_k), list(states_t), rtol, atol, "state")
    loss_k = (out_k * kindling.tensor(np.cos(np.arange(out_t.numel())).reshape(out_t.shape)
                                      .astype(np.float32))).sum()
    loss_t = (out_t * torch.tensor(np.cos(np.arange(out_t.numel())).reshape(out_t.shape)
                                   .astype(np.float32))).sum()
    for sk, st in zip(states_k, states_t):
        loss_k = loss_k + (sk * sk).sum()
        loss_t = loss_t + (st * st).sum()
    loss_k.backward()
    loss_t.backward()
    assert_close(xk.grad, xt.grad, rtol * 10, atol * 10, "input grad")
    tp = dict(tm.named_parameters())
    for name, p in km.named_parameters():
        assert_close(p.grad, tp[name].grad, rtol * 10, atol * 10, f"grad {name}")
    if hx is not None:
        for a, b in zip(hk if isinstance(hk, tuple) else (hk,), ht if isinstance(ht, tuple) else (ht,)):
            assert_close(a.grad, b.grad, rtol * 10, atol * 10, "hx grad")
    assert repr(km) == repr(tm)


CONFIGS = list(itertools.product(["RNN", "LSTM", "GRU"], [1, 2], [False, True], [False, True],
                                 [True, False]))


@pytest.mark.parametrize("kind,layers,bidir,batch_first,bias", CONFIGS)
def test_recurrent_layers_match_torch(kind, layers, bidir, batch_first, bias):
    torch.manual_seed(0)
    kw = dict(num_layers=layers, bidirectional=bidir, batch_first=batch_first, bias=bias)
    km, tm = getattr(nn, kind)(5, 7, **kw), getattr(tnn, kind)(5, 7, **kw)
    x = rand(3, 6, 5) if batch_first else rand(6, 3, 5)
    run_both(km, tm, x)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_initial_states_relu_and_unbatched(kind):
    torch.manual_seed(1)
    d = 2
    if kind == "LSTM":
        hx = (rand(2 * d, 3, 4), rand(2 * d, 3, 4))
    else:
        hx = rand(2 * d, 3, 4)
    extra = {"nonlinearity": "relu"} if kind == "RNN" else {}
    run_both(getattr(nn, kind)(3, 4, 2, bidirectional=True, **extra),
             getattr(tnn, kind)(3, 4, 2, bidirectional=True, **extra), rand(5, 3, 3), hx)
    run_both(getattr(nn, kind)(3, 4), getattr(tnn, kind)(3, 4), rand(5, 3))  # unbatched


def test_lstm_projection():
    torch.manual_seed(2)
    run_both(nn.LSTM(4, 6, num_layers=2, proj_size=3, bidirectional=True),
             tnn.LSTM(4, 6, num_layers=2, proj_size=3, bidirectional=True), rand(5, 2, 4))


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_packed_sequences_match_torch(kind, enforce_sorted):
    torch.manual_seed(3)
    lengths = [6, 4, 4, 1] if enforce_sorted else [3, 6, 1, 4]
    km = getattr(nn, kind)(3, 5, num_layers=2, bidirectional=True, batch_first=True)
    tm = getattr(tnn, kind)(3, 5, num_layers=2, bidirectional=True, batch_first=True)
    copy(km, tm)
    x = rand(4, 6, 3)
    xk, xt = kindling.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    pk = R.pack_padded_sequence(xk, lengths, batch_first=True, enforce_sorted=enforce_sorted)
    pt = tnn.utils.rnn.pack_padded_sequence(xt, lengths, batch_first=True,
                                             enforce_sorted=enforce_sorted)
    assert_close(pk.data, pt.data)
    assert pk.batch_sizes.tolist() == pt.batch_sizes.tolist()
    out_k, state_k = km(pk)
    out_t, state_t = tm(pt)
    assert_close(out_k.data, out_t.data, 1e-4, 1e-5, "packed output")
    hk = state_k[0] if kind == "LSTM" else state_k
    ht = state_t[0] if kind == "LSTM" else state_t
    assert_close(hk, ht, 1e-4, 1e-5, "h_n")
    padded_k, len_k = R.pad_packed_sequence(out_k, batch_first=True)
    padded_t, len_t = tnn.utils.rnn.pad_packed_sequence(out_t, batch_first=True)
    assert_close(padded_k, padded_t, 1e-4, 1e-5, "padded")
    assert len_k.tolist() == len_t.tolist()
    ((padded_k ** 2).sum() + (hk ** 2).sum()).backward()
    ((padded_t ** 2).sum() + (ht ** 2).sum()).backward()
    assert_close(xk.grad, xt.grad, 1e-3, 1e-4, "input grad")
    tp = dict(tm.named_parameters())
    for name, p in km.named_parameters():
        assert_close(p.grad, tp[name].grad, 1e-3, 1e-4, f"grad {name}")


def test_pad_and_pack_utilities_match_torch():
    seqs = [rand(4, 2), rand(2, 2), rand(3, 2)]
    k = [kindling.tensor(s) for s in seqs]
    t = [torch.tensor(s) for s in seqs]
    assert_close(R.pad_sequence(k), tnn.utils.rnn.pad_sequence(t))
    assert_close(R.pad_sequence(k, batch_first=True, padding_value=-1.0),
                 tnn.utils.rnn.pad_sequence(t, batch_first=True, padding_value=-1.0))
    pk = R.pack_sequence(k, enforce_sorted=False)
    pt = tnn.utils.rnn.pack_sequence(t, enforce_sorted=False)
    assert_close(pk.data, pt.data)
    assert pk.sorted_indices.tolist() == pt.sorted_indices.tolist()
    assert pk.unsorted_indices.tolist() == pt.unsorted_indices.tolist()
    back = R.unpack_sequence(pk)
    for a, b in zip(back, seqs):
        np.testing.assert_array_equal(a.numpy(), b)
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        R.pack_padded_sequence(kindling.zeros(4, 2, 1), [2, 4])


@pytest.mark.parametrize("kind,extra", [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}),
                                        ("LSTMCell", {}), ("GRUCell", {})])
def test_cells_match_torch(kind, extra):
    torch.manual_seed(4)
    km, tm = getattr(nn, kind)(3, 5, **extra), getattr(tnn, kind)(3, 5, **extra)
    copy(km, tm)
    x = rand(2, 3)
    xk, xt = kindling.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    outk, outt = km(xk), tm(xt)
    assert_close(outk if kind != "LSTMCell" else list(outk),
                 outt if kind != "LSTMCell" else list(outt), 1e-5, 1e-6)
    assert repr(km) == repr(tm)
    (outk[0] if kind == "LSTMCell" else outk).sum().backward()
    (outt[0] if kind == "LSTMCell" else outt).sum().backward()
    assert_close(xk.grad, xt.grad, 1e-4, 1e-5)
    assert_close(km.weight_hh.grad, tm.weight_hh.grad, 1e-4, 1e-5)


@pytest.mark.parametrize("mode", ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"])
@pytest.mark.parametrize("masked,reverse", [(False, False), (True, True), (True, False)])
def test_fused_layer_equals_reference_and_gradcheck(mode, masked, reverse):
    g = 4 if mode == "LSTM" else 3 if mode == "GRU" else 1
    H = 2
    args = [rand(3, 2, 2, dtype=np.float64), rand(2, H, dtype=np.float64),
            rand(2, H, dtype=np.float64) if mode == "LSTM" else None,
            rand(g * H, 2, dtype=np.float64) * 0.5, rand(g * H, H, dtype=np.float64) * 0.5,
            rand(g * H, dtype=np.float64), rand(g * H, dtype=np.float64)]
    tensors = [None if a is None else kindling.tensor(a, requires_grad=True) for a in args]
    lengths = np.array([3, 2]) if masked else None

    def fused(*ts):
        full = list(ts[:2]) + [ts[2] if mode == "LSTM" else None] + list(ts[2 + (mode == "LSTM"):])
        return recurrent_layer(*full, None, mode, lengths, reverse)

    def reference(*ts):
        full = list(ts[:2]) + [ts[2] if mode == "LSTM" else None] + list(ts[2 + (mode == "LSTM"):])
        return reference_layer(*full, None, mode, lengths, reverse)

    inputs = tuple(t for t in tensors if t is not None)
    for a, b in zip(fused(*inputs), reference(*inputs)):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert kindling.autograd.gradcheck(fused, inputs)
    if masked and reverse and mode in ("LSTM", "GRU"):  # second order: the slowest check
        def on_x_and_w_ih(x, w_ih):
            args = list(inputs)
            args[0], args[-4] = x, w_ih
            return fused(*args)
        assert kindling.autograd.gradgradcheck(on_x_and_w_ih, (inputs[0], inputs[-4]))


@pytest.mark.parametrize("mode", ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"])
@pytest.mark.parametrize("masked,reverse", [(False, False), (True, True)])
def test_fused_layer_equals_reference_with_projection(mode, masked, reverse):
    # a wider batch of varied lengths, and for LSTM a projection (w_hr), in float64
    g = 4 if mode == "LSTM" else 3 if mode == "GRU" else 1
    B, H, P = 20, 4, 3 if mode == "LSTM" else None
    H_out = P or H
    args = [rand(5, B, 3, dtype=np.float64), rand(B, H_out, dtype=np.float64),
            rand(B, H, dtype=np.float64) if mode == "LSTM" else None,
            rand(g * H, 3, dtype=np.float64) * 0.5, rand(g * H, H_out, dtype=np.float64) * 0.5,
            rand(g * H, dtype=np.float64), rand(g * H, dtype=np.float64),
            rand(P, H, dtype=np.float64) * 0.5 if P else None]
    lengths = RNG.integers(1, 6, B) if masked else None
    results = []
    for layer in (recurrent_layer, reference_layer):
        ts = [None if a is None else kindling.tensor(a, requires_grad=True) for a in args]
        outs = layer(*ts, mode, lengths, reverse)
        sum(((o * o).sum() for o in outs[1:]), (outs[0] ** 3).sum()).backward()
        results.append([o.detach().numpy() for o in outs]
                       + [t.grad.numpy() for t in ts if t is not None])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)


def test_truncated_bptt_by_detaching_state():
    torch.manual_seed(5)
    km, tm = nn.GRU(2, 3), tnn.GRU(2, 3)
    copy(km, tm)
    x = rand(8, 1, 2)
    hk, ht = None, None
    for chunk in range(2):
        part = x[chunk * 4:(chunk + 1) * 4]
        ok, hk = km(kindling.tensor(part), hk)
        ot, ht = tm(torch.tensor(part), ht)
        ok.sum().backward()
        ot.sum().backward()
        hk, ht = hk.detach(), ht.detach()
    assert_close(km.weight_hh_l0.grad, tm.weight_hh_l0.grad, 1e-4, 1e-5)


def test_errors_are_clear():
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size"):
        nn.LSTM(3, 4)(kindling.randn(5, 2, 4))
    with pytest.raises(RuntimeError, match="Expected hidden size"):
        nn.GRU(3, 4)(kindling.randn(5, 2, 3), kindling.zeros(2, 2, 4))
    with pytest.raises(ValueError, match="proj_size"):
        nn.LSTM(3, 4, proj_size=4)
