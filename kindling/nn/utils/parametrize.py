"""Parametrizations (torch.nn.utils.parametrize): a parameter or buffer expressed as a function
of other tensors, recomputed at every access.

`register_parametrization(module, "weight", P)` moves the tensor into
`module.parametrizations.weight` (a ParametrizationList) and gives the module a class of its
own, `Parametrized<Class>`, in which `weight` is a property:

    module.weight                 ->  P_n(...P_1(P_0(original)))
    module.weight = X             ->  original = P_0.right_inverse(...P_n.right_inverse(X))
    module.parametrizations.weight.original      # the tensor the optimizer trains

When `P_0.right_inverse` returns a sequence, the originals are `original0`, `original1`, ...
and `P_0.forward` takes them all. `cached()` computes each parametrized tensor once per block.
`remove_parametrizations` turns the tensor back into a plain parameter or buffer; the module's
own class comes back with its last parametrization.
"""
from collections.abc import Sequence
from contextlib import contextmanager
from copy import deepcopy

from ...engine.grad_mode import no_grad
from ...engine.tensor import Tensor
from ..modules.container import ModuleDict, ModuleList
from ..parameter import Parameter

__all__ = ["cached", "ParametrizationList", "register_parametrization", "is_parametrized",
           "remove_parametrizations", "type_before_parametrizations",
           "transfer_parametrizations_and_params"]


# --- cache --------------------------------------------------------------------------------------
class _Cache:
    depth = 0     # how many cached() blocks are open
    values = {}   # ParametrizationList -> its value, while depth > 0


@contextmanager
def cached():
    """Within this block, each parametrized tensor is computed on its first access and reused
    afterwards (one graph for all its uses); the values are dropped when the outermost block
    ends.

    Example::

        >>> with parametrize.cached():
        ...     for x in xs:
        ...         h = rnn_cell(x, h)   # the parametrized weight is computed once
    """
    _Cache.depth += 1
    try:
        yield
    finally:
        _Cache.depth -= 1
        if _Cache.depth == 0:
            _Cache.values = {}


# --- checks -------------------------------------------------------------------------------------
def _check_like(value, dtype, shape, produced_by, reference):
    """`value` (what `produced_by` returned) must be a tensor of the `dtype` and `shape` of
    `reference`: a safe parametrization changes neither."""
    if not isinstance(value, Tensor):
        raise ValueError(f"{produced_by} must return a tensor. Got {type(value).__name__}.")
    for attr, want in (("dtype", dtype), ("shape", shape)):
        got = getattr(value, attr)
        if want != got:
            raise ValueError(f"Registering a parametrization may not change the {attr} of the "
                             f"tensor, unless the `unsafe` flag is enabled.\n"
                             f"{reference}.{attr}: {want}\n{produced_by}.{attr}: {got}")


def _check_originals(values, count):
    """`values` (what right_inverse returned) as a list: one tensor, or a sequence of tensors
    (of length `count`, once known)."""
    if isinstance(values, Tensor):
        return [values]
    if not isinstance(values, Sequence):
        raise ValueError(f"'right_inverse' must return a Tensor or a Sequence of tensors "
                         f"(list, tuple...). Got {type(values).__name__}")
    if count is not None and len(values) != count:
        raise ValueError(f"'right_inverse' must return a sequence of tensors of length {count}. "
                         f"Got a sequence of length {len(values)}.")
    for i, t in enumerate(values):
        if not isinstance(t, Tensor):
            raise ValueError(f"'right_inverse' must return a Tensor or a Sequence of tensors "
                             f"(list, tuple...). Got element {i} of the sequence with type "
                             f"{type(t).__name__}.")
    return list(values)


def _attach(module, name, tensor):
    """Register `tensor` on `module` as a parameter if it is one, else as a buffer."""
    if isinstance(tensor, Parameter):
        module.register_parameter(name, tensor)
    else:
        module.register_buffer(name, tensor)


# --- the chain of parametrizations of one tensor ------------------------------------------------
class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, applied in order, and the unparametrized tensor(s)
    they act on: `original`, or `original0`, `original1`, ... when the first parametrization's
    `right_inverse` returns a sequence. Calling it returns the parametrized tensor.

    Built by `register_parametrization`; not meant to be made by hand.
    """

    def __init__(self, modules, original, unsafe=False):
        if len(modules) == 0:
            raise ValueError("ParametrizationList requires one or more modules.")
        super().__init__(modules)
        self.unsafe = unsafe
        dtype, shape = original.dtype, original.shape
        # originals = right_inverse(current value); a parametrization without one (or raising
        # NotImplementedError) keeps the value as it is
        with no_grad():
            values = self._inverse(original, strict=False)
        self.is_tensor = isinstance(values, Tensor)
        values = _check_originals(values, None)
        self.ntensors = len(values)
        if self.is_tensor:
            if values[0].dtype != original.dtype:
                raise ValueError(f"When `right_inverse` outputs one tensor, it may not change "
                                 f"the dtype.\noriginal.dtype: {original.dtype}\n"
                                 f"right_inverse(original).dtype: {values[0].dtype}")
            with no_grad():
                original.set_(values[0])  # the same object: an optimizer may hold it
            _attach(self, "original", original)
        else:
            # the originals of a Parameter are Parameters, those of a buffer are buffers
            for i, value in enumerate(values):
                if isinstance(original, Parameter):
                    value = Parameter(value, original.requires_grad)
                else:
                    value.requires_grad_(original.requires_grad)
                _attach(self, f"original{i}", value)
        if not unsafe:
            _check_like(self(), dtype, shape, "parametrization(original)", "original")

    def _inverse(self, value, strict):
        """right_inverse through the chain, last parametrization first. Not `strict`: one that
        has none, or raises NotImplementedError, passes the value through."""
        for module in reversed(self):
            inverse = getattr(module, "right_inverse", None)
            if inverse is None:
                if strict:
                    raise RuntimeError(f"parametrization {type(module).__name__} does not "
                                       f"implement right_inverse.")
                continue
            try:
                value = inverse(value)
            except NotImplementedError:
                if strict:
                    raise
        return value

    def _original_names(self):
        return ["original"] if self.is_tensor else [f"original{i}" for i in range(self.ntensors)]

    def right_inverse(self, value):
        """Store `right_inverse(value)` (through every parametrization, last first) in the
        original tensor(s): what assigning to the parametrized attribute does."""
        with no_grad():
            new = self._inverse(value, strict=True)
            if self.is_tensor and not isinstance(new, Tensor):
                raise ValueError(f"`right_inverse` should return a tensor. Got "
                                 f"{type(new).__name__}")
            new = _check_originals(new, self.ntensors)
            for name, tensor in zip(self._original_names(), new):
                original = getattr(self, name)
                if tensor.dtype != original.dtype:
                    raise ValueError(f"The tensor returned by `right_inverse` for `{name}` has "
                                     f"dtype {tensor.dtype} while `{name}` has dtype "
                                     f"{original.dtype}")
                original.set_(tensor)

    def forward(self):
        first, *rest = self
        x = first(*(getattr(self, name) for name in self._original_names()))
        for module in rest:
            x = module(x)
        return x


# --- the injected class -------------------------------------------------------------------------
def _tensor_property(name):
    """The property standing for the parametrized tensor `name`."""
    def read(self):
        chain = self.parametrizations[name]
        if not _Cache.depth:
            return chain()
        if chain not in _Cache.values:
            _Cache.values[chain] = chain()
        return _Cache.values[chain]

    def assign(self, value):
        self.parametrizations[name].right_inverse(value)

    return property(read, assign, doc=f"`{name}`, computed by parametrizations.{name}")


def _refuse_pickle(self):
    raise RuntimeError("Serialization of parametrized modules is only supported through "
                       "state_dict(). Save `module.state_dict()` and load it into a module "
                       "parametrized the same way.")


def _copy_parametrized(self, memo):
    # pickling is refused, so deepcopy cannot go through __reduce_ex__; the copy gets a class
    # of its own, so removing a parametrization from one leaves the other intact
    cls = _parametrized_class(type(self).__bases__[0], self.parametrizations)
    clone = cls.__new__(cls)
    memo[id(self)] = clone
    clone.__dict__.update(deepcopy(self.__dict__, memo))
    return clone


def _parametrized_class(base, names=()):
    """A fresh subclass `Parametrized<Base>` of `base`, one per module instance (its properties
    are that module's), with a property for each of `names`."""
    namespace = {"__getstate__": _refuse_pickle}
    if not hasattr(base, "__deepcopy__"):
        namespace["__deepcopy__"] = _copy_parametrized
    namespace.update({name: _tensor_property(name) for name in names})
    return type(f"Parametrized{base.__name__}", (base,), namespace)


# --- public API ---------------------------------------------------------------------------------
def register_parametrization(module, tensor_name, parametrization, *, unsafe=False):
    """Register `parametrization` (a Module) on the parameter or buffer `module.<tensor_name>`:
    from now on the attribute is `parametrization(original)`. A second registration on the same
    name stacks: the new one is applied to the previous result.

    If `parametrization` has `right_inverse(X)`, it is used to initialize the original from the
    current value (so `module.<tensor_name>` keeps its value when it is in the image of the
    parametrization) and on assignment `module.<tensor_name> = X`; it may return a sequence of
    tensors, stored as `original0`, `original1`, ... With `unsafe=True` the parametrization may
    change the shape or dtype of the tensor and is not checked.

    Example::

        >>> class Symmetric(nn.Module):
        ...     def forward(self, X):
        ...         return X.triu() + X.triu(1).transpose(-1, -2)
        >>> m = nn.Linear(5, 5)
        >>> parametrize.register_parametrization(m, "weight", Symmetric())
        >>> torch.allclose(m.weight, m.weight.T)
        True
    """
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        chain = module.parametrizations[tensor_name]
        if not unsafe:
            current = getattr(module, tensor_name)
            new = parametrization(current)
            _check_like(new, current.dtype, current.shape,
                        f"parametrization(module.{tensor_name})", f"module.{tensor_name}")
            inverse = getattr(parametrization, "right_inverse", None)
            if inverse is not None:
                try:
                    back = inverse(new)
                except NotImplementedError:
                    pass
                else:
                    _check_like(back, current.dtype, current.shape,
                                "parametrization.right_inverse(...)", f"module.{tensor_name}")
        chain.append(parametrization)
        chain.unsafe |= unsafe
    elif tensor_name in module._parameters or tensor_name in module._buffers:
        # built first, so that a failing check leaves the module as it was
        chain = ParametrizationList([parametrization], getattr(module, tensor_name),
                                    unsafe=unsafe)
        delattr(module, tensor_name)
        if not is_parametrized(module):
            module.__class__ = _parametrized_class(type(module))
            module.parametrizations = ModuleDict()
        setattr(type(module), tensor_name, _tensor_property(tensor_name))
        module.parametrizations[tensor_name] = chain
    else:
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a "
                         f"parametrized element with name '{tensor_name}'")
    return module


def is_parametrized(module, tensor_name=None):
    """Whether `module` has any parametrization (or one on `tensor_name`)."""
    chains = getattr(module, "parametrizations", None)
    if not isinstance(chains, ModuleDict):
        return False
    return len(chains) > 0 if tensor_name is None else tensor_name in chains


def remove_parametrizations(module, tensor_name, leave_parametrized=True):
    """Remove the parametrizations on `module.<tensor_name>`, which becomes a plain parameter
    (or buffer) again: holding the current parametrized value if `leave_parametrized`, else the
    unparametrized `original` (impossible when there are several originals). A single original
    keeps its identity, so optimizers holding it still train the module. Returns the module."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    chain = module.parametrizations[tensor_name]
    if not chain.is_tensor and not leave_parametrized:
        raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor "
                         "that is parametrized in terms of a sequence of tensors.")
    if leave_parametrized:
        with no_grad():
            value = getattr(module, tensor_name)
    if chain.is_tensor:
        tensor = chain.original
        if leave_parametrized:
            tensor.set_(value)  # shape and dtype may change too, if the chain was unsafe
    else:
        # several originals: a new tensor, a Parameter if they were trained
        trained = any(getattr(chain, name).requires_grad for name in chain._original_names())
        tensor = Parameter(value) if trained else value

    delattr(type(module), tensor_name)
    del module.parametrizations[tensor_name]
    _attach(module, tensor_name, tensor)
    if not is_parametrized(module):
        del module.parametrizations
        module.__class__ = type(module).__bases__[0]
    return module


def type_before_parametrizations(module):
    """The module's class, not the `Parametrized<Class>` that parametrizations swap in."""
    return type(module).__bases__[0] if is_parametrized(module) else type(module)


def transfer_parametrizations_and_params(from_module, to_module, tensor_name=None):
    """Register `from_module`'s parametrizations (all, or those on `tensor_name`) on
    `to_module`, sharing their modules and original tensors; a tensor `to_module` lacks is
    created first. Does nothing if `from_module` is not parametrized. Returns `to_module`."""
    if not is_parametrized(from_module):
        return to_module
    names = list(from_module.parametrizations) if tensor_name is None else [tensor_name]
    for name in names:
        source = from_module.parametrizations[name]
        if not hasattr(to_module, name):
            setattr(to_module, name, Parameter(getattr(from_module, name).detach()))
        for parametrization in source:
            register_parametrization(to_module, name, parametrization)
        target = to_module.parametrizations[name]
        for original in source._original_names():
            setattr(target, original, getattr(source, original))
    return to_module
