"""torch.func (grad, grad_and_value, vjp, jvp, jacrev, jacfwd, hessian, vmap, functional_call,
stack_module_state) and torch.nn.utils.stateless, against torch.func on the same functions."""
import numpy as np
import pytest
import torch
import torch.func as TF

import kindling
import kindling.func as KF
from kindling import nn
from oracle import assert_close

RNG = np.random.default_rng(1)


def arrays(*shapes):
    return [RNG.standard_normal(s) for s in shapes]


def both(*arrs, requires_grad=False):
    return (tuple(kindling.tensor(a.copy(), requires_grad=requires_grad) for a in arrs),
            tuple(torch.tensor(a.copy(), requires_grad=requires_grad) for a in arrs))


def _lists(tree):
    """Dicts as lists of their values in key order (oracle.assert_close compares sequences)."""
    if isinstance(tree, dict):
        return [_lists(tree[k]) for k in sorted(tree)]
    if isinstance(tree, (tuple, list)):
        return type(tree)(_lists(x) for x in tree)
    return tree


def run(transform, make_fn, ins, *t_args, **kwargs):
    """transform(make_fn(lib), **kwargs)(*inputs) on both libraries, compared."""
    ks, ts = ins
    out_k = getattr(KF, transform)(make_fn(kindling), **kwargs)(*ks)
    out_t = getattr(TF, transform)(make_fn(torch), **kwargs)(*ts)
    assert_close(_lists(out_k), _lists(out_t), rtol=1e-10, atol=1e-12, what=transform)
    return out_k, out_t


def sin_sum(lib):
    return lambda x: x.sin().sum()


def bilinear(lib):
    return lambda x, y: (x * y.cos()).sum() + (x ** 2).sum() * y.sum()


def vector_fn(lib):
    return lambda x, y: (x.exp() * y, (x * y).sum())


# --- grad / grad_and_value ------------------------------------------------------------------

def test_grad_single_argument():
    run("grad", sin_sum, both(*arrays((3, 2))))


@pytest.mark.parametrize("argnums", [0, 1, (0, 1), (1, 0), -1])
def test_grad_argnums(argnums):
    out_k, _ = run("grad", bilinear, both(*arrays((3,), (3,))), argnums=argnums)
    assert isinstance(out_k, tuple) == isinstance(argnums, tuple)


def test_grad_has_aux_and_grad_and_value():
    def make(lib):
        return lambda x: ((x ** 3).sum(), {"double": x * 2, "neg": -x})
    run("grad", make, both(*arrays((4,))), has_aux=True)
    out_k, _ = run("grad_and_value", make, both(*arrays((4,))), has_aux=True)
    grad_k, (value_k, aux_k) = out_k
    assert not aux_k["neg"].requires_grad and not value_k.requires_grad and not aux_k["double"].requires_grad
    run("grad_and_value", sin_sum, both(*arrays((4,))))


def test_grad_of_a_dict_of_tensors():
    def make(lib):
        return lambda p, x: ((x @ p["w"] + p["b"]).tanh() ** 2).sum()
    w, b, x = arrays((3, 2), (2,), (5, 3))
    (kw, kb, kx), (tw, tb, tx) = both(w, b, x)
    out_k = KF.grad(make(kindling))({"w": kw, "b": kb}, kx)
    out_t = TF.grad(make(torch))({"w": tw, "b": tb}, tx)
    assert set(out_k) == {"w", "b"}
    assert_close([out_k["w"], out_k["b"]], [out_t["w"], out_t["b"]], rtol=1e-10, atol=1e-12)


def test_nested_grad_and_perturbation_confusion():
    x_k, x_t = both(np.array(0.7))
    for lib, F, x in ((kindling, KF, x_k[0]), (torch, TF, x_t[0])):
        third = F.grad(F.grad(F.grad(lambda x: x.sin() * x)))(x)
        # d/dx [d/dy (x * y)] at y = x is 1, not 2: the inner variable is not the outer one
        mixed = F.grad(lambda x: F.grad(lambda y: x * y)(x))(x)
        if lib is kindling:
            res_k = (third, mixed)
        else:
            res_t = (third, mixed)
    assert_close(res_k, res_t, rtol=1e-10, atol=1e-12)
    assert float(res_k[1]) == 1.0


def test_grad_result_is_detached_unless_the_input_requires_grad():
    x = kindling.tensor([1.0, 2.0])
    assert not KF.grad(lambda x: (x * x).sum())(x).requires_grad
    xa = arrays((3,))[0]
    results = []
    for lib, F in ((kindling, KF), (torch, TF)):
        x = lib.tensor(xa.copy(), requires_grad=True)
        g = F.grad(lambda x: (x.sin() * x).sum())(x)
        assert g.requires_grad
        g.sum().backward()  # differentiate the gradient with plain autograd
        results.append((g, x.grad))
    assert_close(results[0], results[1], rtol=1e-10, atol=1e-12)


def test_grad_through_a_closure_tensor_that_requires_grad():
    wa, xa = arrays((3,), (3,))
    results = []
    for lib, F in ((kindling, KF), (torch, TF)):
        w = lib.tensor(wa.copy(), requires_grad=True)
        g = F.grad(lambda x: (w * x.sin()).sum())(lib.tensor(xa.copy()))
        (g ** 2).sum().backward()
        results.append((g, w.grad))
    assert_close(results[0], results[1], rtol=1e-10, atol=1e-12)


def test_grad_errors_match_torch():
    x_k, x_t = kindling.ones(2), torch.ones(2)
    for F, x in ((KF, x_k), (TF, x_t)):
        with pytest.raises(RuntimeError, match="Expected f\\(\\*args\\) to return a scalar Tensor, "
                                               "got tensor with 1 dims"):
            F.grad(lambda x: x * 2)(x)
        with pytest.raises(RuntimeError, match="Got argnum=2, but only 1 positional inputs"):
            F.grad(lambda x: x.sum(), argnums=2)(x)
        with pytest.raises(RuntimeError, match="should be a tuple: \\(output, aux\\)"):
            F.grad(lambda x: x.sum(), has_aux=True)(x)


def test_grad_of_an_independent_argument_is_zero():
    run("grad", lambda lib: (lambda x, y: (x ** 2).sum()), both(*arrays((2,), (3,))),
        argnums=(0, 1))


# --- vjp / jvp -----------------------------------------------------------------------------------

def test_vjp_tuple_output_and_repeated_calls():
    (kx, ky), (tx, ty) = both(*arrays((3,), (3,)))
    out_k, fn_k = KF.vjp(vector_fn(kindling), kx, ky)
    out_t, fn_t = TF.vjp(vector_fn(torch), tx, ty)
    assert_close(out_k, out_t, rtol=1e-10, atol=1e-12)
    assert not out_k[0].requires_grad
    for ca, cb in (arrays((3,), ()), arrays((3,), ())):
        ct_k = (kindling.tensor(ca), kindling.tensor(cb))
        ct_t = (torch.tensor(ca), torch.tensor(cb))
        assert_close(fn_k(ct_k), fn_t(ct_t), rtol=1e-10, atol=1e-12)
    with pytest.raises(RuntimeError, match="pytree structure of cotangents"):
        fn_k(ct_k[0])


def test_vjp_single_primal_returns_a_tuple_and_has_aux():
    (kx,), (tx,) = both(*arrays((4,)))
    out_k, fn_k, aux_k = KF.vjp(lambda x: (x * x, x.sum()), kx, has_aux=True)
    out_t, fn_t, aux_t = TF.vjp(lambda x: (x * x, x.sum()), tx, has_aux=True)
    assert_close((out_k, aux_k), (out_t, aux_t), rtol=1e-10, atol=1e-12)
    g_k, g_t = fn_k(kindling.ones(4)), fn_t(torch.ones(4))
    assert isinstance(g_k, tuple) and len(g_k) == 1
    assert_close(g_k, g_t, rtol=1e-10, atol=1e-12)


def test_jvp_matches_torch():
    (kx, ky, kv, kw), (tx, ty, tv, tw) = both(*arrays((3,), (3,), (3,), (3,)))
    assert_close(KF.jvp(vector_fn(kindling), (kx, ky), (kv, kw)),
                 TF.jvp(vector_fn(torch), (tx, ty), (tv, tw)), rtol=1e-10, atol=1e-12)
    assert_close(KF.jvp(lambda x: x.sin() * 3, (kx,), (kv,)),
                 TF.jvp(lambda x: x.sin() * 3, (tx,), (tv,)), rtol=1e-10, atol=1e-12)
    out_k = KF.jvp(lambda x: (x.exp(), x), (kx,), (kv,), has_aux=True)
    out_t = TF.jvp(lambda x: (x.exp(), x), (tx,), (tv,), has_aux=True)
    assert_close(out_k, out_t, rtol=1e-10, atol=1e-12)


def test_jvp_errors_match_torch():
    for F, lib in ((KF, kindling), (TF, torch)):
        with pytest.raises(RuntimeError, match="Expected primals to be a tuple"):
            F.jvp(lambda x: x.sum(), lib.ones(2), lib.ones(2))
        with pytest.raises(RuntimeError, match="different size than that of the original Tensor"
                                               ".*size \\[2\\].*size \\[3\\]"):
            F.jvp(lambda x: x.sum(), (lib.ones(2),), (lib.ones(3),))


# --- jacrev / jacfwd / hessian ----------------------------------------------------------------

@pytest.mark.parametrize("transform", ["jacrev", "jacfwd"])
@pytest.mark.parametrize("argnums", [0, 1, (0, 1)])
def test_jacobians_tuple_outputs_and_argnums(transform, argnums):
    out_k, _ = run(transform, vector_fn, both(*arrays((3,), (3,))), argnums=argnums)
    assert isinstance(out_k, tuple) and len(out_k) == 2


@pytest.mark.parametrize("transform", ["jacrev", "jacfwd"])
def test_jacobian_of_a_matrix_function(transform):
    run(transform, lambda lib: (lambda a: a @ a.T @ a + a.sin()), both(*arrays((2, 3))))
    run(transform, lambda lib: (lambda a: lib.linalg.inv(a)),
        both(RNG.standard_normal((3, 3)) + 3 * np.eye(3)))


def test_jacrev_has_aux_and_nested():
    make = lambda lib: (lambda x: (x.sin() * x.sum(), x.cos()))  # noqa: E731
    run("jacrev", make, both(*arrays((3,))), has_aux=True)
    (kx,), (tx,) = both(*arrays((3,)))
    assert_close(KF.jacrev(KF.jacrev(lambda x: x.sin() * x.sum()))(kx),
                 TF.jacrev(TF.jacrev(lambda x: x.sin() * x.sum()))(tx), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("argnums", [0, (0, 1)])
def test_hessian(argnums):
    run("hessian", bilinear, both(*arrays((3,), (3,))), argnums=argnums)
    run("hessian", lambda lib: (lambda x: (x ** 4).sum() + x.prod()), both(*arrays((2, 2))))


def test_jacfwd_rejects_unknown_randomness():
    with pytest.raises(RuntimeError, match="Only allowed values for randomness"):
        KF.jacfwd(lambda x: x, randomness="maybe")


# --- vmap ----------------------------------------------------------------------------------------

def matrix_fn(lib):
    return lambda a, b: (lib.linalg.inv(a) @ b).tanh() + a.T @ a @ b


def test_vmap_matrix_function_vs_loop_and_torch():
    a = RNG.standard_normal((5, 3, 3)) + 3 * np.eye(3)
    b = RNG.standard_normal((5, 3, 2))
    (ka, kb), (ta, tb) = both(a, b)
    out_k = KF.vmap(matrix_fn(kindling))(ka, kb)
    loop = kindling.stack([matrix_fn(kindling)(ka[i], kb[i]) for i in range(5)])
    np.testing.assert_array_equal(out_k.numpy(), loop.numpy())
    assert_close(out_k, TF.vmap(matrix_fn(torch))(ta, tb), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("in_dims,out_dims", [((1, None), 0), ((-1, 0), 1), ((0, 2), -1),
                                              (2, (0, 1))])
def test_vmap_in_dims_out_dims(in_dims, out_dims):
    def make(lib):
        return lambda x, y: (x * y.sum(), (x.unsqueeze(-1) * y).sum(0))
    x = RNG.standard_normal((4, 4, 4))
    y = RNG.standard_normal((4, 4, 4))
    ins = both(x, y)
    out_k = KF.vmap(make(kindling), in_dims, out_dims)(*ins[0])
    out_t = TF.vmap(make(torch), in_dims, out_dims)(*ins[1])
    assert_close(out_k, out_t, rtol=1e-10, atol=1e-12)


def test_vmap_nested_matches_torch():
    def make(lib):
        return lambda x, y: (x * y).sum().exp()
    ins = both(*arrays((2, 3, 4), (3, 4)))
    out_k = KF.vmap(KF.vmap(make(kindling), in_dims=(0, 0)), in_dims=(0, None))(*ins[0])
    out_t = TF.vmap(TF.vmap(make(torch), in_dims=(0, 0)), in_dims=(0, None))(*ins[1])
    assert tuple(out_k.shape) == (2, 3)
    assert_close(out_k, out_t, rtol=1e-10, atol=1e-12)


def test_vmap_pytree_inputs_outputs_and_kwargs():
    def make(lib):
        def f(inputs, scale=1.0):
            return {"sum": (inputs["a"] + inputs["b"][0]) * scale,
                    "pair": (inputs["a"].sum(), inputs["b"][1])}
        return f
    a, b0, b1 = arrays((3, 2), (3, 2), (3,))
    k = {"a": kindling.tensor(a), "b": [kindling.tensor(b0), kindling.tensor(b1)]}
    t = {"a": torch.tensor(a), "b": [torch.tensor(b0), torch.tensor(b1)]}
    out_k = KF.vmap(make(kindling))(k, scale=2.0)
    out_t = TF.vmap(make(torch))(t, scale=2.0)
    assert_close([out_k["sum"], *out_k["pair"]], [out_t["sum"], *out_t["pair"]])
    out_k = KF.vmap(make(kindling), in_dims=({"a": 0, "b": [None, 0]},))(k)
    out_t = TF.vmap(make(torch), in_dims=({"a": 0, "b": [None, 0]},))(t)
    assert_close([out_k["sum"], *out_k["pair"]], [out_t["sum"], *out_t["pair"]])


def test_vmap_composes_with_grad_per_sample_gradients():
    def make(lib):
        def loss(w, x, y):
            return ((x @ w).tanh() - y).pow(2).sum()
        return loss
    w, x, y = arrays((3, 2), (6, 3), (6, 2))
    (kw, kx, ky), (tw, tx, ty) = both(w, x, y)
    out_k = KF.vmap(KF.grad(make(kindling)), in_dims=(None, 0, 0))(kw, kx, ky)
    out_t = TF.vmap(TF.grad(make(torch)), in_dims=(None, 0, 0))(tw, tx, ty)
    assert tuple(out_k.shape) == (6, 3, 2)
    assert_close(out_k, out_t, rtol=1e-10, atol=1e-12)


def test_grad_flows_through_vmap():
    xa = arrays((4, 3))[0]
    results = []
    for lib, F in ((kindling, KF), (torch, TF)):
        x = lib.tensor(xa.copy(), requires_grad=True)
        out = F.vmap(lambda r: r.softmax(0) * r)(x)
        (out ** 2).sum().backward()
        results.append((out, x.grad))
    assert_close(results[0], results[1], rtol=1e-10, atol=1e-12)


def test_vmap_errors_match_torch():
    for F, lib in ((KF, kindling), (TF, torch)):
        with pytest.raises(ValueError, match="same size in the mapped dimension, got sizes "
                                             "\\[2, 3\\]"):
            F.vmap(lambda x, y: x + y)(lib.ones(2, 3), lib.ones(3, 3))
        with pytest.raises(ValueError, match="Got in_dim=3 for some input, but that input is a "
                                             "Tensor of dimensionality 2"):
            F.vmap(lambda x: x, in_dims=3)(lib.ones(2, 3))
        with pytest.raises(ValueError, match="must only return Tensors, got type <class "
                                             "'float'>"):
            F.vmap(lambda x: 1.0)(lib.ones(2, 3))
        with pytest.raises(ValueError, match="expected `in_dims` to be int or a"):
            F.vmap(lambda x: x, in_dims=None)(lib.ones(2, 3))
        with pytest.raises(RuntimeError, match="called random operation while in randomness "
                                               "error mode"):
            F.vmap(lambda x: x + lib.rand(3))(lib.ones(2, 3))


def test_vmap_randomness_same_and_different():
    x = kindling.zeros(4, 3)
    same = KF.vmap(lambda r: r + kindling.rand(3), randomness="same")(x)
    assert all(np.array_equal(same[0].numpy(), same[i].numpy()) for i in range(4))
    different = KF.vmap(lambda r: r + kindling.rand(3), randomness="different")(x)
    assert not np.array_equal(different[0].numpy(), different[1].numpy())
    with pytest.raises(RuntimeError, match="Only allowed values for randomness"):
        KF.vmap(lambda r: r, randomness="sometimes")


def test_vmap_out_dims_none_returns_an_unbatched_output():
    out_k = KF.vmap(lambda x: (x * 2, 5.0), out_dims=(0, None))(kindling.ones(3, 2))
    out_t = TF.vmap(lambda x: (x * 2, 5.0), out_dims=(0, None))(torch.ones(3, 2))
    assert_close(out_k[0], out_t[0])
    assert out_k[1] == out_t[1] == 5.0


# --- functional_call ---------------------------------------------------------------------------

def mlp_pair():
    k = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    t = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    with torch.no_grad():
        for (_, pk), (_, pt) in zip(k.named_parameters(), t.named_parameters()):
            pt.copy_(torch.tensor(pk.detach().numpy()))
    return k, t


@pytest.mark.parametrize("make_model", ["linear", "mlp"])
def test_functional_call_gradients_reach_the_passed_tensors(make_model):
    if make_model == "linear":
        k, t = nn.Linear(4, 3), torch.nn.Linear(4, 3)
    else:
        k, t = mlp_pair()
    before = {n: p.detach().numpy().copy() for n, p in k.named_parameters()}
    names = list(before)
    new = {n: RNG.standard_normal(before[n].shape).astype(np.float32) for n in names}
    pk = {n: kindling.tensor(new[n], requires_grad=True) for n in names}
    pt = {n: torch.tensor(new[n], requires_grad=True) for n in names}
    x = RNG.standard_normal((5, 4)).astype(np.float32)
    out_k = KF.functional_call(k, pk, (kindling.tensor(x),))
    out_t = TF.functional_call(t, pt, (torch.tensor(x),))
    assert_close(out_k, out_t, rtol=1e-5, atol=1e-5)
    (out_k ** 2).sum().backward()
    (out_t ** 2).sum().backward()
    for n in names:
        assert_close(pk[n].grad, pt[n].grad, rtol=1e-4, atol=1e-5, what=n)
    for n, p in k.named_parameters():  # the module's own parameters: unchanged, no gradient
        np.testing.assert_array_equal(p.detach().numpy(), before[n])
        assert p.grad is None and isinstance(p, nn.Parameter)
    assert dict(k.named_parameters()).keys() == before.keys()


def test_functional_call_with_grad_and_a_dict_of_params():
    k, t = mlp_pair()
    x, y = RNG.standard_normal((6, 4)), RNG.standard_normal((6, 3))
    pk = {n: p.detach() for n, p in k.named_parameters()}
    pt = {n: p.detach() for n, p in t.named_parameters()}

    def loss(F, model, lib, params):
        return ((F.functional_call(model, params, lib.tensor(x, dtype=lib.float32))
                 - lib.tensor(y, dtype=lib.float32)) ** 2).mean()
    gk = KF.grad(lambda p: loss(KF, k, kindling, p))(pk)
    gt = TF.grad(lambda p: loss(TF, t, torch, p))(pt)
    for n in gt:
        assert_close(gk[n], gt[n], rtol=1e-4, atol=1e-6, what=n)


def test_functional_call_restores_the_module_after_an_exception():
    k = nn.Linear(3, 2)
    weight = k.weight
    with pytest.raises(RuntimeError):
        KF.functional_call(k, {"weight": kindling.ones(2, 5)}, (kindling.ones(1, 3),))
    assert k.weight is weight and isinstance(k.weight, nn.Parameter)
    with pytest.raises(ValueError, match="appeared in multiple dictionaries"):
        KF.functional_call(k, ({"weight": kindling.ones(2, 3)}, {"weight": kindling.ones(2, 3)}),
                           (kindling.ones(1, 3),))
    assert k.weight is weight


def test_functional_call_buffers_strict_and_multiple_dicts():
    k = nn.BatchNorm1d(3).eval()
    t = torch.nn.BatchNorm1d(3).eval()
    mean, var, x = arrays((3,), (3,), (4, 3))
    var = np.abs(var) + 0.5
    buffers_k = {"running_mean": kindling.tensor(mean, dtype=kindling.float32),
                 "running_var": kindling.tensor(var, dtype=kindling.float32)}
    buffers_t = {"running_mean": torch.tensor(mean, dtype=torch.float32),
                 "running_var": torch.tensor(var, dtype=torch.float32)}
    params_k = dict(k.named_parameters())
    params_t = dict(t.named_parameters())
    out_k = KF.functional_call(k, (params_k, buffers_k), kindling.tensor(x, dtype=kindling.float32))
    out_t = TF.functional_call(t, (params_t, buffers_t), torch.tensor(x, dtype=torch.float32))
    assert_close(out_k, out_t, rtol=1e-5, atol=1e-6)
    assert np.all(k.running_mean.numpy() == 0)
    for F, model, lib in ((KF, k, kindling), (TF, t, torch)):
        with pytest.raises(RuntimeError, match="Error\\(s\\) in reparametrizing for BatchNorm1d:"
                                               "\n\tUnexpected key\\(s\\): 'extra'.\n\tMissing "
                                               "key\\(s\\): 'bias'"):
            F.functional_call(model, {"weight": lib.ones(3), "extra": lib.ones(1),
                                      "running_mean": lib.zeros(3), "running_var": lib.ones(3),
                                      "num_batches_tracked": lib.tensor(0)},
                              lib.ones(2, 3), strict=True)


def test_functional_call_tied_weights():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 2, bias=False)
            self.b = nn.Linear(2, 2, bias=False)
            self.b.weight = self.a.weight

        def forward(self, x):
            return self.b(self.a(x))

    m = Tied()
    w = kindling.tensor([[2.0, 0.0], [0.0, 3.0]])
    x = kindling.ones(1, 2)
    np.testing.assert_allclose(KF.functional_call(m, {"a.weight": w}, (x,)).detach().numpy(),
                               [[4, 9]])
    untied = KF.functional_call(m, {"a.weight": w}, (x,), tie_weights=False)
    expected = (x @ w.T) @ m.a.weight.detach().T
    np.testing.assert_allclose(untied.detach().numpy(), expected.detach().numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="which are tied"):
        KF.functional_call(m, {"a.weight": w, "b.weight": w * 2}, (x,))


def test_stateless_functional_call_is_deprecated_like_torch():
    from kindling.nn.utils import stateless
    k = nn.Linear(2, 2)
    with pytest.warns(FutureWarning, match="torch.func.functional_call"):
        out = stateless.functional_call(k, {"weight": kindling.zeros(2, 2),
                                            "bias": kindling.ones(2)}, kindling.ones(3, 2))
    np.testing.assert_array_equal(out.detach().numpy(), np.ones((3, 2)))


def test_stack_module_state_and_vmap_ensemble():
    pairs = [mlp_pair() for _ in range(3)]
    x = torch.tensor(RNG.standard_normal((5, 4)), dtype=torch.float32)
    outs = []
    for F, models, xx, lib in ((KF, [p[0] for p in pairs], kindling.tensor(x.numpy()), kindling),
                               (TF, [p[1] for p in pairs], x, torch)):
        params, buffers = F.stack_module_state(models)
        assert tuple(params["0.weight"].shape) == (3, 8, 4) and params["0.weight"].is_leaf
        base = models[0]

        def call(p, b, data, base=base, F=F):
            return F.functional_call(base, (p, b), (data,))
        outs.append(F.vmap(call, in_dims=(0, 0, None))(params, buffers, xx))
    assert_close(outs[0], outs[1], rtol=1e-5, atol=1e-6)
