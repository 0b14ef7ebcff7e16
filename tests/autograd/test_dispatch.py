"""The one dispatch point: every op call and every node's backward pass through it, modes see
them in stack order, the fast paths step aside for modes, and the reference path (forced) gives
the same results."""
import threading

import numpy as np
import pytest

import leafgrad
import leafgrad.nn.functional as F
from leafgrad.autograd import _fast
from leafgrad.autograd.dispatch import Mode, active_modes, mode_active, pop_mode, push_mode
from leafgrad.autograd.function import Function, Op
from leafgrad.autograd.graph import AccumulateGrad, Edge, SavedInput, SavedOutput


class Recorder(Mode):
    """Records the ops it sees (forward) and the nodes it sees run (backward)."""

    def __init__(self):
        self.ops = []
        self.nodes = []

    def apply(self, op, args, kwargs):
        self.ops.append(op.__name__)
        return op.apply(*args, **kwargs)

    def backward(self, node, grad_outputs, proceed):
        self.nodes.append(node.name())
        return proceed(node, grad_outputs)


def leaf(values, dtype=None):
    return leafgrad.tensor(values, dtype=dtype or leafgrad.float64, requires_grad=True)


class Square(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 2 * x


# each program is run under a Recorder; the op names it must see
PROGRAMS = {
    "operators with numbers": (lambda x, y: (x + 1.0) * 2.0 - x / 3.0, {"Add", "Mul", "Sub",
                                                                       "Div"}),
    "operators with tensors": (lambda x, y: x * y + y, {"Mul", "Add"}),
    "unary functions": (lambda x, y: leafgrad.exp(x).tanh() + x.sigmoid(), {"Exp", "Tanh",
                                                                            "Sigmoid"}),
    "views": (lambda x, y: x.reshape(3, 1).t()[0, 1:], {"View", "T"}),
    "reduction": (lambda x, y: x.sum() + x.mean(), {"Sum", "Mean"}),
    "comparison": (lambda x, y: (x > y).any(), {"Gt"}),
    "custom function": (lambda x, y: Square.apply(x), {"Square"}),
    "nn.functional": (lambda x, y: F.linear(x.reshape(1, 3), y.reshape(1, 3).expand(2, 3)),
                      {"Expand", "T", "Mm"}),
}


@pytest.mark.parametrize("name", PROGRAMS)
def test_every_op_call_passes_through_dispatch(name):
    program, expected = PROGRAMS[name]
    x, y = leaf([0.5, -1.0, 2.0]), leaf([1.0, 2.0, -3.0])
    with mode_active(Recorder()) as recorder:
        program(x, y)
    seen = set(recorder.ops)
    missing = {op for op in expected if not any(s == op or s.startswith(op) for s in seen)}
    assert not missing, f"{name}: dispatch never saw {missing} (saw {recorder.ops})"


def test_calls_without_recording_pass_through_dispatch_too():
    x = leaf([0.5, -1.0, 2.0])
    with mode_active(Recorder()) as recorder, leafgrad.no_grad():
        x * 2.0
        leafgrad.exp(x)
        x.argmax()
    assert recorder.ops[:2] == ["Mul", "Exp"] and len(recorder.ops) == 3


def test_in_place_ops_pass_through_dispatch():
    x = leaf([0.5, -1.0, 2.0])
    with mode_active(Recorder()) as recorder:
        y = x * 1.0
        y.add_(1.0)
        y[0:2].mul_(3.0)
    assert "CopySlices" in recorder.ops and recorder.ops.count("Mul") >= 2


def test_every_node_runs_through_run_backward():
    """The engine's fast paths (array mode, the inlined node) step aside while a mode is
    active: the mode sees each node's formula run once (leaves are accumulated by the engine
    itself, not by a formula)."""
    x, w = leaf([0.5, -1.0, 2.0]), leaf([1.0, 2.0, 3.0])
    loss = ((x * w).exp() + Square.apply(w)).sum()
    with mode_active(Recorder()) as recorder:
        loss.backward()
    assert sorted(recorder.nodes) == sorted(["SumBackward0", "AddBackward0", "ExpBackward0",
                                             "MulBackward0", "SquareBackward"])
    xs, ws = x.detach().numpy(), w.detach().numpy()
    np.testing.assert_allclose(w.grad.numpy(), xs * np.exp(xs * ws) + 2 * ws)


class Scale(Mode):
    """Doubles the result of every Exp (to see that modes can change results) and counts the
    ops it sees, which must not include the ops of its own rule."""

    def __init__(self):
        self.seen = []

    def apply(self, op, args, kwargs):
        self.seen.append(op.__name__)
        result = op.apply(*args, **kwargs)
        return result * 2.0 if op.__name__ == "Exp" else result


def test_a_mode_rule_runs_below_its_own_level():
    x = leaf([0.0, 1.0])
    with mode_active(Recorder()) as below, mode_active(Scale()) as top:
        y = leafgrad.exp(x)
    np.testing.assert_allclose(y.detach().numpy(), 2 * np.exp([0.0, 1.0]))
    assert top.seen == ["Exp"]  # not the Mul of its own rule
    assert below.ops == ["Exp", "Mul"]  # the lower mode sees both
    y.sum().backward()  # the rule's Mul was recorded: d(2 exp x)/dx
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp([0.0, 1.0]))


def test_mode_stack_is_per_thread_and_balanced():
    recorder = Recorder()
    assert active_modes() == ()
    push_mode(recorder)
    seen_elsewhere = []
    thread = threading.Thread(target=lambda: seen_elsewhere.append(active_modes()))
    thread.start()
    thread.join()
    assert active_modes() == (recorder,) and seen_elsewhere == [()]
    pop_mode(recorder)
    assert active_modes() == ()
    with pytest.raises(RuntimeError, match="Recorder is not active"):
        pop_mode(recorder)


def test_anomaly_detection_is_a_mode():
    from leafgrad.autograd.anomaly_mode import AnomalyMode
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        with leafgrad.autograd.detect_anomaly():
            assert [type(m) for m in active_modes()] == [AnomalyMode]
            assert leafgrad.is_anomaly_enabled()
    assert active_modes() == () and not leafgrad.is_anomaly_enabled()
    leafgrad.autograd.set_detect_anomaly(True)
    try:
        x = leaf([1.0])
        y = leafgrad.sqrt(x - 1.0) * 0.0  # 0 * inf = nan in backward
        assert y.grad_fn._anomaly_trace is not None  # the forward was recorded
        with pytest.warns(UserWarning, match="Error detected in"):
            with pytest.raises(RuntimeError, match="returned nan values"):
                y.sum().backward()
    finally:
        leafgrad.autograd.set_detect_anomaly(False)
    assert active_modes() == ()


def test_edges_and_saved_entries_are_named():
    x = leaf([1.0, 2.0])
    y = x * x
    z = leafgrad.exp(y)
    edge = y.grad_fn._edges[0]
    assert type(edge) is Edge and type(edge.node) is AccumulateGrad
    assert edge.node.variable is x and edge.output_nr == 0 and edge.shape == (2,)
    assert [type(entry) for entry in y.grad_fn._saved] == [SavedInput, SavedInput]
    assert y.grad_fn._saved[0].tensor is x and y.grad_fn._saved[0].version == 0
    (saved_output,) = z.grad_fn._saved
    assert type(saved_output) is SavedOutput and saved_output.array is z._data


def _program_results():
    """Values and gradients of a program touching every fast path: the operators, array
    formulas, a leaf's first gradient, an in-place op on a view, a custom Function, a
    retained grad and a hook."""
    rng = np.random.default_rng(0)
    x = leaf(rng.normal(size=(3, 4)))
    w = leaf(rng.normal(size=(4, 2)))
    h = (x @ w).tanh() * 2.0 + 1.0
    h.retain_grad()
    h.register_hook(lambda grad: grad * 3.0)
    g = h.clone()
    g[:, 0].mul_(2.0)
    loss = (Square.apply(g).sum() + F.relu(x).sum() / 5.0 + leafgrad.sigmoid(w).mean())
    loss.backward()
    (second,) = leafgrad.autograd.grad((x * x * x).sum(), x, create_graph=True)
    second.sum().backward()
    return [loss.detach().numpy(), x.grad.numpy(), w.grad.numpy(), h.grad.numpy()]


@pytest.fixture
def restore_switch():
    """Put the fast-path switch back as the environment set it (CI runs both ways)."""
    was = _fast.enabled()
    yield
    _fast.set_enabled(was)


def test_reference_path_gives_the_same_results(restore_switch):
    _fast.set_enabled(True)
    fast = _program_results()
    _fast.set_enabled(False)
    assert not _fast.enabled()
    reference = _program_results()
    for a, b in zip(fast, reference):
        np.testing.assert_array_equal(a, b)


def test_reference_path_takes_the_reference_recording(monkeypatch, restore_switch):
    _fast.set_enabled(True)
    calls = []
    original = Op._record_reference.__func__

    def spy(op, args, kwargs):
        calls.append(op.__name__)
        return original(op, args, kwargs)

    monkeypatch.setattr(Op, "_record_reference", classmethod(spy))
    x = leaf([1.0, 2.0])
    leafgrad.exp(x)
    assert calls == []  # the fast recorder handled it
    _fast.set_enabled(False)
    leafgrad.exp(x)
    x * 2.0
    assert calls == ["Exp", "Mul"]


def test_modes_see_the_ops_of_backward_formulas():
    """A node's formula runs with every mode active (forward AD, vmap and the profiler need
    the ops of backward formulas too); only a mode's own hook runs below its level."""
    x = leaf([0.5, 1.0])
    y = leafgrad.exp(x)
    with mode_active(Recorder()) as recorder:
        y.sum().backward()
    assert "ExpBackward0" in recorder.nodes
    assert "Mul" in recorder.ops  # ExpBackward0's grad * result
