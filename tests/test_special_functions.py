"""The gamma family and torch.special against PyTorch (and, for float64 accuracy, mpmath at 40
digits): forward on dense grids, random inputs and edge values (0, -0, poles, negative
non-integers, large arguments, NaN, inf) in float32 and float64; gradients against torch;
gradcheck and gradgradcheck in float64; dtypes, shapes, in-place methods and error messages."""
import math

import numpy as np
import pytest
import torch
import torch.special as TS

import kindling as K
import kindling.special as KS
from kindling.autograd import gradcheck, gradgradcheck
from oracle import check

mpmath = pytest.importorskip("mpmath")

INF, NAN = math.inf, math.nan


def rng_for(name):
    return np.random.default_rng(sum(map(ord, name)))


def grid(lo, hi, n=401, avoid_integers=False):
    x = np.linspace(lo, hi, n)
    if avoid_integers:
        x = x[np.abs(x - np.round(x)) > 1e-3]
    return x


def compare(k, t, rtol, atol=0.0, what=""):
    """Values (NaN where torch has NaN, inf of the same sign where torch has inf), dtype and
    shape of a kindling result against torch's."""
    assert tuple(k.shape) == tuple(t.shape), f"{what}: shape {tuple(k.shape)} vs {tuple(t.shape)}"
    assert str(k.dtype) == str(t.dtype), f"{what}: dtype {k.dtype} vs torch {t.dtype}"
    np.testing.assert_allclose(k.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=atol,
                               err_msg=what)


# name, kindling fn, torch fn, random domain (lo, hi, avoid integers), float64 rtol/atol vs
# torch (torch's own float64 kernels are the looser side: its trigamma and igamma are good to
# ~1e-9), differentiable
UNARY = [
    ("lgamma", K.lgamma, torch.lgamma, (-6.0, 12.0, True), (1e-12, 1e-13), True),
    ("gammaln", KS.gammaln, TS.gammaln, (0.05, 40.0, False), (1e-12, 1e-13), True),
    ("digamma", K.digamma, torch.digamma, (-6.0, 12.0, True), (1e-12, 1e-12), True),
    ("psi", KS.psi, TS.psi, (0.05, 30.0, False), (1e-12, 1e-12), True),
    ("trigamma", lambda x: K.polygamma(1, x), lambda x: torch.polygamma(1, x),
     (-5.0, 10.0, True), (1e-8, 0.0), True),
    ("polygamma2", lambda x: K.polygamma(2, x), lambda x: torch.polygamma(2, x),
     (-5.0, 10.0, True), (1e-11, 0.0), True),
    ("polygamma3", lambda x: K.special.polygamma(3, x), lambda x: TS.polygamma(3, x),
     (0.1, 10.0, False), (1e-11, 0.0), True),
    ("mvlgamma3", lambda x: K.mvlgamma(x, 3), lambda x: torch.mvlgamma(x, 3),
     (1.1, 15.0, False), (1e-12, 1e-12), True),
    ("multigammaln2", lambda x: KS.multigammaln(x, 2), lambda x: TS.multigammaln(x, 2),
     (0.6, 15.0, False), (1e-12, 1e-12), True),
    ("i0", K.i0, torch.i0, (-20.0, 20.0, False), (1e-13, 0.0), True),
    ("i0e", KS.i0e, TS.i0e, (-30.0, 30.0, False), (1e-13, 0.0), True),
    ("i1", KS.i1, TS.i1, (-20.0, 20.0, False), (1e-13, 0.0), True),
    ("i1e", KS.i1e, TS.i1e, (-30.0, 30.0, False), (1e-13, 0.0), True),
    ("erfcx", KS.erfcx, TS.erfcx, (-5.0, 30.0, False), (1e-13, 0.0), True),
    ("ndtr", KS.ndtr, TS.ndtr, (-12.0, 8.0, False), (1e-12, 1e-16), True),  # torch: 0 below -8
    ("ndtri", KS.ndtri, TS.ndtri, (0.001, 0.999, False), (1e-12, 1e-15), True),
    ("log_ndtr", KS.log_ndtr, TS.log_ndtr, (-30.0, 8.0, False), (1e-12, 0.0), True),
    ("entr", KS.entr, TS.entr, (0.01, 5.0, False), (1e-13, 1e-15), True),
    ("erf", KS.erf, TS.erf, (-4.0, 4.0, False), (1e-13, 1e-15), True),
    ("erfc", KS.erfc, TS.erfc, (-4.0, 6.0, False), (1e-13, 0.0), True),
    ("erfinv", KS.erfinv, TS.erfinv, (-0.99, 0.99, False), (1e-12, 1e-15), True),
    ("expit", KS.expit, TS.expit, (-10.0, 10.0, False), (1e-13, 0.0), True),
    ("logit", KS.logit, TS.logit, (0.01, 0.99, False), (1e-13, 1e-14), True),
    ("sinc", KS.sinc, TS.sinc, (-4.0, 4.0, False), (1e-12, 1e-14), True),
    ("exp2", KS.exp2, TS.exp2, (-4.0, 4.0, False), (1e-13, 0.0), True),
    ("expm1", KS.expm1, TS.expm1, (-3.0, 3.0, False), (1e-13, 0.0), True),
    ("log1p", KS.log1p, TS.log1p, (-0.9, 4.0, False), (1e-13, 0.0), True),
    ("round", KS.round, TS.round, (-4.0, 4.0, True), (0.0, 0.0), False),
]
IDS = [u[0] for u in UNARY]
# float32: PyTorch's float32 kernels are a few ulp (and its float32 Bessel/trigamma a bit more)
# from the correctly rounded results kindling returns
F32 = dict(rtol=1e-5, atol=1e-6)


def sample(domain, rng, n, dtype):
    lo, hi, avoid = domain
    x = rng.uniform(lo, hi, n)
    if avoid:
        x = np.where(np.abs(x - np.round(x)) < 0.05, x + 0.25, x)
    return x.astype(dtype)


@pytest.mark.parametrize("name,kf,tf,domain,tol,diff", UNARY, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_forward_and_gradient_match_torch(name, kf, tf, domain, tol, diff, dtype):
    lo, hi, avoid = domain
    dense = grid(lo, hi, avoid_integers=avoid)
    x = np.concatenate([dense, sample(domain, rng_for(name), 200, np.float64)]).astype(dtype)
    if dtype == np.float64:
        rtol, atol = tol
        check(kf, tf, x, rtol=rtol, atol=atol, grad=False)
        if diff:
            # gradients: torch's float64 derivative kernels are the same accuracy class
            check(kf, tf, x, rtol=max(rtol, 1e-9) / 10, atol=max(atol, 1e-12) / 10)
    else:
        # torch's float32 trigamma reduces sin(pi x) in float32: ~1e-5 relative near the poles
        loose = name.startswith(("trigamma", "polygamma")) and lo < 0
        check(kf, tf, x, grad=diff, **(dict(rtol=1e-4, atol=1e-6) if loose else F32))


_OWN_FLOAT32 = ("round", "logit", "sinc")  # existing ops evaluating in float32 themselves


@pytest.mark.parametrize("name,kf,tf,domain,tol,diff",
                         [u for u in UNARY if u[0] not in _OWN_FLOAT32],
                         ids=[u for u in IDS if u not in _OWN_FLOAT32])
def test_float32_is_the_float64_result_rounded(name, kf, tf, domain, tol, diff):
    """The kernels evaluate in float64: a float32 result is the float64 one rounded (within an
    ulp: erf / erfc / expit / ... evaluate in float32 themselves)."""
    x32 = sample(domain, rng_for(name + "32"), 300, np.float32)
    k32 = kf(K.tensor(x32)).numpy()
    k64 = kf(K.tensor(x32.astype(np.float64))).numpy()
    assert k32.dtype == np.float32
    np.testing.assert_allclose(k32, k64.astype(np.float32), rtol=4e-7, atol=1e-30)


@pytest.mark.parametrize("name,kf,tf,domain,tol,diff", [u for u in UNARY if u[5]], ids=[
    u[0] for u in UNARY if u[5]])
def test_gradcheck(name, kf, tf, domain, tol, diff):
    x = K.tensor(sample(domain, rng_for(name + "gc"), (2, 3), np.float64), requires_grad=True)
    assert gradcheck(kf, (x,))


@pytest.mark.parametrize("name", ["lgamma", "digamma", "trigamma", "polygamma3", "mvlgamma3",
                                  "i0", "i0e", "i1", "i1e", "erfcx", "ndtri", "log_ndtr"])
def test_gradgradcheck(name):
    _, kf, _, domain, _, _ = UNARY[IDS.index(name)]
    x = K.tensor(sample(domain, rng_for(name + "ggc"), (5,), np.float64), requires_grad=True)
    assert gradgradcheck(kf, (x,))


def test_second_derivatives_match_torch():
    x = np.array([0.3, 1.7, 4.2, -1.5, 9.0])
    for kf, tf in ((K.lgamma, torch.lgamma), (K.digamma, torch.digamma),
                   (K.i0, torch.i0), (lambda v: K.polygamma(2, v),
                                      lambda v: torch.polygamma(2, v))):
        xk = K.tensor(x, requires_grad=True)
        xt = torch.tensor(x, requires_grad=True)
        gk, = K.autograd.grad(kf(xk).sum(), xk, create_graph=True)
        gt, = torch.autograd.grad(tf(xt).sum(), xt, create_graph=True)
        ggk, = K.autograd.grad(gk.sum(), xk)
        ggt, = torch.autograd.grad(gt.sum(), xt)
        compare(ggk, ggt, 1e-8)


# --- edge values ------------------------------------------------------------------------------
EDGES = np.array([0.0, -0.0, 1.0, 2.0, -1.0, -2.0, -3.0, -0.5, -2.5, -7.25, 0.5, 1e-300, 1e-30,
                  5e-324, 1e10, 1e300, 1.7e308, -1e20, -1e4 - 0.5, INF, -INF, NAN])


@pytest.mark.parametrize("name", ["lgamma", "digamma", "polygamma2", "polygamma3", "mvlgamma3",
                                  "i0e", "i1e", "erfcx", "log_ndtr", "entr"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_edge_values_match_torch(name, dtype):
    """Poles, signed zeros, huge and tiny arguments, NaN and inf: the same inf / NaN pattern as
    torch and close values elsewhere."""
    _, kf, tf, _, tol, _ = UNARY[IDS.index(name)]
    with np.errstate(over="ignore"):
        x = EDGES.astype(dtype)
    if name.startswith("polygamma"):  # torch: NaN at +inf and 1e300 (see the departures test)
        x = x[~(x >= 1e300)]
    k, t = kf(K.tensor(x)), tf(torch.tensor(x))
    kn, tn = k.numpy(), t.numpy()
    np.testing.assert_array_equal(np.isnan(kn), np.isnan(tn), err_msg=f"{name}: NaN pattern")
    np.testing.assert_array_equal(np.isposinf(kn), np.isposinf(tn), err_msg=f"{name}: +inf")
    np.testing.assert_array_equal(np.isneginf(kn), np.isneginf(tn), err_msg=f"{name}: -inf")
    rtol = tol[0] if dtype == np.float64 else F32["rtol"]
    finite = np.isfinite(tn)
    np.testing.assert_allclose(kn[finite], tn[finite], rtol=max(rtol, 1e-12), atol=1e-300)
    assert str(k.dtype) == str(t.dtype)


def test_pole_and_signed_zero_values():
    x = K.tensor([0.0, -0.0, -1.0, -4.0, -INF, INF], dtype=K.float64)
    assert K.lgamma(x).tolist() == [INF, INF, INF, INF, INF, INF]
    d = K.digamma(x).numpy()
    assert d[0] == -INF and d[1] == INF and np.isnan(d[2:5]).all() and d[5] == INF
    assert K.polygamma(1, x).numpy()[[0, 1, 5]].tolist() == [INF, INF, 0.0]
    assert np.isnan(K.polygamma(1, x).numpy()[4])
    assert K.polygamma(2, x).numpy()[:5].tolist() == [-INF] * 5
    assert K.polygamma(3, x).numpy()[:5].tolist() == [INF] * 5


def test_documented_departures_from_torch_artifacts():
    """Where torch's kernel returns a rounding artifact, kindling returns the limit: trigamma at
    negative integers (torch: ~1e32 from sin(pi x) != 0), polygamma(n >= 2, +inf) and zeta(s,
    +inf) (torch: NaN, the limit is 0), I0 / I1 at +-inf (torch: NaN from inf / inf)."""
    x = np.array([-1.0, -3.0])
    assert (torch.polygamma(1, torch.tensor(x)).numpy() > 1e30).all()
    assert K.polygamma(1, K.tensor(x)).tolist() == [INF, INF]
    assert np.isnan(torch.polygamma(2, torch.tensor([INF])).item())
    assert K.polygamma(2, K.tensor([INF])).tolist() == [0.0]
    assert KS.zeta(K.tensor([2.0]), K.tensor([INF])).tolist() == [0.0]
    assert np.isnan(torch.i0(torch.tensor([INF])).item())
    assert K.i0(K.tensor([INF, -INF])).tolist() == [INF, INF]
    assert KS.i1(K.tensor([INF, -INF])).tolist() == [INF, -INF]


# --- float64 accuracy against mpmath -------------------------------------------------------------
def _mp(f, xs):
    with mpmath.workdps(40):
        return np.array([float(f(mpmath.mpf(float(v)))) for v in xs])


def _rel_err(k, r):
    return np.abs(k - r) / np.maximum(np.abs(r), 1e-300)


@pytest.mark.parametrize("name,kf,mf,xs,rtol,atol", [
    ("lgamma", K.lgamma, lambda v: mpmath.log(abs(mpmath.gamma(v))),
     np.r_[grid(-30, 30, 600, True), np.geomspace(1e-30, 1e300, 200)], 1e-14, 1e-14),
    ("digamma", K.digamma, mpmath.digamma,
     np.r_[grid(-30, 30, 600, True), np.geomspace(1e-30, 1e300, 200)], 1e-14, 2e-15),
    ("trigamma", lambda v: K.polygamma(1, v), lambda v: mpmath.polygamma(1, v),
     np.r_[grid(-30, 30, 600, True), np.geomspace(1e-30, 1e100, 200)], 1e-14, 0.0),
    ("polygamma4", lambda v: K.polygamma(4, v), lambda v: mpmath.polygamma(4, v),
     np.r_[grid(-10, 30, 400, True), np.geomspace(1e-5, 1e30, 100)], 1e-14, 0.0),
    ("i0", K.i0, lambda v: mpmath.besseli(0, v), grid(-700, 700, 801), 1e-14, 0.0),
    ("i1", KS.i1, lambda v: mpmath.besseli(1, v), grid(-700, 700, 801), 1e-14, 0.0),
    ("i1e", KS.i1e, lambda v: mpmath.besseli(1, v) * mpmath.exp(-abs(v)),
     np.r_[grid(-50, 50, 401), np.geomspace(1e-10, 1e10, 50)], 1e-14, 0.0),
    ("erfcx", KS.erfcx, lambda v: mpmath.exp(v * v) * mpmath.erfc(v),
     np.r_[grid(-26, 30, 561), np.geomspace(30, 1e150, 50)], 1e-14, 0.0),
    ("log_ndtr", KS.log_ndtr,
     lambda v: mpmath.log(mpmath.ncdf(v)) if v < 0 else mpmath.log1p(-mpmath.ncdf(-v)),
     np.r_[grid(-1e3, -40, 50), grid(-40, 12, 521)], 1e-13, 0.0),
])
def test_float64_accuracy_against_mpmath(name, kf, mf, xs, rtol, atol):
    k = kf(K.tensor(xs)).numpy()
    r = _mp(mf, xs)
    err = np.abs(k - r)
    bad = err > rtol * np.abs(r) + atol
    assert not bad.any(), (f"{name}: worst at x={xs[bad][np.argmax(err[bad])]!r}: "
                           f"{k[bad][np.argmax(err[bad])]!r} vs {r[bad][np.argmax(err[bad])]!r}")


def test_ndtri_accuracy_and_round_trip():
    p = np.r_[np.geomspace(1e-300, 0.49, 40), 0.5 - np.geomspace(1e-15, 0.2, 10), 0.5,
              1 - np.geomspace(1e-16, 0.4, 20)]
    with mpmath.workdps(700):  # erfinv(1 - 2p) needs the digits for p ~ 1e-300
        r = np.array([float(mpmath.sqrt(2) * mpmath.erfinv(2 * mpmath.mpf(float(v)) - 1))
                      for v in p])
    k = KS.ndtri(K.tensor(p)).numpy()
    np.testing.assert_allclose(k, r, rtol=4e-15, atol=1e-300)
    assert KS.ndtri(K.tensor([0.0, 1.0, -0.1, 1.5, NAN])).numpy()[:2].tolist() == [-INF, INF]
    assert np.isnan(KS.ndtri(K.tensor([-0.1, 1.5, NAN])).numpy()).all()
    x = K.tensor(np.linspace(-8, 5, 101))  # above 5, 1 - Phi keeps few digits
    np.testing.assert_allclose(KS.ndtri(KS.ndtr(x)).numpy(), x.numpy(), atol=1e-7)


def test_zeta_matches_mpmath_and_torch():
    rng = rng_for("zeta")
    s = np.r_[rng.uniform(1.01, 12, 300), np.arange(2, 12, dtype=float)]
    q = np.r_[rng.uniform(0.01, 50, 300), -np.arange(2, 12, dtype=float) - 0.37]
    with mpmath.workdps(40):
        r = np.array([float(mpmath.zeta(mpmath.mpf(a), mpmath.mpf(b))) for a, b in zip(s, q)])
    k = KS.zeta(K.tensor(s), K.tensor(q)).numpy()
    np.testing.assert_allclose(k, r, rtol=1e-14)
    edge_s = np.array([2.0, 1.0, 0.5, 3.0, 3.0, 3.0, 2.5, NAN, 2.0])
    edge_q = np.array([1.0, 1.0, 1.0, 0.0, -1.0, -1.5, -1.5, 1.0, NAN])
    for dtype in (np.float32, np.float64):
        compare(KS.zeta(K.tensor(edge_s.astype(dtype)), K.tensor(edge_q.astype(dtype))),
                TS.zeta(torch.tensor(edge_s.astype(dtype)), torch.tensor(edge_q.astype(dtype))),
                1e-6 if dtype == np.float32 else 1e-13)
    compare(KS.zeta(2.0, K.tensor([3.0, 0.5])), TS.zeta(2.0, torch.tensor([3.0, 0.5])), 1e-6)


def test_zeta_gradient_in_q_and_not_in_s():
    s = np.array([2.0, 3.5, 5.0])
    q = np.array([0.7, 2.0, 11.0])
    check(lambda a: KS.zeta(K.tensor(s), a), lambda a: TS.zeta(torch.tensor(s), a), q,
          rtol=1e-12, atol=0)
    qk = K.tensor(q, requires_grad=True)
    assert gradcheck(lambda v: KS.zeta(K.tensor(s), v), (qk,))
    sk = K.tensor(s, requires_grad=True)
    with pytest.raises(NotImplementedError, match="the derivative for 'zeta' is not implemented"):
        KS.zeta(sk, K.tensor(q)).sum().backward()


# --- polygamma and mvlgamma arguments --------------------------------------------------------
@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, 8])
def test_polygamma_orders_match_torch(n):
    x = np.r_[grid(-4, 12, 161, True), np.geomspace(1e-3, 1e6, 40)]
    check(lambda v: K.polygamma(n, v), lambda v: torch.polygamma(n, v), x, rtol=1e-8, atol=0)
    check(lambda v: v.polygamma(n), lambda v: v.polygamma(n), x.astype(np.float32), **F32)


def test_polygamma_and_mvlgamma_errors_match_torch():
    x = K.tensor([1.0])
    with pytest.raises(RuntimeError, match=r"polygamma\(n, x\) does not support negative n"):
        K.polygamma(-1, x)
    with pytest.raises(TypeError, match="polygamma: expected an int n"):
        K.polygamma(1.5, x)
    with pytest.raises(RuntimeError, match="p has to be greater than or equal to 1"):
        K.mvlgamma(x, 0)
    with pytest.raises(RuntimeError, match="p has to be greater than or equal to 1"):
        torch.mvlgamma(torch.tensor([1.0]), 0)


@pytest.mark.parametrize("p", [1, 2, 4, 7])
def test_mvlgamma_dimensions_match_torch(p):
    x = np.r_[grid((p - 1) / 2 + 0.01, 20, 101), -0.25, 0.5]
    check(lambda v: K.mvlgamma(v, p), lambda v: torch.mvlgamma(v, p), x, rtol=1e-12, atol=1e-12)
    check(lambda v: v.mvlgamma(p), lambda v: v.mvlgamma(p), x.astype(np.float32), **F32)


# --- igamma / igammac ------------------------------------------------------------------------
def _gamma_grid():
    a = np.geomspace(0.01, 1e4, 41)
    ratio = np.r_[np.geomspace(1e-3, 0.9, 12), 1.0, np.geomspace(1.1, 30, 12)]
    aa, rr = np.meshgrid(a, ratio)
    return aa.ravel(), (aa * rr).ravel()


@pytest.mark.parametrize("name,kf,tf,mp_upper", [
    ("igamma", K.igamma, torch.igamma, False), ("igammac", K.igammac, torch.igammac, True),
    ("gammainc", KS.gammainc, TS.gammainc, False), ("gammaincc", KS.gammaincc, TS.gammaincc,
                                                     True)])
def test_incomplete_gamma_matches_torch_and_mpmath(name, kf, tf, mp_upper):
    a, x = _gamma_grid()
    k = kf(K.tensor(a), K.tensor(x)).numpy()
    t = tf(torch.tensor(a), torch.tensor(x)).numpy()
    np.testing.assert_allclose(k, t, rtol=1e-7, atol=1e-300)  # torch's own error: ~2e-9
    sel = np.arange(0, a.size, 7)
    with mpmath.workdps(40):
        if mp_upper:
            r = [mpmath.gammainc(mpmath.mpf(u), mpmath.mpf(v), mpmath.inf, regularized=True)
                 for u, v in zip(a[sel], x[sel])]
        else:
            r = [mpmath.gammainc(mpmath.mpf(u), 0, mpmath.mpf(v), regularized=True)
                 for u, v in zip(a[sel], x[sel])]
    np.testing.assert_allclose(k[sel], np.array(r, dtype=float), rtol=1e-12, atol=1e-300)
    k32 = kf(K.tensor(a.astype(np.float32)), K.tensor(x.astype(np.float32)))
    t32 = tf(torch.tensor(a.astype(np.float32)), torch.tensor(x.astype(np.float32)))
    compare(k32, t32, rtol=2e-4, atol=1e-6)  # float32 a, x: the value is ill conditioned at a ~ x


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_incomplete_gamma_edges_match_torch(dtype):
    a = np.array([0.0, 0.0, 1.0, 1.0, -1.0, INF, 2.0, NAN, 0.0, 2.0, 3.0, 1.0, INF])
    x = np.array([0.0, 1.0, 0.0, INF, 1.0, 2.0, -1.0, 1.0, INF, INF, NAN, -INF, INF])
    for kf, tf in ((K.igamma, torch.igamma), (K.igammac, torch.igammac)):
        compare(kf(K.tensor(a.astype(dtype)), K.tensor(x.astype(dtype))),
                tf(torch.tensor(a.astype(dtype)), torch.tensor(x.astype(dtype))), 1e-6)


def test_incomplete_gamma_broadcasts_and_differentiates_in_x_only():
    a = np.array([[0.5], [2.0], [7.5]])
    x = np.array([0.3, 1.0, 4.0, 12.0])
    for kf, tf in ((K.igamma, torch.igamma), (K.igammac, torch.igammac)):
        check(lambda v: kf(K.tensor(a), v), lambda v: tf(torch.tensor(a), v), x, rtol=1e-11,
              atol=1e-14)
        xk = K.tensor(x, requires_grad=True)
        assert gradcheck(lambda v: kf(K.tensor(a), v), (xk,))
        assert gradgradcheck(lambda v: kf(K.tensor(a), v), (xk,))
    ak = K.tensor(a, requires_grad=True)
    for kf, name in ((K.igamma, "igamma"), (K.igammac, "igammac")):
        with pytest.raises(NotImplementedError,
                           match=f"the derivative for '{name}: input' is not implemented"):
            kf(ak, K.tensor(x)).sum().backward()
    with pytest.raises(RuntimeError, match=r"igamma: shapes \(3,\) and \(4,\)"):
        K.igamma(K.tensor([1.0, 2.0, 3.0]), K.tensor(x))


def test_igamma_plus_igammac_is_one_and_large_a_is_fast():
    rng = rng_for("sum")
    a = np.exp(rng.uniform(-4, 13, 2000))  # up to a ~ 4e5
    x = a * np.exp(rng.normal(0, 0.05, 2000))  # near the transition x ~ a: the slow region
    p = K.igamma(K.tensor(a), K.tensor(x)).numpy()
    q = K.igammac(K.tensor(a), K.tensor(x)).numpy()
    np.testing.assert_allclose(p + q, 1.0, atol=1e-13)
    assert ((p >= 0) & (p <= 1)).all()


# --- xlog1py, entr and the reused ops -------------------------------------------------------
def test_xlog1py_matches_torch():
    rng = rng_for("xlog1py")
    x, y = rng.normal(size=(3, 4)), rng.uniform(-0.9, 3, (4,))
    check(KS.xlog1py, TS.xlog1py, x, y, rtol=1e-12, atol=1e-14)
    check(KS.xlog1py, TS.xlog1py, x.astype(np.float32), y.astype(np.float32), **F32)
    xe = np.array([0.0, 0.0, 0.0, 1.0, 2.0])
    ye = np.array([-1.0, NAN, -2.0, -1.0, INF])
    compare(KS.xlog1py(K.tensor(xe), K.tensor(ye)), TS.xlog1py(torch.tensor(xe),
                                                               torch.tensor(ye)), 0)
    compare(KS.xlog1py(2, K.tensor(y)), TS.xlog1py(2, torch.tensor(y)), 1e-13)
    compare(KS.xlog1py(K.tensor(y), 0.5), TS.xlog1py(torch.tensor(y), 0.5), 1e-13)
    xk, yk = K.tensor(x, requires_grad=True), K.tensor(y, requires_grad=True)
    assert gradcheck(KS.xlog1py, (xk, yk))
    assert gradgradcheck(KS.xlog1py, (xk, yk))
    # gradient w.r.t. x at x == 0 and y <= -1 is 0, as torch
    xz = np.array([0.0, 0.0, 1.0])
    yz = np.array([-1.0, -3.0, 1.0])
    check(KS.xlog1py, TS.xlog1py, xz, yz, rtol=1e-12, atol=0)


def test_entr_edges_and_gradient_match_torch():
    x = np.array([-1.0, 0.0, 0.5, 1.0, 3.0, INF, NAN])
    compare(KS.entr(K.tensor(x)), TS.entr(torch.tensor(x)), 1e-14)
    xk, xt = K.tensor(x[2:5], requires_grad=True), torch.tensor(x[2:5], requires_grad=True)
    KS.entr(xk).sum().backward()
    TS.entr(xt).sum().backward()
    compare(xk.grad, xt.grad, 1e-14)


def test_softmax_family_and_round_match_torch():
    x = rng_for("softmax").normal(size=(3, 5)).astype(np.float32)
    check(lambda v: KS.softmax(v, 1), lambda v: TS.softmax(v, 1), x)
    check(lambda v: KS.log_softmax(v, 0), lambda v: TS.log_softmax(v, 0), x)
    check(lambda v: KS.softmax(v, -1, dtype=K.float64),
          lambda v: TS.softmax(v, -1, dtype=torch.float64), x)
    check(lambda v: KS.logsumexp(v, 1, keepdim=True), lambda v: TS.logsumexp(v, 1, keepdim=True),
          x)
    check(lambda v: KS.round(v, decimals=1), lambda v: TS.round(v, decimals=1), x, grad=False)
    check(lambda v: KS.logit(v, eps=0.1), lambda v: TS.logit(v, eps=0.1),
          np.float32([0.05, 0.3, 0.95]))
    check(KS.xlogy, TS.xlogy, np.float32([0.0, 1.0, 2.0]), np.float32([0.0, 2.0, 3.0]))


def test_torch_special_names_are_all_provided():
    names = ["gammaln", "digamma", "psi", "polygamma", "multigammaln", "i0", "i0e", "i1", "i1e",
             "gammainc", "gammaincc", "erf", "erfc", "erfcx", "erfinv", "ndtr", "ndtri",
             "log_ndtr", "expit", "logit", "xlogy", "xlog1py", "entr", "sinc", "round",
             "softmax", "log_softmax", "logsumexp", "exp2", "expm1", "log1p", "zeta"]
    for name in names:
        assert hasattr(TS, name) and callable(getattr(KS, name)), name
    assert set(names) <= set(KS.__all__)
    assert K.special is KS


# --- dtypes, shapes, methods, in-place -------------------------------------------------------
@pytest.mark.parametrize("name", ["lgamma", "digamma", "i0"])
def test_integer_inputs_and_zero_dim_like_torch(name):
    kf, tf = getattr(K, name), getattr(torch, name)
    compare(kf(K.tensor([1, 2, 5])), tf(torch.tensor([1, 2, 5])), 1e-6)
    compare(kf(K.tensor(3.5)), tf(torch.tensor(3.5)), 1e-6)
    compare(kf(K.tensor(np.zeros((2, 0)))), tf(torch.tensor(np.zeros((2, 0)))), 0)
    assert kf(K.tensor(3.5)).numpy().dtype == np.float32


def test_methods_and_inplace_methods_match_torch():
    x = np.array([0.7, 1.3, 2.9, 6.0], dtype=np.float32)
    a = np.array([0.5, 2.0, 3.0, 4.0], dtype=np.float32)
    cases = [("lgamma", ()), ("digamma", ()), ("polygamma", (2,)), ("mvlgamma", (2,)),
             ("i0", ())]
    for name, args in cases:
        k, t = K.tensor(x), torch.tensor(x)
        compare(getattr(k, name)(*args), getattr(t, name)(*args), 1e-5, what=name)
        rk, rt = getattr(k, name + "_")(*args), getattr(t, name + "_")(*args)
        assert rk is k
        compare(k, t, 1e-5, what=name + "_")
    for name in ("igamma", "igammac"):
        k, t = K.tensor(a), torch.tensor(a)
        compare(getattr(k, name)(K.tensor(x)), getattr(t, name)(torch.tensor(x)), 1e-5)
        getattr(k, name + "_")(K.tensor(x))
        getattr(t, name + "_")(torch.tensor(x))
        compare(k, t, 1e-5, what=name + "_")


def test_inplace_keeps_the_gradient_chain():
    base = K.tensor([0.7, 1.3, 2.9], dtype=K.float64, requires_grad=True)
    y = base * 2
    y.lgamma_()
    y.sum().backward()
    bt = torch.tensor([0.7, 1.3, 2.9], dtype=torch.float64, requires_grad=True)
    yt = bt * 2
    yt.lgamma_()
    yt.sum().backward()
    compare(base.grad, bt.grad, 1e-12)


def test_broadcast_gradient_shapes():
    x = K.tensor(np.full((1, 3), 1.5), requires_grad=True)
    n = K.polygamma(1, x.expand(4, 3))
    n.sum().backward()
    assert x.grad.shape == (1, 3)
    np.testing.assert_allclose(x.grad.numpy(), 4 * K.polygamma(2, K.tensor(np.full((1, 3), 1.5)))
                               .numpy(), rtol=1e-13)
