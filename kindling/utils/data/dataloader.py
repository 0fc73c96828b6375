"""`DataLoader`: batches of samples from a dataset, in sampler order, as PyTorch's.

How a batch is made (auto-collation, i.e. `batch_size` is not None or a `batch_sampler` is
given): the batch sampler yields a list of indices; the samples are fetched with
`dataset.__getitems__(indices)` when the dataset defines it, else one `dataset[i]` at a time;
`collate_fn` (default `default_collate`) turns the list into a batch. With `batch_size=None`
each sample is passed through `collate_fn` (default `default_convert`) on its own.

Fast path: when the dataset is a `TensorDataset` (or a chain of `Subset`s of one, as made by
`random_split`), `collate_fn` is the default, and no tensor requires grad, the batch is taken
with one NumPy fancy-indexing per tensor instead of fetching and stacking rows one by one.
The result is the same list of tensors (same values, dtypes and shapes) as per-item collation.

Workers: `num_workers > 0` is accepted, but samples are loaded in the main process, as if by a
single worker: `get_worker_info()` returns `WorkerInfo(id=0, num_workers=1, ...)` while the
dataset is being read and `worker_init_fn(0)` is called at the start of each epoch. The global
RNG is not reseeded (that would disturb the main process's random stream). `pin_memory`,
`timeout`, `prefetch_factor`, `persistent_workers` and `multiprocessing_context` are validated
as in PyTorch and otherwise have no effect: there is no device to pin for and no worker to wait
on.
"""
import contextlib

import numpy as np

from ...engine.tensor import Tensor, _make
from .collate import default_collate, default_convert
from .dataset import IterableDataset, Subset, TensorDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler


class WorkerInfo:
    """What `get_worker_info()` returns inside a worker: id, num_workers, seed, dataset."""
    __initialized = False

    def __init__(self, **kwargs):
        for k, v in kwargs.items():
            setattr(self, k, v)
        self.__keys = tuple(kwargs)
        self.__initialized = True

    def __setattr__(self, key, val):
        if self.__initialized:
            raise RuntimeError(f"Cannot assign attributes to {self.__class__.__name__} objects")
        super().__setattr__(key, val)

    def __repr__(self):
        items = ", ".join(f"{k}={getattr(self, k)}" for k in self.__keys)
        return f"{self.__class__.__name__}({items})"


_worker_info = None


def get_worker_info():
    """The current `WorkerInfo` while a DataLoader with `num_workers > 0` reads its dataset
    (kindling's in-process stand-in for a worker), else None."""
    return _worker_info


@contextlib.contextmanager
def _as_worker(info):
    global _worker_info
    if info is None:
        yield
        return
    saved, _worker_info = _worker_info, info
    try:
        yield
    finally:
        _worker_info = saved


class _InfiniteConstantSampler(Sampler):
    """For iterable datasets: yields None forever; the dataset itself says when it ends."""

    def __iter__(self):
        while True:
            yield None


def _tensor_dataset_batch(dataset, indices):
    """The fast path: the collated batch of a TensorDataset (possibly behind Subsets) taken with
    one fancy index per tensor, or None when the fast path does not apply."""
    idx = indices
    while type(dataset) is Subset:
        sub = dataset.indices
        if isinstance(sub, Tensor):
            sub = sub._array
        if isinstance(sub, np.ndarray):
            pos = np.asarray(idx)
            if pos.dtype.kind not in "iu" or pos.ndim != 1 or not sub.ndim == 1:
                return None
            n = sub.shape[0]
            if pos.size and (pos.min() < -n or pos.max() >= n):
                return None
            idx = sub[pos]
        elif isinstance(sub, (list, range, tuple)):
            try:
                idx = [sub[i] for i in idx]
            except (IndexError, TypeError):
                return None
        else:
            return None
        dataset = dataset.dataset
    if type(dataset) is not TensorDataset:
        return None
    tensors = dataset.tensors
    if not tensors or any(t._requires_grad for t in tensors):
        return None
    try:
        rows = np.asarray(idx)
    except (TypeError, ValueError):
        return None
    if rows.dtype.kind not in "iu" or rows.ndim != 1 or rows.size == 0:
        return None
    n = tensors[0]._array.shape[0]
    if rows.min() < -n or rows.max() >= n:
        return None  # the per-item path raises the usual IndexError
    return [_make(t._array[rows]) for t in tensors]


class DataLoader:
    """Iterate over `dataset` in batches.

    Args:
        dataset: a map-style `Dataset` (indexable, with a length) or an `IterableDataset`.
        batch_size: samples per batch; None disables batching (each sample goes through
            `collate_fn`, by default `default_convert`, on its own).
        shuffle: a fresh random order each epoch (map-style datasets only).
        sampler: the order of indices (exclusive with `shuffle`).
        batch_sampler: yields lists of indices (exclusive with batch_size, shuffle, sampler and
            drop_last).
        num_workers: accepted; loading happens in this process (see the module docstring).
        collate_fn: merges a list of samples into a batch (default `default_collate`).
        drop_last: drop the last batch if it is smaller than `batch_size`.
        generator: the generator of the default `RandomSampler` when `shuffle=True`.

    Example::

        >>> ds = TensorDataset(kindling.randn(10, 3), kindling.arange(10))
        >>> for x, y in DataLoader(ds, batch_size=4, shuffle=True):
        ...     pass  # x: (4, 3), y: (4,); the last batch has 2 samples
    """
    __initialized = False

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="",
                 in_order=True):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in "
                             "multiprocessing.let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.in_order = in_order

        if isinstance(dataset, IterableDataset):
            self._dataset_kind = "iterable"
            if isinstance(shuffle, bool) and shuffle:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler "
                                 f"option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)
            self._dataset_kind = "map"

        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")

        if sampler is None:
            if self._dataset_kind == "iterable":
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self.__initialized = True

    def __setattr__(self, attr, val):
        if self.__initialized and attr in ("batch_size", "batch_sampler", "sampler",
                                           "drop_last", "dataset", "persistent_workers"):
            raise ValueError(f"{attr} attribute should not be set after "
                             f"{self.__class__.__name__} is initialized")
        super().__setattr__(attr, val)

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self):
        return _DataLoaderIter(self)

    def __len__(self):
        if self._dataset_kind == "iterable":
            length = len(self.dataset)
            if self.batch_size is not None:
                if self.drop_last:
                    length = length // self.batch_size
                else:
                    length = -(-length // self.batch_size)
            return length
        return len(self._index_sampler)


class _DataLoaderIter:
    """One epoch over a DataLoader."""

    def __init__(self, loader):
        from ...random import _np_rng
        self._loader = loader
        self._dataset = loader.dataset
        self._collate_fn = loader.collate_fn
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._iterable = loader._dataset_kind == "iterable"
        self._fast = loader.collate_fn is default_collate and self._auto_collation \
            and not self._iterable
        self._sampler_iter = iter(loader._index_sampler)
        # PyTorch draws a base seed for workers from the loader's generator at every epoch;
        # doing the same keeps the global random stream in step with PyTorch's usage.
        self._base_seed = int(_np_rng(loader.generator).integers(0, 2 ** 63 - 1))
        self._worker = None
        if loader.num_workers > 0:
            self._worker = WorkerInfo(id=0, num_workers=1, seed=self._base_seed,
                                      dataset=self._dataset)
        self._num_yielded = 0
        self._ended = False
        with _as_worker(self._worker):
            if self._worker is not None and loader.worker_init_fn is not None:
                loader.worker_init_fn(0)
            if self._iterable:
                self._dataset_iter = iter(self._dataset)

    def __iter__(self):
        return self

    def __len__(self):
        return len(self._loader)

    def __next__(self):
        if self._ended:
            raise StopIteration
        index = next(self._sampler_iter)
        with _as_worker(self._worker):
            data = self._fetch_iterable(index) if self._iterable else self._fetch_map(index)
        self._num_yielded += 1
        return data

    def _fetch_map(self, index):
        if not self._auto_collation:
            return self._collate_fn(self._dataset[index])
        if self._fast:
            batch = _tensor_dataset_batch(self._dataset, index)
            if batch is not None:
                return batch
        fetch = getattr(self._dataset, "__getitems__", None)
        if callable(fetch):
            data = fetch(index)
        else:
            data = [self._dataset[i] for i in index]
        return self._collate_fn(data)

    def _fetch_iterable(self, index):
        if not self._auto_collation:
            try:
                return self._collate_fn(next(self._dataset_iter))
            except StopIteration:
                self._ended = True
                raise
        data = []
        for _ in index:
            try:
                data.append(next(self._dataset_iter))
            except StopIteration:
                self._ended = True
                break
        if not data or (self._drop_last and len(data) < len(index)):
            self._ended = True
            raise StopIteration
        return self._collate_fn(data)
