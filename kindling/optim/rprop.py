"""Rprop: resilient backpropagation, per-coordinate step sizes driven by gradient signs."""
import numpy as np

from .optimizer import (Optimizer, _check_hyperparameters, _check_not_supported, _grads,
                        _state_like, _to_scalar)


class Rprop(Optimizer):
    r"""Rprop, as `torch.optim.Rprop`.

    Algorithm (lr gamma_0, etas (eta-, eta+), step sizes (Gamma_min, Gamma_max))::

        g_prev = 0, eta_0 = gamma_0 (per coordinate)
        for t = 1, 2, ...:
            g_t = -grad f(theta_{t-1}) if maximize else grad f(theta_{t-1})
            where g_t * g_prev > 0:  eta_t = min(eta_{t-1} * eta+, Gamma_max)
            where g_t * g_prev < 0:  eta_t = max(eta_{t-1} * eta-, Gamma_min); g_t = 0
            elsewhere:               eta_t = eta_{t-1}  (clamped to [Gamma_min, Gamma_max])
            theta_t = theta_{t-1} - eta_t * sign(g_t)
            g_prev = g_t

    State per parameter: 'step', 'prev', 'step_size'.

    Args:
        params, lr (default 1e-2), etas ((0.5, 1.2)), step_sizes ((1e-6, 50)), maximize
        (False); capturable, foreach and differentiable are accepted for API compatibility.
    """

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        _check_hyperparameters(lr=lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        _check_not_supported("Rprop", differentiable)
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def _init_buffers(self, group, p):
        return {"prev": _state_like(p), "step_size": _state_like(p.grad, _to_scalar(group["lr"]))}

    def step(self, closure=None):
        """Perform a single optimization step; returns the closure's loss if one is given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            etaminus, etaplus = group["etas"]
            step_size_min, step_size_max = group["step_sizes"]
            for p, state in self._params_with_grad(group):
                g = _grads(p, group["maximize"], 0)
                prev, step_size = state["prev"]._array, state["step_size"]._array
                sign = np.sign(g * prev)
                factor = np.where(sign > 0, sign.dtype.type(etaplus),
                                  np.where(sign < 0, sign.dtype.type(etaminus), sign.dtype.type(1)))
                step_size *= factor
                np.clip(step_size, step_size_min, step_size_max, out=step_size)
                g = np.where(factor == factor.dtype.type(etaminus), 0, g).astype(g.dtype)
                p._array += (-1.0 * np.sign(g)) * step_size
                p._vc[0] += 1
                prev[...] = g
        return loss
