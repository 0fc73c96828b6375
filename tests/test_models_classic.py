"""Classic models: the perceptron (and its XOR failure), the MLP that fixes it, logistic
regression whose coefficients are log-odds ratios."""
import numpy as np
import pytest

import kindling
import kindling.nn as nn
import kindling.optim as optim
from kindling.models import MLP, LogisticRegression, Perceptron

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_Y = np.array([0, 1, 1, 0])


def separable_data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)).astype(np.float32)
    score = X @ np.array([2.0, -1.0]) + 0.5
    keep = np.abs(score) > 0.3  # a margin, so convergence is quick
    return X[keep], (score[keep] > 0).astype(np.int64)


def test_perceptron_converges_on_separable_data():
    X, y = separable_data()
    p = Perceptron(2)
    errors = p.fit(kindling.tensor(X), kindling.tensor(y), epochs=100)
    assert errors[-1] == 0 and len(errors) < 100
    assert (p.predict(kindling.tensor(X)).numpy() == y).all()
    assert p.predict(kindling.tensor(X)).dtype == kindling.int64
    assert set(p.state_dict()) == {"weight", "bias"}


def test_perceptron_accepts_minus_one_labels_and_shuffle():
    X, y = separable_data(seed=1)
    p = Perceptron(2)
    errors = p.fit(X, 2 * y - 1, epochs=100, shuffle=True)
    assert errors[-1] == 0
    assert (p(X).numpy() == y).all()


def test_perceptron_cannot_learn_xor():
    p = Perceptron(2)
    errors = p.fit(XOR_X, XOR_Y, epochs=200)
    assert len(errors) == 200 and min(errors) > 0  # never an epoch without mistakes
    accuracy = (p.predict(XOR_X).numpy() == XOR_Y).mean()
    assert accuracy <= 0.75


def test_perceptron_validates_shapes():
    with pytest.raises(ValueError, match="shape"):
        Perceptron(3).fit(XOR_X, XOR_Y)
    with pytest.raises(ValueError, match="labels"):
        Perceptron(2).fit(XOR_X, np.array([0, 1, 2, 0]))


def test_mlp_solves_xor_with_backprop():
    kindling.manual_seed(0)
    model = MLP(2, [8], 1, activation="tanh")
    opt = optim.Adam(model.parameters(), lr=0.05)
    loss_fn = nn.BCEWithLogitsLoss()
    x, y = kindling.tensor(XOR_X), kindling.tensor(XOR_Y.astype(np.float32))
    for _ in range(300):
        opt.zero_grad()
        loss = loss_fn(model(x).squeeze(1), y)
        loss.backward()
        opt.step()
    predictions = (model(x).squeeze(1) > 0).long().numpy()
    assert (predictions == XOR_Y).all(), loss.item()


def test_mlp_structure():
    model = MLP(64, [128, 32], 10, activation="relu", dropout=0.1)
    kinds = [type(m).__name__ for m in model.layers]
    assert kinds == ["Linear", "ReLU", "Dropout", "Linear", "ReLU", "Dropout", "Linear"]
    assert model.num_parameters() == 64 * 128 + 128 + 128 * 32 + 32 + 32 * 10 + 10
    assert model(kindling.randn(5, 8, 8)).shape == (5, 10)  # flattened from dim 1
    assert MLP(4, [], 2).num_parameters() == 10
    assert type(MLP(4, [3], 2, activation=nn.Tanh).layers[1]).__name__ == "Tanh"
    with pytest.raises(ValueError, match="unknown activation"):
        MLP(4, [3], 2, activation="swishy")
    with pytest.raises(ValueError, match="unknown norm"):
        MLP(4, [3], 2, norm="group")


def test_mlp_layer_norm():
    if not hasattr(nn, "LayerNorm"):
        with pytest.raises(NotImplementedError, match="LayerNorm"):
            MLP(4, [3], 2, norm="layer")
        return
    model = MLP(4, [3], 2, norm="layer")
    assert type(model.layers[1]).__name__ == "LayerNorm"
    assert model(kindling.randn(5, 4)).shape == (5, 2)


def test_logistic_regression_recovers_log_odds():
    rng = np.random.default_rng(0)
    n, true_w, true_b = 4000, np.array([1.5, -2.0, 0.5]), 0.3
    X = rng.normal(size=(n, 3)).astype(np.float32)
    p = 1 / (1 + np.exp(-(X @ true_w + true_b)))
    y = (rng.random(n) < p).astype(np.float32)
    kindling.manual_seed(0)
    model = LogisticRegression(3)
    opt = optim.Adam(model.parameters(), lr=0.1)
    loss_fn = nn.BCEWithLogitsLoss()
    x, t = kindling.tensor(X), kindling.tensor(y)
    for _ in range(300):
        opt.zero_grad()
        loss = loss_fn(model(x), t)
        loss.backward()
        opt.step()
    assert model(x).shape == (n,)
    np.testing.assert_allclose(model.log_odds().numpy(), true_w, atol=0.2)
    assert abs(model.intercept().item() - true_b) < 0.15
    np.testing.assert_allclose(model.odds_ratios().numpy(), np.exp(model.log_odds().numpy()),
                               rtol=1e-6)
    assert ((model.predict_proba(x).numpy() > 0.5) == (model.predict(x).numpy() == 1)).all()


def test_multinomial_logistic_regression_shapes():
    model = LogisticRegression(4, num_classes=3)
    x = kindling.randn(6, 4)
    assert model(x).shape == (6, 3) and model.log_odds().shape == (3, 4)
    np.testing.assert_allclose(model.predict_proba(x).sum(dim=1).detach().numpy(), 1, rtol=1e-5)
    assert model.predict(x).shape == (6,)
