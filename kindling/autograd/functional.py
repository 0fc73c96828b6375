"""torch.autograd.functional: vjp, jvp, jacobian, hessian, vhp, hvp of a Python function.

Everything is built on reverse mode (`autograd.grad`, which supports `create_graph`), as in
PyTorch's own implementation of this module:

- `vjp` is one backward pass; `jacobian` one backward pass per output element.
- `jvp` uses the double-vjp trick: g(u) = vjp(f, x)(u) is linear in u, so the vjp of g with
  cotangent v is J v. `hvp` applies the same trick to the gradient.
- `jacobian(..., strategy="forward-mode")` and `hessian(..., outer_jacobian_strategy=
  "forward-mode")` return the same values computed in reverse mode (kindling has no forward-mode
  AD); `vectorize=True` is accepted and computes the same values with a loop over basis vectors.
  PyTorch's errors for unsupported combinations (forward-mode with `create_graph` or `strict`,
  forward-mode without `vectorize`, `strict` with `vectorize`) are kept, so code that runs here
  runs on PyTorch.

Inputs are a Tensor or a tuple of Tensors; results mirror that structure exactly as PyTorch's do.
With ``strict=True`` an output independent of an input is an error (PyTorch's messages); without
it, such entries are zeros.
"""
import contextlib

from ..engine import grad_mode
from ..engine.autograd import grad as _grad
from ..engine.tensor import Tensor

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


def _kindling():
    import kindling  # the package is fully initialized by the time any function here runs
    return kindling


# --- utilities (the same structure as PyTorch's) -------------------------------------------------

def _as_tuple(inp, arg_name, fn_name):
    """(was it a tuple, the tensors as a tuple), checking every element is a Tensor."""
    is_tuple = isinstance(inp, tuple)
    items = inp if is_tuple else (inp,)
    for i, el in enumerate(items):
        if not isinstance(el, Tensor):
            where = f"the value at index {i}" if is_tuple else f"the given {arg_name}"
            raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a "
                            f"tuple of Tensors but {where} has type {type(el)}.")
    return is_tuple, items


def _tuple_postprocess(res, to_unpack):
    """Undo _as_tuple: `to_unpack` is is_tuple, or (outer is_tuple, inner is_tuple)."""
    if isinstance(to_unpack, tuple):
        if not to_unpack[1]:
            res = tuple(el[0] for el in res)
        if not to_unpack[0]:
            res = res[0]
    elif not to_unpack:
        res = res[0]
    return res


def _grad_preprocess(inputs, create_graph, need_graph):
    """Fresh tensors to differentiate with respect to. With create_graph, an input that requires
    grad is aliased (not detached), so the result stays differentiable w.r.t. the caller's
    tensors."""
    res = []
    for inp in inputs:
        if create_graph and inp.requires_grad:
            res.append(_alias(inp))
        else:
            res.append(inp.detach().requires_grad_(need_graph))
    return tuple(res)


def _grad_postprocess(inputs, create_graph):
    if isinstance(inputs[0], Tensor):
        return inputs if create_graph else tuple(inp.detach() for inp in inputs)
    return tuple(_grad_postprocess(inp, create_graph) for inp in inputs)


def _validate_v(v, other, is_other_tuple):
    if len(other) != len(v):
        if is_other_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(other)} but got "
                               f"{len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for idx, (el_v, el_other) in enumerate(zip(v, other)):
        if el_v.size() != el_other.size():
            prepend = f"Entry {idx} in " if is_other_tuple else ""
            raise RuntimeError(f"{prepend}v has invalid size: should be {el_other.size()} but "
                               f"got {el_v.size()}.")


def _check_requires_grad(inputs, input_type, strict):
    if not strict:
        return
    for i, inp in enumerate(inputs):
        if inp is None:
            raise RuntimeError(f"The output of the user-provided function is independent of "
                               f"input {i}. This is not allowed in strict mode.")
        if inp.requires_grad:
            continue
        if input_type == "hessian":
            raise RuntimeError(
                f"The hessian of the user-provided function with respect to input {i} is "
                f"independent of the input. This is not allowed in strict mode. You should "
                f"ensure that your function is thrice differentiable and that the hessian "
                f"depends on the inputs.")
        if input_type == "jacobian":
            raise RuntimeError(
                f"While computing the hessian, found that the jacobian of the user-provided "
                f"function with respect to input {i} is independent of the input. This is not "
                f"allowed in strict mode. You should ensure that your function is twice "
                f"differentiable and that the jacobian depends on the inputs (this would be "
                f"violated by a linear function for example).")
        if input_type == "grad_inputs":
            raise RuntimeError(
                f"The gradient with respect to input {i} is independent of the inputs of the "
                f"user-provided function. This is not allowed in strict mode.")
        raise RuntimeError(
            f"Output {i} of the user-provided function does not require gradients. The outputs "
            f"must be computed in a differentiable manner from the input when running in strict "
            f"mode.")


def _autograd_grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    """autograd.grad over the outputs that require grad; None for unused inputs (or for all, if
    no output requires grad)."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    new_outputs, new_grad_outputs = [], []
    for out, grad_out in zip(outputs, grad_outputs):
        if out is not None and out.requires_grad:
            new_outputs.append(out)
            new_grad_outputs.append(grad_out)
    if not new_outputs:
        return (None,) * len(inputs)
    return _grad(new_outputs, inputs, new_grad_outputs, allow_unused=True,
                 create_graph=create_graph, retain_graph=retain_graph)


def _fill_in_zeros(grads, refs, strict, create_graph, stage):
    res = []
    for i, grads_i in enumerate(grads):
        if grads_i is None:
            if strict:
                raise RuntimeError({
                    "back": f"The output of the user-provided function is independent of input "
                            f"{i}. This is not allowed in strict mode.",
                    "back_trick": f"The gradient with respect to the input is independent of "
                                  f"entry {i} in the grad_outputs when using the double backward "
                                  f"trick to compute forward mode gradients. This is not allowed "
                                  f"in strict mode.",
                    "double_back": f"The jacobian of the user-provided function is independent "
                                   f"of input {i}. This is not allowed in strict mode.",
                    "double_back_trick": f"The hessian of the user-provided function is "
                                         f"independent of entry {i} in the grad_jacobian. This is "
                                         f"not allowed in strict mode as it prevents from using "
                                         f"the double backward trick to replace forward mode AD.",
                }[stage])
            grads_i = _kindling().zeros_like(refs[i])
        elif strict and create_graph and not grads_i.requires_grad:
            what = "hessian" if "double" in stage else "jacobian"
            raise RuntimeError(f"The {what} of the user-provided function is independent of "
                               f"input {i}. This is not allowed in strict mode when "
                               f"create_graph=True.")
        res.append(grads_i)
    return tuple(res)


class _Alias:
    """Identity op recorded in the graph: a new node to differentiate with respect to, whose
    gradient flows on to the original tensor (Tensor.view_as returns a same-shape tensor itself,
    which would make two differentiation levels share one variable)."""
    _fn = None

    @classmethod
    def get(cls):
        if cls._fn is None:
            from ..engine.function import Function

            class Alias(Function):
                @staticmethod
                def forward(ctx, x):
                    return x  # the engine wraps a returned input as a new view of it

                @staticmethod
                def backward(ctx, g):
                    return g
            cls._fn = Alias
        return cls._fn


def _alias(t):
    with grad_mode.enable_grad():
        return _Alias.get().apply(t)


def _with_grad(create_graph):
    """Grad mode for the final backward pass: on with create_graph, else unchanged."""
    return grad_mode.set_grad_enabled(True if create_graph else grad_mode.is_grad_enabled())


# --- the public functions ------------------------------------------------------------------------

def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """v^T J of `func` at `inputs`: returns ``(func_output, vjp)``; vjp has the inputs' shapes.

    `v` has the outputs' shapes and may be omitted when func returns a single-element tensor."""
    with grad_mode.enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        outputs = func(*inputs)
        is_outputs_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function",
                                              "vjp")
        _check_requires_grad(outputs, "outputs", strict=strict)
        if v is not None:
            _, v = _as_tuple(v, "v", "vjp")
            v = _grad_preprocess(v, create_graph=create_graph, need_graph=False)
            _validate_v(v, outputs, is_outputs_tuple)
        elif len(outputs) != 1 or outputs[0].nelement() != 1:
            raise RuntimeError("The vector v can only be None if the user-provided function "
                               "returns a single Tensor with a single element.")
    with _with_grad(create_graph):
        grad_res = _autograd_grad(outputs, inputs, v, create_graph=create_graph)
        result = _fill_in_zeros(grad_res, inputs, strict, create_graph, "back")
    outputs = _grad_postprocess(outputs, create_graph)
    result = _grad_postprocess(result, create_graph)
    return (_tuple_postprocess(outputs, is_outputs_tuple),
            _tuple_postprocess(result, is_inputs_tuple))


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """J v of `func` at `inputs`: returns ``(func_output, jvp)``; jvp has the outputs' shapes.

    Computed by the double-backward trick (a vjp of a vjp), as PyTorch's autograd.functional.jvp
    does. `v` has the inputs' shapes and may be omitted for a single one-element input."""
    with grad_mode.enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        if v is not None:
            _, v = _as_tuple(v, "v", "jvp")
            v = _grad_preprocess(v, create_graph=create_graph, need_graph=False)
            _validate_v(v, inputs, is_inputs_tuple)
        elif len(inputs) != 1 or inputs[0].nelement() != 1:
            raise RuntimeError("The vector v can only be None if the input to the user-provided "
                               "function is a single Tensor with a single element.")
        outputs = func(*inputs)
        is_outputs_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function",
                                              "jvp")
        _check_requires_grad(outputs, "outputs", strict=strict)
        k = _kindling()
        grad_outputs = tuple(k.zeros_like(out, requires_grad=True) for out in outputs)
        grad_inputs = _autograd_grad(outputs, inputs, grad_outputs, create_graph=True)
        _check_requires_grad(grad_inputs, "grad_inputs", strict=strict)
    with grad_mode.enable_grad() if create_graph else contextlib.nullcontext():
        grad_res = _autograd_grad(grad_inputs, grad_outputs, v, create_graph=create_graph)
        result = _fill_in_zeros(grad_res, outputs, strict, create_graph, "back_trick")
    outputs = _grad_postprocess(outputs, create_graph)
    result = _grad_postprocess(result, create_graph)
    return (_tuple_postprocess(outputs, is_outputs_tuple),
            _tuple_postprocess(result, is_outputs_tuple))


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """The Jacobian of `func` at `inputs`: entry (i, j) has shape
    ``outputs[i].shape + inputs[j].shape``, unpacked as PyTorch does (a Tensor when both the input
    and the output are single Tensors, a tuple when one of them is a tuple, a tuple of tuples when
    both are).

    One backward pass per output element. `vectorize` and ``strategy="forward-mode"`` give the
    same values (kindling computes them in reverse mode too)."""
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode". '
                             'Hint: If your function has more outputs than inputs, "forward-mode" '
                             'tends to be more performant. Otherwise, prefer to use '
                             '"reverse-mode".')
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError(
                'torch.autograd.functional.jacobian: `create_graph=True` and `strategy='
                '"forward-mode"` are not supported together (yet). Please either set '
                '`create_graph=False` or `strategy="reverse-mode"`.')
        if strict:
            raise RuntimeError(
                'torch.autograd.functional.jacobian: `strict=True` and `strategy="forward-mode"` '
                'are not supported together (yet). Please either set `strict=False` or '
                '`strategy="reverse-mode"`.')
        if not vectorize:
            raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse "
                                      "Hessian is only implemented for `vectorize=True`.")
    if vectorize and strict:
        raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and "
                           "`vectorized=True` are not supported together. Please either set "
                           "`strict=False` or `vectorize=False`.")
    k = _kindling()
    with grad_mode.enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        outputs = func(*inputs)
        is_outputs_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function",
                                              "jacobian")
        _check_requires_grad(outputs, "outputs", strict=strict)

        jac = []
        for i, out in enumerate(outputs):
            rows = tuple([] for _ in inputs)
            flat = out.reshape(-1)
            for j in range(out.nelement()):
                vj = _autograd_grad((flat[j],), inputs, retain_graph=True,
                                    create_graph=create_graph)
                for el_idx, (row, vj_el, inp_el) in enumerate(zip(rows, vj, inputs)):
                    if vj_el is not None:
                        if strict and create_graph and not vj_el.requires_grad:
                            raise RuntimeError(
                                f"The jacobian of the user-provided function is independent of "
                                f"input {i}. This is not allowed in strict mode when "
                                f"create_graph=True.")
                        row.append(vj_el)
                    else:
                        if strict:
                            raise RuntimeError(
                                f"Output {i} of the user-provided function is independent of "
                                f"input {el_idx}. This is not allowed in strict mode.")
                        row.append(k.zeros_like(inp_el))
            jac.append(tuple(
                (k.stack(row, dim=0) if row else k.zeros((0,) + tuple(inputs[el_idx].shape),
                                                         dtype=inputs[el_idx].dtype))
                .view(tuple(out.shape) + tuple(inputs[el_idx].shape))
                for el_idx, row in enumerate(rows)))
        jac = _grad_postprocess(tuple(jac), create_graph)
        return _tuple_postprocess(jac, (is_outputs_tuple, is_inputs_tuple))


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a function returning a single-element tensor: entry (i, j) has shape
    ``inputs[i].shape + inputs[j].shape`` (a Tensor for a single input, a tuple of tuples for a
    tuple of inputs). The Jacobian of the gradient, both in reverse mode."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def ensure_single_output_function(*inp):
        out = func(*inp)
        is_out_tuple, t_out = _as_tuple(out, "outputs of the user-provided function", "hessian")
        _check_requires_grad(t_out, "outputs", strict=strict)
        if is_out_tuple or not isinstance(out, Tensor):
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if out.nelement() != 1:
            raise RuntimeError("The Tensor returned by the function given to hessian should "
                               "contain a single element")
        return out.squeeze()

    def jac_func(*inp):
        if outer_jacobian_strategy == "forward-mode":
            inp = tuple(t.requires_grad_(True) for t in inp)
        jac = jacobian(ensure_single_output_function, inp, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict=strict)
        return jac

    res = jacobian(jac_func, inputs, create_graph=create_graph, strict=strict,
                   vectorize=vectorize, strategy=outer_jacobian_strategy)
    return _tuple_postprocess(res, (is_inputs_tuple, is_inputs_tuple))


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """v^T H of a function returning a single-element tensor: returns ``(func_output, vhp)``."""
    with grad_mode.enable_grad():
        is_inputs_tuple, inputs, v, outputs, is_outputs_tuple, jac = _second_order(
            func, inputs, v, create_graph, strict, "vhp")
    with _with_grad(create_graph):
        grad_res = _autograd_grad(jac, inputs, v, create_graph=create_graph)
        result = _fill_in_zeros(grad_res, inputs, strict, create_graph, "double_back")
    outputs = _grad_postprocess(outputs, create_graph)
    result = _grad_postprocess(result, create_graph)
    return (_tuple_postprocess(outputs, is_outputs_tuple),
            _tuple_postprocess(result, is_inputs_tuple))


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """H v of a function returning a single-element tensor: returns ``(func_output, hvp)``.

    By the double-backward trick, as in PyTorch (for the twice-differentiable functions this
    applies to, H is symmetric and hvp equals vhp)."""
    with grad_mode.enable_grad():
        is_inputs_tuple, inputs, v, outputs, is_outputs_tuple, jac = _second_order(
            func, inputs, v, create_graph, strict, "hvp")
        k = _kindling()
        grad_jac = tuple(k.zeros_like(inp, requires_grad=True) for inp in inputs)
        double_back = _autograd_grad(jac, inputs, grad_jac, create_graph=True)
        _check_requires_grad(jac, "hessian", strict=strict)
    with _with_grad(create_graph):
        grad_res = _autograd_grad(double_back, grad_jac, v, create_graph=create_graph)
        result = _fill_in_zeros(grad_res, inputs, strict, create_graph, "double_back_trick")
    outputs = _grad_postprocess(outputs, create_graph)
    result = _grad_postprocess(result, create_graph)
    return (_tuple_postprocess(outputs, is_outputs_tuple),
            _tuple_postprocess(result, is_inputs_tuple))


def _second_order(func, inputs, v, create_graph, strict, name):
    """The common start of vhp and hvp (run with grad enabled): validated inputs and v, the
    single-element output and its gradient with a graph."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", name)
    inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
    if v is not None:
        _, v = _as_tuple(v, "v", name)
        v = _grad_preprocess(v, create_graph=create_graph, need_graph=False)
        _validate_v(v, inputs, is_inputs_tuple)
    elif len(inputs) != 1 or inputs[0].nelement() != 1:
        raise RuntimeError("The vector v can only be None if the input to the user-provided "
                           "function is a single Tensor with a single element.")
    outputs = func(*inputs)
    is_outputs_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function", name)
    _check_requires_grad(outputs, "outputs", strict=strict)
    if is_outputs_tuple or not isinstance(outputs[0], Tensor):
        raise RuntimeError(f"The function given to {name} should return a single Tensor")
    if outputs[0].nelement() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {name} should contain "
                           f"a single element")
    jac = _autograd_grad(outputs, inputs, create_graph=True)
    _check_requires_grad(jac, "jacobian", strict=strict)
    return is_inputs_tuple, inputs, v, outputs, is_outputs_tuple, jac
