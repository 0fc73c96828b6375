"""Shape ops: views and rearrangements, each forward beside its gradient.

A view (reshape when possible, permute, squeeze, expand, slicing, split pieces, diagonal...) shares
its input's array and version counter, so an in-place write through either is seen by the other
and by autograd's saved-tensor checks. Copies (flip, roll, cat, repeat, clone...) own new memory.
"""
import numpy as np

from ..engine import dtypes
from ..engine.function import Op
from ..engine.tensor import Tensor, Size, _make
from ..engine.broadcast import broadcast_to as _broadcast_to
from ._util import shape_args, wrap_dim
from .index import getitem, index_select, register_view


def _view_of(out, input):
    """Mark `out` as a view of `input`: same version counter, same root base (as in PyTorch)."""
    out._vc = input._vc
    out._base = input._base if input._base is not None else input
    register_view(out)
    return out


def _dims_arg(dims, op):
    if isinstance(dims, (int, np.integer)):
        return (int(dims),)
    return shape_args(dims, op)


# --- reshaping views ------------------------------------------------------------------------
class Reshape(Op):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x._array.shape
        try:
            return x._array.reshape(shape)
        except ValueError:
            raise RuntimeError(f"reshape: shape {list(shape)} is invalid for input of size "
                               f"{x._array.size} (shape {tuple(x._array.shape)})") from None

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape), None


def reshape(input, *shape):
    shape = shape_args(shape, "reshape")
    if shape == input._array.shape:
        return input
    out = Reshape.apply(input, shape)
    if np.may_share_memory(out._array, input._array):  # bounds test: exact for reshape
        _view_of(out, input)
    return out


def view(input, *shape):
    """Tensor.view: like reshape, but never copies (an incompatible layout is an error)."""
    if len(shape) == 1 and isinstance(shape[0], (dtypes.dtype, str, type)):
        raise NotImplementedError("view(dtype): reinterpreting memory is not supported by kindling")
    shape = shape_args(shape, "view")
    a = input._array
    if shape != a.shape and not a.flags.c_contiguous and a.size > 1:
        try:
            probe = a.reshape(shape)
        except ValueError:
            probe = None  # reshape reports the size mismatch below
        if probe is not None and not np.may_share_memory(probe, a):
            raise RuntimeError(f"view size is not compatible with input tensor's size and stride "
                               f"(input shape {tuple(a.shape)}, strides {input.stride()}; at "
                               f"least one dimension spans across two contiguous subspaces). "
                               f"Use .reshape(...) instead.")
    return reshape(input, shape)


def view_as(input, other):
    return view(input, other.shape)


def reshape_as(input, other):
    return reshape(input, other.shape)


def flatten(input, start_dim=0, end_dim=-1):
    shape = input._array.shape
    if not shape:
        return reshape(input, (1,))
    s, e = wrap_dim(start_dim, len(shape), "flatten"), wrap_dim(end_dim, len(shape), "flatten")
    if s > e:
        raise RuntimeError(f"flatten() has invalid args: start_dim ({start_dim}) cannot come "
                           f"after end_dim ({end_dim})")
    n = 1
    for k in shape[s:e + 1]:
        n *= k
    return reshape(input, shape[:s] + (n,) + shape[e + 1:])


def unflatten(input, dim, sizes):
    shape = input._array.shape
    d = wrap_dim(dim, len(shape), "unflatten")
    sizes = list(shape_args(sizes, "unflatten"))
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    if sizes.count(-1) > 1:
        raise RuntimeError(f"unflatten: only one dimension can be inferred, got sizes {sizes}")
    known = 1
    for k in sizes:
        known *= k if k != -1 else 1
    if -1 in sizes:
        if known == 0 or shape[d] % known:
            raise RuntimeError(f"unflatten: provided sizes {sizes} don't multiply up to the size "
                               f"of dim {dim} ({shape[d]}) in the input tensor")
        sizes[sizes.index(-1)] = shape[d] // known
    elif known != shape[d]:
        raise RuntimeError(f"unflatten: provided sizes {sizes} don't multiply up to the size of "
                           f"dim {dim} ({shape[d]}) in the input tensor")
    return reshape(input, shape[:d] + tuple(sizes) + shape[d + 1:])


def squeeze(input, dim=None):
    shape = input._array.shape
    if dim is None:
        axes = {i for i, k in enumerate(shape) if k == 1}
    else:
        dims = _dims_arg(dim, "squeeze")
        axes = {wrap_dim(d, len(shape), "squeeze") for d in dims}
        axes = {a for a in axes if len(shape) and shape[a] == 1}
    return reshape(input, tuple(k for i, k in enumerate(shape) if i not in axes))


def unsqueeze(input, dim):
    shape = input._array.shape
    d = wrap_dim(dim, len(shape) + 1, "unsqueeze")
    return reshape(input, shape[:d] + (1,) + shape[d:])


# --- dimension order --------------------------------------------------------------------------
class Permute(Op):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return x._array.transpose(dims)

    @staticmethod
    def backward(ctx, g):
        return g.permute(tuple(int(i) for i in np.argsort(ctx.dims))), None


def permute(input, *dims):
    dims = shape_args(dims, "permute")
    n = input._array.ndim
    if len(dims) != n:
        raise RuntimeError(f"permute: number of dims don't match: input has {n} dims but "
                           f"{len(dims)} were given ({dims})")
    dims = tuple(wrap_dim(d, n, "permute") for d in dims)
    if len(set(dims)) != n:
        raise RuntimeError(f"permute: repeated dim in {dims}")
    return _view_of(Permute.apply(input, dims), input)


def transpose(input, dim0, dim1):
    n = input._array.ndim
    if n == 0:
        wrap_dim(dim0, n, "transpose"), wrap_dim(dim1, n, "transpose")
        return input
    dims = list(range(n))
    d0, d1 = wrap_dim(dim0, n, "transpose"), wrap_dim(dim1, n, "transpose")
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return permute(input, dims)


def movedim(input, source, destination):
    n = input._array.ndim
    src = [wrap_dim(d, n, "movedim") for d in _dims_arg(source, "movedim")]
    dst = [wrap_dim(d, n, "movedim") for d in _dims_arg(destination, "movedim")]
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src} dims) "
                           f"should contain the same number of dims as destination ({dst} dims)")
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise RuntimeError(f"movedim: repeated dim in source {src} or destination {dst}")
    order = [None] * n
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(i for i in range(n) if i not in src)
    order = [next(rest) if o is None else o for o in order]
    return permute(input, order)


def t(input):
    n = input._array.ndim
    if n > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {n}D")
    return transpose(input, 0, 1) if n == 2 else input


def _T(self):
    return permute(self, tuple(range(self._array.ndim - 1, -1, -1)))


def _mT(self):
    if self._array.ndim < 2:
        raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. Got "
                           f"{self._array.ndim}-D tensor.")
    return transpose(self, -2, -1)


# --- broadcasting -------------------------------------------------------------------------------
def expand(input, *sizes):
    sizes = shape_args(sizes, "expand")
    n = input._array.ndim
    if len(sizes) < n:
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater "
                           f"or equal to the number of dimensions in the tensor ({n})")
    lead = len(sizes) - n
    for i, s in enumerate(sizes):
        if s == -1 and i < lead:
            raise RuntimeError(f"expand: -1 is not allowed in a leading, non-existing dimension "
                               f"(sizes {list(sizes)}, input shape {tuple(input.shape)})")
    shape = tuple(input._array.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
    out = _broadcast_to(input, shape)
    if out is not input:
        _view_of(out, input)
    return out


def expand_as(input, other):
    return expand(input, other.shape)


def broadcast_to(input, size):
    return expand(input, size)


def broadcast_shapes(*shapes):
    shapes = [(s,) if isinstance(s, (int, np.integer)) else tuple(s) for s in shapes]
    try:
        return Size(np.broadcast_shapes(*shapes))
    except ValueError:
        raise RuntimeError(f"broadcast_shapes: shapes {shapes} cannot be broadcast together "
                           f"(each dimension must match or be 1)") from None


def broadcast_tensors(*tensors):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    shape = broadcast_shapes(*(t.shape for t in tensors))
    return tuple(expand(t, shape) for t in tensors)


# --- copies -------------------------------------------------------------------------------------
class Clone(Op):
    @staticmethod
    def forward(ctx, x, order):
        return np.array(x._array, order=order, copy=True)

    @staticmethod
    def backward(ctx, g):
        return g, None


def clone(input, *, memory_format=None):
    # preserve_format (the default) keeps a dense layout such as a transpose's, as PyTorch does
    order = "C" if memory_format is not None and "contiguous" in str(memory_format) else "K"
    return Clone.apply(input, order)


def contiguous(input, memory_format=None):
    if input._array.flags.c_contiguous:
        return input
    return Clone.apply(input, "C")


# --- joining ------------------------------------------------------------------------------------
def _tensor_list(tensors, op):
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}(): argument 'tensors' must be a tuple or list of Tensors, not "
                        f"Tensor")
    tensors = list(tensors)
    for i, x in enumerate(tensors):
        if not isinstance(x, Tensor):
            raise TypeError(f"{op}(): expected Tensor as element {i} in argument 'tensors', but "
                            f"got {type(x).__name__}")
    if not tensors:
        raise ValueError(f"{op}(): expected a non-empty list of Tensors")
    return tensors


class Cat(Op):
    @staticmethod
    def forward(ctx, dim, np_dtype, skip_empty, *tensors):
        arrays = [t._array if t._array.dtype == np_dtype else t._array.astype(np_dtype)
                  for t in tensors]
        ctx.dim = dim
        # PyTorch's legacy rule: 1-D empty tensors are skipped whatever the other shapes.
        ctx.sizes = [None if skip_empty and a.shape == (0,) else a.shape[dim] for a in arrays]
        return np.concatenate([a for a, n in zip(arrays, ctx.sizes) if n is not None], axis=dim)

    @staticmethod
    def backward(ctx, g):
        grads, start = [], 0
        for i, n in enumerate(ctx.sizes):
            if not ctx.needs_input_grad[i + 3]:
                grads.append(None)
            elif n is None:
                grads.append(_make(np.zeros(0, g._array.dtype)))
            else:
                grads.append(narrow(g, ctx.dim, start, n))
            start += n or 0
        return (None, None, None, *grads)


def cat(tensors, dim=0, *, out=None):
    tensors = _tensor_list(tensors, "cat")
    np_dtype = dtypes.result_type(*tensors).np
    kept = [x for x in tensors if x._array.shape != (0,)]
    if not kept:
        return Cat.apply(0, np_dtype, False, *tensors)
    ref = kept[0]
    n = ref._array.ndim
    if n == 0:
        raise RuntimeError("cat(): zero-dimensional tensor (at position 0) cannot be "
                           "concatenated")
    d = wrap_dim(dim, n, "cat")
    for i, x in enumerate(tensors):
        shape = x._array.shape
        if shape == (0,):
            continue
        if len(shape) != n:
            raise RuntimeError(f"cat(): Tensors must have same number of dimensions: got {n} and "
                               f"{len(shape)}")
        for k in range(n):
            if k != d and shape[k] != ref._array.shape[k]:
                raise RuntimeError(f"cat(): Sizes of tensors must match except in dimension {d}. "
                                   f"Expected size {ref._array.shape[k]} but got size {shape[k]} "
                                   f"for tensor number {i} in the list.")
    return Cat.apply(d, np_dtype, True, *tensors)


concat = cat
concatenate = cat


class Stack(Op):
    @staticmethod
    def forward(ctx, dim, np_dtype, *tensors):
        ctx.dim = dim
        return np.stack([t._array.astype(np_dtype, copy=False) for t in tensors], axis=dim)

    @staticmethod
    def backward(ctx, g):
        return (None, None, *unbind(g, ctx.dim))


def stack(tensors, dim=0, *, out=None):
    tensors = _tensor_list(tensors, "stack")
    shape = tensors[0]._array.shape
    for i, x in enumerate(tensors):
        if x._array.shape != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(shape)} at entry 0 and {list(x.shape)} at entry {i}")
    d = wrap_dim(dim, len(shape) + 1, "stack")
    return Stack.apply(d, dtypes.result_type(*tensors).np, *tensors)


def atleast_1d(*tensors):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(atleast_1d(x) for x in tensors[0])
    if len(tensors) > 1:
        return tuple(atleast_1d(x) for x in tensors)
    x = tensors[0]
    return reshape(x, (1,)) if x._array.ndim == 0 else x


def atleast_2d(*tensors):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(atleast_2d(x) for x in tensors[0])
    if len(tensors) > 1:
        return tuple(atleast_2d(x) for x in tensors)
    x = tensors[0]
    return reshape(x, (1,) * (2 - x._array.ndim) + x._array.shape) if x._array.ndim < 2 else x


def atleast_3d(*tensors):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(atleast_3d(x) for x in tensors[0])
    if len(tensors) > 1:
        return tuple(atleast_3d(x) for x in tensors)
    x = tensors[0]
    n = x._array.ndim
    if n == 0:
        return reshape(x, (1, 1, 1))
    if n == 1:
        return reshape(x, (1, x._array.shape[0], 1))
    if n == 2:
        return unsqueeze(x, -1)
    return x


def hstack(tensors, *, out=None):
    tensors = [atleast_1d(x) for x in _tensor_list(tensors, "hstack")]
    return cat(tensors, 0 if tensors[0]._array.ndim == 1 else 1)


def vstack(tensors, *, out=None):
    return cat([atleast_2d(x) for x in _tensor_list(tensors, "vstack")], 0)


row_stack = vstack


def dstack(tensors, *, out=None):
    return cat([atleast_3d(x) for x in _tensor_list(tensors, "dstack")], 2)


def column_stack(tensors, *, out=None):
    tensors = _tensor_list(tensors, "column_stack")
    cols = [reshape(x, (-1, 1)) if x._array.ndim <= 1 else x for x in tensors]
    return cat(cols, 1)


# --- splitting (views) --------------------------------------------------------------------------
class Split(Op):
    saves_output = True  # multi-output: the engine needs the outputs' shapes for unused grads

    @staticmethod
    def forward(ctx, x, dim, sizes):
        ctx.dim = dim
        a, start, pieces = x._array, 0, []
        lead = (slice(None),) * dim
        for n in sizes:
            pieces.append(a[lead + (slice(start, start + n), Ellipsis)])
            start += n
        return tuple(pieces)

    @staticmethod
    def backward(ctx, *grads):
        return cat(list(grads), ctx.dim), None, None


def _split_sizes(input, dim, sizes, op):
    if input._array.ndim == 0:
        raise RuntimeError(f"{op}: expects at least a 1-dimensional tensor")
    d = wrap_dim(dim, input._array.ndim, op)
    pieces = Split.apply(input, d, tuple(sizes))
    if not isinstance(pieces, tuple):
        pieces = (pieces,)
    for p in pieces:
        _view_of(p, input)
    return pieces


def split(tensor, split_size_or_sections, dim=0):
    if tensor._array.ndim == 0:
        raise RuntimeError("split: expects at least a 1-dimensional tensor")
    d = wrap_dim(dim, tensor._array.ndim, "split")
    n = tensor._array.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size < 0 or (size == 0 and n != 0):
            raise RuntimeError(f"split: split_size can only be 0 if dimension size is 0, but got "
                               f"split_size={size} for dimension {d} of size {n}")
        sizes = [size] * (n // size) + ([n % size] if n % size else []) if size else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} "
                               f"(input tensor's size at dimension {d}), but got "
                               f"split_sizes={sizes}")
    return _split_sizes(tensor, d, sizes, "split")


def chunk(input, chunks, dim=0):
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    if input._array.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    d = wrap_dim(dim, input._array.ndim, "chunk")
    n = input._array.shape[d]
    size = -(-n // chunks)
    if n == 0:
        return _split_sizes(input, d, [0] * chunks, "chunk")
    return split(input, size, d)


def tensor_split(input, indices_or_sections, dim=0):
    if input._array.ndim == 0:
        raise RuntimeError("tensor_split expects at least a 1-dimensional tensor, but got a "
                           "tensor with 0 dims")
    d = wrap_dim(dim, input._array.ndim, "tensor_split")
    n = input._array.shape[d]
    if isinstance(indices_or_sections, Tensor) and indices_or_sections._array.ndim == 0:
        indices_or_sections = int(indices_or_sections.item())
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {k}")
        sizes = [n // k + 1] * (n % k) + [n // k] * (k - n % k)
    else:
        bounds = [min(max(int(i) if i >= 0 else n + int(i), 0), n)
                  for i in (indices_or_sections.tolist()
                            if isinstance(indices_or_sections, Tensor) else indices_or_sections)]
        sizes, prev = [], 0
        for b in bounds:
            b = max(b, prev)
            sizes.append(b - prev)
            prev = b
        sizes.append(n - prev)
    return _split_sizes(input, d, sizes, "tensor_split")


class Unbind(Op):
    saves_output = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        a = x._array
        lead = (slice(None),) * dim
        return tuple(a[lead + (i, Ellipsis)] for i in range(a.shape[dim]))

    @staticmethod
    def backward(ctx, *grads):
        return stack(list(grads), ctx.dim), None


def unbind(input, dim=0):
    if input._array.ndim == 0:
        raise IndexError("unbind: dimension specified as 0 but tensor has no dimensions")
    d = wrap_dim(dim, input._array.ndim, "unbind")
    if input._array.shape[d] == 0:
        return ()
    pieces = Unbind.apply(input, d)
    for p in pieces:
        _view_of(p, input)
    return pieces


def narrow(input, dim, start, length):
    n = input._array.ndim
    if n == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, n, "narrow")
    size = input._array.shape[d]
    start, length = int(start), int(length)
    if not -size <= start <= size:
        raise IndexError(f"narrow(): start ({start}) out of range (expected to be in range of "
                         f"[{-size}, {size}]) for dimension {d} of size {size}")
    if start < 0:
        start += size
    if length < 0 or start + length > size:
        raise RuntimeError(f"narrow(): start ({start}) + length ({length}) exceeds dimension size "
                           f"({size}) of dimension {d}")
    return getitem(input, (slice(None),) * d + (slice(start, start + length),))


def select(input, dim, index):
    n = input._array.ndim
    if n == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, n, "select")
    size = input._array.shape[d]
    index = int(index)
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(input.shape)} at dimension {d}")
    return getitem(input, (slice(None),) * d + (index,))


# --- rearranging copies -------------------------------------------------------------------------
class Flip(Op):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return np.flip(x._array, dims).copy()

    @staticmethod
    def backward(ctx, g):
        return Flip.apply(g, ctx.dims), None


def flip(input, *dims):
    dims = shape_args(dims, "flip")
    n = input._array.ndim
    axes = tuple(wrap_dim(d, n, "flip") for d in dims)
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"flip: dims has duplicates, original flip dims size={len(dims)}, but "
                           f"unique flip dims size={len(set(axes))}")
    return Flip.apply(input, axes if n else ())


def fliplr(input):
    if input._array.ndim < 2:
        raise RuntimeError("fliplr: Input must be >= 2-d.")
    return flip(input, (1,))


def flipud(input):
    if input._array.ndim < 1:
        raise RuntimeError("flipud: Input must be >= 1-d.")
    return flip(input, (0,))


class Roll(Op):
    @staticmethod
    def forward(ctx, x, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return np.roll(x._array, shifts, dims)

    @staticmethod
    def backward(ctx, g):
        return Roll.apply(g, tuple(-s for s in ctx.shifts), ctx.dims), None


def roll(input, shifts, dims=None):
    shifts = _dims_arg(shifts, "roll")
    if dims is None or (isinstance(dims, (tuple, list)) and len(dims) == 0):
        if len(shifts) != 1:
            raise RuntimeError(f"roll: shifts {shifts} must be a single value when dims is not "
                               f"given")
        return reshape(Roll.apply(flatten(input), shifts, (0,)), input.shape)
    dims = _dims_arg(dims, "roll")
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, dims:"
                           f"{len(dims)}")
    dims = tuple(wrap_dim(d, input._array.ndim, "roll") for d in dims)
    return Roll.apply(input, shifts, dims)


def rot90(input, k=1, dims=(0, 1)):
    dims = _dims_arg(dims, "rot90")
    n = input._array.ndim
    if len(dims) != 2:
        raise RuntimeError(f"rot90: expected total rotation dims == 2, but got dims = {len(dims)}")
    if n < 2:
        raise RuntimeError(f"rot90: expected total dims >= 2, but got total dims = {n}")
    d0, d1 = wrap_dim(dims[0], n, "rot90"), wrap_dim(dims[1], n, "rot90")
    if d0 == d1:
        raise RuntimeError(f"rot90: expected rotation dims to be different, but got dim0 = {d0} "
                           f"and dim1 = {d1}")
    k %= 4
    if k == 0:
        return clone(input)
    if k == 2:
        return flip(input, (d0, d1))
    if k == 1:
        return transpose(flip(input, (d1,)), d0, d1)
    return flip(transpose(input, d0, d1), (d1,))


class Repeat(Op):
    @staticmethod
    def forward(ctx, x, reps):
        ctx.in_shape = x._array.shape
        ctx.reps = reps
        return np.tile(x._array, reps)

    @staticmethod
    def backward(ctx, g):
        reps = ctx.reps
        padded = (1,) * (len(reps) - len(ctx.in_shape)) + ctx.in_shape
        interleaved = tuple(k for r, n in zip(reps, padded) for k in (r, n))
        summed = g.reshape(interleaved).sum(tuple(range(0, 2 * len(reps), 2)))
        return summed.reshape(ctx.in_shape), None


def repeat(input, *sizes):
    sizes = shape_args(sizes, "repeat")
    if len(sizes) < input._array.ndim:
        raise RuntimeError(f"Number of dimensions of repeat dims ({len(sizes)}) can not be "
                           f"smaller than number of dimensions of tensor ({input._array.ndim})")
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"repeat: trying to create tensor with negative dimension: {sizes}")
    return Repeat.apply(input, sizes)


def tile(input, dims):
    dims = _dims_arg(dims, "tile")
    dims = (1,) * (input._array.ndim - len(dims)) + dims
    return repeat(input, dims)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    if repeats is None:  # torch.repeat_interleave(repeats): indices repeated by their counts
        counts = input._array
        if counts.ndim > 1 or counts.dtype.kind not in "iu":
            raise RuntimeError("repeat_interleave: repeats must be a 0-d or 1-d integer tensor")
        return _make(np.repeat(np.arange(counts.size, dtype=np.int64), counts.reshape(-1)))
    if dim is None:
        input, dim = flatten(input), 0
    n = input._array.ndim
    d = wrap_dim(dim, n, "repeat_interleave") if n else 0
    if n == 0:
        input = reshape(input, (1,))
    size = input._array.shape[d]
    r = repeats._array if isinstance(repeats, Tensor) else np.asarray(repeats)
    if r.dtype.kind not in "iu":
        raise RuntimeError(f"repeat_interleave: repeats must be integers, got {r.dtype}")
    if r.ndim > 1 or (r.size != 1 and r.size != size):
        raise RuntimeError(f"repeat_interleave: repeats must have the same size as input along "
                           f"dim {d} ({size}), but got repeats of shape {tuple(r.shape)}")
    if np.any(r < 0):
        raise RuntimeError("repeat_interleave: repeats can not be negative")
    idx = np.repeat(np.arange(size, dtype=np.int64), r.reshape(-1) if r.size != 1 else int(r))
    return index_select(input, d, _make(idx))


# --- triangles and diagonals --------------------------------------------------------------------
class Tril(Op):
    @staticmethod
    def forward(ctx, x, k, upper):
        ctx.k, ctx.upper = k, upper
        return np.triu(x._array, k) if upper else np.tril(x._array, k)

    @staticmethod
    def backward(ctx, g):
        return Tril.apply(g, ctx.k, ctx.upper), None, None


def tril(input, diagonal=0, *, out=None):
    if input._array.ndim < 2:
        raise RuntimeError("tril: input tensor must have at least 2 dimensions")
    return Tril.apply(input, int(diagonal), False)


def triu(input, diagonal=0, *, out=None):
    if input._array.ndim < 2:
        raise RuntimeError("triu: input tensor must have at least 2 dimensions")
    return Tril.apply(input, int(diagonal), True)


def _diag_view(a, offset, d1, d2):
    """A writeable view of the diagonal of `a` (NumPy's own diagonal view is read-only)."""
    start = [slice(None)] * a.ndim
    if offset >= 0:
        start[d2] = slice(min(offset, a.shape[d2]), None)
    else:
        start[d1] = slice(min(-offset, a.shape[d1]), None)
    b = a[tuple(start)]
    length = min(b.shape[d1], b.shape[d2])
    keep = [i for i in range(a.ndim) if i not in (d1, d2)]
    shape = tuple(b.shape[i] for i in keep) + (length,)
    strides = tuple(b.strides[i] for i in keep) + (b.strides[d1] + b.strides[d2],)
    return np.lib.stride_tricks.as_strided(b, shape, strides, writeable=a.flags.writeable)


class Diagonal(Op):
    @staticmethod
    def forward(ctx, x, offset, d1, d2):
        ctx.args = (x._array.shape, offset, d1, d2)
        return _diag_view(x._array, offset, d1, d2)

    @staticmethod
    def backward(ctx, g):
        return DiagonalScatter.apply(g, *ctx.args), None, None, None


class DiagonalScatter(Op):
    """Zeros of `shape` with `x` written on the diagonal (the adjoint of `Diagonal`)."""
    @staticmethod
    def forward(ctx, x, shape, offset, d1, d2):
        ctx.args = (offset, d1, d2)
        out = np.zeros(shape, x._array.dtype)
        _diag_view(out, offset, d1, d2)[...] = x._array
        return out

    @staticmethod
    def backward(ctx, g):
        return Diagonal.apply(g, *ctx.args), None, None, None, None


def diagonal(input, offset=0, dim1=0, dim2=1):
    n = input._array.ndim
    d1, d2 = wrap_dim(dim1, n, "diagonal"), wrap_dim(dim2, n, "diagonal")
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return _view_of(Diagonal.apply(input, int(offset), d1, d2), input)


_diagonal = diagonal  # `diag` takes an argument named `diagonal`, as in PyTorch


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    n = input._array.ndim + 1
    d1, d2 = wrap_dim(dim1, n, "diag_embed"), wrap_dim(dim2, n, "diag_embed")
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    if input._array.ndim == 0:
        raise RuntimeError("diag_embed: input must have at least 1 dimension")
    m = input._array.shape[-1] + abs(int(offset))
    rest = list(input._array.shape[:-1])
    shape = []
    for i in range(n):
        shape.append(m if i in (d1, d2) else rest.pop(0))
    return DiagonalScatter.apply(input, tuple(shape), int(offset), d1, d2)


def diag(input, diagonal=0, *, out=None):
    n = input._array.ndim
    if n == 1:
        return diag_embed(input, diagonal, 0, 1)
    if n == 2:
        return Clone.apply(_diagonal(input, diagonal), "C")
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {n}D")


def meshgrid(*tensors, indexing=None):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    indexing = "ij" if indexing is None else indexing
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but "
                           f"received: {indexing}")
    for x in tensors:
        if x._array.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but "
                               f"got: {x._array.ndim}D")
    k = len(tensors)
    pos = list(range(k))
    if indexing == "xy" and k >= 2:
        pos[0], pos[1] = 1, 0
    sizes = [x._array.size for x in tensors]
    shape = [0] * k
    for i, p in enumerate(pos):
        shape[p] = sizes[i]
    out = []
    for i, x in enumerate(tensors):
        view_shape = [1] * k
        view_shape[pos[i]] = sizes[i]
        out.append(expand(reshape(x, tuple(view_shape)), tuple(shape)))
    return tuple(out)


# --- padding (torch.nn.functional.pad) ----------------------------------------------------------
class PadConstant(Op):
    @staticmethod
    def forward(ctx, x, widths, value):
        ctx.region = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x._array.shape))
        a = x._array
        out = np.full(tuple(n + lo + hi for (lo, hi), n in zip(widths, a.shape)), value,
                      dtype=a.dtype)
        out[ctx.region] = a
        return out

    @staticmethod
    def backward(ctx, g):
        return getitem(g, ctx.region), None, None


def _pad_pairs(input, pad):
    pad = [int(p) for p in pad]
    if len(pad) % 2:
        raise RuntimeError(f"pad: Padding length must be divisible by 2, got {len(pad)}")
    n = input._array.ndim
    if len(pad) // 2 > n:
        raise RuntimeError(f"pad: Padding length should be less than or equal to two times the "
                           f"input dimension but got padding length {len(pad)} and input of "
                           f"dimension {n}")
    pairs = [(0, 0)] * n
    for i in range(len(pad) // 2):
        pairs[n - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return pairs


def _pad_index(size, lo, hi, mode, dim, shape):
    """For each output position along one dim, the input position it copies."""
    j = np.arange(-lo, size + hi)
    if mode == "reflect":
        if lo >= size or hi >= size:
            raise RuntimeError(f"pad: Padding size should be less than the corresponding input "
                               f"dimension, but got: padding ({lo}, {hi}) at dimension {dim} of "
                               f"input {list(shape)}")
        period = 2 * (size - 1)
        j = np.abs(j) % period if period else np.zeros_like(j)
        return np.where(j >= size, period - j, j)
    if mode == "replicate":
        if size == 0:
            raise RuntimeError(f"pad: input has size 0 at dimension {dim} (shape "
                               f"{list(shape)}); replicate padding needs at least one element")
        return np.clip(j, 0, size - 1)
    if lo > size or hi > size:
        raise RuntimeError(f"pad: Padding value causes wrapping around more than once (padding "
                           f"({lo}, {hi}) at dimension {dim} of input {list(shape)})")
    return j % size


def pad(input, pad, mode="constant", value=None):
    """torch.nn.functional.pad: `pad` lists (before, after) pairs starting from the last dim;
    negative amounts crop. Every mode is differentiable."""
    pairs = _pad_pairs(input, pad)
    shape = input._array.shape
    if mode == "constant":
        crop = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for (lo, hi), n in zip(pairs, shape))
        for (lo, hi), n in zip(pairs, shape):
            if n + lo + hi < 0:
                raise RuntimeError(f"pad: the input size {n}, plus negative padding {lo} and {hi}"
                                   f" resulted in a negative output size")
        x = getitem(input, crop) if any(lo < 0 or hi < 0 for lo, hi in pairs) else input
        widths = tuple((max(lo, 0), max(hi, 0)) for lo, hi in pairs)
        return PadConstant.apply(x, widths, 0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"pad: unsupported padding mode {mode!r} (expected 'constant', "
                                  f"'reflect', 'replicate' or 'circular')")
    if value not in (None, 0):
        raise RuntimeError(f"pad: padding mode \"{mode}\" doesn't take in value argument")
    k, n = len(pad) // 2, input._array.ndim
    if k > 3 or n not in (k + 1, k + 2):
        raise NotImplementedError(f"pad: only 2D, 3D, 4D, 5D padding with non-constant padding "
                                  f"are supported for now (padding {list(pad)} of a {n}-D input)")
    out = input
    for d, (lo, hi) in enumerate(pairs):
        if lo or hi:
            idx = _pad_index(shape[d], lo, hi, mode, d, shape)
            out = index_select(out, d, _make(idx.astype(np.int64)))
    return out


FUNCTIONS = ["reshape", "flatten", "unflatten", "squeeze", "unsqueeze", "permute", "transpose",
             "swapaxes", "swapdims", "movedim", "moveaxis", "t", "broadcast_to", "broadcast_shapes",
             "broadcast_tensors", "clone", "cat", "concat", "concatenate", "stack", "hstack",
             "vstack", "dstack", "row_stack", "column_stack", "atleast_1d", "atleast_2d",
             "atleast_3d", "split", "chunk", "tensor_split", "unbind", "narrow", "select", "flip",
             "fliplr", "flipud", "roll", "rot90", "tile", "repeat_interleave", "tril", "triu",
             "diagonal", "diag_embed", "diag", "meshgrid", "ravel", "diff", "hsplit", "vsplit",
             "dsplit", "split_with_sizes", "diagflat"]
swapaxes = swapdims = transpose


def hsplit(input, indices_or_sections):
    """tensor_split along dim 1 (dim 0 for 1-D tensors)."""
    return tensor_split(input, indices_or_sections, dim=1 if input.dim() > 1 else 0)


def vsplit(input, indices_or_sections):
    if input.dim() < 2:
        raise RuntimeError(f"torch.vsplit requires a tensor with at least 2 dimension, but got a "
                           f"tensor with {input.dim()} dimensions!")
    return tensor_split(input, indices_or_sections, dim=0)


def dsplit(input, indices_or_sections):
    if input.dim() < 3:
        raise RuntimeError(f"torch.dsplit requires a tensor with at least 3 dimension, but got a "
                           f"tensor with {input.dim()} dimensions!")
    return tensor_split(input, indices_or_sections, dim=2)


def split_with_sizes(input, split_sizes, dim=0):
    return split(input, list(split_sizes), dim)


def unfold(input, dimension, size, step):
    """All windows of `size` elements taken every `step` along `dimension`, as a new last dim
    (Tensor.unfold). A gather, so overlapping windows add their gradients back."""
    d = wrap_dim(dimension, max(input.dim(), 1), "unfold")
    length = input.shape[d] if input.dim() else 1
    if size > length:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {length} but size is "
                           f"{size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if input.dim() == 0:
        return input.reshape(1)                                    # torch: one window, (size,)
    starts = np.arange(0, length - size + 1, step)
    index = starts[:, None] + np.arange(size)[None, :]            # (windows, size)
    windows = getitem(movedim(input, d, -1), (Ellipsis, _make(index)))   # (..., windows, size)
    return movedim(windows, -2, d)


def sum_to_size(input, *size):
    """input summed down to `size`: the adjoint of expanding a tensor of that size to input's."""
    from ..engine.broadcast import sum_to
    shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
    try:
        ok = np.broadcast_shapes(shape, tuple(input.shape)) == tuple(input.shape)
    except ValueError:
        ok = False
    if not ok:
        raise RuntimeError(f"size {list(shape)} is not expandable to size {list(input.shape)}")
    return sum_to(input, shape)


def diagflat(input, offset=0):
    """A 2-D tensor with input's elements (flattened) on its `offset` diagonal."""
    return diag(input.reshape(-1), offset)


def ravel(input):
    """A flattened (1-D) tensor: a view when the memory allows, as reshape(-1)."""
    return reshape(input, -1)


def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The n-th forward difference along dim, after concatenating prepend / append there."""
    if n < 0:
        raise RuntimeError(f"diff expects n to be non-negative, got {n}")
    d = wrap_dim(dim, input.dim(), "diff")
    parts = [p if p.dim() else p.expand(*input.shape[:d], 1, *input.shape[d + 1:])
             for p in (prepend, input, append) if p is not None]
    x = cat(parts, dim=d) if len(parts) > 1 else input
    for _ in range(n):
        length = x.shape[d]
        if length == 0:
            break
        x = narrow(x, d, 1, length - 1) - narrow(x, d, 0, length - 1)
    return x
moveaxis = movedim

METHODS = {
    "reshape": reshape, "view": view, "view_as": view_as, "reshape_as": reshape_as,
    "flatten": flatten, "unflatten": unflatten, "squeeze": squeeze, "unsqueeze": unsqueeze,
    "permute": permute, "transpose": transpose, "swapaxes": transpose, "swapdims": transpose,
    "movedim": movedim, "moveaxis": movedim, "t": t,
    "T": property(_T), "mT": property(_mT), "mH": property(_mT), "H": property(lambda x: t(x)),
    "expand": expand, "expand_as": expand_as, "broadcast_to": broadcast_to,
    "clone": clone, "contiguous": contiguous,
    "split": split, "chunk": chunk, "tensor_split": tensor_split, "unbind": unbind,
    "narrow": narrow, "select": select, "flip": flip, "fliplr": fliplr, "flipud": flipud,
    "roll": roll, "rot90": rot90, "repeat": repeat, "tile": tile,
    "repeat_interleave": repeat_interleave, "tril": tril, "triu": triu,
    "diagonal": diagonal, "diag_embed": diag_embed, "diag": diag, "ravel": ravel, "diff": diff,
    "hsplit": hsplit, "vsplit": vsplit, "dsplit": dsplit, "split_with_sizes": split_with_sizes,
    "unfold": unfold, "sum_to_size": sum_to_size, "diagflat": diagflat,
    "is_same_size": lambda self, other: tuple(self.shape) == tuple(other.shape),
    "tril_": lambda self, diagonal=0: self._apply_inplace("tril_", tril, diagonal),
    "triu_": lambda self, diagonal=0: self._apply_inplace("triu_", triu, diagonal),
}


def _restride_inplace(name, fn):
    """The in-place form of a view op (t_, squeeze_, unsqueeze_, transpose_, ...): the tensor
    itself becomes the view. As in PyTorch it counts as an in-place op: refused on a leaf that
    requires grad, and it bumps the version, so a backward that saved the old shape raises."""
    def method(self, *args, **kwargs):
        self._check_inplace(name)
        result = fn(self, *args, **kwargs)
        self._array = result._array
        if result.grad_fn is not None:
            self.grad_fn, self._output_nr = result.grad_fn, result._output_nr
        self._vc[0] += 1
        return self
    method.__name__ = name
    method.__doc__ = f"In-place version of {fn.__name__}: this tensor becomes the view."
    return method


METHODS.update({name + "_": _restride_inplace(name + "_", fn) for name, fn in [
    ("t", t), ("squeeze", squeeze), ("unsqueeze", unsqueeze), ("transpose", transpose),
    ("swapaxes", transpose), ("swapdims", transpose)]})
