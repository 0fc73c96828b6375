"""Datasets (torch.utils.data's): map-style `Dataset`, `IterableDataset`, and their combinators.

A map-style dataset answers `dataset[i]` and `len(dataset)`; an iterable one answers
`iter(dataset)`. `TensorDataset` pairs tensors along their first dimension; `Subset`,
`ConcatDataset`, `ChainDataset` and `random_split` build datasets out of others.
"""
import bisect
import itertools
import math
import warnings

import numpy as np

from ...engine.tensor import Tensor, _make


class Dataset:
    """A map-style dataset: subclasses define `__getitem__(index)` and usually `__len__()`.

    `dataset_a + dataset_b` is a `ConcatDataset`. A subclass may also define
    `__getitems__(indices)` returning a list of samples; the DataLoader then fetches a whole
    batch with one call.
    """

    def __class_getitem__(cls, item):  # Dataset[T] in type hints, as PyTorch's Generic
        return cls

    def __getitem__(self, index):
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset that is a stream of samples: subclasses define `__iter__()`.

    `a + b` is a `ChainDataset`. With a DataLoader, batching takes consecutive samples.
    """

    def __iter__(self):
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")

    def __add__(self, other):
        return ChainDataset([self, other])


class _InvalidArgument(ValueError, AssertionError):
    """PyTorch asserts here (AssertionError); a ValueError is what the check really is. Being
    both, `except` clauses written for either catch it."""


def _row(t, index):
    """`t[index]` for a dataset sample. An integer row of a tensor that does not require grad is
    taken straight from the array: a view sharing memory, as PyTorch's `t[i]`."""
    if isinstance(index, (int, np.integer)) and not isinstance(index, bool) \
            and not t._requires_grad:
        n = t._array.shape[0]
        if not -n <= index < n:
            raise IndexError(f"index {index} is out of bounds for dimension 0 with size {n}")
        return _make(t._array[index, ...], vc=t._vc, base=t)
    return t[index]


class TensorDataset(Dataset):
    """Samples are tuples `(t[i] for t in tensors)`; all tensors share their first dimension.

    Example::

        >>> ds = TensorDataset(kindling.randn(100, 3), kindling.arange(100))
        >>> x, y = ds[0]
    """

    def __init__(self, *tensors):
        for t in tensors:
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset: expected tensors, got {type(t).__name__}")
            if t.ndim == 0:
                raise ValueError("TensorDataset: every tensor needs a first dimension to index; "
                                 "got a 0-d tensor")
        if tensors and any(t.shape[0] != tensors[0].shape[0] for t in tensors):
            sizes = [t.shape[0] for t in tensors]
            raise _InvalidArgument(f"Size mismatch between tensors: sizes along dimension 0 are "
                                f"{sizes}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(_row(t, index) for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]


class StackDataset(Dataset):
    """Samples gather the i-th sample of each dataset: a tuple (positional arguments) or a dict
    (keyword arguments). All datasets have the same length."""

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise ValueError("Supported either ``tuple``- (via ``args``) or``dict``- (via "
                             "``kwargs``) like input/output, but both types are given.")
        datasets = args or tuple(kwargs.values())
        if not datasets:
            raise ValueError("At least one dataset should be passed")
        self._length = len(datasets[0])
        if any(len(d) != self._length for d in datasets):
            raise ValueError(f"Size mismatch between datasets: lengths "
                             f"{[len(d) for d in datasets]}")
        self.datasets = args if args else kwargs

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self):
        return self._length


class ConcatDataset(Dataset):
    """The datasets one after another. `cumulative_sizes[k]` is the total length of the first
    k + 1 datasets; an index is located by binary search over it."""

    @staticmethod
    def cumsum(sequence):
        out, total = [], 0
        for d in sequence:
            total += len(d)
            out.append(total)
        return out

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise _InvalidArgument("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise _InvalidArgument("ConcatDataset does not support IterableDataset (use "
                                       "ChainDataset)")
        self.cumulative_sizes = self.cumsum(self.datasets)

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        n = len(self)
        if idx < 0:
            if -idx > n:
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = n + idx
        if idx >= n:
            raise IndexError(f"index {idx} is out of range for a ConcatDataset of length {n}")
        k = bisect.bisect_right(self.cumulative_sizes, idx)
        sample_idx = idx if k == 0 else idx - self.cumulative_sizes[k - 1]
        return self.datasets[k][sample_idx]


class ChainDataset(IterableDataset):
    """Iterable datasets chained: iterates over each in turn."""

    def __init__(self, datasets):
        self.datasets = datasets

    def __iter__(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self):
        total = 0
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError("ChainDataset only supports IterableDataset")
            total += len(d)
        return total


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order: `Subset(ds, idx)[i] == ds[idx[i]]`."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices):
        fetch = getattr(self.dataset, "__getitems__", None)
        if callable(fetch):
            return fetch([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self):
        return len(self.indices)


def random_split(dataset, lengths, generator=None):
    """Split `dataset` into non-overlapping random `Subset`s of the given lengths.

    `lengths` are sizes summing to `len(dataset)`, or fractions summing to 1: each split then
    gets `floor(len * fraction)` items and the remaining items go one each to the splits in
    order (round-robin), as in PyTorch. The permutation comes from `generator` (default: the
    global generator, so `kindling.manual_seed` makes it reproducible).
    """
    from ...random import default_generator
    from ...creation import randperm
    generator = default_generator if generator is None else generator
    n = len(dataset)
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        sizes = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            sizes.append(int(math.floor(n * frac)))
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        lengths = sizes
        for i, length in enumerate(lengths):
            if length == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an "
                              f"empty dataset.")
    if sum(lengths) != n:
        raise ValueError(f"Sum of input lengths does not equal the length of the input dataset! "
                         f"(lengths {lengths} sum to {sum(lengths)}, the dataset has {n} items)")
    indices = randperm(sum(lengths), generator=generator).tolist()
    return [Subset(dataset, indices[end - length:end])
            for end, length in zip(itertools.accumulate(lengths), lengths)]
