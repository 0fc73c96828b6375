"""kindling.optim: optimizers and learning-rate schedulers with torch.optim's API."""
from .optimizer import Optimizer
from .sgd import SGD
from .adam import Adam, AdamW
from .adagrad import Adagrad
from .adadelta import Adadelta
from .rmsprop import RMSprop
from .nadam import NAdam
from .radam import RAdam
from .adamax import Adamax
from .lbfgs import LBFGS
from .rprop import Rprop
from .asgd import ASGD
from .adafactor import Adafactor
from . import lr_scheduler
from . import swa_utils

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "Adagrad", "Adadelta", "RMSprop", "NAdam",
           "RAdam", "Adamax", "LBFGS", "Rprop", "ASGD", "Adafactor", "lr_scheduler", "swa_utils"]
