"""Adamax: Adam with the infinity norm in place of the second moment."""
import numpy as np

from .adam import _check_adam_args
from .optimizer import Optimizer, _check_not_supported, _grads, _lerp_, _state_like, _to_scalar


class Adamax(Optimizer):
    r"""Adamax, as `torch.optim.Adamax`.

    Algorithm (lr gamma, betas (b1, b2), eps, weight decay lambda)::

        m_0 = u_0 = 0
        for t = 1, 2, ...:
            g_t = -grad f(theta_{t-1}) if maximize else grad f(theta_{t-1})
            if lambda != 0:  g_t = g_t + lambda * theta_{t-1}
            m_t = m_{t-1} + (1 - b1) * (g_t - m_{t-1})
            u_t = max(b2 * u_{t-1}, |g_t| + eps)              # eps inside the max
            theta_t = theta_{t-1} - gamma / (1 - b1^t) * m_t / u_t

    State per parameter: 'step', 'exp_avg', 'exp_inf'.

    Args:
        params, lr (default 2e-3), betas ((0.9, 0.999)), eps (1e-8), weight_decay (0),
        maximize (False); foreach, differentiable and capturable are accepted for API
        compatibility.
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        _check_adam_args(lr, betas, eps, weight_decay)
        _check_not_supported("Adamax", differentiable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def _init_buffers(self, group, p):
        return {"exp_avg": _state_like(p), "exp_inf": _state_like(p)}

    def step(self, closure=None):
        """Perform a single optimization step; returns the closure's loss if one is given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr = _to_scalar(group["lr"])
            beta1, beta2 = group["betas"]
            for p, state in self._params_with_grad(group):
                step = float(state["step"]._array)
                g = _grads(p, group["maximize"], group["weight_decay"])
                m, u = state["exp_avg"]._array, state["exp_inf"]._array
                _lerp_(m, g, 1 - beta1)
                u *= beta2
                bound = np.abs(g)
                bound += group["eps"]
                np.maximum(u, bound, out=u)
                clr = lr / (1 - beta1 ** step)
                p._array += (-clr) * m / u
                p._vc[0] += 1
        return loss
