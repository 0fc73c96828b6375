"""The Optimizer base class: parameter groups, lazily created per-parameter state, state_dict.

An optimizer owns `param_groups` (a list of dicts: the tensors under 'params' plus that group's
hyperparameters) and `state` (a dict keyed by parameter tensor holding that parameter's buffers,
created on its first step). Each subclass's `step()` walks the groups and, through
`_params_with_grad(group)` (which skips parameters without a gradient, creates the state from
the subclass's `_init_buffers` and counts 'step'), runs its update for each parameter.

Updates work on the NumPy arrays directly (`p._array`, `p.grad._array`), in place, with Python
float hyperparameters so float32 parameters stay float32; every write to a parameter bumps its
version counter (`p._vc[0] += 1`) so autograd notices stale saved tensors. State buffers are
kindling Tensors, so `state_dict()` holds tensors that `kindling.save` can store.
"""
import copy
import itertools
from collections import OrderedDict, defaultdict

import numpy as np

from ..creation import tensor as _tensor
from ..engine import dtypes as _dtypes
from ..engine.grad_mode import enable_grad
from ..engine.tensor import Tensor


class _RequiredParameter:
    """Marks a hyperparameter every param group must give (`torch.optim.optimizer.required`)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()

_global_step_pre_hooks = OrderedDict()
_global_step_post_hooks = OrderedDict()


class RemovableHandle:
    _next_id = 0

    def __init__(self, hooks_dict):
        self._hooks_dict = hooks_dict
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self):
        self._hooks_dict.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *args):
        self.remove()


def _add_hook(hooks, hook, prepend=False):
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


def register_optimizer_step_pre_hook(hook):
    """Register `hook(optimizer, args, kwargs)` to run before every optimizer's step."""
    return _add_hook(_global_step_pre_hooks, hook)


def register_optimizer_step_post_hook(hook):
    """Register `hook(optimizer, args, kwargs)` to run after every optimizer's step."""
    return _add_hook(_global_step_post_hooks, hook)


def _wrap_step(step):
    """Run the global and per-optimizer step hooks around a subclass's `step`."""
    def wrapper(self, *args, **kwargs):
        for hook in itertools.chain(_global_step_pre_hooks.values(),
                                    self._optimizer_step_pre_hooks.values()):
            result = hook(self, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(f"{hook} must return None or a tuple of (new_args, "
                                       f"new_kwargs), but got {result}.")
                args, kwargs = result
        out = step(self, *args, **kwargs)
        self._opt_called = True
        for hook in itertools.chain(self._optimizer_step_post_hooks.values(),
                                    _global_step_post_hooks.values()):
            hook(self, args, kwargs)
        return out

    wrapper.__name__, wrapper.__qualname__ = step.__name__, step.__qualname__
    wrapper.__doc__ = step.__doc__
    wrapper._hooked = True
    return wrapper


def _scalar_dtype():
    """The dtype of scalar state such as 'step': float64 when that is the default, else float32."""
    return _dtypes.float64 if _dtypes.get_default_dtype() == _dtypes.float64 else _dtypes.float32


def _scalar_state(value):
    return _tensor(float(value), dtype=_scalar_dtype())


def _to_scalar(x):
    """A learning rate (or beta) given as a one-element tensor, as a NumPy scalar of the
    tensor's dtype: arithmetic with it then rounds as PyTorch's 0-d tensor arithmetic does
    (a float32 lr gives float32 step sizes)."""
    if isinstance(x, Tensor):
        return x._array.reshape(())[()]
    return x


def _get_value(x):
    return float(x._array) if isinstance(x, Tensor) else x


class Optimizer:
    r"""Base class for all optimizers.

    Args:
        params (iterable): tensors to optimize, or dicts defining parameter groups (each with a
            'params' entry and any per-group options), or (name, tensor) pairs.
        defaults (dict): default values of the optimization options, used by groups that do not
            give them.
    """

    def __init__(self, params, defaults):
        self.defaults = defaults
        self._optimizer_step_pre_hooks = OrderedDict()
        self._optimizer_step_post_hooks = OrderedDict()
        self._optimizer_state_dict_pre_hooks = OrderedDict()
        self._optimizer_state_dict_post_hooks = OrderedDict()
        self._optimizer_load_state_dict_pre_hooks = OrderedDict()
        self._optimizer_load_state_dict_post_hooks = OrderedDict()
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got " + _typename(params))
        self.state = defaultdict(dict)
        self.param_groups = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_hooked", False):
            cls.step = _wrap_step(step)

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)
        for name in ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks",
                     "_optimizer_state_dict_pre_hooks", "_optimizer_state_dict_post_hooks",
                     "_optimizer_load_state_dict_pre_hooks",
                     "_optimizer_load_state_dict_post_hooks"):
            if name not in self.__dict__:
                setattr(self, name, OrderedDict())
        self.defaults.setdefault("differentiable", False)
        for group in self.param_groups:  # groups from older states get today's options
            for key, value in self.defaults.items():
                group.setdefault(key, value)

    def __repr__(self):
        lines = [self.__class__.__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group.keys()):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        return "\n".join(lines) + "\n)"

    # --- hooks --------------------------------------------------------------------------------
    def register_step_pre_hook(self, hook):
        """`hook(optimizer, args, kwargs)` runs before `step`; it may return new (args, kwargs)."""
        return _add_hook(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook):
        """`hook(optimizer, args, kwargs)` runs after `step`."""
        return _add_hook(self._optimizer_step_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook, prepend=False):
        return _add_hook(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend=False):
        return _add_hook(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend=False):
        return _add_hook(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend=False):
        return _add_hook(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    # --- state_dict ---------------------------------------------------------------------------
    def state_dict(self):
        """{'state': {index: {name: value}}, 'param_groups': [{option: value, 'params': [index]}]}.

        Parameters are numbered in the order they appear across the groups; the state holds the
        live buffers (copy them, or save to a file, to keep a snapshot)."""
        for hook in self._optimizer_state_dict_pre_hooks.values():
            hook(self)
        index = {}
        param_groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            param_groups.append(packed)
        packed_state = {(index[id(k)] if isinstance(k, Tensor) else k): v
                        for k, v in self.state.items()}
        state_dict = {"state": packed_state, "param_groups": param_groups}
        for hook in self._optimizer_state_dict_post_hooks.values():
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    def load_state_dict(self, state_dict):
        """Load a dict made by `state_dict()` (from kindling, or PyTorch's with its tensors
        converted to kindling tensors). Groups must match in number and size; the loaded group
        options replace the current ones; state tensors are copied and cast to the dtype of
        their parameter ('step' keeps its dtype)."""
        state_dict = dict(state_dict)
        for hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        groups = self.param_groups
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")
        id_map = dict(zip(itertools.chain.from_iterable(s["params"] for s in saved_groups),
                          itertools.chain.from_iterable(g["params"] for g in groups)))

        def cast(param, value, key=None):
            if isinstance(value, Tensor):
                if key != "step" and param.is_floating_point():
                    return _copy_tensor(value, param.dtype)
                return _copy_tensor(value, value.dtype)
            if isinstance(value, dict):
                return {k: cast(param, v, k) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return type(value)(cast(param, v) for v in value)
            return value

        state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = cast(param, v)
            else:
                state[k] = v
        new_groups = []
        for group, saved in zip(groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
            new_groups.append(saved)
        self.__setstate__({"state": state, "param_groups": new_groups})
        for hook in self._optimizer_load_state_dict_post_hooks.values():
            hook(self)

    # --- gradients and steps ------------------------------------------------------------------
    def zero_grad(self, set_to_none=True):
        """Reset the gradients of all optimized tensors: to None (default) or to zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    g = p.grad
                    if g.grad_fn is not None:
                        g.detach_()
                    else:
                        g.requires_grad_(False)
                    g._array[...] = 0
                    g._vc[0] += 1

    def step(self, closure=None):
        """Perform a single optimization step; `closure` re-evaluates the model and returns the
        loss (needed by LBFGS, optional elsewhere)."""
        raise NotImplementedError

    def add_param_group(self, param_group):
        """Add a group of parameters (a dict with 'params' and optional per-group options)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            param_group["params"] = list(params)
        tensors, names = [], []
        for param in param_group["params"]:
            if isinstance(param, tuple):
                names.append(param[0])
                tensors.append(param[1])
            else:
                tensors.append(param)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. Some param "
                                 "names are missing")
            param_group["param_names"] = names
        for param in tensors:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + _typename(param))
            if not (param.is_leaf or param.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)
        ids = [id(p) for p in tensors]
        if len(ids) != len(set(ids)):
            import warnings
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in "
                          "future, this will cause an error; see "
                          "github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        seen = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError(f"all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        if not seen.isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def _params_with_grad(self, group):
        """Yield (p, state) for each parameter of `group` that has a gradient, its 'step' already
        counted up by one. On a parameter's first step its state is created: 'step' and then
        the buffers the subclass's `_init_buffers(group, p)` returns."""
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if len(state) == 0:
                self._init_state(group, p)
            state["step"]._array += 1
            yield p, state

    def _init_state(self, group, p):
        state = self.state[p]
        state["step"] = _scalar_state(0.0)
        state.update(self._init_buffers(group, p))

    def _init_buffers(self, group, p):
        """The state buffers (besides 'step') parameter `p` of `group` starts with."""
        raise NotImplementedError

    def _closure_loss(self, closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()


def _typename(obj):
    if isinstance(obj, Tensor):
        return "torch." + obj.type().split(".")[-1]
    return type(obj).__module__ + "." + type(obj).__qualname__ \
        if type(obj).__module__ != "builtins" else type(obj).__qualname__


def _copy_tensor(t, dtype):
    return _tensor(t._array.astype(dtype.np, copy=True), dtype=dtype)


def _check_hyperparameters(*, nan_ok=False, **values):
    """Raise PyTorch's ValueError for the first of `values` (checked in the order given, which
    is PyTorch's) below zero; a tensor lr must hold one element. NaN is invalid too, except with
    `nan_ok` (SGD tests `x < 0.0` where the others test `not 0.0 <= x`)."""
    for name, value in values.items():
        if name == "lr" and hasattr(value, "numel") and value.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        invalid = value < 0.0 if nan_ok else not 0.0 <= value
        if invalid:
            what = {"lr": "learning rate", "eps": "epsilon value"}.get(name, f"{name} value")
            raise ValueError(f"Invalid {what}: {value}")


def _check_not_supported(name, differentiable=False, fused=None):
    if differentiable:
        raise NotImplementedError(f"{name}: differentiable=True is not supported by kindling")
    if fused:
        raise NotImplementedError(f"{name}: fused=True is not supported by kindling (CPU NumPy "
                                  f"updates are already one pass per parameter)")


# --- in-place NumPy kernels shared by the optimizers (same operation order as PyTorch's) --------
def _lerp_(a, b, w, scratch=None):
    """a <- a + w (b - a), computed as PyTorch's lerp does (from the nearer end). `scratch`, if
    given, is an array like `a` to use (and overwrite) instead of allocating temporaries."""
    diff = np.subtract(b, a, out=scratch)
    if abs(w) < 0.5:
        diff *= w
        a += diff
    else:
        diff *= 1 - a.dtype.type(w)
        np.subtract(b, diff, out=a)


def _grads(p, maximize, weight_decay):
    """The gradient the update uses: negated when maximizing, plus L2 weight decay."""
    g = p.grad._array
    if maximize:
        g = -g
    if weight_decay != 0:
        g = g + weight_decay * p._array
    return g


def _state_from(array):
    """A new state tensor holding a copy of `array` (same dtype)."""
    return _tensor(array)


def _state_like(p, fill=0.0):
    """A new state tensor shaped and typed like parameter `p`, filled with `fill`."""
    return _tensor(np.full_like(p._array, fill))
