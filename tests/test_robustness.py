"""Robustness of the engine: deep graphs, memory that stays flat over long runs, backward in
several threads at once, reentrant backward and activation checkpointing."""
from __future__ import annotations

import gc
import threading
import tracemalloc
import weakref

import numpy as np
import pytest

import leafgrad
from leafgrad import nn
from leafgrad.utils.checkpoint import checkpoint, checkpoint_sequential


# -- deep graphs ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_million_chained_ops_backpropagate_and_are_freed():
    x = leafgrad.ones(1, dtype=leafgrad.float64, requires_grad=True)
    y = x
    for _ in range(1_000_000):
        y = y * 1.000001
    first = weakref.ref(y.grad_fn)
    y.sum().backward()  # iterative engine: no RecursionError
    assert x.grad.item() == pytest.approx(1.000001 ** 1_000_000, rel=1e-9)
    del y
    gc.collect()  # releasing a million nested nodes must not overflow the C stack
    assert first() is None


# -- no leaks ------------------------------------------------------------------------------------
def _traced_growth(build, warmup: int, steps: int) -> float:
    """Relative growth of tracemalloc-traced memory over ``steps`` calls of the step function
    that ``build`` returns, after ``warmup`` calls (the model and data it builds are traced, so
    that they are the base the growth is measured against)."""
    tracemalloc.start()
    try:
        step = build()
        for _ in range(warmup):
            step()
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(steps):
            step()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return (after - before) / before


@pytest.mark.slow
def test_training_steps_keep_memory_flat():
    def build():
        leafgrad.manual_seed(0)
        model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
        optimizer = leafgrad.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        loss_fn = nn.CrossEntropyLoss()
        x = leafgrad.randn(16, 8)
        target = leafgrad.randint(0, 2, (16,))

        def step():
            optimizer.zero_grad()
            loss = loss_fn(model(x), target)
            loss.backward()
            optimizer.step()
        return step

    assert _traced_growth(build, warmup=200, steps=5000) < 0.05


@pytest.mark.slow
def test_create_graph_loops_keep_memory_flat():
    def build():
        leafgrad.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
        optimizer = leafgrad.optim.SGD(model.parameters(), lr=0.01)
        x = leafgrad.randn(8, 4)

        def step():  # a gradient penalty: its graph runs through autograd.grad's own graph
            optimizer.zero_grad()
            inputs = x.clone().requires_grad_()
            out = model(inputs)
            (grad,) = leafgrad.autograd.grad(out.sum(), inputs, create_graph=True)
            loss = out.mean() + ((grad.norm(dim=1) - 1) ** 2).mean()
            loss.backward()
            optimizer.step()
        return step

    assert _traced_growth(build, warmup=100, steps=1000) < 0.05


# -- threads (grad mode per thread: tests/autograd/test_grad_mode.py) ----------------------------
def test_backward_in_two_threads_at_once_gives_each_its_gradients():
    def make(seed: int):
        rng = np.random.default_rng(seed)
        return (leafgrad.tensor(rng.standard_normal((6, 5)), requires_grad=True),
                leafgrad.tensor(rng.standard_normal((5, 3)), requires_grad=True))

    def run(a, b):
        ((a @ b).tanh() * a.sum(1, keepdim=True)).pow(2).sum().backward()

    expected = []
    for seed in (1, 2):
        a, b = make(seed)
        run(a, b)
        expected.append((a.grad.numpy().copy(), b.grad.numpy().copy()))
    barrier = threading.Barrier(2)
    failures: list = []

    def worker(index: int) -> None:
        try:
            for _ in range(100):
                a, b = make(index + 1)
                barrier.wait(timeout=10)  # both threads build and run backward together
                run(a, b)
                np.testing.assert_array_equal(a.grad.numpy(), expected[index][0])
                np.testing.assert_array_equal(b.grad.numpy(), expected[index][1])
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            failures.append(error)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []


# -- reentrant backward --------------------------------------------------------------------------
class _Recomputed(leafgrad.autograd.Function):
    """tanh(x) * w, keeping only the inputs: backward recomputes forward and calls grad."""

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return x.tanh() * w

    @staticmethod
    def backward(ctx, grad_output):
        x, w = ctx.saved_tensors
        x, w = x.detach().requires_grad_(), w.detach().requires_grad_()
        with leafgrad.enable_grad():
            out = x.tanh() * w
        return leafgrad.autograd.grad(out, (x, w), grad_output)


def test_a_backward_that_calls_autograd_grad_works():
    x = leafgrad.tensor([0.5, -1.0, 2.0], requires_grad=True)
    w = leafgrad.tensor([1.5, 2.0, -0.5], requires_grad=True)
    ((_Recomputed.apply(x, w) + 1) ** 2).sum().backward()
    got = (x.grad.clone(), w.grad.clone())
    x.grad = w.grad = None
    (((x.tanh() * w) + 1) ** 2).sum().backward()
    np.testing.assert_allclose(got[0].numpy(), x.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(got[1].numpy(), w.grad.numpy(), rtol=1e-6)


def _mlp(depth: int, width: int) -> nn.Sequential:
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), nn.Dropout(0.2), nn.Tanh()]
    return nn.Sequential(*layers)


@pytest.mark.parametrize("use_reentrant", [True, False])
def test_checkpoint_gives_the_plain_values_and_gradients(use_reentrant):
    leafgrad.manual_seed(0)
    model = _mlp(3, 6)
    x = leafgrad.randn(4, 6, requires_grad=True)
    leafgrad.manual_seed(7)
    plain = model(x)
    plain.pow(2).sum().backward()
    expected = [p.grad.clone() for p in model.parameters()] + [x.grad.clone()]
    model.zero_grad()
    x.grad = None
    leafgrad.manual_seed(7)  # the recomputation replays the same dropout masks
    out = checkpoint(model, x, use_reentrant=use_reentrant)
    after_forward = leafgrad.get_rng_state()
    np.testing.assert_array_equal(out.detach().numpy(), plain.detach().numpy())
    out.pow(2).sum().backward()
    # backward restored the generator it borrowed
    np.testing.assert_array_equal(leafgrad.get_rng_state().numpy(), after_forward.numpy())
    got = [p.grad for p in model.parameters()] + [x.grad]
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g.numpy(), e.numpy())


def test_checkpoint_non_reentrant_reaches_parameters_of_a_closure_and_keyword_args():
    leafgrad.manual_seed(0)
    layer = nn.Linear(3, 3)
    x = leafgrad.randn(2, 3)  # no input requires grad: only the parameters do
    out = checkpoint(lambda t, scale: layer(t) * scale, x, use_reentrant=False, scale=2.0)
    out.sum().backward()
    got = layer.weight.grad.clone()
    layer.zero_grad()
    (layer(x) * 2.0).sum().backward()
    np.testing.assert_allclose(got.numpy(), layer.weight.grad.numpy(), rtol=1e-6)


def test_checkpoint_without_use_reentrant_warns_and_rejects_keywords_when_reentrant():
    x = leafgrad.ones(2, requires_grad=True)
    with pytest.warns(UserWarning, match="use_reentrant"):
        checkpoint(leafgrad.sin, x)
    with pytest.raises(ValueError, match="Unexpected keyword arguments: scale"):
        checkpoint(leafgrad.mul, x, use_reentrant=True, scale=2)


def test_checkpoint_sequential_matches_the_plain_model():
    leafgrad.manual_seed(0)
    model = nn.Sequential(*[nn.Linear(4, 4) for _ in range(4)])
    x = leafgrad.randn(3, 4, requires_grad=True)
    checkpoint_sequential(model, 2, x, use_reentrant=False).sum().backward()
    got = x.grad.clone()
    x.grad = None
    model(x).sum().backward()
    np.testing.assert_allclose(got.numpy(), x.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("use_reentrant", [True, False])
def test_checkpoint_lowers_the_peak_memory(use_reentrant):
    leafgrad.manual_seed(0)
    segments = [_mlp(4, 64) for _ in range(4)]
    x = leafgrad.randn(256, 64, requires_grad=True)

    def peak(run) -> int:
        gc.collect()
        tracemalloc.start()
        try:
            h = x
            for segment in segments:
                h = run(segment, h)
            h.sum().backward()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    plain = peak(lambda segment, h: segment(h))
    checkpointed = peak(lambda segment, h: checkpoint(segment, h, use_reentrant=use_reentrant))
    assert checkpointed < 0.6 * plain, (checkpointed, plain)
