"""kindling: a deep learning framework on NumPy with PyTorch's API."""
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

from .serialization import save, load  # noqa: E402
from . import utils  # noqa: E402
from . import nn  # noqa: E402
from . import optim  # noqa: E402
from . import cuda, backends, amp, jit, onnx, distributed, testing, multiprocessing  # noqa: E402
from . import version  # noqa: E402
from ._misc import (is_tensor, is_storage, numel, is_floating_point, is_nonzero,  # noqa: E402
                    set_printoptions, get_printoptions, use_deterministic_algorithms,
                    are_deterministic_algorithms_enabled,
                    is_deterministic_algorithms_warn_only_enabled, set_float32_matmul_precision,
                    get_float32_matmul_precision, compile, autocast)
from .threads import (set_num_threads, get_num_threads, set_num_interop_threads,  # noqa: E402
                      get_num_interop_threads)


_LAZY = ("models", "vision", "text", "train", "generate")  # imported on first use: startup time


def __getattr__(name):
    if name in _LAZY:
        import importlib
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'kindling' has no attribute '{name}'")
