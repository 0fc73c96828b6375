"""torch.backends: the flags scripts set for GPU backends. kindling has none of those backends, so
the flags are recorded (and readable back) but change nothing; the `is_available()` queries
answer False. Set them the PyTorch way: `torch.backends.cudnn.benchmark = True`."""
from . import cuda, cudnn, mkldnn, mps, openmp

__all__ = ["cuda", "cudnn", "mkldnn", "mps", "openmp"]
