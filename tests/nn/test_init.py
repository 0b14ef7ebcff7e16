"""nn.init: fan computations and gains as torch's, the statistics and bounds of each random
initialiser, in-place semantics on parameters, generators, and torch's errors."""
from __future__ import annotations

import math

import numpy as np
import pytest

import leafgrad
from leafgrad import nn
from leafgrad.nn import init


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def param(*shape) -> nn.Parameter:
    return nn.Parameter(leafgrad.empty(*shape))


def sample(tensor) -> np.ndarray:
    return tensor.detach().numpy().astype(np.float64)


SHAPES = [(3, 5), (8, 4, 3), (16, 6, 5, 5), (2, 3, 2, 2, 2), (7, 1)]


@pytest.mark.parametrize("shape", SHAPES)
def test_fans_match_torch(torch, shape):
    ours = init._calculate_fan_in_and_fan_out(leafgrad.empty(*shape))
    theirs = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    assert ours == theirs
    for mode in ("fan_in", "fan_out", "FAN_OUT"):
        assert init._calculate_correct_fan(leafgrad.empty(*shape), mode) == \
            torch.nn.init._calculate_correct_fan(torch.empty(*shape), mode)


def test_gains_match_torch(torch):
    cases = [("linear", None), ("conv2d", None), ("conv_transpose3d", None), ("sigmoid", None),
             ("tanh", None), ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
             ("leaky_relu", 3), ("leaky_relu", math.sqrt(5)), ("selu", None)]
    for nonlinearity, param_ in cases:
        assert init.calculate_gain(nonlinearity, param_) == \
            torch.nn.init.calculate_gain(nonlinearity, param_)


def test_errors_match_torch(torch):
    calls = [lambda lib: lib.nn.init.calculate_gain("leaky_relu", True),
             lambda lib: lib.nn.init.calculate_gain("softsign"),
             lambda lib: lib.nn.init.xavier_uniform_(lib.empty(3)),
             lambda lib: lib.nn.init.kaiming_normal_(lib.empty(3, 2), mode="fan_middle"),
             lambda lib: lib.nn.init.eye_(lib.empty(2, 2, 2)),
             lambda lib: lib.nn.init.orthogonal_(lib.empty(4))]
    for call in calls:
        with pytest.raises(ValueError) as ours:
            call(leafgrad)
        with pytest.raises(ValueError) as theirs:
            call(torch)
        assert str(ours.value) == str(theirs.value)


def test_initialisers_work_in_place_on_parameters():
    w = param(30, 20)
    version = w._version
    assert init.kaiming_uniform_(w) is w
    assert w.is_leaf and w.requires_grad and w.grad_fn is None and w._version > version
    view = w[0]
    init.zeros_(view)  # a view writes through to its parameter
    assert not w[0].any()
    assert init.constant_(w, 0.5) is w and (sample(w) == 0.5).all()
    assert (sample(init.ones_(w)) == 1).all() and not init.zeros_(w).any()


def test_uniform_and_normal_statistics():
    w = param(200, 300)
    values = sample(init.uniform_(w, -0.3, 0.5))
    assert values.min() >= -0.3 and values.max() < 0.5
    assert abs(values.mean() - 0.1) < 0.005 and abs(values.std() - 0.8 / math.sqrt(12)) < 0.005
    values = sample(init.normal_(w, 2.0, 0.5))
    assert abs(values.mean() - 2.0) < 0.005 and abs(values.std() - 0.5) < 0.005
    with pytest.raises(RuntimeError, match="from=1 > to=0"):
        init.uniform_(w, 1, 0)
    with pytest.raises(RuntimeError, match="normal expects std >= 0.0, but found std -1"):
        init.normal_(w, 0, -1)
    with pytest.raises(RuntimeError, match="floating-point tensor"):
        init.uniform_(leafgrad.zeros(3, dtype=leafgrad.int64))


@pytest.mark.parametrize("shape", [(300, 200), (64, 32, 3, 3)])
def test_xavier_and_kaiming_standard_deviations(shape):
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(leafgrad.empty(*shape))
    w = param(*shape)
    xavier_std = 1.5 * math.sqrt(2.0 / (fan_in + fan_out))
    values = sample(init.xavier_uniform_(w, gain=1.5))
    assert np.abs(values).max() <= math.sqrt(3) * xavier_std
    assert abs(values.std() / xavier_std - 1) < 0.03
    assert abs(sample(init.xavier_normal_(w, gain=1.5)).std() / xavier_std - 1) < 0.03
    relu_std = math.sqrt(2.0) / math.sqrt(fan_out)
    values = sample(init.kaiming_uniform_(w, mode="fan_out", nonlinearity="relu"))
    assert np.abs(values).max() <= math.sqrt(3) * relu_std
    assert abs(values.std() / relu_std - 1) < 0.03
    leaky_std = math.sqrt(2.0 / (1 + 0.1 ** 2)) / math.sqrt(fan_in)
    values = sample(init.kaiming_normal_(w, a=0.1))
    assert abs(values.std() / leaky_std - 1) < 0.03 and abs(values.mean()) < 0.03 * leaky_std


def test_zero_element_tensors_warn():
    empty = param(0, 3)
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        assert init.kaiming_uniform_(empty) is empty
    with pytest.warns(UserWarning, match="no-op"):
        init.kaiming_normal_(empty)


def truncated_moments(mean, std, a, b) -> tuple:
    """Mean and standard deviation of N(mean, std**2) truncated to [a, b]."""
    alpha, beta = (a - mean) / std, (b - mean) / std
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: (1 + math.erf(z / math.sqrt(2))) / 2  # noqa: E731
    mass = cdf(beta) - cdf(alpha)
    shift = (pdf(alpha) - pdf(beta)) / mass
    variance = 1 + (alpha * pdf(alpha) - beta * pdf(beta)) / mass - shift ** 2
    return mean + std * shift, std * math.sqrt(variance)


@pytest.mark.parametrize("mean,std,a,b", [(0.0, 1.0, -2.0, 2.0), (0.5, 0.2, 0.0, 1.0),
                                          (0.0, 1.0, 1.5, 3.0), (0.0, 1.0, -0.1, 0.2)])
def test_trunc_normal_distribution(mean, std, a, b):
    values = sample(init.trunc_normal_(param(400, 250), mean, std, a, b))
    expected_mean, expected_std = truncated_moments(mean, std, a, b)
    assert values.min() >= a and values.max() <= b
    assert abs(values.mean() - expected_mean) < 0.01 * std
    assert abs(values.std() / expected_std - 1) < 0.01


def test_trunc_normal_warns_far_from_the_mean():
    with pytest.warns(UserWarning, match="mean is more than 2 std from \\[a, b\\]"):
        values = sample(init.trunc_normal_(param(50, 50), 0.0, 1.0, 3.0, 3.5))
    assert values.min() >= 3.0 and values.max() <= 3.5


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (5, 2, 3, 3), (3, 3)])
def test_orthogonal(shape):
    w = param(*shape)
    matrix = sample(init.orthogonal_(w, gain=2.0)).reshape(shape[0], -1) / 2.0
    rows, cols = matrix.shape
    product = matrix.T @ matrix if rows >= cols else matrix @ matrix.T
    np.testing.assert_allclose(product, np.eye(min(rows, cols)), atol=1e-5)


def test_eye():
    w = param(3, 4)
    np.testing.assert_array_equal(sample(init.eye_(w)), np.eye(3, 4))


def test_generator_makes_initialisation_reproducible():
    def draw(seed):
        generator = leafgrad.Generator().manual_seed(seed)
        w = param(5, 4)
        return np.stack([sample(initialise(w, generator=generator)) for initialise in (
            init.uniform_, init.normal_, init.xavier_uniform_, init.kaiming_normal_,
            init.trunc_normal_, init.orthogonal_)])

    first, again, other = draw(3), draw(3), draw(4)
    np.testing.assert_array_equal(first, again)
    assert not np.isclose(first, other).any()
    leafgrad.manual_seed(11)
    a = sample(nn.Linear(4, 3).weight)
    leafgrad.manual_seed(11)
    np.testing.assert_array_equal(a, sample(nn.Linear(4, 3).weight))
