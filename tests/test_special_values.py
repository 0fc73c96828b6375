"""NaN, infinities, signed zeros, denormals and overflow-sized values through every elementwise
op, activation and reduction, forward and gradient, against PyTorch: the cases random inputs
never reach (sign(NaN) is 0, relu passes a NaN's gradient, max() sends it to the NaN, ...)."""
import numpy as np
import pytest
import torch

import kindling as K
import kindling.nn.functional as KF
import torch.nn.functional as TF

VALUES = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-30, -1e-30, 1e-45, 3.4e38, -3.4e38, 88.7,
          -88.7, 100.0, -100.0, 20.0, -20.0, 0.5, -0.5, 1.0, -1.0, 2.0, -2.0]

UNARY = ["abs", "neg", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt",
         "reciprocal", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "erf", "erfc", "erfinv",
         "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "square", "logit",
         "sinc", "deg2rad", "rad2deg", "frac", "nan_to_num"]
PIECEWISE = ["sign", "sgn", "floor", "ceil", "trunc", "round", "signbit", "isnan", "isinf",
             "isfinite", "isposinf", "isneginf"]
ACTIVATIONS = ["relu6", "elu", "selu", "celu", "gelu", "silu", "mish", "hardtanh", "hardsigmoid",
               "hardswish", "softplus", "softsign", "logsigmoid", "tanhshrink", "softshrink",
               "hardshrink", "leaky_relu"]


def _pair(fn):
    return lambda x: fn(x, x.flip(0))


CASES = [(n, getattr(K, n), getattr(torch, n), True) for n in UNARY] + \
    [(n, getattr(K, n), getattr(torch, n), False) for n in PIECEWISE] + \
    [(n, getattr(KF, n), getattr(TF, n), True) for n in ACTIVATIONS] + [
    ("threshold", lambda x: KF.threshold(x, 0.1, -3.0), lambda x: TF.threshold(x, 0.1, -3.0),
     True),
    ("softmax", lambda x: x.softmax(0), lambda x: x.softmax(0), True),
    ("log_softmax", lambda x: x.log_softmax(0), lambda x: x.log_softmax(0), True),
    ("pow2", lambda x: x ** 2, lambda x: x ** 2, True),
    ("pow0.5", lambda x: x ** 0.5, lambda x: x ** 0.5, True),
    ("pow-0.5", lambda x: x ** -0.5, lambda x: x ** -0.5, True),
    ("rpow", lambda x: 2 ** x, lambda x: 2 ** x, True),
    ("clamp", lambda x: x.clamp(-1, 1), lambda x: x.clamp(-1, 1), True),
    ("clamp_min", lambda x: x.clamp(min=0.5), lambda x: x.clamp(min=0.5), True),
    ("atan2", _pair(K.atan2), _pair(torch.atan2), True),
    ("hypot", _pair(K.hypot), _pair(torch.hypot), True),
    ("maximum", _pair(K.maximum), _pair(torch.maximum), True),
    ("minimum", _pair(K.minimum), _pair(torch.minimum), True),
    ("fmax", _pair(K.fmax), _pair(torch.fmax), True),
    ("fmin", _pair(K.fmin), _pair(torch.fmin), True),
    ("div", _pair(K.div), _pair(torch.div), True),
    ("mul", _pair(K.mul), _pair(torch.mul), True),
    ("fmod", lambda x: K.fmod(x, 1.5), lambda x: torch.fmod(x, 1.5), True),
    ("remainder", lambda x: K.remainder(x, 1.5), lambda x: torch.remainder(x, 1.5), True),
    ("floor_divide", lambda x: x // 1.5, lambda x: x // 1.5, False),
    ("logaddexp", _pair(K.logaddexp), _pair(torch.logaddexp), True),
    ("logaddexp2", _pair(K.logaddexp2), _pair(torch.logaddexp2), True),
    ("xlogy", _pair(K.xlogy), _pair(torch.xlogy), True),
    ("lerp", lambda x: K.lerp(x, x.flip(0), 0.3), lambda x: torch.lerp(x, x.flip(0), 0.3), True),
    ("norm", lambda x: x.norm().reshape(1), lambda x: x.norm().reshape(1), True),
    ("logsumexp", lambda x: x.logsumexp(0).reshape(1), lambda x: x.logsumexp(0).reshape(1),
     True),
    ("cumsum", lambda x: x.cumsum(0), lambda x: x.cumsum(0), True),
    ("prod", lambda x: x.prod().reshape(1), lambda x: x.prod().reshape(1), True),
    ("max", lambda x: x.max().reshape(1), lambda x: x.max().reshape(1), True),
    ("min", lambda x: x.min().reshape(1), lambda x: x.min().reshape(1), True),
    ("amax", lambda x: x.amax(0).reshape(1), lambda x: x.amax(0).reshape(1), True),
    ("max_dim", lambda x: x.reshape(2, -1).max(1)[0], lambda x: x.reshape(2, -1).max(1)[0], True),
    ("sort", lambda x: x.sort()[0], lambda x: x.sort()[0], True),
    ("mean", lambda x: x.mean().reshape(1), lambda x: x.mean().reshape(1), True),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kf,tf,differentiable", CASES, ids=[c[0] for c in CASES])
def test_special_values_match_torch(name, kf, tf, differentiable, dtype):
    x = np.array(VALUES, dtype)
    kx = K.tensor(x, requires_grad=differentiable)
    tx = torch.tensor(x, requires_grad=differentiable)
    with np.errstate(all="ignore"):
        ko, to = kf(kx), tf(tx)
    kv, tv = ko.detach().numpy(), to.detach().numpy()
    assert kv.dtype == tv.dtype, (kv.dtype, tv.dtype)
    np.testing.assert_allclose(kv.astype(np.float64), tv.astype(np.float64), rtol=1e-5,
                               atol=1e-30, equal_nan=True, err_msg=f"{name} forward")
    if differentiable and to.requires_grad:
        ko.sum().backward()
        to.sum().backward()
        np.testing.assert_allclose(kx.grad.numpy().astype(np.float64),
                                   tx.grad.numpy().astype(np.float64), rtol=1e-4, atol=1e-30,
                                   equal_nan=True, err_msg=f"{name} gradient")


# --- losses and normalizations at their edges ---------------------------------------------------
F32 = np.float32
LOGITS = np.array([[1e4, -1e4, 0.0], [np.inf, 0.0, 1.0], [-np.inf, 0.0, 1.0], [0.0, 0.0, 0.0],
                   [88.0, -88.0, 3.0]], F32)
CLASSES = np.array([0, 1, 2, 1, 2])
PROBS, LABELS = np.array([0.0, 1.0, 0.5, 1e-30, 1 - 1e-7, 0.3], F32), \
    np.array([0.0, 1.0, 1.0, 1.0, 0.0, 0.7], F32)
SCORES = np.array([np.inf, -np.inf, 1e4, -1e4, 0.0, 88.0, -100.0], F32)
SIGNS = np.array([1, -1, 1, -1, -1, -1, 1], F32)
PAIRS = (np.array([[0.0, 0.0], [1.0, 2.0]], F32), np.array([[0.0, 0.0], [2.0, 4.0]], F32))


def _both(name, **kw):
    return lambda *a: getattr(KF, name)(*a, **kw), lambda *a: getattr(TF, name)(*a, **kw)


LOSS_CASES = [
    ("cross_entropy", *_both("cross_entropy"), (LOGITS, CLASSES), (0,)),
    ("cross_entropy_smoothing", *_both("cross_entropy", label_smoothing=0.1), (LOGITS, CLASSES),
     (0,)),
    ("cross_entropy_ignore", *_both("cross_entropy", ignore_index=1, reduction="sum"),
     (LOGITS, CLASSES), (0,)),
    ("cross_entropy_all_ignored", *_both("cross_entropy", ignore_index=1),
     (LOGITS[:1], np.array([1])), (0,)),
    ("binary_cross_entropy", *_both("binary_cross_entropy"), (PROBS, LABELS), (0,)),
    ("binary_cross_entropy_flipped", *_both("binary_cross_entropy"), (PROBS, 1 - LABELS), (0,)),
    ("bce_with_logits", *_both("binary_cross_entropy_with_logits"),
     (SCORES, (SIGNS + 1) / 2), (0,)),
    ("bce_with_logits_flipped", *_both("binary_cross_entropy_with_logits"),
     (SCORES, (1 - SIGNS) / 2), (0,)),
    # (PyTorch's float32 log1p(exp(z)) overflows to inf from z = 89; kindling's stays z)
    ("soft_margin", *_both("soft_margin_loss", reduction="none"), (SCORES[:-1], SIGNS[:-1]),
     (0,)),
    ("mse", *_both("mse_loss"), (SCORES[2:], SCORES[2:][::-1].copy()), (0,)),
    ("smooth_l1", *_both("smooth_l1_loss"), (SCORES[2:], np.zeros(5, F32)), (0,)),
    ("kl_div_zero_target", *_both("kl_div", reduction="batchmean"),
     (np.log(np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]], F32)),
      np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], F32)), (0,)),
    ("nll_minus_inf", *_both("nll_loss"), (np.array([[-np.inf, 0.0], [0.0, -1.0]], F32),
                                           np.array([0, 1])), (0,)),
    ("gaussian_nll_tiny_var", *_both("gaussian_nll_loss"),
     (np.array([0.0, 1.0, 2.0], F32), np.array([0.0, 2.0, 1.0], F32),
      np.array([0.0, 1.0, 1e-8], F32)), (0, 2)),
    ("multilabel_soft_margin", *_both("multilabel_soft_margin_loss"),
     (np.array([[1e4, -1e4, 0.0]], F32), np.array([[1.0, 0.0, 1.0]], F32)), (0,)),
    ("cosine_embedding_zero", *_both("cosine_embedding_loss"),
     PAIRS + (np.array([1.0, -1.0], F32),), (0, 1)),
    ("triplet_same", *_both("triplet_margin_loss"), PAIRS + (PAIRS[0][::-1].copy(),),
     (0, 1, 2)),
    ("normalize_zero", *_both("normalize"), (PAIRS[0],), (0,)),
    ("cosine_similarity_zero", *_both("cosine_similarity"), PAIRS, (0, 1)),
    ("pairwise_distance_same", *_both("pairwise_distance"), (PAIRS[0], PAIRS[0].copy()),
     (0, 1)),
    ("layer_norm_constant_rows", lambda x: KF.layer_norm(x, (3,)),
     lambda x: TF.layer_norm(x, (3,)), (np.array([[1.0, 1.0, 1.0], [1e4, 1e4 + 1, 1e4 + 2]],
                                                 F32),), (0,)),
    ("batch_norm_constant_channel", lambda x: KF.batch_norm(x, None, None, training=True),
     lambda x: TF.batch_norm(x, None, None, training=True),
     (np.array([[1.0, 5.0], [1.0, 6.0]], F32),), (0,)),
    ("softmax_all_masked_row", lambda x: x.softmax(1), lambda x: x.softmax(1),
     (np.array([[-np.inf, -np.inf], [0.0, -np.inf]], F32),), (0,)),
]


@pytest.mark.parametrize("name,kf,tf,arrays,grads", LOSS_CASES, ids=[c[0] for c in LOSS_CASES])
def test_loss_and_norm_edges_match_torch(name, kf, tf, arrays, grads):
    ks = [K.tensor(a, requires_grad=i in grads) for i, a in enumerate(arrays)]
    ts = [torch.tensor(a, requires_grad=i in grads) for i, a in enumerate(arrays)]
    with np.errstate(all="ignore"):
        ko, to = kf(*ks), tf(*ts)
    np.testing.assert_allclose(ko.detach().numpy(), to.detach().numpy(), rtol=1e-5, atol=1e-6,
                               equal_nan=True, err_msg=f"{name} forward")
    ko.sum().backward()
    to.sum().backward()
    for i in grads:
        np.testing.assert_allclose(ks[i].grad.numpy(), ts[i].grad.numpy(), rtol=1e-4, atol=1e-6,
                                   equal_nan=True, err_msg=f"{name} gradient of input {i}")
