"""Every public function and every ``leafgrad.nn`` module class, given a non-tensor (None, a
string) where a Tensor is expected, raises TypeError/ValueError/RuntimeError/IndexError as torch
does: never an AttributeError leaked from the op's body, never a silent success."""
from __future__ import annotations

import importlib
import inspect
import warnings

import pytest
from test_fuzz_all import MODULES

import leafgrad

ALLOWED = (TypeError, ValueError, RuntimeError, IndexError)
JUNK = [None, "x"]
FUNCTION_MODULES = ["leafgrad.ops.conv", "leafgrad.ops.elementwise", "leafgrad.ops.indexing",
                    "leafgrad.ops.linalg", "leafgrad.ops.loss", "leafgrad.ops.normalization",
                    "leafgrad.ops.pooling", "leafgrad.ops.reduction", "leafgrad.ops.shape",
                    "leafgrad.ops.sparse", "leafgrad._factories", "leafgrad.nn.functional"]
TOP_LEVEL = ["is_floating_point", "numel", "result_type", "promote_types"]
# Functions whose first argument may be any object, so junk there is no error (as in torch).
ACCEPTS_ANY = {"is_tensor": "answers False for a non-tensor"}
# Parameter names filled with a small int; every other required parameter gets a tensor.
INT_PARAMS = {"dim", "dims", "size", "num_classes", "kernel_size", "groups", "n", "high",
              "chunks", "split_size_or_sections", "output_size", "num_groups", "diagonal",
              "shifts", "repeats", "k", "start", "end", "steps", "sizes", "source",
              "destination", "dim0", "dim1", "normalized_shape", "upscale_factor",
              "downscale_factor", "pad", "padding", "low", "num_samples", "seed",
              "scale_factor", "fill_value", "value", "offset", "min", "max", "exponent",
              "alpha", "p", "length"}


def _public_functions() -> dict:
    found = {}
    for module_name in FUNCTION_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            fn = getattr(module, name)
            if callable(fn) and not isinstance(fn, type):
                found.setdefault(name, fn)
    for name in TOP_LEVEL:
        found[name] = getattr(leafgrad, name)
    return found


FUNCTIONS = _public_functions()


def _arguments(fn, junk) -> list | None:
    """``junk`` first, then a small valid value for each other required positional parameter;
    None for a function that takes no positional argument."""
    parameters = inspect.signature(fn).parameters.values()
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if not positional:
        if any(p.kind == p.VAR_POSITIONAL for p in parameters):
            return [junk]
        return None
    rest = [p for p in positional[1:] if p.default is p.empty]
    return [junk] + [1 if p.name in INT_PARAMS else leafgrad.ones(2, 3) for p in rest]


def test_the_function_table_is_not_empty():
    assert len(FUNCTIONS) > 150, len(FUNCTIONS)
    for name in ["where", "nonzero", "argwhere", "relu_", "rand_like", "zeros_like", "numel",
                 "set_rng_state", "promote_types"]:
        assert name in FUNCTIONS


@pytest.mark.parametrize("junk", JUNK, ids=["None", "str"])
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_with_a_junk_first_argument(name, junk):
    fn = FUNCTIONS[name]
    args = _arguments(fn, junk)
    if args is None:
        pytest.skip("takes no positional argument")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name in ACCEPTS_ANY:
            fn(*args)
            return
        with pytest.raises(ALLOWED):
            fn(*args)


def test_the_error_names_the_op_and_the_argument():
    with pytest.raises(TypeError, match=r"where\(\): argument 'condition' \(position 1\) must "
                                        r"be Tensor, not NoneType"):
        leafgrad.where(None)
    with pytest.raises(TypeError, match=r"relu_\(\).*must be Tensor, not str"):
        leafgrad.nn.functional.relu_("x")
    with pytest.raises(TypeError, match="must be torch.dtype, not NoneType"):
        leafgrad.promote_types(None, leafgrad.float32)


# Modules whose forward passes any object through, as torch's.
MODULE_ACCEPTS_ANY = {"Identity": "gives its input back unchanged"}


def _valid(shape, kind):
    if kind == "float" or kind == "prob":
        return leafgrad.full(shape, 0.5)
    return leafgrad.zeros(shape, dtype=leafgrad.int64)


@pytest.mark.parametrize("junk", JUNK, ids=["None", "str"])
@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_with_a_junk_input(name, junk):
    constructor, specs = MODULES[name]
    module = constructor(leafgrad.nn)
    args = [junk] + [_valid(shape, kind) for shape, kind in specs[1:]]
    if name in MODULE_ACCEPTS_ANY:
        assert module(*args) is junk
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ALLOWED):
            module(*args)


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_and_minimum_take_tensors_only_as_torch(name):
    torch = pytest.importorskip("torch")
    for make in (lambda m: (m.ones(2), 2.0), lambda m: (3, m.ones(2))):
        with pytest.raises(TypeError) as ours:
            getattr(leafgrad, name)(*make(leafgrad))
        with pytest.raises(TypeError) as reference:
            getattr(torch, name)(*make(torch))
        assert str(ours.value) == str(reference.value)
