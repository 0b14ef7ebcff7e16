"""Records of the matrix products (see ``op_db``)."""
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from op_db import OpInfo, Sample, values

SIZES = st.integers(0, 3)


def method(name, **fixed):
    """Call ``module.<name>(*args, **fixed, **kwargs)`` in both libraries."""
    return lambda m, *args, **kwargs: getattr(m, name)(*args, **fixed, **kwargs)


def same(name, **fixed):
    fn = method(name, **fixed)
    return {"op": fn, "ref": fn}


def _batch_shapes(draw, count: int, max_dims: int = 2) -> tuple:
    return draw(hnp.mutually_broadcastable_shapes(num_shapes=count, min_dims=0,
                                                  max_dims=max_dims, min_side=0,
                                                  max_side=3)).input_shapes


@st.composite
def _matmul_samples(draw):
    """Every case of matmul: dot, matrix-vector both ways, mm, and broadcast batches."""
    rows, inner, columns = draw(SIZES), draw(SIZES), draw(SIZES)
    first_is_vector, second_is_vector = draw(st.booleans()), draw(st.booleans())
    batch_a, batch_b = _batch_shapes(draw, 2)
    a_shape = (inner,) if first_is_vector else batch_a + (rows, inner)
    b_shape = (inner,) if second_is_vector else batch_b + (inner, columns)
    return Sample((values(draw, a_shape), values(draw, b_shape, salt=1)))


@st.composite
def _addmm_samples(draw):
    """input broadcast to (n, p) from any shape that torch expands ((), (p,), (1, p), (n, 1)
    ...), mat1 (n, m), mat2 (m, p), and beta/alpha (beta = 0 ignores input, nan included)."""
    rows, inner, columns = draw(SIZES), draw(SIZES), draw(SIZES)
    input_shape = draw(st.sampled_from([(), (columns,), (1, columns), (rows, 1), (1, 1),
                                        (rows, columns), (1,)]))
    kwargs = draw(st.sampled_from([{}, {"beta": 0.5, "alpha": -2.0}, {"beta": 0},
                                   {"alpha": 0}]))
    return Sample((values(draw, input_shape), values(draw, (rows, inner), salt=1),
                   values(draw, (inner, columns), salt=2)), kwargs)


@st.composite
def _operands(draw, *shapes_of_sizes):
    """Arrays whose shapes are built from one drawn size per letter, e.g. ``('ij', 'jk')``."""
    sizes = {}
    arrays = []
    for salt, letters in enumerate(shapes_of_sizes):
        shape = tuple(sizes.setdefault(letter, draw(SIZES)) for letter in letters)
        arrays.append(values(draw, shape, salt=salt))
    return Sample(tuple(arrays))


@st.composite
def _batched_samples(draw):
    batch, rows, inner, columns = draw(SIZES), draw(SIZES), draw(SIZES), draw(SIZES)
    return Sample((values(draw, (batch, rows, inner)),
                   values(draw, (batch, inner, columns), salt=1)))


def _einsum(equation: str, list_form: bool = False):
    """A record's op/ref for ``einsum(equation, *operands)`` (or with the operands as a list)."""
    def fn(m, *xs):
        return m.einsum(equation, list(xs)) if list_form else m.einsum(equation, *xs)
    return {"op": fn, "ref": fn}


def _einsum_operands(equation: str):
    """Operands for an equation without ellipsis: one drawn size per letter."""
    return _operands(*equation.split("->")[0].split(","))


@st.composite
def _ellipsis_matmul(draw):
    """'...ij,...jk->...ik' with broadcast batch dims (some of size 0 or 1)."""
    rows, inner, columns = draw(SIZES), draw(SIZES), draw(SIZES)
    batch_a, batch_b = _batch_shapes(draw, 2)
    return Sample((values(draw, batch_a + (rows, inner)),
                   values(draw, batch_b + (inner, columns), salt=1)))


@st.composite
def _ellipsis_summed(draw):
    """'i...j->ij': the ellipsis dims are summed."""
    batch = _batch_shapes(draw, 1)[0]
    return Sample((values(draw, (draw(SIZES),) + batch + (draw(SIZES),)),))


@st.composite
def _broadcast_labels(draw, *subscripts, label="b"):
    """Operands as ``_operands``, where ``label`` has size 1 in one of them (broadcast)."""
    sizes = {}
    ones_in = draw(st.integers(0, len(subscripts) - 1))
    arrays = []
    for salt, letters in enumerate(subscripts):
        shape = tuple(1 if letter == label and salt == ones_in else
                      sizes.setdefault(letter, draw(SIZES)) for letter in letters)
        arrays.append(values(draw, shape, salt=salt))
    return Sample(tuple(arrays))


@st.composite
def _tensordot_int(draw):
    dims = draw(st.integers(0, 2))
    free_a = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3))
    free_b = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3))
    shared = draw(hnp.array_shapes(min_dims=dims, max_dims=dims, min_side=0, max_side=3))
    return Sample((values(draw, free_a + shared), values(draw, shared + free_b, salt=1)),
                  {"dims": dims})


@st.composite
def _tensordot_lists(draw):
    """Contract dims 0 and -1 of a (3-D) with dims 1 and 0 of b (2-D or 3-D)."""
    first, middle, last = draw(SIZES), draw(SIZES), draw(SIZES)
    extra = draw(st.sampled_from([(), (2,)]))
    return Sample((values(draw, (first, middle, last)), values(draw, (last, first) + extra,
                                                             salt=1)),
                  {"dims": ([0, -1], [1, 0])})


RECORDS = [
    OpInfo("matmul", **same("matmul"), samples=_matmul_samples(),
           notes="dot, matrix-vector, mm and broadcast batches"),
    OpInfo("operator_matmul", op=lambda m, a, b: a @ b, ref=lambda m, a, b: a @ b,
           samples=_matmul_samples()),
    OpInfo("mm", **same("mm"), samples=_operands("ij", "jk")),
    OpInfo("bmm", **same("bmm"), samples=_batched_samples()),
    OpInfo("dot", **same("dot"), samples=_operands("i", "i")),
    OpInfo("outer", **same("outer"), samples=_operands("i", "j")),
    OpInfo("addmm", **same("addmm"), samples=_addmm_samples()),
    OpInfo("addmm_method", op=lambda m, x, *args, **kwargs: x.addmm(*args, **kwargs),
           ref=lambda m, x, *args, **kwargs: x.addmm(*args, **kwargs),
           samples=_addmm_samples()),
    OpInfo("einsum_matmul", **_einsum("ij,jk->ik"), samples=_einsum_operands("ij,jk->ik")),
    OpInfo("einsum_list_operands", **_einsum("ij,jk->ik", list_form=True),
           samples=_einsum_operands("ij,jk->ik")),
    OpInfo("einsum_implicit", **_einsum("ij,jk"), samples=_einsum_operands("ij,jk")),
    OpInfo("einsum_trace", **_einsum("ii"), samples=_einsum_operands("ii")),
    OpInfo("einsum_diagonal", **_einsum("ii->i"), samples=_einsum_operands("ii->i")),
    OpInfo("einsum_repeated_and_summed", **_einsum("iij,jk->k"),
           samples=_einsum_operands("iij,jk->k"),
           notes="a diagonal and an index summed in one operand only"),
    OpInfo("einsum_transpose", **_einsum("ij->ji"), samples=_einsum_operands("ij->ji")),
    OpInfo("einsum_sum_all", **_einsum("ij->"), samples=_einsum_operands("ij->")),
    OpInfo("einsum_outer", **_einsum("i,j->ij"), samples=_einsum_operands("i,j->ij")),
    OpInfo("einsum_three_operands", **_einsum("ij,jk,kl->il"),
           samples=_einsum_operands("ij,jk,kl->il")),
    OpInfo("einsum_ellipsis_matmul", **_einsum("...ij,...jk->...ik"),
           samples=_ellipsis_matmul()),
    OpInfo("einsum_ellipsis_summed", **_einsum("i...j->ij"), samples=_ellipsis_summed()),
    OpInfo("einsum_broadcast_labels", **_einsum("bij,bjk->bik"),
           samples=_broadcast_labels("bij", "bjk")),
    OpInfo("einsum_broadcast_summed", **_einsum("bi,bi->i"),
           samples=_broadcast_labels("bi", "bi"),
           notes="the broadcast label is summed: its gradient is spread back with ones"),
    OpInfo("tensordot", **same("tensordot"), samples=_tensordot_int()),
    OpInfo("tensordot_dim_lists", **same("tensordot"), samples=_tensordot_lists()),
]
