"""Indexing: `x[key]`, `x[key] = v`, gather/scatter, index_* and masked_* ops.

Everything reduces to two ops on NumPy keys:
  GetItem(x, key)            out = x[key]; basic keys give a view. Its gradient scatters the
                             output gradient back into zeros (adding, so repeated indices sum).
  IndexPut(x, key, v, acc)   out = copy of x with out[key] = v (or += v when accumulating). Its
                             gradient is g for x (zeroed where overwritten) and g[key] for v.
gather, scatter*, index_select/add/fill/copy, take, put_ and masked_* build a key and call them.
"""
import weakref

import numpy as np

from ..engine import grad_mode
from ..engine.function import Op
from ..engine.tensor import Tensor, _make
from ._util import wrap_dim, inplace as _inplace

_State = grad_mode._State
_INDEX_DTYPES = "long, int, byte or bool"


# --- keys -----------------------------------------------------------------------------------------
def _index_array(k):
    """A list/ndarray/Tensor index as an ndarray of int64 or bool."""
    a = k._array if isinstance(k, Tensor) else np.asarray(k)
    if a.dtype == np.bool_:
        return a
    if a.dtype == np.uint8 and isinstance(k, Tensor):
        return a.astype(np.bool_)  # PyTorch's legacy byte masks
    if a.dtype.kind in "iu":
        return a.astype(np.int64, copy=False)
    if a.size == 0 and not isinstance(k, Tensor):
        return a.astype(np.int64)  # x[[]]
    raise IndexError(f"tensors used as indices must be {_INDEX_DTYPES} tensors, got "
                     f"{_describe(k)}")


def _describe(k):
    if isinstance(k, Tensor):
        return f"a {k.dtype.name} tensor"
    if isinstance(k, np.ndarray):
        return f"an array of {k.dtype}"
    return f"{type(k).__name__} {k!r}"


def _slice_part(v):
    if v is None or isinstance(v, int):
        return v
    if isinstance(v, (Tensor, np.integer)):
        return int(v)
    raise TypeError(f"slice indices must be integers or None, got {_describe(v)}")


def _sequence_as_tuple(key):
    """PyTorch reads a list holding sequences, slices, None or Ellipsis as a tuple of indices."""
    return any(isinstance(k, (list, tuple, slice, Tensor, np.ndarray)) or k is None or
               k is Ellipsis for k in key)


_BOUND = (int, type(None))


def _basic_only(key):
    """True for keys of ints, int-bounded slices, None and Ellipsis (the hot path)."""
    for k in key:
        tk = type(k)
        if tk is int or k is None or k is Ellipsis:
            continue
        if tk is slice and type(k.start) in _BOUND and type(k.stop) in _BOUND and \
                type(k.step) in _BOUND and k.step != 0:
            continue
        return False
    return True


def normalize_key(key, shape=None):
    """A Python/Tensor index as a NumPy key. Returns (key, advanced, all_masks)."""
    tk = type(key)
    if tk is int or tk is slice or key is None:
        key = (key,)
        tk = tuple
    if tk is tuple and _basic_only(key):
        if not any(k is Ellipsis for k in key):
            key += (Ellipsis,)
        return key, False, True
    if isinstance(key, list) and _sequence_as_tuple(key):
        key = tuple(key)
    elif not isinstance(key, tuple):
        key = (key,)
    out = []
    advanced = False
    masks_only = True
    ellipsis = False
    has_int = False
    for k in key:
        if k is None:
            out.append(None)
        elif k is Ellipsis:
            ellipsis = True
            out.append(k)
        elif isinstance(k, slice):
            if type(k.start) not in (int, type(None)) or type(k.stop) not in (int, type(None)) \
                    or type(k.step) not in (int, type(None)):
                k = slice(_slice_part(k.start), _slice_part(k.stop), _slice_part(k.step))
            if k.step == 0:
                raise ValueError("slice step cannot be zero")
            out.append(k)
        elif isinstance(k, bool):
            advanced = True
            masks_only = False
            out.append(k)
        elif isinstance(k, (int, np.integer)):
            has_int = True
            out.append(int(k))
        elif isinstance(k, Tensor) and k._array.ndim == 0 and k._array.dtype.kind in "iu":
            has_int = True
            out.append(int(k._array))  # a 0-d integer tensor indexes like an int
        elif isinstance(k, (Tensor, np.ndarray, list, tuple)):
            a = _index_array(k)
            advanced = True
            if a.dtype != np.bool_:
                masks_only = False
            out.append(a)
        elif isinstance(k, float):
            raise IndexError(f"only integers, slices (`:`), ellipsis (`...`), None and long or "
                             f"byte Variables are valid indices (got float)")
        else:
            raise TypeError(f"only integers (`:`), ellipsis (`...`), None and long or "
                             f"byte Variables are valid indices (got {type(k).__name__})")
    if not ellipsis:
        out.append(Ellipsis)  # keeps a full integer index a 0-d view instead of a NumPy scalar
    if advanced and has_int and shape is not None:
        return _torch_order_key(out, shape), True, False
    return tuple(out), advanced, masks_only


def _torch_order_key(key, shape):
    """PyTorch applies integer indices first (as selects) and only then the tensor indices,
    whereas NumPy treats integers as advanced indices alongside the arrays: the two disagree
    on where the indexed dims go when a slice separates them. Compute the elements PyTorch's
    order picks, as one NumPy advanced key into the original shape."""
    basic, rest = [], []
    for k in key:
        if isinstance(k, np.ndarray):
            basic += [slice(None)] * (k.ndim if k.dtype == np.bool_ else 1)
            rest.append(k)
        elif isinstance(k, bool):
            rest.append(k)
        elif isinstance(k, int):
            basic.append(k)
        else:
            basic.append(k)
            rest.append(k if k is Ellipsis else slice(None))
    positions = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    try:
        positions = positions[tuple(basic)][tuple(rest)]
    except IndexError as e:
        raise _index_error(e, shape) from None
    return np.unravel_index(positions, shape) + (Ellipsis,)


def _index_error(e, shape):
    msg = str(e).replace("axis", "dimension").replace("array", "tensor")
    if "too many indices" in msg:
        msg = f"too many indices for tensor of dimension {len(shape)}"
    return IndexError(f"{msg} (indexing a tensor of shape {tuple(shape)})")


# --- x[key] --------------------------------------------------------------------------------------
class GetItem(Op):
    @staticmethod
    def forward(ctx, x, key, advanced, masks_only):
        ctx.args = (x._array.shape, key, advanced, masks_only)
        try:
            return x._array[key]
        except IndexError as e:
            raise _index_error(e, x._array.shape) from None

    @staticmethod
    def backward(ctx, g):
        return IndexGrad.apply(g, *ctx.args), None, None, None


class IndexGrad(Op):
    """Zeros of `shape` with `g` added at `key` (the adjoint of GetItem)."""
    @staticmethod
    def forward(ctx, g, shape, key, advanced, masks_only):
        ctx.args = (key, advanced, masks_only)
        out = np.zeros(shape, g._array.dtype)
        if advanced and not masks_only:
            np.add.at(out, key, g._array)  # repeated indices accumulate
        else:
            out[key] = g._array
        return out

    @staticmethod
    def backward(ctx, gg):
        return GetItem.apply(gg, *ctx.args), None, None, None, None


def _getitem_key(input, key, advanced, masks_only):
    out = GetItem.apply(input, key, advanced, masks_only)
    if not advanced:
        out._vc = input._vc
        out._base = input._base if input._base is not None else input
        register_view(out)
    return out


def getitem(input, key):
    key, advanced, masks_only = normalize_key(key, input._array.shape)
    return _getitem_key(input, key, advanced, masks_only)


# --- x[key] = v ----------------------------------------------------------------------------------
class IndexPut(Op):
    @staticmethod
    def forward(ctx, x, key, values, accumulate, masks_only, keep_mask):
        a = x._array
        out = a.copy()
        v = values._array if isinstance(values, Tensor) else values
        ctx.args = (key, True, masks_only)
        ctx.accumulate = accumulate
        ctx.v_shape = np.shape(v)
        _write(out, key, v, accumulate, "index_put")
        if keep_mask and not accumulate:  # where the old values survive (their gradient flows)
            keep = np.ones(a.shape, a.dtype)
            keep[key] = 0
            ctx.keep = keep
        return out

    @staticmethod
    def backward(ctx, g):
        gx = gv = None
        if ctx.needs_input_grad[0]:
            gx = g if ctx.accumulate else g * _make(ctx.keep)
        if ctx.needs_input_grad[2]:
            gv = GetItem.apply(g, *ctx.args)
            lead = len(ctx.v_shape) - gv._array.ndim
            if lead > 0:  # values with extra leading 1s, as NumPy and PyTorch allow
                gv = gv.reshape((1,) * lead + gv._array.shape)
        return gx, None, gv, None, None, None


def _write(out, key, v, accumulate, name):
    """out[key] = v (or += v, repeated indices accumulating), with PyTorch-style errors."""
    try:
        if accumulate:
            np.add.at(out, key, np.asarray(v).astype(out.dtype, copy=False))
        else:
            out[key] = v
    except IndexError as e:
        raise _index_error(e, out.shape) from None
    except ValueError:
        target = np.empty(out.shape, np.bool_)[key].shape
        raise RuntimeError(f"{name}: shape mismatch: value tensor of shape {list(np.shape(v))} "
                           f"cannot be broadcast to indexing result of shape {list(target)}")\
            from None


def _needs_record(x, values):
    return _State.enabled and (x._requires_grad or
                               (isinstance(values, Tensor) and values._requires_grad))


def _put(x, key, values, accumulate, masks_only, name):
    """Out-of-place index_put on a NumPy key."""
    keep_mask = _State.enabled and x._requires_grad
    return IndexPut.apply(x, key, values, accumulate, masks_only, keep_mask)


def _values_arg(values, like):
    if isinstance(values, Tensor):
        return values
    if isinstance(values, (bool, int, float, np.generic)):
        return values
    return _make(np.asarray(values, dtype=like._array.dtype))


def _put_inplace(self, key, values, accumulate, masks_only, name):
    """Write into `self`: directly when no autograd is involved, else as a recorded op."""
    values = _values_arg(values, self)
    if _needs_record(self, values):
        return self._apply_inplace(
            name, lambda x, v: _put(x, key, v, accumulate, masks_only, name), values)
    self._check_inplace(name)
    a = self._array
    if not a.flags.writeable:
        raise RuntimeError(f"{name}: this tensor is a read-only broadcast view (from expand); "
                           f"call .clone() before modifying it in place")
    _write(a, key, values._array if isinstance(values, Tensor) else values, accumulate, name)
    self._vc[0] += 1
    return self


def setitem(self, key, value):
    key, advanced, masks_only = normalize_key(key, self._array.shape)
    _put_inplace(self, key, value, False, masks_only or not advanced, "__setitem__")


def _indices_key(indices):
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"index_put: indices must be a tuple or list of Tensors, got "
                        f"{type(indices).__name__}")
    key = []
    for k in indices:
        key.append(slice(None) if k is None else _index_array(k))
    masks_only = all(isinstance(k, slice) or k.dtype == np.bool_ for k in key)
    return tuple(key), masks_only


def index_put(input, indices, values, accumulate=False):
    key, masks_only = _indices_key(indices)
    return _put(input, key, _values_arg(values, input), accumulate, masks_only, "index_put")


def index_put_(self, indices, values, accumulate=False):
    key, masks_only = _indices_key(indices)
    return _put_inplace(self, key, values, accumulate, masks_only, "index_put_")


# --- gather / scatter ----------------------------------------------------------------------------
def _check_bounds(idx, size, dim, op):
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= size:
            bad = lo if lo < 0 else hi
            raise IndexError(f"{op}: index {bad} is out of bounds for dimension {dim} with size "
                             f"{size}")


def _scatter_key(input, dim, index, op, src=None):
    """The NumPy key addressing input[index[i][j]][j] (for dim 0), and index's shape."""
    n = input._array.ndim
    d = wrap_dim(dim, n, op)
    if not isinstance(index, Tensor) or index._array.dtype.kind not in "iu":
        raise RuntimeError(f"{op}(): Expected dtype int64 for index, got "
                           f"{_describe(index)}")
    idx = index._array.astype(np.int64, copy=False)
    shape = input._array.shape
    if idx.ndim != n and not (idx.ndim <= 1 and n <= 1):
        raise RuntimeError(f"{op}(): Index tensor must have the same number of dimensions as "
                           f"input tensor (index shape {tuple(idx.shape)}, input shape "
                           f"{tuple(shape)})")
    if n == 0:
        idx = idx.reshape(())
        _check_bounds(idx, 1, 0, op)
        return (Ellipsis,) if idx.size else (np.zeros(0, np.int64),), idx.shape
    idx = idx.reshape(idx.shape if idx.ndim else (1,))
    for k in range(n):
        if k != d and idx.shape[k] > shape[k]:
            raise RuntimeError(f"{op}(): Size does not match at dimension {k} expected index "
                               f"{list(idx.shape)} to be smaller than self {list(shape)} apart "
                               f"from dimension {d}")
        if src is not None and idx.shape[k] > src._array.shape[k]:
            raise RuntimeError(f"{op}(): Expected index {list(idx.shape)} to be smaller than src "
                               f"{list(src.shape)} in every dimension")
    _check_bounds(idx, shape[d], d, op)
    grids = list(np.indices(idx.shape, sparse=True))
    grids[d] = idx
    return tuple(grids), idx.shape


def _src_region(src, shape):
    if tuple(src._array.shape) == tuple(shape):
        return src
    if src._array.ndim == 0:
        return src
    return getitem(src, tuple(slice(0, n) for n in shape))


def gather(input, dim, index, *, sparse_grad=False):
    key, shape = _scatter_key(input, dim, index, "gather")
    out = GetItem.apply(input, key, True, False)
    return out.reshape(shape) if out._array.shape != shape else out


def _scatter_value(input, src, value, op):
    if src is not None and value is not None:
        raise TypeError(f"{op}(): pass either src or value, not both")
    v = src if src is not None else value
    if v is None:
        raise TypeError(f"{op}(): missing argument 'src' or 'value'")
    if not isinstance(v, Tensor):
        return v
    if v.dtype is not input.dtype:
        raise RuntimeError(f"{op}(): Expected self.dtype to be equal to src.dtype (got "
                           f"{input.dtype.name} and {v.dtype.name})")
    return v


def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    v = _scatter_value(input, src, value, "scatter")
    key, shape = _scatter_key(input, dim, index, "scatter", v if isinstance(v, Tensor) else None)
    if isinstance(v, Tensor):
        v = _src_region(v, shape)
    if reduce is None:
        return _put(input, key, v, False, False, "scatter")
    if reduce == "add":
        return _put(input, key, v, True, False, "scatter")
    if reduce == "multiply":
        if _needs_record(input, v):
            raise RuntimeError("scatter(): reduce='multiply' has no gradient in kindling; use "
                               "scatter_reduce(..., 'prod') outside autograd")
        out = input._array.copy()
        np.multiply.at(out, key, v._array if isinstance(v, Tensor) else v)
        return _make(out)
    raise RuntimeError(f"scatter(): reduce argument must be either add or multiply, got "
                       f"{reduce!r}")


def scatter_add(input, dim, index, src):
    v = _scatter_value(input, src, None, "scatter_add")
    key, shape = _scatter_key(input, dim, index, "scatter_add", v)
    return _put(input, key, _src_region(v, shape), True, False, "scatter_add")


class ScatterReduce(Op):
    @staticmethod
    def forward(ctx, x, key, src, reduce, include_self):
        a = x._array
        s = src._array
        out = a.copy()
        touched = np.zeros(a.shape, np.bool_)
        touched[key] = True
        count = np.zeros(a.shape, np.int64)
        np.add.at(count, key, 1)
        if not include_self:
            identity = {"sum": 0, "mean": 0, "prod": 1,
                        "amax": -np.inf if a.dtype.kind == "f" else np.iinfo(a.dtype).min,
                        "amin": np.inf if a.dtype.kind == "f" else np.iinfo(a.dtype).max}[reduce]
            out[touched] = identity
        ufunc = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum,
                 "amin": np.minimum}[reduce]
        ufunc.at(out, key, s)
        n = count + (1 if include_self else 0)
        if reduce == "mean":
            safe = np.maximum(n, 1).astype(a.dtype)
            out = out // safe if a.dtype.kind in "iu" else out / safe
            out = np.where(touched, out, a).astype(a.dtype, copy=False)
        ctx.args = (key, reduce, include_self)
        ctx.touched, ctx.n = touched, n
        if reduce in ("amax", "amin"):
            hit_self = (a == out) & (include_self | ~touched)
            hit_src = s == out[key]
            ties = hit_self.astype(np.int64)
            np.add.at(ties, key, hit_src)
            ctx.hit_self, ctx.hit_src, ctx.ties = hit_self, hit_src, ties
        return out

    @staticmethod
    def backward(ctx, g):
        key, reduce, include_self = ctx.args
        dt = g._array.dtype
        gx = gs = None
        if reduce == "prod":
            raise RuntimeError("scatter_reduce: reduce='prod' has no gradient in kindling")
        if reduce == "sum":
            scale_self = _make((include_self | ~ctx.touched).astype(dt))
            gx, gs = g * scale_self, GetItem.apply(g, key, True, False)
        elif reduce == "mean":
            inv = 1.0 / np.maximum(ctx.n, 1)
            scale_self = np.where(ctx.touched, inv if include_self else 0, 1).astype(dt)
            gx = g * _make(scale_self)
            gs = GetItem.apply(g * _make(inv.astype(dt)), key, True, False)
        else:
            share = g / _make(np.maximum(ctx.ties, 1).astype(dt))
            gx = share * _make(ctx.hit_self.astype(dt))
            gs = GetItem.apply(share, key, True, False) * _make(ctx.hit_src.astype(dt))
        return (gx if ctx.needs_input_grad[0] else None, None,
                gs if ctx.needs_input_grad[2] else None, None, None)


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise RuntimeError(f"scatter_reduce(): reduce argument must be one of sum, prod, mean, "
                           f"amax, amin, got {reduce!r}")
    src = _scatter_value(input, src, None, "scatter_reduce")
    key, shape = _scatter_key(input, dim, index, "scatter_reduce", src)
    return ScatterReduce.apply(input, key, _src_region(src, shape), reduce, bool(include_self))


# --- index_* -----------------------------------------------------------------------------------
def _dim_index(input, dim, index, op, check=True):
    n = input._array.ndim
    d = wrap_dim(dim, n, op) if n else 0
    if not isinstance(index, Tensor):
        index = _make(np.asarray(index, dtype=np.int64))
    idx = index._array
    if idx.dtype.kind not in "iu":
        raise IndexError(f"{op}(): Expected dtype int32/int64 for index, got {_describe(index)}")
    if idx.ndim > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector, got shape "
                         f"{tuple(idx.shape)}")
    idx = idx.reshape(-1).astype(np.int64, copy=False)
    size = input._array.shape[d] if n else 1
    if check:
        _check_bounds(idx, size, d, op)
    key = (slice(None),) * d + (idx, Ellipsis) if n else (idx,)
    return key, d


def index_select(input, dim, index):
    key, d = _dim_index(input, dim, index, "index_select")
    if input._array.ndim == 0:
        out = GetItem.apply(input.reshape(1), key, True, False)
        return out.reshape(()) if out._array.size == 1 else out
    return GetItem.apply(input, key, True, False)


def _dim_source(input, key, d, source, op):
    if input._array.ndim == 0:
        return source
    expected = list(input._array.shape)
    expected[d] = key[d].shape[0]
    s = source._array.shape if isinstance(source, Tensor) else ()
    if isinstance(source, Tensor) and s != tuple(expected) and source._array.ndim:
        raise RuntimeError(f"{op}(): source shape {list(s)} must equal the input shape with "
                           f"dimension {d} replaced by the number of indices: {expected}")
    return source


def index_add(input, dim, index, source, *, alpha=1):
    key, d = _dim_index(input, dim, index, "index_add")
    source = _dim_source(input, key, d, source, "index_add")
    if alpha != 1:
        source = source * alpha
    return _put_dim(input, key, source, True, "index_add")


def index_copy(input, dim, index, source):
    key, d = _dim_index(input, dim, index, "index_copy")
    source = _dim_source(input, key, d, source, "index_copy")
    return _put_dim(input, key, source, False, "index_copy")


def index_fill(input, dim, index, value):
    key, d = _dim_index(input, dim, index, "index_fill")
    if isinstance(value, Tensor) and value._array.ndim != 0:
        raise RuntimeError(f"index_fill_(): Expected value to be a 0-dimensional tensor, but got "
                           f"tensor with {value._array.ndim} dimension(s)")
    return _put_dim(input, key, value, False, "index_fill")


def _put_dim(input, key, source, accumulate, name):
    if input._array.ndim == 0:  # a 0-d tensor indexes like a 1-element vector along dim 0
        return _put(input.reshape(1), key, source, accumulate, False, name).reshape(())
    return _put(input, key, source, accumulate, False, name)


# --- masked ------------------------------------------------------------------------------------
def _mask_array(mask, op):
    if not isinstance(mask, Tensor) or mask._array.dtype != np.bool_:
        raise RuntimeError(f"{op}: only supports boolean masks, but got mask with "
                           f"{_describe(mask)}")
    return mask._array


class MaskedFill(Op):
    @staticmethod
    def forward(ctx, x, mask, value):
        a = x._array
        v = value._array if isinstance(value, Tensor) else value
        try:
            out = np.where(mask, np.asarray(v).astype(a.dtype), a)
        except ValueError:
            raise RuntimeError(f"masked_fill: the mask of shape {tuple(mask.shape)} cannot be "
                               f"broadcast to the input of shape {tuple(a.shape)}") from None
        ctx.mask = mask
        return out

    @staticmethod
    def backward(ctx, g):
        m = _make(ctx.mask)
        zero = g * 0
        from .elementwise import where
        return (where(m, zero, g) if ctx.needs_input_grad[0] else None, None,
                where(m, g, zero) if ctx.needs_input_grad[2] else None)


def masked_fill(input, mask, value):
    m = _mask_array(mask, "masked_fill_")
    if isinstance(value, Tensor) and value._array.ndim != 0:
        raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got "
                           f"tensor with {value._array.ndim} dimension(s).")
    return MaskedFill.apply(input, m, value)


def masked_select(input, mask):
    m = _mask_array(mask, "masked_select")
    try:
        shape = np.broadcast_shapes(input._array.shape, m.shape)
    except ValueError:
        raise RuntimeError(f"masked_select: the mask of shape {tuple(m.shape)} and the input of "
                           f"shape {tuple(input.shape)} cannot be broadcast together") from None
    x = input.expand(shape) if input._array.shape != shape else input
    return GetItem.apply(x, (np.broadcast_to(m, shape),), True, True)


def masked_scatter(input, mask, source):
    m = _mask_array(mask, "masked_scatter_")
    try:
        m = np.broadcast_to(m, input._array.shape)
    except ValueError:
        raise RuntimeError(f"masked_scatter: the mask of shape {tuple(mask.shape)} cannot be "
                           f"broadcast to the input of shape {tuple(input.shape)}") from None
    count = int(m.sum())
    if source._array.size < count:
        raise RuntimeError(f"masked_scatter: expected source to have at least {count} elements "
                           f"(the number of True values in mask), got {source._array.size}")
    values = getitem(source.reshape(-1), slice(0, count))
    return _put(input, (m,), values, False, True, "masked_scatter")


# --- nonzero and friends ------------------------------------------------------------------------
def nonzero(input, *, out=None, as_tuple=False):
    a = input._array
    if as_tuple:
        if a.ndim == 0:
            return (_make(np.zeros(int(bool(a)), np.int64)),)
        return tuple(_make(i.astype(np.int64)) for i in np.nonzero(a))
    if a.ndim == 0:
        return _make(np.zeros((int(bool(a)), 0), np.int64))
    return _make(np.argwhere(a).astype(np.int64, copy=False))


def argwhere(input):
    return nonzero(input)


def take(input, index):
    idx = _index_array(index)
    if idx.dtype == np.bool_:
        raise RuntimeError(f"take(): Expected a long tensor for index, but got {_describe(index)}")
    n = input._array.size
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = int(idx.min()) if idx.min() < -n else int(idx.max())
        raise IndexError(f"take(): index {bad} out of range for tensor of size "
                         f"{list(input.shape)}.")
    flat = input.reshape(-1)
    return GetItem.apply(flat, (idx,), True, False)


def take_along_dim(input, indices, dim=None):
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    n = input._array.ndim
    d = wrap_dim(dim, n, "take_along_dim")
    if indices._array.ndim != n:
        raise RuntimeError(f"take_along_dim(): input and indices should have the same number of "
                           f"dimensions, but got {n} dimensions for input, and "
                           f"{indices._array.ndim} dimensions for indices")
    in_shape, idx_shape = list(input._array.shape), list(indices._array.shape)
    in_shape[d] = idx_shape[d] = 1
    try:
        common = list(np.broadcast_shapes(tuple(in_shape), tuple(idx_shape)))
    except ValueError:
        raise RuntimeError(f"take_along_dim(): shapes {tuple(input.shape)} and "
                           f"{tuple(indices.shape)} cannot be broadcast outside dim {d}") from None
    a_shape, i_shape = list(common), list(common)
    a_shape[d], i_shape[d] = input._array.shape[d], indices._array.shape[d]
    x = input.expand(a_shape) if tuple(a_shape) != input._array.shape else input
    i = indices.expand(i_shape) if tuple(i_shape) != indices._array.shape else indices
    return gather(x, d, i)


def put(input, index, source, accumulate=False):
    idx = _index_array(index).reshape(-1)
    n = input._array.size
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = int(idx.min()) if idx.min() < -n else int(idx.max())
        raise IndexError(f"put_(): index {bad} out of range for tensor of size "
                         f"{list(input.shape)}.")
    key = np.unravel_index(idx % max(n, 1), input._array.shape)
    if source._array.size != idx.size:
        raise RuntimeError(f"put_(): Expected source and index to have the same number of "
                           f"elements, but got {source._array.size} and {idx.size}")
    return _put(input, tuple(key), source.reshape(-1), accumulate, False, "put_")


def one_hot(tensor, num_classes=-1):
    """torch.nn.functional.one_hot: int64 tensor of shape `tensor.shape + (num_classes,)`."""
    a = tensor._array
    if a.dtype != np.int64:
        raise RuntimeError(f"one_hot is only applicable to index tensor of type LongTensor, got "
                           f"{tensor.dtype.name}")
    if num_classes == -1:
        if a.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(a.max()) + 1
    if a.size:
        if a.min() < 0:
            raise RuntimeError("Class values must be non-negative.")
        if a.max() >= num_classes:
            raise RuntimeError(f"Class values must be smaller than num_classes (got value "
                               f"{int(a.max())} with num_classes={num_classes}).")
    return _make((a[..., None] == np.arange(num_classes)).astype(np.int64))


FUNCTIONS = ["gather", "scatter", "scatter_add", "scatter_reduce", "index_select", "index_add",
             "index_copy", "index_fill", "index_put", "masked_fill", "masked_select",
             "masked_scatter", "nonzero", "argwhere", "take", "take_along_dim"]

METHODS = {
    "__getitem__": getitem, "__setitem__": setitem,
    "index_put": index_put, "index_put_": index_put_,
    "gather": gather, "scatter": scatter, "scatter_add": scatter_add,
    "scatter_reduce": scatter_reduce, "index_select": index_select, "index_add": index_add,
    "index_copy": index_copy, "index_fill": index_fill, "masked_fill": masked_fill,
    "masked_select": masked_select, "masked_scatter": masked_scatter, "nonzero": nonzero,
    "argwhere": argwhere, "take": take, "take_along_dim": take_along_dim,
    "scatter_": _inplace(scatter, "scatter_"),
    "scatter_add_": _inplace(scatter_add, "scatter_add_"),
    "scatter_reduce_": _inplace(scatter_reduce, "scatter_reduce_"),
    "index_add_": _inplace(index_add, "index_add_"),
    "index_copy_": _inplace(index_copy, "index_copy_"),
    "index_fill_": _inplace(index_fill, "index_fill_"),
    "masked_fill_": _inplace(masked_fill, "masked_fill_"),
    "masked_scatter_": _inplace(masked_scatter, "masked_scatter_"),
    "put_": _inplace(put, "put_"), "put": put,
}


# --- in-place ops on views of tensors that require grad ---------------------------------------------
def _view_positions(view, base):
    """For each element of `view`, its flat (C-order) position in `base`; None when the view's
    memory can't be located in the base's (for example after `.data` was reassigned)."""
    a, v = base._array, view._array
    if not np.may_share_memory(a, v) or a.itemsize != v.itemsize:
        return None
    pos = np.empty_like(a, dtype=np.int64)  # the base's memory layout (order "K")
    pos[...] = np.arange(a.size, dtype=np.int64).reshape(a.shape)
    size = a.itemsize
    if any(s < 0 for s in a.strides) or \
            tuple(s // size for s in a.strides) != tuple(s // 8 for s in pos.strides):
        return None
    flat = pos.ravel(order="K")
    if not np.shares_memory(flat, pos):
        return None
    start = v.__array_interface__["data"][0] - a.__array_interface__["data"][0]
    if start % size or any(s % size for s in v.strides):
        return None
    window = np.lib.stride_tricks.as_strided(flat[start // size:], v.shape,
                                             tuple(s // size * 8 for s in v.strides))
    return window.copy()


def inplace_on_view(view, op_name, compute, *args, **kwargs):
    """An in-place op on a view of a tensor that requires grad (PyTorch's CopySlices): the base
    is rewritten as `base_old` with the view's elements replaced by `compute(view_old)`, and the
    view's grad_fn becomes a slice of the new base, so gradients reach the base's history and the
    op's other inputs; so do the grad_fns of the base's other views (see refresh_views)."""
    base = view._base
    if base.grad_fn is None:
        raise RuntimeError(f"{op_name}: a view of a leaf Variable that requires grad is being used "
                           f"in an in-place operation.")
    if not view._array.flags.writeable:
        raise RuntimeError(f"{op_name}: this tensor is a read-only broadcast view (from expand); "
                           f"call .clone() before modifying it in place")
    positions = _view_positions(view, base) if view._requires_grad else None
    if positions is None:
        raise RuntimeError(f"{op_name}: in-place modification of this view of a tensor that "
                           f"requires grad is not supported by kindling (it is not a "
                           f"differentiable view of its base); use an out-of-place op instead")
    key = (positions, Ellipsis)
    old = _make(base._array.copy(order="K"), grad_fn=base.grad_fn, output_nr=base._output_nr)
    old._requires_grad = True
    old_flat = old.reshape(-1)
    result = compute(GetItem.apply(old_flat, key, True, True), *args, **kwargs)
    new_base = IndexPut.apply(old_flat, key, result, False, True, True).reshape(base.shape)
    base._write(new_base._array, op_name)
    base.grad_fn, base._output_nr = new_base.grad_fn, new_base._output_nr
    base._requires_grad = True
    new_view = GetItem.apply(base.reshape(-1), key, True, True)
    view.grad_fn, view._output_nr = new_view.grad_fn, new_view._output_nr
    view._requires_grad = True
    refresh_views(base, skip=view)
    return view


class _Views:
    """Weak references to a base's views; dead ones are dropped whenever the list has doubled,
    so a long-lived base sliced in a loop does not collect them without bound."""
    __slots__ = ("refs", "prune_at")

    def __init__(self):
        self.refs, self.prune_at = [], 64

    def add(self, view):
        self.refs.append(weakref.ref(view))
        if len(self.refs) >= self.prune_at:
            self.refs = [r for r in self.refs if r() is not None]
            self.prune_at = max(64, 2 * len(self.refs))

    def live(self):
        views = [w for w in (r() for r in self.refs) if w is not None]
        self.refs = [weakref.ref(w) for w in views]
        return views


def register_view(view):
    """Remember a view recorded in the graph in its base, so that an in-place op on the base or
    on any of its views can re-derive the view's grad_fn (refresh_views). Views of leaves need
    none: an in-place op on a leaf that requires grad, or on its views, is an error."""
    base = view._base
    if view.grad_fn is None or base.grad_fn is None:
        return
    views = base.__dict__.get("_views")
    if views is None:
        views = base.__dict__["_views"] = _Views()
    views.add(view)


def refresh_views(base, skip=None):
    """After an in-place op changed `base` (directly or through a view), point every other live
    view's grad_fn at the base's new value, as PyTorch regenerates a view's grad_fn once its
    base's version moved on: otherwise gradients through such a view would skip the op."""
    views = base.__dict__.get("_views")
    if views is None:
        return
    live = views.live()
    flat = None
    for w in live:
        if w is skip or not w._requires_grad and w.grad_fn is None:
            continue
        positions = _view_positions(w, base)
        if positions is None:  # no longer shares the base's memory (its .data was replaced)
            continue
        if flat is None:
            flat = base.reshape(-1)
        fresh = GetItem.apply(flat, (positions, Ellipsis), True, True)
        w.grad_fn, w._output_nr, w._requires_grad = fresh.grad_fn, fresh._output_nr, True
