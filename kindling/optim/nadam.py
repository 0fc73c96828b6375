"""NAdam: Adam with Nesterov momentum and a momentum-decay schedule."""
import numpy as np

from .adam import _check_adam_args
from .optimizer import (Optimizer, _check_hyperparameters, _check_not_supported, _grads, _lerp_,
                        _scalar_state, _state_like, _to_scalar)


class NAdam(Optimizer):
    r"""NAdam, as `torch.optim.NAdam`.

    Algorithm (lr gamma, betas (b1, b2), eps, weight decay lambda, momentum decay psi)::

        m_0 = v_0 = 0, mu_product_0 = 1
        for t = 1, 2, ...:
            g_t = -grad f(theta_{t-1}) if maximize else grad f(theta_{t-1})
            if lambda != 0:
                if decoupled_weight_decay: theta_{t-1} = theta_{t-1} * (1 - gamma * lambda)
                else:                      g_t = g_t + lambda * theta_{t-1}
            mu_t = b1 * (1 - 0.5 * 0.96^(t psi)),  mu_{t+1} = b1 * (1 - 0.5 * 0.96^((t+1) psi))
            mu_product_t = mu_product_{t-1} * mu_t           # kept in the scalar state dtype
            m_t = m_{t-1} + (1 - b1) * (g_t - m_{t-1})
            v_t = b2 * v_{t-1} + (1 - b2) * g_t^2
            denom = sqrt(v_t / (1 - b2^t)) + eps
            theta_t = theta_{t-1} - gamma (1 - mu_t) / (1 - mu_product_t) * g_t / denom
                                  - gamma mu_{t+1} / (1 - mu_product_t mu_{t+1}) * m_t / denom

    State per parameter: 'step', 'mu_product', 'exp_avg', 'exp_avg_sq'.

    Args:
        params, lr (default 2e-3), betas ((0.9, 0.999)), eps (1e-8), weight_decay (0),
        momentum_decay (4e-3), decoupled_weight_decay (False), maximize (False); foreach,
        capturable and differentiable are accepted for API compatibility.
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        _check_adam_args(lr, betas, eps, weight_decay)
        _check_hyperparameters(momentum_decay=momentum_decay)
        _check_not_supported("NAdam", differentiable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_buffers(self, group, p):
        return {"mu_product": _scalar_state(1.0), "exp_avg": _state_like(p),
                "exp_avg_sq": _state_like(p)}

    def step(self, closure=None):
        """Perform a single optimization step; returns the closure's loss if one is given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr = _to_scalar(group["lr"])
            beta1, beta2 = group["betas"]
            eps, wd, psi = group["eps"], group["weight_decay"], group["momentum_decay"]
            for p, state in self._params_with_grad(group):
                step = float(state["step"]._array)
                bias_correction2 = 1 - beta2 ** step
                if wd != 0 and group["decoupled_weight_decay"]:
                    g = _grads(p, group["maximize"], 0)
                    p._array *= 1 - lr * wd
                else:
                    g = _grads(p, group["maximize"], wd)
                mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * psi)))
                mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * psi)))
                mu_product = state["mu_product"]._array
                mu_product *= mu
                mu_product = float(mu_product)
                mu_product_next = mu_product * mu_next
                m, v = state["exp_avg"]._array, state["exp_avg_sq"]._array
                _lerp_(m, g, 1 - beta1)
                v *= beta2
                v += (1 - beta2) * g * g
                denom = np.sqrt(v / bias_correction2)
                denom += eps
                param = p._array
                param += (-lr * (1.0 - mu) / (1.0 - mu_product)) * g / denom
                param += ((-lr * mu_next) / (1.0 - mu_product_next)) * m / denom
                p._vc[0] += 1
        return loss
