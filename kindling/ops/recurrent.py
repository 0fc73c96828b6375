"""Recurrent layers as one fused op per direction and layer: RNN (tanh/relu), LSTM, GRU.

Forward projects the inputs of all time steps with one GEMM, then runs the recurrence with one
GEMM per step. Backward is backpropagation through time written directly in NumPy: one GEMM per
step for the hidden-state gradient, and one GEMM each afterwards for the input and weight
gradients, instead of a graph of thousands of tiny nodes.

Variable-length batches: `lengths` (per sequence) freezes each sequence's state once it ends,
and its outputs there are zeros, as with PyTorch's packed sequences. `reverse` runs each
sequence backwards within its own length (the backward direction of a bidirectional layer).

Gradients of gradients (create_graph=True) are computed by differentiating the same recurrence
written with Tensor ops (`reference_layer`), so higher-order derivatives stay exact.
"""
import numpy as np

from ..engine import grad_mode
from ..engine.function import Op
from ..engine.tensor import Tensor, _make

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free logistic


def _sigmoid_(x):
    """In-place _sigmoid of an array view (no temporaries: it runs once per gate per step)."""
    x *= 0.5
    np.tanh(x, out=x)
    x += 1.0
    x *= 0.5


def _time_order(lengths, steps, reverse):
    """(T, B) time index for each sequence: identity, or reversed within each length."""
    t = np.arange(steps)[:, None]
    if not reverse:
        return None
    if lengths is None:
        return np.broadcast_to(steps - 1 - t, (steps, 1))
    lengths = lengths[None, :]
    return np.where(t < lengths, lengths - 1 - t, t)


def _reorder(a, order):
    """a[order[t, b], b] for a (T, B, ...) array (order is its own inverse)."""
    if order is None:
        return a
    if order.shape[1] == 1:
        return a[order[:, 0]]
    return a[order, np.arange(a.shape[1])[None, :]]


class RecurrentLayer(Op):
    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, mode, lengths, reverse):
        xa = x._array                                  # (T, B, I)
        steps, batch, _ = xa.shape
        order = _time_order(lengths, steps, reverse)
        xa = _reorder(xa, order)
        wih, whh = w_ih._array, w_hh._array
        size = whh.shape[0] // GATES[mode]            # H (cell size)
        xw = (xa.reshape(steps * batch, -1) @ wih.T).reshape(steps, batch, -1)   # one GEMM
        if b_ih is not None:
            xw += b_ih._array
        bhh = None if b_hh is None else b_hh._array
        if bhh is not None and mode != "GRU":
            xw += bhh
        active = None if lengths is None else (np.arange(steps)[:, None] < lengths[None, :])
        h = h0._array
        c = None if c0 is None else c0._array
        out = np.empty((steps, batch, h.shape[1]), dtype=xa.dtype)
        h_prev_all = np.empty((steps,) + h.shape, dtype=xa.dtype)
        if mode == "LSTM":
            acts = np.empty((steps, batch, 4 * size), dtype=xa.dtype)
            c_all = np.empty((steps + 1, batch, size), dtype=xa.dtype)
            tanh_c = np.empty((steps, batch, size), dtype=xa.dtype)
            c_all[0] = c
            whr = None if w_hr is None else w_hr._array
        elif mode == "GRU":
            acts = np.empty((steps, batch, 3 * size), dtype=xa.dtype)
            hw_n = np.empty((steps, batch, size), dtype=xa.dtype)
        for t in range(steps):
            h_prev_all[t] = h
            hw = h @ whh.T                             # one GEMM per step
            if mode == "LSTM":
                a = acts[t]
                np.add(xw[t], hw, out=a)               # gate pre-activations, in place
                _sigmoid_(a[:, :2 * size])
                np.tanh(a[:, 2 * size:3 * size], out=a[:, 2 * size:3 * size])
                _sigmoid_(a[:, 3 * size:])
                i, f, g, o = (a[:, k * size:(k + 1) * size] for k in range(4))
                c_new = f * c
                c_new += i * g
                np.tanh(c_new, out=tanh_c[t])
                h_new = o * tanh_c[t]
                if whr is not None:
                    h_new = h_new @ whr.T
                if active is not None:
                    m = active[t][:, None]
                    c_new = np.where(m, c_new, c)
                    out[t] = np.where(m, h_new, 0)
                    h_new = np.where(m, h_new, h)
                else:
                    out[t] = h_new
                c_all[t + 1] = c = c_new
            elif mode == "GRU":
                # h W_hh^T stays apart from x W_ih^T: the reset gate scales only its n part
                if bhh is not None:
                    hw += bhh
                a = acts[t]
                a[:, :2 * size] = _sigmoid(xw[t, :, :2 * size] + hw[:, :2 * size])
                r, z = a[:, :size], a[:, size:2 * size]
                hw_n[t] = hw[:, 2 * size:]
                a[:, 2 * size:] = np.tanh(xw[t, :, 2 * size:] + r * hw_n[t])
                n = a[:, 2 * size:]
                h_new = (1 - z) * n + z * h
                if active is not None:
                    m = active[t][:, None]
                    out[t] = np.where(m, h_new, 0)
                    h_new = np.where(m, h_new, h)
                else:
                    out[t] = h_new
            else:
                gates = xw[t] + hw
                h_new = np.tanh(gates) if mode == "RNN_TANH" else np.maximum(gates, 0)
                if active is not None:
                    m = active[t][:, None]
                    out[t] = np.where(m, h_new, 0)
                    h_new = np.where(m, h_new, h)
                else:
                    out[t] = h_new
            h = h_new
        ctx.conf = (mode, lengths, order, active)
        ctx.save_for_backward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr)
        ctx.arrays = {"x": xa, "h_prev": h_prev_all, "out": out}
        if mode == "LSTM":
            ctx.arrays.update(acts=acts, c=c_all, tanh_c=tanh_c)
        elif mode == "GRU":
            ctx.arrays.update(acts=acts, hw_n=hw_n)
        outputs = [_reorder(out, order), h]
        if mode == "LSTM":
            outputs.append(c)
        return tuple(outputs)

    @staticmethod
    def backward(ctx, g_out, g_h, g_c=None):
        saved = ctx.saved_tensors
        mode, lengths, order, active = ctx.conf
        if grad_mode.is_grad_enabled():
            return _backward_through_reference(ctx, saved, g_out, g_h, g_c)
        x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr = saved
        A = ctx.arrays
        dout = _reorder(g_out._array, order)
        steps, batch, _ = dout.shape
        whh = w_hh._array
        size = whh.shape[0] // GATES[mode]
        dh = g_h._array.copy()
        dgates = np.empty((steps, batch, whh.shape[0]), dtype=dout.dtype)
        dhw = np.empty_like(dgates) if mode == "GRU" else None
        h_prev = A["h_prev"]
        if mode == "LSTM":
            acts, c_all, tanh_c = A["acts"], A["c"], A["tanh_c"]
            dc = g_c._array.copy()
            whr = None if w_hr is None else w_hr._array
            dwhr = None if whr is None else np.zeros_like(whr)
        for t in range(steps - 1, -1, -1):
            m = None if active is None else active[t][:, None]
            dh_t = dh + (dout[t] if m is None else dout[t] * m)
            if mode == "LSTM":
                a = acts[t]
                i, f, g, o = (a[:, k * size:(k + 1) * size] for k in range(4))
                if whr is not None:
                    h_full = o * tanh_c[t]
                    dwhr += (dh_t if m is None else dh_t * m).T @ h_full
                    dh_full = dh_t @ whr
                else:
                    dh_full = dh_t
                dct = dc + dh_full * o * (1 - tanh_c[t] ** 2)
                dg = dgates[t]
                dg[:, :size] = dct * g * i * (1 - i)
                dg[:, size:2 * size] = dct * c_all[t] * f * (1 - f)
                dg[:, 2 * size:3 * size] = dct * i * (1 - g * g)
                dg[:, 3 * size:] = dh_full * tanh_c[t] * o * (1 - o)
                dc_prev = dct * f
                if m is not None:
                    dg *= m
                    dc_prev = np.where(m, dc_prev, dc)
                dc = dc_prev
                dh_prev = dg @ whh
            elif mode == "GRU":
                a = A["acts"][t]
                r, z, n = a[:, :size], a[:, size:2 * size], a[:, 2 * size:]
                dn = dh_t * (1 - z) * (1 - n * n)
                dz = dh_t * (h_prev[t] - n) * z * (1 - z)
                dr = dn * A["hw_n"][t] * r * (1 - r)
                dg, dgh = dgates[t], dhw[t]
                dg[:, :size] = dr
                dg[:, size:2 * size] = dz
                dg[:, 2 * size:] = dn
                dgh[:, :2 * size] = dg[:, :2 * size]
                dgh[:, 2 * size:] = dn * r
                if m is not None:
                    dg *= m
                    dgh *= m
                dh_prev = dgh @ whh + (dh_t * z if m is None else dh_t * z * m)
            else:
                out_t = A["out"][t]
                dg = dgates[t]
                if mode == "RNN_TANH":
                    dg[:] = dh_t * (1 - out_t * out_t)
                else:
                    dg[:] = dh_t * (out_t > 0)
                if m is not None:
                    dg *= m
                dh_prev = dg @ whh
            if m is not None:
                dh_prev = np.where(m, dh_prev, dh_t)
            dh = dh_prev
        flat = dgates.reshape(steps * batch, -1)
        flat_h = (dhw if mode == "GRU" else dgates).reshape(steps * batch, -1)
        grads = [None] * 11
        if ctx.needs_input_grad[0]:
            dx = (flat @ w_ih._array).reshape(steps, batch, -1)
            grads[0] = _make(_reorder(dx, order))
        if ctx.needs_input_grad[1]:
            grads[1] = _make(dh)
        if mode == "LSTM" and ctx.needs_input_grad[2]:
            grads[2] = _make(dc)
        if ctx.needs_input_grad[3]:
            grads[3] = _make(flat.T @ A["x"].reshape(steps * batch, -1))
        if ctx.needs_input_grad[4]:
            grads[4] = _make(flat_h.T @ h_prev.reshape(steps * batch, -1))
        if ctx.needs_input_grad[5]:
            grads[5] = _make(flat.sum(0))
        if ctx.needs_input_grad[6]:
            grads[6] = _make(flat_h.sum(0))
        if mode == "LSTM" and whr is not None and ctx.needs_input_grad[7]:
            grads[7] = _make(dwhr)
        return tuple(grads)


def _backward_through_reference(ctx, saved, g_out, g_h, g_c):
    """create_graph=True: differentiate the Tensor-op recurrence, keeping the graph."""
    from ..engine.autograd import grad
    mode, lengths, order, active = ctx.conf
    inputs = [t for t in saved if t is not None and t._requires_grad]
    with grad_mode.enable_grad():
        outs = reference_layer(*saved, mode, lengths, order is not None)
    grads_out = [g_out, g_h] + ([g_c] if mode == "LSTM" else [])
    found = grad(list(outs), inputs, grads_out, create_graph=True, allow_unused=True)
    by_id = {id(t): g for t, g in zip(inputs, found)}
    result = [None if t is None else by_id.get(id(t)) for t in saved]
    return tuple(result) + (None, None, None)


def reference_layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, mode, lengths, reverse):
    """The same recurrence written with Tensor ops (slow; for double backward and tests)."""
    steps = x.shape[0]
    order = _time_order(lengths, steps, reverse)
    x = _reorder_tensor(x, order)
    size = w_hh.shape[0] // GATES[mode]
    h, c = h0, c0
    outs = []
    for t in range(steps):
        xw = x[t].matmul(w_ih.t())
        hw = h.matmul(w_hh.t())
        if b_ih is not None:
            xw = xw + b_ih
        if b_hh is not None:
            hw = hw + b_hh
        if mode == "LSTM":
            gates = xw + hw
            i = gates[:, :size].sigmoid()
            f = gates[:, size:2 * size].sigmoid()
            g = gates[:, 2 * size:3 * size].tanh()
            o = gates[:, 3 * size:].sigmoid()
            c_new = f * c + i * g
            h_new = o * c_new.tanh()
            if w_hr is not None:
                h_new = h_new.matmul(w_hr.t())
        elif mode == "GRU":
            r = (xw[:, :size] + hw[:, :size]).sigmoid()
            z = (xw[:, size:2 * size] + hw[:, size:2 * size]).sigmoid()
            n = (xw[:, 2 * size:] + r * hw[:, 2 * size:]).tanh()
            h_new = (1 - z) * n + z * h
        else:
            pre = xw + hw
            h_new = pre.tanh() if mode == "RNN_TANH" else pre.relu()
        if lengths is not None:
            m = _make((t < lengths)[:, None])
            zero = h_new * 0
            outs.append(_where(m, h_new, zero))
            h_new = _where(m, h_new, h)
            if mode == "LSTM":
                c_new = _where(m, c_new, c)
        else:
            outs.append(h_new)
        h = h_new
        if mode == "LSTM":
            c = c_new
    from .shape import stack
    out = _reorder_tensor(stack(outs, 0), order)
    return (out, h, c) if mode == "LSTM" else (out, h)


def _reorder_tensor(x, order):
    if order is None:
        return x
    if order.shape[1] == 1:
        return x[_make(np.ascontiguousarray(order[:, 0]))]
    return x[_make(order), _make(np.arange(x.shape[1])[None, :])]


def _where(mask, a, b):
    from .elementwise import where
    return where(mask, a, b)


def recurrent_layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr=None, mode="LSTM", lengths=None,
                    reverse=False):
    """Run one direction of one recurrent layer over a time-major (T, B, I) batch.

    Returns (output (T, B, H_out), h_n (B, H_out)) and, for LSTM, c_n (B, H)."""
    if mode not in GATES:
        raise ValueError(f"recurrent_layer: unknown mode {mode!r}; expected one of {list(GATES)}")
    if lengths is not None:
        lengths = np.asarray(lengths, dtype=np.int64)
    return RecurrentLayer.apply(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, mode, lengths,
                                reverse)


FUNCTIONS = []
METHODS = {}
