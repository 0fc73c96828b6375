"""kindling.utils.data against torch.utils.data: datasets, samplers, collation, DataLoader."""
import collections
import warnings

import numpy as np
import pytest
import torch
import torch.utils.data as tdata

import kindling
from kindling.utils import data as kdata


def k_and_t(array):
    return kindling.tensor(array), torch.tensor(array)


def assert_same(k, t):
    """Structure, types, dtypes and values of a kindling batch equal torch's."""
    if isinstance(t, torch.Tensor):
        assert isinstance(k, kindling.Tensor), type(k)
        assert str(k.dtype) == str(t.dtype)
        assert tuple(k.shape) == tuple(t.shape)
        np.testing.assert_array_equal(k.numpy(), t.numpy())
    elif isinstance(t, dict):
        assert type(k) is type(t) and list(k) == list(t)
        for key in t:
            assert_same(k[key], t[key])
    elif isinstance(t, (list, tuple)):
        assert type(k) is type(t) and len(k) == len(t), (type(k), type(t))
        for a, b in zip(k, t):
            assert_same(a, b)
    else:
        assert type(k) is type(t) and k == t


# --- collation ----------------------------------------------------------------------------
Point = collections.namedtuple("Point", "x y")

COLLATE_CASES = {
    "tensors": lambda T: [T([1.0, 2.0]), T([3.0, 4.0])],
    "scalars_tensors": lambda T: [T(1), T(2), T(3)],
    "tuples": lambda T: [(T([1, 2]), 1, 2.5, "a"), (T([3, 4]), 2, 3.5, "b")],
    "lists": lambda T: [[1, 2.0], [3, 4.0]],
    "dicts": lambda T: [{"x": T([1.0]), "y": 0, "s": "u"}, {"x": T([2.0]), "y": 1, "s": "v"}],
    "ordered": lambda T: [collections.OrderedDict(b=1, a=2.0)] * 3,
    "namedtuple": lambda T: [Point(1, T([1.0])), Point(2, T([2.0]))],
    "bools": lambda T: [True, False, True],
    "ints": lambda T: [1, 2, 3],
    "floats": lambda T: [1.5, 2.0],
    "strings": lambda T: ["a", "b"],
    "numpy_arrays": lambda T: [np.arange(3, dtype=np.int16), np.arange(3, dtype=np.int16)],
    "numpy_float32": lambda T: [np.ones((2, 2), np.float32), np.zeros((2, 2), np.float32)],
    "numpy_scalars": lambda T: [np.float32(1), np.float32(2)],
    "numpy_int_scalars": lambda T: [np.int32(1), np.int32(2)],
    "numpy_bool_scalars": lambda T: [np.bool_(True), np.bool_(False)],
    "nested": lambda T: [{"a": (1, [T([1.0]), 2.0])}, {"a": (3, [T([2.0]), 4.0])}],
}


@pytest.mark.parametrize("case", sorted(COLLATE_CASES))
def test_default_collate_matches_torch(case):
    make = COLLATE_CASES[case]
    assert_same(kdata.default_collate(make(kindling.tensor)),
                tdata.default_collate(make(torch.tensor)))


@pytest.mark.parametrize("data", [
    (np.arange(2), 1, "a"), {"a": np.float32(2.5), "b": [np.ones(2)]}, np.int64(3), 4.5,
    Point(np.zeros(1), 2), "text", [np.array([1, 2], dtype=np.uint8)]])
def test_default_convert_matches_torch(data):
    assert_same(kdata.default_convert(data), tdata.default_convert(data))


def test_collate_errors():
    with pytest.raises(RuntimeError, match=r"stack expects each tensor to be equal size, but got "
                                           r"\[3\] at entry 0 and \[4\] at entry 1"):
        kdata.default_collate([kindling.zeros(3), kindling.zeros(4)])
    with pytest.raises(TypeError, match="default_collate: batch must contain tensors, numpy "
                                        "arrays, numbers, dicts or lists; found <U1"):
        kdata.default_collate([np.array(["a"]), np.array(["b"])])
    with pytest.raises(TypeError, match="found <class 'object'>"):
        kdata.default_collate([object(), object()])
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal"):
        kdata.default_collate([[1, 2], [3]])


def test_collate_keeps_graph_when_samples_require_grad():
    if not hasattr(kindling, "stack"):
        pytest.skip("kindling.stack not available yet")
    a = kindling.ones(2, requires_grad=True)
    out = kdata.default_collate([a, a * 2])
    out.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [3.0, 3.0])


# --- datasets -----------------------------------------------------------------------------
def test_tensor_dataset_indexing_and_size_mismatch():
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    ds = kdata.TensorDataset(kindling.tensor(x), kindling.arange(6))
    assert len(ds) == 6
    a, b = ds[-1]
    np.testing.assert_array_equal(a.numpy(), x[-1])
    assert b.item() == 5 and b.shape == () and b.dtype == kindling.int64
    with pytest.raises(IndexError, match="out of bounds"):
        ds[6]
    with pytest.raises(ValueError, match=r"Size mismatch between tensors.*\[3, 4\]"):
        kdata.TensorDataset(kindling.zeros(3), kindling.zeros(4))
    with pytest.raises(AssertionError):  # PyTorch raises AssertionError here
        kdata.TensorDataset(kindling.zeros(3), kindling.zeros(4))


def test_subset_and_concat_indexing():
    a, b = list(range(10)), list(range(100, 105))
    sub = kdata.Subset(a, [7, 2, 5])
    assert [sub[i] for i in range(len(sub))] == [7, 2, 5] and sub[-1] == 5
    assert sub.__getitems__([0, 2]) == [7, 5]

    class DS(kdata.Dataset):
        def __init__(self, items):
            self.items = items

        def __getitem__(self, i):
            return self.items[i]

        def __len__(self):
            return len(self.items)

    cat = DS(a) + DS(b)
    assert isinstance(cat, kdata.ConcatDataset)
    tcat = tdata.ConcatDataset([a, b])
    assert cat.cumulative_sizes == tcat.cumulative_sizes == [10, 15]
    assert [cat[i] for i in range(15)] == [tcat[i] for i in range(15)]
    assert cat[-1] == tcat[-1] == 104 and cat[-15] == 0
    with pytest.raises(ValueError, match="absolute value of index"):
        cat[-16]
    with pytest.raises(IndexError):
        cat[15]
    with pytest.raises(ValueError, match="empty"):
        kdata.ConcatDataset([])


def test_iterable_dataset_chain():
    class Stream(kdata.IterableDataset):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n))

        def __len__(self):
            return self.n

    chained = Stream(2) + Stream(3)
    assert isinstance(chained, kdata.ChainDataset)
    assert list(chained) == [0, 1, 0, 1, 2] and len(chained) == 5


@pytest.mark.parametrize("n,lengths", [
    (10, [0.33, 0.33, 0.34]), (7, [0.5, 0.5]), (11, [0.1, 0.2, 0.3, 0.4]), (100, [0.8, 0.2]),
    (5, [2, 3]), (3, [0.3, 0.3, 0.4])])
def test_random_split_sizes_match_torch(n, lengths):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        k = kdata.random_split(range(n), lengths)
        t = tdata.random_split(range(n), lengths)
    assert [len(s) for s in k] == [len(s) for s in t]
    seen = sorted(i for s in k for i in (s[j] for j in range(len(s))))
    assert seen == list(range(n))


def test_random_split_errors_and_reproducibility():
    with pytest.raises(ValueError, match="Sum of input lengths"):
        kdata.random_split(range(5), [2, 2])
    with pytest.raises(ValueError, match="Fraction at index 1 is not between 0 and 1"):
        kdata.random_split(range(5), [0.5, 1.5, -1.0])
    g = kindling.Generator().manual_seed(3)
    a = [list(s.indices) for s in kdata.random_split(range(20), [0.5, 0.5], generator=g)]
    g.manual_seed(3)
    b = [list(s.indices) for s in kdata.random_split(range(20), [0.5, 0.5], generator=g)]
    assert a == b
    kindling.manual_seed(1)
    c = kdata.random_split(range(20), [10, 10])[0].indices
    kindling.manual_seed(1)
    assert kdata.random_split(range(20), [10, 10])[0].indices == c


# --- samplers ----------------------------------------------------------------------------
def test_sequential_and_batch_sampler_match_torch():
    for n, bs, drop in [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False),
                        (2, 5, True)]:
        k = kdata.BatchSampler(kdata.SequentialSampler(range(n)), bs, drop)
        t = tdata.BatchSampler(tdata.SequentialSampler(range(n)), bs, drop)
        assert list(k) == list(t) and len(k) == len(t)
    with pytest.raises(ValueError, match="batch_size should be a positive integer value, but "
                                         "got batch_size=0"):
        kdata.BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean value"):
        kdata.BatchSampler(range(3), 2, 1)


def test_random_sampler_permutations_and_reproducibility():
    s = kdata.RandomSampler(range(50))
    e1, e2 = list(s), list(s)
    assert sorted(e1) == sorted(e2) == list(range(50))
    assert e1 != e2  # a fresh permutation each epoch
    kindling.manual_seed(7)
    a = [list(s), list(s)]
    kindling.manual_seed(7)
    assert [list(s), list(s)] == a
    g = kindling.Generator().manual_seed(5)
    s = kdata.RandomSampler(range(50), generator=g)
    a = [list(s), list(s)]
    g.manual_seed(5)
    assert [list(s), list(s)] == a
    # more samples than items without replacement: chained permutations
    out = list(kdata.RandomSampler(range(4), num_samples=10))
    assert len(out) == 10 and sorted(out[:4]) == sorted(out[4:8]) == [0, 1, 2, 3]
    out = list(kdata.RandomSampler(range(4), replacement=True, num_samples=70))
    assert len(out) == 70 and set(out) <= {0, 1, 2, 3}
    with pytest.raises(ValueError, match="num_samples should be a positive integer value"):
        kdata.RandomSampler(range(4), num_samples=0)
    with pytest.raises(TypeError, match="replacement should be a boolean value"):
        kdata.RandomSampler(range(4), replacement=1)


def test_subset_random_sampler():
    s = kdata.SubsetRandomSampler([3, 9, 12, 20])
    assert sorted(s) == [3, 9, 12, 20] and len(s) == 4


def test_weighted_random_sampler_class_proportions():
    labels = np.array([0] * 900 + [1] * 90 + [2] * 10)
    counts = np.bincount(labels)
    weights = 1.0 / counts[labels]  # balance the classes
    n = 30000
    s = kdata.WeightedRandomSampler(weights, n)
    drawn = labels[np.array(list(s))]
    observed = np.bincount(drawn, minlength=3)
    expected = np.full(3, n / 3)
    chi2 = ((observed - expected) ** 2 / expected).sum()
    assert chi2 < 20, observed  # 2 degrees of freedom: P(chi2 > 20) ~ 5e-5
    assert len(s) == n
    # without replacement: distinct indices
    s = kdata.WeightedRandomSampler([1.0, 2.0, 3.0, 4.0], 4, replacement=False)
    assert sorted(s) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="weights should be a 1d sequence"):
        kdata.WeightedRandomSampler([[1.0]], 1)
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        kdata.WeightedRandomSampler([1.0], True)


# --- DataLoader ----------------------------------------------------------------------------
def _pair_datasets():
    x = np.random.default_rng(0).standard_normal((23, 3)).astype(np.float32)
    y = np.arange(23)
    return (kdata.TensorDataset(kindling.tensor(x), kindling.tensor(y)),
            tdata.TensorDataset(torch.tensor(x), torch.tensor(y)))


@pytest.mark.parametrize("batch_size,drop_last", [(1, False), (5, False), (5, True), (23, True),
                                                  (50, False), (None, False)])
def test_dataloader_sequential_matches_torch(batch_size, drop_last):
    kds, tds = _pair_datasets()
    kl = kdata.DataLoader(kds, batch_size=batch_size, drop_last=drop_last)
    tl = tdata.DataLoader(tds, batch_size=batch_size, drop_last=drop_last)
    assert len(kl) == len(tl)
    kb, tb = list(kl), list(tl)
    assert len(kb) == len(tb)
    for a, b in zip(kb, tb):
        assert_same(a, b)


def test_dataloader_fast_path_equals_per_item_collation():
    kds, _ = _pair_datasets()
    sub = kdata.Subset(kds, [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5])
    for ds in (kds, sub, kdata.Subset(sub, np.array([2, 0, 7, -1])),
               kdata.Subset(kds, kindling.tensor([4, 2, 0]))):
        fast = list(kdata.DataLoader(ds, batch_size=4))
        per_item = lambda b: kdata.default_collate(b)  # noqa: E731 (not the default: slow path)
        slow = list(kdata.DataLoader(ds, batch_size=4, collate_fn=per_item))
        assert len(fast) == len(slow)
        for a, b in zip(fast, slow):
            assert isinstance(a, list) and len(a) == 2
            for u, v in zip(a, b):
                assert u.dtype == v.dtype and u.shape == v.shape
                np.testing.assert_array_equal(u.numpy(), v.numpy())


def test_dataloader_shuffle_valid_and_reproducible():
    kds, _ = _pair_datasets()
    loader = kdata.DataLoader(kds, batch_size=4, shuffle=True)
    epoch1 = np.concatenate([y.numpy() for _, y in loader])
    epoch2 = np.concatenate([y.numpy() for _, y in loader])
    assert sorted(epoch1) == sorted(epoch2) == list(range(23))
    assert not np.array_equal(epoch1, epoch2)
    kindling.manual_seed(11)
    a = [np.concatenate([y.numpy() for _, y in loader]) for _ in range(2)]
    kindling.manual_seed(11)
    b = [np.concatenate([y.numpy() for _, y in loader]) for _ in range(2)]
    np.testing.assert_array_equal(a, b)
    g = kindling.Generator().manual_seed(2)
    loader = kdata.DataLoader(kds, batch_size=4, shuffle=True, generator=g)
    a = [np.concatenate([y.numpy() for _, y in loader]) for _ in range(2)]
    g.manual_seed(2)
    b = [np.concatenate([y.numpy() for _, y in loader]) for _ in range(2)]
    np.testing.assert_array_equal(a, b)
    # x rows stay matched with their labels
    x_all = kds.tensors[0].numpy()
    for x, y in loader:
        np.testing.assert_array_equal(x.numpy(), x_all[y.numpy()])


def test_dataloader_dict_samples_and_strings_match_torch():
    class DS:
        def __getitem__(self, i):
            return {"id": i, "name": f"n{i}", "feat": np.full(2, i, dtype=np.float32),
                    "w": float(i) / 2}

        def __len__(self):
            return 7

    for bs in (3, None):
        kb = list(kdata.DataLoader(DS(), batch_size=bs))
        tb = list(tdata.DataLoader(DS(), batch_size=bs))
        for a, b in zip(kb, tb):
            assert_same(a, b)


class Stream(kdata.IterableDataset):
    def __init__(self, n, length=True):
        self.n = n

    def __iter__(self):
        for i in range(self.n):
            yield np.array([i, i * 10])

    def __len__(self):
        return self.n


class TStream(tdata.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        for i in range(self.n):
            yield np.array([i, i * 10])

    def __len__(self):
        return self.n


@pytest.mark.parametrize("batch_size,drop_last", [(3, False), (3, True), (None, False),
                                                  (1, False), (10, True)])
def test_dataloader_iterable_dataset_matches_torch(batch_size, drop_last):
    kl = kdata.DataLoader(Stream(7), batch_size=batch_size, drop_last=drop_last)
    tl = tdata.DataLoader(TStream(7), batch_size=batch_size, drop_last=drop_last)
    assert len(kl) == len(tl)
    kb, tb = list(kl), list(tl)
    assert len(kb) == len(tb)
    for a, b in zip(kb, tb):
        assert_same(a, b)


def test_dataloader_batch_sampler_and_custom_sampler():
    kds, tds = _pair_datasets()
    batches = [[0, 5], [3], [22, 1, 2]]
    kb = list(kdata.DataLoader(kds, batch_sampler=batches))
    tb = list(tdata.DataLoader(tds, batch_sampler=batches))
    for a, b in zip(kb, tb):
        assert_same(a, b)
    kb = list(kdata.DataLoader(kds, batch_size=2, sampler=[4, 3, 2]))
    assert [y.tolist() for _, y in kb] == [[4, 3], [2]]


def test_dataloader_workers_run_in_process():
    seen = []

    def init(worker_id):
        info = kdata.get_worker_info()
        seen.append((worker_id, info.id, info.num_workers))

    kds, tds = _pair_datasets()
    kl = kdata.DataLoader(kds, batch_size=5, num_workers=2, worker_init_fn=init)
    tl = tdata.DataLoader(tds, batch_size=5)
    for a, b in zip(kl, tl):
        assert_same(a, b)
    assert seen == [(0, 0, 1)]
    assert kdata.get_worker_info() is None


def test_dataloader_option_errors_match_torch():
    kds, tds = _pair_datasets()
    cases = [
        dict(sampler=[0, 1], shuffle=True),
        dict(batch_sampler=[[0]], batch_size=2),
        dict(batch_sampler=[[0]], shuffle=True),
        dict(batch_sampler=[[0]], sampler=[0]),
        dict(batch_sampler=[[0]], drop_last=True),
        dict(batch_size=None, drop_last=True),
        dict(num_workers=-1),
        dict(timeout=-1),
        dict(prefetch_factor=2),
        dict(persistent_workers=True),
    ]
    for kwargs in cases:
        with pytest.raises(ValueError) as t_err:
            tdata.DataLoader(tds, **kwargs)
        with pytest.raises(ValueError) as k_err:
            kdata.DataLoader(kds, **kwargs)
        assert str(k_err.value) == str(t_err.value), kwargs
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        kdata.DataLoader(Stream(3), shuffle=True)
    loader = kdata.DataLoader(kds)
    with pytest.raises(ValueError, match="batch_size attribute should not be set after "
                                         "DataLoader is initialized"):
        loader.batch_size = 3


def test_dataloader_fast_path_speed():
    import time
    ds = kdata.TensorDataset(kindling.randn(20000, 8), kindling.arange(20000))
    loader = kdata.DataLoader(ds, batch_size=64, shuffle=True)
    start = time.perf_counter()
    n = sum(x.shape[0] for x, _ in loader)
    assert n == 20000
    assert time.perf_counter() - start < 2.0


def test_generic_subscription_for_type_hints():
    class MySampler(kdata.Sampler[int]):
        def __iter__(self):
            return iter([1, 0])

        def __len__(self):
            return 2

    class MyData(kdata.Dataset[tuple]):
        def __getitem__(self, i):
            return (i, float(i))

        def __len__(self):
            return 3

    out = list(kdata.DataLoader(MyData(), batch_size=2, sampler=MySampler()))
    assert [a.tolist() for a in out[0]] == [[1, 0], [1.0, 0.0]]


# --- DistributedSampler --------------------------------------------------------------------------
@pytest.mark.parametrize("n,replicas,drop_last", [(10, 3, False), (10, 3, True), (9, 3, False),
                                                  (2, 4, False), (7, 2, True)])
def test_distributed_sampler_matches_torch_unshuffled(n, replicas, drop_last):
    data = list(range(n))
    for rank in range(replicas):
        ours = kdata.DistributedSampler(data, replicas, rank, shuffle=False,
                                               drop_last=drop_last)
        theirs = tdata.DistributedSampler(data, replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_distributed_sampler_shuffles_the_same_order_on_every_replica():
    data = list(range(11))
    shards = [kdata.DistributedSampler(data, 3, r, seed=5) for r in range(3)]
    first = [list(s) for s in shards]
    covered = sorted(i for shard in first for i in shard)
    assert len(covered) == 12 and set(covered) == set(data)      # padded by one repeat
    assert [list(s) for s in shards] == first                   # same epoch, same order
    for s in shards:
        s.set_epoch(1)
    assert [list(s) for s in shards] != first
    loader = kdata.DataLoader(data, batch_size=2, sampler=shards[0])
    assert sum(len(b) for b in loader) == 4
    with pytest.raises(RuntimeError, match="pass num_replicas and rank"):
        kdata.DistributedSampler(data)
    with pytest.raises(ValueError, match=r"Invalid rank 3, rank should be in the interval \[0, 2\]"):
        kdata.DistributedSampler(data, 3, 3)
