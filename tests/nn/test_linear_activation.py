"""Linear, Bilinear, Identity, Flatten/Unflatten and the activation modules: outputs and
gradients against torch with copied weights, float64 gradcheck/gradgradcheck of each layer's
forward, default initialisation, errors and reprs."""
from __future__ import annotations

import math

import numpy as np
import pytest

import leafgrad
from leafgrad import nn
from leafgrad.autograd import gradcheck, gradgradcheck
from leafgrad.nn import functional as F


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def rng():
    return np.random.default_rng(1234)


def copy_weights(torch_module, module) -> None:
    module.load_state_dict({k: leafgrad.tensor(v.detach().numpy())
                            for k, v in torch_module.state_dict().items()})


def assert_module_matches(torch, ours, theirs, *inputs, rtol=1e-5, atol=1e-6):
    """Forward and backward through both modules (same weights); compare output, input grads
    and parameter grads."""
    ours_in = [leafgrad.tensor(x, requires_grad=True) for x in inputs]
    theirs_in = [torch.tensor(x, requires_grad=True) for x in inputs]
    out, ref = ours(*ours_in), theirs(*theirs_in)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=rtol, atol=atol)
    weights = rng().standard_normal(out.shape).astype(out.detach().numpy().dtype)
    (out * leafgrad.tensor(weights)).sum().backward()
    (ref * torch.tensor(weights)).sum().backward()
    for a, b in zip(ours_in, theirs_in):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=atol)
    for (name, p), (torch_name, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == torch_name
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=rtol, atol=atol)


# -- Linear -------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (4,), (0, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(torch, shape, bias):
    theirs = torch.nn.Linear(4, 3, bias=bias)
    ours = nn.Linear(4, 3, bias=bias)
    copy_weights(theirs, ours)
    assert_module_matches(torch, ours, theirs, rng().standard_normal(shape).astype(np.float32))


def test_linear_gradcheck_and_gradgradcheck_float64():
    generator = leafgrad.Generator().manual_seed(0)
    x = leafgrad.randn(3, 2, 4, dtype=leafgrad.float64, generator=generator, requires_grad=True)
    layer = nn.Linear(4, 3).double()
    inputs = (x, layer.weight, layer.bias)
    assert gradcheck(F.linear, inputs)
    assert gradgradcheck(F.linear, inputs)
    assert gradcheck(lambda v: layer(v), (x,))
    vector = leafgrad.randn(4, dtype=leafgrad.float64, requires_grad=True)
    assert gradcheck(F.linear, (vector, layer.weight))


def test_linear_with_no_features_gives_empty_gradients():
    for in_features, out_features in ((0, 3), (4, 0)):
        x = leafgrad.ones(2, in_features, requires_grad=True)
        weight = leafgrad.ones(out_features, in_features, requires_grad=True)
        bias = leafgrad.ones(out_features, requires_grad=True)
        out = F.linear(x, weight, bias)
        np.testing.assert_array_equal(out.detach().numpy(), np.ones((2, out_features)))
        (out * 2).sum().backward()
        assert x.grad.shape == (2, in_features) and weight.grad.shape == weight.shape
        np.testing.assert_array_equal(bias.grad.numpy(), np.full(out_features, 4.0))


def test_linear_function_forms_match_torch(torch):
    x, w = rng().standard_normal((2, 3)), rng().standard_normal(3)
    bias2d = rng().standard_normal((2, 4))
    w2 = rng().standard_normal((4, 3))
    cases = [((x, w), {}), ((x[0], w, np.array(0.5)), {}), ((x, w2, bias2d), {})]
    for args, _ in cases:
        ours = F.linear(*[leafgrad.tensor(a) for a in args])
        theirs = torch.nn.functional.linear(*[torch.tensor(a) for a in args])
        assert tuple(ours.shape) == tuple(theirs.shape)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


def test_linear_errors(torch):
    for args in ((np.ones((2, 3)), np.ones((4, 5))), (np.ones((2, 3, 3)), np.ones((4, 5))),
                 (np.ones(3), np.ones((4, 5)))):
        with pytest.raises(RuntimeError) as ours:
            F.linear(*[leafgrad.tensor(a, dtype=leafgrad.float32) for a in args])
        with pytest.raises(RuntimeError) as theirs:
            torch.nn.functional.linear(*[torch.tensor(a, dtype=torch.float32) for a in args])
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(RuntimeError, match="at least 1D, but they are 0D and 2D"):
        F.linear(leafgrad.tensor(1.0), leafgrad.ones(4, 3))
    with pytest.raises(RuntimeError, match="same dtype"):
        F.linear(leafgrad.ones(2, 3, dtype=leafgrad.float64), leafgrad.ones(4, 3))
    # a bias that does not fit: torch's messages from addmm, or from adding it in place
    for input_shape, bias_shape in (((2, 3), (5,)), ((5, 2, 3), (5,)), ((5, 2, 3), (2, 5)),
                                    ((3,), (2, 4)), ((5, 2, 3), (3, 2, 4))):
        with pytest.raises(RuntimeError) as ours:
            F.linear(leafgrad.ones(input_shape), leafgrad.ones(4, 3), leafgrad.ones(bias_shape))
        with pytest.raises(RuntimeError) as theirs:
            torch.nn.functional.linear(torch.ones(input_shape), torch.ones(4, 3),
                                       torch.ones(bias_shape))
        assert str(ours.value) == str(theirs.value)


def graph(node) -> str:
    """A backward graph as text: ``Name(child, ...)``, leaves as ``A``."""
    if node is None:
        return "None"
    name = node.name().replace("torch::autograd::", "")
    children = [graph(child) for child, _ in node.next_functions]
    return ("A" if name == "AccumulateGrad" else name) + \
        (f"({', '.join(children)})" if children else "")


@pytest.mark.parametrize("input_shape, bias_shape, contiguous", [
    ((4, 2), (3,), True), ((4, 2), None, True), ((4, 2), (), True), ((4, 2), (4, 1), True),
    ((2,), (3,), True), ((2,), None, True), ((2,), (), True), ((5, 4, 2), (3,), True),
    ((5, 4, 2), (1, 3), True), ((5, 4, 2), None, True), ((5, 4, 2), (), True),
    ((5, 4, 2), (4, 3), True), ((3, 5, 4, 2), (3,), True), ((5, 4, 2), (3,), False),
    ((4, 2), (3,), False), ((0, 2), (3,), True), ((5, 0, 2), (3,), True),
])
def test_linear_records_torchs_nodes(torch, input_shape, bias_shape, contiguous):
    """addmm(bias, input, weight.t()) for a matrix input (and, flattened, for a contiguous input
    with a row bias), else matmul's nodes and an add; the values and gradients as torch's."""
    results = []
    for lib in (leafgrad, torch):
        rng = np.random.default_rng(0)
        shape = input_shape if contiguous else input_shape[::-1]
        x = lib.tensor(rng.standard_normal(shape), requires_grad=True)
        weight = lib.tensor(rng.standard_normal((3, 2)), requires_grad=True)
        bias = None if bias_shape is None else \
            lib.tensor(rng.standard_normal(bias_shape), requires_grad=True)
        out = F.linear if lib is leafgrad else torch.nn.functional.linear
        out = out(x if contiguous else x.transpose(0, -1), weight, bias)
        (out * lib.tensor(rng.standard_normal(tuple(out.shape)))).sum().backward()
        grads = [t.grad.numpy() for t in (x, weight, bias) if t is not None]
        results.append((graph(out.grad_fn), out.detach().numpy(), grads))
    (ours, ours_out, ours_grads), (theirs, theirs_out, theirs_grads) = results
    if input_shape == (2,) and bias_shape in (None, ()):
        # torch's matmul squeezes the row in place there (SqueezeBackward4)
        ours = ours.replace("SqueezeBackward1", "SqueezeBackward4")
    assert ours == theirs
    np.testing.assert_allclose(ours_out, theirs_out, rtol=1e-12)
    for a, b in zip(ours_grads, theirs_grads):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_linear_default_init_follows_torch():
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)  # kaiming_uniform_(a=sqrt(5)) gives U(-1/sqrt(fan_in), ...)
    weight, bias = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    assert np.abs(weight).max() <= bound and np.abs(bias).max() <= bound
    assert abs(weight.std() - bound / math.sqrt(3)) < 0.02 * bound
    assert abs(weight.mean()) < 0.01 * bound
    assert np.abs(bias).max() > 0.9 * bound  # spread over the whole range
    assert layer.weight.dtype == leafgrad.float32
    assert nn.Linear(2, 2, dtype=leafgrad.float64).weight.dtype == leafgrad.float64
    assert nn.Linear(2, 3, bias=False).bias is None


def test_linear_and_identity_repr(torch):
    assert repr(nn.Linear(4, 3, bias=False)) == repr(torch.nn.Linear(4, 3, bias=False))
    assert repr(nn.Identity(54, unused=1)) == "Identity()"
    x = leafgrad.ones(2)
    assert nn.Identity(3)(x) is x


# -- Bilinear -----------------------------------------------------------------------------------
@pytest.mark.parametrize("batch", [(5,), (2, 3), ()])
def test_bilinear_matches_torch(torch, batch):
    theirs = torch.nn.Bilinear(3, 4, 2)
    ours = nn.Bilinear(3, 4, 2)
    copy_weights(theirs, ours)
    generator = rng()
    assert_module_matches(torch, ours, theirs,
                          generator.standard_normal(batch + (3,)).astype(np.float32),
                          generator.standard_normal(batch + (4,)).astype(np.float32))
    assert repr(ours) == repr(theirs)


def test_bilinear_gradcheck_and_init():
    layer = nn.Bilinear(2, 3, 2).double()
    x1 = leafgrad.randn(4, 2, dtype=leafgrad.float64, requires_grad=True)
    x2 = leafgrad.randn(4, 3, dtype=leafgrad.float64, requires_grad=True)
    assert gradcheck(F.bilinear, (x1, x2, layer.weight, layer.bias))
    assert gradgradcheck(F.bilinear, (x1, x2, layer.weight, layer.bias))
    big = nn.Bilinear(100, 3, 50)
    assert np.abs(big.weight.detach().numpy()).max() <= 0.1
    assert np.abs(big.weight.detach().numpy()).max() > 0.09
    with pytest.raises(ValueError, match="in1_features must be > 0"):
        nn.Bilinear(0, 2, 2)


def test_bilinear_errors_match_torch(torch):
    cases = [((2, 3), (3, 4), (5, 3, 4), None), ((2, 3), (2, 4), (5, 3, 5), None),
             ((2, 3), (2, 4), (5, 3, 4), (6,)), ((2, 3), (2, 4), (5, 4, 4), None),
             ((2, 2, 3), (2, 4), (5, 3, 4), None)]
    for shapes in cases:
        with pytest.raises(RuntimeError) as ours:
            F.bilinear(*[None if s is None else leafgrad.ones(s) for s in shapes])
        with pytest.raises(RuntimeError) as theirs:
            torch.nn.functional.bilinear(*[None if s is None else torch.ones(s) for s in shapes])
        assert str(ours.value) == str(theirs.value)


# -- activations --------------------------------------------------------------------------------
ACTIVATIONS = [
    ("ReLU", {}), ("ReLU", {"inplace": True}), ("LeakyReLU", {}),
    ("LeakyReLU", {"negative_slope": 0.2, "inplace": True}), ("ELU", {}),
    ("ELU", {"alpha": 0.5, "inplace": True}), ("GELU", {}), ("GELU", {"approximate": "tanh"}),
    ("SiLU", {}), ("SiLU", {"inplace": True}), ("Sigmoid", {}), ("Tanh", {}),
    ("Softmax", {"dim": 1}), ("Softmax", {"dim": -1}), ("LogSoftmax", {"dim": 0}),
    ("Softplus", {}), ("Softplus", {"beta": 2.0, "threshold": 1.0}), ("Hardtanh", {}),
    ("Hardtanh", {"min_val": -0.5, "max_val": 2.0, "inplace": True}), ("ReLU6", {}),
    ("ReLU6", {"inplace": True}), ("PReLU", {}), ("PReLU", {"num_parameters": 3, "init": 0.1}),
]


def activation_input() -> np.ndarray:
    x = rng().standard_normal((4, 3, 2)).astype(np.float32) * 4
    x[0, 0, 0] = 0.0  # kinks: the subgradient torch picks
    x[0, 1, 0] = 6.0
    return x


@pytest.mark.parametrize("name,kwargs", ACTIVATIONS, ids=lambda v: str(v))
def test_activation_matches_torch(torch, name, kwargs):
    ours, theirs = getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    assert repr(ours) == repr(theirs)
    copy_weights(theirs, ours)
    x = activation_input()
    if kwargs.get("inplace"):
        # in place on a non-leaf: the same tensor comes back, the graph records the change
        ours_leaf, theirs_leaf = leafgrad.tensor(x, requires_grad=True), \
            torch.tensor(x, requires_grad=True)
        ours_in, theirs_in = ours_leaf * 1, theirs_leaf * 1
        assert ours(ours_in) is ours_in
        theirs(theirs_in)
        np.testing.assert_allclose(ours_in.detach().numpy(), theirs_in.detach().numpy(),
                                   rtol=1e-5, atol=1e-6)
        ours_in.sum().backward()
        theirs_in.sum().backward()
        np.testing.assert_allclose(ours_leaf.grad.numpy(), theirs_leaf.grad.numpy(), rtol=1e-5,
                                   atol=1e-6)
    else:
        assert_module_matches(torch, ours, theirs, x)


@pytest.mark.parametrize("name,kwargs", [a for a in ACTIVATIONS if not a[1].get("inplace")],
                         ids=lambda v: str(v))
def test_activation_gradcheck_float64(name, kwargs):
    module = getattr(nn, name)(**kwargs).double()
    x = leafgrad.tensor(activation_input().astype(np.float64) + 0.05, requires_grad=True)
    parameters = tuple(module.parameters())
    assert gradcheck(lambda value, *params: module(value), (x,) + parameters)


def test_inplace_activation_on_a_leaf_that_requires_grad_raises():
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        nn.ReLU(inplace=True)(leafgrad.ones(2, requires_grad=True))


FUNCTIONAL_IN_PLACE = [  # (call, how torch's F spells it too)
    lambda F, x: F.relu(x, inplace=True), lambda F, x: F.relu_(x),
    lambda F, x: F.relu6(x, inplace=True), lambda F, x: F.leaky_relu(x, 0.2, inplace=True),
    lambda F, x: F.leaky_relu_(x, 0.2), lambda F, x: F.elu(x, 0.5, True),
    lambda F, x: F.elu_(x, alpha=0.5), lambda F, x: F.selu(x, inplace=True),
    lambda F, x: F.selu_(x), lambda F, x: F.silu(x, inplace=True),
    lambda F, x: F.mish(x, inplace=True), lambda F, x: F.hardtanh(x, -0.5, 2.0, True),
    lambda F, x: F.hardtanh_(x, min_val=-0.5, max_val=2.0),
]


@pytest.mark.parametrize("call", FUNCTIONAL_IN_PLACE, ids=range(len(FUNCTIONAL_IN_PLACE)))
def test_functional_activations_in_place_match_torch(torch, call):
    x = activation_input()
    results = []
    for lib in (leafgrad, torch):
        leaf = lib.tensor(x, requires_grad=True)
        target = leaf * 1
        assert call(lib.nn.functional, target) is target  # the input itself, overwritten
        assert target._version == 1
        (target * lib.tensor(x)).sum().backward()
        plain = lib.tensor(x)  # no graph: a plain write
        assert call(lib.nn.functional, plain) is plain
        results.append((target.detach().numpy(), leaf.grad.numpy(), plain.numpy()))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        call(F, leafgrad.tensor(x, requires_grad=True))


def test_functional_activations_out_of_place_leave_the_input_alone():
    x = leafgrad.tensor([-1.0, 2.0])
    for out in (F.relu(x), F.relu(x, False), F.elu(x, 1.0, inplace=False), F.silu(x)):
        assert out is not x
    assert x.tolist() == [-1.0, 2.0] and x._version == 0


def test_prelu_per_channel_on_images_matches_torch(torch):
    theirs = torch.nn.PReLU(3, init=0.3)
    ours = nn.PReLU(3, init=0.3)
    assert ours.weight.detach().numpy().tolist() == pytest.approx([0.3] * 3)
    x = rng().standard_normal((2, 3, 4, 4)).astype(np.float32)
    assert_module_matches(torch, ours, theirs, x)
    for shape in ((5,), ()):
        theirs, ours = torch.nn.PReLU(), nn.PReLU()
        assert_module_matches(torch, ours, theirs, rng().standard_normal(shape).astype(np.float32))


def test_prelu_gradgradcheck_and_errors(torch):
    x = leafgrad.tensor(rng().standard_normal((2, 3, 2)) + 0.05, requires_grad=True)
    weight = leafgrad.tensor([0.1, 0.2, 0.3], dtype=leafgrad.float64, requires_grad=True)
    assert gradgradcheck(F.prelu, (x, weight))
    cases = [((2, 3), (4,), None), ((3,), (3,), None), ((2, 3), (1, 3), None),
             ((2, 3), (3,), "float64")]
    for input_shape, weight_shape, dtype in cases:
        with pytest.raises(RuntimeError) as ours:
            F.prelu(leafgrad.ones(input_shape, dtype=getattr(leafgrad, dtype or "float32")),
                    leafgrad.ones(weight_shape))
        with pytest.raises(RuntimeError) as theirs:
            torch.nn.functional.prelu(
                torch.ones(input_shape, dtype=getattr(torch, dtype or "float32")),
                torch.ones(weight_shape))
        assert str(ours.value) == str(theirs.value).replace("Double", "torch.float64").replace(
            "Float", "torch.float32")


def test_softmax_without_dim_warns_and_picks_torchs_dim(torch):
    for shape in ((4,), (2, 3), (2, 3, 4), (2, 3, 4, 5)):
        x = rng().standard_normal(shape).astype(np.float32)
        for name in ("Softmax", "LogSoftmax"):
            with pytest.warns(UserWarning, match="Implicit dimension choice"):
                ours = getattr(nn, name)()(leafgrad.tensor(x))
            with pytest.warns(UserWarning):
                theirs = getattr(torch.nn, name)()(torch.tensor(x))
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)


def test_hardtanh_arguments():
    with pytest.raises(AssertionError, match=r"max_val \(1\) must be greater than min_val "
                                             r"\(2\)"):
        nn.Hardtanh(2, 1)
    with pytest.warns(FutureWarning, match="`min_value` is deprecated"):
        module = nn.Hardtanh(min_value=-2.0)
    assert module.min_val == -2.0


# -- Flatten / Unflatten ------------------------------------------------------------------------
def test_flatten_unflatten_match_torch(torch):
    x = rng().standard_normal((2, 3, 4, 5)).astype(np.float32)
    for ours, theirs in ((nn.Flatten(), torch.nn.Flatten()),
                         (nn.Flatten(0, 2), torch.nn.Flatten(0, 2)),
                         (nn.Unflatten(1, (3, 1)), torch.nn.Unflatten(1, (3, 1))),
                         (nn.Unflatten(-1, [5, 1]), torch.nn.Unflatten(-1, [5, 1]))):
        assert repr(ours) == repr(theirs)
        assert_module_matches(torch, ours, theirs, x)


def test_unflatten_rejects_bad_sizes():
    with pytest.raises(TypeError, match="unflattened_size must be a tuple of ints, but found "
                                        "type int"):
        nn.Unflatten(1, 3)
    with pytest.raises(TypeError, match="found element of type float at pos 1"):
        nn.Unflatten(1, (3, 1.0))
