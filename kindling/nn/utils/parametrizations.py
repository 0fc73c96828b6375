"""Weight normalization, spectral normalization and orthogonality as parametrizations
(torch.nn.utils.parametrizations), built on `parametrize.register_parametrization`.

Unlike the older hook-based `nn.utils.weight_norm` / `spectral_norm`, these keep the trained
tensors in `module.parametrizations.<name>` (`original0` = g and `original1` = v for weight
norm, `original` otherwise) and recompute `module.<name>` at every access.
"""
from enum import Enum

import numpy as np

from ... import creation, linalg
from ...engine.grad_mode import no_grad
from ...engine.tensor import Tensor
from ...ops.linalg import mv, vdot
from ...ops.shape import cat
from .. import functional as F
from ..modules.conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from ..modules.module import Module
from . import parametrize
from .weight_norm import norm_except_dim

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]


def _tensor_named(module, name):
    tensor = getattr(module, name, None)
    if not isinstance(tensor, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    return tensor


# --- orthogonal ---------------------------------------------------------------------------------
#
# Every map works on a tall (*, n, k) matrix X, n >= k (a wide one is transposed on the way in
# and out), and returns Q with orthonormal columns:
#   matrix_exp   Q = exp(A)[:, :k]                 A = L - L^T, L = tril(X) padded to n x n
#   cayley       Q = ((I - A/2)^-1 (I + A/2))[:, :k]
#   householder  Q = H_1 ... H_k I[:, :k] * sign   H_i = I - tau_i v_i v_i^T, v_i = e_i + the
#                                                  part of column i of X below the diagonal
# With trivialization the result is `base @ Q`: assigning a matrix stores it (made orthogonal)
# in `base` and sets X = -I, where every map gives I[:, :k].

class _Map(Enum):
    matrix_exp = "matrix_exp"
    cayley = "cayley"
    householder = "householder"


def _reflections(X):
    """H_1 ... H_k I[:, :k] for the reflectors stored below the diagonal of X (*, n, k); the
    product is applied right to left to the n x k identity, O(n k) per reflection."""
    n, k = X.shape[-2:]
    V = X.tril(-1) + creation.eye(n, k, dtype=X.dtype)              # v_i = column i
    tau = 2.0 / (V * V).sum(dim=-2, keepdim=True)                  # (*, 1, k)
    Y = creation.eye(n, k, dtype=X.dtype)
    for i in reversed(range(k)):
        v = V[..., :, i:i + 1]                                      # (*, n, 1)
        Y = Y - v @ (tau[..., :, i:i + 1] * (v.mT @ Y))
    return Y


def _householder_inverse(Q):
    """An X that the householder map takes to Q (*, n, k), n >= k: Q's QR packed as LAPACK's
    geqrf (NumPy's raw QR) leaves them (reflectors below the diagonal, R above it, unused), with
    the sign of R's diagonal on the diagonal. Where geqrf needed no reflection (tau = 0) the
    forward map still reflects, flipping that column: its sign is flipped back."""
    q = Q.detach().numpy()
    X = np.empty_like(q)
    for idx in np.ndindex(q.shape[:-2]):
        packed, tau = np.linalg.qr(q[idx].astype(np.float64), mode="raw")
        packed = packed.T                                           # raw mode is transposed
        X[idx] = packed
        np.fill_diagonal(X[idx], np.sign(np.diagonal(packed)) * np.where(tau == 0.0, -1, 1))
    return creation.tensor(X)


def _orthonormalize(A):
    """The Q of A = QR with diag(R) > 0: the orthogonal matrix closest in the QR sense."""
    Q, R = linalg.qr(A)
    return Q * R.diagonal(dim1=-2, dim2=-1).sign().unsqueeze(-2)


class _Orthogonalize(Module):
    """X -> a matrix with orthonormal columns (rows, if wide) through `orthogonal_map`, times
    the buffer `base` when `use_trivialization`."""

    def __init__(self, shape, orthogonal_map, use_trivialization=True):
        super().__init__()
        self.shape = shape
        self.orthogonal_map = orthogonal_map
        self.use_trivialization = use_trivialization
        if use_trivialization:
            self.register_buffer("base", None)  # set by right_inverse, at registration

    def forward(self, X):
        wide = X.size(-2) < X.size(-1)
        if wide:
            X = X.mT
        n, k = X.shape[-2:]
        if self.orthogonal_map is _Map.householder:
            # the diagonal holds the column signs; torch truncates it to int, so do we
            Q = _reflections(X) * X.diagonal(dim1=-2, dim2=-1).int().unsqueeze(-2)
        else:
            L = X.tril()
            if n > k:
                L = cat([L, L.new_zeros(*L.shape[:-1], n - k)], dim=-1)
            A = L - L.mT
            if self.orthogonal_map is _Map.matrix_exp:
                Q = linalg.matrix_exp(A)
            else:
                Id = creation.eye(n, dtype=A.dtype)
                Q = linalg.solve(Id - 0.5 * A, Id + 0.5 * A)
            Q = Q[..., :k]
        if self.use_trivialization:
            Q = self.base @ Q
        return Q.mT if wide else Q

    def right_inverse(self, Q):
        if Q.shape != self.shape:
            raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. "
                             f"Got a tensor of shape {Q.shape}.")
        with no_grad():
            wide = Q.size(-2) < Q.size(-1)
            tall_Q = Q.mT if wide else Q
            n, k = tall_Q.shape[-2:]
            if not self.use_trivialization:
                if self.orthogonal_map is not _Map.householder:
                    raise NotImplementedError("It is not possible to assign to the matrix "
                                              "exponential or the Cayley parametrizations when "
                                              "use_trivialization=False.")
                X = _householder_inverse(tall_Q)
                return X.mT if wide else X
            if n > k:  # complete to a square matrix with random columns
                extra = creation.randn(*tall_Q.shape[:-1], n - k, dtype=Q.dtype)
                tall_Q = cat([tall_Q, extra], dim=-1)
            self.base = _orthonormalize(tall_Q)
            minus_identity = -creation.eye(*self.shape[-2:], dtype=Q.dtype)
            return minus_identity.expand(*self.shape).clone()


def orthogonal(module, name="weight", orthogonal_map=None, *, use_trivialization=True):
    """Parametrize the matrix (or batch of matrices) `module.<name>` to be orthogonal: Q^T Q = I
    when it is tall or square, Q Q^T = I when it is wide.

    `orthogonal_map`: "matrix_exp" (exp of a skew-symmetric matrix), "cayley"
    ((I - A/2)^-1 (I + A/2)) or "householder" (a product of reflections). Default, as in
    PyTorch: "matrix_exp" for square matrices, "householder" otherwise. With
    `use_trivialization` (default), the map is applied around a `base` matrix stored as a
    buffer; the current weight is made orthogonal at registration (QR, signs fixed), and
    non-square weights are completed with random columns. Without it, only "householder" can
    be assigned to.

    Example::

        >>> m = orthogonal(nn.Linear(20, 40))
        >>> torch.dist(m.weight.T @ m.weight, torch.eye(20)) < 1e-5
        tensor(True)
    """
    weight = _tensor_named(module, name)
    if weight.ndim < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of "
                         f"{weight.ndim} dimensions.")
    if orthogonal_map is None:
        square = weight.size(-2) == weight.size(-1)
        orthogonal_map = "matrix_exp" if square or weight.is_complex() else "householder"
    if orthogonal_map not in _Map.__members__:
        raise ValueError(f'orthogonal_map has to be one of "matrix_exp", "cayley", '
                         f'"householder". Got: {orthogonal_map}')
    orth = _Orthogonalize(weight.shape, _Map[orthogonal_map], use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module


# --- weight norm --------------------------------------------------------------------------------
class _WeightNormalize(Module):
    """(g, v) -> g * v / ||v||, the norm over every dim but `dim` (over all of them for -1)."""

    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def forward(self, g, v):
        return v * (g / norm_except_dim(v, 2, self.dim))

    def right_inverse(self, weight):
        return norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module, name="weight", dim=0):
    """Reparametrize `module.<name>` as g * v / ||v|| (Salimans & Kingma, 2016): g is
    `parametrizations.<name>.original0` (one norm per slice along `dim`), v is `original1`.
    `dim=None` normalizes the whole tensor. Old checkpoints with `<name>_g` / `<name>_v` keys
    (from the hook-based `nn.utils.weight_norm`) load into it.

    Example::

        >>> m = weight_norm(nn.Linear(20, 40), name="weight")
        >>> m.parametrizations.weight.original0.shape, m.parametrizations.weight.original1.shape
        (torch.Size([40, 1]), torch.Size([40, 20]))
    """
    normalize = _WeightNormalize(-1 if dim is None else dim)  # -1: norm of the whole tensor
    parametrize.register_parametrization(module, name, normalize, unsafe=True)

    def rename_old_keys(module, state_dict, prefix, *_):
        old = (f"{prefix}{name}_g", f"{prefix}{name}_v")
        if all(key in state_dict for key in old):
            for i, key in enumerate(old):
                state_dict[f"{prefix}parametrizations.{name}.original{i}"] = state_dict.pop(key)

    module.register_load_state_dict_pre_hook(rename_old_keys)
    return module


# --- spectral norm ------------------------------------------------------------------------------
class _SpectralNormalize(Module):
    """W -> W / sigma(W), sigma estimated by power iteration on W as a matrix (`dim` first, the
    other dims flattened). The singular vector estimates are the buffers `_u`, `_v`, refined in
    place by `n_power_iterations` steps at every call in training mode. A 1-D W is divided by
    its norm, its only singular value."""

    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.ndim
        if not -ndim <= dim < ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim % ndim
        self.eps = eps
        self.n_power_iterations = n_power_iterations
        if ndim > 1:
            rows, cols = self._as_matrix(weight).shape
            self.register_buffer("_u", self._unit(creation.randn(rows, dtype=weight.dtype)))
            self.register_buffer("_v", self._unit(creation.randn(cols, dtype=weight.dtype)))
            self._refine(self._as_matrix(weight), steps=15)  # start from a good estimate

    def _as_matrix(self, weight):
        return weight.movedim(self.dim, 0).flatten(1)

    def _unit(self, x):
        return F.normalize(x, dim=0, eps=self.eps)

    def _refine(self, W, steps):
        with no_grad():
            for _ in range(steps):
                self._u.copy_(self._unit(mv(W, self._v)))
                self._v.copy_(self._unit(mv(W.mT, self._u)))

    def forward(self, weight):
        if weight.ndim == 1:
            return self._unit(weight)
        W = self._as_matrix(weight)
        if self.training:
            self._refine(W, self.n_power_iterations)
        # copies: the graph must not see the buffers' later in-place updates
        sigma = vdot(self._u.clone(), mv(W, self._v.clone()))
        return weight / sigma

    def right_inverse(self, value):
        # assigning W stores W itself (every W is its own preimage, up to scale)
        return value


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Divide `module.<name>` by its spectral norm (largest singular value), estimated by power
    iteration (Miyato et al., 2018), to bound the layer's Lipschitz constant (GAN critics).

    `dim` is the output dimension (default 1 for ConvTranspose, else 0). The iteration vectors
    are the buffers `parametrizations.<name>[0]._u` / `._v`; each forward in training mode runs
    `n_power_iterations` steps, eval mode reuses them.

    Example::

        >>> snm = spectral_norm(nn.Linear(20, 40))
        >>> torch.linalg.matrix_norm(snm.weight, 2)   # ~1
    """
    weight = _tensor_named(module, name)
    if dim is None:
        transposed = isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d))
        dim = 1 if transposed else 0
    parametrize.register_parametrization(
        module, name, _SpectralNormalize(weight, n_power_iterations, dim, eps))
    return module
