"""Data types: thin named wrappers over NumPy dtypes, with PyTorch's promotion rules."""
import numpy as np


class dtype:
    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_category")

    def __init__(self, name, np_dtype, category):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = category == 2
        self.is_signed = self.np.kind in "fi"
        self.itemsize = self.np.itemsize
        self._category = category  # 0 bool, 1 integer, 2 floating: promotion never goes down

    def __repr__(self):
        return f"torch.{self.name}"  # PyTorch prints dtypes this way; scripts compare strings

    def __reduce__(self):
        return (_by_name, (self.name,))

    def to_complex(self):
        raise NotImplementedError("kindling has no complex dtypes")


float16 = half = dtype("float16", np.float16, 2)
float32 = float = dtype("float32", np.float32, 2)
float64 = double = dtype("float64", np.float64, 2)
uint8 = dtype("uint8", np.uint8, 1)
int8 = dtype("int8", np.int8, 1)
int16 = short = dtype("int16", np.int16, 1)
int32 = int = dtype("int32", np.int32, 1)
int64 = long = dtype("int64", np.int64, 1)
bool = dtype("bool", np.bool_, 0)

ALL = (float16, float32, float64, uint8, int8, int16, int32, int64, bool)
_FROM_NUMPY = {d.np: d for d in ALL}
_BY_NAME = {d.name: d for d in ALL}


def _by_name(name):
    return _BY_NAME[name]


_default_float = float32


def get_default_dtype():
    return _default_float


def set_default_dtype(d):
    global _default_float
    if not isinstance(d, dtype) or not d.is_floating_point:
        raise TypeError(f"set_default_dtype: expected a floating point kindling dtype, got {d!r}")
    _default_float = d


def from_numpy_dtype(np_dtype):
    try:
        return _FROM_NUMPY[np.dtype(np_dtype)]
    except KeyError:
        raise TypeError(f"kindling has no dtype for NumPy dtype {np.dtype(np_dtype)}; "
                        f"supported: {', '.join(d.name for d in ALL)}") from None


_pyfloat, _pyint, _pybool = type(1.0), type(1), type(True)


def as_dtype(d):
    """Normalize a dtype argument (kindling dtype, NumPy dtype, Python type) to a kindling dtype."""
    if d is None or isinstance(d, dtype):
        return d
    if d is _pyfloat:
        return _default_float
    if d is _pyint:
        return int64
    if d is _pybool:
        return bool
    return from_numpy_dtype(d)


def _scalar_dtype(x):
    if isinstance(x, _pybool):
        return bool
    if isinstance(x, _pyint):
        return int64
    if isinstance(x, _pyfloat):
        return _default_float
    if isinstance(x, np.generic):
        return from_numpy_dtype(x.dtype)
    raise TypeError(f"expected a Tensor or a Python number, got {type(x).__name__}")


def _promote(dtypes):
    top = max(d._category for d in dtypes)
    result = None
    for d in dtypes:
        if d._category == top:
            result = d if result is None else from_numpy_dtype(np.promote_types(result.np, d.np))
    return result


def result_type(*operands):
    """PyTorch's type promotion: dimensioned tensors outrank 0-d tensors, which outrank Python
    numbers; a lower-ranked operand only matters when it is of a higher category
    (bool < integer < floating), and a Python float then gives the default float dtype."""
    from .tensor import Tensor
    dims, zero_dims, scalars = [], [], []
    for x in operands:
        if isinstance(x, Tensor):
            (dims if x._array.ndim else zero_dims).append(x.dtype)
        elif x is not None:
            scalars.append(_scalar_dtype(x))
    result = _promote(dims) if dims else None
    for group in (zero_dims, scalars):
        if group:
            d = _promote(group)
            if result is None:
                result = d
            elif d._category > result._category:
                result = d if group is zero_dims else (_default_float if d._category == 2 else d)
    return result
