"""torch.linalg: norms, matrix functions, decompositions and solvers, with PyTorch's names and
signatures."""
from .ops.linalg import (vector_norm, matrix_norm, linalg_norm as norm, matmul, vdot, det,
                         slogdet, svdvals, matrix_power, multi_dot, cross as _cross)
from .ops.decomposition import (
    LinAlgError, linalg_svd as svd, eigh, eigvalsh, eig, eigvals, linalg_qr as qr,
    linalg_cholesky as cholesky, cholesky_ex, solve_triangular, pinv, lstsq, matrix_rank,
    matrix_exp, cond, vecdot, diagonal, linalg_inv as inv, inv_ex, linalg_solve as solve,
    solve_ex)

__all__ = ["norm", "vector_norm", "matrix_norm", "matmul", "vdot", "det", "inv", "inv_ex",
           "solve", "solve_ex", "slogdet", "svdvals", "matrix_power", "multi_dot", "cross",
           "LinAlgError", "svd", "eigh", "eigvalsh", "eig", "eigvals", "qr", "cholesky",
           "cholesky_ex", "solve_triangular", "pinv", "lstsq", "matrix_rank", "matrix_exp",
           "cond", "vecdot", "diagonal"]


def cross(input, other, *, dim=-1, out=None):
    """The cross product along dim (default the last, unlike torch.cross's first size-3 dim)."""
    return _cross(input, other, dim=dim)
