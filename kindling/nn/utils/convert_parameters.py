"""Flatten parameters into one vector and back (as used by second-order and evolutionary
methods)."""
from ...engine.tensor import Tensor, _make

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters):
    """One 1-D tensor: every parameter flattened, concatenated in order (differentiable)."""
    import kindling
    return kindling.cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    """Point each parameter's data at its slice of `vec` (sharing memory, as PyTorch's
    `param.data = ...` does)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    pointer = 0
    for param in parameters:
        n = param.numel()
        param.data = _make(vec._array[pointer:pointer + n].reshape(tuple(param.shape)))
        pointer += n
