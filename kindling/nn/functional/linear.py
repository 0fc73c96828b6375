"""linear and bilinear maps.

`linear` is one fused op: forward is a single NumPy matmul plus the bias, backward three Tensor
ops (so it can be differentiated again). Composing `matmul(x, w.t()) + b` records three nodes
(transpose, matmul, add); for a small layer (32x64 input, 64x64 weight) forward+backward of the
fused op measured ~1.2x faster, where the per-node Python cost matters. Large layers are
BLAS-bound either way.
"""
from ...engine.function import Op


class Linear(Op):
    @staticmethod
    def forward(ctx, x, weight, bias):
        a, w = x._array, weight._array
        if a.dtype != w.dtype or (bias is not None and bias._array.dtype != w.dtype):
            raise RuntimeError(f"linear: expected input, weight and bias to have the same dtype, "
                               f"but got input {x.dtype}, weight {weight.dtype}"
                               + ("" if bias is None else f" and bias {bias.dtype}"))
        if w.ndim != 2 or a.ndim == 0 or a.shape[-1] != w.shape[1]:
            raise RuntimeError(f"linear: mat1 and mat2 shapes cannot be multiplied (input shape "
                               f"{tuple(a.shape)}, weight shape {tuple(w.shape)}: the last "
                               f"dimension of the input must equal weight.shape[1])")
        ctx.save_for_backward(x, weight)
        # (B, T, in) @ (in, out) as one (B*T, in) GEMM: NumPy's matmul would run B small ones
        out = (a.reshape(-1, a.shape[-1]) @ w.T).reshape(a.shape[:-1] + (w.shape[0],))
        if bias is not None:
            out += bias._array
        return out

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        gx = g.reshape(-1, g.shape[-1]).matmul(weight).reshape(x.shape) \
            if ctx.needs_input_grad[0] else None
        gw = None
        if ctx.needs_input_grad[1]:
            n_in, n_out = weight.shape[1], weight.shape[0]
            gw = g.reshape(-1, n_out).t().matmul(x.reshape(-1, n_in))
        gb = g if ctx.needs_input_grad[2] else None  # the engine sums it down to (out,)
        return gx, gw, gb


def linear(input, weight, bias=None):
    """y = input @ weight.T + bias.

    Shape:
        input (*, in_features), weight (out_features, in_features), bias (out_features),
        output (*, out_features).
    """
    return Linear.apply(input, weight, bias)


def bilinear(input1, input2, weight, bias=None):
    """y[..., k] = input1 @ weight[k] @ input2 + bias[k].

    Shape:
        input1 (*, in1), input2 (*, in2), weight (out, in1, in2), bias (out), output (*, out).
    """
    if weight.dim() != 3:
        raise RuntimeError(f"bilinear(): weight must be three-dimensional, got shape "
                           f"{tuple(weight.shape)}")
    out_f, in1, in2 = weight.shape
    if input1.shape[-1] != in1 or input2.shape[-1] != in2:
        raise RuntimeError(f"bilinear(): input sizes {tuple(input1.shape)} and "
                           f"{tuple(input2.shape)} do not match weight of shape "
                           f"{tuple(weight.shape)}")
    lead = tuple(input1.shape[:-1])
    x1 = input1.reshape(-1, in1)                                           # (N, in1)
    x2 = input2.reshape(-1, in2)                                           # (N, in2)
    w = weight.permute(1, 0, 2).reshape(in1, out_f * in2)                   # (in1, out*in2)
    t = x1.matmul(w).reshape(-1, out_f, in2)                               # (N, out, in2)
    out = (t * x2.unsqueeze(1)).sum(-1)                                    # (N, out)
    if bias is not None:
        out = out + bias
    return out.reshape(lead + (out_f,))
