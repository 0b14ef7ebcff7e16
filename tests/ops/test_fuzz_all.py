"""Fuzz every public op (each ``op_db`` record) and every ``leafgrad.nn`` module class with
mutated inputs: tensors cast to another dtype, NaN/Inf values, empty tensors, tensors of a
mismatched shape, negative or out-of-range int arguments.

Each call must either succeed with torch's output dtypes and shapes (where torch succeeds too)
or raise TypeError/ValueError/RuntimeError/IndexError; NotImplementedError (a RuntimeError) only
where torch raises it as well. No other exception type, no hang, and a failing call leaves its
tensor inputs' values and ``_version`` unchanged. Non-tensor junk arguments (None, str) are
out of scope here: test_fuzz.py covers them."""
from __future__ import annotations

import signal
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import leafgrad
from op_db import Sample, all_records

torch = pytest.importorskip("torch")

ALLOWED = (TypeError, ValueError, RuntimeError, IndexError)
CAST_DTYPES = [np.int64, np.int32, np.bool_, np.float16, np.float64, np.float32]
SPECIAL = [np.nan, np.inf, -np.inf]
RECORDS = all_records()

# (record name, mutation kind) pairs excluded because of a known leafgrad bug; each names it.
EXCLUDED: dict[tuple[str, str], str] = {}
# NotImplementedError where torch succeeds: documented leafgrad limitations, by message.
KNOWN_GAPS = {
    "not implemented for torch.int": "integer pooling (avg_pool2d...) is not supported",
    "on a 5D input is not supported": "interpolate has no 3-D spatial (5D input) modes",
}


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


# -- the harness -----------------------------------------------------------------------------
def _flat(result) -> list:
    if isinstance(result, (tuple, list)):
        return [r for item in result for r in _flat(item)]
    return [result]


def _tensors(values) -> list:
    return [v for v in _flat(list(values)) if isinstance(v, leafgrad.Tensor)]


def _call(fn, lib, args, kwargs):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NumPy/torch warnings about NaN, empty reductions...
        return fn(lib, *args, **kwargs)


def _same_meta(ours, theirs) -> None:
    ours, theirs = _flat(ours), _flat(theirs)
    assert len(ours) == len(theirs), (len(ours), len(theirs))
    for a, b in zip(ours, theirs):
        if not isinstance(b, torch.Tensor):
            continue
        assert isinstance(a, leafgrad.Tensor), type(a)
        assert str(a.dtype) == str(b.dtype), (a.dtype, b.dtype)
        assert tuple(a.shape) == tuple(b.shape), (tuple(a.shape), tuple(b.shape))


def check(ours_fn, ours_args, ours_kwargs, ref_fn=None, ref_args=(), ref_kwargs=None):
    """Run leafgrad (and, given ``ref_fn``, torch) and hold leafgrad to the rules above."""
    before = [(t, t.detach().numpy().copy(), t._version)
              for t in _tensors([*ours_args, *ours_kwargs.values()])]
    ours_error = foreign = None
    try:
        ours = _call(ours_fn, leafgrad, ours_args, ours_kwargs)
    except ALLOWED as error:
        ours_error = error
    except TimeoutError:
        raise
    except Exception as error:  # noqa: BLE001 - the type is what is under test
        ours_error = foreign = error
    if ours_error is not None:
        for t, values, version in before:
            np.testing.assert_array_equal(t.detach().numpy(), values,
                                          err_msg="a failing call modified an input")
            assert t._version == version, "a failing call bumped an input's version"
    theirs_error = None
    if ref_fn is not None:
        try:
            theirs = _call(ref_fn, torch, ref_args, ref_kwargs or {})
        except Exception as error:  # noqa: BLE001 - torch refusing is fine when leafgrad is lenient
            theirs_error = error
    if foreign is not None:
        raise AssertionError(f"leafgrad raised {type(foreign).__name__}: {foreign}") from foreign
    if isinstance(ours_error, NotImplementedError) and ref_fn is not None and theirs_error is None:
        assert any(gap in str(ours_error) for gap in KNOWN_GAPS), (
            f"leafgrad raised NotImplementedError ({ours_error}) where torch succeeds")
    if ref_fn is not None and ours_error is None and theirs_error is None:
        _same_meta(ours, theirs)


def test_the_harness_flags_bad_behaviour():
    def leaky(lib):
        raise ZeroDivisionError("x")
    with pytest.raises(AssertionError, match="ZeroDivisionError"):
        check(leaky, [], {})

    def scribble(lib, x):
        x.data.fill_(7.0)
        raise ValueError("x")
    with pytest.raises(AssertionError, match="modified an input"):
        check(scribble, [leafgrad.ones(2)], {})
    with pytest.raises(AssertionError):
        check(lambda lib: lib.ones(2), [], {}, lambda lib: lib.ones(3), [])


# -- mutations of op_db samples --------------------------------------------------------------
MUTATIONS = ["dtype", "special", "empty", "extra_dim", "drop_dim", "int"]


def _slots(sample: Sample) -> list:
    """(where, key) of every array argument, positional or keyword."""
    return ([("args", i) for i, a in enumerate(sample.args) if isinstance(a, np.ndarray)]
            + [("kwargs", k) for k, v in sample.kwargs.items() if isinstance(v, np.ndarray)])


def _int_slots(sample: Sample) -> list:
    """(where, key) of every int argument (or tuple/list of ints), positional or keyword."""
    def scalar(v):
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

    def is_int(v):
        if isinstance(v, (tuple, list)):
            return bool(v) and all(scalar(x) for x in v)
        return scalar(v)
    return ([("args", i) for i, a in enumerate(sample.args) if is_int(a)]
            + [("kwargs", k) for k, v in sample.kwargs.items() if is_int(v)])


def _get(sample, slot):
    where, key = slot
    return sample.args[key] if where == "args" else sample.kwargs[key]


def _set(sample, slot, value) -> Sample:
    where, key = slot
    if where == "args":
        args = list(sample.args)
        args[key] = value
        return Sample(tuple(args), dict(sample.kwargs), sample.no_grad)
    return Sample(sample.args, {**sample.kwargs, key: value}, sample.no_grad)


def _bad_int(draw, value: int) -> int:
    return draw(st.sampled_from([-7, -value - 1 if value >= 0 else value - 5, value + 5]))


@st.composite
def mutated(draw, record):
    """A valid sample of ``record`` with one mutation; None when the mutation has no target."""
    sample = draw(record.samples)
    kind = draw(st.sampled_from(MUTATIONS))
    if kind == "int":
        slots = _int_slots(sample)
        if not slots:
            return kind, None
        slot = draw(st.sampled_from(slots))
        value = _get(sample, slot)
        if isinstance(value, (tuple, list)):
            i = draw(st.integers(0, len(value) - 1))
            new = list(value)
            new[i] = _bad_int(draw, int(value[i]))
            new = type(value)(new)
        else:
            new = _bad_int(draw, int(value))
        return kind, _set(sample, slot, new)
    slots = _slots(sample)
    if not slots:
        return kind, None
    slot = draw(st.sampled_from(slots))
    array = _get(sample, slot)
    if kind == "dtype":
        with np.errstate(all="ignore"):
            array = array.astype(draw(st.sampled_from(CAST_DTYPES)))
    elif kind == "special":
        if array.dtype.kind != "f" or array.size == 0:
            return kind, None
        array = array.copy()
        flat = array.reshape(-1)
        for _ in range(draw(st.integers(1, 2))):
            flat[draw(st.integers(0, flat.size - 1))] = draw(st.sampled_from(SPECIAL))
    elif kind == "empty":
        shape = list(array.shape) or [1]
        shape[draw(st.integers(0, len(shape) - 1))] = 0
        array = np.zeros(shape, array.dtype)
    elif kind == "extra_dim":
        array = np.stack([array, array], axis=-1)
    elif kind == "drop_dim":
        if array.ndim == 0:
            return kind, None
        array = np.ascontiguousarray(array[0] if array.shape[0] else array.reshape(-1)[:0])
    return kind, _set(sample, slot, array)


def _make(module, sample: Sample):
    """Tensors of ``module`` for the array arguments; float ones require grad as in test_ops."""
    args = []
    for index, arg in enumerate(sample.args):
        if isinstance(arg, np.ndarray):
            tensor = module.tensor(arg)
            if arg.dtype.kind == "f" and index not in sample.no_grad:
                tensor.requires_grad_(True)
            args.append(tensor)
        else:
            args.append(arg)
    kwargs = {k: module.tensor(v) if isinstance(v, np.ndarray) else v
              for k, v in sample.kwargs.items()}
    return args, kwargs


def _float32(sample: Sample) -> Sample:
    """Valid float samples are float64 in op_db; fuzz from float32, the default dtype."""
    def cast(v):
        return v.astype(np.float32) if isinstance(v, np.ndarray) and v.dtype == np.float64 else v
    return Sample(tuple(cast(a) for a in sample.args),
                  {k: cast(v) for k, v in sample.kwargs.items()}, sample.no_grad)


@pytest.mark.parametrize("record", RECORDS, ids=[r.name for r in RECORDS])
def test_op_with_mutated_inputs(record):
    @given(mutated(record), st.booleans())
    @settings(max_examples=25)
    def run(case, as_float32):
        kind, sample = case
        if sample is None or (record.name, kind) in EXCLUDED:
            return
        if as_float32:
            sample = _float32(sample)
        ours_args, ours_kwargs = _make(leafgrad, sample)
        if record.ref is None:
            check(record.op, ours_args, ours_kwargs)
            return
        ref_args, ref_kwargs = _make(torch, sample)
        check(record.op, ours_args, ours_kwargs, record.ref, ref_args, ref_kwargs)

    run()


# -- modules ---------------------------------------------------------------------------------
# name: (constructor of (nn module) -> Module, input specs). An input spec is (shape, kind):
# "float" standard normal, "prob" in (0, 1), ("index", n) int64 in [0, n).
F = "float"
MODULES = {
    "Sequential": (lambda nn: nn.Sequential(nn.Linear(3, 2), nn.ReLU()), [((2, 3), F)]),
    "Identity": (lambda nn: nn.Identity(), [((2, 3), F)]),
    "Linear": (lambda nn: nn.Linear(3, 2), [((2, 3), F)]),
    "Bilinear": (lambda nn: nn.Bilinear(3, 4, 2), [((2, 3), F), ((2, 4), F)]),
    "Flatten": (lambda nn: nn.Flatten(), [((2, 3, 2), F)]),
    "Unflatten": (lambda nn: nn.Unflatten(1, (2, 2)), [((3, 4), F)]),
    "ReLU": (lambda nn: nn.ReLU(), [((2, 3), F)]),
    "LeakyReLU": (lambda nn: nn.LeakyReLU(0.1), [((2, 3), F)]),
    "ELU": (lambda nn: nn.ELU(), [((2, 3), F)]),
    "GELU": (lambda nn: nn.GELU(), [((2, 3), F)]),
    "SiLU": (lambda nn: nn.SiLU(), [((2, 3), F)]),
    "Sigmoid": (lambda nn: nn.Sigmoid(), [((2, 3), F)]),
    "Tanh": (lambda nn: nn.Tanh(), [((2, 3), F)]),
    "Softmax": (lambda nn: nn.Softmax(dim=1), [((2, 3), F)]),
    "LogSoftmax": (lambda nn: nn.LogSoftmax(dim=1), [((2, 3), F)]),
    "Softplus": (lambda nn: nn.Softplus(), [((2, 3), F)]),
    "Hardtanh": (lambda nn: nn.Hardtanh(), [((2, 3), F)]),
    "ReLU6": (lambda nn: nn.ReLU6(), [((2, 3), F)]),
    "PReLU": (lambda nn: nn.PReLU(), [((2, 3), F)]),
    "Conv1d": (lambda nn: nn.Conv1d(2, 3, 3), [((1, 2, 5), F)]),
    "Conv2d": (lambda nn: nn.Conv2d(2, 3, 3), [((1, 2, 5, 5), F)]),
    "ConvTranspose2d": (lambda nn: nn.ConvTranspose2d(2, 3, 3), [((1, 2, 4, 4), F)]),
    "MaxPool1d": (lambda nn: nn.MaxPool1d(2), [((1, 2, 4), F)]),
    "MaxPool2d": (lambda nn: nn.MaxPool2d(2), [((1, 2, 4, 4), F)]),
    "AvgPool2d": (lambda nn: nn.AvgPool2d(2), [((1, 2, 4, 4), F)]),
    "AdaptiveAvgPool2d": (lambda nn: nn.AdaptiveAvgPool2d(2), [((1, 2, 5, 5), F)]),
    "AdaptiveMaxPool2d": (lambda nn: nn.AdaptiveMaxPool2d(2), [((1, 2, 5, 5), F)]),
    "BatchNorm1d": (lambda nn: nn.BatchNorm1d(3), [((2, 3), F)]),
    "BatchNorm2d": (lambda nn: nn.BatchNorm2d(2), [((2, 2, 3, 3), F)]),
    "LayerNorm": (lambda nn: nn.LayerNorm(3), [((2, 3), F)]),
    "GroupNorm": (lambda nn: nn.GroupNorm(2, 4), [((2, 4, 3), F)]),
    "Dropout": (lambda nn: nn.Dropout(0.5), [((2, 3, 4), F)]),
    "Dropout2d": (lambda nn: nn.Dropout2d(0.5), [((2, 3, 4, 4), F)]),
    "Embedding": (lambda nn: nn.Embedding(5, 2), [((2, 3), ("index", 5))]),
    "Upsample": (lambda nn: nn.Upsample(scale_factor=2), [((1, 2, 3, 3), F)]),
    "UpsamplingNearest2d": (lambda nn: nn.UpsamplingNearest2d(scale_factor=2),
                            [((1, 2, 3, 3), F)]),
    "UpsamplingBilinear2d": (lambda nn: nn.UpsamplingBilinear2d(scale_factor=2),
                             [((1, 2, 3, 3), F)]),
    "CrossEntropyLoss": (lambda nn: nn.CrossEntropyLoss(), [((2, 3), F), ((2,), ("index", 3))]),
    "NLLLoss": (lambda nn: nn.NLLLoss(), [((2, 3), F), ((2,), ("index", 3))]),
    "MSELoss": (lambda nn: nn.MSELoss(), [((2, 3), F), ((2, 3), F)]),
    "L1Loss": (lambda nn: nn.L1Loss(), [((2, 3), F), ((2, 3), F)]),
    "SmoothL1Loss": (lambda nn: nn.SmoothL1Loss(), [((2, 3), F), ((2, 3), F)]),
    "HuberLoss": (lambda nn: nn.HuberLoss(), [((2, 3), F), ((2, 3), F)]),
    "BCELoss": (lambda nn: nn.BCELoss(), [((2, 3), "prob"), ((2, 3), "prob")]),
    "BCEWithLogitsLoss": (lambda nn: nn.BCEWithLogitsLoss(), [((2, 3), F), ((2, 3), "prob")]),
    "KLDivLoss": (lambda nn: nn.KLDivLoss(reduction="batchmean"), [((2, 3), F), ((2, 3), F)]),
    "RNN": (lambda nn: nn.RNN(3, 4), [((5, 2, 3), F)]),
    "LSTM": (lambda nn: nn.LSTM(3, 4), [((5, 2, 3), F)]),
    "GRU": (lambda nn: nn.GRU(3, 4), [((5, 2, 3), F)]),
    "RNNCell": (lambda nn: nn.RNNCell(3, 4), [((2, 3), F)]),
    "LSTMCell": (lambda nn: nn.LSTMCell(3, 4), [((2, 3), F)]),
    "GRUCell": (lambda nn: nn.GRUCell(3, 4), [((2, 3), F)]),
    "MultiheadAttention": (lambda nn: nn.MultiheadAttention(4, 2),
                           [((3, 2, 4), F), ((3, 2, 4), F), ((3, 2, 4), F)]),
}
EXEMPT_MODULES = {
    "Module": "the abstract base class: its forward is not implemented",
    "ModuleList": "a container without a forward",
    "ModuleDict": "a container without a forward",
    "ParameterList": "a container without a forward",
    "ParameterDict": "a container without a forward",
    "RNNBase": "the base class of RNN/LSTM/GRU, fuzzed through them",
    "RNNCellBase": "the base class of RNNCell/LSTMCell/GRUCell, fuzzed through them",
}


def test_every_module_class_is_fuzzed_or_exempt():
    classes = {name for name in leafgrad.nn.__all__
               if isinstance(getattr(leafgrad.nn, name), type)
               and issubclass(getattr(leafgrad.nn, name), leafgrad.nn.Module)}
    missing = classes - set(MODULES) - set(EXEMPT_MODULES)
    assert not missing, f"nn module classes neither fuzzed nor exempt: {sorted(missing)}"
    assert not (set(MODULES) | set(EXEMPT_MODULES)) - classes, "stale table entries"


MODULE_MUTATIONS = ["none", "dtype", "special", "empty_batch", "extra_dim", "drop_dim",
                    "bad_index"]


@st.composite
def module_inputs(draw, specs):
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    arrays = []
    for shape, kind in specs:
        if kind == "prob":
            arrays.append(rng.uniform(0.05, 0.95, shape).astype(np.float32))
        elif kind == F:
            arrays.append(rng.standard_normal(shape).astype(np.float32))
        else:
            arrays.append(rng.integers(0, kind[1], shape))
    kind = draw(st.sampled_from(MODULE_MUTATIONS))
    i = draw(st.integers(0, len(arrays) - 1))
    a = arrays[i]
    if kind == "dtype":
        with np.errstate(all="ignore"):
            a = a.astype(draw(st.sampled_from(CAST_DTYPES)))
    elif kind == "special" and a.dtype.kind == "f":
        a = a.copy()
        a.reshape(-1)[draw(st.integers(0, a.size - 1))] = draw(st.sampled_from(SPECIAL))
    elif kind == "empty_batch":
        a = a[:0]
    elif kind == "extra_dim":
        a = np.stack([a, a], axis=-1)
    elif kind == "drop_dim":
        a = np.ascontiguousarray(a[0])
    elif kind == "bad_index" and a.dtype.kind == "i":
        a = a.copy()
        a.reshape(-1)[draw(st.integers(0, a.size - 1))] = draw(st.sampled_from([-1, 99]))
    arrays[i] = a
    return kind, arrays


@pytest.mark.parametrize("name", sorted(MODULES))
@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
def test_module_with_mutated_inputs(name, train):
    constructor, specs = MODULES[name]

    @given(module_inputs(specs))
    @settings(max_examples=30)
    def run(case):
        kind, arrays = case
        if name == "BatchNorm2d" and any(a.dtype == np.float16 for a in arrays):
            return  # a known gap: test_fuzz.py::test_batch_norm_keeps_a_float16_input_dtype
        ours_module = constructor(leafgrad.nn).train(train)
        ref_module = constructor(torch.nn).train(train)

        def forward(module):
            return lambda lib, *xs: module(*xs)
        check(forward(ours_module), [leafgrad.tensor(a) for a in arrays], {},
              forward(ref_module), [torch.tensor(a) for a in arrays])

    run()
