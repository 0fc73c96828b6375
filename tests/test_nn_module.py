"""Module semantics vs PyTorch: registration, naming, state_dict, modes, hooks, repr."""
from collections import OrderedDict

import numpy as np
import pytest
import torch

import kindling
import kindling.nn as nn
from oracle import assert_close


def copy_to_torch(k_module, t_module):
    t_module.load_state_dict({k: torch.tensor(v.numpy().copy())
                              for k, v in k_module.state_dict().items()})


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 3)
        self.act = nn.ReLU()
        self.block = nn.Sequential(nn.Linear(3, 3), nn.Tanh())
        self.register_buffer("steps", kindling.zeros(1))
        self.register_buffer("scratch", kindling.ones(2), persistent=False)
        self.scale = nn.Parameter(kindling.ones(1))

    def forward(self, x):
        return self.block(self.act(self.fc1(x))) * self.scale


class TNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(4, 3)
        self.act = torch.nn.ReLU()
        self.block = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Tanh())
        self.register_buffer("steps", torch.zeros(1))
        self.register_buffer("scratch", torch.ones(2), persistent=False)
        self.scale = torch.nn.Parameter(torch.ones(1))

    def forward(self, x):
        return self.block(self.act(self.fc1(x))) * self.scale


# --- Parameter ----------------------------------------------------------------------------------
def test_parameter_basics():
    data = kindling.tensor([1.0, 2.0])
    p = nn.Parameter(data)
    assert isinstance(p, kindling.Tensor) and p.is_leaf and p.requires_grad
    assert np.shares_memory(p.numpy(force=True), data.numpy())
    assert repr(p) == repr(torch.nn.Parameter(torch.tensor([1.0, 2.0])))
    assert not nn.Parameter(data, requires_grad=False).requires_grad
    assert nn.Parameter().shape == (0,)
    assert type(p * 2) is kindling.Tensor


# --- registration -------------------------------------------------------------------------------
def test_init_must_be_called_first():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(kindling.zeros(1))

    with pytest.raises(AttributeError, match=r"cannot assign parameters before Module.__init__"):
        Bad()

    class Bad2(nn.Module):
        def __init__(self):
            self.l = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match="cannot assign module before Module.__init__"):
        Bad2()
    with pytest.raises(AttributeError, match="cannot assign parameter before Module.__init__"):
        nn.Module.__new__(nn.Module).register_parameter("w", None)


def test_setattr_routing():
    m = nn.Module()
    m.w = nn.Parameter(kindling.zeros(2))
    m.sub = nn.Linear(2, 2)
    m.register_buffer("b", kindling.zeros(3))
    m.plain = 5
    assert list(m._parameters) == ["w"] and list(m._modules) == ["sub"]
    assert list(m._buffers) == ["b"] and m.plain == 5 and "plain" in m.__dict__
    with pytest.raises(TypeError, match=r"cannot assign 'torch.FloatTensor' as parameter 'w' "
                                        r"\(torch.nn.Parameter or None expected\)"):
        m.w = kindling.zeros(2)
    m.w = None
    assert m.w is None and "w" in m._parameters
    assert list(m.parameters()) == list(m.sub.parameters())
    with pytest.raises(TypeError, match="cannot assign 'int' as child module 'sub'"):
        m.sub = 3
    m.b = kindling.ones(3)  # a tensor assigned to a buffer name replaces the buffer
    assert m._buffers["b"].numpy().sum() == 3
    with pytest.raises(TypeError, match="cannot assign 'int' as buffer 'b'"):
        m.b = 1
    with pytest.raises(KeyError, match="attribute 'plain' already exists"):
        m.register_buffer("plain", kindling.zeros(1))
    with pytest.raises(KeyError, match=r'contain "\."'):
        m.register_parameter("a.b", None)
    with pytest.raises(TypeError, match="cannot assign 'torch.FloatTensor' object to parameter"):
        m.register_parameter("q", kindling.zeros(1))
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'nope'"):
        m.nope
    # a Parameter replaces a plain attribute of the same name
    m.plain = nn.Parameter(kindling.zeros(1))
    assert "plain" not in m.__dict__ and "plain" in m._parameters
    del m.plain
    assert "plain" not in m._parameters
    del m.sub
    assert "sub" not in m._modules
    nn.Module.register_buffer(m, "none_buf", None)
    assert m.none_buf is None and "none_buf" not in m.state_dict()
    assert "b" in dir(m) and "w" in dir(m)


def test_buffer_class():
    m = nn.Module()
    m.running = nn.Buffer(kindling.zeros(2))
    m.tmp = nn.Buffer(kindling.ones(2), persistent=False)
    assert list(m.state_dict()) == ["running"]
    assert [n for n, _ in m.named_buffers()] == ["running", "tmp"]


def test_named_order_prefixes_and_dedup():
    k, t = Net(), TNet()
    assert [n for n, _ in k.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in k.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in k.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in k.named_children()] == [n for n, _ in t.named_children()]
    assert [n for n, _ in k.named_parameters(prefix="model")] == \
        [n for n, _ in t.named_parameters(prefix="model")]
    assert [n for n, _ in k.named_parameters(recurse=False)] == ["scale"]
    assert [n for n, _ in k.named_modules(prefix="m")] == \
        [n for n, _ in t.named_modules(prefix="m")]
    assert len(list(k.modules())) == len(list(t.modules()))

    # shared parameters and modules appear once
    shared = nn.Linear(2, 2)
    k2 = nn.Sequential(shared, nn.ReLU(), shared)
    t_shared = torch.nn.Linear(2, 2)
    t2 = torch.nn.Sequential(t_shared, torch.nn.ReLU(), t_shared)
    assert [n for n, _ in k2.named_parameters()] == [n for n, _ in t2.named_parameters()]
    assert [n for n, _ in k2.named_parameters(remove_duplicate=False)] == \
        [n for n, _ in t2.named_parameters(remove_duplicate=False)]
    assert [n for n, _ in k2.named_modules()] == [n for n, _ in t2.named_modules()]
    assert len(list(k2.parameters())) == 2
    lin = nn.Linear(2, 2)
    lin.weight2 = lin.weight  # one Parameter under two names
    assert [n for n, _ in lin.named_parameters()] == ["weight", "bias"]
    assert list(k2.state_dict()) == list(t2.state_dict())  # state_dict keeps both copies


def test_get_submodule_parameter_buffer():
    k = Net()
    assert k.get_submodule("block.0") is k.block[0]
    assert k.get_submodule("") is k
    assert k.get_parameter("block.0.weight") is k.block[0].weight
    assert k.get_parameter("scale") is k.scale
    assert k.get_buffer("steps") is k.steps
    with pytest.raises(AttributeError, match="Sequential has no attribute `7`"):
        k.get_submodule("block.7")
    with pytest.raises(AttributeError, match="`act` is not an nn.Parameter"):
        k.get_parameter("act")
    with pytest.raises(AttributeError, match="`steps` is not an nn.Module"):
        k.get_submodule("steps")


# --- state_dict -----------------------------------------------------------------------------------
def test_state_dict_round_trip():
    k, t = Net(), TNet()
    sd = k.state_dict()
    assert isinstance(sd, OrderedDict)
    assert list(sd) == list(t.state_dict())
    assert "scratch" not in sd
    assert not sd["fc1.weight"].requires_grad and type(sd["fc1.weight"]) is kindling.Tensor
    assert np.shares_memory(sd["fc1.weight"].numpy(), k.fc1.weight.numpy(force=True))
    assert k.state_dict(keep_vars=True)["fc1.weight"] is k.fc1.weight
    assert list(k.state_dict(prefix="p.")) == ["p." + n for n in sd]

    copy_to_torch(k, t)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    assert_close(k(kindling.tensor(x)), t(torch.tensor(x)))

    # load a torch state dict of numpy arrays into a fresh kindling model
    k2 = Net()
    result = k2.load_state_dict({n: v.detach().numpy() for n, v in t.state_dict().items()})
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    assert_close(k2(kindling.tensor(x)), t(torch.tensor(x)))
    # float64 arrays are cast to the parameter dtype, and the Parameter object is kept
    w = k2.fc1.weight
    k2.load_state_dict({n: v.detach().numpy().astype(np.float64)
                        for n, v in t.state_dict().items()})
    assert k2.fc1.weight is w and w.dtype == kindling.float32


def test_load_state_dict_errors_match_torch():
    k, t = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    bad = {"weight": np.zeros((2, 3), np.float32), "extra": np.zeros(1, np.float32)}
    with pytest.raises(RuntimeError) as ek:
        k.load_state_dict(bad)
    with pytest.raises(RuntimeError) as et:
        t.load_state_dict({n: torch.tensor(v) for n, v in bad.items()})
    assert str(ek.value) == str(et.value)
    assert 'Missing key(s) in state_dict: "bias"' in str(ek.value)

    bad = {"weight": np.zeros((3, 3), np.float32), "bias": np.zeros(2, np.float32)}
    with pytest.raises(RuntimeError) as ek:
        k.load_state_dict(bad)
    with pytest.raises(RuntimeError) as et:
        t.load_state_dict({n: torch.tensor(v) for n, v in bad.items()})
    assert str(ek.value) == str(et.value)
    assert "size mismatch for weight: copying a param with shape torch.Size([3, 3])" in \
        str(ek.value)

    # nested: exact lists of missing and unexpected keys, strict=False returns them
    kn, tn = Net(), TNet()
    sd = {n: v.numpy() for n, v in kn.state_dict().items()}
    del sd["block.0.bias"]
    sd["block.5.weight"] = np.zeros(1, np.float32)
    sd["fc1.gamma"] = np.zeros(1, np.float32)
    rk = kn.load_state_dict(sd, strict=False)
    rt = tn.load_state_dict({n: torch.tensor(v) for n, v in sd.items()}, strict=False)
    assert rk.missing_keys == rt.missing_keys == ["block.0.bias"]
    assert rk.unexpected_keys == rt.unexpected_keys
    assert repr(rk) == repr(rt)
    with pytest.raises(RuntimeError) as ek:
        kn.load_state_dict(sd)
    with pytest.raises(RuntimeError) as et:
        tn.load_state_dict({n: torch.tensor(v) for n, v in sd.items()})
    assert str(ek.value) == str(et.value).replace("TNet", "Net")


def test_load_state_dict_assign():
    k = nn.Linear(2, 2)
    new_w = kindling.ones(2, 2)
    k.load_state_dict({"weight": new_w, "bias": kindling.zeros(2)}, assign=True)
    assert isinstance(k.weight, nn.Parameter) and k.weight.requires_grad
    assert np.shares_memory(k.weight.numpy(force=True), new_w.numpy())


# --- modes, grads, apply, dtype -----------------------------------------------------------------
def test_train_eval_propagate():
    k = Net()
    assert all(m.training for m in k.modules())
    assert k.eval() is k
    assert not any(m.training for m in k.modules())
    k.block.train()
    assert k.block[1].training and not k.training
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        k.train(1)


def test_zero_grad_and_requires_grad():
    k = Net()
    k(kindling.randn(2, 4)).sum().backward()
    assert all(p.grad is not None for p in k.parameters())
    k.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in k.parameters())
    k.zero_grad()
    assert all(p.grad is None for p in k.parameters())
    k.requires_grad_(False)
    assert not any(p.requires_grad for p in k.parameters())


def test_apply_order():
    k, t = Net(), TNet()
    seen_k, seen_t = [], []
    assert k.apply(lambda m: seen_k.append(type(m).__name__)) is k
    t.apply(lambda m: seen_t.append(type(m).__name__.replace("TNet", "Net")))
    assert seen_k == seen_t

    def init_weights(m):
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.weight)
    k.apply(init_weights)
    assert not k.fc1.weight.numpy(force=True).any()


def test_to_dtype_keeps_parameter_identity():
    k = Net()
    w = k.fc1.weight
    k(kindling.randn(2, 4)).sum().backward()
    assert k.to(kindling.float64) is k
    assert k.fc1.weight is w and w.dtype == kindling.float64 and w.grad.dtype == kindling.float64
    assert k.steps.dtype == kindling.float64
    k.register_buffer("count", kindling.zeros(1, dtype=kindling.int64))
    k.float()
    assert w.dtype == kindling.float32 and k.count.dtype == kindling.int64
    k.half()
    assert w.dtype == kindling.float16
    k.to("cpu", dtype=kindling.float32)
    assert w.dtype == kindling.float32
    assert k.cpu() is k
    k.double()
    out = k(kindling.randn(2, 4, dtype=kindling.float64))
    assert out.dtype == kindling.float64
    with pytest.raises(RuntimeError, match="CPU only"):
        k.cuda()
    with pytest.raises(TypeError, match="only accepts floating point"):
        k.to(kindling.int64)


# --- hooks ----------------------------------------------------------------------------------------
def test_forward_hooks():
    lin = nn.Linear(3, 2)
    calls = []

    def pre(module, args):
        calls.append(("pre", module, len(args)))
        return (args[0] * 2,)

    def post(module, args, output):
        calls.append(("post", module, args[0].shape))
        return output + 1

    h1 = lin.register_forward_pre_hook(pre)
    h2 = lin.register_forward_hook(post)
    x = kindling.randn(4, 3)
    expected = nn.functional.linear(x * 2, lin.weight, lin.bias) + 1
    assert_close(lin(x), expected.detach().numpy())
    assert calls == [("pre", lin, 1), ("post", lin, (4, 3))]
    h1.remove()
    h2.remove()
    calls.clear()
    assert_close(lin(x), nn.functional.linear(x, lin.weight, lin.bias).detach().numpy())
    assert calls == []

    # kwargs forms
    def pre_kw(module, args, kwargs):
        return args, {"scale": 3.0}

    class Scaled(nn.Module):
        def forward(self, x, scale=1.0):
            return x * scale

    s = Scaled()
    seen = []
    s.register_forward_pre_hook(pre_kw, with_kwargs=True)
    s.register_forward_hook(lambda m, a, kw, out: seen.append(kw), with_kwargs=True)
    assert_close(s(kindling.ones(2)), np.full(2, 3.0, np.float32))
    assert seen == [{"scale": 3.0}]

    # prepend and handle as context manager
    order = []
    with lin.register_forward_hook(lambda m, a, o: order.append(1)):
        lin.register_forward_hook(lambda m, a, o: order.append(0), prepend=True)
        lin(x)
    assert order == [0, 1]
    order.clear()
    lin(x)
    assert order == [0]


def test_full_backward_hook_matches_torch():
    k, t = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    copy_to_torch(k, t)
    got = {}

    def record(store):
        def hook(module, grad_input, grad_output):
            store["in"] = grad_input
            store["out"] = grad_output
        return hook

    want = {}
    hk = k.register_full_backward_hook(record(got))
    t.register_full_backward_hook(record(want))
    x = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
    w = np.random.default_rng(2).standard_normal((4, 2)).astype(np.float32)
    xk, xt = kindling.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (k(xk) * kindling.tensor(w)).sum().backward()
    (t(xt) * torch.tensor(w)).sum().backward()
    assert len(got["in"]) == len(want["in"]) == 1
    assert_close(got["in"][0], want["in"][0])
    assert_close(got["out"][0], want["out"][0])
    assert_close(xk.grad, xt.grad)
    assert_close(k.weight.grad, t.weight.grad)

    # a hook can replace grad_input
    hk.remove()
    k.register_full_backward_hook(lambda m, gi, go: (gi[0] * 0,))
    xk = kindling.tensor(x, requires_grad=True)
    k(xk).sum().backward()
    assert not xk.grad.numpy().any()

    # input that does not require grad: grad_input is (None,), hook still runs
    k2, t2 = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    got2, want2 = {}, {}
    k2.register_full_backward_hook(record(got2))
    t2.register_full_backward_hook(record(want2))
    k2(kindling.tensor(x)).sum().backward()
    t2(torch.tensor(x)).sum().backward()
    assert got2["in"] == (None,) and want2["in"] == (None,)
    assert_close(got2["out"][0], want2["out"][0])


def test_full_backward_pre_hook():
    k = nn.Linear(3, 2)
    seen = []

    def pre(module, grad_output):
        seen.append(grad_output[0].shape)
        return (grad_output[0] * 2,)

    k.register_full_backward_pre_hook(pre)
    x = kindling.randn(4, 3, requires_grad=True)
    k(x).sum().backward()
    assert seen == [(4, 2)]
    # grad doubled: dL/dx = 2 * ones(4,2) @ W
    expected = 2 * np.ones((4, 2), np.float32) @ k.weight.detach().numpy()
    assert_close(x.grad, expected)


def test_backward_hook_on_module_with_tuple_output():
    class Two(nn.Module):
        def forward(self, a, b, flag=True):
            return a * 2, b * 3

    class TTwo(torch.nn.Module):
        def forward(self, a, b, flag=True):
            return a * 2, b * 3

    gk, gt = {}, {}
    mk, mt = Two(), TTwo()
    mk.register_full_backward_hook(lambda m, gi, go: gk.update(gi=gi, go=go))
    mt.register_full_backward_hook(lambda m, gi, go: gt.update(gi=gi, go=go))
    ak, bk = kindling.ones(2, requires_grad=True), kindling.ones(2)
    at, bt = torch.ones(2, requires_grad=True), torch.ones(2)
    ok = mk(ak, bk, 7)
    ot = mt(at, bt, 7)
    (ok[0].sum() + ok[1].sum()).backward()
    (ot[0].sum() + ot[1].sum()).backward()
    # PyTorch: zeros for a tensor input not requiring grad, None for a non-tensor input;
    # None for an output that does not require grad
    assert len(gk["gi"]) == len(gt["gi"]) == 3 and gk["gi"][2] is None and gt["gi"][2] is None
    assert_close(gk["gi"][:2], gt["gi"][:2])
    assert len(gk["go"]) == len(gt["go"]) and gk["go"][1] is None and gt["go"][1] is None
    assert_close(gk["go"][0], gt["go"][0])


# --- repr -----------------------------------------------------------------------------------------
def test_repr_matches_torch():
    k = nn.Sequential(
        nn.Linear(2, 3), nn.ReLU(), nn.Dropout(0.1),
        nn.Sequential(nn.Linear(3, 3, bias=False), nn.LeakyReLU(0.2, inplace=True)),
        nn.ModuleList([nn.Tanh(), nn.Tanh(), nn.GELU("tanh")]),
        nn.ModuleDict({"a": nn.Softmax(dim=1), "b": nn.Identity()}),
        nn.Flatten(), nn.Hardtanh(-2.0, 2.0), nn.ELU(alpha=0.5), nn.Softplus(beta=2.0))
    t = torch.nn.Sequential(
        torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Dropout(0.1),
        torch.nn.Sequential(torch.nn.Linear(3, 3, bias=False),
                            torch.nn.LeakyReLU(0.2, inplace=True)),
        torch.nn.ModuleList([torch.nn.Tanh(), torch.nn.Tanh(), torch.nn.GELU("tanh")]),
        torch.nn.ModuleDict({"a": torch.nn.Softmax(dim=1), "b": torch.nn.Identity()}),
        torch.nn.Flatten(), torch.nn.Hardtanh(-2.0, 2.0), torch.nn.ELU(alpha=0.5),
        torch.nn.Softplus(beta=2.0))
    assert repr(k) == repr(t)
    assert repr(Net()) == repr(TNet()).replace("TNet", "Net")
    assert repr(nn.ModuleList()) == repr(torch.nn.ModuleList())

    class Custom(nn.Module):
        def extra_repr(self):
            return "a=1\nb=2"

    class TCustom(torch.nn.Module):
        def extra_repr(self):
            return "a=1\nb=2"

    ck, ct = Custom(), TCustom()
    ck.inner = nn.Linear(1, 1)
    ct.inner = torch.nn.Linear(1, 1)
    assert repr(ck) == repr(ct).replace("TCustom", "Custom")


def test_missing_forward():
    with pytest.raises(NotImplementedError, match='missing the required "forward" function'):
        nn.Module()(1)


def test_init_rejects_arguments():
    with pytest.raises(TypeError, match="unexpected keyword argument 'x'"):
        nn.Module(x=1)


def test_deepcopy_module():
    import copy
    k = Net()
    k2 = copy.deepcopy(k)
    assert k2.fc1.weight is not k.fc1.weight
    assert isinstance(k2.fc1.weight, nn.Parameter)
    np.testing.assert_array_equal(k2.fc1.weight.numpy(force=True), k.fc1.weight.numpy(force=True))
    x = kindling.randn(2, 4)
    assert_close(k2(x), k(x).detach().numpy())


def test_state_dict_hooks_and_override():
    class Upgrading(nn.Linear):
        """Old checkpoints called the weight 'w': rename on load."""

        def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict,
                                  missing_keys, unexpected_keys, error_msgs):
            if prefix + "w" in state_dict:
                state_dict[prefix + "weight"] = state_dict.pop(prefix + "w")
            super()._load_from_state_dict(state_dict, prefix, local_metadata, strict,
                                          missing_keys, unexpected_keys, error_msgs)

    m = nn.Sequential(Upgrading(2, 2))
    m.load_state_dict({"0.w": np.ones((2, 2), np.float32), "0.bias": np.zeros(2, np.float32)})
    assert np.all(m[0].weight.numpy(force=True) == 1)
    seen = []
    h = m.register_load_state_dict_pre_hook(lambda mod, sd, prefix, *rest: seen.append(mod))
    m.register_load_state_dict_post_hook(lambda mod, keys: seen.append(keys.missing_keys))
    m.register_state_dict_post_hook(lambda mod, sd, prefix, meta: seen.append(len(sd)))
    m.load_state_dict(m.state_dict())
    assert seen == [2, m, []]
    h.remove()


def test_always_call_forward_hook():
    class Boom(nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    m = Boom()
    seen = []
    m.register_forward_hook(lambda mod, args, out: seen.append(out), always_call=True)
    m.register_forward_hook(lambda mod, args, out: seen.append("not called"))
    with pytest.raises(ValueError, match="boom"):
        m(kindling.zeros(1))
    assert seen == [None]


def test_global_module_hooks():
    from kindling.nn.modules.module import (register_module_forward_hook,
                                            register_module_forward_pre_hook,
                                            register_module_full_backward_hook)
    seen = []
    h1 = register_module_forward_pre_hook(lambda m, a: seen.append(("pre", type(m).__name__)))
    h2 = register_module_forward_hook(lambda m, a, o: seen.append(("post", type(m).__name__)))
    h3 = register_module_full_backward_hook(
        lambda m, gi, go: seen.append(("bw", type(m).__name__)))
    try:
        model = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
        model(kindling.randn(3, 2, requires_grad=True)).sum().backward()
    finally:
        h1.remove()
        h2.remove()
        h3.remove()
    assert seen == [("pre", "Sequential"), ("pre", "Linear"), ("post", "Linear"),
                    ("pre", "ReLU"), ("post", "ReLU"), ("post", "Sequential"),
                    ("bw", "ReLU"), ("bw", "Linear"), ("bw", "Sequential")]  # as torch
    seen.clear()
    model(kindling.randn(3, 2))
    assert seen == []
