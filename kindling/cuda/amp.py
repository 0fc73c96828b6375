"""torch.cuda.amp: the deprecated spellings of torch.amp's autocast and GradScaler.

On the CPU-only kindling both are pass-throughs; see kindling/amp.py."""
from .. import amp as _amp

GradScaler = _amp.GradScaler


class autocast(_amp.autocast):
    """torch.cuda.amp.autocast(enabled=True, dtype=torch.float16, cache_enabled=True): a no-op
    context manager and decorator (no CUDA, so nothing runs in reduced precision)."""

    def __init__(self, enabled=True, dtype=None, cache_enabled=True):
        super().__init__("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


def custom_fwd(fwd=None, *, cast_inputs=None):
    """Decorator for a custom Function's forward under autocast: identity here."""
    if fwd is None:
        return lambda f: f
    return fwd


def custom_bwd(bwd):
    return bwd
