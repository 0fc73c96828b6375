"""Adagrad: per-coordinate learning rates from the running sum of squared gradients."""
import numpy as np

from .optimizer import (Optimizer, _check_hyperparameters, _check_not_supported, _grads,
                        _state_like, _to_scalar)


class Adagrad(Optimizer):
    r"""Adagrad, as `torch.optim.Adagrad`.

    Algorithm (lr gamma, lr decay eta, weight decay lambda, initial accumulator s_0)::

        state_sum_0 = s_0
        for t = 1, 2, ...:
            g_t = -grad f(theta_{t-1}) if maximize else grad f(theta_{t-1})
            if lambda != 0:  g_t = g_t + lambda * theta_{t-1}
            clr = gamma / (1 + (t - 1) * eta)
            state_sum_t = state_sum_{t-1} + g_t^2
            theta_t = theta_{t-1} - clr * g_t / (sqrt(state_sum_t) + eps)

    State per parameter (created in the constructor, as PyTorch does): 'step', 'sum'.

    Args:
        params, lr (default 1e-2), lr_decay (0), weight_decay (0),
        initial_accumulator_value (0), eps (1e-10), maximize (False); foreach, differentiable
        and fused are accepted for API compatibility.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        _check_hyperparameters(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                               initial_accumulator_value=initial_accumulator_value, eps=eps)
        _check_not_supported("Adagrad", differentiable, fused)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:  # PyTorch creates Adagrad's state up front
            for p in group["params"]:
                self._init_state(group, p)

    def _init_buffers(self, group, p):
        return {"sum": _state_like(p, self.defaults["initial_accumulator_value"])}

    def share_memory(self):
        pass  # one process: nothing to share

    def step(self, closure=None):
        """Perform a single optimization step; returns the closure's loss if one is given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr = _to_scalar(group["lr"])
            for p, state in self._params_with_grad(group):
                step = float(state["step"]._array)
                g = _grads(p, group["maximize"], group["weight_decay"])
                clr = lr / (1 + (step - 1) * group["lr_decay"])
                s = state["sum"]._array
                s += g * g
                std = np.sqrt(s)
                std += group["eps"]
                p._array += (-clr) * g / std
                p._vc[0] += 1
        return loss
