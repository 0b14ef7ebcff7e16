"""Grad modes: no_grad, enable_grad, set_grad_enabled, inference_mode, is_grad_enabled; the mode
is thread-local."""
from __future__ import annotations

import threading

import pytest

import leafgrad


@pytest.fixture
def x():
    return leafgrad.tensor([1.0, 2.0], requires_grad=True)


def test_grad_is_enabled_by_default():
    assert leafgrad.is_grad_enabled() is True
    assert leafgrad.autograd.is_grad_enabled() is True


def test_no_grad_context_manager(x):
    with leafgrad.no_grad():
        assert not leafgrad.is_grad_enabled()
        y = x * 2
    assert leafgrad.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    assert (x * 2).requires_grad


def test_no_grad_restores_the_mode_after_an_exception(x):
    with pytest.raises(ValueError), leafgrad.no_grad():
        raise ValueError("boom")
    assert leafgrad.is_grad_enabled()


def test_no_grad_decorator(x):
    @leafgrad.no_grad()
    def double(t):
        return t * 2

    y = double(x)
    assert not y.requires_grad
    assert double.__name__ == "double"
    assert leafgrad.is_grad_enabled()


def test_no_grad_decorates_generators(x):
    @leafgrad.no_grad()
    def gen():
        yield leafgrad.is_grad_enabled()
        yield (x * 2).requires_grad

    assert list(gen()) == [False, False]
    assert leafgrad.is_grad_enabled()

    @leafgrad.no_grad()
    def echo():
        received = yield leafgrad.is_grad_enabled()
        yield received, leafgrad.is_grad_enabled()
        return "done"

    def outer():
        return (yield from echo())

    g = outer()
    assert next(g) is False
    assert leafgrad.is_grad_enabled()  # the consumer keeps its own mode between steps
    assert g.send("hi") == ("hi", False)
    with pytest.raises(StopIteration) as stop:
        next(g)
    assert stop.value.value == "done"
    g = echo()
    next(g)
    g.close()
    assert leafgrad.is_grad_enabled()


def test_enable_grad_inside_no_grad(x):
    with leafgrad.no_grad():
        with leafgrad.enable_grad():
            assert leafgrad.is_grad_enabled()
            y = x * 2
        z = x * 2
        assert not leafgrad.is_grad_enabled()
    assert y.requires_grad and y.grad_fn is not None
    assert not z.requires_grad

    @leafgrad.enable_grad()
    def double(t):
        return t * 2

    with leafgrad.no_grad():
        assert double(x).requires_grad


def test_set_grad_enabled_as_plain_call(x):
    try:
        leafgrad.set_grad_enabled(False)
        assert not leafgrad.is_grad_enabled()
        assert not (x * 2).requires_grad
        leafgrad.set_grad_enabled(True)
        assert (x * 2).requires_grad
    finally:
        leafgrad.set_grad_enabled(True)


def test_set_grad_enabled_as_context_manager(x):
    with leafgrad.set_grad_enabled(False):
        assert not (x * 2).requires_grad
        with leafgrad.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not leafgrad.is_grad_enabled()
    assert leafgrad.is_grad_enabled()


def test_set_grad_enabled_as_decorator(x):
    @leafgrad.set_grad_enabled(False)
    def double(t):
        return t * 2

    assert leafgrad.is_grad_enabled()  # decorating does not switch the mode
    assert not double(x).requires_grad
    assert leafgrad.is_grad_enabled()


def test_set_grad_enabled_needs_a_bool():
    with pytest.raises(TypeError, match="bool"):
        leafgrad.set_grad_enabled("no")
    assert leafgrad.is_grad_enabled()


def test_inference_mode(x):
    with leafgrad.inference_mode():
        assert leafgrad.is_inference_mode_enabled()
        assert not leafgrad.is_grad_enabled()
        y = x * 2
    assert not leafgrad.is_inference_mode_enabled()
    assert not y.requires_grad
    with leafgrad.inference_mode(False):
        assert leafgrad.is_grad_enabled() and (x * 2).requires_grad

    @leafgrad.inference_mode()
    def double(t):
        return t * 2

    assert not double(x).requires_grad


def test_in_place_update_of_a_leaf_under_no_grad(x):
    with leafgrad.no_grad():
        x.sub_(leafgrad.tensor([0.5, 0.5]))
    assert x.tolist() == [0.5, 1.5] and x.is_leaf and x.requires_grad


def test_backward_works_inside_no_grad(x):
    y = (x * x).sum()
    with leafgrad.no_grad():
        y.backward()
    assert x.grad.tolist() == [2.0, 4.0]


def test_grad_mode_is_thread_local(x):
    entered = threading.Event()
    checked = threading.Event()
    seen = {}

    def other_thread():
        entered.wait(timeout=5)
        seen["enabled"] = leafgrad.is_grad_enabled()
        seen["records"] = (x * 2).requires_grad
        checked.set()

    thread = threading.Thread(target=other_thread)
    thread.start()
    with leafgrad.no_grad():
        entered.set()
        assert checked.wait(timeout=5)
        assert not leafgrad.is_grad_enabled()
    thread.join(timeout=5)
    assert seen == {"enabled": True, "records": True}


def test_no_grad_in_another_thread_does_not_leak(x):
    inside = threading.Event()
    release = threading.Event()

    def other_thread():
        with leafgrad.no_grad():
            inside.set()
            release.wait(timeout=5)

    thread = threading.Thread(target=other_thread)
    thread.start()
    assert inside.wait(timeout=5)
    try:
        assert leafgrad.is_grad_enabled()
        assert (x * 2).requires_grad
    finally:
        release.set()
        thread.join(timeout=5)
