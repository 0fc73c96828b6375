"""torch.autograd's public API: grad, backward, Function, gradcheck, gradgradcheck."""
from .engine.autograd import grad, backward
from .engine.function import Function
from .engine.grad_mode import no_grad, enable_grad, set_grad_enabled, is_grad_enabled
from .engine.gradcheck import gradcheck, gradgradcheck

__all__ = ["grad", "backward", "Function", "gradcheck", "gradgradcheck", "no_grad",
           "enable_grad", "set_grad_enabled", "is_grad_enabled"]
