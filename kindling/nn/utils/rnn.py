"""Variable-length sequences: padding and packing (torch.nn.utils.rnn).

A `PackedSequence` stores only the real time steps of a batch: `data` holds them time-major
(all sequences' step 0, then step 1 of those still running, ...), with `batch_sizes[t]` the
number of sequences still running at step t (sequences sorted by decreasing length).
Packing and unpacking are gathers, so gradients flow through them.
"""
from collections import namedtuple

import numpy as np

from ...engine.tensor import Tensor, _make
from ...ops.shape import cat, stack

__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "pack_sequence", "unpad_sequence", "unpack_sequence"]


class PackedSequence(namedtuple("PackedSequence",
                                ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = _make(np.argsort(sorted_indices._array))
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        return type(self)(self.data.to(*args, **kwargs), self.batch_sizes, self.sorted_indices,
                          self.unsorted_indices)

    @property
    def is_cuda(self):
        return False

    def lengths(self):
        """Length of each sequence, in the original (unsorted) order."""
        sizes = self.batch_sizes._array
        lengths_sorted = (sizes[None, :] > np.arange(sizes[0])[:, None]).sum(1)
        if self.unsorted_indices is None:
            return lengths_sorted
        return lengths_sorted[self.unsorted_indices._array]


def _packed_positions(lengths_sorted):
    """For each packed row: its (time, sorted batch index)."""
    steps = int(lengths_sorted[0]) if len(lengths_sorted) else 0
    t_idx, b_idx = [], []
    for t in range(steps):
        running = int((lengths_sorted > t).sum())
        t_idx.append(np.full(running, t))
        b_idx.append(np.arange(running))
    if not t_idx:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(t_idx), np.concatenate(b_idx)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded (T, B, *) (or (B, T, *)) batch whose sequences have `lengths`."""
    lengths = np.asarray(lengths._array if isinstance(lengths, Tensor) else lengths,
                         dtype=np.int64).reshape(-1)
    if input.shape[1 if not batch_first else 0] != len(lengths):
        raise ValueError(f"pack_padded_sequence: {len(lengths)} lengths for a batch of "
                         f"{input.shape[0 if batch_first else 1]} sequences")
    if len(lengths) and lengths.min() <= 0:
        raise RuntimeError("pack_padded_sequence: length of all samples has to be greater "
                           "than 0, but found an element in 'lengths' that is <= 0")
    if enforce_sorted:
        if np.any(np.diff(lengths) > 0):
            raise RuntimeError("pack_padded_sequence: `lengths` array must be sorted in "
                               "decreasing order when `enforce_sorted` is True. You can pass "
                               "`enforce_sorted=False` to pack_padded_sequence and/or "
                               "pack_sequence to sidestep this requirement if you do not need "
                               "ONNX exportability.")
        sorted_indices = None
        order = np.arange(len(lengths))
    else:
        order = np.argsort(-lengths, kind="stable")
        sorted_indices = _make(order.astype(np.int64))
    if batch_first:
        input = input.transpose(0, 1)
    if lengths.max() > input.shape[0]:
        raise RuntimeError(f"pack_padded_sequence: a length of {lengths.max()} exceeds the "
                           f"padded length {input.shape[0]}")
    lengths_sorted = lengths[order]
    t_idx, b_idx = _packed_positions(lengths_sorted)
    data = input[_make(t_idx), _make(order[b_idx])]
    batch_sizes = _make(np.array([(lengths_sorted > t).sum() for t in
                                  range(lengths_sorted[0])], dtype=np.int64))
    return PackedSequence(data, batch_sizes, sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Inverse of pack_padded_sequence: (padded batch, lengths) in the original order."""
    data, batch_sizes = sequence.data, sequence.batch_sizes._array
    batch = int(batch_sizes[0])
    steps = len(batch_sizes)
    if total_length is not None:
        if total_length < steps:
            raise ValueError(f"pad_packed_sequence: expected total_length to be at least the "
                             f"length of the longest sequence ({steps}), got {total_length}")
        steps = total_length
    lengths_sorted = (batch_sizes[None, :] > np.arange(batch)[:, None]).sum(1)
    t_idx, b_idx = _packed_positions(lengths_sorted)
    # each (t, sorted b) slot reads a packed row, or the padding row appended at the end
    index = np.full((steps, batch), len(t_idx), dtype=np.int64)
    index[t_idx, b_idx] = np.arange(len(t_idx))
    pad_row = data[:1] * 0 + padding_value
    padded = cat([data, pad_row], 0)[_make(index)]          # (T, B_sorted, *)
    lengths = lengths_sorted
    if sequence.unsorted_indices is not None:
        padded = padded[:, sequence.unsorted_indices]
        lengths = lengths_sorted[sequence.unsorted_indices._array]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, _make(lengths.astype(np.int64))


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack tensors of shape (L_i, *) into (max L, B, *) (or (B, max L, *)), padded."""
    if len(sequences) == 0:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    longest = max(s.shape[0] for s in sequences)
    rows = []
    for s in sequences:
        missing = longest - s.shape[0]
        if missing:
            filler = s.new_full((missing,) + tuple(s.shape[1:]), padding_value)
            s = cat([s, filler] if padding_side == "right" else [filler, s], 0)
        rows.append(s)
    out = stack(rows, 0)                       # (B, T, *)
    return out if batch_first else out.transpose(0, 1)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    lengths = lengths.tolist() if isinstance(lengths, Tensor) else list(lengths)
    return [padded_sequences[i, :n] for i, n in enumerate(lengths)]


def pack_sequence(sequences, enforce_sorted=True):
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
