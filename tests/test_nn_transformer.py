"""Transformer layers against PyTorch with weights copied: encoder/decoder layers (post- and
pre-norm, relu/gelu/callable, masks, padding masks, batch_first), the stacks, and the full
Transformer, forward and gradients. Compared in train mode with dropout=0.0, which keeps PyTorch
off its inference "fast path" (nested tensors zero the padded positions there)."""
import copy as copymod

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
pytestmark = pytest.mark.filterwarnings("ignore:enable_nested_tensor")


def rand(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def copy(km, tm):
    km.load_state_dict({k: kindling.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})


def to_k(x):
    return None if x is None else kindling.tensor(x.numpy())


def run_both(km, tm, inputs, kwargs, rtol=1e-4, atol=1e-5):
    copy(km, tm)
    assert [n for n, _ in km.named_parameters()] == [n for n, _ in tm.named_parameters()]
    ks = [kindling.tensor(a, requires_grad=True) for a in inputs]
    ts = [torch.tensor(a, requires_grad=True) for a in inputs]
    out_k = km(*ks, **{n: to_k(v) if isinstance(v, torch.Tensor) else v
                       for n, v in kwargs.items()})
    out_t = tm(*ts, **kwargs)
    assert_close(out_k, out_t, rtol, atol, "output")
    w = rand(*out_t.shape)
    (out_k * kindling.tensor(w)).sum().backward()
    (out_t * torch.tensor(w)).sum().backward()
    for i, (a, b) in enumerate(zip(ks, ts)):
        assert_close(a.grad, b.grad, rtol * 10, atol * 10, f"input {i} grad")
    tp = dict(tm.named_parameters())
    for name, p in km.named_parameters():
        assert_close(p.grad, tp[name].grad, rtol * 10, atol * 10, f"grad {name}")
    assert repr(km) == repr(tm)
    return out_k


def layer_pair(cls_k, cls_t, **kw):
    torch.manual_seed(0)
    return cls_k(**kw), cls_t(**kw)


def masks(T, S, N, kind):
    if kind is None:
        return None, None
    causal = tnn.Transformer.generate_square_subsequent_mask(T) if T == S else None
    kpm = np.zeros((N, S), bool)
    kpm[0, S - 2:] = True
    if kind == "bool":
        attn = torch.tensor(np.triu(np.ones((T, S), bool), 1)) if T == S else None
        return attn, torch.tensor(kpm)
    return causal, torch.tensor(np.where(kpm, -np.inf, 0.0).astype(np.float32))


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("mask_kind", [None, "bool", "float"])
def test_encoder_layer(norm_first, activation, mask_kind):
    km, tm = layer_pair(nn.TransformerEncoderLayer, tnn.TransformerEncoderLayer, d_model=8,
                        nhead=2, dim_feedforward=12, dropout=0.0, activation=activation,
                        norm_first=norm_first)
    src_mask, kpm = masks(5, 5, 3, mask_kind)
    run_both(km, tm, [rand(5, 3, 8)], dict(src_mask=src_mask, src_key_padding_mask=kpm))


def test_encoder_layer_batch_first_callable_activation_no_bias():
    km, tm = layer_pair(nn.TransformerEncoderLayer, tnn.TransformerEncoderLayer, d_model=8,
                        nhead=4, dim_feedforward=12, dropout=0.0, batch_first=True, bias=False,
                        layer_norm_eps=1e-3)
    km.activation, tm.activation = F.silu, TF.silu
    kpm = torch.tensor(np.array([[False] * 5, [False] * 3 + [True] * 2]))
    run_both(km, tm, [rand(2, 5, 8)], dict(src_key_padding_mask=kpm))
    # unbatched input
    run_both(km, tm, [rand(5, 8)], {})


def test_encoder_layer_causal_hint():
    km, tm = layer_pair(nn.TransformerEncoderLayer, tnn.TransformerEncoderLayer, d_model=8,
                        nhead=2, dim_feedforward=12, dropout=0.0)
    mask = tnn.Transformer.generate_square_subsequent_mask(4)
    run_both(km, tm, [rand(4, 2, 8)], dict(src_mask=mask, is_causal=True))


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("mask_kind", [None, "bool", "float"])
def test_decoder_layer(norm_first, activation, mask_kind):
    km, tm = layer_pair(nn.TransformerDecoderLayer, tnn.TransformerDecoderLayer, d_model=8,
                        nhead=2, dim_feedforward=12, dropout=0.0, activation=activation,
                        norm_first=norm_first)
    tgt_mask, tgt_kpm = masks(4, 4, 3, mask_kind)
    _, mem_kpm = masks(4, 6, 3, mask_kind)
    memory_mask = None
    if mask_kind == "float":
        memory_mask = torch.tensor(rand(4, 6))
    run_both(km, tm, [rand(4, 3, 8), rand(6, 3, 8)],
             dict(tgt_mask=tgt_mask, memory_mask=memory_mask, tgt_key_padding_mask=tgt_kpm,
                  memory_key_padding_mask=mem_kpm))


def test_decoder_layer_batch_first():
    km, tm = layer_pair(nn.TransformerDecoderLayer, tnn.TransformerDecoderLayer, d_model=8,
                        nhead=2, dim_feedforward=12, dropout=0.0, batch_first=True)
    mask = tnn.Transformer.generate_square_subsequent_mask(4)
    run_both(km, tm, [rand(2, 4, 8), rand(2, 6, 8)], dict(tgt_mask=mask, tgt_is_causal=True))


def test_encoder_and_decoder_stacks():
    torch.manual_seed(0)
    tl = tnn.TransformerEncoderLayer(8, 2, 12, dropout=0.0)
    tm = tnn.TransformerEncoder(tl, 2, norm=tnn.LayerNorm(8))
    kl = nn.TransformerEncoderLayer(8, 2, 12, dropout=0.0)
    km = nn.TransformerEncoder(kl, 2, norm=nn.LayerNorm(8))
    assert km.layers[0] is not kl and km.layers[0].linear1.weight is not km.layers[1].linear1.weight
    mask, kpm = masks(5, 5, 3, "float")
    run_both(km, tm, [rand(5, 3, 8)], dict(mask=mask, src_key_padding_mask=kpm))
    torch.manual_seed(0)
    tdl = tnn.TransformerDecoderLayer(8, 2, 12, dropout=0.0)
    tdm = tnn.TransformerDecoder(tdl, 2)
    kdm = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 12, dropout=0.0), 2)
    run_both(kdm, tdm, [rand(4, 3, 8), rand(5, 3, 8)],
             dict(tgt_mask=tnn.Transformer.generate_square_subsequent_mask(4)))


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_full(batch_first, norm_first):
    torch.manual_seed(0)
    kw = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=16,
              dropout=0.0, batch_first=batch_first, norm_first=norm_first)
    km, tm = nn.Transformer(**kw), tnn.Transformer(**kw)
    src, tgt = (rand(3, 5, 8), rand(3, 4, 8)) if batch_first else (rand(5, 3, 8), rand(4, 3, 8))
    kpm = np.zeros((3, 5), bool)
    kpm[1, 3:] = True
    kpm = torch.tensor(kpm)
    run_both(km, tm, [src, tgt], dict(tgt_mask=tnn.Transformer.generate_square_subsequent_mask(4),
                                      src_key_padding_mask=kpm, memory_key_padding_mask=kpm))


def test_transformer_eval_mode_no_padding():
    torch.manual_seed(0)
    kw = dict(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=16)
    km, tm = nn.Transformer(**kw), tnn.Transformer(**kw)
    copy(km, tm)
    km.eval()
    tm.eval()
    src, tgt = rand(5, 2, 8), rand(4, 2, 8)
    with torch.no_grad():
        out_t = tm(torch.tensor(src), torch.tensor(tgt))
    out_k = km(kindling.tensor(src), kindling.tensor(tgt))
    assert_close(out_k, out_t, 1e-4, 1e-5)


def test_transformer_init_mask_and_errors():
    m = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                       dim_feedforward=16)
    w = m.encoder.layers[0].linear1.weight.detach().numpy()
    assert np.abs(w).max() <= np.sqrt(6 / (8 + 16)) + 1e-6      # xavier_uniform bound
    mask = nn.Transformer.generate_square_subsequent_mask(4)
    assert_close(mask, tnn.Transformer.generate_square_subsequent_mask(4))
    with pytest.raises(RuntimeError, match="batch number"):
        m(kindling.randn(5, 2, 8), kindling.randn(4, 3, 8))
    with pytest.raises(RuntimeError, match="d_model"):
        m(kindling.randn(5, 2, 8), kindling.randn(4, 2, 6))
    with pytest.raises(RuntimeError, match="relu/gelu"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")
    m2 = copymod.deepcopy(m)
    x, y = kindling.randn(5, 2, 8), kindling.randn(4, 2, 8)
    m.eval()
    m2.eval()
    assert np.allclose(m(x, y).detach().numpy(), m2(x, y).detach().numpy())


def test_transformer_dropout_trains():
    m = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                       dim_feedforward=16, dropout=0.5)
    x, y = kindling.randn(5, 2, 8), kindling.randn(4, 2, 8)
    a, b = m(x, y), m(x, y)
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())
    a.sum().backward()
    assert all(p.grad is not None for p in m.parameters())
