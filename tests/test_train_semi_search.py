"""Pseudo-labelling, active learning and hyperparameter search."""
import json

import numpy as np
import pytest

import kindling as K
import kindling.nn as nn
from kindling.optim import Adam
from kindling.train import Trainer
from kindling.train.search import (Choice, IntUniform, LogUniform, TrialPruned, Uniform, grid,
                                   grid_search, optuna_search, parse_space, random_search,
                                   sample)
from kindling.train.semi_supervised import (active_learning, predict_proba, pseudo_label,
                                            query, self_training, uncertainty)
from kindling.utils.data import DataLoader, TensorDataset


def blobs(n=200, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(0, 1, (n, 2)) + np.where(y[:, None] == 1, 2.0, -2.0)
    return x.astype(np.float32), y.astype(np.int64)


def train_fn(model, x, y, epochs=20):
    K.manual_seed(0)
    Trainer(model, nn.CrossEntropyLoss(), Adam(model.parameters(), lr=0.05),
            DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True), max_epochs=epochs,
            progress=False).fit()


def test_pseudo_label_only_above_threshold():
    K.manual_seed(0)
    model = nn.Linear(2, 2)
    x, y = blobs(100)
    train_fn(model, K.tensor(x[:10]), K.tensor(y[:10]))
    probs = predict_proba(model, K.tensor(x))
    for thr in (0.6, 0.9, 0.99):
        idx, labels, conf = pseudo_label(model, K.tensor(x), threshold=thr)
        np.testing.assert_array_equal(idx, np.flatnonzero(probs.max(1) >= thr))
        np.testing.assert_array_equal(labels, probs.argmax(1)[idx])
        assert (conf >= thr).all()
    assert len(pseudo_label(model, K.tensor(x), 0.99)[0]) < len(pseudo_label(model,
                                                                              K.tensor(x), 0.6)[0])


def test_self_training_adds_confident_examples():
    x, y = blobs(200)
    K.manual_seed(0)
    model = nn.Linear(2, 2)
    seen = []

    def recording_train(m, xs, ys):
        seen.append(len(ys))
        train_fn(m, xs, ys, epochs=10)
    log = self_training(model, recording_train, x[:8], y[:8], x[8:], threshold=0.9, rounds=3)
    assert seen[0] == 8 and seen[1] == 8 + len(log[0]["added"]) and len(log[0]["added"]) > 20
    added = np.concatenate([r["added"] for r in log])
    assert len(set(added.tolist())) == len(added)  # each unlabelled example added once
    labels = np.concatenate([r["labels"] for r in log])
    assert (labels == y[8:][added]).mean() > 0.95  # confident pseudo-labels are right


def test_uncertainty_measures():
    p = np.array([[0.9, 0.05, 0.05], [0.4, 0.35, 0.25], [0.5, 0.5, 0.0]])
    np.testing.assert_allclose(uncertainty(p, "least_confidence"), [0.1, 0.6, 0.5])
    np.testing.assert_allclose(uncertainty(p, "margin"), [-0.85, -0.05, 0.0])
    ent = uncertainty(p, "entropy")
    assert ent.argmax() == 1 and ent.argmin() == 0
    with pytest.raises(ValueError, match="method"):
        uncertainty(p, "random")


@pytest.mark.parametrize("method", ["least_confidence", "margin", "entropy"])
def test_query_returns_points_nearest_the_boundary(method):
    # fixed logistic model: logit difference = 3 * x, so |x| small = uncertain
    model = nn.Linear(1, 2)
    with K.no_grad():
        model.weight.copy_(K.tensor([[-1.5], [1.5]]))
        model.bias.zero_()
    x = np.linspace(-3, 3, 61).astype(np.float32)[:, None]
    picked = query(model, K.tensor(x), k=5, method=method)
    np.testing.assert_allclose(sorted(np.abs(x[picked, 0])), [0.0, 0.1, 0.1, 0.2, 0.2], atol=1e-6)


def test_active_learning_loop_queries_k_uncertain_per_round():
    x, y = blobs(200, seed=1)
    K.manual_seed(0)
    model = nn.Linear(2, 2)
    log = active_learning(model, lambda m, a, b: train_fn(m, a, b, epochs=10), x, y,
                          initial=[0, 1, 2, 3], k=5, rounds=3, method="entropy",
                          x_eval=K.tensor(x), y_eval=y)
    assert [r["n_labeled"] for r in log] == [4, 9, 14, 19]
    picked = np.concatenate([r["queried"] for r in log[:-1]])
    assert len(set(picked.tolist())) == 15 and not set(picked.tolist()) & {0, 1, 2, 3}
    assert log[-1]["accuracy"] > 0.9


# ------------------------------------------------------------------ search

def test_grid_enumerates_product(tmp_path):
    space = {"lr": [0.1, 0.01], "hidden": [8, 16, 32], "opt": "sgd"}
    assert grid(space) == [{"lr": a, "hidden": b, "opt": "sgd"}
                           for a in (0.1, 0.01) for b in (8, 16, 32)]
    log = tmp_path / "trials.jsonl"
    res = grid_search(lambda p, t: p["hidden"] * p["lr"], space, log_path=log)
    assert res.best_params == {"lr": 0.01, "hidden": 8, "opt": "sgd"}
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(rows) == 6 and rows[0]["params"] == {"lr": 0.1, "hidden": 8, "opt": "sgd"}
    assert rows[0]["value"] == pytest.approx(0.8) and rows[0]["state"] == "complete"
    with pytest.raises(ValueError, match="grid search needs lists"):
        grid({"lr": LogUniform(1e-3, 1)})


def test_random_respects_distributions_and_seed(tmp_path):
    space = {"lr": LogUniform(1e-4, 1e-1), "p": Uniform(0.1, 0.5), "n": IntUniform(1, 3),
             "act": ["relu", "tanh"], "fixed": 7}
    rng = np.random.default_rng(0)
    draws = [sample(space, rng) for _ in range(2000)]
    lr = np.array([d["lr"] for d in draws])
    assert lr.min() >= 1e-4 and lr.max() <= 1e-1
    # log-uniform: each decade gets about a third of the draws
    decades = np.histogram(np.log10(lr), bins=[-4, -3, -2, -1])[0] / len(lr)
    np.testing.assert_allclose(decades, [1 / 3] * 3, atol=0.05)
    p = np.array([d["p"] for d in draws])
    assert 0.1 <= p.min() and p.max() <= 0.5 and abs(p.mean() - 0.3) < 0.01
    assert sorted({d["n"] for d in draws}) == [1, 2, 3]
    assert {d["act"] for d in draws} == {"relu", "tanh"} and all(d["fixed"] == 7 for d in draws)
    a = random_search(lambda q, t: q["lr"], space, n_trials=5, seed=3,
                      log_path=tmp_path / "a.jsonl")
    b = random_search(lambda q, t: q["lr"], space, n_trials=5, seed=3)
    c = random_search(lambda q, t: q["lr"], space, n_trials=5, seed=4)
    assert [t["params"] for t in a.trials] == [t["params"] for t in b.trials]
    assert [t["params"] for t in a.trials] != [t["params"] for t in c.trials]
    assert a.best_value == min(t["params"]["lr"] for t in a.trials)
    assert len((tmp_path / "a.jsonl").read_text().splitlines()) == 5


def test_parse_space():
    s = parse_space({"a": {"type": "loguniform", "low": 1e-3, "high": 1.0}, "b": [1, 2],
                     "c": {"type": "choice", "values": ["x"]}, "d": {"type": "int", "low": 1,
                                                                     "high": 4}})
    assert isinstance(s["a"], LogUniform) and s["b"] == [1, 2] and isinstance(s["c"], Choice)
    assert isinstance(s["d"], IntUniform)
    with pytest.raises(ValueError, match="type must be"):
        parse_space({"a": {"type": "normal", "low": 0, "high": 1}})


def test_optuna_tpe_with_pruning(tmp_path):
    pytest.importorskip("optuna")

    def objective(params, trial):
        # a curve per trial: the final value is x^2; bad trials are visibly bad early on
        for epoch in range(1, 6):
            trial.report(params["x"] ** 2 + 1.0 / epoch, epoch)
        return params["x"] ** 2

    res = optuna_search(objective, {"x": Uniform(-3, 3)}, n_trials=20, seed=0,
                        log_path=tmp_path / "t.jsonl", pruning=True)
    states = [t["state"] for t in res.trials]
    assert states.count("pruned") >= 3 and states.count("complete") >= 3
    pruned = [t for t in res.trials if t["state"] == "pruned"]
    assert all(len(t["intermediate"]) < 5 for t in pruned)  # stopped before the end
    assert abs(res.best_params["x"]) < 0.5
    rows = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert len(rows) == 20


def test_trial_callback_reports_and_prunes_trainer():
    """The Trainer callback reports the monitored value each epoch; a prune raises out of fit."""
    x, y = blobs(64)
    from kindling.train.search import Trial

    class FakeOptuna:
        def __init__(self):
            self.reported = []

        def report(self, v, step):
            self.reported.append((step, v))

        def should_prune(self):
            return len(self.reported) >= 2

    fake = FakeOptuna()
    trial = Trial(0, {}, fake)
    model = nn.Linear(2, 2)
    ds = TensorDataset(K.tensor(x), K.tensor(y))
    t = Trainer(model, nn.CrossEntropyLoss(), Adam(model.parameters(), lr=0.01),
                DataLoader(ds, batch_size=32), DataLoader(ds, batch_size=64), max_epochs=5,
                callbacks=[trial.callback("val_loss")], progress=False)
    with pytest.raises(TrialPruned, match="pruned at epoch 2"):
        t.fit()
    assert [s for s, _ in fake.reported] == [1, 2] and t.state.epoch == 2
    assert fake.reported[1][1] == pytest.approx(t.history[1]["val_loss"])
