"""kindling.engine.parallel: work split across threads covers every item once and fails loudly."""
import numpy as np
import pytest

import kindling
from kindling.engine import parallel


@pytest.fixture
def two_threads():
    previous = kindling.get_num_threads()
    kindling.set_num_threads(2)
    yield
    kindling.set_num_threads(previous)


def test_ranges_cover_every_item_once(two_threads):
    seen = np.zeros(1000, np.int64)
    calls = []

    def fn(lo, hi):
        calls.append((lo, hi))
        seen[lo:hi] += 1
    parallel.parallel_ranges(fn, 1000, min_items=100)
    assert len(calls) == 2 and (seen == 1).all()
    calls.clear()
    parallel.parallel_ranges(fn, 150, min_items=100)  # too small to split
    assert calls == [(0, 150)]


def test_split_batch_shares_out_ranges_in_order(two_threads):
    seen = np.zeros(100, np.int64)

    def fn(lo, hi):
        seen[lo:hi] += 1
        return lo, hi
    ranges = parallel.split_batch(fn, 100, min_items=10, max_items=15)
    assert (seen == 1).all()
    assert [lo for lo, _ in ranges[1:]] == [hi for _, hi in ranges[:-1]]   # in order
    assert ranges[0][0] == 0 and ranges[-1][1] == 100
    assert all(10 <= hi - lo <= 15 for lo, hi in ranges)
    assert parallel.split_batch(fn, 100, min_items=60) == [(0, 100)]  # too small to split
    assert parallel.split_batch(fn, 100) == [(0, 50), (50, 100)]     # one range per thread


def test_work_split_inside_a_pool_thread_runs_in_place(two_threads):
    """A split inside work already handed to the pool must not wait on the pool it occupies."""
    def inner(lo, hi):
        return parallel.parallel_ranges(lambda a, b: (a, b), 100, 10) + \
            parallel.split_batch(lambda a, b: (a, b), 100, 10)

    results = parallel.parallel_ranges(inner, 2, 1)  # the second half runs on a pool thread
    assert results[1] == [(0, 100), (0, 50), (50, 100)]


def test_split_batch_errors_reach_the_caller(two_threads):
    def fn(lo, hi):
        if lo >= 50:
            raise ValueError("boom")
    with pytest.raises(ValueError, match="boom"):
        parallel.split_batch(fn, 100, min_items=10, max_items=10)


def test_errors_in_a_worker_reach_the_caller(two_threads):
    def fn(lo, hi):
        if lo > 0:
            raise ValueError("boom")
    with pytest.raises(ValueError, match="boom"):
        parallel.parallel_ranges(fn, 1000, min_items=10)


def test_run_elementwise_matches_one_call(two_threads):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 300_000)).astype(np.float32)
    expected = a * 3 + b

    def update(x, y):
        x *= 3
        x += y
    parallel.run_elementwise(update, [a, b], min_items=1000)
    np.testing.assert_array_equal(a, expected)
