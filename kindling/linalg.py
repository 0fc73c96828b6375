"""torch.linalg: norms and a few matrix functions, with PyTorch's names and signatures."""
from .ops.linalg import (vector_norm, matrix_norm, linalg_norm as norm, matmul, vdot, det, inv,
                         solve, slogdet, svdvals)

__all__ = ["norm", "vector_norm", "matrix_norm", "matmul", "vdot", "det", "inv", "solve",
           "slogdet", "svdvals"]
