"""Metrics for the Trainer: streaming accumulators plus plain functions on arrays.

A `Metric` sees every batch of an epoch (`update(output, target)`) and gives one value at the end
(`compute()`); `reset()` starts a new epoch. Values are floats, or NumPy arrays for per-class
results and the confusion matrix. The functions at the bottom (`accuracy`, `confusion_matrix`,
`precision_recall_f1`, ...) take NumPy arrays or tensors and are what the classes call.

Conventions (as scikit-learn, which the tests compare against):
    precision_c = TP_c / (TP_c + FP_c), recall_c = TP_c / (TP_c + FN_c),
    F1_c = 2 TP_c / (2 TP_c + FP_c + FN_c); a 0/0 is 0 ("zero_division=0").
    macro average = the unweighted mean over classes.
    perplexity = exp(mean cross-entropy per token), tokens with `ignore_index` skipped.
"""
import math

import numpy as np

from .. import Tensor


def _np(x):
    if isinstance(x, Tensor):
        return np.asarray(x.detach().numpy())
    return np.asarray(x)


def _labels(output):
    """Predicted classes from logits/probabilities (N, C) or from labels (N,)."""
    out = _np(output)
    return out.argmax(axis=1) if out.ndim > 1 else out.astype(np.int64)


# ----------------------------------------------------------------------------- functions

def accuracy(output, target, top_k=1):
    """Fraction of samples whose target is among the `top_k` highest scores of `output` (N, C)
    (or equal to the predicted label when `output` is (N,) labels)."""
    out, tgt = _np(output), _np(target).astype(np.int64)
    if out.ndim == 1:
        return float((out.astype(np.int64) == tgt).mean()) if tgt.size else 0.0
    if top_k == 1:
        return float((out.argmax(axis=1) == tgt).mean()) if tgt.size else 0.0
    top = np.argpartition(-out, kth=min(top_k, out.shape[1]) - 1, axis=1)[:, :top_k]
    return float((top == tgt[:, None]).any(axis=1).mean()) if tgt.size else 0.0


def confusion_matrix(pred, target, num_classes):
    """C[i, j] = number of samples of true class i predicted as class j (sklearn's layout)."""
    p, t = _labels(pred).reshape(-1), _np(target).astype(np.int64).reshape(-1)
    return np.bincount(t * num_classes + p, minlength=num_classes ** 2).reshape(
        num_classes, num_classes).astype(np.int64)


def _safe_div(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.divide(a, b, out=np.zeros_like(a), where=b != 0)


def precision_recall_f1(cm):
    """Per-class precision, recall and F1 (each a (C,) array) from a confusion matrix."""
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    return _safe_div(tp, tp + fp), _safe_div(tp, tp + fn), _safe_div(2 * tp, 2 * tp + fp + fn)


def classification_report(pred, target, num_classes, class_names=None):
    """Per-class precision/recall/F1/support and macro averages, as a dict (and `str()`-able
    text under the key 'text')."""
    cm = confusion_matrix(pred, target, num_classes)
    p, r, f = precision_recall_f1(cm)
    support = cm.sum(axis=1)
    names = class_names or [str(i) for i in range(num_classes)]
    rows = {names[c]: {"precision": float(p[c]), "recall": float(r[c]), "f1": float(f[c]),
                       "support": int(support[c])} for c in range(num_classes)}
    rows["macro avg"] = {"precision": float(p.mean()), "recall": float(r.mean()),
                         "f1": float(f.mean()), "support": int(support.sum())}
    rows["accuracy"] = float(np.trace(cm) / max(cm.sum(), 1))
    width = max(len(n) for n in list(names) + ["macro avg"])
    lines = [f"{'':>{width}}  precision  recall      f1  support"]
    for n in list(names) + ["macro avg"]:
        v = rows[n]
        lines.append(f"{n:>{width}}  {v['precision']:9.4f}  {v['recall']:6.4f}  {v['f1']:6.4f}"
                     f"  {v['support']:7d}")
    lines.append(f"{'accuracy':>{width}}  {rows['accuracy']:.4f}")
    rows["text"] = "\n".join(lines)
    return rows


# ----------------------------------------------------------------------------- streaming metrics

class Metric:
    """Base class: accumulate over an epoch. `name` is the history key (the Trainer prefixes
    validation values with 'val_')."""
    name = "metric"

    def reset(self):
        raise NotImplementedError

    def update(self, output, target):
        raise NotImplementedError

    def compute(self):
        raise NotImplementedError


class Accuracy(Metric):
    """Top-k accuracy (k=1: plain accuracy). Name 'accuracy' or 'top{k}_accuracy'."""

    def __init__(self, top_k=1):
        self.top_k = top_k
        self.name = "accuracy" if top_k == 1 else f"top{top_k}_accuracy"
        self.reset()

    def reset(self):
        self.correct, self.total = 0.0, 0

    def update(self, output, target):
        n = _np(target).shape[0]
        self.correct += accuracy(output, target, self.top_k) * n
        self.total += n

    def compute(self):
        return self.correct / self.total if self.total else 0.0


def TopKAccuracy(k=5):
    """Accuracy counting a hit when the target is among the k best scores."""
    return Accuracy(top_k=k)


class ConfusionMatrix(Metric):
    """The (C, C) confusion matrix accumulated over the epoch. `num_classes=None` takes C from
    the first batch of scores (N, C)."""
    name = "confusion_matrix"

    def __init__(self, num_classes=None):
        self.num_classes = num_classes
        self.reset()

    def reset(self):
        c = self.num_classes
        self.cm = None if c is None else np.zeros((c, c), dtype=np.int64)

    def update(self, output, target):
        if self.cm is None:
            shape = _np(output).shape
            if len(shape) < 2:
                raise ValueError(f"{type(self).__name__}: give num_classes when the output is "
                                 f"labels (shape {shape}) rather than scores (N, C)")
            self.num_classes = shape[1]
            self.reset()
        self.cm += confusion_matrix(output, target, self.num_classes)

    def compute(self):
        if self.cm is None:
            return np.zeros((0, 0), dtype=np.int64)
        return self.cm.copy()


class _FromConfusion(ConfusionMatrix):
    index = 0
    label = ""

    def __init__(self, num_classes=None, average="macro"):
        if average not in ("macro", None):
            raise ValueError(f"{type(self).__name__}: average must be 'macro' or None, "
                             f"got {average!r}")
        super().__init__(num_classes)
        self.average = average
        self.name = f"{self.label}_macro" if average == "macro" else f"{self.label}_per_class"

    def compute(self):
        value = precision_recall_f1(self.cm)[self.index]
        return float(value.mean()) if self.average == "macro" else value


class Precision(_FromConfusion):
    """Precision, macro-averaged ('precision_macro') or per class ('precision_per_class')."""
    index, label = 0, "precision"


class Recall(_FromConfusion):
    """Recall, macro-averaged ('recall_macro') or per class ('recall_per_class')."""
    index, label = 1, "recall"


class F1(_FromConfusion):
    """F1 score, macro-averaged ('f1_macro') or per class ('f1_per_class')."""
    index, label = 2, "f1"


class MeanSquaredError(Metric):
    """Mean over all elements of (output - target)^2. Name 'mse'."""
    name = "mse"
    power = 2

    def __init__(self):
        self.reset()

    def reset(self):
        self.sum, self.count = 0.0, 0

    def update(self, output, target):
        d = _np(output).astype(np.float64) - _np(target).astype(np.float64).reshape(
            _np(output).shape)
        self.sum += float((np.abs(d) ** self.power).sum())
        self.count += d.size

    def compute(self):
        return self.sum / self.count if self.count else 0.0


class MeanAbsoluteError(MeanSquaredError):
    """Mean over all elements of |output - target|. Name 'mae'."""
    name = "mae"
    power = 1


class Perplexity(Metric):
    """exp(mean token cross-entropy) of logits (N, C) or (N, T, C) against token ids (N,) or
    (N, T); tokens equal to `ignore_index` do not count. Name 'perplexity'."""
    name = "perplexity"

    def __init__(self, ignore_index=-100):
        self.ignore_index = ignore_index
        self.reset()

    def reset(self):
        self.nll, self.count = 0.0, 0

    def update(self, output, target):
        logits = _np(output).astype(np.float64)
        logits = logits.reshape(-1, logits.shape[-1])
        tgt = _np(target).astype(np.int64).reshape(-1)
        keep = tgt != self.ignore_index
        logits, tgt = logits[keep], tgt[keep]
        m = logits.max(axis=1, keepdims=True)
        logz = (m + np.log(np.exp(logits - m).sum(axis=1, keepdims=True)))[:, 0]
        self.nll += float((logz - logits[np.arange(len(tgt)), tgt]).sum())
        self.count += len(tgt)

    def compute(self):
        return math.exp(self.nll / self.count) if self.count else float("nan")


_BY_NAME = {
    "accuracy": lambda nc: Accuracy(),
    "top5_accuracy": lambda nc: Accuracy(top_k=5),
    "top3_accuracy": lambda nc: Accuracy(top_k=3),
    "precision": lambda nc: Precision(nc),
    "recall": lambda nc: Recall(nc),
    "f1": lambda nc: F1(nc),
    "f1_per_class": lambda nc: F1(nc, average=None),
    "confusion_matrix": lambda nc: ConfusionMatrix(nc),
    "mse": lambda nc: MeanSquaredError(),
    "mae": lambda nc: MeanAbsoluteError(),
    "perplexity": lambda nc: Perplexity(),
}


def get_metric(name, num_classes=None):
    """A metric from its config name: one of `METRIC_NAMES`."""
    if name not in _BY_NAME:
        raise ValueError(f"unknown metric {name!r}; choose from {sorted(_BY_NAME)}")
    return _BY_NAME[name](num_classes)


METRIC_NAMES = tuple(sorted(_BY_NAME))
