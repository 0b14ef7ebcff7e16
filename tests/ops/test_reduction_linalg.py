"""Hand-checked semantics of the reductions and matrix products: which element a tie, a zero or
a zero norm sends the gradient to, errors for bad dims and shapes, result types and dtypes."""
import math

import numpy as np
import pytest

import leafgrad
from leafgrad.autograd import gradcheck, gradgradcheck


def leaf(data, dtype=leafgrad.float64) -> leafgrad.Tensor:
    return leafgrad.tensor(data, dtype=dtype, requires_grad=True)


def grad_of(output, x, create_graph=False):
    """d(sum(output))/dx."""
    (gradient,) = leafgrad.autograd.grad(output.sum(), x, create_graph=create_graph)
    return gradient


def second_grad_of(output, x):
    """d(sum(d(sum(output))/dx))/dx: the row sums of the Hessian of sum(output)."""
    return grad_of(grad_of(output, x, create_graph=True), x)


def assert_values(tensor, expected):
    np.testing.assert_allclose(tensor.detach().numpy(), expected)


# -- ties: split evenly by max()/amax, routed to one index by max(dim) -----------------------
def test_max_of_all_splits_the_gradient_evenly_among_ties():
    x = leaf([1.0, 3.0, 3.0, 2.0])
    assert_values(grad_of(x.max(), x), [0, 0.5, 0.5, 0])
    y = leaf([2.0, 1.0, 1.0, 3.0])
    assert_values(grad_of(leafgrad.min(y), y), [0, 0.5, 0.5, 0])


def test_amax_splits_ties_within_each_reduced_slice():
    x = leaf([[1.0, 3.0], [3.0, 3.0]])
    assert_values(grad_of(x.amax(0), x), [[0, 0.5], [1, 0.5]])
    assert_values(grad_of(x.amin(dim=(0, 1)), x), [[1, 0], [0, 0]])


def test_max_with_dim_routes_the_gradient_to_the_returned_index_only():
    x = leaf([[1.0, 3.0], [3.0, 3.0]])
    values, indices = x.max(0)
    assert indices.tolist() == [1, 0]  # the first maximum, as torch on CPU
    assert_values(grad_of(values, x), [[0, 1], [1, 0]])


def test_max_of_all_with_nan_splits_among_the_nans():
    x = leaf([1.0, math.nan, 3.0, math.nan])
    assert math.isnan(x.max().item())
    assert_values(grad_of(x.max(), x), [0, 0.5, 0, 0.5])


def test_max_with_a_tensor_is_the_elementwise_maximum():
    a, b = leaf([1.0, 5.0, 2.0]), leaf([3.0, 0.0, 2.0])
    assert_values(leafgrad.max(a, b), [3, 5, 2])
    assert_values(grad_of(a.max(other=b), a), [0, 1, 0.5])


# -- zeros and zero norms --------------------------------------------------------------------
@pytest.mark.parametrize("p", [2, "fro", 3, 1.5])
def test_norm_gradient_at_a_zero_vector_is_zero_not_nan(p):
    x = leaf([0.0, 0.0, 0.0])
    assert_values(grad_of(x.norm(p), x), [0, 0, 0])


def test_norm_over_a_dim_is_zero_only_for_the_zero_rows():
    x = leaf([[0.0, 0.0], [3.0, 4.0]])
    assert_values(grad_of(x.norm(dim=1), x), [[0, 0], [0.6, 0.8]])


def test_std_of_a_constant_slice_has_a_zero_gradient():
    x = leaf([2.0, 2.0, 2.0])
    assert_values(grad_of(x.std(), x), [0, 0, 0])


@pytest.mark.parametrize("data, first, second", [
    ([2.0, 0.0, 3.0, 4.0], [1, 32, 0, 0], [16, 32, 10, 6]),
    ([2.0, 0.0, 3.0, 0.0], [1, 8, 0, 0], [4, 12, 2, 6]),
])
def test_cumprod_gradients_are_exact_at_zeros(data, first, second):
    x = leaf(data)
    assert_values(grad_of(x.cumprod(0), x), first)
    assert_values(second_grad_of(x.cumprod(0), x), second)


@pytest.mark.parametrize("data, first, second", [
    ([0.0, 2.0, 3.0], [6, 0, 0], [5, 3, 2]),
    ([0.0, 2.0, 0.0], [0, 0, 0], [2, 0, 2]),
])
def test_prod_gradients_are_exact_at_zeros(data, first, second):
    x = leaf(data)
    assert_values(grad_of(x.prod(), x), first)
    assert_values(second_grad_of(x.prod(), x), second)


def test_prod_and_cumprod_along_a_dim_pass_gradcheck_at_zeros():
    x = leaf([[0.0, 1.5, -2.0, 0.0], [0.7, 0.0, 1.2, 2.0], [1.1, -0.4, 0.9, 1.3]])
    for op in (lambda t: t.prod(1), lambda t: t.prod(0, keepdim=True),
               lambda t: t.cumprod(1), lambda t: t.cumprod(-2)):
        assert gradcheck(op, (x,))
        assert gradgradcheck(op, (x,))


# -- stability -------------------------------------------------------------------------------
def test_softmax_family_is_stable_for_large_inputs():
    x = leaf([1000.0, 0.0])
    assert_values(x.softmax(0), [1, 0])
    assert_values(x.log_softmax(0), [0, -1000])
    assert_values(leafgrad.logsumexp(leaf([1000.0, 1000.0]), 0), 1000 + math.log(2))


# -- (values, indices) results -----------------------------------------------------------------
def test_max_with_dim_returns_a_named_pair():
    x = leafgrad.tensor([[1.0, 5.0], [7.0, 2.0]])
    result = x.max(dim=1)
    assert type(result).__name__ == "max"
    assert result[0] is result.values and result[1] is result.indices
    values, indices = result
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    assert indices.dtype == leafgrad.int64
    assert repr(result).startswith("torch.return_types.max(\nvalues=")
    kept = leafgrad.min(x, 0, keepdim=True)
    assert kept.values.shape == (1, 2) and kept.indices.tolist() == [[0, 1]]


# -- dtypes ----------------------------------------------------------------------------------
def test_result_dtypes_follow_torch():
    ints = leafgrad.tensor([[1, 2], [3, 4]], dtype=leafgrad.int32)
    flags = leafgrad.tensor([True, False])
    assert ints.prod().dtype == leafgrad.int64
    assert ints.prod(0).dtype == leafgrad.int64
    assert flags.prod().dtype == leafgrad.int64
    assert ints.cumsum(1).dtype == leafgrad.int64
    assert flags.cumsum(0).tolist() == [1, 1]
    assert ints.cumprod(0, dtype=leafgrad.float64).dtype == leafgrad.float64
    assert ints.max().dtype == leafgrad.int32
    assert ints.argmax().dtype == leafgrad.int64
    assert ints.amin(1).dtype == leafgrad.int32
    assert leafgrad.tensor([1, 0], dtype=leafgrad.uint8).all().dtype == leafgrad.uint8
    assert leafgrad.tensor([1.0, 0.0]).any().dtype == leafgrad.bool
    assert leafgrad.logsumexp(ints, 1).dtype == leafgrad.float32
    assert ints.softmax(1, dtype=leafgrad.float64).dtype == leafgrad.float64
    floats = leafgrad.ones(2, 3, dtype=leafgrad.float32)
    for result in (floats @ floats.T, floats.var(), floats.norm(), floats.softmax(0),
                   leafgrad.einsum("ij,kj->ik", floats, floats),
                   leafgrad.tensordot(floats, floats, ([1], [1]))):
        assert result.dtype == leafgrad.float32
    assert (ints @ ints).dtype == leafgrad.int32


def test_legacy_var_signatures():
    x = leafgrad.tensor([[1.0, 2.0, 4.0], [0.0, 3.0, 3.0]])
    assert_values(leafgrad.var(x, True), x.var().item())
    assert_values(leafgrad.var(x, False), x.var(correction=0).item())
    assert leafgrad.var(x, 1, True, True).shape == (2, 1)
    assert_values(x.std(1, unbiased=False), x.std(1, correction=0).numpy())
    with pytest.raises(TypeError, match="not both"):
        x.var(unbiased=True, correction=0)


def test_empty_reductions_with_an_identity():
    empty = leafgrad.zeros(0, 3)
    assert empty.sum().item() == 0 and empty.prod().item() == 1
    assert empty.all().item() and not empty.any().item()
    assert leafgrad.logsumexp(empty, 0).tolist() == [-math.inf] * 3
    assert empty.norm().item() == 0
    assert empty.max(1).values.shape == (0,)
    assert empty.softmax(0).shape == (0, 3)


# -- errors ----------------------------------------------------------------------------------
M23, M45 = leafgrad.ones(2, 3), leafgrad.ones(4, 5)
ERRORS = [
    (lambda: leafgrad.zeros(0, 3).max(), RuntimeError, r"max\(\): Expected reduction dim to be"),
    (lambda: leafgrad.zeros(0, 3).amin(0), IndexError, "reduction dim 0 to have non-zero"),
    (lambda: leafgrad.zeros(0).argmax(), IndexError, "Expected reduction dim"),
    (lambda: M23.max(2), IndexError, "Dimension out of range"),
    (lambda: M23.amax((0, -2)), RuntimeError, "^dim 0 appears multiple times in the list of dims"),
    (lambda: M23.sum((1, -1)), RuntimeError, "^dim 1 appears multiple times in the list of dims"),
    (lambda: M23.max((0, 1)), TypeError, "amax"),
    (lambda: M23.prod((0, 1)), TypeError, "single int"),
    (lambda: M23.softmax((0, 1)), TypeError, "dim must be an int"),
    (lambda: leafgrad.ones(3, dtype=leafgrad.int64).var(), RuntimeError, "floating point"),
    (lambda: leafgrad.ones(3, dtype=leafgrad.int64).softmax(0), NotImplementedError, "float"),
    (lambda: leafgrad.ones(3, dtype=leafgrad.int64).norm(), RuntimeError, "floating point"),
    (lambda: leafgrad.tensor([True]).argmax(), RuntimeError, "bool"),
    (lambda: leafgrad.zeros(0, 3).norm(math.inf, dim=0), RuntimeError, "inf norm on an empty"),
    (lambda: M23.norm("nuc"), NotImplementedError, "nuclear"),
    (lambda: M23.norm("abc"), RuntimeError, "Order abc not supported"),
    (lambda: leafgrad.mm(M23, M45), RuntimeError,
     r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"),
    (lambda: leafgrad.mm(leafgrad.ones(3), M45), RuntimeError, r"self must be a matrix.*\[3\]"),
    (lambda: M23.mm(M45.double()), RuntimeError, "same dtype"),
    (lambda: leafgrad.bmm(M23, leafgrad.ones(2, 3, 4)), RuntimeError, "batch1 must be a 3D"),
    (lambda: leafgrad.bmm(leafgrad.ones(2, 2, 3), leafgrad.ones(2, 4, 5)), RuntimeError,
     r"batch2 tensor to be: \[2, 3\] but got: \[2, 4\]"),
    (lambda: leafgrad.matmul(leafgrad.tensor(1.0), M23), RuntimeError, "at least 1D"),
    (lambda: M23 @ leafgrad.ones(4), RuntimeError, r"cannot be multiplied \(2x3 and 4\)"),
    (lambda: leafgrad.ones(2, 2, 3) @ leafgrad.ones(3, 3, 4), RuntimeError, "do not broadcast"),
    (lambda: leafgrad.ones(3) @ leafgrad.ones(4), RuntimeError, "inconsistent tensor size"),
    (lambda: leafgrad.dot(M23, leafgrad.ones(3)), RuntimeError, "1D tensors expected"),
    (lambda: leafgrad.outer(M23, leafgrad.ones(3)), RuntimeError, "Expected 1-D argument self"),
    (lambda: leafgrad.ones(2, 2, dtype=leafgrad.bool) @ leafgrad.ones(2, 2, dtype=leafgrad.bool),
     NotImplementedError, "bool"),
    (lambda: leafgrad.einsum("ij->i", M23, M23), RuntimeError, "more operands"),
    (lambda: leafgrad.einsum("ij,jk->ik", M23), RuntimeError, "fewer operands"),
    (lambda: leafgrad.einsum("ijk", M23), RuntimeError, r"subscripts in the equation \(3\)"),
    (lambda: leafgrad.einsum("ij,jk", M23, M45), RuntimeError,
     "subscript j has size 4 for operand 1"),
    (lambda: leafgrad.einsum("ii", M23), RuntimeError, "repeated for operand 0"),
    (lambda: leafgrad.einsum("ij->ii", M23), RuntimeError, "appears more than once"),
    (lambda: leafgrad.einsum("ij->k", M23), RuntimeError, "does not appear"),
    (lambda: leafgrad.einsum("i1", M23), RuntimeError, "must be in"),
    (lambda: leafgrad.tensordot(M23, M45, 1), RuntimeError, "contracted dimensions need to match"),
    (lambda: leafgrad.tensordot(M23, M45, -1), RuntimeError, "dims >= 0"),
    (lambda: leafgrad.tensordot(M23, M23, ([0, 1], [0])), RuntimeError, "same length"),
]


@pytest.mark.parametrize("call, error, message", ERRORS, ids=[e[2][:40] for e in ERRORS])
def test_errors_name_the_problem(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_failed_calls_leave_their_inputs_unchanged():
    a, b = leaf([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), leaf([[1.0, 2.0], [3.0, 4.0]])
    before = [(t.detach().numpy().copy(), t._version) for t in (a, b)]
    for call in (lambda: a @ b, lambda: leafgrad.mm(a, b), lambda: a.max(5),
                 lambda: leafgrad.einsum("ij,jk->ik", a, b),
                 lambda: leafgrad.tensordot(a, b, 2), lambda: a.prod((0, 1))):
        with pytest.raises((RuntimeError, IndexError, TypeError)):
            call()
    for t, (data, version) in zip((a, b), before):
        np.testing.assert_array_equal(t.detach().numpy(), data)
        assert t._version == version and t.grad is None and t.grad_fn is None


# -- matmul and einsum details ---------------------------------------------------------------
def test_matmul_accepts_numpy_operands_on_either_side():
    x = leafgrad.ones(2, 3)
    assert (x @ np.ones((3, 4), dtype=np.float32)).shape == (2, 4)
    assert x.__rmatmul__(np.ones((5, 2), dtype=np.float32)).shape == (5, 3)


def test_einsum_backward_handles_diagonals_and_summed_indices():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    assert_values(grad_of(leafgrad.einsum("ii", x), x), [[1, 0], [0, 1]])
    assert_values(grad_of(leafgrad.einsum("ij->i", x), x), [[1, 1], [1, 1]])
    y = leaf([[2.0], [5.0]])
    # 'ij,ij->ij' broadcasts y's size-1 dim: its gradient sums over it
    assert_values(grad_of(leafgrad.einsum("ij,ij->ij", x, y), y), [[3], [7]])


def test_einsum_results_own_their_memory():
    x = leafgrad.tensor([[1.0, 2.0], [3.0, 4.0]])
    transposed = leafgrad.einsum("ij->ji", x)
    transposed[0, 0] = 10.0
    assert x[0, 0].item() == 1.0


def test_softmax_of_a_row_of_minus_inf_is_nan_without_warnings():
    import warnings
    rows = leafgrad.tensor([[-float("inf"), -float("inf")], [0.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        soft = leafgrad.softmax(rows, 1)
        log_soft = leafgrad.log_softmax(rows, 1)
    assert np.isnan(soft[0].numpy()).all() and np.isnan(log_soft[0].numpy()).all()
    np.testing.assert_allclose(soft[1].numpy(), [0.26894142, 0.73105858], rtol=1e-6)


@pytest.mark.parametrize("call", ["mm", "addmm", "linear"])
@pytest.mark.parametrize("column_major", [(False, False), (True, False), (False, True)])
def test_matrix_product_gradients_keep_torch_layouts(torch, call, column_major):
    """A column-major operand (such as linear's weight.t()) gets a column-major gradient, as
    torch's mm_mat1_backward / mm_mat2_backward give: linear's weight gradient is row-major."""
    generator = np.random.default_rng(0)
    mat1, mat2 = (generator.standard_normal(shape).astype(np.float32) for shape in ((4, 3),
                                                                                  (3, 5)))
    bias, grad = (generator.standard_normal(shape).astype(np.float32) for shape in (5, (4, 5)))

    def run(lib):
        # each operand as a leaf in its layout: its transpose's transpose when column-major
        leaves = [lib.tensor(data.T.copy() if transpose else data, requires_grad=True)
                  for data, transpose in zip((mat1, mat2), column_major)]
        a, b = (leaf.t() if transpose else leaf for leaf, transpose in zip(leaves, column_major))
        if call == "mm":
            out = lib.mm(a, b)
        elif call == "addmm":
            out = lib.addmm(lib.tensor(bias), a, b)
        else:
            out = lib.nn.functional.linear(a, b.t(), lib.tensor(bias))
        out.backward(lib.tensor(grad))
        return [leaf.grad for leaf in leaves]

    for ours, theirs in zip(run(leafgrad), run(torch)):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)
        assert ours.stride() == theirs.stride()
