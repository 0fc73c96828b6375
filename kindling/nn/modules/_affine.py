"""The elementwise scale and shift of the normalization layers (BatchNorm, LayerNorm,
GroupNorm): `weight` starts at ones and `bias` at zeros, or either is registered as None."""
from ... import creation
from .. import init
from ..parameter import Parameter


def add_affine(module, enabled, shape, bias=True, device=None, dtype=None):
    """Give `module` parameters `weight` and `bias` of `shape`, uninitialized (the module's
    reset_parameters calls reset_affine); None when not `enabled`, `bias` also when not `bias`."""
    module.register_parameter(
        "weight", Parameter(creation.empty(shape, device=device, dtype=dtype)) if enabled else None)
    module.register_parameter(
        "bias", Parameter(creation.empty(shape, device=device, dtype=dtype))
        if enabled and bias else None)


def reset_affine(module):
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)
