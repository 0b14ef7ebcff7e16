"""In-place ops and autograd: version counters, leaves, saved tensors modified after being saved,
differentiable in-place ops on non-leaves and views; and bad inputs (shapes, dtypes) that must
leave their operands untouched."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import leafgrad
from leafgrad.autograd import _fast

IN_PLACE = {
    "add_": lambda t: t.add_(1.0),
    "sub_": lambda t: t.sub_(leafgrad.tensor([1.0, 1.0, 1.0])),
    "mul_": lambda t: t.mul_(2.0),
    "div_": lambda t: t.div_(2.0),
    "pow_": lambda t: t.pow_(2),
    "clamp_": lambda t: t.clamp_(-1.0, 1.0),
    "zero_": lambda t: t.zero_(),
    "fill_": lambda t: t.fill_(3.0),
    "copy_": lambda t: t.copy_(leafgrad.tensor([7.0, 8.0, 9.0])),
    "relu_": lambda t: t.relu_(),
    "exp_": lambda t: t.exp_(),
}


def leaf(values):
    return leafgrad.tensor(values, requires_grad=True)


# -- j. version counters -----------------------------------------------------------------------
@pytest.mark.parametrize("name", list(IN_PLACE))
def test_in_place_ops_bump_the_version_and_return_self(name):
    t = leafgrad.tensor([1.0, -2.0, 3.0])
    ptr = t.data_ptr()
    assert t._version == 0
    assert IN_PLACE[name](t) is t
    assert t._version == 1
    assert t.data_ptr() == ptr  # same storage
    IN_PLACE[name](t)
    assert t._version == 2


def test_in_place_ops_compute_the_right_values():
    t = leafgrad.tensor([1.0, -2.0, 3.0])
    t.add_(1.0)
    assert t.tolist() == [2.0, -1.0, 4.0]
    t.mul_(leafgrad.tensor([2.0, 2.0, 0.5]))
    assert t.tolist() == [4.0, -2.0, 2.0]
    t.clamp_(-1.0, 3.0)
    assert t.tolist() == [3.0, -1.0, 2.0]
    t.relu_()
    assert t.tolist() == [3.0, 0.0, 2.0]
    t.pow_(2)
    assert t.tolist() == [9.0, 0.0, 4.0]


def test_setitem_and_augmented_assignment_bump_the_version():
    t = leafgrad.tensor([1.0, 2.0, 3.0])
    same = t
    t[0] = 5.0
    assert t._version == 1
    t += 1
    assert t is same and t._version == 2
    t *= 2
    assert t is same and t._version == 3
    t[1:] = leafgrad.tensor([0.0, 0.0])
    assert t._version == 4
    assert t.tolist() == [12.0, 0.0, 0.0]


def test_views_share_the_version_counter():
    t = leafgrad.tensor([1.0, 2.0, 3.0, 4.0])
    v = t[1:3]
    r = t.view(2, 2)
    v.mul_(10)
    assert t._version == v._version == r._version == 1
    assert t.tolist() == [1.0, 20.0, 30.0, 4.0]
    r[0, 0] = 0.0
    assert t._version == v._version == 2 and t[0].item() == 0.0


def test_out_of_place_ops_do_not_bump_the_version():
    t = leafgrad.tensor([1.0, 2.0])
    _ = t + 1, t * 2, t.exp(), t.view(2), t[0]
    assert t._version == 0


# -- j. leaves ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", IN_PLACE)
def test_in_place_on_a_leaf_requiring_grad_raises(name):
    x = leaf([1.0, -2.0, 3.0])
    with pytest.raises(RuntimeError, match=rf"a leaf Variable that requires grad is being used "
                                           rf"in an in-place operation(.|\n)*{name}(.|\n)*no_grad"):
        IN_PLACE[name](x)
    assert x.tolist() == [1.0, -2.0, 3.0] and x._version == 0


def test_setitem_and_augmented_assignment_on_a_leaf_raise():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x[0] = 3.0
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x += 1
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        x[0:1].mul_(2)
    assert x.tolist() == [1.0, 2.0] and x._version == 0


def test_in_place_on_a_leaf_works_under_no_grad():
    x = leaf([1.0, 2.0])
    with leafgrad.no_grad():
        x.mul_(2)
        x[0] = 5.0
        x += 1
    assert x.tolist() == [6.0, 5.0]
    assert x._version == 3
    assert x.is_leaf and x.requires_grad and x.grad_fn is None
    (x * x).sum().backward()
    assert x.grad.tolist() == [12.0, 10.0]


# -- j. saved tensors modified before backward --------------------------------------------------
def test_modifying_a_saved_input_raises_at_backward():
    a = leaf([1.0, 2.0, 3.0])
    b = a * 2
    c = b * b  # MulBackward0 saves b
    b.add_(1)
    with pytest.raises(RuntimeError) as info:
        c.sum().backward()
    message = str(info.value)
    for key in ("modified by an inplace operation", "[3]", "float32", "AddBackward0",
                "is at version 1", "expected version 0", "MulBackward0"):
        assert key in message, key
    assert a.grad is None


def test_modifying_a_saved_leaf_under_no_grad_raises_at_backward():
    x = leaf([1.0, 2.0])
    y = x * x
    with leafgrad.no_grad():
        x.add_(1)
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation(.|\n)*\[2\](.|\n)*"
                                           r"leaf(.|\n)*version 1; expected version 0"):
        y.sum().backward()


def test_modifying_a_saved_output_raises_at_backward():
    x = leaf([1.0, 2.0])
    y = x.exp()  # ExpBackward0 saves its result
    y.mul_(2)
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation(.|\n)*output 0 of "
                                           r"(.|\n)*version 1; expected version 0"):
        y.sum().backward()


@pytest.mark.parametrize("first, node", [(lambda b: b.exp_(), "ExpBackward0"),
                                         (lambda b: b.sigmoid_(), "SigmoidBackward0"),
                                         (lambda b: b.relu_(), "ReluBackward0"),
                                         (lambda b: b[1:].tanh_(), "TanhBackward0")])
def test_modifying_the_result_of_an_in_place_op_that_saved_it_raises(first, node):
    a = leaf([1.0, 2.0, 3.0])
    b = a * 2
    first(b)  # saves its output: b itself, as torch
    b.add_(1)
    with pytest.raises(RuntimeError, match=rf"modified by an inplace operation(.|\n)*{node}"
                                           rf"(.|\n)*expected version"):
        b.sum().backward()


def test_modifying_through_detach_is_detected():
    x = leaf([1.0, 2.0])
    y = x.exp()
    y.detach().zero_()  # detach shares the version counter
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_modifying_through_data_is_not_detected():  # as torch: .data bypasses autograd
    x = leaf([1.0, 2.0])
    y = x * x
    x.data.mul_(10)
    y.sum().backward()
    assert x.grad.tolist() == [20.0, 40.0]  # uses the modified x


def test_modifying_the_result_of_a_power_by_a_constant_is_allowed():
    x = leaf([1.0, 2.0])
    y = x ** 2
    y.add_(1)
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]


# -- j. differentiable in-place ops on non-leaves ----------------------------------------------
def test_in_place_on_a_non_leaf_is_differentiable():
    a = leaf([1.0, 2.0, 3.0])
    b = a * 2
    b.mul_(a)  # 2 a**2
    b.add_(1)
    b.pow_(2)  # (2 a**2 + 1)**2
    assert b.grad_fn.name() == "PowBackward0" and not b.is_leaf
    b.sum().backward()
    values = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(a.grad.numpy(), 2 * (2 * values ** 2 + 1) * 4 * values)


def test_augmented_assignment_on_a_non_leaf_is_differentiable():
    a = leaf([1.0, 2.0])
    b = a * 1
    b += a
    b *= a  # 2 a**2
    b.sum().backward()
    assert a.grad.tolist() == [4.0, 8.0]


def test_in_place_on_a_view_of_a_non_leaf_is_differentiable():
    a = leaf([1.0, 2.0, 3.0])
    b = a * 1
    view = b[0:2]
    view.mul_(3)
    assert b._version == 1 and view._version == 1
    assert b.tolist() == [3.0, 6.0, 3.0]
    b.sum().backward()
    assert a.grad.tolist() == [3.0, 3.0, 1.0]


def test_setitem_on_a_non_leaf_is_differentiable():
    a = leaf([1.0, 2.0, 3.0])
    v = leaf([10.0])
    b = a * 2
    b[1] = (v * v)[0]
    assert b.tolist() == [2.0, 100.0, 6.0]
    (b * b).sum().backward()
    assert a.grad.tolist() == [8.0, 0.0, 24.0]  # overwritten element gets no gradient
    assert v.grad.tolist() == [2 * 100.0 * 2 * 10.0]


def test_setitem_drops_leading_ones_of_the_value_as_torch():
    b = leafgrad.tensor([1.0, 2.0, 3.0])
    b[1] = leafgrad.tensor([100.0])
    b[0:2] = leafgrad.tensor([[5.0, 6.0]])
    assert b.tolist() == [5.0, 6.0, 3.0]


def test_in_place_with_an_operand_requiring_grad_makes_the_target_require_grad():
    w = leaf([2.0, 3.0])
    t = leafgrad.tensor([1.0, 1.0])
    t.mul_(w)
    assert t.requires_grad and not t.is_leaf and t.grad_fn.name() == "MulBackward0"
    t.sum().backward()
    assert w.grad.tolist() == [1.0, 1.0]


# -- bad inputs --------------------------------------------------------------------------------
@pytest.mark.parametrize("op, name", [(lambda a, b: a + b, "add"), (lambda a, b: a * b, "mul"),
                                      (lambda a, b: a - b, "sub"), (lambda a, b: a / b, "div")])
def test_mismatched_shapes_name_both_shapes_and_the_op(op, name):
    a = leafgrad.ones(2, 3, requires_grad=True)
    b = leafgrad.ones(4)
    with pytest.raises(RuntimeError, match=rf"{name}(.|\n)*\[2, 3\](.|\n)*\[4\]"):
        op(a, b)
    assert a.grad is None and a._version == 0


@pytest.mark.parametrize("op, name", [(lambda a: a.add_(leafgrad.ones(4)), "add"),
                                      (lambda a: a.mul_(leafgrad.ones(2, 3, 2)), "mul"),
                                      (lambda a: a.copy_(leafgrad.ones(2)), "copy_")])
def test_failed_in_place_op_leaves_its_target_unchanged(op, name):
    a = leafgrad.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    before = a.numpy().copy()
    with pytest.raises(RuntimeError, match=rf"{name}(.|\n)*\[2, 3\]|\[2, 3\](.|\n)*{name}"):
        op(a)
    np.testing.assert_array_equal(a.numpy(), before)
    assert a._version == 0


def test_failed_in_place_op_on_a_non_leaf_keeps_its_history():
    x = leaf([1.0, 2.0, 3.0])
    y = x * 2
    fn = y.grad_fn
    with pytest.raises(RuntimeError, match=r"\[3\](.|\n)*\[2\]"):
        y.mul_(leafgrad.ones(2, requires_grad=True))
    assert y.grad_fn is fn and y._version == 0 and y.tolist() == [2.0, 4.0, 6.0]
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


@pytest.mark.parametrize("op", [lambda t: t.add_(1.5), lambda t: t.div_(2),
                                lambda t: t.mul_(leafgrad.ones(3))])
def test_in_place_result_of_a_wider_dtype_names_both_dtypes(op):
    t = leafgrad.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match=r"result type torch\.float32(.|\n)*can't be cast to "
                                           r"the desired output type torch\.int64"):
        op(t)
    assert t.tolist() == [1, 2, 3] and t._version == 0


def test_in_place_with_a_narrower_dtype_casts():
    t = leafgrad.tensor([1.0, 2.0], dtype=leafgrad.float64)
    t.add_(leafgrad.tensor([1, 1]))
    assert t.dtype == leafgrad.float64 and t.tolist() == [2.0, 3.0]
    f = leafgrad.tensor([1.0, 2.0])
    f.add_(leafgrad.tensor([0.5, 0.5], dtype=leafgrad.float64))
    assert f.dtype == leafgrad.float32 and f.tolist() == [1.5, 2.5]


def test_view_with_a_bad_shape_names_it():
    t = leafgrad.ones(2, 3)
    with pytest.raises(RuntimeError, match=r"shape '\[5\]' is invalid for input of size 6"):
        t.view(5)


def test_setitem_with_a_bad_shape_raises_runtime_error():
    t = leafgrad.ones(2, 3)
    with pytest.raises(RuntimeError, match=r"\[5\](.|\n)*\[3\]|\[3\](.|\n)*\[5\]"):
        t[0] = leafgrad.ones(5)
    assert t._version == 0


# -- views follow in-place changes of their base (torch regenerates their grad_fn) -------------
def _view_after_base_mul(m):
    x = m.tensor([1.0, 2.0], requires_grad=True)
    y = x.clone()
    v = y[0]  # taken before the in-place op on the base
    y.mul_(3)
    return v, [x]


def _sibling_view_written(m):
    x = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.clone()
    a, b = y[:2], y[1:]
    a.mul_(10)  # b[0] is a[1]
    return b, [x]


def _view_of_view_after_base_mul(m):
    x = m.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    b = x.clone()
    v = b.t()[0]
    b.mul_(3)
    return v * m.tensor([1.0, 5.0]), [x]


def _buffer_gets_a_value_that_requires_grad(m):
    w = m.tensor([5.0, 6.0], requires_grad=True)
    buffer = m.zeros(4)
    u = buffer[1:3]  # a view of a plain buffer ...
    buffer[:2].copy_(w * 1)  # ... which another view fills with a value requiring grad
    return u * m.tensor([2.0, 3.0]), [w]


def _base_modified_under_no_grad(m):
    x = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    v = y[:2]
    with m.no_grad():
        y.mul_(2)
    return v * v, [x]


def _view_modified_twice_through_base_and_view(m):
    x = m.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    y = x * 1
    v, u = y[1:3], y[2:]
    v.mul_(2)
    y.add_(x)
    u.pow_(2)
    return v * m.arange(2.0) + u.sum() + y.sum(), [x]


VIEW_CASES = {"view_after_base_mul": _view_after_base_mul,
              "sibling_view_written": _sibling_view_written,
              "view_of_view_after_base_mul": _view_of_view_after_base_mul,
              "buffer_gets_a_value_that_requires_grad": _buffer_gets_a_value_that_requires_grad,
              "base_modified_under_no_grad": _base_modified_under_no_grad,
              "modified_through_base_and_views": _view_modified_twice_through_base_and_view}


@pytest.mark.parametrize("name", list(VIEW_CASES))
def test_views_follow_in_place_changes_of_their_base_as_torch(name):  # review #1
    torch = pytest.importorskip("torch")
    results = []
    for module in (leafgrad, torch):
        out, leaves = VIEW_CASES[name](module)
        flags = (out.requires_grad, out.is_leaf)
        out.sum().backward()
        results.append((out.tolist(), flags, [leaf_.grad.tolist() for leaf_ in leaves]))
    assert results[0] == results[1]


def test_a_view_reads_its_new_history_lazily_and_once():
    x = leaf([1.0, 2.0])
    y = x * 1
    v = y[1:]
    old = v.grad_fn
    y.mul_(3)
    assert v._grad_fn is old  # nothing is replayed until the view is used ...
    with leafgrad.no_grad():
        new = v.grad_fn  # ... or its grad_fn is read (under no_grad too, as torch)
    assert new is not old and new.next_functions[0][0] is y.grad_fn
    assert v.grad_fn is new  # no further replay while the version stays


def test_a_view_of_a_plain_tensor_stays_a_leaf_after_plain_in_place_ops():
    buffer = leafgrad.zeros(3)
    view = buffer[1:]
    buffer.add_(1)
    assert view.grad_fn is None and not view.requires_grad and view.is_leaf
    assert (view * 2).grad_fn is None


def test_retain_grad_of_a_view_follows_an_in_place_change_of_its_base():
    x = leaf([1.0, 2.0, 3.0])
    y = x * 1
    v = y[:2]
    v.retain_grad()
    y.mul_(2)
    assert v.retains_grad
    (v * v).sum().backward()
    assert v.grad.tolist() == [4.0, 8.0]  # 2 v, with v = 2 x: torch gives the same


def test_retain_grad_follows_an_in_place_op():  # review #6
    x = leaf([1.0, 2.0])
    y = x * 1
    y.retain_grad()
    y.mul_(3)
    assert y.retains_grad
    (y * y).sum().backward()
    assert y.grad.tolist() == [6.0, 12.0] and x.grad.tolist() == [18.0, 36.0]


def test_retain_grad_of_a_base_follows_an_in_place_op_on_its_view():  # review #6
    x = leaf([1.0, 2.0])
    y = x * 1
    y.retain_grad()
    y[0:1].mul_(3)
    assert y.retains_grad
    (y * y).sum().backward()
    assert y.grad.tolist() == [6.0, 4.0]


def test_hook_registered_before_an_in_place_op_stays_on_the_old_value():
    x = leaf([1.0, 2.0])
    y = x * 1
    seen = []
    y.register_hook(lambda g: seen.append(g.tolist()))
    y.mul_(3)
    (y * y).sum().backward()
    assert seen == [[18.0, 36.0]]  # the gradient of the old y, as torch


NO_GRAD_VIEW = "A view was created in no_grad mode and {} modified inplace with grad mode enabled"
MULTI_OUTPUT = "This view is the output of a function that returns multiple views"


def test_view_made_under_no_grad_cannot_follow_an_in_place_change_of_its_base():
    x = leaf([1.0, 2.0, 3.0])
    y = x * 1
    with leafgrad.no_grad():
        v = y[:2]
    y.mul_(2)
    message = NO_GRAD_VIEW.format("its base or another view of its base has been")
    with pytest.raises(RuntimeError, match=message):
        _ = v.grad_fn
    with pytest.raises(RuntimeError, match=message):
        v * 2
    with leafgrad.no_grad():
        assert (v * 2).tolist() == [4.0, 8.0]  # torch reads no history under no_grad
    with leafgrad.no_grad():
        w = y[:2]
    with pytest.raises(RuntimeError, match=NO_GRAD_VIEW.format("is being")):
        w.mul_(2)  # directly
    assert y.tolist() == [2.0, 4.0, 6.0]


def test_outputs_of_multi_output_view_ops_cannot_be_modified_in_place():
    x = leaf([1.0, 2.0, 3.0])
    y = x * 1
    first, second, _ = y.unbind()
    with pytest.raises(RuntimeError, match="Output 0 of UnbindBackward0 is a view and is being "
                                           "modified inplace. " + MULTI_OUTPUT):
        first.mul_(2)
    y.mul_(2)
    with pytest.raises(RuntimeError, match="Output 1 of UnbindBackward0 is a view and its base "
                                           "or another view of its base has been modified "
                                           "inplace. " + MULTI_OUTPUT):
        second.sum()
    for row in leafgrad.zeros(2, 2):  # iteration unbinds: plain tensors can still be written
        row.add_(1)


@pytest.mark.parametrize("case", ["no_grad_view", "unbind", "split"])
def test_view_in_place_errors_match_torch(case):
    torch = pytest.importorskip("torch")
    messages = []
    for m in (leafgrad, torch):
        y = m.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True) * 1
        if case == "no_grad_view":
            with m.no_grad():
                view = y[1:]
        else:
            view = y.unbind()[1] if case == "unbind" else y.split(2)[1]
        with pytest.raises(RuntimeError) as error:
            view.mul_(2)
        # (torch names the node UnbindBackward0 or Unbind depending on which outputs live)
        messages.append(str(error.value).replace("Backward0", ""))
    assert messages[0] == messages[1]


# -- what an in-place op copies ----------------------------------------------------------------
def _peak_bytes(action) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_in_place_op_copies_the_old_value_only_when_backward_needs_it():  # review #27
    if not _fast.SWITCH.inplace_copy:
        pytest.skip("the fast paths are off: the reference path always copies")
    x = leafgrad.zeros(250_000, dtype=leafgrad.float64, requires_grad=True)
    size = 250_000 * 8
    y = x * 1
    z = x * 1
    w = leafgrad.full((250_000,), 2.0, dtype=leafgrad.float64, requires_grad=True)
    # add_ saves nothing: only its result is allocated; mul_ by w saves the old value of z
    assert _peak_bytes(lambda: y.add_(1.0)) < 1.5 * size
    assert _peak_bytes(lambda: z.mul_(w)) > 1.5 * size
    (y.sum() + z.sum()).backward()
    assert np.all(x.grad.numpy() == 3.0) and np.all(w.grad.numpy() == 0.0)


def test_in_place_op_whose_graph_keeps_a_view_of_the_old_value_uses_the_old_value():
    x = leaf([1.0, 2.0])
    w = leaf([5.0, 7.0])
    y = x * 1
    # the product saves a view of the old value: it must not see the new one
    y._apply_inplace(lambda old: old.view(-1).view(2) * w, "test_")
    assert y.tolist() == [5.0, 14.0]
    y.sum().backward()
    assert w.grad.tolist() == [1.0, 2.0] and x.grad.tolist() == [5.0, 7.0]
