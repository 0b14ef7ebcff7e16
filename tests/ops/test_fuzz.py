"""Fuzz public ops and modules with abusive inputs: wrong shapes and dtypes, NaN/Inf, empty
tensors, negative dims and indices, non-tensor arguments and devices leafgrad does not have.

Each call must either behave as torch's (same dtype, shape and values where both succeed) or
raise TypeError/ValueError/RuntimeError/IndexError (NotImplementedError is a RuntimeError),
never another exception type, and a failing call must leave its inputs unchanged."""
from __future__ import annotations

import signal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import leafgrad

torch = pytest.importorskip("torch")

ALLOWED = (TypeError, ValueError, RuntimeError, IndexError)
DTYPES = [np.float32, np.float64, np.float16, np.int64, np.int32, np.bool_]
SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e30]


@pytest.fixture(autouse=True)
def _no_hang():
    """A call that hangs fails the test instead of the run."""
    def timeout(signum, frame):
        raise TimeoutError("fuzz case hung")
    previous = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(120)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@st.composite
def arrays(draw, max_dims: int = 3, dtypes=DTYPES):
    """An array of a small (possibly empty) shape and any dtype, with NaN/Inf sprinkled in."""
    shape = tuple(draw(st.lists(st.integers(0, 3), max_size=max_dims)))
    dtype = draw(st.sampled_from(dtypes))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    values = rng.standard_normal(shape) * 3
    if values.size and np.dtype(dtype).kind == "f" and draw(st.booleans()):
        flat = values.reshape(-1)
        flat[rng.integers(0, flat.size)] = draw(st.sampled_from(SPECIAL))
    with np.errstate(over="ignore"):  # 1e30 becomes inf in float16, on purpose
        return np.asarray(values.astype(dtype))


@st.composite
def index_arrays(draw):
    shape = tuple(draw(st.lists(st.integers(0, 3), max_size=3)))
    dtype = draw(st.sampled_from([np.int64, np.int64, np.int32, np.float32, np.bool_]))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    return np.asarray(rng.integers(-4, 4, shape).astype(dtype))


NON_TENSORS = [None, "a", "cuda", 1.5, [1.0, 2.0], object()]


def _tensor_or_junk(draw_arrays=None):
    """An array (a tensor once converted), now and then a non-tensor argument instead."""
    tensors = arrays() if draw_arrays is None else draw_arrays
    return st.one_of(tensors, tensors, tensors, st.sampled_from(NON_TENSORS))


def _convert(lib, value):
    if isinstance(value, np.ndarray):
        return lib.tensor(value)
    if isinstance(value, list) and value and isinstance(value[0], np.ndarray):
        return [lib.tensor(v) for v in value]
    return value


def _snapshot(values) -> list:
    out = []
    for v in values:
        for t in v if isinstance(v, list) else [v]:
            if isinstance(t, leafgrad.Tensor):
                out.append((t, t.numpy().copy(), t._version))
    return out


def _same_as_torch(ours, theirs) -> None:
    if isinstance(theirs, (tuple, list)):
        assert isinstance(ours, (tuple, list)) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _same_as_torch(a, b)
        return
    if not isinstance(theirs, torch.Tensor):
        return
    assert isinstance(ours, leafgrad.Tensor), type(ours)
    assert str(ours.dtype) == str(theirs.dtype)
    assert tuple(ours.shape) == tuple(theirs.shape)
    expected = theirs.detach().numpy()
    got = ours.detach().numpy()
    if expected.dtype.kind in "fc":
        tol = 1e-2 if expected.dtype == np.float16 else 1e-4
        np.testing.assert_allclose(got, expected, rtol=tol, atol=tol, equal_nan=True)
    else:
        np.testing.assert_array_equal(got, expected)


def check(call, *args, compare: bool | str = True, **kwargs):
    """Run ``call(lib, *args, **kwargs)`` with leafgrad and torch and hold leafgrad to the rules
    above."""
    ours_args = [_convert(leafgrad, a) for a in args]
    before = _snapshot(ours_args)
    try:
        # NumPy's floating-point warnings (inf - inf, overflow) are tolerated here for now
        with np.errstate(all="ignore"):
            ours = call(leafgrad, *ours_args, **kwargs)
        ours_error = None
    except ALLOWED as error:
        ours_error = error
    except TimeoutError:
        raise
    except Exception as error:  # noqa: BLE001 - the type is what is under test
        raise AssertionError(f"leafgrad raised {type(error).__name__}: {error}") from error
    if ours_error is not None:
        for t, values, version in before:
            np.testing.assert_array_equal(t.numpy(), values)
            assert t._version == version, "a failing call bumped an input's version"
        return
    if not compare:
        return
    try:
        theirs = call(torch, *[_convert(torch, a) for a in args], **kwargs)
    except Exception:  # noqa: BLE001 - torch refusing is fine when leafgrad is more lenient
        return
    if compare == "meta":  # random weights: only the dtype and shape can agree
        ours, theirs = leafgrad.zeros_like(ours), torch.zeros_like(theirs)
    _same_as_torch(ours, theirs)


BINARY = ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "atan2", "remainder",
          "floor_divide", "eq", "lt", "logical_and", "bitwise_and", "where_mask"]
UNARY = ["exp", "log", "sqrt", "neg", "abs", "sigmoid", "tanh", "floor", "sign", "reciprocal",
         "relu", "logical_not", "isnan", "clone", "flatten", "t", "numel_sum"]
REDUCTIONS = ["sum", "mean", "prod", "amax", "argmax", "std", "var", "logsumexp", "softmax",
              "log_softmax", "cumsum", "max", "min", "all", "any", "norm", "squeeze",
              "unsqueeze", "flip", "transpose"]


def _binary(lib, name, a, b):
    if name == "where_mask":
        return lib.where(a > 0, a, b)
    return getattr(lib, name)(a, b)


def _unary(lib, name, a):
    if name == "relu":
        return lib.nn.functional.relu(a)
    if name == "numel_sum":  # the method on tensors; the function takes the junk
        return a.sum() if isinstance(a, lib.Tensor) else lib.sum(a)
    return getattr(lib, name)(a)


def _reduction(lib, name, a, dim, keepdim):
    if name in ("softmax", "log_softmax", "cumsum", "unsqueeze", "squeeze"):
        return getattr(lib, name)(a, dim)
    if name == "flip":
        return lib.flip(a, (dim,))
    if name == "transpose":
        return lib.transpose(a, dim, -1)
    if name in ("max", "min"):
        return tuple(getattr(lib, name)(a, dim, keepdim))
    return getattr(lib, name)(a, dim=dim, keepdim=keepdim)


@settings(max_examples=300)
@given(st.sampled_from(BINARY), _tensor_or_junk(), _tensor_or_junk())
def test_binary_elementwise(name, a, b):
    check(_binary, name, a, b)


@settings(max_examples=200)
@given(st.sampled_from(UNARY), _tensor_or_junk())
def test_unary_elementwise(name, a):
    check(_unary, name, a)


@settings(max_examples=300)
@given(st.sampled_from(REDUCTIONS), arrays(), st.integers(-5, 4), st.booleans())
def test_reductions_with_dims(name, a, dim, keepdim):
    check(_reduction, name, a, dim, keepdim)


@settings(max_examples=150)
@given(st.sampled_from(["matmul", "mm", "bmm", "dot", "outer"]),
       _tensor_or_junk(arrays(max_dims=4)), _tensor_or_junk(arrays(max_dims=4)))
def test_matrix_products(name, a, b):
    check(lambda lib, x, y: getattr(lib, name)(x, y), a, b)


@settings(max_examples=200)
@given(arrays(), st.lists(st.integers(-3, 6), max_size=4),
       st.sampled_from(["reshape", "view", "permute", "expand", "repeat", "narrow"]))
def test_shape_ops(a, shape, name):
    def call(lib, x, s):
        if name == "narrow":
            return lib.narrow(x, s[0] if s else 0, s[1] if len(s) > 1 else 0, 1)
        return getattr(x, name)(*s)
    check(call, a, shape)


@settings(max_examples=150)
@given(st.lists(arrays(), min_size=0, max_size=3), st.integers(-4, 3),
       st.sampled_from(["cat", "stack"]))
def test_cat_and_stack(parts, dim, name):
    check(lambda lib, ts, d: getattr(lib, name)(ts, d), parts, dim)


@settings(max_examples=200)
@given(arrays(), st.integers(-4, 3), index_arrays(), st.sampled_from(["gather", "index_select"]))
def test_gather_and_index_select(a, dim, index, name):
    if name == "index_select":
        index = index.reshape(-1)
    check(lambda lib, x, d, i: getattr(lib, name)(x, d, i), a, dim, index)


INDICES = st.one_of(
    st.integers(-5, 5), st.none(), st.just(Ellipsis),
    st.builds(slice, st.integers(-5, 5) | st.none(), st.integers(-5, 5) | st.none(),
              st.sampled_from([None, 1, 2, -1, 0])),
    st.tuples(st.integers(-4, 4), st.integers(-4, 4)),
    st.just("a"), st.just(1.5), index_arrays())


@settings(max_examples=250)
@given(arrays(), INDICES)
def test_indexing(a, index):
    check(lambda lib, x, i: x[lib.tensor(i) if isinstance(i, np.ndarray) else i], a, index)


@settings(max_examples=150)
@given(arrays(), INDICES, st.sampled_from([1.0, 0, True, "a", None]) | arrays(max_dims=2))
def test_index_assignment(a, index, value):
    def call(lib, x, i, v):
        x[lib.tensor(i) if isinstance(i, np.ndarray) else i] = v
        return x
    check(call, a, index, value)


DEVICES = st.sampled_from(["cuda", "cuda:0", "cuda:1", "mps", "meta", "banana", "cpu:x", 3])


@settings(max_examples=60)
@given(DEVICES, st.sampled_from(["ones", "to", "tensor", "zeros_like", "randn"]))
def test_devices_that_leafgrad_lacks(device, name):
    def call(lib, d):
        if name == "to":
            return lib.ones(2).to(d)
        if name == "tensor":
            return lib.tensor([1.0], device=d)
        if name == "zeros_like":
            return lib.zeros_like(lib.ones(2), device=d)
        return getattr(lib, name)(2, device=d)
    check(call, device, compare=False)


def _module(lib, name):
    if name == "Linear":
        return lib.nn.Linear(3, 4)
    if name == "Conv2d":
        return lib.nn.Conv2d(2, 3, 2)
    if name == "BatchNorm2d":
        return lib.nn.BatchNorm2d(2)
    if name == "LSTM":
        return lib.nn.LSTM(3, 4)
    return lib.nn.Embedding(5, 2)


@settings(max_examples=150)
@given(st.sampled_from(["Linear", "Conv2d", "BatchNorm2d", "LSTM", "Embedding"]),
       _tensor_or_junk(arrays(max_dims=4)))
def test_modules_with_bad_inputs(name, x):
    def call(lib, value):
        out = _module(lib, name)(value)
        return out[0] if name == "LSTM" else out
    check(call, x, compare="meta")


@settings(max_examples=150)
@given(_tensor_or_junk(), _tensor_or_junk(index_arrays()),
       st.sampled_from(["mean", "sum", "none", "bad"]))
def test_cross_entropy_with_bad_shapes(logits, target, reduction):
    check(lambda lib, a, b: lib.nn.CrossEntropyLoss(reduction=reduction)(a, b), logits, target)


@pytest.mark.parametrize("junk", NON_TENSORS[:2])
@pytest.mark.parametrize("call", [
    lambda lib, v: lib.exp(v), lambda lib, v: lib.mm(lib.ones(2, 2), v),
    lambda lib, v: lib.nn.Linear(2, 2)(v),
    lambda lib, v: lib.nn.CrossEntropyLoss()(lib.ones(2, 2), v)])
def test_non_tensor_arguments_raise_type_error(call, junk):
    check(call, junk)


def test_the_harness_flags_foreign_exception_types():
    def leaky(lib):
        raise ZeroDivisionError("x")
    with pytest.raises(AssertionError, match="ZeroDivisionError"):
        check(leaky)
    with pytest.raises(AssertionError):
        check(lambda lib: lib.ones(2) if lib is leafgrad else lib.ones(3))


def test_batch_norm_keeps_a_float16_input_dtype():
    x = np.ones((1, 2, 1, 2), np.float16)
    check(lambda lib, v: lib.nn.BatchNorm2d(2)(v), x, compare="meta")
