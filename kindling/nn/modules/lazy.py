"""Lazy modules: layers whose input size (in_features, in_channels, num_features) is read from
their first input, as torch.nn's LazyLinear, LazyConv*d, LazyConvTranspose*d, LazyBatchNorm*d
and LazyInstanceNorm*d.

How it works here. A lazy layer is its eager layer built with input size 0, whose size-dependent
tensors are then swapped for `UninitializedParameter`s / `UninitializedBuffer`s of the same dtype.
The mixin intercepts the module's *first call*: it asks the layer for `initialize_parameters(
*args, **kwargs)` (read the size from the input, materialize the tensors, run the eager layer's
own `reset_parameters`), checks nothing is left uninitialized, and changes the instance's class
to `cls_to_become` (LazyLinear -> Linear); from then on the module is exactly the eager layer,
with no hook or flag left behind. `state_dict` keeps uninitialized entries as they are, and
`load_state_dict` materializes an uninitialized slot from the shape of the value it receives.
"""
import itertools
from collections import OrderedDict

from ...engine.grad_mode import no_grad
from ..parameter import Parameter, UninitializedParameter, UninitializedBuffer, is_lazy
from .linear import Linear
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .batchnorm import (_BatchNorm, _InstanceNorm, BatchNorm1d, BatchNorm2d, BatchNorm3d,
                        InstanceNorm1d, InstanceNorm2d, InstanceNorm3d)

__all__ = ["LazyModuleMixin", "LazyLinear", "LazyConv1d", "LazyConv2d", "LazyConv3d",
           "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d", "LazyBatchNorm1d",
           "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyInstanceNorm1d", "LazyInstanceNorm2d",
           "LazyInstanceNorm3d"]

_PENDING = "_awaiting_first_call"  # in a lazy module's __dict__ until its first call succeeds


class LazyModuleMixin:
    """Mixin for modules whose parameter shapes come from their first input.

    A subclass holds UninitializedParameters (or UninitializedBuffers) and implements
    `initialize_parameters(*args, **kwargs)`, which receives the arguments of the first call and
    materializes them. After that call the instance's class becomes `cls_to_become` (if set).

    Convert the dtype before the first ("dry") call: only shapes are inferred, the dtype is the
    one the uninitialized tensors carry.

    Example::

        >>> m = nn.LazyLinear(10)
        >>> m
        LazyLinear(in_features=0, out_features=10, bias=True)
        >>> m(kindling.ones(4, 3)).shape
        torch.Size([4, 10])
        >>> m
        Linear(in_features=3, out_features=10, bias=True)
    """
    cls_to_become = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.__dict__[_PENDING] = True

    def __call__(self, *args, **kwargs):
        # The first call completes the module before any hook or forward sees it (global
        # forward pre-hooks included), with the arguments as the caller passed them.
        if _PENDING in self.__dict__:
            self._complete(args, kwargs)
            return self(*args, **kwargs)  # dispatched through the class it has become
        return super().__call__(*args, **kwargs)

    def _complete(self, args, kwargs):
        with no_grad():
            self.initialize_parameters(*args, **kwargs)
        left = [name for name, t in self._own_tensors() if is_lazy(t)]
        if left:
            raise RuntimeError(f"{self._get_name()}.initialize_parameters() left uninitialized: "
                               f"{', '.join(left)}; the module has not been fully initialized")
        del self.__dict__[_PENDING]  # only on success: a failed first call can be retried
        if self.cls_to_become is not None:
            self.__class__ = self.cls_to_become

    def initialize_parameters(self, *args, **kwargs):
        """Materialize the uninitialized tensors from the first call's arguments."""
        raise NotImplementedError(
            f"initialize_parameters is not implemented for {self.__class__.__name__}")

    def has_uninitialized_params(self):
        """Whether any parameter or buffer of this module (not its children) is uninitialized."""
        return any(is_lazy(t) for _, t in self._own_tensors())

    def _own_tensors(self):
        return itertools.chain(self._parameters.items(), self._buffers.items())

    # --- state_dict -----------------------------------------------------------------------------
    def _save_to_state_dict(self, destination, prefix, keep_vars):
        # Module detaches every entry; an uninitialized tensor refuses detach() and is saved as
        # itself, so collect the entries undetached and detach the others here.
        entries = OrderedDict()
        super()._save_to_state_dict(entries, prefix, True)
        own = dict(self._own_tensors())
        for key, value in entries.items():
            if not keep_vars and key[len(prefix):] in own and not is_lazy(value):
                value = value.detach()
            destination[key] = value

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        # An uninitialized slot takes the shape of the value it receives, then loads it as any
        # slot. An uninitialized value for an uninitialized slot has nothing to copy (both stay
        # uninitialized, as in PyTorch): it is kept out of Module's loader, whose shape check an
        # uninitialized tensor cannot answer, and counted as matched.
        nothing_to_copy = set()
        for name, slot in self._own_tensors():
            key = prefix + name
            if key not in state_dict or not is_lazy(slot):
                continue
            value = state_dict[key]
            if is_lazy(value):
                nothing_to_copy.add(key)
            elif hasattr(value, "shape"):  # a tensor or an array; other values: Module's error
                slot.materialize(tuple(value.shape))
        if nothing_to_copy:
            state_dict = {k: v for k, v in state_dict.items() if k not in nothing_to_copy}
        start = len(missing_keys)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)
        missing_keys[start:] = [k for k in missing_keys[start:] if k not in nothing_to_copy]


class _LazyLayer(LazyModuleMixin):
    """The built-in lazy layers: the eager layer built with input size 0 (no tensor memory, no
    random draws), then every size-dependent tensor made uninitialized. A subclass names the
    size attribute (`_size_name`), reads the size from an input (`_size_of`, which validates the
    input) and gives the shapes of its tensors for a size (`_shapes`)."""
    _size_name = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self._shapes(0):
            tensor = getattr(self, name, None)
            if isinstance(tensor, Parameter):
                setattr(self, name, UninitializedParameter(tensor.requires_grad,
                                                           dtype=tensor.dtype))
            elif tensor is not None:  # a buffer (its persistence is kept by the module)
                setattr(self, name, UninitializedBuffer(dtype=tensor.dtype))

    def _size_of(self, input):
        raise NotImplementedError

    def _shapes(self, size):
        raise NotImplementedError

    def reset_parameters(self):
        # The eager initialization, once the size is known: the eager __init__ calls this with
        # size 0, and a module materialized by load_state_dict keeps the loaded values.
        if getattr(self, self._size_name) != 0:
            super().reset_parameters()

    def initialize_parameters(self, input, *args, **kwargs):
        if not self.has_uninitialized_params():
            return
        size = self._size_of(input)
        setattr(self, self._size_name, size)
        for name, shape in self._shapes(size).items():
            tensor = getattr(self, name, None)
            if is_lazy(tensor):
                tensor.materialize(shape)
        self.reset_parameters()


# --- Linear -------------------------------------------------------------------------------------
class LazyLinear(_LazyLayer, Linear):
    """A Linear whose `in_features` is `input.shape[-1]` of the first input; it then becomes a
    Linear, initialized as one (U(-1/sqrt(in_features), 1/sqrt(in_features))).

    Shape:
        input (*, H_in), output (*, out_features).

    Example::

        >>> m = nn.LazyLinear(30)
        >>> m(kindling.randn(128, 20)).shape
        torch.Size([128, 30])
        >>> type(m).__name__, m.weight.shape
        ('Linear', torch.Size([30, 20]))
    """
    cls_to_become = Linear
    _size_name = "in_features"

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        super().__init__(0, out_features, bias, device, dtype)

    def _size_of(self, input):
        return input.shape[-1]

    def _shapes(self, size):
        return {"weight": (self.out_features, size), "bias": (self.out_features,)}

    def initialize_parameters(self, input):
        if self.in_features == 0 and not self.has_uninitialized_params():
            # materialized by load_state_dict: in_features is the loaded weight's, which the
            # input must fit (PyTorch's behaviour, AssertionError included)
            n = self.weight.shape[-1]
            if input.shape[-1] != n:
                raise AssertionError(f"The in_features inferred from input: {input.shape[-1]} "
                                     f"is not equal to in_features from self.weight: {n}")
            self.in_features = n
        super().initialize_parameters(input)


# --- convolutions -------------------------------------------------------------------------------
class _LazyConvNd(_LazyLayer):
    _size_name = "in_channels"

    def _size_of(self, input):
        n = self._dims + 1  # channels + spatial dims
        if input.dim() not in (n, n + 1):
            raise RuntimeError(f"Expected {n}D (unbatched) or {n + 1}D (batched) input to "
                               f"{type(self).__name__}, but got input of size: {input.shape}")
        channels = input.shape[input.dim() - n]
        if channels % self.groups:
            raise ValueError(f"{type(self).__name__}: in_channels must be divisible by groups "
                             f"(in_channels={channels} inferred from an input of shape "
                             f"{tuple(input.shape)}, groups={self.groups})")
        return channels

    def _shapes(self, size):
        out, g = self.out_channels, self.groups
        io = (size, out // g) if self.transposed else (out, size // g)
        return {"weight": io + self.kernel_size, "bias": (out,)}


class _LazyConv(_LazyConvNd):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(0, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype)


class _LazyConvTranspose(_LazyConvNd):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, padding_mode="zeros", device=None,
                 dtype=None):
        super().__init__(0, out_channels, kernel_size, stride, padding, output_padding, groups,
                         bias, dilation, padding_mode, device, dtype)


class LazyConv1d(_LazyConv, Conv1d):
    """A Conv1d whose `in_channels` is read from the first input (`input.size(1)`, or
    `size(0)` unbatched); it then becomes a Conv1d."""
    cls_to_become = Conv1d


class LazyConv2d(_LazyConv, Conv2d):
    """A Conv2d whose `in_channels` is read from the first input; it then becomes a Conv2d.

    Example::

        >>> conv = nn.LazyConv2d(16, kernel_size=3, padding=1)
        >>> conv(kindling.randn(8, 3, 32, 32)).shape
        torch.Size([8, 16, 32, 32])
        >>> conv.in_channels
        3
    """
    cls_to_become = Conv2d


class LazyConv3d(_LazyConv, Conv3d):
    """A Conv3d whose `in_channels` is read from the first input; it then becomes a Conv3d."""
    cls_to_become = Conv3d


class LazyConvTranspose1d(_LazyConvTranspose, ConvTranspose1d):
    """A ConvTranspose1d whose `in_channels` is read from the first input."""
    cls_to_become = ConvTranspose1d


class LazyConvTranspose2d(_LazyConvTranspose, ConvTranspose2d):
    """A ConvTranspose2d whose `in_channels` is read from the first input."""
    cls_to_become = ConvTranspose2d


class LazyConvTranspose3d(_LazyConvTranspose, ConvTranspose3d):
    """A ConvTranspose3d whose `in_channels` is read from the first input."""
    cls_to_become = ConvTranspose3d


# --- normalization ------------------------------------------------------------------------------
class _LazyNorm(_LazyLayer):
    # As in PyTorch, the lazy instance norms default to affine=True and track_running_stats=True
    # (this shared constructor's defaults), unlike InstanceNorm1d/2d/3d. The lazy norms are not
    # instances of the eager class they become (as in PyTorch), so each borrows its input check.
    _size_name = "num_features"

    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True):
        super().__init__(0, eps, momentum, affine, track_running_stats, device, dtype,
                         bias=bias)

    def _size_of(self, input):
        # The input is checked before anything is materialized, so a wrong input leaves the
        # module lazy. Unbatched instance-norm input (C, *) has its channels first; PyTorch reads
        # size(1) there too, which builds a module that then fails on that same input.
        self._check_input_dim(input)
        unbatched = isinstance(self, _InstanceNorm) and input.dim() == self._batched_dims - 1
        return input.shape[0 if unbatched else 1]

    def _shapes(self, size):
        return dict.fromkeys(("weight", "bias", "running_mean", "running_var"), (size,))


class LazyBatchNorm1d(_LazyNorm, _BatchNorm):
    """A BatchNorm1d whose `num_features` is `input.size(1)` of the first input.

    Example::

        >>> bn = nn.LazyBatchNorm1d()
        >>> bn(kindling.randn(8, 5)).shape
        torch.Size([8, 5])
        >>> bn
        BatchNorm1d(5, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    """
    cls_to_become = BatchNorm1d
    _check_input_dim = BatchNorm1d._check_input_dim


class LazyBatchNorm2d(_LazyNorm, _BatchNorm):
    """A BatchNorm2d whose `num_features` is `input.size(1)` of the first input."""
    cls_to_become = BatchNorm2d
    _check_input_dim = BatchNorm2d._check_input_dim


class LazyBatchNorm3d(_LazyNorm, _BatchNorm):
    """A BatchNorm3d whose `num_features` is `input.size(1)` of the first input."""
    cls_to_become = BatchNorm3d
    _check_input_dim = BatchNorm3d._check_input_dim


class LazyInstanceNorm1d(_LazyNorm, _InstanceNorm):
    """An InstanceNorm1d whose `num_features` is the channel count of the first input
    (`input.size(1)`, or `size(0)` unbatched)."""
    cls_to_become = InstanceNorm1d
    _batched_dims = InstanceNorm1d._batched_dims


class LazyInstanceNorm2d(_LazyNorm, _InstanceNorm):
    """An InstanceNorm2d whose `num_features` is the channel count of the first input."""
    cls_to_become = InstanceNorm2d
    _batched_dims = InstanceNorm2d._batched_dims


class LazyInstanceNorm3d(_LazyNorm, _InstanceNorm):
    """An InstanceNorm3d whose `num_features` is the channel count of the first input."""
    cls_to_become = InstanceNorm3d
    _batched_dims = InstanceNorm3d._batched_dims
