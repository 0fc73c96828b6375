"""`Parameter`: a leaf tensor a Module registers as one of its learnable weights; `Buffer`;
and the uninitialized parameters and buffers of lazy modules (`UninitializedParameter`,
`UninitializedBuffer`, `is_lazy`)."""
import numpy as np

from ..engine import dtypes
from ..engine.device import check_device
from ..engine.tensor import Tensor, _init, _make


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


# --- uninitialized (lazy) parameters and buffers ---------------------------------------------
_ARRAY = Tensor._array  # the slot holding the ndarray, reached directly by the methods allowed


def _raw(t):
    return _ARRAY.__get__(t, Tensor)


def _uninitialized_use(cls_name, what):
    return ValueError(
        f"Attempted to use an uninitialized parameter in {what}. This error happens when you are "
        f"using a `LazyModule` or explicitly manipulating `torch.nn.parameter.{cls_name}` "
        f"objects. When using LazyModules Call `forward` with a dummy batch to initialize the "
        f"parameters before calling torch functions")


# What an uninitialized tensor still answers (PyTorch's `_allowed_methods`, plus the attributes
# that are descriptors there: dtype, device, requires_grad, grad, is_leaf, data, ndim).
_ALLOWED = frozenset({
    "size", "copy_", "is_complex", "is_floating_point", "half", "float", "double", "char",
    "short", "int", "long", "cuda", "cpu", "to", "get_device", "materialize", "cls_to_become",
    "shape", "share_memory_", "dtype", "device", "requires_grad", "grad", "grad_fn", "is_leaf",
    "data", "ndim", "retains_grad", "persistent"})


class UninitializedTensorMixin:
    """What UninitializedParameter and UninitializedBuffer share: a tensor whose shape is not
    known yet. It holds an empty array of the dtype it will have; `materialize(shape)` gives it
    memory and turns it into its `cls_to_become` (Parameter, or Tensor for a buffer), in place.

    Until then, any op on it raises a ValueError naming the op, as in PyTorch: public methods are
    refused in `__getattribute__`, and every op of kindling reaches a tensor's data through
    `_array`, which refuses too. Only dtype/device conversions, `size()`, `copy_` and the
    autograd attributes work (what `Module.to()`, `load_state_dict` and optimizers need).
    """
    __slots__ = ()

    def __getattribute__(self, name):
        if name[0] != "_" and name not in _ALLOWED:
            for klass in type(self).__mro__:
                attr = klass.__dict__.get(name)
                if attr is not None:
                    if callable(attr) and not isinstance(attr, property):
                        raise _uninitialized_use(type(self).__name__, f"Tensor.{name}()")
                    break
        return object.__getattribute__(self, name)

    @property
    def _array(self):
        import sys
        frame = sys._getframe(1)
        for _ in range(8):  # name the op that wanted the data, not the engine's private helpers
            name = frame.f_code.co_name
            private = name == "apply" or name == "__getattribute__" or (
                name.startswith("_") and not name.endswith("__"))
            if not private or frame.f_back is None:
                break
            frame = frame.f_back
        raise _uninitialized_use(type(self).__name__, f"{frame.f_code.co_name}()")

    @_array.setter
    def _array(self, value):
        _ARRAY.__set__(self, value)

    @property
    def shape(self):
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. This error usually "
            "happens in `load_state_dict` when trying to load an uninitialized parameter into an "
            "initialized one. Call `forward` to initialize the parameters before accessing their "
            "attributes.")

    @property
    def dtype(self):
        return dtypes.from_numpy_dtype(_raw(self).dtype)

    @property
    def ndim(self):
        return 1

    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        if value and _raw(self).dtype.kind != "f":
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self._requires_grad = bool(value)

    @property
    def data(self):
        return _make(_raw(self), vc=self._vc, base=self)

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"Tensor.data must be set to a Tensor, got {type(value).__name__}")
        _ARRAY.__set__(self, _raw(value))
        self._vc = value._vc

    def size(self, dim=None):
        return _make(_raw(self)).size(dim)

    def is_floating_point(self):
        return _raw(self).dtype.kind == "f"

    def is_complex(self):
        return False

    def get_device(self):
        return -1

    def copy_(self, src, non_blocking=False):
        if not is_lazy(src):
            _make(_raw(self)).copy_(src)
        return self

    def _converted(self, method, *args, **kwargs):
        """The same kind of uninitialized tensor, converted like a plain empty one would be."""
        array = _raw(getattr(_make(_raw(self)), method)(*args, **kwargs))
        new = type(self)._empty(array, self._requires_grad and array.dtype.kind == "f")
        new.__dict__.update(self.__dict__)
        return new

    def to(self, *args, **kwargs):
        return self._converted("to", *args, **kwargs)

    def cpu(self):
        return self

    def cuda(self, device=None, non_blocking=False):
        return self._converted("cuda", device)

    def float(self):
        return self._converted("float")

    def double(self):
        return self._converted("double")

    def half(self):
        return self._converted("half")

    def char(self):
        return self._converted("char")

    def short(self):
        return self._converted("short")

    def int(self):
        return self._converted("int")

    def long(self):
        return self._converted("long")

    def materialize(self, shape, device=None, dtype=None):
        """Give this tensor memory of `shape` (its dtype unless `dtype`; uninitialized values,
        as torch.empty) and make it a `cls_to_become`, in place: modules and optimizers
        holding it keep working."""
        check_device(device)
        d = dtypes.as_dtype(dtype) if dtype is not None else self.dtype
        if isinstance(shape, int):
            shape = (shape,)
        self.data = _make(np.empty(tuple(int(n) for n in shape), dtype=d.np))
        self.__class__ = self.cls_to_become

    def share_memory_(self):
        raise RuntimeError("Can't share memory on an uninitialized parameter or buffer. Call "
                           "`forward` to initialize the parameters before calling "
                           "`module.share_memory()`.")

    def __repr__(self):
        return f"<{type(self).__name__}>"

    __str__ = __repr__

    def __format__(self, spec):
        return format(repr(self), spec)

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)._empty(_raw(self).copy(), self._requires_grad)
        result.__dict__.update(self.__dict__)
        memo[id(self)] = result
        return result


def is_lazy(param):
    """Whether `param` is an UninitializedParameter or an UninitializedBuffer."""
    return isinstance(param, UninitializedTensorMixin)


def _empty_array(device, dtype):
    check_device(device)
    d = dtypes.as_dtype(dtype) or dtypes.get_default_dtype()
    return np.empty((0,), dtype=d.np)


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A Parameter whose shape is not known yet (what lazy modules hold until their first
    forward). Its dtype and device are those it will be materialized with; any other use raises.

    Example::

        >>> p = nn.UninitializedParameter()
        >>> p.materialize((2, 3))
        >>> type(p).__name__, p.shape
        ('Parameter', torch.Size([2, 3]))
    """
    __slots__ = ()
    cls_to_become = Parameter

    def __new__(cls, requires_grad=True, device=None, dtype=None):
        return cls._empty(_empty_array(device, dtype), requires_grad)

    def __init__(self, requires_grad=True, device=None, dtype=None):
        pass

    @classmethod
    def _empty(cls, array, requires_grad):
        self = Tensor.__new__(cls)
        _init(self, array, requires_grad=bool(requires_grad))
        return self


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer whose shape is not known yet (a lazy BatchNorm's running statistics); it becomes
    a plain Tensor when materialized."""
    __slots__ = ()
    cls_to_become = Tensor

    def __new__(cls, requires_grad=False, device=None, dtype=None, persistent=True):
        self = cls._empty(_empty_array(device, dtype), requires_grad)
        self.__dict__["persistent"] = persistent
        return self

    def __init__(self, requires_grad=False, device=None, dtype=None, persistent=True):
        pass

    @classmethod
    def _empty(cls, array, requires_grad):
        self = Tensor.__new__(cls)
        _init(self, array, requires_grad=bool(requires_grad))
        return self
