"""Batching for sequence models.

Language modelling (a 1-D stream of token ids):
  * `random_blocks` - nanoGPT style: B random windows of length T; target = input shifted by 1.
  * `bptt_batches` - char-rnn / word_language_model style: the stream is cut into B contiguous
    rows, and consecutive batches continue each row, so a recurrent model can carry its state
    across batches (truncated back-propagation through time).
Sentence batches (lists of id lists):
  * `pad_batch` pads to the longest sequence and returns lengths; `padding_mask` and
    `causal_mask` build the boolean masks nn.MultiheadAttention / nn.Transformer take
    (True = position is masked out / may not be attended to).
"""
import numpy as np

from .. import creation
from ..engine import dtypes
from ..utils.data import Dataset


def _as_array(data):
    if hasattr(data, "numpy") and not isinstance(data, np.ndarray):
        data = data.numpy()
    return np.asarray(data, dtype=np.int64).reshape(-1)


def random_blocks(data, block_size, batch_size, generator=None):
    """Sample `batch_size` random windows of `block_size` tokens from the 1-D id stream `data`.

    Returns (x, y), each an int64 tensor of shape (B, T), with y[b, t] = data[i_b + t + 1].
    Offsets come from kindling.randint, so kindling.manual_seed (or `generator`) fixes them.
    """
    data = _as_array(data)
    if len(data) <= block_size:
        raise ValueError(f"random_blocks: stream of {len(data)} tokens is too short for "
                         f"block_size={block_size}")
    ix = creation.randint(0, len(data) - block_size, (batch_size,), generator=generator).numpy()
    offsets = ix[:, None] + np.arange(block_size)[None, :]            # (B, T)
    x = creation.tensor(data[offsets], dtype=dtypes.int64)           # (B, T)
    y = creation.tensor(data[offsets + 1], dtype=dtypes.int64)       # (B, T)
    return x, y


def bptt_batches(data, batch_size, bptt, batch_first=True):
    """Yield contiguous (x, y) batches for truncated BPTT.

    The stream is trimmed to a multiple of `batch_size` and laid out as `batch_size` rows (row b
    holds the b-th contiguous slice of the text). Batch k holds columns [k*bptt, (k+1)*bptt) of
    every row; the last batch may be shorter. Shapes are (B, T) (or (T, B) if not batch_first).
    """
    data = _as_array(data)
    n = (len(data) - 1) // batch_size
    if n < 1:
        raise ValueError(f"bptt_batches: stream of {len(data)} tokens is too short for "
                         f"batch_size={batch_size}")
    xs = data[:n * batch_size].reshape(batch_size, n)                 # (B, N)
    ys = data[1:n * batch_size + 1].reshape(batch_size, n)            # (B, N): row b of xs, +1
    for start in range(0, n, bptt):
        x = xs[:, start:start + bptt]
        y = ys[:, start:start + bptt]
        if not batch_first:
            x, y = x.T, y.T
        yield (creation.tensor(np.ascontiguousarray(x), dtype=dtypes.int64),
               creation.tensor(np.ascontiguousarray(y), dtype=dtypes.int64))


class TextBlockDataset(Dataset):
    """Dataset of (x, y) windows of `block_size` tokens cut from a 1-D stream at `stride`
    (default: non-overlapping). Each item is a pair of int64 tensors of shape (T,)."""
    def __init__(self, data, block_size, stride=None):
        self.data = _as_array(data)
        self.block_size = block_size
        self.stride = stride or block_size
        self.n = max(0, (len(self.data) - block_size - 1) // self.stride + 1)

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i < 0:
            i += self.n
        if not 0 <= i < self.n:
            raise IndexError(f"TextBlockDataset index {i} out of range for {self.n} blocks")
        s = i * self.stride
        chunk = self.data[s:s + self.block_size + 1]
        return (creation.tensor(chunk[:-1], dtype=dtypes.int64),
                creation.tensor(chunk[1:], dtype=dtypes.int64))


def pad_batch(sequences, pad_id=0, max_len=None, batch_first=True):
    """Pad a list of id lists to a common length.

    Returns (ids, lengths): ids is int64 (B, T) (T = longest, or `max_len`, which truncates);
    lengths is int64 (B,) holding each (truncated) sequence's true length."""
    seqs = [list(s.tolist() if hasattr(s, "tolist") else s) for s in sequences]
    if max_len is not None:
        seqs = [s[:max_len] for s in seqs]
    T = max_len if max_len is not None else max((len(s) for s in seqs), default=0)
    out = np.full((len(seqs), T), pad_id, dtype=np.int64)             # (B, T)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = s
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)        # (B,)
    if not batch_first:
        out = np.ascontiguousarray(out.T)
    return creation.tensor(out, dtype=dtypes.int64), creation.tensor(lengths, dtype=dtypes.int64)


def padding_mask(lengths, max_len=None):
    """Boolean (B, T) mask that is True at padding positions (t >= length), the
    `key_padding_mask` convention of nn.MultiheadAttention / nn.Transformer."""
    lengths = _as_array(lengths)
    T = int(max_len if max_len is not None else (lengths.max() if len(lengths) else 0))
    mask = np.arange(T)[None, :] >= lengths[:, None]                  # (B, T)
    return creation.tensor(mask, dtype=dtypes.bool)


def causal_mask(size):
    """Boolean (T, T) mask that is True above the diagonal: position i may not attend to j > i
    (nn.MultiheadAttention's `attn_mask` convention; F.scaled_dot_product_attention's boolean
    mask means the opposite, so pass `~causal_mask(T)` there, or use is_causal=True)."""
    return creation.tensor(np.triu(np.ones((size, size), dtype=bool), k=1), dtype=dtypes.bool)
