"""RMSprop: divide the gradient by a running root mean square of recent gradients."""
import numpy as np

from .optimizer import (Optimizer, _check_hyperparameters, _check_not_supported, _grads, _lerp_,
                        _state_like, _to_scalar)


class RMSprop(Optimizer):
    r"""RMSprop, as `torch.optim.RMSprop`.

    Algorithm (lr gamma, alpha, eps, weight decay lambda, momentum mu)::

        v_0 = b_0 = g^ave_0 = 0
        for t = 1, 2, ...:
            g_t = -grad f(theta_{t-1}) if maximize else grad f(theta_{t-1})
            if lambda != 0:  g_t = g_t + lambda * theta_{t-1}
            v_t = alpha * v_{t-1} + (1 - alpha) * g_t^2
            if centered:
                g^ave_t = g^ave_{t-1} + (1 - alpha) * (g_t - g^ave_{t-1})      # lerp
                avg = sqrt(v_t - (g^ave_t)^2) + eps
            else:
                avg = sqrt(v_t) + eps
            if mu > 0:
                b_t = mu * b_{t-1} + g_t / avg
                theta_t = theta_{t-1} - gamma * b_t
            else:
                theta_t = theta_{t-1} - gamma * g_t / avg

    State per parameter: 'step', 'square_avg', 'momentum_buffer' (momentum > 0), 'grad_avg'
    (centered).

    Args:
        params, lr (default 1e-2), alpha (0.99), eps (1e-8), weight_decay (0), momentum (0),
        centered (False), maximize (False); capturable, foreach and differentiable are accepted
        for API compatibility.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        _check_hyperparameters(lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay,
                               alpha=alpha)
        _check_not_supported("RMSprop", differentiable)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_buffers(self, group, p):
        buffers = {"square_avg": _state_like(p)}
        if group["momentum"] > 0:
            buffers["momentum_buffer"] = _state_like(p)
        if group["centered"]:
            buffers["grad_avg"] = _state_like(p)
        return buffers

    def step(self, closure=None):
        """Perform a single optimization step; returns the closure's loss if one is given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr = _to_scalar(group["lr"])
            alpha, eps, momentum = group["alpha"], group["eps"], group["momentum"]
            for p, state in self._params_with_grad(group):
                g = _grads(p, group["maximize"], group["weight_decay"])
                v = state["square_avg"]._array
                v *= alpha
                v += (1 - alpha) * g * g
                if group["centered"]:
                    ga = state["grad_avg"]._array
                    _lerp_(ga, g, 1 - alpha)
                    avg = np.sqrt(v + (-1.0 * ga) * ga)
                else:
                    avg = np.sqrt(v)
                avg += eps
                if momentum > 0:
                    buf = state["momentum_buffer"]._array
                    buf *= momentum
                    buf += g / avg
                    p._array += (-lr) * buf
                else:
                    p._array += (-lr) * g / avg
                p._vc[0] += 1
        return loss
