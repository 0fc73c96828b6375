"""torch.optim.swa_utils on kindling: AveragedModel (SWA, EMA), SWALR and update_bn, step by step
against PyTorch on the same weights, updates and data."""
import math

import numpy as np
import pytest
import torch

import kindling
import kindling.optim
from kindling.optim import swa_utils

rng = np.random.default_rng(0)


def models():
    """The same small network with BatchNorm in torch and kindling."""
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(),
                             torch.nn.Linear(4, 2))
    km = kindling.nn.Sequential(kindling.nn.Linear(3, 4), kindling.nn.BatchNorm1d(4),
                                kindling.nn.ReLU(), kindling.nn.Linear(4, 2))
    sync(km, tm)
    return km, tm


def sync(km, tm):
    km.load_state_dict({n: kindling.tensor(v.numpy()) for n, v in tm.state_dict().items()})


def perturb(tm, km, train_bn=True):
    """One 'training step': random parameter changes (and, through a forward pass in train
    mode, new BatchNorm statistics), applied identically to both models."""
    with torch.no_grad():
        for p in tm.parameters():
            p.add_(torch.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32)))
        if train_bn:
            tm.train()
            tm(torch.tensor(rng.standard_normal((6, 3)).astype(np.float32)))
    sync(km, tm)


def assert_state_close(k_module, t_module, rtol=1e-5, atol=1e-6):
    ks, ts = k_module.state_dict(), t_module.state_dict()
    assert list(ks) == list(ts)
    for name, v in ts.items():
        np.testing.assert_allclose(ks[name].numpy(), v.numpy(), rtol=rtol, atol=atol,
                                   err_msg=name)


AVERAGERS = {
    "swa": ({}, {}),
    "ema_multi": ({"multi_avg_fn": swa_utils.get_ema_multi_avg_fn(0.9)},
                  {"multi_avg_fn": torch.optim.swa_utils.get_ema_multi_avg_fn(0.9)}),
    "ema": ({"avg_fn": swa_utils.get_ema_avg_fn(0.8)},
            {"avg_fn": torch.optim.swa_utils.get_ema_avg_fn(0.8)}),
    "swa_fn": ({"avg_fn": swa_utils.get_swa_avg_fn()},
               {"avg_fn": torch.optim.swa_utils.get_swa_avg_fn()}),
    "swa_multi": ({"multi_avg_fn": swa_utils.get_swa_multi_avg_fn()},
                  {"multi_avg_fn": torch.optim.swa_utils.get_swa_multi_avg_fn()}),
}


@pytest.mark.parametrize("kind", list(AVERAGERS))
@pytest.mark.parametrize("use_buffers", [False, True])
def test_averaged_model_matches_torch(kind, use_buffers):
    km, tm = models()
    if kind == "swa_multi" and use_buffers:  # BatchNorm's int64 counter: both refuse
        ka = swa_utils.AveragedModel(km, use_buffers=True, **AVERAGERS[kind][0])
        ta = torch.optim.swa_utils.AveragedModel(tm, use_buffers=True, **AVERAGERS[kind][1])
        for _ in range(2):
            perturb(tm, km)
            if _ == 0:
                ka.update_parameters(km), ta.update_parameters(tm)
        with pytest.raises(RuntimeError):
            ta.update_parameters(tm)
        with pytest.raises(RuntimeError):
            ka.update_parameters(km)
        return
    kw_k, kw_t = AVERAGERS[kind]
    ka = swa_utils.AveragedModel(km, use_buffers=use_buffers, **kw_k)
    ta = torch.optim.swa_utils.AveragedModel(tm, use_buffers=use_buffers, **kw_t)
    assert_state_close(ka, ta)
    for step in range(5):
        perturb(tm, km)
        ka.update_parameters(km)
        ta.update_parameters(tm)
        assert_state_close(ka, ta)
        assert int(ka.n_averaged.item()) == step + 1
    # the averaged model is a deep copy, and forward delegates to it
    assert ka.module is not km and ka.module[0].weight is not km[0].weight
    x = rng.standard_normal((4, 3)).astype(np.float32)
    ka.eval()
    ta.eval()
    np.testing.assert_allclose(ka(kindling.tensor(x)).detach().numpy(),
                               ta(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_averaged_model_state_dict_and_values():
    km, _ = models()
    ka = swa_utils.AveragedModel(km)
    keys = list(ka.state_dict())
    assert keys[0] == "n_averaged" and all(k.startswith("module.") for k in keys[1:])
    assert ka.n_averaged.dtype is kindling.int64 and ka.n_averaged.shape == ()
    # plain SWA: the mean of the snapshots
    snapshots = []
    for _ in range(4):
        with kindling.no_grad():
            km[0].weight.add_(kindling.randn(4, 3))
        snapshots.append(km[0].weight.detach().numpy().copy())
        ka.update_parameters(km)
    np.testing.assert_allclose(ka.module[0].weight.detach().numpy(), np.mean(snapshots, 0),
                               rtol=1e-5, atol=1e-6)
    # round trip through state_dict
    other = swa_utils.AveragedModel(km)
    other.load_state_dict(ka.state_dict())
    assert int(other.n_averaged.item()) == 4
    np.testing.assert_array_equal(other.module[0].weight.detach().numpy(),
                                  ka.module[0].weight.detach().numpy())


def test_avg_fn_errors():
    km, _ = models()
    with pytest.raises(AssertionError):
        swa_utils.AveragedModel(km, avg_fn=swa_utils.get_swa_avg_fn(),
                                multi_avg_fn=swa_utils.get_swa_multi_avg_fn())
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="decay"):
            swa_utils.get_ema_avg_fn(bad)
        with pytest.raises(ValueError, match="decay"):
            swa_utils.get_ema_multi_avg_fn(bad)


def _optimizers(lrs):
    kp = [kindling.nn.Parameter(kindling.zeros(2)) for _ in lrs]
    tp = [torch.nn.Parameter(torch.zeros(2)) for _ in lrs]
    ko = kindling.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(kp, lrs)], lr=0.1)
    to = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(tp, lrs)], lr=0.1)
    return ko, to


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("anneal_epochs", [0, 1, 3, 10])
@pytest.mark.parametrize("swa_lr", [0.05, [0.05, 0.5]])
def test_swalr_matches_torch(strategy, anneal_epochs, swa_lr):
    ko, to = _optimizers([0.1, 0.2])
    ks = swa_utils.SWALR(ko, swa_lr, anneal_epochs=anneal_epochs, anneal_strategy=strategy)
    ts = torch.optim.swa_utils.SWALR(to, swa_lr, anneal_epochs=anneal_epochs,
                                     anneal_strategy=strategy)
    for _ in range(15):
        assert ks.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12, abs=1e-15)
        assert [g["lr"] for g in ko.param_groups] == pytest.approx(
            [g["lr"] for g in to.param_groups], rel=1e-12, abs=1e-15)
        ko.step()
        to.step()
        ks.step()
        ts.step()


def test_swalr_after_another_scheduler_and_state():
    ko, to = _optimizers([1.0])
    kc = kindling.optim.lr_scheduler.StepLR(ko, 2, 0.5)
    tc = torch.optim.lr_scheduler.StepLR(to, 2, 0.5)
    for _ in range(3):
        ko.step(), to.step(), kc.step(), tc.step()
    ks = swa_utils.SWALR(ko, 0.01, anneal_epochs=4)
    ts = torch.optim.swa_utils.SWALR(to, 0.01, anneal_epochs=4)
    for _ in range(6):
        ko.step(), to.step(), ks.step(), ts.step()
        assert ks.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12)
    state = ks.state_dict()
    assert "anneal_func" not in state and "optimizer" not in state
    assert set(state) == set(ts.state_dict())
    ko2, _ = _optimizers([1.0])
    restored = swa_utils.SWALR(ko2, 0.3, anneal_strategy="linear")
    restored.load_state_dict(state)
    assert restored.anneal_func(0.5) == pytest.approx((1 - math.cos(math.pi * 0.5)) / 2)
    with pytest.raises(ValueError, match="anneal_strategy"):
        swa_utils.SWALR(ko, 0.1, anneal_strategy="exp")
    with pytest.raises(ValueError, match="anneal_epochs"):
        swa_utils.SWALR(ko, 0.1, anneal_epochs=-1)
    with pytest.raises(ValueError, match="swa_lr"):
        swa_utils.SWALR(ko, [0.1, 0.2])


@pytest.mark.parametrize("batches_as", ["tensor", "tuple"])
def test_update_bn_matches_torch(batches_as):
    km, tm = models()
    ka = swa_utils.AveragedModel(km)
    ta = torch.optim.swa_utils.AveragedModel(tm)
    for _ in range(3):
        perturb(tm, km)
        ka.update_parameters(km)
        ta.update_parameters(tm)
    data = [rng.standard_normal((n, 3)).astype(np.float32) for n in (5, 7, 4)]
    labels = [np.zeros(len(d)) for d in data]
    if batches_as == "tensor":
        k_loader = [kindling.tensor(d) for d in data]
        t_loader = [torch.tensor(d) for d in data]
    else:
        k_loader = [(kindling.tensor(d), kindling.tensor(y)) for d, y in zip(data, labels)]
        t_loader = [(torch.tensor(d), torch.tensor(y)) for d, y in zip(data, labels)]
    ka.eval()
    ta.eval()
    swa_utils.update_bn(k_loader, ka)
    torch.optim.swa_utils.update_bn(t_loader, ta)
    assert_state_close(ka, ta, rtol=1e-5, atol=1e-6)
    assert not ka.training  # the training mode is restored
    assert ka.module[1].momentum == ta.module[1].momentum == 0.1


def test_update_bn_without_batchnorm_and_torch_path():
    net = kindling.nn.Linear(3, 2)
    before = net.weight.detach().numpy().copy()
    swa_utils.update_bn([kindling.randn(2, 3)], net)
    np.testing.assert_array_equal(net.weight.detach().numpy(), before)
    import importlib
    assert importlib.import_module("kindling.optim").swa_utils is swa_utils
