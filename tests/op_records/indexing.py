"""Records of the indexing ops (see ``op_db``). Index arrays are NumPy int64 arrays (they become
int64 tensors that never require grad); scatter indices are distinct per target position, since
which of several writes to one position wins is unspecified in torch."""
import warnings

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from op_db import SHAPES, OpInfo, Sample, values


def same(fn):
    return dict(op=fn, ref=fn)


def rng_of(draw):
    return np.random.default_rng(draw(st.integers(0, 2**32 - 1)))


def a_dim(draw, ndim):
    bound = max(ndim, 1)
    return draw(st.integers(-bound, bound - 1))


def _sizes(shape):
    return shape or (1,)  # gather/scatter treat a 0-dim tensor as 1-D


@st.composite
def _gather_samples(draw):
    shape = draw(SHAPES)
    dim = a_dim(draw, len(shape))
    sizes = _sizes(shape)
    size = sizes[dim]
    index_shape = [draw(st.integers(0, s)) for s in sizes]
    index_shape[dim] = draw(st.integers(0, 4)) if size else 0
    if not shape and draw(st.booleans()):
        index_shape = []
    index = rng_of(draw).integers(0, max(size, 1), size=index_shape)
    return Sample((values(draw, shape), dim, index))


def _distinct_index(draw, shape, dim):
    """An index no larger than ``shape`` whose entries differ along ``dim`` (a scatter then
    writes each target position at most once)."""
    sizes = _sizes(shape)
    index_shape = [draw(st.integers(0, s)) for s in sizes]
    keys = rng_of(draw).random(sizes)
    order = np.argsort(keys, axis=dim)
    index = order[tuple(slice(0, n) for n in index_shape)]
    return index.reshape(()) if not shape and index.size == 1 and draw(st.booleans()) else index


@st.composite
def _scatter_samples(draw):
    shape = draw(SHAPES)
    dim = a_dim(draw, len(shape))
    index = _distinct_index(draw, shape, dim)
    src_shape = index.shape  # torch's backward rejects a src larger than index
    return Sample((values(draw, shape), dim, index, values(draw, src_shape, salt=1)))


@st.composite
def _scatter_value_samples(draw):
    shape = draw(SHAPES)
    dim = a_dim(draw, len(shape))
    return Sample((values(draw, shape), dim, _distinct_index(draw, shape, dim),
                   draw(st.sampled_from([0.0, -1.5, 2]))))


@st.composite
def _scatter_add_samples(draw):
    """Gather's indices, repeats included: scatter_add accumulates them."""
    x, dim, index = draw(_gather_samples()).args
    return Sample((x, dim, index, values(draw, index.shape, salt=1)))


@st.composite
def _index_select_samples(draw):
    shape = draw(SHAPES)
    dim = a_dim(draw, len(shape))
    size = _sizes(shape)[dim]
    if not shape:
        index = np.zeros(draw(st.sampled_from([(), (1,)])), dtype=np.int64)
    else:
        index = rng_of(draw).integers(0, max(size, 1), size=draw(st.integers(0, 4)) if size else 0)
    return Sample((values(draw, shape), dim, index))


@st.composite
def _index_add_samples(draw):
    shape = draw(SHAPES)
    dim = a_dim(draw, len(shape))
    if not shape:
        return Sample((values(draw, shape), dim, np.zeros(1, dtype=np.int64),
                       values(draw, (), salt=1)))
    size = shape[dim]
    count = draw(st.integers(0, 4)) if size else 0
    index = rng_of(draw).integers(0, max(size, 1), size=count)
    source_shape = shape[:dim % len(shape)] + (count,) + shape[dim % len(shape) + 1:]
    return Sample((values(draw, shape), dim, index, values(draw, source_shape, salt=1)))


@st.composite
def _masked_samples(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                    min_side=0, max_side=3)).input_shapes
    mask = np.asarray(rng_of(draw).random(shapes[1]) > 0.5)
    return Sample((values(draw, shapes[0]), mask))


@st.composite
def _masked_fill_tensor_value(draw):
    sample = draw(_masked_samples())
    return Sample(sample.args + (values(draw, (), salt=1),))


@st.composite
def _masked_fill_number(draw):
    sample = draw(_masked_samples())
    return Sample(sample.args + (draw(st.sampled_from([0.0, -2.5, 3])),))


@st.composite
def _masked_fill_inplace(draw):
    """In place the mask broadcasts to self's shape, never the other way."""
    shape = draw(SHAPES)
    mask_shape = tuple(draw(st.sampled_from([1, s])) for s in shape)[draw(
        st.integers(0, len(shape))):]
    mask = np.asarray(rng_of(draw).random(mask_shape) > 0.5)
    return Sample((values(draw, shape), mask, values(draw, (), salt=1)))


@st.composite
def _take_along_dim_samples(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3))
    dim = a_dim(draw, len(shape))
    size = shape[dim]
    # each other dimension of indices is 1 (broadcast) or the input's size
    index_shape = [draw(st.sampled_from([1, s])) for s in shape]
    index_shape[dim] = draw(st.integers(0, 4)) if size else 0
    index = rng_of(draw).integers(-size, max(size, 1), size=index_shape)
    return Sample((values(draw, shape), index), {"dim": dim})


@st.composite
def _take_along_flat_samples(draw):
    shape = draw(SHAPES)
    numel = int(np.prod(shape))
    index_shape = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3))
    index = rng_of(draw).integers(0, max(numel, 1), size=index_shape if numel else (0,))
    return Sample((values(draw, shape), index))


@st.composite
def _nonzero_samples(draw):
    shape = draw(SHAPES)
    array = values(draw, shape)
    return Sample((np.where(array > 0.5, array, 0.0),), no_grad=(0,))


def _on_copy(name):
    """``y = x * 1; y.<name>(...)``: the in-place op on a non-leaf, returning y."""
    def call(m, x, *args, **kwargs):
        y = x * 1
        getattr(y, name)(*args, **kwargs)
        return y
    return same(call)


def _scatter_reduce(reduce):
    """``scatter(..., src, reduce=)`` with a tensor src, without the deprecation warning both
    libraries give; detached (no derivative with reduce, as torch)."""
    def call(m, x, dim, index, src):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return x.scatter(dim, index, src, reduce=reduce).detach()
    return call


RECORDS = [
    OpInfo("gather", **same(lambda m, x, dim, index: m.gather(x, dim, index)),
           samples=_gather_samples()),
    OpInfo("scatter", **same(lambda m, x, dim, index, src: m.scatter(x, dim, index, src)),
           samples=_scatter_samples()),
    OpInfo("scatter_value", **same(lambda m, x, dim, index, v: x.scatter(dim, index, value=v)),
           samples=_scatter_value_samples()),
    OpInfo("scatter_reduce_add",
           **same(lambda m, x, d, i, v: x.scatter(d, i, v, reduce="add").detach()),
           samples=_scatter_value_samples(), gradcheck=False,
           notes="no derivative with reduce, as torch: values only"),
    OpInfo("scatter_reduce_multiply",
           **same(lambda m, x, d, i, v: x.scatter(d, i, v, reduce="multiply").detach()),
           samples=_scatter_value_samples(), gradcheck=False,
           notes="no derivative with reduce, as torch: values only"),
    OpInfo("scatter_reduce_add_tensor", **same(_scatter_reduce("add")),
           samples=_scatter_add_samples(), gradcheck=False,
           notes="a tensor src (deprecated in torch, which warns), repeated indices combined: "
                 "values only"),
    OpInfo("scatter_reduce_multiply_tensor", **same(_scatter_reduce("multiply")),
           samples=_scatter_add_samples(), gradcheck=False,
           notes="a tensor src (deprecated in torch, which warns), repeated indices combined: "
                 "values only"),
    OpInfo("scatter_add", **same(lambda m, x, dim, index, src: m.scatter_add(x, dim, index, src)),
           samples=_scatter_add_samples()),
    OpInfo("index_select", **same(lambda m, x, dim, index: m.index_select(x, dim, index)),
           samples=_index_select_samples()),
    OpInfo("index_add", **same(lambda m, x, d, i, s: m.index_add(x, d, i, s, alpha=1.5)),
           samples=_index_add_samples()),
    OpInfo("masked_fill_number", **same(lambda m, x, mask, v: m.masked_fill(x, mask, v)),
           samples=_masked_fill_number()),
    OpInfo("masked_fill_tensor", **same(lambda m, x, mask, v: x.masked_fill(mask, v)),
           samples=_masked_fill_tensor_value(), notes="the 0-dim value gets a gradient"),
    OpInfo("masked_select", **same(lambda m, x, mask: m.masked_select(x, mask)),
           samples=_masked_samples()),
    OpInfo("take_along_dim", **same(lambda m, x, i, dim: m.take_along_dim(x, i, dim)),
           samples=_take_along_dim_samples()),
    OpInfo("take_along_dim_flat", **same(lambda m, x, i: x.take_along_dim(i)),
           samples=_take_along_flat_samples()),
    OpInfo("nonzero", **same(lambda m, x: m.nonzero(x)), samples=_nonzero_samples(),
           gradcheck=False, notes="integer output"),
    OpInfo("nonzero_as_tuple", **same(lambda m, x: x.nonzero(as_tuple=True)),
           samples=_nonzero_samples(), gradcheck=False, notes="integer output"),
    OpInfo("argwhere", **same(lambda m, x: m.argwhere(x)), samples=_nonzero_samples(),
           gradcheck=False, notes="integer output"),
    OpInfo("scatter_", **_on_copy("scatter_"), samples=_scatter_samples()),
    OpInfo("scatter_add_", **_on_copy("scatter_add_"), samples=_scatter_add_samples()),
    OpInfo("index_add_", **_on_copy("index_add_"), samples=_index_add_samples()),
    OpInfo("masked_fill_", **_on_copy("masked_fill_"), samples=_masked_fill_inplace()),
]
