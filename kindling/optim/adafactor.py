"""Adafactor: Adam-like steps with a factored second moment (memory O(rows + cols) per matrix)."""
import numpy as np

from .optimizer import Optimizer, _check_not_supported, _lerp_, _state_from, _to_scalar


class Adafactor(Optimizer):
    r"""Adafactor (Shazeer & Stern, 2018), as `torch.optim.Adafactor`.

    Algorithm (lr gamma, beta2_decay c, eps (e1, e2), clipping threshold d, weight decay lambda;
    for a matrix-shaped gradient the second moment is kept as row and column means only)::

        for t = 1, 2, ...:
            g_t = -grad if maximize else grad
            b_t = t^c                                   # 1 - beta2_t
            alpha_t = max(e2, RMS(theta_{t-1})) * min(gamma, 1 / sqrt(t))
            theta_{t-1} = theta_{t-1} * (1 - gamma * lambda)
            if g_t is a matrix (or a stack of them, factored over its last two dims):
                R_t = lerp(R_{t-1}, mean over columns of g_t^2, b_t)     # (..., rows, 1)
                C_t = lerp(C_{t-1}, mean over rows of g_t^2, b_t)        # (..., 1, cols)
                V_t = R_t C_t / max(mean(R_t), e1)
            else:
                V_t = lerp(V_{t-1}, g_t^2, b_t)
            U_t = g_t / sqrt(max(V_t, e1^2))
            theta_t = theta_{t-1} - alpha_t / max(1, RMS(U_t) / d) * U_t

    e1 = None means the parameter dtype's machine epsilon. State per parameter: 'step' and
    'row_var' + 'col_var' (matrices) or 'variance' (vectors and scalars).

    Args:
        params, lr (default 1e-2), beta2_decay (-0.8), eps ((None, 1e-3)), d (1.0),
        weight_decay (0.0), foreach (accepted), maximize (False).
    """

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
                 weight_decay=0.0, *, foreach=None, maximize=False):
        lr_value = _to_scalar(lr)
        if not 0.0 <= lr_value:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        _check_not_supported("Adafactor")
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize)
        super().__init__(params, defaults)

    def _init_buffers(self, group, p):
        g = p.grad._array
        if g.ndim > 1:
            rows, cols = list(g.shape), list(g.shape)
            rows[-1], cols[-2] = 1, 1
            return {"row_var": _state_from(np.zeros(rows, g.dtype)),
                    "col_var": _state_from(np.zeros(cols, g.dtype))}
        return {"variance": _state_from(np.zeros_like(g))}

    def step(self, closure=None):
        """Perform a single optimization step; returns the closure's loss if one is given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr = float(_to_scalar(group["lr"]))
            eps1, eps2 = group["eps"]
            for p, state in self._params_with_grad(group):
                theta, g = p._array, p.grad._array
                if group["maximize"]:
                    g = -g
                e1 = np.finfo(theta.dtype).eps if eps1 is None else eps1
                t = float(state["step"]._array)
                share = t ** group["beta2_decay"]               # 1 - beta2_t
                rms = float(np.linalg.norm(theta.ravel())) / theta.size ** 0.5
                alpha = max(eps2, rms) * min(lr, 1 / t ** 0.5)
                if group["weight_decay"] != 0:
                    theta *= 1 - lr * group["weight_decay"]
                if g.ndim > 1:
                    row, col = state["row_var"]._array, state["col_var"]._array
                    # mean squares as PyTorch rounds them: the squared norm over the count
                    row_mean = np.square(np.linalg.norm(g, axis=-1, keepdims=True))
                    col_mean = np.square(np.linalg.norm(g, axis=-2, keepdims=True))
                    _lerp_(row, row_mean / g.shape[-1], share)
                    _lerp_(col, col_mean / g.shape[-2], share)
                    estimate = row @ col
                    estimate /= np.maximum(row.mean(axis=-2, keepdims=True), e1)
                else:
                    variance = state["variance"]._array
                    _lerp_(variance, g * g, share)
                    estimate = variance.copy()
                update = np.maximum(estimate, e1 * e1, out=estimate)
                update = np.reciprocal(np.sqrt(update, out=update), out=update)
                update *= g
                norm = float(np.linalg.norm(update.ravel())) / (update.size ** 0.5 * group["d"])
                theta -= (alpha / max(1.0, norm)) * update
                p._vc[0] += 1
        return loss
