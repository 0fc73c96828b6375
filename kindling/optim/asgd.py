"""ASGD: averaged stochastic gradient descent."""
import numpy as np

from .optimizer import (Optimizer, _check_hyperparameters, _check_not_supported, _grads,
                        _scalar_dtype, _scalar_state, _state_like, _to_scalar)


class ASGD(Optimizer):
    r"""Averaged SGD, as `torch.optim.ASGD`.

    Algorithm (lr gamma, decay lambda, power alpha, averaging start t0, weight decay w)::

        eta_0 = gamma, mu_0 = 1, ax_0 = 0
        for t = 1, 2, ...:
            g_t = -grad f(theta_{t-1}) if maximize else grad f(theta_{t-1})
            if w != 0:  g_t = g_t + w * theta_{t-1}
            theta_t = theta_{t-1} * (1 - lambda eta_{t-1}) - eta_{t-1} g_t
            ax_t = theta_t if mu_{t-1} == 1 else ax_{t-1} + mu_{t-1} (theta_t - ax_{t-1})
            eta_t = gamma / (1 + lambda gamma t)^alpha
            mu_t = 1 / max(1, t - t0)

    State per parameter: 'step', 'eta', 'mu' (0-d tensors in the scalar state dtype), 'ax'
    (the running average of the parameter).

    Args:
        params, lr (default 1e-2), lambd (1e-4), alpha (0.75), t0 (1e6), weight_decay (0),
        maximize (False); foreach, differentiable and capturable are accepted for API
        compatibility.
    """

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0,
                 foreach=None, maximize=False, differentiable=False, capturable=False):
        _check_hyperparameters(lr=lr, weight_decay=weight_decay)
        _check_not_supported("ASGD", differentiable)
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def _init_buffers(self, group, p):
        return {"eta": _scalar_state(_to_scalar(group["lr"])), "mu": _scalar_state(1.0),
                "ax": _state_like(p)}

    def step(self, closure=None):
        """Perform a single optimization step; returns the closure's loss if one is given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr = _to_scalar(group["lr"])
            lambd, alpha, t0 = group["lambd"], group["alpha"], group["t0"]
            for p, state in self._params_with_grad(group):
                step = float(state["step"]._array)
                g = _grads(p, group["maximize"], group["weight_decay"])
                eta = float(state["eta"]._array)
                param = p._array
                param *= 1 - lambd * eta
                param += (-eta) * g
                p._vc[0] += 1
                mu = state["mu"]._array
                ax = state["ax"]._array
                if float(mu) != 1:
                    ax += (param - ax) * mu[()]
                else:
                    np.copyto(ax, param)
                # PyTorch rounds the new values to the scalar dtype (torch.as_tensor of a
                # Python float) before storing them, even in a float64 state tensor.
                rounding = _scalar_dtype().np.type
                state["eta"]._array[...] = rounding(lr / ((1 + lambd * lr * step) ** alpha))
                state["mu"]._array[...] = rounding(1 / max(1, step - t0))
        return loss
