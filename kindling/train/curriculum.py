"""Curriculum learning (Bengio et al. 2009): easy examples first, the pool widening each epoch.

`CurriculumSampler(difficulty, start_fraction, epochs_to_full)` sorts examples by a difficulty
score (lower = easier; e.g. a pretrained model's loss, the label noise, the sequence length).
In epoch e (0-based) it draws, in random order, the easiest

    ceil(N * min(1, start_fraction + (1 - start_fraction) * e / epochs_to_full))

examples, so from epoch `epochs_to_full` on it is an ordinary shuffled epoch over all data. The
epoch comes from `set_epoch(e)`; the `Curriculum` callback calls it at every epoch start from
the trainer's epoch counter (so a resumed run continues the same schedule). Use it as the
DataLoader's `sampler`; the loader's length follows the pool size.
"""
import math

import numpy as np

from .. import Tensor
from ..utils.data import Sampler
from .callbacks import Callback


class CurriculumSampler(Sampler):
    def __init__(self, difficulty, start_fraction=0.25, epochs_to_full=5, generator=None):
        d = np.asarray(difficulty.detach().numpy() if isinstance(difficulty, Tensor) else difficulty,
                       dtype=np.float64).reshape(-1)
        if not 0 < start_fraction <= 1:
            raise ValueError(f"CurriculumSampler: start_fraction must be in (0, 1], got "
                             f"{start_fraction}")
        if epochs_to_full < 0:
            raise ValueError(f"CurriculumSampler: epochs_to_full must be >= 0, got "
                             f"{epochs_to_full}")
        self.order = np.argsort(d, kind="stable")  # easiest first
        self.start_fraction, self.epochs_to_full = float(start_fraction), int(epochs_to_full)
        self.generator, self.epoch = generator, 0

    def set_epoch(self, epoch):
        self.epoch = int(epoch)

    def fraction(self, epoch=None):
        e = self.epoch if epoch is None else epoch
        if self.epochs_to_full == 0:
            return 1.0
        return min(1.0, self.start_fraction + (1 - self.start_fraction) * e / self.epochs_to_full)

    def pool(self, epoch=None):
        """Indices available in `epoch` (default: the current one), easiest first."""
        n = len(self.order)
        return self.order[:max(1, math.ceil(n * self.fraction(epoch) - 1e-9))]

    def __iter__(self):
        from ..creation import randperm
        pool = self.pool()
        perm = randperm(len(pool), generator=self.generator).numpy()
        return iter(pool[perm].tolist())

    def __len__(self):
        return len(self.pool())


class Curriculum(Callback):
    """Tell a `CurriculumSampler` the current epoch at every epoch start."""

    def __init__(self, sampler):
        super().__init__()
        self.sampler = sampler

    def on_epoch_start(self, trainer):
        self.sampler.set_epoch(trainer.state.epoch)
