import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import pytest  # noqa: E402

import kindling  # noqa: E402

# pytest -n 2 runs one worker per core: one BLAS thread each, or OpenBLAS threads fight over
# the cores (small matrix products then get many times slower).
kindling.set_num_threads(1)

SHARED_DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")


@pytest.fixture(autouse=True)
def _seed():
    kindling.manual_seed(0)
    yield
