"""Elementwise ops against PyTorch: a registry of every op with the input domain its tests
sample (away from kinks and domain edges), iterated by forward/gradient/dtype/gradcheck tests."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import kindling as K
from kindling.autograd import gradcheck, gradgradcheck
from oracle import check, assert_close


def sample(domain, shape, rng, dtype=np.float32):
    """Uniform in (lo, hi), at least `margin` away from every kink."""
    lo, hi = domain[0], domain[1]
    kinks = domain[2] if len(domain) > 2 else ()
    margin = domain[3] if len(domain) > 3 else 0.1
    x = rng.uniform(lo, hi, shape)
    for _ in range(100):
        bad = np.zeros(np.shape(x), dtype=bool)
        for k in kinks:
            bad |= np.abs(x - k) < margin
        if not bad.any():
            break
        x = np.where(bad, rng.uniform(lo, hi, np.shape(x)), x)
    return np.asarray(x, dtype=dtype)


HALF_INTEGERS = tuple(np.arange(-4, 4.5, 0.5))
WIDE = (-3.0, 3.0)
POS = (0.2, 4.0)
NONZERO = (-3.0, 3.0, (0.0,), 0.3)

# --- the registry: name, kindling fn, torch fn, domain, differentiable ---------------------------
UNARY = [
    ("neg", K.neg, torch.neg, WIDE, True),
    ("abs", K.abs, torch.abs, NONZERO, True),
    ("sign", K.sign, torch.sign, NONZERO, True),
    ("sgn", K.sgn, torch.sign, NONZERO, True),  # torch.sgn's gradient is a ZeroTensor
    ("square", K.square, torch.square, WIDE, True),
    ("exp", K.exp, torch.exp, WIDE, True),
    ("exp2", K.exp2, torch.exp2, WIDE, True),
    ("expm1", K.expm1, torch.expm1, (-2.0, 2.0), True),
    ("log", K.log, torch.log, POS, True),
    ("log2", K.log2, torch.log2, POS, True),
    ("log10", K.log10, torch.log10, POS, True),
    ("log1p", K.log1p, torch.log1p, (-0.6, 3.0), True),
    ("sqrt", K.sqrt, torch.sqrt, POS, True),
    ("rsqrt", K.rsqrt, torch.rsqrt, POS, True),
    ("reciprocal", K.reciprocal, torch.reciprocal, NONZERO, True),
    ("sin", K.sin, torch.sin, WIDE, True),
    ("cos", K.cos, torch.cos, WIDE, True),
    ("tan", K.tan, torch.tan, (-1.2, 1.2), True),
    ("asin", K.asin, torch.asin, (-0.9, 0.9), True),
    ("acos", K.acos, torch.acos, (-0.9, 0.9), True),
    ("atan", K.atan, torch.atan, WIDE, True),
    ("sinh", K.sinh, torch.sinh, (-2.0, 2.0), True),
    ("cosh", K.cosh, torch.cosh, (-2.0, 2.0), True),
    ("asinh", K.asinh, torch.asinh, WIDE, True),
    ("acosh", K.acosh, torch.acosh, (1.2, 4.0), True),
    ("atanh", K.atanh, torch.atanh, (-0.9, 0.9), True),
    ("tanh", K.tanh, torch.tanh, WIDE, True),
    ("sigmoid", K.sigmoid, torch.sigmoid, (-5.0, 5.0), True),
    ("relu", K.relu, torch.relu, NONZERO, True),
    ("erf", K.erf, torch.erf, WIDE, True),
    ("erfc", K.erfc, torch.erfc, WIDE, True),
    ("erfinv", K.erfinv, torch.erfinv, (-0.95, 0.95), True),
    ("floor", K.floor, torch.floor, (-4.0, 4.0, HALF_INTEGERS), True),
    ("ceil", K.ceil, torch.ceil, (-4.0, 4.0, HALF_INTEGERS), True),
    ("trunc", K.trunc, torch.trunc, (-4.0, 4.0, HALF_INTEGERS), True),
    ("round", K.round, torch.round, (-4.0, 4.0, HALF_INTEGERS), True),
    ("frac", K.frac, torch.frac, (-4.0, 4.0, HALF_INTEGERS), True),
    ("round_decimals", lambda x: K.round(x, decimals=1), lambda x: torch.round(x, decimals=1),
     (-4.0, 4.0, tuple(np.arange(-4, 4.05, 0.05)), 0.01), True),
    ("nan_to_num", K.nan_to_num, torch.nan_to_num, WIDE, True),
    ("clamp", lambda x: K.clamp(x, -1, 1.5), lambda x: torch.clamp(x, -1, 1.5),
     (-3.0, 3.0, (-1.0, 1.5)), True),
    ("clamp_min", lambda x: K.clamp(x, min=0.5), lambda x: torch.clamp(x, min=0.5),
     (-3.0, 3.0, (0.5,)), True),
    ("clamp_max", lambda x: K.clamp_max(x, 0.5), lambda x: torch.clamp_max(x, 0.5),
     (-3.0, 3.0, (0.5,)), True),
    ("clip", lambda x: K.clip(x, -1, 1), lambda x: torch.clip(x, -1, 1),
     (-3.0, 3.0, (-1.0, 1.0)), True),
    ("pow_2", lambda x: x ** 2, lambda x: x ** 2, WIDE, True),
    ("pow_half", lambda x: K.pow(x, 0.5), lambda x: torch.pow(x, 0.5), POS, True),
    ("pow_neg", lambda x: x ** -1.5, lambda x: x ** -1.5, POS, True),
    ("pow_0", lambda x: x ** 0, lambda x: x ** 0, WIDE, True),
    ("rpow", lambda x: 2 ** x, lambda x: 2 ** x, WIDE, True),
    ("rpow_float", lambda x: 0.5 ** x, lambda x: 0.5 ** x, WIDE, True),
    ("rsub_scalar", lambda x: 2 - x, lambda x: 2 - x, WIDE, True),
    ("rdiv_scalar", lambda x: 2 / x, lambda x: 2 / x, NONZERO, True),
    ("mul_scalar", lambda x: x * 2.5, lambda x: x * 2.5, WIDE, True),
    ("add_alpha", lambda x: K.add(x, 1.5, alpha=2), lambda x: torch.add(x, 1.5, alpha=2),
     WIDE, True),
    ("positive", lambda x: +x * 1, lambda x: +x * 1, WIDE, True),
    ("deg2rad", K.deg2rad, torch.deg2rad, WIDE, True),
    ("rad2deg", K.rad2deg, torch.rad2deg, WIDE, True),
    ("sinc", K.sinc, torch.sinc, (-3.0, 3.0, (0.0,)), True),
    ("logit", K.logit, torch.logit, (0.05, 0.95), True),
    ("logit_eps", lambda x: K.logit(x, eps=0.2), lambda x: torch.logit(x, eps=0.2),
     (0.05, 0.95), True),
]
UNARY_IDS = [u[0] for u in UNARY]

BINARY = [
    ("add", K.add, torch.add, WIDE, WIDE),
    ("sub", K.sub, torch.sub, WIDE, WIDE),
    ("sub_alpha", lambda a, b: K.sub(a, b, alpha=0.5), lambda a, b: torch.sub(a, b, alpha=0.5),
     WIDE, WIDE),
    ("mul", K.mul, torch.mul, WIDE, WIDE),
    ("div", K.div, torch.div, WIDE, NONZERO),
    ("true_divide", K.true_divide, torch.true_divide, WIDE, NONZERO),
    ("div_floor", lambda a, b: K.div(a, b, rounding_mode="floor"),
     lambda a, b: torch.div(a, b, rounding_mode="floor"), WIDE, NONZERO),
    ("div_trunc", lambda a, b: K.div(a, b, rounding_mode="trunc"),
     lambda a, b: torch.div(a, b, rounding_mode="trunc"), WIDE, NONZERO),
    ("remainder", K.remainder, torch.remainder, WIDE, NONZERO),
    ("fmod", K.fmod, torch.fmod, WIDE, NONZERO),
    ("pow", K.pow, torch.pow, (0.3, 2.5), (-2.0, 2.0)),
    ("atan2", K.atan2, torch.atan2, NONZERO, NONZERO),
    ("hypot", K.hypot, torch.hypot, NONZERO, NONZERO),
    ("xlogy", K.xlogy, torch.xlogy, NONZERO, POS),
    ("maximum", K.maximum, torch.maximum, WIDE, WIDE),
    ("minimum", K.minimum, torch.minimum, WIDE, WIDE),
    ("fmax", K.fmax, torch.fmax, WIDE, WIDE),
    ("fmin", K.fmin, torch.fmin, WIDE, WIDE),
    ("lerp_scalar", lambda a, b: K.lerp(a, b, 0.3), lambda a, b: torch.lerp(a, b, 0.3),
     WIDE, WIDE),
    ("lerp_scalar_hi", lambda a, b: K.lerp(a, b, 0.8), lambda a, b: torch.lerp(a, b, 0.8),
     WIDE, WIDE),
    ("clamp_tensor_min", lambda a, b: K.clamp(a, min=b), lambda a, b: torch.clamp(a, min=b),
     WIDE, WIDE),
    ("clamp_tensor_max", lambda a, b: K.clamp(a, max=b), lambda a, b: torch.clamp(a, max=b),
     WIDE, WIDE),
    ("where", lambda a, b: K.where(a > 0, a, b), lambda a, b: torch.where(a > 0, a, b),
     NONZERO, WIDE),
    ("op_add", lambda a, b: a + b, lambda a, b: a + b, WIDE, WIDE),
    ("op_sub", lambda a, b: a - b, lambda a, b: a - b, WIDE, WIDE),
    ("op_mul", lambda a, b: a * b, lambda a, b: a * b, WIDE, WIDE),
    ("op_truediv", lambda a, b: a / b, lambda a, b: a / b, WIDE, NONZERO),
    ("op_mod", lambda a, b: a % b, lambda a, b: a % b, WIDE, NONZERO),
    ("op_pow", lambda a, b: a ** b, lambda a, b: a ** b, (0.3, 2.5), (-2.0, 2.0)),
    ("copysign", K.copysign, torch.copysign, NONZERO, NONZERO),
    ("ldexp", K.ldexp, torch.ldexp, WIDE, (-2.0, 2.0)),
    ("logaddexp", K.logaddexp, torch.logaddexp, WIDE, WIDE),
    ("logaddexp2", K.logaddexp2, torch.logaddexp2, WIDE, WIDE),
]
BINARY_IDS = [b[0] for b in BINARY]
SHAPE_PAIRS = [((3, 4), (3, 4)), ((3, 1, 4), (2, 4)), ((4,), (2, 3, 4)), ((), (3,)),
               ((2, 3), ()), ((), ()), ((0, 3), (3,)), ((1, 3), (2, 1))]

TERNARY = [
    ("lerp_tensor", K.lerp, torch.lerp, WIDE, WIDE, (0.0, 1.0)),
    ("addcmul", lambda a, b, c: K.addcmul(a, b, c, value=0.7),
     lambda a, b, c: torch.addcmul(a, b, c, value=0.7), WIDE, WIDE, WIDE),
    ("addcmul_1", K.addcmul, torch.addcmul, WIDE, WIDE, WIDE),
    ("addcdiv", lambda a, b, c: K.addcdiv(a, b, c, value=-2),
     lambda a, b, c: torch.addcdiv(a, b, c, value=-2), WIDE, WIDE, NONZERO),
    ("clamp_tensors", lambda a, lo, hi: K.clamp(a, lo, hi),
     lambda a, lo, hi: torch.clamp(a, lo, hi), WIDE, (-3.0, -0.5), (0.5, 3.0)),
    ("where_broadcast", lambda a, b, c: K.where(c > 0, a, b),
     lambda a, b, c: torch.where(c > 0, a, b), WIDE, WIDE, NONZERO),
]


def rng_for(name):
    return np.random.default_rng(abs(hash(name)) % (2 ** 32))


# --- unary ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,kf,tf,domain,diff", UNARY, ids=UNARY_IDS)
@pytest.mark.parametrize("shape", [(3, 4), (), (0, 2)])
def test_unary_matches_torch(name, kf, tf, domain, diff, shape):
    x = sample(domain, shape, rng_for(name))
    check(kf, tf, x, rtol=2e-5, atol=2e-6, grad=diff)


@pytest.mark.parametrize("name,kf,tf,domain,diff", [u for u in UNARY if u[4]], ids=[
    u[0] for u in UNARY if u[4]])
def test_unary_gradcheck(name, kf, tf, domain, diff):
    x = K.tensor(sample(domain, (2, 3), rng_for(name), np.float64), requires_grad=True)
    assert gradcheck(kf, (x,))


@pytest.mark.parametrize("name,kf,tf,domain,diff", UNARY, ids=UNARY_IDS)
@pytest.mark.parametrize("dtype", ["int64", "int32", "bool", "float64"])
def test_unary_dtypes(name, kf, tf, domain, diff, dtype):
    """Integer and bool inputs: same result dtype and values as torch, or an error for both."""
    values = np.array([1, 2, 3, 0]) if dtype != "float64" else sample(domain, (4,), rng_for(name),
                                                                         np.float64)
    values = values.astype(dtype)
    try:
        expected = tf(torch.tensor(values))
    except (RuntimeError, TypeError, NotImplementedError):
        with pytest.raises((RuntimeError, TypeError)):
            kf(K.tensor(values))
        return
    got = kf(K.tensor(values))
    assert str(got.dtype) == str(expected.dtype), (name, dtype)
    np.testing.assert_allclose(got.numpy().astype(np.float64),
                               expected.numpy().astype(np.float64), rtol=1e-6, equal_nan=True)


# --- binary --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,kf,tf,da,db", BINARY, ids=BINARY_IDS)
@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=str)
def test_binary_matches_torch(name, kf, tf, da, db, shapes):
    rng = rng_for(name + str(shapes))
    a, b = sample(da, shapes[0], rng), sample(db, shapes[1], rng)
    check(kf, tf, a, b, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("name,kf,tf,da,db", BINARY, ids=BINARY_IDS)
def test_binary_python_scalar_either_side(name, kf, tf, da, db):
    if name.startswith(("where", "clamp", "lerp", "maximum", "minimum", "fmax", "fmin", "atan2",
                        "hypot", "copysign", "ldexp", "logaddexp")):
        pytest.skip("torch takes tensors only here")
    rng = rng_for(name)
    a, b = sample(da, (2, 3), rng), sample(db, (2, 3), rng)
    sa, sb = float(sample(da, (), rng)), float(sample(db, (), rng))
    check(lambda x: kf(x, sb), lambda x: tf(x, sb), a, rtol=2e-5, atol=2e-6)
    if name != "fmod":  # torch.fmod takes no number as its first argument
        # torch defines no gradient for remainder(number, tensor)
        check(lambda y: kf(sa, y), lambda y: tf(sa, y), b, rtol=2e-5, atol=2e-6,
              grad=name not in ("remainder", "op_mod"))


@pytest.mark.parametrize("name,kf,tf,da,db", BINARY, ids=BINARY_IDS)
def test_binary_gradcheck(name, kf, tf, da, db):
    rng = rng_for(name)
    a = K.tensor(sample(da, (3, 1, 2), rng, np.float64), requires_grad=True)
    b = K.tensor(sample(db, (2,), rng, np.float64), requires_grad=True)
    assert gradcheck(kf, (a, b))


@pytest.mark.parametrize("name,kf,tf,da,db,dc", TERNARY, ids=[t[0] for t in TERNARY])
def test_ternary(name, kf, tf, da, db, dc):
    rng = rng_for(name)
    a, b, c = sample(da, (2, 3), rng), sample(db, (3,), rng), sample(dc, (2, 1), rng)
    check(kf, tf, a, b, c, rtol=2e-5, atol=2e-6)
    args = [K.tensor(v.astype(np.float64), requires_grad=True) for v in (a, b, c)]
    assert gradcheck(kf, tuple(args))


# --- dtype promotion -----------------------------------------------------------------------------
PROMOTION_OPS = [("add", K.add, torch.add), ("sub", K.sub, torch.sub), ("mul", K.mul, torch.mul),
                 ("div", K.div, torch.div), ("pow", K.pow, torch.pow),
                 ("floor_divide", K.floor_divide, torch.floor_divide),
                 ("remainder", K.remainder, torch.remainder), ("fmod", K.fmod, torch.fmod),
                 ("maximum", K.maximum, torch.maximum), ("atan2", K.atan2, torch.atan2),
                 ("eq", K.eq, torch.eq), ("lt", K.lt, torch.lt),
                 ("div_trunc", lambda a, b: K.div(a, b, rounding_mode="trunc"),
                  lambda a, b: torch.div(a, b, rounding_mode="trunc"))]
OPERANDS = [("int64", np.array([7, -3, 5])), ("int32", np.array([2, 3, -4], np.int32)),
            ("float32", np.array([1.5, -2.25, 3.0], np.float32)),
            ("float64", np.array([0.5, 2.0, -1.5])), ("bool", np.array([True, False, True])),
            ("float32_0d", np.array(2.5, np.float32)), ("int64_0d", np.array(3)),
            ("py_int", 2), ("py_float", 2.5), ("py_bool", True)]


def _both(v):
    if isinstance(v, np.ndarray):
        return K.tensor(v), torch.tensor(v)
    return v, v


@pytest.mark.parametrize("op,kf,tf", PROMOTION_OPS, ids=[p[0] for p in PROMOTION_OPS])
@pytest.mark.parametrize("left", OPERANDS[:7], ids=[o[0] for o in OPERANDS[:7]])
@pytest.mark.parametrize("right", OPERANDS, ids=[o[0] for o in OPERANDS])
def test_binary_promotion(op, kf, tf, left, right):
    (ka, ta), (kb, tb) = _both(left[1]), _both(right[1])
    try:
        expected = tf(ta, tb)
    except (RuntimeError, TypeError, NotImplementedError):
        with pytest.raises((RuntimeError, TypeError)):
            kf(ka, kb)
        return
    got = kf(ka, kb)
    assert str(got.dtype) == str(expected.dtype), f"{op}({left[0]}, {right[0]})"
    np.testing.assert_allclose(got.numpy().astype(np.float64),
                               expected.numpy().astype(np.float64), rtol=1e-6, equal_nan=True)


def test_promotion_examples():
    i = K.tensor([1, 2, 3])
    assert (i / K.tensor([2, 2, 2])).dtype == K.float32
    assert (i * 2.5).dtype == K.float32
    assert (K.tensor([1.0]) + K.tensor([1.0], dtype=K.float64)).dtype == K.float64
    assert (K.tensor([1.0]) * 2).dtype == K.float32
    assert (K.tensor([1.0]) * np.float64(2)).dtype == K.float32  # NumPy scalars are weak
    assert (np.float64(2) * K.tensor([1.0])).dtype == K.float32
    assert (K.tensor([1]) * np.float64(2.5)).dtype == K.float32
    assert (K.tensor([1], dtype=K.int32) + np.int64(2)).dtype == K.int32
    assert (i + True).dtype == K.int64


# --- ties and kinks: gradients where torch makes a choice ----------------------------------------
@pytest.mark.parametrize("kf,tf", [
    (K.maximum, torch.maximum), (K.minimum, torch.minimum), (K.fmax, torch.fmax),
    (K.fmin, torch.fmin), (lambda a, b: K.clamp(a, min=b), lambda a, b: torch.clamp(a, min=b)),
    (lambda a, b: K.clamp(a, max=b), lambda a, b: torch.clamp(a, max=b)),
    (lambda a, b: K.remainder(a, b), lambda a, b: torch.remainder(a, b)),
])
def test_tie_gradients_match_torch(kf, tf):
    a = np.array([1.0, 2.0, 3.0, -1.0, 0.0], np.float32)
    b = np.array([1.0, 1.0, 4.0, -1.0, 0.0], np.float32)
    check(kf, tf, a, b)


@pytest.mark.parametrize("kf,tf", [
    (K.abs, torch.abs), (K.relu, torch.relu), (K.sign, torch.sign), (K.sqrt, torch.sqrt),
    (lambda x: K.clamp(x, -1.0, 1.0), lambda x: torch.clamp(x, -1.0, 1.0)),
    (lambda x: K.clamp(x, min=0.0), lambda x: torch.clamp(x, min=0.0)),
    (lambda x: x ** 2, lambda x: x ** 2), (lambda x: x ** 0, lambda x: x ** 0),
    (K.floor, torch.floor), (K.round, torch.round),
    (lambda x: K.pow(x, K.tensor([0.0, 1.0, 2.0, 0.0, 3.0])),
     lambda x: torch.pow(x, torch.tensor([0.0, 1.0, 2.0, 0.0, 3.0]))),
])
def test_kink_gradients_match_torch(kf, tf):
    check(kf, tf, np.array([-1.0, 0.0, 1.0, 0.0, 2.0], np.float32))


def test_pow_exponent_gradient_at_zero_base():
    check(K.pow, torch.pow, np.array([0.0, 0.0, 2.0], np.float32),
          np.array([2.0, 0.0, 1.5], np.float32))


# --- second order --------------------------------------------------------------------------------
GRADGRAD = [
    ("mul", lambda a, b: a * b, (WIDE, WIDE)),
    ("div", lambda a, b: a / b, (WIDE, NONZERO)),
    ("pow", lambda a, b: a ** b, ((0.5, 2.0), (-1.5, 2.0))),
    ("pow_scalar", lambda a, b: a ** 3 + 2 ** b, (WIDE, WIDE)),
    ("exp", lambda a, b: K.exp(a) * b, (WIDE, WIDE)),
    ("log", lambda a, b: K.log(a) * b, (POS, WIDE)),
    ("tanh", lambda a, b: K.tanh(a * b), (WIDE, WIDE)),
    ("sigmoid", lambda a, b: K.sigmoid(a) * b, (WIDE, WIDE)),
    ("sin", lambda a, b: K.sin(a) * K.cos(b), (WIDE, WIDE)),
    ("sqrt", lambda a, b: K.sqrt(a) * K.rsqrt(b), (POS, POS)),
    ("erf", lambda a, b: K.erf(a) + K.erfinv(b * 0.3), (WIDE, WIDE)),
    ("atan2", K.atan2, (NONZERO, NONZERO)),
    ("maximum", lambda a, b: K.maximum(a * a, b), (WIDE, WIDE)),
    ("clamp", lambda a, b: K.clamp(a * a, min=b), (WIDE, WIDE)),
    ("lerp", lambda a, b: K.lerp(a, b, b), ((-3, 3), (0.1, 0.9))),
    ("addcdiv", lambda a, b: K.addcdiv(a, a, b, value=0.5), (WIDE, NONZERO)),
]


@pytest.mark.parametrize("name,fn,domains", GRADGRAD, ids=[g[0] for g in GRADGRAD])
def test_gradgradcheck(name, fn, domains):
    rng = rng_for(name)
    a = K.tensor(sample(domains[0], (2, 2), rng, np.float64), requires_grad=True)
    b = K.tensor(sample(domains[1], (2,), rng, np.float64), requires_grad=True)
    assert gradgradcheck(fn, (a, b))


# --- comparisons, logical, bitwise, predicates ---------------------------------------------------
SPECIAL = np.array([0.0, -0.0, 1.5, -2.0, np.nan, np.inf, -np.inf, 3.0], np.float32)
COMPARE = [("eq", K.eq, torch.eq), ("ne", K.ne, torch.ne), ("lt", K.lt, torch.lt),
           ("le", K.le, torch.le), ("gt", K.gt, torch.gt), ("ge", K.ge, torch.ge),
           ("greater", K.greater, torch.greater), ("less_equal", K.less_equal, torch.less_equal),
           ("op_eq", lambda a, b: a == b, lambda a, b: a == b),
           ("op_ne", lambda a, b: a != b, lambda a, b: a != b),
           ("op_lt", lambda a, b: a < b, lambda a, b: a < b),
           ("op_ge", lambda a, b: a >= b, lambda a, b: a >= b),
           ("logical_and", K.logical_and, torch.logical_and),
           ("logical_or", K.logical_or, torch.logical_or),
           ("logical_xor", K.logical_xor, torch.logical_xor),
           ("isclose", K.isclose, torch.isclose),
           ("isclose_nan", lambda a, b: K.isclose(a, b, equal_nan=True, atol=0.6),
            lambda a, b: torch.isclose(a, b, equal_nan=True, atol=0.6))]


@pytest.mark.parametrize("name,kf,tf", COMPARE, ids=[c[0] for c in COMPARE])
def test_comparisons(name, kf, tf):
    a = SPECIAL
    b = np.array([0.0, 0.0, 1.0, -2.0, np.nan, np.inf, np.inf, 3.5], np.float32)
    check(kf, tf, a, b, grad=False)
    check(kf, tf, a.reshape(2, 4), b[:4], grad=False)  # broadcasting
    check(lambda x: kf(x, x > 0) if name.startswith("logical") else kf(x, x),
          lambda x: tf(x, x > 0) if name.startswith("logical") else tf(x, x), a, grad=False)
    if not name.startswith(("logical", "isclose")):
        check(lambda x: kf(x, 1.5), lambda x: tf(x, 1.5), a, grad=False)
        check(lambda x: kf(x, 2), lambda x: tf(x, 2), np.array([1, 2, 3]), grad=False)


@pytest.mark.parametrize("name", ["isnan", "isinf", "isfinite", "isposinf", "isneginf",
                                  "logical_not", "signbit_free_sign"])
def test_predicates(name):
    if name == "signbit_free_sign":
        check(K.sign, torch.sign, SPECIAL[SPECIAL == SPECIAL], grad=False)
        return
    check(getattr(K, name), getattr(torch, name), SPECIAL, grad=False)
    check(getattr(K, name), getattr(torch, name), np.array([1, 0, -3]), grad=False)


BITWISE = [("bitwise_and", K.bitwise_and, torch.bitwise_and, "&"),
           ("bitwise_or", K.bitwise_or, torch.bitwise_or, "|"),
           ("bitwise_xor", K.bitwise_xor, torch.bitwise_xor, "^"),
           ("bitwise_left_shift", K.bitwise_left_shift, torch.bitwise_left_shift, "<<"),
           ("bitwise_right_shift", K.bitwise_right_shift, torch.bitwise_right_shift, ">>")]


@pytest.mark.parametrize("name,kf,tf,op", BITWISE, ids=[b[0] for b in BITWISE])
def test_bitwise(name, kf, tf, op):
    ints = (np.array([5, 12, 7, 0]), np.array([3, 1, 2, 1]))
    check(kf, tf, *ints, grad=False)
    check(lambda a, b: eval(f"a {op} b"), lambda a, b: eval(f"a {op} b"), *ints, grad=False)
    check(lambda a: eval(f"a {op} 1"), lambda a: eval(f"a {op} 1"), ints[0], grad=False)
    check(lambda a: eval(f"3 {op} a"), lambda a: eval(f"3 {op} a"), ints[1], grad=False)
    if "shift" not in name:
        bools = (np.array([True, False, True, False]), np.array([True, True, False, False]))
        check(kf, tf, *bools, grad=False)
        check(lambda a: eval(f"a {op} True"), lambda a: eval(f"a {op} True"), bools[0],
              grad=False)
    with pytest.raises(RuntimeError, match=name):
        kf(K.tensor([1.0]), K.tensor([1.0]))


def test_bitwise_not():
    check(K.bitwise_not, torch.bitwise_not, np.array([5, -1, 0]), grad=False)
    check(lambda a: ~a, lambda a: ~a, np.array([True, False]), grad=False)
    with pytest.raises(RuntimeError, match="bitwise_not"):
        ~K.tensor([1.0])


def test_allclose_and_equal_return_python_bools():
    a, b = K.tensor([1.0, 2.0]), K.tensor([1.0, 2.00001])
    assert K.allclose(a, b) is True and a.allclose(b) is True
    assert K.allclose(a, K.tensor([1.0, 2.1])) is False
    assert K.equal(a, a.clone() if hasattr(a, "clone") else K.tensor([1.0, 2.0])) is True
    assert K.equal(a, b) is False
    assert K.equal(a, K.tensor([1.0, 2.0, 3.0])) is False
    assert K.equal(K.tensor([1, 2]), K.tensor([1.0, 2.0])) is torch.equal(
        torch.tensor([1, 2]), torch.tensor([1.0, 2.0]))
    nan = K.tensor([float("nan")])
    assert K.allclose(nan, nan) is False and K.allclose(nan, nan, equal_nan=True) is True


def test_eq_with_non_tensor_is_python_comparison():
    t = K.tensor([1.0])
    assert (t == None) is False and (t != None) is True  # noqa: E711
    assert t in [t]
    assert "a" != t


# --- special values and the divisions ------------------------------------------------------------
def test_division_special_values():
    for kf, tf in [(K.div, torch.div), (K.remainder, torch.remainder), (K.fmod, torch.fmod),
                   (K.floor_divide, torch.floor_divide),
                   (lambda a, b: K.div(a, b, rounding_mode="trunc"),
                    lambda a, b: torch.div(a, b, rounding_mode="trunc"))]:
        a = np.array([7.0, -7.0, 7.0, -7.0, 0.0, 1.0, -1.0, 5.5], np.float32)
        b = np.array([2.0, 2.0, -2.0, -2.0, 3.0, 0.0, 0.0, -1.5], np.float32)
        check(kf, tf, a, b, grad=False)
        ai, bi = np.array([7, -7, 7, -7, 0]), np.array([2, 2, -2, -2, 3])
        check(kf, tf, ai, bi, grad=False)


def test_integer_division_by_zero_raises():
    for fn in (K.floor_divide, K.remainder, K.fmod,
               lambda a, b: K.div(a, b, rounding_mode="trunc")):
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            fn(K.tensor([3, 4]), K.tensor([1, 0]))
    assert K.isinf(K.tensor([3, 4]) / 0).all()  # true division gives inf, as in torch


def test_rounded_div_gradients_are_zero_and_floor_divide_has_none():
    """As in torch: div with a rounding mode is piecewise constant (zero gradient), while
    floor_divide (and //) defines no derivative, so backward through it raises."""
    for m in (K, torch):
        x = m.tensor([3.5, -2.0], requires_grad=True)
        (m.div(x, 2, rounding_mode="floor") + m.div(x, 3, rounding_mode="trunc")).sum().backward()
        assert x.grad.tolist() == [0.0, 0.0]
        for y in (x // 2, m.floor_divide(x, m.tensor([2.0, 3.0]))):
            with pytest.raises(RuntimeError, match="derivative for aten::floor_divide"):
                y.sum().backward()


def test_pow_integer_negative_exponent_raises():
    with pytest.raises(RuntimeError, match="negative integer powers"):
        K.tensor([2, 3]) ** -1
    assert (K.tensor([2, 3]) ** 2).dtype == K.int64
    assert (2 ** K.tensor([2, 3])).dtype == K.int64
    assert (2.5 ** K.tensor([2, 3])).dtype == K.float32


def test_nan_to_num_values_and_grad():
    a = np.array([np.nan, np.inf, -np.inf, 1.5], np.float32)
    check(K.nan_to_num, torch.nan_to_num, a)
    check(lambda x: K.nan_to_num(x, nan=1.0, posinf=5.0, neginf=-5.0),
          lambda x: torch.nan_to_num(x, nan=1.0, posinf=5.0, neginf=-5.0), a)


def test_nan_propagation():
    a = np.array([np.nan, 1.0, -np.inf, np.inf], np.float32)
    for kf, tf in [(K.clamp, torch.clamp), (K.maximum, torch.maximum), (K.fmax, torch.fmax),
                   (K.minimum, torch.minimum), (K.fmin, torch.fmin)]:
        b = np.array([0.0, np.nan, 0.0, 0.0], np.float32)
        if kf is K.clamp:
            check(lambda x: kf(x, -1.0, 1.0), lambda x: tf(x, -1.0, 1.0), a, grad=False)
        else:
            check(kf, tf, a, b, grad=False)


def test_erf_family_accuracy_float64():
    import mpmath
    x = np.concatenate([np.linspace(-6, 6, 121), [1e-8, -3e-5, 0.9999, 2.5, 4.5, 10.0]])
    ref = np.array([float(mpmath.erf(v)) for v in x])
    refc = np.array([float(mpmath.erfc(v)) for v in x])
    np.testing.assert_allclose(K.erf(K.tensor(x)).numpy(), ref, rtol=2e-15, atol=1e-300)
    np.testing.assert_allclose(K.erfc(K.tensor(x)).numpy(), refc, rtol=5e-15, atol=1e-300)
    y = np.array([-0.999999, -0.5, -1e-9, 0.0, 0.3, 0.9, 0.999999999])
    refi = np.array([float(mpmath.erfinv(v)) for v in y])
    np.testing.assert_allclose(K.erfinv(K.tensor(y)).numpy(), refi, rtol=1e-13, atol=1e-300)
    assert K.erfinv(K.tensor([1.0, -1.0, 1.5])).tolist()[:2] == [math.inf, -math.inf]
    assert math.isnan(K.erfinv(K.tensor([1.5])).item())


def test_erf_float32_stays_float32_and_matches_torch_over_range():
    x = np.linspace(-10, 10, 20001).astype(np.float32)
    for kf, tf in [(K.erf, torch.erf), (K.erfc, torch.erfc)]:
        got = kf(K.tensor(x))
        assert got.dtype == K.float32
        np.testing.assert_allclose(got.numpy(), tf(torch.tensor(x)).numpy(), rtol=1e-5,
                                   atol=4e-7)
    y = np.linspace(-0.999, 0.999, 2001).astype(np.float32)
    np.testing.assert_allclose(K.erfinv(K.tensor(y)).numpy(),
                               torch.erfinv(torch.tensor(y)).numpy(), rtol=1e-5, atol=1e-6)


def test_float32_stays_float32():
    x = K.tensor(np.linspace(0.1, 0.9, 5).astype(np.float32), requires_grad=True)
    outs = [fn(x) for _, fn, _, _, _ in UNARY]
    assert all(o.dtype == K.float32 for o in outs)
    sum(o.sum() for o in outs).backward()
    assert x.grad.dtype == K.float32


# --- in place and operators ----------------------------------------------------------------------
INPLACE = [("add_", lambda x: x.add_(2.0), WIDE), ("sub_", lambda x: x.sub_(1, alpha=2), WIDE),
           ("mul_", lambda x: x.mul_(3), WIDE), ("div_", lambda x: x.div_(4), WIDE),
           ("pow_", lambda x: x.pow_(2), WIDE), ("exp_", lambda x: x.exp_(), WIDE),
           ("sqrt_", lambda x: x.sqrt_(), POS), ("clamp_", lambda x: x.clamp_(-1, 1), NONZERO),
           ("sigmoid_", lambda x: x.sigmoid_(), WIDE), ("abs_", lambda x: x.abs_(), NONZERO),
           ("erf_", lambda x: x.erf_(), WIDE), ("lerp_", lambda x: x.lerp_(x * 0 + 1, 0.25), WIDE),
           ("iadd", lambda x: x.__iadd__(1.5), WIDE), ("imul", lambda x: x.__imul__(3.0), WIDE),
           ("itruediv", lambda x: x.__itruediv__(2), WIDE),
           ("ipow", lambda x: x.__ipow__(3), WIDE)]


@pytest.mark.parametrize("name,fn,domain", INPLACE, ids=[i[0] for i in INPLACE])
def test_inplace_on_nonleaf_matches_torch(name, fn, domain):
    x = sample(domain, (2, 3), rng_for(name))

    def run(t):
        y = t * 1  # a non-leaf, so the in-place op is recorded
        out = fn(y)
        assert out is y
        return y * 2

    check(run, run, x)


def test_augmented_assignment_is_in_place():
    x = K.tensor([1.0, 2.0])
    y = x
    x += 1
    x *= 2
    x -= 1
    x /= 2
    assert y is x and x.tolist() == [1.5, 2.5]
    i = K.tensor([5, 6])
    i //= 2
    i %= 2
    i |= 4
    assert i.tolist() == [4, 5]
    with pytest.raises(RuntimeError):
        i /= 2  # float result cannot be written into an int tensor, as in torch


def test_inplace_on_leaf_requiring_grad_raises():
    x = K.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        x.add_(1)


# --- errors --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,fn", [("add", K.add), ("mul", K.mul), ("div", K.div),
                                     ("pow", K.pow), ("maximum", K.maximum), ("atan2", K.atan2),
                                     ("eq", K.eq), ("remainder", K.remainder)])
def test_shape_mismatch_names_op_and_shapes(name, fn):
    with pytest.raises(RuntimeError) as info:
        fn(K.ones(2, 3), K.ones(4))
    message = str(info.value)
    assert name in message and "(2, 3)" in message and "(4,)" in message


def test_bad_arguments():
    with pytest.raises(RuntimeError, match="rounding_mode"):
        K.div(K.ones(2), 2, rounding_mode="round")
    with pytest.raises(RuntimeError, match="min"):
        K.clamp(K.ones(2))
    with pytest.raises(TypeError, match="add"):
        K.add(K.ones(2), "x")
    with pytest.raises(RuntimeError, match="bool"):
        K.tensor([True]) - K.tensor([False])
    with pytest.raises(RuntimeError, match="frac"):
        K.frac(K.tensor([1, 2]))


# --- properties ----------------------------------------------------------------------------------
@st.composite
def broadcast_shapes(draw):
    out = draw(st.lists(st.integers(1, 3), min_size=0, max_size=3))
    a = [draw(st.sampled_from([n, 1])) for n in out]
    b = [draw(st.sampled_from([n, 1])) for n in out]
    a = a[draw(st.integers(0, len(a))):]
    b = b[draw(st.integers(0, len(b))):]
    return tuple(a), tuple(b)


@settings(max_examples=40, deadline=None)
@given(shapes=broadcast_shapes(), op=st.sampled_from(["add", "sub", "mul", "div", "maximum",
                                                      "atan2", "pow", "hypot", "fmod"]))
def test_broadcast_gradient_shapes(shapes, op):
    rng = np.random.default_rng(0)
    a = K.tensor(rng.uniform(0.5, 2.0, shapes[0]).astype(np.float32), requires_grad=True)
    b = K.tensor(rng.uniform(0.5, 2.0, shapes[1]).astype(np.float32), requires_grad=True)
    out = getattr(K, op)(a, b)
    assert tuple(out.shape) == np.broadcast_shapes(shapes[0], shapes[1])
    out.sum().backward()
    assert tuple(a.grad.shape) == shapes[0] and tuple(b.grad.shape) == shapes[1]
    ta = torch.tensor(a.detach().numpy(), requires_grad=True)
    tb = torch.tensor(b.detach().numpy(), requires_grad=True)
    getattr(torch, op)(ta, tb).sum().backward()
    assert_close(a.grad, ta.grad, 1e-4, 1e-5)
    assert_close(b.grad, tb.grad, 1e-4, 1e-5)


@settings(max_examples=30, deadline=None)
@given(x=st.floats(-50, 50, width=32), y=st.floats(-50, 50, width=32).filter(lambda v: v != 0))
def test_remainder_sign_follows_divisor_and_fmod_dividend(x, y):
    r = K.remainder(K.tensor([x]), y).item()
    f = K.fmod(K.tensor([x]), y).item()
    assert r == 0 or (r > 0) == (y > 0)
    assert f == 0 or (f > 0) == (x > 0)
    assert r == pytest.approx(torch.remainder(torch.tensor([x]), y).item(), abs=1e-5)


# --- the rest, and a guard that every exported op is covered by some test above ------------------
def test_float_power_rsub_positive():
    a = sample(POS, (2, 3), rng_for("float_power"))
    check(lambda x: K.float_power(x, 2), lambda x: torch.float_power(x, 2), a)
    check(lambda x: K.float_power(x, x), lambda x: torch.float_power(x, x), a)
    check(lambda x: K.rsub(x, 2.0, alpha=3), lambda x: torch.rsub(x, 2.0, alpha=3), a)
    check(lambda x: K.positive(x) * 2, lambda x: torch.positive(x) * 2, a)
    with pytest.raises(RuntimeError, match="bool"):
        K.positive(K.tensor([True]))


def test_where_method_and_scalars():
    a = sample(WIDE, (3, 4), rng_for("where"))
    check(lambda x: x.where(x > 0, 0.5), lambda x: x.where(x > 0, 0.5), a)
    check(lambda x: K.where(x > 0, 2.0, x), lambda x: torch.where(x > 0, 2.0, x), a)
    check(lambda x: K.where(x > 0, x, x * 3), lambda x: torch.where(x > 0, x, x * 3), a)


COVERED_ELSEWHERE = {"float_power", "rsub", "positive", "where", "isreal", "allclose", "equal",
                     "logical_not", "bitwise_not", "isnan", "isinf", "isfinite", "isposinf",
                     "isneginf", "floor_divide", "lerp",  # lerp: lerp_scalar, lerp_tensor
                     "heaviside", "nextafter", "gcd", "lcm",  # test_heaviside_nextafter_...
                     "signbit",
                     "frexp"}  # frexp and the top-level in-place names: tests/test_ops_construct.py


def test_every_exported_op_is_tested():
    from kindling.ops import elementwise
    names = set(UNARY_IDS) | set(BINARY_IDS) | {t[0] for t in TERNARY} | {c[0] for c in COMPARE}
    names |= {b[0] for b in BITWISE} | {p[0] for p in PROMOTION_OPS} | COVERED_ELSEWHERE
    names |= {name + "_" for name in elementwise._TOP_LEVEL_INPLACE}
    aliases = {"clip", "absolute", "negative", "multiply", "subtract", "divide", "fix", "arcsin",
               "arccos", "arctan", "arctan2", "arcsinh", "arccosh", "arctanh", "greater",
               "greater_equal", "less", "less_equal", "not_equal"}
    missing = set(elementwise.FUNCTIONS) - names - aliases
    assert not missing, f"ops without a test: {sorted(missing)}"
    for alias in aliases:
        assert getattr(K, alias) is not None and hasattr(torch, alias), alias
    x = K.tensor([0.5])
    assert K.arctan2(x, x).item() == K.atan2(x, x).item()
    assert K.isreal(x).tolist() == [True]


def test_out_argument():
    out = K.zeros(3)
    res = K.add(K.tensor([1.0, 2.0, 3.0]), 1.0, out=out)
    assert res is out and out.tolist() == [2.0, 3.0, 4.0]
    out = K.zeros(1)
    K.mul(K.ones(2, 2), 3.0, out=out)  # resized, as in torch
    assert out.shape == (2, 2) and out.tolist() == [[3.0, 3.0], [3.0, 3.0]]
    with pytest.raises(RuntimeError, match="out="):
        K.div(K.ones(2, requires_grad=True), 2.0, out=K.zeros(2))
    with pytest.raises(RuntimeError, match="cast"):
        K.div(K.ones(2), 2.0, out=K.zeros(2, dtype=K.int64))


@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((2, 1, 4), (3, 1)), ((4,), ())], ids=str)
def test_heaviside_nextafter_gcd_lcm_match_torch(shapes):
    rng = rng_for("heaviside" + str(shapes))
    x = sample((-3.0, 3.0, (0.0,), 0.3), shapes[0], rng)
    v = sample(WIDE, shapes[1], rng)
    i, j = rng.integers(-30, 30, shapes[0]), rng.integers(-30, 30, shapes[1])
    for kf, tf, a, b in ((K.heaviside, torch.heaviside, x, v), (K.nextafter, torch.nextafter, x, v),
                         (K.gcd, torch.gcd, i, j), (K.lcm, torch.lcm, i, j)):
        got, want = kf(K.tensor(a), K.tensor(b)), tf(torch.tensor(a), torch.tensor(b))
        assert str(got.dtype) == str(want.dtype)
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_heaviside_has_no_derivative_and_nextafter_passes_the_gradient_where_it_moves():
    for m in (K, torch):
        x = m.tensor([-1.0, 0.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="derivative for aten::heaviside"):
            m.heaviside(x, m.tensor([0.5])).sum().backward()
        y = m.tensor([3.0, -3.0, 2.0], requires_grad=True)       # the last: a == b
        m.nextafter(x, y).sum().backward()
        assert x.grad.tolist() == [1.0, 1.0, 0.0] and y.grad.tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(RuntimeError, match="gcd: expected integer tensors"):
        K.gcd(K.tensor([1.5]), K.tensor([2.0]))
    with pytest.raises(RuntimeError, match="different dtypes"):
        K.heaviside(K.tensor([1.5]), K.tensor([2]))


@pytest.mark.parametrize("name,args", [
    ("deg2rad_", ()), ("rad2deg_", ()), ("sinc_", ()), ("logit_", (0.1,)),
    ("copysign_", ("t",)), ("ldexp_", ("t",)), ("heaviside_", ("t",)), ("nextafter_", ("t",))])
def test_new_inplace_methods_match_torch(name, args):
    a = np.array([0.2, 0.0, 0.7, 0.5], np.float32)
    b = np.array([-1.0, 0.5, 1.0, -0.0], np.float32)
    results = []
    for m in (K, torch):
        x = m.tensor(a.copy())
        out = getattr(x, name)(*[m.tensor(b) if v == "t" else v for v in args])
        assert out is x
        results.append(x.numpy())
    np.testing.assert_allclose(*results, rtol=1e-6)


def test_signbit_and_logaddexp_extremes_match_torch():
    x = [-0.0, 0.0, -2.0, 3.0, float("inf"), float("-inf")]
    for kf, tf, dtype in ((K.signbit, torch.signbit, None),):
        assert kf(K.tensor(x)).tolist() == tf(torch.tensor(x)).tolist()
    assert K.signbit(K.tensor([1, -1])).tolist() == [False, True]
    a, b = [-np.inf, 1000.0, -1000.0, 0.0], [-np.inf, 1000.0, 5.0, -np.inf]
    for k, t in ((K.logaddexp, torch.logaddexp), (K.logaddexp2, torch.logaddexp2)):
        np.testing.assert_allclose(k(K.tensor(a), K.tensor(b)).numpy(),
                                   t(torch.tensor(a), torch.tensor(b)).numpy(), rtol=1e-6)
