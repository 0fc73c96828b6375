"""Attention and embedding lookup: the two ops behind nn.MultiheadAttention, the Transformer
layers and nn.Embedding.

`Attention` is one fused op for softmax(q k^T * scale + bias) [dropout] @ v. Forward is two
batched GEMMs around a stable softmax computed in place in the scores' buffer; it returns the
output *and* the probabilities P, so MultiheadAttention gets its attention weights for free and
backward reads P as an output of this node (kept by the engine, no copy). Backward:

    dV = P'^T g            dP = (g V^T) * keep + gP          (P' = P * keep, the dropped-out P)
    dS = P * (dP - sum(dP * P, -1))
    dQ = dS K * scale      dK = dS^T Q * scale               dBias = dS

The first-order backward runs these on NumPy arrays (dS in place in dP's buffer). Under
create_graph they are written in Tensor ops instead (`_attention_backward_graph`); because P is
rebuilt there as this node's own output, the gradient of that backward flows through P back
into this rule, so second derivatives stay exact with no second rule. The in-place softmax,
the NumPy backward and head-layout outputs (`_matmul_like`) took forward+backward of GPT's
causal (32, 4, 64, 32) heads, split from a (32, 64, 384) projection, from about 12.2 ms to
10.4 ms (torch: 9.7 ms; 1 thread, best of 35).

Fully masked rows: PyTorch 2.13's scaled_dot_product_attention gives zeros there (and zero
gradients); its MultiheadAttention with need_weights=True uses a plain softmax and gives NaN.
`safe=True` selects the former.
"""
import math

import numpy as np

from ..engine import grad_mode
from ..engine.function import Op
from ..engine.tensor import Tensor, _make
from ..random import _np_rng


def _matmul_like(a, b, like):
    """a @ b, laid out in memory like `like` when that has the result's shape. q, k and v are
    usually head-split views of one (B, T, 3C) projection: results laid out as (B, T, heads, E)
    make the transposes back to (B, T, C) (forward) and into the projection's gradient (backward)
    free instead of strided copies."""
    if np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], b.shape[-1]) == like.shape:
        return np.matmul(a, b, out=np.empty_like(like))
    return np.matmul(a, b)


class Attention(Op):
    saves_output = True

    @staticmethod
    def forward(ctx, q, k, v, bias, block, scale, keep, safe):
        qa, ka, va = q._array, k._array, v._array
        s = np.matmul(qa, np.swapaxes(ka, -1, -2))                     # (..., L, S)
        s *= s.dtype.type(scale)
        if bias is not None:
            s = s + bias._array
        if block is not None:
            if np.broadcast_shapes(block.shape, s.shape) == s.shape:
                np.copyto(s, s.dtype.type(-np.inf), where=block)
            else:
                s = np.where(block, s.dtype.type(-np.inf), s)
        m = np.max(s, axis=-1, keepdims=True)
        dead = None
        if safe:
            dead = ~np.isfinite(m) & (m < 0)                           # rows with nothing to attend
            if dead.any():
                m = np.where(dead, 0, m)
            else:
                dead = None
        # The softmax is computed in place in the scores' buffer: (..., L, S) is the largest
        # array of the op, and each temporary of that size is another pass through memory.
        with np.errstate(invalid="ignore", over="ignore"):
            s -= m
            p = np.exp(s, out=s)
            denom = p.sum(axis=-1, keepdims=True)
            if dead is not None:
                denom = np.where(dead, 1, denom)
            p /= denom                                                 # (..., L, S)
        pd = p if keep is None else p * keep
        out = _matmul_like(pd, va, qa)                                 # (..., L, Ev)
        ctx.save_for_backward(q, k, v)
        ctx.scale, ctx.keep = scale, keep
        return out, p

    @staticmethod
    def backward(ctx, g, gp):
        if grad_mode.is_grad_enabled():  # create_graph: the same rule in Tensor ops
            return _attention_backward_graph(ctx, g, gp)
        q, k, v = (t._array for t in ctx.saved_tensors)
        p, keep, scale = ctx._output_tensor(1)._array, ctx.keep, ctx.scale
        need = ctx.needs_input_grad
        pd = p if keep is None else p * keep
        gq = gk = gv = gb = None
        if need[2]:
            gv = _make(_matmul_like(np.swapaxes(pd, -1, -2), g._array, v))
        if need[0] or need[1] or need[3]:
            dp = np.matmul(g._array, np.swapaxes(v, -1, -2))          # (..., L, S)
            if keep is not None:
                dp = dp * keep
            if gp is not None and gp._array.any():  # the attention weights were used too
                dp = dp + gp._array
            dot = np.einsum("...ij,...ij->...i", dp, p)[..., None]
            dp -= dot
            dp *= p                                                    # dS, in dP's buffer
            if need[3]:
                gb = _make(dp)  # read, not written, below
            if need[0]:
                gq = _matmul_like(dp, k, q)
                gq *= scale
                gq = _make(gq)
            if need[1]:
                gk = _matmul_like(np.swapaxes(dp, -1, -2), q, k)
                gk *= scale
                gk = _make(gk)
        return gq, gk, gv, gb, None, None, None, None


def _attention_backward_graph(ctx, g, gp):
    q, k, v = ctx.saved_tensors
    p = ctx._output_tensor(1)
    keep = None if ctx.keep is None else _make(ctx.keep)
    need = ctx.needs_input_grad
    pd = p if keep is None else p * keep
    gv = pd.transpose(-1, -2).matmul(g) if need[2] else None
    gq = gk = gb = None
    if need[0] or need[1] or need[3]:
        dp = g.matmul(v.transpose(-1, -2))
        if keep is not None:
            dp = dp * keep
        if gp is not None and (gp._requires_grad or gp._array.any()):  # weights used?
            dp = dp + gp
        ds = p * (dp - (dp * p).sum(-1, keepdim=True))
        if need[0]:
            gq = ds.matmul(k) * ctx.scale
        if need[1]:
            gk = ds.transpose(-1, -2).matmul(q) * ctx.scale
        if need[3]:
            gb = ds
    return gq, gk, gv, gb, None, None, None, None


def attention(query, key, value, bias=None, block=None, scale=None, dropout_p=0.0, safe=True):
    """(output, weights) of dropout(softmax(q k^T * scale + bias, masked by `block`)) @ v.

    `bias` is a float Tensor added to the scores (broadcast), `block` a bool NumPy array that is
    True where attention is *not* allowed. Dropout (always applied when dropout_p > 0) zeroes
    probabilities before the product with v; the weights returned are those after dropout (the
    ones actually used, as MultiheadAttention returns them)."""
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1])
    keep = None
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")
    if dropout_p > 0.0:
        shape = np.broadcast_shapes(query.shape[:-2], key.shape[:-2]) + \
            (query.shape[-2], key.shape[-2])
        if bias is not None:
            shape = np.broadcast_shapes(shape, bias.shape)
        dtype = query._array.dtype
        if dropout_p == 1.0:
            keep = np.zeros(shape, dtype)
        else:  # inverted dropout, as F.dropout: keep with probability 1-p, scale by 1/(1-p)
            keep = (_np_rng().random(shape) >= dropout_p).astype(dtype) * \
                dtype.type(1.0 / (1.0 - dropout_p))
    out, p = Attention.apply(query, key, value, bias, block, float(scale), keep, safe)
    return out, (p if keep is None else p * _make(keep))


def _check_qkv(query, key, value):
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"scaled_dot_product_attention: {name} must be a Tensor, got "
                            f"{type(t).__name__}")
        if t.dim() < 2:
            raise RuntimeError(f"scaled_dot_product_attention: {name} must have at least 2 "
                               f"dimensions, got shape {tuple(t.shape)}")
    if query.dtype != key.dtype or query.dtype != value.dtype:
        raise RuntimeError(f"scaled_dot_product_attention: expected query, key and value to have "
                           f"the same dtype, but got query.dtype: {query.dtype}, key.dtype: "
                           f"{key.dtype} and value.dtype: {value.dtype} instead.")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"scaled_dot_product_attention: shapes query {tuple(query.shape)}, key "
                           f"{tuple(key.shape)}, value {tuple(value.shape)} do not fit: need "
                           f"query.size(-1) == key.size(-1) and key.size(-2) == value.size(-2)")


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """softmax(Q K^T * scale + mask) V, with scale = 1/sqrt(E) by default.

    `attn_mask` is a bool mask (True = may attend) or a float mask added to the scores; either
    broadcasts against (N, ..., L, S). `is_causal` masks keys after each query (top-left
    aligned, `ones(L, S).tril()`). Given together with `attn_mask`, both apply: that is what
    PyTorch 2.13 computes on CPU when it can (E == Ev, its flash kernel); its math path raises
    an error instead, which kindling does not copy. Rows where every key is masked give zeros.
    `enable_gqa` lets key/value have fewer heads (dim -3) than query, each shared by
    query.size(-3) // key.size(-3) heads. `dropout_p` is always applied when > 0 (pass 0.0 in
    evaluation), as in PyTorch.

    Shape:
        query (N, ..., L, E), key (N, ..., S, E), value (N, ..., S, Ev), output (N, ..., L, Ev).
    """
    _check_qkv(query, key, value)
    if enable_gqa and query.dim() >= 3 and query.shape[-3] != key.shape[-3]:
        hq, hk = query.shape[-3], key.shape[-3]
        if hq % hk or value.shape[-3] != hk:
            raise RuntimeError(f"scaled_dot_product_attention: with enable_gqa, the number of "
                               f"query heads ({hq}) must be a multiple of the key/value heads "
                               f"({hk}, {value.shape[-3]})")
        key = key.repeat_interleave(hq // hk, dim=-3)
        value = value.repeat_interleave(hq // hk, dim=-3)
    try:
        np.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    except ValueError:
        raise RuntimeError(f"scaled_dot_product_attention: the batch dimensions of query "
                           f"{tuple(query.shape)}, key {tuple(key.shape)} and value "
                           f"{tuple(value.shape)} cannot be broadcast together") from None
    bias = block = None
    if attn_mask is not None:
        if not isinstance(attn_mask, Tensor):
            attn_mask = _make(np.asarray(attn_mask))
        if attn_mask._array.dtype == np.bool_:
            block = ~attn_mask._array
        elif attn_mask._array.dtype.kind == "f":
            if attn_mask.dtype != query.dtype:
                raise RuntimeError(f"scaled_dot_product_attention: expected attn_mask dtype to be "
                                   f"bool or {query.dtype} to match query dtype, got "
                                   f"{attn_mask.dtype}")
            bias = attn_mask
        else:
            raise RuntimeError(f"scaled_dot_product_attention: attn_mask must be bool or float, "
                               f"got {attn_mask.dtype}")
    if is_causal:
        L, S = query.shape[-2], key.shape[-2]
        causal = np.triu(np.ones((L, S), np.bool_), 1)
        block = causal if block is None else (block | causal)
    return attention(query, key, value, bias, block, scale, dropout_p, safe=True)[0]


# --- embedding lookup -------------------------------------------------------------------------
def _index_array(input, op):
    if not isinstance(input, Tensor):
        input = _make(np.asarray(input))
    a = input._array
    if a.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {input.dtype} instead")
    return a


class Embedding(Op):
    """weight[indices]; the gradient rows are scatter-added into a zero matrix (padding row
    excluded, optionally divided by each index's frequency in the batch)."""

    @staticmethod
    def forward(ctx, weight, idx, padding_idx, scale_grad_by_freq):
        ctx.args = (idx, weight._array.shape[0], padding_idx, scale_grad_by_freq)
        return weight._array[idx]

    @staticmethod
    def backward(ctx, g):
        return EmbeddingBackward.apply(g, *ctx.args), None, None, None


def _row_scale(idx, num, padding_idx, scale_grad_by_freq, dtype):
    """Per-lookup factor of the gradient: 0 for the padding index, 1/count with
    scale_grad_by_freq; None when every factor is 1."""
    if padding_idx is None and not scale_grad_by_freq:
        return None
    flat = idx.reshape(-1)
    s = np.ones(flat.shape, dtype)
    if scale_grad_by_freq:
        s /= np.bincount(flat, minlength=num)[flat]
    if padding_idx is not None:
        s[flat == padding_idx] = 0
    return s.reshape(idx.shape)


class EmbeddingBackward(Op):
    @staticmethod
    def forward(ctx, g, idx, num, padding_idx, scale_grad_by_freq):
        ga = g._array
        d = ga.shape[-1]
        scale = _row_scale(idx, num, padding_idx, scale_grad_by_freq, ga.dtype)
        ctx.args = (idx, scale)
        rows = ga.reshape(-1, d)
        if scale is not None:
            rows = rows * scale.reshape(-1, 1)
        out = np.zeros((num, d), ga.dtype)
        # Scatter-add element by element into the flat matrix: the same sums in the same order
        # as np.add.at over rows, but on NumPy's 1-D fast path (4x faster for GPT's (32, 64)
        # token lookups into 65 x 128).
        flat_idx = (idx.reshape(-1, 1).astype(np.intp) * d + np.arange(d)).reshape(-1)
        np.add.at(out.reshape(-1), flat_idx, rows.reshape(-1))
        return out

    @staticmethod
    def backward(ctx, gg):
        idx, scale = ctx.args
        r = Embedding.apply(gg, idx, None, False)
        if scale is not None:
            r = r * _make(scale[..., None])
        return r, None, None, None, None


def embedding_renorm_(weight, idx, max_norm, norm_type):
    """Rescale, in place and outside autograd, the rows of `weight` looked up by `idx` whose
    `norm_type`-norm exceeds max_norm to norm max_norm (PyTorch's embedding_renorm_)."""
    w = weight._array
    rows = np.unique(idx.reshape(-1))
    sub = w[rows]
    norms = np.linalg.norm(sub, ord=norm_type, axis=1) if norm_type not in (np.inf, -np.inf) \
        else np.max(np.abs(sub), axis=1) if norm_type > 0 else np.min(np.abs(sub), axis=1)
    big = norms > max_norm
    if big.any():
        scale = (max_norm / (norms[big] + 1e-7)).astype(w.dtype)
        w[rows[big]] = sub[big] * scale[:, None]
        weight._vc[0] += 1
    return weight


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Rows of `weight` selected by the integer tensor `input`.

    `padding_idx`'s row receives no gradient. With `max_norm`, the looked-up rows whose norm
    exceeds it are first renormalized *in place* in `weight` (as PyTorch does). `sparse` is
    accepted for compatibility; gradients are always dense.

    Shape:
        input (*), weight (num_embeddings, embedding_dim), output (*, embedding_dim).
    """
    idx = _index_array(input, "embedding")
    if weight.dim() != 2:
        raise RuntimeError(f"embedding: 'weight' must be 2-D, got shape {tuple(weight.shape)}")
    num = weight.shape[0]
    if padding_idx is not None:
        if padding_idx > 0:
            assert padding_idx < num, "Padding_idx must be within num_embeddings"
        elif padding_idx < 0:
            assert padding_idx >= -num, "Padding_idx must be within num_embeddings"
            padding_idx = num + padding_idx
    if idx.size and (idx.min() < 0 or idx.max() >= num):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise IndexError(f"index out of range in self (index {int(bad)} for an embedding of "
                         f"{num} rows)")
    if max_norm is not None:
        embedding_renorm_(weight, idx, max_norm, norm_type)
    return Embedding.apply(weight, idx.astype(np.intp, copy=False), padding_idx,
                           scale_grad_by_freq)


FUNCTIONS = []
METHODS = {}
