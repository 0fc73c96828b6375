"""Callbacks: everything the training loop does besides forward, backward and step.

The `Trainer` fires these events, in this order, to every callback (sorted by `order`, then in
the order given):

    on_fit_start
      on_epoch_start                       state.epoch = epochs completed so far
        on_batch_start                     state.batch = the batch
        on_after_backward                  after each micro-batch's backward; state.loss set
        on_before_step / on_after_step     around each optimizer step (once per
                                           `grad_accumulation` micro-batches)
        on_batch_end                       state.iteration = batches seen so far
      on_validation_end                    state.epoch incremented; state.metrics has val_*
      on_epoch_end                         state.history[-1] is this epoch's record
    on_fit_end

Each callback has a `trigger` (Chainer's idea): `Trigger(n, "epoch")` runs its on_epoch_end and
on_validation_end only every n epochs, `Trigger(n, "iteration")` runs its on_batch_end only
every n iterations; the other events always run. A trigger can be given as an int (epochs) or a
tuple `(n, "epoch" | "iteration")`.

A callback with state that must survive a resume (EarlyStopping's best value, a scheduler, ...)
implements `state_dict()` / `load_state_dict()`; the Trainer stores them in its checkpoint.
"""
import csv
import math
import os
import sys

import numpy as np



class Trigger:
    """When a callback's periodic events run: every `every` epochs or iterations."""

    def __init__(self, every=1, unit="epoch"):
        if unit not in ("epoch", "iteration"):
            raise ValueError(f"Trigger: unit must be 'epoch' or 'iteration', got {unit!r}")
        if int(every) < 1:
            raise ValueError(f"Trigger: every must be >= 1, got {every}")
        self.every, self.unit = int(every), unit

    @classmethod
    def parse(cls, spec):
        if spec is None:
            return cls()
        if isinstance(spec, Trigger):
            return spec
        if isinstance(spec, int):
            return cls(spec, "epoch")
        every, unit = spec
        return cls(every, unit)

    def fires(self, event, state):
        if event in ("on_epoch_end", "on_validation_end"):
            return self.unit != "epoch" or state.epoch % self.every == 0
        if event == "on_batch_end":
            return self.unit != "iteration" or state.iteration % self.every == 0
        return True

    def __repr__(self):
        return f"Trigger({self.every}, {self.unit!r})"


class Callback:
    """Base class: override the events you need. `order` sorts callbacks (lower runs first;
    checkpointing runs last so it saves what the others did)."""
    order = 0

    def __init__(self, trigger=None):
        self.trigger = Trigger.parse(trigger)

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass

    # events (all receive the trainer)
    def on_fit_start(self, trainer): pass
    def on_fit_end(self, trainer): pass
    def on_epoch_start(self, trainer): pass
    def on_epoch_end(self, trainer): pass
    def on_batch_start(self, trainer): pass
    def on_after_backward(self, trainer): pass
    def on_before_step(self, trainer): pass
    def on_after_step(self, trainer): pass
    def on_batch_end(self, trainer): pass
    def on_validation_end(self, trainer): pass


EVENTS = ("on_fit_start", "on_fit_end", "on_epoch_start", "on_epoch_end", "on_batch_start",
          "on_after_backward", "on_before_step", "on_after_step", "on_batch_end",
          "on_validation_end")


class LambdaCallback(Callback):
    """A callback from functions: `LambdaCallback(on_epoch_end=lambda trainer: ...)`."""

    def __init__(self, trigger=None, order=0, **events):
        super().__init__(trigger)
        self.order = order
        for name, fn in events.items():
            if name not in EVENTS:
                raise ValueError(f"LambdaCallback: unknown event {name!r}; events: {EVENTS}")
            setattr(self, name, fn)


def _better(mode, value, best, min_delta):
    if best is None:
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta


def _monitored(trainer, monitor, who):
    metrics = trainer.state.metrics
    if monitor not in metrics:
        raise KeyError(f"{who}: monitored metric {monitor!r} is not in this epoch's metrics "
                       f"{sorted(k for k in metrics if np.ndim(metrics[k]) == 0)}")
    return float(metrics[monitor])


def _copy_state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by more than `min_delta` for `patience` epochs.

    An epoch improves when value < best - min_delta (mode 'min') or value > best + min_delta
    ('max'). After `patience` epochs in a row without improvement training stops at the end of
    that epoch (`stopped_epoch`). With `restore_best_weights` the model gets back the weights of
    the best epoch when training stops (or ends).
    """

    def __init__(self, monitor="val_loss", mode="min", patience=5, min_delta=0.0,
                 restore_best_weights=False, trigger=None):
        super().__init__(trigger)
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', got {mode!r}")
        self.monitor, self.mode, self.patience = monitor, mode, int(patience)
        self.min_delta, self.restore_best_weights = abs(float(min_delta)), restore_best_weights
        self.best, self.best_epoch, self.wait, self.stopped_epoch = None, 0, 0, 0
        self.best_weights = None

    def on_epoch_end(self, trainer):
        value = _monitored(trainer, self.monitor, "EarlyStopping")
        if _better(self.mode, value, self.best, self.min_delta):
            self.best, self.best_epoch, self.wait = value, trainer.state.epoch, 0
            if self.restore_best_weights:
                self.best_weights = _copy_state(trainer.model)
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = trainer.state.epoch
            trainer.stop(f"early stopping: {self.monitor} did not improve for {self.patience} "
                         f"epochs (best {self.best:.6g} at epoch {self.best_epoch})")

    def on_fit_end(self, trainer):
        if self.restore_best_weights and self.best_weights is not None:
            trainer.model.load_state_dict(self.best_weights)

    def state_dict(self):
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
                "stopped_epoch": self.stopped_epoch, "best_weights": self.best_weights}

    def load_state_dict(self, state):
        self.best, self.best_epoch = state["best"], state["best_epoch"]
        self.wait, self.stopped_epoch = state["wait"], state["stopped_epoch"]
        self.best_weights = state["best_weights"]


class ModelCheckpoint(Callback):
    """Save full trainer checkpoints (model, optimizer, schedulers, RNG, counters, callback
    states) with `kindling.save` (atomic: temp file + rename) into `dirpath`:
    `last.ckpt` after every triggered epoch, and `best.ckpt` when `monitor` improves.
    `Trainer.resume(path)` continues from either file."""
    order = 100

    def __init__(self, dirpath, monitor="val_loss", mode="min", save_best=True, save_last=True,
                 trigger=None):
        super().__init__(trigger)
        self.dirpath, self.monitor, self.mode = os.fspath(dirpath), monitor, mode
        self.save_best, self.save_last = save_best, save_last
        self.best, self.best_path, self.last_path = None, None, None

    def on_epoch_end(self, trainer):
        os.makedirs(self.dirpath, exist_ok=True)
        if self.save_best and self.monitor is not None:
            value = _monitored(trainer, self.monitor, "ModelCheckpoint")
            if _better(self.mode, value, self.best, 0.0):
                self.best = value
                self.best_path = os.path.join(self.dirpath, "best.ckpt")
                trainer.save_checkpoint(self.best_path)
        if self.save_last:
            self.last_path = os.path.join(self.dirpath, "last.ckpt")
            trainer.save_checkpoint(self.last_path)

    def state_dict(self):
        return {"best": self.best}

    def load_state_dict(self, state):
        self.best = state["best"]


class LRSchedulerCallback(Callback):
    """Step an `optim.lr_scheduler` scheduler every epoch (`interval='epoch'`, after validation)
    or after every optimizer step (`interval='batch'`). `ReduceLROnPlateau` is stepped with the
    value of `monitor` (default 'val_loss', or 'loss' when there is no validation set)."""
    order = -5

    def __init__(self, scheduler, interval="epoch", monitor=None, trigger=None):
        super().__init__(trigger)
        if interval not in ("epoch", "batch"):
            raise ValueError(f"LRSchedulerCallback: interval must be 'epoch' or 'batch', got "
                             f"{interval!r}")
        self.scheduler, self.interval, self.monitor = scheduler, interval, monitor

    def _step(self, trainer):
        from ..optim.lr_scheduler import ReduceLROnPlateau
        if isinstance(self.scheduler, ReduceLROnPlateau):
            monitor = self.monitor or ("val_loss" if "val_loss" in trainer.state.metrics
                                       else "loss")
            self.scheduler.step(_monitored(trainer, monitor, "LRSchedulerCallback"))
        else:
            self.scheduler.step()

    def on_after_step(self, trainer):
        if self.interval == "batch":
            self._step(trainer)

    def on_epoch_end(self, trainer):
        if self.interval == "epoch":
            self._step(trainer)

    def state_dict(self):
        return {"scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state):
        self.scheduler.load_state_dict(state["scheduler"])


class LRWarmup(Callback):
    """Linear learning-rate warm-up over the first `warmup_steps` optimizer steps.

    Before optimizer step s (0-based, s < warmup_steps) every group's lr is
    `base_lr * (start_factor + (1 - start_factor) * s / warmup_steps)`; from step
    `warmup_steps` on the group gets its base lr back and other schedulers take over. Base lrs
    are the groups' lrs when training starts."""
    order = -6

    def __init__(self, warmup_steps, start_factor=0.0):
        super().__init__()
        if warmup_steps < 1:
            raise ValueError(f"LRWarmup: warmup_steps must be >= 1, got {warmup_steps}")
        self.warmup_steps, self.start_factor = int(warmup_steps), float(start_factor)
        self.base_lrs = None

    def on_fit_start(self, trainer):
        if self.base_lrs is None:
            self.base_lrs = [g["lr"] for g in trainer.optimizer.param_groups]

    def on_before_step(self, trainer):
        s = trainer.state.step
        if s > self.warmup_steps:
            return
        f = 1.0 if s == self.warmup_steps else \
            self.start_factor + (1 - self.start_factor) * s / self.warmup_steps
        for g, base in zip(trainer.optimizer.param_groups, self.base_lrs):
            g["lr"] = base * f

    def state_dict(self):
        return {"base_lrs": self.base_lrs}

    def load_state_dict(self, state):
        self.base_lrs = state["base_lrs"]


class GradientClipping(Callback):
    """Clip gradients before each optimizer step: to total norm `max_norm` (of `norm_type`)
    and/or to [-max_value, max_value] elementwise. `last_norm` is the norm before clipping."""
    order = -10

    def __init__(self, max_norm=None, max_value=None, norm_type=2.0):
        super().__init__()
        if max_norm is None and max_value is None:
            raise ValueError("GradientClipping: give max_norm and/or max_value")
        self.max_norm, self.max_value, self.norm_type = max_norm, max_value, norm_type
        self.last_norm = None

    def on_before_step(self, trainer):
        from ..nn.utils import clip_grad_norm_, clip_grad_value_
        params = [p for p in trainer.model.parameters() if p.grad is not None]
        if self.max_value is not None:
            clip_grad_value_(params, self.max_value)
        if self.max_norm is not None:
            self.last_norm = float(clip_grad_norm_(params, self.max_norm, self.norm_type))


class NonFiniteError(RuntimeError):
    """Training produced a NaN or an infinity (in the loss, a gradient or a parameter)."""


class NonFiniteCheck(Callback):
    """Stop at the first NaN/Inf: in the loss (checked after each backward), in a gradient
    (before each step) or in a parameter (after each step). The message names the iteration
    and the loss or the first non-finite parameter. `action='raise'` (default) raises
    `NonFiniteError`; 'stop' ends training and keeps the message in `trainer.state.stop_reason`.
    """
    order = -20

    def __init__(self, action="raise"):
        super().__init__()
        if action not in ("raise", "stop"):
            raise ValueError(f"NonFiniteCheck: action must be 'raise' or 'stop', got {action!r}")
        self.action = action

    def _fail(self, trainer, what):
        s = trainer.state
        # inside a batch, the current iteration (1-based) is the completed count + 1
        msg = (f"{what} at iteration {s.iteration + 1} (epoch {s.epoch + 1}, batch "
               f"{s.batch_index + 1} of the epoch; {s.step} optimizer steps done)")
        if self.action == "raise":
            raise NonFiniteError(msg)
        trainer.stop(msg, abort=True)

    def on_after_backward(self, trainer):
        if not math.isfinite(trainer.state.loss):
            self._fail(trainer, f"non-finite loss ({trainer.state.loss})")

    def _first_bad(self, trainer, grads):
        for name, p in trainer.model.named_parameters():
            t = p.grad if grads else p
            if t is not None and not np.isfinite(t.detach().numpy()).all():
                return name
        return None

    def on_before_step(self, trainer):
        name = self._first_bad(trainer, grads=True)
        if name is not None:
            self._fail(trainer, f"non-finite gradient of parameter {name!r}")

    def on_after_step(self, trainer):
        name = self._first_bad(trainer, grads=False)
        if name is not None:
            self._fail(trainer, f"parameter {name!r} became non-finite after optimizer step "
                               f"{trainer.state.step}")


class ProgressBar(Callback):
    """A tqdm bar per epoch with the live loss. `enable=None` shows it only when `file`
    (default stdout) is a terminal; False never shows it."""
    order = 50

    def __init__(self, enable=None, file=None):
        super().__init__()
        self.enable, self.file, self.bar = enable, file, None

    def _on(self):
        if self.enable is not None:
            return bool(self.enable)
        f = self.file or sys.stdout
        return hasattr(f, "isatty") and f.isatty()

    def on_epoch_start(self, trainer):
        if not self._on():
            return
        from tqdm.auto import tqdm
        try:
            total = len(trainer.train_loader)
        except TypeError:
            total = None
        self.bar = tqdm(total=total, desc=f"epoch {trainer.state.epoch + 1}/"
                        f"{trainer.max_epochs}", file=self.file or sys.stdout, leave=True,
                        dynamic_ncols=True)

    def on_batch_end(self, trainer):
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{trainer.state.loss:.4f}", refresh=False)

    def on_epoch_end(self, trainer):
        if self.bar is not None:
            shown = {k: f"{v:.4f}" for k, v in trainer.state.history[-1].items()
                     if k != "epoch" and np.ndim(v) == 0 and isinstance(v, (int, float))}
            self.bar.set_postfix(shown, refresh=True)
            self.bar.close()
            self.bar = None

    def on_fit_end(self, trainer):  # an exception or an abort ended the epoch early
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _scalars(record):
    return {k: v for k, v in record.items()
            if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)}


class CSVLogger(Callback):
    """One CSV row of scalar metrics per (triggered) epoch. A fresh run rewrites the file; a
    resumed run appends to it."""
    order = 60

    def __init__(self, path, trigger=None):
        super().__init__(trigger)
        self.path, self.fields = os.fspath(path), None

    def on_fit_start(self, trainer):
        d = os.path.dirname(self.path)
        if d:
            os.makedirs(d, exist_ok=True)
        if trainer.state.epoch == 0 and os.path.exists(self.path):
            os.remove(self.path)
        if os.path.exists(self.path):
            with open(self.path, newline="") as f:
                header = next(csv.reader(f), None)
            self.fields = header

    def on_epoch_end(self, trainer):
        row = _scalars(trainer.state.history[-1])
        new = self.fields is None
        if new:
            self.fields = list(row)
        with open(self.path, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=self.fields, extrasaction="ignore")
            if new:
                w.writeheader()
            w.writerow(row)


class TensorBoardLogger(Callback):
    """Scalar metrics per epoch (and the batch loss every `batch_every` iterations) as
    TensorBoard event files, via tensorboardX (`pip install kindling[tensorboard]`)."""
    order = 60

    def __init__(self, log_dir, batch_every=None, trigger=None):
        super().__init__(trigger)
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            raise ImportError("TensorBoardLogger needs tensorboardX: pip install "
                              "kindling[tensorboard]") from None
        self.writer = SummaryWriter(os.fspath(log_dir))
        self.batch_every = batch_every

    def on_batch_end(self, trainer):
        if self.batch_every and trainer.state.iteration % self.batch_every == 0:
            self.writer.add_scalar("batch/loss", trainer.state.loss, trainer.state.iteration)

    def on_epoch_end(self, trainer):
        for k, v in _scalars(trainer.state.history[-1]).items():
            if k != "epoch":
                self.writer.add_scalar(f"epoch/{k}", float(v), trainer.state.epoch)
        self.writer.flush()

    def on_fit_end(self, trainer):
        self.writer.close()


def plot_history(history, path, keys=None):
    """Write training curves (loss panel, plus a panel for the other scalar metrics) to a PNG
    with matplotlib's Agg canvas (no display, no global backend change)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    rows = [_scalars(r) for r in history]
    names = keys or sorted({k for r in rows for k in r if k not in ("epoch", "lr")})
    losses = [k for k in names if "loss" in k]
    others = [k for k in names if "loss" not in k]
    panels = [p for p in (losses, others) if p]
    fig = Figure(figsize=(5 * max(len(panels), 1), 3.5))
    FigureCanvasAgg(fig)
    for i, group in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        for k in group:
            pts = [(r.get("epoch", j + 1), r[k]) for j, r in enumerate(rows) if k in r]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=k)
        ax.set_xlabel("epoch")
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    tmp = os.fspath(path) + ".tmp.png"
    fig.savefig(tmp, format="png", dpi=80)
    os.replace(tmp, path)


class CurvePlotter(Callback):
    """Draw the training-curve PNG at `path` when training ends and, with `live=True`, also
    every (triggered) epoch (about a second per drawing: keep it off for short epochs)."""
    order = 60

    def __init__(self, path, keys=None, live=False, trigger=None):
        super().__init__(trigger)
        self.path, self.keys, self.live = os.fspath(path), keys, live

    def on_epoch_end(self, trainer):
        if self.live:
            plot_history(trainer.state.history, self.path, self.keys)

    def on_fit_end(self, trainer):
        if trainer.state.history:
            plot_history(trainer.state.history, self.path, self.keys)


__all__ = ["Trigger", "Callback", "LambdaCallback", "EarlyStopping", "ModelCheckpoint",
           "LRSchedulerCallback", "LRWarmup", "GradientClipping", "NonFiniteCheck",
           "NonFiniteError", "ProgressBar", "CSVLogger", "TensorBoardLogger", "CurvePlotter",
           "plot_history"]
