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

`CausalAttention` is scaled_dot_product_attention's is_causal=True without a mask or dropout
(GPT's case): the same rule, with the probabilities stored keys first so the softmax runs along
long rows, and the batch split over kindling's threads. It does not return the weights; under
create_graph its backward recomputes them in Tensor ops.

Fully masked rows: PyTorch 2.13's scaled_dot_product_attention gives zeros there (and zero
gradients); its MultiheadAttention with need_weights=True uses a plain softmax and gives NaN.
`safe=True` selects the former.
"""
import math

import numpy as np

from ..engine import grad_mode
from ..engine.function import Op
from ..engine.parallel import parallel_ranges
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
        if s.shape[-1] == 0:  # no keys: the output is the empty sum, zeros (as in PyTorch)
            ctx.save_for_backward(q, k, v)
            ctx.scale, ctx.keep = scale, keep
            return np.matmul(s, va), s
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


# --- causal attention, keys first ---------------------------------------------------------------
_MIN_PART = 1 << 15   # score elements per thread below which a handoff costs more than it saves
_BLAS_THREADS = 1 << 18  # m*n*k from which OpenBLAS threads one GEMM itself (65536 * 4)


def _over_lead(fn, arrays, scores, gemm):
    """fn(*arrays) on slices of the leading (batch) dim, run in parallel on kindling's threads:
    batch entries are independent and, while each one's GEMMs (m*n*k = `gemm`) are too small
    for BLAS to thread, one core would do all the work. `scores` is the size of the scores.
    Arrays that do not all share the leading dim are passed whole; None passes as None."""
    first = arrays[0]
    n = first.shape[0]
    if first.ndim < 3 or gemm >= _BLAS_THREADS or any(
            a is not None and (a.ndim != first.ndim or a.shape[0] != n) for a in arrays):
        fn(*arrays)
        return
    parallel_ranges(lambda lo, hi: fn(*(None if a is None else a[lo:hi] for a in arrays)), n,
                    -(-_MIN_PART * n // max(scores, 1)))


class CausalAttention(Op):
    """softmax(q k^T * scale, keys after each query masked, top-left aligned) @ v.

    The probabilities are kept transposed and keys first, P^T as (lead, S, ..., L): the batch's
    leading dim (threads take contiguous slices of it), then the keys, then the rest of the
    batch and the queries. A softmax over rows of 64 keys stored the usual way costs NumPy one
    reduction or broadcast call per row; in this layout the max, the sums, the mask and the
    divisions run along long contiguous rows, about 3x cheaper (exp, unchanged, is then most of
    the softmax). The GEMMs read P^T transposed for free. Backward is `Attention`'s rule, with
    dS^T in place of dS. On GPT's causal (32, 4, 64, 32) heads this took about 14% off the
    forward's CPU time and 7% off the backward's on one thread (the six batched GEMMs, 128 small
    ones each, are most of the rest); on two threads, splitting the batch took about 40% off
    the wall time, since BLAS runs GEMMs this small on one core."""

    @staticmethod
    def forward(ctx, q, k, v, scale):
        qa, ka, va = q._array, k._array, v._array
        L, S = qa.shape[-2], ka.shape[-2]
        batch = np.broadcast_shapes(qa.shape[:-2], ka.shape[:-2], va.shape[:-2])
        qa, ka, va = (np.broadcast_to(a, batch + a.shape[-2:]) for a in (qa, ka, va))
        ax = min(len(batch), 1)                                   # where the keys sit in pt
        pt = np.empty(batch[:ax] + (S,) + batch[ax:] + (L,), qa.dtype)
        out = _out_like(qa, batch + (L, va.shape[-1]))
        sc = qa.dtype.type(scale)
        # -inf where key j comes after query i; adding it is cheaper than a masked copy
        mask = np.where(np.arange(S)[:, None] > np.arange(L), -np.inf, 0).astype(qa.dtype)
        mask = mask.reshape((S,) + (1,) * (len(batch) - ax) + (L,))

        def run(q, k, v, out, pt):
            p_t = np.moveaxis(pt, ax, -2)                                # (..., S, L)
            np.matmul(k, np.swapaxes(q, -1, -2), out=p_t)                # S^T
            rows = pt.reshape(pt.shape[:ax] + (S, -1))                    # (lead, S, rest * L)
            rows *= sc
            pt += mask
            rows -= rows.max(axis=ax, keepdims=True)  # key 0 is never masked: finite
            np.exp(rows, out=rows)
            rows /= np.matmul(np.ones((1, S), rows.dtype), rows)        # sums by BLAS
            np.matmul(np.swapaxes(p_t, -1, -2), v, out=out)
        _over_lead(run, (qa, ka, va, out, pt), pt.size, L * S * max(qa.shape[-1], va.shape[-1]))
        ctx.save_for_backward(q, k, v)
        ctx.pt, ctx.scale = pt, scale
        return out

    @staticmethod
    def backward(ctx, g):
        q, k, v = ctx.saved_tensors
        need = ctx.needs_input_grad[:3]
        if grad_mode.is_grad_enabled():  # create_graph: P rebuilt from q and k in Tensor ops
            return _causal_backward_graph(q, k, v, g, ctx.scale, need) + (None,)
        ga, pt = g._array, ctx.pt
        batch = ga.shape[:-2]
        qa, ka, va = (np.broadcast_to(t._array, batch + t.shape[-2:]) for t in (q, k, v))
        grads = [_out_like(a, batch + a.shape[-2:]) if n else None
                 for a, n in zip((qa, ka, va), need)]
        ax = min(len(batch), 1)
        sc = qa.dtype.type(ctx.scale)

        def run(q, k, v, g, pt, gq, gk, gv):
            p_t = np.moveaxis(pt, ax, -2)                                # P^T: (..., S, L)
            if gv is not None:
                np.matmul(p_t, g, out=gv)
            if gq is not None or gk is not None:
                d = np.empty_like(pt)
                d_t = np.moveaxis(d, ax, -2)
                np.matmul(v, np.swapaxes(g, -1, -2), out=d_t)            # dP^T
                rows, p_rows = (a.reshape(a.shape[:ax] + (a.shape[ax], -1)) for a in (d, pt))
                rows -= np.einsum("...km,...km->...m", rows, p_rows)[..., None, :]
                rows *= p_rows                                           # dS^T
                if gq is not None:
                    np.matmul(np.swapaxes(d_t, -1, -2), k, out=gq)
                    gq *= sc
                if gk is not None:
                    np.matmul(d_t, q, out=gk)
                    gk *= sc
        L, S = qa.shape[-2], ka.shape[-2]
        _over_lead(run, (qa, ka, va, ga, pt, *grads), pt.size,
                   L * S * max(qa.shape[-1], va.shape[-1]))
        return tuple(None if t is None else _make(t) for t in grads) + (None,)


def _out_like(like, shape):
    """An empty array of `shape`, laid out like `like` when that has the shape (see
    `_matmul_like`)."""
    return np.empty_like(like) if like.shape == shape else np.empty(shape, like.dtype)


def _causal_backward_graph(q, k, v, g, scale, need):
    """create_graph=True: the causal softmax recomputed from q and k in Tensor ops, then the
    gradients of `Attention`'s rule, so they are differentiable again."""
    L, S = q.shape[-2], k.shape[-2]
    s = q.matmul(k.transpose(-1, -2)) * scale
    s = s.masked_fill(_make(np.triu(np.ones((L, S), np.bool_), 1)), float("-inf"))
    p = s.softmax(-1)
    gq = gk = gv = None
    if need[2]:
        gv = p.transpose(-1, -2).matmul(g)
    if need[0] or need[1]:
        dp = g.matmul(v.transpose(-1, -2))
        ds = p * (dp - (dp * p).sum(-1, keepdim=True))
        if need[0]:
            gq = ds.matmul(k) * scale
        if need[1]:
            gk = ds.transpose(-1, -2).matmul(q) * scale
    return gq, gk, gv


def _default_scale(query):
    """1/sqrt(E); with E = 0 every score is an empty sum, 0, and so is each scaled one (PyTorch
    scales q and k before their product, so its scores stay 0, not 0 * inf)."""
    e = query.shape[-1]
    return 1.0 / math.sqrt(e) if e else 1.0


def causal_attention(query, key, value, scale=None):
    """softmax(q k^T * scale + causal mask) @ v, the mask top-left aligned (query i sees keys
    0..i): scaled_dot_product_attention(..., is_causal=True) without dropout or attn_mask."""
    if scale is None:
        scale = _default_scale(query)
    return CausalAttention.apply(query, key, value, float(scale))


def attention(query, key, value, bias=None, block=None, scale=None, dropout_p=0.0, safe=True):
    """(output, weights) of dropout(softmax(q k^T * scale + bias, masked by `block`)) @ v.

    `bias` is a float Tensor added to the scores (broadcast), `block` a bool NumPy array that is
    True where attention is *not* allowed. Dropout (always applied when dropout_p > 0) zeroes
    probabilities before the product with v; the weights returned are those after dropout (the
    ones actually used, as MultiheadAttention returns them)."""
    if scale is None:
        scale = _default_scale(query)
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
        if bias is None and block is None and dropout_p == 0.0 and \
                query.numel() and key.numel() and value.numel():
            return causal_attention(query, key, value, scale)
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
