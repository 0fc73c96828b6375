"""torch.autograd's public API: grad, backward, Function, gradcheck, gradgradcheck, anomaly mode
(detect_anomaly, set_detect_anomaly) and `autograd.functional` (vjp, jvp, jacobian, hessian, vhp,
hvp)."""
from ..engine.autograd import grad, backward
from ..engine.function import Function
from ..engine.grad_mode import no_grad, enable_grad, set_grad_enabled, is_grad_enabled
from ..engine.gradcheck import gradcheck, gradgradcheck
from ..engine.tensor import Tensor
from .anomaly_mode import detect_anomaly, set_detect_anomaly

__all__ = ["grad", "backward", "Function", "gradcheck", "gradgradcheck", "no_grad",
           "enable_grad", "set_grad_enabled", "is_grad_enabled", "detect_anomaly",
           "set_detect_anomaly", "functional", "Variable"]


class _VariableMeta(type):
    def __instancecheck__(cls, other):  # every tensor is a Variable, as in PyTorch
        return isinstance(other, Tensor)


class Variable(metaclass=_VariableMeta):
    """PyTorch's pre-0.4 wrapper, kept for old scripts: Variable(t) is a new leaf tensor sharing
    t's data (detached from t's graph), requiring grad only if asked."""

    def __new__(cls, data=None, requires_grad=False, volatile=False):
        from ..creation import tensor
        out = tensor([]) if data is None else data.detach()
        return out.requires_grad_(requires_grad)


def __getattr__(name):
    # `torch.autograd.functional` works after a bare import, but is loaded on first use: `import
    # kindling` stays fast (issue #7).
    if name == "functional":
        import importlib
        return importlib.import_module(".functional", __name__)
    raise AttributeError(f"module 'kindling.autograd' has no attribute '{name}'")
