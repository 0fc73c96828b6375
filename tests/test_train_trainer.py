"""Trainer loop and callbacks: each test shows the option acting, not just running."""
import io
import math
import os

import numpy as np
import pytest

import kindling as K
import kindling.nn as nn
from kindling.optim import SGD, Adam
from kindling.optim.lr_scheduler import ReduceLROnPlateau, StepLR
from kindling.train import (Accuracy, Callback, CSVLogger, CurvePlotter, EarlyStopping,
                            LambdaCallback, LRSchedulerCallback, LRWarmup, ModelCheckpoint,
                            NonFiniteCheck, NonFiniteError, ProgressBar, Trainer, Trigger)
from kindling.utils.data import DataLoader, TensorDataset


def make_data(n=64, d=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64)
    return K.tensor(x), K.tensor(y)


def make_model(dropout=0.0, seed=0):
    K.manual_seed(seed)
    layers = [nn.Linear(4, 8), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(8, 2))
    return nn.Sequential(*layers)


def loaders(batch_size=16, shuffle=False, n=64):
    x, y = make_data(n)
    ds = TensorDataset(x, y)
    return DataLoader(ds, batch_size=batch_size, shuffle=shuffle), DataLoader(ds, batch_size=32)


def weights(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


class Recorder(Callback):
    def __init__(self, trigger=None):
        super().__init__(trigger)
        self.events = []

    def __getattribute__(self, name):
        if name.startswith("on_"):
            return lambda trainer: self.events.append((name, trainer.state.epoch,
                                                      trainer.state.iteration))
        return super().__getattribute__(name)


def test_counts_epochs_iterations_steps_with_accumulation():
    train, val = loaders(batch_size=8, n=80)  # 10 batches per epoch
    model = make_model()
    t = Trainer(model, nn.CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), train, val,
                max_epochs=3, grad_accumulation=3)
    hist = t.fit()
    assert [h["epoch"] for h in hist] == [1, 2, 3]
    assert t.state.iteration == 30
    assert t.state.step == 3 * 4  # groups of 3,3,3 and a leftover 1 per epoch
    assert {"loss", "val_loss", "lr"} <= set(hist[0])


def test_modes_and_no_grad_in_evaluation():
    seen = []

    class Probe(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 2)

        def forward(self, x):
            seen.append((self.training, K.is_grad_enabled()))
            return self.lin(x)

    train, val = loaders(batch_size=32)
    model = Probe()
    Trainer(model, nn.CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), train, val,
            max_epochs=1).fit()
    # 2 training batches in train mode with autograd, then 2 validation batches without
    assert seen == [(True, True)] * 2 + [(False, False)] * 2
    assert model.training  # mode restored after evaluation


def test_events_order_and_triggers():
    train, _ = loaders(batch_size=16)  # 4 batches
    model = make_model()
    every = Recorder()
    epoch2 = Recorder(trigger=(2, "epoch"))
    iter3 = Recorder(trigger=Trigger(3, "iteration"))
    Trainer(model, nn.CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), train,
            max_epochs=4, callbacks=[every, epoch2, iter3]).fit()
    names = [e[0] for e in every.events]
    assert names[0] == "on_fit_start" and names[-1] == "on_fit_end"
    assert names[1:7] == ["on_epoch_start", "on_batch_start", "on_after_backward",
                          "on_before_step", "on_after_step", "on_batch_end"]
    assert names.count("on_epoch_end") == 4 and names.count("on_batch_end") == 16
    assert [e[1] for e in epoch2.events if e[0] == "on_epoch_end"] == [2, 4]
    assert [e[2] for e in iter3.events if e[0] == "on_batch_end"] == [3, 6, 9, 12, 15]


def scripted(values):
    """A callback that overwrites 'score' with values[epoch - 1] before the others read it."""
    def put(trainer):
        trainer.state.metrics["score"] = values[trainer.state.epoch - 1]
    return LambdaCallback(on_epoch_end=put, order=-100)


class Snapshots(Callback):
    order = 200

    def __init__(self):
        super().__init__()
        self.w = []

    def on_epoch_end(self, trainer):
        self.w.append(weights(trainer.model))


@pytest.mark.parametrize("values,min_delta,stop_at,best_epoch", [
    ([5, 4, 3, 3.5, 3.2, 3.1, 2.0, 1.0], 0.0, 6, 3),
    ([5, 4, 3, 2.9, 2.95, 2.88, 1.0, 0.5], 0.15, 6, 3),
    ([5, 4, 3, 2, 1, 0.5, 0.4, 0.3], 0.0, None, 8),
])
def test_early_stopping_scripted(values, min_delta, stop_at, best_epoch):
    train, _ = loaders(batch_size=32)
    model = make_model()
    es = EarlyStopping("score", mode="min", patience=3, min_delta=min_delta,
                       restore_best_weights=True)
    snaps = Snapshots()
    t = Trainer(model, nn.CrossEntropyLoss(), SGD(model.parameters(), lr=0.2), train,
                max_epochs=8, callbacks=[scripted(values), es, snaps])
    hist = t.fit()
    assert len(hist) == (stop_at or 8)
    assert es.stopped_epoch == (stop_at or 0)
    assert es.best_epoch == best_epoch
    final = weights(model)
    for k in final:
        np.testing.assert_array_equal(final[k], snaps.w[best_epoch - 1][k])
    if stop_at:
        assert not np.array_equal(snaps.w[-1]["0.weight"], final["0.weight"])
        assert "early stopping" in t.state.stop_reason


def test_early_stopping_max_mode():
    train, _ = loaders(batch_size=32)
    model = make_model()
    es = EarlyStopping("score", mode="max", patience=2)
    t = Trainer(model, nn.CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), train,
                max_epochs=10, callbacks=[scripted([0.1, 0.5, 0.4, 0.45, 0.9, 1, 1, 1, 1, 1]),
                                          es])
    assert len(t.fit()) == 4 and es.best == 0.5


def test_model_checkpoint_best_and_last(tmp_path):
    train, val = loaders(batch_size=16)
    model = make_model()
    ck = ModelCheckpoint(tmp_path, monitor="score", mode="min")
    snaps = Snapshots()
    Trainer(model, nn.CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), train, val,
            max_epochs=4, callbacks=[scripted([3, 1, 2, 4]), ck, snaps]).fit()
    best, last = K.load(tmp_path / "best.ckpt"), K.load(tmp_path / "last.ckpt")
    assert best["epoch"] == 2 and last["epoch"] == 4
    np.testing.assert_array_equal(best["model"]["0.weight"].numpy(), snaps.w[1]["0.weight"])
    np.testing.assert_array_equal(last["model"]["0.weight"].numpy(), snaps.w[3]["0.weight"])
    assert not [p for p in os.listdir(tmp_path) if not p.endswith(".ckpt")]  # no temp files


def test_scheduler_per_epoch_and_per_batch():
    train, _ = loaders(batch_size=16)  # 4 steps per epoch
    model = make_model()
    opt = SGD(model.parameters(), lr=1.0)
    hist = Trainer(model, nn.CrossEntropyLoss(), opt, train, max_epochs=3,
                   scheduler=StepLR(opt, step_size=1, gamma=0.5)).fit()
    assert [h["lr"] for h in hist] == [1.0, 0.5, 0.25]
    model = make_model()
    opt = SGD(model.parameters(), lr=1.0)
    hist = Trainer(model, nn.CrossEntropyLoss(), opt, train, max_epochs=2,
                   scheduler=StepLR(opt, step_size=2, gamma=0.5),
                   scheduler_interval="batch").fit()
    assert [h["lr"] for h in hist] == [1.0, 0.25]  # 4 batch steps = 2 halvings per epoch


def test_reduce_lr_on_plateau_monitors_metric():
    train, _ = loaders(batch_size=32)
    model = make_model()
    opt = SGD(model.parameters(), lr=1.0)
    cb = LRSchedulerCallback(ReduceLROnPlateau(opt, mode="min", factor=0.1, patience=1),
                             monitor="score")
    hist = Trainer(model, nn.CrossEntropyLoss(), opt, train, max_epochs=6,
                   callbacks=[scripted([5, 4, 4, 4, 4, 4]), cb]).fit()
    # epoch 3 is the first bad one, epoch 4 exceeds patience 1 -> lr drops for epoch 5
    assert [h["lr"] for h in hist] == pytest.approx([1, 1, 1, 1, 0.1, 0.1])


def test_lr_warmup_sequence():
    train, _ = loaders(batch_size=8)  # 8 steps per epoch
    model = make_model()
    opt = SGD(model.parameters(), lr=0.4)
    lrs = []
    rec = LambdaCallback(on_before_step=lambda t: lrs.append(t.optimizer.param_groups[0]["lr"]),
                         order=0)
    Trainer(model, nn.CrossEntropyLoss(), opt, train, max_epochs=1,
            callbacks=[LRWarmup(4, start_factor=0.0), rec]).fit()
    assert lrs == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.4, 0.4, 0.4])


def grad_norm(model):
    return math.sqrt(sum(float((p.grad._array.astype(np.float64) ** 2).sum())
                         for p in model.parameters() if p.grad is not None))


@pytest.mark.parametrize("kind", ["norm", "value"])
def test_gradient_clipping_bounds(kind):
    train, _ = loaders(batch_size=16)
    model = make_model()
    before, after = [], []
    pre = LambdaCallback(on_before_step=lambda t: before.append(grad_norm(t.model)), order=-50)

    def post(t):
        after.append(grad_norm(t.model) if kind == "norm" else
                     max(float(np.abs(p.grad._array).max()) for p in t.model.parameters()))
    kwargs = {"clip_grad_norm": 0.05} if kind == "norm" else {"clip_grad_value": 0.01}
    Trainer(model, nn.CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), train,
            max_epochs=2, callbacks=[pre, LambdaCallback(on_before_step=post, order=0)],
            **kwargs).fit()
    bound = 0.05 if kind == "norm" else 0.01
    assert max(before) > 2 * bound  # clipping had something to do
    assert max(after) <= bound * (1 + 1e-5)


def test_gradient_accumulation_matches_big_batch():
    x, y = make_data(32)
    ds = TensorDataset(x, y)
    m1, m2 = make_model(seed=3), make_model(seed=3)
    Trainer(m1, nn.CrossEntropyLoss(), SGD(m1.parameters(), lr=0.5), DataLoader(ds, batch_size=8),
            max_epochs=1, grad_accumulation=4).fit()
    Trainer(m2, nn.CrossEntropyLoss(), SGD(m2.parameters(), lr=0.5), DataLoader(ds, batch_size=32),
            max_epochs=1).fit()
    w1, w2 = weights(m1), weights(m2)
    w0 = weights(make_model(seed=3))
    for k in w1:
        assert not np.allclose(w1[k], w0[k])
        np.testing.assert_allclose(w1[k], w2[k], rtol=1e-5, atol=1e-6)


def test_nan_at_step_k_stops_with_message():
    train, _ = loaders(batch_size=8)  # 8 batches per epoch
    model = make_model()
    calls = {"n": 0}
    base = nn.CrossEntropyLoss()

    def loss_fn(out, target):
        calls["n"] += 1
        loss = base(out, target)
        return loss * float("nan") if calls["n"] == 11 else loss
    t = Trainer(model, loss_fn, SGD(model.parameters(), lr=0.1), train, max_epochs=3)
    before = weights(model)
    with pytest.raises(NonFiniteError, match=r"non-finite loss \(nan\) at iteration 11 "
                                             r"\(epoch 2, batch 3"):
        t.fit()
    assert t.state.step == 10  # the NaN gradient was never applied
    assert all(np.isfinite(v).all() for v in weights(model).values())
    assert not np.array_equal(before["0.weight"], weights(model)["0.weight"])


def test_nonfinite_parameter_named_and_stop_action():
    train, _ = loaders(batch_size=16)
    model = make_model()

    def poison(t):
        if t.state.step == 2:
            t.model[2].bias._array[0] = np.inf
    t = Trainer(model, nn.CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), train,
                max_epochs=3, detect_nonfinite=False,
                callbacks=[LambdaCallback(on_after_step=poison, order=-30),
                           NonFiniteCheck(action="stop")])
    hist = t.fit()
    assert hist == [] and t.state.iteration == 2  # stopped during the 2nd batch
    assert "parameter '2.bias' became non-finite" in t.state.stop_reason
    assert "after optimizer step 2 at iteration 2" in t.state.stop_reason


def test_progress_bar_live_loss_and_quiet(capsys):
    train, _ = loaders(batch_size=16)
    model = make_model()
    buf = io.StringIO()
    Trainer(model, nn.CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), train,
            max_epochs=1, progress=False, callbacks=[ProgressBar(enable=True, file=buf)]).fit()
    assert "loss=" in buf.getvalue() and "4/4" in buf.getvalue()
    # default: stdout is captured (not a TTY) -> nothing is printed
    Trainer(model, nn.CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), train,
            max_epochs=1).fit()
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_csv_logger_plot_and_tensorboard(tmp_path):
    train, val = loaders(batch_size=16)
    model = make_model()
    cbs = [CSVLogger(tmp_path / "log.csv"), CurvePlotter(tmp_path / "curves.png")]
    try:
        from kindling.train import TensorBoardLogger
        cbs.append(TensorBoardLogger(tmp_path / "tb", batch_every=2))
        has_tb = True
    except ImportError:
        has_tb = False
    Trainer(model, nn.CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), train, val,
            metrics=[Accuracy()], max_epochs=3, callbacks=cbs).fit()
    lines = (tmp_path / "log.csv").read_text().splitlines()
    assert lines[0].split(",")[:3] == ["epoch", "lr", "loss"] and "val_accuracy" in lines[0]
    assert len(lines) == 4
    png = (tmp_path / "curves.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
    if has_tb:
        files = os.listdir(tmp_path / "tb")
        assert any(f.startswith("events.out.tfevents") for f in files)


def run_resumable(tmp_path, epochs, resume_from=None, seed=0, gen=False):
    """A run with shuffling (global RNG, plus an explicit generator when `gen`), dropout,
    a scheduler and early stopping state: everything resume has to carry."""
    K.manual_seed(seed)
    x, y = make_data(48)
    g = K.Generator().manual_seed(7) if gen else None
    train = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True, generator=g)
    val = DataLoader(TensorDataset(x, y), batch_size=48)
    model = make_model(dropout=0.3, seed=seed)
    opt = Adam(model.parameters(), lr=0.01)
    cbs = [ModelCheckpoint(tmp_path, monitor="val_loss"),
           EarlyStopping("val_loss", patience=10), CSVLogger(tmp_path / "log.csv")]
    t = Trainer(model, nn.CrossEntropyLoss(), opt, train, val, max_epochs=epochs,
                scheduler=StepLR(opt, 1, gamma=0.7), callbacks=cbs)
    if resume_from is not None:
        K.manual_seed(12345)  # resume must restore the RNG, not rely on this
        t.resume(resume_from)
    t.fit()
    return t


@pytest.mark.parametrize("gen", [False, True])
def test_exact_resume(tmp_path, gen):
    full = run_resumable(tmp_path / "full", 4, gen=gen)
    run_resumable(tmp_path / "part", 2, gen=gen)
    resumed = run_resumable(tmp_path / "part", 4, resume_from=tmp_path / "part" / "last.ckpt",
                            seed=99, gen=gen)
    for k, v in weights(full.model).items():
        np.testing.assert_array_equal(v, weights(resumed.model)[k])
    assert resumed.state.epoch == 4 and resumed.state.iteration == full.state.iteration
    assert [h["val_loss"] for h in resumed.history] == [h["val_loss"] for h in full.history]
    assert len((tmp_path / "part" / "log.csv").read_text().splitlines()) == 5  # appended


def test_resume_errors_and_stateless_callbacks(tmp_path):
    train, val = loaders(batch_size=16)
    model = make_model()
    t = Trainer(model, nn.CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), train, val,
                max_epochs=1, callbacks=[EarlyStopping(patience=2), CSVLogger(tmp_path / "a")])
    t.fit()
    t.save_checkpoint(tmp_path / "c.ckpt")
    # a trainer without the CSV logger (stateless) resumes fine ...
    model2 = make_model(seed=5)
    t2 = Trainer(model2, nn.CrossEntropyLoss(), SGD(model2.parameters(), lr=0.1), train, val,
                 max_epochs=2, callbacks=[EarlyStopping(patience=2)], progress=False)
    t2.resume(tmp_path / "c.ckpt")
    es = [c for c in t.callbacks if isinstance(c, EarlyStopping)][0]
    es2 = [c for c in t2.callbacks if isinstance(c, EarlyStopping)][0]
    assert t2.state.epoch == 1 and es2.best == es.best is not None
    np.testing.assert_array_equal(weights(model2)["0.weight"], weights(model)["0.weight"])
    # ... one without the early stopping (whose state is in the file) is refused
    t3 = Trainer(make_model(), nn.CrossEntropyLoss(), SGD(model2.parameters(), lr=0.1), train,
                 val)
    with pytest.raises(ValueError, match=r"callbacks \['EarlyStopping'\]"):
        t3.resume(tmp_path / "c.ckpt")
    with pytest.raises(ValueError, match="not a kindling trainer checkpoint"):
        t3.load_state_dict({"model": {}})
