"""The layer modules (convolutions, pooling, normalisation, dropout, embedding, upsampling):
outputs, input and parameter gradients and buffers against torch with copied weights, over a
grid of constructor options, in training and evaluation; float64 gradcheck of each layer's
forward; default initialisation; reprs, state_dict keys and errors against torch."""
from __future__ import annotations

import math
import warnings
from functools import partial

import numpy as np
import pytest

import leafgrad
from leafgrad import nn
from leafgrad.autograd import gradcheck, gradgradcheck


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def rng(seed: int = 1234):
    return np.random.default_rng(seed)


def distinct(shape, seed: int = 0) -> np.ndarray:
    """Values 0.1 apart in random order: no ties for max pooling, even under gradcheck's
    perturbations."""
    values = rng(seed).permutation(math.prod(shape)) * 0.1 - 0.05 * math.prod(shape)
    return values.reshape(shape)


def copy_state(theirs, ours) -> None:
    """Load torch's parameters and buffers into our module (values as NumPy arrays)."""
    ours.load_state_dict({k: leafgrad.tensor(v.detach().numpy())
                          for k, v in theirs.state_dict().items()})


def pair(torch, name: str, *args, dtype: str = "float64", **kwargs):
    """The same layer in torch and leafgrad, with torch's weights copied into ours."""
    theirs = getattr(torch.nn, name)(*args, **kwargs).to(getattr(torch, dtype))
    ours = getattr(nn, name)(*args, **kwargs).to(getattr(leafgrad, dtype))
    copy_state(theirs, ours)
    return ours, theirs


def assert_close(ours, theirs, rtol: float, atol: float) -> None:
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=rtol,
                               atol=atol)


def assert_step_matches(torch, ours, theirs, *inputs, rtol=1e-10, atol=1e-12, seed=0, **kwargs):
    """One forward and backward through both modules: compare the outputs, the gradients of
    the floating inputs and of every parameter, and the buffers afterwards."""
    ours_in = [leafgrad.tensor(x, requires_grad=x.dtype.kind == "f") for x in inputs]
    theirs_in = [torch.tensor(x, requires_grad=x.dtype.kind == "f") for x in inputs]
    out, ref = ours(*ours_in, **kwargs), theirs(*theirs_in, **kwargs)
    outs, refs = (out, ref) if isinstance(ref, tuple) else ((out,), (ref,))
    assert len(outs) == len(refs)
    for o, r in zip(outs, refs):
        assert_close(o, r, rtol, atol)
    float_pairs = [(o, r) for o, r in zip(outs, refs) if r.requires_grad]
    assert [o.requires_grad for o, _ in float_pairs] == [True] * len(float_pairs)
    if float_pairs:
        generator = rng(seed)
        total_ours = total_theirs = 0
        for o, r in float_pairs:
            weights = generator.standard_normal(tuple(r.shape))
            total_ours = total_ours + (o * leafgrad.tensor(weights, dtype=o.dtype)).sum()
            total_theirs = total_theirs + (r * torch.tensor(weights, dtype=r.dtype)).sum()
        total_ours.backward()
        total_theirs.backward()
    for a, b in zip(ours_in, theirs_in):
        if b.grad is None:
            assert a.grad is None
        else:
            assert_close(a.grad, b.grad, rtol, atol)
    ours_params, theirs_params = dict(ours.named_parameters()), dict(theirs.named_parameters())
    assert list(ours_params) == list(theirs_params)
    for name, q in theirs_params.items():
        p = ours_params[name]
        if q.grad is None:
            assert p.grad is None, name
        else:
            assert_close(p.grad, q.grad, rtol, atol)
    ours_buffers, theirs_buffers = dict(ours.named_buffers()), dict(theirs.named_buffers())
    assert list(ours_buffers) == list(theirs_buffers)
    for name, b in theirs_buffers.items():
        assert_close(ours_buffers[name], b, rtol, atol)
    ours.zero_grad()
    theirs.zero_grad()
    return out


def assert_module_gradcheck(module, *inputs, gradgrad: bool = False, **kwargs) -> None:
    """float64 gradcheck of ``module``'s forward w.r.t. its inputs and all its parameters (the
    check perturbs the parameters in place, which the module reads)."""
    module.double()
    params = tuple(p for p in module.parameters() if p.requires_grad)
    count = len(inputs)

    def forward(*args):
        return module(*args[:count], **kwargs)

    assert gradcheck(forward, (*inputs, *params))
    if gradgrad:
        assert gradgradcheck(forward, (*inputs, *params))


def leaf(shape_or_array, seed: int = 0):
    array = (rng(seed).standard_normal(shape_or_array) if isinstance(shape_or_array, tuple)
             else shape_or_array)
    return leafgrad.tensor(array, dtype=leafgrad.float64, requires_grad=True)


def expect_same_error(torch, ours_call, theirs_call, exact: bool = True):
    """Both calls raise the same exception type (and, with ``exact``, the same message)."""
    with pytest.raises(Exception) as theirs:
        theirs_call()
    with pytest.raises(type(theirs.value)) as ours:
        ours_call()
    if exact:
        assert str(ours.value) == str(theirs.value)
    return ours.value


# -- convolutions -------------------------------------------------------------------------------
CONV2D = [
    dict(kernel_size=3),
    dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), bias=False),
    dict(kernel_size=3, padding="same", dilation=2),
    dict(kernel_size=(2, 3), padding="same"),
    dict(kernel_size=3, stride=2, padding="valid", groups=2),
    dict(kernel_size=3, padding=1, groups=4),
    dict(kernel_size=(3, 1), stride=(1, 2), padding=2, dilation=(2, 1), groups=2),
    dict(kernel_size=3, padding=1, padding_mode="reflect"),
    dict(kernel_size=3, padding=(2, 1), padding_mode="replicate", bias=False),
    dict(kernel_size=3, padding=1, stride=2, padding_mode="circular"),
    dict(kernel_size=(2, 3), padding="same", padding_mode="circular"),
]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
@pytest.mark.parametrize("kwargs", CONV2D, ids=str)
@pytest.mark.parametrize("shape", [(2, 4, 7, 8), (4, 6, 5)], ids=str)
def test_conv2d_matches_torch(torch, kwargs, shape):
    out_channels = 6 if kwargs.get("groups", 1) != 4 else 8
    ours, theirs = pair(torch, "Conv2d", 4, out_channels, **kwargs)
    assert repr(ours) == repr(theirs)
    assert_step_matches(torch, ours, theirs, rng().standard_normal(shape))


def test_conv2d_float32_matches_torch(torch):
    ours, theirs = pair(torch, "Conv2d", 3, 6, 5, dtype="float32")
    x = rng().standard_normal((4, 3, 12, 12)).astype(np.float32)
    assert_step_matches(torch, ours, theirs, x,
                        rtol=1e-4, atol=1e-5)
    assert ours.weight.dtype == leafgrad.float32


CONV1D = [
    dict(kernel_size=3),
    dict(kernel_size=2, stride=2, padding=1, bias=False),
    dict(kernel_size=3, padding="same", dilation=3),
    dict(kernel_size=4, padding="same"),
    dict(kernel_size=3, padding="valid", groups=2, stride=3),
    dict(kernel_size=3, padding=2, padding_mode="reflect"),
    dict(kernel_size=3, padding=1, padding_mode="replicate"),
    dict(kernel_size=3, padding="same", padding_mode="circular"),
]


@pytest.mark.parametrize("kwargs", CONV1D, ids=str)
@pytest.mark.parametrize("shape", [(3, 4, 9), (4, 10)], ids=str)
def test_conv1d_matches_torch(torch, kwargs, shape):
    ours, theirs = pair(torch, "Conv1d", 4, 6, **kwargs)
    assert repr(ours) == repr(theirs)
    assert_step_matches(torch, ours, theirs, rng().standard_normal(shape))


CONV_TRANSPOSE2D = [
    dict(kernel_size=3),
    dict(kernel_size=3, stride=2, padding=1, output_padding=1),
    dict(kernel_size=(2, 3), stride=(2, 3), padding=(0, 1), output_padding=(1, 2), bias=False),
    dict(kernel_size=3, groups=2, dilation=2, stride=2, output_padding=1),
    dict(kernel_size=2, groups=4, padding=1),
]


@pytest.mark.parametrize("kwargs", CONV_TRANSPOSE2D, ids=str)
@pytest.mark.parametrize("shape", [(2, 4, 5, 4), (4, 3, 5)], ids=str)
def test_conv_transpose2d_matches_torch(torch, kwargs, shape):
    ours, theirs = pair(torch, "ConvTranspose2d", 4, 8, **kwargs)
    assert repr(ours) == repr(theirs)
    assert_step_matches(torch, ours, theirs, rng().standard_normal(shape))


@pytest.mark.parametrize("shape,output_size", [
    ((2, 4, 5, 5), [10, 10]), ((2, 4, 5, 5), [9, 10]), ((2, 4, 5, 5), (2, 8, 9, 9)),
    ((4, 5, 5), [4, 10, 9]), ((4, 5, 5), None)])
def test_conv_transpose2d_output_size_matches_torch(torch, shape, output_size):
    ours, theirs = pair(torch, "ConvTranspose2d", 4, 8, 3, stride=2, padding=1)
    out = assert_step_matches(torch, ours, theirs, rng().standard_normal(shape),
                              output_size=output_size)
    if output_size is not None:
        assert list(out.shape[-2:]) == list(output_size)[-2:]


def test_conv_transpose2d_output_size_errors_match_torch(torch):
    ours, theirs = pair(torch, "ConvTranspose2d", 4, 8, 3, stride=2, padding=1)
    x = rng().standard_normal((2, 4, 5, 5))
    for output_size in ([11, 10], [8, 9], [10], [1, 2, 3]):
        error = expect_same_error(torch, partial(ours, leafgrad.tensor(x), output_size),
                                  partial(theirs, torch.tensor(x), output_size))
        assert isinstance(error, ValueError)


def test_conv_gradcheck_float64():
    leafgrad.manual_seed(0)
    assert_module_gradcheck(nn.Conv2d(4, 2, 2, stride=(2, 1), padding=1, groups=2),
                            leaf((2, 4, 3, 3)), gradgrad=True)
    assert_module_gradcheck(nn.Conv2d(2, 2, (2, 3), padding="same", dilation=(1, 2)),
                            leaf((1, 2, 3, 4)))
    assert_module_gradcheck(nn.Conv2d(2, 2, 2, padding=1, padding_mode="reflect"),
                            leaf((2, 3, 3)))
    assert_module_gradcheck(nn.Conv1d(2, 4, 3, padding=1, padding_mode="circular", groups=2),
                            leaf((2, 2, 5)), gradgrad=True)
    assert_module_gradcheck(nn.ConvTranspose2d(2, 4, 2, stride=2, groups=2), leaf((1, 2, 2, 3)),
                            gradgrad=True)
    assert_module_gradcheck(nn.ConvTranspose2d(2, 1, 3, stride=2, padding=1),
                            leaf((1, 2, 2, 2)), output_size=[4, 4])


def test_conv_saves_only_its_input_and_weight():
    """As torch: the weight gradient builds the im2col columns again rather than keeping them
    (nine times the input for a 3x3 kernel) from the forward pass."""
    x = leaf((2, 3, 5, 5))
    conv = nn.Conv2d(3, 4, 3).double()
    node = conv(x).grad_fn
    saved = node.saved_tensors
    assert len(saved) == 2 and saved[0] is x and saved[1] is conv.weight
    assert not [k for k, v in vars(node).items()
                if isinstance(v, (np.ndarray, leafgrad.Tensor)) and not k.startswith("_")]


@pytest.mark.parametrize("size", [8, 30])  # outputs below and above the batch-last limit
def test_first_layer_conv_keeps_its_columns_until_backward(torch, size):
    """An input that needs no gradient (a first layer): the columns, which only the weight
    gradient needs, are kept from the forward pass instead of rebuilt, and dropped by backward;
    the gradients are torch's."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 3, size, size)).astype(np.float32)
    conv = nn.Conv2d(3, 5, 3, padding=1)
    reference = torch.nn.Conv2d(3, 5, 3, padding=1)
    with torch.no_grad():
        reference.weight.copy_(torch.tensor(conv.weight.detach().numpy()))
        reference.bias.copy_(torch.tensor(conv.bias.detach().numpy()))
    out = conv(leafgrad.tensor(x))
    node = out.grad_fn
    assert isinstance(node.columns, np.ndarray)
    grad = rng.standard_normal(out.shape).astype(np.float32)
    out.backward(leafgrad.tensor(grad))
    assert "columns" not in vars(node)
    reference(torch.tensor(x)).backward(torch.tensor(grad))
    np.testing.assert_allclose(conv.weight.grad.numpy(), reference.weight.grad.numpy(),
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(conv.bias.grad.numpy(), reference.bias.grad.numpy(), rtol=1e-4)
    x_needs_grad = leafgrad.tensor(x, requires_grad=True)
    assert "columns" not in vars(conv(x_needs_grad).grad_fn)


@pytest.mark.parametrize("make,fan_in", [
    (lambda: nn.Conv2d(16, 64, 5), 16 * 25),
    (lambda: nn.Conv2d(16, 64, (3, 5), groups=4), 4 * 15),
    (lambda: nn.Conv1d(30, 40, 7), 30 * 7),
    # torch's quirk: the transposed weight (in, out / groups, k) gives fan_in = out / groups * k
    (lambda: nn.ConvTranspose2d(8, 60, 3, groups=2), 30 * 9),
])
def test_conv_default_init_follows_torch(make, fan_in):
    layer = make()
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=sqrt(5)) is U(-1/sqrt(fan_in), ...)
    weight, bias = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    assert np.abs(weight).max() <= bound and np.abs(bias).max() <= bound
    assert np.abs(weight).max() > 0.95 * bound
    assert abs(weight.std() - bound / math.sqrt(3)) < 0.05 * bound
    assert abs(weight.mean()) < 0.02 * bound
    assert layer.weight.requires_grad and layer.bias.requires_grad
    assert layer.weight.dtype == leafgrad.float32


def test_conv_parameter_shapes_and_options_match_torch(torch):
    cases = [("Conv2d", (3, 6, 5), {}), ("Conv2d", (4, 6, (3, 2)), {"groups": 2, "bias": False}),
             ("Conv1d", (4, 8, 3), {"groups": 4, "padding": "same", "dilation": 2}),
             ("ConvTranspose2d", (4, 6, 3), {"groups": 2, "output_padding": 1, "stride": 2}),
             ("Conv2d", (3, 6, 3), {"padding_mode": "circular", "padding": (1, 2)})]
    for name, args, kwargs in cases:
        ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
        assert repr(ours) == repr(theirs)
        for attr in ("in_channels", "out_channels", "kernel_size", "stride", "padding",
                     "dilation", "transposed", "output_padding", "groups", "padding_mode",
                     "_reversed_padding_repeated_twice"):
            assert getattr(ours, attr) == getattr(theirs, attr), (name, attr)
        assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
            {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert nn.Conv2d(2, 2, 3, dtype=leafgrad.float64).bias.dtype == leafgrad.float64


def test_conv_constructor_errors_match_torch(torch):
    cases = [((4, 6, 3), {"groups": 0}), ((4, 6, 3), {"groups": 3}), ((4, 6, 3), {"groups": 4}),
             ((4, 6, 3), {"padding": "full"}), ((4, 6, 3), {"padding": "same", "stride": 2}),
             ((4, 6, 3), {"padding_mode": "mirror"})]
    for name in ("Conv1d", "Conv2d"):
        for args, kwargs in cases:
            # torch prints a set of the valid choices, in an order that varies between runs
            error = expect_same_error(torch, partial(getattr(nn, name), *args, **kwargs),
                                      partial(getattr(torch.nn, name), *args, **kwargs),
                                      exact="padding_mode" not in kwargs
                                      and kwargs.get("padding") != "full")
            assert isinstance(error, ValueError)
    with pytest.raises(ValueError, match="Invalid padding string 'full', should be one of"):
        nn.Conv2d(4, 6, 3, padding="full")
    with pytest.raises(ValueError, match="padding_mode must be one of .*'reflect'.*but got "
                                         "padding_mode='mirror'"):
        nn.Conv2d(4, 6, 3, padding_mode="mirror")
    expect_same_error(torch, lambda: nn.ConvTranspose2d(4, 6, 3, padding_mode="reflect"),
                      lambda: torch.nn.ConvTranspose2d(4, 6, 3, padding_mode="reflect"))


def test_conv_forward_errors_match_torch(torch):
    # a wrong channel count or a wrong number of dims: torch's RuntimeError, same key words
    conv, theirs = nn.Conv2d(3, 6, 3), torch.nn.Conv2d(3, 6, 3)
    for shape in ((2, 4, 8, 8), (2, 3, 8), (3, 8, 8, 8, 8)):
        error = expect_same_error(torch, partial(conv, leafgrad.zeros(shape)),
                                  partial(theirs, torch.zeros(shape)), exact=False)
        assert isinstance(error, RuntimeError)
    with pytest.raises(RuntimeError, match="expected input\\[2, 4, 8, 8\\] to have 3 channels"):
        conv(leafgrad.zeros(2, 4, 8, 8))
    with pytest.raises(RuntimeError, match="Kernel size can't be greater than actual input"):
        conv(leafgrad.zeros(1, 3, 2, 2))


# -- pooling ------------------------------------------------------------------------------------
MAX_POOL2D = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=1, padding=1),
    dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 0), dilation=(2, 1)),
    dict(kernel_size=3, stride=2, ceil_mode=True),
    dict(kernel_size=2, stride=3, padding=1, ceil_mode=True, return_indices=True),
    dict(kernel_size=2, return_indices=True),
]


@pytest.mark.parametrize("kwargs", MAX_POOL2D, ids=str)
@pytest.mark.parametrize("shape", [(2, 3, 7, 8), (3, 6, 5)], ids=str)
def test_max_pool2d_matches_torch(torch, kwargs, shape):
    ours, theirs = pair(torch, "MaxPool2d", **kwargs)
    assert repr(ours) == repr(theirs)
    out = assert_step_matches(torch, ours, theirs, distinct(shape))
    assert isinstance(out, tuple) == kwargs.get("return_indices", False)


MAX_POOL1D = [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1, dilation=2),
              dict(kernel_size=3, stride=2, ceil_mode=True, return_indices=True)]


@pytest.mark.parametrize("kwargs", MAX_POOL1D, ids=str)
@pytest.mark.parametrize("shape", [(2, 3, 9), (3, 10)], ids=str)
def test_max_pool1d_matches_torch(torch, kwargs, shape):
    ours, theirs = pair(torch, "MaxPool1d", **kwargs)
    assert repr(ours) == repr(theirs)
    assert_step_matches(torch, ours, theirs, distinct(shape))


AVG_POOL2D = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=1, padding=1),
    dict(kernel_size=3, stride=1, padding=1, count_include_pad=False),
    dict(kernel_size=(2, 3), stride=(2, 1), padding=(1, 1), ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=2, divisor_override=3),
]


@pytest.mark.parametrize("kwargs", AVG_POOL2D, ids=str)
@pytest.mark.parametrize("shape", [(2, 3, 7, 8), (3, 6, 5)], ids=str)
def test_avg_pool2d_matches_torch(torch, kwargs, shape):
    ours, theirs = pair(torch, "AvgPool2d", **kwargs)
    assert repr(ours) == repr(theirs)
    assert_step_matches(torch, ours, theirs, rng().standard_normal(shape))


@pytest.mark.parametrize("name", ["AdaptiveAvgPool2d", "AdaptiveMaxPool2d"])
@pytest.mark.parametrize("output_size", [1, (2, 4), 3, (None, 2), (5, 7)], ids=str)
@pytest.mark.parametrize("shape", [(2, 3, 6, 8), (3, 5, 7)], ids=str)
def test_adaptive_pool2d_matches_torch(torch, name, output_size, shape):
    kwargs = {"return_indices": True} if name == "AdaptiveMaxPool2d" and shape[0] == 2 else {}
    ours, theirs = pair(torch, name, output_size, **kwargs)
    assert repr(ours) == repr(theirs)
    assert_step_matches(torch, ours, theirs, distinct(shape))


def test_pooling_gradcheck_float64():
    assert_module_gradcheck(nn.MaxPool2d(2, stride=1, padding=1), leaf(distinct((1, 2, 3, 4))),
                            gradgrad=True)
    assert_module_gradcheck(nn.MaxPool1d(3, stride=2, dilation=2, ceil_mode=True),
                            leaf(distinct((2, 2, 8))))
    assert_module_gradcheck(nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
                            leaf((2, 2, 4, 5)), gradgrad=True)
    assert_module_gradcheck(nn.AdaptiveAvgPool2d((2, 3)), leaf((1, 2, 5, 4)), gradgrad=True)
    assert_module_gradcheck(nn.AdaptiveMaxPool2d(2, return_indices=True),
                            leaf(distinct((2, 2, 5, 3))))


def test_pooling_layers_hold_no_parameters_and_keep_settings(torch):
    for ours, theirs in ((nn.MaxPool2d(3, padding=1), torch.nn.MaxPool2d(3, padding=1)),
                         (nn.MaxPool1d((2,), stride=(1,)), torch.nn.MaxPool1d((2,), stride=(1,))),
                         (nn.AvgPool2d((2, 3)), torch.nn.AvgPool2d((2, 3))),
                         (nn.AdaptiveMaxPool2d((None, 3)), torch.nn.AdaptiveMaxPool2d((None, 3))),
                         (nn.AdaptiveAvgPool2d(4), torch.nn.AdaptiveAvgPool2d(4))):
        assert list(ours.parameters()) == [] and list(ours.state_dict()) == []
        assert repr(ours) == repr(theirs)
        x = leafgrad.ones((1, 2, 6) if isinstance(ours, nn.MaxPool1d) else (1, 2, 6, 6))
        assert not ours(x).requires_grad  # seed claim C12: no parameters, no grad
    assert nn.MaxPool2d(2).stride == 2 and nn.AvgPool2d(2, stride=1).stride == 1


def test_pooling_errors_match_torch(torch):
    cases = [(lambda m: m.MaxPool2d(2), (2, 2, 2, 2, 2)), (lambda m: m.MaxPool2d(3), (1, 1, 2, 2)),
             (lambda m: m.MaxPool2d(2, padding=2), (1, 1, 6, 6)),
             (lambda m: m.AvgPool2d(2, padding=2), (1, 1, 6, 6)),
             (lambda m: m.MaxPool1d(2), (4,)),
             (lambda m: m.AdaptiveAvgPool2d(2), (4, 4))]
    for make, shape in cases:
        ours, theirs = make(nn), make(torch.nn)
        error = expect_same_error(torch, partial(ours, leafgrad.zeros(shape)),
                                  partial(theirs, torch.zeros(shape)), exact=False)
        assert isinstance(error, RuntimeError)


# -- batch norm ---------------------------------------------------------------------------------
BATCH_NORM = [
    dict(),
    dict(momentum=None),
    dict(momentum=0.3, eps=1e-3),
    dict(affine=False),
    dict(bias=False),
    dict(track_running_stats=False),
    dict(affine=False, track_running_stats=False, momentum=None),
]


@pytest.mark.parametrize("kwargs", BATCH_NORM, ids=str)
@pytest.mark.parametrize("name,shape", [("BatchNorm1d", (6, 3)), ("BatchNorm1d", (4, 3, 5)),
                                        ("BatchNorm2d", (4, 3, 5, 2))], ids=str)
def test_batch_norm_train_then_eval_matches_torch(torch, name, shape, kwargs):
    ours, theirs = pair(torch, name, 3, **kwargs)
    assert repr(ours) == repr(theirs)
    if ours.affine:  # not the default ones and zeros, so that both parameters matter
        theirs.weight.data.uniform_(0.5, 1.5)
        if theirs.bias is not None:
            theirs.bias.data.uniform_(-0.5, 0.5)
        copy_state(theirs, ours)
    for step in range(4):  # the running statistics after each step, momentum None included
        batch = rng(step).standard_normal(shape) * (step + 1) + step
        assert_step_matches(torch, ours, theirs, batch, seed=step)
    if ours.track_running_stats:
        assert int(ours.num_batches_tracked) == 4
        assert ours.num_batches_tracked.dtype == leafgrad.int64
    ours.eval(), theirs.eval()
    assert_step_matches(torch, ours, theirs, rng(9).standard_normal(shape), seed=9)
    if ours.track_running_stats:
        assert int(ours.num_batches_tracked) == 4  # evaluation does not count


def test_batch_norm_momentum_none_is_the_cumulative_average():
    bn = nn.BatchNorm1d(2, momentum=None)
    batches = [rng(seed).standard_normal((5, 2)) for seed in range(3)]
    for batch in batches:
        bn(leafgrad.tensor(batch, dtype=leafgrad.float32))
    means = np.mean([batch.mean(0) for batch in batches], axis=0)
    variances = np.mean([batch.var(0, ddof=1) for batch in batches], axis=0)
    np.testing.assert_allclose(bn.running_mean.numpy(), means, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), variances, rtol=1e-5)


def test_batch_norm_float32_matches_torch(torch):
    ours, theirs = pair(torch, "BatchNorm2d", 4, dtype="float32")
    x = rng().standard_normal((3, 4, 5, 5)).astype(np.float32)
    assert_step_matches(torch, ours, theirs, x, rtol=1e-4, atol=1e-5)
    ours.eval(), theirs.eval()
    assert_step_matches(torch, ours, theirs, x, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("shape", [(4096, 8), (64, 4, 8, 8)])
def test_batch_norm_float32_statistics_are_accurate(shape):
    """float32 inputs far from 0 (100 + N(0, 1)): the batch statistics are summed over the
    batch axis without losing precision (torch's error on (4096, 8) is 5.5e-5)."""
    x = (100 + rng().standard_normal(shape)).astype(np.float32)
    axes = (0,) + tuple(range(2, len(shape)))
    exact = x.astype(np.float64)
    mean, variance = exact.mean(axes, keepdims=True), exact.var(axes, keepdims=True)
    bn = (nn.BatchNorm1d if len(shape) == 2 else nn.BatchNorm2d)(shape[1])
    out = bn(leafgrad.tensor(x)).detach().numpy()
    assert np.abs(out - (exact - mean) / np.sqrt(variance + 1e-5)).max() < 1e-5
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * mean.ravel(), rtol=2e-7)
    count = x.size // shape[1]
    np.testing.assert_allclose(bn.running_var.numpy(),
                               0.9 + 0.1 * variance.ravel() * count / (count - 1), rtol=2e-7)


def test_batch_norm_gradcheck_float64():
    bn = nn.BatchNorm2d(2)
    nn.init.uniform_(bn.weight, 0.5, 1.5), nn.init.uniform_(bn.bias, -1.0, 1.0)
    assert_module_gradcheck(bn, leaf((3, 2, 2, 2)), gradgrad=True)
    bn.eval()
    nn.init.uniform_(bn.running_var, 0.5, 2.0)
    assert_module_gradcheck(bn, leaf((3, 2, 2, 2)), gradgrad=True)
    assert_module_gradcheck(nn.BatchNorm1d(3, affine=False).double(), leaf((4, 3)))
    assert_module_gradcheck(nn.BatchNorm1d(2, track_running_stats=False).eval(), leaf((3, 2, 4)))


def test_batch_norm_state_dict_and_defaults_match_torch(torch):
    for kwargs in BATCH_NORM:
        ours, theirs = nn.BatchNorm2d(5, **kwargs), torch.nn.BatchNorm2d(5, **kwargs)
        state, reference = ours.state_dict(), theirs.state_dict()
        assert list(state) == list(reference)
        for key, value in reference.items():
            assert_close(state[key], value, 0, 0)
        assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
        assert ours.weight is None if not kwargs.get("affine", True) else \
            ours.weight.requires_grad
    bn = nn.BatchNorm1d(3)
    assert sorted(bn._buffers) == ["num_batches_tracked", "running_mean", "running_var"]
    assert bn.num_batches_tracked.shape == () and bn.running_var.dtype == leafgrad.float32


def test_batch_norm_loads_state_dicts(torch):
    ours, theirs = pair(torch, "BatchNorm1d", 3)
    theirs(torch.randn(4, 3, dtype=torch.float64))
    copy_state(theirs, ours)
    assert int(ours.num_batches_tracked) == 1
    np.testing.assert_allclose(ours.running_mean.numpy(), theirs.running_mean.numpy())
    # a state_dict from before num_batches_tracked (no version metadata) keeps the count
    old = {k: v for k, v in ours.state_dict().items() if k != "num_batches_tracked"}
    assert ours.load_state_dict(old).missing_keys == []
    assert int(ours.num_batches_tracked) == 1
    # with version-2 metadata the key is required, and nothing is loaded when it is missing
    current = ours.state_dict()
    del current["num_batches_tracked"]
    before = ours.running_mean.numpy().copy()
    current["running_mean"] = leafgrad.zeros(3, dtype=leafgrad.float64)
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "num_batches'):
        ours.load_state_dict(current)
    np.testing.assert_array_equal(ours.running_mean.numpy(), before)
    with pytest.raises(RuntimeError, match="size mismatch for running_var"):
        ours.load_state_dict({**ours.state_dict(), "running_var": leafgrad.ones(4)})
    # the same inside a network
    net = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    old = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert net.load_state_dict(old).missing_keys == []


def test_batch_norm_reset_and_conversion():
    bn = nn.BatchNorm1d(2)
    bn(leafgrad.randn(4, 2))
    bn.reset_running_stats()
    np.testing.assert_array_equal(bn.running_mean.numpy(), [0, 0])
    np.testing.assert_array_equal(bn.running_var.numpy(), [1, 1])
    assert int(bn.num_batches_tracked) == 0
    bn.double()
    assert bn.running_mean.dtype == leafgrad.float64
    assert bn.num_batches_tracked.dtype == leafgrad.int64  # integer buffers stay
    bn.eval()
    x = leafgrad.tensor([[1.0, 2.0]], dtype=leafgrad.float64)
    np.testing.assert_allclose(bn(x).detach().numpy(), x.numpy() / np.sqrt(1 + 1e-5))


def test_batch_norm_errors_match_torch(torch):
    cases = [("BatchNorm1d", (2, 3, 4, 5)), ("BatchNorm1d", (3,)), ("BatchNorm2d", (2, 3, 4)),
             ("BatchNorm2d", (2, 3, 4, 5, 6))]
    for name, shape in cases:
        ours, theirs = getattr(nn, name)(3), getattr(torch.nn, name)(3)
        error = expect_same_error(torch, partial(ours, leafgrad.zeros(shape)),
                                  partial(theirs, torch.zeros(shape)))
        assert isinstance(error, ValueError) and "input)" in str(error)
    # one value per channel in training: torch's ValueError; in evaluation it works
    ours, theirs = nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    error = expect_same_error(torch, lambda: ours(leafgrad.zeros(1, 3)),
                              lambda: theirs(torch.zeros(1, 3)), exact=False)
    assert "Expected more than 1 value per channel when training" in str(error)
    assert ours.eval()(leafgrad.zeros(1, 3)).shape == (1, 3)
    expect_same_error(torch, lambda: nn.BatchNorm1d(3)(leafgrad.zeros(2, 4)),
                      lambda: torch.nn.BatchNorm1d(3)(torch.zeros(2, 4)), exact=False)


# -- layer norm and group norm ------------------------------------------------------------------
LAYER_NORM = [
    ((5,), dict()), (5, dict(elementwise_affine=False)), ((4, 5), dict(bias=False)),
    ([3, 4, 5], dict(eps=1e-3)),
]


@pytest.mark.parametrize("normalized_shape,kwargs", LAYER_NORM, ids=str)
def test_layer_norm_matches_torch(torch, normalized_shape, kwargs):
    ours, theirs = pair(torch, "LayerNorm", normalized_shape, **kwargs)
    assert repr(ours) == repr(theirs)
    assert ours.normalized_shape == theirs.normalized_shape
    if ours.elementwise_affine:
        theirs.weight.data.uniform_(0.5, 1.5)
        if theirs.bias is not None:
            theirs.bias.data.uniform_(-0.5, 0.5)
        copy_state(theirs, ours)
    for shape in ((2, 3, 4, 5), (3, 4, 5)):
        assert_step_matches(torch, ours, theirs, rng().standard_normal(shape) * 3 + 1)
        ours.eval(), theirs.eval()  # the same in evaluation
        assert_step_matches(torch, ours, theirs, rng().standard_normal(shape))


GROUP_NORM = [(1, 6, dict()), (3, 6, dict(eps=1e-3)), (6, 6, dict(affine=False)),
              (2, 6, dict(bias=False))]


@pytest.mark.parametrize("groups,channels,kwargs", GROUP_NORM, ids=str)
@pytest.mark.parametrize("shape", [(4, 6), (2, 6, 5), (2, 6, 3, 4)], ids=str)
def test_group_norm_matches_torch(torch, groups, channels, kwargs, shape):
    ours, theirs = pair(torch, "GroupNorm", groups, channels, **kwargs)
    assert repr(ours) == repr(theirs)
    if ours.affine:
        theirs.weight.data.uniform_(0.5, 1.5)
        if theirs.bias is not None:
            theirs.bias.data.uniform_(-0.5, 0.5)
        copy_state(theirs, ours)
    assert_step_matches(torch, ours, theirs, rng().standard_normal(shape) * 2 - 1)


def test_norm_float32_matches_torch(torch):
    for name, args in (("LayerNorm", ((4, 5),)), ("GroupNorm", (2, 4))):
        ours, theirs = pair(torch, name, *args, dtype="float32")
        x = rng().standard_normal((3, 4, 4, 5)).astype(np.float32)
        assert_step_matches(torch, ours, theirs, x,
                            rtol=1e-4, atol=1e-5)


def test_layer_and_group_norm_gradcheck_float64():
    ln = nn.LayerNorm((2, 3))
    nn.init.uniform_(ln.weight, 0.5, 1.5), nn.init.uniform_(ln.bias, -1.0, 1.0)
    assert_module_gradcheck(ln, leaf((2, 2, 3)), gradgrad=True)
    gn = nn.GroupNorm(2, 4)
    nn.init.uniform_(gn.weight, 0.5, 1.5), nn.init.uniform_(gn.bias, -1.0, 1.0)
    assert_module_gradcheck(gn, leaf((2, 4, 3)), gradgrad=True)
    assert_module_gradcheck(nn.LayerNorm(4, elementwise_affine=False), leaf((3, 4)))


def test_norm_defaults_and_state_dicts_match_torch(torch):
    cases = [("LayerNorm", (5,), {}), ("LayerNorm", ((2, 3),), {"bias": False}),
             ("LayerNorm", (4,), {"elementwise_affine": False}), ("GroupNorm", (2, 4), {}),
             ("GroupNorm", (2, 4), {"affine": False}), ("GroupNorm", (4, 4), {"bias": False})]
    for name, args, kwargs in cases:
        ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
        assert repr(ours) == repr(theirs)
        state, reference = ours.state_dict(), theirs.state_dict()
        assert list(state) == list(reference)
        for key, value in reference.items():  # ones and zeros
            assert_close(state[key], value, 0, 0)


def test_norm_errors_match_torch(torch):
    expect_same_error(torch, lambda: nn.GroupNorm(4, 6), lambda: torch.nn.GroupNorm(4, 6))
    cases = [(lambda m: m.LayerNorm(5), (2, 4)), (lambda m: m.LayerNorm((3, 4)), (3, 5, 4)),
             (lambda m: m.GroupNorm(2, 4), (2, 6, 3)), (lambda m: m.GroupNorm(2, 4), (4,))]
    for make, shape in cases:
        ours, theirs = make(nn), make(torch.nn)
        error = expect_same_error(torch, partial(ours, leafgrad.zeros(shape)),
                                  partial(theirs, torch.zeros(shape)), exact=False)
        assert isinstance(error, RuntimeError)
    with pytest.raises(RuntimeError, match="Given normalized_shape=\\[5\\]"):
        nn.LayerNorm(5)(leafgrad.zeros(2, 4))


# -- dropout ------------------------------------------------------------------------------------
def test_dropout_in_training_masks_and_scales():
    leafgrad.manual_seed(0)
    drop = nn.Dropout(0.25)
    x = leafgrad.ones(200, 100, requires_grad=True)
    out = drop(x)
    values = out.detach().numpy()
    assert set(np.unique(values)) == {0.0, np.float32(1 / 0.75)}
    assert abs((values == 0).mean() - 0.25) < 0.02
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), values)  # d(out)/dx is the scaled mask
    assert drop.eval()(x) is x  # evaluation: the input itself


def test_dropout2d_drops_whole_channels():
    leafgrad.manual_seed(1)
    drop = nn.Dropout2d(0.5)
    # as torch, a 3-D input is read as (N, C, L), with a warning
    for shape in ((20, 30, 3, 4), (40, 3, 4)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore" if len(shape) == 4 else "error")
            if len(shape) == 3:
                with pytest.warns(UserWarning, match="interpreted as shape \\(N, C, L\\)"):
                    out = drop(leafgrad.ones(shape))
            else:
                out = drop(leafgrad.ones(shape))
        values = out.numpy().reshape(shape[0] * shape[1], -1)
        per_channel = values.max(axis=1)
        np.testing.assert_array_equal(values, per_channel[:, None].repeat(values.shape[1], 1))
        assert set(np.unique(per_channel)) == {0.0, 2.0}
        assert 0.3 < (per_channel == 0).mean() < 0.7
    x = leafgrad.ones(2, 3, 4, 4)
    assert drop.eval()(x) is x


def test_dropout_inplace_and_extremes(torch):
    leafgrad.manual_seed(2)
    for name in ("Dropout", "Dropout2d"):
        inplace = getattr(nn, name)(0.5, inplace=True)
        assert repr(inplace) == repr(getattr(torch.nn, name)(0.5, inplace=True))
        x = leafgrad.ones(4, 5, 3, 3)
        assert inplace(x) is x and set(np.unique(x.numpy())) <= {0.0, 2.0}
        x = leafgrad.ones(4, 5, 3, 3)
        assert np.all(getattr(nn, name)(1.0)(x).numpy() == 0)
        assert getattr(nn, name)(0.0)(x) is x
        assert list(inplace.parameters()) == [] and list(inplace.state_dict()) == []
    gate = nn.Dropout(0.5, inplace=True)
    leaf_tensor = leafgrad.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        gate(leaf_tensor)


def test_dropout_gradcheck_float64():
    # the same mask for every evaluation: reseed before each forward
    drop = nn.Dropout(0.4)

    def forward(x):
        leafgrad.manual_seed(3)
        return drop(x)

    assert gradcheck(forward, (leaf((3, 4)),))
    drop2d = nn.Dropout2d(0.4)

    def forward2d(x):
        leafgrad.manual_seed(3)
        return drop2d(x)

    assert gradcheck(forward2d, (leaf((2, 3, 2, 2)),))


def test_dropout_errors_match_torch(torch):
    for name in ("Dropout", "Dropout2d"):
        for p in (-0.1, 1.5):
            error = expect_same_error(torch, partial(getattr(nn, name), p),
                                      partial(getattr(torch.nn, name), p))
            assert isinstance(error, ValueError)


# -- embedding ----------------------------------------------------------------------------------
EMBEDDING = [dict(), dict(padding_idx=0), dict(padding_idx=-2), dict(scale_grad_by_freq=True),
             dict(padding_idx=3, scale_grad_by_freq=True), dict(max_norm=1.0),
             dict(max_norm=1.5, norm_type=1.0)]


@pytest.mark.parametrize("kwargs", EMBEDDING, ids=str)
def test_embedding_matches_torch(torch, kwargs):
    ours, theirs = pair(torch, "Embedding", 10, 4, **kwargs)
    assert repr(ours) == repr(theirs)
    assert ours.padding_idx == theirs.padding_idx
    indices = np.array([[0, 3, 3, 8], [1, 0, 8, 3], [9, 9, 9, 2]])
    assert_step_matches(torch, ours, theirs, indices)
    # max_norm renormalised the rows looked up in place, as torch
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(),
                               rtol=1e-12)
    assert_step_matches(torch, ours, theirs, indices[0])


def test_embedding_padding_row_is_zero_and_gets_no_gradient():
    emb = nn.Embedding(6, 3, padding_idx=-1)
    assert emb.padding_idx == 5
    np.testing.assert_array_equal(emb.weight.detach().numpy()[5], np.zeros(3))
    emb(leafgrad.tensor([5, 1, 5])).sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.numpy()[5], np.zeros(3))
    np.testing.assert_array_equal(emb.weight.grad.numpy()[1], np.ones(3))


def test_embedding_default_init_is_standard_normal():
    weight = nn.Embedding(400, 100).weight.detach().numpy()
    assert abs(weight.mean()) < 0.02 and abs(weight.std() - 1) < 0.02
    assert weight.dtype == np.float32
    assert nn.Embedding(3, 2, dtype=leafgrad.float64).weight.dtype == leafgrad.float64


def test_embedding_from_pretrained(torch):
    table = leafgrad.tensor(rng().standard_normal((5, 3)))
    emb = nn.Embedding.from_pretrained(table)
    assert not emb.weight.requires_grad and emb.num_embeddings == 5
    assert emb.embedding_dim == 3
    with leafgrad.no_grad():
        table[0, 0] = 42.0  # the storage is shared
    assert emb.weight[0, 0].item() == 42.0
    out = emb(leafgrad.tensor([0, 4]))
    np.testing.assert_array_equal(out.numpy(), table.numpy()[[0, 4]])
    assert not out.requires_grad
    trainable = nn.Embedding.from_pretrained(leafgrad.ones(4, 2), freeze=False, padding_idx=1)
    assert trainable.weight.requires_grad
    # the padding row keeps its pretrained value, as torch; it still gets no gradient
    np.testing.assert_array_equal(trainable.weight.detach().numpy()[1], [1.0, 1.0])
    theirs = torch.nn.Embedding.from_pretrained(torch.ones(4, 2), freeze=False, padding_idx=1)
    assert repr(trainable) == repr(theirs)
    trainable(leafgrad.tensor([1, 2])).sum().backward()
    np.testing.assert_array_equal(trainable.weight.grad.numpy(), [[0, 0], [0, 0], [1, 1], [0, 0]])


def test_embedding_gradcheck_float64():
    # (padding_idx is left out: its row is read but, by design, gets no gradient)
    emb = nn.Embedding(5, 3).double()
    indices = leafgrad.tensor([[0, 2, 4], [4, 4, 1]])
    assert gradcheck(lambda w: emb(indices), (emb.weight,))
    assert gradgradcheck(lambda w: emb(indices), (emb.weight,))


def test_embedding_errors_match_torch(torch):
    for kwargs in (dict(padding_idx=10), dict(padding_idx=-11)):
        expect_same_error(torch, partial(nn.Embedding, 10, 3, **kwargs),
                          partial(torch.nn.Embedding, 10, 3, **kwargs))
    expect_same_error(torch, lambda: nn.Embedding.from_pretrained(leafgrad.ones(3)),
                      lambda: torch.nn.Embedding.from_pretrained(torch.ones(3)))
    expect_same_error(torch, lambda: nn.Embedding(4, 3, _weight=leafgrad.ones(3, 3)),
                      lambda: torch.nn.Embedding(4, 3, _weight=torch.ones(3, 3)))
    ours, theirs = nn.Embedding(4, 3), torch.nn.Embedding(4, 3)
    error = expect_same_error(torch, lambda: ours(leafgrad.tensor([4])),
                              lambda: theirs(torch.tensor([4])), exact=False)
    assert "index out of range in self" in str(error)
    error = expect_same_error(torch, lambda: ours(leafgrad.tensor([1.0])),
                              lambda: theirs(torch.tensor([1.0])), exact=False)
    assert "Long, Int" in str(error)


# -- upsampling ---------------------------------------------------------------------------------
UPSAMPLE = [
    ("Upsample", dict(scale_factor=2)), ("Upsample", dict(size=(5, 7))),
    ("Upsample", dict(scale_factor=(1.5, 2.5), mode="bilinear")),
    ("Upsample", dict(size=5, mode="bilinear", align_corners=True)),
    ("Upsample", dict(scale_factor=1.7, mode="nearest", recompute_scale_factor=True)),
    ("UpsamplingNearest2d", dict(scale_factor=3)),
    ("UpsamplingBilinear2d", dict(size=(4, 6))),
]


@pytest.mark.parametrize("name,kwargs", UPSAMPLE, ids=str)
def test_upsample_matches_torch(torch, name, kwargs):
    ours, theirs = pair(torch, name, **kwargs)
    assert repr(ours) == repr(theirs)
    assert_step_matches(torch, ours, theirs, rng().standard_normal((2, 3, 3, 4)))


@pytest.mark.parametrize("kwargs", [dict(scale_factor=2, mode="linear"),
                                    dict(size=7, mode="linear", align_corners=True),
                                    dict(scale_factor=2)], ids=str)
def test_upsample_1d_matches_torch(torch, kwargs):
    ours, theirs = pair(torch, "Upsample", **kwargs)
    assert_step_matches(torch, ours, theirs, rng().standard_normal((2, 3, 5)))


def test_upsample_gradcheck_float64():
    assert_module_gradcheck(nn.Upsample(scale_factor=2, mode="bilinear"), leaf((1, 2, 2, 3)),
                            gradgrad=True)
    assert_module_gradcheck(nn.Upsample(size=(3, 5)), leaf((1, 2, 2, 3)))
    assert_module_gradcheck(nn.Upsample(size=5, mode="linear", align_corners=True),
                            leaf((2, 1, 3)))


def test_upsample_settings_and_errors_match_torch(torch):
    for kwargs in (dict(scale_factor=2), dict(scale_factor=(2, 3)), dict(size=4)):
        ours, theirs = nn.Upsample(**kwargs), torch.nn.Upsample(**kwargs)
        assert ours.scale_factor == theirs.scale_factor and ours.size == theirs.size
        assert list(ours.state_dict()) == [] and ours.name == "Upsample"
    for kwargs in (dict(), dict(size=4, scale_factor=2), dict(scale_factor=2, align_corners=True)):
        ours, theirs = nn.Upsample(**kwargs), torch.nn.Upsample(**kwargs)
        error = expect_same_error(torch, partial(ours, leafgrad.zeros(1, 1, 2, 2)),
                                  partial(theirs, torch.zeros(1, 1, 2, 2)))
        assert isinstance(error, ValueError)


# -- what every layer shares --------------------------------------------------------------------
LAYERS = [
    ("Conv1d", (3, 4, 3), {}), ("Conv2d", (3, 6, 5), {}), ("ConvTranspose2d", (3, 6, 3), {}),
    ("BatchNorm1d", (4,), {}), ("BatchNorm2d", (4,), {"track_running_stats": False}),
    ("LayerNorm", (4,), {}), ("GroupNorm", (2, 4), {}), ("Embedding", (5, 3), {}),
    ("MaxPool2d", (2,), {}), ("Dropout", (), {}), ("Upsample", (), {"scale_factor": 2}),
]


@pytest.mark.parametrize("name,args,kwargs", LAYERS, ids=str)
def test_state_dict_keys_dtypes_and_reprs_match_torch(torch, name, args, kwargs):
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    state, reference = ours.state_dict(), theirs.state_dict()
    assert list(state) == list(reference)
    for key, value in reference.items():
        assert tuple(state[key].shape) == tuple(value.shape)
        assert str(state[key].dtype) == str(value.dtype)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert all(p.requires_grad for p in ours.parameters())  # seed claim C12
    # a round trip through our own state_dict
    clone = getattr(nn, name)(*args, **kwargs)
    clone.load_state_dict(state)
    for key, value in clone.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), state[key].numpy())


def test_layers_inside_a_network_train_and_eval_like_torch(torch):
    def build(m):
        return m.Sequential(m.Conv2d(3, 4, 3, padding=1), m.BatchNorm2d(4), m.ReLU(),
                            m.MaxPool2d(2), m.Dropout(0.0), m.Conv2d(4, 6, 3), m.GroupNorm(2, 6),
                            m.AdaptiveAvgPool2d(1), m.Flatten(), m.LayerNorm(6))

    theirs = build(torch.nn).double()
    ours = build(nn).double()
    copy_state(theirs, ours)
    assert repr(ours) == repr(theirs)
    for step in range(2):
        assert_step_matches(torch, ours, theirs, rng(step).standard_normal((3, 3, 8, 8)), seed=step)
    ours.eval(), theirs.eval()
    assert_step_matches(torch, ours, theirs, rng(5).standard_normal((3, 3, 8, 8)))
