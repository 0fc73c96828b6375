"""Convolution, pooling, unfold/fold against PyTorch: forward, gradients, double backward."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings, strategies as st

import kindling
from kindling.ops import conv as C, pool as P
from oracle import check

RNG = np.random.default_rng(0)


def rand(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


CONV2D_CASES = [
    # (input shape, weight shape, kwargs)
    ((2, 3, 8, 8), (4, 3, 3, 3), {}),
    ((2, 3, 8, 7), (4, 3, 3, 2), {"stride": 2, "padding": 1}),
    ((1, 4, 9, 9), (6, 2, 3, 3), {"groups": 2, "dilation": 2, "padding": (2, 1)}),
    ((2, 4, 7, 7), (4, 1, 3, 3), {"groups": 4, "padding": 1}),          # depthwise
    ((2, 4, 7, 7), (8, 1, 3, 3), {"groups": 4, "stride": (2, 1)}),      # depthwise multiplier
    ((2, 5, 6, 6), (3, 5, 1, 1), {}),                                   # 1x1
    ((3, 8, 8), (2, 3, 3, 3), {"padding": "same"}),                     # unbatched, same
    ((1, 2, 7, 7), (2, 2, 4, 4), {"padding": "same"}),                  # same with even kernel
    ((1, 2, 7, 7), (2, 2, 3, 3), {"padding": "valid", "stride": 3}),
]


@pytest.mark.parametrize("xs,ws,kw", CONV2D_CASES)
def test_conv2d_matches_torch(xs, ws, kw):
    b = rand(ws[0])
    check(lambda x, w, bb: C.conv2d(x, w, bb, **kw), lambda x, w, bb: TF.conv2d(x, w, bb, **kw),
          rand(*xs), rand(*ws), b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("xs,ws,kw", [
    ((2, 3, 10), (4, 3, 3), {}),
    ((2, 4, 11), (4, 2, 3), {"stride": 2, "padding": 2, "dilation": 2, "groups": 2}),
    ((3, 9), (2, 3, 4), {"padding": "same"}),
])
def test_conv1d_matches_torch(xs, ws, kw):
    check(lambda x, w: C.conv1d(x, w, **kw), lambda x, w: TF.conv1d(x, w, **kw),
          rand(*xs), rand(*ws), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("xs,ws,kw", [
    ((2, 4, 5, 5), (4, 3, 3, 3), {}),
    ((2, 4, 5, 6), (4, 2, 3, 3), {"stride": 2, "padding": 1, "output_padding": 1}),
    ((1, 4, 4, 4), (4, 1, 3, 3), {"groups": 2, "stride": 2, "dilation": 2}),
    ((1, 4, 4, 4), (4, 3, 2, 2), {"stride": 2}),
])
def test_conv_transpose2d_matches_torch(xs, ws, kw):
    b = rand(ws[1] * kw.get("groups", 1))
    check(lambda x, w, bb: C.conv_transpose2d(x, w, bb, **kw),
          lambda x, w, bb: TF.conv_transpose2d(x, w, bb, **kw),
          rand(*xs), rand(*ws), b, rtol=1e-4, atol=1e-5)


def test_conv_transpose1d_matches_torch():
    kw = {"stride": 3, "padding": 1, "output_padding": 2}
    check(lambda x, w: C.conv_transpose1d(x, w, **kw),
          lambda x, w: TF.conv_transpose1d(x, w, **kw),
          rand(2, 3, 6), rand(3, 2, 4), rtol=1e-4, atol=1e-5)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 2), groups=st.sampled_from([1, 2]), cpg=st.integers(1, 2),
       opg=st.integers(1, 2), h=st.integers(3, 8), w=st.integers(3, 8), kh=st.integers(1, 3),
       kw=st.integers(1, 3), stride=st.integers(1, 3), pad=st.integers(0, 2),
       dil=st.integers(1, 2))
def test_conv2d_property_random_configurations(n, groups, cpg, opg, h, w, kh, kw, stride, pad,
                                                dil):
    if h + 2 * pad < dil * (kh - 1) + 1 or w + 2 * pad < dil * (kw - 1) + 1:
        return
    x, wt = rand(n, groups * cpg, h, w), rand(groups * opg, cpg, kh, kw)
    kwargs = dict(stride=stride, padding=pad, dilation=dil, groups=groups)
    check(lambda a, b: C.conv2d(a, b, **kwargs), lambda a, b: TF.conv2d(a, b, **kwargs),
          x, wt, rtol=1e-4, atol=1e-5)


def test_conv_gradcheck_and_double_backward():
    x = kindling.tensor(rand(1, 2, 5, 5, dtype=np.float64), requires_grad=True)
    w = kindling.tensor(rand(2, 1, 3, 3, dtype=np.float64), requires_grad=True)
    f = lambda a, b: C.conv2d(a, b, stride=2, padding=1, groups=2)  # noqa: E731
    assert kindling.autograd.gradcheck(f, (x, w))
    assert kindling.autograd.gradgradcheck(f, (x, w))
    g = lambda a, b: C.conv_transpose2d(a, b, stride=2, output_padding=1)  # noqa: E731
    w2 = kindling.tensor(rand(2, 3, 3, 3, dtype=np.float64), requires_grad=True)
    assert kindling.autograd.gradcheck(g, (x, w2))
    assert kindling.autograd.gradgradcheck(g, (x, w2))


def test_conv_double_backward_matches_torch():
    xa, wa = rand(2, 3, 6, 6, dtype=np.float64), rand(4, 3, 3, 3, dtype=np.float64)
    res = []
    for m, F in ((kindling, C), (torch, TF)):
        x = m.tensor(xa, requires_grad=True)
        w = m.tensor(wa, requires_grad=True)
        y = F.conv2d(x, w, padding=1)
        gx, = (kindling.autograd.grad if m is kindling else torch.autograd.grad)(
            (y * y).sum(), x, create_graph=True)
        (gx * gx).sum().backward()
        res.append((w.grad.detach().numpy(), x.grad.detach().numpy()))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-8)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-8)


# Each case takes a different kernel path (see kindling/ops/conv.py): the input gradient as a
# flipped-kernel convolution sharing its columns with the weight gradient (stride 1, C >= O),
# with groups, dilation and uneven padding; its fallbacks (padding past the kernel, O > C);
# im2col/col2im by column shifts (narrow outputs, tall kernels); large planes; strided col2im
# into a padded buffer.
@pytest.mark.parametrize("xs,ws,kw", [
    ((2, 4, 9, 9), (4, 4, 3, 3), {"padding": 1}),
    ((2, 6, 9, 8), (4, 3, 3, 3), {"groups": 2, "dilation": 2, "padding": (2, 1)}),
    ((2, 4, 6, 6), (2, 4, 3, 3), {"padding": 3}),
    ((2, 2, 9, 9), (6, 2, 5, 5), {}),
    ((2, 3, 7, 12), (3, 3, 5, 3), {"padding": (2, 0)}),
    ((2, 3, 18, 17), (3, 3, 3, 3), {"padding": 1}),
    ((2, 3, 20, 20), (4, 3, 3, 3), {"stride": 2, "padding": 1}),
    ((2, 5, 16, 16), (4, 5, 1, 1), {}),
])
def test_conv2d_kernel_paths_match_torch(xs, ws, kw):
    _check_conv2d_grads(xs, ws, kw)


def _check_conv2d_grads(xs, ws, kw):
    """Value and both gradients together against torch, then each gradient alone."""
    check(lambda x, w: C.conv2d(x, w, **kw), lambda x, w: TF.conv2d(x, w, **kw),
          rand(*xs), rand(*ws), rtol=1e-4, atol=1e-5)
    for needs in ((True, False), (False, True)):  # one gradient alone takes its own path
        xa, wa = rand(*xs), rand(*ws)
        xk, wk = (kindling.tensor(a, requires_grad=r) for a, r in zip((xa, wa), needs))
        xt, wt = (torch.tensor(a, requires_grad=r) for a, r in zip((xa, wa), needs))
        g = rand(*TF.conv2d(xt, wt, **kw).shape)
        (C.conv2d(xk, wk, **kw) * kindling.tensor(g)).sum().backward()
        (TF.conv2d(xt, wt, **kw) * torch.tensor(g)).sum().backward()
        for k, t in ((xk, xt), (wk, wt)):
            if t.requires_grad:
                np.testing.assert_allclose(k.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-4)


@pytest.fixture(params=[1, 2], ids=["chunks_of_1", "chunks_of_2"])
def sample_chunks(request, monkeypatch):
    """Force the chunked kernels (columns built a few samples at a time) on small inputs, as on
    one thread with columns too large for the cache; two samples per chunk of three leave a
    short last one."""
    monkeypatch.setattr(C, "_chunk_samples", lambda n, b: request.param)
    monkeypatch.setattr(C, "_SPLIT_MIN_BYTES", 1)
    monkeypatch.setattr(C.parallel, "ONE_THREAD_GEMM_MACS", 0)
    monkeypatch.setattr(C.parallel, "num_threads", lambda: 1)


# The chunked kernels: forward, both gradients in one pass (stride 1, flipped kernel, with
# groups, dilation, depthwise), the weight gradient rebuilding columns (strided, O > C, shifts).
@pytest.mark.parametrize("xs,ws,kw", [
    ((3, 4, 9, 9), (4, 4, 3, 3), {"padding": 1}),
    ((3, 6, 9, 8), (4, 3, 3, 3), {"groups": 2, "dilation": 2, "padding": (2, 1)}),
    ((3, 4, 7, 7), (4, 1, 3, 3), {"groups": 4, "padding": 1}),
    ((3, 2, 9, 9), (6, 2, 5, 5), {}),
    ((3, 3, 18, 17), (3, 3, 3, 3), {"padding": 1}),
    ((3, 3, 20, 20), (4, 3, 3, 3), {"stride": 2, "padding": 1}),
    ((3, 5, 16, 16), (4, 5, 1, 1), {}),
])
def test_conv2d_chunked_kernels_match_torch(sample_chunks, xs, ws, kw):
    _check_conv2d_grads(xs, ws, kw)


@pytest.fixture
def split_over_two_threads(monkeypatch):
    """Every convolution split across two threads, however small (parallel.split_batch)."""
    before = kindling.get_num_threads()
    kindling.set_num_threads(2)
    monkeypatch.setattr(C, "_SPLIT_MIN_BYTES", 1)
    monkeypatch.setattr(C.parallel, "ONE_THREAD_GEMM_MACS", 0)
    yield
    kindling.set_num_threads(before)


@pytest.mark.parametrize("xs,ws,kw", [
    ((3, 4, 9, 9), (4, 4, 3, 3), {"padding": 1}),
    ((4, 6, 9, 8), (4, 3, 3, 3), {"groups": 2, "dilation": 2, "padding": (2, 1)}),
    ((3, 3, 20, 20), (4, 3, 3, 3), {"stride": 2, "padding": 1}),
    ((5, 5, 16, 16), (4, 5, 1, 1), {"stride": 2}),
])
def test_conv2d_split_across_threads_matches_torch(split_over_two_threads, xs, ws, kw):
    from kindling.engine import parallel
    calls = []
    real = parallel._share_out

    def spy(fn, ranges, threads):
        calls.append(len(ranges))
        return real(fn, ranges, threads)
    parallel._share_out = spy
    try:
        _check_conv2d_grads(xs, ws, kw)
    finally:
        parallel._share_out = real
    if parallel._blas_controllers():  # the split needs control of BLAS's threads
        assert calls and all(parts >= 2 for parts in calls)


def test_conv_double_backward_chunked_matches_torch(sample_chunks):
    xa, wa = rand(3, 4, 6, 5, dtype=np.float64), rand(4, 2, 3, 3, dtype=np.float64)
    res = []
    for m, F in ((kindling, C), (torch, TF)):
        x, w = m.tensor(xa, requires_grad=True), m.tensor(wa, requires_grad=True)
        y = F.conv2d(x, w, padding=1, groups=2)
        gx, gw = (kindling.autograd.grad if m is kindling else torch.autograd.grad)(
            (y * y).sum(), (x, w), create_graph=True)
        ((gx * gx).sum() + (gw * gw).sum()).backward()
        res.append((gx.detach().numpy(), gw.detach().numpy(), w.grad.detach().numpy(),
                    x.grad.detach().numpy()))
    for k, t in zip(*res):
        np.testing.assert_allclose(k, t, rtol=1e-8, atol=1e-10)


def test_conv_double_backward_through_flipped_kernel_path():
    xa, wa = rand(2, 4, 6, 5, dtype=np.float64), rand(4, 2, 3, 3, dtype=np.float64)
    res = []
    for m, F in ((kindling, C), (torch, TF)):
        x, w = m.tensor(xa, requires_grad=True), m.tensor(wa, requires_grad=True)
        y = F.conv2d(x, w, padding=(1, 2), dilation=(1, 2), groups=2)
        gx, gw = (kindling.autograd.grad if m is kindling else torch.autograd.grad)(
            (y * y).sum(), (x, w), create_graph=True)
        ((gx * gx).sum() + (gw * gw).sum()).backward()
        res.append((w.grad.detach().numpy(), x.grad.detach().numpy()))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-8)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-8)


def test_conv_errors_are_clear():
    x = kindling.randn(1, 3, 5, 5)
    with pytest.raises(RuntimeError, match="conv2d: expected input with 4 channels"):
        C.conv2d(x, kindling.randn(2, 4, 3, 3))
    with pytest.raises(RuntimeError, match="divisible by groups"):
        C.conv2d(x, kindling.randn(2, 1, 3, 3), groups=2)
    with pytest.raises(RuntimeError, match="smaller than the kernel"):
        C.conv2d(x, kindling.randn(2, 3, 7, 7))
    with pytest.raises(RuntimeError, match="expected a 4-D weight"):
        C.conv2d(x, kindling.randn(2, 3, 3))
    with pytest.raises(RuntimeError, match="same dtype"):
        C.conv2d(x, kindling.randn(2, 3, 3, 3, dtype=kindling.float64))


@pytest.mark.parametrize("xs,kw", [
    ((2, 3, 8, 8), {"kernel_size": 2}),
    ((2, 3, 9, 7), {"kernel_size": 3, "stride": 2, "padding": 1}),
    ((1, 2, 9, 9), {"kernel_size": (3, 2), "stride": (2, 1), "dilation": 2}),
    ((1, 2, 8, 8), {"kernel_size": 3, "stride": 2, "ceil_mode": True}),
    ((2, 7, 7), {"kernel_size": 3, "stride": 1, "padding": 1}),   # unbatched, overlapping
])
def test_max_pool2d_matches_torch(xs, kw):
    check(lambda x: P.max_pool2d(x, **kw), lambda x: TF.max_pool2d(x, **kw), rand(*xs))
    check(lambda x: P.max_pool2d(x, return_indices=True, **kw)[1].float(),
          lambda x: TF.max_pool2d(x, return_indices=True, **kw)[1].float(), rand(*xs), grad=False)


def test_max_pool2d_ties_and_nan_pick_torch_indices():
    x = np.round(rand(2, 3, 8, 6)).astype(np.float32)  # many ties within windows
    x[0, 0, 0, 1] = x[1, 2, 5, 5] = np.nan
    x[0, 1, :2, :2] = -np.inf
    for kw in ({"kernel_size": 2}, {"kernel_size": (2, 3)}):
        out_k, idx_k = P.max_pool2d(kindling.tensor(x), return_indices=True, **kw)
        out_t, idx_t = TF.max_pool2d(torch.tensor(x), return_indices=True, **kw)
        np.testing.assert_array_equal(out_k.numpy(), out_t.numpy())
        np.testing.assert_array_equal(idx_k.numpy(), idx_t.numpy())


def test_max_pool1d_and_unpool_match_torch():
    kw = {"kernel_size": 3, "stride": 2, "padding": 1}
    check(lambda x: P.max_pool1d(x, **kw), lambda x: TF.max_pool1d(x, **kw), rand(2, 3, 10))

    def unpool(F, x):
        out, idx = F.max_pool2d(x, 2, return_indices=True)
        return F.max_unpool2d(out * 2, idx, 2)
    check(lambda x: unpool(P, x), lambda x: unpool(TF, x), rand(2, 3, 6, 6))

    def unpool1d(F, x):
        out, idx = F.max_pool1d(x, 2, return_indices=True)
        return F.max_unpool1d(out, idx, 2)
    check(lambda x: unpool1d(P, x), lambda x: unpool1d(TF, x), rand(2, 3, 8))


@pytest.mark.parametrize("xs,kw", [
    ((2, 3, 8, 8), {"kernel_size": 2}),
    ((2, 3, 9, 7), {"kernel_size": 3, "stride": 2, "padding": 1}),
    ((2, 3, 9, 7), {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}),
    ((1, 2, 8, 8), {"kernel_size": 3, "stride": 2, "ceil_mode": True}),
    ((1, 2, 8, 8), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True,
                    "count_include_pad": False}),
    ((1, 2, 6, 6), {"kernel_size": 2, "divisor_override": 3}),
])
def test_avg_pool2d_matches_torch(xs, kw):
    check(lambda x: P.avg_pool2d(x, **kw), lambda x: TF.avg_pool2d(x, **kw), rand(*xs),
          rtol=1e-5, atol=1e-6)


def test_avg_pool1d_matches_torch():
    kw = {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}
    check(lambda x: P.avg_pool1d(x, **kw), lambda x: TF.avg_pool1d(x, **kw), rand(2, 3, 11))


@pytest.mark.parametrize("size,out", [((8, 8), (1, 1)), ((7, 9), (3, 4)), ((5, 5), (5, 5)),
                                      ((6, 10), (4, 3)), ((6, 6), (None, 2))])
def test_adaptive_pools_match_torch(size, out):
    x = rand(2, 3, *size)
    check(lambda t: P.adaptive_avg_pool2d(t, out), lambda t: TF.adaptive_avg_pool2d(t, out), x,
          rtol=1e-5, atol=1e-6)
    check(lambda t: P.adaptive_max_pool2d(t, out), lambda t: TF.adaptive_max_pool2d(t, out), x)
    check(lambda t: P.adaptive_max_pool2d(t, out, True)[1].float(),
          lambda t: TF.adaptive_max_pool2d(t, out, True)[1].float(), x, grad=False)


def test_adaptive_1d_pools_match_torch():
    x = rand(2, 3, 10)
    check(lambda t: P.adaptive_avg_pool1d(t, 4), lambda t: TF.adaptive_avg_pool1d(t, 4), x,
          rtol=1e-5, atol=1e-6)
    check(lambda t: P.adaptive_max_pool1d(t, 3), lambda t: TF.adaptive_max_pool1d(t, 3), x)


@pytest.mark.parametrize("kw", [{"kernel_size": 2}, {"kernel_size": (2, 3), "stride": 2,
                                                      "padding": 1, "dilation": (1, 2)}])
def test_unfold_fold_match_torch(kw):
    x = rand(2, 3, 7, 8)
    check(lambda t: P.unfold(t, **kw), lambda t: TF.unfold(t, **kw), x)
    cols = TF.unfold(torch.tensor(x), **kw).numpy()
    check(lambda t: P.fold(t, (7, 8), **kw), lambda t: TF.fold(t, (7, 8), **kw), cols,
          rtol=1e-5, atol=1e-5)


def test_pool_gradcheck_and_double_backward():
    x = kindling.tensor(rand(1, 2, 6, 6, dtype=np.float64), requires_grad=True)
    for f in (lambda t: P.max_pool2d(t, 3, 2, 1), lambda t: P.avg_pool2d(t, 3, 2, 1),
              lambda t: P.adaptive_avg_pool2d(t, (4, 3)), lambda t: P.adaptive_max_pool2d(t, 2),
              lambda t: P.unfold(t, 2, stride=2)):
        assert kindling.autograd.gradcheck(f, (x,))
        assert kindling.autograd.gradgradcheck(f, (x,))


def test_pool_errors_are_clear():
    with pytest.raises(RuntimeError, match="pad should be at most half"):
        P.max_pool2d(kindling.randn(1, 1, 4, 4), 2, padding=2)
    with pytest.raises(RuntimeError, match="expected a 3-D .* or 4-D input"):
        P.max_pool2d(kindling.randn(4, 4), 2)
    with pytest.raises(RuntimeError, match="invalid max index"):
        P.max_unpool2d(kindling.randn(1, 1, 2, 2), kindling.tensor([[[[0, 1], [2, 99]]]]), 2)
