"""torch.func: function transforms (grad, vjp, jvp, jacrev, jacfwd, hessian, vmap) and
functional_call.

How kindling does them, honestly stated:

- Every derivative is reverse mode on kindling's autograd graph (`autograd.grad` with
  `create_graph`). `jvp` uses the double-vjp trick (the vjp u -> J^T u is linear in u, so its
  own vjp with cotangent v is J v); `jacfwd` gives the same values as `jacrev` and computes them
  the same way, one backward pass per output element; `hessian` is jacfwd(jacrev(f)).
- Each transform differentiates with respect to fresh aliases of the arguments (identity nodes
  in the graph), so nested transforms (`grad(grad(f))`, `jacrev(jacrev(f))`, `vmap(grad(f))`)
  keep their levels apart as functorch does. A result is left differentiable only when it
  depends on tensors from outside the transform (an outer transform's variables, or tensors
  that require grad); otherwise it comes back detached, as functorch returns it.
- `vmap` is a loop: it runs `func` once per slice along `in_dims` and stacks the results along
  `out_dims`. The results are those of PyTorch's vmap (it is the definition of vmap) but without
  its speed; `chunk_size` is accepted and does not change them. `randomness` follows PyTorch:
  'error' raises if `func` draws from kindling's default generator, 'same' replays the same
  random stream for every slice, 'different' lets each slice draw its own.

Arguments and results may be pytrees (nested tuples, lists, dicts) of tensors, as in torch.func.
"""
import functools

from .engine import grad_mode
from .engine.autograd import grad as _autograd_grad
from .engine.function import Node
from .engine.tensor import Tensor
from .autograd.functional import _alias

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "vmap",
           "functional_call", "stack_module_state"]


# --- pytrees: nested tuples, lists and dicts with anything else as a leaf --------------------

def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _flatten(tree):
    """(leaves, spec): spec rebuilds the structure with _unflatten."""
    if isinstance(tree, (tuple, list)):
        leaves, specs = [], []
        for child in tree:
            sub, spec = _flatten(child)
            leaves += sub
            specs.append(spec)
        return leaves, (type(tree), None, specs)
    if isinstance(tree, dict):
        leaves, specs = [], []
        keys = list(tree)
        for k in keys:
            sub, spec = _flatten(tree[k])
            leaves += sub
            specs.append(spec)
        return leaves, (type(tree), keys, specs)
    return [tree], None


def _unflatten(leaves, spec):
    it = iter(leaves)

    def build(spec):
        if spec is None:
            return next(it)
        kind, keys, specs = spec
        children = [build(s) for s in specs]
        if keys is not None:
            return kind(zip(keys, children))
        if _is_namedtuple_type(kind):
            return kind(*children)
        return kind(children)
    return build(spec)


def _is_namedtuple_type(kind):
    return issubclass(kind, tuple) and hasattr(kind, "_fields")


def _spec_str(spec):
    if spec is None:
        return "*"
    kind, keys, specs = spec
    inner = ", ".join(_spec_str(s) if keys is None else f"{k!r}: {_spec_str(s)}"
                      for k, s in zip(keys or [None] * len(specs), specs))
    return f"{kind.__name__}({inner})"


def _same_structure(a, b):
    if a is None or b is None:
        return a is None and b is None
    return (a[0] is b[0] and a[1] == b[1] and len(a[2]) == len(b[2])
            and all(_same_structure(x, y) for x, y in zip(a[2], b[2])))


# --- levels: differentiate with respect to fresh aliases of the arguments ---------------------

def _kindling():
    import kindling
    return kindling


def _fresh(t, name):
    """A new variable for one differentiated tensor: an alias (gradient flows on to `t`) when it
    already requires grad, else a detached copy that requires grad."""
    if not isinstance(t, Tensor):
        raise RuntimeError(f"{name}: expected every differentiated argument to be a Tensor (or a "
                           f"pytree of Tensors), got {type(t).__name__}")
    if not t.is_floating_point():
        raise RuntimeError(f"{name}: only Tensors of floating point dtype can require gradients; "
                           f"got a {t.dtype} tensor of shape {tuple(t.shape)}")
    return _alias(t) if t.requires_grad else t.detach().requires_grad_(True)


def _reaches_outer(tensors, own):
    """Whether the graph of `tensors` reaches a leaf that requires grad other than `own` (the ids
    of this level's variables): only then must the results stay differentiable."""
    stack, seen = [], set()
    for t in tensors:
        if not isinstance(t, Tensor) or not t.requires_grad:
            continue
        if t.grad_fn is None:
            if id(t) not in own:
                return True
        elif t.grad_fn not in seen:
            seen.add(t.grad_fn)
            stack.append(t.grad_fn)
    while stack:
        node = stack.pop()
        for edge in node.edges:
            if edge is None:
                continue
            target = edge[0]
            if isinstance(target, Node):
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
            elif id(target) not in own:
                return True
    return False


def _detach_tree(tree):
    leaves, spec = _flatten(tree)
    return _unflatten([x.detach() if isinstance(x, Tensor) else x for x in leaves], spec)


def _normalize_argnums(argnums, n_args, name):
    is_int = isinstance(argnums, int)
    nums = (argnums,) if is_int else argnums
    if not isinstance(nums, tuple) or not nums or not all(isinstance(a, int) for a in nums):
        raise RuntimeError(f"{name}: argnums must be int or Tuple[int, ...], got: {argnums!r}")
    out = []
    for a in nums:
        if not -n_args <= a < n_args:
            raise RuntimeError(f"Got argnum={a}, but only {n_args} positional inputs")
        out.append(a % n_args)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{name}: argnums must be unique, got {argnums!r}")
    return is_int, tuple(out)


def _prepare(args, argnums, name):
    """Replace the differentiated arguments with fresh variables.

    Returns (new args, the variables flat, [(spec, count)] per argnum, is_int)."""
    is_int, nums = _normalize_argnums(argnums, len(args), name)
    args = list(args)
    variables, layout = [], []
    for a in nums:
        leaves, spec = _flatten(args[a])
        fresh = [_fresh(t, name) for t in leaves]
        args[a] = _unflatten(fresh, spec)
        variables += fresh
        layout.append((spec, len(fresh)))
    return args, variables, layout, is_int


def _per_argnum(flat, layout, is_int):
    """Regroup one value per variable into the argnums' structure."""
    out, start = [], 0
    for spec, count in layout:
        out.append(_unflatten(flat[start:start + count], spec))
        start += count
    return out[0] if is_int else tuple(out)


def _split_aux(output, has_aux, name):
    if not has_aux:
        return output, None
    if not (isinstance(output, tuple) and len(output) == 2):
        raise RuntimeError(f"{name}: output of function f should be a tuple: (output, aux) if "
                           f"has_aux is True")
    return output


def _grads(outputs, variables, cotangents, create_graph):
    """d(outputs)/d(variables) with the given cotangents; zeros for what the outputs do not
    depend on."""
    k = _kindling()
    pairs = [(o, c) for o, c in zip(outputs, cotangents) if o.requires_grad]
    if pairs:
        grads = _autograd_grad([o for o, _ in pairs], variables, [c for _, c in pairs],
                               retain_graph=True, create_graph=create_graph, allow_unused=True)
    else:
        grads = (None,) * len(variables)
    return [k.zeros_like(v) if g is None else g for g, v in zip(grads, variables)]


# --- grad, grad_and_value, vjp, jvp ---------------------------------------------------------

def grad_and_value(func, argnums=0, has_aux=False):
    """Like `grad`, but the transformed function returns ``(gradient, value)`` (or
    ``(gradient, (value, aux))`` with `has_aux`)."""
    name = "grad_and_value(f)(*args)"

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with grad_mode.enable_grad():
            new_args, variables, layout, is_int = _prepare(args, argnums, name)
            output, aux = _split_aux(func(*new_args, **kwargs), has_aux, name)
            if not isinstance(output, Tensor):
                raise RuntimeError(f"{name}: Expected f(*args) to return a Tensor, got "
                                   f"{type(output)}")
            if output.dim() != 0:
                raise RuntimeError(f"{name}: Expected f(*args) to return a scalar Tensor, got "
                                   f"tensor with {output.dim()} dims. Maybe you wanted to use "
                                   f"the vjp or jacrev APIs instead?")
            own = {id(v) for v in variables}
            outer = _reaches_outer([output], own)
            grads = _grads([output], variables, [None], create_graph=outer)
        value = output if outer else output.detach()
        if has_aux and not _reaches_outer(_flatten(aux)[0], own):
            aux = _detach_tree(aux)
        g = _per_argnum(grads, layout, is_int)
        return (g, (value, aux)) if has_aux else (g, value)
    return wrapper


def grad(func, argnums=0, has_aux=False):
    """torch.func.grad: a function computing the gradient of `func` (which returns a scalar
    tensor) with respect to the argument(s) at `argnums`, shaped like them (pytrees included).
    With `has_aux`, func returns ``(output, aux)`` and the new function ``(gradient, aux)``.

    Example::

        >>> dsin = grad(torch.sin)          # cos
        >>> grad(grad(torch.sin))(x)        # -sin(x)
    """
    inner = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        g, value = inner(*args, **kwargs)
        return (g, value[1]) if has_aux else g
    return wrapper


def vjp(func, *primals, has_aux=False):
    """torch.func.vjp: returns ``(output, vjp_fn)`` (``(output, vjp_fn, aux)`` with `has_aux`);
    ``vjp_fn(cotangents)`` returns a tuple with one gradient per primal. vjp_fn may be called
    several times."""
    name = "vjp(f, *primals)"
    with grad_mode.enable_grad():
        new_primals, variables, layout, _ = _prepare(primals, tuple(range(len(primals))), name) \
            if primals else ([], [], [], False)
        output, aux = _split_aux(func(*new_primals), has_aux, name)
        out_leaves, out_spec = _flatten(output)
        if not out_leaves or not all(isinstance(o, Tensor) for o in out_leaves):
            raise RuntimeError(f"{name}: Expected f to be a function that has non-empty output of "
                               f"Tensors, got {type(output)}")
        own = {id(v) for v in variables}
        outer = _reaches_outer(out_leaves, own)

    def vjp_fn(cotangents, retain_graph=True, create_graph=None):
        ct_leaves, ct_spec = _flatten(cotangents)
        if not _same_structure(ct_spec, out_spec):
            raise RuntimeError(f"Expected pytree structure of cotangents to be the same as pytree "
                               f"structure of outputs to the function. cotangents: "
                               f"{_spec_str(ct_spec)}, primal output: {_spec_str(out_spec)}")
        for i, (c, o) in enumerate(zip(ct_leaves, out_leaves)):
            if not isinstance(c, Tensor):
                raise RuntimeError(f"vjp_fn: cotangent {i} is a {type(c).__name__}, expected a "
                                   f"Tensor of shape {tuple(o.shape)}")
            if tuple(c.shape) != tuple(o.shape):
                raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of "
                                   f"{c.shape} and output[{i}] has a shape of {o.shape}.")
        cg = outer if create_graph is None else create_graph
        with grad_mode.enable_grad():
            grads = _grads(out_leaves, variables, ct_leaves, create_graph=cg)
        return tuple(_per_argnum(grads, layout, False))

    value = output if outer else _detach_tree(output)
    if has_aux:
        if not _reaches_outer(_flatten(aux)[0], own):
            aux = _detach_tree(aux)
        return value, vjp_fn, aux
    return value, vjp_fn


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """torch.func.jvp: returns ``(func(*primals), J @ tangents)`` (plus aux with `has_aux`).

    kindling has no forward-mode AD: the product is computed by the double-vjp trick, with the
    same values."""
    name = "jvp(f, primals, tangents)"
    if strict:
        raise RuntimeError("jvp(f, primals, tangents): strict=True is not implemented (nor is it "
                           "in PyTorch)")
    if not isinstance(primals, tuple):
        raise RuntimeError(f"{name}: Expected primals to be a tuple. E.g. it should be valid to "
                           f"call f(*primals).")
    if not isinstance(tangents, tuple):
        raise RuntimeError(f"{name}: Expected tangents to be a tuple. E.g. it should be valid to "
                           f"call f(*primals).")
    p_leaves, p_spec = _flatten(primals)
    t_leaves, t_spec = _flatten(tangents)
    if not _same_structure(p_spec, t_spec):
        raise RuntimeError(f"{name}: Expected primals and tangents to have the same python "
                           f"structure. For example, if primals is a tuple of 3 tensors, tangents "
                           f"also must be. Got primals with structure {_spec_str(p_spec)} and "
                           f"tangents with structure {_spec_str(t_spec)}")
    for p, t in zip(p_leaves, t_leaves):
        if not isinstance(t, Tensor) or not isinstance(p, Tensor):
            raise RuntimeError(f"{name}: Expected primals and tangents to only contain Tensors, "
                               f"got {type(p).__name__} and {type(t).__name__}")
        if tuple(t.shape) != tuple(p.shape):
            raise RuntimeError(f"Trying to set a forward gradient that has a different size than "
                               f"that of the original Tensor, this is not supported. Tensor is of "
                               f"size {list(p.shape)} while the given forward gradient is of size "
                               f"{list(t.shape)}.")
    k = _kindling()
    with grad_mode.enable_grad():
        new_primals, variables, _, _ = _prepare(primals, tuple(range(len(primals))), name) \
            if primals else ([], [], [], False)
        output, aux = _split_aux(func(*new_primals), has_aux, name)
        out_leaves, out_spec = _flatten(output)
        if not all(isinstance(o, Tensor) for o in out_leaves):
            raise RuntimeError(f"{name}: Expected f(*primals) to return only tensors, got "
                               f"{type(output)}")
        own = {id(v) for v in variables}
        outer = _reaches_outer(out_leaves, own)
        # u -> J^T u, with a graph: linear in u, so its vjp with cotangent v is J v.
        dummies = [k.zeros_like(o, requires_grad=True) for o in out_leaves]
        back = _grads(out_leaves, variables, dummies, create_graph=True)
        result = _grads(back, dummies, t_leaves, create_graph=outer)
    value = output if outer else _detach_tree(output)
    result = _unflatten(result if outer else [r.detach() for r in result], out_spec)
    if has_aux:
        if not _reaches_outer(_flatten(aux)[0], own):
            aux = _detach_tree(aux)
        return value, result, aux
    return value, result


# --- Jacobians and the Hessian -----------------------------------------------------------------

def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None, _preallocate_and_copy=False):
    """torch.func.jacrev: a function returning the Jacobian of `func` with respect to the
    argument(s) at `argnums`, by one backward pass per output element. For an output of shape O
    and an input of shape I, the block has shape O + I; the result has the output's structure,
    each leaf holding the inputs' structure (a tuple when argnums is a tuple). `chunk_size` is
    accepted; it does not change the values."""
    return _jacobian_transform(func, argnums, has_aux, "jacrev(f, argnums)(*args)")


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """torch.func.jacfwd: the same Jacobian as `jacrev` (and the same result structure).

    kindling has no forward-mode AD, so the values are computed in reverse mode; they are the
    ones forward mode gives. `randomness` is accepted for compatibility."""
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness}")
    return _jacobian_transform(func, argnums, has_aux, "jacfwd(f, argnums)(*args)")


def _jacobian_transform(func, argnums, has_aux, name):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        k = _kindling()
        with grad_mode.enable_grad():
            new_args, variables, layout, is_int = _prepare(args, argnums, name)
            output, aux = _split_aux(func(*new_args, **kwargs), has_aux, name)
            out_leaves, out_spec = _flatten(output)
            if not all(isinstance(o, Tensor) for o in out_leaves):
                raise RuntimeError(f"{name}: Expected f to return Tensors (or a pytree of "
                                   f"Tensors), got {type(output)}")
            own = {id(v) for v in variables}
            outer = _reaches_outer(out_leaves, own)
            blocks = []
            for out in out_leaves:
                flat = out.reshape(-1)
                rows = [_grads([flat[j]], variables, [None], create_graph=outer)
                        for j in range(out.nelement())]
                per_var = []
                for i, v in enumerate(variables):
                    shape = tuple(out.shape) + tuple(v.shape)
                    if rows:
                        block = k.stack([r[i] for r in rows], dim=0).reshape(shape)
                    else:
                        block = k.zeros(shape, dtype=v.dtype)
                    per_var.append(block if outer else block.detach())
                blocks.append(_per_argnum(per_var, layout, is_int))
        jac = _unflatten(blocks, out_spec)
        if has_aux:
            if not _reaches_outer(_flatten(aux)[0], own):
                aux = _detach_tree(aux)
            return jac, aux
        return jac
    return wrapper


def hessian(func, argnums=0):
    """torch.func.hessian: ``jacfwd(jacrev(func, argnums), argnums)``; for an input of shape I
    and a scalar output, a tensor of shape I + I."""
    return jacfwd(jacrev(func, argnums), argnums)


# --- vmap ----------------------------------------------------------------------------------------

def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """torch.func.vmap: map `func` over a dimension of its inputs.

    A loop: `func` runs on each slice (``x.select(in_dim, b)`` of every mapped input; inputs
    with in_dim None are passed whole), and each output is stacked along its `out_dims` entry
    (None: not mapped, the first slice's value is returned). `in_dims` is an int, or a tuple
    with one entry per argument (an int, None, or a pytree matching that argument). Nests
    (vmap(vmap(f))) and composes with the other transforms. The results are PyTorch's; the speed
    is a Python loop's."""
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness}")
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")
    fname = getattr(func, "__name__", repr(func))

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        where = f"vmap({fname}, in_dims={in_dims}, ...)(<inputs>)"
        if not args:
            raise ValueError(f"vmap({fname})(<inputs>): got no inputs. Maybe you forgot to add "
                             f"inputs, or you are trying to vmap over a function with no inputs. "
                             f"The latter is unsupported.")
        leaves, spec = _flatten(args)
        dims = _broadcast_dims(in_dims, args, where)
        size = None
        sizes = []
        for leaf, d in zip(leaves, dims):
            if d is None:
                continue
            if not isinstance(leaf, Tensor):
                raise ValueError(f"{where}: Got in_dim={d} for an input but the input is of type "
                                 f"{type(leaf)}. We cannot vmap over non-Tensor arguments, please "
                                 f"use None as the respective in_dim")
            n = leaf.dim()
            if not -n <= d < n:
                raise ValueError(f"{where}: Got in_dim={d} for some input, but that input is a "
                                 f"Tensor of dimensionality {n} so expected in_dim to satisfy "
                                 f"-{n} <= in_dim < {n}.")
            sizes.append(leaf.shape[d])
        if not sizes:
            raise ValueError(f"vmap({fname}, in_dims={in_dims}, ...)(<inputs>): At least one of "
                             f"the inputs must be batched (have a non-None in_dim); got in_dims "
                             f"that map none of them.")
        if len(set(sizes)) != 1:
            raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped "
                             f"dimension, got sizes {sizes} for the mapped dimension")
        size = sizes[0]
        if size == 0:
            raise ValueError(f"{where}: the mapped dimension has size 0; kindling's vmap runs "
                             f"func once per slice, so it cannot infer the output's shape")
        dims = [None if d is None else d % leaf.dim() for leaf, d in zip(leaves, dims)]

        rng = _RandomnessGuard(randomness, fname)
        results = []
        for b in range(size):
            rng.before_slice()
            sliced = [leaf if d is None else leaf.select(d, b) for leaf, d in zip(leaves, dims)]
            results.append(func(*_unflatten(sliced, spec), **kwargs))
            rng.after_slice()
        return _stack_outputs(results, out_dims, fname)
    return wrapper


def _broadcast_dims(in_dims, args, where):
    """One in_dim (int or None) per leaf of `args`."""
    if isinstance(in_dims, int):
        return [in_dims] * len(_flatten(args)[0])
    if not isinstance(in_dims, tuple):
        raise ValueError(f"{where}: expected `in_dims` to be int or a (potentially nested) tuple "
                         f"matching the structure of inputs, got: {type(in_dims)}.")
    if len(in_dims) != len(args):
        raise ValueError(f"{where}: in_dims is not compatible with the structure of `inputs`. "
                         f"in_dims has {len(in_dims)} entries but {len(args)} inputs were given.")
    dims = []
    for arg, d in zip(args, in_dims):
        arg_leaves, arg_spec = _flatten(arg)
        if d is None or isinstance(d, int):
            dims += [d] * len(arg_leaves)
            continue
        d_leaves, d_spec = _flatten(d)
        if not _same_structure(d_spec, arg_spec):
            raise ValueError(f"{where}: in_dims is not compatible with the structure of "
                             f"`inputs`: {_spec_str(d_spec)} vs {_spec_str(arg_spec)}")
        for x in d_leaves:
            if x is not None and not isinstance(x, int):
                raise ValueError(f"{where}: in_dims must be int or None (or a pytree of them), "
                                 f"got {type(x)}")
        dims += d_leaves
    return dims


def _stack_outputs(results, out_dims, fname):
    first_leaves, spec = _flatten(results[0])
    if isinstance(out_dims, int) or out_dims is None:
        dims = [out_dims] * len(first_leaves)
    elif isinstance(out_dims, tuple):
        outputs = results[0] if isinstance(results[0], tuple) else (results[0],)
        if len(out_dims) != len(outputs):
            raise ValueError(f"vmap({fname}, ..., out_dims={out_dims})(<inputs>): out_dims is "
                             f"not compatible with the structure of `outputs`. out_dims has "
                             f"{len(out_dims)} entries but the function returned "
                             f"{len(outputs)} outputs.")
        dims = []
        for out, d in zip(outputs, out_dims):
            n = len(_flatten(out)[0])
            if d is None or isinstance(d, int):
                dims += [d] * n
            else:
                d_leaves = _flatten(d)[0]
                if len(d_leaves) != n:
                    raise ValueError(f"vmap({fname}, ..., out_dims={out_dims})(<inputs>): "
                                     f"out_dims is not compatible with the structure of "
                                     f"`outputs`.")
                dims += d_leaves
    else:
        raise ValueError(f"vmap({fname}, ..., out_dims={out_dims}): expected `out_dims` to be "
                         f"int or a tuple matching the structure of the outputs, got "
                         f"{type(out_dims)}.")
    per_slice = [_flatten(r)[0] for r in results]
    k = _kindling()
    stacked = []
    for i, d in enumerate(dims):
        if d is None:
            stacked.append(first_leaves[i])
            continue
        column = [leaves[i] for leaves in per_slice]
        for x in column:
            if not isinstance(x, Tensor):
                raise ValueError(f"vmap({fname}, ...): `{fname}` must only return Tensors, got "
                                 f"type {type(x)}. Did you mean to set out_dims= to None for "
                                 f"output?")
        n = column[0].dim() + 1
        if not -n <= d < n:
            raise ValueError(f"vmap({fname}, ..., out_dims={out_dims}): Got out_dim={d} for an "
                             f"output of dimensionality {n - 1} (with the mapped dimension, "
                             f"{n}), so expected out_dim to satisfy -{n} <= out_dim < {n}.")
        stacked.append(k.stack(column, dim=d))
    return _unflatten(stacked, spec)


class _RandomnessGuard:
    """vmap's `randomness` over kindling's default generator: 'error' raises when a slice draws,
    'same' replays the stream the first slice saw, 'different' does nothing."""

    def __init__(self, randomness, fname):
        self.mode = randomness
        self.fname = fname
        if randomness != "different":
            from .random import default_generator
            self.bits = default_generator._np.bit_generator
            self.start = self.bits.state

    def before_slice(self):
        if self.mode == "same":
            self.bits.state = self.start

    def after_slice(self):
        if self.mode == "error" and self.bits.state != self.start:
            raise RuntimeError("vmap: called random operation while in randomness error mode. "
                               "Please either use the 'same' or 'different' randomness flags on "
                               "vmap or perform the randomness operation out of vmap")


# --- functional_call and stack_module_state ---------------------------------------------------

def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *,
                    tie_weights=True, strict=False):
    """torch.func.functional_call: call `module` with its parameters and buffers replaced by the
    tensors in `parameter_and_buffer_dicts` (a dict of dotted names, or a sequence of dicts with
    distinct keys). The module's own tensors are put back afterwards, even if the call raises.
    Gradients flow to the tensors passed in, so this is how `grad`/`vmap` see a model as a
    function of its weights."""
    from .nn.utils.stateless import _functional_call
    if isinstance(parameter_and_buffer_dicts, dict):
        parameters_and_buffers = parameter_and_buffer_dicts
    elif isinstance(parameter_and_buffer_dicts, (tuple, list)):
        if not all(isinstance(d, dict) for d in parameter_and_buffer_dicts):
            raise ValueError("Expected all elements of parameter_and_buffer_dicts to be "
                             "dictionaries")
        counts = {}
        for d in parameter_and_buffer_dicts:
            for key in d:
                counts[key] = counts.get(key, 0) + 1
        repeated = [key for key, n in counts.items() if n > 1]
        if repeated:
            raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of "
                             f"functional call is ambiguous")
        parameters_and_buffers = {k: v for d in parameter_and_buffer_dicts for k, v in d.items()}
    else:
        raise ValueError(f"Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of "
                         f"dicts, but got {type(parameter_and_buffer_dicts)}")
    return _functional_call(module, parameters_and_buffers, args, kwargs,
                            tie_weights=tie_weights, strict=strict)


def stack_module_state(models):
    """torch.func.stack_module_state: (params, buffers), each a dict mapping a name to the
    models' tensors stacked along a new first dimension (parameters as new leaves that require
    grad), for `vmap` over an ensemble with `functional_call`."""
    k = _kindling()
    if len(models) == 0:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or all(not m.training for m in models)):
        raise RuntimeError("stack_module_state: Expected all models to have the same "
                           "training/eval mode.")
    if not all(type(m) is type(models[0]) for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")

    def stacked(tensors, name):
        all_rg = all(t.requires_grad for t in tensors)
        if not all_rg and any(t.requires_grad for t in tensors):
            raise RuntimeError(f"Expected {name} from each model to have the same "
                               f".requires_grad")
        result = k.stack(list(tensors))
        return result.detach().requires_grad_() if all_rg else result

    all_params = [dict(m.named_parameters()) for m in models]
    params = {name: stacked([p[name] for p in all_params], name) for name in all_params[0]}
    all_buffers = [dict(m.named_buffers()) for m in models]
    buffers = {name: stacked([b[name] for b in all_buffers], name) for name in all_buffers[0]}
    return params, buffers
