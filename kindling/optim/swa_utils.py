"""torch.optim.swa_utils: Stochastic Weight Averaging and exponential moving averages of a model.

`AveragedModel` keeps a deep copy of a model whose parameters are a running average (equal
weights, SWA; or exponential, EMA) of the model's parameters at each `update_parameters` call.
`SWALR` anneals each group's lr to a constant `swa_lr`; `update_bn` recomputes BatchNorm running
statistics for the averaged weights with one pass over the data.

Example:
    >>> swa_model = AveragedModel(model)
    >>> swa_scheduler = SWALR(optimizer, swa_lr=0.05)
    >>> for epoch in range(100):
    ...     train_one_epoch(model, optimizer)
    ...     if epoch >= 75:
    ...         swa_model.update_parameters(model)
    ...         swa_scheduler.step()
    >>> update_bn(loader, swa_model)
"""
import itertools
import math
from copy import deepcopy

from ..creation import tensor
from ..engine.dtypes import int64
from ..engine.grad_mode import no_grad
from ..nn import Module
from ..nn.modules.batchnorm import _BatchNorm
from .lr_scheduler import LRScheduler, _format_param

__all__ = ["AveragedModel", "update_bn", "SWALR", "get_ema_multi_avg_fn", "get_swa_multi_avg_fn",
           "get_ema_avg_fn", "get_swa_avg_fn"]


def _check_decay(decay):
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in "
                         f"[0,1] range.")


def get_ema_multi_avg_fn(decay=0.999):
    """In-place EMA over lists of tensors: ema = decay * ema + (1 - decay) * current, computed
    as torch does (a lerp with weight 1 - decay for floating tensors)."""
    _check_decay(decay)

    def ema_update(ema_param_list, current_param_list, _):
        with no_grad():
            for p_ema, p_model in zip(ema_param_list, current_param_list):
                if p_ema.is_floating_point():
                    p_ema.lerp_(p_model, 1 - decay)
                else:
                    p_ema.copy_(p_ema * decay + p_model * (1 - decay))
    return ema_update


def get_swa_multi_avg_fn():
    """In-place equal-weight average over lists of tensors: avg += (current - avg) / (n + 1)."""
    def swa_update(averaged_param_list, current_param_list, num_averaged):
        with no_grad():
            n = num_averaged.item() if hasattr(num_averaged, "item") else num_averaged
            for p_avg, p_model in zip(averaged_param_list, current_param_list):
                if p_avg.is_floating_point():
                    p_avg.lerp_(p_model, 1 / (n + 1))
                elif hasattr(num_averaged, "item"):
                    # torch divides with addcdiv_ here, which refuses integer tensors
                    raise RuntimeError(f"swa_update: integer division with addcdiv is not "
                                       f"supported (averaging a {p_avg.dtype} tensor of shape "
                                       f"{tuple(p_avg.shape)} with a tensor num_averaged)")
                else:
                    p_avg.add_(p_model - p_avg, alpha=1.0 / (n + 1))
    return swa_update


def get_ema_avg_fn(decay=0.999):
    """EMA of one tensor: returns decay * ema_param + (1 - decay) * current_param."""
    _check_decay(decay)

    def ema_update(ema_param, current_param, num_averaged):
        with no_grad():
            return decay * ema_param + (1 - decay) * current_param
    return ema_update


def get_swa_avg_fn():
    """Equal-weight average of one tensor: avg + (current - avg) / (num_averaged + 1)."""
    def swa_update(averaged_param, current_param, num_averaged):
        with no_grad():
            return averaged_param + (current_param - averaged_param) / (num_averaged + 1)
    return swa_update


class AveragedModel(Module):
    r"""A copy of `model` whose parameters (and, with `use_buffers`, buffers) average the
    model's over the calls to `update_parameters`.

    The first call copies the model's values; each later one applies `multi_avg_fn` (in place,
    on lists) or `avg_fn` (per tensor, returning the new average); with neither, an equal-weight
    (SWA) average. `n_averaged` is a buffer counting the models averaged, so the state_dict holds
    `module.<name>` entries and `n_averaged`, as torch's.

    Args:
        model (Module): the model to average.
        device: where to keep the copy (kindling is CPU-only; accepted for compatibility).
        avg_fn (callable, optional): (averaged_param, model_param, num_averaged) -> new average.
        multi_avg_fn (callable, optional): (averaged_list, model_list, num_averaged) -> None,
            updating the averaged tensors in place.
        use_buffers (bool): average buffers too (default: False, which copies them instead).

    Example:
        >>> ema_model = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.999))
        >>> ema_model.update_parameters(model)
    """

    def __init__(self, model, device=None, avg_fn=None, multi_avg_fn=None, use_buffers=False):
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", tensor(0, dtype=int64))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def update_parameters(self, model):
        """Fold `model`'s current parameters into the average."""
        if self.use_buffers:
            self_param = itertools.chain(self.module.parameters(), self.module.buffers())
            model_param = itertools.chain(model.parameters(), model.buffers())
        else:
            self_param, model_param = self.parameters(), model.parameters()
        averaged, current = [], []
        first = int(self.n_averaged.item()) == 0
        with no_grad():
            for p_averaged, p_model in zip(self_param, model_param):
                p_model_ = p_model.detach()
                averaged.append(p_averaged.detach())
                current.append(p_model_)
                if first:
                    p_averaged.detach().copy_(p_model_)
            if not first:
                if self.multi_avg_fn is not None:
                    # torch groups by (device, dtype) before calling multi_avg_fn; one device here.
                    groups = {}
                    for a, c in zip(averaged, current):
                        pair = groups.setdefault(a.dtype, ([], []))
                        pair[0].append(a)
                        pair[1].append(c)
                    for group_averaged, group_current in groups.values():
                        self.multi_avg_fn(group_averaged, group_current, self.n_averaged)
                else:
                    # On CPU torch's default is the per-tensor SWA average (its foreach path is
                    # for accelerators), so the numerics below are the ones it computes.
                    avg_fn = self.avg_fn or get_swa_avg_fn()
                    for a, c in zip(averaged, current):
                        a.copy_(avg_fn(a, c, self.n_averaged))
            if not self.use_buffers:
                for b_swa, b_model in zip(self.module.buffers(), model.buffers()):
                    b_swa.detach().copy_(b_model.detach())
            self.n_averaged += 1


def update_bn(loader, model, device=None):
    r"""Recompute the running mean and variance of every BatchNorm layer of `model` with one
    pass over `loader` (batches are tensors, or lists/tuples whose first element is the input),
    as a cumulative average (momentum None), then restore each layer's momentum and the model's
    training mode. Models without BatchNorm are left untouched.
    """
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    with no_grad():
        for input in loader:
            if isinstance(input, (list, tuple)):
                input = input[0]
            if device is not None:
                input = input.to(device)
            model(input)
    for bn_module, momentum in momenta.items():
        bn_module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    r"""Anneal each param group's lr from its current value to `swa_lr` over `anneal_epochs`
    steps ("cos" or "linear"), then hold it there.

    With t = min(1, step / max(1, anneal_epochs)) and alpha = anneal(t) (cos:
    (1 - cos(pi t)) / 2; linear: t), lr = swa_lr * alpha + lr_0 * (1 - alpha), where lr_0 is
    recovered from the group's current lr and the previous alpha (so other schedulers may run
    before SWALR takes over), exactly as torch computes it.

    Args:
        optimizer (Optimizer): wrapped optimizer.
        swa_lr (float or list): the final lr, for all groups or one per group.
        anneal_epochs (int): steps of annealing (default: 10).
        anneal_strategy (str): "cos" (default) or "linear".
        last_epoch (int): index of the last epoch (default: -1).
    """

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos",
                 last_epoch=-1):
        swa_lrs = _format_param("swa_lr", optimizer, swa_lr)
        for value, group in zip(swa_lrs, optimizer.param_groups):
            group["swa_lr"] = value
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got "
                             f"{anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t):
        return t

    @staticmethod
    def _cosine_anneal(t):
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self):
        self._warn_outside_step()
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_t = max(0, min(1, (step - 1) / max(1, self.anneal_epochs)))
        prev_alpha = self.anneal_func(prev_t)
        prev_lrs = [self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha)
                    for group in self.optimizer.param_groups]
        t = max(0, min(1, step / max(1, self.anneal_epochs)))
        alpha = self.anneal_func(t)
        return [group["swa_lr"] * alpha + lr * (1 - alpha)
                for group, lr in zip(self.optimizer.param_groups, prev_lrs)]

    def _set_anneal_func(self, anneal_strategy):
        self._anneal_strategy = anneal_strategy
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" \
            else self._linear_anneal

    def state_dict(self):
        """Every attribute except the optimizer and the anneal function."""
        return {key: value for key, value in self.__dict__.items()
                if key not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)
