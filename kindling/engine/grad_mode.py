"""Whether operations record a graph for autograd: no_grad, enable_grad, set_grad_enabled."""
import functools


class _State:
    enabled = True  # read on every op, so a plain class attribute


def is_grad_enabled():
    return _State.enabled


class _GradModeContext:
    """Context manager that is also a decorator, like torch.no_grad."""
    _mode = None

    def __enter__(self):
        self._previous = _State.enabled
        _State.enabled = self._mode
        return self

    def __exit__(self, *exc):
        _State.enabled = self._previous
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradModeContext):
    _mode = False


class enable_grad(_GradModeContext):
    _mode = True


class inference_mode(no_grad):
    def __init__(self, mode=True):
        self._mode = not mode


class set_grad_enabled(_GradModeContext):
    """Takes effect immediately (as in PyTorch) and restores the previous mode on exit."""

    def __init__(self, mode):
        self._previous = _State.enabled
        self._mode = bool(mode)
        _State.enabled = self._mode

    def __enter__(self):
        return self

    def __call__(self, fn):
        _State.enabled = self._previous  # used as a decorator: don't change the global mode now
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)
        return wrapper
