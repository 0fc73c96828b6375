import numpy as np
import torch

import kindling
from oracle import check


def test_chain_matches_torch():
    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal(s).astype(np.float32) for s in [(3, 4), (4,), (1, 4)])
    check(lambda x, y, z: (x * y + z).relu().sum(), lambda x, y, z: (x * y + z).relu().sum(),
          a, b, c)
