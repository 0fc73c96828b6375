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
