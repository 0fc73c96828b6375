"""Positional encodings for Transformers (kindling extras, not in PyTorch): the fixed sinusoids
of Vaswani et al. (2017) and a learned table of position embeddings. Both add the encoding of
positions offset, offset+1, ... to their input."""
import math

import numpy as np

from ...engine.tensor import _make
from .dropout import Dropout
from .module import Module
from .sparse import Embedding

__all__ = ["SinusoidalPositionalEncoding", "LearnedPositionalEmbedding"]


def _seq_dim(x, batch_first):
    if x.dim() == 2:                       # unbatched (T, C)
        return 0
    if x.dim() != 3:
        raise ValueError(f"positional encoding: expected a (T, C), (T, B, C) or (B, T, C) "
                         f"input, got shape {tuple(x.shape)}")
    return 1 if batch_first else 0


def _check_length(length, offset, max_len, name):
    if offset < 0 or offset + length > max_len:
        raise ValueError(f"{name}: positions {offset}..{offset + length - 1} exceed max_len "
                         f"{max_len}; construct it with a larger max_len")


def _positions_like(table, x, seq_dim):
    """(T, C) table reshaped to broadcast against x along its sequence dim."""
    return table if x.dim() == 2 or seq_dim == 1 else table.unsqueeze(1)


class SinusoidalPositionalEncoding(Module):
    """x + PE[offset:offset+T], then dropout, with the fixed encoding

        PE[pos, 2i]   = sin(pos / 10000^(2i / d_model))
        PE[pos, 2i+1] = cos(pos / 10000^(2i / d_model))

    PE is a non-persistent buffer `pe` (max_len, d_model): it moves with `.to()` but is not
    saved in the state_dict (it is recomputed on construction).

    Shape:
        input (T, B, d_model), or (B, T, d_model) with batch_first, or (T, d_model);
        output like input.

    Example::

        >>> pos = nn.SinusoidalPositionalEncoding(16, batch_first=True)
        >>> pos(kindling.zeros(2, 5, 16)).shape
        torch.Size([2, 5, 16])
    """

    def __init__(self, d_model, max_len=5000, dropout=0.0, batch_first=False, base=10000.0,
                 dtype=None):
        super().__init__()
        self.d_model, self.max_len = d_model, max_len
        self.batch_first, self.base = batch_first, base
        self.dropout = Dropout(dropout)
        position = np.arange(max_len, dtype=np.float64)[:, None]                # (max_len, 1)
        div = np.exp(np.arange(0, d_model, 2, dtype=np.float64) * (-math.log(base) / d_model))
        pe = np.zeros((max_len, d_model), np.float64)
        pe[:, 0::2] = np.sin(position * div)
        pe[:, 1::2] = np.cos(position * div[: d_model // 2])
        from ...engine import dtypes
        np_dtype = (dtypes.as_dtype(dtype) or dtypes.get_default_dtype()).np
        self.register_buffer("pe", _make(pe.astype(np_dtype)), persistent=False)

    def forward(self, x, offset=0):
        seq_dim = _seq_dim(x, self.batch_first)
        length = x.shape[seq_dim]
        _check_length(length, offset, self.max_len, "SinusoidalPositionalEncoding")
        pe = _positions_like(self.pe[offset:offset + length], x, seq_dim)
        return self.dropout(x + pe)

    def extra_repr(self):
        return f"d_model={self.d_model}, max_len={self.max_len}, batch_first={self.batch_first}"


class LearnedPositionalEmbedding(Embedding):
    """x + E[offset:offset+T], then dropout, with E a learned (max_len, d_model) Embedding
    table (`weight`, N(0, 1) init as nn.Embedding), as in BERT and GPT-2.

    Shape:
        input (T, B, d_model), or (B, T, d_model) with batch_first, or (T, d_model);
        output like input.
    """

    def __init__(self, max_len, d_model, dropout=0.0, batch_first=False, device=None,
                 dtype=None):
        super().__init__(max_len, d_model, dtype=dtype)
        self.max_len, self.d_model, self.batch_first = max_len, d_model, batch_first
        self.dropout = Dropout(dropout)

    def forward(self, x, offset=0):
        seq_dim = _seq_dim(x, self.batch_first)
        length = x.shape[seq_dim]
        _check_length(length, offset, self.max_len, "LearnedPositionalEmbedding")
        positions = _make(np.arange(offset, offset + length, dtype=np.int64))
        table = super().forward(positions)                                      # (T, d_model)
        return self.dropout(x + _positions_like(table, x, seq_dim))

    def extra_repr(self):
        return f"{self.max_len}, {self.d_model}, batch_first={self.batch_first}"
