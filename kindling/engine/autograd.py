"""Reverse-mode differentiation: walk the recorded graph from the outputs back to the leaves.

The walk is iterative (no recursion, so a 10,000-step unrolled RNN is fine) and in topological
order: a node runs once every node that feeds gradient into it has run. Gradients are summed per
node output, un-broadcast to each input's shape here and nowhere else, and each node's saved
values are released as soon as it has run (unless `retain_graph`).
"""
import numpy as np

from . import grad_mode
from .function import Node, _Anomaly, _raise_freed
from .tensor import Tensor, _make
from .broadcast import sum_to
from .cast import cast
from .dtypes import from_numpy_dtype

_State = grad_mode._State


def _topological_order(roots):
    """Nodes reachable from `roots`, each after all nodes that send it gradient."""
    dependencies = {}
    stack = list(roots)
    seen = set(roots)
    while stack:
        node = stack.pop()
        for edge in node.edges:
            if edge is None:
                continue
            target = edge[0]
            if isinstance(target, Node):
                dependencies[target] = dependencies.get(target, 0) + 1
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
    order = []
    ready = [n for n in roots if dependencies.get(n, 0) == 0]
    while ready:
        node = ready.pop()
        order.append(node)
        for edge in node.edges:
            if edge is not None and isinstance(edge[0], Node):
                target = edge[0]
                dependencies[target] -= 1
                if dependencies[target] == 0:
                    ready.append(target)
    return order


def _accumulate(buffer, key, index, grad, n):
    slots = buffer.get(key)
    if slots is None:
        slots = buffer[key] = [None] * n
    slots[index] = grad if slots[index] is None else slots[index] + grad


def run_backward(outputs, grad_outputs, retain_graph, create_graph, inputs=None):
    """Backpropagate; with `inputs` given, return their gradients instead of touching `.grad`."""
    previous = _State.enabled
    _State.enabled = create_graph
    try:
        return _run(outputs, grad_outputs, retain_graph, create_graph, inputs)
    finally:
        _State.enabled = previous


def _run(outputs, grad_outputs, retain_graph, create_graph, inputs):
    node_grads = {}    # node -> [grad per output]
    leaf_grads = {}    # id(leaf) -> [grad], used when `inputs` is given
    roots = []
    for out, g in zip(outputs, grad_outputs):
        if out.grad_fn is None:
            if inputs is not None:
                _accumulate(leaf_grads, id(out), 0, g, 1)
            else:
                _accumulate_leaf(out, g, create_graph)
            continue
        if out.grad_fn not in node_grads:
            roots.append(out.grad_fn)
        _accumulate(node_grads, out.grad_fn, out._output_nr, g, out.grad_fn.n_outputs)

    wanted = None
    if inputs is not None:
        wanted = {}
        for i, t in enumerate(inputs):
            key = (t.grad_fn, t._output_nr) if t.grad_fn is not None else None
            if key is not None:
                wanted[key] = i
    captured = {}

    for node in _topological_order(roots):
        grads = node_grads.pop(node, None)
        if grads is None:
            continue
        if node.freed:
            _raise_freed()
        if node.pre_hooks or node.retained or wanted:
            _visit_output_grads(node, grads, wanted, captured)
        if node.n_outputs > 1:  # outputs that got no gradient contribute zeros, as in PyTorch
            for i, g in enumerate(grads):
                if g is None:
                    grads[i] = _zeros_like_output(node, i)
        if _Anomaly.enabled:
            input_grads = _anomaly_backward(node, grads)
        else:
            input_grads = node.op.backward(node, *grads)
            if type(input_grads) is not tuple:
                input_grads = (input_grads,)
        if not retain_graph:
            node.release()
        for edge, meta, g in zip(node.edges, node.input_meta, input_grads):
            if edge is None or g is None:
                continue
            if not isinstance(g, Tensor):
                g = _make(np.asarray(g))
            shape, dtype = meta
            if g._array.shape != shape:
                g = sum_to(g, shape, node)
            if g._array.dtype != dtype:
                g = cast(g, from_numpy_dtype(dtype))
            target, index = edge
            if isinstance(target, Node):
                slots = node_grads.get(target)
                if slots is None:
                    slots = node_grads[target] = [None] * target.n_outputs
                slots[index] = g if slots[index] is None else slots[index] + g
            elif inputs is not None:
                _accumulate(leaf_grads, id(target), 0, g, 1)
            else:
                _accumulate_leaf(target, g, create_graph)

    if inputs is None:
        return None
    result = []
    for i, t in enumerate(inputs):
        if t.grad_fn is None:
            g = leaf_grads.get(id(t))
            g = g[0] if g else None
            if g is not None:
                g = _run_leaf_hooks(t, g)
        else:
            g = captured.get(i)
        result.append(g)
    return result


def _anomaly_backward(node, grads):
    """Run one node's backward in anomaly mode: a NaN gradient is an error (when check_nan), and
    any error is preceded by a warning showing where in forward the node was created."""
    try:
        input_grads = node.op.backward(node, *grads)
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        if _Anomaly.check_nan:
            for i, g in enumerate(input_grads):
                if g is None:
                    continue
                a = g._array if isinstance(g, Tensor) else np.asarray(g)
                if a.dtype.kind == "f" and np.isnan(a).any():
                    raise RuntimeError(f"Function '{node.name()}' returned nan values in its "
                                       f"{i}th output.")
    except Exception:
        _warn_forward_trace(node)
        raise
    return input_grads


def _warn_forward_trace(node):
    import traceback
    import warnings
    stack = node.__dict__.get("_forward_trace")
    if stack is None:
        message = (f"Error detected in {node.name()}. No forward pass information available. "
                   f"Enable detect anomaly during forward pass for more information.")
    else:
        message = (f"Error detected in {node.name()}. Traceback of forward call that caused the "
                   f"error:\n{''.join(traceback.format_list(stack))}")
    warnings.warn(message, UserWarning, stacklevel=2)


def _visit_output_grads(node, grads, wanted, captured):
    """Run tensor hooks, fill retained grads and capture grads asked for by autograd.grad."""
    for i, g in enumerate(grads):
        if g is None:
            continue
        if node.pre_hooks and i in node.pre_hooks:
            for hook in node.pre_hooks[i]:
                result = hook(g)
                if result is not None:
                    g = result
            grads[i] = g
        if node.retained and i in node.retained:
            t = node.retained[i]()
            if t is not None:
                t.grad = g.detach() if t.grad is None else (t.grad + g).detach()
        if wanted and (node, i) in wanted:
            captured[wanted[(node, i)]] = g


def _zeros_like_output(node, index):
    shape, dtype = node.output_meta[index]
    return _make(np.zeros(shape, dtype))


def _run_leaf_hooks(leaf, g):
    hooks = leaf._hooks
    if hooks:
        for hook in hooks:
            result = hook(g)
            if result is not None:
                g = result
    return g


def _accumulate_leaf(leaf, g, create_graph):
    g = _run_leaf_hooks(leaf, g)
    if leaf.grad is None:
        if create_graph:
            leaf.grad = g
        else:
            # Own the memory: the same gradient array may also flow elsewhere in the graph.
            leaf.grad = _make(np.array(g._array, copy=True))
    elif create_graph or leaf.grad._requires_grad:
        leaf.grad = leaf.grad + g
    else:
        leaf.grad._array += g._array
    leaf._post_accumulate()


def _check_roots(outputs, grad_outputs, caller):
    outs, gouts = [], []
    for i, out in enumerate(outputs):
        if not isinstance(out, Tensor):
            raise TypeError(f"{caller}: outputs[{i}] is a {type(out).__name__}, expected a Tensor")
        if not out._requires_grad:
            raise RuntimeError(f"{caller}: element {i} of tensors does not require grad and does "
                               f"not have a grad_fn")
        g = grad_outputs[i] if grad_outputs is not None else None
        if g is None:
            if out._array.size != 1:
                raise RuntimeError(
                    f"{caller}: grad can be implicitly created only for scalar outputs; output "
                    f"{i} has shape {tuple(out.shape)}, so pass `gradient=` (a tensor of that "
                    f"shape)")
            seed = np.empty(out._array.shape, out._array.dtype)
            seed.fill(1)
            g = _make(seed)
        else:
            if not isinstance(g, Tensor):
                g = _make(np.asarray(g, dtype=out._array.dtype))
            if g._array.shape != out._array.shape:
                raise RuntimeError(f"{caller}: mismatch in shape: grad_output[{i}] has a shape of "
                                   f"{tuple(g.shape)} and output[{i}] has a shape of "
                                   f"{tuple(out.shape)}")
        outs.append(out)
        gouts.append(g)
    return outs, gouts


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """torch.autograd.backward: accumulate d(tensors)/d(leaf) into each leaf's `.grad`."""
    if isinstance(tensors, Tensor):
        tensors = (tensors,)
    if isinstance(grad_tensors, Tensor):
        grad_tensors = (grad_tensors,)
    if retain_graph is None:
        retain_graph = create_graph
    outs, gouts = _check_roots(tuple(tensors), grad_tensors, "backward")
    if inputs is not None:
        inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
        grads = run_backward(outs, gouts, retain_graph, create_graph, inputs)
        for t, g in zip(inputs, grads):
            if g is not None:
                t.grad = g if t.grad is None else t.grad + g
        return
    run_backward(outs, gouts, retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """torch.autograd.grad: return d(outputs)/d(inputs) without touching any `.grad`."""
    if is_grads_batched:
        raise NotImplementedError("autograd.grad: is_grads_batched is not supported by kindling")
    single_output = isinstance(outputs, Tensor)
    outputs = (outputs,) if single_output else tuple(outputs)
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    if isinstance(grad_outputs, Tensor):
        grad_outputs = (grad_outputs,)
    if retain_graph is None:
        retain_graph = create_graph
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t._requires_grad:
            raise RuntimeError(f"autograd.grad: input {i} does not require grad")
    outs, gouts = _check_roots(outputs, grad_outputs, "autograd.grad")
    grads = run_backward(outs, gouts, retain_graph, create_graph, inputs)
    for i, g in enumerate(grads):
        if g is None:
            if materialize_grads:
                grads[i] = _make(np.zeros_like(inputs[i]._array))
            elif not allow_unused:
                raise RuntimeError(
                    f"autograd.grad: one of the differentiated Tensors (input {i}, shape "
                    f"{tuple(inputs[i].shape)}) appears to not have been used in the graph. Set "
                    f"allow_unused=True if this is the desired behavior.")
        elif not create_graph and g._requires_grad:
            grads[i] = g.detach()
    return tuple(grads)
