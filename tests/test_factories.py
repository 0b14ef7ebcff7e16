"""Tensor factories: torch's signatures, dtype inference, memory sharing, ranges, random
numbers and the errors for bad input."""
from __future__ import annotations

import numpy as np
import pytest

import leafgrad


# -- tensor() and dtype inference ---------------------------------------------------------
@pytest.mark.parametrize("data, dtype", [
    ([1.0, 2.0], "float32"), ([1, 2], "int64"), ([True, False], "bool"), (2.5, "float32"),
    (3, "int64"), (True, "bool"), ([1, 2.5, True], "float32"), ([True, 2], "int64"),
    ([], "float32"), ([[]], "float32"), ((1, 2), "int64"), (range(3), "int64"),
    (np.array([1.5]), "float64"), (np.array([1], dtype=np.int32), "int32"),
    (np.array([1], dtype=np.uint8), "uint8"), (np.float64(1.5), "float64"),
    (np.int16(3), "int16"), ([np.float64(1.5)], "float64"), ([np.float32(1.0), 2.5], "float32"),
    ([np.int32(1), 2], "int64"), ([np.int32(1), 2.5], "float32"),
])
def test_tensor_infers_dtype_like_torch(data, dtype):
    assert leafgrad.tensor(data).dtype is getattr(leafgrad, dtype)


def test_tensor_values_and_shapes():
    t = leafgrad.tensor([[1, 2], [3, 4]])
    assert t.shape == (2, 2) and t.tolist() == [[1, 2], [3, 4]]
    assert leafgrad.tensor([[]]).shape == (1, 0)
    assert leafgrad.tensor([1, 2], dtype=leafgrad.float32).tolist() == [1.0, 2.0]
    assert leafgrad.tensor([1.7, -1.7], dtype=leafgrad.int64).tolist() == [1, -1]
    assert leafgrad.tensor(leafgrad.Size([2, 3])).tolist() == [2, 3]


def test_tensor_from_tensors():
    # one-element tensors inside a list are read as numbers, as torch does
    t = leafgrad.tensor([leafgrad.tensor(1.0), leafgrad.tensor([2.0])])
    assert t.tolist() == [1.0, 2.0] and t.dtype is leafgrad.float32
    assert leafgrad.tensor([leafgrad.tensor(1, dtype=leafgrad.int32), 2]).dtype is leafgrad.int64
    with pytest.raises(ValueError, match="only one element tensors"):
        leafgrad.tensor([leafgrad.tensor([1.0, 2.0]), leafgrad.tensor([3.0, 4.0])])


def test_tensor_copies_its_data():
    array = np.array([1.0, 2.0], dtype=np.float32)
    t = leafgrad.tensor(array)
    array[0] = 9.0
    assert t.tolist() == [1.0, 2.0]
    source = leafgrad.tensor([1.0])
    copy = leafgrad.tensor(source)
    source.add_(1.0)
    assert copy.tolist() == [1.0]


def test_tensor_requires_grad():
    assert leafgrad.tensor([1.0], requires_grad=True).requires_grad
    assert leafgrad.tensor([1.0], requires_grad=True).is_leaf
    with pytest.raises(RuntimeError, match="only Tensors of floating point and complex dtype "
                                           "can require gradients"):
        leafgrad.tensor([1], requires_grad=True)


def test_tensor_matches_torch_inference():
    torch = pytest.importorskip("torch")
    samples = [[1.0, 2], [[1, 2], [3, 4]], [True, False], [np.float64(1.5), 2.0],
               [np.int32(1), np.int8(2)], np.array([1, 2], dtype=np.int16), [1e40], 7,
               [np.float16(1.0), 2], ((1.5,), (2.5,))]
    for data in samples:
        ours, theirs = leafgrad.tensor(data), torch.tensor(data)
        assert str(ours.dtype) == str(theirs.dtype), data
        assert ours.tolist() == theirs.tolist(), data


@pytest.mark.parametrize("data, error, message", [
    ([[1, 2], [3]], ValueError, r"expected sequence of length 2 at dim 1 \(got 1\)"),
    ([[[1], [2]], [[3], [4, 5]]], ValueError, r"expected sequence of length 1 at dim 2 \(got 2\)"),
    ([[1, 2], 3], ValueError, r"expected sequence of length 2 at dim 1 \(got int\)"),
    ([1, [2, 3]], ValueError, "expected a number at dim 1, got a sequence"),
    ([1j], TypeError, "complex numbers are not supported"),
    (np.array([1j]), TypeError, "complex128"),
    (np.array([1, None], dtype=object), TypeError, "object"),
    (np.array(["a"]), TypeError, "<U1"),
    (np.array([1], dtype=np.uint16), TypeError, "uint16"),
    (["a"], TypeError, "Could not infer dtype of str"),
    (None, TypeError, "Could not infer dtype of NoneType"),
    ([object()], TypeError, "Could not infer dtype of object"),
    ({1: 2}, TypeError, "Could not infer dtype of dict"),
])
def test_tensor_rejects_bad_data(data, error, message):
    with pytest.raises(error, match=message):
        leafgrad.tensor(data)


def test_tensor_overflow_and_bad_dtype():
    with pytest.raises(RuntimeError, match="value cannot be converted to type int8 without "
                                           "overflow"):
        leafgrad.tensor([300], dtype=leafgrad.int8)
    with pytest.raises(RuntimeError, match="cannot be converted to type int64"):
        leafgrad.tensor([2 ** 63])
    with pytest.raises(TypeError, match="dtype must be a leafgrad dtype"):
        leafgrad.tensor([1], dtype="banana")
    assert leafgrad.tensor([1e40]).tolist() == [float("inf")]  # float32 overflow, as torch


# -- as_tensor and from_numpy share memory ------------------------------------------------
def test_from_numpy_shares_memory_both_ways():
    array = np.array([1, 2, 3])
    t = leafgrad.from_numpy(array)
    assert t.dtype is leafgrad.int64
    array[0] = 10
    assert t.tolist() == [10, 2, 3]
    t.add_(1)
    assert array.tolist() == [11, 3, 4]
    assert np.shares_memory(t.numpy(), array)
    assert leafgrad.from_numpy(np.array(2.5)).shape == ()


@pytest.mark.parametrize("array, name", [
    (np.array([1j]), "complex128"), (np.array([1, None], dtype=object), "object"),
    (np.array(["a"]), "<U1"), (np.array([1], dtype=np.uint32), "uint32"),
])
def test_from_numpy_rejects_unsupported_dtypes(array, name):
    with pytest.raises(TypeError, match=f"can't convert NumPy array of type {name}.*leafgrad "
                                        f"supports float64, float32"):
        leafgrad.from_numpy(array)


def test_from_numpy_needs_an_array():
    with pytest.raises(TypeError, match=r"expected np.ndarray \(got list\)"):
        leafgrad.from_numpy([1, 2])
    with pytest.raises(ValueError, match="byte order"):
        leafgrad.from_numpy(np.array([1, 2], dtype=">i4"))


def test_as_tensor_shares_when_it_can():
    array = np.zeros(2, dtype=np.float32)
    shared = leafgrad.as_tensor(array)
    array[0] = 5.0
    assert shared.tolist() == [5.0, 0.0]
    converted = leafgrad.as_tensor(array, dtype=leafgrad.float64)
    array[1] = 7.0
    assert converted.tolist() == [5.0, 0.0] and converted.dtype is leafgrad.float64
    t = leafgrad.tensor([1.0])
    assert leafgrad.as_tensor(t) is t
    assert leafgrad.as_tensor(t, dtype=leafgrad.float64).dtype is leafgrad.float64
    assert leafgrad.as_tensor([1, 2]).dtype is leafgrad.int64
    assert leafgrad.as_tensor([1, 2], device="cpu").tolist() == [1, 2]


# -- filled tensors -------------------------------------------------------------------------
@pytest.mark.parametrize("factory, value", [(leafgrad.zeros, 0.0), (leafgrad.ones, 1.0)])
def test_zeros_and_ones(factory, value):
    for call in (lambda: factory(2, 3), lambda: factory((2, 3)), lambda: factory([2, 3]),
                 lambda: factory(leafgrad.Size([2, 3])), lambda: factory(size=(2, 3))):
        t = call()
        assert t.shape == (2, 3) and t.dtype is leafgrad.float32
        assert t.tolist() == [[value] * 3] * 2
    assert factory(()).shape == () and factory(0).shape == (0,)
    assert factory(2, dtype=leafgrad.int32).tolist() == [int(value)] * 2
    assert factory(2, requires_grad=True).requires_grad


def test_empty_and_full():
    assert leafgrad.empty(2, 3).shape == (2, 3) and leafgrad.empty(2).dtype is leafgrad.float32
    assert leafgrad.full((2,), 1).dtype is leafgrad.int64
    assert leafgrad.full((2,), 1.5).tolist() == [1.5, 1.5]
    assert leafgrad.full((2,), 1.5).dtype is leafgrad.float32
    assert leafgrad.full((2,), True).dtype is leafgrad.bool
    assert leafgrad.full([1, 2], 7, dtype=leafgrad.float64).tolist() == [[7.0, 7.0]]
    assert leafgrad.full((2,), leafgrad.tensor(3.0)).tolist() == [3.0, 3.0]


def test_like_factories_keep_shape_and_dtype():
    ints = leafgrad.tensor([[1, 2, 3]], dtype=leafgrad.int32)
    for factory, value in ((leafgrad.zeros_like, 0), (leafgrad.ones_like, 1)):
        t = factory(ints)
        assert t.shape == (1, 3) and t.dtype is leafgrad.int32 and t.tolist() == [[value] * 3]
        assert factory(ints, dtype=leafgrad.float64).dtype is leafgrad.float64
    assert leafgrad.empty_like(ints).shape == (1, 3)
    assert leafgrad.empty_like(ints).dtype is leafgrad.int32
    assert leafgrad.full_like(ints, 2.7).tolist() == [[2, 2, 2]]  # truncated, as torch
    floats = leafgrad.zeros(2)
    assert leafgrad.full_like(floats, 2.5, requires_grad=True).requires_grad
    with pytest.raises(RuntimeError, match="floating point"):
        leafgrad.zeros_like(ints, requires_grad=True)


@pytest.mark.parametrize("call, size", [
    (lambda: leafgrad.zeros(2, -1), "-1: \\[2, -1\\]"),
    (lambda: leafgrad.ones((-3,)), "-3: \\[-3\\]"),
    (lambda: leafgrad.empty(-2), "-2"),
    (lambda: leafgrad.full((-2,), 1.0), "-2"),
    (lambda: leafgrad.rand(-1), "-1"),
    (lambda: leafgrad.randn(2, -3), "-3: \\[2, -3\\]"),
    (lambda: leafgrad.randint(0, 5, (-1,)), "-1"),
])
def test_negative_sizes(call, size):
    with pytest.raises(RuntimeError, match=f"Trying to create tensor with negative dimension "
                                           f"{size}"):
        call()


@pytest.mark.parametrize("call, message", [
    (lambda: leafgrad.zeros(2.5), ("zeros\\(\\): argument 'size' must be a tuple of ints, but "
                                   "found element of type float at pos 0")),
    (lambda: leafgrad.ones([2, 2.0]), "element of type float at pos 1"),
    (lambda: leafgrad.zeros("a"), "element of type str"),
    (lambda: leafgrad.zeros(), "zeros\\(\\) missing 1 required positional argument: 'size'"),
    (lambda: leafgrad.zeros(2, colour="red"), "unexpected keyword argument 'colour'"),
    (lambda: leafgrad.zeros_like([1, 2]), "expected a Tensor as input, got list"),
])
def test_bad_sizes_and_arguments(call, message):
    with pytest.raises(TypeError, match=message):
        call()


# -- ranges ---------------------------------------------------------------------------------
@pytest.mark.parametrize("args, kwargs, expected, dtype", [
    ((5,), {}, [0, 1, 2, 3, 4], "int64"),
    ((5.0,), {}, [0.0, 1.0, 2.0, 3.0, 4.0], "float32"),
    ((1, 2.5, 0.5), {}, [1.0, 1.5, 2.0], "float32"),
    ((10, 0, -3), {}, [10, 7, 4, 1], "int64"),
    ((-1.0, 1.0, 0.5), {}, [-1.0, -0.5, 0.0, 0.5], "float32"),
    ((5,), {"dtype": leafgrad.float64}, [0.0, 1.0, 2.0, 3.0, 4.0], "float64"),
    ((0.5, 3), {"dtype": leafgrad.int64}, [0, 1, 2], "int64"),
    ((-2.5, 7.7, 1.5), {"dtype": leafgrad.int64}, [-2, -1, 0, 1, 2, 3, 4, 5, 6], "int64"),
    ((2, 2), {}, [], "int64"),
])
def test_arange(args, kwargs, expected, dtype):
    t = leafgrad.arange(*args, **kwargs)
    assert t.dtype is getattr(leafgrad, dtype)
    assert t.tolist() == expected


def test_arange_length_rule():
    # torch's length is ceil((end - start) / step), computed in double
    assert leafgrad.arange(0, 1, 0.1).shape == (10,)
    assert leafgrad.arange(0, 1.0000001, 0.1).shape == (11,)
    assert leafgrad.arange(0, 0.3, 0.1).shape == (3,)  # 0.3 / 0.1 is 2.9999999999999996
    assert leafgrad.arange(leafgrad.tensor(3)).tolist() == [0, 1, 2]
    assert leafgrad.arange(1.0, 4.0, requires_grad=True).requires_grad


@pytest.mark.parametrize("args, kwargs, message", [
    ((0, 10, 0), {}, "step must be nonzero"),
    ((2.5, 7.7, 0.6), {"dtype": leafgrad.int64}, "step must be nonzero"),
    ((0, -1, 0.3), {}, "upper bound and lower bound inconsistent with step sign"),
])
def test_arange_errors(args, kwargs, message):
    with pytest.raises(RuntimeError, match=message):
        leafgrad.arange(*args, **kwargs)


def test_arange_matches_torch():
    torch = pytest.importorskip("torch")
    cases = [(0, 1, 0.1), (1, 2.5, 0.5), (10, 0, -3), (0.0, 3.3, 1.1), (-1, 1, 0.25),
             (0, 10), (5,), (2.5,), (0, 0.3, 0.1), (1e-3, 1.0, 0.07), (7, 3, -0.5)]
    for args in cases:
        ours, theirs = leafgrad.arange(*args), torch.arange(*args)
        assert str(ours.dtype) == str(theirs.dtype) and ours.shape == tuple(theirs.shape), args
        leafgrad.testing.assert_close(ours, theirs)
    for args in [(0.5, 3), (-2.5, 7.7, 1.5), (27.04, 7.7, -1.6)]:
        ours = leafgrad.arange(*args, dtype=leafgrad.int64)
        assert ours.tolist() == torch.arange(*args, dtype=torch.int64).tolist(), args


def test_linspace():
    assert leafgrad.linspace(0, 1, 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert leafgrad.linspace(0, 1, 5).dtype is leafgrad.float32
    assert leafgrad.linspace(0, 1, 1).tolist() == [0.0]
    assert leafgrad.linspace(0, 1, 0).shape == (0,)
    assert leafgrad.linspace(-1, 1, 3, dtype=leafgrad.float64).tolist() == [-1.0, 0.0, 1.0]
    assert leafgrad.linspace(0, 10, 4, dtype=leafgrad.int64).tolist() == [0, 3, 6, 10]
    assert leafgrad.linspace(leafgrad.tensor(0.0), leafgrad.tensor(2.0), 3).tolist() == \
        [0.0, 1.0, 2.0]
    with pytest.raises(RuntimeError, match="number of steps must be non-negative"):
        leafgrad.linspace(0, 1, -1)
    with pytest.raises(TypeError, match="'steps' must be int, not float"):
        leafgrad.linspace(0, 1, 2.0)


def test_linspace_matches_torch():
    torch = pytest.importorskip("torch")
    # same algorithm (from both ends, in the result dtype); torch's vectorised/FMA kernel can
    # round the last bit differently, so values are compared with the dtype's tolerance
    cases = [(0, 1, 7), (-3.3, 7.1, 11), (8.0, 0.1, 8), (1, 2, 3), (0, 1, 2), (-9.1, 3.3, 100)]
    for start, end, steps in cases:
        for dtype in ("float32", "float64"):
            ours = leafgrad.linspace(start, end, steps, dtype=getattr(leafgrad, dtype))
            theirs = torch.linspace(start, end, steps, dtype=getattr(torch, dtype))
            leafgrad.testing.assert_close(ours, theirs)
            assert ours[0].item() == theirs[0].item() and ours[-1].item() == theirs[-1].item()


def test_eye():
    assert leafgrad.eye(2).tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert leafgrad.eye(2).dtype is leafgrad.float32
    assert leafgrad.eye(2, 3, dtype=leafgrad.int64).tolist() == [[1, 0, 0], [0, 1, 0]]
    assert leafgrad.eye(0).shape == (0, 0)
    with pytest.raises(RuntimeError, match="n must be greater or equal to 0, got -1"):
        leafgrad.eye(-1)
    with pytest.raises(RuntimeError, match="m must be greater or equal to 0, got -2"):
        leafgrad.eye(2, -2)


def test_logspace_and_scalar_tensor():
    assert leafgrad.logspace(0, 2, 3).tolist() == [1.0, 10.0, 100.0]
    assert leafgrad.scalar_tensor(3).dtype is leafgrad.float32
    assert leafgrad.scalar_tensor(3).shape == ()


# -- random numbers -------------------------------------------------------------------------
RANDOM_CALLS = {
    "rand": lambda **kw: leafgrad.rand(3, 4, **kw),
    "randn": lambda **kw: leafgrad.randn(3, 4, **kw),
    "randint": lambda **kw: leafgrad.randint(0, 100, (3, 4), **kw),
    "randperm": lambda **kw: leafgrad.randperm(12, **kw),
    "normal": lambda **kw: leafgrad.normal(1.0, 2.0, (3, 4), **kw),
    "bernoulli": lambda **kw: leafgrad.bernoulli(leafgrad.full((3, 4), 0.5), **kw),
}


@pytest.mark.parametrize("name", sorted(RANDOM_CALLS))
def test_manual_seed_reproduces(name):
    call = RANDOM_CALLS[name]
    leafgrad.manual_seed(1234)
    first = call().tolist()
    second = call().tolist()
    leafgrad.manual_seed(1234)
    assert call().tolist() == first
    assert second != first  # the stream moves on
    leafgrad.manual_seed(1235)
    if name != "bernoulli":  # 12 fair coins can repeat; the others cannot in practice
        assert call().tolist() != first


@pytest.mark.parametrize("name", sorted(RANDOM_CALLS))
def test_generators_are_independent_streams(name):
    call = RANDOM_CALLS[name]
    generator = leafgrad.Generator().manual_seed(7)
    leafgrad.manual_seed(0)
    expected_default = call().tolist()
    leafgrad.manual_seed(0)
    from_generator = call(generator=generator).tolist()  # does not advance the default
    assert call().tolist() == expected_default
    assert leafgrad.Generator().manual_seed(7) is not generator
    assert call(generator=leafgrad.Generator().manual_seed(7)).tolist() == from_generator


def test_random_shapes_dtypes_and_ranges():
    leafgrad.manual_seed(0)
    u = leafgrad.rand(1000)
    assert u.dtype is leafgrad.float32 and 0.0 <= u.min().item() and u.max().item() < 1.0
    assert leafgrad.rand((2,), dtype=leafgrad.float64).dtype is leafgrad.float64
    assert leafgrad.randn(2, 3, dtype=leafgrad.float16).dtype is leafgrad.float16
    n = leafgrad.randn(20000, dtype=leafgrad.float64)
    assert abs(n.mean().item()) < 0.05 and abs(n.std().item() - 1.0) < 0.05
    ints = leafgrad.randint(3, 10, (2000,))
    assert ints.dtype is leafgrad.int64
    assert ints.min().item() == 3 and ints.max().item() == 9
    assert leafgrad.randint(5, (3,)).shape == (3,)
    assert leafgrad.randint(3, 10, (2,), dtype=leafgrad.float32).dtype is leafgrad.float32
    assert sorted(leafgrad.randperm(10).tolist()) == list(range(10))
    assert leafgrad.randperm(0).shape == (0,) and leafgrad.randperm(4).dtype is leafgrad.int64
    samples = leafgrad.normal(5.0, 0.5, size=(20000,))
    assert samples.dtype is leafgrad.float32 and abs(samples.mean().item() - 5.0) < 0.05
    per_element = leafgrad.normal(leafgrad.tensor([0.0, 100.0]), leafgrad.tensor([0.0, 0.0]))
    assert per_element.tolist() == [0.0, 100.0]
    assert leafgrad.normal(leafgrad.zeros(2, dtype=leafgrad.float64), 1.0).dtype is \
        leafgrad.float64
    assert leafgrad.bernoulli(leafgrad.tensor([0.0, 1.0, 0.0, 1.0])).tolist() == \
        [0.0, 1.0, 0.0, 1.0]
    assert leafgrad.bernoulli(leafgrad.zeros(3), p=1.0).tolist() == [1.0, 1.0, 1.0]
    assert leafgrad.rand(2, requires_grad=True).requires_grad


def test_random_like():
    base = leafgrad.zeros(2, 3, dtype=leafgrad.float64)
    assert leafgrad.rand_like(base).shape == (2, 3)
    assert leafgrad.rand_like(base).dtype is leafgrad.float64
    assert leafgrad.randn_like(base).dtype is leafgrad.float64
    like = leafgrad.randint_like(leafgrad.zeros(2, 3), 5)
    assert like.dtype is leafgrad.float32 and like.shape == (2, 3) and like.max().item() < 5
    assert leafgrad.randint_like(base, 3, 4).tolist() == [[3.0] * 3] * 2


def test_rng_state_round_trip():
    leafgrad.manual_seed(3)
    assert leafgrad.initial_seed() == 3
    state = leafgrad.get_rng_state()
    first = leafgrad.rand(4).tolist()
    leafgrad.set_rng_state(state)
    assert leafgrad.rand(4).tolist() == first
    generator = leafgrad.Generator()
    assert generator.initial_seed() == 67280421310721  # torch's default seed
    assert generator.device == leafgrad.device("cpu")


@pytest.mark.parametrize("call, error, message", [
    (lambda: leafgrad.rand(2, dtype=leafgrad.int64), NotImplementedError, "not implemented for"),
    (lambda: leafgrad.randn(2, dtype=leafgrad.int64), NotImplementedError, "not implemented"),
    (lambda: leafgrad.randn_like(leafgrad.tensor([1, 2])), NotImplementedError, "not impl"),
    (lambda: leafgrad.bernoulli(leafgrad.tensor([0, 1])), NotImplementedError, "floating"),
    (lambda: leafgrad.bernoulli(leafgrad.tensor([2.0])), RuntimeError, "must be in \\[0, 1\\]"),
    (lambda: leafgrad.normal(0.0, -1.0, size=(2,)), RuntimeError, "normal expects std >= 0.0"),
    (lambda: leafgrad.normal(0.0, 1.0), TypeError, "pass size= as well"),
    (lambda: leafgrad.randint(3, 3, (2,)), RuntimeError, "expects 'from' to be less than 'to'"),
    (lambda: leafgrad.randint(3), TypeError, "missing required argument 'size'"),
    (lambda: leafgrad.randperm(-1), RuntimeError, "n must be non-negative"),
    (lambda: leafgrad.rand(2, device="cuda"), RuntimeError, "no cuda array backend"),
])
def test_random_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_randint_with_an_empty_size_gives_a_0_dim_tensor():
    value = leafgrad.randint(0, 5, ())
    assert value.shape == () and value.dtype == leafgrad.int64 and 0 <= value.item() < 5
