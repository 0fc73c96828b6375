"""Recurrent layers as one fused op per direction and layer: RNN (tanh/relu), LSTM, GRU.

Forward projects the inputs of all time steps with one GEMM, then runs the recurrence with one
GEMM per step. Backward is backpropagation through time written directly in NumPy: one GEMM per
step for the hidden-state gradient, and one GEMM each afterwards for the input and weight
gradients, instead of a graph of thousands of tiny nodes.

On these small (batch, hidden) arrays each NumPy call costs microseconds of dispatch, about as
much as its arithmetic, so the loops keep calls per step few: one transcendental ufunc covers
all gates (an exp for the LSTM's, a tanh for the GRU's r and z; see the scale functions), gate
activations are stored gate by gate (T, G, B, H) so that later operations
run on contiguous blocks, and backward computes every factor that does not depend on the
incoming gradient for all steps at once before the sequential loop.

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
from . import _fastpaths

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
SIGMOID_GATES = {"LSTM": (0, 1, 3), "GRU": (0, 1)}   # i, f, o and r, z; the others use tanh


def _sigmoid_scale(mode, size, dtype):
    """(G*H,) factor for each gate's pre-activation (GRU, RNN): 1/2 for sigmoid gates, else 1.

    sigmoid(x) = tanh(x/2)/2 + 1/2 (overflow-free). Scaling those gates' weights and biases by 1/2
    (exact in binary floating point) lets one tanh cover all gates of a step; `scale * t +
    (1 - scale)` then maps the sigmoid columns back, and leaves the tanh ones as they are."""
    scale = np.ones((GATES[mode], size), dtype=dtype)
    scale[list(SIGMOID_GATES.get(mode, ()))] = 0.5
    return scale.reshape(-1)


def _lstm_exp_scale(size, dtype):
    """(4*H,) factor for the LSTM gates' pre-activations: -1 for i, f, o and -2 for g, so that
    r = 1 / (1 + exp(scaled)) is sigmoid(x) for i, f, o and sigmoid(2x), with tanh(x) =
    2 sigmoid(2x) - 1, for g: one exp per step for all gates (NumPy's float32 exp costs about
    half its tanh; a step measured 3% faster, and the outputs stay within 3e-7 of torch's)."""
    scale = np.full((4, size), -1, dtype=dtype)
    scale[2] = -2
    return scale.reshape(-1)


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
        steps = x.shape[0]
        order = _time_order(lengths, steps, reverse)
        xa = _reorder(x._array, order)                 # (T, B, I)
        batch, dtype = xa.shape[1], xa.dtype
        whh = w_hh._array
        size = whh.shape[0] // GATES[mode]
        scale = _lstm_exp_scale(size, dtype) if mode == "LSTM" else \
            _sigmoid_scale(mode, size, dtype)         # (G*H,)
        bias = np.zeros(whh.shape[0], dtype=dtype)
        if b_ih is not None:
            bias += b_ih._array
        if b_hh is not None:                          # GRU: r scales n's b_hh, added per step
            shared = slice(0, 2 * size) if mode == "GRU" else slice(None)
            bias[shared] += b_hh._array[shared]
        w_in = w_ih._array * scale[:, None]
        pre = xa.reshape(-1, xa.shape[2]) @ w_in.T     # one GEMM for all steps
        pre = pre.reshape(steps, batch, -1)            # (T, B, G*H)
        pre += bias * scale
        whh_t = np.multiply(whh.T, scale, out=np.empty(whh.T.shape, whh.dtype))  # contiguous
        active = None if lengths is None else (np.arange(steps)[:, None] < lengths[None, :])
        idle = None if active is None else ~active[:, :, None]                      # (T, B, 1)
        hs = np.empty((steps + 1,) + h0.shape, dtype=dtype)   # h_0 .. h_T
        hs[0] = h0._array
        arrays = {"x": xa, "h": hs}
        if mode == "LSTM":
            whr = None if w_hr is None else np.ascontiguousarray(w_hr._array.T)
            cs = np.empty((steps + 1, batch, size), dtype=dtype)
            cs[0] = c0._array
            tanh_c = np.empty((steps, batch, size), dtype=dtype)
            acts = np.empty((steps, 4, batch, size), dtype=dtype)   # i, f, g, o
            arrays.update(acts=acts, c=cs, tanh_c=tanh_c)
            _lstm_forward(pre, acts, hs, cs, tanh_c, whh_t, whr, scale, idle)
        elif mode == "GRU":
            b_hn = None if b_hh is None else b_hh._array[2 * size:]
            hw_n = np.empty((steps, batch, size), dtype=dtype)   # h W_hn^T + b_hn
            acts = np.empty((steps, 3, batch, size), dtype=dtype)   # r, z, n
            arrays.update(acts=acts, hw_n=hw_n)
            _gru_forward(pre, acts, hs, hw_n, whh_t, b_hn, idle)
        else:
            _rnn_forward(pre, hs, whh_t, mode == "RNN_RELU", idle)
        out = hs[1:] if active is None else hs[1:] * active[:, :, None]   # finished: zeros
        out = _reorder(out, order)
        if np.may_share_memory(out, hs):               # callers may edit outputs in place
            out = out.copy()
        ctx.conf = (mode, lengths, order, active)
        ctx.save_for_backward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr)
        ctx.arrays = arrays
        if mode == "LSTM":
            return out, hs[-1].copy(), cs[-1].copy()
        return out, hs[-1].copy()

    @staticmethod
    def backward(ctx, g_out, g_h, g_c=None):
        saved = ctx.saved_tensors
        mode, lengths, order, active = ctx.conf
        if grad_mode.is_grad_enabled():
            return _backward_through_reference(ctx, saved, g_out, g_h, g_c)
        x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr = saved
        A = ctx.arrays
        hs = A["h"]
        dout = _reorder(g_out._array, order)           # (T, B, H_out)
        steps, batch, _ = dout.shape
        keep = None if active is None else active[:, :, None]   # (T, B, 1)
        if keep is not None:
            dout = dout * keep                         # finished sequences output constant zeros
        whh, dh = w_hh._array, g_h._array              # dh (and dc): d h_T, then d h_0
        dgates = np.empty((steps, batch, whh.shape[0]), dtype=dout.dtype)
        dhidden = dgates
        if mode == "LSTM":
            whr = None if w_hr is None else w_hr._array
            dc = g_c._array
            dh_all = None if whr is None else np.empty_like(dout)   # d h_t, for d W_hr
            dh, dc = _lstm_backward(A["acts"], A["c"], A["tanh_c"], dout, dh, dc, whh, whr, keep,
                                    dgates, dh_all)
        elif mode == "GRU":
            dhidden = np.empty_like(dgates)
            dh = _gru_backward(A["acts"], A["hw_n"], hs, dout, dh, whh, keep, dgates, dhidden)
        else:
            dh = _rnn_backward(hs[1:], dout, dh, whh, keep, mode == "RNN_RELU", dgates)
        flat = dgates.reshape(steps * batch, -1)       # d(x W_ih^T + b_ih)
        flat_h = dhidden.reshape(steps * batch, -1)    # d(h W_hh^T + b_hh)
        result = [None] * 11
        if ctx.needs_input_grad[0]:
            dx = (flat @ w_ih._array).reshape(steps, batch, -1)
            result[0] = _make(_reorder(dx, order))
        if ctx.needs_input_grad[1]:
            result[1] = _make(dh)
        if mode == "LSTM" and ctx.needs_input_grad[2]:
            result[2] = _make(dc)
        if ctx.needs_input_grad[3]:
            result[3] = _make(flat.T @ A["x"].reshape(steps * batch, -1))
        if ctx.needs_input_grad[4]:
            result[4] = _make(flat_h.T @ hs[:-1].reshape(steps * batch, -1))
        if ctx.needs_input_grad[5]:
            result[5] = _make(flat.sum(0))
        if ctx.needs_input_grad[6]:
            result[6] = _make(flat_h.sum(0))
        if mode == "LSTM" and w_hr is not None and ctx.needs_input_grad[7]:
            if keep is not None:
                dh_all *= keep
            h_cell = (A["acts"][:, 3] * A["tanh_c"]).reshape(steps * batch, -1)
            result[7] = _make(dh_all.reshape(steps * batch, -1).T @ h_cell)
        return tuple(result)


# --- forward recurrences. `pre` (T, B, G*H) holds the input projections with biases (sigmoid
# gates scaled by 1/2) and is used as scratch; `acts` (T, G, B, H) receives the gate activations,
# hs (T + 1, B, H_out) the hidden states after hs[0]; `idle` (T, B, 1) marks finished sequences,
# whose state is carried over unchanged.

def _lstm_forward(pre, acts, hs, cs, tanh_c, whh_t, whr_t, scale, idle):
    steps, batch, _ = pre.shape
    g_gate = scale.reshape(4, 1, -1) == -2
    mult = np.where(g_gate, 2, 1).astype(scale.dtype)   # g = 2 r - 1, the others r
    shift = np.where(g_gate, -1, 0).astype(scale.dtype)
    for t in range(steps):
        a = pre[t]
        a += hs[t] @ whh_t                             # one GEMM per step
        with np.errstate(over="ignore"):               # exp overflows to inf: r = 0, exact
            np.exp(a, out=a)
        a += 1
        np.reciprocal(a, out=a)                        # r = 1 / (1 + exp(scaled))
        gates = acts[t]                                # (4, B, H): stored gate by gate
        np.multiply(a.reshape(batch, 4, -1).transpose(1, 0, 2), mult, out=gates)
        gates += shift
        i, f, g, o = gates
        c = cs[t + 1]
        np.multiply(f, cs[t], out=c)
        c += i * g
        np.tanh(c, out=tanh_c[t])
        if whr_t is None:
            np.multiply(o, tanh_c[t], out=hs[t + 1])
        else:
            np.matmul(o * tanh_c[t], whr_t, out=hs[t + 1])
        if idle is not None:
            np.copyto(c, cs[t], where=idle[t])
            np.copyto(hs[t + 1], hs[t], where=idle[t])


def _gru_forward(pre, acts, hs, hw_n, whh_t, b_hn, idle):
    steps, batch, _ = pre.shape
    for t in range(steps):
        h, gates = hs[t], acts[t]                      # gates (3, B, H): r, z, n
        a = pre[t].reshape(batch, 3, -1).transpose(1, 0, 2)
        hw = (h @ whh_t).reshape(batch, 3, -1).transpose(1, 0, 2)   # apart: r scales its n part
        rz = gates[:2]
        np.add(a[:2], hw[:2], out=rz)
        np.tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5
        r, z, n = gates
        if b_hn is None:
            np.copyto(hw_n[t], hw[2])
        else:
            np.add(hw[2], b_hn, out=hw_n[t])
        np.multiply(r, hw_n[t], out=n)
        n += a[2]
        np.tanh(n, out=n)
        h_new = hs[t + 1]                              # n + z (h - n) = (1 - z) n + z h
        np.subtract(h, n, out=h_new)
        h_new *= z
        h_new += n
        if idle is not None:
            np.copyto(h_new, h, where=idle[t])


def _rnn_forward(pre, hs, whh_t, relu, idle):
    for t in range(pre.shape[0]):
        h = hs[t + 1]
        np.add(pre[t], hs[t] @ whh_t, out=h)
        if relu:
            _fastpaths.clamp(h, 0, out=h)
        else:
            np.tanh(h, out=h)
        if idle is not None:
            np.copyto(h, hs[t], where=idle[t])


# --- backpropagation through time. Every factor that does not depend on the incoming gradient
# (sigmoid' = s (1 - s), tanh' = 1 - t^2 and the products with other gates) is computed for all
# steps at once, in large vectorized ops on contiguous gate blocks; the sequential loop then only
# scales those factors by each step's hidden (and cell) gradient into `dgates` (T, B, G*H) and runs
# one GEMM. `keep` (T, B, 1) zeroes the factors of finished sequences, whose hidden and cell
# gradients pass through unchanged. dh (and dc) come in as d h_T; d h_0 (and d c_0) are returned.

def _in_chunks(factors, steps, chunk=8):
    for lo in range(0, steps, chunk):                  # a few steps at a time stay in cache
        factors(slice(lo, min(lo + chunk, steps)))


def _lstm_backward(acts, cs, tanh_c, dout, dh, dc, whh, whr, keep, dgates, dh_all):
    steps, _, batch, size = acts.shape
    i, f, g, o = (acts[:, k] for k in range(4))       # (T, B, H) each
    fac = np.empty(acts.shape, dtype=acts.dtype)       # d gate pre-activation / d(c_t or h_t)
    dc_dh = np.empty(tanh_c.shape, dtype=acts.dtype)   # o (1 - tanh(c)^2): h_t -> c_t
    f_keep = f if keep is None else np.where(keep, f, 1)   # c_t -> c_{t-1}

    def factors(s):
        di, df, dg, do = (fac[s, k] for k in range(4))
        np.subtract(1, i[s], out=di)                   # g i (1 - i)
        di *= i[s]
        di *= g[s]
        np.subtract(1, f[s], out=df)                   # c_{t-1} f (1 - f)
        df *= f[s]
        df *= cs[s]
        np.multiply(g[s], g[s], out=dg)                # i (1 - g^2)
        np.subtract(1, dg, out=dg)
        dg *= i[s]
        np.subtract(1, o[s], out=do)                   # tanh(c) o (1 - o)
        do *= o[s]
        do *= tanh_c[s]
        np.multiply(tanh_c[s], tanh_c[s], out=dc_dh[s])
        np.subtract(1, dc_dh[s], out=dc_dh[s])
        dc_dh[s] *= o[s]
        if keep is not None:
            fac[s] *= keep[s][:, None]
            dc_dh[s] *= keep[s]
    _in_chunks(factors, steps)

    for t in range(steps - 1, -1, -1):
        dh_t = dh + dout[t]
        if whr is None:
            dh_cell = dh_t
        else:
            dh_all[t] = dh_t
            dh_cell = dh_t @ whr                       # through the projection h = h_cell W_hr^T
        dct = dh_cell * dc_dh[t]
        dct += dc
        by_gate = dgates[t].reshape(batch, 4, size)
        np.multiply(fac[t, :3], dct, out=by_gate.transpose(1, 0, 2)[:3])   # i, f, g: via c_t
        np.multiply(fac[t, 3], dh_cell, out=by_gate[:, 3])                   # o: via h_t
        dc = np.multiply(dct, f_keep[t], out=dct)
        dh = dgates[t] @ whh
        if keep is not None:
            dh += dh_t * ~keep[t]
    return dh, dc


def _gru_backward(acts, hw_n, hs, dout, dh, whh, keep, dgates, dhw):
    steps, _, batch, size = acts.shape
    r, z, n = (acts[:, k] for k in range(3))          # (T, B, H) each
    fac = np.empty(acts.shape, dtype=acts.dtype)       # d(h W_hh^T + b_hh) / d h_t
    fac_n = np.empty(hw_n.shape, dtype=acts.dtype)     # d(x W_in^T + b_in) / d h_t
    z_keep = z if keep is None else np.where(keep, z, 1)    # h_t -> h_{t-1} directly

    def factors(s):
        dn = fac_n[s]
        dr, dz, dhn = (fac[s, k] for k in range(3))
        np.multiply(n[s], n[s], out=dn)                # (1 - z)(1 - n^2)
        np.subtract(1, dn, out=dn)
        np.subtract(1, z[s], out=dhn)                  # scratch: 1 - z
        dn *= dhn
        np.subtract(hs[s], n[s], out=dz)               # (h_{t-1} - n) z (1 - z)
        dz *= z[s]
        dz *= dhn
        np.multiply(dn, r[s], out=dhn)                 # hw_n: (1 - z)(1 - n^2) r
        np.subtract(1, r[s], out=dr)                   # r: (1 - z)(1 - n^2) hw_n r (1 - r)
        dr *= r[s]
        dr *= hw_n[s]
        dr *= dn
        if keep is not None:
            dn *= keep[s]
            fac[s] *= keep[s][:, None]
    _in_chunks(factors, steps)

    for t in range(steps - 1, -1, -1):
        dh_t = dh + dout[t]
        np.multiply(fac[t], dh_t, out=dhw[t].reshape(batch, 3, size).transpose(1, 0, 2))
        np.multiply(fac_n[t], dh_t, out=dgates[t, :, 2 * size:])
        dh = dhw[t] @ whh
        dh += dh_t * z_keep[t]
    dgates[..., :2 * size] = dhw[..., :2 * size]
    return dh


def _rnn_backward(states, dout, dh, whh, keep, relu, dgates):
    steps = states.shape[0]

    def factors(s):
        d = dgates[s]
        if relu:
            np.greater(states[s], 0, out=d)
        else:
            np.multiply(states[s], states[s], out=d)
            np.subtract(1, d, out=d)
        if keep is not None:
            d *= keep[s]
    _in_chunks(factors, steps)

    for t in range(steps - 1, -1, -1):
        dh_t = dh + dout[t]
        dgates[t] *= dh_t
        dh = dgates[t] @ whh
        if keep is not None:
            dh += dh_t * ~keep[t]
    return dh


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
