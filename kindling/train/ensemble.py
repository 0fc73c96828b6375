"""Ensembles: average several models' class probabilities; snapshot ensembles.

`Ensemble(models)` is a module whose output is the mean of the members' softmax
probabilities (N, C) (`log=True`: the log of that mean, to feed `nll_loss` or a Trainer with
`nn.NLLLoss()`). Members are put in eval mode by the caller as usual.

`SnapshotEnsemble` (Huang et al. 2017) is a callback for a run with a cosine schedule with warm
restarts (`CosineAnnealingWarmRestarts(T_0, T_mult)` stepped per epoch): at the end of each
cycle (epochs T_0, T_0 + T_0*T_mult, ...), when the learning rate is at its minimum, it stores a
copy of the model's weights; `ensemble()` returns an `Ensemble` of those snapshots.
"""
import copy

from .. import nn
from .. import no_grad
from .callbacks import Callback


class Ensemble(nn.Module):
    def __init__(self, models, log=False):
        super().__init__()
        if not models:
            raise ValueError("Ensemble: give at least one model")
        self.members = nn.ModuleList(models)
        self.log = log

    def forward(self, *inputs):
        probs = None
        for m in self.members:
            p = nn.functional.softmax(m(*inputs), dim=-1)
            probs = p if probs is None else probs + p
        probs = probs / len(self.members)  # (N, C)
        return probs.log() if self.log else probs


def average_probabilities(models, *inputs):
    """Mean softmax probabilities of `models` on `inputs`, in eval mode without autograd."""
    modes = [m.training for m in models]
    try:
        for m in models:
            m.eval()
        with no_grad():
            return Ensemble(models)(*inputs)
    finally:
        for m, mode in zip(models, modes):
            m.train(mode)


def cycle_ends(T_0, T_mult, max_epochs):
    """Epochs (1-based counts of completed epochs) at which warm-restart cycles end."""
    ends, length, end = [], T_0, T_0
    while end <= max_epochs:
        ends.append(end)
        length *= T_mult
        end += length
    return ends


class SnapshotEnsemble(Callback):
    """Collect a weight snapshot at the end of each cosine-restart cycle (see module doc)."""
    order = 50  # after the scheduler has stepped

    def __init__(self, T_0, T_mult=1):
        super().__init__()
        self.T_0, self.T_mult = int(T_0), int(T_mult)
        self.snapshots, self.epochs = [], []

    def on_epoch_end(self, trainer):
        if trainer.state.epoch in cycle_ends(self.T_0, self.T_mult, trainer.state.epoch):
            self.snapshots.append({k: v.detach().clone()
                                   for k, v in trainer.model.state_dict().items()})
            self.epochs.append(trainer.state.epoch)
            self._template = trainer.model

    def ensemble(self, model=None, log=False):
        """An `Ensemble` of copies of `model` (default: the trained model) loaded with each
        snapshot."""
        base = model if model is not None else self._template
        members = []
        for sd in self.snapshots:
            m = copy.deepcopy(base)
            m.load_state_dict(sd)
            members.append(m)
        return Ensemble(members, log=log)

    def state_dict(self):
        return {"snapshots": self.snapshots, "epochs": self.epochs}

    def load_state_dict(self, state):
        self.snapshots, self.epochs = list(state["snapshots"]), list(state["epochs"])
