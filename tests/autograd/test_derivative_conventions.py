"""Derivatives where they are a convention, compared with PyTorch at exactly those points.

op_db's samples keep away from kinks, ties and degenerate shapes, because finite differences mean
nothing there. Here every case sits on them: relu'(0), abs'(0), the bounds of hardtanh and clamp
(min > max included), ties of maximum and of the max/min reductions, the norm at 0, where with
equal branches, 0 ** x, variance without degrees of freedom. For each case the values, the first
derivative (computed with create_graph=True, so whether it requires grad is compared too) and,
where torch's gradient requires grad, the second derivative must equal torch's in float64.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import leafgrad

torch = pytest.importorskip("torch")

INF = math.inf


def _functional(name, **fixed):
    return lambda m, x: getattr(m.nn.functional, name)(x, **fixed)


def _method(name, *args, **fixed):
    return lambda m, x: getattr(x, name)(*args, **fixed)


# (name, f(module, *inputs), inputs): each input becomes a float64 tensor that requires grad
CASES = [
    ("relu", lambda m, x: m.relu(x), [[-1.0, 0.0, 0.5]]),
    ("relu6", _functional("relu6"), [[-1.0, 0.0, 3.0, 6.0, 7.0]]),
    ("leaky_relu", _functional("leaky_relu", negative_slope=0.1), [[-1.0, 0.0, 2.0]]),
    ("elu", _functional("elu", alpha=1.3), [[-1.0, 0.0, 1.0]]),
    ("selu", _functional("selu"), [[-1.0, 0.0, 1.0]]),
    ("hardtanh", _functional("hardtanh", min_val=-1.0, max_val=2.0),
     [[-1.5, -1.0, 0.0, 2.0, 2.5]]),
    ("softplus_threshold", _functional("softplus", beta=2.0, threshold=2.0), [[-1.0, 0.0, 1.0]]),
    ("abs", lambda m, x: x.abs(), [[-1.0, 0.0, 2.0]]),
    ("sign", lambda m, x: x.sign(), [[-1.0, 0.0, 2.0]]),
    ("floor", lambda m, x: x.floor(), [[-1.0, -0.5, 0.0, 1.0]]),
    ("ceil", lambda m, x: x.ceil(), [[-1.0, -0.5, 0.0, 1.0]]),
    ("round_half", lambda m, x: x.round(), [[-1.5, -0.5, 0.5, 2.5]]),
    ("trunc", lambda m, x: x.trunc(), [[-1.0, -0.5, 0.0, 1.0]]),
    ("clamp_at_bounds", lambda m, x: x.clamp(-1.0, 1.0), [[-2.0, -1.0, 0.0, 1.0, 2.0]]),
    ("clamp_min_at_bound", lambda m, x: x.clamp(min=0.0), [[-1.0, 0.0, 1.0]]),
    ("clamp_max_at_bound", lambda m, x: x.clamp(max=0.0), [[-1.0, 0.0, 1.0]]),
    ("clamp_min_above_max", lambda m, x: x.clamp(2.0, 1.0), [[0.5, 1.0, 1.5, 2.0, 3.0]]),
    ("clamp_tensor_bounds_at_bounds", lambda m, x, lo, hi: m.clamp(x, lo, hi),
     [[-2.0, -1.0, 0.0, 1.0, 2.0], [-1.0] * 5, [1.0] * 5]),
    ("clamp_tensor_min_above_max", lambda m, x, lo, hi: m.clamp(x, lo, hi),
     [[0.5, 1.0, 1.5, 2.0, 3.0], [2.0] * 5, [1.0] * 5]),
    ("clamp_tensor_min_equal_max", lambda m, x, lo, hi: m.clamp(x, lo, hi),
     [[0.5, 1.0, 1.5], [1.0] * 3, [1.0] * 3]),
    ("clamp_tensor_min_only", lambda m, x, lo: m.clamp(x, lo), [[-1.0, 0.0, 1.0], [0.0] * 3]),
    ("clamp_tensor_max_only", lambda m, x, hi: m.clamp(x, max=hi), [[-1.0, 0.0, 1.0], [0.0] * 3]),
    ("maximum_ties", lambda m, x, y: m.maximum(x, y), [[1.0, 2.0, 3.0], [1.0, 0.0, 3.0]]),
    ("minimum_ties", lambda m, x, y: m.minimum(x, y), [[1.0, 2.0, 3.0], [1.0, 0.0, 3.0]]),
    ("maximum_nan", lambda m, x, y: m.maximum(x, y), [[math.nan, 1.0], [1.0, math.nan]]),
    ("max_ties", lambda m, x: x.max(), [[1.0, 3.0, 3.0, 0.0]]),
    ("min_ties", lambda m, x: x.min(), [[1.0, 0.0, 3.0, 0.0]]),
    ("max_dim_ties", lambda m, x: x.max(1).values, [[[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]]),
    ("min_dim_ties", lambda m, x: x.min(0).values, [[[1.0, 3.0], [1.0, 2.0]]]),
    ("amax_ties", lambda m, x: x.amax(1), [[[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]]),
    ("amin_ties", lambda m, x: x.amin(), [[[1.0, 0.0], [0.0, 2.0]]]),
    ("amax_nan", lambda m, x: x.amax(), [[1.0, math.nan, 2.0]]),
    ("norm_2_at_zero", lambda m, x: x.norm(), [[0.0, 0.0, 0.0]]),
    ("norm_2_dim_at_zero", lambda m, x: x.norm(dim=1), [[[0.0, 0.0], [3.0, 4.0]]]),
    ("norm_1_at_zero", lambda m, x: x.norm(p=1), [[0.0, 1.0, -2.0]]),
    ("norm_3_at_zero", lambda m, x: x.norm(p=3), [[0.0, 0.0]]),
    ("norm_1_5_at_zero", lambda m, x: x.norm(p=1.5), [[0.0, 0.0]]),
    ("norm_0_5_with_a_zero", lambda m, x: x.norm(p=0.5), [[0.0, 1.0]]),
    ("norm_inf_ties", lambda m, x: x.norm(p=INF), [[1.0, -1.0, 0.5]]),
    ("norm_0", lambda m, x: x.norm(p=0), [[1.0, 0.0, 2.0]]),
    ("where_equal_branches", lambda m, x, y: m.where(x > 0, x, y),
     [[-1.0, 0.0, 2.0], [-1.0, 0.0, 2.0]]),
    ("where_same_tensor", lambda m, x: m.where(x > 0, x, x), [[-1.0, 0.0, 2.0]]),
    ("pow_zero_base", lambda m, x: 0.0 ** x, [[-1.0, 0.0, 2.0]]),
    ("pow_zero_exponent_at_zero", lambda m, x: x ** 0, [[0.0, 1.0]]),
    ("pow_tensor_at_zero", lambda m, x, y: x ** y, [[0.0, 0.0, 0.0], [0.0, 1.0, 2.0]]),
    ("div_floor", lambda m, x, y: m.div(x, y, rounding_mode="floor"), [[1.5, -2.5], [2.0, 0.7]]),
    ("div_trunc", lambda m, x, y: m.div(x, y, rounding_mode="trunc"), [[1.5, -2.5], [2.0, 0.7]]),
    ("var_no_dof_whole", lambda m, x: x.var(correction=3), [[1.0, 2.0, 4.0]]),
    ("var_no_dof_whole_at_mean", lambda m, x: x.var(), [[2.0]]),
    ("var_no_dof_dim", lambda m, x: x.var(dim=0, correction=3), [[1.0, 2.0, 4.0]]),
    ("var_negative_dof_dim", lambda m, x: x.var(dim=0, correction=5), [[1.0, 2.0, 4.0]]),
    ("var_0d", lambda m, x: x.var(), [2.0]),
    ("std_constant", lambda m, x: x.std(dim=1), [[[1.0, 1.0, 1.0], [1.0, 2.0, 3.0]]]),
    ("std_no_dof_dim", lambda m, x: x.std(dim=0, correction=3), [[1.0, 2.0, 4.0]]),
    ("std_negative_dof_dim", lambda m, x: x.std(dim=0, correction=5), [[1.0, 2.0, 4.0]]),
    ("prod_0d", lambda m, x: x.prod(), [3.0]),
    ("prod_with_zeros", lambda m, x: x.prod(), [[2.0, 0.0, 3.0, 0.0]]),
    ("prod_dim_one_zero", lambda m, x: x.prod(1), [[[2.0, 0.0, 3.0], [1.0, 2.0, 3.0]]]),
    ("prod_single_zero", lambda m, x: x.prod(), [[0.0]]),
    ("prod_size_one_dim_with_zeros", lambda m, x: x.prod(0), [[[0.0, 1.0, 0.0]]]),
    ("cumprod_one_element", lambda m, x: x.cumprod(0), [[2.0]]),
    ("cumprod_size_one_dim", lambda m, x: x.cumprod(1), [[[2.0], [3.0]]]),
    ("cumprod_with_zero", lambda m, x: x.cumprod(0), [[2.0, 0.0, 3.0]]),
    ("logit_eps_bounds", lambda m, x: x.logit(eps=0.25), [[0.1, 0.25, 0.5, 0.75, 0.9]]),
    ("pad_reflect", lambda m, x: m.nn.functional.pad(x, (2, 1), mode="reflect"),
     [[[-1.0, 0.0, 0.5, 2.0]]]),
    ("pad_replicate", lambda m, x: m.nn.functional.pad(x, (2, 1, 1, 0), mode="replicate"),
     [[[[1.0, 2.0], [3.0, 4.0]]]]),
    ("pad_circular", lambda m, x: m.nn.functional.pad(x, (1, 1), mode="circular"),
     [[[1.0, 2.0, 3.0]]]),
    ("pad_constant", lambda m, x: m.nn.functional.pad(x, (1, 2)), [[[1.0, 2.0]]]),
]


def _run(module, function, inputs):
    """Values, then per input (gradient array, requires_grad) with create_graph=True, then the
    second derivatives (or None where the gradients do not require grad)."""
    tensors = [module.tensor(np.array(v, dtype=np.float64), requires_grad=True) for v in inputs]
    out = function(module, *tensors)
    cotangent = module.tensor(np.linspace(0.5, 1.5, out.numel()).reshape(tuple(out.shape)))
    grads = module.autograd.grad(out, tensors, cotangent, create_graph=True, allow_unused=True)
    first = [None if g is None else (_array(g), g.requires_grad) for g in grads]
    second = None
    recorded = [g for g in grads if g is not None and g.requires_grad]
    if recorded:
        weights = [module.tensor(np.linspace(-1.0, 2.0, g.numel()).reshape(tuple(g.shape)))
                   for g in recorded]
        total = sum((g * w).sum() for g, w in zip(recorded, weights))
        second = [None if g is None else _array(g) for g in
                  module.autograd.grad(total, tensors, allow_unused=True)]
    return _array(out), first, second


def _array(tensor) -> np.ndarray:
    # force: torch's zero tensors without storage (the derivative of sgn ...) give zeros
    return tensor.detach().numpy(force=True)


def _assert_equal(ours, theirs, what: str) -> None:
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} vs torch {theirs.shape}"
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12, equal_nan=True,
                               err_msg=what)


# NumPy warns where torch's formulas meet inf * 0 in double backward (the norm at 0, 0 ** x),
# which torch evaluates silently to NaN; the values are what is compared here.
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name, function, inputs", CASES, ids=[c[0] for c in CASES])
def test_derivative_at_the_kink_matches_torch(name, function, inputs):
    ours = _run(leafgrad, function, inputs)
    theirs = _run(torch, function, inputs)
    _assert_equal(ours[0], theirs[0], f"{name} value")
    for index, (g_ours, g_theirs) in enumerate(zip(ours[1], theirs[1], strict=True)):
        assert (g_ours is None) == (g_theirs is None), (
            f"{name}: gradient {index} is {g_ours}, torch gives {g_theirs}")
        if g_ours is None:
            continue
        _assert_equal(g_ours[0], g_theirs[0], f"{name} gradient {index}")
        assert g_ours[1] == g_theirs[1], (
            f"{name}: with create_graph, gradient {index} requires_grad={g_ours[1]}, torch "
            f"{g_theirs[1]}")
    assert (ours[2] is None) == (theirs[2] is None)
    for index, (gg_ours, gg_theirs) in enumerate(zip(ours[2] or (), theirs[2] or (),
                                                     strict=True)):
        assert (gg_ours is None) == (gg_theirs is None), (
            f"{name}: second derivative {index} is {gg_ours}, torch gives {gg_theirs}")
        if gg_ours is not None:
            _assert_equal(gg_ours, gg_theirs, f"{name} second derivative {index}")


# -- piecewise-linear backward ops (torch's threshold_backward and friends) ---------------------
BACKWARD_NODES = [
    ("relu", lambda m, x: m.relu(x), "ThresholdBackwardBackward0"),
    ("leaky_relu", _functional("leaky_relu", negative_slope=0.1), "LeakyReluBackwardBackward0"),
    ("hardtanh", _functional("hardtanh"), "HardtanhBackwardBackward0"),
    ("relu6", _functional("relu6"), "HardtanhBackwardBackward0"),
    ("pad_reflect", _functional("pad", pad=(1, 1), mode="reflect"),
     "ReflectionPad1DBackwardBackward0"),
    ("pad_replicate", _functional("pad", pad=(1, 1, 1, 1), mode="replicate"),
     "ReplicationPad2DBackwardBackward0"),
]


@pytest.mark.parametrize("name, function, node", BACKWARD_NODES, ids=[c[0] for c in
                                                                     BACKWARD_NODES])
def test_create_graph_records_the_backward_op_as_torch(name, function, node):
    """The gradient of a piecewise-linear op is an op of (grad, saved input) whose derivative
    with respect to the saved input is zero: with create_graph it requires grad, and
    differentiating it again gives zeros, not an error."""
    for module in (leafgrad, torch):
        x = module.tensor([[[-1.0, 0.0, 0.5, 2.0]]], requires_grad=True)
        (g,) = module.autograd.grad(function(module, x).sum(), x, create_graph=True)
        assert g.requires_grad and type(g.grad_fn).__name__ == node, module.__name__
        (gg,) = module.autograd.grad(g.sum(), x)
        assert _array(gg).tolist() == [[[0.0] * 4]]


@pytest.mark.parametrize("name, function, node", [
    ("elu", _functional("elu"), "EluBackwardBackward0"),
    ("softplus", _functional("softplus"), "SoftplusBackwardBackward0")])
def test_create_graph_records_smooth_activation_backward_ops_as_torch(name, function, node):
    for module in (leafgrad, torch):
        x = module.tensor([-1.0, 0.0, 0.5, 2.0], requires_grad=True)
        (g,) = module.autograd.grad(function(module, x).sum(), x, create_graph=True)
        assert g.requires_grad and type(g.grad_fn).__name__ == node, module.__name__


@pytest.mark.parametrize("function", [
    lambda x: x.relu(), lambda x: leafgrad.nn.functional.leaky_relu(x, 0.1),
    lambda x: leafgrad.nn.functional.hardtanh(x), lambda x: leafgrad.nn.functional.elu(x),
    lambda x: leafgrad.where(x > 0, x, x * 2), lambda x: x.clamp(-1.0, 1.0),
    lambda x: x.clamp(leafgrad.zeros(4), leafgrad.ones(4)),
    lambda x: leafgrad.maximum(x, leafgrad.zeros(4)), lambda x: x.amax(),
    lambda x: x.norm(p=INF)], ids=["relu", "leaky_relu", "hardtanh", "elu", "where", "clamp",
                                   "clamp_tensor", "maximum", "amax", "norm_inf"])
def test_masked_gradients_make_no_tensor_copies(function, monkeypatch):
    """Their backward works on the arrays: no mask goes through leafgrad.tensor() (a copy)."""
    x = leafgrad.tensor([-2.0, 0.0, 0.5, 2.0], requires_grad=True)
    y = function(x).sum()

    def no_copies(*args, **kwargs):
        raise AssertionError("backward converted an array with leafgrad.tensor()")

    monkeypatch.setattr(leafgrad._factories, "tensor", no_copies)
    y.backward()
    assert x.grad is not None


# -- the reviewed cases, spelled out -------------------------------------------------------------
def test_clamp_with_min_above_max_gives_the_gradient_to_max():
    x = leafgrad.tensor([0.5, 1.5, 3.0], requires_grad=True)
    low = leafgrad.tensor([2.0, 2.0, 2.0], requires_grad=True)
    high = leafgrad.tensor([1.0, 1.0, 1.0], requires_grad=True)
    y = leafgrad.clamp(x, low, high)
    assert y.tolist() == [1.0, 1.0, 1.0]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]
    assert low.grad.tolist() == [0.0, 0.0, 0.0]
    assert high.grad.tolist() == [1.0, 1.0, 1.0]


def test_div_with_a_rounding_mode_has_a_zero_gradient_floor_divide_none():
    x = leafgrad.tensor([1.5, -2.5], requires_grad=True)
    for mode in ("floor", "trunc"):
        y = leafgrad.div(x, 2, rounding_mode=mode)
        assert type(y.grad_fn).__name__ == "DivBackward2"
        (g,) = leafgrad.autograd.grad(y.sum(), x)
        assert g.tolist() == [0.0, 0.0]
    y = x // 2
    assert type(y.grad_fn).__name__ == "NotImplemented"  # torch's name: no derivative
    with pytest.raises(RuntimeError, match="derivative for floor_divide is not implemented"):
        y.sum().backward()


def test_integer_division_rounding_matches_torch():
    a, b = [7, -7, 7, -7, 6, 0], [2, 2, -2, -2, -3, 5]
    for mode in ("floor", "trunc"):
        ours = leafgrad.div(leafgrad.tensor(a), leafgrad.tensor(b), rounding_mode=mode)
        theirs = torch.div(torch.tensor(a), torch.tensor(b), rounding_mode=mode)
        assert ours.tolist() == theirs.tolist() and str(ours.dtype) == str(theirs.dtype)
