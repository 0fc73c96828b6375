"""Recurrent layers: RNN, LSTM, GRU (multi-layer, bidirectional, packed sequences) and cells.

Parameter names, shapes, gate order (LSTM: input, forget, cell, output; GRU: reset, update,
new) and initialization U(-1/sqrt(hidden), 1/sqrt(hidden)) follow PyTorch, so a torch
state_dict loads unchanged. Each layer and direction runs as one fused op
(kindling/ops/recurrent.py): one GEMM for the inputs of all steps, one per step for the
recurrence, and a hand-written backpropagation through time.
"""
import math

import numpy as np

from ... import creation
from ...engine.tensor import Tensor, _make
from ...ops.recurrent import recurrent_layer
from ...ops.shape import cat, stack
from .. import functional as F
from .. import init
from ..parameter import Parameter
from ..utils.rnn import PackedSequence, pad_packed_sequence, pack_padded_sequence
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]


class RNNBase(Module):
    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        if not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1 or \
                isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if hidden_size <= 0 or num_layers <= 0:
            raise ValueError("hidden_size and num_layers must be positive")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        self.mode = mode
        self.input_size, self.hidden_size = input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        self.proj_size = proj_size
        gates = {"LSTM": 4, "GRU": 3}.get(mode, 1)
        directions = 2 if bidirectional else 1
        real_hidden = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names = []
        for layer in range(num_layers):
            for direction in range(directions):
                layer_input = input_size if layer == 0 else real_hidden * directions
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = [("weight_ih", (gates * hidden_size, layer_input)),
                          ("weight_hh", (gates * hidden_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gates * hidden_size,)),
                               ("bias_hh", (gates * hidden_size,))]
                if proj_size > 0:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                for name, shape in shapes:
                    self.register_parameter(name + suffix,
                                            Parameter(creation.empty(shape, dtype=dtype)))
                    self._flat_weights_names.append(name + suffix)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self):
        pass  # a cuDNN memory-layout detail; nothing to do on the CPU

    @property
    def all_weights(self):
        return [[getattr(self, n) for n in self._flat_weights_names if n.endswith(sfx)]
                for sfx in self._suffixes()]

    def _suffixes(self):
        return [f"_l{layer}" + ("_reverse" if d else "") for layer in range(self.num_layers)
                for d in range(2 if self.bidirectional else 1)]

    def _weights(self, suffix):
        get = lambda name: getattr(self, name + suffix, None)  # noqa: E731
        return (get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"),
                get("weight_hr"))

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s  # PyTorch does not show an RNN's nonlinearity

    def _cell_mode(self):
        if self.mode == "RNN":
            return "RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU"
        return self.mode

    def forward(self, input, hx=None):
        packed = isinstance(input, PackedSequence)
        lengths = None
        sorted_indices = unsorted_indices = None
        if packed:
            sorted_indices, unsorted_indices = input.sorted_indices, input.unsorted_indices
            padded, lengths_t = pad_packed_sequence(
                PackedSequence(input.data, input.batch_sizes, None, None))
            x, lengths = padded, lengths_t._array            # sorted order, (T, B, *)
            unbatched = False
        else:
            if input.dim() not in (2, 3):
                raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got "
                                 f"{input.dim()}D instead")
            unbatched = input.dim() == 2
            x = input.unsqueeze(1) if unbatched else (input.transpose(0, 1) if self.batch_first
                                                      else input)
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"{type(self).__name__}: input.size(-1) must be equal to "
                               f"input_size. Expected {self.input_size}, got {x.shape[-1]}")
        batch = x.shape[1]
        directions = 2 if self.bidirectional else 1
        out_size = self.proj_size if self.proj_size > 0 else self.hidden_size
        h0, c0 = self._initial_state(hx, batch, directions, out_size, x, unbatched,
                                     sorted_indices)
        mode = self._cell_mode()
        h_n, c_n = [], []
        layer_input = x
        for layer in range(self.num_layers):
            outs = []
            for d in range(directions):
                k = layer * directions + d
                suffix = f"_l{layer}" + ("_reverse" if d else "")
                w_ih, w_hh, b_ih, b_hh, w_hr = self._weights(suffix)
                result = recurrent_layer(layer_input, h0[k], None if c0 is None else c0[k],
                                         w_ih, w_hh, b_ih, b_hh, w_hr, mode, lengths,
                                         reverse=d == 1)
                outs.append(result[0])
                h_n.append(result[1])
                if mode == "LSTM":
                    c_n.append(result[2])
            layer_input = outs[0] if directions == 1 else cat(outs, dim=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
        output = layer_input
        h_n = stack(h_n, 0)
        c_n = stack(c_n, 0) if mode == "LSTM" else None
        if packed:
            output = pack_padded_sequence(output, lengths)
            output = PackedSequence(output.data, output.batch_sizes, sorted_indices,
                                    unsorted_indices)
            if unsorted_indices is not None:
                h_n = h_n[:, unsorted_indices]
                c_n = None if c_n is None else c_n[:, unsorted_indices]
        elif unbatched:
            output, h_n = output.squeeze(1), h_n.squeeze(1)
            c_n = None if c_n is None else c_n.squeeze(1)
        elif self.batch_first:
            output = output.transpose(0, 1)
        return (output, (h_n, c_n)) if mode == "LSTM" else (output, h_n)

    def _initial_state(self, hx, batch, directions, out_size, x, unbatched, sorted_indices):
        layers = self.num_layers * directions
        if hx is None:
            h0 = creation.zeros(layers, batch, out_size, dtype=x.dtype)
            c0 = creation.zeros(layers, batch, self.hidden_size, dtype=x.dtype) \
                if self.mode == "LSTM" else None
            return h0, c0
        if self.mode == "LSTM":
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise RuntimeError("LSTM: hx must be a tuple (h_0, c_0)")
            h0, c0 = hx
        else:
            h0, c0 = hx, None
        if unbatched:
            h0 = h0.unsqueeze(1)
            c0 = None if c0 is None else c0.unsqueeze(1)
        expected = (layers, batch, out_size)
        if tuple(h0.shape) != expected:
            raise RuntimeError(f"Expected hidden size {expected}, got {tuple(h0.shape)}")
        if c0 is not None and tuple(c0.shape) != (layers, batch, self.hidden_size):
            raise RuntimeError(f"Expected hidden size {(layers, batch, self.hidden_size)}, got "
                               f"{tuple(c0.shape)}")
        if sorted_indices is not None:
            h0 = h0[:, sorted_indices]
            c0 = None if c0 is None else c0[:, sorted_indices]
        return h0, c0


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu).

    Shape:
        input (L, N, H_in) (batch_first: (N, L, H_in)), unbatched (L, H_in), or a
        PackedSequence; output (L, N, D * H_out) and h_n (D * num_layers, N, H_out).
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             f"'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, 0, device, dtype)


class LSTM(RNNBase):
    """Long short-term memory (Hochreiter & Schmidhuber, 1997), with optional projections.

    Returns output, (h_n, c_n). Example::

        >>> lstm = nn.LSTM(10, 20, num_layers=2, batch_first=True)
        >>> out, (h, c) = lstm(kindling.randn(3, 5, 10))   # out (3, 5, 20), h and c (2, 3, 20)
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit (Cho et al., 2014): reset and update gates, no cell state."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, 0, device, dtype)


# --- cells: one time step, composed from Tensor ops --------------------------------------------
class _CellBase(Module):
    _gates = 1

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        g = self._gates * hidden_size
        self.weight_ih = Parameter(creation.empty((g, input_size), dtype=dtype))
        self.weight_hh = Parameter(creation.empty((g, hidden_size), dtype=dtype))
        if bias:
            self.bias_ih = Parameter(creation.empty(g, dtype=dtype))
            self.bias_hh = Parameter(creation.empty(g, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _projections(self, input, h):
        xw = F.linear(input, self.weight_ih, self.bias_ih)
        hw = F.linear(h, self.weight_hh, self.bias_hh)
        return xw, hw

    def _batch(self, input, *states):
        if input.dim() not in (1, 2):
            raise ValueError(f"{type(self).__name__}: Expected input to be 1D or 2D, got "
                             f"{input.dim()}D instead")
        unbatched = input.dim() == 1
        if unbatched:
            input = input.unsqueeze(0)
            states = tuple(None if s is None else s.unsqueeze(0) for s in states)
        states = tuple(creation.zeros(input.shape[0], self.hidden_size, dtype=input.dtype)
                       if s is None else s for s in states)
        return unbatched, input, states


class RNNCell(_CellBase):
    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def forward(self, input, hx=None):
        unbatched, input, (h,) = self._batch(input, hx)
        xw, hw = self._projections(input, h)
        out = (xw + hw).tanh() if self.nonlinearity == "tanh" else (xw + hw).relu()
        return out.squeeze(0) if unbatched else out


class LSTMCell(_CellBase):
    _gates = 4

    def forward(self, input, hx=None):
        h, c = (None, None) if hx is None else hx
        unbatched, input, (h, c) = self._batch(input, h, c)
        xw, hw = self._projections(input, h)
        gates = xw + hw
        i, f, g, o = gates.chunk(4, 1)
        c_new = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h_new = o.sigmoid() * c_new.tanh()
        if unbatched:
            return h_new.squeeze(0), c_new.squeeze(0)
        return h_new, c_new


class GRUCell(_CellBase):
    _gates = 3

    def forward(self, input, hx=None):
        unbatched, input, (h,) = self._batch(input, hx)
        xw, hw = self._projections(input, h)
        x_r, x_z, x_n = xw.chunk(3, 1)
        h_r, h_z, h_n = hw.chunk(3, 1)
        r = (x_r + h_r).sigmoid()
        z = (x_z + h_z).sigmoid()
        n = (x_n + r * h_n).tanh()
        out = (1 - z) * n + z * h
        return out.squeeze(0) if unbatched else out
