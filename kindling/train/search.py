"""Hyperparameter search: grid, random and Bayesian (TPE via optuna, with pruning).

A search space maps parameter names (e.g. dotted config keys "optimizer.lr") to
    - a list: the values to try (grid), or a uniform choice among them (random / TPE);
    - a distribution: `Uniform(low, high)`, `LogUniform(low, high)`, `IntUniform(low, high)`
      (inclusive), `Choice([...])`; in a config file `{type = "loguniform", low = 1e-4,
      high = 1e-1}` (see `parse_space`);
    - anything else: a constant.

The objective is `objective(params, trial) -> float` (lower is better with mode='min').
`trial.report(value, epoch)` hands the per-epoch validation value to the search; under optuna
with pruning it raises `TrialPruned` when the trial is worse than the median of earlier trials
at that epoch (optuna's `trial.report` / `trial.should_prune`). `trial.callback(monitor)` is
a Trainer callback that does this every epoch. Grid and random search never prune.

Every finished trial is appended to `log_path` (JSON Lines) as
`{"trial": i, "params": {...}, "value": v, "state": "complete"|"pruned"|"failed",
"intermediate": [[epoch, value], ...], "seconds": t}`.
"""
import itertools
import json
import math
import os
import time

import numpy as np

from .callbacks import Callback, _monitored


class TrialPruned(Exception):
    """Raised inside an objective to stop a trial that the search decided to prune."""


class Distribution:
    def sample(self, rng):
        raise NotImplementedError

    def suggest(self, trial, name):
        raise NotImplementedError


class Uniform(Distribution):
    def __init__(self, low, high):
        if not low < high:
            raise ValueError(f"Uniform: need low < high, got {low}, {high}")
        self.low, self.high = float(low), float(high)

    def sample(self, rng):
        return float(rng.uniform(self.low, self.high))

    def suggest(self, trial, name):
        return trial.suggest_float(name, self.low, self.high)

    def __repr__(self):
        return f"Uniform({self.low}, {self.high})"


class LogUniform(Uniform):
    """log(x) uniform on [log low, log high] (for learning rates, weight decay)."""

    def __init__(self, low, high):
        super().__init__(low, high)
        if low <= 0:
            raise ValueError(f"LogUniform: low must be > 0, got {low}")

    def sample(self, rng):
        return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))

    def suggest(self, trial, name):
        return trial.suggest_float(name, self.low, self.high, log=True)

    def __repr__(self):
        return f"LogUniform({self.low}, {self.high})"


class IntUniform(Distribution):
    """An integer uniform on [low, high], both included."""

    def __init__(self, low, high):
        if not int(low) <= int(high):
            raise ValueError(f"IntUniform: need low <= high, got {low}, {high}")
        self.low, self.high = int(low), int(high)

    def sample(self, rng):
        return int(rng.integers(self.low, self.high + 1))

    def suggest(self, trial, name):
        return trial.suggest_int(name, self.low, self.high)

    def __repr__(self):
        return f"IntUniform({self.low}, {self.high})"


class Choice(Distribution):
    def __init__(self, values):
        self.values = list(values)
        if not self.values:
            raise ValueError("Choice: no values")

    def sample(self, rng):
        return self.values[int(rng.integers(len(self.values)))]

    def suggest(self, trial, name):
        # optuna wants plain scalars as choices: pick an index for anything else
        if all(v is None or isinstance(v, (bool, int, float, str)) for v in self.values):
            return trial.suggest_categorical(name, self.values)
        return self.values[trial.suggest_categorical(name + "#index",
                                                     list(range(len(self.values))))]

    def __repr__(self):
        return f"Choice({self.values})"


_KINDS = {"uniform": Uniform, "loguniform": LogUniform, "int": IntUniform}


def parse_space(spec):
    """A search space from config data: lists stay lists, `{type, low, high}` tables become
    distributions (`type` one of uniform, loguniform, int, choice with `values`)."""
    space = {}
    for name, v in spec.items():
        if isinstance(v, dict):
            kind = v.get("type")
            extra = set(v) - {"type", "low", "high", "values"}
            if extra:
                raise ValueError(f"search space {name!r}: unknown keys {sorted(extra)}")
            if kind == "choice":
                space[name] = Choice(v["values"])
            elif kind in _KINDS:
                if "low" not in v or "high" not in v:
                    raise ValueError(f"search space {name!r}: type {kind!r} needs low and high")
                space[name] = _KINDS[kind](v["low"], v["high"])
            else:
                raise ValueError(f"search space {name!r}: type must be one of "
                                 f"{sorted(_KINDS) + ['choice']}, got {kind!r}")
        else:
            space[name] = v
    return space


class Trial:
    """What the objective receives: `number`, `params`, `report(value, epoch)`,
    `callback(monitor)`."""

    def __init__(self, number, params, optuna_trial=None):
        self.number, self.params = number, params
        self.intermediate = []
        self._optuna = optuna_trial

    def report(self, value, epoch):
        value = float(value)
        self.intermediate.append([int(epoch), value])
        if self._optuna is not None:
            self._optuna.report(value, int(epoch))
            if self._optuna.should_prune():
                raise TrialPruned(f"trial {self.number} pruned at epoch {epoch} "
                                  f"(value {value:.6g})")

    def callback(self, monitor="val_loss"):
        """A Trainer callback reporting `monitor` at every epoch end (and pruning)."""
        trial = self

        class _Report(Callback):
            order = 90

            def on_epoch_end(self, trainer):
                trial.report(_monitored(trainer, monitor, "search"), trainer.state.epoch)
        return _Report()


class SearchResult:
    def __init__(self, trials, mode):
        self.trials, self.mode = trials, mode
        done = [t for t in trials if t["state"] == "complete" and t["value"] is not None
                and math.isfinite(t["value"])]
        best = (min if mode == "min" else max)(done, key=lambda t: t["value"]) if done else None
        self.best_trial = best
        self.best_params = best["params"] if best else None
        self.best_value = best["value"] if best else None

    def __repr__(self):
        return (f"SearchResult({len(self.trials)} trials, best {self.best_value} with "
                f"{self.best_params})")


def _jsonable(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    return v


def _run_trial(objective, number, params, log_path, optuna_trial=None):
    trial = Trial(number, params, optuna_trial)
    start = time.perf_counter()
    state, value, error = "complete", None, None
    try:
        value = float(objective(params, trial))
    except TrialPruned:
        state = "pruned"
    except Exception as e:  # a failing trial is logged, then re-raised
        state, error = "failed", f"{type(e).__name__}: {e}"
        raise
    finally:
        record = {"trial": number, "params": _jsonable(params), "value": value, "state": state,
                  "intermediate": trial.intermediate,
                  "seconds": round(time.perf_counter() - start, 4)}
        if error:
            record["error"] = error
        if log_path is not None:
            d = os.path.dirname(os.fspath(log_path))
            if d:
                os.makedirs(d, exist_ok=True)
            with open(log_path, "a") as f:
                f.write(json.dumps(record) + "\n")
    return record


def grid(space):
    """All combinations (the Cartesian product) of the list-valued entries, in order (the last
    key varies fastest); non-list values are constants."""
    names = list(space)
    for name, v in space.items():
        if isinstance(v, Distribution):
            raise ValueError(f"grid: {name!r} is a distribution {v!r}; grid search needs lists")
    axes = [space[n] if isinstance(space[n], list) else [space[n]] for n in names]
    return [dict(zip(names, combo)) for combo in itertools.product(*axes)]


def grid_search(objective, space, log_path=None, mode="min"):
    trials = [_run_trial(objective, i, p, log_path) for i, p in enumerate(grid(space))]
    return SearchResult(trials, mode)


def sample(space, rng):
    """One random configuration: distributions sampled, lists chosen uniformly, constants kept
    (in the order of the space's keys, so a seed fixes the sequence)."""
    out = {}
    for name, v in space.items():
        if isinstance(v, Distribution):
            out[name] = v.sample(rng)
        elif isinstance(v, list):
            out[name] = Choice(v).sample(rng)
        else:
            out[name] = v
    return out


def random_search(objective, space, n_trials, seed=0, log_path=None, mode="min"):
    rng = np.random.default_rng(seed)
    trials = [_run_trial(objective, i, sample(space, rng), log_path) for i in range(n_trials)]
    return SearchResult(trials, mode)


def optuna_search(objective, space, n_trials, seed=0, log_path=None, mode="min", pruning=True,
                  n_startup_trials=2, n_warmup_steps=1):
    """TPE search through optuna (`pip install kindling[search]`); with `pruning`, a
    `MedianPruner(n_startup_trials, n_warmup_steps)` stops trials whose reported values are
    worse than the median of earlier trials at the same epoch."""
    try:
        import optuna
    except ImportError:
        raise ImportError("optuna_search needs optuna: pip install kindling[search]") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    pruner = (optuna.pruners.MedianPruner(n_startup_trials=n_startup_trials,
                                          n_warmup_steps=n_warmup_steps)
              if pruning else optuna.pruners.NopPruner())
    study = optuna.create_study(direction="minimize" if mode == "min" else "maximize",
                                sampler=optuna.samplers.TPESampler(seed=seed), pruner=pruner)
    trials = []

    def wrapped(ot):
        params = {}
        for name, v in space.items():
            if isinstance(v, Distribution):
                params[name] = v.suggest(ot, name)
            elif isinstance(v, list):
                params[name] = Choice(v).suggest(ot, name)
            else:
                params[name] = v
        record = _run_trial(objective, ot.number, params, log_path, ot)
        trials.append(record)
        if record["state"] == "pruned":
            raise optuna.TrialPruned()
        return record["value"]

    study.optimize(wrapped, n_trials=n_trials)
    result = SearchResult(trials, mode)
    result.study = study
    return result


def search(objective, space, method="random", n_trials=10, seed=0, log_path=None, mode="min",
           pruning=True):
    """Dispatch: method 'grid', 'random' or 'tpe'."""
    if method == "grid":
        return grid_search(objective, space, log_path, mode)
    if method == "random":
        return random_search(objective, space, n_trials, seed, log_path, mode)
    if method == "tpe":
        return optuna_search(objective, space, n_trials, seed, log_path, mode, pruning)
    raise ValueError(f"search: method must be 'grid', 'random' or 'tpe', got {method!r}")
