"""Autograd semantics against PyTorch: accumulation, hooks, retain_grad, graph freeing,
version counters, custom Functions, higher-order gradients, grad modes."""
import gc
import resource

import numpy as np
import pytest
import torch

import kindling
from kindling.autograd import Function, grad, gradcheck, gradgradcheck
from oracle import assert_close, pair


def test_leaf_grad_accumulates_across_backward_calls():
    xk, xt = pair(np.array([1.0, 2.0, 3.0], np.float32))
    for _ in range(3):
        (xk * xk).sum().backward()
        (xt * xt).sum().backward()
    assert_close(xk.grad, xt.grad)


def test_intermediate_grad_not_kept_unless_retained():
    x = kindling.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    z = y * y
    y.retain_grad()
    w = x * 2
    (z.sum() + w.sum()).backward()
    assert w.grad is None
    np.testing.assert_allclose(y.grad.numpy(), 2 * y.detach().numpy())
    assert y.retains_grad and not w.retains_grad


def test_non_scalar_backward_requires_gradient():
    x = kindling.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="only for scalar outputs.*shape \\(3,\\)"):
        (x * 2).backward()
    (x * 2).backward(kindling.tensor([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(x.grad.numpy(), [2, 4, 6])


def test_backward_gradient_shape_mismatch():
    x = kindling.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="mismatch in shape"):
        (x * 2).backward(kindling.ones(4))


def test_second_backward_raises_and_retain_graph_allows():
    x = kindling.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_saved_tensors_released_after_backward():
    x = kindling.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    node = y.grad_fn
    y.sum().backward()
    assert node.freed and node._out_array is None and not node.__dict__


def test_inplace_on_saved_tensor_raises():
    a = kindling.tensor([1.0, 2.0], requires_grad=True)
    b = a * 1
    c = b * b          # saves b
    b.add_(1)          # modifies b
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        c.sum().backward()


def test_inplace_on_saved_output_raises():
    a = kindling.tensor([1.0, 2.0], requires_grad=True)
    y = a.exp()        # saves its output
    y.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_inplace_on_non_leaf_gives_torch_gradient():
    for name in ["add_", "mul_", "sub_", "div_"]:
        ak, at = pair(np.array([1.0, 2.0, 3.0], np.float32))
        wk, wt = pair(np.array([0.5, -1.0, 2.0], np.float32))
        xk, xt = ak * 2, at * 2
        getattr(xk, name)(wk)
        getattr(xt, name)(wt)
        (xk * xk).sum().backward()
        (xt * xt).sum().backward()
        assert_close(xk, xt)
        assert_close(ak.grad, at.grad, what=f"{name} grad a")
        assert_close(wk.grad, wt.grad, what=f"{name} grad w")


def test_inplace_on_leaf_requiring_grad_raises_outside_no_grad():
    w = kindling.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w.add_(1)
    with kindling.no_grad():
        w.add_(1)
    np.testing.assert_allclose(w.detach().numpy(), [2.0, 2.0])
    assert w._version == 1


def test_view_shares_version_counter():
    x = kindling.zeros(2, 3)
    v = x.reshape(6)
    v.add_(1)
    assert x._version == 1
    np.testing.assert_allclose(x.numpy(), np.ones((2, 3)))
    d = x.data
    d.mul_(3)
    assert x._version == 2 and x.numpy()[0, 0] == 3


def test_hooks_modify_gradient_and_can_be_removed():
    xk, xt = pair(np.array([1.0, 2.0], np.float32))
    yk, yt = xk * 3, xt * 3
    hk = yk.register_hook(lambda g: g * 10)
    ht = yt.register_hook(lambda g: g * 10)
    xk.register_hook(lambda g: g + 1)
    xt.register_hook(lambda g: g + 1)
    (yk * yk).sum().backward()
    (yt * yt).sum().backward()
    assert_close(xk.grad, xt.grad)
    hk.remove()
    ht.remove()
    xk.grad = None
    xt.grad = None
    (xk * 3).sum().backward()
    (xt * 3).sum().backward()
    assert_close(xk.grad, xt.grad)


def test_grad_modes():
    x = kindling.ones(2, requires_grad=True)
    with kindling.no_grad():
        y = x * 2
        with kindling.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None and z.requires_grad

    @kindling.no_grad()
    def f(t):
        return t * 2
    assert not f(x).requires_grad
    with kindling.set_grad_enabled(False):
        assert not kindling.is_grad_enabled()
    assert kindling.is_grad_enabled()
    kindling.set_grad_enabled(False)
    assert not (x * 2).requires_grad
    kindling.set_grad_enabled(True)
    assert (x * 2).requires_grad


def test_autograd_grad_matches_torch_and_leaves_grad_untouched():
    xk, xt = pair(np.array([0.5, -1.0, 2.0], np.float32))
    gk, = grad((xk.exp() * xk).sum(), xk)
    gt, = torch.autograd.grad((xt.exp() * xt).sum(), xt)
    assert_close(gk, gt)
    assert xk.grad is None


def test_autograd_grad_unused_input():
    x = kindling.ones(2, requires_grad=True)
    u = kindling.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="not have been used"):
        grad((x * 2).sum(), [x, u])
    gx, gu = grad((x * 2).sum(), [x, u], allow_unused=True)
    assert gu is None and np.allclose(gx.numpy(), 2)


def test_grad_of_non_leaf_input():
    xk, xt = pair(np.array([0.5, 1.5], np.float32))
    yk, yt = xk * xk, xt * xt
    gk, = grad((yk.exp()).sum(), yk)
    gt, = torch.autograd.grad((yt.exp()).sum(), yt)
    assert_close(gk, gt)


def test_hessian_vector_product_matches_torch():
    rng = np.random.default_rng(1)
    x0, v0 = rng.standard_normal(4), rng.standard_normal(4)
    xk, xt = pair(x0)
    f_k = (xk.tanh() * xk.exp()).sum() + (xk ** 3).sum()
    f_t = (xt.tanh() * xt.exp()).sum() + (xt ** 3).sum()
    gk, = grad(f_k, xk, create_graph=True)
    gt, = torch.autograd.grad(f_t, xt, create_graph=True)
    hk, = grad((gk * kindling.tensor(v0)).sum(), xk)
    ht, = torch.autograd.grad((gt * torch.tensor(v0)).sum(), xt)
    assert_close(hk, ht, rtol=1e-10, atol=1e-10)


def test_third_order_derivative():
    x = kindling.tensor(0.7, dtype=kindling.float64, requires_grad=True)
    y = x.sigmoid()
    g1, = grad(y, x, create_graph=True)
    g2, = grad(g1, x, create_graph=True)
    g3, = grad(g2, x)
    xt = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    yt = xt.sigmoid()
    t1, = torch.autograd.grad(yt, xt, create_graph=True)
    t2, = torch.autograd.grad(t1, xt, create_graph=True)
    t3, = torch.autograd.grad(t2, xt)
    assert_close(g3, t3, rtol=1e-12)


def test_backward_with_create_graph_gives_differentiable_grad():
    x = kindling.tensor([1.0, 2.0], dtype=kindling.float64, requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    g2, = grad(x.grad.sum(), x)
    np.testing.assert_allclose(g2.numpy(), 6 * np.array([1.0, 2.0]))


class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * 3 * x ** 2


class ScaledExp(Function):
    """Saves its own output and takes a non-tensor argument."""
    @staticmethod
    def forward(ctx, x, scale):
        y = (x * scale).exp()
        ctx.save_for_backward(y)
        ctx.scale = scale
        assert ctx.needs_input_grad == (True, False)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        return g * y * ctx.scale, None


def test_custom_function_and_gradcheck():
    x = kindling.randn(5, dtype=kindling.float64, requires_grad=True)
    assert gradcheck(Cube.apply, (x,))
    assert gradgradcheck(Cube.apply, (x,))
    assert gradcheck(lambda t: ScaledExp.apply(t, 0.5), (x,))
    assert gradgradcheck(lambda t: ScaledExp.apply(t, 0.5), (x,))
    y = Cube.apply(x)
    assert y.grad_fn is not None and "Cube" in repr(y.grad_fn)


def test_gradcheck_detects_a_wrong_gradient():
    class Wrong(Function):
        @staticmethod
        def forward(ctx, x):
            return x * x

        @staticmethod
        def backward(ctx, g):
            return g  # should be 2 x g

    x = kindling.randn(3, dtype=kindling.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="Jacobian mismatch"):
        gradcheck(Wrong.apply, (x,))
    assert gradcheck(Wrong.apply, (x,), raise_exception=False) is False


def test_multiple_paths_accumulate():
    xk, xt = pair(np.array([1.0, -2.0], np.float32))
    for x in (xk, xt):
        a = x * 2
        b = a * a + a.exp() + a
        b.sum().backward()
    assert_close(xk.grad, xt.grad)


def test_deep_chain_has_no_recursion_limit():
    x = kindling.ones(2, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 1.0001 ** 5000, rtol=1e-3)


def _rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_training_loop_holds_flat_memory():
    from kindling.engine.function import Node
    w = kindling.randn(64, 64, requires_grad=True)
    x = kindling.randn(32, 64)

    def step():
        loss = ((x * w.sum(0)).tanh() * 0.5).exp().sum()
        loss.backward()
        with kindling.no_grad():
            w.sub_(w.grad * 1e-4)
        w.grad = None
        return loss.item()

    for _ in range(200):
        step()
    gc.collect()
    nodes_before = sum(type(o) is Node for o in gc.get_objects())
    rss_before = _rss_mb()
    for _ in range(5000):
        step()
    gc.collect()
    nodes_after = sum(type(o) is Node for o in gc.get_objects())
    assert nodes_after <= nodes_before
    assert _rss_mb() - rss_before < 20


def test_detach_and_requires_grad_rules():
    x = kindling.ones(2, requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None
    with pytest.raises(RuntimeError, match="leaf variables"):
        y.requires_grad = False
    with pytest.raises(RuntimeError, match="floating point"):
        kindling.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError, match="numpy\\(\\) on Tensor that requires grad"):
        x.numpy()


def test_integer_outputs_carry_no_grad():
    x = kindling.tensor([1.0, 2.0], requires_grad=True)
    assert not (x > 1).requires_grad


def test_grad_dtype_follows_input_dtype():
    a = kindling.ones(2, dtype=kindling.float32, requires_grad=True)
    b = kindling.ones(2, dtype=kindling.float64, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.dtype == kindling.float32 and b.grad.dtype == kindling.float64


def test_broadcast_gradients_are_unbroadcast():
    rng = np.random.default_rng(0)
    ak, at = pair(rng.standard_normal((3, 1, 4)).astype(np.float32))
    bk, bt = pair(rng.standard_normal((2, 1)).astype(np.float32))
    ((ak * bk + bk) ** 2).sum().backward()
    ((at * bt + bt) ** 2).sum().backward()
    assert_close(ak.grad, at.grad, rtol=1e-5)
    assert_close(bk.grad, bt.grad, rtol=1e-5)


def test_node_introspection():
    x = kindling.ones(2, requires_grad=True)
    y = (x * 2).exp()
    assert y.grad_fn.name() == "ExpBackward0"
    (inner, _), = y.grad_fn.next_functions
    assert inner.name() == "MulBackward0"
    assert inner.next_functions[0][0].name() == "AccumulateGrad"


def test_inplace_relu_without_copy_still_guards_saved_values():
    """relu_ runs without copying the old value (its graph keeps only a mask), yet a tensor that
    an earlier op saved is still caught after being overwritten, and gradients stay right."""
    x = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    for lib in (kindling, torch):
        a, y = lib.tensor(x, requires_grad=True), lib.tensor(x, requires_grad=True)
        b = y * 1
        h = a * b                 # saves b for a's gradient
        b.relu_()
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            h.sum().backward()
    xk, xt = kindling.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    for t in (xk, xt):
        h = t * 2
        h.relu_()
        (h * h).sum().backward()
    np.testing.assert_allclose(xk.grad.numpy(), xt.grad.numpy(), rtol=1e-6)
