"""Adadelta: step sizes from running averages of squared gradients and squared updates."""
import numpy as np

from .optimizer import (Optimizer, _check_hyperparameters, _check_not_supported, _grads,
                        _state_like, _to_scalar)


class Adadelta(Optimizer):
    r"""Adadelta, as `torch.optim.Adadelta`.

    Algorithm (lr gamma, rho, eps, weight decay lambda)::

        v_0 = u_0 = 0
        for t = 1, 2, ...:
            g_t = -grad f(theta_{t-1}) if maximize else grad f(theta_{t-1})
            if lambda != 0:  g_t = g_t + lambda * theta_{t-1}
            v_t = rho * v_{t-1} + (1 - rho) * g_t^2
            dx_t = sqrt(u_{t-1} + eps) / sqrt(v_t + eps) * g_t
            u_t = rho * u_{t-1} + (1 - rho) * dx_t^2
            theta_t = theta_{t-1} - gamma * dx_t

    State per parameter: 'step', 'square_avg' (v), 'acc_delta' (u).

    Args:
        params, lr (default 1.0), rho (0.9), eps (1e-6), weight_decay (0), maximize (False);
        foreach, capturable and differentiable are accepted for API compatibility.
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        _check_hyperparameters(lr=lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check_hyperparameters(eps=eps, weight_decay=weight_decay)
        _check_not_supported("Adadelta", differentiable)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_buffers(self, group, p):
        return {"square_avg": _state_like(p), "acc_delta": _state_like(p)}

    def step(self, closure=None):
        """Perform a single optimization step; returns the closure's loss if one is given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr = _to_scalar(group["lr"])
            rho, eps = group["rho"], group["eps"]
            for p, state in self._params_with_grad(group):
                g = _grads(p, group["maximize"], group["weight_decay"])
                v, u = state["square_avg"]._array, state["acc_delta"]._array
                v *= rho
                v += (1 - rho) * g * g
                std = np.sqrt(v + eps)
                delta = np.sqrt(u + eps)
                delta /= std
                delta *= g
                u *= rho
                u += (1 - rho) * delta * delta
                p._array += (-lr) * delta
                p._vc[0] += 1
        return loss
