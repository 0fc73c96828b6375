"""kindling: a deep learning framework on NumPy with PyTorch's API."""
from . import _allocator
_allocator.tune()  # reuse freed memory instead of page-faulting fresh pages every op
from .engine import dtypes as _dtypes
from .engine.dtypes import (dtype, float16, half, float32, float, float64, double, uint8, int8,
                            int16, short, int32, int, int64, long, bool, get_default_dtype,
                            set_default_dtype)
from .engine.tensor import Tensor, Size, bind_methods as _bind_methods
from .engine.grad_mode import (no_grad, enable_grad, set_grad_enabled, is_grad_enabled,
                               inference_mode)
from .engine.device import device
from .engine.dtypes import result_type as _result_type
from .random import (Generator, manual_seed, seed, initial_seed, get_rng_state, set_rng_state,
                     default_generator)
from . import ops as _ops
from . import creation as _creation
from . import autograd
from . import linalg, return_types

_ops.METHODS.update(_creation.METHODS)
_bind_methods()


def _export(module):
    for name in module.FUNCTIONS:
        globals()[name] = getattr(module, name)


for _module in _ops.FAMILIES + (_creation,):
    _export(_module)
del _module

__version__ = "0.1.0"

from ._misc import (is_tensor, is_storage, numel, is_floating_point, is_nonzero,  # noqa: E402
                    set_printoptions, get_printoptions, use_deterministic_algorithms,
                    are_deterministic_algorithms_enabled,
                    is_deterministic_algorithms_warn_only_enabled, set_float32_matmul_precision,
                    get_float32_matmul_precision, compile, autocast, finfo, iinfo,
                    promote_types, can_cast, is_complex, is_signed, set_anomaly_enabled,
                    is_anomaly_enabled, is_anomaly_check_nan_enabled)
from .threads import (set_num_threads, get_num_threads, set_num_interop_threads,  # noqa: E402
                      get_num_interop_threads)

# Not imported by `import kindling`, which stays fast (issue #7), but on first use:
# `kindling.nn`, `from kindling import nn` and `kindling.save` work as if they were. Sub-modules,
# then top-level names with the module defining them; ops.LAZY_FAMILIES' functions come last.
_LAZY_MODULES = ("nn", "optim", "utils", "cuda", "backends", "jit", "onnx", "distributed",
                 "testing", "multiprocessing", "version", "serialization", "models", "vision",
                 "text", "train", "generate", "distributions", "special", "func")
_LAZY_NAMES = {"save": "serialization", "load": "serialization",
               "cosine_similarity": "nn.functional", "pairwise_distance": "nn.functional"}


def __getattr__(name):
    import importlib
    if name in _LAZY_MODULES or name in _LAZY_NAMES:
        module = importlib.import_module(f".{_LAZY_NAMES.get(name, name)}", __name__)
        value = getattr(module, name) if name in _LAZY_NAMES else module
    else:
        # Private names (import probes such as __path__) never name an op: skip the imports.
        family = None if name.startswith("_") else next(
            (f for f in _lazy_families() if name in f.FUNCTIONS), None)
        if family is None:
            raise AttributeError(f"module 'kindling' has no attribute '{name}'")
        value = getattr(family, name)
    globals()[name] = value  # cache: the next lookup is a plain attribute read
    return value


def _lazy_families():
    import importlib
    return [importlib.import_module(f".ops.{f}", __name__) for f in _ops.LAZY_FAMILIES]


def __dir__():
    functions = {name for family in _lazy_families() for name in family.FUNCTIONS}
    return sorted(set(globals()) | set(_LAZY_MODULES) | set(_LAZY_NAMES) | functions)
