"""Turning a list of samples into a batch: `default_collate` and `default_convert`, as PyTorch's.

`default_collate(batch)` works on the type of the first sample and recurses:

    ========================  ==========================================================
    sample                    batch
    ========================  ==========================================================
    Tensor                    the tensors stacked along a new first dimension
    NumPy array               converted to tensors, then stacked
    NumPy scalar              a 1-d tensor of its dtype
    float / int / bool        a 1-d float64 / int64 / bool tensor
    str / bytes               the list of samples, unchanged
    Mapping                   the same mapping type, each key collated
    namedtuple                the same namedtuple type, each field collated
    tuple                     a *list* with each position collated (PyTorch's quirk)
    other Sequence            the same sequence type, each position collated
    ========================  ==========================================================

`default_convert(data)` (used when a DataLoader has `batch_size=None`) only turns NumPy arrays
and scalars into tensors, recursing into mappings and sequences like `default_collate`.
"""
import collections.abc
import copy
import re

import numpy as np

from ...engine.tensor import Tensor, _make
from ...engine import dtypes

_STR_OR_OBJECT = re.compile(r"[SaUO]")

default_collate_err_msg_format = ("default_collate: batch must contain tensors, numpy arrays, "
                                  "numbers, dicts or lists; found {}")


def _shape_str(shape):
    return "[" + ", ".join(str(s) for s in shape) + "]"


def collate_tensor_fn(batch, *, collate_fn_map=None):
    shape = batch[0]._array.shape
    for i, t in enumerate(batch):
        if t._array.shape != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{_shape_str(shape)} at entry 0 and "
                               f"{_shape_str(t._array.shape)} at entry {i}")
    from ...engine.grad_mode import is_grad_enabled
    if is_grad_enabled() and any(t._requires_grad for t in batch):
        from ... import stack  # keep the graph: samples that require grad
        return stack(batch, 0)
    return _make(np.stack([t._array for t in batch]))


def collate_numpy_array_fn(batch, *, collate_fn_map=None):
    elem = batch[0]
    if _STR_OR_OBJECT.search(elem.dtype.str) is not None:
        raise TypeError(default_collate_err_msg_format.format(elem.dtype))
    return collate([_as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch, *, collate_fn_map=None):
    if isinstance(batch[0], np.object_) or batch[0].dtype.kind in "OSUV":
        raise TypeError(default_collate_err_msg_format.format(batch[0].dtype))
    return _as_tensor(np.array(batch))


def collate_float_fn(batch, *, collate_fn_map=None):
    return _make(np.array(batch, dtype=np.float64))


def collate_int_fn(batch, *, collate_fn_map=None):
    from ...creation import tensor
    return tensor(batch)  # int64, or bool when the samples are bools


def collate_str_fn(batch, *, collate_fn_map=None):
    return batch


default_collate_fn_map = {
    Tensor: collate_tensor_fn,
    np.ndarray: collate_numpy_array_fn,
    (np.bool_, np.number, np.object_): collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    str: collate_str_fn,
    bytes: collate_str_fn,
}


def _as_tensor(array):
    """An ndarray (or NumPy scalar) as a tensor, sharing memory when the dtype is supported."""
    array = np.asarray(array)
    dtypes.from_numpy_dtype(array.dtype)  # clear error for unsupported dtypes
    return _make(array)


def collate(batch, *, collate_fn_map=None):
    """The general collate: dispatches on the first sample's type through `collate_fn_map`
    (exact type first, then isinstance in the map's order), then recurses into containers."""
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        if elem_type in collate_fn_map:
            return collate_fn_map[elem_type](batch, collate_fn_map=collate_fn_map)
        for collate_type, fn in collate_fn_map.items():
            if isinstance(elem, collate_type):
                return fn(batch, collate_fn_map=collate_fn_map)

    if isinstance(elem, collections.abc.Mapping):
        collated = {key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map)
                    for key in elem}
        try:
            if isinstance(elem, collections.abc.MutableMapping):
                clone = copy.copy(elem)
                clone.update(collated)
                return clone
            return elem_type(collated)
        except TypeError:
            return collated  # the mapping type can't be rebuilt this way
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return elem_type(*(collate(s, collate_fn_map=collate_fn_map)
                           for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if not all(len(e) == size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = [collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return transposed  # PyTorch returns a list for tuples (backwards compatibility)
        try:
            if isinstance(elem, collections.abc.MutableSequence):
                clone = copy.copy(elem)
                for i, s in enumerate(transposed):
                    clone[i] = s
                return clone
            return elem_type(transposed)
        except TypeError:
            return transposed
    raise TypeError(default_collate_err_msg_format.format(elem_type))


def default_collate(batch):
    """Collate a list of samples into a batch (see the module docstring for the rules).

    Example::

        >>> default_collate([(1, 2.0), (3, 4.0)])
        [tensor([1, 3]), tensor([2., 4.], dtype=torch.float64)]
    """
    return collate(batch, collate_fn_map=default_collate_fn_map)


def default_convert(data):
    """NumPy arrays and scalars in `data` become tensors; everything else is kept (recursing
    into mappings and sequences). Tuples become lists, as in PyTorch."""
    elem_type = type(data)
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray) or (isinstance(data, np.generic) and
                                        not isinstance(data, (np.str_, np.bytes_))):
        if _STR_OR_OBJECT.search(np.asarray(data).dtype.str) is not None:
            return data
        return _as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        converted = {key: default_convert(data[key]) for key in data}
        try:
            if isinstance(data, collections.abc.MutableMapping):
                clone = copy.copy(data)
                clone.update(converted)
                return clone
            return elem_type(converted)
        except TypeError:
            return converted
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return elem_type(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        converted = [default_convert(d) for d in data]
        try:
            if isinstance(data, collections.abc.MutableSequence):
                clone = copy.copy(data)
                for i, d in enumerate(converted):
                    clone[i] = d
                return clone
            return elem_type(converted)
        except TypeError:
            return converted
    return data
