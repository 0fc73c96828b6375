"""Layers (PyTorch's torch.nn.modules)."""
from .module import Module, RemovableHandle
from .container import Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict
from .linear import Identity, Linear, Bilinear
from .activation import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .flatten import Flatten, Unflatten
from .loss import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .batchnorm import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .padding import *  # noqa: F401,F403
from .upsampling import *  # noqa: F401,F403
from .rnn import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .distance import *  # noqa: F401,F403
from .transformer import *  # noqa: F401,F403
from .positional import *  # noqa: F401,F403
from .lazy import *  # noqa: F401,F403
