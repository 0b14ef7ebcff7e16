"""Errors that teach: each autograd refusal keeps torch's leading text and says what happened,
where (the node, op or shape) and the fix."""
import numpy as np
import pytest

import leafgrad
from leafgrad import nn
from leafgrad.autograd import Variable

FREED = "Trying to backward through the graph a second time"
NO_GRAD_FN = "element 0 of tensors does not require grad and does not have a grad_fn"


def leaf(*shape):
    return leafgrad.randn(*shape, requires_grad=True)


# -- second backward through a freed graph ---------------------------------------------------
def test_freed_graph_names_the_node_and_both_fixes():
    x = leaf(3)
    y = x.sin().sum()
    y.backward()
    with pytest.raises(RuntimeError) as info:
        y.backward()
    message = str(info.value)
    assert message.startswith(FREED)
    for words in ("SinBackward0", "retain_graph=True", ".detach()", "loop"):
        assert words in message


def test_freed_graph_through_a_linear_loss():
    model = nn.Linear(3, 2)
    loss = model(leafgrad.randn(4, 3)).pow(2).mean()
    loss.backward()
    with pytest.raises(RuntimeError, match=f"{FREED}.*PowBackward0.*retain_graph=True"):
        loss.backward()


def test_retain_graph_allows_the_second_backward():
    x = leaf(3)
    y = x.sin().sum()
    y.backward(retain_graph=True)
    y.backward()
    assert np.allclose(x.grad.numpy(), 2 * np.cos(x.detach().numpy()))


def test_state_carried_across_loop_iterations_points_at_detach():
    w = leaf(2)
    h = leafgrad.ones(2)
    with pytest.raises(RuntimeError, match=r"MulBackward0.*call \.detach\(\) on the carried"):
        for _ in range(2):
            h = h * w
            h.sum().backward()
    h = leafgrad.ones(2)
    for _ in range(2):  # the fix works
        h = (h * w).detach().requires_grad_() * w
        h.sum().backward()
        h = h.detach()


def test_freed_saved_tensors_of_a_custom_function():
    class Square(leafgrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 2 * x * grad

    y = Square.apply(leaf(2))
    y.sum().backward()
    with pytest.raises(RuntimeError, match=f"{FREED}.*SquareBackward.*retain_graph=True"):
        _ = y.grad_fn.saved_tensors


# -- in-place modification of a saved tensor -------------------------------------------------
def test_modified_saved_tensor_gives_op_shape_versions_and_fixes():
    x = leaf(2, 3)
    b = x * 2
    c = b.sin()
    b.add_(1)
    with pytest.raises(RuntimeError) as info:
        c.sum().backward()
    message = str(info.value)
    assert message.startswith("one of the variables needed for gradient computation has been "
                              "modified by an inplace operation")
    for words in ("shape [2, 3]", "is at version 1; expected version 0", "SinBackward0",
                  ".clone()", "set_detect_anomaly(True)"):
        assert words in message


def test_modified_saved_output_of_a_module_activation():
    out = leafgrad.sigmoid(nn.Linear(3, 4)(leafgrad.randn(5, 3)))
    out.mul_(2)  # sigmoid saved its output for backward
    with pytest.raises(RuntimeError, match=r"shape \[5, 4\].*version 1; expected version 0.*"
                                           r"SigmoidBackward0.*clone\(\)"):
        out.sum().backward()


# -- in-place on a leaf that requires grad ---------------------------------------------------
def test_in_place_on_a_parameter_suggests_no_grad():
    model = nn.Linear(3, 2)
    with pytest.raises(RuntimeError, match=r"a leaf Variable that requires grad is being used in "
                                           r"an in-place operation \(add_ on a leaf of shape "
                                           r"\[2, 3\]\).*no_grad"):
        model.weight.add_(1.0)
    before = model.weight.detach().clone()
    with leafgrad.no_grad():
        model.weight.add_(1.0)  # the suggested fix
    assert np.allclose(model.weight.detach().numpy(), before.numpy() + 1)


def test_in_place_through_a_view_of_a_leaf_suggests_no_grad():
    x = leaf(2, 3)
    with pytest.raises(RuntimeError, match=r"a view of a leaf Variable that requires grad is "
                                           r"being used in an in-place operation.*no_grad"):
        x[0].mul_(2)


# -- backward on something that does not require grad ----------------------------------------
def test_no_grad_is_named_as_the_cause():
    x = leaf(3)
    with leafgrad.no_grad():
        y = (x * 2).sum()
    with pytest.raises(RuntimeError, match=f"{NO_GRAD_FN}: it was computed while gradient "
                                           f"recording was off.*no_grad"):
        y.backward()


def test_detach_is_named_as_the_cause():
    y = (leaf(3).detach() * 2).sum()
    with pytest.raises(RuntimeError, match=rf"{NO_GRAD_FN}: .*\.detach\(\)"):
        y.backward()


def test_volatile_is_named_as_the_cause():
    with pytest.warns(DeprecationWarning, match="volatile"):
        v = Variable(leafgrad.randn(3), volatile=True)
    y = (v * 2).sum()
    with pytest.raises(RuntimeError, match=f"{NO_GRAD_FN}: it was computed from a volatile "
                                           f"tensor"):
        y.backward()


def test_a_module_with_all_parameters_frozen_is_named_as_the_cause():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    for p in net.parameters():
        p.requires_grad_(False)
    loss = net(leafgrad.randn(2, 3)).sum()
    with pytest.raises(RuntimeError, match=f"{NO_GRAD_FN}: it was computed from Parameters "
                                           f"with requires_grad=False.*frozen.*"
                                           r"requires_grad_\(True\)"):
        loss.backward()
    frozen = nn.Linear(3, 1)  # created frozen
    frozen.weight = nn.Parameter(leafgrad.randn(1, 3), requires_grad=False)
    frozen.bias.requires_grad = False
    with pytest.raises(RuntimeError, match="frozen"):
        frozen(leafgrad.randn(2, 3)).sum().backward()


def test_unfreezing_restores_gradients_and_partial_freezing_still_trains():
    net = nn.Linear(3, 1)
    net.weight.requires_grad_(False)
    net(leafgrad.randn(2, 3)).sum().backward()  # the bias still requires grad
    assert net.weight.grad is None and net.bias.grad is not None
    net.weight.requires_grad_(True)
    net(leafgrad.randn(2, 3)).sum().backward()
    assert net.weight.grad is not None


def test_plain_tensors_get_the_generic_reason():
    y = (leafgrad.randn(3) * 2).sum()
    with pytest.raises(RuntimeError, match=f"{NO_GRAD_FN}: none of the tensors it was computed "
                                           f"from requires grad.*requires_grad=False.*frozen"):
        y.backward()


# -- non-scalar backward ----------------------------------------------------------------------
def test_non_scalar_backward_gives_the_shape_and_the_fixes():
    out = nn.Linear(3, 2)(leafgrad.randn(4, 3))
    with pytest.raises(RuntimeError, match=r"grad can be implicitly created only for scalar "
                                           r"outputs: element 0 has shape \[4, 2\].*\.sum\(\).*"
                                           r"gradient"):
        out.backward()
    with pytest.raises(RuntimeError, match=r"scalar outputs.*\[4, 2\]"):
        leafgrad.autograd.grad(out, out)
    out.backward(leafgrad.ones(4, 2))  # the suggested fix


def test_torch_assertion_errors_are_also_value_errors():
    import leafgrad.nn.functional as F
    weight = leafgrad.randn(1, 3)
    with pytest.raises(ValueError, match="Padding_idx must be within num_embeddings"):
        F.embedding(leafgrad.tensor([0]), weight, padding_idx=-7)
    attention = leafgrad.nn.MultiheadAttention(4, 2)
    with pytest.raises(AssertionError, match="expected `key` and `value` to be 2-D"):
        attention(leafgrad.randn(3, 4), leafgrad.randn(3, 1, 4), leafgrad.randn(3, 1, 4))
