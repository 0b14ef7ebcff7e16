"""The engine: iterative (deep graphs), each node run once after all its gradients arrived,
saved arrays released after backward, no leaks with create_graph."""
from __future__ import annotations

import gc
import sys
import weakref

import numpy as np
import pytest

import leafgrad
from leafgrad.autograd import Function


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
    x = leaf(np.linspace(0.1, 1.0, 50))
    hidden = x * 3
    y = (hidden ** 3).sum()
    (g,) = leafgrad.autograd.grad(y, x, create_graph=True)
    (gg,) = leafgrad.autograd.grad(g.sum(), x)
    refs = [weakref.ref(hidden._data), weakref.ref(y.grad_fn), weakref.ref(g.grad_fn)]
    del hidden, y, g, gg
    gc.collect()
    assert [r() for r in refs] == [None, None, None]


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
