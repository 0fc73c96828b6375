"""`Parameter`: a leaf tensor a Module registers as one of its learnable weights."""
import numpy as np

from ..engine import dtypes
from ..engine.tensor import Tensor, _init


class Parameter(Tensor):
    """A Tensor that, assigned as a Module attribute, is registered in its `parameters()`.

    It shares memory with `data` (as PyTorch's does) and is always a leaf.

    Example::

        >>> w = Parameter(kindling.zeros(3))
        >>> w.requires_grad
        True
    """
    __slots__ = ()

    def __new__(cls, data=None, requires_grad=True):
        self = Tensor.__new__(cls)
        if data is None:
            array = np.zeros((0,), dtype=dtypes.get_default_dtype().np)
            vc = None
        elif isinstance(data, Tensor):
            array, vc = data._array, data._vc
        else:
            raise TypeError(f"Parameter: expected a Tensor as data, got {type(data).__name__}")
        _init(self, array, requires_grad=bool(requires_grad), vc=vc)
        return self

    def __init__(self, data=None, requires_grad=True):
        pass  # everything happens in __new__

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        new = Parameter(Tensor(self._array.copy(), dtype=self.dtype), self._requires_grad)
        if self.grad is not None:
            from ..engine.tensor import _make
            new.grad = _make(self.grad._array.copy())
        memo[id(self)] = new
        return new


class Buffer(Tensor):
    """torch.nn.Buffer: marks a tensor to be registered as a buffer when assigned to a Module
    attribute. `persistent=False` keeps it out of the `state_dict`."""
    __slots__ = ()

    def __new__(cls, data=None, *, persistent=True):
        self = Tensor.__new__(cls)
        if data is None:
            array, vc, rg = np.zeros((0,), dtype=dtypes.get_default_dtype().np), None, False
        else:
            array, vc, rg = data._array, data._vc, data._requires_grad and data.grad_fn is None
        _init(self, array, requires_grad=rg, vc=vc)
        self.__dict__["persistent"] = persistent
        return self

    def __init__(self, data=None, *, persistent=True):
        pass


def is_lazy(param):
    return False
