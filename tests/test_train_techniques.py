"""Regularization, class imbalance, normalization, curriculum, transfer and ensembles: each
test shows the technique changing what happens."""
import numpy as np
import pytest

import kindling as K
import kindling.nn as nn
from kindling.optim import SGD, Adam, AdamW
from kindling.optim.lr_scheduler import CosineAnnealingWarmRestarts
from kindling.train import Accuracy, LambdaCallback, Trainer
from kindling.train.curriculum import Curriculum, CurriculumSampler
from kindling.train.ensemble import (Ensemble, SnapshotEnsemble, average_probabilities,
                                     cycle_ends)
from kindling.train.imbalance import (FocalLoss, balanced_sampler, class_weights,
                                      undersample_indices)
from kindling.train.regularization import L1Penalty, MaxNorm, Normalizer, l1_penalty
from kindling.train.transfer import (GradualUnfreezing, blocks, discriminative_param_groups,
                                     freeze, replace_head, unfreeze)
from kindling.utils.data import DataLoader, TensorDataset


def sparse_regression(n=128, d=20, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = (2 * x[:, 0] - 3 * x[:, 1] + 0.5 * rng.standard_normal(n)).astype(np.float32)[:, None]
    return TensorDataset(K.tensor(x), K.tensor(y))


def train_linear(callbacks=(), epochs=60, **opt):
    K.manual_seed(0)
    model = nn.Linear(20, 1)
    ds = sparse_regression()
    Trainer(model, nn.MSELoss(), SGD(model.parameters(), lr=0.05, **opt),
            DataLoader(ds, batch_size=32), max_epochs=epochs, callbacks=list(callbacks),
            progress=False).fit()
    return model.weight.detach().numpy()[0]


def test_l1_penalty_drives_irrelevant_weights_to_zero():
    plain = train_linear()
    l1 = train_linear([L1Penalty(0.3)])
    # with noisy targets the unpenalized fit gives the 18 irrelevant inputs weights of a few
    # hundredths; L1 pulls them to ~0 (SGD on a subgradient hovers within ~lr*lam of zero)
    assert np.abs(plain[2:]).mean() > 0.03
    assert np.abs(l1[2:]).mean() < 0.3 * np.abs(plain[2:]).mean()
    assert (np.abs(l1[2:]) < 0.01).sum() >= 2 * (np.abs(plain[2:]) < 0.01).sum()
    assert abs(l1[0] - 2) < 0.25 and abs(l1[1] + 3) < 0.25  # relevant weights survive
    # l1_penalty as a loss term: value and gradient lam * sign(w)
    m = nn.Linear(3, 2)
    pen = l1_penalty(m, 0.5)
    assert pen.item() == pytest.approx(0.5 * np.abs(m.weight.detach().numpy()).sum(), rel=1e-6)
    pen.backward()
    np.testing.assert_allclose(m.weight.grad.numpy(), 0.5 * np.sign(m.weight.detach().numpy()))
    assert m.bias.grad is None


def test_coupled_vs_decoupled_weight_decay():
    """With a zero loss gradient, AdamW shrinks w by exactly (1 - lr*wd), while Adam's coupled
    decay feeds wd*w through the adaptive step (lr*sign(w) on the first step)."""
    w0 = np.array([[1.0, -0.01]], dtype=np.float32)
    results = {}
    for name, cls in (("adam", Adam), ("adamw", AdamW)):
        p = nn.Parameter(K.tensor(w0.copy()))
        opt = cls([p], lr=0.1, weight_decay=0.5)
        opt.zero_grad()
        (p * 0).sum().backward()
        opt.step()
        results[name] = p.detach().numpy()
    np.testing.assert_allclose(results["adamw"], w0 * (1 - 0.05), rtol=1e-6)
    # Adam's first step is lr * sign(grad) whatever the size of wd * w
    np.testing.assert_allclose(results["adam"], w0 - 0.1 * np.sign(w0), rtol=1e-4)


def test_max_norm_bounds_rows():
    K.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 1))
    norms = []

    def record(t):
        for p in (t.model[0].weight, t.model[2].weight):
            norms.append(np.sqrt((p.detach().numpy() ** 2).sum(axis=1)).max())
    Trainer(model, nn.MSELoss(), SGD(model.parameters(), lr=0.05),
            DataLoader(sparse_regression(), batch_size=16), max_epochs=5, progress=False,
            callbacks=[MaxNorm(0.5), LambdaCallback(on_after_step=record, order=20)]).fit()
    assert max(norms) <= 0.5 + 1e-5
    # without the constraint the same training exceeds the bound
    K.manual_seed(0)
    free = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 1))
    Trainer(free, nn.MSELoss(), SGD(free.parameters(), lr=0.05),
            DataLoader(sparse_regression(), batch_size=16), max_epochs=5, progress=False).fit()
    assert np.sqrt((free[2].weight.detach().numpy() ** 2).sum(axis=1)).max() > 0.5


def test_label_smoothing_lowers_confidence():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    conf = {}
    for eps in (0.0, 0.3):
        K.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
        Trainer(model, nn.CrossEntropyLoss(label_smoothing=eps), Adam(model.parameters(), 0.05),
                DataLoader(TensorDataset(K.tensor(x), K.tensor(y)), batch_size=32),
                max_epochs=30, progress=False).fit()
        with K.no_grad():
            conf[eps] = K.softmax(model(K.tensor(x)), dim=1).max(dim=1).values.mean().item()
    assert conf[0.0] > 0.97 and conf[0.3] < 0.9


def test_class_weights_formula_and_sampling():
    y = np.array([0] * 80 + [1] * 15 + [2] * 5)
    w = class_weights(y).numpy()
    np.testing.assert_allclose(w, [100 / (3 * 80), 100 / (3 * 15), 100 / (3 * 5)], rtol=1e-6)
    assert (np.bincount(y) * w).sum() == pytest.approx(100)
    assert class_weights(np.array([0, 1, 0, 1])).numpy().tolist() == [1.0, 1.0]
    # oversampling: each class drawn ~1/3 of the time
    g = K.Generator().manual_seed(0)
    drawn = np.array(list(balanced_sampler(y, num_samples=6000, generator=g)))
    props = np.bincount(y[drawn], minlength=3) / 6000
    np.testing.assert_allclose(props, [1 / 3] * 3, atol=0.03)
    # without the sampler the proportions are the data's
    # undersampling: 5 of each class
    idx = undersample_indices(y, seed=0)
    assert np.bincount(y[idx]).tolist() == [5, 5, 5] and len(set(idx.tolist())) == 15


def test_class_weights_help_minority_recall():
    rng = np.random.default_rng(1)
    n0, n1 = 300, 20
    x = np.concatenate([rng.normal(0, 1, (n0, 2)), rng.normal(1.2, 1, (n1, 2))]).astype(np.float32)
    y = np.array([0] * n0 + [1] * n1)
    recall = {}
    for weighted in (False, True):
        K.manual_seed(0)
        model = nn.Linear(2, 2)
        loss = nn.CrossEntropyLoss(weight=class_weights(y) if weighted else None)
        Trainer(model, loss, SGD(model.parameters(), lr=0.1),
                DataLoader(TensorDataset(K.tensor(x), K.tensor(y)), batch_size=64),
                max_epochs=40, progress=False).fit()
        with K.no_grad():
            pred = model(K.tensor(x)).argmax(dim=1).numpy()
        recall[weighted] = (pred[y == 1] == 1).mean()
    assert recall[True] > recall[False] + 0.2


def test_focal_loss_downweights_easy_examples():
    logits = K.tensor([[4.0, -4.0], [0.1, 0.0]])  # an easy and a hard example, both class 0
    target = K.tensor([0, 0])
    ce = nn.functional.cross_entropy(logits, target, reduction="none").numpy()
    fl = FocalLoss(gamma=2.0, reduction="none")(logits, target).numpy()
    assert fl[0] / ce[0] < 1e-5 and fl[1] / ce[1] > 0.2
    assert FocalLoss(gamma=0.0)(logits, target).item() == pytest.approx(ce.mean(), rel=1e-6)


def test_normalizer_uses_training_split_only():
    rng = np.random.default_rng(0)
    train = rng.normal(5.0, 2.0, (500, 3, 4, 4)).astype(np.float32)
    val = rng.normal(7.0, 1.0, (100, 3, 4, 4)).astype(np.float32)
    norm = Normalizer.fit(train)
    assert norm.mean.shape == (3,)
    t = norm(train).numpy()
    np.testing.assert_allclose(t.mean(axis=(0, 2, 3)), 0, atol=1e-4)
    np.testing.assert_allclose(t.std(axis=(0, 2, 3)), 1, atol=1e-3)
    v = norm(val).numpy()
    assert v.mean() == pytest.approx((7 - norm.mean.mean()) / norm.std.mean(), rel=0.05)
    flat = Normalizer.fit(train.reshape(500, -1))
    assert flat.mean.shape == (48,)


def test_curriculum_early_epochs_draw_only_easy_examples():
    n = 100
    difficulty = np.random.default_rng(0).permutation(n).astype(float)  # rank = difficulty
    sampler = CurriculumSampler(difficulty, start_fraction=0.2, epochs_to_full=4,
                                generator=K.Generator().manual_seed(0))
    x = K.tensor(difficulty.astype(np.float32)[:, None])
    loader = DataLoader(TensorDataset(x, K.zeros(n, dtype=K.int64)), batch_size=10,
                        sampler=sampler)
    seen = []

    class Probe(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(1, 2)

        def forward(self, inp):
            seen[-1].extend(inp.numpy()[:, 0].tolist())
            return self.lin(inp)
    model = Probe()
    Trainer(model, nn.CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), loader,
            max_epochs=6, progress=False,
            callbacks=[Curriculum(sampler),
                       LambdaCallback(on_epoch_start=lambda t: seen.append([]), order=-1)]).fit()
    # epoch e sees exactly the easiest ceil(100 * (0.2 + 0.8 e / 4)) examples
    for e, expected in enumerate([20, 40, 60, 80, 100, 100]):
        assert sorted(seen[e]) == list(range(expected)), e
    assert seen[0] != sorted(seen[0])  # shuffled within the pool


def small_cnn():
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 4, 8),
                         nn.ReLU(), nn.Linear(8, 3))


def test_freeze_patterns_depth_and_head():
    K.manual_seed(0)
    m = small_cnn()
    assert [n for n, _ in blocks(m)] == ["0", "3", "5"]
    freeze(m, "0.*")
    assert [n for n, p in m.named_parameters() if not p.requires_grad] == ["0.weight", "0.bias"]
    unfreeze(m, "*")
    freeze(m, depth=2)
    assert [n for n, p in m.named_parameters() if p.requires_grad] == ["5.weight", "5.bias"]
    with pytest.raises(ValueError, match="no parameter matches"):
        freeze(m, "classifier.*")
    old = m[5]
    head = replace_head(m, 7)
    assert m[5] is head and head is not old and head.out_features == 7 and head.in_features == 8
    assert m(K.randn(2, 1, 6, 6)).shape == (2, 7)


def test_discriminative_lrs_and_frozen_params_unchanged():
    K.manual_seed(0)
    m = small_cnn()
    groups = discriminative_param_groups(m, base_lr=0.1, decay=0.5)
    assert [g["name"] for g in groups] == ["0", "3", "5"]
    assert [g["lr"] for g in groups] == pytest.approx([0.025, 0.05, 0.1])
    named = discriminative_param_groups(m, 1.0, 0.1, groups=["0.*", ["3.*", "5.*"]])
    assert [g["lr"] for g in named] == pytest.approx([0.1, 1.0])
    assert sum(len(g["params"]) for g in named) == 6

    freeze(m, "0.*")
    opt = SGD(groups, lr=1.0, momentum=0.9, weight_decay=0.01)
    before = {n: p.detach().numpy().copy() for n, p in m.named_parameters()}
    x = K.randn(8, 1, 6, 6)
    y = K.randint(0, 3, (8,))
    grads = {}
    for _ in range(2):
        opt.zero_grad()
        nn.functional.cross_entropy(m(x), y).backward()
        grads = {n: p.grad.numpy().copy() for n, p in m.named_parameters() if p.grad is not None}
        opt.step()
    after = {n: p.detach().numpy() for n, p in m.named_parameters()}
    np.testing.assert_array_equal(after["0.weight"], before["0.weight"])
    np.testing.assert_array_equal(after["0.bias"], before["0.bias"])
    # the step of each group scales with its lr: first SGD step is -lr * (g + wd*w)
    m2 = small_cnn()
    m2.load_state_dict({k: K.tensor(v) for k, v in before.items()})
    opt2 = SGD(discriminative_param_groups(m2, 0.1, 0.5), lr=1.0)
    opt2.zero_grad()
    nn.functional.cross_entropy(m2(x), y).backward()
    g3, g5 = m2[3].weight.grad.numpy().copy(), m2[5].weight.grad.numpy().copy()
    opt2.step()
    np.testing.assert_allclose(m2[3].weight.detach().numpy(), before["3.weight"] - 0.05 * g3,
                               rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(m2[5].weight.detach().numpy(), before["5.weight"] - 0.1 * g5,
                               rtol=1e-5, atol=1e-7)


def test_gradual_unfreezing_schedule():
    K.manual_seed(0)
    m = small_cnn()
    x, y = K.randn(16, 1, 6, 6), K.randint(0, 3, (16,))
    trainable = []
    snaps = []

    def rec(t):
        trainable.append([n for n, p in t.model.named_parameters() if p.requires_grad])
        snaps.append({n: p.detach().numpy().copy() for n, p in t.model.named_parameters()})
    Trainer(m, nn.CrossEntropyLoss(), SGD(m.parameters(), lr=0.1),
            DataLoader(TensorDataset(x, y), batch_size=8), max_epochs=3, progress=False,
            callbacks=[GradualUnfreezing(initial=1, every=1),
                       LambdaCallback(on_epoch_start=rec, order=10)]).fit()
    assert trainable[0] == ["5.weight", "5.bias"]
    assert trainable[1] == ["3.weight", "3.bias", "5.weight", "5.bias"]
    assert len(trainable[2]) == 6
    # during epoch 1 (head only) the conv layer did not move; it moves once unfrozen
    np.testing.assert_array_equal(snaps[0]["0.weight"], snaps[1]["0.weight"])
    np.testing.assert_array_equal(snaps[1]["0.weight"], snaps[2]["0.weight"])
    assert not np.array_equal(snaps[0]["5.weight"], snaps[1]["5.weight"])
    assert not np.array_equal(snaps[2]["0.weight"], m[0].weight.detach().numpy())


def test_ensemble_averages_probabilities():
    K.manual_seed(0)
    models = [nn.Linear(4, 3) for _ in range(3)]
    x = K.randn(5, 4)
    probs = average_probabilities(models, x).numpy()
    with K.no_grad():
        expected = np.mean([K.softmax(m(x), dim=1).numpy() for m in models], axis=0)
    np.testing.assert_allclose(probs, expected, rtol=1e-6)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-6)
    logp = Ensemble(models, log=True)(x).detach().numpy()
    np.testing.assert_allclose(np.exp(logp), expected, rtol=1e-5)


def test_snapshot_ensemble_collects_at_cycle_ends():
    assert cycle_ends(2, 2, 14) == [2, 6, 14]
    rng = np.random.default_rng(0)
    x = K.tensor(rng.standard_normal((64, 4)).astype(np.float32))
    y = K.tensor((rng.standard_normal(64) > 0).astype(np.int64))
    K.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = SGD(model.parameters(), lr=0.5)
    snap = SnapshotEnsemble(T_0=2)
    weights_at, lrs = {}, []
    rec = LambdaCallback(on_epoch_end=lambda t: weights_at.__setitem__(
        t.state.epoch, t.model[0].weight.detach().numpy().copy()), order=60)
    hist = Trainer(model, nn.CrossEntropyLoss(), opt, DataLoader(TensorDataset(x, y), 16),
                   scheduler=CosineAnnealingWarmRestarts(opt, T_0=2), max_epochs=6,
                   progress=False, callbacks=[snap, rec]).fit()
    assert snap.epochs == [2, 4, 6]
    for sd, e in zip(snap.snapshots, snap.epochs):
        np.testing.assert_array_equal(sd["0.weight"].numpy(), weights_at[e])
    assert [h["lr"] for h in hist][::2] == pytest.approx([0.5] * 3)  # restarts
    ens = snap.ensemble()
    assert len(ens.members) == 3
    with K.no_grad():
        out = ens(x).numpy()
    np.testing.assert_allclose(out.sum(axis=1), 1, rtol=1e-5)
    acc = Accuracy()
    acc.update(out, y)
    assert acc.compute() > 0.5
