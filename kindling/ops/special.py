"""Special functions of the gamma family and their relatives (lgamma, digamma, polygamma, ...),
each forward beside its gradient; the NumPy kernels live in ops/_special.py."""
import numpy as np

from ..engine.tensor import Tensor, _make

FUNCTIONS = []
METHODS = {}
