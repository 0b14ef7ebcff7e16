"""Records of the shape ops, indexing with ``[]`` and ``F.pad`` (see ``op_db``)."""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from op_db import SHAPES, OpInfo, Sample, values


def same(fn):
    return dict(op=fn, ref=fn)


def method(name, **fixed):
    """``x.<name>(*args, **fixed, **kwargs)`` in both libraries."""
    return same(lambda m, x, *args, **kwargs: getattr(x, name)(*args, **fixed, **kwargs))


def function(name, **fixed):
    return same(lambda m, *args, **kwargs: getattr(m, name)(*args, **fixed, **kwargs))


def rng_of(draw):
    return np.random.default_rng(draw(st.integers(0, 2**32 - 1)))


def shape_with(draw, min_dims=0, max_dims=3, min_side=0):
    return draw(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                                 max_side=3))


def a_dim(draw, ndim):
    """A valid dim (possibly negative); 0-dim tensors accept 0 and -1, as in torch."""
    bound = max(ndim, 1)
    return draw(st.integers(-bound, bound - 1))


@st.composite
def _reshape_samples(draw):
    shape = draw(SHAPES)
    numel = int(np.prod(shape))
    targets = [(-1,), tuple(reversed(shape)), (1, -1), shape + (1,)]
    if numel:
        targets.append((-1, shape[-1]) if shape else (1,))
    return Sample((values(draw, shape), draw(st.sampled_from(targets))))


@st.composite
def _expand_samples(draw):
    shape = shape_with(draw, min_side=1)
    lead = draw(st.lists(st.integers(0, 3), max_size=2))
    target = [draw(st.sampled_from([-1, s])) if s != 1 else draw(st.sampled_from([-1, 1, 2, 3]))
              for s in shape]
    return Sample((values(draw, shape), tuple(lead + target)))


@st.composite
def _permute_samples(draw):
    shape = draw(SHAPES)
    order = draw(st.permutations(range(len(shape))))
    negate = draw(st.lists(st.booleans(), min_size=len(shape), max_size=len(shape)))
    return Sample((values(draw, shape), tuple(d - len(shape) if n else d
                                              for d, n in zip(order, negate))))


@st.composite
def _two_dims(draw):
    shape = draw(SHAPES)
    return Sample((values(draw, shape), a_dim(draw, len(shape)), a_dim(draw, len(shape))))


@st.composite
def _up_to_2d(draw):
    return Sample((values(draw, shape_with(draw, max_dims=2)),))


@st.composite
def _at_least_1d(draw):
    return Sample((values(draw, shape_with(draw, min_dims=1)),))


@st.composite
def _at_least_2d(draw):
    return Sample((values(draw, shape_with(draw, min_dims=2)),))


@st.composite
def _squeeze_samples(draw):
    shape = tuple(draw(st.lists(st.sampled_from([1, 1, 2, 0]), max_size=3)))
    ndim = len(shape)
    dim = draw(st.one_of(st.none(), st.just(a_dim(draw, ndim)),
                         st.lists(st.integers(0, max(ndim - 1, 0)), unique=True,
                                  max_size=ndim).map(tuple)))
    return Sample((values(draw, shape),), {} if dim is None else {"dim": dim})


@st.composite
def _squeeze_dims_samples(draw):
    """A tuple of dims (maybe empty, maybe negative), some of size 1: torch's squeeze(dims)."""
    shape = tuple(draw(st.lists(st.sampled_from([1, 1, 2, 0]), max_size=3)))
    ndim = max(len(shape), 1)
    dims = draw(st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim))
    negate = draw(st.lists(st.booleans(), min_size=len(dims), max_size=len(dims)))
    return Sample((values(draw, shape),),
                  {"dim": tuple(d - ndim if n else d for d, n in zip(dims, negate))})


@st.composite
def _unsqueeze_samples(draw):
    shape = draw(SHAPES)
    return Sample((values(draw, shape), draw(st.integers(-len(shape) - 1, len(shape)))))


@st.composite
def _flatten_samples(draw):
    shape = draw(SHAPES)
    start, end = sorted((a_dim(draw, len(shape)) % max(len(shape), 1),
                         a_dim(draw, len(shape)) % max(len(shape), 1)))
    end = end - max(len(shape), 1) if draw(st.booleans()) else end
    return Sample((values(draw, shape), start, end))


@st.composite
def _unflatten_samples(draw):
    shape = shape_with(draw, min_dims=1)
    dim = a_dim(draw, len(shape))
    size = shape[dim]
    sizes = draw(st.sampled_from([(size,), (1, size), (size, 1), (-1, 1)] +
                                 ([(1, -1)] if size else [])))
    return Sample((values(draw, shape), dim, sizes))


@st.composite
def _movedim_samples(draw):
    shape = draw(SHAPES)
    ndim = max(len(shape), 1)
    count = draw(st.integers(1, ndim))
    source = draw(st.permutations(range(ndim)))[:count]
    destination = draw(st.permutations(range(ndim)))[:count]
    return Sample((values(draw, shape), tuple(source), tuple(d - ndim for d in destination)))


@st.composite
def _narrow_samples(draw):
    shape = shape_with(draw, min_dims=1)
    dim = a_dim(draw, len(shape))
    size = shape[dim]
    start = draw(st.integers(-size, size))
    length = draw(st.integers(0, size - (start + size if start < 0 else start)))
    return Sample((values(draw, shape), dim, start, length))


@st.composite
def _dim_samples(draw):
    shape = shape_with(draw, min_dims=1)
    return Sample((values(draw, shape),), {"dim": a_dim(draw, len(shape))})


@st.composite
def _split_samples(draw):
    shape = shape_with(draw, min_dims=1)
    dim = a_dim(draw, len(shape))
    size = shape[dim]
    if draw(st.booleans()) or not size:
        split = draw(st.integers(1, 4)) if size else 0
    else:
        cuts = sorted(draw(st.lists(st.integers(0, size), max_size=2)))
        split = [b - a for a, b in zip([0] + cuts, cuts + [size])]
    return Sample((values(draw, shape), split), {"dim": dim})


@st.composite
def _chunk_samples(draw):
    shape = shape_with(draw, min_dims=1)
    return Sample((values(draw, shape), draw(st.integers(1, 4))), {"dim": a_dim(draw, len(shape))})


@st.composite
def _cat_samples(draw):
    shape = shape_with(draw, min_dims=1)
    dim = a_dim(draw, len(shape))
    count = draw(st.integers(1, 3))
    arrays = []
    for salt in range(count):
        piece = list(shape)
        piece[dim] = draw(st.integers(0, 3))
        arrays.append(values(draw, tuple(piece), salt=salt))
    if draw(st.booleans()):  # torch's legacy skip of 1-D empty tensors, at any position
        arrays.insert(draw(st.integers(0, len(arrays))), np.zeros(0))
    if draw(st.booleans()):  # promotion: an integer tensor joins float ones
        arrays[0] = np.round(arrays[0]).astype(np.int64)
    return Sample(tuple(arrays), {"dim": dim})


@st.composite
def _stack_samples(draw):
    shape = draw(SHAPES)
    count = draw(st.integers(1, 3))
    arrays = tuple(values(draw, shape, salt=salt) for salt in range(count))
    return Sample(arrays, {"dim": draw(st.integers(-len(shape) - 1, len(shape)))})


@st.composite
def _hvstack_samples(draw):
    shape = shape_with(draw, max_dims=2)
    count = draw(st.integers(1, 3))
    arrays = []
    for salt in range(count):
        piece = list(shape)
        if len(piece) == 1 or (len(piece) == 2 and draw(st.booleans())):
            piece[-1] = draw(st.integers(0, 3))
        arrays.append(values(draw, tuple(piece), salt=salt))
    return Sample(tuple(arrays))


@st.composite
def _vstack_samples(draw):
    shape = shape_with(draw, max_dims=3, min_dims=0)
    arrays = [values(draw, shape)]
    if len(shape) >= 2:
        arrays.append(values(draw, (draw(st.integers(0, 3)),) + shape[1:], salt=1))
    elif len(shape) == 1:
        arrays.append(values(draw, shape, salt=1))
    return Sample(tuple(arrays))


@st.composite
def _repeat_samples(draw):
    shape = draw(SHAPES)
    lead = draw(st.integers(0, 2))
    repeats = tuple(draw(st.lists(st.integers(0, 3), min_size=len(shape) + lead,
                                  max_size=len(shape) + lead)))
    return Sample((values(draw, shape), repeats))


@st.composite
def _tile_samples(draw):
    shape = draw(SHAPES)
    dims = tuple(draw(st.lists(st.integers(0, 3), max_size=4)))
    return Sample((values(draw, shape), dims))


@st.composite
def _flip_samples(draw):
    shape = draw(SHAPES)
    ndim = len(shape)
    dims = draw(st.lists(st.integers(0, max(ndim - 1, 0)), unique=True, max_size=ndim))
    return Sample((values(draw, shape), tuple(d - ndim if d % 2 else d for d in dims)))


@st.composite
def _roll_samples(draw):
    shape = draw(SHAPES)
    ndim = len(shape)
    if not ndim or draw(st.booleans()):
        return Sample((values(draw, shape), draw(st.integers(-5, 5))))
    dims = tuple(draw(st.lists(st.integers(-ndim, ndim - 1), min_size=1, max_size=3)))
    shifts = tuple(draw(st.lists(st.integers(-5, 5), min_size=len(dims), max_size=len(dims))))
    return Sample((values(draw, shape), shifts, dims))


@st.composite
def _diagonal_samples(draw):
    shape = shape_with(draw, min_dims=2)
    ndim = len(shape)
    dim1, dim2 = draw(st.permutations(range(ndim)))[:2]
    return Sample((values(draw, shape),), {"offset": draw(st.integers(-3, 3)),
                                           "dim1": dim1 - ndim if dim1 % 2 else dim1,
                                           "dim2": dim2})


@st.composite
def _diag_samples(draw):
    shape = shape_with(draw, min_dims=1, max_dims=2)
    return Sample((values(draw, shape), draw(st.integers(-3, 3))))


def _basic_index(draw, shape):
    """A tuple of ints, slices (with steps), None and at most one Ellipsis for ``shape``."""
    ndim = len(shape)
    count = draw(st.integers(0, ndim))  # ints and slices, each addressing one dim
    with_ellipsis = draw(st.booleans())
    before = draw(st.integers(0, count)) if with_ellipsis else count
    dims = list(range(before)) + list(range(ndim - (count - before), ndim))
    items = []
    for dim in dims:
        size = shape[dim]
        if size and draw(st.booleans()):
            items.append(draw(st.integers(-size, size - 1)))
        else:
            bound = st.one_of(st.none(), st.integers(-size - 1, size + 1))
            items.append(slice(draw(bound), draw(bound), draw(st.sampled_from([None, 1, 2, 3]))))
    if with_ellipsis:
        items.insert(before, Ellipsis)
    for _ in range(draw(st.integers(0, 2))):
        items.insert(draw(st.integers(0, len(items))), None)
    return tuple(items)


@st.composite
def _basic_getitem(draw):
    shape = draw(SHAPES)
    return Sample((values(draw, shape),), {"index": _basic_index(draw, shape)})


@st.composite
def _int_tensor_getitem(draw):
    shape = shape_with(draw, min_dims=1, min_side=1)
    rng = rng_of(draw)
    index_shape = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3))
    index = rng.integers(-shape[0], shape[0], size=index_shape)  # repeats accumulate in grad
    return Sample((values(draw, shape), index))


@st.composite
def _mixed_getitem(draw):
    shape = shape_with(draw, min_dims=2, min_side=1)
    rng = rng_of(draw)
    index = rng.integers(0, shape[-1], size=draw(st.integers(0, 4)))
    return Sample((values(draw, shape), index))


@st.composite
def _mask_getitem(draw):
    shape = draw(SHAPES)
    mask_dims = draw(st.integers(0, len(shape)))
    mask = rng_of(draw).random(shape[:mask_dims]) > 0.5
    return Sample((values(draw, shape), np.asarray(mask)))


@st.composite
def _setitem_basic(draw):
    shape = draw(SHAPES)
    index = _basic_index(draw, shape)
    target_shape = np.empty(shape)[index].shape
    value_shape = target_shape[draw(st.integers(0, len(target_shape))):]
    return Sample((values(draw, shape), values(draw, value_shape, salt=1)), {"index": index})


@st.composite
def _setitem_tensor(draw):
    shape = shape_with(draw, min_dims=1, min_side=1)
    index = rng_of(draw).permutation(shape[0])[:draw(st.integers(0, shape[0]))]
    return Sample((values(draw, shape), values(draw, (len(index),) + shape[1:], salt=1), index))


@st.composite
def _setitem_tensor_number(draw):
    """A non-zero number written at a tensor index (index_put with a constant: affine)."""
    shape = shape_with(draw, min_dims=1, min_side=1)
    index = rng_of(draw).permutation(shape[0])[:draw(st.integers(0, shape[0]))]
    return Sample((values(draw, shape), draw(st.sampled_from([-1.5, 2.5, 3])), index))


@st.composite
def _setitem_mask(draw):
    shape = draw(SHAPES)
    mask = np.asarray(rng_of(draw).random(shape) > 0.5)
    return Sample((values(draw, shape), values(draw, (), salt=1), mask))


@st.composite
def _index_put_samples(draw):
    shape = shape_with(draw, min_dims=1, min_side=1)
    index = rng_of(draw).integers(0, shape[0], size=draw(st.integers(0, 4)))
    return Sample((values(draw, shape), index, values(draw, (len(index),) + shape[1:], salt=1)))


def _setitem(m, x, value, index=None, tensor_index=None):
    y = x * 1
    y[tensor_index if index is None else index] = value
    return y


def _pad_widths(draw, count, low, high):
    return tuple(draw(st.lists(st.integers(low, high), min_size=2 * count, max_size=2 * count)))


@st.composite
def _constant_pad_samples(draw, fill_values=(None, 0.0, 1.5)):
    """``pad(x, widths)`` in constant mode; ``fill_values``: the values drawn (None: the
    default, 0; only zero fills keep the linear op, ConstantPadNd)."""
    shape = draw(SHAPES)
    count = draw(st.integers(0, len(shape)))
    widths = list(_pad_widths(draw, count, -2, 2))
    for i in range(count):  # keep crops within each padded dimension
        size = shape[len(shape) - 1 - i]
        while size + min(widths[2 * i], 0) + min(widths[2 * i + 1], 0) < 0:
            widths[2 * i + (0 if widths[2 * i] < 0 else 1)] += 1
    value = draw(st.sampled_from(fill_values))
    return Sample((values(draw, shape), tuple(widths)), {} if value is None else {"value": value})


@st.composite
def _mode_pad_samples(draw, mode):
    count = draw(st.integers(1, 3))
    lead = draw(st.integers(1, 2))
    spatial = tuple(draw(st.lists(st.integers(1, 3), min_size=count, max_size=count)))
    shape = tuple(draw(st.lists(st.integers(1, 2), min_size=lead, max_size=lead))) + spatial
    widths = []
    for size in reversed(spatial):
        high = size - 1 if mode == "reflect" else (size if mode == "circular" else 3)
        before = draw(st.integers(-((size - 1) // 2), high))
        after = draw(st.integers(-((size - 1) // 2), high))
        if mode == "circular":  # torch wraps within what remains after cropping
            core = size - max(-before, 0) - max(-after, 0)
            before, after = min(before, core), min(after, core)
        widths += [before, after]
    return Sample((values(draw, shape), tuple(widths)), {"mode": mode})


def _pad(m, x, widths, **kwargs):
    return m.nn.functional.pad(x, widths, **kwargs)


RECORDS = [
    OpInfo("reshape", **method("reshape"), samples=_reshape_samples()),
    OpInfo("reshape_non_contiguous", **same(lambda m, x, shape: x.mT.reshape(shape)),
           samples=_reshape_samples().filter(lambda sample: sample.args[0].ndim >= 2),
           notes="the copying path: clone, then an unsafe view"),
    OpInfo("view", **method("view"), samples=_reshape_samples()),
    OpInfo("expand", **method("expand"), samples=_expand_samples()),
    OpInfo("expand_as", **same(lambda m, x, shape: x.expand_as(m.zeros(x.expand(shape).shape))),
           samples=_expand_samples()),
    OpInfo("view_as", **same(lambda m, x, shape: x.view_as(m.zeros(x.reshape(shape).shape))),
           samples=_reshape_samples()),
    OpInfo("reshape_as", **same(lambda m, x, shape: x.reshape_as(m.zeros(x.reshape(shape).shape))),
           samples=_reshape_samples()),
    OpInfo("broadcast_to", **function("broadcast_to"), samples=_expand_samples()),
    OpInfo("permute", **method("permute"), samples=_permute_samples()),
    OpInfo("transpose", **function("transpose"), samples=_two_dims()),
    OpInfo("t", **function("t"), samples=_up_to_2d()),
    OpInfo("mT", **same(lambda m, x: x.mT), samples=_at_least_2d()),
    OpInfo("squeeze", **method("squeeze"), samples=_squeeze_samples()),
    OpInfo("squeeze_dims", **method("squeeze"), samples=_squeeze_dims_samples(),
           notes="a tuple of dims: torch's SqueezeBackward2"),
    OpInfo("unsqueeze", **method("unsqueeze"), samples=_unsqueeze_samples()),
    OpInfo("flatten", **function("flatten"), samples=_flatten_samples()),
    OpInfo("unflatten", **method("unflatten"), samples=_unflatten_samples()),
    OpInfo("movedim", **function("movedim"), samples=_movedim_samples()),
    OpInfo("narrow", **method("narrow"), samples=_narrow_samples()),
    OpInfo("unbind", **function("unbind"), samples=_dim_samples()),
    OpInfo("split", **function("split"), samples=_split_samples()),
    OpInfo("chunk", **function("chunk"), samples=_chunk_samples()),
    OpInfo("cat", **same(lambda m, *xs, dim: m.cat(xs, dim)), samples=_cat_samples()),
    OpInfo("concatenate", **same(lambda m, *xs, dim: m.concatenate(xs, axis=dim)),
           samples=_cat_samples()),
    OpInfo("stack", **same(lambda m, *xs, dim: m.stack(xs, dim=dim)), samples=_stack_samples()),
    OpInfo("hstack", **same(lambda m, *xs: m.hstack(xs)), samples=_hvstack_samples()),
    OpInfo("vstack", **same(lambda m, *xs: m.vstack(xs)), samples=_vstack_samples()),
    OpInfo("repeat", **method("repeat"), samples=_repeat_samples()),
    OpInfo("tile", **function("tile"), samples=_tile_samples()),
    OpInfo("flip", **function("flip"), samples=_flip_samples()),
    OpInfo("fliplr", **function("fliplr"), samples=_at_least_2d()),
    OpInfo("flipud", **method("flipud"), samples=_at_least_1d()),
    OpInfo("roll", **function("roll"), samples=_roll_samples()),
    OpInfo("diagonal", **function("diagonal"), samples=_diagonal_samples()),
    OpInfo("diag", **function("diag"), samples=_diag_samples()),
    OpInfo("getitem_basic", **same(lambda m, x, index: x[index]), samples=_basic_getitem()),
    OpInfo("getitem_int_tensor", **same(lambda m, x, index: x[index]),
           samples=_int_tensor_getitem()),
    OpInfo("getitem_mixed", **same(lambda m, x, index: x[..., index, None]),
           samples=_mixed_getitem(), notes="advanced index after Ellipsis, with None"),
    OpInfo("getitem_mask", **same(lambda m, x, mask: x[mask]), samples=_mask_getitem()),
    OpInfo("setitem_basic", **same(lambda m, x, v, index: _setitem(m, x, v, index=index)),
           samples=_setitem_basic()),
    OpInfo("setitem_tensor", **same(lambda m, x, v, i: _setitem(m, x, v, tensor_index=i)),
           samples=_setitem_tensor()),
    OpInfo("setitem_tensor_number", **same(lambda m, x, v, i: _setitem(m, x, v, tensor_index=i)),
           samples=_setitem_tensor_number(), notes="a non-zero number: the affine index_put"),
    OpInfo("setitem_mask", **same(lambda m, x, v, mask: _setitem(m, x, v, tensor_index=mask)),
           samples=_setitem_mask()),
    OpInfo("index_put_accumulate", **same(lambda m, x, i, v: x.index_put((i,), v,
                                                                          accumulate=True)),
           samples=_index_put_samples()),
    OpInfo("pad_constant", **same(_pad), samples=_constant_pad_samples()),
    OpInfo("pad_constant_zero", **same(_pad), samples=_constant_pad_samples((None, 0.0))),
    OpInfo("pad_constant_value", **same(_pad), samples=_constant_pad_samples((1.5, -2.0))),
    OpInfo("pad_reflect", **same(_pad), samples=_mode_pad_samples("reflect")),
    OpInfo("pad_replicate", **same(_pad), samples=_mode_pad_samples("replicate")),
    OpInfo("pad_circular", **same(_pad), samples=_mode_pad_samples("circular")),
]
