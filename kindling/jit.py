"""torch.jit: kindling has no TorchScript compiler.

Compiling (`script`, `trace`, `save`, `load`, ...) raises a clear error instead of silently
returning the eager function, because a script that saves a TorchScript archive would otherwise
produce something else without noticing. The annotation decorators (`ignore`, `unused`,
`export`) and the queries (`is_scripting`, `is_tracing`) work, since eager code uses them.
"""
import typing


def _unsupported(name):
    def unsupported(*args, **kwargs):
        raise NotImplementedError(f"torch.jit.{name}: kindling has no TorchScript compiler; run "
                                  f"the model eagerly (and save it with torch.save(state_dict))")
    unsupported.__name__ = unsupported.__qualname__ = name
    return unsupported


script = _unsupported("script")
trace = _unsupported("trace")
trace_module = _unsupported("trace_module")
save = _unsupported("save")
load = _unsupported("load")
freeze = _unsupported("freeze")
optimize_for_inference = _unsupported("optimize_for_inference")
fork = _unsupported("fork")
wait = _unsupported("wait")

Final = typing.Final


def ignore(drop=False, **kwargs):
    """Decorator marking a function TorchScript should leave alone: identity here."""
    if callable(drop):
        return drop
    return lambda fn: fn


def unused(fn):
    return fn


def export(fn):
    return fn


def interface(obj):
    return obj


def is_scripting():
    return False


def is_tracing():
    return False


def annotate(the_type, the_value):
    return the_value


def __getattr__(name):
    if name.startswith("_"):
        raise AttributeError(f"module 'kindling.jit' has no attribute '{name}'")
    return _unsupported(name)
