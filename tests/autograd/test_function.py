"""Custom autograd.Function (ctx API, double backward, once_differentiable) and gradcheck /
gradgradcheck."""
from __future__ import annotations

import numpy as np
import pytest

import leafgrad
from leafgrad.autograd import Function, GradcheckError, gradcheck, gradgradcheck
from leafgrad.autograd.function import once_differentiable
from leafgrad.autograd.graph import AccumulateGrad


def leaf(values, dtype=None):
    return leafgrad.tensor(values, dtype=dtype, requires_grad=True)


class Cube(Function):
    """x**3 * k, with k a plain number."""

    @staticmethod
    def forward(ctx, x, k):
        ctx.save_for_backward(x)
        ctx.k = k
        return x ** 3 * k

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 3 * x ** 2 * ctx.k, None


# -- k. the Function protocol ------------------------------------------------------------------
def test_custom_function_forward_backward_and_graph():
    x = leaf([1.0, 2.0])
    y = Cube.apply(x, 2.0)
    assert y.tolist() == [2.0, 16.0]
    assert type(y.grad_fn).__name__ == "CubeBackward" and y.grad_fn.name() == "CubeBackward"
    ((node, _),) = y.grad_fn.next_functions  # the number argument has no edge
    assert type(node) is AccumulateGrad and node.variable is x
    y.sum().backward()
    assert x.grad.tolist() == [6.0, 24.0]


def test_custom_function_forward_is_not_recorded():
    seen = {}

    class Probe(Function):
        @staticmethod
        def forward(ctx, x):
            seen["enabled"] = leafgrad.is_grad_enabled()
            inner = x * 2
            seen["inner"] = inner.requires_grad
            return inner

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    y = Probe.apply(leaf([1.0]))
    assert seen == {"enabled": False, "inner": False}
    assert y.grad_fn.name() == "ProbeBackward"
    assert leafgrad.is_grad_enabled()


def test_saved_tensors_and_needs_input_grad():
    seen = {}

    class MulFn(Function):
        @staticmethod
        def forward(ctx, a, b):
            seen["forward"] = ctx.needs_input_grad  # known before forward runs, as torch
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, grad):
            a, b = ctx.saved_tensors
            seen["backward"] = ctx.needs_input_grad
            return (grad * b if ctx.needs_input_grad[0] else None,
                    grad * a if ctx.needs_input_grad[1] else None)

    a = leaf([2.0])
    b = leafgrad.tensor([5.0])
    out = MulFn.apply(a, b)
    assert out.grad_fn.saved_tensors[0] is a and out.grad_fn.saved_tensors[1] is b
    out.backward()
    assert seen == {"forward": (True, False), "backward": (True, False)}
    assert a.grad.tolist() == [5.0] and b.grad is None
    with leafgrad.no_grad():
        MulFn.apply(a, b)
    assert seen["forward"] == (False, False)


def test_saving_a_non_tensor_raises():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(3.0)
            return x * 1

        @staticmethod
        def backward(ctx, grad):
            return grad

    with pytest.raises(TypeError, match="save_for_backward can only save Tensors or None"):
        Bad.apply(leaf([1.0]))


def test_custom_function_without_grad_inputs_gives_a_plain_tensor():
    y = Cube.apply(leafgrad.tensor([1.0, 2.0]), 1.0)
    assert not y.requires_grad and y.grad_fn is None


def test_mark_non_differentiable():
    class SortWithMask(Function):
        @staticmethod
        def forward(ctx, x):
            mask = x > 0
            positive = x * mask
            ctx.mark_non_differentiable(mask)
            ctx.save_for_backward(mask)
            return positive, mask

        @staticmethod
        def backward(ctx, grad, grad_mask):
            (mask,) = ctx.saved_tensors
            return grad * mask

    x = leaf([-1.0, 2.0])
    positive, mask = SortWithMask.apply(x)
    assert positive.requires_grad and positive.grad_fn is not None
    assert not mask.requires_grad
    positive.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0]


def test_mark_non_differentiable_on_a_float_output():
    class Both(Function):
        @staticmethod
        def forward(ctx, x):
            frozen = x * 3
            ctx.mark_non_differentiable(frozen)
            return x * 2, frozen

        @staticmethod
        def backward(ctx, grad, grad_frozen):
            return grad * 2

    doubled, frozen = Both.apply(leaf([1.0]))
    assert doubled.requires_grad and not frozen.requires_grad and frozen.grad_fn is None


def test_mark_dirty():
    class MulTwoInPlace(Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    a = leaf([1.0, 3.0])
    b = a * 1
    out = MulTwoInPlace.apply(b)
    assert out is b
    assert b.tolist() == [2.0, 6.0]
    assert b.grad_fn.name() == "MulTwoInPlaceBackward"
    assert b._version == 2  # the write, and mark_dirty itself (as torch)
    b.sum().backward()
    assert a.grad.tolist() == [2.0, 2.0]
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad(.|\n)*in-place"):
        MulTwoInPlace.apply(leaf([1.0]))


def test_returning_an_input_unchanged_gives_a_new_tensor():
    class Identity(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, grad):
            return grad * 5

    x = leaf([1.0])
    y = Identity.apply(x)
    assert y is not x and y.grad_fn.name() == "IdentityBackward"
    assert y.data_ptr() == x.data_ptr()
    y.backward()
    assert x.grad.tolist() == [5.0]


def test_set_materialize_grads():
    seen = []

    class TwoOutputs(Function):
        @staticmethod
        def forward(ctx, x, materialize):
            ctx.set_materialize_grads(materialize)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, grad_a, grad_b):
            seen.append(grad_b)
            return grad_a * 2, None

    x = leaf([1.0])
    first, _ = TwoOutputs.apply(x, True)
    first.backward()
    assert seen[-1] is not None and seen[-1].tolist() == [0.0]
    first, _ = TwoOutputs.apply(x, False)
    first.backward()
    assert seen[-1] is None


def test_double_backward_through_a_custom_function():
    x = leaf([1.0, 2.0], dtype=leafgrad.float64)
    (g,) = leafgrad.autograd.grad(Cube.apply(x, 2.0).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), [6.0, 24.0])
    (gg,) = leafgrad.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), [12.0, 24.0])  # 6 k x


class SquareOnce(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 2

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 2 * x


def test_once_differentiable_first_derivative_works():
    x = leaf([3.0])
    SquareOnce.apply(x).backward()
    assert x.grad.tolist() == [6.0]


def test_once_differentiable_backward_runs_without_recording():
    x = leaf([3.0])
    y = SquareOnce.apply(x)
    (g,) = leafgrad.autograd.grad(y, x, create_graph=True)  # incoming grad is a constant
    assert g.tolist() == [6.0] and not g.requires_grad


def test_once_differentiable_double_backward_raises():
    x = leaf([3.0])
    y = SquareOnce.apply(x)
    (g,) = leafgrad.autograd.grad((y * y).sum(), x, create_graph=True)
    assert g.tolist() == [108.0] and g.requires_grad
    with pytest.raises(RuntimeError, match="trying to differentiate twice a function that was "
                                           "marked with @once_differentiable"):
        g.sum().backward()


@pytest.mark.parametrize("count", [1, 3])
def test_wrong_number_of_returned_gradients_raises(count):
    class Wrong(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, grad):
            return (grad,) * count

    with pytest.raises(RuntimeError, match=rf"function WrongBackward returned an incorrect number "
                                           rf"of gradients \(expected 2, got {count}\)"):
        Wrong.apply(leaf([1.0]), leaf([2.0])).backward()


def test_extra_none_gradients_are_accepted():
    class ExtraNone(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, grad):
            return grad * 2, None, None

    x = leaf([1.0])
    ExtraNone.apply(x).backward()
    assert x.grad.tolist() == [2.0]


def test_gradient_of_the_wrong_shape_raises():
    class BadShape(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, grad):
            return leafgrad.ones(5)

    with pytest.raises(RuntimeError, match=r"BadShapeBackward returned an invalid gradient at "
                                           r"index 0(.|\n)*\[5\](.|\n)*\[2\]"):
        BadShape.apply(leaf([1.0, 2.0])).sum().backward()


def test_broadcast_gradient_is_reduced_by_the_engine():
    class Broadcasting(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 1

        @staticmethod
        def backward(ctx, grad):
            return grad.expand(4, 2)  # a (4, 2) gradient for a (2,) input

    x = leaf([1.0, 2.0])
    Broadcasting.apply(x).sum().backward()
    assert x.grad.tolist() == [4.0, 4.0]


def test_forward_and_backward_must_be_implemented():
    class NoBackward(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

    with pytest.raises(NotImplementedError, match="backward"):
        NoBackward.apply(leaf([1.0])).backward()


# -- l. gradcheck and gradgradcheck ------------------------------------------------------------
class WrongBackward(Function):
    """x**2 whose backward forgets the factor 2."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x


class WrongSecondDerivative(Function):
    """x**3 whose first derivative is right but not differentiable correctly (detach)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x.detach() ** 2


@pytest.fixture
def x64():
    return leafgrad.tensor([0.3, -1.2, 0.8], dtype=leafgrad.float64, requires_grad=True)


def test_gradcheck_passes_on_correct_functions(x64):
    y = leafgrad.tensor([1.5, 0.5, -0.4], dtype=leafgrad.float64, requires_grad=True)
    assert gradcheck(lambda a, b: (a.sin() * b + a.exp() / (b * b + 1)), (x64, y))
    assert gradcheck(lambda a: Cube.apply(a, 1.5), (x64,))
    assert gradcheck(WrongSecondDerivative.apply, (x64,))  # the first derivative is right


def test_gradgradcheck_passes_on_correct_functions(x64):
    assert gradgradcheck(lambda a: a.tanh() * a, (x64,))
    assert gradgradcheck(lambda a: Cube.apply(a, 1.5), (x64,))


def test_gradcheck_fails_on_a_wrong_backward(x64):
    with pytest.raises(GradcheckError, match="Jacobian mismatch for output 0 with respect to "
                                             "input 0"):
        gradcheck(WrongBackward.apply, (x64,))
    assert gradcheck(WrongBackward.apply, (x64,), raise_exception=False) is False
    assert issubclass(GradcheckError, RuntimeError)


def test_gradgradcheck_fails_on_a_wrong_second_derivative(x64):
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        gradgradcheck(WrongSecondDerivative.apply, (x64,))
    assert gradgradcheck(WrongSecondDerivative.apply, (x64,), raise_exception=False) is False


def test_gradcheck_leaves_its_inputs_unchanged(x64):
    before = x64.detach().numpy().copy()
    gradcheck(lambda a: a * a, (x64,))
    np.testing.assert_array_equal(x64.detach().numpy(), before)
    assert x64.grad is None


def test_gradcheck_needs_an_input_requiring_grad():
    with pytest.raises(ValueError, match="requires_grad=True"):
        gradcheck(lambda a: a * 2, (leafgrad.tensor([1.0], dtype=leafgrad.float64),))


def test_gradcheck_warns_on_single_precision():
    x = leafgrad.tensor([0.5], requires_grad=True)
    with pytest.warns(UserWarning, match="not a double precision"):
        gradcheck(lambda a: a * 2, (x,), eps=1e-3, atol=1e-2, rtol=1e-2)


def test_gradcheck_checks_only_outputs_that_require_grad(x64):  # review #15
    # a non-differentiable float output first, as torch accepts
    assert gradcheck(lambda a: (a.detach() * 5, a * 3), (x64,))
    with pytest.raises(GradcheckError, match="Jacobian mismatch for output 1 with respect to "
                                             "input 0"):
        gradcheck(lambda a: (a * 3, a.detach() * 5, WrongBackward.apply(a)), (x64,))


def test_gradcheck_accepts_non_contiguous_inputs():  # review #15
    x = leafgrad.tensor([[0.3, -1.2], [0.5, 0.7]], dtype=leafgrad.float64,
                        requires_grad=True).t()
    assert not x.is_contiguous()
    y = leaf([0.4, 0.9], dtype=leafgrad.float64)
    assert gradcheck(lambda a, b: a.sin() * b, (x, y))
    with pytest.raises(GradcheckError, match="output 0 with respect to input 0"):
        gradcheck(lambda a, b: WrongBackward.apply(a) * b, (x, y))


def test_gradcheck_rejects_overlapping_inputs():
    x = leaf([0.5], dtype=leafgrad.float64).expand(3)
    with pytest.raises(ValueError, match="stride 0"):
        gradcheck(lambda a: a * 2, (x.detach().requires_grad_(),))


class NonReentrant(Function):
    """2 x, whose backward adds a little more each time it runs."""

    calls = 0

    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        NonReentrant.calls += 1
        return grad * (2 + 1e-8 * NonReentrant.calls)


def test_gradcheck_checks_that_backward_is_reentrant(x64):  # review #28: nondet_tol
    with pytest.raises(GradcheckError, match="Backward is not reentrant"):
        gradcheck(NonReentrant.apply, (x64,))
    assert gradcheck(NonReentrant.apply, (x64,), nondet_tol=1e-6)


class TwoOutputs(Function):
    """(2 x, 3 x) with materialize_grads off: backward sees None for an unused output."""

    handles_none = True

    @staticmethod
    def forward(ctx, x):
        ctx.set_materialize_grads(False)
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, grad_a, grad_b):
        if not TwoOutputs.handles_none:
            return grad_a * 2 + grad_b * 3
        total = 0
        if grad_a is not None:
            total = total + grad_a * 2
        if grad_b is not None:
            total = total + grad_b * 3
        return total


def test_gradcheck_checks_undefined_output_gradients(x64):  # review #28
    assert gradcheck(TwoOutputs.apply, (x64,))
    TwoOutputs.handles_none = False
    try:
        with pytest.raises((GradcheckError, TypeError)):
            gradcheck(TwoOutputs.apply, (x64,))
    finally:
        TwoOutputs.handles_none = True


class InventsGradients(Function):
    """(x, x), whose backward invents a gradient when it gets zeros and an undefined one."""

    @staticmethod
    def forward(ctx, x):
        ctx.set_materialize_grads(False)
        return x * 1, x * 1

    @staticmethod
    def backward(ctx, grad_a, grad_b):
        grads = [g for g in (grad_a, grad_b) if g is not None]
        total = grads[0] if len(grads) == 1 else grads[0] + grads[1]
        if grad_a is None and not total.numpy().any():
            return total + 1
        return total


def test_gradcheck_undefined_grad_check_can_be_turned_off(x64):
    with pytest.raises(GradcheckError, match="Expected all input grads to be undefined or zero"):
        gradcheck(InventsGradients.apply, (x64,))
    assert gradcheck(InventsGradients.apply, (x64,), check_undefined_grad=False)


def test_gradgradcheck_with_non_contiguous_grad_outputs(x64):  # review #28
    assert gradgradcheck(lambda a: a.tanh() * a, (x64,), gen_non_contig_grad_outputs=True)
    assert gradgradcheck(lambda a: a.tanh() * a, (x64,), fast_mode=True)


# -- custom functions with non-tensor or view outputs ------------------------------------------
def test_non_tensor_output_gets_none_in_backward():  # review #8
    seen = []

    class WithNumber(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, 5

        @staticmethod
        def backward(ctx, grad, grad_number):
            seen.append(grad_number)
            return grad * 2

    x = leaf([1.0, 1.0])
    y, number = WithNumber.apply(x)
    assert number == 5
    y.sum().backward()
    assert seen == [None] and x.grad.tolist() == [2.0, 2.0]


def test_view_returned_by_a_custom_function_cannot_be_modified_in_place():
    class First(Function):
        @staticmethod
        def forward(ctx, x):
            return x[:1]

        @staticmethod
        def backward(ctx, grad):
            return leafgrad.cat([grad, leafgrad.zeros(1)])

    y = leaf([1.0, 2.0]) * 1
    out = First.apply(y)
    with pytest.raises(RuntimeError, match="Output 0 of FirstBackward is a view and is being "
                                           "modified inplace. This view was created inside a "
                                           "custom Function"):
        out.mul_(2)


# -- anomaly detection -------------------------------------------------------------------------
class RaisesKeyError(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 1

    @staticmethod
    def backward(ctx, grad):
        raise KeyError("boom")


def test_anomaly_mode_warns_with_the_forward_trace_and_keeps_the_error():  # review #16
    x = leaf([1.0, 2.0])
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        detector = leafgrad.autograd.detect_anomaly()
    with detector:
        assert leafgrad.is_anomaly_enabled()
        y = RaisesKeyError.apply(x)
        with pytest.warns(UserWarning, match="Error detected in RaisesKeyErrorBackward. "
                                             "Traceback of forward call"), \
                pytest.raises(KeyError, match="boom"):
            y.sum().backward()
    assert not leafgrad.is_anomaly_enabled()


def test_anomaly_mode_flags_nan_but_not_inf():  # review #16
    with leafgrad.autograd.set_detect_anomaly(True):
        zero = leaf([0.0, 1.0])
        zero.sqrt().sum().backward()  # an infinite gradient is a valid result
        assert zero.grad[0].item() == float("inf")
        w = leaf([0.0, 1.0])
        with pytest.warns(UserWarning, match="Error detected in DivBackward0"), \
                pytest.raises(RuntimeError, match="Function 'DivBackward0' returned nan values "
                                                  "in its 1th output"):
            (w / w).sum().backward()
    leafgrad.autograd.set_detect_anomaly(False)


def test_view_modified_in_place_by_a_custom_function_updates_its_base_as_torch():
    torch = pytest.importorskip("torch")
    results = []
    for m in (leafgrad, torch):
        class MulTwo_(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                x.mul_(2)
                ctx.mark_dirty(x)
                return x

            @staticmethod
            def backward(ctx, grad):
                return grad * 2

        x = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * 1
        view = y[:2]
        out = MulTwo_.apply(view)
        (y * m.tensor([1.0, 10.0, 100.0])).sum().backward(retain_graph=True)
        through_base = x.grad.tolist()
        x.grad = None
        out.sum().backward()
        results.append((out is view, y.tolist(), through_base, x.grad.tolist()))
    assert results[0] == results[1]


def test_backward_returning_a_number_raises_runtime_error_as_torch():
    class Bad(leafgrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad_output):
            return 1.5

    x = leafgrad.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"expected Variable or None \(got float\)"):
        Bad.apply(x).sum().backward()


def test_an_input_returned_and_marked_non_differentiable_does_not_require_grad():
    class PassThrough(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.mark_non_differentiable(x)
            return x

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output

    x = leafgrad.ones(2, requires_grad=True)
    out = PassThrough.apply(x)
    assert out is not x and not out.requires_grad and out.grad_fn is None
    assert out.data_ptr() == x.data_ptr()
