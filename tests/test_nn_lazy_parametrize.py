"""Lazy modules, parametrizations (parametrize / parametrizations) and conv/linear-BN fusion,
against torch. The two frameworks' random streams differ, so weights are copied from torch
after materialization (or registration) and the results compared."""
import copy

import numpy as np
import pytest
import torch

import kindling
import kindling.nn as nn
from kindling.nn.parameter import is_lazy
from kindling.nn.utils import parametrize, parametrizations
from oracle import assert_close

tP = torch.nn.utils.parametrize
tPs = torch.nn.utils.parametrizations


def _np(x):
    return x.detach().numpy()


def _copy_state(kmod, tmod):
    """Load torch's state into the kindling module (same keys)."""
    kmod.load_state_dict({k: v.detach().numpy().copy() for k, v in tmod.state_dict().items()})


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# --- lazy modules: construction, first call, shapes -----------------------------------------------
LAZY_CASES = [
    # (name, args, kwargs, input shape, expected class)
    ("LazyLinear", (3,), {}, (4, 5), "Linear"),
    ("LazyLinear", (3,), {"bias": False}, (2, 6, 5), "Linear"),
    ("LazyConv1d", (4, 3), {"stride": 2, "padding": 1}, (2, 3, 9), "Conv1d"),
    ("LazyConv1d", (4, 3), {"groups": 2}, (6, 7), "Conv1d"),  # unbatched
    ("LazyConv2d", (4, 3), {"padding": 1, "bias": False}, (2, 3, 6, 5), "Conv2d"),
    ("LazyConv2d", (6, (3, 2)), {"groups": 3, "dilation": 2}, (1, 3, 8, 8), "Conv2d"),
    ("LazyConvTranspose1d", (4, 3), {"stride": 2, "output_padding": 1}, (2, 3, 5),
     "ConvTranspose1d"),
    ("LazyConvTranspose2d", (4, 3), {"groups": 2, "padding": 1}, (2, 4, 5, 5),
     "ConvTranspose2d"),
    ("LazyBatchNorm1d", (), {}, (8, 5), "BatchNorm1d"),
    ("LazyBatchNorm1d", (), {"affine": False, "momentum": None}, (4, 3, 6), "BatchNorm1d"),
    ("LazyBatchNorm2d", (), {}, (4, 3, 5, 5), "BatchNorm2d"),
    ("LazyBatchNorm3d", (), {"track_running_stats": False}, (2, 3, 2, 3, 4), "BatchNorm3d"),
    ("LazyInstanceNorm1d", (), {}, (2, 3, 7), "InstanceNorm1d"),
    ("LazyInstanceNorm2d", (), {"affine": False, "track_running_stats": False},
     (2, 3, 4, 5), "InstanceNorm2d"),
    ("LazyConv3d", (4, 2), {"padding": 1}, (2, 3, 4, 5, 4), "Conv3d"),
    ("LazyConvTranspose3d", (2, 2), {"stride": 2}, (3, 3, 2, 4), "ConvTranspose3d"),
    ("LazyInstanceNorm3d", (), {}, (2, 3, 2, 3, 4), "InstanceNorm3d"),
]


@pytest.mark.parametrize("name,args,kwargs,shape,becomes", LAZY_CASES)
def test_lazy_module_matches_torch(name, args, kwargs, shape, becomes):
    km = getattr(nn, name)(*args, **kwargs)
    tm = getattr(torch.nn, name)(*args, **kwargs)
    assert repr(km) == repr(tm)
    # (an instance norm without affine or running stats has nothing to infer)
    assert km.has_uninitialized_params() == tm.has_uninitialized_params() == \
        (kwargs.get("affine", True) or kwargs.get("track_running_stats", True))
    assert list(km.state_dict()) == list(tm.state_dict())
    x = _rand(*shape)
    km(kindling.tensor(x))
    tm(torch.tensor(x))
    # materialized: the class, the inferred sizes, the shapes are torch's
    assert type(km).__name__ == type(tm).__name__ == becomes
    assert type(km) is getattr(nn, becomes)
    assert repr(km) == repr(tm)
    assert not hasattr(km, "_initialize_hook") and not km._forward_pre_hooks
    for (kn, kv), (tn, tv) in zip(km.state_dict().items(), tm.state_dict().items()):
        assert kn == tn and tuple(kv.shape) == tuple(tv.shape)
        assert type(kv) is kindling.Tensor
    for p in km.parameters():
        assert type(p) is nn.Parameter and p.requires_grad
    # with torch's values: same outputs and gradients, in train and eval mode
    _copy_state(km, tm)
    for train in (True, False):
        km.train(train)
        tm.train(train)
        kx = kindling.tensor(x, requires_grad=True)
        tx = torch.tensor(x, requires_grad=True)
        ky, ty = km(kx), tm(tx)
        assert_close(ky, ty, atol=1e-5, what=f"{name} output")
        g = _rand(*ty.shape, seed=1)
        (ky * kindling.tensor(g)).sum().backward()
        (ty * torch.tensor(g)).sum().backward()
        assert_close(kx.grad, tx.grad, atol=1e-5, what=f"{name} input grad")
        for (kn, kp), (tn, tp) in zip(km.named_parameters(), tm.named_parameters()):
            assert_close(kp.grad, tp.grad, atol=1e-5, what=f"{name}.{kn}.grad")
            kp.grad, tp.grad = None, None
        for (kn, kb), (tn, tb) in zip(km.named_buffers(), tm.named_buffers()):
            assert_close(kb, tb, atol=1e-6, what=f"{name}.{kn}")


@pytest.mark.parametrize("lazy,eager,args,eager_args,shape", [
    ("LazyLinear", "Linear", (7,), (5, 7), (3, 5)),
    ("LazyConv2d", "Conv2d", (4, 3), (2, 4, 3), (1, 2, 6, 6)),
    ("LazyConvTranspose1d", "ConvTranspose1d", (4, 3), (3, 4, 3), (1, 3, 6)),
    ("LazyBatchNorm1d", "BatchNorm1d", (), (5,), (4, 5)),
])
def test_lazy_initialization_is_the_eager_one(lazy, eager, args, eager_args, shape):
    # the same random draws as the eager layer's reset_parameters, at the first call
    x = kindling.randn(*shape)
    kindling.manual_seed(3)
    ref = getattr(nn, eager)(*eager_args)
    ref(x)  # (a BatchNorm's forward also updates its running statistics)
    kindling.manual_seed(3)
    m = getattr(nn, lazy)(*args)
    m(x)
    ref_state, state = ref.state_dict(), m.state_dict()
    assert list(ref_state) == list(state)
    for k in ref_state:
        assert np.array_equal(ref_state[k].numpy(), state[k].numpy()), k
    assert repr(m) == repr(ref)


def test_lazy_in_a_model_and_optimizer():
    model = nn.Sequential(nn.LazyConv2d(4, 3, padding=1), nn.LazyBatchNorm2d(), nn.ReLU(),
                          nn.Flatten(), nn.LazyLinear(2))
    assert "LazyConv2d(0, 4" in repr(model) and "LazyLinear(in_features=0" in repr(model)
    x = kindling.randn(3, 2, 5, 5)
    out = model(x)
    assert out.shape == (3, 2)
    assert [type(m).__name__ for m in model] == ["Conv2d", "BatchNorm2d", "ReLU", "Flatten",
                                                "Linear"]
    assert model[4].in_features == 4 * 5 * 5
    opt = kindling.optim.SGD(model.parameters(), lr=0.1)
    before = model[4].weight.detach().clone()
    model(x).sum().backward()
    opt.step()
    assert not np.allclose(before.numpy(), model[4].weight.detach().numpy())


# --- lazy modules: state_dict ---------------------------------------------------------------------
def test_lazy_state_dict_holds_uninitialized_entries():
    km, tm = nn.LazyLinear(3), torch.nn.LazyLinear(3)
    ks, ts = km.state_dict(), tm.state_dict()
    assert list(ks) == list(ts) == ["weight", "bias"]
    assert all(isinstance(v, nn.UninitializedParameter) for v in ks.values())
    assert repr(ks["weight"]) == repr(ts["weight"]) == "<UninitializedParameter>"
    bn = nn.LazyBatchNorm1d().state_dict()
    assert isinstance(bn["running_mean"], nn.UninitializedBuffer)
    assert bn["num_batches_tracked"].item() == 0


def test_lazy_load_state_dict_materializes_from_the_loaded_shapes():
    src = torch.nn.Linear(5, 3)
    km, tm = nn.LazyLinear(3), torch.nn.LazyLinear(3)
    result = km.load_state_dict({k: v.detach().numpy() for k, v in src.state_dict().items()})
    tm.load_state_dict(src.state_dict())
    assert not result.missing_keys and not result.unexpected_keys
    # materialized, but the class changes (and in_features is read) at the first call, as torch
    assert type(km.weight) is nn.Parameter and km.weight.shape == (3, 5)
    assert type(km).__name__ == type(tm).__name__ == "LazyLinear"
    assert km.in_features == tm.in_features == 0
    x = _rand(4, 5)
    assert_close(km(kindling.tensor(x)), tm(torch.tensor(x)))
    assert type(km) is nn.Linear and km.in_features == 5
    assert_close(km.weight, src.weight)
    # the first input must then agree with the loaded weight
    km2 = nn.LazyLinear(3)
    km2.load_state_dict({k: v.detach().numpy() for k, v in src.state_dict().items()})
    with pytest.raises(AssertionError, match="in_features"):
        km2.initialize_parameters(kindling.randn(2, 4))


def test_lazy_norm_load_state_dict():
    src = torch.nn.BatchNorm2d(4)
    src.train()(torch.randn(3, 4, 2, 2))
    km = nn.LazyBatchNorm2d()
    _copy_state(km, src)
    assert type(km.running_mean) is kindling.Tensor and km.running_mean.shape == (4,)
    km.eval(), src.eval()
    x = _rand(2, 4, 3, 3)
    assert_close(km(kindling.tensor(x)), src(torch.tensor(x)), atol=1e-5)
    # as in torch, num_features is inferred only when the first call materializes; after a
    # load it stays 0 (and the repr says so)
    lazy_torch = torch.nn.LazyBatchNorm2d()
    lazy_torch.load_state_dict(src.state_dict())
    lazy_torch(torch.tensor(x))
    assert type(km) is nn.BatchNorm2d and km.num_features == lazy_torch.num_features == 0
    assert repr(km) == repr(lazy_torch)


def test_lazy_into_lazy_and_lazy_into_initialized():
    km, tm = nn.LazyLinear(3), torch.nn.LazyLinear(3)
    km.load_state_dict(nn.LazyLinear(3).state_dict())
    tm.load_state_dict(torch.nn.LazyLinear(3).state_dict())
    assert is_lazy(km.weight) and is_lazy(km.bias)
    assert km.has_uninitialized_params() == tm.has_uninitialized_params() == True  # noqa: E712
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "bias"'):
        nn.LazyLinear(3).load_state_dict(nn.LazyLinear(3, bias=False).state_dict())
    with pytest.raises(RuntimeError, match='Unexpected key\\(s\\) in state_dict: "extra"'):
        sd = nn.LazyLinear(3).state_dict()
        sd["extra"] = kindling.zeros(1)
        nn.LazyLinear(3).load_state_dict(sd)
    # an uninitialized value cannot be loaded into an initialized parameter (torch: same error)
    with pytest.raises(RuntimeError, match="Can't access the shape of an uninitialized"):
        nn.Linear(4, 3).load_state_dict(nn.LazyLinear(3).state_dict())
    with pytest.raises(RuntimeError, match="Can't access the shape of an uninitialized"):
        torch.nn.Linear(4, 3).load_state_dict(torch.nn.LazyLinear(3).state_dict())


def test_lazy_deepcopy_and_dtype_conversion():
    m = copy.deepcopy(nn.LazyLinear(2))
    assert is_lazy(m.weight) and type(m).__name__ == "LazyLinear"
    m(kindling.ones(3))
    assert type(m) is nn.Linear and m.weight.shape == (2, 3)
    # convert first, then the dry run: the dtype is kept through materialization (as torch)
    m = nn.LazyBatchNorm1d().double()
    t = torch.nn.LazyBatchNorm1d().double()
    assert is_lazy(m.weight) and is_lazy(m.running_mean)
    assert m.weight.dtype == kindling.float64 and m.running_mean.dtype == kindling.float64
    assert t.weight.dtype == torch.float64
    m(kindling.randn(4, 3, dtype=kindling.float64))
    assert m.weight.dtype == m.running_var.dtype == kindling.float64
    assert m.num_batches_tracked.dtype == kindling.int64
    p = nn.LazyLinear(2, dtype=kindling.float64)
    p(kindling.randn(3, 4, dtype=kindling.float64))
    assert p.weight.dtype == kindling.float64


# --- lazy modules: errors -------------------------------------------------------------------------
def test_using_an_uninitialized_parameter_raises_as_torch():
    kp, tp = nn.UninitializedParameter(), torch.nn.UninitializedParameter()
    for method in ("numel", "sum", "detach", "clone", "dim", "requires_grad_", "zero_"):
        with pytest.raises(ValueError, match="Attempted to use an uninitialized parameter"):
            getattr(tp, method)()
        with pytest.raises(ValueError, match=f"uninitialized parameter in Tensor.{method}"):
            getattr(kp, method)()
    with pytest.raises(ValueError, match="uninitialized parameter in add"):
        kp + 1
    with pytest.raises(ValueError, match="uninitialized parameter in linear"):
        nn.functional.linear(kindling.ones(2, 3), kp)
    with pytest.raises(RuntimeError, match="Can't access the shape"):
        kp.shape
    with pytest.raises(RuntimeError, match="Can't access the shape"):
        tp.shape
    # what still works, with torch's answers
    assert kp.size() == tp.size() == (0,)
    assert kp.ndim == tp.ndim == 1
    assert kp.dtype == kindling.float32 and kp.requires_grad == tp.requires_grad
    assert kp.grad is None and kp.is_leaf and kp.is_floating_point()
    assert repr(kp) == repr(tp) == "<UninitializedParameter>"
    assert isinstance(kp, nn.Parameter) and is_lazy(kp)
    assert not is_lazy(nn.Parameter(kindling.zeros(2)))
    with pytest.raises(RuntimeError, match="Can't share memory"):
        kp.share_memory_()


def test_lazy_module_errors():
    m = nn.LazyLinear(3)
    with pytest.raises(ValueError, match="uninitialized parameter"):
        m.weight.numel()
    with pytest.raises(ValueError, match="uninitialized parameter"):
        m.requires_grad_(False)  # torch refuses too
    with pytest.raises(ValueError, match="uninitialized parameter"):
        sum(p.numel() for p in m.parameters())
    # an optimizer over uninitialized parameters: built and stepped (no grads) as in torch
    opt = kindling.optim.SGD(m.parameters(), lr=0.1)
    opt.step()
    torch.optim.SGD(torch.nn.LazyLinear(3).parameters(), lr=0.1).step()
    with pytest.raises(RuntimeError, match="Expected 3D \\(unbatched\\) or 4D \\(batched\\) "
                                           "input to LazyConv2d"):
        nn.LazyConv2d(4, 3)(kindling.randn(5, 5))
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.LazyConvTranspose1d(4, 3, groups=2)(kindling.randn(1, 3, 5))
    # after the first call it is a Linear: another size of input fails as a Linear's would
    m(kindling.randn(2, 4))
    with pytest.raises(RuntimeError, match="shape"):
        m(kindling.randn(2, 5))
    with pytest.raises(NotImplementedError, match="initialize_parameters is not implemented"):
        class Half(nn.modules.lazy.LazyModuleMixin, nn.Module):
            def forward(self, x):
                return x
        Half()(kindling.ones(1))


def test_uninitialized_materialize():
    for kp, tp in [(nn.UninitializedParameter(), torch.nn.UninitializedParameter()),
                   (nn.UninitializedBuffer(), torch.nn.UninitializedBuffer())]:
        kp.materialize((2, 3))
        tp.materialize((2, 3))
        assert type(kp).__name__ == type(tp).__name__
        assert kp.shape == tp.shape and kp.requires_grad == tp.requires_grad
        with kindling.no_grad():
            kp.zero_()  # now an ordinary tensor
    p = nn.UninitializedParameter(requires_grad=False, dtype=kindling.float64)
    p.materialize(4)
    assert type(p) is nn.Parameter and p.dtype == kindling.float64 and not p.requires_grad
    b = nn.UninitializedBuffer(persistent=False)
    assert b.persistent is False and not b.requires_grad


def test_lazy_failed_first_call_leaves_the_module_lazy():
    # the input is checked before anything is materialized; a later good call completes it
    for m, bad, good in [(nn.LazyBatchNorm2d(), (2, 3, 4), (2, 3, 4, 4)),
                         (nn.LazyConv2d(4, 3), (5, 5), (1, 2, 5, 5))]:
        with pytest.raises((ValueError, RuntimeError)):
            m(kindling.randn(*bad))
        assert type(m).__name__.startswith("Lazy") and m.has_uninitialized_params()
        m(kindling.randn(*good))
        assert not type(m).__name__.startswith("Lazy")
        assert not any(is_lazy(t) for t in m.state_dict().values())


def test_lazy_instance_norm_unbatched_input():
    # (C, L) unbatched: the channels are dim 0 (torch reads size(1) and then fails on the input)
    x = _rand(3, 7)
    m = nn.LazyInstanceNorm1d()
    y = m(kindling.tensor(x))
    assert type(m) is nn.InstanceNorm1d and m.num_features == 3 and y.shape == (3, 7)
    t = torch.nn.InstanceNorm1d(3, affine=True, track_running_stats=True)
    assert_close(y, t(torch.tensor(x)), atol=1e-5)


def test_lazy_reset_parameters_waits_for_the_size():
    m = nn.LazyLinear(3)
    m.reset_parameters()  # nothing to initialize yet (torch: the same no-op)
    assert is_lazy(m.weight)
    src = nn.Linear(4, 3)
    m.load_state_dict(src.state_dict())
    m.reset_parameters()  # loaded values are kept
    assert np.array_equal(m.weight.detach().numpy(), src.weight.detach().numpy())


def test_lazy_state_dict_in_a_container():
    km = nn.Sequential(nn.LazyLinear(3), nn.LazyBatchNorm1d())
    tm = torch.nn.Sequential(torch.nn.LazyLinear(3), torch.nn.LazyBatchNorm1d())
    assert list(km.state_dict()) == list(tm.state_dict())
    kept = km.state_dict(keep_vars=True)
    assert kept["0.weight"] is km[0].weight and kept["1.running_mean"] is km[1].running_mean
    # lazy into lazy, non-strict, with a key missing and one unexpected (torch's lists)
    ks = nn.Sequential(nn.LazyLinear(3), nn.LazyBatchNorm1d()).state_dict()
    ts = torch.nn.Sequential(torch.nn.LazyLinear(3), torch.nn.LazyBatchNorm1d()).state_dict()
    for sd in (ks, ts):
        del sd["0.bias"]
        sd["0.extra"] = sd["0.weight"]
    kr, tr = km.load_state_dict(ks, strict=False), tm.load_state_dict(ts, strict=False)
    assert kr.missing_keys == tr.missing_keys == ["0.bias"]
    assert kr.unexpected_keys == tr.unexpected_keys == ["0.extra"]
    assert km[0].has_uninitialized_params() and km[1].has_uninitialized_params()
    # an initialized module's entries are detached tensors
    km(kindling.randn(4, 5))
    sd = km.state_dict()
    assert type(sd["0.weight"]) is kindling.Tensor and not sd["0.weight"].requires_grad


def test_lazy_custom_module_without_cls_to_become():
    class LazyScale(nn.modules.lazy.LazyModuleMixin, nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.UninitializedParameter()
            self.calls = 0

        def initialize_parameters(self, x, *, offset=0.0):
            self.calls += 1
            self.scale.materialize((x.shape[-1],))
            self.scale.fill_(2.0 + offset)

        def forward(self, x, *, offset=0.0):
            return x * self.scale

    m = LazyScale()
    seen = []
    m.register_forward_pre_hook(lambda mod, args: seen.append(mod.has_uninitialized_params()))
    y = m(kindling.ones(2, 3), offset=1.0)  # keyword arguments reach initialize_parameters
    assert np.allclose(y.detach().numpy(), 3.0) and seen == [False]
    m(kindling.ones(2, 3))
    assert type(m) is LazyScale and m.calls == 1 and len(seen) == 2


def test_lazy_incomplete_initialization_raises():
    class Forgetful(nn.modules.lazy.LazyModuleMixin, nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.UninitializedParameter()

        def initialize_parameters(self, x):
            pass

        def forward(self, x):
            return x

    with pytest.raises(RuntimeError, match="not been fully initialized"):
        Forgetful()(kindling.ones(1))


# --- parametrize ----------------------------------------------------------------------------------
def _symmetric(module_base):
    class Symmetric(module_base):
        def forward(self, X):
            return X.triu() + X.triu(1).transpose(-1, -2)
    return Symmetric()


def _scale(module_base, factor):
    class Scale(module_base):
        calls = 0

        def forward(self, X):
            type(self).calls += 1
            return X * factor

        def right_inverse(self, X):
            return X / factor
    return Scale()


def _linear_pair(n_in=4, n_out=4):
    tm = torch.nn.Linear(n_in, n_out)
    km = nn.Linear(n_in, n_out)
    _copy_state(km, tm)
    return km, tm


def test_register_parametrization_matches_torch():
    km, tm = _linear_pair()
    w_before = km.weight
    parametrize.register_parametrization(km, "weight", _symmetric(nn.Module))
    tP.register_parametrization(tm, "weight", _symmetric(torch.nn.Module))
    assert type(km).__name__ == type(tm).__name__ == "ParametrizedLinear"
    assert parametrize.type_before_parametrizations(km) is nn.Linear
    assert isinstance(type(km).__dict__["weight"], property)
    assert type(nn.Linear(2, 2)) is nn.Linear  # other instances untouched
    assert parametrize.is_parametrized(km) and parametrize.is_parametrized(km, "weight")
    assert not parametrize.is_parametrized(km, "bias")
    # the original is the very Parameter the module had
    assert km.parametrizations.weight.original is w_before
    assert list(km.state_dict()) == list(tm.state_dict())
    assert [n for n, _ in km.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert repr(km).replace("kindling", "torch") == repr(tm)
    assert_close(km.weight, tm.weight)
    assert np.allclose(_np(km.weight), _np(km.weight).T)
    x = _rand(3, 4)
    (km(kindling.tensor(x)) ** 2).sum().backward()
    (tm(torch.tensor(x)) ** 2).sum().backward()
    assert_close(km.parametrizations.weight.original.grad,
                 tm.parametrizations.weight.original.grad, atol=1e-5)


def test_right_inverse_assignment_and_stacking():
    km, tm = _linear_pair(3, 2)
    ks, ts = _scale(nn.Module, 2.0), _scale(torch.nn.Module, 2.0)
    parametrize.register_parametrization(km, "weight", ks)
    tP.register_parametrization(tm, "weight", ts)
    # right_inverse at registration keeps the value
    assert_close(km.weight, tm.weight)
    assert_close(km.parametrizations.weight.original, tm.parametrizations.weight.original)
    # assigning stores right_inverse(value) in original
    value = _rand(2, 3, seed=4)
    km.weight = kindling.tensor(value)
    tm.weight = torch.tensor(value)
    assert_close(km.parametrizations.weight.original, value / 2)
    assert_close(km.weight, tm.weight)
    # a second parametrization stacks on the first, applied after it
    parametrize.register_parametrization(km, "weight", _scale(nn.Module, 3.0))
    tP.register_parametrization(tm, "weight", _scale(torch.nn.Module, 3.0))
    assert len(km.parametrizations.weight) == 2
    assert_close(km.weight, tm.weight)
    km.weight = kindling.tensor(value)
    tm.weight = torch.tensor(value)
    assert_close(km.parametrizations.weight.original, tm.parametrizations.weight.original)
    assert_close(km.weight, value, atol=1e-6)


def test_tuple_right_inverse_and_remove():
    class Split(nn.Module):  # W = A + B, stored as (W/2, W/2)
        def forward(self, A, B):
            return A + B

        def right_inverse(self, W):
            return W / 2, W / 2

    class TSplit(torch.nn.Module):
        def forward(self, A, B):
            return A + B

        def right_inverse(self, W):
            return W / 2, W / 2

    km, tm = _linear_pair()
    parametrize.register_parametrization(km, "weight", Split())
    tP.register_parametrization(tm, "weight", TSplit())
    assert list(km.state_dict()) == list(tm.state_dict())
    assert "parametrizations.weight.original0" in km.state_dict()
    assert isinstance(km.parametrizations.weight.original0, nn.Parameter)
    assert_close(km.weight, tm.weight)
    with pytest.raises(ValueError, match="Cannot leave unparametrized"):
        parametrize.remove_parametrizations(km, "weight", leave_parametrized=False)
    parametrize.remove_parametrizations(km, "weight")
    tP.remove_parametrizations(tm, "weight")
    assert type(km) is nn.Linear and isinstance(km.weight, nn.Parameter)
    assert_close(km.weight, tm.weight)


@pytest.mark.parametrize("leave", [True, False])
def test_remove_parametrizations(leave):
    km, tm = _linear_pair()
    original = km.weight
    parametrize.register_parametrization(km, "weight", _symmetric(nn.Module))
    tP.register_parametrization(tm, "weight", _symmetric(torch.nn.Module))
    parametrize.register_parametrization(km, "bias", _scale(nn.Module, 2.0))
    tP.register_parametrization(tm, "bias", _scale(torch.nn.Module, 2.0))
    parametrize.remove_parametrizations(km, "weight", leave_parametrized=leave)
    tP.remove_parametrizations(tm, "weight", leave_parametrized=leave)
    # still parametrized (bias): the class stays the injected one
    assert type(km).__name__ == "ParametrizedLinear" and "weight" not in type(km).__dict__
    assert km.weight is original and isinstance(km.weight, nn.Parameter)
    assert_close(km.weight, tm.weight)
    parametrize.remove_parametrizations(km, "bias", leave_parametrized=leave)
    tP.remove_parametrizations(tm, "bias", leave_parametrized=leave)
    assert type(km) is nn.Linear and not hasattr(km, "parametrizations")
    assert_close(km.bias, tm.bias)
    assert list(km.state_dict()) == ["weight", "bias"]
    with pytest.raises(ValueError, match="does not have a parametrization on weight"):
        parametrize.remove_parametrizations(km, "weight")


def test_cached_computes_once():
    km, tm = _linear_pair()
    ks, ts = _scale(nn.Module, 2.0), _scale(torch.nn.Module, 2.0)
    parametrize.register_parametrization(km, "weight", ks)
    tP.register_parametrization(tm, "weight", ts)
    type(ks).calls = type(ts).calls = 0
    km.weight, km.weight
    tm.weight, tm.weight
    assert type(ks).calls == type(ts).calls == 2
    with parametrize.cached(), tP.cached():
        a, b = km.weight, km.weight
        tm.weight, tm.weight
        with parametrize.cached():  # nested blocks share the cache
            assert km.weight is a
    assert a is b
    assert type(ks).calls == type(ts).calls == 3
    assert km.weight is not a  # the cache is dropped at the end of the block


def test_parametrize_a_buffer_and_errors():
    km = nn.BatchNorm1d(3)
    parametrize.register_parametrization(km, "running_var", _scale(nn.Module, 2.0))
    assert "parametrizations.running_var.original" in dict(km.named_buffers())
    assert not isinstance(km.parametrizations.running_var.original, nn.Parameter)
    assert_close(km.running_var, np.ones(3, np.float32))

    class Shrink(nn.Module):
        def forward(self, X):
            return X[:1]

    class Double(nn.Module):
        def forward(self, X):
            return X.double()

    m = nn.Linear(3, 2)
    with pytest.raises(ValueError, match="may not change the shape"):
        parametrize.register_parametrization(m, "weight", Shrink())
    with pytest.raises(ValueError, match="may not change the dtype"):
        parametrize.register_parametrization(m, "weight", Double())
    assert type(m) is nn.Linear  # a failed registration leaves the module alone
    parametrize.register_parametrization(m, "weight", Shrink(), unsafe=True)
    assert m.weight.shape == (1, 3)
    with pytest.raises(ValueError, match="does not have a parameter, a buffer"):
        parametrize.register_parametrization(m, "nothing", Shrink())
    with pytest.raises(RuntimeError, match="does not implement right_inverse"):
        m.weight = kindling.zeros(1, 3)


def test_parametrized_load_state_dict_and_deepcopy():
    km, tm = _linear_pair()
    parametrize.register_parametrization(km, "weight", _symmetric(nn.Module))
    tP.register_parametrization(tm, "weight", _symmetric(torch.nn.Module))
    with torch.no_grad():
        tm.parametrizations.weight.original.normal_()
    _copy_state(km, tm)
    assert_close(km.weight, tm.weight)
    clone = copy.deepcopy(km)
    assert type(clone).__name__ == "ParametrizedLinear"
    assert clone.parametrizations.weight.original is not km.parametrizations.weight.original
    assert_close(clone.weight, km.weight)


# --- parametrizations: weight_norm ----------------------------------------------------------------
@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_parametrization_matches_torch(dim):
    tm = torch.nn.Conv2d(3, 4, 3)
    km = nn.Conv2d(3, 4, 3)
    _copy_state(km, tm)
    parametrizations.weight_norm(km, dim=dim)
    tPs.weight_norm(tm, dim=dim)
    g, v = km.parametrizations.weight.original0, km.parametrizations.weight.original1
    assert g.shape == tm.parametrizations.weight.original0.shape
    assert_close(g, tm.parametrizations.weight.original0, atol=1e-5)
    assert_close(v, tm.parametrizations.weight.original1)
    assert_close(km.weight, tm.weight, atol=1e-6)
    x = _rand(2, 3, 5, 5)
    (km(kindling.tensor(x)) ** 2).sum().backward()
    (tm(torch.tensor(x)) ** 2).sum().backward()
    assert_close(g.grad, tm.parametrizations.weight.original0.grad, rtol=1e-4, atol=1e-4)
    assert_close(v.grad, tm.parametrizations.weight.original1.grad, rtol=1e-4, atol=1e-4)


def test_weight_norm_loads_old_hook_checkpoints():
    old = torch.nn.utils.weight_norm(torch.nn.Linear(4, 3))  # keys weight_g, weight_v
    with torch.no_grad():
        old.weight_g.mul_(2.0)
    km = parametrizations.weight_norm(nn.Linear(4, 3))
    km.load_state_dict({k: v.detach().numpy() for k, v in old.state_dict().items()})
    assert_close(km.parametrizations.weight.original0, old.weight_g)
    x = _rand(2, 4)
    assert_close(km(kindling.tensor(x)), old(torch.tensor(x)), atol=1e-5)


# --- parametrizations: spectral_norm --------------------------------------------------------------
@pytest.mark.parametrize("ctor,args,dim", [("Linear", (6, 5), None), ("Conv2d", (3, 4, 3), None),
                                          ("ConvTranspose2d", (3, 4, 3), None),
                                          ("Linear", (6, 5), 1)])
def test_spectral_norm_power_iteration_matches_torch(ctor, args, dim):
    tm = getattr(torch.nn, ctor)(*args)
    km = getattr(nn, ctor)(*args)
    _copy_state(km, tm)
    tPs.spectral_norm(tm, n_power_iterations=2, dim=dim)
    parametrizations.spectral_norm(km, n_power_iterations=2, dim=dim)
    ksn, tsn = km.parametrizations.weight[0], tm.parametrizations.weight[0]
    assert ksn.dim == tsn.dim
    assert ksn._u.shape == tsn._u.shape and ksn._v.shape == tsn._v.shape
    # the same starting vectors for both: then every step must agree
    u, v = _rand(*tsn._u.shape, seed=5), _rand(*tsn._v.shape, seed=6)
    with torch.no_grad():
        tsn._u.copy_(torch.tensor(u))
        tsn._v.copy_(torch.tensor(v))
    with kindling.no_grad():
        ksn._u.copy_(kindling.tensor(u))
        ksn._v.copy_(kindling.tensor(v))
    u_buffer = ksn._u
    for _ in range(3):  # training mode: each access runs the power iteration
        kw, tw = km.weight, tm.weight
        assert_close(ksn._u, tsn._u, atol=1e-5)
        assert_close(ksn._v, tsn._v, atol=1e-5)
        assert_close(kw, tw, atol=1e-5)
    assert ksn._u is u_buffer  # updated in place
    g = _rand(*tw.shape, seed=7)
    (kw * kindling.tensor(g)).sum().backward()
    (tw * torch.tensor(g)).sum().backward()
    assert_close(km.parametrizations.weight.original.grad,
                 tm.parametrizations.weight.original.grad, atol=1e-4)
    # eval mode: u and v stay
    km.eval(), tm.eval()
    u_before = ksn._u.clone()
    assert_close(km.weight, tm.weight, atol=1e-5)
    assert np.array_equal(ksn._u.numpy(), u_before.numpy())
    # after enough iterations sigma is the top singular value: weight's is 1
    km.train()
    for _ in range(30):
        w = km.weight
    mat = _np(w).reshape(w.shape[0], -1) if ksn.dim == 0 else \
        np.moveaxis(_np(w), ksn.dim, 0).reshape(w.shape[ksn.dim], -1)
    assert abs(np.linalg.norm(mat, 2) - 1.0) < 1e-3


def test_spectral_norm_errors():
    with pytest.raises(ValueError, match="n_power_iterations"):
        parametrizations.spectral_norm(nn.Linear(3, 3), n_power_iterations=0)
    with pytest.raises(IndexError, match="Dimension out of range"):
        parametrizations.spectral_norm(nn.Linear(3, 3), dim=2)
    with pytest.raises(ValueError, match="has no parameter or buffer with name 'w'"):
        parametrizations.spectral_norm(nn.Linear(3, 3), name="w")


# --- parametrizations: orthogonal -----------------------------------------------------------------
def _orth_pair(n_out, n_in, **kwargs):
    km, tm = _linear_pair(n_in, n_out)
    parametrizations.orthogonal(km, **kwargs)
    tPs.orthogonal(tm, **kwargs)
    return km, tm


@pytest.mark.parametrize("shape,orthogonal_map,expected", [
    ((4, 4), None, "matrix_exp"), ((5, 3), None, "householder"), ((3, 5), None, "householder"),
    ((4, 4), "cayley", "cayley"), ((4, 4), "householder", "householder"),
    ((5, 3), "matrix_exp", "matrix_exp"), ((3, 5), "cayley", "cayley")])
def test_orthogonal_matches_torch(shape, orthogonal_map, expected):
    km, tm = _orth_pair(*shape, orthogonal_map=orthogonal_map)
    korth, torth = km.parametrizations.weight[0], tm.parametrizations.weight[0]
    assert korth.orthogonal_map.name == torth.orthogonal_map.name == expected
    w = _np(km.weight)
    gram = w @ w.T if shape[0] <= shape[1] else w.T @ w
    assert np.abs(gram - np.eye(min(shape))).max() < 1e-5
    if shape[0] == shape[1]:  # no random completion: the same weight as torch
        assert_close(km.weight, tm.weight, atol=1e-5)
    # the same base and original: the same weight, and the same gradient w.r.t. original
    o = _rand(*shape, seed=8) * 0.5
    idx = np.arange(min(shape))
    o[idx, idx] = [1.0, -1.0, -1.0][:len(idx)] if len(idx) == 3 else [1, -1, 1, -1][:len(idx)]
    with torch.no_grad():
        tm.parametrizations.weight.original.copy_(torch.tensor(o))
    with kindling.no_grad():
        km.parametrizations.weight.original.copy_(kindling.tensor(o))
    korth.base = kindling.tensor(_np(torth.base))
    assert_close(km.weight, tm.weight, atol=1e-5)
    g = _rand(*shape, seed=9)
    (km.weight * kindling.tensor(g)).sum().backward()
    (tm.weight * torch.tensor(g)).sum().backward()
    tgrad = tm.parametrizations.weight.original.grad
    assert np.abs(tgrad.numpy()).max() > 1e-3
    assert_close(km.parametrizations.weight.original.grad, tgrad, atol=1e-4)


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4)])
def test_orthogonal_householder_without_trivialization(shape):
    km, tm = _orth_pair(*shape, orthogonal_map="householder", use_trivialization=False)
    assert not hasattr(km.parametrizations.weight[0], "base")
    assert_close(km.parametrizations.weight.original, tm.parametrizations.weight.original,
                 atol=1e-5)
    assert_close(km.weight, tm.weight, atol=1e-5)
    # assignment goes through right_inverse (geqrf) as well
    q = np.linalg.qr(_rand(max(shape), min(shape), seed=2))[0].astype(np.float32)
    q = q if shape[0] >= shape[1] else q.T
    km.weight = kindling.tensor(q)
    tm.weight = torch.tensor(q)
    assert_close(km.weight, tm.weight, atol=1e-5)
    assert_close(km.weight, q, atol=1e-5)


def test_orthogonal_assignment_and_errors():
    km, tm = _orth_pair(4, 4)
    q = np.linalg.qr(_rand(4, 4, seed=3))[0].astype(np.float32)
    km.weight = kindling.tensor(q)
    tm.weight = torch.tensor(q)
    assert_close(km.weight, q, atol=1e-5)
    assert_close(km.parametrizations.weight.original, tm.parametrizations.weight.original)
    # a non-orthogonal value is made orthogonal (QR with positive diag(R)), as torch
    a = _rand(4, 4, seed=4)
    km.weight = kindling.tensor(a)
    tm.weight = torch.tensor(a)
    assert_close(km.weight, tm.weight, atol=1e-5)
    km2, tm2 = _orth_pair(4, 4, use_trivialization=False)
    assert_close(km2.weight, tm2.weight, atol=1e-5)
    with pytest.raises(NotImplementedError, match="use_trivialization=False"):
        km2.weight = kindling.tensor(q)
    with pytest.raises(ValueError, match="Expected a matrix or batch of matrices"):
        parametrizations.orthogonal(nn.Linear(3, 3), name="bias")
    with pytest.raises(ValueError, match='orthogonal_map has to be one of'):
        parametrizations.orthogonal(nn.Linear(3, 3), orthogonal_map="svd")


# --- parametrize: more behaviour ----------------------------------------------------------------
def test_deepcopy_is_independent_and_pickling_is_refused():
    import pickle
    km = nn.Linear(3, 3)
    parametrize.register_parametrization(km, "weight", _symmetric(nn.Module))
    clone = copy.deepcopy(km)
    assert type(clone) is not type(km)  # a class of its own
    parametrize.remove_parametrizations(clone, "weight")
    assert type(clone) is nn.Linear and isinstance(type(km).__dict__["weight"], property)
    assert np.allclose(_np(km.weight), _np(km.weight).T)
    with pytest.raises(RuntimeError, match="state_dict"):
        pickle.dumps(km)


def test_transfer_parametrizations_and_params_matches_torch():
    km, tm = _linear_pair(3, 3)
    parametrize.register_parametrization(km, "weight", _symmetric(nn.Module))
    tP.register_parametrization(tm, "weight", _symmetric(torch.nn.Module))
    parametrize.register_parametrization(km, "weight", _scale(nn.Module, 2.0))
    tP.register_parametrization(tm, "weight", _scale(torch.nn.Module, 2.0))
    kdst, tdst = nn.Linear(3, 3), torch.nn.Linear(3, 3)
    assert parametrize.transfer_parametrizations_and_params(km, kdst) is kdst
    tP.transfer_parametrizations_and_params(tm, tdst)
    assert list(kdst.state_dict()) == list(tdst.state_dict())
    assert kdst.parametrizations.weight.original is km.parametrizations.weight.original
    assert list(kdst.parametrizations.weight) == list(km.parametrizations.weight)
    assert_close(kdst.weight, tdst.weight)
    # a name the target lacks is created; an unparametrized source changes nothing
    kdst2 = nn.Module()
    parametrize.transfer_parametrizations_and_params(km, kdst2, "weight")
    assert_close(kdst2.weight, km.weight)
    plain = nn.Linear(2, 2)
    assert parametrize.transfer_parametrizations_and_params(plain, kdst2) is kdst2


def test_sequence_right_inverse_on_a_buffer():
    class Split(nn.Module):
        def forward(self, A, B):
            return A + B

        def right_inverse(self, W):
            return W / 4, W * 3 / 4

    km = nn.BatchNorm1d(3)
    with kindling.no_grad():
        km.running_mean.copy_(kindling.tensor([1.0, 2.0, 3.0]))
    parametrize.register_parametrization(km, "running_mean", Split())
    chain = km.parametrizations.running_mean
    assert not chain.is_tensor and chain.ntensors == 2
    assert {"parametrizations.running_mean.original0", "parametrizations.running_mean.original1"} \
        <= set(dict(km.named_buffers()))
    assert_close(km.running_mean, np.array([1.0, 2.0, 3.0], np.float32))
    km.running_mean = kindling.tensor([4.0, 8.0, 4.0])
    assert_close(chain.original0, np.array([1.0, 2.0, 1.0], np.float32))
    parametrize.remove_parametrizations(km, "running_mean")
    assert "running_mean" in dict(km.named_buffers()) and type(km) is nn.BatchNorm1d
    assert_close(km.running_mean, np.array([4.0, 8.0, 4.0], np.float32))


def test_stacking_and_assignment_errors():
    class Shrink(nn.Module):
        def forward(self, X):
            return X[:1]

    class BadInverse(nn.Module):
        def forward(self, X):
            return X

        def right_inverse(self, X):
            return X.double()

    m = nn.Linear(3, 2)
    parametrize.register_parametrization(m, "weight", _scale(nn.Module, 2.0))
    with pytest.raises(ValueError, match="may not change the shape"):
        parametrize.register_parametrization(m, "weight", Shrink())
    with pytest.raises(ValueError, match="may not change the dtype"):
        parametrize.register_parametrization(m, "weight", BadInverse())
    assert len(m.parametrizations.weight) == 1
    parametrize.register_parametrization(m, "weight", BadInverse(), unsafe=True)
    assert m.parametrizations.weight.unsafe
    with pytest.raises(ValueError, match="dtype"):
        m.weight = kindling.zeros(2, 3)


def test_cached_values_are_per_tensor():
    km = nn.Linear(3, 3)
    parametrize.register_parametrization(km, "weight", _scale(nn.Module, 2.0))
    parametrize.register_parametrization(km, "bias", _scale(nn.Module, 2.0))
    other = nn.Linear(3, 3)
    parametrize.register_parametrization(other, "weight", _scale(nn.Module, 2.0))
    with parametrize.cached():
        assert km.weight is km.weight and km.bias is km.bias
        assert km.weight is not other.weight and km.weight.shape != km.bias.shape


def test_weight_norm_assignment_and_removal_match_torch():
    km, tm = _linear_pair(4, 3)
    parametrizations.weight_norm(km)
    tPs.weight_norm(tm)
    value = _rand(3, 4, seed=11)
    km.weight = kindling.tensor(value)
    tm.weight = torch.tensor(value)
    assert_close(km.parametrizations.weight.original0, tm.parametrizations.weight.original0,
                 atol=1e-6)
    assert_close(km.weight, value, atol=1e-6)
    parametrize.remove_parametrizations(km, "weight")
    assert type(km) is nn.Linear and isinstance(km.weight, nn.Parameter)
    assert_close(km.weight, value, atol=1e-6)


@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley", "householder"])
@pytest.mark.parametrize("shape", [(2, 5, 3), (2, 3, 5), (2, 4, 4)])
def test_orthogonal_batched(orthogonal_map, shape):
    km = nn.Module()
    km.weight = nn.Parameter(kindling.tensor(_rand(*shape, seed=12)))
    parametrizations.orthogonal(km, orthogonal_map=orthogonal_map)
    w = _np(km.weight)
    gram = w @ np.swapaxes(w, -1, -2) if shape[-2] <= shape[-1] else np.swapaxes(w, -1, -2) @ w
    assert np.abs(gram - np.eye(min(shape[-2:]))).max() < 1e-5
    km.weight.sum().backward()
    assert km.parametrizations.weight.original.grad.shape == shape


@pytest.mark.parametrize("shape", [(2, 5, 3), (2, 3, 5)])
def test_orthogonal_householder_batched_without_trivialization_matches_torch(shape):
    km, tm = nn.Module(), torch.nn.Module()
    x = _rand(*shape, seed=13)
    km.weight = nn.Parameter(kindling.tensor(x))
    tm.weight = torch.nn.Parameter(torch.tensor(x))
    parametrizations.orthogonal(km, orthogonal_map="householder", use_trivialization=False)
    tPs.orthogonal(tm, orthogonal_map="householder", use_trivialization=False)
    assert_close(km.parametrizations.weight.original, tm.parametrizations.weight.original,
                 atol=1e-5)
    assert_close(km.weight, tm.weight, atol=1e-5)


def test_spectral_norm_one_dim_and_conv_transpose3d():
    km = nn.Module()
    km.weight = nn.Parameter(kindling.tensor([3.0, 4.0]))
    parametrizations.spectral_norm(km)
    assert_close(km.weight, np.array([0.6, 0.8], np.float32))
    k3 = parametrizations.spectral_norm(nn.ConvTranspose3d(2, 3, 2))
    t3 = tPs.spectral_norm(torch.nn.ConvTranspose3d(2, 3, 2))
    assert k3.parametrizations.weight[0].dim == t3.parametrizations.weight[0].dim == 1
    assert list(k3.state_dict()) == list(t3.state_dict())


# --- fusion ---------------------------------------------------------------------------------------
def _trained_bn(tbn, shape):
    tbn.train()
    for s in range(3):
        tbn(torch.tensor(_rand(*shape, seed=s) * 2 + 1))
    with torch.no_grad():
        if tbn.weight is not None:
            tbn.weight.uniform_(0.5, 1.5)
            tbn.bias.uniform_(-1, 1)
    return tbn.eval()


@pytest.mark.parametrize("conv,cargs,bn,shape,transpose,bias,affine", [
    ("Conv2d", (3, 4, 3), "BatchNorm2d", (2, 3, 6, 6), False, True, True),
    ("Conv2d", (3, 4, 3), "BatchNorm2d", (2, 3, 6, 6), False, False, False),
    ("Conv1d", (3, 5, 2), "BatchNorm1d", (2, 3, 7), False, True, True),
    ("ConvTranspose2d", (3, 4, 3), "BatchNorm2d", (2, 3, 4, 4), True, True, True),
    ("ConvTranspose1d", (4, 6, 3), "BatchNorm1d", (2, 4, 5), True, False, True),
])
def test_fuse_conv_bn_eval(conv, cargs, bn, shape, transpose, bias, affine):
    tconv = getattr(torch.nn, conv)(*cargs, bias=bias).eval()
    out_channels = cargs[1]
    out_shape = tconv(torch.zeros(shape)).shape
    tbn = _trained_bn(getattr(torch.nn, bn)(out_channels, affine=affine), out_shape)
    kconv = getattr(nn, conv)(*cargs, bias=bias).eval()
    kbn = getattr(nn, bn)(out_channels, affine=affine).eval()
    _copy_state(kconv, tconv)
    _copy_state(kbn, tbn)
    kf = nn.utils.fuse_conv_bn_eval(kconv, kbn, transpose=transpose)
    tf = torch.nn.utils.fuse_conv_bn_eval(tconv, tbn, transpose=transpose)
    assert type(kf) is type(kconv) and kf is not kconv
    assert kconv.bias is None or kconv.bias is not kf.bias  # the original is not changed
    assert_close(kf.weight, tf.weight, atol=1e-6)
    assert_close(kf.bias, tf.bias, atol=1e-6)
    assert kf.bias.requires_grad == tf.bias.requires_grad
    x = kindling.tensor(_rand(*shape, seed=10))
    assert_close(kf(x), kbn(kconv(x)), atol=1e-5)


@pytest.mark.parametrize("bias", [True, False])
def test_fuse_linear_bn_eval(bias):
    tlin = torch.nn.Linear(5, 4, bias=bias).eval()
    tbn = _trained_bn(torch.nn.BatchNorm1d(4), (6, 4))
    klin, kbn = nn.Linear(5, 4, bias=bias).eval(), nn.BatchNorm1d(4).eval()
    _copy_state(klin, tlin)
    _copy_state(kbn, tbn)
    kf = nn.utils.fuse_linear_bn_eval(klin, kbn)
    tf = torch.nn.utils.fuse_linear_bn_eval(tlin, tbn)
    assert_close(kf.weight, tf.weight, atol=1e-6)
    assert_close(kf.bias, tf.bias, atol=1e-6)
    x = kindling.tensor(_rand(3, 5, seed=11))
    assert_close(kf(x), kbn(klin(x)), atol=1e-5)
    # the weights form, directly
    w, b = nn.utils.fuse_linear_bn_weights(klin.weight, klin.bias, kbn.running_mean,
                                           kbn.running_var, kbn.eps, kbn.weight, kbn.bias)
    assert isinstance(w, nn.Parameter) and w.is_leaf
    assert_close(w, tf.weight, atol=1e-6)


def test_fusion_errors():
    with pytest.raises(AssertionError, match="Fusion only for eval"):
        nn.utils.fuse_conv_bn_eval(nn.Conv2d(2, 2, 1), nn.BatchNorm2d(2).eval())
    with pytest.raises(AssertionError, match="Fusion only for eval"):
        nn.utils.fuse_linear_bn_eval(nn.Linear(2, 2).eval(), nn.BatchNorm1d(2))
    with pytest.raises(AssertionError, match="linear.out_features == bn.num_features"):
        nn.utils.fuse_linear_bn_eval(nn.Linear(2, 3).eval(), nn.BatchNorm1d(2).eval())
    with pytest.raises(AssertionError, match="running_mean"):
        nn.utils.fuse_conv_bn_eval(nn.Conv2d(2, 2, 1).eval(),
                                   nn.BatchNorm2d(2, track_running_stats=False).eval())


def test_fuse_conv_bn_weights_keeps_dtype():
    conv = nn.Conv2d(2, 3, 1).double()
    bn = nn.BatchNorm2d(3)
    w, b = nn.utils.fuse_conv_bn_weights(conv.weight, None, bn.running_mean, bn.running_var,
                                         bn.eps, None, None)
    assert w.dtype == kindling.float64 and b.dtype == kindling.float64
    assert not b.requires_grad  # as torch: the bias had none, so zeros that need no grad
    assert_close(w, _np(conv.weight) / np.sqrt(1 + 1e-5))


# --- skip_init ------------------------------------------------------------------------------------
def test_skip_init():
    kindling.manual_seed(5)
    expected = kindling.rand(4)
    kindling.manual_seed(5)
    m = nn.utils.skip_init(nn.Linear, 10, 3, bias=False)
    assert type(m) is nn.Linear and m.weight.shape == (3, 10) and m.bias is None
    assert m.weight.requires_grad
    # no initialization ran: the random stream is where it was
    assert np.array_equal(kindling.rand(4).numpy(), expected.numpy())
    # and initialization works again afterwards
    kindling.manual_seed(5)
    a = nn.Linear(10, 3).weight
    kindling.manual_seed(5)
    b = nn.Linear(10, 3).weight
    assert np.array_equal(_np(a), _np(b)) and np.abs(_np(a)).max() > 0
    with pytest.raises(RuntimeError, match="Expected a Module"):
        nn.utils.skip_init(int)
    with pytest.raises(RuntimeError, match="must support a 'device' arg"):
        nn.utils.skip_init(nn.ReLU)
    torch.nn.utils.skip_init(torch.nn.Linear, 2, 2)  # the same call works in torch


def test_import_paths():
    import kindling.nn  # noqa: F401
    assert kindling.nn.utils.parametrize.register_parametrization is \
        parametrize.register_parametrization
    assert kindling.nn.utils.parametrizations.orthogonal is parametrizations.orthogonal
    assert kindling.nn.utils.fusion.fuse_conv_bn_eval is nn.utils.fuse_conv_bn_eval
    assert kindling.nn.modules.lazy.LazyModuleMixin is nn.modules.lazy.LazyModuleMixin
    for name in ["UninitializedParameter", "UninitializedBuffer", "LazyLinear", "LazyConv1d",
                 "LazyConv2d", "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyBatchNorm1d",
                 "LazyBatchNorm2d", "LazyInstanceNorm1d", "LazyInstanceNorm2d"]:
        assert hasattr(nn, name) and hasattr(torch.nn, name)
