"""Transfer learning: freeze/unfreeze, discriminative learning rates, gradual unfreezing and
head replacement.

Blocks: `blocks(model)` lists the modules that own parameters directly (each Linear, Conv2d,
BatchNorm, ...) in definition order, i.e. from the input to the head. Depth-based operations
count these blocks: `freeze(model, depth=2)` freezes the first two, discriminative lrs give the
last block (the head) `base_lr` and each earlier block `decay` times the next one's.

Patterns are shell-style globs on parameter names (`fnmatch`): "features.*", "*.bias",
"classifier.4.*". Freezing sets `requires_grad=False`; optimizers skip parameters whose `.grad`
is None, so a frozen parameter keeps its value even inside a parameter group (with momentum or
weight decay too).
"""
from fnmatch import fnmatch

from .. import nn
from .callbacks import Callback


def blocks(model):
    """[(name, module)] of modules owning parameters directly, from input to output."""
    return [(name, m) for name, m in model.named_modules()
            if len(m._parameters) and any(p is not None for p in m._parameters.values())]


def _select(model, patterns=None, depth=None):
    if (patterns is None) == (depth is None):
        raise ValueError("give exactly one of patterns and depth")
    if depth is not None:
        chosen = blocks(model)[:depth] if depth >= 0 else blocks(model)[:depth or None]
        return [p for _, m in chosen for p in m.parameters(recurse=False)]
    if isinstance(patterns, str):
        patterns = [patterns]
    params = [p for name, p in model.named_parameters()
              if any(fnmatch(name, pat) for pat in patterns)]
    if not params:
        names = [n for n, _ in model.named_parameters()]
        raise ValueError(f"no parameter matches {patterns}; parameters are {names}")
    return params


def freeze(model, patterns=None, depth=None):
    """Freeze the parameters matching `patterns` (globs) or the first `depth` blocks (negative
    depth: all but the last -depth blocks). Returns the frozen parameters."""
    params = _select(model, patterns, depth)
    for p in params:
        p.requires_grad_(False)
    return params


def unfreeze(model, patterns=None, depth=None):
    """The inverse of `freeze`; `unfreeze(model, '*')` unfreezes everything."""
    params = _select(model, patterns, depth)
    for p in params:
        p.requires_grad_(True)
    return params


def trainable_parameters(model):
    return [p for p in model.parameters() if p.requires_grad]


def discriminative_param_groups(model, base_lr, decay=0.5, groups=None):
    """Parameter groups with layer-wise learning rates (Howard & Ruder 2018).

    Without `groups`, each block is a group; the last block gets `base_lr`, block i from the
    end gets `base_lr * decay**i`. With `groups` (a list of glob patterns or lists of them,
    input side first) each group of matching parameters is one group, scaled the same way;
    parameters matching no group go into the last group. Each group has a 'name'.
    """
    if groups is None:
        named = [(name or "model", list(m.parameters(recurse=False)))
                 for name, m in blocks(model)]
    else:
        named, taken = [], set()
        for g in groups:
            pats = [g] if isinstance(g, str) else list(g)
            ps = [p for n, p in model.named_parameters()
                  if id(p) not in taken and any(fnmatch(n, pat) for pat in pats)]
            taken.update(id(p) for p in ps)
            named.append((",".join(pats), ps))
        rest = [p for p in model.parameters() if id(p) not in taken]
        if rest:
            named[-1] = (named[-1][0], named[-1][1] + rest)
    n = len(named)
    return [{"params": ps, "lr": base_lr * decay ** (n - 1 - i), "name": name}
            for i, (name, ps) in enumerate(named) if ps]


class GradualUnfreezing(Callback):
    """Unfreeze from the top: at epoch e (0-based) only the last
    `initial + e // every` blocks are trainable (ULMFiT's gradual unfreezing). Computed from
    the epoch count, so it is exact after a resume."""

    def __init__(self, initial=1, every=1):
        super().__init__()
        self.initial, self.every = int(initial), int(every)

    def trainable_blocks(self, epoch):
        return self.initial + epoch // self.every

    def on_epoch_start(self, trainer):
        bl = blocks(trainer.model)
        k = min(len(bl), self.trainable_blocks(trainer.state.epoch))
        for i, (_, m) in enumerate(bl):
            for p in m.parameters(recurse=False):
                p.requires_grad_(i >= len(bl) - k)


def replace_head(model, num_outputs, name=None):
    """Replace the model's last Linear layer (or the Linear module at dotted `name`) by a fresh
    `Linear(in_features, num_outputs)`; returns the new layer."""
    if name is None:
        linears = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
        if not linears:
            raise ValueError("replace_head: the model has no nn.Linear layer; pass name=")
        name = linears[-1]
    parent = model
    *path, last = name.split(".")
    for part in path:
        parent = getattr(parent, part)
    old = getattr(parent, last)
    if not isinstance(old, nn.Linear):
        raise TypeError(f"replace_head: {name!r} is {type(old).__name__}, not nn.Linear")
    head = nn.Linear(old.in_features, num_outputs, bias=old.bias is not None)
    setattr(parent, last, head)
    return head
