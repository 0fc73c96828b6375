"""Model inspection: a layer table with output shapes, parameters and FLOPs, and the receptive
field of a convolution stack."""
import math
from dataclasses import dataclass, field

from .. import nn
from ..creation import zeros
from ..engine.grad_mode import no_grad


@dataclass
class LayerInfo:
    name: str
    kind: str
    output_shape: tuple
    params: int
    flops: int


@dataclass
class Summary:
    layers: list = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    total_flops: int = 0

    def __str__(self):
        rows = [("Layer (type)", "Output shape", "Param #", "FLOPs")]
        rows += [(f"{l.name} ({l.kind})", str(list(l.output_shape)), f"{l.params:,}",
                  f"{l.flops:,}") for l in self.layers]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        line = "-" * (sum(widths) + 6)
        out = [line, "  ".join(c.ljust(w) for c, w in zip(rows[0], widths)), line]
        out += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows[1:]]
        out += [line, f"Total params: {self.total_params:,}",
                f"Trainable params: {self.trainable_params:,}",
                f"Total FLOPs (per sample, conv/linear multiply-adds x 2): {self.total_flops:,}",
                line]
        return "\n".join(out)


def _flops(module, output):
    """Floating point operations of one forward pass of `module` for one sample."""
    per_sample = output.shape[1:]
    if isinstance(module, (nn.Conv1d, nn.Conv2d)):
        k = math.prod(module.kernel_size)
        return 2 * (module.in_channels // module.groups) * k * math.prod(per_sample)
    if isinstance(module, (nn.ConvTranspose1d, nn.ConvTranspose2d)):
        k = math.prod(module.kernel_size)
        return 2 * (module.out_channels // module.groups) * k * math.prod(per_sample) * \
            module.in_channels // module.out_channels
    if isinstance(module, nn.Linear):
        rows = math.prod(output.shape[1:-1]) if output.dim() > 2 else 1
        return 2 * module.in_features * module.out_features * rows
    return 0


def summary(model, input_size, dtype=None, print_result=True):
    """Run one zero input of shape (1, *input_size) and describe every leaf module.

    Returns a `Summary` (also printed unless print_result=False)."""
    result = Summary()
    handles = []

    def hook(module, inputs, output):
        if isinstance(output, (tuple, list)):
            output = output[0]
        own = sum(p.numel() for p in module.parameters(recurse=False))
        result.layers.append(LayerInfo(names[module], type(module).__name__,
                                       tuple(output.shape), own, _flops(module, output)))

    names = {}
    for name, m in model.named_modules():
        if not list(m.children()):
            names[m] = name
            handles.append(m.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            kwargs = {} if dtype is None else {"dtype": dtype}
            model(zeros((1,) + tuple(input_size), **kwargs))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    result.total_params = sum(p.numel() for p in model.parameters())
    result.trainable_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    result.total_flops = sum(l.flops for l in result.layers)
    if print_result:
        print(result)
    return result


def receptive_field(layers):
    """Receptive field of a stack of conv/pool layers, input to output.

    For each layer with kernel k, stride s, dilation d and padding p: the field grows by
    (k - 1) * d * jump, and the jump (distance between neighbouring outputs, in input pixels)
    multiplies by s. Returns a list of dicts per layer: size, jump and start (centre of the
    first output's field, in input coordinates)."""
    size, jump, start = 1, 1, 0.5
    rows = []
    modules = layers.modules() if isinstance(layers, nn.Module) else layers
    for m in modules:
        k = s = d = p = None
        if isinstance(m, (nn.Conv1d, nn.Conv2d)):
            k, s, d = m.kernel_size[-1], m.stride[-1], m.dilation[-1]
            p = 0 if isinstance(m.padding, str) else m.padding[-1]
        elif isinstance(m, (nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d)):
            last = lambda v: v[-1] if isinstance(v, (tuple, list)) else v  # noqa: E731
            k, s, p = last(m.kernel_size), last(m.stride), last(m.padding)
            d = last(getattr(m, "dilation", 1))
        if k is None:
            continue
        size += (k - 1) * d * jump
        start += ((k - 1) * d / 2 - p) * jump
        jump *= s
        rows.append({"layer": type(m).__name__, "size": size, "jump": jump, "start": start})
    return rows
