"""Padding layers: constant (zero), reflection, replication and circular, 1-D, 2-D and 3-D."""
from ...ops.shape import pad
from .module import Module

__all__ = ["ZeroPad1d", "ZeroPad2d", "ConstantPad1d", "ConstantPad2d", "ReflectionPad1d",
           "ReflectionPad2d", "ReplicationPad1d", "ReplicationPad2d", "CircularPad1d",
           "CircularPad2d", "ZeroPad3d", "ConstantPad3d", "ReflectionPad3d", "ReplicationPad3d",
           "CircularPad3d"]


class _PadNd(Module):
    _mode = "constant"
    _pairs = 2

    def __init__(self, padding, value=0.0):
        super().__init__()
        self.padding = tuple(padding) if isinstance(padding, (tuple, list)) \
            else (padding,) * (2 * self._pairs)
        self.value = value

    def forward(self, input):
        if self._mode == "constant":
            return pad(input, self.padding, mode="constant", value=self.value)
        return pad(input, self.padding, mode=self._mode)

    def extra_repr(self):
        if self._mode == "constant" and not isinstance(self, (ZeroPad1d, ZeroPad2d, ZeroPad3d)):
            return f"padding={self.padding}, value={self.value}"
        return f"{self.padding}"


class ConstantPad1d(_PadNd):
    _pairs = 1


class ConstantPad2d(_PadNd):
    _pairs = 2


class ZeroPad1d(ConstantPad1d):
    def __init__(self, padding):
        super().__init__(padding, 0.0)


class ZeroPad2d(ConstantPad2d):
    def __init__(self, padding):
        super().__init__(padding, 0.0)


class ReflectionPad1d(_PadNd):
    _mode, _pairs = "reflect", 1


class ReflectionPad2d(_PadNd):
    _mode, _pairs = "reflect", 2


class ReplicationPad1d(_PadNd):
    _mode, _pairs = "replicate", 1


class ReplicationPad2d(_PadNd):
    _mode, _pairs = "replicate", 2


class CircularPad1d(_PadNd):
    _mode, _pairs = "circular", 1


class CircularPad2d(_PadNd):
    _mode, _pairs = "circular", 2


class ConstantPad3d(_PadNd):
    _pairs = 3


class ZeroPad3d(ConstantPad3d):
    def __init__(self, padding):
        super().__init__(padding, 0.0)


class ReflectionPad3d(_PadNd):
    _mode, _pairs = "reflect", 3


class ReplicationPad3d(_PadNd):
    _mode, _pairs = "replicate", 3


class CircularPad3d(_PadNd):
    _mode, _pairs = "circular", 3
