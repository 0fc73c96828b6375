"""torch.amp: automatic mixed precision, as pass-throughs.

kindling computes in the dtype you give it; there is no reduced-precision autocast kernel set and
no GPU whose float16 gradients could underflow. So:

* `autocast(device_type, dtype=None, enabled=True, cache_enabled=None)` is a context manager and
  decorator that changes nothing. (PyTorch's CPU autocast would run some ops in bfloat16; kindling
  keeps float32, which is at least as accurate.)
* `GradScaler` does no scaling, exactly what PyTorch's GradScaler does when it is disabled (as it
  disables itself when CUDA is unavailable): `scale(loss)` returns `loss`, `step(opt)` calls
  `opt.step()`, `unscale_` and `update` do nothing, `get_scale()` is 1.0.

A training loop written for AMP therefore runs unchanged and gives the float32 result.
"""
import functools

__all__ = ["autocast", "GradScaler", "is_autocast_available"]


def is_autocast_available(device_type):
    return False


class autocast:
    def __init__(self, device_type="cpu", dtype=None, enabled=True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"autocast: expected `device_type` of type str, got "
                             f"{type(device_type).__name__}")
        self.device, self.fast_dtype, self._enabled = device_type, dtype, enabled

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)
        return wrapper


class GradScaler:
    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        self._device = device
        self._requested = enabled  # scaling never happens on kindling; see the module docstring

    def scale(self, outputs):
        return outputs

    def unscale_(self, optimizer):
        pass

    def step(self, optimizer, *args, **kwargs):
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale=None):
        pass

    def get_scale(self):
        return 1.0

    def get_growth_factor(self):
        return 2.0

    def get_backoff_factor(self):
        return 0.5

    def get_growth_interval(self):
        return 2000

    def is_enabled(self):
        return False

    def state_dict(self):
        return {}

    def load_state_dict(self, state_dict):
        pass
