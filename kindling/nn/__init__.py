"""kindling.nn: modules, parameters, initialization and the functional API, as torch.nn."""
from .parameter import Parameter, Buffer, UninitializedParameter, UninitializedBuffer
from .modules import *  # noqa: F401,F403
from .modules import Module
from . import functional, init, utils, parallel
from .parallel import DataParallel
from . import modules
