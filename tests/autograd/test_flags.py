"""Autograd flags and graph structure: requires_grad, is_leaf, grad_fn, .grad, detach, volatile.

Seed claims C1-C5, C14 and C16 (the seed's first experiment, reproduced exactly).
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import leafgrad
from leafgrad.autograd import Variable
from leafgrad.autograd.graph import AccumulateGrad


# -- a. requires_grad --------------------------------------------------------------------------
def test_requires_grad_false_by_default():  # C1
    for t in (leafgrad.tensor([1.0, 2.0]), leafgrad.zeros(2), leafgrad.ones(2, 3),
              leafgrad.randn(3), leafgrad.Tensor([2]), leafgrad.arange(3)):
        assert t.requires_grad is False
        assert t.grad is None and t.grad_fn is None and t.is_leaf


def test_requires_grad_is_contagious():  # C2
    x = leafgrad.tensor([1.0, 2.0], requires_grad=True)
    y = leafgrad.tensor([3.0, 4.0])
    for z in (x * y, y * x, x + y, y - x, (x * y).sum(), y / x, leafgrad.exp(x) + y):
        assert z.requires_grad is True
        assert z.grad_fn is not None
    assert (y * y).requires_grad is False
    assert (y * 2).grad_fn is None


def test_any_tensor_of_a_computation_may_require_grad():  # C3
    x = leafgrad.tensor([1.0, 2.0])
    w = leafgrad.tensor([3.0, 4.0])
    w.requires_grad = True  # a weight
    hidden = x * w
    hidden.retain_grad()  # an intermediate
    out = (hidden * 2).sum()
    out.backward()
    assert x.grad is None
    np.testing.assert_allclose(w.grad.numpy(), [2.0, 4.0])
    np.testing.assert_allclose(hidden.grad.numpy(), [2.0, 2.0])


def test_requires_grad_underscore_sets_in_place_and_returns_self():
    x = leafgrad.tensor([1.0])
    assert x.requires_grad_() is x
    assert x.requires_grad is True
    assert x.requires_grad_(False) is x
    assert x.requires_grad is False


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool", "uint8"])
def test_only_floating_tensors_can_require_grad(dtype):
    t = leafgrad.zeros(3, dtype=getattr(leafgrad, dtype))
    with pytest.raises(RuntimeError,
                       match="only Tensors of floating point and complex dtype can require"):
        t.requires_grad_()
    with pytest.raises(RuntimeError, match="floating point"):
        t.requires_grad = True
    with pytest.raises(RuntimeError, match="floating point"):
        leafgrad.tensor([1, 2], requires_grad=True)
    assert t.requires_grad is False


def test_requires_grad_must_be_a_bool():
    with pytest.raises(TypeError, match="bool"):
        leafgrad.tensor([1.0]).requires_grad = 1


def test_setting_requires_grad_on_a_non_leaf_raises():
    x = leafgrad.tensor([1.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="only change requires_grad flags of leaf variables"
                       r"(.|\n)*detach"):
        y.requires_grad = False
    with pytest.raises(RuntimeError, match="only change requires_grad flags of leaf variables"):
        y.requires_grad_(False)
    # torch: the attribute cannot be assigned on a non-leaf at all, requires_grad_() may say True
    with pytest.raises(RuntimeError, match="only change requires_grad flags of leaf variables"):
        y.requires_grad = True
    assert y.requires_grad_() is y
    assert y.requires_grad and y.grad_fn is not None


def test_a_leaf_frozen_after_graph_built_gets_no_grad():  # C19 on a leaf
    w = leafgrad.tensor([1.0, 2.0], requires_grad=True)
    b = leafgrad.tensor([3.0], requires_grad=True)
    loss = (w * 2).sum() + b.sum()
    w.requires_grad = False
    loss.backward()
    assert w.grad is None
    np.testing.assert_allclose(b.grad.numpy(), [1.0])


# -- b. graph structure ------------------------------------------------------------------------
def test_is_leaf():
    x = leafgrad.tensor([1.0], requires_grad=True)
    c = leafgrad.tensor([1.0])
    y = x * 2
    assert x.is_leaf and c.is_leaf
    assert not y.is_leaf
    assert (c * 2).is_leaf  # no input requires grad: no history
    assert y.detach().is_leaf


@pytest.mark.parametrize("expr, name", [
    (lambda x, y: x * y, "MulBackward0"),
    (lambda x, y: x + y, "AddBackward0"),
    (lambda x, y: x - y, "SubBackward0"),
    (lambda x, y: x / y, "DivBackward0"),
    (lambda x, y: x ** 2, "PowBackward0"),
    (lambda x, y: -x, "NegBackward0"),
    (lambda x, y: x.sum(), "SumBackward0"),
    (lambda x, y: x.mean(), "MeanBackward0"),
    (lambda x, y: x.exp(), "ExpBackward0"),
    (lambda x, y: x.sin(), "SinBackward0"),
    (lambda x, y: x.tanh(), "TanhBackward0"),
    (lambda x, y: x.relu(), "ReluBackward0"),
    (lambda x, y: x.view(2), "ViewBackward0"),
    (lambda x, y: x.clone(), "CloneBackward0"),
])
def test_grad_fn_names_match_torch(expr, name):
    x = leafgrad.tensor([1.0, 2.0], requires_grad=True)
    y = leafgrad.tensor([3.0, 4.0], requires_grad=True)
    fn = expr(x, y).grad_fn
    assert type(fn).__name__ == name
    assert fn.name() == name
    assert name in repr(expr(x, y))  # tensor(..., grad_fn=<MulBackward0>)


def test_next_functions_lead_to_shared_accumulate_grad_nodes():
    x = leafgrad.tensor([1.0, 2.0], requires_grad=True)
    c = leafgrad.tensor([3.0, 4.0])
    z = x * c
    (node_x, nr_x), (node_c, nr_c) = z.grad_fn.next_functions
    assert type(node_x) is AccumulateGrad and node_x.variable is x and nr_x == 0
    assert node_c is None and nr_c == 0  # c does not require grad
    square = x * x
    first, second = square.grad_fn.next_functions
    assert first[0] is second[0] is node_x  # one accumulator per leaf
    chain = (x * 2) + 1
    inner, _ = chain.grad_fn.next_functions
    assert type(inner[0]).__name__ == "MulBackward0"
    assert inner[0].next_functions[0][0] is node_x


def test_only_leaves_requiring_grad_get_grad():  # C14
    x = leafgrad.tensor([1.0, 2.0], requires_grad=True)
    c = leafgrad.tensor([3.0, 4.0])
    y = x * c
    z = (y * y).sum()
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), [18.0, 64.0])  # 2 x c**2
    assert c.grad is None
    with pytest.warns(UserWarning, match="is not a leaf Tensor is being accessed"
                      r"(.|\n)*retain_grad"):
        assert y.grad is None
    with pytest.warns(UserWarning, match="not a leaf"):
        assert z.grad is None


def test_reading_grad_of_a_leaf_does_not_warn():
    x = leafgrad.tensor([1.0], requires_grad=True)
    c = leafgrad.tensor([1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert x.grad is None and c.grad is None


def test_retain_grad_keeps_grad_of_a_non_leaf():
    x = leafgrad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    assert y.retains_grad and not x.retains_grad
    (y * y).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [6.0, 12.0])
    assert y.grad.grad_fn is None and not y.grad.requires_grad
    np.testing.assert_allclose(x.grad.numpy(), [18.0, 36.0])
    x.retain_grad()  # a leaf: no-op
    with pytest.raises(RuntimeError, match="requires_grad=False"):
        leafgrad.tensor([1.0]).retain_grad()


def test_retain_grad_accumulates():
    x = leafgrad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    out = (y * 2).sum()
    out.backward(retain_graph=True)
    out.backward()
    np.testing.assert_allclose(y.grad.numpy(), [4.0, 4.0])


# -- the seed's first experiment (C16) ---------------------------------------------------------
def test_seed_experiment_c16_values():
    torch = leafgrad  # the seed's code, as written for torch
    w1 = Variable(torch.Tensor([2]), requires_grad=True)
    w2 = Variable(torch.Tensor([2]), requires_grad=True)
    x2 = Variable(torch.rand(1), requires_grad=True)
    y2 = x2 ** w1
    z2 = w2 * y2 + 1
    z2.backward()
    x, a, b = x2.item(), w1.item(), w2.item()
    assert x2.grad.item() == pytest.approx(a * x ** (a - 1) * b, rel=1e-5)
    assert w1.grad.item() == pytest.approx(b * x ** a * math.log(x), rel=1e-5)
    assert w2.grad.item() == pytest.approx(x ** a, rel=1e-5)
    with pytest.warns(UserWarning, match="not a leaf"):
        assert y2.grad is None
    assert (x2.grad.shape, w1.grad.shape, w2.grad.shape) == ((1,), (1,), (1,))


def test_seed_experiment_c16_graph_is_a_tree():
    w1 = Variable(leafgrad.Tensor([2]), requires_grad=True)
    w2 = Variable(leafgrad.Tensor([2]), requires_grad=True)
    x2 = Variable(leafgrad.rand(1), requires_grad=True)
    y2 = x2 ** w1
    z2 = w2 * y2 + 1
    add = z2.grad_fn
    assert add.name() == "AddBackward0"
    assert [n.name() if n else None for n, _ in add.next_functions] == ["MulBackward0", None]
    mul = add.next_functions[0][0]
    (acc_w2, _), (pow_node, _) = mul.next_functions
    assert type(acc_w2) is AccumulateGrad and acc_w2.variable is w2
    # the seed's PyTorch printed PowBackward0; torch 2 names tensor ** tensor PowBackward1
    assert pow_node is y2.grad_fn and pow_node.name() in ("PowBackward0", "PowBackward1")
    (acc_x2, _), (acc_w1, _) = pow_node.next_functions
    assert acc_x2.variable is x2 and acc_w1.variable is w1  # the deepest leaves
    assert acc_x2.next_functions == () and acc_w1.next_functions == ()


# -- f. detach and .data -----------------------------------------------------------------------
def test_detach_shares_storage_and_has_no_history():  # C5
    x = leafgrad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert d.is_leaf and d.grad_fn is None and d.requires_grad is False
    assert d.data_ptr() == y.data_ptr()
    d[0] = 10.0
    assert y[0].item() == 10.0
    y.detach()[1] = 20.0
    assert d.tolist() == [10.0, 20.0]
    assert y._version == d._version == 2  # one version counter


def test_detach_stops_backpropagation():
    x = leafgrad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = y.detach() * x  # d z / d x = y, treated as a constant
    z.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


def test_detach_in_place():
    x = leafgrad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    ptr = y.data_ptr()
    assert y.detach_() is y  # no new tensor
    assert y.is_leaf and y.grad_fn is None and not y.requires_grad
    assert y.data_ptr() == ptr
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()


def test_data_is_untracked_and_shares_storage():
    x = leafgrad.tensor([1.0, 2.0], requires_grad=True)
    d = x.data
    assert not d.requires_grad and d.grad_fn is None
    assert d.data_ptr() == x.data_ptr()
    d.mul_(3)  # allowed (untracked), and seen through x
    assert x.tolist() == [3.0, 6.0]
    assert x._version == 0  # torch: .data has its own version counter
    loss = (x * x).sum()
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 12.0])


def test_assigning_data_replaces_the_values():
    x = leafgrad.tensor([1.0, 2.0], requires_grad=True)
    x.data = leafgrad.tensor([5.0, 6.0])
    assert x.tolist() == [5.0, 6.0] and x.requires_grad and x.is_leaf


# -- g. volatile -------------------------------------------------------------------------------
def test_variable_returns_a_tensor():
    t = leafgrad.tensor([1.0, 2.0])
    v = Variable(t)
    assert type(v) is leafgrad.Tensor and isinstance(v, Variable)
    assert v.requires_grad is False and v.is_leaf
    w = Variable(t, requires_grad=True)
    assert w.requires_grad and w.is_leaf
    assert t.requires_grad is False  # as torch: a new leaf, the data is left alone
    assert w.data_ptr() == t.data_ptr()
    assert Variable([1.0, 2.0]).tolist() == [1.0, 2.0]


def test_variable_of_a_non_leaf_is_a_new_leaf():
    x = leafgrad.tensor([1.0], requires_grad=True)
    y = x * 2
    v = Variable(y, requires_grad=True)
    assert v is not y and v.is_leaf and v.requires_grad
    assert y.grad_fn is not None
    (v * 3).sum().backward()
    assert v.grad.tolist() == [3.0] and x.grad is None


def test_volatile_warns_towards_no_grad():  # C4
    with pytest.warns(DeprecationWarning, match="volatile(.|\n)*no_grad"):
        Variable(leafgrad.tensor([1.0]), volatile=True)


def test_volatile_is_contagious_and_records_no_graph():  # C4
    with pytest.warns(DeprecationWarning):
        v = Variable(leafgrad.tensor([1.0, 2.0]), volatile=True)
    w = leafgrad.tensor([3.0, 4.0], requires_grad=True)
    assert v.volatile and not v.requires_grad
    assert not w.volatile
    for result in (v * w, w * v, (v + 1) * w, leafgrad.exp(v) + w.sum()):
        assert result.volatile is True
        assert result.requires_grad is False and result.grad_fn is None
    later = (v * w).sum() * w  # volatile a step later
    assert later.volatile and later.grad_fn is None
    with pytest.raises(RuntimeError, match="volatile"):
        (v * w).sum().backward()
    assert w.grad is None


def test_volatile_with_requires_grad_true_still_gives_no_grad():
    with pytest.warns(DeprecationWarning):
        v = Variable(leafgrad.tensor([1.0]), requires_grad=True, volatile=True)
    assert v.volatile and v.requires_grad is False


def test_volatile_attribute_can_be_set_on_a_leaf():
    t = leafgrad.tensor([1.0, 2.0])
    with pytest.warns(DeprecationWarning, match="no_grad"):
        t.volatile = True
    w = leafgrad.tensor([1.0, 2.0], requires_grad=True)
    assert (t * w).volatile and (t * w).grad_fn is None
    with pytest.warns(DeprecationWarning):
        t.volatile = False
    assert (t * w).grad_fn is not None
    with pytest.warns(DeprecationWarning), pytest.raises(RuntimeError, match="leaf"):
        (w * 2).volatile = True



def _volatile(values):
    with pytest.warns(DeprecationWarning):
        return Variable(leafgrad.tensor(values), volatile=True)


def test_volatile_wins_over_other_reasons_whatever_the_argument_order():  # review #3
    v = _volatile([1.0, 2.0])
    w = leafgrad.tensor([3.0, 4.0], requires_grad=True)
    detached = w.detach()  # carries its own reason ('detach')
    for result in (v + detached, detached + v, leafgrad.lerp(v, w, detached),
                   leafgrad.lerp(detached, w, v)):
        assert result.volatile and not result.requires_grad and result.grad_fn is None


def test_custom_function_with_a_volatile_argument_records_nothing():  # review #3
    class Mul(leafgrad.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, grad):
            return grad, grad

    v = _volatile([1.0, 2.0])
    w = leafgrad.tensor([3.0, 4.0], requires_grad=True)
    for result in (Mul.apply(v, w.detach()), Mul.apply(w.detach(), v), Mul.apply(w, v)):
        assert result.volatile and result.grad_fn is None and not result.requires_grad


def test_in_place_op_with_a_volatile_operand_makes_the_target_volatile():  # review #2
    s = _volatile([3.0, 3.0])
    w = leafgrad.ones(2, requires_grad=True)
    a = w * 1
    a.retain_grad()
    a.mul_(s)  # the old graph (w * 1) no longer describes a
    assert a.tolist() == [3.0, 3.0]
    assert a.volatile and not a.requires_grad and a.grad_fn is None and not a.retains_grad
    with pytest.raises(RuntimeError, match="volatile"):
        a.sum().backward()
    assert w.grad is None


def test_in_place_op_on_a_view_with_a_volatile_operand_makes_base_and_views_volatile():
    s = _volatile([3.0])
    w = leafgrad.ones(3, requires_grad=True)
    b = w * 1
    other = b[1:]  # another view, made before
    b[0:1].mul_(s)
    assert b.tolist() == [3.0, 1.0, 1.0]
    for t in (b, other):
        assert t.volatile and not t.requires_grad and t.grad_fn is None
    assert (b * w).volatile


def test_leaf_updated_under_no_grad_with_a_volatile_operand_keeps_requires_grad():
    s = _volatile([3.0, 3.0])
    w = leafgrad.ones(2, requires_grad=True)
    with leafgrad.no_grad():
        w.mul_(s)  # an optimizer-style update: w stays a trainable leaf
    assert w.requires_grad and not w.volatile and w.tolist() == [3.0, 3.0]
