"""Tensor hooks: register_hook (read and replace gradients, on leaves and inner nodes),
register_post_accumulate_grad_hook, node hooks. Seed claims C14 and C18 (tensor part)."""
from __future__ import annotations

import numpy as np
import pytest

import leafgrad


def leaf(values):
    return leafgrad.tensor(values, requires_grad=True)


def test_hook_on_an_inner_node_reads_its_gradient():  # C14
    x = leaf([1.0, 2.0])
    y = x * 3
    seen = []
    y.register_hook(lambda grad: seen.append(grad.clone()))
    (y * y).sum().backward()
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0].numpy(), [6.0, 12.0])
    np.testing.assert_allclose(x.grad.numpy(), [18.0, 36.0])


def test_hook_on_an_inner_node_can_change_the_gradient():  # C14, C18
    x = leaf([1.0, 2.0])
    y = x * 3
    y.register_hook(lambda grad: grad * 0 + 1)
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_hook_on_a_leaf_replaces_what_is_accumulated():
    x = leaf([1.0, 2.0])
    x.register_hook(lambda grad: grad * 10)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [20.0, 40.0])


def test_hooks_run_in_registration_order():
    x = leaf([1.0, 2.0])
    order = []
    x.register_hook(lambda grad: order.append("double") or grad * 2)
    x.register_hook(lambda grad: order.append("plus one") or grad + 1)
    (x * 3).sum().backward()
    assert order == ["double", "plus one"]
    np.testing.assert_allclose(x.grad.numpy(), [7.0, 7.0])  # (3 * 2) + 1, not (3 + 1) * 2


def test_hook_handle_removes_the_hook():
    x = leaf([1.0])
    y = x * 2
    calls = []
    handle = y.register_hook(lambda grad: calls.append("inner") or grad * 100)
    leaf_handle = x.register_hook(lambda grad: calls.append("leaf"))
    handle.remove()
    leaf_handle.remove()
    y.backward()
    assert calls == [] and x.grad.item() == 2.0
    handle.remove()  # removing twice is harmless
    with x.register_hook(lambda grad: grad * 0):
        pass  # a handle is also a context manager
    (x * 2).backward()
    assert x.grad.item() == 4.0


def test_hook_on_a_reused_tensor_sees_the_summed_gradient_once():
    x = leaf([1.0])
    y = x * 2
    seen = []
    y.register_hook(lambda grad: seen.append(grad.item()))
    (y * 3 + y * 4).backward()
    assert seen == [7.0]


def test_hooks_fire_for_autograd_grad_inputs():
    x = leaf([1.0, 2.0])
    x.register_hook(lambda grad: grad * 10)
    (gx,) = leafgrad.autograd.grad((x * x).sum(), x)
    np.testing.assert_allclose(gx.numpy(), [20.0, 40.0])
    assert x.grad is None
    y = x * 1
    y.register_hook(lambda grad: grad * 10)
    (gy,) = leafgrad.autograd.grad((y * y).sum(), y)
    np.testing.assert_allclose(gy.numpy(), [20.0, 40.0])


def test_retain_grad_sees_the_hooked_gradient():
    x = leaf([1.0])
    y = x * 2
    y.retain_grad()
    y.register_hook(lambda grad: grad * 5)
    (y * 3).backward()
    assert y.grad.item() == 15.0 and x.grad.item() == 30.0


def test_hook_on_a_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        leafgrad.tensor([1.0]).register_hook(lambda grad: grad)


def test_post_accumulate_grad_hook():
    x = leaf([1.0, 2.0])
    seen = []
    x.register_post_accumulate_grad_hook(lambda t: seen.append((t is x, t.grad.tolist())))
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    assert seen == [(True, [2.0, 2.0]), (True, [5.0, 5.0])]
    leafgrad.autograd.grad((x * 2).sum(), x)  # nothing accumulated: no call
    assert len(seen) == 2


def test_post_accumulate_grad_hook_can_update_the_leaf():
    w = leaf([1.0, 2.0])

    def sgd_step(t):
        with leafgrad.no_grad():
            t.sub_(t.grad * 0.5)
        t.grad = None

    handle = w.register_post_accumulate_grad_hook(sgd_step)
    (w * w).sum().backward()
    assert w.tolist() == [0.0, 0.0] and w.grad is None
    handle.remove()
    (w + 1).sum().backward()
    assert w.grad.tolist() == [1.0, 1.0]


def test_post_accumulate_grad_hook_only_on_leaves():
    x = leaf([1.0])
    with pytest.raises(RuntimeError, match="non-leaf"):
        (x * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        leafgrad.tensor([1.0]).register_post_accumulate_grad_hook(lambda t: None)


def test_node_hooks_see_and_replace_gradients():
    x = leaf([2.0])
    y = x * 3
    seen = []
    y.grad_fn.register_prehook(lambda grad_outputs: seen.append(("pre", grad_outputs[0].item())))
    y.grad_fn.register_hook(
        lambda grad_inputs, grad_outputs: seen.append(("post", grad_inputs[0].item()))
        or (grad_inputs[0] * 2, None))
    (y * 5).backward()
    assert seen == [("pre", 5.0), ("post", 15.0)]
    assert x.grad.item() == 30.0


def test_node_hook_returning_the_wrong_number_of_gradients_raises():
    x = leaf([2.0])
    y = x * 3  # MulBackward0 has two inputs: x and the constant
    y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: (grad_inputs[0],))
    with pytest.raises(RuntimeError, match="MulBackward0(.|\n)*incorrect number of values "
                                           "\\(got 1, but expected 2\\)"):
        y.backward()


def _bad_size(grad):
    return grad.sum().reshape(1)


def _bad_type(grad):
    return grad.double()


@pytest.mark.parametrize("where", ["leaf", "inner"])
@pytest.mark.parametrize("hook, message", [
    (_bad_size, "hook '_bad_size' has changed the size of value"),
    (_bad_type, r"hook '_bad_type' has changed the type of value \(was torch.FloatTensor got "
                r"torch.DoubleTensor\)"),
    (lambda grad: 2.0, "expected Variable, but hook returned 'float'"),
])
def test_a_hook_may_not_change_the_size_or_type_of_a_gradient(where, hook, message):  # #7
    x = leaf([1.0, 2.0, 3.0])
    target = x if where == "leaf" else x * 2
    target.register_hook(hook)
    error = TypeError if "expected Variable" in message else RuntimeError
    with pytest.raises(error, match=message):
        (target * 2).sum().backward()
    assert x.grad is None


def test_hook_checks_match_torch():
    torch = pytest.importorskip("torch")
    messages = []
    for m in (leafgrad, torch):
        for hook in (_bad_size, _bad_type):
            x = m.ones(3, requires_grad=True)
            x.register_hook(hook)
            with pytest.raises(RuntimeError) as error:
                (x * 2).sum().backward()
            messages.append(str(error.value))
    assert messages[:2] == messages[2:]


def test_node_hooks_are_checked_value_by_value():
    x = leaf([1.0, 2.0])
    y = x * 2
    y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: (leafgrad.ones(3), None))
    with pytest.raises(RuntimeError, match="has changed the size of value"):
        y.sum().backward()
    z = x * 2
    z.grad_fn.register_prehook(lambda grad_outputs: (grad_outputs[0].double(),))
    with pytest.raises(RuntimeError, match="has changed the type of value"):
        z.sum().backward()


def test_node_hooks_see_gradients_reduced_to_the_input_shapes_as_torch():
    x = leafgrad.ones(3, requires_grad=True)
    y = leafgrad.ones(2, 3, requires_grad=True)
    out = x * y  # x is broadcast: its gradient has shape (2, 3) before the engine reduces it
    seen = []
    out.grad_fn.register_hook(lambda grad_inputs, grad_outputs: seen.extend(
        tuple(g.shape) for g in grad_inputs))
    out.sum().backward()
    assert seen == [(3,), (2, 3)]
