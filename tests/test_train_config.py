"""Config loading/validation and the run/resume/search entry points used by the CLI."""
import json
import os

import numpy as np
import pytest

import kindling as K
from kindling.train.config import (ConfigError, load_config, resume_run, run_from_config,
                                   search_from_config, validate_config)

MNIST_ROOT = "/work/shared/data/mnist"

TOML = """
seed = 1
[data]
dataset = "digits"
batch_size = 32
val_fraction = 0.25
[model]
name = "mlp"
hidden = [32]
dropout = 0.1
[optimizer]
name = "sgd"
lr = 0.1
momentum = 0.9
[scheduler]
name = "step"
params = {step_size = 1, gamma = 0.8}
[train]
max_epochs = 2
metrics = ["accuracy", "f1"]
[train.early_stopping]
patience = 3
"""


def write(tmp_path, text, name="run.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_load_toml_fills_defaults(tmp_path):
    cfg = load_config(write(tmp_path, TOML))
    assert cfg["seed"] == 1 and cfg["model"]["hidden"] == [32]
    assert cfg["optimizer"]["weight_decay"] == 0.0  # default
    assert cfg["train"]["early_stopping"] == {"patience": 3}
    assert cfg["scheduler"]["params"] == {"step_size": 1, "gamma": 0.8}


def test_load_yaml(tmp_path):
    pytest.importorskip("yaml")
    cfg = load_config(write(tmp_path, "seed: 3\nmodel:\n  hidden: [8, 8]\ntrain:\n"
                                      "  max_epochs: 1\n", "run.yaml"))
    assert cfg["seed"] == 3 and cfg["model"]["hidden"] == [8, 8]


@pytest.mark.parametrize("text,message", [
    ("[train]\nmax_epoch = 3\n",
     r"unknown config key 'train.max_epoch'; did you mean 'train.max_epochs'\?"),
    ("[dataa]\nbatch_size = 3\n", r"unknown config key 'dataa'; did you mean 'data'\?"),
    ("[train]\nmax_epochs = \"10\"\n",
     r"config key 'train.max_epochs': expected int, got str \('10'\)"),
    ("[train]\nmax_epochs = 2.5\n", r"'train.max_epochs': expected int, got float"),
    ("[optimizer]\nlr = true\n", r"'optimizer.lr': expected float, got bool"),
    ("[model]\nhidden = [32, \"a\"]\n", r"'model.hidden\[1\]': expected int, got str"),
    ("[model]\nhidden = 32\n", r"'model.hidden': expected list of int, got int"),
    ("data = 3\n", r"'data': expected a table"),
    ("[optimizer]\nname = \"adamx\"\n", r"'optimizer.name': 'adamx' is not one of"),
    ("[train.early_stopping]\npatiense = 2\n",
     r"unknown config key 'train.early_stopping.patiense'"),
    ("[data]\ndataset = \"mnist\"\n", r"'data.root': required"),
])
def test_validation_errors_name_key_and_type(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, text))


def test_int_accepted_as_float_and_unknown_format(tmp_path):
    assert validate_config({"optimizer": {"lr": 1}})["optimizer"]["lr"] == 1.0
    with pytest.raises(ConfigError, match="unknown config format"):
        load_config(write(tmp_path, "x", "run.ini"))


def digits_config(**train):
    train.setdefault("plot", False)
    return {"seed": 0, "data": {"dataset": "digits", "batch_size": 64, "val_fraction": 0.2},
            "model": {"name": "mlp", "hidden": [32], "dropout": 0.2},
            "optimizer": {"name": "adam", "lr": 0.01},
            "scheduler": {"name": "step", "params": {"step_size": 1, "gamma": 0.7}},
            "train": dict({"max_epochs": 3, "progress": False}, **train)}


def test_run_from_config_digits_writes_artifacts(tmp_path):
    run = run_from_config(digits_config(plot=True), tmp_path / "run")
    out = tmp_path / "run"
    for f in ("config.json", "metrics.csv", "curves.png", "report.json",
              "checkpoints/last.ckpt", "checkpoints/best.ckpt"):
        assert (out / f).exists(), f
    assert len(run["history"]) == 3
    assert run["history"][-1]["val_accuracy"] > 0.85
    assert [h["lr"] for h in run["history"]] == pytest.approx([0.01, 0.007, 0.0049])
    report = json.loads((out / "report.json").read_text())
    assert report["val_report"]["accuracy"] == pytest.approx(run["history"][-1]["val_accuracy"])
    assert set(report["val_report"]) >= {str(c) for c in range(10)}  # per-class metrics
    assert len((out / "metrics.csv").read_text().splitlines()) == 4


def test_config_options_act(tmp_path):
    """Options reach the run: class weights + focal loss, L1, max-norm, warm-up, clipping."""
    cfg = digits_config(max_epochs=1, loss="focal", class_weights=True, max_norm=0.5,
                        warmup_steps=3, clip_grad_norm=1.0)
    cfg["data"]["sampling"] = "undersample"
    run = run_from_config(cfg, tmp_path / "r")
    t = run["trainer"]
    names = [type(c).__name__ for c in t.callbacks]
    assert {"MaxNorm", "LRWarmup", "GradientClipping", "EarlyStopping"} - set(names) == \
        {"EarlyStopping"}
    assert type(t.loss_fn).__name__ == "FocalLoss" and t.loss_fn.alpha is not None
    w = t.model.layers[0].weight.detach().numpy()
    assert np.sqrt((w ** 2).sum(axis=1)).max() <= 0.5 + 1e-5


def test_resume_run_is_exact(tmp_path):
    full = run_from_config(digits_config(max_epochs=4), tmp_path / "full")
    run_from_config(digits_config(max_epochs=2), tmp_path / "part")
    K.manual_seed(999)
    resumed = resume_run(tmp_path / "part", max_epochs=4)
    a, b = full["trainer"].model.state_dict(), resumed["trainer"].model.state_dict()
    for k in a:
        np.testing.assert_array_equal(a[k].numpy(), b[k].numpy())
    assert [h["val_loss"] for h in resumed["history"]] == [h["val_loss"] for h in full["history"]]
    assert json.loads((tmp_path / "part" / "config.json").read_text())["train"]["max_epochs"] == 4
    with pytest.raises(FileNotFoundError, match="config.json"):
        resume_run(tmp_path / "nothing")


@pytest.mark.skipif(not os.path.exists(MNIST_ROOT), reason="MNIST data not available")
def test_run_from_config_mnist_lenet(tmp_path):
    cfg = {"data": {"dataset": "mnist", "root": MNIST_ROOT, "train_limit": 384,
                    "val_limit": 200, "val_fraction": 0.1, "batch_size": 32},
           "model": {"name": "lenet5"}, "optimizer": {"name": "adam", "lr": 0.003},
           "train": {"max_epochs": 2, "progress": False, "plot": False,
                     "metrics": ["accuracy"]}}
    run = run_from_config(cfg, tmp_path / "mnist")
    assert run["trainer"].state.iteration == 2 * 12
    assert run["history"][-1]["val_accuracy"] > 0.5  # far above chance after 24 steps


def test_search_from_config_grid_and_random(tmp_path):
    cfg = digits_config(max_epochs=1, plot=False)
    cfg["search"] = {"method": "grid", "space": {"model.hidden": [[8], [32]],
                                                 "optimizer.lr": [0.001, 0.01]}}
    res = search_from_config(cfg, tmp_path / "grid")
    rows = [json.loads(x) for x in (tmp_path / "grid" / "trials.jsonl").read_text().splitlines()]
    assert [r["params"] for r in rows] == [{"model.hidden": h, "optimizer.lr": lr}
                                           for h in ([8], [32]) for lr in (0.001, 0.01)]
    assert res.best_params == {"model.hidden": [32], "optimizer.lr": 0.01}
    best = json.loads((tmp_path / "grid" / "best.json").read_text())
    assert best["params"] == res.best_params and (tmp_path / "grid" / "trial_003").is_dir()
    cfg["search"] = {"method": "random", "n_trials": 2, "seed": 0,
                     "space": {"optimizer.lr": {"type": "loguniform", "low": 1e-3,
                                                "high": 1e-1}}}
    res = search_from_config(cfg, tmp_path / "random")
    assert all(1e-3 <= t["params"]["optimizer.lr"] <= 1e-1 for t in res.trials)
    cfg["search"]["space"] = {"optimizer.rate": [1]}
    with pytest.raises(ConfigError, match="'optimizer.rate' is not a config key"):
        search_from_config(cfg, tmp_path / "bad")


def test_search_from_config_tpe(tmp_path):
    pytest.importorskip("optuna")
    cfg = digits_config(max_epochs=2, plot=False)
    cfg["search"] = {"method": "tpe", "n_trials": 3, "seed": 0,
                     "space": {"optimizer.lr": {"type": "loguniform", "low": 1e-3,
                                                "high": 1e-1}}}
    res = search_from_config(cfg, tmp_path / "tpe")
    assert len(res.trials) == 3 and res.best_value is not None
    rows = (tmp_path / "tpe" / "trials.jsonl").read_text().splitlines()
    assert all(len(json.loads(r)["intermediate"]) >= 1 for r in rows)  # per-epoch reports


@pytest.mark.parametrize("name", ["digits_mlp.toml", "mnist_lenet5.toml", "search_digits.toml"])
def test_example_configs_validate(name):
    path = os.path.join(os.path.dirname(__file__), "..", "experiments", "configs", name)
    cfg = load_config(path)
    assert cfg["train"]["max_epochs"] >= 1


def test_optional_extras_raise_clear_import_errors(tmp_path, monkeypatch):
    import sys
    from kindling.train import TensorBoardLogger
    from kindling.train.search import optuna_search
    for mod in ("yaml", "optuna", "tensorboardX"):
        monkeypatch.setitem(sys.modules, mod, None)  # import fails as if not installed
    with pytest.raises(ImportError, match=r"kindling\[yaml\]"):
        load_config(write(tmp_path, "seed: 1\n", "c.yaml"))
    with pytest.raises(ImportError, match=r"kindling\[search\]"):
        optuna_search(lambda p, t: 0.0, {"x": [1]}, n_trials=1)
    with pytest.raises(ImportError, match=r"kindling\[tensorboard\]"):
        TensorBoardLogger(tmp_path / "tb")
    cfg = load_config(write(tmp_path, "seed = 1\n"))  # TOML needs nothing extra
    assert cfg["seed"] == 1


def test_config_dropout_reaches_model(tmp_path):
    import kindling.nn as nn
    cfg = digits_config(max_epochs=1)
    cfg["model"]["dropout"] = 0.5
    model = run_from_config(cfg, tmp_path / "d")["trainer"].model
    drops = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    assert len(drops) == 1 and drops[0].p == 0.5
    x = K.randn(4, 64)
    model.train()
    assert not np.array_equal(model(x).detach().numpy(), model(x).detach().numpy())
    model.eval()
    np.testing.assert_array_equal(model(x).detach().numpy(), model(x).detach().numpy())
