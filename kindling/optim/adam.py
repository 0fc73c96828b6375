"""Adam and AdamW: adaptive moment estimation, with L2 or decoupled weight decay."""
import functools

import numpy as np

from ..engine.parallel import run_elementwise
from .optimizer import (Optimizer, _check_hyperparameters, _check_not_supported, _grads,
                        _lerp_, _state_like, _to_scalar)


def _check_adam_args(lr, betas, eps, weight_decay):
    """The checks of the Adam family (Adam, AdamW, Adamax, NAdam, RAdam), in PyTorch's order."""
    _check_hyperparameters(lr=lr, eps=eps)
    for i in (0, 1):
        if not 0.0 <= betas[i] < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {betas[i]}")
    _check_hyperparameters(weight_decay=weight_decay)


class Adam(Optimizer):
    r"""Adam, as `torch.optim.Adam` (single-tensor implementation).

    Algorithm (lr gamma, betas (b1, b2), eps, weight decay lambda)::

        m_0 = v_0 = vmax_0 = 0
        for t = 1, 2, ...:
            g_t = -grad f(theta_{t-1}) if maximize else grad f(theta_{t-1})
            if lambda != 0:
                if decoupled_weight_decay: theta_{t-1} = theta_{t-1} * (1 - gamma * lambda)
                else:                      g_t = g_t + lambda * theta_{t-1}
            m_t = m_{t-1} + (1 - b1) * (g_t - m_{t-1})          # lerp
            v_t = b2 * v_{t-1} + (1 - b2) * g_t^2
            denom = sqrt(v_t) / sqrt(1 - b2^t) + eps             # eps added after the correction
            if amsgrad: vmax_t = max(vmax_{t-1}, v_t); denom = sqrt(vmax_t) / sqrt(1 - b2^t) + eps
            theta_t = theta_{t-1} - (gamma / (1 - b1^t)) * m_t / denom

    State per parameter: 'step' (0-d float tensor), 'exp_avg', 'exp_avg_sq', and
    'max_exp_avg_sq' with amsgrad.

    Args:
        params: tensors or param-group dicts to optimize.
        lr (float): learning rate (default 1e-3).
        betas (tuple): coefficients of the running averages of the gradient and its square
            (default (0.9, 0.999)).
        eps (float): added to the denominator for numerical stability (default 1e-8).
        weight_decay (float): weight decay (default 0).
        amsgrad (bool): use the AMSGrad variant (default False).
        maximize (bool): maximize the objective (default False).
        decoupled_weight_decay (bool): AdamW-style decay (default False).
        foreach, capturable, differentiable, fused: accepted for API compatibility.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        _check_adam_args(lr, betas, eps, weight_decay)
        _check_not_supported(type(self).__name__, differentiable, fused)
        betas = tuple(_to_scalar(b) for b in betas)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _init_buffers(self, group, p):
        buffers = {"exp_avg": _state_like(p), "exp_avg_sq": _state_like(p)}
        if group["amsgrad"]:
            buffers["max_exp_avg_sq"] = _state_like(p)
        return buffers

    def step(self, closure=None):
        """Perform a single optimization step; returns the closure's loss if one is given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr = _to_scalar(group["lr"])
            beta1, beta2 = (_to_scalar(b) for b in group["betas"])
            eps, wd, amsgrad = group["eps"], group["weight_decay"], group["amsgrad"]
            for p, state in self._params_with_grad(group):
                decay = 1.0
                if wd != 0 and group["decoupled_weight_decay"]:
                    g = _grads(p, group["maximize"], 0)
                    decay = 1 - lr * wd
                else:
                    g = _grads(p, group["maximize"], wd)
                step = float(state["step"]._array)
                arrays = [p._array, g, state["exp_avg"]._array, state["exp_avg_sq"]._array]
                if amsgrad:
                    arrays.append(state["max_exp_avg_sq"]._array)
                update = functools.partial(
                    _adam_update, decay=decay, beta1=beta1, beta2=beta2, eps=eps,
                    step_size=lr / (1 - beta1 ** step),
                    bias_correction2_sqrt=(1 - beta2 ** step) ** 0.5)
                run_elementwise(update, arrays)
                p._vc[0] += 1
        return loss


def _adam_update(param, g, m, v, vmax=None, *, decay, beta1, beta2, eps, step_size,
                 bias_correction2_sqrt):
    """One Adam update of (slices of) a parameter and its moments, in place, with two
    temporaries for all the intermediates (the moments, then the step)."""
    if decay != 1.0:  # AdamW's decoupled weight decay
        param *= decay
    scratch = np.empty_like(m)
    _lerp_(m, g, 1 - beta1, scratch)
    v *= beta2
    np.multiply(g, 1 - beta2, out=scratch)
    scratch *= g
    v += scratch
    if vmax is not None:
        np.maximum(vmax, v, out=vmax)
        v = vmax
    denom = np.sqrt(v, out=scratch)
    denom /= bias_correction2_sqrt
    denom += eps
    step = np.multiply(m, -step_size)
    step /= denom
    param += step


class AdamW(Adam):
    r"""AdamW: Adam with decoupled weight decay, as `torch.optim.AdamW`.

    Algorithm: Adam's (see :class:`Adam`) with, before the moment updates,
    ``theta_{t-1} = theta_{t-1} * (1 - gamma * lambda)`` instead of adding ``lambda * theta``
    to the gradient. Default ``weight_decay=1e-2``.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable, differentiable=differentiable,
                         fused=fused, decoupled_weight_decay=True)
