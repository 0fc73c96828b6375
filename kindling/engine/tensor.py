"""The Tensor: a NumPy array, plus what autograd needs to know about it.

A tensor made by a recorded op has a `grad_fn` (the graph node that made it) and requires grad;
a leaf has no `grad_fn` and receives `.grad` from backward when it requires grad. Views (reshape,
transpose, slicing, `.data`, `.detach()`) share their base's array and its version counter, so an
in-place change to either is seen by autograd's checks.

The methods that are ops live in `kindling/ops/` and are bound onto this class by the table in
`bind_methods` at the bottom of this file: the whole Tensor API, one screen.
"""
import numpy as np

from . import dtypes
from . import grad_mode
from .device import device as _device, CPU, check_device

_State = grad_mode._State


class Tensor:
    __slots__ = ("_array", "_requires_grad", "grad", "grad_fn", "_output_nr", "_vc", "_hooks",
                 "_retains_grad", "_base", "__weakref__", "__dict__")

    def __init__(self, *args, dtype=None, device=None, requires_grad=False):
        # torch.Tensor(data) / torch.Tensor(2, 3): the legacy constructor, float by default.
        if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
            array = _to_array(args[0], dtypes.as_dtype(dtype) or dtypes.get_default_dtype())
        else:
            shape = args[0] if len(args) == 1 and isinstance(args[0], tuple) else args
            d = dtypes.as_dtype(dtype) or dtypes.get_default_dtype()
            array = np.zeros(tuple(int(n) for n in shape), dtype=d.np)
        _init(self, array, requires_grad=requires_grad)

    # --- identity -----------------------------------------------------------------------------
    @property
    def dtype(self):
        return dtypes._FROM_NUMPY[self._array.dtype]

    @property
    def shape(self):
        return Size(self._array.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._array.shape)
        return self._array.shape[_wrap_dim(dim, self._array.ndim, "size")]

    @property
    def ndim(self):
        return self._array.ndim

    def dim(self):
        return self._array.ndim

    ndimension = dim

    def numel(self):
        return self._array.size

    nelement = numel

    def element_size(self):
        return self._array.itemsize

    @property
    def itemsize(self):
        return self._array.itemsize

    @property
    def nbytes(self):
        return self._array.nbytes

    def stride(self, dim=None):
        strides = tuple(s // self._array.itemsize for s in self._array.strides)
        return strides if dim is None else strides[_wrap_dim(dim, self._array.ndim, "stride")]

    def is_contiguous(self, memory_format=None):
        return self._array.flags.c_contiguous

    def is_signed(self):
        return self.dtype.is_signed

    def is_nonzero(self):
        if self.numel() != 1:
            what = "no values" if self.numel() == 0 else "more than one value"
            raise RuntimeError(f"Boolean value of Tensor with {what} is ambiguous")
        return bool(self.item())

    def is_floating_point(self):
        return self._array.dtype.kind == "f"

    def is_complex(self):
        return False

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        if self.grad_fn is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you "
                               "want to use a computed variable in a subgraph that doesn't require "
                               "differentiation use var_no_grad = var.detach().")
        if value and self._array.dtype.kind != "f":
            raise RuntimeError(f"only Tensors of floating point dtype can require gradients; this "
                               f"one is {self.dtype.name}")
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    @property
    def _version(self):
        return self._vc[0]

    @property
    def device(self):
        return CPU

    # NumPy defers to Tensor's reflected operators (ndarray + tensor gives a tensor), as in torch
    __array_priority__ = 1000

    is_cuda = False
    is_cpu = True
    is_sparse = False
    is_quantized = False
    is_meta = False
    layout = "torch.strided"

    # --- autograd -----------------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        _autograd.backward(self, gradient, retain_graph, create_graph, inputs)

    def detach(self):
        return _make(self._array, vc=self._vc, base=self)

    def detach_(self):
        if self._base is not None and self._base._requires_grad:
            raise RuntimeError("detach_: can't detach a view of a tensor that requires grad "
                               "in place; use detach() instead")
        self.grad_fn, self._requires_grad = None, False
        return self

    @property
    def data(self):
        """A tensor sharing this one's memory, outside the graph (PyTorch's `.data`)."""
        return _make(self._array, vc=self._vc, base=self)

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"Tensor.data must be set to a Tensor, got {type(value).__name__}")
        self._array = value._array
        self._vc = value._vc

    def retain_grad(self):
        if self.grad_fn is None:
            return  # leaves keep their grad already
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        import weakref
        node = self.grad_fn
        if node.retained is None:
            node.retained = {}
        node.retained[self._output_nr] = weakref.ref(self)
        self._retains_grad = True

    @property
    def retains_grad(self):
        return self._retains_grad

    def register_hook(self, hook):
        """`hook(grad)` runs when this tensor's gradient is computed; it may return a new one."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            node = self.grad_fn
            if node.pre_hooks is None:
                node.pre_hooks = {}
            hooks = node.pre_hooks.setdefault(self._output_nr, [])
        hooks.append(hook)
        return _RemovableHandle(hooks, hook)

    def register_post_accumulate_grad_hook(self, hook):
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf "
                               "tensors")
        hooks = self.__dict__.setdefault("_post_hooks", [])
        hooks.append(hook)
        return _RemovableHandle(hooks, hook)

    def _post_accumulate(self):
        hooks = self.__dict__.get("_post_hooks")
        if hooks:
            for hook in hooks:
                hook(self)

    # --- conversion ---------------------------------------------------------------------------
    def numpy(self, force=False):
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        return self._array

    def item(self):
        if self._array.size != 1:
            raise RuntimeError(f"a Tensor with {self._array.size} elements cannot be converted "
                               f"to Scalar (item() needs exactly one element)")
        return self._array.reshape(()).item()

    def tolist(self):
        return self._array.tolist()

    def __array__(self, dtype=None, copy=None):
        return self._array if dtype is None else self._array.astype(dtype)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._array.dtype.kind not in "iub" or self._array.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self):
        if self._array.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._array.size} elements is "
                               f"ambiguous")
        return bool(self._array.reshape(()))

    def __len__(self):
        if self._array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._array.shape[0]

    def __iter__(self):
        if self._array.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __hash__(self):
        return id(self)

    def __format__(self, spec):
        if self._array.ndim == 0:
            return format(self.item(), spec)
        return format(repr(self), spec)

    def __repr__(self):
        from .printing import tensor_repr
        return tensor_repr(self)

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        raise TypeError("kindling tensors are not picklable by design: use kindling.save(), "
                        "which never executes code on load")

    def __deepcopy__(self, memo):
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol")
        new = type(self).__new__(type(self))
        _init(new, self._array.copy(), requires_grad=self._requires_grad)
        for k, v in self.__dict__.items():
            if k != "_post_hooks":
                import copy
                new.__dict__[k] = copy.deepcopy(v, memo)
        if self.grad is not None:
            new.grad = _make(self.grad._array.copy())
        memo[id(self)] = new
        return new

    # --- dtype and device -------------------------------------------------------------------
    def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False,
           memory_format=None):
        """to(dtype) / to(device) / to(device, dtype) / to(other_tensor): the CPU is the only
        device, so only the dtype can change."""
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, (str, _device)):
                check_device(a)  # 'cuda' raises a clear error
            elif a is not None:
                dtype = a
        check_device(device)
        d = dtypes.as_dtype(dtype)
        from .cast import cast
        out = self if d is None else cast(self, d)
        if copy and out is self:
            out = self.clone()
        return out

    def type(self, dtype=None, non_blocking=False):
        if dtype is None:
            return f"torch.{_TYPE_NAMES[self.dtype.name]}"
        if isinstance(dtype, str):
            dtype = _NAME_TO_DTYPE[dtype.split(".")[-1]]
        return self.to(dtype)

    def type_as(self, other):
        return self.to(other.dtype)

    def float(self):
        return self.to(dtypes.float32)

    def double(self):
        return self.to(dtypes.float64)

    def half(self):
        return self.to(dtypes.float16)

    def long(self):
        return self.to(dtypes.int64)

    def int(self):
        return self.to(dtypes.int32)

    def short(self):
        return self.to(dtypes.int16)

    def byte(self):
        return self.to(dtypes.uint8)

    def bool(self):
        return self.to(dtypes.bool)

    def cpu(self):
        return self

    def cuda(self, device=None, non_blocking=False):
        check_device("cuda")  # raises: kindling runs on the CPU only

    def pin_memory(self):
        return self

    def share_memory_(self):
        return self

    def is_pinned(self):
        return False

    def get_device(self):
        return -1

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        from ..creation import tensor
        return tensor(data, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def _new_filled(self, fill, size, dtype):
        size = size[0] if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
        d = dtypes.as_dtype(dtype) or self.dtype
        return _make(np.full(tuple(size), fill, dtype=d.np))

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        return self._new_filled(0, size, dtype).requires_grad_(requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return self._new_filled(1, size, dtype).requires_grad_(requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        return self._new_filled(0, size, dtype).requires_grad_(requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        return self._new_filled(fill_value, (size,), dtype).requires_grad_(requires_grad)

    # --- in place ---------------------------------------------------------------------------
    def _check_inplace(self, op_name):
        if _State.enabled and self.grad_fn is None and self._requires_grad:
            raise RuntimeError(f"{op_name}: a leaf Variable that requires grad is being used in "
                               f"an in-place operation (wrap it in kindling.no_grad() to update "
                               f"it directly, as optimizers do)")

    def _apply_inplace(self, op_name, compute, *args, **kwargs):
        """Run `compute(self, *args)` out of place and write the result into this tensor.

        Without autograd this is a plain write into the array. With autograd, the op is recorded
        on a copy of this tensor's old value and this tensor takes over the result's grad_fn;
        anything that saved the old value sees the version change and refuses to backward."""
        self._check_inplace(op_name)
        record = _State.enabled and (self._requires_grad or any(
            isinstance(a, Tensor) and a._requires_grad for a in args))
        if not record:
            with grad_mode.no_grad():
                result = compute(self, *args, **kwargs)
            self._write(result._array, op_name)
            return self
        base = self._base
        if base is not None and base._requires_grad:
            from ..ops.index import inplace_on_view  # rewrites the base (PyTorch's CopySlices)
            return inplace_on_view(self, op_name, compute, *args, **kwargs)
        # The op gets the old value as its input; unless it is known to keep nothing of that
        # input's memory (`compute.inplace_needs_no_copy`), a copy, since the write below
        # overwrites it.
        old = _make(self._array if getattr(compute, "inplace_needs_no_copy", False)
                    else self._array.copy(), grad_fn=self.grad_fn, output_nr=self._output_nr)
        old._requires_grad = self._requires_grad
        result = compute(old, *args, **kwargs)
        self._write(result._array, op_name)
        node = result.grad_fn
        self.grad_fn, self._output_nr = node, result._output_nr
        self._requires_grad = result._requires_grad
        if node is not None and node._out_array is not None:
            # The node's saved output is now this tensor's memory and version.
            node._out_array, node._out_vc, node._out_version = self._array, self._vc, self._vc[0]
        if "_views" in self.__dict__:
            from ..ops.index import refresh_views  # views made earlier now read the new value
            refresh_views(self)
        return self

    def _write(self, array, op_name):
        if not np.can_cast(array.dtype, self._array.dtype, casting="same_kind"):
            raise RuntimeError(f"{op_name}: result type {dtypes.from_numpy_dtype(array.dtype).name}"
                               f" can't be cast to the desired output type {self.dtype.name}")
        if array.shape != self._array.shape:
            try:
                np.broadcast_to(array, self._array.shape)
            except ValueError:
                raise RuntimeError(f"{op_name}: output with shape {tuple(self._array.shape)} "
                                   f"doesn't match the broadcast shape {tuple(array.shape)}")\
                    from None
        if not self._array.flags.writeable:
            raise RuntimeError(f"{op_name}: this tensor is a read-only broadcast view (from "
                               f"expand); call .clone() before modifying it in place")
        if array is not self._array:  # an op may already have written into this array
            np.copyto(self._array, array, casting="unsafe")
        self._vc[0] += 1

    def zero_(self):
        self._check_inplace("zero_")
        if self._requires_grad and _State.enabled:
            return self._apply_inplace("zero_", lambda x: x * 0)
        self._array[...] = 0
        self._vc[0] += 1
        return self

    def fill_(self, value):
        self._check_inplace("fill_")
        if _State.enabled and (self._requires_grad or
                               (isinstance(value, Tensor) and value._requires_grad)):
            return self._apply_inplace("fill_", lambda x, v: x * 0 + v, value)
        self._array[...] = value._array if isinstance(value, Tensor) else value
        self._vc[0] += 1
        return self

    def copy_(self, src, non_blocking=False):
        self._check_inplace("copy_")
        if not isinstance(src, Tensor):
            from ..creation import tensor
            src = tensor(src)
        if _State.enabled and (self._requires_grad or src._requires_grad):
            from .broadcast import broadcast_to
            from .cast import cast
            return self._apply_inplace(
                "copy_", lambda x, s: broadcast_to(cast(s, x.dtype), x.shape) + x * 0, src)
        try:
            np.copyto(self._array, src._array, casting="unsafe")
        except ValueError:
            raise RuntimeError(f"copy_: the source shape {tuple(src.shape)} cannot be broadcast "
                               f"to the destination shape {tuple(self.shape)}") from None
        self._vc[0] += 1
        return self

    def set_(self, source):
        self._array, self._vc = source._array, source._vc
        return self


class Size(tuple):
    """torch.Size: a tuple of ints with PyTorch's repr."""
    __slots__ = ()

    def __repr__(self):
        return f"torch.Size([{', '.join(str(n) for n in self)}])"

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, key):
        out = tuple.__getitem__(self, key)
        return Size(out) if isinstance(key, slice) else out


class _RemovableHandle:
    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
               "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
               "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}
_NAME_TO_DTYPE = {v: dtypes._BY_NAME[k] for k, v in _TYPE_NAMES.items()}


def _init(t, array, grad_fn=None, output_nr=0, requires_grad=False, vc=None, base=None):
    t._array = array
    t._requires_grad = requires_grad
    t.grad = None
    t.grad_fn = grad_fn
    t._output_nr = output_nr
    t._vc = [0] if vc is None else vc
    t._hooks = None
    t._retains_grad = False
    t._base = base
    if requires_grad and array.dtype.kind != "f":
        raise RuntimeError(f"only Tensors of floating point dtype can require gradients; this "
                           f"one is {dtypes.from_numpy_dtype(array.dtype).name}")


_new = object.__new__


def _make(array, grad_fn=None, output_nr=0, vc=None, base=None):
    """Wrap an ndarray produced by an op (the hot path: no checks, no copies)."""
    t = _new(Tensor)
    t._array = array
    t._requires_grad = grad_fn is not None
    t.grad = None
    t.grad_fn = grad_fn
    t._output_nr = output_nr
    t._vc = [0] if vc is None else vc
    t._hooks = None
    t._retains_grad = False
    t._base = base
    return t


def _wrap_dim(dim, ndim, op):
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: dimension out of range (expected to be in range of "
                         f"[{-n}, {n - 1}], but got {dim})")
    return dim % n


def _to_array(data, d):
    """Python data (nested lists of numbers/tensors, ndarrays, tensors) to an array of dtype d."""
    if isinstance(data, Tensor):
        return data._array.astype(d.np)
    try:
        return np.array(data, dtype=d.np)
    except (TypeError, ValueError):
        pass
    return np.array(_unwrap_nested(data), dtype=d.np)


def _unwrap_nested(data):
    if isinstance(data, Tensor):
        return data._array
    if isinstance(data, (list, tuple)):
        return [_unwrap_nested(x) for x in data]
    return data


def bind_methods():
    """Bind the ops in kindling/ops onto Tensor. Each name is a function whose first argument is
    the tensor, so `x.exp()` is `kindling.exp(x)`; methods whose signature differs from the
    function's (varargs shapes, in-place forms) are written out in the ops modules themselves."""
    global _autograd
    from . import autograd as _autograd
    from ..ops import METHODS
    for name, fn in METHODS.items():
        setattr(Tensor, name, fn)
