"""Weight normalization, spectral normalization and orthogonality as parametrizations
(torch.nn.utils.parametrizations), built on `parametrize.register_parametrization`.

Unlike the older hook-based `nn.utils.weight_norm` / `spectral_norm`, these keep the trained
tensors in `module.parametrizations.weight` (`original0` = g and `original1` = v for weight
norm, `original` otherwise) and recompute `module.weight` at every access.
"""
from enum import Enum, auto

import numpy as np

from ... import creation
from ...engine.grad_mode import no_grad
from ...engine.tensor import Tensor, _make
from ...ops.linalg import matmul, mv, vdot
from ...ops.shape import cat
from .. import functional as F
from ..modules.conv import ConvTranspose1d, ConvTranspose2d
from ..modules.module import Module
from . import parametrize
from .weight_norm import norm_except_dim

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]


# --- orthogonal ---------------------------------------------------------------------------------
def _is_orthogonal(Q):
    n, k = Q.size(-2), Q.size(-1)
    Id = creation.eye(k, dtype=Q.dtype)
    eps = 10.0 * n * float(np.finfo(Q._array.dtype).eps)
    return bool(np.allclose((Q.mT @ Q)._array, Id._array, rtol=1e-5, atol=eps))


def _make_orthogonal(A):
    """The Q of A = QR, with the signs making diag(R) positive: the unique orthogonal factor
    (PyTorch computes it with geqrf + householder_product; NumPy's qr is the same LAPACK
    geqrf/orgqr pair). Used under no_grad only."""
    a = A._array
    q, r = np.linalg.qr(a)
    signs = np.sign(np.diagonal(r, axis1=-2, axis2=-1))
    return _make((q * signs[..., None, :]).astype(a.dtype, copy=False))


def _geqrf(A):
    """LAPACK's geqrf on each matrix of A: (the packed R and Householder vectors, tau)."""
    a = A._array
    batch = a.shape[:-2]
    flat = a.reshape((-1,) + a.shape[-2:])
    hs, taus = [], []
    for m in flat:
        h, tau = np.linalg.qr(m.astype(np.float64), mode="raw")  # h is the transposed result
        hs.append(h.T)
        taus.append(tau)
    h = np.stack(hs).reshape(batch + a.shape[-2:]).astype(a.dtype)
    tau = np.stack(taus).reshape(batch + (min(a.shape[-2:]),)).astype(a.dtype)
    return _make(h), _make(tau)


def _householder_product(A, tau):
    """torch.linalg.householder_product as differentiable kindling ops: the first k columns of
    H_1 ... H_k, H_i = I - tau_i v_i v_i^T, v_i = e_i + (A's column i below the diagonal).
    A is (*, n, k) and strictly lower triangular here, so V = A + I_{n,k}."""
    n, k = A.shape[-2], A.shape[-1]
    V = A + creation.eye(n, k, dtype=A.dtype)
    Q = creation.eye(n, dtype=A.dtype).expand(*A.shape[:-2], n, n)
    for i in range(k):
        v = V[..., :, i:i + 1]                                   # (*, n, 1)
        t = tau[..., i:i + 1].unsqueeze(-1)                      # (*, 1, 1)
        Q = Q - matmul(matmul(Q, v) * t, v.mT)                   # Q H_i
    return Q[..., :, :k]


class _OrthMaps(Enum):
    matrix_exp = auto()
    cayley = auto()
    householder = auto()


class _Orthogonal(Module):
    """X -> an orthogonal matrix (or one with orthonormal columns/rows). With trivialization
    (`base` buffer), the result is `base @ map(X)` and assigning Q stores Q in `base` and X = -I
    (map(-I) = I), so training moves around the last assigned matrix."""

    def __init__(self, weight, orthogonal_map, *, use_trivialization=True):
        super().__init__()
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X):
        n, k = X.size(-2), X.size(-1)
        transposed = n < k
        if transposed:
            X = X.mT
            n, k = k, n
        # X is now (*, n, k) with n >= k
        if self.orthogonal_map in (_OrthMaps.matrix_exp, _OrthMaps.cayley):
            X = X.tril()
            if n != k:
                X = cat([X, X.new_zeros(n, n - k).expand(*X.shape[:-2], -1, -1)], dim=-1)
            A = X - X.mT  # skew-symmetric
            if self.orthogonal_map == _OrthMaps.matrix_exp:
                from ... import linalg
                Q = linalg.matrix_exp(A)
            else:
                from ... import linalg
                Id = creation.eye(n, dtype=A.dtype)
                Q = linalg.solve(Id - 0.5 * A, Id + 0.5 * A)  # (I - A/2)^-1 (I + A/2)
            if n != k:
                Q = Q[..., :k]
        else:
            # the strictly lower part holds the Householder vectors; the diagonal, their signs
            A = X.tril(diagonal=-1)
            tau = 2.0 / (1.0 + (A * A).sum(dim=-2))
            Q = _householder_product(A, tau)
            Q = Q * X.diagonal(dim1=-2, dim2=-1).int().unsqueeze(-2)
        if hasattr(self, "base"):
            Q = self.base @ Q
        if transposed:
            Q = Q.mT
        return Q

    def right_inverse(self, Q):
        with no_grad():
            if Q.shape != self.shape:
                raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. "
                                 f"Got a tensor of shape {Q.shape}.")
            Q_init = Q
            n, k = Q.size(-2), Q.size(-1)
            transpose = n < k
            if transpose:
                Q = Q.mT
                n, k = k, n
            if not hasattr(self, "base"):
                # no trivialization: only the householder map can represent any Q directly
                if self.orthogonal_map in (_OrthMaps.cayley, _OrthMaps.matrix_exp):
                    raise NotImplementedError("It is not possible to assign to the matrix "
                                              "exponential or the Cayley parametrizations when "
                                              "use_trivialization=False.")
                A, tau = _geqrf(Q)
                # the diagonal of A becomes the signs of R's diagonal (flipped where tau == 0:
                # LAPACK stored no reflection there), which forward applies to Q's columns
                a = A._array
                diag = np.sign(np.diagonal(a, axis1=-2, axis2=-1)).copy()
                diag[tau._array == 0.0] *= -1
                idx = np.arange(diag.shape[-1])
                a[..., idx, idx] = diag
                return A.mT if transpose else A
            if n == k:
                # a general Q is first made orthogonal
                Q = _make_orthogonal(Q) if not _is_orthogonal(Q) else Q.clone()
            else:
                # complete the n x k matrix to an n x n orthogonal one with random columns
                N = creation.randn(*(tuple(Q.shape[:-2]) + (n, n - k)), dtype=Q.dtype)
                Q = _make_orthogonal(cat([Q, N], dim=-1))
            self.base = Q
            # map(-I) = I, so forward gives base (its first k columns)
            neg_Id = creation.zeros_like(Q_init)
            idx = np.arange(min(Q_init.shape[-2:]))
            neg_Id._array[..., idx, idx] = -1.0
            return neg_Id


def orthogonal(module, name="weight", orthogonal_map=None, *, use_trivialization=True):
    """Parametrize the matrix (or batch of matrices) `module.<name>` to be orthogonal: Q^T Q = I
    when it is tall or square, Q Q^T = I when it is wide.

    `orthogonal_map`: "matrix_exp" (exp of a skew-symmetric matrix), "cayley"
    ((I - A/2)^-1 (I + A/2)) or "householder" (a product of reflections). Default, as in
    PyTorch: "matrix_exp" for square matrices, "householder" otherwise. With
    `use_trivialization` (default), the map is applied around a `base` matrix stored as a
    buffer; the current weight is made orthogonal at registration (QR, signs fixed), and
    non-square weights are completed with random columns.

    Example::

        >>> m = orthogonal(nn.Linear(20, 40))
        >>> torch.dist(m.weight.T @ m.weight, torch.eye(20)) < 1e-5
        tensor(True)
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of "
                         f"{weight.ndim} dimensions.")
    if orthogonal_map is None:
        orthogonal_map = ("matrix_exp" if weight.size(-2) == weight.size(-1)
                          or weight.is_complex() else "householder")
    orth_enum = getattr(_OrthMaps, orthogonal_map, None)
    if orth_enum is None:
        raise ValueError(f'orthogonal_map has to be one of "matrix_exp", "cayley", '
                         f'"householder". Got: {orthogonal_map}')
    orth = _Orthogonal(weight, orth_enum, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module


# --- weight norm --------------------------------------------------------------------------------
class _WeightNorm(Module):
    """(g, v) -> g * v / ||v||, the norm over every dim but `dim` (all of them for dim=None)."""

    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return weight_v * (weight_g / norm_except_dim(weight_v, 2, self.dim))

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
    _weight_norm = _WeightNorm(dim)
    parametrize.register_parametrization(module, name, _weight_norm, unsafe=True)

    def _weight_norm_compat_hook(state_dict, prefix, local_metadata, strict, missing_keys,
                                 unexpected_keys, error_msgs):
        g_key, v_key = f"{prefix}{name}_g", f"{prefix}{name}_v"
        if g_key in state_dict and v_key in state_dict:
            original0 = state_dict.pop(g_key)
            original1 = state_dict.pop(v_key)
            state_dict[f"{prefix}parametrizations.{name}.original0"] = original0
            state_dict[f"{prefix}parametrizations.{name}.original1"] = original1

    module._register_load_state_dict_pre_hook(_weight_norm_compat_hook)
    return module


# --- spectral norm ------------------------------------------------------------------------------
class _SpectralNorm(Module):
    """W -> W / sigma(W), sigma estimated by power iteration on W viewed as a matrix (dim first,
    the rest flattened). The vectors `_u`, `_v` are buffers, updated in place by
    `n_power_iterations` steps at each call in training mode; 1-D weights are just normalized."""

    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            # 1-D weights need no power iteration: their only singular value is their norm
            self.n_power_iterations = n_power_iterations
            weight_mat = self._reshape_weight_to_matrix(weight)
            h, w = weight_mat.size()
            u = weight_mat.new_empty(h).normal_(0, 1)
            v = weight_mat.new_empty(w).normal_(0, 1)
            self.register_buffer("_u", F.normalize(u, dim=0, eps=self.eps))
            self.register_buffer("_v", F.normalize(v, dim=0, eps=self.eps))
            # start from a good estimate, as PyTorch does
            self._power_method(weight_mat, 15)

    def _reshape_weight_to_matrix(self, weight):
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.dim()) if d != self.dim))
        return weight.flatten(1)

    def _power_method(self, weight_mat, n_power_iterations):
        # u and v are updated in place (no graph): forward reads clones of them
        with no_grad():
            for _ in range(n_power_iterations):
                self._u.copy_(F.normalize(mv(weight_mat, self._v), dim=0, eps=self.eps))
                self._v.copy_(F.normalize(mv(weight_mat.mT, self._u), dim=0, eps=self.eps))

    def forward(self, weight):
        if weight.ndim == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        weight_mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        u = self._u.clone()
        v = self._v.clone()
        sigma = vdot(u, mv(weight_mat, v))
        return weight / sigma

    def right_inverse(self, value):
        # any value is its own preimage up to scale; keep it, as PyTorch does
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
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d)) else 0
    parametrize.register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
