"""kindling.vision: image datasets, transforms, batch mixing and image utilities.

Laid out like torchvision (`datasets`, `transforms`, `utils`, `models`), which is what the torch
alias serves as `torchvision`."""
from . import datasets, transforms, utils
from .mix import Mixup, CutMix
from .. import models

__all__ = ["datasets", "transforms", "utils", "models", "Mixup", "CutMix"]

__version__ = "0.28.0+kindling"  # the torchvision API level followed, for version checks


def __getattr__(name):
    raise AttributeError(f"kindling.vision (running as torchvision) has no attribute '{name}' — "
                         f"kindling does not implement torchvision.{name} yet")
