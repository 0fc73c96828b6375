"""Embedding lookups and multi-head attention, as in torch.nn.functional.

The two fused ops live in kindling/ops/attention.py; this module holds the composites built on
them: `embedding_bag` (lookups reduced per bag) and `multi_head_attention_forward` (projections,
masks and head reshapes around one attention op).
"""
import math
import warnings

import numpy as np

from ... import creation
from ...engine.tensor import Tensor, _make
from ...ops.attention import (attention, embedding, scaled_dot_product_attention,
                              _index_array, Embedding, EmbeddingBackward, embedding_renorm_)
from ...ops.shape import cat, pad
from .linear import linear

__all__ = ["embedding", "embedding_bag", "scaled_dot_product_attention",
           "multi_head_attention_forward"]


# --- embedding_bag ------------------------------------------------------------------------------
def _bags(idx, offsets, include_last_offset):
    """Flat indices and the bag of each, plus the number of bags."""
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated "
                             "is a mini-batch of fixed length sequences. However, found offsets "
                             f"of type {type(offsets).__name__}")
        n_bags, length = idx.shape
        return idx.reshape(-1), np.repeat(np.arange(n_bags), length), n_bags
    if idx.ndim != 1:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{idx.ndim}")
    if offsets is None:
        raise ValueError("offsets has to be a 1D Tensor but got None")
    off = _index_array(offsets, "embedding_bag").reshape(-1).astype(np.intp)
    if off.ndim != 1:
        raise ValueError("offsets has to be a 1D Tensor")
    if include_last_offset:
        starts, end = off[:-1], off[-1]
        idx = idx[:end]
    else:
        starts = off
    n_bags = len(starts)
    if n_bags and starts[0] != 0:
        raise RuntimeError(f"offsets[0] has to be 0, i.e., the first sequence in the mini-batch "
                           f"has to start from position 0. However, got {int(starts[0])}")
    bag = np.searchsorted(starts, np.arange(len(idx)), side="right") - 1
    return idx, bag, n_bags


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2,
                  scale_grad_by_freq=False, mode="mean", sparse=False, per_sample_weights=None,
                  include_last_offset=False, padding_idx=None):
    """Sums, means or maxima of bags of embeddings, without materializing the lookups per bag.

    A 2-D `input` (B, N) holds B bags of N indices; a 1-D `input` is split into bags starting at
    `offsets` (the last bag ends at `input`'s end, or at offsets[-1] with include_last_offset).
    Indices equal to `padding_idx` are left out (and not counted by the mean); empty bags give
    zeros. `per_sample_weights` (same shape as input) scales each lookup, mode='sum' only.

    Shape:
        output (B, embedding_dim).
    """
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"mode has to be one of sum, mean or max, got {mode!r}")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. "
                                  f"per_sample_weights is only supported for mode='sum' (got "
                                  f"mode='{mode}'). Please open a feature request on GitHub.")
    idx = _index_array(input, "embedding_bag")
    if per_sample_weights is not None and tuple(per_sample_weights.shape) != idx.shape:
        raise ValueError(f"embedding_bag: If per_sample_weights ({tuple(per_sample_weights.shape)})"
                         f" is not None, then it must have the same shape as the input "
                         f"({idx.shape})")
    num, dim = weight.shape
    if padding_idx is not None and padding_idx < 0:
        padding_idx += num
    flat, bag, n_bags = _bags(idx, offsets, include_last_offset)
    positions = np.arange(len(flat))
    if padding_idx is not None:
        keep = flat != padding_idx
        flat, bag, positions = flat[keep], bag[keep], positions[keep]
    if flat.size and (flat.min() < 0 or flat.max() >= num):
        raise IndexError("embedding_bag: index out of range in self")
    if max_norm is not None:
        embedding_renorm_(weight, flat, max_norm, norm_type)
    flat = flat.astype(np.intp, copy=False)
    rows = Embedding.apply(weight, flat, None, scale_grad_by_freq)             # (n, D)
    if per_sample_weights is not None:
        w = per_sample_weights.reshape(-1)[_make(positions)]
        rows = rows * w.unsqueeze(-1)
    if mode == "max":
        return _bag_max(rows, bag, n_bags)
    out = EmbeddingBackward.apply(rows, bag, n_bags, None, False)             # (B, D) sums
    if mode == "mean":
        counts = np.maximum(np.bincount(bag, minlength=n_bags), 1).astype(out._array.dtype)
        out = out / _make(counts[:, None])
    return out


def _bag_max(rows, bag, n_bags):
    r = rows._array
    n, d = r.shape
    best = np.full((n_bags, d), -np.inf, r.dtype)
    np.maximum.at(best, bag, r)
    first = np.where(r == best[bag], np.arange(n)[:, None], n)                # (n, D)
    where = np.full((n_bags, d), n, np.intp)
    np.minimum.at(where, bag, first)
    empty = where == n                                                         # (B, D)
    if n == 0:
        return _make(np.zeros((n_bags, d), r.dtype)) + rows.sum() * 0
    out = rows.gather(0, _make(np.where(empty, 0, where).astype(np.int64)))
    if empty.any():
        out = out * _make((~empty).astype(r.dtype))
    return out


# --- multi-head attention -----------------------------------------------------------------------
def _canonical_mask(mask, mask_name, target_dtype):
    """A bool mask (True = masked out) becomes an additive float mask (-inf there); a float
    mask is kept; None stays None."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        mask = _make(np.asarray(mask))
    kind = mask._array.dtype.kind
    if kind == "b":
        return _make(np.where(mask._array, -np.inf, 0.0).astype(target_dtype.np))
    if kind != "f":
        raise AssertionError(f"only bool and floating types of {mask_name} are supported")
    return mask


def _is_bool(mask):
    return np.asarray(mask._array if isinstance(mask, Tensor) else mask).dtype == np.bool_


def _check_batched(query, key, value, key_padding_mask, attn_mask, num_heads):
    if query.dim() == 3:
        if key.dim() != 3 or value.dim() != 3:
            raise AssertionError(f"For batched (3-D) `query`, expected `key` and `value` to be "
                                 f"3-D but found {key.dim()}-D and {value.dim()}-D tensors "
                                 f"respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 2:
            raise AssertionError(f"For batched (3-D) `query`, expected `key_padding_mask` to be "
                                 f"`None` or 2-D but found {key_padding_mask.dim()}-D tensor "
                                 f"instead")
        if attn_mask is not None and attn_mask.dim() not in (2, 3):
            raise AssertionError(f"For batched (3-D) `query`, expected `attn_mask` to be `None`, "
                                 f"2-D or 3-D but found {attn_mask.dim()}-D tensor instead")
        return True
    if query.dim() == 2:
        if key.dim() != 2 or value.dim() != 2:
            raise AssertionError(f"For unbatched (2-D) `query`, expected `key` and `value` to be "
                                 f"2-D but found {key.dim()}-D and {value.dim()}-D tensors "
                                 f"respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 1:
            raise AssertionError(f"For unbatched (2-D) `query`, expected `key_padding_mask` to "
                                 f"be `None` or 1-D but found {key_padding_mask.dim()}-D tensor "
                                 f"instead")
        if attn_mask is not None:
            if attn_mask.dim() not in (2, 3):
                raise AssertionError(f"For unbatched (2-D) `query`, expected `attn_mask` to be "
                                     f"`None`, 2-D or 3-D but found {attn_mask.dim()}-D tensor "
                                     f"instead")
            if attn_mask.dim() == 3:
                expected = (num_heads, query.shape[0], key.shape[0])
                if tuple(attn_mask.shape) != expected:
                    raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got "
                                         f"{tuple(attn_mask.shape)}")
        return False
    raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received "
                         f"{query.dim()}-D query tensor")


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                                 dropout_p, out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    """Multi-head attention on sequence-first inputs (PyTorch's functional form).

    Masks: `attn_mask` (L, S) or (N*num_heads, L, S) and `key_padding_mask` (N, S) are bool
    (True = do not attend) or additive float; they are merged into one additive mask.
    `is_causal` is only a hint that attn_mask is causal (attn_mask is required, as in PyTorch).
    With need_weights, rows that are fully masked give NaN (a plain softmax, as PyTorch);
    without, they give zeros (PyTorch's scaled_dot_product_attention).

    Shape:
        query (L, N, E) or (L, E); key (S, N, kdim); value (S, N, vdim);
        output (L, N, E) and weights (N, L, S) (averaged) or (N, num_heads, L, S).
    """
    is_batched = _check_batched(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not is_batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got "
                             f"{embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(f"key's sequence and batch dims {tuple(key.shape[:2])} do not "
                                 f"match value's {tuple(value.shape[:2])}")
    elif tuple(key.shape) != tuple(value.shape):
        raise AssertionError(f"key shape {tuple(key.shape)} does not match value shape "
                             f"{tuple(value.shape)}")
    dtype = query.dtype
    if key_padding_mask is not None and attn_mask is not None and \
            (_is_bool(key_padding_mask) != _is_bool(attn_mask)):
        warnings.warn("Support for mismatched key_padding_mask and attn_mask is deprecated. Use "
                      "same type for both instead.", UserWarning, stacklevel=3)
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")
    attn_mask = _canonical_mask(attn_mask, "attn_mask", dtype)

    # --- input projections
    if not use_separate_proj_weight:
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        if query is key and key is value:                      # self-attention: one GEMM
            q, k, v = linear(query, in_proj_weight, in_proj_bias).chunk(3, dim=-1)
        else:
            w_q, w_k, w_v = in_proj_weight.chunk(3)
            b_q = b_k = b_v = None
            if in_proj_bias is not None:
                b_q, b_k, b_v = in_proj_bias.chunk(3)
            q = linear(query, w_q, b_q)
            if key is value:
                k, v = linear(key, in_proj_weight[embed_dim:],
                              None if in_proj_bias is None else in_proj_bias[embed_dim:]
                              ).chunk(2, dim=-1)
            else:
                k, v = linear(key, w_k, b_k), linear(value, w_v, b_v)
    else:
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is True but q_proj_weight, "
                                 "k_proj_weight or v_proj_weight is None")
        b_q = b_k = b_v = None
        if in_proj_bias is not None:
            b_q, b_k, b_v = in_proj_bias.chunk(3)
        q = linear(query, q_proj_weight, b_q)
        k = linear(key, k_proj_weight, b_k)
        v = linear(value, v_proj_weight, b_v)

    # --- attn_mask to (1 or N*H, L, S)
    if attn_mask is not None:
        if attn_mask.dim() == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {tuple(attn_mask.shape)}, "
                                   f"but should be {(tgt_len, src_len)}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.dim() == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(f"The shape of the 3D attn_mask is {tuple(attn_mask.shape)}, "
                                   f"but should be {(bsz * num_heads, tgt_len, src_len)}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")

    # --- learned extra key/value (bias_k, bias_v)
    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise AssertionError("bias cannot be added to static key/value.")
        k = cat([k, bias_k.expand(1, bsz, embed_dim)])
        v = cat([v, bias_v.expand(1, bsz, embed_dim)])
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))
    elif bias_k is not None or bias_v is not None:
        raise AssertionError("bias_k and bias_v must both be given or both be None")

    # --- heads: (L, N, E) -> (N*H, L, hd)
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    if static_k is None:
        k = k.reshape(k.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    else:
        k = static_k
    if static_v is None:
        v = v.reshape(v.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    else:
        v = static_v
    if add_zero_attn:
        zeros = creation.zeros((bsz * num_heads, 1, head_dim), dtype=k.dtype)
        k = cat([k, zeros], dim=1)
        v = cat([v, zeros], dim=1)
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))
    src_len = k.shape[1]

    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise AssertionError(f"expecting key_padding_mask shape of {(bsz, src_len)}, but got "
                                 f"{tuple(key_padding_mask.shape)}")
        kpm = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(bsz, num_heads, 1, src_len) \
            .reshape(bsz * num_heads, 1, src_len)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    if not training:
        dropout_p = 0.0

    out, weights = attention(q, k, v, attn_mask, None, 1.0 / math.sqrt(head_dim),
                             dropout_p, safe=not need_weights)            # (N*H, L, hd)
    out = out.transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
    if not is_batched:
        out = out.squeeze(1)
    if not need_weights:
        return out, None
    weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
    if average_attn_weights:
        weights = weights.mean(dim=1)
    if not is_batched:
        weights = weights.squeeze(0)
    return out, weights
