"""torch.nn.utils.stateless: call a module with other tensors in place of its parameters and
buffers (the implementation behind torch.func.functional_call, which is the API to use)."""
import contextlib
import warnings

from ...engine.tensor import Tensor

__all__ = ["functional_call"]

_MISSING = object()


def _untie_named_tensors_map(module, parameters_and_buffers):
    """With tied weights (one tensor under several names), give every name of a tied tensor the
    value passed for any one of them; two different values for one tied tensor is an error."""
    all_named = dict(module.named_parameters(remove_duplicate=False))
    all_named.update(module.named_buffers(remove_duplicate=False))
    names_of = {}
    for name, tensor in all_named.items():
        names_of.setdefault(id(tensor), set()).add(name)
    tied = {name: names for names in names_of.values() if len(names) > 1 for name in names}
    given_tied = [name for name in parameters_and_buffers if name in tied]
    for name in given_tied:
        names = tied[name]
        given = [n for n in names if n in parameters_and_buffers]
        if len(given) > 1 and len({id(parameters_and_buffers[n]) for n in given}) != 1:
            raise ValueError(f"functional_call got multiple values for keys {sorted(names)}, "
                             f"which are tied. Consider using tie_weights=False")
    untied = dict(parameters_and_buffers)
    for name in given_tied:
        for other in tied[name]:
            untied[other] = parameters_and_buffers[name]
    return untied


def _swap_tensor(module, name, value):
    """Put `value` (or _MISSING: remove) at dotted `name`; return what was there (or _MISSING)."""
    prefix, _, attr = name.rpartition(".")
    owner = module.get_submodule(prefix)
    if value is not _MISSING and value is not None and not isinstance(value, Tensor):
        raise TypeError(f"functional_call: the value for {name!r} is a {type(value).__name__}, "
                        f"expected a Tensor")
    for store in (owner._parameters, owner._buffers):
        if attr in store:
            original = store[attr]
            if value is _MISSING:
                del store[attr]
            else:
                store[attr] = value  # a plain tensor in the Parameter's slot: forward reads it
            return original
    if hasattr(owner, attr):
        original = getattr(owner, attr)
        if original is not None and not isinstance(original, Tensor):
            raise TypeError(f"functional_call: attribute {name!r} of {owner._get_name()} is a "
                            f"{type(original).__name__}, not a Tensor, so it cannot be replaced")
    else:
        original = _MISSING
    if value is _MISSING:
        if original is not _MISSING:
            delattr(owner, attr)
    else:
        setattr(owner, attr, value)
    return original


def _check_keys(module, names):
    expected = {n for n, _ in module.named_parameters(remove_duplicate=False)}
    expected |= {n for n, _ in module.named_buffers(remove_duplicate=False)}
    given = set(names)
    return sorted(expected - given), sorted(given - expected)


@contextlib.contextmanager
def _reparametrize_module(module, parameters_and_buffers, tie_weights=False, strict=False):
    if tie_weights:
        untied = _untie_named_tensors_map(module, parameters_and_buffers)
    else:
        untied = parameters_and_buffers
    if strict:
        missing, unexpected = _check_keys(module, untied)
        messages = []
        if unexpected:
            messages.append(f"Unexpected key(s): {', '.join(map(repr, unexpected))}.")
        if missing:
            messages.append(f"Missing key(s): {', '.join(map(repr, missing))}.")
        if messages:
            raise RuntimeError("Error(s) in reparametrizing for {}:\n\t{}".format(
                module._get_name(), "\n\t".join(messages)))
    originals = {}
    try:
        for name, value in untied.items():
            originals[name] = _swap_tensor(module, name, value)
        yield
    finally:
        # Restore in reverse order, so a name swapped twice ends with its first original.
        for name in reversed(list(originals)):
            _swap_tensor(module, name, originals[name])


def _functional_call(module, parameters_and_buffers, args=None, kwargs=None, *, tie_weights=True,
                     strict=False):
    if kwargs is None:
        kwargs = {}
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _reparametrize_module(module, parameters_and_buffers, tie_weights=tie_weights,
                               strict=strict):
        return module(*args, **kwargs)


def functional_call(module, parameters_and_buffers, args=None, kwargs=None, *, tie_weights=True,
                    strict=False):
    """Call `module(*args, **kwargs)` with the tensors in `parameters_and_buffers` (dotted names)
    in place of its own, restored afterwards even on error. Deprecated in PyTorch 2.0 in favour
    of torch.func.functional_call (a drop-in replacement), and warns as PyTorch does."""
    warnings.warn("`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 and "
                  "will be removed in a future version of PyTorch. Please use "
                  "`torch.func.functional_call` instead which is a drop-in replacement.",
                  FutureWarning, stacklevel=2)
    return _functional_call(module, parameters_and_buffers, args, kwargs,
                            tie_weights=tie_weights, strict=strict)
