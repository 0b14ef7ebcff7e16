"""The elementwise ops' table of local derivatives, forward derivatives and batching rules.

Every row of ``UNARY_DERIVATIVES`` is tested from the table itself, so that a new row is tested
without a new test: values and gradients against PyTorch in float64, the forward derivative
against ``torch.func.jvp``, the elementwise batching rule against ``torch.vmap``, and the
grad_fn name against torch's. The ops that stay classes (binary ops, ops with parameters) get
the same jvp and vmap checks from the lists below; the linear ops' forward derivative (the op
applied to the tangents) and the ops whose results never carry gradients have tests of their
own. Tests that compare with PyTorch take the ``torch`` fixture (skipped without it).
"""
from __future__ import annotations

import zlib

import numpy as np
import pytest

import leafgrad
from leafgrad.autograd import Variable
from leafgrad.autograd.function import Op
from leafgrad.ops import elementwise
from leafgrad.ops._batching import apply_batch_rule, elementwise_batch_rule
from leafgrad.ops._forward import forward_derivative

ROWS = list(elementwise.UNARY_DERIVATIVES.values())
ROW_IDS = [row.name for row in ROWS]

# inputs inside each function's domain (others: [-2, 2]); away from 0 where 1/x appears
DOMAINS = {"Log": (0.3, 3.0), "Log2": (0.3, 3.0), "Log10": (0.3, 3.0), "Log1p": (-0.7, 3.0),
           "Sqrt": (0.3, 3.0), "Rsqrt": (0.3, 3.0), "Reciprocal": (0.5, 2.0),
           "Asin": (-0.9, 0.9), "Acos": (-0.9, 0.9), "Tan": (-1.2, 1.2)}
# grad_fn names that differ from torch's on purpose: torch.square is pow(x, 2) there, and
# leafgrad's error messages and tests name SquareBackward0
TORCH_NAME_DIFFERS = {"Square": "PowBackward0"}
TOLERANCE = {"rtol": 1e-10, "atol": 1e-12}


def _rng(*keys) -> np.random.Generator:
    return np.random.default_rng([zlib.crc32(str(key).encode()) for key in keys])


def _values(name: str, shape: tuple, salt: int = 0) -> np.ndarray:
    low, high = DOMAINS.get(name, (-2.0, 2.0))
    return _rng(name, salt).uniform(low, high, size=shape)


def _public(module, row):
    """The public function of a row in leafgrad or torch (``Exp`` -> ``exp``)."""
    return getattr(module, row.name.lower())


def _numpy(tensor) -> np.ndarray:
    return tensor.detach().numpy()


def _apply_and_jvp(op_class, inputs, tangents, **kwargs):
    """(output, its tangent by ``forward_derivative``) for ``op_class`` on NumPy inputs; float
    arrays become tensors that require grad, so that the output's grad_fn is the forward's
    ctx."""
    tensors = [leafgrad.tensor(a, requires_grad=a.dtype.kind == "f")
               if isinstance(a, np.ndarray) else a for a in inputs]
    output = op_class.apply(*tensors, **kwargs)
    tangent_tensors = [None if t is None else leafgrad.tensor(t) for t in tangents]
    return output, forward_derivative(op_class, output.grad_fn, tensors, output,
                                      tangent_tensors, **kwargs)


def _torch_jvp(torch, function, inputs, tangents):
    """torch.func.jvp of ``function`` in its array inputs (zero tangents where given None)."""
    positions = [i for i, a in enumerate(inputs) if isinstance(a, np.ndarray)]

    def of_arrays(*arrays):
        arguments = list(inputs)
        for i, array in zip(positions, arrays):
            arguments[i] = array
        return function(*arguments)

    primals = tuple(torch.tensor(inputs[i]) for i in positions)
    tangent_tensors = tuple(torch.zeros_like(torch.tensor(inputs[i])) if tangents[i] is None
                            else torch.tensor(tangents[i]) for i in positions)
    return torch.func.jvp(of_arrays, primals, tangent_tensors)[1]


def _batched(logical: np.ndarray, batch_dim):
    """``logical`` (batch first) with its batch dimension moved to ``batch_dim``."""
    return logical if batch_dim is None else np.moveaxis(logical, 0, batch_dim)


# -- the table ---------------------------------------------------------------------------------
def test_the_table_holds_the_unary_ops():
    names = set(elementwise.UNARY_DERIVATIVES)
    expected = {"Exp", "Exp2", "Expm1", "Log", "Log2", "Log10", "Log1p", "Sqrt", "Rsqrt",
                "Square", "Reciprocal", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh",
                "Cosh", "Tanh", "Sigmoid", "Erf", "Abs", "Neg", "Sign", "Floor", "Ceil",
                "Trunc", "Relu"}
    assert expected <= names, f"rows missing from the table: {sorted(expected - names)}"


@pytest.mark.parametrize("row", ROWS, ids=ROW_IDS)
def test_each_row_is_a_module_level_op_with_its_saved_values(row):
    op_class = getattr(elementwise, row.name)
    assert issubclass(op_class, Op) and op_class.__name__ == row.name
    assert op_class.__module__ == "leafgrad.ops.elementwise"
    # what backward keeps follows what the formula reads
    assert op_class.saved_inputs == ((0,) if row.reads == "x" else ())
    assert op_class.saves_output is (row.reads == "result")
    assert op_class.array_backward is row.array_backward
    assert op_class.batch_rule == "elementwise"
    assert op_class.jvp is not None


def test_a_row_whose_derivative_reads_something_else_is_refused():
    before = dict(elementwise.UNARY_DERIVATIVES)
    with pytest.raises(ValueError, match="Bogus.*\\(grad, x\\) or \\(grad, result\\)"):
        elementwise.unary("Bogus", np.negative, lambda grad, y, z: grad)
    assert elementwise.UNARY_DERIVATIVES == before


@pytest.mark.parametrize("row", ROWS, ids=ROW_IDS)
def test_row_values_and_gradients_match_torch(row, torch):
    x = _values(row.name, (3, 4))
    grad = _rng(row.name, "grad").standard_normal((3, 4))
    ours = leafgrad.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    result = _public(leafgrad, row)(ours)
    expected = _public(torch, row)(theirs)
    assert isinstance(result.grad_fn, getattr(elementwise, row.name))
    np.testing.assert_allclose(_numpy(result), _numpy(expected), **TOLERANCE)
    (grad_x,) = leafgrad.autograd.grad(result, ours, leafgrad.tensor(grad))
    (expected_grad,) = torch.autograd.grad(expected, theirs, torch.tensor(grad))
    np.testing.assert_allclose(_numpy(grad_x), _numpy(expected_grad), **TOLERANCE)


@pytest.mark.parametrize("row", [row for row in ROWS if row.array_backward],
                         ids=[row.name for row in ROWS if row.array_backward])
def test_row_formula_reads_the_same_on_arrays(row):
    """``arrays=True`` rows: the backward the engine runs on arrays (no create_graph) gives the
    same bits as the formula on Tensors (create_graph)."""
    x = _values(row.name, (3, 4))
    grad = leafgrad.tensor(_rng(row.name, "grad").standard_normal((3, 4)), requires_grad=True)
    ours = leafgrad.tensor(x, requires_grad=True)
    result = _public(leafgrad, row)(ours)
    (on_arrays,) = leafgrad.autograd.grad(result, ours, grad, retain_graph=True)
    (on_tensors,) = leafgrad.autograd.grad(result, ours, grad, create_graph=True)
    assert not on_arrays.requires_grad and on_tensors.requires_grad  # the two paths ran
    assert _numpy(on_arrays).tobytes() == _numpy(on_tensors).tobytes()


@pytest.mark.parametrize("row", ROWS, ids=ROW_IDS)
def test_row_grad_fn_is_named_as_torch_names_it(row, torch):
    x = _values(row.name, (2,))
    ours = _public(leafgrad, row)(leafgrad.tensor(x, requires_grad=True))
    theirs = _public(torch, row)(torch.tensor(x, requires_grad=True))
    torch_name = type(theirs.grad_fn).__name__
    if row.name in TORCH_NAME_DIFFERS:
        assert torch_name == TORCH_NAME_DIFFERS[row.name]
        assert type(ours.grad_fn).__name__ == f"{row.name}Backward0"
    else:
        assert type(ours.grad_fn).__name__ == torch_name


@pytest.mark.parametrize("row", ROWS, ids=ROW_IDS)
def test_row_jvp_matches_torch_func_jvp(row, torch):
    x = _values(row.name, (3, 4))
    tangent = _rng(row.name, "tangent").standard_normal((3, 4))
    op_class = getattr(elementwise, row.name)
    output, ours = _apply_and_jvp(op_class, [x], [tangent])
    expected = _torch_jvp(torch, _public(torch, row), [x], [tangent])
    np.testing.assert_allclose(_numpy(ours), _numpy(expected), **TOLERANCE)
    assert _apply_and_jvp(op_class, [x], [None])[1] is None


@pytest.mark.parametrize("batch_dim", [0, 1, -1])
@pytest.mark.parametrize("row", ROWS, ids=ROW_IDS)
def test_row_batch_rule_matches_torch_vmap(row, batch_dim, torch):
    logical = _values(row.name, (5, 3, 2))  # a batch of 5 inputs of shape (3, 2)
    x = _batched(logical, batch_dim)
    out, out_dim = apply_batch_rule(getattr(elementwise, row.name), (leafgrad.tensor(x),),
                                    (batch_dim,))
    expected = torch.vmap(_public(torch, row), in_dims=batch_dim)(torch.tensor(x))
    assert out_dim == 0 and tuple(out.shape) == (5, 3, 2)
    np.testing.assert_allclose(_numpy(out), _numpy(expected), **TOLERANCE)


# -- the ops that stay classes: jvp and vmap ---------------------------------------------------
def _uniform(low, high, shape, salt):
    return _rng("classes", salt, shape).uniform(low, high, size=shape)


# (id, op class, keyword arguments, torch function, logical inputs: (low, high, shape) each)
BINARY = [
    ("mul", elementwise.Mul, {}, lambda t: t.mul, [(-2, 2, (3, 1)), (-2, 2, (4,))]),
    ("div", elementwise.Div, {}, lambda t: t.div, [(-2, 2, (3, 1)), (0.5, 2, (4,))]),
    ("atan2", elementwise.Atan2, {}, lambda t: t.atan2, [(0.3, 2, (3, 1)), (0.3, 2, (4,))]),
    ("maximum", elementwise.Maximum, {}, lambda t: t.maximum, [(-2, 2, (3, 1)), (-2, 2, (4,))]),
    ("minimum", elementwise.Minimum, {}, lambda t: t.minimum, [(-2, 2, (3, 1)), (-2, 2, (4,))]),
    ("remainder", elementwise.Remainder, {}, lambda t: t.remainder,
     [(-2, 2, (3, 1)), (0.7, 2, (4,))]),
    ("fmod", elementwise.Fmod, {}, lambda t: t.fmod, [(-2, 2, (3, 1)), (0.7, 2, (4,))]),
    ("pow", elementwise.PowTensor, {}, lambda t: t.pow, [(0.5, 2, (3, 1)), (-2, 2, (4,))]),
    ("add", elementwise.Add, {}, lambda t: t.add, [(-2, 2, (3, 1)), (-2, 2, (4,))]),
    ("sub", elementwise.Sub, {}, lambda t: t.sub, [(-2, 2, (3, 1)), (-2, 2, (4,))]),
    ("add_alpha", elementwise.AddScaled, {"alpha": 2.5},
     lambda t: lambda a, b: t.add(a, b, alpha=2.5), [(-2, 2, (3, 1)), (-2, 2, (4,))]),
    ("sub_alpha", elementwise.SubScaled, {"alpha": 2.5},
     lambda t: lambda a, b: t.sub(a, b, alpha=2.5), [(-2, 2, (3, 1)), (-2, 2, (4,))]),
    ("lerp", elementwise.Lerp, {}, lambda t: t.lerp,
     [(-2, 2, (3, 1)), (-2, 2, (4,)), (0, 1, (1, 4))]),
    ("clamp", elementwise.Clamp, {}, lambda t: t.clamp,
     [(-2, 2, (3, 4)), (-2, -0.5, (3, 1)), (0.5, 2, (4,))]),
]
_CONDITION = _rng("condition").random((2, 3, 4)) > 0.5
BINARY.append(("where", elementwise.Where, {"condition": _CONDITION},
               lambda t: lambda a, b: t.where(t.tensor(_CONDITION), a, b),
               [(-2, 2, (3, 1)), (-2, 2, (4,))]))
_SELU = {"alpha": elementwise.SELU_ALPHA, "scale": elementwise.SELU_SCALE}
UNARY_CLASSES = [
    ("pow_scalar", elementwise.Pow, {"exponent": 2.5}, lambda t: lambda x: t.pow(x, 2.5),
     (0.3, 2)),
    ("pow_zero", elementwise.Pow, {"exponent": 0}, lambda t: lambda x: t.pow(x, 0), (0.3, 2)),
    ("pow_scalar_base", elementwise.PowScalarBase, {"base": 1.7},
     lambda t: lambda x: t.pow(1.7, x), (-2, 2)),
    ("logit", elementwise.Logit, {}, lambda t: t.logit, (0.1, 0.9)),
    ("logit_eps", elementwise.Logit, {"eps": 0.2}, lambda t: lambda x: t.logit(x, eps=0.2),
     (0.01, 0.99)),
    ("round", elementwise.Round, {}, lambda t: t.round, (-2, 2)),
    ("clamp_scalar", elementwise.ClampScalar, {"low": -0.5, "high": 1.0},
     lambda t: lambda x: t.clamp(x, -0.5, 1.0), (-2, 2)),
    ("hardtanh", elementwise.Hardtanh, {"min_val": -0.5, "max_val": 1.0},
     lambda t: lambda x: t.nn.functional.hardtanh(x, -0.5, 1.0), (-2, 2)),
    ("leaky_relu", elementwise.LeakyRelu, {"negative_slope": 0.2},
     lambda t: lambda x: t.nn.functional.leaky_relu(x, 0.2), (-2, 2)),
    ("elu", elementwise.Elu, {"alpha": 1.3}, lambda t: lambda x: t.nn.functional.elu(x, 1.3),
     (-2, 2)),
    ("selu", elementwise.Elu, _SELU, lambda t: t.nn.functional.selu, (-2, 2)),
    ("gelu", elementwise.Gelu, {}, lambda t: t.nn.functional.gelu, (-3, 3)),
    ("gelu_tanh", elementwise.Gelu, {"approximate": "tanh"},
     lambda t: lambda x: t.nn.functional.gelu(x, approximate="tanh"), (-3, 3)),
    ("softplus", elementwise.Softplus, {"beta": 1.5, "threshold": 2.0},
     lambda t: lambda x: t.nn.functional.softplus(x, 1.5, 2.0), (-3, 3)),
    ("clone", elementwise.Clone, {}, lambda t: t.clone, (-2, 2)),
    ("neg", elementwise.Neg, {}, lambda t: t.neg, (-2, 2)),
    ("to_float32", elementwise.ToCopy, {"np_dtype": np.dtype(np.float32)},
     lambda t: lambda x: x.to(t.float32), (-2, 2)),
    ("mul_constant", elementwise.MulConstant, {"factor": np.array([0.5, 0.0, 1.0, 2.0])},
     lambda t: lambda x: x * t.tensor([0.5, 0.0, 1.0, 2.0], dtype=t.float64), (-2, 2)),
]


def _binary_inputs(case, salt=0):
    return [_uniform(low, high, shape, (case[0], i, salt))
            for i, (low, high, shape) in enumerate(case[4])]


@pytest.mark.parametrize("with_tangents", ["all", "first", "last"])
@pytest.mark.parametrize("case", BINARY, ids=[case[0] for case in BINARY])
def test_binary_jvp_matches_torch_func_jvp(case, with_tangents, torch):
    name, op_class, kwargs, torch_function, _ = case
    inputs = _binary_inputs(case)
    tangents = [_rng(name, "tangent", i).standard_normal(a.shape) for i, a in enumerate(inputs)]
    if with_tangents != "all":  # one input with a tangent, the others with none
        keep = 0 if with_tangents == "first" else len(inputs) - 1
        tangents = [t if i == keep else None for i, t in enumerate(tangents)]
    output, ours = _apply_and_jvp(op_class, inputs, tangents, **kwargs)
    expected = _torch_jvp(torch, torch_function(torch), inputs, tangents)
    assert tuple(ours.shape) == tuple(output.shape) == tuple(expected.shape)
    np.testing.assert_allclose(_numpy(ours), _numpy(expected), **TOLERANCE)


@pytest.mark.parametrize("case", UNARY_CLASSES, ids=[case[0] for case in UNARY_CLASSES])
def test_unary_class_jvp_matches_torch_func_jvp(case, torch):
    name, op_class, kwargs, torch_function, (low, high) = case
    x = _uniform(low, high, (3, 4), name)
    tangent = _rng(name, "tangent").standard_normal((3, 4))
    output, ours = _apply_and_jvp(op_class, [x], [tangent], **kwargs)
    expected = _torch_jvp(torch, torch_function(torch), [x], [tangent])
    assert ours.dtype == output.dtype
    np.testing.assert_allclose(_numpy(ours), _numpy(expected).astype(_numpy(output).dtype),
                               rtol=1e-6 if output.dtype == leafgrad.float32 else 1e-10,
                               atol=1e-12)


BATCH_DIMS = {2: [(0, 0), (1, None), (None, 0), (0, 1), (-1, None)],
              3: [(0, None, None), (None, 0, 1), (1, 0, None), (None, None, 0)]}


@pytest.mark.parametrize("case, batch_dims",
                         [(case, dims) for case in BINARY for dims in BATCH_DIMS[len(case[4])]],
                         ids=[f"{case[0]}-{dims}" for case in BINARY
                              for dims in BATCH_DIMS[len(case[4])]])
def test_binary_batch_rule_broadcasts_as_torch_vmap(case, batch_dims, torch):
    """Batched and unbatched operands of different logical ranks: the batched ones get ones
    after their batch dimension so that their logical shapes broadcast as outside vmap."""
    name, op_class, kwargs, torch_function, _ = case
    batch = 5
    logical = [np.stack([_uniform(low, high, shape, (name, i, k)) for k in range(batch)])
               for i, (low, high, shape) in enumerate(case[4])]
    inputs = [_batched(stack, dim) if dim is not None else stack[0]
              for stack, dim in zip(logical, batch_dims)]
    out, out_dim = apply_batch_rule(op_class, [leafgrad.tensor(a) for a in inputs], batch_dims,
                                    **kwargs)
    expected = torch.vmap(torch_function(torch), in_dims=tuple(batch_dims))(
        *[torch.tensor(a) for a in inputs])
    assert out_dim == 0 and tuple(out.shape) == tuple(expected.shape)
    np.testing.assert_allclose(_numpy(out), _numpy(expected), **TOLERANCE)


@pytest.mark.parametrize("batch_dim", [0, 2])
@pytest.mark.parametrize("case", UNARY_CLASSES, ids=[case[0] for case in UNARY_CLASSES])
def test_unary_class_batch_rule_matches_torch_vmap(case, batch_dim, torch):
    name, op_class, kwargs, torch_function, (low, high) = case
    x = _batched(_uniform(low, high, (5, 3, 4), name), batch_dim)
    out, out_dim = apply_batch_rule(op_class, [leafgrad.tensor(x)], [batch_dim], **kwargs)
    expected = torch.vmap(torch_function(torch), in_dims=batch_dim)(torch.tensor(x))
    assert out_dim == 0 and tuple(out.shape) == (5, 3, 4)
    np.testing.assert_allclose(_numpy(out), _numpy(expected), rtol=1e-6, atol=1e-12)


def test_batch_rule_counts_the_rank_of_array_keyword_arguments():
    """Where's condition (2, 3, 4) outranks the batched operand's logical shape (4,): the
    operand must become (B, 1, 1, 4), or the batch would meet the condition's first dim."""
    a = np.arange(10.0).reshape(5, 2)[:, :1] * np.ones((5, 4))  # 5 samples of shape (4,)
    condition = _CONDITION
    out, out_dim = elementwise_batch_rule(elementwise.Where, (leafgrad.tensor(a), 0.0), (0, None),
                                          condition=condition)
    assert out_dim == 0 and tuple(out.shape) == (5, 2, 3, 4)
    for k in range(5):
        np.testing.assert_array_equal(_numpy(out)[k], np.where(condition, a[k], 0.0))


def test_unbatched_inputs_give_an_unbatched_result():
    x = leafgrad.tensor([1.0, 2.0])
    out, out_dim = apply_batch_rule(elementwise.Mul, (x, x), (None, None))
    assert out_dim is None
    np.testing.assert_array_equal(_numpy(out), [1.0, 4.0])


def test_an_op_without_a_batch_rule_is_named_in_the_error():
    destination, source = leafgrad.zeros(2, 3), leafgrad.ones(4, 3)
    with pytest.raises(NotImplementedError, match="_CopyFrom has no batching rule"):
        apply_batch_rule(elementwise._CopyFrom, (destination, source), (None, 0))


class _Summed:
    """A stand-in op with a batching rule of its own (the sum over the last logical dim); not
    an Op subclass, which would join the registry of ops that records must exercise."""

    @staticmethod
    def apply(x):
        return x.sum(-1)

    @staticmethod
    def batch_rule(inputs, batch_dims, **kwargs):
        (x,), (dim,) = inputs, batch_dims
        return _Summed.apply(x.movedim(dim, 0)), 0


def test_a_callable_batch_rule_is_called():
    x = leafgrad.tensor(np.arange(6.0).reshape(3, 2))  # batch dim 1: 2 samples of shape (3,)
    out, out_dim = apply_batch_rule(_Summed, (x,), (1,))
    assert out_dim == 0
    np.testing.assert_array_equal(_numpy(out), [6.0, 9.0])


# -- forward derivatives of linear ops ---------------------------------------------------------
MARKED_LINEAR = sorted(
    (op_class for op_class in vars(elementwise).values()
     if isinstance(op_class, type) and issubclass(op_class, Op) and op_class.linear),
    key=lambda op_class: op_class.__name__)
# op class -> (number of inputs, keyword arguments): one case per op marked linear
LINEAR_CASES = {
    elementwise.Add: (2, {}), elementwise.Sub: (2, {}),
    elementwise.AddScaled: (2, {"alpha": 2.5}), elementwise.SubScaled: (2, {"alpha": 2.5}),
    elementwise.Where: (2, {"condition": _CONDITION[0]}), elementwise.Clone: (1, {}),
    elementwise.Neg: (1, {}), elementwise.MulConstant: (1, {"factor": _CONDITION[0] * 1.5}),
    elementwise.ToCopy: (1, {"np_dtype": np.dtype(np.float32)}),
    elementwise._CopyFrom: (2, {}),
}


def test_every_op_marked_linear_has_a_case_here():
    assert {op.__name__ for op in MARKED_LINEAR} == {op.__name__ for op in LINEAR_CASES}


@pytest.mark.parametrize("op_class", MARKED_LINEAR, ids=[op.__name__ for op in MARKED_LINEAR])
def test_a_linear_op_is_linear_and_applied_to_the_tangents(op_class):
    """op(x + 2 y) == op(x) + 2 op(y) in all floating inputs jointly, and the forward
    derivative is the op applied to the tangents."""
    arity, kwargs = LINEAR_CASES[op_class]
    x = [_uniform(-2, 2, (3, 4), (op_class.__name__, i)) for i in range(arity)]
    y = [_uniform(-2, 2, (3, 4), (op_class.__name__, i, "y")) for i in range(arity)]
    combined = op_class.apply(*[leafgrad.tensor(a + 2 * b) for a, b in zip(x, y)], **kwargs)
    separate = op_class.apply(*map(leafgrad.tensor, x), **kwargs) + \
        2 * op_class.apply(*map(leafgrad.tensor, y), **kwargs)
    np.testing.assert_allclose(_numpy(combined), _numpy(separate), rtol=1e-6, atol=1e-6)
    _, tangent = _apply_and_jvp(op_class, x, y, **kwargs)
    np.testing.assert_array_equal(_numpy(tangent),
                                  _numpy(op_class.apply(*map(leafgrad.tensor, y), **kwargs)))


def test_a_number_input_of_a_linear_op_is_a_constant():
    """x + 3: the tangent is dx, not dx + 3."""
    x, dx = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    _, tangent = _apply_and_jvp(elementwise.Add, [x, 3.0], [dx, None])
    np.testing.assert_array_equal(_numpy(tangent), dx)


def test_a_missing_tangent_of_a_linear_op_is_zeros_of_the_input():
    """The output tangent keeps the output's broadcast shape even when only the smaller
    operand has a tangent."""
    a, b = np.array([[1.0], [2.0]]), np.array([1.0, 2.0, 3.0])
    _, tangent = _apply_and_jvp(elementwise.Sub, [a, b], [np.array([[1.0], [-1.0]]), None])
    np.testing.assert_array_equal(_numpy(tangent), [[1.0] * 3, [-1.0] * 3])


class _Take:
    """A stand-in op (see ``_Summed``), linear in its floating input, with an integer index
    input that the forward derivative must keep as it is."""

    linear = True
    jvp = None

    @staticmethod
    def apply(a, index):
        return a[index]


def test_a_non_floating_input_of_a_linear_op_is_kept():
    a, index = np.array([10.0, 20.0, 30.0]), np.array([2, 0])
    _, tangent = _apply_and_jvp(_Take, [a, index], [np.array([1.0, 2.0, 3.0]), None])
    np.testing.assert_array_equal(_numpy(tangent), [3.0, 1.0])


def test_forward_derivative_without_tangents_or_of_an_integer_result_is_none():
    x = leafgrad.tensor([1.5, -2.0], requires_grad=True)
    output = elementwise.Mul.apply(x, x)
    assert forward_derivative(elementwise.Mul, output.grad_fn, (x, x), output, (None, None)) \
        is None
    cast = elementwise.ToCopy.apply(x, np_dtype=np.dtype(np.int64))
    assert forward_derivative(elementwise.ToCopy, cast.grad_fn, (x,), cast,
                              (leafgrad.ones(2),), np_dtype=np.dtype(np.int64)) is None


def test_an_op_without_a_forward_derivative_is_named_in_the_error():
    a, b = leafgrad.tensor([3.0, 4.0], requires_grad=True), leafgrad.tensor([2.0, 3.0])
    output = elementwise.FloorDivide.apply(a, b)
    with pytest.raises(NotImplementedError, match="FloorDivide has no forward derivative"):
        forward_derivative(elementwise.FloorDivide, output.grad_fn, (a, b), output,
                           (leafgrad.ones(2), None))


# -- ops whose results never carry gradients ---------------------------------------------------
_FLOATS = np.array([[0.5, -1.0, 2.0], [np.nan, np.inf, -np.inf]])
_OTHER = np.array([0.5, 1.0, -np.inf])
_INTS = np.array([[3, -2, 0], [1, 5, -7]])
_BOOLS = _INTS > 0
# (public name, its op class, inputs (float arrays require grad))
NO_GRADIENT = [(name, op, (_FLOATS, _OTHER)) for name, op in [
    ("eq", "Eq"), ("ne", "Ne"), ("lt", "Lt"), ("le", "Le"), ("gt", "Gt"), ("ge", "Ge")]] + [
    (name, op, (_BOOLS, _BOOLS[::-1].copy())) for name, op in [
        ("logical_and", "LogicalAnd"), ("logical_or", "LogicalOr"),
        ("logical_xor", "LogicalXor")]] + [
    (name, op, (_INTS, _INTS[::-1].copy())) for name, op in [
        ("bitwise_and", "BitwiseAnd"), ("bitwise_or", "BitwiseOr"),
        ("bitwise_xor", "BitwiseXor")]] + [
    ("logical_not", "LogicalNot", (_FLOATS,)), ("bitwise_not", "BitwiseNot", (_INTS,)),
    ("isnan", "IsNan", (_FLOATS,)), ("isinf", "IsInf", (_FLOATS,)),
    ("isfinite", "IsFinite", (_FLOATS,))]
NO_GRADIENT_IDS = [case[0] for case in NO_GRADIENT]


def _leaf(array):
    return leafgrad.tensor(array, requires_grad=array.dtype.kind == "f")


@pytest.mark.parametrize("name, op_name, inputs", NO_GRADIENT, ids=NO_GRADIENT_IDS)
def test_no_gradient_results_match_torch_and_never_require_grad(name, op_name, inputs, torch,
                                                                monkeypatch):
    op_class = getattr(elementwise, op_name)
    assert op_class.differentiable is False and op_class.batch_rule == "elementwise"
    applied = []
    original = op_class.apply
    monkeypatch.setattr(op_class, "apply",
                        classmethod(lambda cls, *a, **k: applied.append(cls) or original(*a, **k)))
    result = getattr(leafgrad, name)(*map(_leaf, inputs))
    assert applied == [op_class]  # the public function goes through the op
    expected = getattr(torch, name)(*map(torch.tensor, inputs))
    assert result.dtype.name == str(expected.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(result.numpy(), expected.numpy())
    assert result.requires_grad is False and result.grad_fn is None


@pytest.mark.parametrize("name, op_name, inputs", NO_GRADIENT, ids=NO_GRADIENT_IDS)
def test_no_gradient_results_are_volatile_when_an_input_is(name, op_name, inputs):
    function = getattr(leafgrad, name)
    with pytest.warns(DeprecationWarning):
        volatile = Variable(leafgrad.tensor(inputs[0]), volatile=True)
    plain = [_leaf(a) for a in inputs[1:]]
    assert function(volatile, *plain).volatile is True
    if plain:  # volatility wins whatever the argument order
        assert function(plain[0], *[volatile] * (len(inputs) - 1)).volatile is True
    assert function(*map(_leaf, inputs)).volatile is False
    with leafgrad.no_grad():
        assert function(*map(_leaf, inputs)).volatile is False


@pytest.mark.parametrize("name, op_name, inputs", NO_GRADIENT, ids=NO_GRADIENT_IDS)
def test_no_gradient_ops_batch_as_torch_vmap(name, op_name, inputs, torch):
    batched = np.stack([inputs[0], inputs[0][::-1]], axis=-1)  # 2 samples, batch dim last
    out, out_dim = apply_batch_rule(getattr(elementwise, op_name),
                                    [leafgrad.tensor(batched)] + [leafgrad.tensor(a)
                                                                  for a in inputs[1:]],
                                    (-1,) + (None,) * (len(inputs) - 1))
    expected = torch.vmap(getattr(torch, name), in_dims=(-1,) + (None,) * (len(inputs) - 1))(
        torch.tensor(batched), *map(torch.tensor, inputs[1:]))
    assert out_dim == 0
    np.testing.assert_array_equal(out.numpy(), expected.numpy())


@pytest.mark.parametrize("exponent", [True, False])
def test_bool_to_a_python_bool_power_is_an_op_without_gradient(exponent, torch):
    x = leafgrad.tensor(_BOOLS)
    with pytest.warns(DeprecationWarning):
        volatile = Variable(x, volatile=True)
    result = x ** exponent
    expected = torch.tensor(_BOOLS) ** exponent
    assert result.dtype == leafgrad.bool and result.grad_fn is None
    np.testing.assert_array_equal(result.numpy(), expected.numpy())
    assert (volatile ** exponent).volatile is True
