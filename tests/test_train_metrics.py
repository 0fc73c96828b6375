"""Metrics against scikit-learn (and a direct formula for perplexity)."""
import math

import numpy as np
import pytest
from sklearn import metrics as skm

import kindling as K
import kindling.nn.functional as F
from kindling.train import metrics as M


@pytest.fixture
def cls_data():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((200, 5)).astype(np.float32)
    target = rng.integers(0, 5, 200)
    target[:60] = logits[:60].argmax(1)  # better than chance
    return logits, target


def stream(metric, logits, target, bs=37):
    metric.reset()
    for i in range(0, len(target), bs):
        metric.update(K.tensor(logits[i:i + bs]), K.tensor(target[i:i + bs]))
    return metric.compute()


def test_accuracy_and_topk(cls_data):
    logits, t = cls_data
    assert stream(M.Accuracy(), logits, t) == pytest.approx(skm.accuracy_score(t, logits.argmax(1)))
    for k in (2, 3):
        assert stream(M.TopKAccuracy(k), logits, t) == pytest.approx(
            skm.top_k_accuracy_score(t, logits, k=k, labels=range(5)))


def test_confusion_precision_recall_f1(cls_data):
    logits, t = cls_data
    pred = logits.argmax(1)
    np.testing.assert_array_equal(stream(M.ConfusionMatrix(5), logits, t),
                                  skm.confusion_matrix(t, pred, labels=range(5)))
    for cls, fn in ((M.Precision, skm.precision_score), (M.Recall, skm.recall_score),
                    (M.F1, skm.f1_score)):
        assert stream(cls(5), logits, t) == pytest.approx(
            fn(t, pred, average="macro", zero_division=0))
        np.testing.assert_allclose(stream(cls(5, average=None), logits, t),
                                   fn(t, pred, average=None, labels=range(5), zero_division=0))


def test_zero_division_and_report():
    t = np.array([0, 0, 1, 1])
    p = np.array([0, 0, 0, 0])  # class 1 and 2 never predicted, class 2 absent
    cm = M.confusion_matrix(p, t, 3)
    prec, rec, f1 = M.precision_recall_f1(cm)
    np.testing.assert_allclose(prec, skm.precision_score(t, p, average=None, labels=range(3),
                                                         zero_division=0))
    np.testing.assert_allclose(f1, skm.f1_score(t, p, average=None, labels=range(3),
                                                zero_division=0))
    rep = M.classification_report(p, t, 3, class_names=["a", "b", "c"])
    sk = skm.classification_report(t, p, labels=range(3), output_dict=True, zero_division=0)
    assert rep["a"]["precision"] == pytest.approx(sk["0"]["precision"])
    assert rep["macro avg"]["f1"] == pytest.approx(sk["macro avg"]["f1-score"])
    assert rep["b"]["support"] == 2 and "macro avg" in rep["text"]


def test_regression_metrics():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((50, 3)), rng.standard_normal((50, 3))
    assert stream(M.MeanSquaredError(), a, b, 7) == pytest.approx(skm.mean_squared_error(b, a))
    assert stream(M.MeanAbsoluteError(), a, b, 7) == pytest.approx(skm.mean_absolute_error(b, a))


def test_perplexity_is_exp_mean_token_ce():
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((4, 6, 11)).astype(np.float32)
    tokens = rng.integers(0, 11, (4, 6))
    tokens[0, :2] = -100
    ce = F.cross_entropy(K.tensor(logits.reshape(-1, 11)), K.tensor(tokens.reshape(-1)),
                         ignore_index=-100).item()
    assert stream(M.Perplexity(), logits, tokens, 2) == pytest.approx(math.exp(ce), rel=1e-5)
    # uniform predictions over V tokens give perplexity V
    assert stream(M.Perplexity(), np.zeros((5, 11)), np.arange(5), 5) == pytest.approx(11)


def test_metric_names_in_trainer_infer_classes(cls_data):
    import kindling.nn as nn
    from kindling.optim import SGD
    from kindling.train import Trainer
    from kindling.utils.data import DataLoader, TensorDataset
    logits, t = cls_data
    model = nn.Identity()
    ds = TensorDataset(K.tensor(logits), K.tensor(t))
    tr = Trainer(model, nn.CrossEntropyLoss(), SGD([K.zeros(1, requires_grad=True)], lr=0.1),
                 DataLoader(ds, batch_size=50), metrics=["accuracy", "f1", "confusion_matrix"],
                 progress=False)
    out = tr.evaluate(DataLoader(ds, batch_size=64))
    pred = logits.argmax(1)
    assert out["val_f1_macro"] == pytest.approx(skm.f1_score(t, pred, average="macro"))
    np.testing.assert_array_equal(out["val_confusion_matrix"], skm.confusion_matrix(t, pred))
    with pytest.raises(ValueError, match="unknown metric"):
        Trainer(model, None, None, None, metrics=["acuracy"])
