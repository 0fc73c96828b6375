"""Lazy modules: layers whose input size (in_features, in_channels, num_features) is read from
their first input, as torch.nn's LazyLinear, LazyConv*d and LazyBatchNorm*d.

Until the first forward a lazy module holds `UninitializedParameter`s (and, for the norms,
`UninitializedBuffer`s). A forward pre-hook calls `initialize_parameters(*args)`, which
materializes them from the input's shape and runs the layer's usual `reset_parameters`; the hook
then removes itself and the instance's class becomes `cls_to_become` (LazyLinear -> Linear), so
afterwards the module is exactly the non-lazy layer. `state_dict` shows uninitialized entries as
they are; `load_state_dict` of initialized values into a lazy module materializes it from the
loaded shapes.
"""
import itertools
from collections import OrderedDict

from ...engine.grad_mode import no_grad
from ..parameter import UninitializedParameter, UninitializedBuffer, is_lazy
from ... import creation
from ...engine import dtypes
from .module import Module
from .linear import Linear
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .batchnorm import (_NormBase, _BatchNorm, _InstanceNorm, BatchNorm1d, BatchNorm2d,
                        BatchNorm3d, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d)

__all__ = ["LazyModuleMixin", "LazyLinear", "LazyConv1d", "LazyConv2d", "LazyConv3d",
           "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d", "LazyBatchNorm1d",
           "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyInstanceNorm1d", "LazyInstanceNorm2d",
           "LazyInstanceNorm3d"]


class LazyModuleMixin:
    """Mixin for modules whose parameter shapes come from their first input.

    A subclass creates UninitializedParameters in `__init__` and implements
    `initialize_parameters(*args, **kwargs)`, which materializes them; `cls_to_become` is the
    class the instance turns into once every parameter and buffer is initialized.

    Convert dtype before the first ("dry") run: only shapes are inferred, the dtype is the one
    the uninitialized parameters carry.

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
        self._load_hook = self._register_load_state_dict_pre_hook(self._lazy_load_hook)
        self._initialize_hook = self.register_forward_pre_hook(self._infer_parameters,
                                                               with_kwargs=True)

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        # uninitialized entries are saved as they are (they refuse detach())
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if is_lazy(param) or keep_vars \
                    else param.detach()
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = buf if is_lazy(buf) or keep_vars else buf.detach()
        if type(self).get_extra_state is not Module.get_extra_state:
            destination[prefix + "_extra_state"] = self.get_extra_state()

    def _lazy_load_hook(self, state_dict, prefix, local_metadata, strict, missing_keys,
                        unexpected_keys, error_msgs):
        """load_state_dict pre-hook: an uninitialized slot receiving an initialized value is
        first materialized with the value's shape (the copy then happens as usual)."""
        for name, param in itertools.chain(self._parameters.items(), self._buffers.items()):
            key = prefix + name
            if key in state_dict and param is not None and is_lazy(param):
                value = state_dict[key]
                if not is_lazy(value):
                    with no_grad():
                        param.materialize(tuple(value.shape))

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        # An uninitialized value loaded into a slot that is still uninitialized: PyTorch copies
        # an empty tensor into an empty one (a no-op) without its shape check. Module's loader
        # checks shapes, which an uninitialized tensor refuses to give, so such pairs are taken
        # out of the load here: both stay uninitialized, and the key counts as matched.
        both_lazy = {name for name, t in itertools.chain(self._parameters.items(),
                                                         self._buffers.items())
                     if is_lazy(t) and is_lazy(state_dict.get(prefix + name))}
        if not both_lazy:
            return super()._load_from_state_dict(state_dict, prefix, local_metadata, strict,
                                                 missing_keys, unexpected_keys, error_msgs)
        d = self.__dict__
        params, buffers = d["_parameters"], d["_buffers"]
        d["_parameters"] = OrderedDict((k, v) for k, v in params.items() if k not in both_lazy)
        d["_buffers"] = OrderedDict((k, v) for k, v in buffers.items() if k not in both_lazy)
        local = OrderedDict((k, v) for k, v in state_dict.items()
                            if k[len(prefix):] not in both_lazy or not k.startswith(prefix))
        try:
            super()._load_from_state_dict(local, prefix, local_metadata, strict, missing_keys,
                                          unexpected_keys, error_msgs)
        finally:  # keep what the load assigned (assign=True), in the original order
            for k, v in d["_parameters"].items():
                params[k] = v
            for k, v in d["_buffers"].items():
                buffers[k] = v
            d["_parameters"], d["_buffers"] = params, buffers

    def initialize_parameters(self, *args, **kwargs):
        """Materialize the parameters from the first input's shape (each lazy layer's own)."""
        raise NotImplementedError(
            f"initialize_parameters is not implemented for {self.__class__.__name__}")

    def has_uninitialized_params(self):
        """Whether any parameter or buffer of this module (not its children) is uninitialized."""
        for t in itertools.chain(self._parameters.values(), self._buffers.values()):
            if is_lazy(t):
                return True
        return False

    def _infer_parameters(self, module, args, kwargs=None):
        """The forward pre-hook of the first call: initialize, unhook, become cls_to_become."""
        kwargs = kwargs if kwargs else {}
        module.initialize_parameters(*args, **kwargs)
        if module.has_uninitialized_params():
            raise RuntimeError(f"module {self._get_name()} has not been fully initialized")
        module._initialize_hook.remove()
        module._load_hook.remove()
        delattr(module, "_initialize_hook")
        delattr(module, "_load_hook")
        if module.cls_to_become is not None:
            module.__class__ = module.cls_to_become

    def _replicate_for_data_parallel(self):
        raise RuntimeError("Modules with uninitialized parameters can't be used with "
                           "`DataParallel`. Run a dummy forward pass to correctly initialize "
                           "the modules")


# --- Linear -------------------------------------------------------------------------------------
class LazyLinear(LazyModuleMixin, Linear):
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

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        # bias=False: no tensor is made only to be replaced by an uninitialized one
        super().__init__(0, 0, False)
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_features = out_features
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input):
        if self.has_uninitialized_params():
            with no_grad():
                self.in_features = input.shape[-1]
                self.weight.materialize((self.out_features, self.in_features))
                if self.bias is not None:
                    self.bias.materialize((self.out_features,))
                self.reset_parameters()
        if self.in_features == 0:  # initialized by load_state_dict: take in_features from it
            if input.shape[-1] != self.weight.shape[-1]:
                raise AssertionError(f"The in_features inferred from input: {input.shape[-1]} "
                                     f"is not equal to in_features from self.weight: "
                                     f"{self.weight.shape[-1]}")
            self.in_features = input.shape[-1]


# --- convolutions -------------------------------------------------------------------------------
class _LazyConvXdMixin(LazyModuleMixin):
    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def initialize_parameters(self, input, *args, **kwargs):
        if self.has_uninitialized_params():
            self.in_channels = self._get_in_channels(input)
            if self.in_channels % self.groups != 0:
                raise ValueError(f"{type(self).__name__}: in_channels must be divisible by "
                                 f"groups (in_channels={self.in_channels} inferred from an "
                                 f"input of shape {tuple(input.shape)}, groups={self.groups})")
            if self.transposed:
                shape = (self.in_channels, self.out_channels // self.groups) + self.kernel_size
            else:
                shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
            with no_grad():
                self.weight.materialize(shape)
                if self.bias is not None:
                    self.bias.materialize((self.out_channels,))
                self.reset_parameters()

    def _get_in_channels(self, input):
        n = self._dims + 1  # channels + spatial dims
        if input.dim() not in (n, n + 1):
            raise RuntimeError(f"Expected {n}D (unbatched) or {n + 1}D (batched) input to "
                               f"{self.__class__.__name__}, but got input of size: "
                               f"{input.shape}")
        return input.shape[1] if input.dim() == n + 1 else input.shape[0]


class _LazyConv(_LazyConvXdMixin):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(0, 0, kernel_size, stride, padding, dilation, groups, False,
                         padding_mode, device, dtype)
        _uninitialized_weights(self, out_channels, bias, device, dtype)


class _LazyConvTranspose(_LazyConvXdMixin):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, padding_mode="zeros", device=None,
                 dtype=None):
        super().__init__(0, 0, kernel_size, stride, padding, output_padding, groups, False,
                         dilation, padding_mode, device, dtype)
        _uninitialized_weights(self, out_channels, bias, device, dtype)


def _uninitialized_weights(self, out_channels, bias, device, dtype):
    self.weight = UninitializedParameter(device=device, dtype=dtype)
    self.out_channels = out_channels
    if bias:
        self.bias = UninitializedParameter(device=device, dtype=dtype)


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
class _LazyNormBase(LazyModuleMixin, _NormBase):
    # As in PyTorch, the lazy instance norms default to affine=True and track_running_stats=True
    # (this shared constructor's defaults), unlike InstanceNorm1d/2d.
    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True):
        super().__init__(0, eps, momentum, False, False, device, dtype, bias=False)
        self.affine = affine
        self.track_running_stats = track_running_stats
        if self.affine:
            self.weight = UninitializedParameter(device=device, dtype=dtype)
            if bias:
                self.bias = UninitializedParameter(device=device, dtype=dtype)
        if self.track_running_stats:
            self.running_mean = UninitializedBuffer(device=device, dtype=dtype)
            self.running_var = UninitializedBuffer(device=device, dtype=dtype)
            self.num_batches_tracked = creation.tensor(0, dtype=dtypes.int64)

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input):
        if self.has_uninitialized_params():
            if input.dim() < 2:
                raise ValueError(f"{type(self).__name__}: expected an input with a channel "
                                 f"dimension (N, C, ...), got shape {tuple(input.shape)}")
            self.num_features = input.shape[1]
            with no_grad():
                if self.affine:
                    self.weight.materialize((self.num_features,))
                    if self.bias is not None:
                        self.bias.materialize((self.num_features,))
                if self.track_running_stats:
                    self.running_mean.materialize((self.num_features,))
                    self.running_var.materialize((self.num_features,))
                self.reset_parameters()


class LazyBatchNorm1d(_LazyNormBase, _BatchNorm):
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


class LazyBatchNorm2d(_LazyNormBase, _BatchNorm):
    """A BatchNorm2d whose `num_features` is `input.size(1)` of the first input."""
    cls_to_become = BatchNorm2d
    _check_input_dim = BatchNorm2d._check_input_dim


class LazyBatchNorm3d(_LazyNormBase, _BatchNorm):
    """A BatchNorm3d whose `num_features` is `input.size(1)` of the first input."""
    cls_to_become = BatchNorm3d
    _check_input_dim = BatchNorm3d._check_input_dim


class LazyInstanceNorm1d(_LazyNormBase, _InstanceNorm):
    """An InstanceNorm1d whose `num_features` is `input.size(1)` of the first input."""
    cls_to_become = InstanceNorm1d
    _batched_dims = InstanceNorm1d._batched_dims


class LazyInstanceNorm2d(_LazyNormBase, _InstanceNorm):
    """An InstanceNorm2d whose `num_features` is `input.size(1)` of the first input."""
    cls_to_become = InstanceNorm2d
    _batched_dims = InstanceNorm2d._batched_dims


class LazyInstanceNorm3d(_LazyNormBase, _InstanceNorm):
    """An InstanceNorm3d whose `num_features` is `input.size(1)` of the first input."""
    cls_to_become = InstanceNorm3d
    _batched_dims = InstanceNorm3d._batched_dims
