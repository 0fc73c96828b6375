"""SGD: stochastic gradient descent with optional momentum, Nesterov momentum and weight decay."""
import functools

import numpy as np

from ..engine.parallel import run_elementwise
from .optimizer import (Optimizer, _check_hyperparameters, _check_not_supported, _grads,
                        _state_from, _to_scalar)


class SGD(Optimizer):
    r"""Stochastic gradient descent (optionally with momentum), as `torch.optim.SGD`.

    Algorithm (lr gamma, momentum mu, dampening tau, weight decay lambda)::

        for t = 1, 2, ...:
            g_t = -grad f(theta_{t-1}) if maximize else grad f(theta_{t-1})
            if lambda != 0:  g_t = g_t + lambda * theta_{t-1}
            if mu != 0:
                b_t = g_t if t == 1 else mu * b_{t-1} + (1 - tau) * g_t
                g_t = g_t + mu * b_t if nesterov else b_t
            theta_t = theta_{t-1} - gamma * g_t

    State per parameter: 'momentum_buffer' (None until the first step with momentum).

    Args:
        params: tensors or param-group dicts to optimize.
        lr (float): learning rate (default 1e-3).
        momentum (float): momentum factor (default 0).
        dampening (float): dampening of momentum (default 0).
        weight_decay (float): L2 penalty (default 0).
        nesterov (bool): Nesterov momentum (default False).
        maximize (bool): maximize the objective instead of minimizing (default False).
        foreach, differentiable, fused: accepted for API compatibility; kindling always runs the
            single-tensor NumPy update (differentiable and fused must stay off).

    Example::

        >>> opt = kindling.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 *, maximize=False, foreach=None, differentiable=False, fused=None):
        _check_hyperparameters(lr=lr, momentum=momentum, weight_decay=weight_decay, nan_ok=True)
        _check_not_supported("SGD", differentiable, fused)
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach,
                        differentiable=differentiable, fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def step(self, closure=None):
        """Perform a single optimization step; returns the closure's loss if one is given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr = _to_scalar(group["lr"])
            momentum, dampening = group["momentum"], group["dampening"]
            for p in group["params"]:  # not _params_with_grad: SGD keeps no 'step', as PyTorch's
                if p.grad is None:
                    continue
                g = _grads(p, group["maximize"], _to_scalar(group["weight_decay"]))
                if momentum == 0:
                    run_elementwise(functools.partial(_sgd_update, lr=lr), [p._array, g])
                    p._vc[0] += 1
                    continue
                state = self.state[p]
                buf = state.get("momentum_buffer")
                first = buf is None
                if first:  # the first step takes the gradient itself as the buffer
                    buf = state["momentum_buffer"] = _state_from(g)
                run_elementwise(functools.partial(
                    _sgd_update, lr=lr, momentum=momentum, dampening=dampening,
                    nesterov=group["nesterov"], update_buffer=not first),
                    [p._array, g, buf._array])
                p._vc[0] += 1
        return loss


def _sgd_update(param, g, buf=None, *, lr, momentum=0, dampening=0, nesterov=False,
                update_buffer=True):
    """One SGD update of (slices of) a parameter and its momentum buffer, in place."""
    if buf is not None:
        if update_buffer:
            buf *= momentum
            if dampening == 0:
                buf += g  # torch adds g * (1 - dampening): times 1.0 is exact
            else:
                buf += (1 - dampening) * g
        g = g + momentum * buf if nesterov else buf
    step = np.multiply(g, -lr)
    param += step
