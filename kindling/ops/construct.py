"""Tensors built from others by combinatorial or geometric rules (block_diag, cartesian_prod,
combinations, tril_indices, vander, trapezoid, ...), each forward beside its gradient."""
import numpy as np

from ..engine.tensor import Tensor, _make

FUNCTIONS = []
METHODS = {}
