"""Shape ops against PyTorch: forward values, shape, dtype, gradients, views and errors."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import kindling
from kindling.autograd import gradcheck, gradgradcheck
from kindling.ops.shape import pad as k_pad
from oracle import check, assert_close

F_TORCH = torch.nn.functional

rng = np.random.default_rng(0)


def r(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def same(fn, *arrays, **kw):
    """Run fn(lib, *tensors) with lib = kindling and lib = torch and compare (with grads)."""
    return check(lambda *a: fn(kindling, *a), lambda *a: fn(torch, *a), *arrays, **kw)


# Each case: (id, fn(lib, *tensors), arrays). The same code runs on both libraries.
CASES = [
    ("reshape", lambda m, x: x.reshape(2, -1), [r(3, 4)]),
    ("reshape_tuple", lambda m, x: m.reshape(x, (4, 3)), [r(3, 4)]),
    ("reshape_noncontig", lambda m, x: x.t().reshape(-1), [r(3, 4)]),
    ("view", lambda m, x: x.view(6, 2), [r(3, 4)]),
    ("view_as", lambda m, x, y: x.view_as(y) * y, [r(3, 4), r(12)]),
    ("reshape_as", lambda m, x, y: x.t().reshape_as(y) * y, [r(3, 4), r(2, 6)]),
    ("flatten", lambda m, x: m.flatten(x), [r(2, 3, 4)]),
    ("flatten_dims", lambda m, x: x.flatten(1, 2), [r(2, 3, 4, 5)]),
    ("flatten_neg", lambda m, x: x.flatten(-3, -2), [r(2, 3, 4, 5)]),
    ("flatten_0d", lambda m, x: x.flatten(), [np.float32(2.0)]),
    ("unflatten", lambda m, x: x.unflatten(1, (2, -1)), [r(3, 8)]),
    ("unflatten_fn", lambda m, x: m.unflatten(x, -1, (2, 2, 2)), [r(3, 8)]),
    ("squeeze", lambda m, x: x.squeeze(), [r(1, 3, 1, 2)]),
    ("squeeze_dim", lambda m, x: x.squeeze(2), [r(1, 3, 1, 2)]),
    ("squeeze_dim_noop", lambda m, x: x.squeeze(1), [r(1, 3, 1, 2)]),
    ("squeeze_tuple", lambda m, x: m.squeeze(x, (0, 2)), [r(1, 3, 1, 2)]),
    ("squeeze_0d", lambda m, x: x.squeeze(0), [np.float32(1.5)]),
    ("unsqueeze", lambda m, x: x.unsqueeze(1), [r(3, 2)]),
    ("unsqueeze_neg", lambda m, x: m.unsqueeze(x, -1), [r(3, 2)]),
    ("unsqueeze_0d", lambda m, x: x.unsqueeze(0), [np.float32(1.5)]),
    ("permute", lambda m, x: x.permute(2, 0, 1), [r(2, 3, 4)]),
    ("permute_list", lambda m, x: m.permute(x, [1, 2, 0]), [r(2, 3, 4)]),
    ("transpose", lambda m, x: x.transpose(0, 2), [r(2, 3, 4)]),
    ("swapaxes", lambda m, x: m.swapaxes(x, 0, 1), [r(2, 3, 4)]),
    ("swapdims", lambda m, x: x.swapdims(-1, 0), [r(2, 3, 4)]),
    ("movedim", lambda m, x: m.movedim(x, 0, -1), [r(2, 3, 4)]),
    ("movedim_tuple", lambda m, x: x.movedim((0, 1), (2, 0)), [r(2, 3, 4)]),
    ("moveaxis", lambda m, x: m.moveaxis(x, -1, 0), [r(2, 3, 4)]),
    ("t", lambda m, x: x.t(), [r(2, 3)]),
    ("t_1d", lambda m, x: m.t(x), [r(3)]),
    ("T", lambda m, x: x.T, [r(2, 3)]),
    ("mT", lambda m, x: x.mT, [r(2, 3, 4)]),
    ("mH", lambda m, x: x.mH, [r(2, 3, 4)]),
    ("expand", lambda m, x: x.expand(2, 3, 4), [r(3, 1)]),
    ("expand_neg1", lambda m, x: x.expand(2, -1, 4), [r(3, 1)]),
    ("expand_as", lambda m, x, y: x.expand_as(y) * y, [r(1, 4), r(3, 4)]),
    ("broadcast_to", lambda m, x: m.broadcast_to(x, (2, 3, 4)), [r(4)]),
    ("broadcast_tensors", lambda m, x, y: m.broadcast_tensors(x, y), [r(3, 1), r(1, 4)]),
    ("repeat", lambda m, x: x.repeat(2, 3), [r(2, 3)]),
    ("repeat_more", lambda m, x: x.repeat(2, 1, 3), [r(2, 3)]),
    ("repeat_0d", lambda m, x: x.repeat(3), [np.float32(2.0)]),
    ("tile", lambda m, x: m.tile(x, (2,)), [r(2, 3)]),
    ("tile_more", lambda m, x: x.tile((2, 1, 2)), [r(2, 3)]),
    ("repeat_interleave", lambda m, x: x.repeat_interleave(2), [r(2, 3)]),
    ("repeat_interleave_dim", lambda m, x: m.repeat_interleave(x, 3, dim=1), [r(2, 3)]),
    ("repeat_interleave_tensor",
     lambda m, x: x.repeat_interleave(m.tensor([1, 0, 2]), dim=-1), [r(2, 3)]),
    ("cat", lambda m, x, y: m.cat([x, y], 1), [r(2, 3), r(2, 4)]),
    ("cat_neg", lambda m, x, y: m.cat((x, y), -2), [r(2, 3), r(1, 3)]),
    ("cat_noncontig", lambda m, x, y: m.cat([x.t(), y]), [r(3, 2), r(1, 3)]),
    ("cat_empty_legacy", lambda m, x, y: m.cat([x, y]), [np.zeros(0, np.float32), r(2, 3)]),
    ("concat", lambda m, x, y: m.concat([x, y]), [r(2, 3), r(2, 3)]),
    ("concatenate", lambda m, x, y: m.concatenate([x, y], dim=1), [r(2, 3), r(2, 3)]),
    ("cat_mixed_dtype", lambda m, x, y: m.cat([x, y]), [np.arange(3), r(2)]),
    ("cat_mixed_float", lambda m, x, y: m.cat([x, y]), [r(3, dtype=np.float64), r(2)]),
    ("stack", lambda m, x, y: m.stack([x, y]), [r(2, 3), r(2, 3)]),
    ("stack_dim", lambda m, x, y: m.stack([x, y], dim=-1), [r(2, 3), r(2, 3)]),
    ("stack_0d", lambda m, x, y: m.stack([x, y]), [np.float32(1), np.float32(2)]),
    ("hstack", lambda m, x, y: m.hstack([x, y]), [r(2, 3), r(2, 1)]),
    ("hstack_1d", lambda m, x, y: m.hstack([x, y]), [r(2), r(3)]),
    ("vstack", lambda m, x, y: m.vstack([x, y]), [r(3), r(2, 3)]),
    ("dstack", lambda m, x, y: m.dstack([x, y]), [r(2, 3), r(2, 3)]),
    ("column_stack", lambda m, x, y: m.column_stack([x, y]), [r(3), r(3, 2)]),
    ("atleast_1d", lambda m, x: m.atleast_1d(x), [np.float32(3)]),
    ("atleast_2d", lambda m, x: m.atleast_2d(x), [r(3)]),
    ("atleast_3d", lambda m, x: m.atleast_3d(x), [r(2, 3)]),
    ("split_int", lambda m, x: x.split(2), [r(5, 3)]),
    ("split_list", lambda m, x: m.split(x, [1, 2], dim=1), [r(5, 3)]),
    ("split_unused", lambda m, x: x.split(2)[1], [r(5, 3)]),
    ("chunk", lambda m, x: x.chunk(3, 1), [r(2, 7)]),
    ("chunk_fewer", lambda m, x: m.chunk(x, 4), [r(6, 2)]),
    ("tensor_split_n", lambda m, x: m.tensor_split(x, 3), [r(7, 2)]),
    ("tensor_split_idx", lambda m, x: x.tensor_split([1, 4], dim=1), [r(2, 6)]),
    ("unbind", lambda m, x: x.unbind(1), [r(2, 3)]),
    ("unbind_one", lambda m, x: m.unbind(x)[1], [r(3, 2)]),
    ("narrow", lambda m, x: x.narrow(1, 1, 2), [r(3, 4)]),
    ("narrow_neg", lambda m, x: m.narrow(x, 0, -2, 2), [r(3, 4)]),
    ("select", lambda m, x: x.select(1, -1), [r(3, 4)]),
    ("flip", lambda m, x: x.flip(0, 2), [r(2, 3, 4)]),
    ("flip_list", lambda m, x: m.flip(x, [1]), [r(2, 3, 4)]),
    ("fliplr", lambda m, x: m.fliplr(x), [r(2, 3)]),
    ("flipud", lambda m, x: x.flipud(), [r(2, 3)]),
    ("roll", lambda m, x: x.roll(1, 0), [r(3, 4)]),
    ("roll_flat", lambda m, x: m.roll(x, -5), [r(3, 4)]),
    ("roll_tuple", lambda m, x: x.roll((1, -2), (1, 0)), [r(3, 4)]),
    ("rot90", lambda m, x: m.rot90(x), [r(2, 3)]),
    ("rot90_k2", lambda m, x: x.rot90(2, [1, 2]), [r(2, 3, 4)]),
    ("rot90_k3", lambda m, x: x.rot90(-1), [r(2, 3)]),
    ("tril", lambda m, x: x.tril(), [r(3, 4)]),
    ("tril_k", lambda m, x: m.tril(x, -1), [r(2, 3, 4)]),
    ("triu", lambda m, x: x.triu(1), [r(4, 3)]),
    ("diagonal", lambda m, x: x.diagonal(), [r(3, 4)]),
    ("diagonal_offset", lambda m, x: m.diagonal(x, 1), [r(3, 4)]),
    ("diagonal_neg", lambda m, x: x.diagonal(-2), [r(3, 4)]),
    ("diagonal_dims", lambda m, x: x.diagonal(0, 2, 0), [r(3, 2, 4)]),
    ("diagonal_out_of_range", lambda m, x: x.diagonal(5), [r(3, 4)]),
    ("diag_1d", lambda m, x: m.diag(x), [r(3)]),
    ("diag_1d_k", lambda m, x: x.diag(-1), [r(3)]),
    ("diag_2d", lambda m, x: m.diag(x, 1), [r(3, 4)]),
    ("diag_embed", lambda m, x: m.diag_embed(x), [r(2, 3)]),
    ("diag_embed_args", lambda m, x: x.diag_embed(1, 0, 2), [r(2, 3)]),
    ("contiguous", lambda m, x: x.t().contiguous(), [r(2, 3)]),
    ("clone", lambda m, x: m.clone(x), [r(2, 3)]),
    ("clone_noncontig", lambda m, x: x.t().clone(), [r(2, 3)]),
    ("meshgrid_ij", lambda m, x, y: m.meshgrid(x, y, indexing="ij"), [r(3), r(4)]),
    ("meshgrid_xy", lambda m, x, y, z: m.meshgrid([x, y, z], indexing="xy"), [r(3), r(4), r(2)]),
    ("empty_reshape", lambda m, x: x.reshape(0, 3).t(), [np.zeros((3, 0), np.float32)]),
    ("empty_cat", lambda m, x, y: m.cat([x, y], 1), [np.zeros((2, 0), np.float32), r(2, 1)]),
]


@pytest.mark.parametrize("fn,arrays", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_matches_torch(fn, arrays):
    same(fn, *arrays)


def test_view_dtype_float64_and_int():
    same(lambda m, x: x.permute(1, 0).flip(0).reshape(-1), r(2, 3, dtype=np.float64))
    same(lambda m, x: m.cat([x, x.flip(0)]).roll(1).t(), np.arange(6).reshape(2, 3), grad=False)


# --- gradcheck in float64: each differentiable op, including second order ---------------------
GRADCHECK = [
    lambda x: x.reshape(3, 2), lambda x: x.permute(1, 0, 2), lambda x: x.flatten(1),
    lambda x: x.squeeze(0).unsqueeze(-1), lambda x: x.expand(3, 2, 3, 2),
    lambda x: x.repeat(2, 1, 3), lambda x: x.repeat_interleave(2, dim=1),
    lambda x: kindling.cat([x, x * 2], 1), lambda x: kindling.stack([x, x * 3], 0),
    lambda x: x.split([1, 2], 1), lambda x: x.unbind(2), lambda x: x.narrow(2, 1, 1),
    lambda x: x.flip(1, 2), lambda x: x.roll(1, 1), lambda x: x.rot90(1, [1, 2]),
    lambda x: x.tril(), lambda x: x.triu(-1), lambda x: x.diagonal(0, 1, 2),
    lambda x: kindling.diag_embed(x, 1), lambda x: x[0].diag(), lambda x: x.t() if x.ndim < 3
    else x.mT, lambda x: x.clone(), lambda x: x.mT.contiguous(),
    lambda x: k_pad(x, (1, 1), mode="reflect"), lambda x: k_pad(x, (1, 1, 2, 0), "replicate"),
    lambda x: k_pad(x, (1, 2, 1, 1), "circular"), lambda x: k_pad(x, (2, -1, 1, 0), value=3.0),
]


@pytest.mark.parametrize("i", range(len(GRADCHECK)))
def test_gradcheck(i):
    fn = GRADCHECK[i]
    x = kindling.tensor(rng.standard_normal((1, 3, 2)), dtype=kindling.float64,
                        requires_grad=True)
    if i == 19:  # diag of a vector
        x = kindling.tensor(rng.standard_normal((2, 3)), dtype=kindling.float64,
                            requires_grad=True)
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


# --- views: shared memory and version counter ----------------------------------------------------
@pytest.mark.parametrize("make_view", [
    lambda x: x.reshape(-1), lambda x: x.view(3, 4), lambda x: x.t(), lambda x: x.permute(1, 0),
    lambda x: x.unsqueeze(0), lambda x: x[0:1].squeeze(0), lambda x: x.narrow(1, 1, 2),
    lambda x: x.select(0, 1), lambda x: x.diagonal(), lambda x: x.split(2, 1)[1],
    lambda x: x.chunk(2)[0], lambda x: x.unbind(1)[2], lambda x: x.flatten(),
    lambda x: x.transpose(0, 1).unflatten(1, (2, 2)), lambda x: x.movedim(0, 1), lambda x: x.T,
])
def test_views_share_memory_and_version(make_view):
    x = kindling.zeros(4, 3) if make_view(kindling.zeros(4, 3)).shape[0] == 0 else \
        kindling.arange(12.).reshape(4, 3)
    tx = torch.arange(12.).reshape(4, 3)
    v, tv = make_view(x), make_view(tx)
    before = x._version
    v.add_(100)
    tv.add_(100)
    assert_close(x, tx)
    assert x._version == before + 1 and v._version == x._version
    assert v._base is not None


def test_copies_do_not_share():
    x = kindling.arange(6.).reshape(2, 3)
    for y in (x.flip(0), x.roll(1), x.clone(), x.repeat(1, 1), kindling.cat([x]), x.tril(),
              x.t().contiguous(), x.diag(), x.repeat_interleave(1)):
        y.add_(1)
    assert_close(x, torch.arange(6.).reshape(2, 3))
    assert x.contiguous() is x


def test_contiguous_makes_contiguous_copy():
    x = kindling.arange(6.).reshape(2, 3).t()
    assert not x.is_contiguous()
    y = x.contiguous()
    assert y.is_contiguous() and y.stride() == (2, 1)
    assert x.clone().stride() == torch.arange(6.).reshape(2, 3).t().clone().stride()


def test_view_of_noncontiguous_raises_like_torch():
    x = kindling.arange(6.).reshape(2, 3).t()
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        x.view(-1)
    assert x.reshape(-1).tolist() == [0, 3, 1, 4, 2, 5]


def test_inplace_through_view_of_saved_tensor_is_detected():
    a = kindling.randn(3, 3, requires_grad=True)
    b = a * 1
    y = (b * b).sum()
    b.t()[0].detach().add_(1)  # a view of b: shares its version counter
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_iter_uses_unbind():
    x = kindling.arange(6.).reshape(3, 2)
    rows = list(x)
    assert len(rows) == 3 and rows[1].tolist() == [2.0, 3.0]


# --- errors ------------------------------------------------------------------------------------
@pytest.mark.parametrize("fn,exc", [
    (lambda m, x: x.reshape(5, -1), RuntimeError),
    (lambda m, x: x.permute(0, 0), RuntimeError),
    (lambda m, x: x.permute(0), RuntimeError),
    (lambda m, x: x.transpose(0, 2), IndexError),
    (lambda m, x: x.unsqueeze(3), IndexError),
    (lambda m, x: x.expand(4), RuntimeError),
    (lambda m, x: x.expand(3, 3), RuntimeError),
    (lambda m, x: m.cat([x, x.t()]), RuntimeError),
    (lambda m, x: m.cat([x, x[0]]), RuntimeError),
    (lambda m, x: m.cat([]), ValueError),
    (lambda m, x: m.stack([x, x.t()]), RuntimeError),
    (lambda m, x: x.split([1, 3]), RuntimeError),
    (lambda m, x: x.narrow(0, 1, 3), RuntimeError),
    (lambda m, x: x.repeat(2), RuntimeError),
    (lambda m, x: x.unflatten(1, (2, 2)), RuntimeError),
    (lambda m, x: x.flatten(1, 0), RuntimeError),
    (lambda m, x: x.reshape(2, 3, 1).t(), RuntimeError),
    (lambda m, x: x.flip(0, 0), RuntimeError),
    (lambda m, x: x[0].diagonal(), IndexError),
    (lambda m, x: x.diagonal(0, 1, 1), RuntimeError),
    (lambda m, x: x.reshape(1, 2, 3).diag(), RuntimeError),
    (lambda m, x: x.chunk(0), RuntimeError),
    (lambda m, x: x.roll((1, 2), 0), RuntimeError),
    (lambda m, x: x.rot90(1, [0, 0]), RuntimeError),
])
def test_errors_like_torch(fn, exc):
    x = r(2, 3)
    with pytest.raises(exc):
        fn(torch, torch.tensor(x))
    with pytest.raises(exc) as info:
        fn(kindling, kindling.tensor(x))
    assert len(str(info.value)) > 10


def test_error_messages_name_the_shapes():
    x = kindling.zeros(2, 3)
    with pytest.raises(RuntimeError, match=r"Sizes of tensors must match except in dimension 0"):
        kindling.cat([x, kindling.zeros(2, 4)])
    with pytest.raises(RuntimeError, match=r"\[5, -1\] is invalid for input of size 6"):
        x.reshape(5, -1)


# --- pad (torch.nn.functional.pad) --------------------------------------------------------------
PADS = [
    ((1, 2), "constant", (2, 3)), ((1, 2, 0, 1), "constant", (2, 3)),
    ((-1, 2, 1, -1), "constant", (2, 3, 4)), ((2, 1, 1, 1, 1, 0), "constant", (2, 3, 4)),
    ((1, 2), "reflect", (2, 4)), ((1, 2), "reflect", (2, 3, 4)),
    ((2, 1, 1, 2), "reflect", (1, 3, 4)), ((2, 1, 1, 2), "reflect", (1, 2, 3, 4)),
    ((1, 1, 1, 1, 1, 1), "reflect", (1, 2, 3, 3, 3)), ((-1, 1), "reflect", (2, 4)),
    ((2, 3), "replicate", (2, 3)), ((1, 0, 3, 2), "replicate", (2, 2, 3)),
    ((1, 1, 2, 0, 0, 1), "replicate", (1, 2, 2, 2, 2)),
    ((1, 2), "circular", (1, 2, 4)), ((3, 1, 1, 2), "circular", (1, 2, 3, 3)),
]


@pytest.mark.parametrize("pads,mode,shape", PADS)
def test_pad_matches_torch(pads, mode, shape):
    check(lambda x: k_pad(x, pads, mode), lambda x: F_TORCH.pad(x, pads, mode), r(*shape))


def test_pad_constant_value_and_int():
    check(lambda x: k_pad(x, (1, 1), value=2.5), lambda x: F_TORCH.pad(x, (1, 1), value=2.5),
          r(2, 3))
    check(lambda x: k_pad(x, [0, 0, 2, 1], value=7),
          lambda x: F_TORCH.pad(x, [0, 0, 2, 1], value=7),
          np.arange(6).reshape(2, 3), grad=False)
    assert not hasattr(kindling, "pad")


@pytest.mark.parametrize("pads,mode,shape", [
    ((1,), "constant", (2, 3)), ((3, 0), "reflect", (2, 3)), ((1, 1, 1, 1), "reflect", (3, 4)),
    ((1, 1), "replicate", (4,)), ((5, 0), "circular", (1, 2, 3)),
])
def test_pad_errors(pads, mode, shape):
    x = r(*shape)
    with pytest.raises((RuntimeError, NotImplementedError)):
        F_TORCH.pad(torch.tensor(x), pads, mode)
    with pytest.raises((RuntimeError, NotImplementedError)):
        k_pad(kindling.tensor(x), pads, mode)


# --- property: random chains of shape ops -------------------------------------------------------
def _apply_chain(x, steps):
    for kind, arg in steps:
        n = x.dim()
        if n == 0:
            x = x.reshape(1)
            continue
        if kind == "reshape":
            x = x.reshape(-1) if arg % 2 else x.reshape(x.shape[0], -1) if x.numel() else x
        elif kind == "permute":
            perm = list(range(n))
            perm = perm[arg % n:] + perm[:arg % n]
            x = x.permute(*perm)
        elif kind == "flip":
            x = x.flip(arg % n)
        elif kind == "transpose":
            x = x.transpose(0, arg % n)
        elif kind == "unsqueeze":
            x = x.unsqueeze(arg % (n + 1))
        elif kind == "squeeze":
            x = x.squeeze()
        elif kind == "roll":
            x = x.roll(arg, arg % n)
        elif kind == "slice":
            x = x[::2] if arg % 2 else x[1:]
        elif kind == "cat":
            lib = torch if isinstance(x, torch.Tensor) else kindling
            x = lib.cat([x, x * 2], arg % n)
    return x


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 3), min_size=0, max_size=4),
       steps=st.lists(st.tuples(st.sampled_from(["reshape", "permute", "flip", "transpose",
                                                 "unsqueeze", "squeeze", "roll", "slice",
                                                 "cat"]),
                                st.integers(0, 5)), max_size=6))
def test_random_shape_chains(shape, steps):
    a = np.random.default_rng(len(steps)).standard_normal(shape).astype(np.float32)
    xk = kindling.tensor(a, requires_grad=True)
    xt = torch.tensor(a, requires_grad=True)
    yk, yt = _apply_chain(xk, steps), _apply_chain(xt, steps)
    assert_close(yk, yt)
    w = np.random.default_rng(1).standard_normal(tuple(yt.shape)).astype(np.float32)
    (yk * kindling.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    assert tuple(xk.grad.shape) == tuple(a.shape)
    assert_close(xk.grad, xt.grad)


@pytest.mark.parametrize("name,args", [("t_", ()), ("squeeze_", (1,)), ("squeeze_", ()),
                                       ("unsqueeze_", (0,)), ("transpose_", (0, 2)),
                                       ("swapaxes_", (1, 2)), ("swapdims_", (0, 1))])
def test_inplace_view_ops_match_torch(name, args):
    """The tensor itself becomes the view: same shape, values and gradients as torch."""
    shape = (3, 4) if name == "t_" else (2, 1, 3)
    a = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    res = []
    for m in (kindling, torch):
        w = m.tensor(a, requires_grad=True)
        x = w * 2
        out = getattr(x, name)(*args)
        assert out is x
        (x * m.tensor(np.arange(x.numel(), dtype=np.float32).reshape(tuple(x.shape)))).sum() \
            .backward()
        res.append((tuple(x.shape), x.detach().numpy().copy(), w.grad.numpy().copy()))
    assert res[0][0] == res[1][0]
    np.testing.assert_allclose(res[0][1], res[1][1])
    np.testing.assert_allclose(res[0][2], res[1][2])


def test_inplace_view_ops_count_as_inplace():
    for m in (kindling, torch):
        leaf = m.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            leaf.unsqueeze_(0)
        x = leaf * 1
        y = (x * x).sum()                       # saves x with its old shape
        x.t_() if x.dim() == 2 else x.unsqueeze_(0)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.backward()


@pytest.mark.parametrize("kw", [{}, {"n": 2}, {"dim": 0}, {"n": 3, "dim": 1},
                                {"dim": 1, "prepend": "p", "append": "a"}, {"n": 0}])
def test_diff_and_ravel_match_torch(kw):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 5)).astype(np.float32)
    extra = {}
    if "prepend" in kw:
        extra = {"prepend": rng.standard_normal((3, 2)).astype(np.float32),
                 "append": rng.standard_normal((3, 1)).astype(np.float32)}
    opts = {k: v for k, v in kw.items() if k not in ("prepend", "append")}

    def fn(m):
        return lambda a, *pa: m.diff(a, **opts, **dict(zip(extra, pa)))
    check(fn(kindling), fn(torch), x, *extra.values())
    check(lambda a: kindling.ravel(a.t()), lambda a: torch.ravel(a.t()), x)
    check(lambda a: a.t().ravel(), lambda a: a.t().ravel(), x)
    assert kindling.diff(kindling.tensor([1, 4, 9, 16])).tolist() == [3, 5, 7]


@pytest.mark.parametrize("shape,args", [((10,), (0, 3, 2)), ((2, 7, 4), (1, 3, 2)),
                                        ((2, 7, 4), (-1, 2, 1)), ((5,), (0, 5, 1)),
                                        ((), (0, 1, 1))])
def test_tensor_unfold_matches_torch(shape, args):
    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    check(lambda a: a.unfold(*args), lambda a: a.unfold(*args), x)   # overlapping windows add


def test_hsplit_vsplit_dsplit_split_with_sizes_sum_to_size_match_torch():
    x = np.arange(48, dtype=np.float32).reshape(2, 4, 6)
    for name, arg in (("hsplit", 2), ("hsplit", [1, 3]), ("vsplit", [1]), ("dsplit", 3)):
        k, t = getattr(kindling, name)(kindling.tensor(x), arg), \
            getattr(torch, name)(torch.tensor(x), arg)
        assert [p.tolist() for p in k] == [p.tolist() for p in t], name
    k = kindling.tensor(x).split_with_sizes([1, 2, 3], dim=2)
    t = torch.tensor(x).split_with_sizes([1, 2, 3], dim=2)
    assert [p.tolist() for p in k] == [p.tolist() for p in t]
    check(lambda a: a.sum_to_size(1, 4, 1), lambda a: a.sum_to_size(1, 4, 1), x)
    check(lambda a: a.sum_to_size((4, 6)), lambda a: a.sum_to_size((4, 6)), x)
    with pytest.raises(RuntimeError, match="not expandable"):
        kindling.ones(2, 3).sum_to_size(2)
    with pytest.raises(RuntimeError, match="at least 2 dimension"):
        kindling.vsplit(kindling.ones(4), 2)
    assert kindling.ones(2).is_cpu and torch.ones(2).is_cpu
