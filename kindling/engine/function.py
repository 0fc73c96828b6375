"""Graph nodes and the two ways to define an op.

`Op` is for kindling's built-in ops: `forward(ctx, *args)` receives Tensors (and plain Python
arguments), computes on their NumPy arrays and returns a NumPy array (or a tuple of them).
`Function` is PyTorch's `torch.autograd.Function`: forward receives Tensors, runs with grad
disabled and returns Tensors.

In both, `backward(ctx, *grads)` receives Tensors and computes with Tensor ops, so a gradient is
itself differentiable (`create_graph=True`) with no second rule to write. It returns one gradient
(or None) per forward argument, in the shape of the op's *output* broadcast however it likes: the
engine sums it down to each input's shape (see `broadcast.sum_to`), so no rule un-broadcasts.
"""
import numpy as np

from . import grad_mode
from .tensor import Tensor, _make

_State = grad_mode._State


class _Anomaly:
    """torch.autograd's anomaly mode (kindling/autograd/anomaly_mode.py sets it). Read once per
    recorded op and once per backward node, so a plain class attribute like grad_mode._State:
    when off, anomaly mode costs one attribute check."""
    enabled = False
    check_nan = True


class Node:
    """One recorded op. It is also the `ctx` its forward and backward receive, as in PyTorch.

    Structural fields live in slots; whatever forward stores on ctx goes into `__dict__`, which
    the engine clears after backward unless `retain_graph`, so the graph holds no arrays it no
    longer needs."""
    __slots__ = ("op", "edges", "input_meta", "needs_input_grad", "_saved", "_out_array",
                 "_out_vc", "_out_version", "n_outputs", "output_meta", "pre_hooks", "retained", "freed",
                 "__dict__", "__weakref__")

    def __init__(self, op):
        self.op = op
        self._saved = ()
        self._out_array = None
        self.n_outputs = 1
        self.pre_hooks = None
        self.retained = None
        self.freed = False

    def name(self):
        return self.op.__name__ + ("Backward0" if self.op._numpy_forward else "Backward")

    def __repr__(self):
        return f"<{self.name()}>"

    # --- what forward stores, and backward reads -------------------------------------------
    def save_for_backward(self, *tensors):
        """Keep inputs (or outputs) for backward; Python numbers and None may be passed too."""
        self._saved = [(t, t._vc[0]) if isinstance(t, Tensor) else (t, None) for t in tensors]

    @property
    def saved_tensors(self):
        if self.freed:
            _raise_freed()
        out = []
        for t, version in self._saved:
            if version is None:
                # a number, None, or one of this node's outputs (kept by index: no cycle)
                out.append(self._output_tensor(t.index) if type(t) is _OutputRef else t)
            elif t._vc[0] != version:
                _raise_modified(self, t, version)
            else:
                out.append(t)
        return tuple(out)

    @property
    def output(self):
        """The op's (first) output, for ops with `saves_output = True` (exp, sigmoid, tanh...)."""
        return self._output_tensor(0)

    def _output_tensor(self, index):
        if self.freed:
            _raise_freed()
        array = self._out_array[index] if self.n_outputs > 1 else self._out_array
        if self._out_vc[0] != self._out_version:
            raise RuntimeError(
                f"one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: the output {index} of {self.name()} (shape "
                f"{tuple(array.shape)}) is at version {self._out_vc[0]}; expected version "
                f"{self._out_version} instead.")
        # Rebuilt on demand with this node as grad_fn: correct double backward, no cycle.
        return _make(array, grad_fn=self if _State.enabled else None, output_nr=index)

    def mark_non_differentiable(self, *tensors):
        pass  # outputs of Function are differentiable unless they are integer; nothing to track

    def set_materialize_grads(self, value):
        pass  # grads are always materialized as zeros

    def __getattr__(self, name):  # only called when normal lookup fails
        if object.__getattribute__(self, "freed"):
            _raise_freed()
        raise AttributeError(f"{self.name()} has no attribute {name!r}")

    def release(self):
        self.freed = True
        self._saved = ()
        self._out_array = None
        self.__dict__.clear()

    # --- PyTorch's introspection API ---------------------------------------------------------
    @property
    def next_functions(self):
        return tuple((None, 0) if e is None else
                     ((e[0], e[1]) if isinstance(e[0], Node) else (_AccumulateGrad(e[0]), 0))
                     for e in self.edges)

    def register_hook(self, fn):
        raise NotImplementedError("grad_fn.register_hook: use Tensor.register_hook instead")


class _AccumulateGrad:
    """Stand-in shown by `next_functions` for a leaf, as in PyTorch."""

    def __init__(self, variable):
        self.variable = variable

    def name(self):
        return "AccumulateGrad"

    def __repr__(self):
        return "<AccumulateGrad>"


class _OutputRef:
    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index


class _NoNeeds:
    """needs_input_grad outside autograd: False for every input."""
    __slots__ = ()

    def __getitem__(self, index):
        return False

    def __iter__(self):
        return iter(())


class _UnrecordedContext:
    """The ctx of an op run without autograd: whatever forward saves is simply dropped."""
    needs_input_grad = _NoNeeds()

    def save_for_backward(self, *tensors):
        pass

    def mark_non_differentiable(self, *tensors):
        pass

    def set_materialize_grads(self, value):
        pass


def _raise_freed():
    raise RuntimeError(
        "Trying to backward through the graph a second time (or directly access saved tensors "
        "after they have already been freed). Saved intermediate values of the graph are freed "
        "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
        "backward through the graph a second time or if you need to access saved tensors after "
        "calling backward.")


def _raise_modified(node, t, version):
    raise RuntimeError(
        f"one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [{t.dtype.name} tensor of shape {list(t.shape)}], which is an input of "
        f"{node.name()}, is at version {t._vc[0]}; expected version {version} instead.")


class _FunctionMeta(type):
    def __repr__(cls):
        return f"<op {cls.__name__}>"


class Function(metaclass=_FunctionMeta):
    """PyTorch's `torch.autograd.Function`: subclass it with static `forward(ctx, ...)` and
    `backward(ctx, *grad_outputs)`, then call `YourFunction.apply(...)`."""
    _numpy_forward = False
    saves_output = False

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("a Function subclass must define forward(ctx, ...)")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("a Function subclass must define backward(ctx, *grads)")

    @classmethod
    def apply(cls, *args, **kwargs):
        if _State.enabled:
            for a in args:
                if isinstance(a, Tensor) and a._requires_grad:
                    return _apply_recorded(cls, args, kwargs)
        ctx = _UnrecordedContext()
        if cls._numpy_forward:
            out = cls.forward(ctx, *args, **kwargs)
            if type(out) is tuple:
                return tuple(_make(o if type(o) is np.ndarray else np.asarray(o)) for o in out)
            # NumPy returns scalars from 0-d ops; a tensor always holds an ndarray.
            return _make(out if type(out) is np.ndarray else np.asarray(out))
        previous, _State.enabled = _State.enabled, False
        try:
            return cls.forward(ctx, *args, **kwargs)
        finally:
            _State.enabled = previous


class Op(Function):
    """Base of built-in ops: forward computes on NumPy arrays and returns arrays."""
    _numpy_forward = True


def _apply_recorded(cls, args, kwargs):
    ctx = Node(cls)
    if _Anomaly.enabled:
        ctx.__dict__["_forward_trace"] = _forward_trace()
    edges, meta, needs = [], [], []
    for a in args:
        if isinstance(a, Tensor) and a._requires_grad:
            fn = a.grad_fn
            edges.append((fn, a._output_nr) if fn is not None else (a, 0))
            meta.append((a._array.shape, a._array.dtype))
            needs.append(True)
        else:
            edges.append(None)
            meta.append(None)
            needs.append(False)
    ctx.edges = edges
    ctx.input_meta = meta
    ctx.needs_input_grad = tuple(needs)
    if cls._numpy_forward:
        out = cls.forward(ctx, *args, **kwargs)
        if type(out) is tuple:
            out = tuple(o if type(o) is np.ndarray else np.asarray(o) for o in out)
        elif type(out) is not np.ndarray:
            out = np.asarray(out)
    else:
        previous, _State.enabled = _State.enabled, False
        try:
            out = cls.forward(ctx, *args, **kwargs)
        finally:
            _State.enabled = previous
    return _record(cls, ctx, out, args)


def _forward_trace():
    """The stack of the code that called the op, without kindling's own op layers (engine/ and
    ops/ play the part of PyTorch's C++ kernels, which its forward traces do not show either)."""
    import os
    import traceback
    stack = traceback.extract_stack()
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    internal = (os.path.join(package, "engine") + os.sep, os.path.join(package, "ops") + os.sep)
    while stack and stack[-1].filename.startswith(internal):
        stack.pop()
    return stack


def _record(cls, ctx, out, args):
    """Wrap forward's result as tensors whose grad_fn is `ctx`."""
    multiple = type(out) is tuple
    tensors = [_output(o, ctx, i, args) for i, o in enumerate(out)] if multiple \
        else [_output(out, ctx, 0, args)]
    ctx.n_outputs = len(tensors)
    if multiple:  # outputs that get no gradient are given zeros of this shape and dtype
        ctx.output_meta = tuple((t._array.shape, t._array.dtype) for t in tensors)
    if cls.saves_output:
        ctx._out_array = tuple(t._array for t in tensors) if multiple else tensors[0]._array
        ctx._out_vc = tensors[0]._vc
        ctx._out_version = tensors[0]._vc[0]
    if not cls._numpy_forward and ctx._saved:
        # A Function may save its own outputs: keep their index instead (no reference cycle).
        saved = []
        for t, version in ctx._saved:
            index = next((i for i, o in enumerate(tensors) if o is t), None)
            saved.append((t, version) if index is None else (_OutputRef(index), None))
        ctx._saved = saved
        if ctx._out_array is None and any(type(t) is _OutputRef for t, _ in saved):
            ctx._out_array = tuple(t._array for t in tensors) if multiple else tensors[0]._array
            ctx._out_vc = tensors[0]._vc
            ctx._out_version = tensors[0]._vc[0]
    return tuple(tensors) if multiple else tensors[0]


def _output(o, ctx, index, args):
    if type(o) is np.ndarray:
        t = _make(o, grad_fn=ctx, output_nr=index)
    elif isinstance(o, Tensor):  # a Function's forward returned a Tensor: adopt it
        if any(o is a for a in args):  # returned an input unchanged: give a new view of it
            t = _make(o._array, grad_fn=ctx, output_nr=index, vc=o._vc, base=o)
        else:
            t = o
            t.grad_fn, t._output_nr, t._requires_grad = ctx, index, True
    else:
        return o  # non-tensor outputs of a Function pass through
    if t._array.dtype.kind != "f":  # integer outputs (indices) carry no gradient
        t.grad_fn, t._requires_grad = None, False
    return t
