"""torch.autograd's anomaly mode: detect_anomaly and set_detect_anomaly.

While it is on, every recorded op keeps the stack of the user code that created it
(engine/function.py), and backward (engine/autograd.py) checks each node's gradients: a NaN is an
error naming the node ("Function 'MulBackward0' returned nan values in its 0th output."), and any
error in a node's backward is preceded by a warning showing that forward stack. Off (the default),
it costs the engine one flag check per op. The flag itself is the top-level
`torch.set_anomaly_enabled` / `is_anomaly_enabled` / `is_anomaly_check_nan_enabled`.
"""
import functools
import warnings

from ..engine.function import _Anomaly

__all__ = ["detect_anomaly", "set_detect_anomaly"]


def set_anomaly_enabled(enabled, check_nan=True):
    """torch.set_anomaly_enabled: turn anomaly detection on or off (no context to restore)."""
    _Anomaly.enabled = bool(enabled)
    _Anomaly.check_nan = bool(check_nan)


def is_anomaly_enabled():
    return _Anomaly.enabled


def is_anomaly_check_nan_enabled():
    return _Anomaly.check_nan


class detect_anomaly:
    """Context manager (and, unlike PyTorch's, also a decorator) turning anomaly detection on.

    Forward then records where each op was created; backward raises
    ``RuntimeError: Function 'XBackward0' returned nan values in its 0th output.`` when a node's
    gradient holds a NaN (if ``check_nan``), after a warning with that node's forward traceback.
    Only for debugging: every op pays for capturing a Python stack.

    Example::

        >>> with torch.autograd.detect_anomaly():
        ...     loss = model(x).sum()
        ...     loss.backward()   # names the op (and the line) that produced a NaN gradient
    """

    def __init__(self, check_nan=True):
        self.prev = _Anomaly.enabled
        self.check_nan = check_nan
        self.prev_check_nan = _Anomaly.check_nan
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime "
                      "and should only be enabled for debugging.", stacklevel=2)

    def __enter__(self):
        self.prev, self.prev_check_nan = _Anomaly.enabled, _Anomaly.check_nan
        set_anomaly_enabled(True, self.check_nan)

    def __exit__(self, *args):
        set_anomaly_enabled(self.prev, self.prev_check_nan)
        return False

    def __call__(self, fn):
        check_nan = self.check_nan

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # warned once, when the decorator was made
                context = detect_anomaly(check_nan)
            with context:
                return fn(*args, **kwargs)
        return wrapper


class set_detect_anomaly:
    """Set anomaly detection on or off; takes effect at once (a plain call works) and, used as a
    context manager, restores the previous setting on exit."""

    def __init__(self, mode, check_nan=True):
        self.prev = _Anomaly.enabled
        self.prev_check_nan = _Anomaly.check_nan
        set_anomaly_enabled(mode, check_nan)

    def __enter__(self):
        pass

    def __exit__(self, *args):
        set_anomaly_enabled(self.prev, self.prev_check_nan)
        return False
