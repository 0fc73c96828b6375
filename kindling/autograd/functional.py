"""torch.autograd.functional: vjp, jvp, jacobian, hessian, vhp and hvp of a Python function.

Everything is reverse mode on kindling's graph, one primitive: `_pull(ys, xs, us)`, the
vector-Jacobian product sum_k u_k^T dy_k/dxs computed by `autograd.grad`.

- `vjp` is one pull; `jacobian` one pull per output element, with one-hot cotangents.
  `vectorize=True` and `strategy="forward-mode"` are accepted and give the same values computed
  the same way; PyTorch's refusals of the combinations it does not support are kept, so code
  that runs here runs there.
- `jvp` is a pull of a pull (the double-vjp trick): u -> J^T u is linear in u, so pulling it
  back with cotangent v gives J v.
- `hessian` is the jacobian of the gradient; `vhp` and `hvp` pull the gradient back once more
  (H is symmetric for the twice differentiable functions these are for, so both are one pass).

Inputs are a Tensor or a tuple of Tensors and results mirror the structure of inputs and
outputs as PyTorch's do. Without create_graph results are detached; with it they stay
differentiable, also with respect to tensors the inputs were computed from. With strict=True an
output that does not depend on an input is an error (PyTorch's messages); otherwise its entries
are zeros. One deliberate difference: the jacobian of an empty output is an empty tensor here,
where PyTorch's loop over output elements fails.
"""
import kindling  # this module loads lazily, after kindling is fully initialized

from ..engine.autograd import grad
from ..engine.function import Function
from ..engine.grad_mode import enable_grad
from ..engine.tensor import Tensor

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]

# PyTorch's strict-mode messages, each formatted with the index of the offending tensor.
_NO_GRAD = ("Output {} of the user-provided function does not require gradients. The outputs "
            "must be computed in a differentiable manner from the input when running in strict "
            "mode.")
_UNUSED = ("The output of the user-provided function is independent of input {}. This is not "
           "allowed in strict mode.")
_UNUSED_BY = ("Output {} of the user-provided function is independent of input {}. This is not "
              "allowed in strict mode.")
_NOT_LINEAR = ("The gradient with respect to the input is independent of entry {} in the "
               "grad_outputs when using the double backward trick to compute forward mode "
               "gradients. This is not allowed in strict mode.")
_CONSTANT_GRADIENT = (
    "While computing the hessian, found that the jacobian of the user-provided function with "
    "respect to input {} is independent of the input. This is not allowed in strict mode. You "
    "should ensure that your function is twice differentiable and that the jacobian depends on "
    "the inputs (this would be violated by a linear function for example).")
_CONSTANT_HESSIAN = ("The hessian of the user-provided function with respect to input {} is "
                     "independent of the input. This is not allowed in strict mode.")
_STRATEGIES = ("forward-mode", "reverse-mode")


class _Alias(Function):
    """Identity recorded in the graph: a fresh variable to differentiate with respect to, whose
    gradient still flows on to the tensor it aliases (`view_as` of a same-shape tensor would
    return the tensor itself). kindling.func uses it too."""

    @staticmethod
    def forward(ctx, x):
        return x  # the engine wraps a returned input as a new view of it

    @staticmethod
    def backward(ctx, g):
        return g


def _alias(t):
    with enable_grad():
        return _Alias.apply(t)


# --- structure: a Tensor or a tuple of Tensors in, the same shape of result out -----------------

def _unpack(value, what, fn):
    """`value` as a tuple of Tensors, and whether it was a tuple."""
    if not isinstance(value, (tuple, Tensor)):
        raise TypeError(f"The {what} given to {fn} must be either a Tensor or a tuple of Tensors "
                        f"but the given {what} has type {type(value)}.")
    items = value if isinstance(value, tuple) else (value,)
    for i, item in enumerate(items):
        if not isinstance(item, Tensor):
            raise TypeError(f"The {what} given to {fn} must be either a Tensor or a tuple of "
                            f"Tensors but the value at index {i} has type {type(item)}.")
    return items, isinstance(value, tuple)


def _pack(items, as_tuple):
    return tuple(items) if as_tuple else items[0]


def _result(tensors, as_tuple, create_graph):
    return _pack([t if create_graph else t.detach() for t in tensors], as_tuple)


# --- the steps every function is made of ---------------------------------------------------------

def _variables(inputs, create_graph):
    """What func is called on: under create_graph an alias of an input that requires grad, so
    results stay differentiable through the input's own history; otherwise a fresh leaf."""
    return tuple(_alias(x) if create_graph and x.requires_grad else
                 x.detach().requires_grad_(True) for x in inputs)


def _call(func, xs, fn, strict):
    ys, as_tuple = _unpack(func(*xs), "outputs of the user-provided function", fn)
    if strict:
        for i, y in enumerate(ys):
            if not y.requires_grad:
                raise RuntimeError(_NO_GRAD.format(i))
    return ys, as_tuple


def _call_scalar(func, xs, fn, strict):
    ys, as_tuple = _call(func, xs, fn, strict)
    if as_tuple:
        raise RuntimeError(f"The function given to {fn} should return a single Tensor")
    if ys[0].numel() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {fn} should contain a "
                           f"single element")
    return ys[0]


def _cotangents(v, like, like_tuple, fn, whose):
    """v checked against `like` (the outputs for vjp, the inputs otherwise); None stands for 1
    when `like` is a single element."""
    if v is None:
        if len(like) == 1 and like[0].numel() == 1:
            return (kindling.ones_like(like[0]),)
        raise RuntimeError(f"The vector v can only be None if the {whose} a single Tensor with a "
                           f"single element.")
    v, _ = _unpack(v, "v", fn)
    if not like_tuple and len(v) != 1:
        raise RuntimeError("The given v should contain a single Tensor.")
    if len(v) != len(like):
        raise RuntimeError(f"v is a tuple of invalid length: should be {len(like)} but got "
                           f"{len(v)}.")
    for i, (a, b) in enumerate(zip(v, like)):
        if a.shape != b.shape:
            entry = f"Entry {i} in v" if like_tuple else "v"
            raise RuntimeError(f"{entry} has invalid size: should be {b.shape} but got "
                               f"{a.shape}.")
    return v


def _pull(ys, xs, us, create_graph):
    """sum_k u_k^T dy_k/dxs, one entry per x, None where no y reaches it (ys may hold None)."""
    live = [(y, u) for y, u in zip(ys, us) if y is not None and y.requires_grad]
    if not live:
        return (None,) * len(xs)
    return grad([y for y, _ in live], xs, [u for _, u in live], retain_graph=True,
                create_graph=create_graph, allow_unused=True)


def _zeros_for_none(grads, like, strict_message=None):
    """Missing gradients become zeros, or with a strict message an error naming the index."""
    for i, g in enumerate(grads):
        if g is None and strict_message:
            raise RuntimeError(strict_message.format(i))
    return tuple(kindling.zeros_like(x) if g is None else g for g, x in zip(grads, like))


def _gradient(func, xs, fn, strict, unused_message):
    """(func(xs), its gradient kept differentiable) for a scalar func."""
    y = _call_scalar(func, xs, fn, strict)
    g = _pull((y,), xs, (kindling.ones_like(y),), create_graph=True)
    if strict:
        for i, gi in enumerate(g):
            if gi is None:
                raise RuntimeError(unused_message.format(i))
            if not gi.requires_grad:
                raise RuntimeError(_CONSTANT_GRADIENT.format(i))
    return y, _zeros_for_none(g, xs)


# --- the API ------------------------------------------------------------------------------------

def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J): the vector-Jacobian product, v shaped like the outputs."""
    inputs, inputs_tuple = _unpack(inputs, "inputs", "vjp")
    with enable_grad():
        xs = _variables(inputs, create_graph)
        ys, outputs_tuple = _call(func, xs, "vjp", strict)
        v = _cotangents(v, ys, outputs_tuple, "vjp", "user-provided function returns")
        vj = _zeros_for_none(_pull(ys, xs, v, create_graph), xs, strict and _UNUSED)
    return _result(ys, outputs_tuple, create_graph), _result(vj, inputs_tuple, create_graph)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v): the Jacobian-vector product, v shaped like the inputs, by the
    double-vjp trick."""
    inputs, inputs_tuple = _unpack(inputs, "inputs", "jvp")
    v = _cotangents(v, inputs, inputs_tuple, "jvp", "input to the user-provided function is")
    with enable_grad():
        xs = _variables(inputs, create_graph)
        ys, outputs_tuple = _call(func, xs, "jvp", strict)
        us = tuple(kindling.zeros_like(y).requires_grad_(True) for y in ys)
        jtu = _zeros_for_none(_pull(ys, xs, us, create_graph=True), xs, strict and _UNUSED)
        jv = _zeros_for_none(_pull(jtu, us, v, create_graph), ys, strict and _NOT_LINEAR)
    return _result(ys, outputs_tuple, create_graph), _result(jv, outputs_tuple, create_graph)


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """d func(inputs) / d inputs: for output i and input j a tensor of shape
    outputs[i].shape + inputs[j].shape, nested as (outputs, inputs) are tuples."""
    if strategy not in _STRATEGIES:
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode". '
                             'Hint: If your function has more outputs than inputs, '
                             '"forward-mode" tends to be more performant. Otherwise, prefer to '
                             'use "reverse-mode".')
    forward = strategy == "forward-mode"
    if forward and create_graph:
        raise NotImplementedError(
            "torch.autograd.functional.jacobian: `create_graph=True` and "
            '`strategy="forward-mode"` are not supported together (yet). Please either set '
            '`create_graph=False` or `strategy="reverse-mode"`.')
    if forward and strict:
        raise RuntimeError(
            "torch.autograd.functional.jacobian: `strict=True` and `strategy=\"forward-mode\"` "
            "are not supported together (yet). Please either set `strict=False` or "
            "`strategy=\"reverse-mode\"`.")
    inputs, inputs_tuple = _unpack(inputs, "inputs", "jacobian")
    if forward and not vectorize:
        raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse "
                                  "Hessian isonly implemented for `vectorize=True`.")
    with enable_grad():
        xs = _variables(inputs, create_graph)
        ys, outputs_tuple = _call(func, xs, "jacobian", strict)
        if strict and vectorize:
            raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and "
                               "`vectorized=True` are not supported together. Please either set "
                               "`strict=False` or `vectorize=False`.")
        blocks = [_jacobian_blocks(y, i, xs, create_graph, strict) for i, y in enumerate(ys)]
    rows = [_result(b, inputs_tuple, create_graph) for b in blocks]
    return _pack(rows, outputs_tuple)


def _jacobian_blocks(y, i, xs, create_graph, strict):
    """d y / d x for each x: one pull per element of y, with a one-hot cotangent."""
    columns = [[] for _ in xs]   # columns[j]: one gradient like xs[j] per element of y
    for e in range(y.numel()):
        one_hot = kindling.zeros(y.numel(), dtype=y.dtype)
        one_hot[e] = 1
        grads = _pull((y,), xs, (one_hot.reshape(y.shape),), create_graph)
        for j, g in enumerate(grads):
            if g is None and strict:
                raise RuntimeError(_UNUSED_BY.format(i, j))
            columns[j].append(kindling.zeros_like(xs[j]) if g is None else g)
    return tuple(kindling.stack(c).reshape(y.shape + x.shape) if c else
                 kindling.zeros(y.shape + x.shape, dtype=x.dtype) for c, x in zip(columns, xs))


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a scalar function: the jacobian of its gradient, nested by inputs twice."""
    _, inputs_tuple = _unpack(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in _STRATEGIES:
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def gradient(*xs):
        return _pack(_gradient(func, xs, "hessian", strict, _CONSTANT_GRADIENT)[1], inputs_tuple)
    return jacobian(gradient, inputs, create_graph, strict, vectorize, outer_jacobian_strategy)


def _hessian_product(func, inputs, v, create_graph, strict, fn):
    """(func(inputs), the gradient of <grad func, v>): v^T H, which is H v as H is symmetric."""
    inputs, inputs_tuple = _unpack(inputs, "inputs", fn)
    v = _cotangents(v, inputs, inputs_tuple, fn, "input to the user-provided function is")
    with enable_grad():
        xs = _variables(inputs, create_graph)
        y, g = _gradient(func, xs, fn, strict, _UNUSED)
        product = _zeros_for_none(_pull(g, xs, v, create_graph), xs,
                                  strict and _CONSTANT_HESSIAN)
    return _result((y,), False, create_graph), _result(product, inputs_tuple, create_graph)


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H) for a scalar function, v shaped like the inputs."""
    return _hessian_product(func, inputs, v, create_graph, strict, "vhp")


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v) for a scalar function (H symmetric: the same pass as vhp)."""
    return _hessian_product(func, inputs, v, create_graph, strict, "hvp")
