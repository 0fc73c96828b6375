"""kindling.optim.lr_scheduler against torch.optim.lr_scheduler: identical lr sequences."""
import copy
import math
import warnings

import numpy as np
import pytest
import torch

import kindling
import kindling.optim as kopt
from kindling.optim import lr_scheduler as ksched

STEPS = 60


def _mods(lib):
    if lib == "k":
        return kindling, kopt, ksched
    return torch, torch.optim, torch.optim.lr_scheduler


def make_opt(lib, kind="SGD"):
    mod, optim, _ = _mods(lib)
    ps = [mod.zeros(2, requires_grad=True), mod.zeros(3, requires_grad=True)]
    if kind == "SGD":
        return optim.SGD([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.05}], lr=0.1,
                         momentum=0.9)
    return optim.Adam([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.05}], lr=0.1)


def _momenta(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


def trace(lib, factory, kind="SGD", steps=STEPS, resume_at=None):
    """The lr (and momentum) after construction and after each of `steps` steps; with
    `resume_at`, the optimizer and scheduler are rebuilt from state_dicts at that step."""
    _, optim, sched_mod = _mods(lib)
    opt = make_opt(lib, kind)
    sched = factory(sched_mod, opt)
    lrs, moms = [list(sched.get_last_lr())], [_momenta(opt)]
    for i in range(steps):
        if i == resume_at:
            opt_state = copy.deepcopy(opt.state_dict())
            sched_state = copy.deepcopy(sched.state_dict())
            opt = make_opt(lib, kind)
            sched = factory(sched_mod, opt)
            opt.load_state_dict(opt_state)
            sched.load_state_dict(sched_state)
        opt.step()
        sched.step()
        lrs.append(list(sched.get_last_lr()))
        moms.append(_momenta(opt))
        assert [g["lr"] for g in opt.param_groups] == lrs[-1]
    return lrs, moms


def _scale(x):
    return 1.0 / (1.0 + 0.1 * x)


SCHEDULERS = {
    "LambdaLR": lambda m, o: m.LambdaLR(o, lambda e: 0.95 ** e),
    "LambdaLR-list": lambda m, o: m.LambdaLR(o, [lambda e: 0.95 ** e, lambda e: 1 / (e + 1)]),
    "MultiplicativeLR": lambda m, o: m.MultiplicativeLR(o, lambda e: 0.97),
    "StepLR": lambda m, o: m.StepLR(o, step_size=7, gamma=0.5),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[5, 20, 20, 40], gamma=0.3),
    "ConstantLR": lambda m, o: m.ConstantLR(o, factor=0.4, total_iters=10),
    "LinearLR": lambda m, o: m.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=15),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, gamma=0.93),
    "PolynomialLR": lambda m, o: m.PolynomialLR(o, total_iters=40, power=2.0),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, T_max=13, eta_min=0.001),
    "CosineAnnealingLR-0": lambda m, o: m.CosineAnnealingLR(o, T_max=10),
    "CosineAnnealingWarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=7),
    "CosineAnnealingWarmRestarts-mult": lambda m, o: m.CosineAnnealingWarmRestarts(
        o, T_0=3, T_mult=2, eta_min=0.01),
    "CyclicLR-triangular": lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1,
                                                   step_size_up=5, step_size_down=8),
    "CyclicLR-triangular2": lambda m, o: m.CyclicLR(o, base_lr=[0.01, 0.02], max_lr=0.1,
                                                    step_size_up=4, mode="triangular2"),
    "CyclicLR-exp_range": lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=6,
                                                  mode="exp_range", gamma=0.97,
                                                  base_momentum=0.7, max_momentum=0.95),
    "CyclicLR-scale_fn": lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3,
                                                 scale_fn=_scale, scale_mode="iterations",
                                                 cycle_momentum=False),
    "OneCycleLR-cos": lambda m, o: m.OneCycleLR(o, max_lr=[0.1, 0.2], total_steps=STEPS),
    "OneCycleLR-linear": lambda m, o: m.OneCycleLR(o, max_lr=0.3, epochs=6, steps_per_epoch=10,
                                                   anneal_strategy="linear", pct_start=0.25,
                                                   div_factor=10.0, final_div_factor=100.0),
    "OneCycleLR-three_phase": lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=STEPS,
                                                        three_phase=True, base_momentum=0.8,
                                                        max_momentum=0.9),
    "SequentialLR": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.1, total_iters=10), m.ExponentialLR(o, gamma=0.9)],
        milestones=[10]),
    "SequentialLR-3": lambda m, o: m.SequentialLR(
        o, [m.ConstantLR(o, factor=0.5, total_iters=5), m.CosineAnnealingLR(o, T_max=20),
            m.StepLR(o, step_size=5, gamma=0.5)], milestones=[8, 30]),
    "ChainedScheduler": lambda m, o: m.ChainedScheduler(
        [m.ConstantLR(o, factor=0.5, total_iters=5), m.ExponentialLR(o, gamma=0.95)]),
    "ChainedScheduler-opt": lambda m, o: m.ChainedScheduler(
        [m.LinearLR(o, start_factor=0.3, total_iters=12), m.MultiStepLR(o, [15, 35])],
        optimizer=o),
}
MOMENTUM_SCHEDULERS = [k for k in SCHEDULERS if k.startswith(("CyclicLR", "OneCycleLR"))]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_lr_sequence_equals_torch(name):
    lk, mk = trace("k", SCHEDULERS[name])
    lt, mt = trace("t", SCHEDULERS[name])
    assert lk == lt
    assert mk == mt


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_state_dict_round_trip_mid_way(name):
    reference, ref_moms = trace("t", SCHEDULERS[name])
    lk, mk = trace("k", SCHEDULERS[name], resume_at=STEPS // 2)
    assert lk == reference
    assert mk == ref_moms


@pytest.mark.parametrize("name", MOMENTUM_SCHEDULERS)
def test_beta1_cycles_with_adam(name):
    lk, mk = trace("k", SCHEDULERS[name], kind="Adam")
    lt, mt = trace("t", SCHEDULERS[name], kind="Adam")
    assert lk == lt and mk == mt


def test_state_dict_excludes_optimizer_and_is_plain():
    opt = make_opt("k")
    sched = ksched.StepLR(opt, step_size=3)
    sd = sched.state_dict()
    assert "optimizer" not in sd
    tsd = torch.optim.lr_scheduler.StepLR(make_opt("t"), step_size=3).state_dict()
    assert set(sd) == set(tsd)
    assert sd["base_lrs"] == [0.1, 0.05] and sd["last_epoch"] == 0
    assert all(g["initial_lr"] == lr for g, lr in zip(opt.param_groups, [0.1, 0.05]))


def test_closed_form_with_epoch_argument():
    for factory in [lambda m, o: m.StepLR(o, 4, 0.5), lambda m, o: m.ExponentialLR(o, 0.9),
                    lambda m, o: m.CosineAnnealingLR(o, T_max=10, eta_min=0.01),
                    lambda m, o: m.MultiStepLR(o, [3, 6, 6]),
                    lambda m, o: m.LinearLR(o, 0.5, 1.0, 4),
                    lambda m, o: m.PolynomialLR(o, 8, 1.5), lambda m, o: m.ConstantLR(o)]:
        seqs = []
        for lib in ("k", "t"):
            opt = make_opt(lib)
            sched = factory(_mods(lib)[2], opt)
            seq = []
            for epoch in [3, 7, 1, 12, 5]:
                sched.step(epoch)
                seq.append(sched.get_last_lr())
            seqs.append(seq)
        assert seqs[0] == seqs[1]


@pytest.mark.parametrize("T_mult", [1, 2])
def test_warm_restarts_fractional_epochs(T_mult):
    epochs = [i / 4 for i in range(0, 80)] + [30.5, 2.25, 0.0, 17.75]
    seqs = []
    for lib in ("k", "t"):
        opt = make_opt(lib)
        sched = _mods(lib)[2].CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=T_mult,
                                                          eta_min=0.001)
        seq = []
        for e in epochs:
            sched.step(e)
            seq.append((sched.get_last_lr(), sched.T_cur, sched.T_i, sched.last_epoch))
        seqs.append(seq)
    assert seqs[0] == seqs[1]


@pytest.mark.parametrize("kwargs", [
    dict(), dict(mode="max", factor=0.5, patience=2), dict(threshold_mode="abs", threshold=0.1,
                                                           patience=1, cooldown=2),
    dict(mode="max", threshold_mode="abs", patience=0, min_lr=[0.02, 0.03]),
    dict(patience=1, min_lr=0.009, eps=1e-3, factor=0.7),
])
def test_reduce_lr_on_plateau(kwargs):
    rng = np.random.default_rng(1)
    metrics = list(np.concatenate([np.linspace(1.0, 0.5, 10), 0.5 + rng.random(30) * 0.05,
                                   np.linspace(0.5, 0.45, 10), np.full(20, 0.45)]))
    seqs = []
    for lib in ("k", "t"):
        opt = make_opt(lib)
        sched = _mods(lib)[2].ReduceLROnPlateau(opt, **kwargs)
        seq = []
        for i, m in enumerate(metrics):
            if i == 35:
                state = copy.deepcopy(sched.state_dict())
                opt_state = copy.deepcopy(opt.state_dict())
                opt = make_opt(lib)
                sched = _mods(lib)[2].ReduceLROnPlateau(opt, **kwargs)
                opt.load_state_dict(opt_state)
                sched.load_state_dict(state)
            sched.step(float(m))
            seq.append((sched.get_last_lr(), sched.num_bad_epochs, sched.cooldown_counter,
                        sched.best))
        seqs.append(seq)
    assert seqs[0] == seqs[1]
    assert seqs[0][-1][0] != seqs[0][0][0]  # the lr was actually reduced


def test_one_cycle_too_many_steps():
    opt = make_opt("k")
    sched = ksched.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(3):
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times. The specified number of total "
                                         "steps is 3"):
        sched.step()


@pytest.mark.parametrize("call,message,exc", [
    (lambda o: ksched.StepLR(object(), 3), "object is not an Optimizer", TypeError),
    (lambda o: ksched.ConstantLR(o, factor=2.0), "Constant multiplicative factor expected to be "
                                                 "between 0 and 1.", ValueError),
    (lambda o: ksched.LinearLR(o, start_factor=0), "Starting multiplicative factor expected to "
                                                   "be greater than 0", ValueError),
    (lambda o: ksched.LinearLR(o, end_factor=1.5), "Ending multiplicative factor expected to be "
                                                   "between 0 and 1.", ValueError),
    (lambda o: ksched.LambdaLR(o, [lambda e: 1.0]), "Expected 2 lr_lambdas, but got 1",
     ValueError),
    (lambda o: ksched.MultiplicativeLR(o, 3.0), "lr_lambda should be a function, but got float",
     TypeError),
    (lambda o: ksched.ReduceLROnPlateau(o, factor=1.0), "Factor should be < 1.0.", ValueError),
    (lambda o: ksched.ReduceLROnPlateau(o, mode="avg"), "mode avg is unknown!", ValueError),
    (lambda o: ksched.ReduceLROnPlateau(o, threshold_mode="x"), "threshold mode x is unknown!",
     ValueError),
    (lambda o: ksched.ReduceLROnPlateau(o, min_lr=[0.1]), "expected 2 min_lrs, got 1",
     ValueError),
    (lambda o: ksched.CosineAnnealingWarmRestarts(o, T_0=0), "Expected positive integer T_0, "
                                                             "but got 0", ValueError),
    (lambda o: ksched.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0), "Expected integer "
                                                                       "T_mult >= 1, but got 0",
     ValueError),
    (lambda o: ksched.CyclicLR(o, 0.1, 1.0, mode="zigzag"), "mode is invalid and scale_fn is "
                                                            "None", ValueError),
    (lambda o: ksched.CyclicLR(o, [0.1], 1.0), "base_lr must have the same length as "
                                               "optimizer.param_groups", ValueError),
    (lambda o: ksched.OneCycleLR(o, 0.1), "You must define either total_steps OR (epochs AND "
                                          "steps_per_epoch)", ValueError),
    (lambda o: ksched.OneCycleLR(o, 0.1, total_steps=10, pct_start=1.5), "Expected float "
                                                                         "between 0 and 1 "
                                                                         "pct_start", ValueError),
    (lambda o: ksched.OneCycleLR(o, 0.1, total_steps=10, anneal_strategy="exp"),
     "anneal_strategy must be one of 'cos' or 'linear'", ValueError),
    (lambda o: ksched.SequentialLR(o, [ksched.StepLR(o, 2)], milestones=[3]),
     "Sequential Schedulers expects number of schedulers provided to be one more", ValueError),
    (lambda o: ksched.ChainedScheduler([ksched.ReduceLROnPlateau(o)]),
     "ChainedScheduler does not support `ReduceLROnPlateau`", ValueError),
    (lambda o: ksched.StepLR(o, 2, last_epoch=5), "param 'initial_lr' is not specified in "
                                                  "param_groups[0]", KeyError),
])
def test_validation(call, message, exc):
    with pytest.raises(exc) as err:
        call(make_opt("k"))
    assert message in str(err.value)


def test_cycle_momentum_needs_momentum():
    ps = [kindling.zeros(2, requires_grad=True)]
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        ksched.CyclicLR(kopt.Adagrad(ps), 0.01, 0.1)


def test_scheduler_drives_optimizer_lr():
    """The optimizer uses the scheduled lr: SGD on f(x) = x with lr halving every step."""
    x = kindling.tensor([0.0], requires_grad=True)
    opt = kopt.SGD([x], lr=1.0)
    sched = ksched.ExponentialLR(opt, gamma=0.5)
    for _ in range(4):
        opt.zero_grad()
        x.sum().backward()
        opt.step()
        sched.step()
    assert math.isclose(x.item(), -(1 + 0.5 + 0.25 + 0.125))


def test_warns_when_scheduler_steps_before_optimizer():
    opt = make_opt("k")
    sched = ksched.StepLR(opt, 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sched.step()
    assert any("before `optimizer.step()`" in str(w.message) for w in caught)


def test_tensor_lr_is_updated_in_place():
    seqs = []
    for lib in ("k", "t"):
        mod, optim, sched_mod = _mods(lib)
        lr = mod.tensor(0.1, dtype=mod.float64)
        opt = optim.SGD([mod.zeros(2, requires_grad=True)], lr=lr)
        sched = sched_mod.ExponentialLR(opt, gamma=0.9)
        for _ in range(5):
            opt.step()
            sched.step()
        assert opt.param_groups[0]["lr"] is lr
        seqs.append([float(v) for v in sched.get_last_lr()] + [float(lr)])
    assert seqs[0] == seqs[1]


@pytest.mark.parametrize("name", ["StepLR", "ExponentialLR", "CosineAnnealingLR",
                                  "PolynomialLR", "LinearLR", "OneCycleLR-cos",
                                  "CosineAnnealingWarmRestarts"])
def test_resume_with_last_epoch(name):
    """A scheduler rebuilt with last_epoch=10 (the old way of resuming) continues as torch's."""
    factory = SCHEDULERS[name]
    seqs = []
    for lib in ("k", "t"):
        _, _, sched_mod = _mods(lib)
        opt = make_opt(lib)
        sched = factory(sched_mod, opt)
        for _ in range(10):
            opt.step()
            sched.step()
        kwargs = dict(last_epoch=10)
        resumed = {
            "StepLR": lambda: sched_mod.StepLR(opt, step_size=7, gamma=0.5, **kwargs),
            "ExponentialLR": lambda: sched_mod.ExponentialLR(opt, gamma=0.93, **kwargs),
            "CosineAnnealingLR": lambda: sched_mod.CosineAnnealingLR(opt, T_max=13,
                                                                     eta_min=0.001, **kwargs),
            "PolynomialLR": lambda: sched_mod.PolynomialLR(opt, total_iters=40, power=2.0,
                                                           **kwargs),
            "LinearLR": lambda: sched_mod.LinearLR(opt, start_factor=0.2, end_factor=0.9,
                                                   total_iters=15, **kwargs),
            "OneCycleLR-cos": lambda: sched_mod.OneCycleLR(opt, max_lr=[0.1, 0.2],
                                                           total_steps=STEPS, **kwargs),
            "CosineAnnealingWarmRestarts": lambda: sched_mod.CosineAnnealingWarmRestarts(
                opt, T_0=7, **kwargs),
        }[name]()
        seq = [resumed.get_last_lr()]
        for _ in range(20):
            opt.step()
            resumed.step()
            seq.append(resumed.get_last_lr())
        seqs.append(seq)
    assert seqs[0] == seqs[1]
