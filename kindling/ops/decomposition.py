"""Matrix decompositions and the solvers built on them (torch.linalg's svd, qr, cholesky, eigh,
...), each forward beside its gradient."""
import numpy as np

from ..engine.tensor import Tensor, _make

FUNCTIONS = []
METHODS = {}
