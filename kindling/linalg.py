"""torch.linalg: norms and a few matrix functions, with PyTorch's names and signatures."""
from .ops.linalg import (vector_norm, matrix_norm, linalg_norm as norm, matmul, vdot, det, inv,
                         solve, slogdet, svdvals, matrix_power, multi_dot, cross as _cross)

__all__ = ["norm", "vector_norm", "matrix_norm", "matmul", "vdot", "det", "inv", "solve",
           "slogdet", "svdvals", "matrix_power", "multi_dot", "cross"]


def cross(input, other, *, dim=-1, out=None):
    """The cross product along dim (default the last, unlike torch.cross's first size-3 dim)."""
    return _cross(input, other, dim=dim)
