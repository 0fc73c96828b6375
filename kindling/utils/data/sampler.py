"""Samplers (torch.utils.data's): the order in which a DataLoader visits dataset indices.

Randomness: a sampler given a `generator` draws from it, so each epoch (each `iter()`) gets a
fresh permutation and the sequence of epochs is reproducible from the generator's seed. Without
one, `RandomSampler` draws a seed from the global generator at the start of each epoch (as
PyTorch does), so `kindling.manual_seed` makes the whole run reproducible.
"""
import numpy as np

from ...engine.tensor import Tensor


class Sampler:
    """Base class: subclasses define `__iter__` (yielding indices, or lists of indices for a
    batch sampler) and, where the length is known, `__len__`."""

    def __init__(self, data_source=None):
        pass

    def __class_getitem__(cls, item):  # Sampler[int] in type hints, as PyTorch's Generic
        return cls

    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


def _check_num_samples(num_samples):
    if not isinstance(num_samples, (int, np.integer)) or isinstance(num_samples, bool) \
            or num_samples <= 0:
        raise ValueError(f"num_samples should be a positive integer value, but got "
                         f"num_samples={num_samples}")


def _check_replacement(replacement):
    if not isinstance(replacement, bool):
        raise TypeError(f"replacement should be a boolean value, but got "
                        f"replacement={replacement}")


def _fresh_generator():
    """A generator seeded from the global one: PyTorch's per-epoch behaviour for samplers built
    without a generator."""
    from ...random import Generator, _np_rng
    g = Generator()
    g.manual_seed(int(_np_rng(None).integers(0, 2 ** 63 - 1)))
    return g


class RandomSampler(Sampler):
    """A random permutation of the indices; with `replacement=True`, `num_samples` independent
    uniform draws. Without replacement, `num_samples > len(data_source)` chains permutations.
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        _check_replacement(replacement)
        _check_num_samples(self.num_samples)

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        from ...creation import randint, randperm
        n = len(self.data_source)
        g = _fresh_generator() if self.generator is None else self.generator
        count = self.num_samples
        if self.replacement:
            for _ in range(count // 32):
                yield from randint(0, n, (32,), generator=g).tolist()
            yield from randint(0, n, (count % 32,), generator=g).tolist()
        else:
            for _ in range(count // n):
                yield from randperm(n, generator=g).tolist()
            yield from randperm(n, generator=g).tolist()[:count % n]

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order (a fresh one each epoch)."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator

    def __iter__(self):
        from ...creation import randperm
        for i in randperm(len(self.indices), generator=self.generator).tolist():
            yield self.indices[i]

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """`num_samples` indices drawn with probability proportional to `weights` (which need not sum
    to one), with replacement by default. For class imbalance, give each sample the weight
    `1 / count(its class)`: every class is then drawn equally often.
    """

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        _check_num_samples(num_samples)
        _check_replacement(replacement)
        from ...creation import as_tensor
        from ...engine import dtypes
        if isinstance(weights, Tensor):
            w = weights.to(dtypes.float64)
        else:
            w = as_tensor(np.asarray(weights, dtype=np.float64), dtype=dtypes.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape "
                             f"{tuple(w.shape)}")
        self.weights = w
        self.num_samples = int(num_samples)
        self.replacement = replacement
        self.generator = generator

    def __iter__(self):
        from ...creation import multinomial
        draws = multinomial(self.weights, self.num_samples, self.replacement,
                            generator=self.generator)
        yield from iter(draws.tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups another sampler's indices into lists of `batch_size`; the last, shorter batch is
    kept unless `drop_last`.

    Example::

        >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
        [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler, batch_size, drop_last):
        if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) \
                or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got "
                             f"drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def __iter__(self):
        batch, size = [], self.batch_size
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size


class DistributedSampler(Sampler):
    """This replica's share of the dataset: every num_replicas-th index of one epoch's order,
    starting at `rank`, the order padded (by repeating its head) or cut (`drop_last`) to a
    multiple of num_replicas. With `shuffle`, the order is a permutation seeded by
    seed + epoch (call `set_epoch` each epoch), so every replica draws the same one.

    kindling runs in one process (torch.distributed is not available), so num_replicas and rank
    must be given: one process per shard of a dataset, or evaluation of a single shard."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
                 drop_last=False):
        if num_replicas is None or rank is None:
            raise RuntimeError("Requires distributed package to be available: kindling has no "
                               "torch.distributed backend, so pass num_replicas and rank")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle, self.seed, self.drop_last, self.epoch = shuffle, seed, drop_last, 0
        n = len(dataset)
        if drop_last and n % num_replicas:
            self.num_samples = -(-(n - num_replicas) // num_replicas)
        else:
            self.num_samples = -(-n // num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            from ...creation import randperm
            from ...random import Generator
            g = Generator()
            g.manual_seed(self.seed + self.epoch)
            indices = randperm(n, generator=g).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            missing = self.total_size - len(indices)
            indices += (indices * -(-missing // max(len(indices), 1)))[:missing]
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        self.epoch = epoch
