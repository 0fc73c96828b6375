"""`Trainer`: the training loop as a sequence of events (see `callbacks.py` for the events).

The loop itself only does forward, loss, backward, optimizer step and evaluation; early
stopping, checkpointing, scheduling, clipping, logging and the progress bar are callbacks.

Counting: an *epoch* is one pass over `train_loader`; an *iteration* is one batch; a *step* is
one optimizer update (one per `grad_accumulation` batches, plus one for a leftover group at the
end of an epoch). `state.epoch`, `state.iteration` and `state.step` count completed ones.

Gradient accumulation: each micro-batch loss is divided by `grad_accumulation` before backward,
so k micro-batches of a *mean* loss give the same gradient as one batch k times bigger. An
incomplete last group of m < k micro-batches has its gradients scaled by k/m, so it too is the
mean over its samples (for equal micro-batch sizes).

Checkpoints (`save_checkpoint` / `resume`) hold the model, the optimizer, every callback's
state (schedulers included), the counters and history, and the RNG states: kindling's global
generator, the train loader's and its sampler's generators, NumPy's legacy global state and
Python's `random`. Checkpoints are written at epoch ends, so resuming from one replays the rest
of the run bit for bit.
"""
import random

import numpy as np

from .. import get_rng_state, load, no_grad, save, set_rng_state
from .callbacks import (Callback, GradientClipping, LRSchedulerCallback,
                        NonFiniteCheck, ProgressBar)
from .metrics import Metric, get_metric


class TrainerState:
    """Counters and the per-epoch record, shared with callbacks."""

    def __init__(self):
        self.epoch = 0          # completed epochs
        self.iteration = 0      # completed batches (all epochs)
        self.step = 0           # completed optimizer steps
        self.batch_index = 0    # index of the current batch within its epoch
        self.batch = None
        self.output = None
        self.loss = float("nan")  # the current batch's loss (a float)
        self.metrics = {}       # this epoch's values (train and val_*)
        self.history = []       # one dict per completed epoch
        self.should_stop = False
        self.aborted = False
        self.stop_reason = None


def _split_batch(batch):
    """(inputs, target) from a batch: the last element is the target, the rest the inputs."""
    if isinstance(batch, (list, tuple)):
        if len(batch) < 2:
            raise ValueError(f"Trainer: a batch must be (inputs..., target); got {len(batch)} "
                             f"element(s)")
        return tuple(batch[:-1]), batch[-1]
    raise TypeError(f"Trainer: a batch must be a tuple or list (inputs..., target), got "
                    f"{type(batch).__name__}")


def _batch_size(target):
    shape = getattr(target, "shape", None)
    return int(shape[0]) if shape is not None and len(shape) else 1


def _as_float(v):
    if isinstance(v, np.ndarray):
        return v
    return float(v)


def _generators(loader):
    """The loader's RNG generators (its own and its sampler's), each once."""
    found = []
    for obj in (loader, getattr(loader, "sampler", None),
                getattr(getattr(loader, "batch_sampler", None), "sampler", None)):
        g = getattr(obj, "generator", None)
        if g is not None and hasattr(g, "get_state") and all(g is not f for f in found):
            found.append(g)
    return found


def _numpy_state():
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return (kind, keys.astype(np.int64), int(pos), int(has_gauss), float(gauss))


class Trainer:
    """Train `model` with `optimizer` on `train_loader`, validating on `val_loader` each epoch.

    Args:
        model, loss_fn, optimizer: `loss_fn(output, target)` returns a scalar tensor (mean
            over the batch for `grad_accumulation` to be exact).
        train_loader, val_loader: iterables of batches `(inputs..., target)`.
        scheduler: an lr scheduler stepped each epoch (`scheduler_interval='batch'`: after
            each optimizer step); wrapped in an `LRSchedulerCallback`.
        metrics: `Metric` objects or names ('accuracy', 'f1', ... see `metrics.METRIC_NAMES`),
            computed on training batches and on validation (keys prefixed 'val_'). The loss
            is always recorded ('loss', 'val_loss').
        callbacks: `Callback` objects.
        max_epochs: epochs to train (a resumed trainer continues up to this).
        grad_accumulation: micro-batches per optimizer step.
        clip_grad_norm, clip_grad_value: add a `GradientClipping` callback.
        detect_nonfinite: add a `NonFiniteCheck` (stop with a message at the first NaN/Inf).
        progress: add a tqdm `ProgressBar` (None: only on a terminal; False: never).
        device: accepted for PyTorch-style code and ignored (kindling runs on the CPU).

    `fit()` returns the history: a list with one dict per epoch, e.g.
    `{'epoch': 1, 'lr': 0.1, 'loss': 0.53, 'accuracy': 0.84, 'val_loss': 0.41, ...}`.

    Example::

        >>> trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), 0.1),
        ...                   train_loader, val_loader, metrics=[Accuracy()], max_epochs=5,
        ...                   callbacks=[EarlyStopping('val_loss', patience=2)])
        >>> history = trainer.fit()
    """

    def __init__(self, model, loss_fn, optimizer, train_loader, val_loader=None, scheduler=None,
                 metrics=(), callbacks=(), max_epochs=1, grad_accumulation=1,
                 clip_grad_norm=None, clip_grad_value=None, detect_nonfinite=True,
                 progress=None, scheduler_interval="epoch", device=None):
        if int(grad_accumulation) < 1:
            raise ValueError(f"Trainer: grad_accumulation must be >= 1, got {grad_accumulation}")
        if int(max_epochs) < 0:
            raise ValueError(f"Trainer: max_epochs must be >= 0, got {max_epochs}")
        metrics = [get_metric(m) if isinstance(m, str) else m for m in metrics]
        for m in metrics:
            if not isinstance(m, Metric):
                raise TypeError(f"Trainer: metrics must be Metric objects or metric names, "
                                f"got {m!r}")
        for c in callbacks:
            if not isinstance(c, Callback):
                raise TypeError(f"Trainer: callbacks must be Callback objects, got {c!r}")
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.train_loader, self.val_loader = train_loader, val_loader
        self.metrics = list(metrics)
        self.max_epochs, self.grad_accumulation = int(max_epochs), int(grad_accumulation)
        self.device = device
        extra = []
        if detect_nonfinite:
            extra.append(NonFiniteCheck())
        if clip_grad_norm is not None or clip_grad_value is not None:
            extra.append(GradientClipping(clip_grad_norm, clip_grad_value))
        if scheduler is not None:
            extra.append(LRSchedulerCallback(scheduler, interval=scheduler_interval))
        if progress is not False:
            extra.append(ProgressBar(enable=progress))
        # stable sort: equal `order` keeps the given order, built-ins before user callbacks
        self.callbacks = sorted(extra + list(callbacks), key=lambda c: c.order)
        self.scheduler = scheduler
        self.state = TrainerState()

    # ------------------------------------------------------------------ events

    def _fire(self, event):
        for cb in self.callbacks:
            if cb.trigger.fires(event, self.state):
                getattr(cb, event)(self)

    def stop(self, reason=None, abort=False):
        """Ask the loop to stop: at the end of this epoch, or (abort=True) after this batch."""
        self.state.should_stop = True
        self.state.aborted = self.state.aborted or abort
        self.state.stop_reason = reason

    @property
    def history(self):
        return self.state.history

    # ------------------------------------------------------------------ loop

    def fit(self):
        """Train until `max_epochs` epochs are done or a callback stops; return the history."""
        s = self.state
        s.should_stop, s.aborted = False, False
        self._fire("on_fit_start")
        try:
            while s.epoch < self.max_epochs and not s.should_stop:
                self._train_epoch()
                if s.aborted:
                    break
                s.epoch += 1
                if self.val_loader is not None:
                    s.metrics.update(self.evaluate(self.val_loader))
                    self._fire("on_validation_end")
                record = {"epoch": s.epoch, "lr": self._epoch_lr}
                record.update({k: _as_float(v) for k, v in s.metrics.items()})
                s.history.append(record)
                self._fire("on_epoch_end")
        finally:
            self._fire("on_fit_end")
        return s.history

    def _train_epoch(self):
        s, k = self.state, self.grad_accumulation
        self.model.train()
        for m in self.metrics:
            m.reset()
        s.metrics = {}
        self._epoch_lr = self.optimizer.param_groups[0]["lr"]
        self._fire("on_epoch_start")
        try:
            n_batches = len(self.train_loader)
        except TypeError:
            n_batches = None
        loss_sum, count, pending = 0.0, 0, 0
        self.optimizer.zero_grad()
        for i, batch in enumerate(self.train_loader):
            s.batch_index, s.batch = i, batch
            self._fire("on_batch_start")
            inputs, target = _split_batch(batch)
            output = self.model(*inputs)
            loss = self.loss_fn(output, target)
            s.loss, s.output = float(loss.item()), output
            (loss / k if k > 1 else loss).backward()
            pending += 1
            self._fire("on_after_backward")
            if s.aborted:
                break
            if pending == k or (n_batches is not None and i == n_batches - 1):
                self._optimizer_step(pending)
                pending = 0
            n = _batch_size(target)
            loss_sum += s.loss * n
            count += n
            detached = output.detach()
            for m in self.metrics:
                m.update(detached, target)
            s.iteration += 1
            self._fire("on_batch_end")
            if s.aborted:
                break
        else:
            if pending:
                self._optimizer_step(pending)
        s.batch, s.output = None, None
        s.metrics["loss"] = loss_sum / count if count else float("nan")
        for m in self.metrics:
            s.metrics[m.name] = m.compute()

    def _optimizer_step(self, pending):
        k = self.grad_accumulation
        if pending < k:  # a short last group: make it the mean over its own micro-batches
            with no_grad():
                for p in self.model.parameters():
                    if p.grad is not None:
                        p.grad.mul_(k / pending)
        self._fire("on_before_step")
        self.optimizer.step()
        self.state.step += 1
        self.optimizer.zero_grad()
        self._fire("on_after_step")

    def evaluate(self, loader, metrics=None, prefix="val_"):
        """Loss and metrics over `loader` in eval mode without autograd; the model's mode is
        restored afterwards. Keys are prefixed with `prefix`."""
        metrics = self.metrics if metrics is None else metrics
        was_training = self.model.training
        self.model.eval()
        for m in metrics:
            m.reset()
        loss_sum, count = 0.0, 0
        try:
            with no_grad():
                for batch in loader:
                    inputs, target = _split_batch(batch)
                    output = self.model(*inputs)
                    n = _batch_size(target)
                    loss_sum += float(self.loss_fn(output, target).item()) * n
                    count += n
                    for m in metrics:
                        m.update(output, target)
        finally:
            self.model.train(was_training)
        out = {f"{prefix}loss": loss_sum / count if count else float("nan")}
        for m in metrics:
            out[f"{prefix}{m.name}"] = m.compute()
        return out

    # ------------------------------------------------------------------ checkpoints

    def _callback_states(self):
        """{key: callback} with keys 'ClassName' (or 'ClassName#2', ... for repeats), so
        adding or removing a stateless callback does not shift the others' keys."""
        keys, seen = {}, {}
        for cb in self.callbacks:
            name = type(cb).__name__
            seen[name] = seen.get(name, 0) + 1
            keys[name if seen[name] == 1 else f"{name}#{seen[name]}"] = cb
        return keys

    def state_dict(self):
        """Everything needed to continue training exactly (see the module docstring)."""
        s = self.state
        rng = {"kindling": get_rng_state(),
               "loader": [g.get_state() for g in _generators(self.train_loader)],
               "numpy": _numpy_state(), "python": random.getstate()}
        return {"format": "kindling-trainer", "version": 1,
                "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "epoch": s.epoch, "iteration": s.iteration, "step": s.step,
                "history": s.history, "rng": rng,
                "callbacks": {key: cb.state_dict()
                              for key, cb in self._callback_states().items()}}

    def load_state_dict(self, state):
        if not isinstance(state, dict) or state.get("format") != "kindling-trainer":
            raise ValueError("Trainer.load_state_dict: not a kindling trainer checkpoint")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        s = self.state
        s.epoch, s.iteration, s.step = state["epoch"], state["iteration"], state["step"]
        s.history = list(state["history"])
        saved = {k: v for k, v in state["callbacks"].items() if v}  # stateless ones skipped
        mine = self._callback_states()
        missing = sorted(set(saved) - set(mine))
        if missing:
            raise ValueError(f"Trainer.load_state_dict: the checkpoint has state for callbacks "
                             f"{missing} that this trainer does not have (its callbacks: "
                             f"{sorted(mine)}); build the trainer with the same callbacks")
        for key, cb_state in saved.items():
            mine[key].load_state_dict(cb_state)
        rng = state["rng"]
        set_rng_state(rng["kindling"])
        gens = _generators(self.train_loader)
        if len(gens) != len(rng["loader"]):
            raise ValueError(f"Trainer.load_state_dict: the checkpoint has {len(rng['loader'])} "
                             f"data-loader generator state(s), this loader has {len(gens)}")
        for g, g_state in zip(gens, rng["loader"]):
            g.set_state(g_state)
        kind, keys, pos, has_gauss, gauss = rng["numpy"]
        np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))
        py = rng["python"]
        random.setstate((py[0], tuple(py[1]), py[2]))

    def save_checkpoint(self, path):
        """Write `state_dict()` atomically with `kindling.save`."""
        save(self.state_dict(), path)

    def resume(self, path):
        """Load a checkpoint written by `save_checkpoint`/`ModelCheckpoint`; the next `fit()`
        continues from its epoch up to `max_epochs`."""
        self.load_state_dict(load(path))
        return self


def fit(model, loss_fn, optimizer, train_loader, val_loader=None, **kwargs):
    """Functional shortcut: `Trainer(...).fit()`; returns the history."""
    return Trainer(model, loss_fn, optimizer, train_loader, val_loader, **kwargs).fit()


__all__ = ["Trainer", "TrainerState", "fit"]
