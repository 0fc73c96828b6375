"""kindling.optim against torch.optim: same objective, same initial values, same trajectory."""
import copy
import warnings

import numpy as np
import pytest
import torch

import kindling
import kindling.optim as kopt

_rng = np.random.default_rng(0)
SHAPES = [(3, 4), (4,), (2, 3, 2)]
INIT = [_rng.standard_normal(s) for s in SHAPES]
CONSTS = [_rng.standard_normal((3, 4)), _rng.standard_normal((3, 4)), _rng.standard_normal(4)]


def loss_tanh(ps, consts):
    """A small non-convex objective: a tanh 'layer', a quadratic, a coupling term."""
    W, b, S = ps
    X, U, T = consts
    return (((W * X).tanh() * U).sum() + ((b - T) ** 2).sum()
            + (S * S * 0.5 + (S * 3.0).tanh()).sum() + ((b * W).tanh() * 0.3).sum())


def loss_convex(ps, consts):
    """Bounded below in every direction (for LBFGS, which otherwise runs off to infinity)."""
    W, b, S = ps
    X, U, T = consts
    return (((W * X).tanh() * U).sum() * 0.3 + (W * W).sum() * 0.5 + ((b - T) ** 2).sum()
            + (S * S * 2.0 + (S * 3.0).tanh()).sum() + ((b * W).tanh() * 0.3).sum())


def _lib(lib):
    return (kindling, kopt) if lib == "k" else (torch, torch.optim)


def make(lib, dtype):
    mod, _ = _lib(lib)
    ps = [mod.tensor(a.astype(dtype), requires_grad=True) for a in INIT]
    consts = [mod.tensor(a.astype(dtype)) for a in CONSTS]
    return ps, consts


def closure_for(opt, ps, consts, loss_fn):
    def closure():
        opt.zero_grad()
        loss = loss_fn(ps, consts)
        loss.backward()
        return loss
    return closure


def run(lib, name, kwargs, dtype, steps=50, groups=None, loss_fn=loss_tanh):
    _, optim = _lib(lib)
    ps, consts = make(lib, dtype)
    params = ps if groups is None else [dict(params=[ps[i] for i in idx], **extra)
                                        for idx, extra in groups]
    opt = getattr(optim, name)(params, **kwargs)
    closure = closure_for(opt, ps, consts, loss_fn)
    losses = [opt.step(closure).item() for _ in range(steps)]
    return [p.detach().numpy().copy() for p in ps], losses, opt


CONFIGS = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.02, momentum=0.5, dampening=0.3, maximize=True)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.1, betas=(0.8, 0.99))),
    ("Adam", dict(lr=0.05, maximize=True, decoupled_weight_decay=True, weight_decay=0.2)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, amsgrad=True, eps=1e-6)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.1)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.1, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.9, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.005, momentum=0.5, alpha=0.9, maximize=True)),
    ("NAdam", dict(lr=0.02)),
    ("NAdam", dict(lr=0.02, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, momentum_decay=0.01, decoupled_weight_decay=True, weight_decay=0.1)),
    ("RAdam", dict(lr=0.05)),
    ("RAdam", dict(lr=0.05, weight_decay=0.1)),
    ("RAdam", dict(lr=0.05, decoupled_weight_decay=True, weight_decay=0.1, maximize=True)),
    ("Adamax", dict(lr=0.05)),
    ("Adamax", dict(lr=0.02, weight_decay=0.1, betas=(0.8, 0.99))),
    ("ASGD", dict(lr=0.05)),
    ("ASGD", dict(lr=0.05, t0=10, lambd=1e-2, weight_decay=0.1)),
    ("ASGD", dict(lr=0.02, t0=0, alpha=0.5, maximize=True)),
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2), maximize=True)),
    # (Adafactor's sign-like steps scale with the parameters: at larger rates the test problem's
    # trajectory amplifies rounding differences by 2x a step, so the rates here stay small)
    ("Adafactor", dict()),
    ("Adafactor", dict(lr=0.01, weight_decay=0.1, beta2_decay=-0.5, d=2.0, maximize=True)),
    ("Adafactor", dict(lr=0.005, eps=(1e-20, 1e-2))),
]


def _id(cfg):
    return cfg[0] + "-" + ",".join(f"{k}={v}" for k, v in cfg[1].items())


@pytest.mark.parametrize("cfg", CONFIGS, ids=_id)
def test_trajectory_float64_matches_torch(cfg):
    name, kwargs = cfg
    pk, lk, _ = run("k", name, kwargs, np.float64)
    pt, lt, _ = run("t", name, kwargs, np.float64)
    np.testing.assert_allclose(lk, lt, rtol=1e-10, atol=1e-12)
    for a, b in zip(pk, pt):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("cfg", CONFIGS, ids=_id)
def test_trajectory_float32_matches_torch(cfg):
    name, kwargs = cfg
    pk, _, ok = run("k", name, kwargs, np.float32)
    pt, _, _ = run("t", name, kwargs, np.float32)
    for a, b in zip(pk, pt):
        assert a.dtype == np.float32
        # Rprop acts on gradient signs: a one-ulp gradient difference near zero flips a sign
        # and the float32 trajectories part (float64 above matches exactly).
        if name != "Rprop":
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for state in ok.state.values():  # buffers keep the parameter dtype
        for key, value in state.items():
            if isinstance(value, kindling.Tensor) and value.ndim > 0:
                assert value.dtype == kindling.float32, key


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad"])
def test_param_groups_with_different_options(name):
    extra = dict(momentum=0.9) if name in ("SGD", "RMSprop") else {}
    groups = [([0, 2], dict(lr=0.03)), ([1], dict(lr=0.1, weight_decay=0.05))]
    pk, _, ok = run("k", name, extra, np.float64, groups=groups)
    pt, _, ot = run("t", name, extra, np.float64, groups=groups)
    for a, b in zip(pk, pt):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    assert [g["lr"] for g in ok.param_groups] == [0.03, 0.1]
    assert ok.param_groups[0]["weight_decay"] == 0
    assert ok.param_groups[1]["weight_decay"] == 0.05


LBFGS_CONFIGS = [dict(), dict(line_search_fn="strong_wolfe"),
                 dict(lr=0.5, history_size=3, max_iter=7),
                 dict(line_search_fn="strong_wolfe", history_size=2)]


@pytest.mark.parametrize("kwargs", LBFGS_CONFIGS, ids=str)
def test_lbfgs_matches_torch_float64(kwargs):
    pk, lk, ok = run("k", "LBFGS", kwargs, np.float64, steps=5, loss_fn=loss_convex)
    pt, lt, ot = run("t", "LBFGS", kwargs, np.float64, steps=5, loss_fn=loss_convex)
    np.testing.assert_allclose(lk, lt, rtol=1e-9)
    for a, b in zip(pk, pt):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)
    sk, st = ok.state[ok._params[0]], ot.state[ot._params[0]]
    assert sk["func_evals"] == st["func_evals"] and sk["n_iter"] == st["n_iter"]


@pytest.mark.parametrize("kwargs", LBFGS_CONFIGS[:2], ids=str)
def test_lbfgs_float32(kwargs):
    pk, _, _ = run("k", "LBFGS", kwargs, np.float32, steps=3, loss_fn=loss_convex)
    pt, _, _ = run("t", "LBFGS", kwargs, np.float32, steps=3, loss_fn=loss_convex)
    for a, b in zip(pk, pt):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_lbfgs_rejects_groups_and_bad_line_search():
    ps, consts = make("k", np.float64)
    with pytest.raises(ValueError, match="per-parameter options"):
        kopt.LBFGS([{"params": ps[:1]}, {"params": ps[1:]}])
    opt = kopt.LBFGS(ps, line_search_fn="armijo")
    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt.step(closure_for(opt, ps, consts, loss_convex))


# --- state_dict ---------------------------------------------------------------------------------
def _snapshot(state_dict):
    """A deep copy (as saving to a file would make)."""
    def conv(v):
        if isinstance(v, kindling.Tensor):
            return kindling.tensor(v.numpy())
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, list):
            return [conv(x) for x in v]
        return copy.deepcopy(v)
    return conv(state_dict)


def _torch_to_kindling(v):
    if isinstance(v, torch.Tensor):
        return kindling.tensor(v.detach().numpy().copy())
    if isinstance(v, dict):
        return {k: _torch_to_kindling(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_torch_to_kindling(x) for x in v]
    return v


ROUND_TRIP = [("SGD", dict(lr=0.05, momentum=0.9)), ("Adam", dict(lr=0.05, amsgrad=True)),
              ("AdamW", dict(lr=0.05)), ("Adagrad", dict(lr=0.1)), ("Adadelta", dict()),
              ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5)), ("NAdam", dict(lr=0.02)),
              ("RAdam", dict(lr=0.05)), ("Adamax", dict(lr=0.05)),
              ("ASGD", dict(lr=0.05, t0=5)), ("Rprop", dict(lr=0.05)),
              ("Adafactor", dict(lr=0.01)), ("LBFGS", dict(history_size=4, max_iter=4))]


@pytest.mark.parametrize("cfg", ROUND_TRIP, ids=_id)
def test_state_dict_round_trip_resumes_exactly(cfg):
    name, kwargs = cfg
    loss_fn = loss_convex if name == "LBFGS" else loss_tanh
    steps, half = (6, 3) if name == "LBFGS" else (50, 25)
    ref, _, _ = run("k", name, kwargs, np.float32, steps=steps, loss_fn=loss_fn)

    ps, consts = make("k", np.float32)
    opt = getattr(kopt, name)(ps, **kwargs)
    closure = closure_for(opt, ps, consts, loss_fn)
    for _ in range(half):
        opt.step(closure)
    saved = _snapshot(opt.state_dict())
    params = [p.detach().numpy().copy() for p in ps]

    ps2 = [kindling.tensor(a, requires_grad=True) for a in params]
    opt2 = getattr(kopt, name)(ps2, **kwargs)
    opt2.load_state_dict(saved)
    closure2 = closure_for(opt2, ps2, consts, loss_fn)
    for _ in range(steps - half):
        opt2.step(closure2)
    for a, b in zip(ps2, ref):
        np.testing.assert_array_equal(a.detach().numpy(), b)


def test_state_dict_format():
    ps, consts = make("k", np.float32)
    opt = kopt.Adam([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.1}], lr=0.01)
    closure_for(opt, ps, consts, loss_tanh)()
    opt.step()
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert sorted(sd["state"]) == [0, 1, 2]
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    assert sd["state"][0]["step"].item() == 1.0
    assert sd["state"][0]["step"].dtype == kindling.float32
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert [g["lr"] for g in sd["param_groups"]] == [0.01, 0.1]
    tsd = torch.optim.Adam([torch.zeros(1)]).state_dict()
    assert set(sd["param_groups"][0]) == set(tsd["param_groups"][0])


@pytest.mark.parametrize("cfg", ROUND_TRIP[:-1], ids=_id)
def test_load_torch_state_dict_then_step_matches(cfg):
    """Run torch 20 steps, load its state_dict (tensors converted) into kindling, take 10 more
    steps on both: the same parameters."""
    name, kwargs = cfg
    tps, tconsts = make("t", np.float64)
    topt = getattr(torch.optim, name)(tps, **kwargs)
    tclosure = closure_for(topt, tps, tconsts, loss_tanh)
    for _ in range(20):
        topt.step(tclosure)
    kps = [kindling.tensor(p.detach().numpy().copy(), requires_grad=True) for p in tps]
    kopt_ = getattr(kopt, name)(kps, **kwargs)
    kopt_.load_state_dict(_torch_to_kindling(topt.state_dict()))
    # The oracle is torch loading the same state dict (loading casts scalar state such as
    # ASGD's eta to the parameter dtype, which changes rounding against the uninterrupted run).
    tps2 = [p.detach().clone().requires_grad_(True) for p in tps]
    topt2 = getattr(torch.optim, name)(tps2, **kwargs)
    topt2.load_state_dict(copy.deepcopy(topt.state_dict()))
    tclosure2 = closure_for(topt2, tps2, tconsts, loss_tanh)
    _, kconsts = make("k", np.float64)
    kclosure = closure_for(kopt_, kps, kconsts, loss_tanh)
    for _ in range(10):
        topt2.step(tclosure2)
        kopt_.step(kclosure)
    for key, value in topt2.state[tps2[0]].items():
        ours = kopt_.state[kps[0]][key]
        assert str(ours.dtype) == str(value.dtype), key
    for a, b in zip(kps, tps2):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-10,
                                   atol=1e-12)


def test_load_state_dict_casts_to_param_dtype():
    ps, consts = make("k", np.float32)
    opt = kopt.Adam(ps)
    sd = {"state": {0: {"step": kindling.tensor(3.0, dtype=kindling.float32),
                        "exp_avg": kindling.zeros(3, 4, dtype=kindling.float64),
                        "exp_avg_sq": kindling.zeros(3, 4, dtype=kindling.float64)}},
          "param_groups": [dict(opt.state_dict()["param_groups"][0])]}
    opt.load_state_dict(sd)
    state = opt.state[ps[0]]
    assert state["exp_avg"].dtype == kindling.float32
    assert state["step"].dtype == kindling.float32


def test_load_state_dict_validates_groups():
    ps, _ = make("k", np.float32)
    opt = kopt.SGD([{"params": ps[:2]}, {"params": ps[2:]}], lr=0.1)
    sd = opt.state_dict()
    other = kopt.SGD(ps, lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        other.load_state_dict(sd)
    other = kopt.SGD([{"params": ps[:1]}, {"params": ps[1:]}], lr=0.1)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        other.load_state_dict(sd)


# --- the Optimizer API --------------------------------------------------------------------------
def test_zero_grad():
    ps, consts = make("k", np.float32)
    opt = kopt.SGD(ps, lr=0.1)
    closure = closure_for(opt, ps, consts, loss_tanh)
    closure()
    grad = ps[0].grad
    opt.zero_grad(set_to_none=False)
    assert ps[0].grad is grad and not grad.numpy().any()
    opt.zero_grad()
    assert all(p.grad is None for p in ps)


def test_step_returns_closure_loss_and_skips_params_without_grad():
    ps, consts = make("k", np.float32)
    extra = kindling.tensor([1.0, 2.0], requires_grad=True)
    opt = kopt.Adam(ps + [extra], lr=0.1)
    loss = opt.step(closure_for(opt, ps, consts, loss_tanh))
    assert isinstance(loss, kindling.Tensor)
    assert np.allclose(loss.item(), float(loss_tanh(*make("k", np.float32))))
    assert extra.tolist() == [1.0, 2.0] and extra not in opt.state
    assert opt.step() is None


def test_step_bumps_version_and_works_with_autograd_after():
    ps, consts = make("k", np.float32)
    opt = kopt.SGD(ps, lr=0.1)
    v = ps[0]._version
    opt.step(closure_for(opt, ps, consts, loss_tanh))
    assert ps[0]._version > v
    opt.step(closure_for(opt, ps, consts, loss_tanh))  # a second backward still works


def test_add_param_group_and_errors():
    ps, _ = make("k", np.float32)
    opt = kopt.SGD(ps[:1], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": ps[1], "lr": 0.5})
    assert opt.param_groups[1]["lr"] == 0.5 and opt.param_groups[1]["momentum"] == 0.9
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter"):
        opt.add_param_group({"params": [ps[0]]})
    with pytest.raises(TypeError, match="param_group must be a dict"):
        opt.add_param_group([ps[2]])
    with pytest.raises(TypeError, match="ordered collections"):
        opt.add_param_group({"params": {ps[2]}})
    with pytest.raises(ValueError, match="empty parameter list"):
        kopt.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        kopt.SGD(ps[0], lr=0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        kopt.SGD([ps[0] * 2], lr=0.1)
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors"):
        kopt.SGD([1.0], lr=0.1)


def test_named_params():
    ps, _ = make("k", np.float32)
    opt = kopt.SGD([("w", ps[0]), ("b", ps[1])], lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["w", "b"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["w", "b"]


@pytest.mark.parametrize("name,kwargs,message", [
    ("SGD", dict(lr=-1), "Invalid learning rate: -1"),
    ("SGD", dict(lr=0.1, momentum=-0.5), "Invalid momentum value: -0.5"),
    ("SGD", dict(lr=0.1, weight_decay=-1), "Invalid weight_decay value: -1"),
    ("SGD", dict(lr=0.1, nesterov=True), "Nesterov momentum requires a momentum and zero "
                                         "dampening"),
    ("Adam", dict(lr=-0.1), "Invalid learning rate: -0.1"),
    ("Adam", dict(eps=-1.0), "Invalid epsilon value: -1.0"),
    ("Adam", dict(betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
    ("AdamW", dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    ("Adagrad", dict(lr_decay=-1), "Invalid lr_decay value: -1"),
    ("Adagrad", dict(initial_accumulator_value=-1), "Invalid initial_accumulator_value value: -1"),
    ("Adadelta", dict(rho=1.5), "Invalid rho value: 1.5"),
    ("RMSprop", dict(alpha=-0.1), "Invalid alpha value: -0.1"),
    ("NAdam", dict(momentum_decay=-1), "Invalid momentum_decay value: -1"),
    ("RAdam", dict(weight_decay=-1), "Invalid weight_decay value: -1"),
    ("Adamax", dict(eps=-1), "Invalid epsilon value: -1"),
    ("LBFGS", dict(lr=-1), "Invalid learning rate: -1"),
    ("ASGD", dict(weight_decay=-1), "Invalid weight_decay value: -1"),
    ("Rprop", dict(etas=(1.5, 2.0)), "Invalid eta values: 1.5, 2.0"),
    ("Adafactor", dict(beta2_decay=0.5), "beta2_decay should be <= 0 but is: 0.5"),
    ("Adafactor", dict(d=0.5), "Clipping threshold d should be >= 1 but is: 0.5"),
])
def test_validation_messages_match_torch(name, kwargs, message):
    ps, _ = make("k", np.float32)
    with pytest.raises(ValueError) as err:
        getattr(kopt, name)(ps, **kwargs)
    assert str(err.value) == message
    with pytest.raises(ValueError) as terr:
        getattr(torch.optim, name)(make("t", np.float32)[0], **kwargs)
    assert str(terr.value) == message


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "Adagrad", "Adadelta", "RMSprop",
                                  "NAdam", "RAdam", "Adamax", "LBFGS", "ASGD", "Rprop",
                                  "Adafactor"])
def test_defaults_and_repr_match_torch(name):
    ok = getattr(kopt, name)(make("k", np.float32)[0])
    ot = getattr(torch.optim, name)(make("t", np.float32)[0])
    assert ok.defaults == ot.defaults
    assert repr(ok) == repr(ot)
    assert "Algorithm" in type(ok).__doc__ or "algorithm" in type(ok).__doc__


def test_step_hooks():
    ps, consts = make("k", np.float32)
    opt = kopt.SGD(ps, lr=0.1)
    calls = []
    h1 = opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: calls.append("post"))
    opt.step(closure_for(opt, ps, consts, loss_tanh))
    assert calls == ["pre", "post"]
    h1.remove()
    opt.step(closure_for(opt, ps, consts, loss_tanh))
    assert calls == ["pre", "post", "post"]


def test_float32_params_stay_float32_without_float64_leaks():
    ps, consts = make("k", np.float32)
    for name in ["SGD", "Adam", "NAdam", "RAdam", "Adamax", "RMSprop", "Adagrad", "Adadelta"]:
        opt = getattr(kopt, name)(ps, lr=0.01, weight_decay=0.1)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            opt.step(closure_for(opt, ps, consts, loss_tanh))
        assert all(p.dtype == kindling.float32 for p in ps)
        assert all(p._array.dtype == np.float32 for p in ps)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_tensor_lr(name):
    pk, _, _ = run("k", name, dict(lr=kindling.tensor(0.03)), np.float64, steps=10)
    pt, _, _ = run("t", name, dict(lr=torch.tensor(0.03)), np.float64, steps=10)
    for a, b in zip(pk, pt):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        getattr(kopt, name)(make("k", np.float64)[0], lr=kindling.tensor([0.1, 0.2]))


@pytest.mark.parametrize("cfg", [("Adam", dict(lr=0.05, amsgrad=True)),
                                 ("NAdam", dict(lr=0.02)),
                                 ("LBFGS", dict(history_size=4, max_iter=4))], ids=_id)
def test_state_dict_survives_kindling_save(cfg, tmp_path):
    name, kwargs = cfg
    ps, consts = make("k", np.float32)
    opt = getattr(kopt, name)(ps, **kwargs)
    closure = closure_for(opt, ps, consts, loss_convex)
    for _ in range(3):
        opt.step(closure)
    kindling.save(opt.state_dict(), tmp_path / "opt.kd")
    loaded = kindling.load(tmp_path / "opt.kd")
    ps2 = [kindling.tensor(p.detach().numpy(), requires_grad=True) for p in ps]
    opt2 = getattr(kopt, name)(ps2, **kwargs)
    opt2.load_state_dict(loaded)
    for _ in range(2):
        opt.step(closure)
        opt2.step(closure_for(opt2, ps2, consts, loss_convex))
    for a, b in zip(ps, ps2):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_trains_nn_linear_parameters_like_torch():
    """Parameters of kindling.nn modules (the Parameter subclass) through AdamW + StepLR."""
    nn = pytest.importorskip("kindling.nn")
    km, tm = nn.Linear(4, 3), torch.nn.Linear(4, 3)
    with torch.no_grad():
        tm.weight.copy_(torch.tensor(km.weight.detach().numpy()))
        tm.bias.copy_(torch.tensor(km.bias.detach().numpy()))
    x = _rng.standard_normal((6, 4)).astype(np.float32)
    ko = kopt.AdamW(km.parameters(), lr=0.05)
    to = torch.optim.AdamW(tm.parameters(), lr=0.05)
    ks = kopt.lr_scheduler.StepLR(ko, step_size=5, gamma=0.5)
    ts = torch.optim.lr_scheduler.StepLR(to, step_size=5, gamma=0.5)
    for _ in range(20):
        for model, opt, sched, lib in ((km, ko, ks, kindling), (tm, to, ts, torch)):
            opt.zero_grad()
            (model(lib.tensor(x)).tanh() ** 2).sum().backward()
            opt.step()
            sched.step()
    np.testing.assert_allclose(km.weight.detach().numpy(), tm.weight.detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(km.bias.detach().numpy(), tm.bias.detach().numpy(), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("cfg", [c for c in CONFIGS if c[0] in ("SGD", "Adam", "AdamW")], ids=_id)
def test_threaded_update_of_large_parameters_is_bitwise_the_single_threaded_one(cfg):
    """Parameters large enough to be split across threads get exactly the same update, and
    still match torch."""
    name, kwargs = cfg
    rng = np.random.default_rng(1)
    init = rng.standard_normal((3, 70_000)).astype(np.float32)  # > 2 chunks of 65,536
    grads = [rng.standard_normal(init.shape).astype(np.float32) for _ in range(3)]

    def trajectory(lib, threads):
        mod, optim = _lib(lib)
        previous = mod.get_num_threads()
        mod.set_num_threads(threads)
        try:
            p = mod.tensor(init.copy(), requires_grad=True)
            opt = getattr(optim, name)([p], **kwargs)
            for g in grads:
                p.grad = mod.tensor(g)
                opt.step()
            return p.detach().numpy().copy()
        finally:
            mod.set_num_threads(previous)

    one, two = trajectory("k", 1), trajectory("k", 2)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_allclose(two, trajectory("t", 1), rtol=1e-5, atol=1e-6)
