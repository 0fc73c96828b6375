"""Attention layers: PyTorch's MultiheadAttention, and the classic seq2seq attentions (Bahdanau's
additive, Luong's dot and general) as kindling extras."""
import math

import numpy as np

from ... import creation
from ...engine.tensor import Tensor, _make
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .linear import Linear
from .module import Module

__all__ = ["MultiheadAttention", "AdditiveAttention", "DotProductAttention", "LuongAttention",
           "GeneralAttention"]


class NonDynamicallyQuantizableLinear(Linear):
    """A Linear under PyTorch's name for MultiheadAttention's output projection (the name is
    kept so `repr` and checkpoints match)."""


class MultiheadAttention(Module):
    """MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O, head_i = Attention(Q W_i^Q,
    K W_i^K, V W_i^V), with Attention(q, k, v) = softmax(q k^T / sqrt(head_dim)) v.

    Parameters as PyTorch: `in_proj_weight` (3E, E) and `in_proj_bias` (3E) when kdim = vdim =
    embed_dim, else `q_proj_weight`, `k_proj_weight`, `v_proj_weight`; `out_proj` (Linear);
    `bias_k`, `bias_v` (1, 1, E) with add_bias_kv. Projections start xavier-uniform, biases 0.

    forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False) -> (attn_output, attn_weights or None).
    Bool masks are True where attention is *not* allowed; float masks are added to the scores.

    Shape:
        query (L, N, E) ((N, L, E) with batch_first, or unbatched (L, E)); key (S, N, kdim);
        value (S, N, vdim); key_padding_mask (N, S); attn_mask (L, S) or (N*num_heads, L, S);
        attn_output like query; attn_weights (N, L, S) or (N, num_heads, L, S).

    Example::

        >>> mha = nn.MultiheadAttention(16, 4, batch_first=True)
        >>> x = kindling.randn(2, 5, 16)
        >>> out, w = mha(x, x, x)
        >>> out.shape, w.shape
        (torch.Size([2, 5, 16]), torch.Size([2, 5, 5]))
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        super().__init__()
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")

        def empty(*shape):
            return Parameter(creation.empty(shape, dtype=dtype))

        if not self._qkv_same_embed_dim:
            self.q_proj_weight = empty(embed_dim, embed_dim)
            self.k_proj_weight = empty(embed_dim, self.kdim)
            self.v_proj_weight = empty(embed_dim, self.vdim)
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = empty(3 * embed_dim, embed_dim)
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        if bias:
            self.in_proj_bias = empty(3 * embed_dim)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias,
                                                        dtype=dtype)
        if add_bias_kv:
            self.bias_k = empty(1, 1, embed_dim)
            self.bias_v = empty(1, 1, embed_dim)
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        is_batched = query.dim() == 3
        if self.batch_first and is_batched:
            # keep identity (self-attention takes the single fused projection)
            if key is value:
                if query is key:
                    query = key = value = query.transpose(1, 0)
                else:
                    query, key = query.transpose(1, 0), key.transpose(1, 0)
                    value = key
            else:
                query, key, value = (x.transpose(1, 0) for x in (query, key, value))
        separate = not self._qkv_same_embed_dim
        out, weights = F.multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight,
            self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout,
            self.out_proj.weight, self.out_proj.bias, training=self.training,
            key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask,
            use_separate_proj_weight=separate, q_proj_weight=self.q_proj_weight,
            k_proj_weight=self.k_proj_weight, v_proj_weight=self.v_proj_weight,
            average_attn_weights=average_attn_weights, is_causal=is_causal)
        if self.batch_first and is_batched:
            return out.transpose(1, 0), weights
        return out, weights


# --- seq2seq attention (kindling extras) ---------------------------------------------------------
def _masked_softmax(scores, mask):
    """softmax over the last dim; `mask` (bool, True = may attend) broadcasts against scores."""
    if mask is not None:
        if not isinstance(mask, Tensor):
            mask = _make(np.asarray(mask, dtype=np.bool_))
        scores = scores.masked_fill(~mask, float("-inf"))
    return F.softmax(scores, dim=-1)


def _attend(scores, values, mask):
    weights = _masked_softmax(scores, mask)                    # (B, [T,] S)
    if weights.dim() == 2:
        context = weights.unsqueeze(1).bmm(values).squeeze(1)   # (B, Dv)
    else:
        context = weights.bmm(values)                           # (B, T, Dv)
    return context, weights


class AdditiveAttention(Module):
    """Bahdanau et al. (2015) additive attention (kindling extra, not in PyTorch).

        score(q, k_s) = v^T tanh(W_q q + W_k k_s)
        weights = softmax_s(score) (masked positions excluded), context = sum_s weights_s v_s

    `W_q` (hidden_dim x query_dim, no bias), `W_k` (hidden_dim x key_dim, with bias) and `v`
    (hidden_dim) are Linear layers `query_proj`, `key_proj`, `score_proj`.

    forward(query, keys, values=None, mask=None) -> (context, weights); values default to keys;
    `mask` is bool, True where a key may be attended (e.g. not padding).

    Shape:
        query (B, query_dim) or (B, T, query_dim); keys (B, S, key_dim); values (B, S, Dv);
        mask (B, S) (or broadcastable to weights); context (B, Dv) or (B, T, Dv);
        weights (B, S) or (B, T, S).

    Example::

        >>> att = nn.AdditiveAttention(8, 6, 10)
        >>> ctx, w = att(kindling.randn(2, 8), kindling.randn(2, 5, 6))
        >>> ctx.shape, w.shape
        (torch.Size([2, 6]), torch.Size([2, 5]))
    """

    def __init__(self, query_dim, key_dim, hidden_dim, device=None, dtype=None):
        super().__init__()
        self.query_dim, self.key_dim, self.hidden_dim = query_dim, key_dim, hidden_dim
        self.query_proj = Linear(query_dim, hidden_dim, bias=False, dtype=dtype)
        self.key_proj = Linear(key_dim, hidden_dim, bias=True, dtype=dtype)
        self.score_proj = Linear(hidden_dim, 1, bias=False, dtype=dtype)

    def forward(self, query, keys, values=None, mask=None):
        values = keys if values is None else values
        single = query.dim() == 2
        q = self.query_proj(query.unsqueeze(1) if single else query)          # (B, T, H)
        k = self.key_proj(keys)                                                # (B, S, H)
        e = (q.unsqueeze(2) + k.unsqueeze(1)).tanh()                           # (B, T, S, H)
        scores = self.score_proj(e).squeeze(-1)                                # (B, T, S)
        if single:
            scores = scores.squeeze(1)                                         # (B, S)
        if mask is not None and single is False and mask.dim() == 2:
            mask = mask.unsqueeze(1)                                           # (B, 1, S)
        return _attend(scores, values, mask)

    def extra_repr(self):
        return (f"query_dim={self.query_dim}, key_dim={self.key_dim}, "
                f"hidden_dim={self.hidden_dim}")


class DotProductAttention(Module):
    """Luong et al. (2015) "dot" attention (kindling extra, not in PyTorch).

        score(q, k_s) = q . k_s   (divided by sqrt(d) with scale=True)
        weights = softmax_s(score) (masked positions excluded), context = sum_s weights_s v_s

    forward(query, keys, values=None, mask=None) -> (context, weights), shapes as
    AdditiveAttention with query_dim = key_dim = d.
    """

    def __init__(self, scale=False):
        super().__init__()
        self.scale = scale

    def forward(self, query, keys, values=None, mask=None):
        values = keys if values is None else values
        single = query.dim() == 2
        q = query.unsqueeze(1) if single else query                           # (B, T, D)
        scores = q.bmm(keys.transpose(1, 2))                                   # (B, T, S)
        if self.scale:
            scores = scores / math.sqrt(query.shape[-1])
        if single:
            scores = scores.squeeze(1)
        elif mask is not None and mask.dim() == 2:
            mask = mask.unsqueeze(1)
        return _attend(scores, values, mask)

    def extra_repr(self):
        return f"scale={self.scale}"


LuongAttention = DotProductAttention


class GeneralAttention(Module):
    """Luong et al. (2015) "general" attention (kindling extra, not in PyTorch).

        score(q, k_s) = q^T W k_s,  W of shape (query_dim, key_dim), xavier-uniform init
        weights = softmax_s(score) (masked positions excluded), context = sum_s weights_s v_s

    forward(query, keys, values=None, mask=None) -> (context, weights), shapes as
    AdditiveAttention.
    """

    def __init__(self, query_dim, key_dim, device=None, dtype=None):
        super().__init__()
        self.query_dim, self.key_dim = query_dim, key_dim
        self.weight = Parameter(creation.empty((query_dim, key_dim), dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self):
        init.xavier_uniform_(self.weight)

    def forward(self, query, keys, values=None, mask=None):
        values = keys if values is None else values
        single = query.dim() == 2
        q = (query.unsqueeze(1) if single else query).matmul(self.weight)     # (B, T, key_dim)
        scores = q.bmm(keys.transpose(1, 2))                                   # (B, T, S)
        if single:
            scores = scores.squeeze(1)
        elif mask is not None and mask.dim() == 2:
            mask = mask.unsqueeze(1)
        return _attend(scores, values, mask)

    def extra_repr(self):
        return f"query_dim={self.query_dim}, key_dim={self.key_dim}"
