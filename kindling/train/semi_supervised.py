"""Learning with few labels: pseudo-labelling (self-training) and active learning.

Both loops are deliberately small and take a `train_fn(model, x, y)` that (re)trains the model
on tensors `x`, `y` however you like (e.g. with a `Trainer`), so they combine with everything
else in this package.

Pseudo-labelling (Lee 2013): predict the unlabelled pool; every example whose top softmax
probability is >= `threshold` joins the labelled set with its predicted class as label and
leaves the pool; retrain; repeat for `rounds` rounds or until nothing clears the threshold.

Active learning by uncertainty sampling (Settles 2009): score the pool with the model's class
probabilities p (sorted descending p1 >= p2 >= ...), higher = more uncertain:

    least_confidence   1 - p1
    margin             -(p1 - p2)        (a small gap between the two best classes)
    entropy            -sum_c p_c log p_c

query the `k` highest-scoring examples, ask the oracle (here: the held-back labels) for their
labels, add them to the labelled set, retrain, repeat.
"""
import numpy as np

from .. import Tensor, no_grad
from .. import from_numpy as _make
from ..nn import functional as F


def _arr(x):
    return np.asarray(x.detach().numpy() if isinstance(x, Tensor) else x)


def predict_proba(model, x, batch_size=1024):
    """Softmax probabilities (N, C) as a NumPy array, in eval mode without autograd (the
    model's mode is restored)."""
    was = model.training
    model.eval()
    out = []
    try:
        with no_grad():
            for i in range(0, len(x), batch_size):
                out.append(F.softmax(model(x[i:i + batch_size]), dim=-1).numpy())
    finally:
        model.train(was)
    return np.concatenate(out) if out else np.zeros((0, 0), dtype=np.float32)


def pseudo_label(model, x_unlabeled, threshold=0.95):
    """(indices, labels, confidences) of the unlabelled examples whose top probability is
    >= threshold."""
    if not 0 < threshold <= 1:
        raise ValueError(f"pseudo_label: threshold must be in (0, 1], got {threshold}")
    probs = predict_proba(model, x_unlabeled)
    conf, labels = probs.max(axis=1), probs.argmax(axis=1)
    keep = np.flatnonzero(conf >= threshold)
    return keep, labels[keep].astype(np.int64), conf[keep]


def self_training(model, train_fn, x_labeled, y_labeled, x_unlabeled, threshold=0.95,
                  rounds=3):
    """Pseudo-labelling loop (see the module docstring). Returns a list with one dict per
    round: {'round', 'added' (indices into x_unlabeled), 'labels', 'n_labeled'}."""
    xl, yl = _arr(x_labeled), _arr(y_labeled).astype(np.int64)
    xu = _arr(x_unlabeled)
    remaining = np.arange(len(xu))
    log = []
    train_fn(model, _make(xl), _make(yl))
    for r in range(rounds):
        if not len(remaining):
            break
        idx, labels, _ = pseudo_label(model, _make(xu[remaining]), threshold)
        added = remaining[idx]
        log.append({"round": r + 1, "added": added, "labels": labels,
                    "n_labeled": len(yl) + len(added)})
        if not len(added):
            break
        xl, yl = np.concatenate([xl, xu[added]]), np.concatenate([yl, labels])
        remaining = np.setdiff1d(remaining, added)
        train_fn(model, _make(xl), _make(yl))
    return log


def uncertainty(probs, method="entropy"):
    """Uncertainty score per row of `probs` (N, C); higher = more uncertain."""
    p = _arr(probs).astype(np.float64)
    if method == "least_confidence":
        return 1.0 - p.max(axis=1)
    if method == "margin":
        top2 = np.sort(p, axis=1)[:, -2:]
        return -(top2[:, 1] - top2[:, 0])
    if method == "entropy":
        return -(p * np.log(np.clip(p, 1e-12, None))).sum(axis=1)
    raise ValueError(f"uncertainty: method must be 'least_confidence', 'margin' or 'entropy', "
                     f"got {method!r}")


def query(model, x_pool, k, method="entropy"):
    """Indices (into x_pool) of the k most uncertain examples, most uncertain first."""
    scores = uncertainty(predict_proba(model, x_pool), method)
    return np.argsort(-scores, kind="stable")[:k]


def active_learning(model, train_fn, x_pool, y_pool, initial, k=10, rounds=5,
                    method="entropy", x_eval=None, y_eval=None):
    """Uncertainty-sampling loop. `initial`: indices labelled at the start; each round queries
    `k` pool examples and reveals their `y_pool` labels. Returns one dict per round:
    {'round', 'queried', 'n_labeled', 'accuracy' (on x_eval/y_eval, if given)}."""
    xp, yp = _arr(x_pool), _arr(y_pool).astype(np.int64)
    labeled = np.asarray(initial, dtype=np.int64)
    log = []
    for r in range(rounds + 1):
        train_fn(model, _make(xp[labeled]), _make(yp[labeled]))
        acc = None
        if x_eval is not None:
            acc = float((predict_proba(model, x_eval).argmax(1) == _arr(y_eval)).mean())
        entry = {"round": r, "n_labeled": len(labeled), "accuracy": acc, "queried": None}
        log.append(entry)
        if r == rounds:
            break
        pool = np.setdiff1d(np.arange(len(xp)), labeled)
        if not len(pool):
            break
        picked = pool[query(model, _make(xp[pool]), k, method)]
        entry["queried"] = picked
        labeled = np.concatenate([labeled, picked])
    return log
