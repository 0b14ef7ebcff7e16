"""Semantics of the layer functions beyond op_db's value and gradient checks: running statistics,
random masks, padding rows, max-pooling indices, ignored targets, dtypes and error messages.
Comparisons with PyTorch take the ``torch`` fixture (skipped where torch is not installed)."""
import math
import warnings

import numpy as np
import pytest

import leafgrad
import leafgrad.nn.functional as F
from leafgrad.autograd import gradgradcheck


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def as_numpy(tensor) -> np.ndarray:
    return tensor.detach().numpy()


def random(*shape, seed=0, dtype=np.float32) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# -- batch_norm ------------------------------------------------------------------------------
def test_batch_norm_updates_running_stats_in_place_like_torch(torch):
    running_mean, running_var = leafgrad.zeros(3), leafgrad.ones(3)
    torch_mean, torch_var = torch.zeros(3), torch.ones(3)
    mean_storage = running_mean.data_ptr()
    for step in range(3):
        x = random(4, 3, 2, 2, seed=step) * 2 + step
        out = F.batch_norm(leafgrad.tensor(x), running_mean, running_var, training=True,
                           momentum=0.3)
        expected = torch.nn.functional.batch_norm(torch.tensor(x), torch_mean, torch_var,
                                                  training=True, momentum=0.3)
        np.testing.assert_allclose(as_numpy(out), expected.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(running_mean.numpy(), torch_mean.numpy(), rtol=1e-6)
    np.testing.assert_allclose(running_var.numpy(), torch_var.numpy(), rtol=1e-6)
    assert running_mean.data_ptr() == mean_storage  # updated in place, not replaced


def test_batch_norm_running_var_is_unbiased_and_output_uses_biased_variance():
    x = leafgrad.tensor([[1.0], [3.0]])  # batch mean 2, biased var 1, unbiased var 2
    running_mean, running_var = leafgrad.zeros(1), leafgrad.zeros(1)
    out = F.batch_norm(x, running_mean, running_var, training=True, momentum=1.0, eps=0.0)
    assert running_mean.tolist() == [2.0]
    assert running_var.tolist() == [2.0]
    assert out.flatten().tolist() == [-1.0, 1.0]


def test_batch_norm_eval_uses_running_stats_and_leaves_them_alone(torch):
    x = random(5, 2, 3)
    weight, bias = np.array([1.5, -0.5], np.float32), np.array([0.1, 0.2], np.float32)
    mean, var = leafgrad.tensor([0.5, -1.0]), leafgrad.tensor([2.0, 0.5])
    out = F.batch_norm(leafgrad.tensor(x), mean, var, leafgrad.tensor(weight),
                       leafgrad.tensor(bias), training=False)
    manual = (x - np.array([0.5, -1.0])[:, None]) / np.sqrt(np.array([2.0, 0.5])[:, None] + 1e-5)
    np.testing.assert_allclose(as_numpy(out), manual * weight[:, None] + bias[:, None],
                               rtol=1e-5, atol=1e-6)
    assert mean.tolist() == [0.5, -1.0] and var.tolist() == [2.0, 0.5]
    expected = torch.nn.functional.batch_norm(torch.tensor(x), torch.tensor([0.5, -1.0]),
                                              torch.tensor([2.0, 0.5]), torch.tensor(weight),
                                              torch.tensor(bias), training=False)
    np.testing.assert_allclose(as_numpy(out), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_batch_norm_eval_gradient_does_not_go_through_the_statistics(torch):
    x = random(3, 2, seed=1).astype(np.float64)
    ours = leafgrad.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    F.batch_norm(ours, leafgrad.zeros(2, dtype=leafgrad.float64),
                 leafgrad.full((2,), 4.0, dtype=leafgrad.float64), eps=0.0).sum().backward()
    torch.nn.functional.batch_norm(theirs, torch.zeros(2, dtype=torch.float64),
                                   torch.full((2,), 4.0, dtype=torch.float64),
                                   eps=0.0).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), 0.5)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy())


def test_batch_norm_errors():
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        F.batch_norm(leafgrad.ones(1, 3), leafgrad.zeros(3), leafgrad.ones(3), training=True)
    with pytest.raises(RuntimeError, match="running_mean must be defined in evaluation mode"):
        F.batch_norm(leafgrad.ones(2, 3), None, None, training=False)
    with pytest.raises(RuntimeError, match="running_mean should contain 3 elements not 4"):
        F.batch_norm(leafgrad.ones(2, 3), leafgrad.zeros(4), leafgrad.ones(3), training=True)
    with pytest.raises(RuntimeError, match="weight should contain 3 elements not 2"):
        F.batch_norm(leafgrad.ones(2, 3), None, None, leafgrad.ones(2), training=True)


def test_layer_norm_over_a_whole_1d_input(torch):
    x, weight, bias = random(4, seed=2), random(4, seed=3), random(4, seed=4)
    ours = [leafgrad.tensor(a, requires_grad=True) for a in (x, weight, bias)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, weight, bias)]
    out = F.layer_norm(ours[0], (4,), ours[1], ours[2])
    expected = torch.nn.functional.layer_norm(theirs[0], (4,), theirs[1], theirs[2])
    np.testing.assert_allclose(as_numpy(out), expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    cotangent = random(4, seed=5)
    out.backward(leafgrad.tensor(cotangent))
    expected.backward(torch.tensor(cotangent))
    for a, e in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), e.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_normalization_shape_errors():
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[4\], expected input with "
                                           r"shape \[\*, 4\], but got input of size\[2, 3\]"):
        F.layer_norm(leafgrad.ones(2, 3), (4,))
    with pytest.raises(RuntimeError, match="Expected weight to be of same shape as "
                                           "normalized_shape"):
        F.layer_norm(leafgrad.ones(2, 3), (3,), weight=leafgrad.ones(4))
    with pytest.raises(RuntimeError, match="divisible by num_groups, but got input of shape "
                                           r"\[2, 3, 4\] and num_groups=2"):
        F.group_norm(leafgrad.ones(2, 3, 4), 2)


# -- dropout ---------------------------------------------------------------------------------
def test_dropout_statistics_and_scale():
    leafgrad.manual_seed(0)
    x = leafgrad.ones(200_000)
    out = F.dropout(x, p=0.3).numpy()
    assert set(np.unique(out)) <= {0.0, np.float32(1 / 0.7)}
    assert abs((out == 0).mean() - 0.3) < 0.005  # ~4.6 standard deviations of the fraction
    assert out.dtype == np.float32


def test_dropout_is_repeatable_with_a_seed_and_differs_between_seeds():
    x = leafgrad.ones(1000)
    leafgrad.manual_seed(123)
    first = F.dropout(x, 0.5).numpy()
    leafgrad.manual_seed(123)
    again = F.dropout(x, 0.5).numpy()
    leafgrad.manual_seed(124)
    other = F.dropout(x, 0.5).numpy()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_dropout_gradient_is_the_mask_times_the_scale():
    leafgrad.manual_seed(1)
    x = leafgrad.ones(50, requires_grad=True)
    out = F.dropout(x, 0.4)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), out.detach().numpy())
    assert out.grad_fn.name() == "MulBackward0"  # as torch's CPU dropout


def test_dropout_passes_input_through_in_eval_mode_and_with_p_zero():
    x = leafgrad.ones(3, requires_grad=True)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert F.dropout2d(leafgrad.ones(2, 3, 4, 4), 0.5, training=False).shape == (2, 3, 4, 4)
    zeros = F.dropout(x, 1.0)
    assert zeros.tolist() == [0.0, 0.0, 0.0] and zeros.requires_grad


def test_dropout_inplace_writes_into_the_input():
    leafgrad.manual_seed(2)
    x = leafgrad.ones(100)
    out = F.dropout(x, 0.5, inplace=True)
    assert out is x
    assert (x.numpy() == 0).any() and (x.numpy() == 2).any()


def test_dropout2d_drops_whole_channels():
    leafgrad.manual_seed(3)
    out = F.dropout2d(leafgrad.ones(8, 16, 3, 3), 0.5).numpy()
    per_channel = out.reshape(8, 16, -1)
    assert np.all(per_channel == per_channel[..., :1])  # each plane is all 0 or all 2
    assert set(np.unique(per_channel)) == {0.0, 2.0}
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
        F.dropout2d(leafgrad.ones(2, 3, 4))


def test_dropout_errors():
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but "
                                         "got 1.5"):
        F.dropout(leafgrad.ones(3), 1.5)
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type Long"):
        F.dropout(leafgrad.ones(3, dtype=leafgrad.int64), 0.5)
    leaf = leafgrad.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        F.dropout(leaf, 0.5, inplace=True)


# -- embedding -------------------------------------------------------------------------------
def test_embedding_padding_idx_gets_no_gradient_and_repeats_accumulate(torch):
    weight = random(5, 3)
    indices = np.array([[0, 2, 2], [4, 2, 0]])
    ours = leafgrad.tensor(weight, requires_grad=True)
    theirs = torch.tensor(weight, requires_grad=True)
    out = F.embedding(leafgrad.tensor(indices), ours, padding_idx=2)
    expected = torch.nn.functional.embedding(torch.tensor(indices), theirs, padding_idx=2)
    np.testing.assert_array_equal(as_numpy(out), weight[indices])  # the row is still read
    out.sum().backward()
    expected.sum().backward()
    assert ours.grad[2].tolist() == [0.0, 0.0, 0.0]
    assert ours.grad[0].tolist() == [2.0, 2.0, 2.0]  # index 0 appears twice
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


def test_embedding_negative_padding_idx_counts_from_the_end():
    weight = leafgrad.ones(4, 2, requires_grad=True)
    F.embedding(leafgrad.tensor([3, 1]), weight, padding_idx=-1).sum().backward()
    assert weight.grad.tolist() == [[0, 0], [1, 1], [0, 0], [0, 0]]


def test_embedding_max_norm_renormalizes_rows_like_torch(torch):
    weight = random(4, 3) * 3
    ours, theirs = leafgrad.tensor(weight), torch.tensor(weight)
    indices = np.array([0, 2, 2])
    out = F.embedding(leafgrad.tensor(indices), ours, max_norm=1.0)
    expected = torch.nn.functional.embedding(torch.tensor(indices), theirs, max_norm=1.0)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    np.testing.assert_array_equal(ours.numpy()[[1, 3]], weight[[1, 3]])  # rows not looked up


def test_embedding_errors():
    weight = leafgrad.ones(5, 3)
    with pytest.raises(RuntimeError, match="'indices' to have one of the following scalar "
                                           "types: Long, Int; but got torch.FloatTensor"):
        F.embedding(leafgrad.tensor([1.0]), weight)
    with pytest.raises(IndexError, match="index out of range in self"):
        F.embedding(leafgrad.tensor([5]), weight)
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        F.embedding(leafgrad.tensor([1]), weight, padding_idx=5)


def test_one_hot(torch):
    labels = np.array([[0, 2], [1, 1]])
    np.testing.assert_array_equal(F.one_hot(leafgrad.tensor(labels)).numpy(),
                                  torch.nn.functional.one_hot(torch.tensor(labels)).numpy())
    assert F.one_hot(leafgrad.tensor([1]), 4).dtype == leafgrad.int64
    with pytest.raises(RuntimeError, match="Class values must be smaller than num_classes"):
        F.one_hot(leafgrad.tensor([0, 5]), 3)
    with pytest.raises(RuntimeError, match="Class values must be non-negative"):
        F.one_hot(leafgrad.tensor([0, -2]))
    with pytest.raises(RuntimeError, match="only applicable to index tensor of type LongTensor"):
        F.one_hot(leafgrad.tensor([0.0]))


# -- pooling ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
    {"kernel_size": 3, "stride": 1, "padding": 1, "dilation": 2},
    {"kernel_size": (2, 3), "stride": (1, 2)},
    {"kernel_size": (3, 2)},
    {"kernel_size": (1, 3), "stride": (1, 3), "ceil_mode": True},
], ids=["tiled", "ceil_mode", "dilation", "rectangular", "tiled_rectangular", "tiled_1x3"])
def test_max_pool2d_indices_match_torch(torch, kwargs):
    x = np.round(random(2, 3, 7, 6, seed=4), 1)  # rounding makes ties
    values, indices = F.max_pool2d(leafgrad.tensor(x), return_indices=True, **kwargs)
    expected, expected_indices = torch.nn.functional.max_pool2d(
        torch.tensor(x), return_indices=True, **kwargs)
    np.testing.assert_array_equal(values.numpy(), expected.numpy())
    np.testing.assert_array_equal(indices.numpy(), expected_indices.numpy())
    assert indices.dtype == leafgrad.int64


@pytest.mark.parametrize("kernel", [2, (3, 2), (2, 1), 3])
def test_tiled_max_pool_ties_nans_and_infinite_gradients_match_torch(torch, kernel):
    """The tiled path's staged scan (rows first) picks torch's element: the first maximum, or
    the last NaN, in row-major order; a gradient of inf or NaN reaches only the maxima."""
    rng = np.random.default_rng(8)
    x = rng.integers(0, 3, size=(2, 3, 6, 6)).astype(np.float32)  # many ties
    x[rng.random(x.shape) < 0.1] = np.nan
    ours = leafgrad.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    values, indices = F.max_pool2d(ours, kernel, return_indices=True)
    expected, expected_indices = torch.nn.functional.max_pool2d(theirs, kernel,
                                                                return_indices=True)
    np.testing.assert_array_equal(indices.numpy(), expected_indices.numpy())
    np.testing.assert_array_equal(as_numpy(values), expected.detach().numpy())
    grad = rng.standard_normal(values.shape).astype(np.float32)
    grad[0, 0, 0, 0], grad[1, 2, 1, 1] = np.inf, np.nan
    values.backward(leafgrad.tensor(grad))
    expected.backward(torch.tensor(grad))
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
    # the zeros too: +0.0 where a negative gradient did not go, as torch
    np.testing.assert_array_equal(np.signbit(ours.grad.numpy()), np.signbit(theirs.grad.numpy()))


@pytest.mark.parametrize("order", [(0, 1, 3, 2), (1, 0, 2, 3)])
def test_max_pool_of_a_permuted_input_is_contiguous_as_torch(torch, order):
    x = np.arange(384.0, dtype=np.float32).reshape(2, 3, 8, 8)
    ours = F.max_pool2d(leafgrad.tensor(x).permute(*order), 2)
    theirs = torch.nn.functional.max_pool2d(torch.tensor(x).permute(*order), 2)
    assert ours.stride() == theirs.stride() and ours.is_contiguous()
    np.testing.assert_array_equal(ours.view(-1).numpy(), theirs.reshape(-1).numpy())


def test_max_pool_gradient_goes_to_the_first_maximum_on_ties():
    x = leafgrad.ones(1, 1, 2, 2, requires_grad=True)
    values, indices = F.max_pool2d(x, 2, return_indices=True)
    values.sum().backward()
    assert indices.flatten().tolist() == [0]
    assert x.grad.flatten().tolist() == [1.0, 0.0, 0.0, 0.0]


def test_max_pool_nan_is_the_maximum_and_the_last_nan_wins(torch):
    nan = float("nan")
    for rows in ([[1.0, nan], [3.0, 4.0]], [[nan, 1.0], [nan, 4.0]]):
        values, indices = F.max_pool2d(leafgrad.tensor([[rows]]), 2, return_indices=True)
        expected = torch.nn.functional.max_pool2d(torch.tensor([[rows]]), 2,
                                                  return_indices=True)[1]
        assert np.isnan(values.item()) and indices.item() == expected.item()
        _, indices = F.adaptive_max_pool2d(leafgrad.tensor([[rows]]), 1, return_indices=True)
        assert indices.item() == expected.item()
    assert expected.item() == 2  # scanning in order, torch keeps the last NaN


def test_max_pool_indices_never_point_into_the_padding(torch):
    x = np.full((1, 1, 4, 4), -np.inf, dtype=np.float32)
    x[0, 0, 2:, 2:] = 1.0
    kwargs = {"kernel_size": 3, "stride": 2, "padding": 1, "return_indices": True}
    ours = F.max_pool2d(leafgrad.tensor(x), **kwargs)
    theirs = torch.nn.functional.max_pool2d(torch.tensor(x), **kwargs)
    np.testing.assert_array_equal(ours[1].numpy(), theirs[1].numpy())
    np.testing.assert_array_equal(ours[0].numpy(), theirs[0].numpy())


def test_max_pool_overlapping_windows_accumulate_gradient(torch):
    x = random(1, 1, 5, 5, seed=5).astype(np.float64)
    ours = leafgrad.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    F.max_pool2d(ours, 3, stride=1).sum().backward()
    torch.nn.functional.max_pool2d(theirs, 3, stride=1).sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
    assert ours.grad.numpy().max() > 1  # one element is the maximum of several windows


def test_max_pool1d_and_adaptive_max_pool_indices_match_torch(torch):
    x = np.round(random(2, 3, 7, seed=6), 1)
    ours = F.max_pool1d(leafgrad.tensor(x), 3, stride=2, ceil_mode=True, return_indices=True)
    theirs = torch.nn.functional.max_pool1d(torch.tensor(x), 3, stride=2, ceil_mode=True,
                                            return_indices=True)
    for a, e in zip(ours, theirs):
        np.testing.assert_array_equal(a.numpy(), e.numpy())
    x = np.round(random(2, 2, 7, 5, seed=7), 1)
    ours = F.adaptive_max_pool2d(leafgrad.tensor(x), (3, 2), return_indices=True)
    theirs = torch.nn.functional.adaptive_max_pool2d(torch.tensor(x), (3, 2),
                                                     return_indices=True)
    for a, e in zip(ours, theirs):
        np.testing.assert_array_equal(a.numpy(), e.numpy())


def test_pooling_errors():
    x = leafgrad.ones(1, 1, 4, 4)
    with pytest.raises(RuntimeError, match="pad should be at most half of effective kernel "
                                           "size, but got pad=2, kernel_size=3"):
        F.max_pool2d(x, 3, padding=2)
    with pytest.raises(RuntimeError, match=r"Given input size: \(1x2x2\). Calculated output "
                                           r"size: \(1x0x0\). Output size is too small"):
        F.avg_pool2d(leafgrad.ones(1, 2, 2), 3)
    with pytest.raises(RuntimeError, match="divisor must be not zero"):
        F.avg_pool2d(x, 2, divisor_override=0)
    with pytest.raises(RuntimeError, match="3D or 4D"):
        F.max_pool2d(leafgrad.ones(3, 3), 2)


def test_interpolate_errors():
    x = leafgrad.ones(1, 1, 3, 3)
    with pytest.raises(ValueError, match="either size or scale_factor should be defined"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="only one of size or scale_factor should be defined"):
        F.interpolate(x, size=4, scale_factor=2)
    with pytest.raises(ValueError, match="align_corners option can only be set with the "
                                         "interpolating modes"):
        F.interpolate(x, scale_factor=2, align_corners=True)
    with pytest.raises(NotImplementedError, match="Got 3D input, but bilinear mode needs 4D"):
        F.interpolate(leafgrad.ones(1, 1, 3), scale_factor=2, mode="bilinear")


# -- convolutions ----------------------------------------------------------------------------
def test_conv_errors_name_the_shapes_like_torch():
    x = leafgrad.ones(1, 4, 8, 8)
    with pytest.raises(RuntimeError, match=r"Given groups=1, weight of size \[6, 3, 5, 5\], "
                                           r"expected input\[1, 4, 8, 8\] to have 3 channels, "
                                           r"but got 4 channels instead"):
        F.conv2d(x, leafgrad.ones(6, 3, 5, 5))
    with pytest.raises(RuntimeError, match="expected weight to be divisible by 2 at "
                                           "dimension 0"):
        F.conv2d(x, leafgrad.ones(3, 2, 3, 3), groups=2)
    with pytest.raises(RuntimeError, match=r"Expected 3D \(unbatched\) or 4D \(batched\) input "
                                           r"to conv2d, but got input of size: \[2, 3\]"):
        F.conv2d(leafgrad.ones(2, 3), leafgrad.ones(6, 3, 5, 5))
    with pytest.raises(RuntimeError, match=r"Kernel size: \(3 x 3\). Kernel size can't be "
                                           r"greater than actual input size"):
        F.conv2d(leafgrad.ones(1, 4, 2, 2), leafgrad.ones(6, 4, 3, 3))
    with pytest.raises(RuntimeError, match="padding='same' is not supported for strided"):
        F.conv2d(x, leafgrad.ones(6, 4, 3, 3), stride=2, padding="same")
    with pytest.raises(RuntimeError, match="Invalid padding string: 'foo'"):
        F.conv2d(x, leafgrad.ones(6, 4, 3, 3), padding="foo")
    with pytest.raises(RuntimeError, match="expected bias to be 1-dimensional with 6 elements, "
                                           r"but got bias of size \[5\]"):
        F.conv2d(x, leafgrad.ones(6, 4, 3, 3), leafgrad.ones(5))
    with pytest.raises(RuntimeError, match="expected scalar type Double but found Float"):
        F.conv2d(x.double(), leafgrad.ones(6, 4, 3, 3))
    with pytest.raises(RuntimeError, match=r"Given transposed=1, weight of size \[3, 6, 3, 3\], "
                                           r"expected input\[1, 4, 8, 8\] to have 3 channels"):
        F.conv_transpose2d(x, leafgrad.ones(3, 6, 3, 3))
    with pytest.raises(RuntimeError, match="output padding must be smaller than either stride "
                                           "or dilation"):
        F.conv_transpose2d(x, leafgrad.ones(4, 6, 3, 3), output_padding=1)


def test_conv_float32_stays_float32():
    x = leafgrad.tensor(random(2, 3, 6, 6), requires_grad=True)
    weight = leafgrad.tensor(random(4, 3, 3, 3, seed=1), requires_grad=True)
    out = F.max_pool2d(F.conv2d(x, weight, padding=1), 2)
    out = F.batch_norm(out, None, None, training=True)
    assert out.dtype == leafgrad.float32
    out.sum().backward()
    assert x.grad.dtype == leafgrad.float32 and weight.grad.dtype == leafgrad.float32


def test_conv2d_double_backward_matches_torch(torch):
    x, weight = random(2, 2, 5, 5).astype(np.float64), random(3, 2, 3, 3, seed=1).astype(
        np.float64)

    def penalty(module, x, weight):
        """The squared norm of the input gradient (a gradient penalty), differentiated again."""
        xt = module.tensor(x, requires_grad=True)
        wt = module.tensor(weight, requires_grad=True)
        out = module.nn.functional.conv2d(xt, wt, stride=2, padding=1).tanh().sum()
        (grad_x,) = module.autograd.grad(out, [xt], create_graph=True)
        (grad_x * grad_x).sum().backward()
        return xt.grad.detach().numpy(), wt.grad.detach().numpy()

    for ours, theirs in zip(penalty(leafgrad, x, weight), penalty(torch, x, weight)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


@pytest.fixture(params=["per_sample", "batch_last"])
def conv_layout(request, monkeypatch):
    """Force either layout of leafgrad's convolution products (chosen by image size, so tiny
    test images would otherwise take only the batch-last one)."""
    from leafgrad.ops import conv
    monkeypatch.setattr(conv, "_BATCH_LAST_BELOW",
                        0 if request.param == "per_sample" else math.inf)
    return request.param


@pytest.mark.parametrize("name,shapes,kwargs", [
    ("conv2d", ((2, 3, 6, 5), (4, 3, 3, 3)), {"padding": 1}),
    ("conv2d", ((2, 4, 7, 6), (6, 2, 2, 3)), {"stride": (2, 1), "padding": (1, 0),
                                              "dilation": (1, 2), "groups": 2}),
    ("conv2d", ((1, 2, 5, 5), (2, 2, 3, 1)), {"padding": "same", "dilation": (2, 1)}),
    ("conv1d", ((2, 2, 9), (3, 2, 3)), {"stride": 2, "padding": 2, "dilation": 2}),
    ("conv_transpose2d", ((2, 4, 3, 4), (4, 3, 3, 2)), {"stride": 2, "padding": 1,
                                                        "output_padding": 1, "groups": 2}),
])
def test_conv_layouts_match_torch(torch, conv_layout, name, shapes, kwargs):
    """Values, gradients and second derivatives (a gradient penalty) as torch's, in both
    layouts of the products."""
    arrays = [random(*shape, seed=i).astype(np.float64) for i, shape in enumerate(shapes)]
    bias = random(arrays[1].shape[1] * kwargs.get("groups", 1) if name == "conv_transpose2d"
                  else arrays[1].shape[0], seed=3).astype(np.float64)

    def run(module):
        x, weight, b = (module.tensor(a, requires_grad=True) for a in arrays + [bias])
        out = getattr(module.nn.functional, name)(x, weight, b, **kwargs)
        grads = module.autograd.grad(out.tanh().sum(), [x, weight, b], create_graph=True)
        sum(g.square().sum() for g in grads).backward()
        return [as_numpy(t) for t in (out, *grads, x.grad, weight.grad, b.grad)]

    for ours, theirs in zip(run(leafgrad), run(torch)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_conv_on_an_empty_batch_matches_torch(torch, conv_layout):
    shapes = {"x": (0, 3, 6, 6), "weight": (4, 3, 3, 3)}

    def run(module):
        x, weight = (module.tensor(random(*shape), requires_grad=True)
                     for shape in shapes.values())
        out = module.nn.functional.conv2d(x, weight, padding=1)
        out.sum().backward()
        return [as_numpy(t) for t in (out, x.grad, weight.grad)]

    for ours, theirs in zip(run(leafgrad), run(torch)):
        assert ours.shape == theirs.shape
        np.testing.assert_array_equal(ours, theirs)
    with pytest.raises(RuntimeError, match="expected weight to be at least 1 at dimension 0"):
        F.conv2d(leafgrad.ones(1, 3, 6, 6), leafgrad.ones(0, 3, 3, 3))


def test_conv_layouts_gradgradcheck(conv_layout):
    x = leafgrad.tensor(random(2, 2, 4, 3).astype(np.float64), requires_grad=True)
    weight = leafgrad.tensor(random(3, 2, 2, 2, seed=1).astype(np.float64), requires_grad=True)
    for args in ((x, weight), (x, leafgrad.tensor(random(2, 3, 2, 2, seed=2).astype(
            np.float64), requires_grad=True))):
        op = F.conv2d if args[1].shape[1] == 2 else F.conv_transpose2d
        assert gradgradcheck(lambda a, w, op=op: op(a, w, stride=(1, 2), padding=1), args)


# -- losses ----------------------------------------------------------------------------------
def test_cross_entropy_with_every_target_ignored(torch):
    logits = leafgrad.tensor(random(3, 5), requires_grad=True)
    targets = leafgrad.tensor([-100, -100, -100])
    mean = F.cross_entropy(logits, targets)
    assert np.isnan(mean.item())
    assert F.cross_entropy(logits, targets, reduction="sum").item() == 0.0
    assert F.cross_entropy(logits, targets, reduction="none").tolist() == [0.0, 0.0, 0.0]
    assert np.isnan(F.cross_entropy(logits, targets, label_smoothing=0.1).item())
    mean.backward()
    assert not logits.grad.numpy().any()  # torch: zeros, not nan
    expected = torch.nn.functional.cross_entropy(torch.tensor(random(3, 5)),
                                                 torch.tensor([-100, -100, -100]))
    assert np.isnan(expected.item())


def test_cross_entropy_weighted_mean_divides_by_the_weights_of_the_kept_targets():
    logits = leafgrad.zeros(3, 2)  # every log-probability is log(1/2)
    weight = leafgrad.tensor([1.0, 3.0])
    loss = F.cross_entropy(logits, leafgrad.tensor([0, 1, -100]), weight=weight)
    assert loss.item() == pytest.approx(np.log(2))  # (1 + 3) * log 2 / (1 + 3)
    total = F.cross_entropy(logits, leafgrad.tensor([0, 1, 1]), weight=weight, reduction="sum")
    assert total.item() == pytest.approx(7 * np.log(2))


def test_cross_entropy_is_stable_for_large_logits():
    logits = leafgrad.tensor([[1000.0, -1000.0]], requires_grad=True)
    loss = F.cross_entropy(logits, leafgrad.tensor([1]))
    loss.backward()
    assert loss.item() == pytest.approx(2000.0)
    assert logits.grad.tolist() == [[1.0, -1.0]]


def test_nll_loss_gradient_with_zero_total_weight_is_nan_at_the_targets(torch):
    x = random(3, 5).astype(np.float64)
    ours = leafgrad.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    target = np.array([1, 2, 3])
    F.nll_loss(ours, leafgrad.tensor(target), weight=leafgrad.zeros(5, dtype=leafgrad.float64)
               ).backward()
    torch.nn.functional.nll_loss(theirs, torch.tensor(target),
                                 weight=torch.zeros(5, dtype=torch.float64)).backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())  # nan vs nan too


def test_binary_cross_entropy_clamps_the_log_like_torch():
    p = leafgrad.tensor([0.0, 1.0], requires_grad=True)
    loss = F.binary_cross_entropy(p, leafgrad.tensor([1.0, 0.0]), reduction="none")
    assert loss.tolist() == [100.0, 100.0]
    loss.sum().backward()
    assert p.grad.tolist() == pytest.approx([-1e12, 1e12])  # (p - t) / max(p (1 - p), 1e-12)


def test_binary_cross_entropy_with_logits_is_stable():
    logits = leafgrad.tensor([-800.0, 800.0], dtype=leafgrad.float64)
    loss = F.binary_cross_entropy_with_logits(logits, leafgrad.tensor([1.0, 0.0],
                                                                     dtype=leafgrad.float64),
                                              reduction="none")
    assert loss.tolist() == [800.0, 800.0]


def test_loss_errors():
    x, target = leafgrad.zeros(3, 5), leafgrad.tensor([1, 0, 5])
    with pytest.raises(IndexError, match="Target 5 is out of bounds."):
        F.cross_entropy(x, target)
    with pytest.raises(ValueError, match=r"Expected input batch_size \(3\) to match target "
                                         r"batch_size \(2\)."):
        F.nll_loss(x, leafgrad.tensor([1, 0]))
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte, but got "
                                           "Int"):
        F.nll_loss(x, leafgrad.tensor([1, 0, 2], dtype=leafgrad.int32))
    with pytest.raises(RuntimeError, match=r"Expected target size \[2, 3\], got \[2, 2\]"):
        F.cross_entropy(leafgrad.zeros(2, 5, 3), leafgrad.tensor([[1, 2], [3, 4]]))
    with pytest.raises(RuntimeError, match="label_smoothing must be between 0.0 and 1.0"):
        F.cross_entropy(x, leafgrad.tensor([1, 0, 2]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        F.mse_loss(x, x, reduction="foo")
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(leafgrad.tensor([1.5]), leafgrad.tensor([1.0]))
    with pytest.raises(ValueError, match="must be the same as input size"):
        F.binary_cross_entropy_with_logits(leafgrad.zeros(3, 1), leafgrad.zeros(3))
    with pytest.raises(RuntimeError, match="not differentiable with respect to argument "
                                           "'weight'"):
        F.nll_loss(x, leafgrad.tensor([1, 0, 2]), weight=leafgrad.ones(5, requires_grad=True))
    with pytest.raises(RuntimeError, match="huber_loss does not support non-positive values"):
        F.huber_loss(x, x, delta=0.0)


def test_loss_warnings():
    x, y = leafgrad.zeros(3, 1), leafgrad.zeros(3)
    with pytest.warns(UserWarning, match="different to the input size"):
        F.mse_loss(x, y)
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated, "
                                         "please use reduction='sum' instead"):
        loss = F.l1_loss(leafgrad.ones(4), leafgrad.zeros(4), size_average=False)
    assert loss.item() == 4.0
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        F.kl_div(leafgrad.zeros(2, 2), leafgrad.ones(2, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.kl_div(leafgrad.zeros(2, 2), leafgrad.ones(2, 2), reduction="batchmean")


SECOND_DERIVATIVE_ZERO = {
    "avg_pool2d": lambda m, x: m.nn.functional.avg_pool2d(x, 2),
    "max_pool2d": lambda m, x: m.nn.functional.max_pool2d(x, 2),
    "nll_loss": lambda m, x: m.nn.functional.nll_loss(x.reshape(4, 4), m.tensor([0, 3, 1, 2])),
}


@pytest.mark.parametrize("name", SECOND_DERIVATIVE_ZERO)
def test_second_derivative_with_respect_to_the_input_is_zeros_as_torch(name, torch):
    """torch's backward formulas of these ops read their input without depending on it: the
    derivative of their gradient with respect to the input is zeros, not None."""
    rng = np.random.default_rng(0)
    x_np = rng.normal(size=(1, 1, 4, 4))
    results = []
    for module in (torch, leafgrad):
        x = module.tensor(x_np, requires_grad=True)
        out = SECOND_DERIVATIVE_ZERO[name](module, x)
        cotangent = module.tensor(rng.normal(size=tuple(out.shape)))
        (grad,) = module.autograd.grad(out, x, cotangent, create_graph=True)
        (second,) = module.autograd.grad((grad * grad).sum(), x, allow_unused=True)
        results.append(second)
    theirs, ours = results
    assert theirs is not None and ours is not None
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
