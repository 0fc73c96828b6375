"""Run configurations: load and validate TOML/YAML files, train, resume and search from them.

These are the functions behind the command line:

    kindling train --config FILE [--out DIR]   ->  run_from_config(load_config(FILE), DIR)
    kindling train --resume RUN_DIR            ->  resume_run(RUN_DIR)
    kindling search FILE [--out DIR]           ->  search_from_config(load_config(FILE), DIR)

A config has these sections (all optional; defaults in `DEFAULTS`). Example (TOML)::

    seed = 0
    [data]
    dataset = "digits"          # "digits" (sklearn, 8x8) or "mnist" (needs root)
    batch_size = 64
    val_fraction = 0.2         # held out from the training set (seeded split)
    normalize = true            # mean/std from the training split only
    [model]
    name = "mlp"                # "mlp" or "lenet5"
    hidden = [64]
    dropout = 0.1
    [optimizer]
    name = "adamw"
    lr = 0.003
    weight_decay = 0.01
    [scheduler]
    name = "cosine"             # step, multistep, exponential, cosine, cosine_restarts, plateau,
    params = {T_max = 10}       #   linear, onecycle; params go to the scheduler's constructor
    [train]
    max_epochs = 10
    [train.early_stopping]
    patience = 3
    [search]                    # only for `kindling search`
    method = "random"           # grid, random, tpe (optuna)
    n_trials = 8
    space = {"optimizer.lr" = {type = "loguniform", low = 1e-4, high = 1e-1},
             "model.hidden" = [[32], [64]]}

Validation names the offending key with its full dotted path: unknown keys (with a close match
suggested), wrong types ("expected int, got str") and values outside a fixed set of choices.

A run directory holds `config.json` (the validated config), `checkpoints/last.ckpt` and
`best.ckpt`, `metrics.csv`, `curves.png`, `report.json` (final metrics and the per-class
report on the validation split) and, for searches, `trials.jsonl` and `best.json`.
"""
import copy
import difflib
import json
import os

import numpy as np

_ANY = object()

# A key's schema: a type, a tuple of types, ("list", type), a dict (a sub-section) or _ANY.
SCHEMA = {
    "seed": int,
    "data": {
        "dataset": str, "root": str, "batch_size": int, "val_fraction": float,
        "train_limit": int, "val_limit": int, "normalize": bool, "sampling": str,
    },
    "model": {
        "name": str, "hidden": ("list", int), "dropout": float, "activation": str,
        "norm": str,
    },
    "optimizer": {
        "name": str, "lr": float, "momentum": float, "weight_decay": float, "nesterov": bool,
        "betas": ("list", float),
    },
    "scheduler": {"name": str, "interval": str, "params": dict},
    "train": {
        "max_epochs": int, "grad_accumulation": int, "clip_grad_norm": float,
        "clip_grad_value": float, "loss": str, "label_smoothing": float, "focal_gamma": float,
        "class_weights": bool, "l1": float, "max_norm": float, "warmup_steps": int,
        "metrics": ("list", str), "progress": bool, "plot": bool, "tensorboard": bool,
        "checkpoint_monitor": str,
        "early_stopping": {"monitor": str, "mode": str, "patience": int, "min_delta": float,
                           "restore_best_weights": bool},
    },
    "search": {"method": str, "n_trials": int, "seed": int, "monitor": str, "mode": str,
               "pruning": bool, "space": dict},
}

CHOICES = {
    "data.dataset": ("digits", "mnist"),
    "data.sampling": ("none", "oversample", "undersample"),
    "model.name": ("mlp", "lenet5"),
    "model.norm": ("none", "batch", "layer"),
    "optimizer.name": ("sgd", "adam", "adamw", "rmsprop", "adagrad", "nadam", "radam"),
    "scheduler.name": ("none", "step", "multistep", "exponential", "cosine", "cosine_restarts",
                       "plateau", "linear", "onecycle"),
    "scheduler.interval": ("epoch", "batch"),
    "train.loss": ("cross_entropy", "focal"),
    "train.early_stopping.mode": ("min", "max"),
    "search.method": ("grid", "random", "tpe"),
    "search.mode": ("min", "max"),
}

DEFAULTS = {
    "seed": 0,
    "data": {"dataset": "digits", "batch_size": 64, "val_fraction": 0.2, "normalize": True,
             "sampling": "none"},
    "model": {"name": "mlp", "hidden": [64], "dropout": 0.0, "activation": "relu",
              "norm": "none"},
    "optimizer": {"name": "adam", "lr": 1e-3, "momentum": 0.0, "weight_decay": 0.0,
                  "nesterov": False},
    "scheduler": {"name": "none", "interval": "epoch", "params": {}},
    "train": {"max_epochs": 10, "grad_accumulation": 1, "loss": "cross_entropy",
              "label_smoothing": 0.0, "focal_gamma": 2.0, "class_weights": False, "l1": 0.0,
              "warmup_steps": 0, "metrics": ["accuracy", "f1"], "progress": True, "plot": True,
              "tensorboard": False, "checkpoint_monitor": "val_loss"},
    "search": {"method": "random", "n_trials": 8, "seed": 0, "monitor": "val_loss",
               "mode": "min", "pruning": True, "space": {}},
}


class ConfigError(ValueError):
    """A config file or dict that does not match the schema."""


def _type_name(t):
    if isinstance(t, tuple) and t and t[0] == "list":
        return f"list of {t[1].__name__}"
    if isinstance(t, dict):
        return "table (section)"
    return {dict: "table"}.get(t, getattr(t, "__name__", str(t)))


def _check_value(path, value, expected):
    def bad():
        raise ConfigError(f"config key {path!r}: expected {_type_name(expected)}, got "
                          f"{type(value).__name__} ({value!r})")
    if expected is _ANY:
        return value
    if isinstance(expected, tuple) and expected[0] == "list":
        if not isinstance(value, list):
            bad()
        return [_check_value(f"{path}[{i}]", v, expected[1]) for i, v in enumerate(value)]
    if expected is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            bad()
        return float(value)
    if expected is int:
        if isinstance(value, bool) or not isinstance(value, int):
            bad()
        return value
    if not isinstance(value, expected):
        bad()
    if path in CHOICES and value not in CHOICES[path]:
        raise ConfigError(f"config key {path!r}: {value!r} is not one of {list(CHOICES[path])}")
    return value


def _validate(section, schema, prefix):
    if not isinstance(section, dict):
        raise ConfigError(f"config key {prefix.rstrip('.') or '<root>'!r}: expected a table "
                          f"(section), got {type(section).__name__}")
    out = {}
    for key, value in section.items():
        path = prefix + str(key)
        if key not in schema:
            close = difflib.get_close_matches(str(key), list(schema), n=1)
            hint = f"; did you mean {prefix + close[0]!r}?" if close else ""
            raise ConfigError(f"unknown config key {path!r}{hint} (known keys"
                              f"{' in [' + prefix.rstrip('.') + ']' if prefix else ''}: "
                              f"{', '.join(sorted(schema))})")
        sub = schema[key]
        out[key] = _validate(value, sub, path + ".") if isinstance(sub, dict) else \
            _check_value(path, value, sub)
    return out


def _merge(base, over):
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and k not in ("params", "space"):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def validate_config(config):
    """Check `config` against `SCHEMA` and fill in `DEFAULTS`; returns a new dict."""
    checked = _validate(config, SCHEMA, "")
    full = _merge(DEFAULTS, checked)
    if full["data"]["dataset"] == "mnist" and "root" not in full["data"]:
        raise ConfigError("config key 'data.root': required for dataset 'mnist' (the folder "
                          "holding the MNIST IDX files)")
    if full["model"]["name"] == "lenet5" and full["data"]["dataset"] != "mnist":
        raise ConfigError("config key 'model.name': 'lenet5' needs 28x28 images "
                          "(data.dataset = 'mnist')")
    if not 0 <= full["data"]["val_fraction"] < 1:
        raise ConfigError(f"config key 'data.val_fraction': must be in [0, 1), got "
                          f"{full['data']['val_fraction']}")
    for key in ("batch_size",):
        if full["data"][key] < 1:
            raise ConfigError(f"config key 'data.{key}': must be >= 1")
    if full["train"]["max_epochs"] < 0:
        raise ConfigError("config key 'train.max_epochs': must be >= 0")
    return full


def load_config(path):
    """Read a .toml (stdlib tomllib) or .yaml/.yml (PyYAML, `pip install kindling[yaml]`)
    file and validate it."""
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext == ".toml":
        import tomllib
        with open(path, "rb") as f:
            try:
                data = tomllib.load(f)
            except tomllib.TOMLDecodeError as e:
                raise ConfigError(f"{path}: invalid TOML: {e}") from None
    elif ext in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise ImportError("YAML configs need PyYAML: pip install kindling[yaml] (or use a "
                              ".toml config)") from None
        with open(path) as f:
            try:
                data = yaml.safe_load(f) or {}
            except yaml.YAMLError as e:
                raise ConfigError(f"{path}: invalid YAML: {e}") from None
    elif ext == ".json":
        with open(path) as f:
            data = json.load(f)
    else:
        raise ConfigError(f"{path}: unknown config format {ext!r}; use .toml, .yaml/.yml or "
                          f".json")
    try:
        return validate_config(data)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None


def set_dotted(config, key, value):
    """Set `config['a']['b'] = value` for key 'a.b', checking the key and type against the
    schema."""
    parts = key.split(".")
    schema, node = SCHEMA, config
    for i, part in enumerate(parts):
        if not isinstance(schema, dict) or part not in schema:
            raise ConfigError(f"unknown config key {key!r}")
        if i == len(parts) - 1:
            sub = schema[part]
            if isinstance(sub, dict):
                raise ConfigError(f"config key {key!r} is a section, not a value")
            node[part] = _check_value(key, value, sub)
        else:
            schema = schema[part]
            node = node.setdefault(part, {})
    return config


# ----------------------------------------------------------------------------- building a run

def _load_data(cfg):
    """(x_train, y_train, x_val, y_val, num_classes) as NumPy arrays."""
    d = cfg["data"]
    if d["dataset"] == "digits":
        from sklearn.datasets import load_digits
        bunch = load_digits()
        x = (bunch.data / 16.0).astype(np.float32)  # (1797, 64)
        y = bunch.target.astype(np.int64)
    else:
        from ..vision.datasets import MNIST, as_tensors
        xt, yt = as_tensors(MNIST(d["root"], train=True))
        x, y = xt.numpy(), yt.numpy()  # (60000, 1, 28, 28)
        if cfg["model"]["name"] == "mlp":
            x = x.reshape(len(x), -1)
    rng = np.random.default_rng(cfg["seed"])
    perm = rng.permutation(len(x))
    n_val = int(round(len(x) * d["val_fraction"]))
    val_idx, train_idx = perm[:n_val], perm[n_val:]
    if d.get("train_limit"):
        train_idx = train_idx[:d["train_limit"]]
    if d.get("val_limit"):
        val_idx = val_idx[:d["val_limit"]]
    return x[train_idx], y[train_idx], x[val_idx], y[val_idx], 10


def _make_optimizer(cfg, params):
    from .. import optim
    o = cfg["optimizer"]
    name, lr, wd = o["name"], o["lr"], o["weight_decay"]
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=o["momentum"], weight_decay=wd,
                         nesterov=o["nesterov"])
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr, momentum=o["momentum"], weight_decay=wd)
    if name == "adagrad":
        return optim.Adagrad(params, lr=lr, weight_decay=wd)
    cls = {"adam": optim.Adam, "adamw": optim.AdamW, "nadam": optim.NAdam,
           "radam": optim.RAdam}[name]
    kwargs = {"betas": tuple(o["betas"])} if "betas" in o else {}
    return cls(params, lr=lr, weight_decay=wd, **kwargs)


def _make_scheduler(cfg, optimizer, steps_per_epoch):
    from ..optim import lr_scheduler as S
    s = cfg["scheduler"]
    classes = {"step": S.StepLR, "multistep": S.MultiStepLR, "exponential": S.ExponentialLR,
               "cosine": S.CosineAnnealingLR, "cosine_restarts": S.CosineAnnealingWarmRestarts,
               "plateau": S.ReduceLROnPlateau, "linear": S.LinearLR, "onecycle": S.OneCycleLR}
    if s["name"] == "none":
        return None
    params = dict(s["params"])
    if s["name"] == "cosine" and "T_max" not in params:
        params["T_max"] = cfg["train"]["max_epochs"] * (
            steps_per_epoch if s["interval"] == "batch" else 1)
    if s["name"] == "onecycle":
        params.setdefault("max_lr", cfg["optimizer"]["lr"])
        params.setdefault("total_steps", cfg["train"]["max_epochs"] * steps_per_epoch)
    try:
        return classes[s["name"]](optimizer, **params)
    except TypeError as e:
        raise ConfigError(f"config key 'scheduler.params': {e}") from None


def build_run(config, out_dir, extra_callbacks=(), progress=None):
    """Build (trainer, info) from a validated config: data, model, optimizer, scheduler, loss
    and callbacks writing into `out_dir`. Consumes the random streams in a fixed order after
    seeding, so building twice gives identical trainers."""
    from .. import manual_seed, nn
    from .. import models as kmodels
    from .. import from_numpy as _make
    from ..utils.data import DataLoader, Subset, TensorDataset
    from . import callbacks as cb
    from .imbalance import FocalLoss, balanced_sampler, class_weights, undersample_indices
    from .metrics import get_metric
    from .regularization import L1Penalty, MaxNorm, Normalizer
    from .trainer import Trainer

    cfg = config
    manual_seed(cfg["seed"])
    xtr, ytr, xva, yva, num_classes = _load_data(cfg)
    if cfg["data"]["normalize"]:
        norm = Normalizer.fit(xtr)  # training split only
        xtr, xva = norm(xtr).numpy(), norm(xva).numpy()
    m = cfg["model"]
    if m["name"] == "mlp":
        model = kmodels.MLP(int(np.prod(xtr.shape[1:])), m["hidden"], num_classes,
                            activation=m["activation"], dropout=m["dropout"],
                            norm=None if m["norm"] == "none" else m["norm"])
    else:
        model = kmodels.LeNet5(num_classes=num_classes)
    optimizer = _make_optimizer(cfg, model.parameters())

    d, t = cfg["data"], cfg["train"]
    train_ds = TensorDataset(_make(xtr), _make(ytr))
    if d["sampling"] == "oversample":
        train_loader = DataLoader(train_ds, batch_size=d["batch_size"],
                                  sampler=balanced_sampler(ytr))
    elif d["sampling"] == "undersample":
        train_loader = DataLoader(Subset(train_ds, undersample_indices(ytr, cfg["seed"])),
                                  batch_size=d["batch_size"], shuffle=True)
    else:
        train_loader = DataLoader(train_ds, batch_size=d["batch_size"], shuffle=True)
    val_loader = (DataLoader(TensorDataset(_make(xva), _make(yva)), batch_size=512)
                  if len(yva) else None)

    weight = class_weights(ytr, num_classes) if t["class_weights"] else None
    if t["loss"] == "focal":
        loss_fn = FocalLoss(gamma=t["focal_gamma"], alpha=weight)
    else:
        loss_fn = nn.CrossEntropyLoss(weight=weight, label_smoothing=t["label_smoothing"])

    scheduler = _make_scheduler(cfg, optimizer, len(train_loader))
    ckpt_dir = os.path.join(out_dir, "checkpoints")
    monitor = t["checkpoint_monitor"] if val_loader is not None else "loss"
    callbacks = [cb.ModelCheckpoint(ckpt_dir, monitor=monitor,
                                    mode="max" if "acc" in monitor or "f1" in monitor else "min"),
                 cb.CSVLogger(os.path.join(out_dir, "metrics.csv"))]
    if t["plot"]:
        callbacks.append(cb.CurvePlotter(os.path.join(out_dir, "curves.png")))
    if t["tensorboard"]:
        callbacks.append(cb.TensorBoardLogger(os.path.join(out_dir, "tensorboard")))
    if "early_stopping" in t:
        es = dict({"monitor": "val_loss", "mode": "min", "patience": 5, "min_delta": 0.0,
                   "restore_best_weights": False}, **t["early_stopping"])
        callbacks.append(cb.EarlyStopping(**es))
    if t["l1"] > 0:
        callbacks.append(L1Penalty(t["l1"]))
    if t.get("max_norm"):
        callbacks.append(MaxNorm(t["max_norm"]))
    if t["warmup_steps"] > 0:
        callbacks.append(cb.LRWarmup(t["warmup_steps"]))
    callbacks.extend(extra_callbacks)
    metrics = [get_metric(name, num_classes) for name in t["metrics"]]
    trainer = Trainer(model, loss_fn, optimizer, train_loader, val_loader, scheduler=scheduler,
                      scheduler_interval=cfg["scheduler"]["interval"], metrics=metrics,
                      callbacks=callbacks, max_epochs=t["max_epochs"],
                      grad_accumulation=t["grad_accumulation"],
                      clip_grad_norm=t.get("clip_grad_norm"),
                      clip_grad_value=t.get("clip_grad_value"),
                      progress=(None if t["progress"] else False) if progress is None
                      else progress)
    info = {"x_val": xva, "y_val": yva, "num_classes": num_classes, "out_dir": out_dir}
    return trainer, info


def _finish(trainer, info, config):
    from .. import from_numpy as _make
    from .metrics import classification_report
    from .semi_supervised import predict_proba
    out = {"epochs": trainer.state.epoch, "iterations": trainer.state.iteration,
           "stop_reason": trainer.state.stop_reason,
           "final": {k: v for k, v in (trainer.history[-1] if trainer.history else {}).items()
                     if isinstance(v, (int, float))}}
    if len(info["y_val"]):
        probs = predict_proba(trainer.model, _make(info["x_val"]))
        rep = classification_report(probs, info["y_val"], info["num_classes"])
        out["val_report"] = {k: v for k, v in rep.items() if k != "text"}
        out["val_report_text"] = rep["text"]
    with open(os.path.join(info["out_dir"], "report.json"), "w") as f:
        json.dump(out, f, indent=2, default=float)
    return {"history": trainer.history, "trainer": trainer, "report": out,
            "out_dir": info["out_dir"], "config": config}


def run_from_config(config, out_dir, extra_callbacks=(), progress=None):
    """Train from a config (a dict, validated here, or a path) into `out_dir`. Returns a dict
    with 'history', 'trainer', 'report' (also written to report.json) and 'out_dir'."""
    if isinstance(config, (str, os.PathLike)):
        config = load_config(config)
    else:
        config = validate_config(config)
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    trainer, info = build_run(config, out_dir, extra_callbacks, progress)
    trainer.fit()
    return _finish(trainer, info, config)


def resume_run(run_dir, max_epochs=None, progress=None):
    """Continue a run made by `run_from_config` from `RUN_DIR/checkpoints/last.ckpt`, up to
    the config's `train.max_epochs` (or `max_epochs`, to extend it). Exact: the result equals
    an uninterrupted run."""
    run_dir = os.fspath(run_dir)
    path = os.path.join(run_dir, "config.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"resume_run: {path} not found; is {run_dir!r} a run directory "
                                f"made by `kindling train --config`?")
    with open(path) as f:
        config = validate_config(json.load(f))
    if max_epochs is not None:
        config["train"]["max_epochs"] = int(max_epochs)
        with open(path, "w") as f:
            json.dump(config, f, indent=2)
    ckpt = os.path.join(run_dir, "checkpoints", "last.ckpt")
    if not os.path.exists(ckpt):
        raise FileNotFoundError(f"resume_run: no checkpoint at {ckpt}")
    trainer, info = build_run(config, run_dir, progress=progress)
    trainer.resume(ckpt)
    trainer.fit()
    return _finish(trainer, info, config)


def search_from_config(config, out_dir, progress=False):
    """Hyperparameter search described by the config's [search] section: each trial is a
    `run_from_config` of the config with the trial's dotted-key overrides, in
    `out_dir/trial_NNN`; trials are logged to `out_dir/trials.jsonl`, the best to
    `out_dir/best.json`. The trial's value is the best `search.monitor` over its epochs; with
    method 'tpe' and pruning, bad trials stop early. Returns a `search.SearchResult`."""
    from .search import parse_space, search
    if isinstance(config, (str, os.PathLike)):
        config = load_config(config)
    else:
        config = validate_config(config)
    s = config["search"]
    space = parse_space(s["space"])
    if not space:
        raise ConfigError("config key 'search.space': empty; give the parameters to search, "
                          "e.g. \"optimizer.lr\" = [0.001, 0.01]")
    for key in space:
        _check_key(key)
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    log_path = os.path.join(out_dir, "trials.jsonl")
    if os.path.exists(log_path):
        os.remove(log_path)
    monitor, mode = s["monitor"], s["mode"]

    def objective(params, trial):
        cfg = copy.deepcopy(config)
        for key, value in params.items():
            set_dotted(cfg, key, value)
        cfg = validate_config(cfg)
        run = run_from_config(cfg, os.path.join(out_dir, f"trial_{trial.number:03d}"),
                              extra_callbacks=[trial.callback(monitor)], progress=progress)
        values = [h[monitor] for h in run["history"] if monitor in h]
        if not values:
            return float("nan")
        return (min if mode == "min" else max)(values)

    result = search(objective, space, method=s["method"], n_trials=s["n_trials"],
                    seed=s["seed"], log_path=log_path, mode=mode, pruning=s["pruning"])
    with open(os.path.join(out_dir, "best.json"), "w") as f:
        json.dump({"params": result.best_params, "value": result.best_value,
                   "trial": None if result.best_trial is None else result.best_trial["trial"],
                   "monitor": monitor, "mode": mode}, f, indent=2)
    return result


def _check_key(key):
    """Raise ConfigError unless `key` names a value in the schema."""
    schema = SCHEMA
    for part in key.split("."):
        if not isinstance(schema, dict) or part not in schema:
            raise ConfigError(f"config key 'search.space': {key!r} is not a config key")
        schema = schema[part]
    if isinstance(schema, dict):
        raise ConfigError(f"config key 'search.space': {key!r} is a section, not a value")


__all__ = ["ConfigError", "SCHEMA", "DEFAULTS", "load_config", "validate_config",
           "set_dotted", "build_run", "run_from_config", "resume_run", "search_from_config"]
