"""nn.utils: clip_grad_norm_ and clip_grad_value_ against torch, parameters_to_vector and
vector_to_parameters."""
from __future__ import annotations

import math

import numpy as np
import pytest

import leafgrad
from leafgrad import nn
from leafgrad.nn.utils import (
    clip_grad_norm_,
    clip_grad_value_,
    parameters_to_vector,
    vector_to_parameters,
)


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def grads_for(lib, scale=1.0):
    """Three parameters with known gradients (one without a gradient)."""
    rng = np.random.default_rng(7)
    params = []
    for shape in ((3, 4), (4,), (2, 2, 2)):
        p = lib.nn.Parameter(lib.zeros(shape))
        p.grad = lib.tensor((rng.standard_normal(shape) * scale).astype(np.float32))
        params.append(p)
    params.append(lib.nn.Parameter(lib.zeros(2)))  # no grad: skipped
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1, math.inf, 0.5, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1000.0])
@pytest.mark.parametrize("foreach", [None, True, False])
def test_clip_grad_norm_matches_torch(torch, norm_type, max_norm, foreach):
    ours, theirs = grads_for(leafgrad), grads_for(torch)
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type, foreach=foreach)
    reference = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type,
                                               foreach=foreach)
    assert isinstance(total, leafgrad.Tensor) and total.shape == ()
    np.testing.assert_allclose(total.item(), reference.item(), rtol=1e-6)
    for p, q in zip(ours[:3], theirs[:3]):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-6, atol=1e-7)
    assert ours[3].grad is None


def test_clip_grad_norm_clips_to_the_max_norm():
    params = grads_for(leafgrad, scale=10.0)
    before = clip_grad_norm_(params, 1.0).item()
    after = math.sqrt(sum(float((p.grad.numpy().astype(np.float64) ** 2).sum())
                          for p in params[:3]))
    assert before > 10 and after == pytest.approx(1.0, rel=1e-5)
    single = nn.Parameter(leafgrad.zeros(2))
    single.grad = leafgrad.tensor([3.0, 4.0])
    assert clip_grad_norm_(single, 1.0).item() == pytest.approx(5.0)
    np.testing.assert_allclose(single.grad.numpy(), [0.6, 0.8], rtol=1e-5)


# leafgrad's Mul lets NumPy warn for inf * 0 (torch gives nan silently): a core issue, reported
@pytest.mark.filterwarnings("ignore:invalid value encountered in multiply:RuntimeWarning")
def test_clip_grad_norm_nonfinite(torch):
    def make(lib):
        p = lib.nn.Parameter(lib.zeros(2))
        p.grad = lib.tensor([float("inf"), 1.0])
        return p

    with pytest.raises(RuntimeError, match="The total norm of order 2.0 for gradients from "
                                           "`parameters` is non-finite"):
        clip_grad_norm_([make(leafgrad)], 1.0, error_if_nonfinite=True)
    ours, theirs = make(leafgrad), make(torch)
    total = clip_grad_norm_([ours], 1.0)
    reference = torch.nn.utils.clip_grad_norm_([theirs], 1.0)
    assert math.isinf(total.item()) and math.isinf(reference.item())
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


def test_clip_grad_norm_of_nothing():
    with pytest.warns(UserWarning, match="`parameters` is an empty generator"):
        total = clip_grad_norm_((p for p in []), 1.0)
    assert total.item() == 0.0
    assert clip_grad_norm_([nn.Parameter(leafgrad.ones(2))], 1.0).item() == 0.0


def test_clip_grad_norm_runs_outside_autograd():
    p = nn.Parameter(leafgrad.ones(3))
    with pytest.warns(UserWarning, match="create_graph=True"):
        (p * p).sum().backward(create_graph=True)  # a gradient with a graph of its own
    assert p.grad.requires_grad
    total = clip_grad_norm_([p], 1.0)
    assert not total.requires_grad


@pytest.mark.parametrize("foreach", [None, True, False])
def test_clip_grad_value_matches_torch(torch, foreach):
    ours, theirs = grads_for(leafgrad), grads_for(torch)
    clip_grad_value_(ours, 0.3, foreach=foreach)
    torch.nn.utils.clip_grad_value_(theirs, 0.3, foreach=foreach)
    for p, q in zip(ours[:3], theirs[:3]):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
    assert max(np.abs(p.grad.numpy()).max() for p in ours[:3]) == pytest.approx(0.3)
    single = nn.Parameter(leafgrad.zeros(1))
    single.grad = leafgrad.tensor([-5.0])
    clip_grad_value_(single, 1)
    assert single.grad.item() == -1.0


@pytest.mark.parametrize("name", ["clip_grad_norm_", "clip_grad_value_", "get_total_norm",
                                  "clip_grads_with_norm_"])
def test_clipping_signatures_match_torch(torch, name):
    import inspect

    def parameters(function):
        return [(p.name, p.kind, p.default)
                for p in inspect.signature(function).parameters.values()]
    assert parameters(getattr(leafgrad.nn.utils, name)) == \
        parameters(getattr(torch.nn.utils, name))


def test_parameters_to_vector_and_back():
    net = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    params = list(net.parameters())
    vec = parameters_to_vector(params)
    assert vec.shape == (11,) and vec.requires_grad
    expected = np.concatenate([p.detach().numpy().ravel() for p in params])
    np.testing.assert_array_equal(vec.detach().numpy(), expected)
    vec.sum().backward()  # differentiable: each parameter gets ones
    assert all((p.grad.numpy() == 1).all() for p in params)
    new = leafgrad.arange(11, dtype=leafgrad.float32)
    vector_to_parameters(new, params)
    assert net[0].weight.detach().numpy().tolist() == [[0, 1, 2], [3, 4, 5]]
    assert net[1].bias.item() == 10 and net[0].weight.shape == (2, 3)
    assert all(p is q for p, q in zip(net.parameters(), params))
    with pytest.raises(TypeError, match="expected torch.Tensor, but got: list"):
        vector_to_parameters([1.0], params)
