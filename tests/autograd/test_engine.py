"""The engine: iterative (deep graphs), each node run once after all its gradients arrived,
saved arrays released after backward, no leaks with create_graph."""
from __future__ import annotations

import gc
import sys
import weakref

import numpy as np
import pytest

import leafgrad
from leafgrad.autograd import Function, _fast


def leaf(values, dtype=None):
    return leafgrad.tensor(values, dtype=dtype, requires_grad=True)


def make_counter():
    """A custom identity Function that records each gradient its backward receives."""
    calls = []

    class Count(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, grad):
            calls.append(grad.tolist())
            return grad

    return Count, calls


# -- iterative engine --------------------------------------------------------------------------
def test_a_chain_of_100000_ops_backpropagates_without_recursion():
    assert sys.getrecursionlimit() < 100_000
    x = leaf([1.0], dtype=leafgrad.float64)
    y = x
    for _ in range(100_000):
        y = y * 1.0001
    y.backward()
    assert x.grad.item() == pytest.approx(1.0001 ** 100_000, rel=1e-9)
    head = weakref.ref(y.grad_fn)
    del y
    gc.collect()
    assert head() is None


def test_a_deep_graph_can_be_deleted_without_backward():
    x = leaf([1.0])
    y = x
    for _ in range(100_000):
        y = y + 1.0
    head = weakref.ref(y.grad_fn)
    del y
    gc.collect()
    assert head() is None


def test_deep_graph_with_autograd_grad():
    x = leaf([2.0], dtype=leafgrad.float64)
    y = x
    for _ in range(20_000):
        y = y * 1.0
    (g,) = leafgrad.autograd.grad(y, x)
    assert g.item() == 1.0


# -- dependency counting -----------------------------------------------------------------------
def test_diamond_runs_the_shared_node_once_with_the_summed_gradient():
    Count, calls = make_counter()
    x = leaf([1.0, 2.0])
    shared = Count.apply(x)
    left = shared * 2
    right = shared * 3
    (left + right).sum().backward()
    assert calls == [[5.0, 5.0]]
    assert x.grad.tolist() == [5.0, 5.0]


def test_a_tensor_reused_many_times_runs_its_node_once():
    Count, calls = make_counter()
    x = leaf([1.0])
    shared = Count.apply(x)
    total = shared * 0
    for k in range(1, 11):
        total = total + shared * k
    total.backward()
    assert calls == [[55.0]]
    assert x.grad.tolist() == [55.0]


def test_nested_diamonds_with_paths_of_different_lengths():
    Count, calls = make_counter()
    x = leaf([2.0])
    top = Count.apply(x)
    short = top * 1
    long = ((top * 2) * 3).exp().log()  # a longer path to the same node
    (short + long + top).backward()
    assert calls == [[pytest.approx(8.0)]]
    assert x.grad.item() == pytest.approx(8.0)


def test_same_leaf_used_twice_in_one_op():
    x = leaf([3.0])
    (x * x).backward()
    assert x.grad.tolist() == [6.0]
    y = leaf([3.0])
    (y + y + y).backward()
    assert y.grad.tolist() == [3.0]


def test_broadcast_gradients_are_reduced_to_the_input_shape():
    a = leaf([[1.0], [2.0]])  # (2, 1)
    b = leaf([10.0, 20.0, 30.0])  # (3,)
    s = leaf(5.0)  # ()
    (a * b * s).sum().backward()
    assert a.grad.shape == (2, 1) and a.grad.flatten().tolist() == [300.0, 300.0]
    assert b.grad.tolist() == [15.0, 15.0, 15.0]
    assert s.grad.shape == () and s.grad.item() == 3 * 60.0


def test_gradient_dtype_matches_the_input():
    a = leaf([1.0, 2.0], dtype=leafgrad.float64)
    b = leaf([1.0, 2.0])
    (a * b).sum().backward()
    assert a.grad.dtype == leafgrad.float64 and b.grad.dtype == leafgrad.float32
    i = leafgrad.tensor([1, 2])
    (b * i).sum().backward()  # promotion to float: no grad for the integer input
    assert i.grad is None


def test_autograd_grad_runs_only_the_nodes_it_needs():
    Count, calls = make_counter()
    x = leaf([1.0])
    w = leaf([2.0])
    branch = Count.apply(w)
    out = x * 3 + branch
    (gx,) = leafgrad.autograd.grad(out, x)
    assert gx.tolist() == [3.0]
    assert calls == []


def test_backward_inputs_runs_only_the_nodes_it_needs():
    Count, calls = make_counter()
    x = leaf([1.0])
    w = leaf([2.0])
    (x * 3 + Count.apply(w)).backward(inputs=[x])
    assert calls == [] and w.grad is None and x.grad.tolist() == [3.0]


# -- memory ------------------------------------------------------------------------------------
def test_saved_arrays_are_freed_after_backward_without_retain_graph():
    x = leaf(np.random.default_rng(0).standard_normal(1000))
    hidden = x * 2
    activated = hidden.tanh()  # saves its output
    product = activated * hidden  # saves both inputs
    loss = product.sum()
    refs = [weakref.ref(t._data) for t in (hidden, activated)]
    del hidden, activated, product
    gc.collect()
    assert all(r() is not None for r in refs)  # kept alive by the graph for backward
    loss.backward()
    gc.collect()
    assert loss.grad_fn is not None  # the graph itself is still there ...
    assert [r() for r in refs] == [None, None]  # ... but what it saved is gone


def test_saved_arrays_are_kept_with_retain_graph():
    x = leaf(np.random.default_rng(0).standard_normal(100))
    hidden = x * 2
    loss = (hidden.tanh() * hidden).sum()
    ref = weakref.ref(hidden._data)
    del hidden
    loss.backward(retain_graph=True)
    gc.collect()
    assert ref() is not None
    loss.backward()
    gc.collect()
    assert ref() is None


def test_graph_is_freed_when_its_outputs_are_deleted():
    x = leaf(np.ones(100))
    hidden = x.exp()
    loss = (hidden * hidden).sum()
    ref = weakref.ref(hidden._data)
    node = weakref.ref(loss.grad_fn)
    del hidden, loss
    gc.collect()
    assert ref() is None and node() is None
    assert x.grad is None


def test_create_graph_does_not_leak():
    """No reference cycles: with the cyclic garbage collector off, dropping the last
    references frees the graph at once (a cycle would keep it until a collection)."""
    gc.collect()
    gc.disable()
    try:
        x = leaf(np.linspace(0.1, 1.0, 50))
        hidden = x * 3
        view = hidden[1:]  # views and in-place ops on them: CopySlices, replayed views
        view.mul_(2)
        y = (hidden ** 3).sum() + view.sum()
        (g,) = leafgrad.autograd.grad(y, x, create_graph=True)
        (gg,) = leafgrad.autograd.grad(g.sum(), x)
        refs = [weakref.ref(hidden._data), weakref.ref(y.grad_fn), weakref.ref(g.grad_fn),
                weakref.ref(view.grad_fn), weakref.ref(hidden), weakref.ref(view)]
        del hidden, view, y, g, gg
        assert [r() for r in refs] == [None] * len(refs)
    finally:
        gc.enable()


def test_a_backward_leaves_no_reference_cycles():
    gc.collect()
    gc.disable()
    try:
        x = leaf([1.0, 2.0])
        y = (x.exp() * x).sum()
        y.backward()
        node = weakref.ref(y.grad_fn)
        del y
        assert node() is None
        assert gc.collect() == 0  # nothing was left for the collector
    finally:
        gc.enable()


def test_backward_create_graph_cycle_is_collected():
    x = leaf(np.linspace(0.1, 1.0, 50))
    hidden = x * 3
    with pytest.warns(UserWarning, match="reference cycle"):
        (hidden ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad  # x -> x.grad -> its graph -> x: a cycle
    refs = [weakref.ref(x), weakref.ref(hidden._data), weakref.ref(x.grad.grad_fn)]
    del x, hidden
    gc.collect()
    assert [r() for r in refs] == [None, None, None]


# -- autograd.grad with respect to non-leaf tensors --------------------------------------------
def test_grad_with_respect_to_a_non_leaf_does_not_run_or_free_its_node():  # review #4
    x = leaf([1.0, 2.0])
    y = x.exp()
    (g,) = leafgrad.autograd.grad((y * 2).sum(), y)
    assert g.tolist() == [2.0, 2.0]
    y.sum().backward()  # y's node still holds its saved tensors
    np.testing.assert_allclose(x.grad.numpy(), np.exp([1.0, 2.0]), rtol=1e-6)


def test_grad_with_respect_to_a_non_leaf_ignores_what_its_node_saved():  # review #4
    x = leaf([1.0, 2.0])
    a = x * 1
    y = a * a
    out = y + 0
    a.add_(1)  # y's node saved a: only running that node would notice
    (g,) = leafgrad.autograd.grad(out.sum(), y)
    assert g.tolist() == [1.0, 1.0]


def test_grad_runs_a_captured_node_when_another_target_lies_below():
    Count, calls = make_counter()
    x = leaf([1.0, 2.0])
    y = Count.apply(x)
    y.register_hook(lambda g: g * 10)
    gy, gx = leafgrad.autograd.grad((y * 2).sum(), [y, x])
    # as torch: the captured gradient of a node that runs is taken before the tensor's hooks
    assert gy.tolist() == [2.0, 2.0] and gx.tolist() == [20.0, 20.0] and calls == [[20.0, 20.0]]
    (gy,) = leafgrad.autograd.grad((y * 2).sum(), y)  # alone: after the hooks, no run
    assert gy.tolist() == [20.0, 20.0] and len(calls) == 1


def test_backward_with_non_leaf_inputs_runs_their_nodes_as_torch():
    Count, calls = make_counter()
    x = leaf([1.0, 2.0])
    y = Count.apply(x).exp()
    (y * 2).sum().backward(inputs=[y])
    assert y.grad.tolist() == [2.0, 2.0] and x.grad is None and calls == []
    with pytest.raises(RuntimeError, match="second time"):  # ExpBackward0 ran and was freed
        y.sum().backward()


# -- gradients given by the caller -------------------------------------------------------------
def test_backward_with_create_graph_never_stores_the_callers_gradient():  # review #10
    x = leaf([1.0, 2.0])
    gradient = leafgrad.tensor([1.0, 1.0])
    x.backward(gradient, create_graph=True)
    assert x.grad is not gradient and x.grad.tolist() == [1.0, 1.0]
    (x * 3).sum().backward()  # accumulates into x.grad, not into the caller's tensor
    assert x.grad.tolist() == [4.0, 4.0] and gradient.tolist() == [1.0, 1.0]
    y = x * 2
    y.retain_grad()
    y.backward(gradient, create_graph=True)
    assert y.grad is not gradient
    y.grad.add_(1)
    assert gradient.tolist() == [1.0, 1.0]


# -- array mode: without create_graph, gradients travel as arrays ---------------------------
ARRAY_FORMULA_PROGRAMS = {
    "arithmetic": lambda x, y: ((x * y + 2.0) / (y + 3.0) - x).sum(),
    "alpha": lambda x, y: (leafgrad.add(x, y, alpha=2.5) * leafgrad.sub(x, y, alpha=-0.5)).sum(),
    "unary": lambda x, y: (x.exp() + (y * y + 1).log() + (x * x + 1).sqrt() + x.tanh()
                           + y.sigmoid() + (x * x + 1).rsqrt() + x.square() - (-y)).sum(),
    "more unary": lambda x, y: ((y * y + 1).reciprocal() + (x * 0.1).tan() + x.atan()
                                + x.exp2() + x.expm1() + (y * y + 1).log2()
                                + (y * y + 1).log10() + (y * y).log1p()).sum(),
    "broadcast": lambda x, y: (x * y.reshape(1, 3) + x.sum(0, keepdim=True)).sum(),
    "zero-dim": lambda x, y: (x[0, 0] * y[1] + x[1, 2] * 3.0).exp(),
}


@pytest.mark.parametrize("name", ARRAY_FORMULA_PROGRAMS)
def test_array_mode_gives_the_recorded_formulas_gradients(name):
    """backward() runs the array_backward formulas on raw arrays; autograd.grad with
    create_graph runs the same formulas as Tensor ops: both give the same gradients."""
    program = ARRAY_FORMULA_PROGRAMS[name]
    x = leaf(np.linspace(-1, 1, 6).reshape(2, 3))
    y = leaf([0.5, -1.5, 2.0])
    program(x, y).backward()
    recorded = leafgrad.autograd.grad(program(x, y), (x, y), create_graph=True)
    for tensor, expected in zip((x, y), recorded):
        assert type(tensor.grad) is leafgrad.Tensor and tensor.grad.dtype == tensor.dtype
        assert tensor.grad.shape == tensor.shape
        np.testing.assert_allclose(tensor.grad.numpy(), expected.detach().numpy(), rtol=1e-6)
        assert expected.requires_grad  # the create_graph path was recorded


def test_array_mode_keeps_the_checks_of_saved_tensors():
    x = leaf([1.0, 2.0])
    y = x * 3.0
    z = y * y  # saves y
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()
    w = x * x
    loss = w.sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()


def test_array_mode_hands_tensors_to_hooks_and_casts_to_input_dtype():
    x = leaf([1.0, 2.0], dtype=leafgrad.float32)
    seen = []
    y = x * 2.0
    y.register_hook(lambda grad: seen.append(grad) or grad * 10)
    y.grad_fn.register_hook(lambda inputs, outputs: seen.extend(inputs + outputs))
    (y * leafgrad.tensor(3.0, dtype=leafgrad.float64)).sum().backward()
    assert len(seen) == 4 and seen[2] is None  # no gradient for the number 2.0
    assert all(type(g) is leafgrad.Tensor for g in seen[:2] + seen[3:])
    assert x.grad.dtype == leafgrad.float32
    np.testing.assert_array_equal(x.grad.numpy(), [60.0, 60.0])


def test_leaf_grad_never_aliases_what_others_hold():
    """.grad may take the incoming gradient's memory (as torch) only when nothing else holds it:
    a root's gradient, another leaf's gradient or a retained grad stay separate."""
    w = leaf([1.0, 2.0])
    root = leafgrad.ones(2)
    w.backward(root)
    assert not np.shares_memory(w.grad.numpy(), root.numpy())
    y, z = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    ((y + z) * leafgrad.tensor([2.0, 3.0])).sum().backward()  # Add hands one fresh array to both
    assert not np.shares_memory(y.grad.numpy(), z.grad.numpy())
    a = leaf([1.0, 2.0])
    b = a * 3.0
    b.retain_grad()
    (b * 2.0).sum().backward()
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())
    kept = []
    c = leaf([1.0, 2.0])
    c.register_hook(lambda grad: kept.append(grad))
    (c * 5.0).sum().backward()
    assert not np.shares_memory(c.grad.numpy(), kept[0].numpy())
    (c * 5.0).sum().backward()  # accumulates into c.grad in place: kept[0] is unchanged
    np.testing.assert_array_equal(kept[0].numpy(), [5.0, 5.0])
    np.testing.assert_array_equal(c.grad.numpy(), [10.0, 10.0])
    d = leaf([1.0, 2.0])
    d.register_hook(lambda grad: kept.append(grad * 2) or kept[-1])  # kept and returned
    (d * 5.0).sum().backward()
    assert not np.shares_memory(d.grad.numpy(), kept[-1].numpy())


def test_leaf_grad_takes_an_unshared_gradient_without_copying():
    """As torch, the first .grad is the incoming gradient itself when nothing else holds it
    (here made by a custom backward: a weak reference tells whether that very array, or that
    of a view's base, became .grad). A speed-up of the fast path: the reference path copies."""
    if not _fast.enabled():
        pytest.skip("LEAFGRAD_REFERENCE_PATH=1: the reference path always copies")
    made = []

    class Double(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            result = grad * 2 if len(made) % 2 == 0 else (grad * 2).reshape(-1).view(grad.shape)
            memory = result.numpy() if result.numpy().base is None else result.numpy().base
            made.append(weakref.ref(memory))
            return result

    for _ in range(2):  # an array, then a view of an array nothing else holds
        x = leaf([1.0, 2.0, 3.0])
        Double.apply(x).sum().backward()
        grad_memory = x.grad.numpy() if x.grad.numpy().base is None else x.grad.numpy().base
        assert made[-1]() is grad_memory
        first = x.grad
        Double.apply(x).sum().backward()
        assert x.grad is first  # accumulated in place
        np.testing.assert_array_equal(x.grad.numpy(), [4.0, 4.0, 4.0])


def test_array_mode_is_per_call_so_threads_can_share_a_graph():
    """One thread backpropagates without create_graph (array formulas) while another asks
    for a recorded gradient through the same nodes: the recorded one always has its graph."""
    import threading
    x = leaf(np.ones(200_000))
    w = leaf(np.ones(200_000))
    y = (x * w).sum()
    stop = threading.Event()
    failures = []

    def plain():
        while not stop.is_set():
            y.backward(retain_graph=True)

    def recorded():
        for _ in range(100):
            (gw,) = leafgrad.autograd.grad(y, [w], retain_graph=True, create_graph=True)
            if not gw.requires_grad:
                failures.append(gw)

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        other = threading.Thread(target=plain)
        other.start()
        recorded()
    finally:
        stop.set()
        other.join()
        sys.setswitchinterval(switch)
    assert not failures


@pytest.mark.skipif(not _fast.SWITCH.stashes, reason="the fast paths are off (reference path)")
def test_stash_scan_is_skipped_only_for_forwards_that_never_name_ctx():
    from leafgrad.ops import elementwise, indexing
    assert not elementwise.Mul._stashed and not elementwise.Add._stashed
    assert elementwise.AddScaled._stashed and elementwise.Where._stashed
    assert indexing.MaskedFill._stashed
    x = leaf([1.0, 2.0, 3.0])
    y = leafgrad.where(x > 1.5, x, 0.0)
    y.sum().backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.sum().backward()


def test_leaf_grad_has_the_leafs_memory_layout():
    """As torch's gradient layout contract: a gradient arriving transposed is laid out like
    the leaf, and a transposed leaf gets a transposed .grad."""
    y = leaf(np.ones((3, 4)))
    (y.t() * 2).sum().backward()
    assert y.grad.stride() == y.stride() == (4, 1)
    assert y.grad.view(-1).shape == (12,)
    z = leafgrad.ones(4, 3).t().requires_grad_()
    (z * 2).sum().backward()
    assert z.grad.stride() == z.stride() == (1, 3)
    np.testing.assert_array_equal(z.grad.numpy(), np.full((3, 4), 2.0))


def test_threads_backpropagating_into_one_leaf_add_up():
    """As torch (which locks its AccumulateGrad): concurrent backward passes through a shared
    graph lose no contribution to the leaves' .grad, the first one included."""
    import threading
    x = leaf(np.ones(1000))
    y = (x * 2.0).sum()
    lost = 0
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for _ in range(1000):
            x.grad = None
            threads = [threading.Thread(target=y.backward, kwargs={"retain_graph": True})
                       for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            lost += not np.array_equal(x.grad.numpy(), np.full(1000, 4.0))
    finally:
        sys.setswitchinterval(switch)
    assert lost == 0
