"""The Tensor API: dtypes, metadata, conversions, printing, type promotion and devices.

Hand-checked cases run everywhere; the ``*_matches_torch`` tests run the same program with
``leafgrad`` and ``torch`` (skipped when torch is not installed) and compare exactly.
"""
from __future__ import annotations

import itertools
import operator

import numpy as np
import pytest

import leafgrad
from leafgrad import Size


@pytest.fixture
def float64_default():
    leafgrad.set_default_dtype(leafgrad.float64)
    yield
    leafgrad.set_default_dtype(leafgrad.float32)


# -- dtypes ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name, np_dtype, floating", [
    ("float32", np.float32, True), ("float64", np.float64, True), ("float16", np.float16, True),
    ("int64", np.int64, False), ("int32", np.int32, False), ("int16", np.int16, False),
    ("int8", np.int8, False), ("uint8", np.uint8, False), ("bool", np.bool_, False),
])
def test_dtype_objects(name, np_dtype, floating):
    dtype = getattr(leafgrad, name)
    assert isinstance(dtype, leafgrad.dtype)
    assert repr(dtype) == f"torch.{name}" and str(dtype) == f"torch.{name}"
    assert dtype.is_floating_point is floating
    assert dtype.itemsize == np.dtype(np_dtype).itemsize
    assert leafgrad.zeros(2, dtype=dtype).numpy().dtype == np_dtype
    assert leafgrad.zeros(2, dtype=dtype).dtype is dtype


def test_dtype_aliases_are_the_same_objects():
    assert leafgrad.float is leafgrad.float32
    assert leafgrad.double is leafgrad.float64
    assert leafgrad.half is leafgrad.float16
    assert leafgrad.long is leafgrad.int64
    assert leafgrad.int is leafgrad.int32
    assert leafgrad.short is leafgrad.int16
    assert {leafgrad.float32: "x"}[leafgrad.float] == "x"
    assert leafgrad.int8.is_signed and not leafgrad.uint8.is_signed


def test_default_dtype(float64_default):
    assert leafgrad.get_default_dtype() is leafgrad.float64
    assert leafgrad.tensor([1.5]).dtype is leafgrad.float64
    assert leafgrad.zeros(2).dtype is leafgrad.float64
    assert leafgrad.arange(0.0, 1.0, 0.5).dtype is leafgrad.float64
    assert (leafgrad.tensor([1, 2]) + 2.5).dtype is leafgrad.float64
    assert (leafgrad.tensor([1, 2]) / 2).dtype is leafgrad.float64
    # float32 is no longer the default, so its repr names it
    assert repr(leafgrad.tensor([1.5], dtype=leafgrad.float32)) == \
        "tensor([1.5000], dtype=torch.float32)"
    assert repr(leafgrad.tensor([1.5])) == "tensor([1.5000])"


def test_default_dtype_restored_and_validated():
    assert leafgrad.get_default_dtype() is leafgrad.float32
    with pytest.raises(TypeError, match="floating-point"):
        leafgrad.set_default_dtype(leafgrad.int64)
    assert leafgrad.get_default_dtype() is leafgrad.float32


def test_python_types_as_dtypes_follow_torch():
    # torch maps Python's float to float64 and int to int64, whatever the default dtype
    assert leafgrad.tensor([1, 2], dtype=float).dtype is leafgrad.float64
    assert leafgrad.tensor([1.5], dtype=int).dtype is leafgrad.int64
    assert leafgrad.tensor([1, 0], dtype=bool).tolist() == [True, False]
    assert leafgrad.tensor([1]).to(float).dtype is leafgrad.float64


# -- Size and metadata ----------------------------------------------------------------------
def test_size_is_a_tuple_printed_like_torch():
    t = leafgrad.zeros(2, 3)
    assert isinstance(t.shape, Size) and isinstance(t.size(), tuple)
    assert repr(t.size()) == "torch.Size([2, 3])" and str(t.shape) == "torch.Size([2, 3])"
    assert repr(Size()) == "torch.Size([])"
    assert t.shape == (2, 3) and t.size() == Size([2, 3])
    assert t.shape.numel() == 6 and Size([]).numel() == 1
    assert type(t.shape[1:]) is Size and t.shape[1:] == (3,)
    assert type(t.shape + (4,)) is Size and t.shape + (4,) == (2, 3, 4)
    assert type((1,) + t.shape) is Size and (1,) + t.shape == (1, 2, 3)
    assert type(t.shape * 2) is Size and t.shape * 2 == (2, 3, 2, 3)
    assert type(t.shape[0]) is int


def test_metadata():
    t = leafgrad.zeros(2, 3, 4)
    assert t.size(0) == 2 and t.size(-1) == 4 and t.size(dim=1) == 3
    assert t.dim() == 3 and t.ndim == 3 and t.numel() == 24 and t.nelement() == 24
    assert t.dtype is leafgrad.float32
    assert leafgrad.tensor(1.5).dim() == 0 and leafgrad.tensor(1.5).shape == ()
    with pytest.raises(IndexError, match=r"Dimension out of range.*\[-3, 2\].*got 3"):
        t.size(3)


def test_device():
    t = leafgrad.zeros(2)
    assert repr(t.device) == "device(type='cpu')" and str(t.device) == "cpu"
    assert t.device == leafgrad.device("cpu") and t.device.type == "cpu"
    assert t.device != "cpu"  # as torch: a device is never equal to a string
    assert not t.is_cuda
    assert repr(leafgrad.device("cpu", 0)) == "device(type='cpu', index=0)"
    with pytest.raises(RuntimeError, match="device type at start of device string: tpu"):
        leafgrad.device("tpu")


def test_transposes():
    m = leafgrad.arange(6).reshape(2, 3)
    assert m.T.tolist() == [[0, 3], [1, 4], [2, 5]]
    with pytest.warns(UserWarning, match="x.T` on tensors of dimension other than 2"):
        assert leafgrad.arange(3).T.tolist() == [0, 1, 2]  # deprecated, as in torch
    batch = leafgrad.arange(12).reshape(2, 2, 3)
    assert batch.mT.shape == (2, 3, 2)
    assert batch.mT[1].tolist() == [[6, 9], [7, 10], [8, 11]]


# -- Python conversions ---------------------------------------------------------------------
def test_item_and_tolist():
    assert leafgrad.tensor([[2.5]]).item() == 2.5
    assert type(leafgrad.tensor([3]).item()) is int
    assert leafgrad.tensor(True).item() is True
    assert leafgrad.tensor(0.1).item() == float(np.float32(0.1))  # the float32 value, widened
    assert leafgrad.tensor([[1.5, 2.0], [3.0, 4.0]]).tolist() == [[1.5, 2.0], [3.0, 4.0]]
    assert leafgrad.tensor(2).tolist() == 2
    with pytest.raises(RuntimeError, match="a Tensor with 2 elements cannot be converted to "
                                           "Scalar"):
        leafgrad.tensor([1, 2]).item()


def test_scalar_conversions():
    assert float(leafgrad.tensor([[2]])) == 2.0 and int(leafgrad.tensor(2.7)) == 2
    assert [10, 20, 30][leafgrad.tensor(1)] == 20
    with pytest.raises(ValueError, match="only one element tensors can be converted"):
        float(leafgrad.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="only integer tensors"):
        [10, 20][leafgrad.tensor(1.0)]


def test_format():
    assert "{:+.2f}".format(leafgrad.tensor(3.14159)) == "+3.14"  # noqa: UP032
    assert "{:03d}".format(leafgrad.tensor(7)) == "007"  # noqa: UP032
    assert f"{leafgrad.tensor(1.5)}" == "1.5"
    assert f"{leafgrad.tensor([1.0, 2.0])}" == "tensor([1., 2.])"
    # as torch, only 0-dim tensors take a format spec
    with pytest.raises(TypeError, match="unsupported format string passed to Tensor.__format__"):
        "{:.1f}".format(leafgrad.tensor([3.14159]))  # noqa: UP032


def test_numpy_shares_memory():
    t = leafgrad.tensor([1.0, 2.0])
    array = t.numpy()
    array[0] = 5.0
    assert t.tolist() == [5.0, 2.0]
    t.add_(1.0)
    assert array.tolist() == [6.0, 3.0]
    assert np.shares_memory(np.asarray(t), array)
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert np.array(leafgrad.tensor(3)).tolist() == 3


def test_numpy_refuses_tensors_that_require_grad():
    t = leafgrad.tensor([1.0], requires_grad=True)
    message = r"Can't call numpy\(\) on Tensor that requires grad. Use tensor.detach\(\).numpy\(\)"
    with pytest.raises(RuntimeError, match=message):
        t.numpy()
    with pytest.raises(RuntimeError, match="detach"):
        np.asarray(t)
    assert t.detach().numpy().tolist() == [1.0]


def test_results_of_0_dim_ops_are_arrays():
    # NumPy returns scalars for 0-d results; a tensor must still hold a (writable) array
    result = leafgrad.tensor(1.5) * leafgrad.tensor(2.0)
    assert type(result.numpy()) is np.ndarray and result.numpy().shape == ()
    assert np.asarray(result, dtype=np.float64).tolist() == 3.0
    result.add_(1.0)
    assert result.item() == 4.0


def test_len_and_iteration():
    m = leafgrad.tensor([[1, 2], [3, 4], [5, 6]])
    assert len(m) == 3
    rows = list(m)
    assert len(rows) == 3 and all(isinstance(r, leafgrad.Tensor) for r in rows)
    assert [r.tolist() for r in rows] == [[1, 2], [3, 4], [5, 6]]
    assert [x.item() for x in leafgrad.tensor([7, 8])] == [7, 8]
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(leafgrad.tensor(1.0))
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        iter(leafgrad.tensor(1.0))


def test_bool():
    assert bool(leafgrad.tensor([3])) and not bool(leafgrad.tensor([[0.0]]))
    assert bool(leafgrad.tensor(True))
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with more than one value "
                                           "is ambiguous"):
        bool(leafgrad.tensor([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with no values is ambiguous"):
        bool(leafgrad.tensor([]))


# -- repr -----------------------------------------------------------------------------------
@pytest.mark.parametrize("make, expected", [
    (lambda: leafgrad.tensor([1.0, 2.0, 3.0]), "tensor([1., 2., 3.])"),
    (lambda: leafgrad.tensor([1.5, 2.25, -3.0]), "tensor([ 1.5000,  2.2500, -3.0000])"),
    (lambda: leafgrad.tensor([1e-5, 1.0]), "tensor([1.0000e-05, 1.0000e+00])"),
    (lambda: leafgrad.tensor([-1.0, 100.0]), "tensor([ -1., 100.])"),
    (lambda: leafgrad.tensor([1, 2, -30]), "tensor([  1,   2, -30])"),
    (lambda: leafgrad.tensor([True, False]), "tensor([ True, False])"),
    (lambda: leafgrad.tensor([1.0, 2.0], dtype=leafgrad.float64),
     "tensor([1., 2.], dtype=torch.float64)"),
    (lambda: leafgrad.tensor([1, 2], dtype=leafgrad.int32), "tensor([1, 2], dtype=torch.int32)"),
    (lambda: leafgrad.tensor([1.0, 2.0], requires_grad=True),
     "tensor([1., 2.], requires_grad=True)"),
    (lambda: leafgrad.tensor([1.0, 2.0], requires_grad=True) * 2,
     "tensor([2., 4.], grad_fn=<MulBackward0>)"),
    (lambda: leafgrad.tensor(2.5), "tensor(2.5000)"),
    (lambda: leafgrad.tensor(3), "tensor(3)"),
    (lambda: leafgrad.tensor([]), "tensor([])"),
    (lambda: leafgrad.zeros(2, 0), "tensor([], size=(2, 0))"),
    (lambda: leafgrad.tensor([], dtype=leafgrad.int64), "tensor([], dtype=torch.int64)"),
    (lambda: leafgrad.tensor([[1.5, -2.0], [3.0, 4.123456]]),
     "tensor([[ 1.5000, -2.0000],\n        [ 3.0000,  4.1235]])"),
    (lambda: leafgrad.tensor([float("nan"), 1.5]), "tensor([   nan, 1.5000])"),
    (lambda: leafgrad.arange(2000.0), ("tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., "
                                       "1.9970e+03, 1.9980e+03,\n        1.9990e+03])")),
])
def test_repr_hand_checked(make, expected):
    assert repr(make()) == expected
    assert str(make()) == expected


REPR_PROGRAMS = {
    "float vector": lambda m: m.tensor([1.0, 2.0, 3.0]),
    "decimals": lambda m: m.tensor([0.1, 0.2, 123.456]),
    "small": lambda m: m.tensor([1e-8, 1.0]),
    "large": lambda m: m.tensor([1e10, 1.0]),
    "one million": lambda m: m.tensor([1e6, 2.0]),
    "1e8": lambda m: m.tensor([1e8, 2.0]),
    "wide range": lambda m: m.tensor([1e20, -1e-20]),
    "signed zeros": lambda m: m.tensor([0.0, -0.0]),
    "specials": lambda m: m.tensor([float("nan"), float("inf"), -float("inf"), 1.0]),
    "only specials": lambda m: m.tensor([float("nan"), float("inf")]),
    "matrix": lambda m: m.tensor([[1.5, -2.0], [3.0, 4.123456]]),
    "3-d": lambda m: m.arange(8.0).reshape(2, 2, 2),
    "wrapped lines": lambda m: m.tensor([[i * 1.5 + j for j in range(12)] for i in range(3)]),
    "long int": lambda m: m.arange(40),
    "summarized": lambda m: m.arange(2000.0),
    "summarized matrix": lambda m: m.arange(3000).reshape(60, 50),
    "sevenths": lambda m: m.arange(20.0) / 7,
    "int64": lambda m: m.tensor([[-1, 200], [3, 4]]),
    "int8": lambda m: m.tensor([-5, 12], dtype=m.int8),
    "uint8": lambda m: m.tensor([1, 255], dtype=m.uint8),
    "bool": lambda m: m.tensor([[True], [False]]),
    "float64": lambda m: m.tensor([1.0, 2.0], dtype=m.float64),
    "float64 sci": lambda m: m.tensor([1e-3, 1e3], dtype=m.float64),
    "float16": lambda m: m.tensor([1.5, 2.0], dtype=m.float16),
    "requires_grad": lambda m: m.tensor([1.0, 2.0], requires_grad=True),
    "requires_grad float64": lambda m: m.tensor([[1.5]], dtype=m.float64, requires_grad=True),
    "grad_fn mul": lambda m: m.tensor([1.0, 2.0], requires_grad=True) * 2,
    "grad_fn add": lambda m: m.tensor([1.0, 2.0], requires_grad=True) + 2,
    "grad_fn sum": lambda m: m.tensor([1.0, 2.0], requires_grad=True).sum(),
    "grad_fn to": lambda m: m.tensor([1.0, 2.0], requires_grad=True).double(),
    "0-dim": lambda m: m.tensor(2.5),
    "0-dim int": lambda m: m.tensor(3),
    "0-dim requires_grad": lambda m: m.tensor(2.5, requires_grad=True),
    "0-dim nan": lambda m: m.tensor(float("nan")),
    "empty": lambda m: m.tensor([]),
    "empty 2-d": lambda m: m.zeros(2, 0),
    "empty int": lambda m: m.zeros(0, 3, dtype=m.int64),
    "empty bool": lambda m: m.zeros((2, 0), dtype=m.bool),
    "empty requires_grad": lambda m: m.zeros(0, requires_grad=True),
    "ones matrix": lambda m: m.ones(3, 3) / 3,
    "long suffix wraps": lambda m: m.arange(0.5, 11.0, dtype=m.float64).requires_grad_(),
}


@pytest.mark.parametrize("name", sorted(REPR_PROGRAMS))
def test_repr_matches_torch(name):
    torch = pytest.importorskip("torch")
    program = REPR_PROGRAMS[name]
    assert repr(program(leafgrad)) == repr(program(torch))


def test_print_options_match_torch():
    torch = pytest.importorskip("torch")
    programs = [
        ({"precision": 2}, lambda m: m.tensor([1.12345, 2.0])),
        ({"threshold": 5}, lambda m: m.arange(10)),
        ({"sci_mode": True}, lambda m: m.tensor([1.5, 2.0])),
        ({"edgeitems": 1, "threshold": 3}, lambda m: m.arange(20.0).reshape(4, 5)),
        ({"linewidth": 30}, lambda m: m.arange(12.0) / 3),
    ]
    for options, program in programs:
        results = []
        for module in (leafgrad, torch):
            module.set_printoptions(**options)
            try:
                results.append(repr(program(module)))
            finally:
                module.set_printoptions(profile="default", sci_mode=None)
        assert results[0] == results[1], options
    assert leafgrad.get_printoptions()["precision"] == 4


# -- type promotion -------------------------------------------------------------------------
def _dtype(name):
    return getattr(leafgrad, name)


@pytest.mark.parametrize("left, right, expected", [
    (lambda: leafgrad.tensor([1.0]), lambda: 2.5, "float32"),
    (lambda: leafgrad.tensor([1.0], dtype=leafgrad.float16), lambda: 2.5, "float16"),
    (lambda: leafgrad.tensor([1]), lambda: 2.5, "float32"),
    (lambda: leafgrad.tensor([1], dtype=leafgrad.int8), lambda: 2, "int8"),
    (lambda: leafgrad.tensor([1], dtype=leafgrad.int32), lambda: leafgrad.tensor([1]), "int64"),
    (lambda: leafgrad.tensor([1.0], dtype=leafgrad.float16), lambda: leafgrad.tensor([1.0]),
     "float32"),
    (lambda: leafgrad.tensor([1.0]), lambda: leafgrad.tensor(1.0, dtype=leafgrad.float64),
     "float32"),
    (lambda: leafgrad.tensor([1]), lambda: leafgrad.tensor(1.0, dtype=leafgrad.float64),
     "float64"),
    (lambda: leafgrad.tensor([1.0]), lambda: leafgrad.tensor([1]), "float32"),
    (lambda: leafgrad.tensor([1], dtype=leafgrad.uint8),
     lambda: leafgrad.tensor([1], dtype=leafgrad.int8), "int16"),
    (lambda: leafgrad.tensor([True]), lambda: leafgrad.tensor([True]), "bool"),
    (lambda: leafgrad.tensor([True]), lambda: 3, "int64"),
    (lambda: leafgrad.tensor([True]), lambda: leafgrad.tensor(3, dtype=leafgrad.uint8), "uint8"),
    (lambda: leafgrad.tensor(1, dtype=leafgrad.int32), lambda: 2, "int32"),
    (lambda: leafgrad.tensor(1, dtype=leafgrad.int32), lambda: leafgrad.tensor(2), "int64"),
])
def test_promotion_hand_checked(left, right, expected):
    a, b = left(), right()
    assert (a + b).dtype is _dtype(expected)
    assert (b + a).dtype is _dtype(expected)
    assert (a * b).dtype is _dtype(expected)
    b_dtype = b.dtype if isinstance(b, leafgrad.Tensor) else type(b)
    if b_dtype not in (bool, leafgrad.bool):
        assert leafgrad.result_type(a, b) is _dtype(expected)


def test_promotion_values_hand_checked():
    ints = leafgrad.tensor([1, 2, 3])
    assert (ints / 2).tolist() == [0.5, 1.0, 1.5] and (ints / 2).dtype is leafgrad.float32
    assert (ints / ints).dtype is leafgrad.float32
    assert (ints // 2).tolist() == [0, 1, 1] and (ints // 2).dtype is leafgrad.int64
    assert (leafgrad.tensor([True, False]) + leafgrad.tensor([True, True])).tolist() == \
        [True, True]
    assert (leafgrad.tensor([True, False]) * 3).tolist() == [3, 0]
    # torch casts a scalar to the result dtype, wrapping around for unsigned integers
    assert (leafgrad.tensor([3], dtype=leafgrad.uint8) + -3).tolist() == [0]
    assert (leafgrad.tensor([1], dtype=leafgrad.int8) + 300).tolist() == [45]
    # integer tensors raised to negative tensor powers truncate, as torch
    assert (leafgrad.tensor([2, 1, -1]) ** leafgrad.tensor([-1, -2, -3])).tolist() == [0, 1, -1]
    assert leafgrad.promote_types(leafgrad.int32, leafgrad.float16) is leafgrad.float16
    assert leafgrad.promote_types(leafgrad.uint8, leafgrad.int8) is leafgrad.int16


def test_bool_arithmetic_errors():
    mask = leafgrad.tensor([True, False])
    with pytest.raises(RuntimeError, match="Negation, the `-` operator, on a bool tensor"):
        _ = -mask
    with pytest.raises(RuntimeError, match="Subtraction, the `-` operator, with a bool tensor"):
        mask - mask
    with pytest.raises(RuntimeError, match="Subtraction, the `-` operator, with a bool tensor"):
        leafgrad.tensor([1.0, 2.0]) - True
    with pytest.raises(RuntimeError, match="Subtraction, the `-` operator, with a bool tensor"):
        1 - mask
    with pytest.raises(NotImplementedError, match="not implemented for 'Bool'"):
        mask // mask
    with pytest.raises(RuntimeError, match="Integers to negative integer powers"):
        leafgrad.tensor([2]) ** -1
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        leafgrad.tensor([1, 2]) % leafgrad.tensor([0, 1])


OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
             "//": operator.floordiv, "%": operator.mod, "**": operator.pow, "==": operator.eq,
             "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">=": operator.ge}
PROMOTION_DTYPES = ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8",
                    "bool"]
PYTHON_SCALARS = [2, -3, 2.5, True]


def _sample(module, dtype: str, zero_dim: bool):
    values = {"bool": [True, False, True], "uint8": [3, 5, 7]}.get(
        dtype, [-3, 5, 7] if dtype.startswith("int") else [-2.5, 1.5, 3.0])
    return module.tensor(values[1] if zero_dim else values, dtype=getattr(module, dtype))


def _outcome(module, op, left, right):
    """(result dtype name, values as float64) or (exception type name, None)."""
    try:
        # division by zero gives inf/nan silently in torch; NumPy would also warn
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            result = op(left, right)
    except Exception as error:  # noqa: BLE001 - the error type is what is compared
        return type(error).__name__, None
    values = result.detach().numpy() if module is not leafgrad else result.numpy()
    return str(result.dtype).replace("torch.", ""), np.asarray(values, dtype=np.float64)


@pytest.mark.parametrize("symbol", list(OPERATORS))
def test_promotion_table_matches_torch(symbol):
    """Every pairing of a tensor, a 0-dim tensor and a Python scalar of each dtype."""
    torch = pytest.importorskip("torch")
    op = OPERATORS[symbol]
    operands = [(d, z) for d in PROMOTION_DTYPES for z in (False, True)] + \
        [("scalar", s) for s in PYTHON_SCALARS]
    mismatches = []
    for (left_kind, left), (right_kind, right) in itertools.product(operands, repeat=2):
        if left_kind == "scalar" and right_kind == "scalar":
            continue
        results = []
        for module in (leafgrad, torch):
            a = left if left_kind == "scalar" else _sample(module, left_kind, left)
            b = right if right_kind == "scalar" else _sample(module, right_kind, right)
            results.append(_outcome(module, op, a, b))
        (ours, our_values), (theirs, their_values) = results
        same = ours == theirs and (their_values is None or (
            our_values.shape == their_values.shape and
            np.allclose(our_values, their_values, rtol=1e-3, equal_nan=True)))
        if not same:
            mismatches.append(f"{left_kind}{'[0d]' if left is True else ''} {symbol} "
                              f"{right_kind}: leafgrad {results[0]} torch {results[1]}")
    assert not mismatches, "\n".join(mismatches[:20])


# -- operands of other types (review #13, #19) -----------------------------------------------
def test_comparison_with_none_or_other_objects_falls_back_to_identity_as_torch():
    x = leafgrad.ones(2)
    assert (x == None) is False and (x != None) is True  # noqa: E711
    assert (x == "a") is False and (x != "a") is True
    assert (x == [1.0, 1.0]) is False  # torch takes no lists as operands
    assert [k for k, v in {"a": None}.items() if v == x] == []
    with pytest.raises(TypeError, match="'<' not supported between instances of 'Tensor' and "
                                        "'NoneType'"):
        x < None  # noqa: B015
    with pytest.raises(RuntimeError, match="ambiguous"):
        x in [None, 3]  # noqa: B015 - compares with 3 after None, as torch


@pytest.mark.parametrize("other", [None, "a", [1.0, 2.0], (1.0, 2.0)],
                         ids=["None", "str", "list", "tuple"])
@pytest.mark.parametrize("op", [operator.add, operator.sub, operator.mul, operator.truediv,
                                operator.floordiv, operator.mod, operator.pow, operator.matmul,
                                operator.and_,
                                operator.or_, operator.xor],
                         ids=lambda op: op.__name__)
def test_operators_with_unsupported_operands_raise_type_error(op, other):
    x = leafgrad.tensor([1.0, 2.0]) if op not in (operator.and_, operator.or_, operator.xor) \
        else leafgrad.tensor([True, False])
    with pytest.raises(TypeError):
        op(x, other)
    if isinstance(other, str) and op is operator.mod:
        return  # "a" % x is string formatting, which takes a tensor as a mapping (torch too)
    with pytest.raises(TypeError):
        op(other, x)


def test_functions_refuse_lists_and_none_as_torch():
    x = leafgrad.ones(3)
    with pytest.raises(TypeError, match=r"maximum\(\): argument 'other' \(position 2\) must be "
                                        r"Tensor, not list"):  # torch's words
        leafgrad.maximum(x, [1.0])
    for call in (lambda: leafgrad.add(x, [1.0, 2.0, 3.0]), lambda: leafgrad.eq(x, None),
                 lambda: x.clamp([0.0]),
                 lambda: leafgrad.where(x > 0, x, [1.0, 2.0, 3.0]), lambda: x.fill_([1.0]),
                 lambda: x.copy_([1.0, 2.0, 3.0]), lambda: x.masked_fill(x > 0, [1.0])):
        with pytest.raises(TypeError, match="unsupported operand type"):
            call()
    assert x.tolist() == [1.0, 1.0, 1.0]


def test_operators_let_the_other_operand_answer():
    class Other:
        def __radd__(self, other):
            return "radd"

        def __rmul__(self, other):
            return "rmul"

        def __eq__(self, other):
            return "eq"

    x = leafgrad.ones(2)
    assert x + Other() == "radd" and x * Other() == "rmul" and (x == Other()) == "eq"


def test_numpy_operands_still_work():
    x = leafgrad.ones(3)
    assert (x + np.ones(3, dtype=np.float32)).dtype == leafgrad.float32
    assert (x * np.float64(2.0)).tolist() == [2.0, 2.0, 2.0]


def test_dtype_must_be_a_dtype_object_as_torch():
    for bad in ("float32", np.float32, "banana"):
        with pytest.raises(TypeError, match="must be torch.dtype"):
            leafgrad.ones(2, dtype=bad)
        with pytest.raises(TypeError, match="must be torch.dtype"):
            leafgrad.tensor([1.0], dtype=bad)
    assert leafgrad.ones(2, dtype=float).dtype == leafgrad.float64  # Python types pass


# -- shapes that do not broadcast name the op and the shapes (review #14) ---------------------
A23, B4 = leafgrad.ones(2, 3), leafgrad.ones(4)
I23, J4 = leafgrad.ones(2, 3, dtype=leafgrad.int64), leafgrad.ones(4, dtype=leafgrad.int64)


@pytest.mark.parametrize("name, call", [
    ("where", lambda: leafgrad.where(A23 > 0, A23, B4)),
    ("where", lambda: leafgrad.where(B4 > 0, A23, A23)),
    ("lerp", lambda: leafgrad.lerp(A23, B4, 0.5)),
    ("lerp", lambda: leafgrad.lerp(A23, A23, B4)),
    ("clamp", lambda: leafgrad.clamp(A23, B4)),
    ("clamp", lambda: leafgrad.clamp(A23, leafgrad.zeros(2, 1), B4)),
    ("atan2", lambda: leafgrad.atan2(A23, B4)),
    ("fmod", lambda: leafgrad.fmod(A23, B4)),
    ("remainder", lambda: A23 % B4),
    ("pow", lambda: A23 ** B4),
    ("maximum", lambda: leafgrad.maximum(A23, B4)),
    ("div", lambda: leafgrad.div(A23, B4, rounding_mode="floor")),
    ("floor_divide", lambda: A23 // B4),
    ("bitwise_and", lambda: I23 & J4),
    ("bitwise_xor", lambda: leafgrad.bitwise_xor(I23, J4)),
    ("eq", lambda: A23 == B4),
    ("add", lambda: A23 + np.ones(4)),
])
def test_mismatched_shapes_name_the_op_and_the_shapes(name, call):
    with pytest.raises(RuntimeError, match=rf"^{name}: (?=(.|\n)*\[2, 3\])(?=(.|\n)*\[4\])"):
        call()


# -- results without a graph stay volatile (review #18, the seed's C4) -----------------------
@pytest.mark.parametrize("make", [
    lambda v: v > 0, lambda v: v == v, lambda v: leafgrad.logical_not(v), lambda v: v.isnan(),
    lambda v: v.isinf(), lambda v: v.isfinite(), lambda v: v.argmax(), lambda v: v.argmin(0),
    lambda v: v.nonzero(), lambda v: v.nonzero(as_tuple=True)[0], lambda v: v.all(),
    lambda v: v.any(1), lambda v: leafgrad.where(v > 0)[0], lambda v: v.bool() & v.bool(),
    lambda v: v.long() | 1, lambda v: ~v.long(), lambda v: v.bool() ** True,
    lambda v: leafgrad.zeros(2, 2).copy_(v)],
    ids=["gt", "eq", "logical_not", "isnan", "isinf", "isfinite", "argmax", "argmin",
         "nonzero", "nonzero_tuple", "all", "any", "where_1arg", "and", "or", "invert", "pow",
         "copy_"])
def test_results_computed_from_a_volatile_tensor_are_volatile(make):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        v = leafgrad.autograd.Variable(leafgrad.ones(2, 2), volatile=True)
        result = make(v)
        assert result.volatile and not result.requires_grad
        assert not make(leafgrad.ones(2, 2)).volatile


# -- devices and conversions ----------------------------------------------------------------
def test_cpu_device_accepted_everywhere():
    cpu = leafgrad.device("cpu")
    t = leafgrad.tensor([1.0], device="cpu")
    assert t.to("cpu") is t and t.cpu() is t and t.to(cpu) is t
    assert leafgrad.zeros(2, device=cpu).device == cpu
    assert leafgrad.ones_like(t, device="cpu").device == cpu
    assert t.to("cpu", leafgrad.float64).dtype is leafgrad.float64
    assert t.to(device="cpu", dtype=leafgrad.int64).dtype is leafgrad.int64


@pytest.mark.parametrize("call", [
    lambda: leafgrad.tensor([1.0]).to("cuda"),
    lambda: leafgrad.tensor([1.0]).to("cuda:0"),
    lambda: leafgrad.tensor([1.0]).to(leafgrad.device("cuda")),
    lambda: leafgrad.tensor([1.0]).cuda(),
    lambda: leafgrad.tensor([1.0], device="cuda"),
    lambda: leafgrad.zeros(2, device="cuda"),
    lambda: leafgrad.arange(3, device="cuda"),
    lambda: leafgrad.randn(2, device="cuda"),
])
def test_cuda_raises_a_clear_error(call):
    with pytest.raises(RuntimeError, match="no cuda array backend installed"):
        call()


def test_to_dtype_and_other():
    ints = leafgrad.tensor([1, 2])
    assert ints.to(leafgrad.float64).dtype is leafgrad.float64
    half = leafgrad.tensor([1.0], dtype=leafgrad.float16)
    assert ints.to(half).dtype is leafgrad.float16
    assert ints.to(leafgrad.int64) is ints
    assert ints.to(leafgrad.int64, copy=True) is not ints
    assert ints.type_as(leafgrad.tensor([1.0], dtype=leafgrad.float64)).dtype is leafgrad.float64
    assert ints.type() == "torch.LongTensor"
    assert ints.type("torch.DoubleTensor").dtype is leafgrad.float64
    assert ints.type(leafgrad.float16).dtype is leafgrad.float16
    with pytest.raises(ValueError, match="invalid type"):
        ints.type("torch.ComplexTensor")


@pytest.mark.parametrize("method, dtype, values", [
    ("float", "float32", [1.75, -2.75]), ("double", "float64", [1.75, -2.75]),
    ("half", "float16", [1.75, -2.75]), ("long", "int64", [1, -2]), ("int", "int32", [1, -2]),
    ("short", "int16", [1, -2]), ("char", "int8", [1, -2]), ("bool", "bool", [True, True]),
])
def test_dtype_shortcuts(method, dtype, values):
    converted = getattr(leafgrad.tensor([1.75, -2.75]), method)()
    assert converted.dtype is _dtype(dtype)
    assert converted.tolist() == values


def test_conversion_keeps_the_graph():
    x = leafgrad.tensor([1.0, 2.0], requires_grad=True)
    y = x.double()
    assert y.grad_fn.name() == "ToCopyBackward0"
    (y * y).sum().backward()
    assert x.grad.dtype is leafgrad.float32 and x.grad.tolist() == [2.0, 4.0]


# -- the legacy constructor -----------------------------------------------------------------
def test_legacy_constructor():
    t = leafgrad.Tensor([2])
    assert t.dtype is leafgrad.float32 and t.tolist() == [2.0]
    assert leafgrad.Tensor(2, 3).shape == (2, 3) and leafgrad.Tensor(2, 3).dtype is leafgrad.float32
    assert leafgrad.Tensor(Size([2, 3])).shape == (2, 3)
    assert leafgrad.Tensor().shape == (0,)
    assert leafgrad.Tensor((2, 3)).tolist() == [2.0, 3.0]
    assert leafgrad.Tensor(np.array([1, 2])).dtype is leafgrad.float32
    with pytest.raises(RuntimeError, match="negative dimension -1"):
        leafgrad.Tensor(-1)
    with pytest.raises(TypeError, match="data must be a sequence \\(got float\\)"):
        leafgrad.Tensor(2.5)


def test_legacy_constructor_follows_default_dtype(float64_default):
    assert leafgrad.Tensor([2]).dtype is leafgrad.float64


def test_numpy_operators_defer_to_tensor_reflected_operators():
    array = np.ones((4, 2), dtype=np.float32)
    weight = leafgrad.ones(2, 3, requires_grad=True)
    product = array @ weight
    assert isinstance(product, leafgrad.Tensor) and product.grad_fn is not None
    total = array + leafgrad.ones(2)
    assert isinstance(total, leafgrad.Tensor) and total.shape == (4, 2)


# -- copies and memory layout ---------------------------------------------------------------
def test_deepcopy_of_a_view_is_an_independent_tensor():  # review #9
    import copy
    base = leafgrad.zeros(4)
    copied = copy.deepcopy(base[:2])
    w = leafgrad.tensor([5.0, 6.0], requires_grad=True)
    copied.add_(w)
    assert base.tolist() == [0.0, 0.0, 0.0, 0.0] and copied.tolist() == [5.0, 6.0]
    assert copied._base is None and copied.requires_grad


def test_deepcopy_leaves_hooks_behind_and_copies_user_attributes():  # review #9
    import copy
    x = leafgrad.ones(2, requires_grad=True)
    seen = []
    x.register_hook(lambda grad: seen.append("original"))
    x.note = ["a"]
    x2 = copy.deepcopy(x)
    (x2 * 2).sum().backward()
    assert seen == [] and x2.grad.tolist() == [2.0, 2.0] and x.grad is None
    assert x2.note == ["a"] and x2.note is not x.note
    assert copy.deepcopy([x, x])[0] is not x  # one copy per tensor, shared through the memo
    pair = copy.deepcopy([x, x])
    assert pair[0] is pair[1]


@pytest.mark.parametrize("make", [
    lambda lib: lib.tensor([1.0, 2.0], requires_grad=True),
    lambda lib: lib.tensor([1.0, 2.0], requires_grad=True) * 2,  # a non-leaf
    lambda lib: lib.tensor([1, 2]),
    lambda lib: lib.nn.Parameter(lib.ones(2)),
    lambda lib: lib.arange(4.0)[1:3],  # a view
], ids=["leaf", "non-leaf", "int64", "parameter", "view"])
def test_copy_copy_is_a_new_leaf_on_the_same_storage_as_torch(make):  # review3 #11
    import copy
    import warnings
    torch = pytest.importorskip("torch")
    seen = []
    for lib in (leafgrad, torch):
        original = make(lib)
        if original.is_leaf and original.requires_grad:
            original.grad = lib.ones(2)
            original.register_hook(lambda grad: grad * 10)
        original.note = ["a"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch: "backward hook ... will not be serialized"
            copied = copy.copy(original)
        with lib.no_grad():
            copied.add_(1)  # a write through the copy shows in the original
        summary = (type(copied).__name__, copied is original, copied.requires_grad,
                   copied.is_leaf, copied.grad_fn is None, copied.grad is None,
                   copied.note is original.note, copied._base is None,
                   original.tolist() == copied.tolist(), original._version)
        if copied.requires_grad:  # the copy's own gradient: the original's hook stays behind
            (copied * 3).sum().backward()
            summary += (copied.grad.tolist(),)
        seen.append(summary)
    assert seen[0] == seen[1]


def test_contiguous_returns_self_or_a_recorded_c_order_copy():  # review #20
    x = leafgrad.ones(2, 3, requires_grad=True)
    assert x.contiguous() is x
    t = x.t()
    c = t.contiguous()
    assert not t.is_contiguous() and c.is_contiguous() and c.stride() == (2, 1)
    assert c.grad_fn.name() == "CloneBackward0" and c._base is None
    (c * leafgrad.arange(6.0).reshape(3, 2)).sum().backward()
    assert x.grad.tolist() == [[0.0, 2.0, 4.0], [1.0, 3.0, 5.0]]


@pytest.mark.parametrize("make", [lambda m: m.ones(2, 3).t(), lambda m: m.ones(2, 6)[:, ::2],
                                  lambda m: m.ones(4, 6).t()[::2],
                                  lambda m: m.ones(3, 1).expand(3, 4)])
def test_clone_and_contiguous_strides_match_torch(make):  # review #20
    torch = pytest.importorskip("torch")
    strides = [(make(m).clone().stride(), make(m).contiguous().stride(),
                make(m).clone().reshape(-1).shape) for m in (leafgrad, torch)]
    assert strides[0] == strides[1]
