"""Losses (kindling.nn.functional.loss, kindling.nn.modules.loss) against PyTorch."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import kindling
import kindling.nn.functional as KF
from kindling.nn.modules import loss as KL
from kindling.autograd import gradcheck, gradgradcheck
from oracle import check

REDUCTIONS = ["none", "mean", "sum"]
rng = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _fresh_rng():
    """Each test draws the same data however the tests are selected or ordered."""
    global rng
    rng = np.random.default_rng(0)


def randn(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def rand(*shape, low=0.0, high=1.0, dtype=np.float32):
    return rng.uniform(low, high, shape).astype(dtype)


def ints(high, *shape):
    return rng.integers(0, high, shape).astype(np.int64)


def k_(a):
    return kindling.tensor(np.asarray(a).copy())


def t_(a):
    return torch.tensor(np.asarray(a).copy())


def both(name, **kw):
    """(kindling fn, torch fn) calling F.<name> with keyword options."""
    return (lambda *a: getattr(KF, name)(*a, **kw)), (lambda *a: getattr(TF, name)(*a, **kw))


# --- regression -------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,kw", [
    ("mse_loss", {}), ("l1_loss", {}), ("smooth_l1_loss", {}), ("smooth_l1_loss", {"beta": 0.5}),
    ("smooth_l1_loss", {"beta": 0.0}), ("huber_loss", {}), ("huber_loss", {"delta": 2.0}),
])
def test_regression_losses(name, kw, reduction):
    fk, ft = both(name, reduction=reduction, **kw)
    # gradients wrt input and target both
    check(fk, ft, randn(4, 5), randn(4, 5) * 2, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
def test_regression_weighted(name, reduction):
    w = rand(3, 4, low=0.1)
    check(lambda x, y: getattr(KF, name)(x, y, reduction=reduction, weight=k_(w)),
          lambda x, y: getattr(TF, name)(x, y, reduction=reduction, weight=t_(w)),
          randn(3, 4), randn(3, 4))


def test_mse_broadcast_warns_and_mismatch_raises():
    x, y = kindling.tensor(randn(3, 4)), kindling.tensor(randn(4))
    with pytest.warns(UserWarning, match=r"mse_loss.*\(4,\).*\(3, 4\)"):
        KF.mse_loss(x, y)
    with pytest.raises(RuntimeError, match=r"mse_loss.*\(3, 5\).*\(3, 4\)"):
        KF.mse_loss(x, kindling.tensor(randn(3, 5)))


def test_legacy_size_average_reduce():
    x, y = randn(3, 4), randn(3, 4)
    for sa, r in [(None, False), (False, None), (True, True), (False, True)]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check(lambda a, b: KF.mse_loss(a, b, size_average=sa, reduce=r),
                  lambda a, b: TF.mse_loss(a, b, size_average=sa, reduce=r), x, y)
            check(lambda a, b: KF.l1_loss(a, b, sa, r), lambda a, b: TF.l1_loss(a, b, sa, r),
                  x, y)


def test_invalid_reduction():
    x = kindling.tensor(randn(3))
    with pytest.raises(ValueError, match="mse_loss.*'avg'"):
        KF.mse_loss(x, x, reduction="avg")
    with pytest.raises(ValueError, match="cross_entropy.*'batchmean'"):
        KF.cross_entropy(kindling.tensor(randn(2, 3)), kindling.tensor([0, 1]),
                         reduction="batchmean")


# --- binary classification --------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy(reduction, weighted):
    w = rand(5, low=0.2, high=2.0)
    kw_k = {"weight": k_(w)} if weighted else {}
    kw_t = {"weight": t_(w)} if weighted else {}
    check(lambda x, y: KF.binary_cross_entropy(x, y, reduction=reduction, **kw_k),
          lambda x, y: TF.binary_cross_entropy(x, y, reduction=reduction, **kw_t),
          rand(3, 5, low=0.05, high=0.95), rand(3, 5), rtol=1e-5, atol=1e-5)


def test_binary_cross_entropy_clamps_log_at_minus_100():
    x = np.array([0.0, 1.0, 0.0, 1.0], np.float32)
    y = np.array([1.0, 0.0, 0.0, 1.0], np.float32)
    check(lambda a, b: KF.binary_cross_entropy(a, b, reduction="none"),
          lambda a, b: TF.binary_cross_entropy(a, b, reduction="none"), x, y, grad=False)
    out = KF.binary_cross_entropy(kindling.tensor(x), kindling.tensor(y), reduction="none")
    np.testing.assert_allclose(out.numpy(), [100, 100, 0, 0])


def test_binary_cross_entropy_errors():
    with pytest.raises(RuntimeError, match="binary_cross_entropy.*between 0 and 1"):
        KF.binary_cross_entropy(kindling.tensor([1.5, 0.5]), kindling.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match=r"binary_cross_entropy.*\(3,\).*\(2,\)"):
        KF.binary_cross_entropy(kindling.tensor([0.5, 0.5]), kindling.tensor([1.0, 0.0, 1.0]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted,pos", [(False, False), (True, False), (False, True),
                                          (True, True)])
def test_bce_with_logits(reduction, weighted, pos):
    w, pw = rand(3, 5, low=0.2, high=2.0), rand(5, low=0.5, high=3.0)
    kk = {"weight": k_(w) if weighted else None, "pos_weight": k_(pw) if pos else None}
    tt = {"weight": t_(w) if weighted else None, "pos_weight": t_(pw) if pos else None}
    check(lambda x, y: KF.binary_cross_entropy_with_logits(x, y, reduction=reduction, **kk),
          lambda x, y: TF.binary_cross_entropy_with_logits(x, y, reduction=reduction, **tt),
          randn(3, 5) * 3, rand(3, 5))


@pytest.mark.parametrize("pos", [False, True])
def test_bce_with_logits_extreme_logits(pos):
    x = np.array([1e4, -1e4, 1e4, -1e4, 0.0], np.float32)
    y = np.array([1.0, 0.0, 0.0, 1.0, 0.5], np.float32)
    pw = np.full(5, 2.0, np.float32)
    kk = {"pos_weight": k_(pw)} if pos else {}
    tt = {"pos_weight": t_(pw)} if pos else {}
    out_k, _ = check(lambda a, b: KF.binary_cross_entropy_with_logits(a, b, reduction="none",
                                                                      **kk),
                     lambda a, b: TF.binary_cross_entropy_with_logits(a, b, reduction="none",
                                                                      **tt), x, y)
    assert np.all(np.isfinite(out_k.detach().numpy()))


def test_bce_with_logits_shape_error():
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits.*\(2, 3\).*\(3, 2\)"):
        KF.binary_cross_entropy_with_logits(kindling.tensor(randn(3, 2)),
                                            kindling.tensor(rand(2, 3)))


# --- cross entropy and nll ----------------------------------------------------------------------
CE_SHAPES = [((5,), ()), ((4, 5), (4,)), ((2, 3, 4), (2, 4)), ((2, 3, 2, 3), (2, 2, 3))]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape,tshape", CE_SHAPES)
@pytest.mark.parametrize("weighted,ignore,smoothing", [
    (False, False, 0.0), (True, False, 0.0), (False, True, 0.0), (False, False, 0.2),
    (True, True, 0.3)])
def test_cross_entropy_class_indices(shape, tshape, reduction, weighted, ignore, smoothing):
    C = shape[1] if len(shape) > 1 else shape[0]
    x, t = randn(*shape) * 2, ints(C, *tshape)
    if ignore and t.ndim:
        t.reshape(-1)[::3] = 1  # ignore_index=1: some items ignored, the rest kept
    w = rand(C, low=0.2, high=2.0)
    kw = dict(reduction=reduction, label_smoothing=smoothing, ignore_index=1 if ignore else -100)
    check(lambda a, b: KF.cross_entropy(a, b, weight=k_(w) if weighted else None, **kw),
          lambda a, b: TF.cross_entropy(a, b, weight=t_(w) if weighted else None, **kw),
          x, t, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(5,), (4, 5), (2, 3, 4)])
@pytest.mark.parametrize("weighted,smoothing", [(False, 0.0), (True, 0.0), (True, 0.25)])
def test_cross_entropy_probabilities(shape, reduction, weighted, smoothing):
    C = shape[1] if len(shape) > 1 else shape[0]
    ca = 1 if len(shape) > 1 else 0
    p = rand(*shape, low=0.01)
    p = p / p.sum(axis=ca, keepdims=True)
    w = rand(C, low=0.2, high=2.0)
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    # gradients wrt the logits and the target probabilities
    check(lambda a, b: KF.cross_entropy(a, b, weight=k_(w) if weighted else None, **kw),
          lambda a, b: TF.cross_entropy(a, b, weight=t_(w) if weighted else None, **kw),
          randn(*shape), p)


def test_cross_entropy_extreme_logits():
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4], [1e4, 1e4, -1e4]], np.float32)
    t = np.array([1, 1, 2])
    for kw in [{}, {"label_smoothing": 0.1}, {"weight": np.array([1.0, 2.0, 0.5], np.float32)}]:
        kk = {k: (k_(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
        tt = {k: (t_(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
        out_k, _ = check(lambda a, b: KF.cross_entropy(a, b, **kk),
                         lambda a, b: TF.cross_entropy(a, b, **tt), x, t)
        assert np.isfinite(out_k.item())


def test_cross_entropy_all_ignored():
    x, t = randn(3, 4), np.full(3, -100)
    for smoothing in [0.0, 0.2]:  # mean: nan loss, zero gradient (as in torch)
        check(lambda a, b: KF.cross_entropy(a, b, label_smoothing=smoothing),
              lambda a, b: TF.cross_entropy(a, b, label_smoothing=smoothing), x, t)
    assert np.isnan(KF.cross_entropy(k_(x), k_(t)).item())
    assert KF.cross_entropy(k_(x), k_(t), reduction="sum").item() == 0
    check(lambda a, b: KF.cross_entropy(a, b, reduction="sum"),
          lambda a, b: TF.cross_entropy(a, b, reduction="sum"), x, t)


def test_cross_entropy_double_precision_and_dtype():
    check(lambda a, b: KF.cross_entropy(a, b), lambda a, b: TF.cross_entropy(a, b),
          randn(3, 4, dtype=np.float64), ints(4, 3))


def test_cross_entropy_errors():
    x = kindling.tensor(randn(3, 4))
    with pytest.raises(RuntimeError, match="cross_entropy: expected target of dtype int64 for "
                                           "class indices, got float32"):
        KF.cross_entropy(x, kindling.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(IndexError, match="cross_entropy: target 7 .* 4 classes"):
        KF.cross_entropy(x, kindling.tensor([0, 7, 1]))
    with pytest.raises(IndexError, match="nll_loss: target -3 .* 4 classes"):
        KF.nll_loss(x, kindling.tensor([0, -3, 1]))
    with pytest.raises(ValueError, match=r"cross_entropy.*batch_size \(3\).*\(4\)"):
        KF.cross_entropy(x, kindling.tensor([0, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"cross_entropy.*\(2, 4\).*\(2, 3, 4\).*\(2, 5\)"):
        KF.cross_entropy(kindling.tensor(randn(2, 3, 4)), kindling.tensor(ints(3, 2, 5)))
    with pytest.raises(RuntimeError, match="cross_entropy.*int32"):
        KF.cross_entropy(x, kindling.tensor(np.array([0, 1, 2], np.int32)))
    with pytest.raises(RuntimeError, match="weight tensor should be defined.*4 classes"):
        KF.cross_entropy(x, kindling.tensor([0, 1, 2]), weight=kindling.tensor(rand(3)))
    with pytest.raises(RuntimeError, match="label_smoothing"):
        KF.cross_entropy(x, kindling.tensor([0, 1, 2]), label_smoothing=1.5)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape,tshape", CE_SHAPES)
@pytest.mark.parametrize("weighted,ignore", [(False, False), (True, True)])
def test_nll_loss(shape, tshape, reduction, weighted, ignore):
    C = shape[1] if len(shape) > 1 else shape[0]
    x, t = randn(*shape), ints(C, *tshape)
    if ignore and t.ndim:
        t.reshape(-1)[::2] = 2
    w = rand(C, low=0.2, high=2.0)
    kw = dict(reduction=reduction, ignore_index=2 if ignore else -100)
    check(lambda a, b: KF.nll_loss(a, b, weight=k_(w) if weighted else None, **kw),
          lambda a, b: TF.nll_loss(a, b, weight=t_(w) if weighted else None, **kw), x, t)


def test_nll_all_ignored_is_nan():
    x, t = randn(2, 3), np.array([0, 0])
    check(lambda a, b: KF.nll_loss(a, b, ignore_index=0),
          lambda a, b: TF.nll_loss(a, b, ignore_index=0), x, t)


# --- divergences and likelihoods ----------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    inp = np.log(rand(3, 4, low=0.05))
    tgt = rand(3, 4, low=0.05)
    if log_target:
        tgt = np.log(tgt)
    else:
        tgt[0, 0] = 0.0  # target 0 contributes 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda a, b: KF.kl_div(a, b, reduction=reduction, log_target=log_target),
              lambda a, b: TF.kl_div(a, b, reduction=reduction, log_target=log_target),
              inp, tgt) if log_target else \
            check(lambda a: KF.kl_div(a, k_(tgt), reduction=reduction),
                  lambda a: TF.kl_div(a, t_(tgt), reduction=reduction), inp)
        if not log_target:  # target gradient away from target == 0
            t2 = rand(3, 4, low=0.05)
            check(lambda a, b: KF.kl_div(a, b, reduction=reduction),
                  lambda a, b: TF.kl_div(a, b, reduction=reduction), inp, t2)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("log_input,full", [(True, False), (False, False), (True, True),
                                            (False, True)])
def test_poisson_nll_loss(reduction, log_input, full):
    x = randn(3, 4) if log_input else rand(3, 4, low=0.1, high=3)
    y = rng.poisson(2.0, (3, 4)).astype(np.float32)
    check(lambda a: KF.poisson_nll_loss(a, k_(y), log_input, full, reduction=reduction),
          lambda a: TF.poisson_nll_loss(a, t_(y), log_input, full, reduction=reduction), x)
    y2 = rand(3, 4, low=0.5, high=3)  # gradient wrt a float target too
    check(lambda a, b: KF.poisson_nll_loss(a, b, log_input, full, reduction=reduction),
          lambda a, b: TF.poisson_nll_loss(a, b, log_input, full, reduction=reduction), x, y2)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("vshape", [(3, 4), (3,), (3, 1)])
@pytest.mark.parametrize("full", [False, True])
def test_gaussian_nll_loss(reduction, vshape, full):
    v = rand(*vshape, low=0.1, high=2.0)
    v.reshape(-1)[0] = 1e-8  # clamped at eps
    check(lambda a, b, c: KF.gaussian_nll_loss(a, b, c, full=full, reduction=reduction),
          lambda a, b, c: TF.gaussian_nll_loss(a, b, c, full=full, reduction=reduction),
          randn(3, 4), randn(3, 4), v, rtol=1e-4, atol=1e-5)


def test_gaussian_nll_float_var_and_errors():
    check(lambda a, b: KF.gaussian_nll_loss(a, b, 0.5), lambda a, b: TF.gaussian_nll_loss(a, b, 0.5),
          randn(3, 4), randn(3, 4))
    x = kindling.tensor(randn(3, 4))
    with pytest.raises(ValueError, match="negative"):
        KF.gaussian_nll_loss(x, x, kindling.tensor(-rand(3, 4)))
    with pytest.raises(ValueError, match="incorrect size"):
        KF.gaussian_nll_loss(x, x, kindling.tensor(rand(2, 2)))


# --- embeddings, ranking, margins ----------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.3])
def test_cosine_embedding_loss(reduction, margin):
    y = np.array([1, -1, 1, -1, -1])
    check(lambda a, b: KF.cosine_embedding_loss(a, b, k_(y), margin, reduction=reduction),
          lambda a, b: TF.cosine_embedding_loss(a, b, t_(y), margin, reduction=reduction),
          randn(5, 6), randn(5, 6))
    check(lambda a, b: KF.cosine_embedding_loss(a, b, k_(np.array(-1)), -0.5,
                                                reduction=reduction),
          lambda a, b: TF.cosine_embedding_loss(a, b, t_(np.array(-1)), -0.5,
                                                reduction=reduction),
          randn(6), randn(6))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_margin_ranking_and_hinge(reduction):
    y = np.array([1, -1, 1, -1, 1, -1], np.float32)
    check(lambda a, b: KF.margin_ranking_loss(a, b, k_(y), 0.5, reduction=reduction),
          lambda a, b: TF.margin_ranking_loss(a, b, t_(y), 0.5, reduction=reduction),
          randn(6), randn(6))
    check(lambda a: KF.hinge_embedding_loss(a, k_(y), 0.7, reduction=reduction),
          lambda a: TF.hinge_embedding_loss(a, t_(y), 0.7, reduction=reduction), randn(6))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p,swap", [(2, False), (2, True), (1, False), (3, True)])
def test_triplet_margin_loss(reduction, p, swap):
    check(lambda a, b, c: KF.triplet_margin_loss(a, b, c, margin=1.5, p=p, swap=swap,
                                                 reduction=reduction),
          lambda a, b, c: TF.triplet_margin_loss(a, b, c, margin=1.5, p=p, swap=swap,
                                                 reduction=reduction),
          randn(5, 4), randn(5, 4), randn(5, 4), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_multilabel_soft_margin_loss(reduction, weighted):
    w = rand(5, low=0.2, high=2)
    check(lambda a, b: KF.multilabel_soft_margin_loss(a, b, k_(w) if weighted else None,
                                                      reduction=reduction),
          lambda a, b: TF.multilabel_soft_margin_loss(a, b, t_(w) if weighted else None,
                                                      reduction=reduction),
          randn(3, 5) * 3, (rand(3, 5) > 0.5).astype(np.float32))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_soft_margin_loss(reduction):
    y = np.where(rand(3, 4) > 0.5, 1.0, -1.0).astype(np.float32)
    check(lambda a: KF.soft_margin_loss(a, k_(y), reduction=reduction),
          lambda a: TF.soft_margin_loss(a, t_(y), reduction=reduction), randn(3, 4) * 3)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p,weighted", [(1, False), (2, True)])
def test_multi_margin_loss(reduction, p, weighted):
    w = rand(5, low=0.2, high=2)
    t = ints(5, 4)
    check(lambda a: KF.multi_margin_loss(a, k_(t), p=p, margin=0.8,
                                         weight=k_(w) if weighted else None, reduction=reduction),
          lambda a: TF.multi_margin_loss(a, t_(t), p=p, margin=0.8,
                                         weight=t_(w) if weighted else None, reduction=reduction),
          randn(4, 5))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_margin_loss(reduction):
    t = np.array([[3, 0, -1, 1], [1, 2, 3, 0], [-1, 1, 2, 3], [2, 2, -1, 0]])
    check(lambda a: KF.multilabel_margin_loss(a, k_(t), reduction=reduction),
          lambda a: TF.multilabel_margin_loss(a, t_(t), reduction=reduction), randn(4, 4))
    check(lambda a: KF.multilabel_margin_loss(a, k_(t[0]), reduction=reduction),
          lambda a: TF.multilabel_margin_loss(a, t_(t[0]), reduction=reduction), randn(4))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("swap,custom", [(False, False), (True, False), (True, True)])
def test_triplet_margin_with_distance_loss(reduction, swap, custom):
    def dist(a, b):
        d = a - b
        return (d * d).sum(-1)
    check(lambda a, b, c: KF.triplet_margin_with_distance_loss(
              a, b, c, distance_function=dist if custom else None, margin=0.7, swap=swap,
              reduction=reduction),
          lambda a, b, c: TF.triplet_margin_with_distance_loss(
              a, b, c, distance_function=dist if custom else None, margin=0.7, swap=swap,
              reduction=reduction),
          randn(5, 3), randn(5, 3), randn(5, 3), rtol=1e-4, atol=1e-5)


# --- focal and contrastive -----------------------------------------------------------------------
def torch_focal(x, t, gamma, alpha=None, reduction="mean"):
    logpt = TF.log_softmax(x, 1).gather(1, t.unsqueeze(1)).squeeze(1)
    loss = -(1 - logpt.exp()) ** gamma * logpt
    if alpha is None:
        return {"none": loss, "sum": loss.sum(), "mean": loss.mean()}[reduction]
    at = alpha[t]
    loss = loss * at
    return {"none": loss, "sum": loss.sum(), "mean": loss.sum() / at.sum()}[reduction]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_focal_loss_vs_reference(reduction, gamma):
    check(lambda a, b: KF.focal_loss(a, b, gamma=gamma, reduction=reduction),
          lambda a, b: torch_focal(a, b, gamma, reduction=reduction), randn(6, 4) * 2, ints(4, 6))
    alpha = rand(4, low=0.2, high=1)
    check(lambda a, b: KF.focal_loss(a, b, gamma=gamma, alpha=k_(alpha), reduction=reduction),
          lambda a, b: torch_focal(a, b, gamma, t_(alpha), reduction=reduction),
          randn(6, 4) * 2, ints(4, 6))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_focal_gamma0_is_cross_entropy(reduction):
    x, t = randn(3, 5, 2), ints(5, 3, 2)
    t[0, 0] = -100
    w = rand(5, low=0.2, high=2)
    check(lambda a, b: KF.focal_loss(a, b, gamma=0.0, reduction=reduction),
          lambda a, b: TF.cross_entropy(a, b, reduction=reduction), x, t)
    check(lambda a, b: KF.focal_loss(a, b, gamma=0.0, alpha=k_(w), reduction=reduction),
          lambda a, b: TF.cross_entropy(a, b, weight=t_(w), reduction=reduction), x, t)
    # and against kindling's own cross_entropy, exactly
    a, b = k_(x), k_(t)
    np.testing.assert_array_equal(KF.focal_loss(a, b, gamma=0, reduction=reduction).numpy(),
                                  KF.cross_entropy(a, b, reduction=reduction).numpy())


def test_focal_loss_float_alpha_is_background_foreground_weighting():
    x, t = k_(randn(6, 3)), k_(np.array([0, 1, 2, 0, 2, 1]))
    for reduction in REDUCTIONS:
        np.testing.assert_allclose(
            KF.focal_loss(x, t, alpha=0.25, reduction=reduction).numpy(),
            KF.focal_loss(x, t, alpha=k_(np.array([0.75, 0.25, 0.25], np.float32)),
                          reduction=reduction).numpy(), rtol=1e-6)


def test_focal_loss_extreme_logits():
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4], [1e4, 1e4, -1e4]], np.float32)
    t = np.array([1, 1, 0])
    # torch's reference formula is finite here too (log_softmax is exact to within rounding)
    out_k, _ = check(lambda a, b: KF.focal_loss(a, b, gamma=2.0),
                     lambda a, b: torch_focal(a, b, 2.0), x, t)
    assert np.isfinite(out_k.item())


def torchvision_sigmoid_focal(x, y, alpha, gamma, reduction):
    p = torch.sigmoid(x)
    ce = TF.binary_cross_entropy_with_logits(x, y, reduction="none")
    p_t = p * y + (1 - p) * (1 - y)
    loss = ce * ((1 - p_t) ** gamma)
    if alpha >= 0:
        loss = (alpha * y + (1 - alpha) * (1 - y)) * loss
    return {"none": loss, "sum": loss.sum(), "mean": loss.mean()}[reduction]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("alpha,gamma", [(0.25, 2.0), (-1, 1.5), (0.5, 0.0)])
def test_sigmoid_focal_loss(reduction, alpha, gamma):
    y = (rand(4, 3) > 0.5).astype(np.float32)
    check(lambda a: KF.sigmoid_focal_loss(a, k_(y), alpha, gamma, reduction),
          lambda a: torchvision_sigmoid_focal(a, t_(y), alpha, gamma, reduction), randn(4, 3) * 3)


def test_sigmoid_focal_loss_extreme():
    x = np.array([1e4, -1e4, 1e4, -1e4], np.float32)
    y = np.array([1.0, 0.0, 0.0, 1.0], np.float32)
    out_k, _ = check(lambda a: KF.sigmoid_focal_loss(a, k_(y), reduction="sum"),
                     lambda a: torchvision_sigmoid_focal(a, t_(y), 0.25, 2.0, "sum"), x)
    assert np.isfinite(out_k.item())


def numpy_contrastive(x1, x2, y, margin):
    d = np.sqrt(((x1 - x2) ** 2).sum(-1))
    return y * d ** 2 + (1 - y) * np.maximum(0, margin - d) ** 2


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_contrastive_loss_vs_numpy(reduction):
    x1, x2 = randn(8, 3, dtype=np.float64) * 0.6, randn(8, 3, dtype=np.float64) * 0.6
    y = (rand(8) > 0.5).astype(np.float64)
    expected = numpy_contrastive(x1, x2, y, 1.5)
    expected = {"none": expected, "sum": expected.sum(), "mean": expected.mean()}[reduction]
    out = KF.contrastive_loss(k_(x1), k_(x2), k_(y), margin=1.5, reduction=reduction)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
    # gradient against finite differences
    a = kindling.tensor(x1, requires_grad=True)
    b = kindling.tensor(x2, requires_grad=True)
    assert gradcheck(lambda p, q: KF.contrastive_loss(p, q, k_(y), 1.5, reduction), (a, b))


def test_contrastive_loss_zero_distance_has_zero_grad():
    x = kindling.tensor(randn(2, 3), requires_grad=True)
    loss = KF.contrastive_loss(x, x.detach(), kindling.tensor([1.0, 0.0]))
    loss.backward()
    assert np.all(np.isfinite(x.grad.numpy()))
    np.testing.assert_allclose(loss.item(), 0.5)  # (0 + 1^2) / 2


# --- finite differences (float64) ----------------------------------------------------------------
def _leaf(a):
    return kindling.tensor(np.asarray(a, np.float64), requires_grad=True)


def test_gradcheck_main_losses():
    x, y = _leaf(randn(3, 4)), _leaf(randn(3, 4))
    t = k_(ints(4, 3))
    w = k_(rand(4, low=0.2, dtype=np.float64))
    prob = rand(3, 4, low=0.1, dtype=np.float64)
    prob = _leaf(prob / prob.sum(1, keepdims=True))
    assert gradcheck(lambda a, b: KF.mse_loss(a, b), (x, y))
    assert gradcheck(lambda a: KF.cross_entropy(a, t, weight=w, label_smoothing=0.2), (x,))
    assert gradcheck(lambda a, b: KF.cross_entropy(a, b, weight=w, label_smoothing=0.1),
                     (x, prob))
    assert gradcheck(lambda a: KF.nll_loss(a, t, weight=w, reduction="sum"), (x,))
    p = _leaf(rand(3, 4, low=0.1, high=0.9))
    assert gradcheck(lambda a, b: KF.binary_cross_entropy(a, b), (p, _leaf(rand(3, 4))))
    pw = k_(rand(4, low=0.5, high=2, dtype=np.float64))
    assert gradcheck(lambda a, b: KF.binary_cross_entropy_with_logits(a, b, pos_weight=pw),
                     (x, _leaf(rand(3, 4))))
    assert gradcheck(lambda a: KF.focal_loss(a, t, gamma=2.0), (x,))
    assert gradcheck(lambda a: KF.kl_div(a, k_(prob.detach()), reduction="batchmean"), (x,))


def test_gradcheck_composite_losses():
    x, y = _leaf(randn(3, 4)), _leaf(randn(3, 4) * 2)
    sign = k_(np.where(rand(3, 4) > 0.5, 1.0, -1.0))
    labels = k_((rand(3, 4) > 0.5).astype(np.float64))
    var = _leaf(rand(3, 4, low=0.2, high=2))
    counts = k_(rng.poisson(2.0, (3, 4)).astype(np.float64))
    classes = k_(ints(4, 3))  # built once: the function must be deterministic
    cases = [
        (lambda a, b: KF.smooth_l1_loss(a, b, beta=0.7), (x, y)),
        (lambda a, b: KF.huber_loss(a, b, delta=0.8, reduction="sum"), (x, y)),
        (lambda a: KF.poisson_nll_loss(a, counts, full=True), (x,)),
        (lambda a, b, v: KF.gaussian_nll_loss(a, b, v, full=True), (x, y, var)),
        (lambda a, b: KF.cosine_embedding_loss(a, b, k_(np.array([1, -1, 1])), 0.1), (x, y)),
        (lambda a, b, c: KF.triplet_margin_loss(a, b, c, margin=2.0, swap=True),
         (x, y, _leaf(randn(3, 4)))),
        (lambda a: KF.multilabel_soft_margin_loss(a, labels), (x,)),
        (lambda a: KF.soft_margin_loss(a, sign), (x,)),
        (lambda a: KF.multi_margin_loss(a, classes, p=2), (x,)),
        (lambda a: KF.multilabel_margin_loss(a, k_(np.array([[1, 2, -1, 0]] * 3))), (x,)),
        (lambda a: KF.sigmoid_focal_loss(a, labels, reduction="mean"), (x,)),
    ]
    for fn, inputs in cases:
        assert gradcheck(fn, inputs)


def test_gradgradcheck_fused_losses():
    x = _leaf(randn(3, 4))
    t = k_(ints(4, 3))
    prob = rand(3, 4, low=0.1, dtype=np.float64)
    prob = _leaf(prob / prob.sum(1, keepdims=True))
    assert gradgradcheck(lambda a: KF.cross_entropy(a, t, label_smoothing=0.1), (x,))
    assert gradgradcheck(lambda a: KF.cross_entropy(a, t), (x,))  # the NumPy first-order path
    assert gradgradcheck(lambda a: KF.cross_entropy(a, t, reduction="none", ignore_index=1),
                         (x,))
    assert gradgradcheck(lambda a, b: KF.cross_entropy(a, b), (x, prob))
    y = k_(rand(3, 4, dtype=np.float64))
    assert gradgradcheck(lambda a: KF.binary_cross_entropy_with_logits(a, y), (x,))
    assert gradgradcheck(lambda a: KF.focal_loss(a, t, gamma=2.0), (x,))


def test_cross_entropy_double_backward_matches_torch():
    x, t = randn(3, 5, dtype=np.float64), ints(5, 3)
    xk, xt = kindling.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    gk, = kindling.autograd.grad(KF.cross_entropy(xk, k_(t)), xk, create_graph=True)
    gt, = torch.autograd.grad(TF.cross_entropy(xt, t_(t)), xt, create_graph=True)
    np.testing.assert_allclose(gk.detach().numpy(), gt.detach().numpy(), rtol=1e-10)
    v = randn(3, 5, dtype=np.float64)
    hk, = kindling.autograd.grad((gk * k_(v)).sum(), xk)
    ht, = torch.autograd.grad((gt * t_(v)).sum(), xt)
    np.testing.assert_allclose(hk.numpy(), ht.numpy(), rtol=1e-8, atol=1e-12)


# --- modules --------------------------------------------------------------------------------------
MODULE_CASES = [
    ("L1Loss", {}, lambda: (randn(3, 4), randn(3, 4))),
    ("MSELoss", {"reduction": "sum"}, lambda: (randn(3, 4), randn(3, 4))),
    ("SmoothL1Loss", {"beta": 0.5}, lambda: (randn(3, 4), randn(3, 4))),
    ("HuberLoss", {"delta": 0.7, "reduction": "none"}, lambda: (randn(3, 4), randn(3, 4))),
    ("BCELoss", {"weight": rand(4)}, lambda: (rand(3, 4, low=0.1, high=0.9), rand(3, 4))),
    ("BCEWithLogitsLoss", {"weight": rand(4), "pos_weight": rand(4, low=0.5, high=2)},
     lambda: (randn(3, 4), rand(3, 4))),
    ("CrossEntropyLoss", {"weight": rand(4, low=0.1), "ignore_index": 2, "label_smoothing": 0.1},
     lambda: (randn(5, 4), ints(4, 5))),
    ("NLLLoss", {"weight": rand(4, low=0.1), "reduction": "sum"},
     lambda: (randn(5, 4), ints(4, 5))),
    ("KLDivLoss", {"reduction": "batchmean", "log_target": True},
     lambda: (randn(3, 4), randn(3, 4))),
    ("PoissonNLLLoss", {"log_input": False, "full": True},
     lambda: (rand(3, 4, low=0.5, high=2), rand(3, 4, low=0, high=4))),
    ("GaussianNLLLoss", {"full": True}, lambda: (randn(3, 4), randn(3, 4), rand(3, 4, low=0.1))),
    ("CosineEmbeddingLoss", {"margin": 0.2},
     lambda: (randn(4, 3), randn(4, 3), np.array([1, -1, -1, 1]))),
    ("MarginRankingLoss", {"margin": 0.1},
     lambda: (randn(4), randn(4), np.array([1, -1, -1, 1], np.float32))),
    ("HingeEmbeddingLoss", {"margin": 2.0},
     lambda: (randn(4), np.array([1, -1, -1, 1], np.float32))),
    ("TripletMarginLoss", {"margin": 0.5, "swap": True},
     lambda: (randn(4, 3), randn(4, 3), randn(4, 3))),
    ("MultiLabelSoftMarginLoss", {"weight": rand(4)},
     lambda: (randn(3, 4), (rand(3, 4) > 0.5).astype(np.float32))),
    ("SoftMarginLoss", {}, lambda: (randn(3, 4), np.sign(randn(3, 4)))),
    ("MultiMarginLoss", {"p": 2, "margin": 0.5, "weight": rand(4)},
     lambda: (randn(5, 4), ints(4, 5))),
    ("MultiLabelMarginLoss", {}, lambda: (randn(2, 3), np.array([[2, -1, 0], [0, 1, 2]]))),
    ("TripletMarginWithDistanceLoss", {"margin": 0.5, "swap": True},
     lambda: (randn(4, 3), randn(4, 3), randn(4, 3))),
]


@pytest.mark.parametrize("name,kw,data", MODULE_CASES, ids=[c[0] for c in MODULE_CASES])
def test_modules_match_torch(name, kw, data):
    kk = {k: (k_(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    tt = {k: (t_(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    mk, mt = getattr(KL, name)(**kk), getattr(torch.nn, name)(**tt)
    if name != "TripletMarginWithDistanceLoss" or hasattr(kindling.nn, "PairwiseDistance"):
        assert repr(mk) == repr(mt)
    assert mk.reduction == mt.reduction
    assert sorted(mk.state_dict()) == sorted(mt.state_dict())
    arrays = data()
    grads = [a.dtype.kind == "f" and i == 0 for i, a in enumerate(arrays)]
    ks = [kindling.tensor(a.copy(), requires_grad=g) for a, g in zip(arrays, grads)]
    ts = [torch.tensor(a.copy(), requires_grad=g) for a, g in zip(arrays, grads)]
    out_k, out_t = mk(*ks), mt(*ts)
    np.testing.assert_allclose(out_k.detach().numpy(), out_t.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    out_k.sum().backward()
    out_t.sum().backward()
    np.testing.assert_allclose(ks[0].grad.numpy(), ts[0].grad.numpy(), rtol=1e-4, atol=1e-6)


def test_module_legacy_args_and_buffers():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert KL.MSELoss(size_average=False).reduction == "sum"
        assert KL.CrossEntropyLoss(reduce=False).reduction == "none"
    m = KL.CrossEntropyLoss(weight=kindling.tensor([1.0, 2.0]))
    assert "weight" in dict(m.named_buffers())
    assert KL.CrossEntropyLoss().weight is None


def test_extra_modules():
    x, t = k_(randn(4, 3)), k_(ints(3, 4))
    np.testing.assert_allclose(KL.FocalLoss(gamma=0.0)(x, t).item(),
                               KF.cross_entropy(x, t).item(), rtol=1e-6)
    assert "gamma=2.0" in repr(KL.FocalLoss())
    alpha = KL.FocalLoss(alpha=kindling.tensor([1.0, 2.0, 3.0]))
    assert "alpha" in dict(alpha.named_buffers())
    y = k_((rand(4, 3) > 0.5).astype(np.float32))
    assert KL.SigmoidFocalLoss()(x, y).shape == (4, 3)
    m = KL.ContrastiveLoss(margin=2.0)
    assert repr(m) == "ContrastiveLoss(margin=2.0)"
    out = m(x, k_(randn(4, 3)), k_(np.array([1.0, 0.0, 1.0, 0.0], np.float32)))
    assert out.shape == ()


# --- property-based: cross_entropy over random shapes and options ---------------------------------
from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 4), c=st.integers(1, 5), extra=st.lists(st.integers(1, 3), max_size=2),
       reduction=st.sampled_from(REDUCTIONS), weighted=st.booleans(),
       smoothing=st.sampled_from([0.0, 0.15, 1.0]), ignore=st.booleans(),
       seed=st.integers(0, 2 ** 16))
def test_cross_entropy_hypothesis(n, c, extra, reduction, weighted, smoothing, ignore, seed):
    r = np.random.default_rng(seed)
    x = (r.standard_normal((n, c, *extra)) * 3).astype(np.float32)
    t = r.integers(0, c, (n, *extra)).astype(np.int64)
    if ignore:
        t[r.random(t.shape) < 0.3] = -100
    w = r.uniform(0.1, 2.0, c).astype(np.float32)
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    check(lambda a, b: KF.cross_entropy(a, b, weight=k_(w) if weighted else None, **kw),
          lambda a, b: TF.cross_entropy(a, b, weight=t_(w) if weighted else None, **kw),
          x, t, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("shape", [(), (1,), (0,), (2, 0)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_scalar_and_empty_inputs(shape, reduction):
    x, y = randn(*shape), rand(*shape)
    for name in ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"]:
        fk, ft = both(name, reduction=reduction)
        check(fk, ft, x, y)
    check(lambda a, b: KF.binary_cross_entropy_with_logits(a, b, reduction=reduction),
          lambda a, b: TF.binary_cross_entropy_with_logits(a, b, reduction=reduction), x, y)
    check(lambda a, b: KF.binary_cross_entropy(a, b, reduction=reduction),
          lambda a, b: TF.binary_cross_entropy(a, b, reduction=reduction),
          rand(*shape, low=0.1, high=0.9), y)


# --- CTC ----------------------------------------------------------------------------------------
def _ctc_data(T=10, N=3, C=5, S=4, dtype=np.float32):
    x = rng.standard_normal((T, N, C))
    lp = (x - np.log(np.exp(x).sum(-1, keepdims=True))).astype(dtype)
    targets = rng.integers(1, C, (N, S))
    targets[0, 1] = targets[0, 0]  # a repeated label needs a blank between
    return lp, targets, np.array([T, T - 2, 6])[:N], np.array([S, 2, 3])[:N]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("concatenated", [False, True])
def test_ctc_loss(reduction, concatenated):
    lp, targets, il, tl = _ctc_data()
    if concatenated:
        targets = np.concatenate([targets[n, :tl[n]] for n in range(len(tl))])
    check(lambda a: KF.ctc_loss(a, k_(targets), k_(il), k_(tl), reduction=reduction),
          lambda a: TF.ctc_loss(a, t_(targets), t_(il), t_(tl), reduction=reduction), lp,
          rtol=1e-5, atol=1e-5)


def test_ctc_loss_unbatched_blank_and_module():
    lp, targets, il, tl = _ctc_data(N=1)
    check(lambda a: KF.ctc_loss(a, k_(targets[0]), k_(il[0]), k_(tl[0]), reduction="none"),
          lambda a: TF.ctc_loss(a, t_(targets[0]), t_(il[0]), t_(tl[0]), reduction="none"),
          lp[:, 0], atol=1e-5)
    targets = targets - 1  # blank = C - 1
    mk, mt = KL.CTCLoss(blank=4), torch.nn.CTCLoss(blank=4)
    assert repr(mk) == repr(mt)
    check(lambda a: mk(a, k_(targets), k_(il), k_(tl)), lambda a: mt(a, t_(targets), t_(il),
                                                                     t_(tl)), lp, atol=1e-5)


def test_ctc_loss_zero_infinity():
    lp, targets, il, tl = _ctc_data()
    il = np.array([10, 1, 6])  # item 1: one time step cannot emit its 2 labels: loss inf
    check(lambda a: KF.ctc_loss(a, k_(targets), k_(il), k_(tl), reduction="sum",
                                zero_infinity=True),
          lambda a: TF.ctc_loss(a, t_(targets), t_(il), t_(tl), reduction="sum",
                                zero_infinity=True), lp, atol=1e-5)
    out = KF.ctc_loss(k_(lp), k_(targets), k_(il), k_(tl), reduction="none")
    assert np.isinf(out.numpy()[1])


def test_ctc_loss_gradcheck_and_errors():
    lp, targets, il, tl = _ctc_data(T=5, N=2, C=3, S=2, dtype=np.float64)
    il, tl = np.array([5, 4]), np.array([2, 1])
    # Through log_softmax the gradient is exact:
    assert gradcheck(lambda z: KF.ctc_loss(KF.log_softmax(z, 2), k_(targets), k_(il), k_(tl)),
                     (_leaf(lp),))
    # Wrt log_probs themselves, PyTorch's convention adds exp(log_probs) to the true gradient
    # (it cancels through log_softmax): compare the true part with finite differences.
    a = _leaf(lp)
    KF.ctc_loss(a, k_(targets), k_(il), k_(tl), reduction="sum").backward()
    true_grad = a.grad.numpy() - np.exp(lp) * (np.arange(5)[:, None, None] < il[None, :, None])
    eps, numerical = 1e-6, np.zeros_like(lp)
    for idx in np.ndindex(lp.shape):
        plus, minus = lp.copy(), lp.copy()
        plus[idx] += eps
        minus[idx] -= eps
        f = lambda v: KF.ctc_loss(k_(v), k_(targets), k_(il), k_(tl), reduction="sum").item()
        numerical[idx] = (f(plus) - f(minus)) / (2 * eps)
    np.testing.assert_allclose(true_grad, numerical, atol=1e-6)
    with pytest.raises(RuntimeError, match="ctc_loss: input length 11 .* 10 time steps"):
        KF.ctc_loss(k_(_ctc_data()[0]), k_(targets), [11, 4, 4], [2, 1, 1])
