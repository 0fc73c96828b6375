"""Fused loss ops: the losses whose composite form would be slow or unstable (cross-entropy,
NLL, binary cross-entropy on probabilities and on logits, CTC).

Each forward works on NumPy arrays in a stable form (log-sum-exp for cross-entropy, softplus for
BCE-with-logits); each backward is written with Tensor ops, so the gradient is differentiable
again where that matters. The user-facing functions, with PyTorch's signatures and validation,
are in `kindling/nn/functional/loss.py`; these ops assume validated arguments.
"""
import numpy as np

from ..engine.function import Op
from ..engine.tensor import _make
from ..engine import grad_mode
from .elementwise import where


def _class_shape(ndim, class_axis, n_classes):
    """Shape that broadcasts a per-class vector along the class axis."""
    shape = [1] * ndim
    shape[class_axis] = n_classes
    return tuple(shape)


def _pick_targets(x, t, weight, ignore_index, class_axis):
    """For class-index targets: the safe indices, the mask of kept items and each item's weight."""
    t = t.astype(np.int64, copy=False)
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    if weight is None:
        w_t = valid.astype(x.dtype)
    else:
        w_t = np.where(valid, weight[safe], 0).astype(np.result_type(x.dtype, weight.dtype))
    return safe, valid, w_t


def _one_hot(safe, like, class_axis):
    out = np.zeros_like(like)
    np.put_along_axis(out, np.expand_dims(safe, class_axis), 1, axis=class_axis)
    return out


def _reduce(per_item, reduction, normalizer):
    if reduction == "none":
        return per_item
    total = per_item.sum()
    if reduction == "sum":
        return total
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(total / normalizer, dtype=per_item.dtype)


def _grad_scale(ctx, g):
    """The incoming gradient as a Tensor that broadcasts against the input."""
    if ctx.reduction == "none":
        shape = list(ctx.in_shape)
        shape[ctx.class_axis] = 1
        return g.reshape(tuple(shape))
    if ctx.reduction == "mean":
        if ctx.normalizer == 0:
            # every item ignored: the loss is 0/0 = nan, but no logit affects it (PyTorch's
            # gradient is 0 too)
            return g * 0
        return g / float(ctx.normalizer)
    return g


class CrossEntropy(Op):
    """cross_entropy(input, target): log_softmax + NLL in one op.

    Every target form is reduced to per-item class weights q (shape of input): for class index
    y_i with class weights w and label smoothing e, q_ic = (1 - e) w_y [c == y_i] + (e / C) w_c
    (zero for ignored items); for class probabilities t, q_ic = w_c ((1 - e) t_ic + e / C). Then
    loss_i = -sum_c q_ic log_softmax(z_i)_c and dloss_i/dz_i = (sum_c q_ic) softmax(z_i) - q_i.
    For class indices without smoothing (a language model's loss) q is never materialized: the
    first-order gradient w_t * (softmax - one_hot) is a scatter into the saved softmax.
    """

    @staticmethod
    def forward(ctx, input, target, weight, ignore_index, reduction, label_smoothing,
                probabilities):
        x = input._array
        ca = 1 if x.ndim >= 2 else 0
        n_classes = x.shape[ca]
        w = None if weight is None else weight._array
        wb = 1 if w is None else w.reshape(_class_shape(x.ndim, ca, n_classes))
        shift = x.max(axis=ca, keepdims=True) if x.size else np.zeros((), x.dtype)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            logp = x - shift
            p = np.exp(logp)
            sum_exp = p.sum(axis=ca, keepdims=True)
            logp -= np.log(sum_exp)
            p /= sum_exp                   # softmax, kept for backward (no second exp)
        eps = label_smoothing
        safe = w_t = None
        if probabilities:
            t = target._array
            if eps > 0:
                t = t * (1 - eps) + eps / n_classes
            q = t * wb
            per_item = -(logp * q).sum(axis=ca)
            normalizer = x.size // n_classes if x.size else np.nan
        else:
            safe, valid, w_t = _pick_targets(x, target._array, w, ignore_index, ca)
            # The one-hot q is only built when needed: its gradient term is a scatter of w_t.
            q = None if eps == 0 else \
                _one_hot(safe, logp, ca) * np.expand_dims(w_t, ca) * (1 - eps)
            picked = np.take_along_axis(logp, np.expand_dims(safe, ca), axis=ca).squeeze(ca)
            per_item = np.where(valid, -w_t * picked, 0) * (1 - eps)
            if eps > 0:
                smooth = np.expand_dims(valid, ca).astype(x.dtype) * (eps / n_classes) * wb
                q = q + smooth
                per_item = per_item + np.where(valid, -(logp * wb).sum(axis=ca), 0) * (
                    eps / n_classes)
            normalizer = w_t.sum()
        per_item = per_item.astype(logp.dtype if q is None else q.dtype, copy=False)
        ctx.in_shape, ctx.class_axis, ctx.reduction = x.shape, ca, reduction
        ctx.normalizer, ctx.eps, ctx.probabilities = normalizer, eps, probabilities
        ctx.shift, ctx.safe, ctx.w_t = shift, safe, w_t
        ctx.p, ctx.q, ctx.wb = p, q, wb
        ctx.logp = logp if probabilities else None  # only the target's gradient reads it
        if probabilities:
            ctx.save_for_backward(input, target)
        else:
            ctx.save_for_backward(input)
        return np.asarray(_reduce(per_item, reduction, normalizer))

    @staticmethod
    def backward(ctx, g):
        scale = _grad_scale(ctx, g)
        ca = ctx.class_axis
        if ctx.q is None and not grad_mode.is_grad_enabled():
            # class indices without smoothing: w_t * (softmax - one_hot), scaled, in NumPy
            w_t = np.expand_dims(ctx.w_t, ca)
            grad_input = ctx.p * w_t
            idx = np.expand_dims(ctx.safe, ca)
            np.put_along_axis(grad_input, idx, np.take_along_axis(grad_input, idx, ca) - w_t, ca)
            grad_input *= scale._array
            return _make(grad_input), None, None, None, None, None, None
        q = _make(ctx.q if ctx.q is not None else
                  _one_hot(ctx.safe, ctx.p, ca) * np.expand_dims(ctx.w_t, ca))
        if grad_mode.is_grad_enabled():
            # create_graph: rebuild softmax from the input with Tensor ops, so that the
            # gradient can be differentiated again (shift by the saved row max: stable).
            input = ctx.saved_tensors[0]
            e = (input - _make(ctx.shift)).exp()
            total = e.sum(ca, keepdim=True)
            p = e / total
            logp = input - _make(ctx.shift) - total.log()
            if ctx.probabilities and ctx.needs_input_grad[1]:
                target = ctx.saved_tensors[1]
                t = target * (1 - ctx.eps) + ctx.eps / ctx.in_shape[ca] if ctx.eps else target
                q = t * _make(np.asarray(ctx.wb, dtype=ctx.q.dtype))
        else:
            # Plain backward: softmax and log_softmax are the arrays saved by forward.
            p = _make(ctx.p)
            logp = None if ctx.logp is None else _make(ctx.logp)
        grad_input = grad_target = None
        if ctx.needs_input_grad[0]:
            grad_input = scale * (q.sum(ca, keepdim=True) * p - q)
        if ctx.probabilities and ctx.needs_input_grad[1]:
            grad_target = -scale * logp * _make(np.asarray(ctx.wb, dtype=ctx.q.dtype)) * (
                1 - ctx.eps)
        return grad_input, grad_target, None, None, None, None, None


class NLLLoss(Op):
    """nll_loss(input, target): loss_i = -w_{y_i} input[i, y_i], linear in the input."""

    @staticmethod
    def forward(ctx, input, target, weight, ignore_index, reduction):
        x = input._array
        ca = 1 if x.ndim >= 2 else 0
        w = None if weight is None else weight._array
        safe, valid, w_t = _pick_targets(x, target._array, w, ignore_index, ca)
        picked = np.take_along_axis(x, np.expand_dims(safe, ca), axis=ca).squeeze(ca)
        per_item = np.where(valid, -w_t * picked, 0).astype(w_t.dtype, copy=False)
        normalizer = w_t.sum()
        ctx.in_shape, ctx.class_axis, ctx.reduction = x.shape, ca, reduction
        ctx.normalizer = normalizer
        ctx.coef = -_one_hot(safe, x.astype(w_t.dtype), ca) * np.expand_dims(w_t, ca)
        return np.asarray(_reduce(per_item, reduction, normalizer))

    @staticmethod
    def backward(ctx, g):
        return _grad_scale(ctx, g) * _make(ctx.coef), None, None, None, None


class BCEWithLogits(Op):
    """Unreduced binary cross-entropy on logits, in the softplus form that never overflows:
    loss = (1 - y) x + (1 + (pos_weight - 1) y) softplus(-x)."""

    @staticmethod
    def forward(ctx, input, target, pos_weight):
        x, y = input._array, target._array
        softplus_neg = np.logaddexp(0, -x)
        if pos_weight is None:
            out = (1 - y) * x + softplus_neg
        else:
            out = (1 - y) * x + ((pos_weight._array - 1) * y + 1) * softplus_neg
        ctx.softplus_neg = softplus_neg
        ctx.save_for_backward(input, target, pos_weight)
        return out

    @staticmethod
    def backward(ctx, g):
        input, target, pos_weight = ctx.saved_tensors
        grad_input = grad_target = None
        if ctx.needs_input_grad[0]:
            if pos_weight is None:
                grad_input = g * (input.sigmoid() - target)
            else:
                log_weight = (pos_weight - 1) * target + 1
                grad_input = g * (1 - target - log_weight * (-input).sigmoid())
        if ctx.needs_input_grad[1]:
            # d/dy = -x + (pos_weight - 1) softplus(-x); softplus(-x) is a saved constant.
            grad_target = -g * input
            if pos_weight is not None:
                grad_target = grad_target + g * (pos_weight - 1) * _make(ctx.softplus_neg)
        if ctx.needs_input_grad[2]:
            raise RuntimeError("binary_cross_entropy_with_logits is not differentiable with "
                               "respect to pos_weight (as in PyTorch); detach it")
        return grad_input, grad_target, None


class BCE(Op):
    """Unreduced binary cross-entropy on probabilities, each log clamped at -100 as in PyTorch:
    loss = -(y max(log x, -100) + (1 - y) max(log(1 - x), -100))."""

    @staticmethod
    def forward(ctx, input, target):
        x, y = input._array, target._array
        with np.errstate(divide="ignore", invalid="ignore"):
            log_x = np.maximum(np.log(x), -100)
            log_1mx = np.maximum(np.log1p(-x), -100)
        ctx.save_for_backward(input, target)
        return (y - 1) * log_1mx - y * log_x

    @staticmethod
    def backward(ctx, g):
        input, target = ctx.saved_tensors
        grad_input = grad_target = None
        if ctx.needs_input_grad[0]:
            # PyTorch's rule: (x - y) / max(x (1 - x), 1e-12)
            denom = (1 - input) * input
            denom = where(denom < 1e-12, 1e-12, denom)
            grad_input = g * (input - target) / denom
        if ctx.needs_input_grad[1]:
            x = input._array
            with np.errstate(divide="ignore"):
                logit_neg = np.log1p(-x) - np.log(x)
            grad_target = g * _make(logit_neg)  # a constant: no double backward on this path
        return grad_input, grad_target


def _logsumexp(*arrays):
    stacked = np.stack(arrays)
    m = stacked.max(axis=0)
    safe = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):
        return np.log(np.exp(stacked - safe).sum(axis=0)) + safe


def _ctc_one(lp, labels, blank):
    """Forward-backward (log space) for one sequence: lp (T, C) log-probabilities over the
    item's input length, labels (L,). Returns (nll, d nll / d lp) with the gradient as PyTorch
    reports it (see CTCLoss)."""
    T, n_ext = lp.shape[0], 2 * len(labels) + 1
    ext = np.full(n_ext, blank, dtype=np.int64)
    ext[1::2] = labels
    # a label may skip the blank before it unless it repeats the label two places back
    skip = np.zeros(n_ext, dtype=bool)
    skip[2:] = (ext[2:] != blank) & (ext[2:] != ext[:-2])
    neg_inf = np.full(n_ext, -np.inf, dtype=lp.dtype)
    alpha = np.full((T, n_ext), -np.inf, dtype=lp.dtype)
    beta = np.full((T, n_ext), -np.inf, dtype=lp.dtype)
    if T == 0:
        return (np.inf if len(labels) else 0.0), np.zeros_like(lp)
    alpha[0, 0] = lp[0, blank]
    if n_ext > 1:
        alpha[0, 1] = lp[0, ext[1]]
    for t in range(1, T):
        prev = alpha[t - 1]
        one = np.concatenate(([-np.inf], prev[:-1]))
        two = np.where(skip, np.concatenate(([-np.inf, -np.inf], prev[:-2])), neg_inf)
        alpha[t] = _logsumexp(prev, one, two) + lp[t, ext]
    beta[T - 1, n_ext - 1] = lp[T - 1, blank]
    if n_ext > 1:
        beta[T - 1, n_ext - 2] = lp[T - 1, ext[n_ext - 2]]
    skip_next = np.concatenate((skip[2:], [False, False]))  # may s jump to s + 2
    for t in range(T - 2, -1, -1):
        nxt = beta[t + 1]
        one = np.concatenate((nxt[1:], [-np.inf]))
        two = np.where(skip_next, np.concatenate((nxt[2:], [-np.inf, -np.inf])), neg_inf)
        beta[t] = _logsumexp(nxt, one, two) + lp[t, ext]
    ends = [alpha[T - 1, n_ext - 1]] + ([alpha[T - 1, n_ext - 2]] if n_ext > 1 else [])
    nll = -_logsumexp(*ends)
    # log sum over the positions s that emit class c of alpha_t(s) beta_t(s)
    ab = alpha + beta
    lcab = np.full(lp.shape, -np.inf, dtype=lp.dtype)
    for c in np.unique(ext):
        lcab[:, c] = _logsumexp(*ab[:, ext == c].T)
    with np.errstate(over="ignore", invalid="ignore"):
        grad = np.exp(lp) - np.exp(lcab + nll - lp)
    return nll, grad


class CTCLoss(Op):
    """Connectionist temporal classification (Graves et al. 2006) of log_probs (T, N, C).

    Forward runs the alpha recursion in log space per item; backward uses the beta recursion.
    The gradient is PyTorch's: exp(log_probs) - exp(log(sum alpha beta) + nll - log_probs), which
    assumes log_probs come from log_softmax (through log_softmax's backward the exp(log_probs)
    term cancels, giving the exact gradient). The gradient is a constant array: no double
    backward, as in PyTorch."""

    @staticmethod
    def forward(ctx, log_probs, targets, input_lengths, target_lengths, blank, reduction,
                zero_infinity):
        lp = log_probs._array
        T, N, _ = lp.shape
        nll = np.zeros(N, dtype=lp.dtype)
        grad = np.zeros_like(lp)
        for n, labels in enumerate(targets):
            length = input_lengths[n]
            loss, g = _ctc_one(lp[:length, n], labels, blank)
            if zero_infinity and np.isinf(loss):
                loss, g = 0.0, np.zeros_like(g)
            nll[n] = loss
            grad[:length, n] = g
        ctx.grad, ctx.reduction = grad, reduction
        ctx.divisor = np.maximum(np.asarray(target_lengths, dtype=lp.dtype), 1)
        if reduction == "none":
            return nll
        if reduction == "sum":
            return nll.sum()
        return (nll / ctx.divisor).mean()

    @staticmethod
    def backward(ctx, g):
        if ctx.reduction == "none":
            scale = g.reshape(1, -1, 1)
        elif ctx.reduction == "sum":
            scale = g
        else:
            scale = g * _make((1 / ctx.divisor / ctx.divisor.size).reshape(1, -1, 1).astype(
                ctx.grad.dtype))
        return scale * _make(ctx.grad), None, None, None, None, None, None
