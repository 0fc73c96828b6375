"""Check analytical gradients against central finite differences, in float64."""
import numpy as np

from .tensor import Tensor, _make
from .autograd import grad as autograd_grad


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def _differentiable_inputs(inputs):
    return [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t._requires_grad]


def _outputs(fn, inputs):
    return [o for o in _as_tuple(fn(*inputs)) if isinstance(o, Tensor) and o.is_floating_point()]


def _flat_outputs(fn, inputs):
    outputs = _outputs(fn, inputs)
    return np.concatenate([o._array.ravel() for o in outputs]) if outputs else np.zeros(0)


def _numerical_jacobian(fn, inputs, index, eps):
    """d(all outputs, flattened)/d(inputs[index]) by central differences: (n_out, n_in)."""
    x = inputs[index]
    flat = x._array.reshape(-1)  # a view when contiguous; we restore every entry after use
    if not np.shares_memory(flat, x._array):
        raise ValueError("gradcheck: inputs must be contiguous")
    columns = []
    # Evaluated with grad enabled: the function may itself differentiate (gradgradcheck).
    for k in range(flat.size):
        original = flat[k]
        flat[k] = original + eps
        plus = _flat_outputs(fn, inputs)
        flat[k] = original - eps
        minus = _flat_outputs(fn, inputs)
        flat[k] = original
        columns.append((plus - minus) / (2 * eps))
    return np.stack(columns, axis=1) if columns else np.zeros((0, 0))


def _analytical_jacobian(fn, inputs, index):
    outputs = _outputs(fn, inputs)
    sizes = [o._array.size for o in outputs]
    n_out, n_in = sum(sizes), inputs[index]._array.size
    jac = np.zeros((n_out, n_in))
    row = 0
    for o, size in zip(outputs, sizes):
        for k in range(size):
            seed = np.zeros(size, dtype=o._array.dtype)
            seed[k] = 1.0
            if not o._requires_grad:
                row += 1
                continue
            g, = autograd_grad(o, inputs[index], grad_outputs=_make(seed.reshape(o._array.shape)),
                               retain_graph=True, allow_unused=True)
            if g is not None:
                jac[row] = g._array.reshape(-1)
            row += 1
    return jac


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              nondet_tol=0.0, check_undefined_grad=True, fast_mode=False, **unused):
    """True when every input's analytical Jacobian matches finite differences."""
    inputs = _as_tuple(inputs)
    for i in _differentiable_inputs(inputs):
        if inputs[i].dtype.name != "float64":
            import warnings
            warnings.warn(f"gradcheck: input {i} is {inputs[i].dtype.name}, not float64; "
                          f"finite differences will be inaccurate", stacklevel=2)
    for i in _differentiable_inputs(inputs):
        numerical = _numerical_jacobian(func, inputs, i, eps)
        analytical = _analytical_jacobian(func, inputs, i)
        if not np.allclose(analytical, numerical, rtol=rtol, atol=atol):
            if raise_exception:
                worst = np.unravel_index(np.argmax(np.abs(analytical - numerical)),
                                         analytical.shape)
                raise GradcheckError(
                    f"gradcheck: Jacobian mismatch for output 0 with respect to input {i} "
                    f"(largest difference at {worst}: analytical {analytical[worst]:.6g}, "
                    f"numerical {numerical[worst]:.6g}).\nnumerical:\n{numerical}\n"
                    f"analytical:\n{analytical}")
            return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True, **unused):
    """gradcheck of the gradient itself: checks second derivatives via create_graph=True."""
    inputs = _as_tuple(inputs)
    diff = _differentiable_inputs(inputs)
    outputs = _outputs(func, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = [_make(rng.standard_normal(o._array.shape).astype(o._array.dtype))
                        .requires_grad_(True) for o in outputs]
    grad_outputs = list(_as_tuple(tuple(grad_outputs)))
    n = len(inputs)

    def first_grads(*args):
        ins, gos = args[:n], args[n:]
        outs = [o for o in _outputs(func, ins) if o._requires_grad]
        grads = autograd_grad(outs, [ins[i] for i in diff], grad_outputs=list(gos),
                              create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_grads, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol,
                     rtol=rtol, raise_exception=raise_exception)


class GradcheckError(RuntimeError):
    pass
