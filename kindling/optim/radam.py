"""RAdam: Adam with a rectified (variance-corrected) adaptive learning rate."""
import math

import numpy as np

from .adam import _check_adam_args
from .optimizer import Optimizer, _check_not_supported, _grads, _lerp_, _state_like, _to_scalar


class RAdam(Optimizer):
    r"""RAdam, as `torch.optim.RAdam`.

    Algorithm (lr gamma, betas (b1, b2), eps, weight decay lambda)::

        m_0 = v_0 = 0, rho_inf = 2 / (1 - b2) - 1
        for t = 1, 2, ...:
            g_t = -grad f(theta_{t-1}) if maximize else grad f(theta_{t-1})
            if lambda != 0:
                if decoupled_weight_decay: theta_{t-1} = theta_{t-1} * (1 - gamma * lambda)
                else:                      g_t = g_t + lambda * theta_{t-1}
            m_t = m_{t-1} + (1 - b1) * (g_t - m_{t-1})
            v_t = b2 * v_{t-1} + (1 - b2) * g_t^2
            m^_t = m_t / (1 - b1^t)
            rho_t = rho_inf - 2 t b2^t / (1 - b2^t)
            if rho_t > 5:
                l_t = sqrt(1 - b2^t) / (sqrt(v_t) + eps)
                r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
                theta_t = theta_{t-1} - gamma * m^_t * l_t * r_t
            else:
                theta_t = theta_{t-1} - gamma * m^_t

    State per parameter: 'step', 'exp_avg', 'exp_avg_sq'.

    Args:
        params, lr (default 1e-3), betas ((0.9, 0.999)), eps (1e-8), weight_decay (0),
        decoupled_weight_decay (False), maximize (False); foreach, capturable and
        differentiable are accepted for API compatibility.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        _check_adam_args(lr, betas, eps, weight_decay)
        _check_not_supported("RAdam", differentiable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_buffers(self, group, p):
        return {"exp_avg": _state_like(p), "exp_avg_sq": _state_like(p)}

    def step(self, closure=None):
        """Perform a single optimization step; returns the closure's loss if one is given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr = _to_scalar(group["lr"])
            beta1, beta2 = group["betas"]
            eps, wd = group["eps"], group["weight_decay"]
            for p, state in self._params_with_grad(group):
                step = float(state["step"]._array)
                if wd != 0 and group["decoupled_weight_decay"]:
                    g = _grads(p, group["maximize"], 0)
                    p._array *= 1 - lr * wd
                else:
                    g = _grads(p, group["maximize"], wd)
                m, v = state["exp_avg"]._array, state["exp_avg_sq"]._array
                _lerp_(m, g, 1 - beta1)
                v *= beta2
                v += (1 - beta2) * g * g
                bias_correction1 = 1 - beta1 ** step
                bias_correction2 = 1 - beta2 ** step
                corrected = m / bias_correction1
                rho_inf = 2 / (1 - beta2) - 1
                rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
                if rho_t > 5.0:
                    rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                                     / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                    denom = np.sqrt(v)
                    denom += eps
                    adaptive = (bias_correction2 ** 0.5) / denom
                    update = corrected * lr * adaptive * rect
                else:
                    update = corrected * lr
                p._array -= update
                p._vc[0] += 1
        return loss
