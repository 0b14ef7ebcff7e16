"""backward() and autograd.grad(): implicit gradients, errors, accumulation, ``inputs=``,
``retain_graph`` (and the seed's ``retain_variables``), ``create_graph`` and higher derivatives.

Seed claims C6-C11 and C15.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import leafgrad
from leafgrad.autograd import Variable


def leaf(values, dtype=None):
    return leafgrad.tensor(values, dtype=dtype, requires_grad=True)


# -- c. backward(gradient, retain_graph, create_graph, inputs) ---------------------------------
@pytest.mark.parametrize("shape", [(2,), (2, 3), (0,)])
def test_implicit_gradient_only_for_one_element_outputs(shape):  # C15
    x = leafgrad.ones(*shape, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar "
                                           "outputs"):
        y.backward()
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar"):
        leafgrad.autograd.grad(y, x)
    assert x.grad is None


@pytest.mark.parametrize("shape", [(), (1,), (1, 1)])
def test_implicit_gradient_for_one_element_outputs_is_one(shape):
    x = leafgrad.full(shape, 3.0, requires_grad=True)
    (x * x).backward()
    assert x.grad.shape == shape
    assert x.grad.flatten().tolist() == [6.0]


def test_non_scalar_backward_with_gradient():  # C15
    x = leaf([1.0, 2.0, 3.0])
    y = x * x
    y.backward(leafgrad.tensor([1.0, 0.1, 0.01]))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 0.4, 0.06], rtol=1e-6)


def test_scalar_backward_equals_backward_with_tensor_one():  # C11
    grads = []
    for gradient in (None, leafgrad.tensor([1.0])):
        x = leaf([0.7])
        w = leaf([-1.3])
        ((x * w).exp() + x).backward(gradient)
        grads.append((x.grad.tolist(), w.grad.tolist()))
    assert grads[0] == grads[1]
    expected_x = -1.3 * math.exp(0.7 * -1.3) + 1
    assert grads[0][0][0] == pytest.approx(expected_x, rel=1e-6)


def test_gradient_of_the_wrong_shape_names_both_shapes():
    x = leaf([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match=r"Mismatch in shape: grad_output\[0\] has a shape of "
                                           r"\[2\] and output\[0\] has a shape of \[3\]"):
        (x * 2).backward(leafgrad.ones(2))
    assert x.grad is None


def test_a_gradient_of_another_dtype_is_cast_to_the_output_dtype_as_torch():
    x = leaf([1.0, 2.0])
    (x * 2).backward(leafgrad.tensor([1, 3]))
    assert x.grad.dtype == leafgrad.float32 and x.grad.tolist() == [2.0, 6.0]
    x.grad = None
    (x * 2).backward(leafgrad.tensor([1.0, 3.0], dtype=leafgrad.float64))
    assert x.grad.dtype == leafgrad.float32 and x.grad.tolist() == [2.0, 6.0]


def test_backward_of_a_tensor_without_grad_explains_no_grad():
    x = leaf([1.0])
    with leafgrad.no_grad():
        y = x * 2
    with pytest.raises(RuntimeError, match=r"does not require grad and does not have a grad_fn"
                                           r"(.|\n)*no_grad"):
        y.backward()


def test_backward_of_a_tensor_without_grad_explains_detach():
    x = leaf([1.0])
    with pytest.raises(RuntimeError, match=r"does not require grad(.|\n)*detach"):
        (x.detach() * 2).backward()
    y = x * 2
    y.detach_()
    with pytest.raises(RuntimeError, match=r"does not require grad(.|\n)*detach"):
        (y * 2).backward()


def test_backward_of_a_tensor_without_grad_explains_volatile():
    with pytest.warns(DeprecationWarning):
        v = Variable(leafgrad.tensor([1.0]), volatile=True)
    with pytest.raises(RuntimeError, match=r"does not require grad(.|\n)*volatile"):
        (v * leaf([2.0])).backward()


def test_backward_of_a_tensor_without_grad_explains_requires_grad_false():
    x = leafgrad.tensor([1.0])
    w = leaf([2.0])
    w.requires_grad = False  # a frozen parameter
    with pytest.raises(RuntimeError, match=r"does not require grad(.|\n)*requires_grad=False"
                                           r"(.|\n)*frozen"):
        (x * w).backward()


def test_gradients_accumulate_across_backward_calls():  # C9
    x = leaf([1.0, 2.0])
    (x * 3).sum().backward()
    first = x.grad
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3 + 2, 3 + 4])
    assert x.grad is first  # accumulated in place, as torch
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3, 3])
    x.grad.zero_()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3, 3])


def test_grad_is_a_copy_not_the_incoming_gradient():
    x = leaf([1.0, 2.0])
    gradient = leafgrad.tensor([1.0, 1.0])
    (x * 1).backward(gradient)
    assert x.grad.data_ptr() != gradient.data_ptr()
    gradient.mul_(5)
    assert x.grad.tolist() == [1.0, 1.0]


def test_several_losses_from_one_forward_accumulate():  # C6, C9
    x = leaf([1.0, 2.0])
    hidden = (x * x).exp()
    loss1 = hidden.sum()
    loss2 = (hidden * 2).sum()
    loss1.backward(retain_graph=True)
    loss2.backward()
    expected = 3 * 2 * np.array([1.0, 2.0]) * np.exp([1.0, 4.0])
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-6)


def test_backward_inputs_restricts_accumulation_to_leaves_given():
    a = leaf([1.0, 2.0])
    b = leaf([3.0, 4.0])
    c = a * b
    (c * c).sum().backward(inputs=[a])
    np.testing.assert_allclose(a.grad.numpy(), [2 * 3 * 3 * 1, 2 * 8 * 4])  # 2 a b**2
    assert b.grad is None
    (a * b).sum().backward(inputs=b)  # a single tensor is accepted
    np.testing.assert_allclose(b.grad.numpy(), [1.0, 2.0])
    np.testing.assert_allclose(a.grad.numpy(), [18.0, 64.0])  # unchanged


def test_backward_inputs_can_name_a_non_leaf():
    a = leaf([1.0, 2.0])
    b = leaf([3.0, 4.0])
    c = a * b
    (c * c).sum().backward(inputs=[c])
    np.testing.assert_allclose(c.grad.numpy(), [6.0, 16.0])  # 2 c
    assert a.grad is None and b.grad is None


def test_backward_inputs_empty_or_without_grad_raises():
    a = leaf([1.0])
    y = a * 2
    with pytest.raises(RuntimeError, match="'inputs' argument to backward\\(\\) cannot be empty"):
        y.backward(inputs=[], retain_graph=True)
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward(inputs=[leafgrad.tensor([1.0])])


def test_autograd_backward_with_several_tensors_and_grad_tensors():
    a = leaf([1.0, 2.0])
    b = leaf([3.0])
    leafgrad.autograd.backward([a * 2, (b * b).sum()], [leafgrad.tensor([1.0, 10.0]), None])
    assert a.grad.tolist() == [2.0, 20.0]
    assert b.grad.tolist() == [6.0]
    with pytest.raises(RuntimeError, match="got 1 gradients for 2 tensors"):
        leafgrad.autograd.backward([a * 2, b * 2], [leafgrad.ones(2)])


def test_autograd_backward_grad_variables_is_the_old_name_of_grad_tensors():
    a = leaf([1.0, 2.0])
    with pytest.warns(DeprecationWarning, match="grad_tensors"):
        leafgrad.autograd.backward(a * 2, grad_variables=leafgrad.tensor([1.0, 3.0]))
    assert a.grad.tolist() == [2.0, 6.0]


# -- d. freeing the graph, retain_graph, retain_variables ---------------------------------------
@pytest.mark.parametrize("op, node", [(lambda x: x * x, "MulBackward0"),
                                      (lambda x: x.exp(), "ExpBackward0"),
                                      (lambda x: x.tanh(), "TanhBackward0")])
def test_second_backward_through_a_freed_graph_raises(op, node):  # C6
    x = leaf([0.5, 1.5])
    y = op(x).sum()
    y.backward()
    first = x.grad.clone()
    with pytest.raises(RuntimeError, match=rf"backward through the graph a second time(.|\n)*"
                                           rf"{node}(.|\n)*retain_graph=True"):
        y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), first.numpy())  # nothing accumulated
    with pytest.raises(RuntimeError, match=node):
        leafgrad.autograd.grad(y, x)


def test_retain_graph_allows_a_second_backward():  # C6
    x = leaf([0.5, 1.5])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * 2 * np.array([0.5, 1.5]))
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_a_graph_without_saved_tensors_can_be_walked_again():  # as torch
    x = leaf([0.5, 1.5])
    y = (x + 1).sum()
    y.backward()
    y.backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_freed_custom_function_saved_tensors_raise():
    class Square(leafgrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 2 * x * grad

    x = leaf([3.0])
    y = Square.apply(x)
    assert y.grad_fn.saved_tensors[0] is x
    y.backward()
    with pytest.raises(RuntimeError, match="SquareBackward(.|\n)*retain_graph=True"):
        _ = y.grad_fn.saved_tensors


def test_retain_graph_defaults_to_create_graph():
    x = leaf([2.0])
    y = x ** 3
    (g,) = leafgrad.autograd.grad(y, x, create_graph=True)
    (g2,) = leafgrad.autograd.grad(y, x)  # the graph was retained
    assert g.item() == g2.item() == 12.0
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        leafgrad.autograd.grad(y, x)
    z = leaf([2.0])
    w = z ** 3
    with pytest.warns(UserWarning, match="reference cycle"):
        w.backward(create_graph=True)
    w.backward()  # retained by create_graph=True
    assert z.grad.item() == 24.0


def test_retain_variables_is_accepted_warns_and_retains():  # C7
    x = leaf([0.5, 1.5])
    y = (x * x).sum()
    with pytest.warns(DeprecationWarning, match="retain_variables(.|\n)*retain_graph"):
        y.backward(retain_variables=True)
    y.backward()  # would raise if the graph had been freed
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 6.0])
    z = (x * x).sum()
    with pytest.warns(DeprecationWarning, match="retain_graph"):
        z.backward(retain_variables=False)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        z.backward()


def test_autograd_backward_accepts_retain_variables():
    x = leaf([1.0])
    y = (x * x).sum()
    with pytest.warns(DeprecationWarning, match="retain_graph"):
        leafgrad.autograd.backward(y, retain_variables=True)
    leafgrad.autograd.backward(y)
    assert x.grad.item() == 4.0


def test_retain_variables_points_at_the_callers_line():
    x = leaf([1.0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (x * x).sum().backward(retain_variables=True)
    assert len(caught) == 1 and caught[0].filename == __file__
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        leafgrad.autograd.backward((x * x).sum(), retain_variables=True)
        leafgrad.autograd.backward((x * x).sum(), create_graph=True)
    assert [w.filename for w in caught] == [__file__, __file__]


# -- e. create_graph and autograd.grad ---------------------------------------------------------
def test_third_derivative_of_a_cube():  # C8
    x = leaf([1.5, -2.0])
    (d1,) = leafgrad.autograd.grad((x ** 3).sum(), x, create_graph=True)
    np.testing.assert_allclose(d1.detach().numpy(), 3 * np.array([1.5, -2.0]) ** 2)
    assert d1.requires_grad and d1.grad_fn is not None
    (d2,) = leafgrad.autograd.grad(d1.sum(), x, create_graph=True)
    np.testing.assert_allclose(d2.detach().numpy(), [9.0, -12.0])
    (d3,) = leafgrad.autograd.grad(d2.sum(), x)
    np.testing.assert_allclose(d3.numpy(), [6.0, 6.0])
    assert not d3.requires_grad
    assert x.grad is None  # autograd.grad never touches .grad


@pytest.mark.parametrize("fn, derivatives", [
    (leafgrad.sin, (np.cos, lambda v: -np.sin(v), lambda v: -np.cos(v))),
    (leafgrad.exp, (np.exp, np.exp, np.exp)),
    (leafgrad.tanh, (lambda v: 1 - np.tanh(v) ** 2,
                     lambda v: -2 * np.tanh(v) * (1 - np.tanh(v) ** 2),
                     lambda v: -2 * (1 - np.tanh(v) ** 2) * (1 - 3 * np.tanh(v) ** 2))),
])
def test_higher_derivatives_of_elementary_functions(fn, derivatives):
    values = np.array([-0.7, 0.3, 1.1])
    x = leaf(values, dtype=leafgrad.float64)
    current = fn(x)
    for order, expected in enumerate(derivatives, start=1):
        (current,) = leafgrad.autograd.grad(current.sum(), x, create_graph=order < 3)
        np.testing.assert_allclose(current.detach().numpy(), expected(values), rtol=1e-12,
                                   err_msg=f"derivative {order}")


def test_backward_with_create_graph_gives_a_differentiable_grad():
    x = leaf([2.0])
    with pytest.warns(UserWarning, match="reference cycle"):
        (x ** 3).backward(create_graph=True)
    grad = x.grad
    assert grad.requires_grad and grad.item() == 12.0
    x.grad = None
    grad.backward()
    assert x.grad.item() == 12.0  # 6 x


def test_grad_does_not_touch_grad_attributes():
    x = leaf([1.0, 2.0])
    y = x * 3
    y.retain_grad()
    (gx,) = leafgrad.autograd.grad((y * y).sum(), x)
    np.testing.assert_allclose(gx.numpy(), [18.0, 36.0])
    assert x.grad is None
    np.testing.assert_allclose(y.grad.numpy(), [6.0, 12.0])  # torch: retain_grad still applies


def test_grad_with_respect_to_a_non_leaf_and_grad_outputs():
    x = leaf([1.0, 2.0])
    y = x * 3
    z = y * y
    gy, gx = leafgrad.autograd.grad(z, [y, x], grad_outputs=leafgrad.tensor([1.0, 0.5]))
    np.testing.assert_allclose(gy.numpy(), [6.0, 6.0])
    np.testing.assert_allclose(gx.numpy(), [18.0, 18.0])


def test_grad_of_an_unused_input_names_it_unless_allow_unused():
    x = leaf([1.0])
    unused = leaf([2.0, 3.0])
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match=r"appears to not have been used in the graph(.|\n)*"
                                           r"inputs\[1\](.|\n)*allow_unused=True"):
        leafgrad.autograd.grad(y, [x, unused], retain_graph=True)
    gx, gu = leafgrad.autograd.grad(y, [x, unused], retain_graph=True, allow_unused=True)
    assert gx.tolist() == [2.0] and gu is None
    gx, gu = leafgrad.autograd.grad(y, [x, unused], materialize_grads=True)
    assert gu.tolist() == [0.0, 0.0]


def test_grad_of_an_input_that_does_not_require_grad_raises():
    x = leaf([1.0])
    c = leafgrad.tensor([1.0])
    with pytest.raises(RuntimeError, match=r"inputs\[1\](.|\n)*does not require grad"):
        leafgrad.autograd.grad((x * c).sum(), [x, c])


def test_grad_of_several_outputs_sums():
    x = leaf([1.0, 2.0])
    (g,) = leafgrad.autograd.grad([(x * 2).sum(), (x * x).sum()], x)
    np.testing.assert_allclose(g.numpy(), [4.0, 6.0])


def test_mixed_derivative_through_create_graph():
    x = leaf([1.5])
    y = leaf([-0.5])
    f = x * x * y + y.exp()
    (fx,) = leafgrad.autograd.grad(f, x, create_graph=True)  # 2 x y
    (fxy,) = leafgrad.autograd.grad(fx, y)  # 2 x
    assert fx.item() == pytest.approx(-1.5) and fxy.item() == pytest.approx(3.0)


def test_first_grad_without_create_graph_is_not_differentiable():
    x = leaf([2.0])
    (g,) = leafgrad.autograd.grad(x ** 3, x)
    assert not g.requires_grad and g.grad_fn is None
    with pytest.raises(RuntimeError, match="does not require grad"):
        leafgrad.autograd.grad(g, x)
