"""torch.utils.tensorboard for kindling: delegates to tensorboardX when it is installed.

kindling does not write TensorBoard event files itself. tensorboardX has the same SummaryWriter
API and accepts Python numbers and NumPy arrays, which is what `loss.item()` and
`tensor.numpy()` give; kindling tensors are converted with numpy() when passed directly.
"""
try:
    import tensorboardX as _tbx
except ImportError:  # optional
    _tbx = None

_HELP = ("kindling does not implement torch.utils.tensorboard itself; `pip install tensorboardX` "
         "and SummaryWriter will delegate to it")


def _plain(value):
    from .engine.tensor import Tensor
    return value.detach().numpy() if isinstance(value, Tensor) else value


if _tbx is not None:
    class SummaryWriter(_tbx.SummaryWriter):
        """tensorboardX's SummaryWriter, converting kindling tensors to NumPy on the way in."""

        def __getattribute__(self, name):
            attr = super().__getattribute__(name)
            if name.startswith("add_") and callable(attr):
                def call(*args, **kwargs):
                    return attr(*[_plain(a) for a in args],
                                **{k: _plain(v) for k, v in kwargs.items()})
                return call
            return attr
else:
    class SummaryWriter:
        def __init__(self, *args, **kwargs):
            raise ImportError(f"SummaryWriter: {_HELP}")
