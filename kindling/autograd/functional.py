"""torch.autograd.functional: vjp, jvp, jacobian, hessian, vhp and hvp of a Python function.

Everything is reverse mode on kindling's graph (`autograd.grad`, which supports create_graph):

- `vjp` is one backward pass, `jacobian` one per output element (`vectorize=True` and
  `strategy="forward-mode"` are accepted and give the same values, computed the same way;
  PyTorch's refusals of the combinations it does not support are kept, so code that runs here
  runs there).
- `jvp` is a vjp of a vjp: u -> J^T u is linear in u, so its vjp with cotangent v is J v.
- `vhp` and `hvp` differentiate the gradient once more (H is symmetric for the twice
  differentiable functions these are for, so both are one pass).

Inputs are a Tensor or a tuple of Tensors and results mirror the structure of inputs and
outputs as PyTorch's do. Without create_graph results are detached; with it they stay
differentiable, also with respect to tensors the inputs were computed from. With strict=True an
output that does not depend on an input is an error (PyTorch's messages); otherwise its entries
are zeros.
"""
from ..engine import grad_mode
from ..engine.autograd import grad as _grad
from ..engine.tensor import Tensor

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]

_TWICE = ("While computing the hessian, found that the jacobian of the user-provided function "
          "with respect to input {} is independent of the input. This is not allowed in strict "
          "mode. You should ensure that your function is twice differentiable and that the "
          "jacobian depends on the inputs (this would be violated by a linear function for "
          "example).")


def _kindling():
    import kindling  # fully initialized by the time any function here runs
    return kindling


class _Alias:
    """An identity op recorded in the graph, built on first use: a fresh variable to
    differentiate with respect to whose gradient still flows on to the tensor it aliases
    (`view_as` of a same-shape tensor returns the tensor itself)."""
    op = None


def _alias(t):
    if _Alias.op is None:
        from ..engine.function import Function

        class Alias(Function):
            @staticmethod
            def forward(ctx, x):
                return x  # the engine wraps a returned input as a new view of it

            @staticmethod
            def backward(ctx, g):
                return g
        _Alias.op = Alias
    with grad_mode.enable_grad():
        return _Alias.op.apply(t)


def _tensors(value, what, fn):
    """(value as a tuple of Tensors, whether it was a tuple)."""
    items = value if isinstance(value, tuple) else (value,)
    if not isinstance(value, (tuple, Tensor)):
        raise TypeError(f"The {what} given to {fn} must be either a Tensor or a tuple of Tensors "
                        f"but the given {what} has type {type(value)}.")
    for i, item in enumerate(items):
        if not isinstance(item, Tensor):
            raise TypeError(f"The {what} given to {fn} must be either a Tensor or a tuple of "
                            f"Tensors but the value at index {i} has type {type(item)}.")
    return items, isinstance(value, tuple)


def _shaped(items, was_tuple):
    return items if was_tuple else items[0]


def _variables(inputs, create_graph):
    """What func is called on: aliases keeping the graph to the inputs' own history under
    create_graph, otherwise fresh leaves."""
    return tuple(_alias(x) if create_graph and x.requires_grad else
                 x.detach().requires_grad_(True) for x in inputs)


def _finish(tensors, create_graph):
    return tuple(t if create_graph else t.detach() for t in tensors)


def _call(func, xs, fn, strict):
    outputs, was_tuple = _tensors(func(*xs), "outputs of the user-provided function", fn)
    if strict:
        for i, out in enumerate(outputs):
            if not out.requires_grad:
                raise RuntimeError(f"Output {i} of the user-provided function does not require "
                                   f"gradients. The outputs must be computed in a differentiable "
                                   f"manner from the input when running in strict mode.")
    return outputs, was_tuple


def _cotangents(v, like, fn, what):
    """v checked against the tensors `like` (outputs for vjp, inputs for jvp/vhp/hvp)."""
    if v is None:
        if len(like) != 1 or like[0].numel() != 1:
            raise RuntimeError(f"The vector v can only be None if the {what} returns a single "
                               f"Tensor with a single element." if what.startswith("user") else
                               f"The vector v can only be None if the {what} is a single Tensor "
                               f"with a single element.")
        return (_kindling().ones_like(like[0]),)
    v, _ = _tensors(v, "v", fn)
    if len(v) != len(like):
        raise RuntimeError(f"v is a tuple of invalid length: should be {len(like)} but got "
                           f"{len(v)}.")
    for i, (a, b) in enumerate(zip(v, like)):
        if a.shape != b.shape:
            raise RuntimeError(f"Entry {i} in v has invalid size: should be {b.shape} but got "
                               f"{a.shape}.")
    return v


def _backward(outputs, xs, cotangents, create_graph):
    """d(sum <outputs, cotangents>)/d xs, None where an input is unreached."""
    pairs = [(o, c) for o, c in zip(outputs, cotangents) if o.requires_grad]
    if not pairs:
        return (None,) * len(xs)
    return _grad([o for o, _ in pairs], xs, [c for _, c in pairs], retain_graph=True,
                 create_graph=create_graph, allow_unused=True)


def _zeros_for_none(grads, xs, strict, message):
    k = _kindling()
    out = []
    for i, (g, x) in enumerate(zip(grads, xs)):
        if g is None:
            if strict:
                raise RuntimeError(message.format(i))
            g = k.zeros_like(x)
        out.append(g)
    return tuple(out)


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J): the vector-Jacobian product, v shaped like the outputs."""
    inputs, inputs_tuple = _tensors(inputs, "inputs", "vjp")
    with grad_mode.enable_grad():
        xs = _variables(inputs, create_graph)
        outputs, outputs_tuple = _call(func, xs, "vjp", strict)
        v = _cotangents(v, outputs, "vjp", "user-provided function")
        grads = _backward(outputs, xs, v, create_graph)
        grads = _zeros_for_none(grads, xs, strict, "The output of the user-provided function is "
                                "independent of input {}. This is not allowed in strict mode.")
    return (_shaped(_finish(outputs, create_graph), outputs_tuple),
            _shaped(_finish(grads, create_graph), inputs_tuple))


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v): the Jacobian-vector product, v shaped like the inputs; by the double
    vjp trick (see the module docstring)."""
    inputs, inputs_tuple = _tensors(inputs, "inputs", "jvp")
    v = _cotangents(v, inputs, "jvp", "input to the user-provided function")
    k = _kindling()
    with grad_mode.enable_grad():
        xs = _variables(inputs, create_graph)
        outputs, outputs_tuple = _call(func, xs, "jvp", strict)
        dummies = tuple(k.zeros_like(o).requires_grad_(True) for o in outputs)
        pulled = _backward(outputs, xs, dummies, True)     # J^T u, linear in u
        kept = [(p, x_v) for p, x_v in zip(pulled, v) if p is not None and p.requires_grad]
        if kept:
            pushed = _grad([p for p, _ in kept], dummies, [x_v for _, x_v in kept],
                           retain_graph=True, create_graph=create_graph, allow_unused=True)
        else:
            pushed = (None,) * len(dummies)
        pushed = _zeros_for_none(pushed, outputs, strict, "The gradient with respect to the "
                                 "input is independent of entry {} in the grad_outputs when "
                                 "using the double backward trick to compute forward mode "
                                 "gradients. This is not allowed in strict mode.")
    return (_shaped(_finish(outputs, create_graph), outputs_tuple),
            _shaped(_finish(pushed, create_graph), outputs_tuple))


def _check_strategy(strategy, create_graph, strict, vectorize):
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode". '
                             'Hint: If your function has more outputs than inputs, '
                             '"forward-mode" tends to be more performant. Otherwise, prefer to '
                             'use "reverse-mode".')
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError(
                "torch.autograd.functional.jacobian: `create_graph=True` and "
                '`strategy="forward-mode"` are not supported together (yet). Please either set '
                '`create_graph=False` or `strategy="reverse-mode"`.')
        if not vectorize:
            raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse"
                                      " Hessian isonly implemented for `vectorize=True`.")
    if strict and vectorize:
        raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and "
                           "`vectorized=True` are not supported together. Please either set "
                           "`strict=False` or `vectorize=False`.")


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """d func(inputs) / d inputs: for output i and input j a tensor of shape
    outputs[i].shape + inputs[j].shape, nested as (outputs, inputs) are tuples."""
    _check_strategy(strategy, create_graph, strict, vectorize)
    inputs, inputs_tuple = _tensors(inputs, "inputs", "jacobian")
    k = _kindling()
    with grad_mode.enable_grad():
        xs = _variables(inputs, create_graph)
        outputs, outputs_tuple = _call(func, xs, "jacobian", strict)
        blocks = []
        for i, out in enumerate(outputs):
            flat = out.reshape(-1)
            rows = [[] for _ in xs]
            for e in range(flat.numel()):
                grads = _backward((flat[e],), xs, (k.ones_like(flat[e]),), create_graph)
                for j, (g, x) in enumerate(zip(grads, xs)):
                    if g is None and strict:
                        raise RuntimeError(f"Output {i} of the user-provided function is "
                                           f"independent of input {j}. This is not allowed in "
                                           f"strict mode.")
                    rows[j].append(k.zeros_like(x) if g is None else g)
            blocks.append(tuple(
                (k.stack(r) if r else k.zeros(0, *x.shape, dtype=x.dtype)).reshape(
                    tuple(out.shape) + tuple(x.shape)) for r, x in zip(rows, xs)))
    blocks = [_finish(b, create_graph) for b in blocks]
    nested = tuple(_shaped(b, inputs_tuple) for b in blocks)
    return _shaped(nested, outputs_tuple)


def _scalar_output(func, xs, fn):
    out, was_tuple = _tensors(func(*xs), "outputs of the user-provided function", fn)
    if was_tuple or len(out) != 1:
        raise RuntimeError(f"The function given to {fn} should return a single Tensor")
    if out[0].numel() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {fn} should contain a "
                           f"single element")
    return out[0]


def _gradient(func, xs, fn, strict):
    """The gradient of scalar func at xs, kept differentiable (None -> zeros, or strict error)."""
    out = _scalar_output(func, xs, fn)
    grads = _backward((out,), xs, (_kindling().ones_like(out),), True)
    if strict:
        for i, g in enumerate(grads):
            if g is None or not g.requires_grad:
                raise RuntimeError(_TWICE.format(i))
    return out, _zeros_for_none(grads, xs, False, "")


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a scalar function: the jacobian of its gradient."""
    inputs, inputs_tuple = _tensors(inputs, "inputs", "hessian")

    def gradient(*xs):
        return _shaped(_gradient(func, xs, "hessian", strict)[1], inputs_tuple)
    return jacobian(gradient, _shaped(inputs, inputs_tuple), create_graph, strict, vectorize,
                    outer_jacobian_strategy)


def _second_order(func, inputs, v, create_graph, strict, fn):
    inputs, inputs_tuple = _tensors(inputs, "inputs", fn)
    v = _cotangents(v, inputs, fn, "input to the user-provided function")
    with grad_mode.enable_grad():
        xs = _variables(inputs, create_graph)
        out, grads = _gradient(func, xs, fn, strict)
        product = _backward(grads, xs, v, create_graph)
        product = _zeros_for_none(product, xs, strict, "The hessian of the user-provided "
                                  "function with respect to input {} is independent of the "
                                  "input. This is not allowed in strict mode.")
    return (_finish((out,), create_graph)[0],
            _shaped(_finish(product, create_graph), inputs_tuple))


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H) for a scalar function: the gradient of <grad func, v>."""
    return _second_order(func, inputs, v, create_graph, strict, "vhp")


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v) for a scalar function (H symmetric: the same pass as vhp)."""
    return _second_order(func, inputs, v, create_graph, strict, "hvp")
