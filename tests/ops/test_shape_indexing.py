"""Hand-checked cases for shape and indexing ops: views share storage and the version counter
with their base, in-place ops on views reach the base's gradient, errors name the op and the
shapes, and failed calls leave their inputs unchanged. Values and gradients of every op on
random inputs are checked against PyTorch by ``test_ops.py``."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import leafgrad
import leafgrad.nn.functional as F


def matrix():
    return leafgrad.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])


# -- views share storage and the version counter ---------------------------------------------
VIEWS = {
    "view": lambda x: x.view(3, 2),
    "reshape": lambda x: x.reshape(-1),
    "t": lambda x: x.t(),
    "permute": lambda x: x.permute(1, 0),
    "transpose": lambda x: x.transpose(0, -1),
    "unsqueeze": lambda x: x.unsqueeze(1),
    "unsqueeze_of_t": lambda x: x.t().unsqueeze(0),
    "squeeze": lambda x: x[None].squeeze(0),
    "flatten": lambda x: x.flatten(),
    "unflatten": lambda x: x.unflatten(1, (3, 1)),
    "movedim": lambda x: x.movedim(0, 1),
    "narrow": lambda x: x.narrow(1, 1, 2),
    "slice": lambda x: x[:, ::2],
    "int_index": lambda x: x[1],
    "single_element": lambda x: x[1, -1],  # a 0-dim view, not a copied scalar
    "ellipsis_none": lambda x: x[..., None, 1],
    "unbind": lambda x: x.unbind(1)[2],
    "split": lambda x: x.split(2, dim=1)[1],
    "chunk": lambda x: x.chunk(2, dim=1)[0],
    "diagonal": lambda x: x.diagonal(offset=1),
    "expand": lambda x: x[:1].expand(4, 3),
}


@pytest.mark.parametrize("name", list(VIEWS))
def test_views_share_storage_and_version_with_their_base(name):
    base = matrix()
    view = VIEWS[name](base)
    assert view._base is base
    assert view.untyped_storage_id() == base.untyped_storage_id()
    before = base._version
    base.mul_(10)  # a write through the base shows in the view ...
    assert view._version == base._version == before + 1
    assert np.all(view.numpy() % 10 == 0)
    if name != "expand":  # ... and one through the view in the base (expand is read-only)
        view.add_(1)
        assert base._version == view._version == before + 2
        assert np.count_nonzero(base.numpy() % 10 == 1) == view.numel()


@pytest.mark.parametrize("name,make", [
    ("cat", lambda x: leafgrad.cat([x, x])),
    ("stack", lambda x: leafgrad.stack([x])),
    ("repeat", lambda x: x.repeat(1, 1)),
    ("flip", lambda x: x.flip(0)),
    ("roll", lambda x: x.roll(1)),
    ("diag", lambda x: x.diag()),
    ("pad", lambda x: F.pad(x, (0, 0))),
    ("int_tensor_index", lambda x: x[leafgrad.tensor([0, 1])]),
    ("mask_index", lambda x: x[x > 2]),
    ("gather", lambda x: x.gather(1, leafgrad.tensor([[0], [1]]))),
    ("reshape_of_non_contiguous", lambda x: x.t().reshape(-1)),
])
def test_copying_ops_do_not_share_storage(name, make):
    base = matrix()
    out = make(base)
    assert out._base is None
    out.zero_()
    assert base.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert base._version == 0


def test_view_of_a_non_contiguous_tensor_raises_and_names_reshape():
    with pytest.raises(RuntimeError, match=r"view size is not compatible.*reshape"):
        matrix().t().view(6)
    assert matrix().t().reshape(6).tolist() == [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]


def test_view_as_a_dtype_reinterprets_the_bytes():
    x = leafgrad.tensor([1.0, -2.0], requires_grad=True)
    bits = x.view(leafgrad.int32)
    assert bits.tolist() == np.array([1.0, -2.0], dtype=np.float32).view(np.int32).tolist()
    assert not bits.requires_grad  # as torch: view(dtype) is not differentiable
    assert x.view(leafgrad.int16).shape == (4,)


def test_squeeze_of_a_dimension_that_is_not_one_is_a_no_op():
    x = leafgrad.zeros(2, 1, 3)
    assert x.squeeze(0).shape == (2, 1, 3)
    assert x.squeeze((0, 1)).shape == (2, 3)
    assert x.squeeze(-2).shape == (2, 3)
    assert x.squeeze().shape == (2, 3)
    with pytest.raises(RuntimeError, match="dim 1 appears multiple times"):
        x.squeeze((1, -2))


def test_reversing_dims_with_T_beyond_two_dims_warns_and_mT_needs_a_matrix():
    with pytest.warns(UserWarning, match="x.T"):
        assert leafgrad.zeros(2, 3, 4).T.shape == (4, 3, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert matrix().T.shape == (3, 2)
    assert leafgrad.zeros(5, 2, 3).mT.shape == (5, 3, 2)
    with pytest.raises(RuntimeError, match="mT is only supported on matrices"):
        _ = leafgrad.zeros(3).mT


# -- in-place ops on views -------------------------------------------------------------------
def both(fn, *arrays):
    """Run ``fn(module, *leaves)`` in leafgrad and torch (the arrays become leaves requiring
    grad); return, for each, the leaves' gradients of a weighted sum of the output, and the
    output."""
    torch = pytest.importorskip("torch")
    results = []
    for module in (leafgrad, torch):
        leaves = [module.tensor(a, requires_grad=True) for a in arrays]
        out = fn(module, *leaves)
        (out * module.tensor(np.arange(out.numel(), dtype=np.float64)).reshape(out.shape)
         ).sum().backward()
        results.append(([leaf.grad.numpy() for leaf in leaves], out.detach().numpy()))
    return results


def _mul_row_in_place(m, x):
    y = x * 2
    y[0].mul_(3)
    return y


def _mul_element_in_place(m, x):
    y = x * 2
    y[1, 0].mul_(x[0, 1])
    return y


def _assign_column(m, x, z):
    y = x * 2
    y[:, 1] = z
    return y


def _scale_diagonal(m, x):
    y = x * 1
    y.diagonal().mul_(x[0, 0])
    return y


def _add_through_two_views(m, x, z):
    y = x * 1
    y.t()[1:].add_(z)
    return y


def _masked_fill_a_view(m, x, value):
    y = x * 1
    y[1:].masked_fill_(x[1:] > 0, value)
    return y


def _scatter_into_a_view(m, x, src):
    y = x * 1
    y[:, 1:].scatter_(1, m.tensor([[1, 0], [0, 1]]), src)
    return y


def _index_add_into_a_view(m, x, source):
    y = x * 1
    y.narrow(1, 0, 2).index_add_(0, m.tensor([1, 1, 0]), source)
    return y


def _view_changed_then_base_used(m, x):
    y = x * 2
    row = y[1]
    row.add_(x[0])
    return y * row  # the view and the base both carry the in-place change


@pytest.mark.parametrize("fn,shapes", [
    (_mul_row_in_place, [(2, 3)]),
    (_mul_element_in_place, [(2, 3)]),
    (_assign_column, [(2, 3), (2,)]),
    (_scale_diagonal, [(3, 3)]),
    (_add_through_two_views, [(2, 3), (2, 2)]),
    (_masked_fill_a_view, [(3, 2), ()]),
    (_scatter_into_a_view, [(2, 3), (2, 2)]),
    (_index_add_into_a_view, [(2, 3), (3, 2)]),
    (_view_changed_then_base_used, [(2, 3)]),
])
def test_in_place_ops_on_views_of_non_leaves_backpropagate_into_the_base(fn, shapes):
    arrays = [np.random.default_rng(i).standard_normal(s) for i, s in enumerate(shapes)]
    (ours, ours_out), (ref, ref_out) = both(fn, *arrays)
    np.testing.assert_allclose(ours_out, ref_out, rtol=1e-12)
    for g_ours, g_ref in zip(ours, ref):
        np.testing.assert_allclose(g_ours, g_ref, rtol=1e-12, atol=1e-12)


def test_in_place_on_a_view_records_on_the_base():
    x = leafgrad.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x * 1
    row = y[0]
    row.mul_(3)
    assert y._version == row._version == 1
    assert y.grad_fn is not None and row.grad_fn is not None
    y.sum().backward()
    assert x.grad.tolist() == [[3.0, 3.0], [1.0, 1.0]]


@pytest.mark.parametrize("make_view", [lambda x: x[0], lambda x: x.diagonal(),
                                       lambda x: x.t(), lambda x: x.view(-1)])
@pytest.mark.parametrize("write", [lambda v: v.mul_(2), lambda v: v.masked_fill_(v > 0, 1.0),
                                   lambda v: v.__setitem__(0, 5.0)])
def test_in_place_on_a_view_of_a_leaf_requiring_grad_raises(make_view, write):
    x = leafgrad.ones(2, 2, requires_grad=True)
    view = make_view(x)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        write(view)
    assert x.tolist() == [[1.0, 1.0], [1.0, 1.0]] and x._version == 0


@pytest.mark.parametrize("write", [
    lambda x: x.scatter_(0, leafgrad.tensor([[0, 1]]), 0.0),
    lambda x: x.scatter_add_(0, leafgrad.tensor([[0, 1]]), leafgrad.ones(1, 2)),
    lambda x: x.index_add_(0, leafgrad.tensor([0]), leafgrad.ones(1, 2)),
    lambda x: x.masked_fill_(x > 0, 0.0),
])
def test_in_place_indexing_ops_on_a_leaf_requiring_grad_raise(write):
    x = leafgrad.ones(2, 2, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        write(x)
    with leafgrad.no_grad():
        write(x)
    assert x._version == 1


def test_modifying_a_view_of_a_saved_output_is_detected_at_backward():
    x = leafgrad.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()  # exp saves its result
    y[0].mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


# -- gradients that need a second look -------------------------------------------------------
def test_masked_fill_with_a_tensor_value_sends_it_the_masked_gradient():
    x = leafgrad.zeros(2, 3, requires_grad=True)
    value = leafgrad.tensor(2.0, requires_grad=True)
    mask = leafgrad.tensor([True, False, True])
    out = x.masked_fill(mask, value)
    (out * leafgrad.arange(6.0).reshape(2, 3)).sum().backward()
    assert value.grad.item() == 0.0 + 2.0 + 3.0 + 5.0
    assert x.grad.tolist() == [[0.0, 1.0, 0.0], [0.0, 4.0, 0.0]]


def test_gather_with_repeated_indices_accumulates_the_gradient():
    x = leafgrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x.gather(0, leafgrad.tensor([2, 2, 0, 2])).sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 3.0]


def test_scatter_gives_no_gradient_to_overwritten_elements():
    x = leafgrad.ones(2, 2, requires_grad=True)
    src = leafgrad.full((1, 2), 5.0, requires_grad=True)
    out = x.scatter(0, leafgrad.tensor([[1, 0]]), src)
    assert out.tolist() == [[1.0, 5.0], [5.0, 1.0]]
    (out * leafgrad.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    assert x.grad.tolist() == [[1.0, 0.0], [0.0, 4.0]]
    assert src.grad.tolist() == [[3.0, 2.0]]


def test_scatter_src_larger_than_index_gets_zero_gradient_outside_it():
    # torch refuses this backward (a gradient of the index's shape); leafgrad pads it with zeros
    src = leafgrad.ones(2, 3, requires_grad=True)
    leafgrad.zeros(2, 2).scatter_add(1, leafgrad.tensor([[1], [0]]), src).sum().backward()
    assert src.grad.tolist() == [[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]


def test_scatter_with_reduce_has_no_derivative():
    x = leafgrad.ones(2, 2, requires_grad=True)
    with pytest.warns(UserWarning, match="reduce argument"):
        out = x.scatter(0, leafgrad.tensor([[0, 0]]), leafgrad.ones(1, 2), reduce="add")
    assert out.tolist() == [[2.0, 2.0], [1.0, 1.0]]
    with pytest.raises(RuntimeError, match="derivative for scatter with reduce='add'"):
        out.sum().backward()


def test_pad_gradient_sums_the_copies_of_each_element():
    x = leafgrad.tensor([[[1.0, 2.0, 3.0]]], requires_grad=True)
    F.pad(x, (2, 2), mode="reflect").sum().backward()  # out: 3 2 | 1 2 3 | 2 1
    assert x.grad.tolist() == [[[2.0, 3.0, 2.0]]]
    x.grad = None
    F.pad(x, (2, 1), mode="replicate").sum().backward()  # out: 1 1 | 1 2 3 | 3
    assert x.grad.tolist() == [[[3.0, 1.0, 2.0]]]
    x.grad = None
    F.pad(x, (-1, 1), value=7.0).sum().backward()  # out: 2 3 7
    assert x.grad.tolist() == [[[0.0, 1.0, 1.0]]]


def test_cat_skips_one_dimensional_empty_tensors_and_gives_them_an_empty_gradient():
    empty = leafgrad.zeros(0, dtype=leafgrad.float64, requires_grad=True)
    x = leafgrad.ones(2, 2, requires_grad=True)
    out = leafgrad.cat([empty, x, empty], dim=-1)
    assert out.shape == (2, 2) and out.dtype == leafgrad.float64  # promoted by the empty one
    out.sum().backward()
    assert empty.grad.shape == (0,) and x.grad.tolist() == [[1.0, 1.0], [1.0, 1.0]]


# -- errors name the op, the shapes and the fix; failed calls change nothing -----------------
@pytest.mark.parametrize("call,error,message", [
    (lambda x: x[2], IndexError, "index 2 is out of bounds for dimension 0 with size 2"),
    (lambda x: x[:, leafgrad.tensor([0, 3])], IndexError, "index 3 is out of bounds"),
    (lambda x: x[leafgrad.tensor([True, False, True])], IndexError, r"shape of the mask \[3\]"),
    (lambda x: x[0, 0, 0], IndexError, "too many indices"),
    (lambda x: x[1.5], IndexError, "only integers, slices"),
    (lambda x: x[:, ::-1], ValueError, "step must be greater than zero"),
    (lambda x: x[::0], ValueError, "slice step cannot be zero"),
    (lambda x: x.__setitem__(slice(None, None, -1), 1.0), ValueError,
     "step must be greater than zero"),
    (lambda x: x.reshape(2.0, 3), TypeError,
     "reshape.*must be tuple of ints, but found element of type float at pos 0"),
    (lambda x: x.reshape((3, True)), TypeError, "type bool at pos 1"),
    (lambda x: x.view(6.0), TypeError, "view.*must be tuple of ints"),
    (lambda x: x.expand(2, 3.0), TypeError, "expand.*type float at pos 1"),
    (lambda x: x.permute(1.0, 0), TypeError, "permute.*must be tuple of ints"),
    (lambda x: x.repeat(1, 2.5), TypeError, "repeat.*must be tuple of ints"),
    (lambda x: x.__setitem__(0, leafgrad.ones(2)), RuntimeError,
     r"shape mismatch: value tensor of shape \[2\] cannot be broadcast .* shape \[3\]"),
    (lambda x: x[leafgrad.tensor([0.0])], IndexError, "must be long, int, byte or bool"),
    (lambda x: x.gather(0, leafgrad.tensor([[0.0]])), RuntimeError,
     "gather.*Expected dtype int32/int64 for index"),
    (lambda x: x.gather(0, leafgrad.tensor([[2]])), RuntimeError,
     "gather.*index 2 is out of bounds for dimension 0 with size 2"),
    (lambda x: x.gather(0, leafgrad.tensor([0])), RuntimeError, "same number of dimensions"),
    (lambda x: x.gather(2, leafgrad.tensor([[0]])), IndexError, "Dimension out of range"),
    (lambda x: x.scatter(1, leafgrad.tensor([[-1]]), 0.0), RuntimeError,
     "scatter.*index -1 is out of bounds"),
    (lambda x: x.scatter(1, leafgrad.tensor([[0]]), leafgrad.ones(1, 1, dtype=leafgrad.int64)),
     RuntimeError, "Expected self.dtype to be equal to src.dtype"),
    (lambda x: x.index_select(1, leafgrad.tensor([3])), RuntimeError,
     r"index_select.*index 3 is out of bounds for dimension 1 with size 3"),
    (lambda x: x.index_select(1, leafgrad.tensor([[0]])), IndexError, "supposed to be a vector"),
    (lambda x: x.index_add(1, leafgrad.tensor([0]), leafgrad.ones(2, 2)), RuntimeError,
     r"Number of indices \(1\) should be equal to source.size\(dim\): \(2\)"),
    (lambda x: x.masked_fill(leafgrad.tensor([1, 0, 1]), 0.0), RuntimeError,
     "only supports boolean masks.*bool"),
    (lambda x: x.masked_fill(leafgrad.tensor([True, False]), 0.0), RuntimeError,
     r"mask \[2\] does not broadcast with the input's shape \[2, 3\]"),
    (lambda x: x.masked_fill(x > 1, leafgrad.ones(1)), RuntimeError, "0-dimensional value"),
    (lambda x: x.take_along_dim(leafgrad.tensor([[0]], dtype=leafgrad.int32), 1), RuntimeError,
     "indices should be Long"),
    (lambda x: leafgrad.cat([x, leafgrad.ones(3, 2)]), RuntimeError,
     r"Sizes of tensors must match except in dimension 0.*\[2, 3\] and \[3, 2\]"),
    (lambda x: leafgrad.cat([x, leafgrad.tensor(1.0)]), RuntimeError,
     "zero-dimensional tensor .at position 1. cannot be concatenated"),
    (lambda x: leafgrad.cat(x), TypeError, "must be tuple of Tensors"),
    (lambda x: leafgrad.stack([x, x.t()]), RuntimeError,
     r"stack expects each tensor to be equal size, but got \[2, 3\] at entry 0 and \[3, 2\]"),
    (lambda x: x.repeat(2), RuntimeError, "use tile"),
    (lambda x: x.flip((0, -2)), RuntimeError, "dim 0 appears multiple times"),
    (lambda x: x.roll((1, 2), 0), RuntimeError, "shifts and dimensions must align"),
    (lambda x: x.diagonal(0, 1, -1), RuntimeError, "diagonal dimensions cannot be identical"),
    (lambda x: x.movedim((0, 0), (0, 1)), RuntimeError, "repeated dim in `source`"),
    (lambda x: x.permute(0, 0), RuntimeError, "duplicate dims"),
    (lambda x: x.narrow(1, 2, 2), RuntimeError, r"start \(2\) \+ length \(2\) exceeds"),
    (lambda x: F.pad(x, (1,)), RuntimeError, "Padding length must be divisible by 2"),
    (lambda x: F.pad(x, (-2, -2)), RuntimeError, r"negative padding \(-2, -2\) crops more"),
    (lambda x: F.pad(x, (1, 1, 1, 1), mode="reflect"), NotImplementedError,
     "Padding size 4 is not supported for 2D"),
    (lambda x: F.pad(x[None], (3, 0), mode="reflect"), RuntimeError,
     "Padding size should be less than the corresponding input dimension"),
    (lambda x: F.pad(x[None], (4, 0), mode="circular"), RuntimeError, "wrapping around"),
    (lambda x: F.pad(x[None], (1, 0), mode="replicate", value=1.0), RuntimeError,
     "doesn't take in value argument"),
    (lambda x: F.pad(x, (1, 1), mode="zeros"), NotImplementedError, "Unrecognised padding mode"),
])
def test_bad_arguments_raise_torch_errors_that_name_the_problem(call, error, message):
    x = matrix()
    with pytest.raises(error, match=message):
        call(x)
    assert x.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]] and x._version == 0


@pytest.mark.parametrize("write", [
    lambda y: y.scatter_(0, leafgrad.tensor([[0, 2]]), leafgrad.ones(1, 2)),
    lambda y: y.scatter_(0, leafgrad.tensor([[0, 1, 1, 0]]), 1.0),
    lambda y: y.scatter_add_(1, leafgrad.tensor([[0, 3]]), leafgrad.ones(1, 2)),
    lambda y: y.index_add_(0, leafgrad.tensor([0, 2]), leafgrad.ones(2, 3)),
    lambda y: y.index_add_(0, leafgrad.tensor([0]), leafgrad.ones(1, 3, dtype=leafgrad.int64)),
    lambda y: y.masked_fill_(leafgrad.tensor([[True], [False], [True]]), 1.0),
    lambda y: y.masked_fill_(leafgrad.tensor([[True], [False]]).expand(2, 2), 1.0),
    lambda y: y.__setitem__((slice(None), leafgrad.tensor([0, 5])), 1.0),
    lambda y: y.__setitem__(0, leafgrad.ones(2)),
    lambda y: y[1].scatter_(0, leafgrad.tensor([3]), 1.0),
])
@pytest.mark.parametrize("requires_grad", [False, True])
def test_a_failed_in_place_call_leaves_its_target_unchanged(write, requires_grad):
    x = matrix().requires_grad_(requires_grad)
    y = x * 1 if requires_grad else x
    history = y.grad_fn
    with pytest.raises((RuntimeError, IndexError)):
        write(y)
    assert y.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert y._version == 0 and y.grad_fn is history


def test_index_tensors_are_copied_so_later_changes_do_not_alter_the_gradient():
    x = leafgrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    index = leafgrad.tensor([0, 0])
    out = x.index_select(0, index)
    index[1] = 2
    out.sum().backward()
    assert x.grad.tolist() == [2.0, 0.0, 0.0]


# -- small semantic cases --------------------------------------------------------------------
TENSOR_KEYS = {"tensor_1": lambda m, x: m.tensor(1), "mask": lambda m, x: x > 1}


@pytest.mark.parametrize("index,value", [
    (True, 5.0), (False, 5.0), ((0, None, slice(1, None)), [1.0, 2.0]), (Ellipsis, 2.0),
    ("tensor_1", 4.0), ((slice(None), [2, 0]), [[1.0], [2.0]]), ("mask", -1.0),
    ((slice(None, None, 2), -1), [[[7.0]]]),
])
def test_setitem_forms_write_what_torch_writes(index, value):
    torch = pytest.importorskip("torch")
    results = []
    for module in (leafgrad, torch):
        x = module.zeros(2, 3) + module.arange(3.0)
        key = TENSOR_KEYS[index](module, x) if isinstance(index, str) else index
        x[key] = module.tensor(value) if isinstance(value, list) else value
        results.append(x.tolist())
    assert results[0] == results[1]


def test_an_empty_list_index_selects_nothing_as_torch():  # review #19
    x = leafgrad.arange(6.0).reshape(2, 3).requires_grad_()
    assert x[[]].shape == (0, 3) and x[:, []].shape == (2, 0)
    x[[]].sum().backward()
    assert x.grad.tolist() == [[0.0] * 3] * 2
    y = leafgrad.zeros(3)
    y[[]] = 1.0
    assert y.tolist() == [0.0] * 3


def test_integer_sizes_from_numpy_and_tensors_are_accepted():
    x = leafgrad.ones(6)
    assert x.reshape(np.int64(2), leafgrad.tensor(3)).shape == (2, 3)
    assert x.view([np.int32(3), -1]).shape == (3, 2)


def test_nonzero_of_a_zero_dim_tensor_counts_it_as_one_dimensional():
    assert leafgrad.nonzero(leafgrad.tensor(5.0)).shape == (1, 0)
    assert leafgrad.nonzero(leafgrad.tensor(0.0)).shape == (0, 0)
    (index,) = leafgrad.tensor(5.0).nonzero(as_tuple=True)
    assert index.tolist() == [0] and index.dtype == leafgrad.int64
    assert leafgrad.argwhere(matrix()).tolist() == [[0, 1], [0, 2], [1, 0], [1, 1], [1, 2]]


def test_repeat_tiles_the_whole_tensor_unlike_numpy_repeat():
    x = leafgrad.tensor([1, 2])
    assert x.repeat(2).tolist() == [1, 2, 1, 2]
    assert x.repeat(2, 1).tolist() == [[1, 2], [1, 2]]
    assert leafgrad.tile(leafgrad.tensor([[1, 2]]), (2,)).tolist() == [[1, 2, 1, 2]]


def test_roll_without_dims_rolls_the_flattened_tensor():
    assert matrix().roll(1).tolist() == [[5.0, 0.0, 1.0], [2.0, 3.0, 4.0]]
    assert matrix().roll((1, -1), (0, 1)).tolist() == [[4.0, 5.0, 3.0], [1.0, 2.0, 0.0]]


def test_cat_promotes_dtypes_and_accepts_axis():
    out = leafgrad.cat([leafgrad.tensor([1], dtype=leafgrad.int32),
                        leafgrad.tensor([True])], axis=0)
    assert out.dtype == leafgrad.int32 and out.tolist() == [1, 1]
    assert leafgrad.concat([matrix(), matrix()], -1).shape == (2, 6)
    assert leafgrad.hstack([leafgrad.tensor(1.0), leafgrad.ones(2)]).shape == (3,)
    assert leafgrad.vstack([leafgrad.ones(3), matrix()]).shape == (3, 3)


def test_pad_is_only_in_nn_functional_as_torch():
    assert not hasattr(leafgrad, "pad")
    assert "pad" in F.__all__


# -- graph nodes carry torch's names ---------------------------------------------------------
NODE_CASES = {
    "reshape": lambda m, x: x.reshape(3, 2),
    "reshape_copy": lambda m, x: x.t().reshape(-1),
    "flatten": lambda m, x: x.flatten(),
    "unflatten": lambda m, x: x.unflatten(1, (3, 1)),
    "squeeze": lambda m, x: x[None].squeeze(),
    "squeeze_dim": lambda m, x: x.squeeze(1),
    "squeeze_dims": lambda m, x: x.squeeze((0, 1)),
    "unsqueeze": lambda m, x: x.unsqueeze(-1),
    "t": lambda m, x: x.t(),
    "T": lambda m, x: x.T,
    "mT": lambda m, x: x.mT,
    "movedim": lambda m, x: x.movedim(0, 1),
    "narrow": lambda m, x: x.narrow(1, 0, 2),
    "expand": lambda m, x: x[:1].expand(3, 3),
    "select": lambda m, x: x[:, 1],
    "slice": lambda m, x: x[:],
    "alias": lambda m, x: x[...],
    "select_slice": lambda m, x: x[1:, 0],
    "select_unsqueeze_slice": lambda m, x: x[0, None, 1:],
    "index": lambda m, x: x[m.tensor([0, 0])],
    "select_index": lambda m, x: x[0, m.tensor([0, 1])],
    "bool_scalar": lambda m, x: x[True],
    "mask": lambda m, x: x[x > 2],
    "unbind": lambda m, x: x.unbind(1)[2],
    "split": lambda m, x: x.split(1, 1)[1],
    "split_with_sizes": lambda m, x: x.split([1, 2], 1)[1],
    "chunk": lambda m, x: x.chunk(2, 1)[1],
    "diagonal": lambda m, x: x.diagonal(),
    "diag_embed": lambda m, x: x[0].diag(),
    "cat": lambda m, x: m.cat([x, x]),
    "stack": lambda m, x: m.stack([x, x]),
    "repeat": lambda m, x: x.repeat(2, 1),
    "tile": lambda m, x: x.tile(2),
    "flip": lambda m, x: x.flip(0),
    "roll": lambda m, x: x.roll(1, 0),
    "gather": lambda m, x: x.gather(0, m.tensor([[0]])),
    "scatter": lambda m, x: x.scatter(0, m.tensor([[0]]), x[:1, :1]),
    "scatter_value": lambda m, x: x.scatter(0, m.tensor([[0]]), 1.0),
    "scatter_add": lambda m, x: x.scatter_add(0, m.tensor([[0]]), x[:1, :1]),
    "index_select": lambda m, x: x.index_select(0, m.tensor([0])),
    "index_add": lambda m, x: x.index_add(0, m.tensor([0]), x[:1]),
    "masked_fill": lambda m, x: x.masked_fill(x > 0, 1.0),
    "masked_fill_tensor": lambda m, x: x.masked_fill(x > 0, m.tensor(1.0)),
    "masked_select": lambda m, x: x.masked_select(x > 0),
    "take_along_dim": lambda m, x: x.take_along_dim(m.tensor([[0]]), 1),
    "pad": lambda m, x: m.nn.functional.pad(x, (1, 1)),
    "pad_reflect": lambda m, x: m.nn.functional.pad(x, (1, 1), mode="reflect"),
    "pad_replicate": lambda m, x: m.nn.functional.pad(x[None], (1, 1, 1, 1), mode="replicate"),
    "setitem_basic": lambda m, x: _assigned(x, 0, 5.0),
    "setitem_view": lambda m, x: _assigned(x, (slice(None), 1), x[:, 0]),
    "setitem_tensor": lambda m, x: _assigned(x, m.tensor([0]), 5.0),
    "in_place_on_view": lambda m, x: _row_doubled(x),
}


def _assigned(x, index, value):
    y = x * 1
    y[index] = value
    return y


def _row_doubled(x):
    y = x * 1
    y[0].mul_(2)
    return y


def _node_chain(tensor) -> list:
    """The names of the nodes from ``tensor`` back to the leaf, following first inputs."""
    names, node = [], tensor.grad_fn
    while node is not None and type(node).__name__ != "AccumulateGrad":
        names.append(type(node).__name__)
        node = next((n for n, _ in node.next_functions if n is not None), None)
    return names


@pytest.mark.parametrize("name", list(NODE_CASES))
def test_grad_fn_chains_match_torch(name):
    torch = pytest.importorskip("torch")
    chains = []
    for module in (leafgrad, torch):
        x = module.tensor([[0.5, -1.0, 2.0], [3.0, -4.0, 5.0]], requires_grad=True)
        chains.append(_node_chain(NODE_CASES[name](module, x)))
    assert chains[0] == chains[1]
