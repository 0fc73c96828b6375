"""torch.autograd.functional (vjp, jvp, jacobian, hessian, vhp, hvp) and anomaly mode, against
PyTorch on the same functions and inputs."""
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
import torch.autograd.functional as TF

import kindling
import kindling.autograd.functional as KF
from oracle import assert_close

RNG = np.random.default_rng(0)


def arrays(*shapes):
    return [RNG.standard_normal(s) for s in shapes]


def both(*arrs):
    """kindling and torch float64 tensors of the same data (not requiring grad)."""
    return (tuple(kindling.tensor(a.copy()) for a in arrs),
            tuple(torch.tensor(a.copy()) for a in arrs))


# The same functions, written once for each library (`lib` is kindling or torch).
def exp_reducer(lib):
    return lambda x: x.exp().sum(dim=1)


def adder(lib):
    return lambda x, y: 2 * x + 3 * y


def two_outputs(lib):
    return lambda x, y: (x * y.sin(), (x ** 2).sum() * y)


def quartic(lib):
    return lambda x: (x ** 4).sum() + (x[0] * x[1]) ** 2


def pair_energy(lib):
    return lambda x, y: (x.tanh() ** 2).sum() * y.sin().sum() + (y ** 3).sum() * x.sum()


def compare(fn_name, make_fn, ins, *args, tuple_inputs=True, **kwargs):
    """Run the function `fn_name` of both libraries; `ins` and each of `args` are (kindling,
    torch) pairs."""
    ks, ts = ins
    k_in = ks if tuple_inputs else ks[0]
    t_in = ts if tuple_inputs else ts[0]
    out_k = getattr(KF, fn_name)(make_fn(kindling), k_in, *[x[0] for x in args], **kwargs)
    out_t = getattr(TF, fn_name)(make_fn(torch), t_in, *[x[1] for x in args], **kwargs)
    assert_close(out_k, out_t, rtol=1e-10, atol=1e-12, what=fn_name)
    return out_k, out_t


def pair_v(*arrs, tuple_v=True):
    k, t = both(*arrs)
    return (k, t) if tuple_v else (k[0], t[0])


# --- vjp / jvp ---------------------------------------------------------------------------------

def test_vjp_single_input_output():
    ins = both(*arrays((4, 4)))
    compare("vjp", exp_reducer, ins, pair_v(*arrays(4), tuple_v=False), tuple_inputs=False)


def test_vjp_tuple_inputs_and_outputs():
    ins = both(*arrays((3,), (3,)))
    v = pair_v(*arrays((3,), (3,)))
    out_k, _ = compare("vjp", two_outputs, ins, v)
    assert isinstance(out_k[0], tuple) and isinstance(out_k[1], tuple)


def test_vjp_v_may_be_omitted_for_a_scalar_output():
    ins = both(*arrays((5,)))
    compare("vjp", quartic, ins, tuple_inputs=False)
    with pytest.raises(RuntimeError, match="v can only be None"):
        KF.vjp(exp_reducer(kindling), ins[0][0].reshape(1, 5).expand(2, 5))


def test_jvp_single_and_tuple():
    ins = both(*arrays((4, 4)))
    compare("jvp", exp_reducer, ins, pair_v(*arrays((4, 4)), tuple_v=False), tuple_inputs=False)
    ins = both(*arrays((3,), (3,)))
    compare("jvp", two_outputs, ins, pair_v(*arrays((3,), (3,))))
    compare("jvp", adder, ins, pair_v(*arrays((3,), (3,))))


def test_v_validation_errors_match_torch():
    ins = both(*arrays((3,), (3,)))
    bad = both(*arrays((4,), (3,)))
    for fn in (KF.jvp, TF.jvp):
        lib = kindling if fn is KF.jvp else torch
        x = ins[0] if lib is kindling else ins[1]
        v = bad[0] if lib is kindling else bad[1]
        with pytest.raises(RuntimeError, match=r"Entry 0 in v has invalid size: should be"):
            fn(adder(lib), x, v)
        with pytest.raises(RuntimeError, match="v is a tuple of invalid length: should be 2 "
                                               "but got 1"):
            fn(adder(lib), x, v[:1])
    with pytest.raises(TypeError, match="inputs given to vjp must be either a Tensor or a tuple "
                                        "of Tensors"):
        KF.vjp(exp_reducer(kindling), [ins[0][0]])


@pytest.mark.parametrize("name", ["vjp", "jvp"])
def test_create_graph_then_second_derivative(name):
    xa, va = arrays((3, 3), (3,) if name == "vjp" else (3, 3))
    results = []
    for lib, F in ((kindling, KF), (torch, TF)):
        x = lib.tensor(xa.copy(), requires_grad=True)
        v = lib.tensor(va.copy())
        out, prod = getattr(F, name)(exp_reducer(lib), x, v, create_graph=True)
        assert prod.requires_grad and out.requires_grad
        (g,) = lib.autograd.grad((prod ** 2).sum(), x)
        results.append((out, prod, g))
    assert_close(results[0], results[1], rtol=1e-10, atol=1e-12)


def test_without_create_graph_results_are_detached():
    x = kindling.tensor(arrays((3, 3))[0], requires_grad=True)
    out, prod = KF.vjp(exp_reducer(kindling), x, kindling.ones(3))
    assert not out.requires_grad and not prod.requires_grad
    assert x.grad is None


# --- jacobian ----------------------------------------------------------------------------------

@pytest.mark.parametrize("make_fn,shapes,tuple_inputs", [
    (exp_reducer, [(3, 2)], False),
    (adder, [(3,), (3,)], True),
    (two_outputs, [(2,), (2,)], True),
    (lambda lib: (lambda x: (x.sin(), x.sum())), [(2, 2)], False),
    (lambda lib: (lambda x: x.sum()), [(4,)], False),
])
@pytest.mark.parametrize("options", [{}, {"vectorize": True},
                                     {"vectorize": True, "strategy": "forward-mode"}])
def test_jacobian_structures(make_fn, shapes, tuple_inputs, options):
    ins = both(*arrays(*shapes))
    compare("jacobian", make_fn, ins, tuple_inputs=tuple_inputs, **options)


def test_jacobian_create_graph_gives_second_derivatives():
    xa = arrays((3,))[0]
    results = []
    for lib, F in ((kindling, KF), (torch, TF)):
        x = lib.tensor(xa.copy(), requires_grad=True)
        jac = F.jacobian(lambda x: x.sin() * x.sum(), x, create_graph=True)
        (g,) = lib.autograd.grad(jac.sum(), x)
        results.append((jac, g))
    assert_close(results[0], results[1], rtol=1e-10, atol=1e-12)


def test_jacobian_forward_mode_keeps_torch_restrictions():
    x = kindling.ones(2)
    with pytest.raises(NotImplementedError, match="create_graph=True.*forward-mode"):
        KF.jacobian(lambda x: x * 2, x, create_graph=True, strategy="forward-mode")
    with pytest.raises(NotImplementedError, match="only implemented for `vectorize=True`"):
        KF.jacobian(lambda x: x * 2, x, strategy="forward-mode")
    with pytest.raises(RuntimeError, match="`strict=True` and `vectorized=True`"):
        KF.jacobian(lambda x: x * 2, x, strict=True, vectorize=True)
    with pytest.raises(AssertionError, match="forward-mode"):
        KF.jacobian(lambda x: x * 2, x, strategy="sideways")


# --- hessian / vhp / hvp -----------------------------------------------------------------------

@pytest.mark.parametrize("make_fn,shapes,tuple_inputs", [
    (quartic, [(3,)], False),
    (lambda lib: (lambda x: (x.sin() * x.sum()).sum()), [(2, 2)], False),
    (pair_energy, [(2,), (3,)], True),
])
def test_hessian(make_fn, shapes, tuple_inputs):
    ins = both(*arrays(*shapes))
    compare("hessian", make_fn, ins, tuple_inputs=tuple_inputs)
    compare("hessian", make_fn, ins, tuple_inputs=tuple_inputs, vectorize=True,
            outer_jacobian_strategy="forward-mode")


@pytest.mark.parametrize("name", ["vhp", "hvp"])
def test_vhp_hvp_single_and_tuple(name):
    ins = both(*arrays((4,)))
    compare(name, quartic, ins, pair_v(*arrays((4,)), tuple_v=False), tuple_inputs=False)
    ins = both(*arrays((2,), (3,)))
    compare(name, pair_energy, ins, pair_v(*arrays((2,), (3,))))


@pytest.mark.parametrize("name", ["hessian", "vhp", "hvp"])
def test_second_order_create_graph_then_third_derivative(name):
    xa, va = arrays((3,), (3,))
    results = []
    for lib, F in ((kindling, KF), (torch, TF)):
        x = lib.tensor(xa.copy(), requires_grad=True)
        fn = quartic(lib)
        if name == "hessian":
            res = F.hessian(fn, x, create_graph=True)
        else:
            res = getattr(F, name)(fn, x, lib.tensor(va.copy()), create_graph=True)[1]
        assert res.requires_grad
        (g,) = lib.autograd.grad((res ** 2).sum(), x)
        results.append((res, g))
    assert_close(results[0], results[1], rtol=1e-10, atol=1e-12)


def test_hvp_requires_a_single_element_output():
    x = kindling.ones(3)
    with pytest.raises(RuntimeError, match="function given to hvp should contain a single"):
        KF.hvp(lambda x: x * 2, x, kindling.ones(3))
    with pytest.raises(RuntimeError, match="function given to hessian should return a single "
                                           "Tensor"):
        KF.hessian(lambda x: (x.sum(), x.sum()), x)


# --- strict --------------------------------------------------------------------------------------

def _errors(call_k, call_t):
    messages = []
    for call in (call_k, call_t):
        with pytest.raises(RuntimeError) as info:
            call()
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    return messages[0]


def test_strict_errors_match_torch():
    xa, ya = arrays((3,), (3,))
    k = (kindling.tensor(xa), kindling.tensor(ya))
    t = (torch.tensor(xa), torch.tensor(ya))
    # the output does not depend on y at all
    msg = _errors(lambda: KF.vjp(lambda x, y: x * 2, k, kindling.ones(3), strict=True),
                  lambda: TF.vjp(lambda x, y: x * 2, t, torch.ones(3), strict=True))
    assert "independent of input 1" in msg
    msg = _errors(lambda: KF.jacobian(lambda x, y: x * 2, k, strict=True),
                  lambda: TF.jacobian(lambda x, y: x * 2, t, strict=True))
    assert "Output 0 of the user-provided function is independent of input 1" in msg
    # an output that does not require grad
    _errors(lambda: KF.jvp(lambda x: kindling.ones(3), k[0], k[1], strict=True),
            lambda: TF.jvp(lambda x: torch.ones(3), t[0], t[1], strict=True))
    # the jacobian of a linear function is constant: its hessian is independent of the input
    msg = _errors(lambda: KF.hessian(lambda x: (2 * x).sum(), k[0], strict=True),
                  lambda: TF.hessian(lambda x: (2 * x).sum(), t[0], strict=True))
    assert "jacobian of the user-provided function" in msg
    _errors(lambda: KF.hvp(lambda x: (2 * x).sum(), k[0], k[1], strict=True),
            lambda: TF.hvp(lambda x: (2 * x).sum(), t[0], t[1], strict=True))


def test_non_strict_independent_input_gives_zeros():
    ins = both(*arrays((3,), (2,)))
    out_k, _ = compare("jacobian", lambda lib: (lambda x, y: x * 2), ins)
    assert np.all(out_k[1].numpy() == 0) and tuple(out_k[1].shape) == (3, 2)
    out_k, _ = compare("vjp", lambda lib: (lambda x, y: x * 2), ins,
                       pair_v(*arrays((3,)), tuple_v=False))
    assert np.all(out_k[1][1].numpy() == 0)



def _same_error(call, *args, **kwargs):
    """Call the function named `call` of both libraries (args are (kindling, torch) pairs, or
    plain values given to both); both must raise the same error type and message."""
    errors = []
    for i, F in enumerate((KF, TF)):
        with pytest.raises(Exception) as info:
            getattr(F, call)(*[a[i] if isinstance(a, tuple) else a for a in args], **kwargs)
        errors.append((type(info.value), str(info.value)))
    assert errors[0] == errors[1]
    return errors[0][1]


def _fns(make):
    return make(kindling), make(torch)


@pytest.mark.parametrize("name", ["hvp", "vhp", "jvp"])
def test_strict_unused_input_is_reported_by_the_first_pass(name):
    ins = both(*arrays((3,), (2,)))
    msg = _same_error(name, _fns(lambda lib: (lambda x, y: (x ** 3).sum())), ins, ins,
                      strict=True)
    assert msg.startswith("The output of the user-provided function is independent of input 1")


@pytest.mark.parametrize("name", ["hessian", "hvp", "vhp"])
def test_strict_constant_scalar_output_is_reported_as_not_requiring_grad(name):
    x = both(*arrays((3,)))
    for make in (lambda lib: (lambda x: lib.ones(())),
                 lambda lib: (lambda x: (x ** 3).sum().detach()),
                 lambda lib: (lambda x: lib.ones(3))):   # before the single-element check
        args = (_fns(make), (x[0][0], x[1][0]))
        args += () if name == "hessian" else ((x[0][0], x[1][0]),)
        assert _same_error(name, *args, strict=True).startswith(
            "Output 0 of the user-provided function does not require gradients")


def test_v_validation_against_a_single_tensor_matches_torch():
    x = both(*arrays((3,)))
    x = (x[0][0], x[1][0])
    short, wrong = (pair_v(a, tuple_v=False) for a in arrays((2,), (5,)))
    double = lambda lib: (lambda x: x * 2)
    assert _same_error("vjp", _fns(double), x, (short[0], short[1])) == \
        "v has invalid size: should be torch.Size([3]) but got torch.Size([2])."
    assert _same_error("vjp", _fns(double), x, ((x[0], x[0]), (x[1], x[1]))) == \
        "The given v should contain a single Tensor."
    _same_error("jvp", _fns(double), x, ((short[0],), (short[1],)))
    _same_error("hvp", _fns(lambda lib: (lambda x: x.sum())), x, (wrong[0], wrong[1]))
    # jvp and hvp check v before calling func, vjp only after its outputs passed strict
    _same_error("jvp", _fns(lambda lib: (lambda x: lib.ones(2))), x, (wrong[0], wrong[1]),
                strict=True)
    _same_error("vjp", _fns(lambda lib: (lambda x: lib.ones(2))), x, (wrong[0], wrong[1]),
                strict=True)


def test_v_may_be_omitted_for_a_one_tuple_of_one_element():
    ins = both(*arrays((1,)))
    compare("jvp", lambda lib: (lambda x: x.exp()), ins)
    compare("hvp", lambda lib: (lambda x: (x ** 3).sum()), ins)
    out_k, _ = compare("vjp", lambda lib: (lambda x: (x.exp(),)), ins, tuple_inputs=False)
    assert isinstance(out_k[0], tuple) and not isinstance(out_k[1], tuple)


def test_jacobian_and_hessian_option_errors_come_in_torchs_order():
    x = both(*arrays((3,)))
    x = (x[0][0], x[1][0])
    listed = ([x[0]], [x[1]])
    cube = _fns(lambda lib: (lambda x: (x ** 3).sum()))
    listing = _fns(lambda lib: (lambda x: [x]))
    # strategy and forward-mode combinations are refused before the inputs are looked at ...
    _same_error("jacobian", cube, listed, strategy="sideways")
    _same_error("jacobian", cube, listed, create_graph=True, vectorize=True,
                strategy="forward-mode")
    assert "`strict=True` and `strategy=\"forward-mode\"`" in _same_error(
        "jacobian", cube, listed, strict=True, vectorize=True, strategy="forward-mode")
    # ... vectorize=False with forward-mode after them, before calling func ...
    _same_error("jacobian", cube, listed, strategy="forward-mode")
    _same_error("jacobian", listing, x, strategy="forward-mode")
    # ... and strict with vectorize only once func's outputs have been checked
    _same_error("jacobian", listing, x, strict=True, vectorize=True)
    _same_error("jacobian", _fns(lambda lib: (lambda x: lib.ones(2))), x, strict=True,
                vectorize=True)
    # hessian: its inputs, then its own strategy message, then the inner gradient's checks
    _same_error("hessian", cube, listed, outer_jacobian_strategy="sideways")
    _same_error("hessian", cube, x, outer_jacobian_strategy="sideways")
    _same_error("hessian", cube, x, strict=True, vectorize=True,
                outer_jacobian_strategy="forward-mode")
    _same_error("hessian", cube, x, vectorize=True, create_graph=True,
                outer_jacobian_strategy="forward-mode")
    _same_error("hessian", _fns(lambda lib: (lambda x: x * 2)), x, strict=True, vectorize=True)
    ins = both(*arrays((3,), (2,)))
    for make in (lambda lib: (lambda x, y: (x ** 3).sum()),            # independent of y
                 lambda lib: (lambda x, y: (x ** 3).sum() + y.sum()),  # linear in y
                 lambda lib: (lambda x, y: x.sum() * y.sum())):         # vectorize refused
        _same_error("hessian", _fns(make), ins, strict=True, vectorize=True)
        _same_error("hessian", _fns(make), ins, strict=True)


def test_jacobian_of_an_empty_output_is_empty():
    # PyTorch fails here (its loop over output elements stacks nothing); kindling returns the
    # jacobian's actual shape.
    for options in ({}, {"vectorize": True}):
        jac = KF.jacobian(lambda x: x * 2, kindling.zeros(2, 0), **options)
        assert tuple(jac.shape) == (2, 0, 2, 0)
    jac = KF.jacobian(lambda x, y: x.sum() * y, (kindling.ones(3), kindling.zeros(0)))
    assert [tuple(j.shape) for j in jac] == [(0, 3), (0, 0)]


# --- anomaly mode -------------------------------------------------------------------------------

def _nan_backward(lib):
    x = lib.ones(3, requires_grad=True)
    y = x * lib.tensor(float("nan"))  # the line the warning must show
    y.sum().backward()


def test_anomaly_nan_error_names_the_node_like_torch():
    messages = []
    for lib in (kindling, torch):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with lib.autograd.detect_anomaly():
                with pytest.raises(RuntimeError) as info:
                    _nan_backward(lib)
        messages.append(str(info.value))
        texts = [str(w.message) for w in caught]
        assert any(t.startswith("Anomaly Detection has been enabled") for t in texts)
        trace = next(t for t in texts if t.startswith("Error detected in MulBackward0"))
        assert "Traceback of forward call that caused the error" in trace
        assert "test_autograd_functional.py" in trace and "_nan_backward" in trace
        assert "y = x * lib.tensor(float(\"nan\"))" in trace
    assert messages[0] == messages[1] == \
        "Function 'MulBackward0' returned nan values in its 0th output."


def test_anomaly_trace_ends_at_user_code_not_kindling_internals():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with kindling.autograd.detect_anomaly():
            x = kindling.tensor([0.0], requires_grad=True)
            with pytest.raises(RuntimeError, match="'SqrtBackward0' returned nan"):
                (x.sqrt() * 0).sum().backward()  # 0 * inf
    trace = next(str(w.message) for w in caught if "Error detected" in str(w.message))
    last = trace.strip().splitlines()[-1]
    assert "x.sqrt()" in last
    assert "kindling/engine" not in trace and "kindling/ops" not in trace


def test_no_error_when_anomaly_mode_is_off_or_check_nan_false():
    assert not kindling.is_anomaly_enabled()
    x = kindling.ones(3, requires_grad=True)
    (x * kindling.tensor(float("nan"))).sum().backward()
    assert np.isnan(x.grad.numpy()).all()
    x.grad = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with kindling.autograd.detect_anomaly(check_nan=False):
            (x * kindling.tensor(float("nan"))).sum().backward()
    assert np.isnan(x.grad.numpy()).all()


def test_anomaly_off_records_nothing():
    x = kindling.ones(3, requires_grad=True)
    y = x * 2
    assert "_forward_trace" not in y.grad_fn.__dict__
    with kindling.autograd.set_detect_anomaly(True):
        z = x * 2
    assert "_forward_trace" in z.grad_fn.__dict__


def test_anomaly_error_in_custom_backward_warns_then_reraises():
    class Broken(kindling.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, g):
            raise ValueError("broken backward")

    x = kindling.ones(2, requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with kindling.autograd.set_detect_anomaly(True):
            out = Broken.apply(x).sum()
            with pytest.raises(ValueError, match="broken backward"):
                out.backward()
    assert any("Error detected in BrokenBackward" in str(w.message) for w in caught)


def test_node_made_before_anomaly_mode_has_no_forward_information():
    x = kindling.ones(3, requires_grad=True)
    y = (x * kindling.tensor(float("nan"))).sum()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with kindling.autograd.set_detect_anomaly(True):
            with pytest.raises(RuntimeError, match="MulBackward0"):
                y.backward()
    assert any("No forward pass information available" in str(w.message) for w in caught)


def test_anomaly_flag_functions_match_torch():
    for lib in (kindling, torch):
        assert lib.is_anomaly_enabled() is False and lib.is_anomaly_check_nan_enabled() is True
        lib.set_anomaly_enabled(True, False)
        assert lib.is_anomaly_enabled() is True and lib.is_anomaly_check_nan_enabled() is False
        lib.set_anomaly_enabled(False)
        assert lib.is_anomaly_enabled() is False and lib.is_anomaly_check_nan_enabled() is True
        with lib.autograd.set_detect_anomaly(True, check_nan=False):
            assert lib.is_anomaly_enabled() and not lib.is_anomaly_check_nan_enabled()
        assert not lib.is_anomaly_enabled() and lib.is_anomaly_check_nan_enabled()
        lib.autograd.set_detect_anomaly(True)  # a plain call takes effect
        assert lib.is_anomaly_enabled()
        lib.autograd.set_detect_anomaly(False)
        assert not lib.is_anomaly_enabled()
        with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
            ctx = lib.autograd.detect_anomaly()
        with ctx:
            assert lib.is_anomaly_enabled()
        assert not lib.is_anomaly_enabled()


def test_detect_anomaly_as_decorator():
    @kindling.autograd.detect_anomaly()
    def step(x):
        assert kindling.is_anomaly_enabled()
        (x * kindling.tensor(float("nan"))).sum().backward()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match="'MulBackward0' returned nan"):
            step(kindling.ones(2, requires_grad=True))
    assert not kindling.is_anomaly_enabled()


def test_anomaly_state_restored_after_an_error():
    with pytest.raises(ZeroDivisionError):
        with kindling.autograd.set_detect_anomaly(True):
            1 / 0
    assert not kindling.is_anomaly_enabled()


# --- the package ----------------------------------------------------------------------------------

def test_autograd_package_keeps_its_exports():
    for name in ("grad", "backward", "Function", "gradcheck", "gradgradcheck", "no_grad",
                 "enable_grad", "set_grad_enabled", "is_grad_enabled", "detect_anomaly",
                 "set_detect_anomaly", "functional"):
        assert hasattr(kindling.autograd, name), name
    assert kindling.autograd.functional is KF
    assert kindling.autograd.grad is kindling.engine.autograd.grad


def test_torch_alias_resolves_autograd_functional_and_func():
    code = ("from kindling import compat; torch = compat.install()\n"
            "import torch.autograd.functional as F, torch.func, torch.nn.utils.stateless\n"
            "import kindling\n"
            "assert F is kindling.autograd.functional and torch.func is kindling.func\n"
            "assert torch.autograd.detect_anomaly is kindling.autograd.detect_anomaly\n"
            "assert torch.is_anomaly_enabled() is False\n"
            "assert torch.func.functional_call and torch.nn.utils.stateless.functional_call\n"
            "print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr


def test_autograd_functional_is_loaded_on_first_use():
    code = ("import sys, kindling\n"
            "assert 'kindling.autograd.functional' not in sys.modules\n"
            "assert kindling.autograd.functional.jacobian\n"
            "from kindling.autograd import functional\n"
            "assert functional is sys.modules['kindling.autograd.functional']\n"
            "print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr


def test_variable_is_a_tensor_sharing_data():
    from kindling.autograd import Variable
    x = kindling.ones(2)
    v = Variable(x)
    assert v is not x and isinstance(x, Variable) and not v.requires_grad
    v.add_(1)                                            # shares x's memory
    assert x.tolist() == [2.0, 2.0]
    y = kindling.ones(2, requires_grad=True) * 2
    w = Variable(y)
    assert w.is_leaf and not w.requires_grad and w.grad_fn is None
    z = Variable(x, requires_grad=True)
    (z * 3).sum().backward()
    assert z.is_leaf and z.grad.tolist() == [3.0, 3.0]
    assert Variable().shape == (0,) and not isinstance(1.0, Variable)
