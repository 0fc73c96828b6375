"""Small helpers shared by the op families."""
import numpy as np

from ..engine import dtypes
from ..engine.tensor import Tensor, _make, _wrap_dim

wrap_dim = _wrap_dim


def dims_tuple(dim, ndim, op):
    """Normalize a `dim` argument (None, int, tuple/list) to a sorted tuple of axes or None."""
    if dim is None:
        return None
    if isinstance(dim, (list, tuple)):
        if len(dim) == 0:
            return None  # PyTorch: dim=() or [] reduces over everything
        axes = tuple(sorted(_wrap_dim(d, ndim, op) for d in dim))
        if len(set(axes)) != len(axes):
            raise RuntimeError(f"{op}: dim {tuple(dim)} appears multiple times in the list of dims")
        return axes
    return (_wrap_dim(dim, ndim, op),)


def shape_args(args, op):
    """Accept both f(2, 3) and f((2, 3)) / f([2, 3]) / f(torch.Size) for a shape."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = args[0]
    try:
        return tuple(int(a) for a in args)
    except TypeError:
        raise TypeError(f"{op}: expected a shape of ints, got {args!r}") from None


def operands(a, b, op):
    """The arrays of a binary op, cast to PyTorch's promoted dtype. Python numbers stay Python
    numbers where NumPy already treats them as weak (keeping float32 float32)."""
    if isinstance(a, np.generic):
        a = a.item()  # NumPy scalars act as Python numbers, as in PyTorch
    if isinstance(b, np.generic):
        b = b.item()
    a_is_t, b_is_t = isinstance(a, Tensor), isinstance(b, Tensor)
    if a_is_t and b_is_t:
        x, y = a._array, b._array
        if x.dtype is y.dtype or x.dtype == y.dtype:
            return x, y
    elif a_is_t and not isinstance(b, (np.ndarray, list, tuple)):
        x = a._array
        if _weak_ok(x, b):
            return x, b
    elif b_is_t and not isinstance(a, (np.ndarray, list, tuple)):
        y = b._array
        if _weak_ok(y, a):
            return a, y
    if not a_is_t and not isinstance(a, (int, float, bool, np.generic)):
        raise TypeError(f"{op}: expected a Tensor or a number, got {type(a).__name__}")
    if not b_is_t and not isinstance(b, (int, float, bool, np.generic)):
        raise TypeError(f"{op}: expected a Tensor or a number, got {type(b).__name__}")
    rt = dtypes.result_type(a, b).np
    x = a._array if a_is_t else np.asarray(a)
    y = b._array if b_is_t else np.asarray(b)
    return (x if x.dtype == rt else x.astype(rt)), (y if y.dtype == rt else y.astype(rt))


def _weak_ok(array, scalar):
    kind = array.dtype.kind
    if isinstance(scalar, bool):
        return True
    if isinstance(scalar, int):
        return kind in "fiu" and not (kind == "u" and scalar < 0)
    if isinstance(scalar, float):
        return kind == "f"
    return False


def shape_error(op, *tensors_or_shapes):
    shapes = " and ".join(str(tuple(getattr(t, "shape", np.shape(t)))) for t in tensors_or_shapes)
    return RuntimeError(f"{op}: shapes {shapes} cannot be broadcast together (each dimension "
                        f"must match or be 1)")


def inplace(fn, name):
    """The in-place method `x.name(...)` of the out-of-place op `fn`."""
    def method(self, *args, **kwargs):
        return self._apply_inplace(name, fn, *args, **kwargs)
    method.__name__ = name
    method.__doc__ = f"In-place version of {fn.__name__}."
    return method
