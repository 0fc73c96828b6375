"""Attention against PyTorch: scaled_dot_product_attention (masks, causal, scale, broadcasting,
GQA, gradients incl. gradcheck/gradgradcheck) and nn.MultiheadAttention (every mask kind,
kdim/vdim, bias_kv, zero_attn, batch_first, weights, unbatched) with weights copied; the
seq2seq attentions against NumPy references; positional encodings."""
import copy as copymod
import math

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import kindling
import kindling.nn as nn
import kindling.nn.functional as F
from oracle import assert_close, check

RNG = np.random.default_rng(0)


def rand(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def copy(km, tm):
    km.load_state_dict({k: kindling.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})


# --- scaled_dot_product_attention --------------------------------------------------------------
@pytest.mark.parametrize("shapes", [
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 5)),
    ((4, 5), (6, 5), (6, 7)),                    # no batch, Ev != E
    ((7, 3, 4), (1, 6, 4), (6, 2)),
    ((2, 1, 4, 5), (1, 3, 6, 5), (1, 3, 6, 5)),  # batch dims broadcast
])
def test_sdpa_shapes(shapes):
    arrays = [rand(*s) for s in shapes]
    check(lambda q, k, v: F.scaled_dot_product_attention(q, k, v),
          lambda q, k, v: TF.scaled_dot_product_attention(q, k, v), *arrays, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("mask_shape", [(4, 6), (2, 1, 4, 6), (1, 3, 1, 6)])
@pytest.mark.parametrize("kind", ["bool", "float"])
def test_sdpa_masks(mask_shape, kind):
    q, k, v = rand(2, 3, 4, 5), rand(2, 3, 6, 5), rand(2, 3, 6, 5)
    if kind == "bool":
        m = RNG.random(mask_shape) > 0.3
        m[..., 0] = True                     # no fully masked rows here
        mk, mt = kindling.tensor(m), torch.tensor(m)
    else:
        m = rand(*mask_shape)
        mk, mt = kindling.tensor(m), torch.tensor(m)
    check(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, attn_mask=mk),
          lambda a, b, c: TF.scaled_dot_product_attention(a, b, c, attn_mask=mt), q, k, v,
          rtol=1e-4, atol=1e-5)


def test_sdpa_float_mask_gradient():
    q, k, v, m = rand(2, 4, 5), rand(2, 6, 5), rand(2, 6, 5), rand(4, 6)
    check(lambda a, b, c, d: F.scaled_dot_product_attention(a, b, c, attn_mask=d),
          lambda a, b, c, d: TF.scaled_dot_product_attention(a, b, c, attn_mask=d), q, k, v, m,
          rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("L,S", [(4, 4), (3, 6), (6, 3)])
def test_sdpa_causal_and_scale(L, S):
    q, k, v = rand(2, 2, L, 4), rand(2, 2, S, 4), rand(2, 2, S, 4)
    check(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, is_causal=True, scale=0.3),
          lambda a, b, c: TF.scaled_dot_product_attention(a, b, c, is_causal=True, scale=0.3),
          q, k, v, rtol=1e-4, atol=1e-5)


def test_sdpa_causal_with_mask_combines():
    # PyTorch 2.13 (CPU, E == Ev) applies both; kindling documents and matches that.
    q, k, v = rand(1, 2, 3, 4), rand(1, 2, 5, 4), rand(1, 2, 5, 4)
    m = RNG.random((3, 5)) > 0.3
    m[:, 0] = True
    mk, mt = kindling.tensor(m), torch.tensor(m)
    check(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, attn_mask=mk, is_causal=True),
          lambda a, b, c: TF.scaled_dot_product_attention(a, b, c, attn_mask=mt, is_causal=True),
          q, k, v, rtol=1e-4, atol=1e-5)


def test_sdpa_fully_masked_rows_are_zero():
    q, k, v = rand(1, 2, 3, 4), rand(1, 2, 5, 4), rand(1, 2, 5, 4)
    m = np.ones((3, 5), bool)
    m[1] = False
    mk, mt = kindling.tensor(m), torch.tensor(m)
    out_k, out_t = check(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, attn_mask=mk),
                         lambda a, b, c: TF.scaled_dot_product_attention(a, b, c, attn_mask=mt),
                         q, k, v, rtol=1e-4, atol=1e-5)
    assert np.all(out_k.detach().numpy()[:, :, 1] == 0)
    mf = np.zeros((3, 5), np.float32)
    mf[2] = -np.inf
    out = F.scaled_dot_product_attention(*(kindling.tensor(x) for x in (q, k, v)),
                                         attn_mask=kindling.tensor(mf))
    assert np.all(out.numpy()[:, :, 2] == 0) and np.isfinite(out.numpy()).all()


def test_sdpa_gqa():
    q, k, v = rand(2, 4, 3, 5), rand(2, 2, 6, 5), rand(2, 2, 6, 5)
    check(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, enable_gqa=True),
          lambda a, b, c: TF.scaled_dot_product_attention(a, b, c, enable_gqa=True), q, k, v,
          rtol=1e-4, atol=1e-5)


def test_sdpa_dropout():
    q, k, v = (kindling.tensor(rand(2, 2, 8, 4)) for _ in range(3))
    v = kindling.ones(2, 2, 8, 4)
    kindling.manual_seed(1)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    # rows of P sum to one; with dropout each output is (sum of kept P) / 0.5: varies, mean ~1
    a = out.numpy()
    assert not np.allclose(a, 1.0) and abs(a.mean() - 1.0) < 0.3
    kindling.manual_seed(1)
    assert np.array_equal(F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).numpy(), a)
    assert np.allclose(F.scaled_dot_product_attention(q, k, v, dropout_p=1.0).numpy(), 0)


def test_sdpa_dropout_gradcheck():
    q, k, v = (kindling.tensor(rand(1, 3, 4, dtype=np.float64), requires_grad=True)
               for _ in range(3))

    def fn(a, b, c):
        kindling.manual_seed(3)  # the same dropout mask on every evaluation
        return F.scaled_dot_product_attention(a, b, c, dropout_p=0.3)
    assert kindling.autograd.gradcheck(fn, (q, k, v))


def test_sdpa_gradcheck_and_gradgradcheck():
    q = kindling.tensor(rand(2, 3, 4, dtype=np.float64), requires_grad=True)
    k = kindling.tensor(rand(2, 5, 4, dtype=np.float64), requires_grad=True)
    v = kindling.tensor(rand(2, 5, 3, dtype=np.float64), requires_grad=True)
    m = kindling.tensor(rand(3, 5, dtype=np.float64), requires_grad=True)
    bm = kindling.tensor(RNG.random((3, 5)) > 0.4)

    def fn(a, b, c, d):
        return F.scaled_dot_product_attention(a, b, c, attn_mask=d, scale=0.7)
    assert kindling.autograd.gradcheck(fn, (q, k, v, m))
    assert kindling.autograd.gradgradcheck(fn, (q, k, v, m))

    def fn2(a, b, c):
        return F.scaled_dot_product_attention(a, b, c, attn_mask=bm, is_causal=True)
    assert kindling.autograd.gradcheck(fn2, (q, k, v))
    assert kindling.autograd.gradgradcheck(fn2, (q, k, v))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sdpa_on_head_split_projection(dtype):
    """GPT's layout: q, k, v are (B, heads, T, E) views of one (B, T, 3C) projection. Results
    match torch, keep the dtype, and the output transposed back to (B, T, heads, E) is already
    contiguous (the fused op writes it in that layout)."""
    B, T, H, E = 3, 10, 4, 8
    C = H * E

    def run(m, F_, qkv):
        q, k, v = qkv.split(C, dim=2)
        q, k, v = (t.view(B, T, H, E).transpose(1, 2) for t in (q, k, v))
        y = F_.scaled_dot_product_attention(q, k, v, is_causal=True)
        return y.transpose(1, 2)

    out_k, _ = check(lambda a: run(kindling, F, a), lambda a: run(torch, TF, a),
                     rand(B, T, 3 * C, dtype=dtype),
                     **(dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else
                        dict(rtol=1e-10, atol=1e-12)))
    assert out_k.is_contiguous()
    assert out_k.dtype == (kindling.float32 if dtype == np.float32 else kindling.float64)


def test_sdpa_backward_twice_with_retain_graph():
    q, k, v = (kindling.tensor(rand(2, 3, 5, 4), requires_grad=True) for _ in range(3))
    loss = (F.scaled_dot_product_attention(q, k, v, is_causal=True) *
            kindling.tensor(rand(2, 3, 5, 4))).sum()
    loss.backward(retain_graph=True)
    first = [t.grad.numpy().copy() for t in (q, k, v)]
    for t in (q, k, v):
        t.grad = None
    loss.backward()
    for t, g in zip((q, k, v), first):
        np.testing.assert_array_equal(t.grad.numpy(), g)


def test_sdpa_double_backward_vs_torch():
    arrays = [rand(2, 3, 4, dtype=np.float64), rand(2, 5, 4, dtype=np.float64),
              rand(2, 5, 4, dtype=np.float64)]
    ks = [kindling.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    w = rand(2, 3, 4, dtype=np.float64)
    out_k = (F.scaled_dot_product_attention(*ks) * kindling.tensor(w)).sum()
    out_t = (TF.scaled_dot_product_attention(*ts) * torch.tensor(w)).sum()
    gk = kindling.autograd.grad(out_k, ks, create_graph=True)
    gt = torch.autograd.grad(out_t, ts, create_graph=True)
    sk = sum((g * g).sum() for g in gk)
    st = sum((g * g).sum() for g in gt)
    sk.backward()
    st.backward()
    for a, b in zip(ks, ts):
        assert_close(a.grad, b.grad, 1e-6, 1e-8)


# is_causal without attn_mask or dropout takes CausalAttention (keys-first probabilities, batch
# split over threads): its forward, gradients and higher orders against torch and finite
# differences.
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("qs,ks,vs", [
    ((8, 4, 64, 16), (8, 4, 64, 16), (8, 4, 64, 16)),   # big enough to split over threads
    ((16, 1, 64, 16), (1, 4, 64, 16), (1, 4, 64, 16)),  # ... with broadcast batch dims
    ((3, 2, 9, 4), (3, 2, 5, 4), (3, 2, 5, 6)),         # L > S, Ev != E
    ((3, 2, 5, 4), (3, 2, 9, 4), (3, 2, 9, 4)),         # S > L: keys no query reaches
    ((2, 1, 7, 4), (1, 3, 7, 4), (1, 3, 7, 4)),         # broadcast batch dims
    ((7, 4), (7, 4), (7, 3)),                            # unbatched
    ((5, 6, 4), (5, 6, 4), (5, 6, 4)),
])
def test_sdpa_causal_fast_path(qs, ks, vs, threads):
    before = kindling.get_num_threads()
    kindling.set_num_threads(threads)
    try:
        check(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, is_causal=True),
              lambda a, b, c: TF.scaled_dot_product_attention(a, b, c, is_causal=True),
              rand(*qs), rand(*ks), rand(*vs), rtol=1e-5, atol=1e-6)
    finally:
        kindling.set_num_threads(before)


def test_sdpa_causal_fast_path_partial_grads_and_dtype():
    q, k, v = rand(2, 3, 6, 4), rand(2, 3, 6, 4), rand(2, 3, 6, 4)
    for need in ((True, False, False), (False, True, False), (False, False, True)):
        ks = [kindling.tensor(a, requires_grad=n) for a, n in zip((q, k, v), need)]
        ts = [torch.tensor(a, requires_grad=n) for a, n in zip((q, k, v), need)]
        out = F.scaled_dot_product_attention(*ks, is_causal=True)
        assert out.dtype == kindling.float32
        out.sum().backward()
        TF.scaled_dot_product_attention(*ts, is_causal=True).sum().backward()
        for a, b in zip(ks, ts):
            assert (a.grad is None) == (b.grad is None)
            if b.grad is not None:
                assert_close(a.grad, b.grad, 1e-5, 1e-6)


@pytest.mark.parametrize("L,S", [(4, 4), (5, 3), (3, 5)])
def test_sdpa_causal_fast_path_gradcheck_and_gradgradcheck(L, S):
    q = kindling.tensor(rand(2, L, 3, dtype=np.float64), requires_grad=True)
    k = kindling.tensor(rand(2, S, 3, dtype=np.float64), requires_grad=True)
    v = kindling.tensor(rand(2, S, 2, dtype=np.float64), requires_grad=True)

    def fn(a, b, c):
        return F.scaled_dot_product_attention(a, b, c, is_causal=True, scale=0.8)
    assert kindling.autograd.gradcheck(fn, (q, k, v))
    assert kindling.autograd.gradgradcheck(fn, (q, k, v))


def test_sdpa_causal_double_backward_vs_torch():
    arrays = [rand(2, 5, 4, dtype=np.float64) for _ in range(3)]
    ks = [kindling.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    w = rand(2, 5, 4, dtype=np.float64)
    out_k = (F.scaled_dot_product_attention(*ks, is_causal=True) * kindling.tensor(w)).sum()
    out_t = (TF.scaled_dot_product_attention(*ts, is_causal=True) * torch.tensor(w)).sum()
    gk = kindling.autograd.grad(out_k, ks, create_graph=True)
    gt = torch.autograd.grad(out_t, ts, create_graph=True)
    for a, b in zip(gk, gt):
        assert_close(a, b, 1e-8, 1e-10)
    sum((g * g).sum() for g in gk).backward()
    sum((g * g).sum() for g in gt).backward()
    for a, b in zip(ks, ts):
        assert_close(a.grad, b.grad, 1e-6, 1e-8)

def test_sdpa_errors():
    q = kindling.randn(2, 3, 4)
    with pytest.raises(RuntimeError):
        F.scaled_dot_product_attention(q, kindling.randn(2, 5, 3), kindling.randn(2, 5, 3))
    with pytest.raises(RuntimeError):
        F.scaled_dot_product_attention(q, q, q.double())
    with pytest.raises(RuntimeError):
        F.scaled_dot_product_attention(q, q, q,
                                       attn_mask=kindling.zeros(3, 3, dtype=kindling.int64))


# --- MultiheadAttention ------------------------------------------------------------------------
def run_mha(kw, q, k, v, rtol=1e-4, atol=1e-5, train=True, **fkw):
    torch.manual_seed(0)
    tm = tnn.MultiheadAttention(**kw)
    km = nn.MultiheadAttention(**kw)
    copy(km, tm)
    tm.train(train)
    km.train(train)
    assert [n for n, _ in km.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert repr(km) == repr(tm)
    qk, qt = kindling.tensor(q, requires_grad=True), torch.tensor(q, requires_grad=True)
    same_kv = k is q and v is q
    kk, kt = (qk, qt) if same_kv else (kindling.tensor(k, requires_grad=True),
                                       torch.tensor(k, requires_grad=True))
    vk, vt = (qk, qt) if same_kv else (kindling.tensor(v, requires_grad=True),
                                       torch.tensor(v, requires_grad=True))
    fk = {n: (kindling.tensor(m.numpy()) if isinstance(m, torch.Tensor) else m)
          for n, m in fkw.items()}
    out_k, w_k = km(qk, kk, vk, **fk)
    out_t, w_t = tm(qt, kt, vt, **fkw)
    assert_close(out_k, out_t, rtol, atol, "output")
    if w_t is None:
        assert w_k is None
    else:
        assert_close(w_k, w_t, rtol, atol, "weights")
    g = rand(*out_t.shape)
    loss_k = (out_k * kindling.tensor(g)).sum()
    loss_t = (out_t * torch.tensor(g)).sum()
    if w_t is not None:
        gw = rand(*w_t.shape)
        loss_k = loss_k + (w_k * kindling.tensor(gw)).sum()
        loss_t = loss_t + (w_t * torch.tensor(gw)).sum()
    loss_k.backward()
    loss_t.backward()
    assert_close(qk.grad, qt.grad, rtol * 10, atol * 10, "query grad")
    if not same_kv:
        assert_close(kk.grad, kt.grad, rtol * 10, atol * 10, "key grad")
        assert_close(vk.grad, vt.grad, rtol * 10, atol * 10, "value grad")
    tp = dict(tm.named_parameters())
    for name, p in km.named_parameters():
        assert_close(p.grad, tp[name].grad, rtol * 10, atol * 10, f"grad {name}")
    return out_k, w_k


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("average", [True, False])
def test_mha_self_attention(need_weights, average):
    x = rand(5, 3, 8)
    run_mha(dict(embed_dim=8, num_heads=2), x, x, x, need_weights=need_weights,
            average_attn_weights=average)


def test_mha_cross_attention_kdim_vdim():
    run_mha(dict(embed_dim=8, num_heads=4, kdim=6, vdim=5), rand(4, 2, 8), rand(7, 2, 6),
            rand(7, 2, 5))


def test_mha_key_is_value():
    q, kv = rand(4, 2, 8), rand(6, 2, 8)
    run_mha(dict(embed_dim=8, num_heads=2), q, kv, kv)


@pytest.mark.parametrize("opts", [dict(add_bias_kv=True), dict(add_zero_attn=True),
                                  dict(add_bias_kv=True, add_zero_attn=True), dict(bias=False)])
def test_mha_options(opts):
    mask = np.zeros((4, 6), bool)
    mask[1, 2:] = True
    kpm = np.zeros((2, 6), bool)
    kpm[0, 4:] = True
    run_mha(dict(embed_dim=8, num_heads=2, **opts), rand(4, 2, 8), rand(6, 2, 8), rand(6, 2, 8),
            attn_mask=torch.tensor(mask), key_padding_mask=torch.tensor(kpm))


@pytest.mark.parametrize("mask_kind", ["bool2d", "float2d", "bool3d", "float3d"])
@pytest.mark.parametrize("kpm_kind", [None, "bool", "float"])
@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.filterwarnings("ignore:Support for mismatched")
def test_mha_masks(mask_kind, kpm_kind, need_weights):
    L, S, N, H = 4, 5, 2, 2
    shape = (L, S) if mask_kind.endswith("2d") else (N * H, L, S)
    if mask_kind.startswith("bool"):
        mask = RNG.random(shape) > 0.7
        mask[..., 0] = False
        mask = torch.tensor(mask)
    else:
        mask = torch.tensor(rand(*shape))
    kpm = None
    if kpm_kind == "bool":
        kpm = np.zeros((N, S), bool)
        kpm[1, 3:] = True
        kpm = torch.tensor(kpm)
    elif kpm_kind == "float":
        kpm = torch.tensor(rand(N, S))
    run_mha(dict(embed_dim=8, num_heads=H), rand(L, N, 8), rand(S, N, 8), rand(S, N, 8),
            attn_mask=mask, key_padding_mask=kpm, need_weights=need_weights)


def test_mha_batch_first_and_unbatched():
    x = rand(3, 5, 8)
    run_mha(dict(embed_dim=8, num_heads=2, batch_first=True), x, x, x)
    run_mha(dict(embed_dim=8, num_heads=2, batch_first=True), rand(3, 4, 8), rand(3, 6, 8),
            rand(3, 6, 8), key_padding_mask=torch.tensor(RNG.random((3, 6)) > 0.8))
    u = rand(5, 8)
    run_mha(dict(embed_dim=8, num_heads=2), u, u, u, average_attn_weights=False)
    run_mha(dict(embed_dim=8, num_heads=2, kdim=3, vdim=3), rand(4, 8), rand(6, 3), rand(6, 3),
            key_padding_mask=torch.tensor(np.array([False] * 5 + [True])))


def test_mha_eval_mode_and_causal_hint():
    x = rand(5, 2, 8)
    mask = tnn.Transformer.generate_square_subsequent_mask(5)
    run_mha(dict(embed_dim=8, num_heads=2, dropout=0.3), x, x, x, train=False,
            attn_mask=mask, need_weights=False, is_causal=True)
    km = nn.MultiheadAttention(8, 2)
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        km(kindling.tensor(x), kindling.tensor(x), kindling.tensor(x), is_causal=True)


def test_mha_fully_masked_rows_nan_like_torch():
    x = rand(3, 1, 4)
    kpm = np.ones((1, 3), bool)
    torch.manual_seed(0)
    tm, km = tnn.MultiheadAttention(4, 2), nn.MultiheadAttention(4, 2)
    copy(km, tm)
    xk, xt = kindling.tensor(x), torch.tensor(x)
    ok, wk = km(xk, xk, xk, key_padding_mask=kindling.tensor(kpm))
    ot, wt = tm(xt, xt, xt, key_padding_mask=torch.tensor(kpm))
    assert np.isnan(ok.detach().numpy()).all() and np.isnan(ot.detach().numpy()).all()
    ok, _ = km(xk, xk, xk, key_padding_mask=kindling.tensor(kpm), need_weights=False)
    ot, _ = tm(xt, xt, xt, key_padding_mask=torch.tensor(kpm), need_weights=False)
    assert_close(ok, ot.detach())


def test_mha_dropout_training():
    km = nn.MultiheadAttention(8, 2, dropout=0.5)
    x = kindling.tensor(rand(4, 2, 8))
    kindling.manual_seed(0)
    o1, w1 = km(x, x, x, average_attn_weights=False)
    km.eval()
    o2, w2 = km(x, x, x, average_attn_weights=False)
    assert not np.allclose(o1.detach().numpy(), o2.detach().numpy())
    # returned weights are the dropped-out ones: zeros or 2x the eval weights
    a, b = w1.detach().numpy(), w2.detach().numpy()
    assert np.all(np.isclose(a, 0) | np.isclose(a, 2 * b, rtol=1e-5))
    (o1.sum() + w1.sum()).backward()


def test_mha_init_and_errors():
    km = nn.MultiheadAttention(8, 2, add_bias_kv=True)
    assert np.all(km.in_proj_bias.detach().numpy() == 0)
    assert np.all(km.out_proj.bias.detach().numpy() == 0)
    bound = math.sqrt(6 / (8 + 24))
    assert np.abs(km.in_proj_weight.detach().numpy()).max() <= bound
    assert tuple(km.bias_k.shape) == (1, 1, 8)
    with pytest.raises(AssertionError):
        nn.MultiheadAttention(7, 2)
    with pytest.raises(RuntimeError, match="2D attn_mask"):
        km(kindling.randn(3, 2, 8), kindling.randn(3, 2, 8), kindling.randn(3, 2, 8),
           attn_mask=kindling.zeros(2, 2))
    m2 = copymod.deepcopy(km)
    assert m2.in_proj_weight is not km.in_proj_weight
    assert np.array_equal(m2.in_proj_weight.detach().numpy(), km.in_proj_weight.detach().numpy())


def test_mha_functional():
    torch.manual_seed(0)
    tm = tnn.MultiheadAttention(8, 2)
    km = nn.MultiheadAttention(8, 2)
    copy(km, tm)
    x = rand(4, 2, 8)
    xk, xt = kindling.tensor(x), torch.tensor(x)
    args_k = (8, 2, km.in_proj_weight, km.in_proj_bias, None, None, False, 0.0,
              km.out_proj.weight, km.out_proj.bias)
    args_t = (8, 2, tm.in_proj_weight, tm.in_proj_bias, None, None, False, 0.0,
              tm.out_proj.weight, tm.out_proj.bias)
    ok, wk = F.multi_head_attention_forward(xk, xk, xk, *args_k)
    ot, wt = TF.multi_head_attention_forward(xt, xt, xt, *args_t)
    assert_close(ok, ot.detach(), 1e-4, 1e-5)
    assert_close(wk, wt.detach(), 1e-4, 1e-5)


# --- seq2seq attention (NumPy references) ------------------------------------------------------
def _softmax(s, mask=None):
    if mask is not None:
        s = np.where(mask, s, -np.inf)
    e = np.exp(s - s.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_additive_attention_reference():
    att = nn.AdditiveAttention(4, 3, 5)
    q, keys, vals = rand(2, 4), rand(2, 6, 3), rand(2, 6, 2)
    mask = np.ones((2, 6), bool)
    mask[1, 4:] = False
    ctx, w = att(kindling.tensor(q), kindling.tensor(keys), kindling.tensor(vals),
                 kindling.tensor(mask))
    Wq = att.query_proj.weight.detach().numpy()
    Wk, bk = att.key_proj.weight.detach().numpy(), att.key_proj.bias.detach().numpy()
    vv = att.score_proj.weight.detach().numpy()[0]
    scores = np.tanh((q @ Wq.T)[:, None, :] + keys @ Wk.T + bk) @ vv          # (B, S)
    ref_w = _softmax(scores, mask)
    np.testing.assert_allclose(w.detach().numpy(), ref_w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ctx.detach().numpy(), np.einsum("bs,bsd->bd", ref_w, vals),
                               rtol=1e-5, atol=1e-6)
    assert np.all(w.detach().numpy()[1, 4:] == 0)
    # many queries at once
    ctx2, w2 = att(kindling.tensor(rand(2, 3, 4)), kindling.tensor(keys), None,
                   kindling.tensor(mask))
    assert tuple(ctx2.shape) == (2, 3, 3) and tuple(w2.shape) == (2, 3, 6)


def test_luong_attention_reference():
    q, keys = rand(2, 4), rand(2, 5, 4)
    for scale in (False, True):
        ctx, w = nn.DotProductAttention(scale=scale)(kindling.tensor(q), kindling.tensor(keys))
        s = np.einsum("bd,bsd->bs", q, keys) / (2.0 if scale else 1.0)
        np.testing.assert_allclose(w.detach().numpy(), _softmax(s), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(ctx.detach().numpy(),
                                   np.einsum("bs,bsd->bd", _softmax(s), keys), rtol=1e-5,
                                   atol=1e-6)
    att = nn.GeneralAttention(3, 4)
    q3 = rand(2, 2, 3)
    mask = np.ones((2, 5), bool)
    mask[0, 3:] = False
    ctx, w = att(kindling.tensor(q3), kindling.tensor(keys), mask=kindling.tensor(mask))
    W = att.weight.detach().numpy()
    s = np.einsum("btq,qk,bsk->bts", q3, W, keys)
    np.testing.assert_allclose(w.detach().numpy(), _softmax(s, mask[:, None]), rtol=1e-5,
                               atol=1e-6)
    assert nn.LuongAttention is nn.DotProductAttention


def test_seq2seq_attention_gradcheck():
    kindling.manual_seed(0)
    for att, qd in ((nn.AdditiveAttention(3, 4, 5).double(), 3),
                    (nn.GeneralAttention(3, 4).double(), 3),
                    (nn.DotProductAttention(scale=True), 4)):
        q = kindling.tensor(rand(2, qd, dtype=np.float64), requires_grad=True)
        keys = kindling.tensor(rand(2, 5, 4, dtype=np.float64), requires_grad=True)
        mask = kindling.tensor(np.array([[True] * 5, [True] * 3 + [False] * 2]))
        assert kindling.autograd.gradcheck(lambda a, b: att(a, b, mask=mask)[0], (q, keys))
        params = list(att.parameters())
        if params:
            assert kindling.autograd.gradcheck(lambda *p: att(q, keys, mask=mask)[0], tuple(params))


# --- positional encodings -----------------------------------------------------------------------
def test_sinusoidal_positional_encoding():
    d, T = 6, 7
    pos = nn.SinusoidalPositionalEncoding(d, max_len=20)
    pe = np.zeros((20, d))
    for p in range(20):
        for i in range(0, d, 2):
            pe[p, i] = math.sin(p / 10000 ** (i / d))
            pe[p, i + 1] = math.cos(p / 10000 ** (i / d))
    x = rand(T, 2, d)
    np.testing.assert_allclose(pos(kindling.tensor(x)).numpy(), x + pe[:T, None], rtol=1e-5,
                               atol=1e-6)
    posb = nn.SinusoidalPositionalEncoding(d, max_len=20, batch_first=True)
    xb = rand(2, T, d)
    np.testing.assert_allclose(posb(kindling.tensor(xb), offset=3).numpy(),
                               xb + pe[3:3 + T][None], rtol=1e-5, atol=1e-6)
    assert "pe" not in pos.state_dict() and "pe" in dict(pos.named_buffers())
    odd = nn.SinusoidalPositionalEncoding(5, max_len=4)
    assert tuple(odd.pe.shape) == (4, 5)
    with pytest.raises(ValueError):
        pos(kindling.zeros(21, 1, d))
    xg = kindling.tensor(x, requires_grad=True)
    pos(xg).sum().backward()
    assert np.all(xg.grad.numpy() == 1)


def test_learned_positional_embedding():
    pos = nn.LearnedPositionalEmbedding(10, 4, batch_first=True)
    x = kindling.tensor(rand(2, 5, 4))
    out = pos(x, offset=2)
    np.testing.assert_allclose(out.detach().numpy(),
                               x.numpy() + pos.weight.detach().numpy()[2:7][None], rtol=1e-6)
    out.sum().backward()
    g = pos.weight.grad.numpy()
    assert np.all(g[2:7] == 2) and np.all(g[:2] == 0) and np.all(g[7:] == 0)
    assert list(pos.state_dict()) == ["weight"]
    seq_first = nn.LearnedPositionalEmbedding(10, 4)
    assert tuple(seq_first(kindling.zeros(5, 3, 4)).shape) == (5, 3, 4)


# --- property test: random broadcastable shapes and masks ---------------------------------------
from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(batch=st.lists(st.integers(1, 3), min_size=0, max_size=2), L=st.integers(1, 4),
       S=st.integers(1, 4), E=st.integers(1, 4), Ev=st.integers(1, 3),
       bcast=st.integers(0, 3), mask=st.sampled_from([None, "bool", "float"]),
       causal=st.booleans(), seed=st.integers(0, 1000))
def test_sdpa_hypothesis(batch, L, S, E, Ev, bcast, mask, causal, seed):
    rng = np.random.default_rng(seed)
    qb = list(batch)
    kb = [1 if (bcast >> i) & 1 else b for i, b in enumerate(batch)]
    q = rng.standard_normal(qb + [L, E])
    k = rng.standard_normal(kb + [S, E])
    v = rng.standard_normal(kb + [S, Ev])
    mk = mt = None
    if mask == "bool":
        m = rng.random((L, S)) > 0.3
        m[:, 0] = True
        mk, mt = kindling.tensor(m), torch.tensor(m)
    elif mask == "float":
        m = rng.standard_normal((1, S))
        mk, mt = kindling.tensor(m), torch.tensor(m)
    t_causal = causal
    if mask is not None and causal:
        # PyTorch applies both only on its flash path (else it raises): reference = merged mask
        tril = torch.ones(L, S, dtype=torch.bool).tril()
        mt = mt & tril if mask == "bool" else mt.masked_fill(~tril, float("-inf"))
        t_causal = False
    check(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, attn_mask=mk, is_causal=causal),
          lambda a, b, c: TF.scaled_dot_product_attention(a, b, c, attn_mask=mt,
                                                          is_causal=t_causal),
          q, k, v, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("is_causal", [False, True])
@pytest.mark.parametrize("lq,s,e", [(3, 3, 0), (2, 0, 4), (0, 3, 4), (0, 0, 4)])
def test_sdpa_with_empty_dims_matches_torch(is_causal, lq, s, e):
    """No keys give zeros, no queries an empty output, E = 0 uniform weights (as torch)."""
    rng = np.random.default_rng(0)
    qa, ka = rng.standard_normal((2, lq, e)), rng.standard_normal((2, s, e))
    va, ga = rng.standard_normal((2, s, 5)), rng.standard_normal((2, lq, 5))
    res = []
    for m in (kindling, torch):
        q, k, v = (m.tensor(a.astype(np.float32), requires_grad=True) for a in (qa, ka, va))
        y = m.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=is_causal)
        (y * m.tensor(ga.astype(np.float32))).sum().backward()
        res.append([y.detach().numpy(), q.grad.numpy(), k.grad.numpy(), v.grad.numpy()])
    for a, b in zip(*res):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
