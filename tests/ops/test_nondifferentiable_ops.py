"""Ops whose results never carry gradients (argmax, argmin, all, any, nonzero, one_hot, the
dropout mask), and the ``linear`` markers of the shape, reduction, indexing and layer ops.

Every op goes through ``Op.apply``: the non-differentiable ones as ``differentiable = False``
classes, whose results never require grad and are volatile when an input is. Their values and
dtypes are compared with PyTorch. A linear op (``linear = True``) must satisfy
``op(x + 2 y) == op(x) + 2 op(y)`` in all its floating inputs jointly; the ops that a fill
value makes affine are separate classes that are not marked.
"""
from __future__ import annotations

import contextlib
import inspect
import warnings

import numpy as np
import pytest

import leafgrad
import leafgrad.nn.functional as F
from leafgrad.autograd import Variable
from leafgrad.autograd.function import Op
from leafgrad.ops import (
    _nn_utils,
    conv,
    indexing,
    linalg,
    loss,
    normalization,
    pooling,
    reduction,
    rnn,
    shape,
    sparse,
)


@contextlib.contextmanager
def applied_ops():
    """The Op classes applied while the block runs (``Op.apply`` wrapped, restored after)."""
    original = inspect.getattr_static(Op, "apply")
    owned = "apply" in vars(Op)
    seen: list = []

    def apply(cls, *args, **kwargs):
        seen.append(cls)
        return original.__get__(None, cls)(*args, **kwargs)

    Op.apply = classmethod(apply)
    try:
        yield seen
    finally:
        if owned:
            Op.apply = original
        else:
            del Op.apply


def _volatile(tensor):
    with pytest.warns(DeprecationWarning):
        return Variable(tensor, volatile=True)


def _floats(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# -- the converted ops: (name, call, the Op class it applies, input) --------------------------
def _ties():
    # repeated extrema, so that the first maximum (minimum) must be the one returned
    return np.array([[3.0, 1.0, 3.0, -2.0], [0.0, 0.0, -2.0, -2.0], [5.0, 5.0, 5.0, 5.0]])


CONVERTED = [
    ("argmax", lambda m, t: m.argmax(t), reduction.Argmax, _ties()),
    ("argmax_dim", lambda m, t: m.argmax(t, 1), reduction.Argmax, _ties()),
    ("argmax_keepdim", lambda m, t: m.argmax(t, dim=0, keepdim=True), reduction.Argmax, _ties()),
    ("argmax_whole_keepdim", lambda m, t: m.argmax(t, keepdim=True), reduction.Argmax,
     _ties()),
    ("argmax_0d", lambda m, t: m.argmax(t, 0), reduction.Argmax, np.array(2.5)),
    ("argmax_int", lambda m, t: m.argmax(t, -1), reduction.Argmax,
     np.array([[1, 7, 7], [4, 2, 4]], dtype=np.int32)),
    ("argmin", lambda m, t: m.argmin(t), reduction.Argmin, _ties()),
    ("argmin_dim", lambda m, t: m.argmin(t, dim=-1, keepdim=True), reduction.Argmin, _ties()),
    ("all", lambda m, t: m.all(t), reduction.All, _ties()),
    ("all_dim", lambda m, t: m.all(t, dim=1), reduction.All, _ties()),
    ("all_dims", lambda m, t: m.all(t, dim=(0, 1), keepdim=True), reduction.All, _ties()),
    ("all_uint8", lambda m, t: m.all(t, 0), reduction.All,
     np.array([[1, 0], [3, 2]], dtype=np.uint8)),
    ("any", lambda m, t: m.any(t), reduction.Any, np.zeros((2, 3))),
    ("any_dim", lambda m, t: m.any(t, 0, keepdim=True), reduction.Any, _ties() > 2),
    ("any_uint8", lambda m, t: m.any(t), reduction.Any, np.array([0, 4], dtype=np.uint8)),
    ("nonzero", lambda m, t: m.nonzero(t), indexing.Nonzero, _ties() > 0),
    ("nonzero_float", lambda m, t: m.nonzero(t), indexing.Nonzero, _ties()),
    ("nonzero_0d", lambda m, t: m.nonzero(t), indexing.Nonzero, np.array(3.0)),
    ("nonzero_0d_zero", lambda m, t: m.nonzero(t), indexing.Nonzero, np.array(0.0)),
    ("nonzero_as_tuple", lambda m, t: m.nonzero(t, as_tuple=True), indexing.NonzeroNumpy,
     _ties()),
    ("nonzero_as_tuple_0d", lambda m, t: m.nonzero(t, as_tuple=True), indexing.NonzeroNumpy,
     np.array(1.0)),
    ("argwhere", lambda m, t: m.argwhere(t), indexing.Nonzero, _ties()),
    ("one_hot", lambda m, t: m.nn.functional.one_hot(t), sparse.OneHot,
     np.array([[0, 3], [1, 1]])),
    ("one_hot_classes", lambda m, t: m.nn.functional.one_hot(t, 5), sparse.OneHot,
     np.array([2, 0, 4])),
]
IDS = [case[0] for case in CONVERTED]


def _as_list(result):
    return list(result) if isinstance(result, tuple) else [result]


@pytest.mark.parametrize("name, call, op_class, data", CONVERTED, ids=IDS)
def test_values_and_dtypes_match_torch(name, call, op_class, data, torch):
    ours = _as_list(call(leafgrad, leafgrad.tensor(data)))
    theirs = _as_list(call(torch, torch.tensor(data)))
    assert len(ours) == len(theirs)
    for mine, reference in zip(ours, theirs):
        assert str(mine.dtype) == str(reference.dtype), (mine.dtype, reference.dtype)
        assert tuple(mine.shape) == tuple(reference.shape)
        np.testing.assert_array_equal(mine.numpy(), reference.numpy())


@pytest.mark.parametrize("name, call, op_class, data", CONVERTED, ids=IDS)
def test_goes_through_op_apply(name, call, op_class, data):
    with applied_ops() as seen:
        call(leafgrad, leafgrad.tensor(data))
    assert op_class in seen
    assert op_class.differentiable is False


@pytest.mark.parametrize("name, call, op_class, data", CONVERTED, ids=IDS)
def test_results_never_require_grad(name, call, op_class, data):
    x = leafgrad.tensor(data)
    if x.is_floating_point():
        x.requires_grad_()
    for result in _as_list(call(leafgrad, x)):
        assert result.requires_grad is False and result.grad_fn is None and result.is_leaf
        assert result.volatile is False  # a result of a recorded input is not volatile
    if x.requires_grad:  # a non-leaf input too
        for result in _as_list(call(leafgrad, x * 1)):
            assert result.requires_grad is False and result.grad_fn is None


@pytest.mark.parametrize("name, call, op_class, data", CONVERTED, ids=IDS)
def test_volatile_inputs_give_volatile_results(name, call, op_class, data):
    results = _as_list(call(leafgrad, _volatile(leafgrad.tensor(data))))
    assert results
    for result in results:
        assert result.volatile is True
        assert result.requires_grad is False and result.grad_fn is None
    for result in _as_list(call(leafgrad, leafgrad.tensor(data))):
        assert result.volatile is False


def test_the_errors_are_unchanged():
    with pytest.raises(RuntimeError, match="does not support bool input"):
        leafgrad.argmax(leafgrad.tensor([True, False]))
    with pytest.raises(IndexError, match=r"Expected reduction dim to be specified"):
        leafgrad.argmin(leafgrad.zeros(0))
    with pytest.raises(IndexError, match="Expected reduction dim 1 to have non-zero size"):
        leafgrad.argmax(leafgrad.zeros(2, 0), 1)
    with pytest.raises(IndexError, match="Dimension out of range"):
        leafgrad.argmax(leafgrad.tensor(1.0), 1)
    with pytest.raises(RuntimeError, match="Class values must be smaller than num_classes"):
        F.one_hot(leafgrad.tensor([3]), 2)
    with pytest.raises(RuntimeError, match="only applicable to index tensor"):
        F.one_hot(leafgrad.tensor([1.0]))


# -- the dropout mask -------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [leafgrad.float32, leafgrad.float64])
def test_dropout_mask_is_the_generators_draws(dtype):
    """The mask is what it was before it became an op: float32 draws from leafgrad's generator,
    kept where draw < 1 - p, scaled by 1 / (1 - p), in the input's dtype."""
    from leafgrad._factories import _rng
    p, shape_ = 0.3, (4, 5)
    leafgrad.manual_seed(7)
    draws = _rng(None).random(shape_, dtype=np.float32)
    expected = (draws < 1.0 - p).astype(dtype.np_dtype) * dtype.np_dtype.type(1.0 / (1.0 - p))
    leafgrad.manual_seed(7)
    x = leafgrad.ones(*shape_, dtype=dtype, requires_grad=True)
    with applied_ops() as seen:
        out = F.dropout(x, p)
    assert sparse.DropoutMask in seen
    assert out.dtype == dtype and type(out.grad_fn).__name__ == "MulBackward0"
    np.testing.assert_array_equal(out.detach().numpy(), expected)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_dropout2d_mask_covers_whole_channels():
    leafgrad.manual_seed(0)
    x = leafgrad.ones(3, 8, 2, 2)
    with applied_ops() as seen:
        out = F.dropout2d(x, 0.5)
    assert sparse.DropoutMask in seen
    planes = out.numpy().reshape(3, 8, 4)
    assert set(np.unique(planes)) <= {0.0, 2.0}
    assert (planes == planes[..., :1]).all()  # each plane all 0 or all 2


def test_dropout_mask_never_requires_grad_and_follows_volatile():
    x = leafgrad.ones(2, 3, requires_grad=True)
    mask = sparse.DropoutMask.apply(x, p=0.5, shape=(2, 3))
    assert mask.requires_grad is False and mask.grad_fn is None and not mask.volatile
    assert mask.dtype == leafgrad.float32
    assert set(np.unique(mask.numpy())) <= {0.0, 2.0}
    assert sparse.DropoutMask.apply(_volatile(leafgrad.ones(2)), p=0.5, shape=(2,)).volatile
    assert F.dropout(_volatile(leafgrad.ones(2)), 0.5).volatile


# -- linear markers ----------------------------------------------------------------------------
def _max_pool_node(stride):
    x = leafgrad.tensor(_floats(1, 2, 4, 4, seed=3), requires_grad=True)
    return F.max_pool2d(x, 2, stride).grad_fn


def _reflect_pad_index():
    x = leafgrad.tensor(_floats(1, 2, 4), requires_grad=True)
    return F.pad(x, (1, 2), mode="reflect").grad_fn.index


_TAKEN = np.array([[1, 0, 2], [2, 2, 0]])  # indices along dim 1 of a (2, 3) tensor
_CLASSES = np.array([2, 0, 1])

# (Op class, f, shapes of f's floating arguments): f must apply the class (or a subclass)
LINEAR = [
    (shape.View, lambda x: x.view(6), [(2, 3)]),
    (shape.Expand, lambda x: x.expand(4, 3), [(1, 3)]),
    (shape.Permute, lambda x: x.permute(1, 0), [(2, 3)]),
    (shape.Diagonal, lambda x: x.diagonal(1), [(3, 3)]),
    (shape.DiagEmbed, lambda x: leafgrad.diag(x, -1), [(3,)]),
    (shape.GetItem, lambda x: x[1:, [0, 2, 2]], [(3, 4)]),
    (shape.IndexAddIntoZeros, lambda g: shape.IndexAddIntoZeros.apply(
        g, index=(np.array([0, 2, 0]),), shape=(4, 2)), [(3, 2)]),
    (shape.Unbind, lambda x: x.unbind(1), [(2, 3)]),
    (shape.Split, lambda x: x.split([1, 2], 1), [(2, 3)]),
    (shape.IndexPut, lambda x, v: x.index_put((leafgrad.tensor([0, 2]),), v), [(3, 2), (2,)]),
    (shape.Cat, lambda x, y: leafgrad.cat([x, y], 1), [(2, 3), (2, 1)]),
    (shape.Stack, lambda x, y: leafgrad.stack([x, y], -1), [(2, 3), (2, 3)]),
    (shape.Repeat, lambda x: x.repeat(2, 1, 2), [(2, 3)]),
    (shape.Flip, lambda x: x.flip(0, 1), [(2, 3)]),
    (shape.Roll, lambda x: x.roll(1, 1), [(2, 3)]),
    (shape.ConstantPadNd, lambda x: F.pad(x, (1, -1, 2, 0)), [(2, 3)]),
    (shape._CopyingPadBackward, lambda g, x: shape._PAD_OPS[("reflect", 1)].backward_op.apply(
        g, x, index=_reflect_pad_index()), [(1, 2, 7), (1, 2, 4)]),
    (reduction.Sum, lambda x: x.sum(1), [(2, 3)]),
    (reduction.Mean, lambda x: x.mean((0, 1)), [(2, 3)]),
    (reduction.Cumsum, lambda x: x.cumsum(0), [(2, 3)]),
    (reduction.TakeAlongDim, lambda x: reduction.TakeAlongDim.apply(x, indices=_TAKEN, dim=1),
     [(2, 3)]),
    (reduction.PutAlongDim, lambda v: reduction.PutAlongDim.apply(
        v, indices=_TAKEN[:, :1], dim=1, shape=(2, 3)), [(2, 1)]),
    (indexing.Gather, lambda x: x.gather(1, leafgrad.tensor(_TAKEN)), [(2, 3)]),
    (indexing.ScatterAdd, lambda x, s: x.scatter_add(1, leafgrad.tensor(_TAKEN), s),
     [(2, 3), (2, 3)]),
    (indexing.Scatter, lambda x, s: x.scatter(0, leafgrad.tensor([[1, 0, 1]]), s),
     [(2, 3), (1, 3)]),
    (indexing.IndexSelect, lambda x: x.index_select(1, leafgrad.tensor([2, 0, 2])), [(2, 3)]),
    (indexing.IndexAdd, lambda x, s: x.index_add(0, leafgrad.tensor([1, 1]), s, alpha=3),
     [(2, 3), (2, 3)]),
    (indexing.MaskedFillTensor, lambda x, v: x.masked_fill(leafgrad.tensor([True, False]), v),
     [(3, 2), ()]),
    (loss.NllLoss, lambda x: F.nll_loss(x, leafgrad.tensor(_CLASSES), weight=leafgrad.tensor(
        [1.0, 2.0, 0.5], dtype=leafgrad.float64)), [(3, 3)]),
    (loss.PutAtClass, lambda v: loss.PutAtClass.apply(v, classes=_CLASSES, input_shape=(3, 3)),
     [(3,)]),
    (loss.TakeAtClass, lambda x: loss.TakeAtClass.apply(x, classes=_CLASSES,
                                                        input_shape=(3, 3)), [(3, 3)]),
    (pooling.AvgPool, lambda x: F.avg_pool2d(x, 3, 2, 1), [(1, 2, 5, 5)]),
    (pooling.AvgPoolBackward, lambda g: pooling.AvgPoolBackward.apply(
        g, kernel=(2, 2), stride=(2, 2), pads=((0, 0), (0, 0)), input_size=(4, 4), scale=0.25),
     [(1, 2, 2, 2)]),
    (pooling.Resample, lambda x: F.interpolate(x, scale_factor=1.5, mode="bilinear"),
     [(1, 2, 3, 4)]),
    (pooling.GatherFromWindows, lambda x: pooling.GatherFromWindows.apply(
        x, kernel=(2, 2), positions=_max_pool_node(2).positions), [(1, 2, 4, 4)]),
    (pooling.ScatterToWindows, lambda g: pooling.ScatterToWindows.apply(
        g, input_shape=(1, 2, 4, 4), kernel=(2, 2), positions=_max_pool_node(2).positions),
     [(1, 2, 2, 2)]),
    (pooling.GatherAtIndices, lambda x: pooling.GatherAtIndices.apply(
        x, input_shape=(1, 2, 4, 4), indices=_max_pool_node(1).indices, overlapping=True),
     [(1, 2, 4, 4)]),
    (pooling.ScatterToIndices, lambda g: pooling.ScatterToIndices.apply(
        g, input_shape=(1, 2, 4, 4), indices=_max_pool_node(1).indices, overlapping=True),
     [(1, 2, 3, 3)]),
    (sparse.Embedding, lambda w: F.embedding(leafgrad.tensor([[0, 2], [2, 1]]), w), [(3, 2)]),
    (sparse.EmbeddingDenseBackward, lambda g: sparse.EmbeddingDenseBackward.apply(
        g, indices=np.array([0, 2, 2]), coefficients=np.array([1.0, 0.5, 0.5]),
        num_weights=4), [(3, 2)]),
    (_nn_utils.DependsOn, lambda x, y: _nn_utils.DependsOn.apply(x, y), [(2,), (3,)]),
    (linalg._einsum_op(1), lambda x: leafgrad.einsum("iij->ji", x), [(2, 2, 3)]),
]


def _linear_id(case) -> str:
    return case[0].__name__ if case[0] is not linalg._einsum_op(1) else "Einsum1"


def _tensors(result) -> list:
    return list(result) if isinstance(result, tuple) else [result]


@pytest.mark.parametrize("op_class, f, shapes", LINEAR, ids=[_linear_id(c) for c in LINEAR])
def test_linear_ops_are_linear_in_their_floating_inputs_jointly(op_class, f, shapes):
    assert op_class.linear is True
    xs = [leafgrad.tensor(_floats(*s, seed=i)) for i, s in enumerate(shapes)]
    ys = [leafgrad.tensor(_floats(*s, seed=10 + i)) for i, s in enumerate(shapes)]
    with applied_ops() as seen:
        combined = _tensors(f(*[x + 2 * y for x, y in zip(xs, ys)]))
    assert any(issubclass(c, op_class) for c in seen), seen
    for out, at_x, at_y in zip(combined, _tensors(f(*xs)), _tensors(f(*ys))):
        np.testing.assert_allclose(out.numpy(), at_x.numpy() + 2 * at_y.numpy(), rtol=1e-12,
                                   atol=1e-12)


_MY_MODULES = (shape, reduction, indexing, linalg, loss, pooling, conv, normalization, rnn,
               sparse, _nn_utils)


def test_every_op_marked_linear_here_is_checked_above():
    checked = {case[0] for case in LINEAR}
    marked = {value for module in _MY_MODULES for value in vars(module).values()
              if isinstance(value, type) and issubclass(value, Op) and value.linear
              and value.__module__ == module.__name__}
    unchecked = [cls.__name__ for cls in marked
                 if not any(issubclass(cls, c) for c in checked)]
    assert not unchecked, f"linear ops without a linearity check: {unchecked}"


# (call on x, the Op class it applies): a fill value (or a product) makes these not linear
AFFINE = [
    ("pad_value", lambda x: F.pad(x, (1, 1), value=3.0), shape.ConstantPadNdValue,
     "ConstantPadNdBackward0"),
    ("index_put_number", lambda x: x.index_put((leafgrad.tensor([0]),), 2.0),
     shape.IndexPutConstant, "IndexPutBackward0"),
    ("scatter_value", lambda x: x.scatter(1, leafgrad.tensor([[0], [1]]), value=2.0),
     indexing.ScatterValue, "ScatterBackward1"),
    ("masked_fill_number", lambda x: x.masked_fill(leafgrad.tensor([[True], [False]]), 2.0),
     indexing.MaskedFill, "MaskedFillBackward0"),
]


@pytest.mark.parametrize("name, call, op_class, node", AFFINE, ids=[c[0] for c in AFFINE])
def test_ops_made_affine_by_a_fill_value_are_not_marked_linear(name, call, op_class, node):
    assert op_class.linear is False
    x = leafgrad.zeros(2, 3, dtype=leafgrad.float64, requires_grad=True)
    with applied_ops() as seen:
        out = call(x)
    assert seen[-1] is op_class
    assert type(out.grad_fn).__name__ == node  # the node keeps torch's name
    assert out.detach().abs().sum().item() > 0  # f(0) != 0: not linear


def test_scatter_multiply_is_not_marked_linear():
    x = leafgrad.ones(2, 3, dtype=leafgrad.float64)
    src = leafgrad.full((2, 3), 3.0, dtype=leafgrad.float64)
    index = leafgrad.tensor([[0, 1, 2], [0, 1, 2]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's deprecation of Tensor src
        with applied_ops() as seen:
            out = x.scatter(1, index, src, reduce="multiply")
    assert seen[-1] is indexing.ScatterMultiply and indexing.ScatterMultiply.linear is False
    np.testing.assert_array_equal(out.numpy(), np.full((2, 3), 3.0))  # x * src: a product
    assert issubclass(indexing.ScatterMultiply, indexing.Scatter)


def test_einsum_of_several_operands_is_not_marked_linear():
    assert linalg._einsum_op(2).linear is False
    assert linalg._einsum_op(1).linear is True
    for bilinear in (linalg.Matmul, linalg.Mm, linalg.Dot, linalg.Addmm):
        assert bilinear.linear is False
