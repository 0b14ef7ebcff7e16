"""Generic op tests driven by ``op_db``: every record is checked for values and gradients
against PyTorch, and with float64 gradcheck/gradgradcheck on hypothesis-generated inputs."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

import leafgrad
from leafgrad.autograd import gradcheck, gradgradcheck
from op_db import Sample, all_records

try:
    import torch
except ImportError:  # the reference is a test extra
    torch = None

RECORDS = all_records()
needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch (the reference) is not installed")


def make_args(module, sample: Sample, dtype) -> list:
    """Tensors of ``module`` (leafgrad or torch) for the sample's array arguments."""
    args = []
    for index, arg in enumerate(sample.args):
        if isinstance(arg, np.ndarray):
            array = arg.astype(dtype) if arg.dtype.kind == "f" else arg
            tensor = module.tensor(array)
            if arg.dtype.kind == "f" and index not in sample.no_grad:
                tensor.requires_grad_(True)
            args.append(tensor)
        else:
            args.append(arg)
    return args


def convert_kwargs(module, kwargs: dict) -> dict:
    return {k: module.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}


def flat_outputs(result) -> list:
    if isinstance(result, (tuple, list)):
        return [r for item in result for r in flat_outputs(item)]
    return [result]


def to_numpy(tensor) -> np.ndarray:
    return tensor.detach().numpy() if hasattr(tensor, "detach") else np.asarray(tensor)


def grads_of(module, outputs, inputs, seed: int, create_graph: bool = False) -> list:
    """Vector-Jacobian products of the float outputs with fixed random cotangents: per input
    that requires grad, None or (the gradient's array, whether the gradient requires grad)."""
    rng = np.random.default_rng(seed)
    outs = [o for o in outputs if o.requires_grad]
    diff_inputs = [x for x in inputs if hasattr(x, "requires_grad") and x.requires_grad]
    if not outs or not diff_inputs:
        return []
    cotangents = [module.tensor(rng.standard_normal(tuple(o.shape)).astype(to_numpy(o).dtype))
                  for o in outs]
    grads = module.autograd.grad(outs, diff_inputs, cotangents, allow_unused=True,
                                 create_graph=create_graph)
    return [None if g is None else (to_numpy(g), g.requires_grad) for g in grads]


def finite_outputs(record, args, kwargs) -> bool:
    """Whether the op's float outputs are finite: finite differences (gradcheck) mean nothing
    where the function is inf or NaN (var without degrees of freedom...). Such samples are
    still compared with PyTorch in test_matches_pytorch."""
    outputs = flat_outputs(record.op(leafgrad, *args, **kwargs))
    return all(np.all(np.isfinite(to_numpy(o))) for o in outputs
               if hasattr(o, "dtype") and o.dtype.is_floating_point)


def test_every_record_has_a_unique_name():
    names = [r.name for r in RECORDS]
    assert len(names) == len(set(names)), "duplicate op records"


@needs_torch
@pytest.mark.parametrize("record", RECORDS, ids=[r.name for r in RECORDS])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_matches_pytorch(record, dtype):
    if record.ref is None:
        pytest.skip(f"{record.name} has no PyTorch reference: {record.notes}")
    scale = 1.0 if dtype == np.float64 else 100.0

    @given(record.samples)
    @settings(max_examples=10 if dtype == np.float64 else 4)
    def check(sample):
        ours_in = make_args(leafgrad, sample, dtype)
        ref_in = make_args(torch, sample, dtype)
        ours = flat_outputs(record.op(leafgrad, *ours_in,
                                      **convert_kwargs(leafgrad, sample.kwargs)))
        ref = flat_outputs(record.ref(torch, *ref_in, **convert_kwargs(torch, sample.kwargs)))
        assert len(ours) == len(ref)
        for a, e in zip(ours, ref):
            a_np, e_np = to_numpy(a), to_numpy(e)
            assert a_np.shape == e_np.shape, (a_np.shape, e_np.shape)
            assert a_np.dtype == e_np.dtype, (a_np.dtype, e_np.dtype)
            np.testing.assert_allclose(a_np, e_np, rtol=record.rtol * scale,
                                       atol=record.atol * scale, equal_nan=True)
            assert a.requires_grad == e.requires_grad
        # float64 also records the backward pass (create_graph), and the gradients must then
        # require grad exactly where torch's do
        create_graph = dtype == np.float64
        grads_ours = grads_of(leafgrad, ours, ours_in, 0, create_graph)
        grads_ref = grads_of(torch, ref, ref_in, 0, create_graph)
        assert len(grads_ours) == len(grads_ref)
        for index, (g_ours, g_ref) in enumerate(zip(grads_ours, grads_ref)):
            assert (g_ours is None) == (g_ref is None), (
                f"gradient {index}: leafgrad gives {g_ours}, torch {g_ref}")
            if g_ours is None:
                continue
            (array_ours, requires_ours), (array_ref, requires_ref) = g_ours, g_ref
            assert array_ours.shape == array_ref.shape
            np.testing.assert_allclose(array_ours, array_ref, rtol=record.rtol * scale * 10,
                                       atol=record.atol * scale * 10, equal_nan=True)
            assert requires_ours == requires_ref, (
                f"gradient {index} (create_graph={create_graph}): requires_grad is "
                f"{requires_ours} in leafgrad, {requires_ref} in torch")

    check()


def check_derivatives(record, checker, max_examples: int) -> None:
    """Run ``checker`` (gradcheck or gradgradcheck) on float64 samples of ``record``."""
    @given(record.samples)
    @settings(max_examples=max_examples)
    def check(sample):
        args = make_args(leafgrad, sample, np.float64)
        kwargs = convert_kwargs(leafgrad, sample.kwargs)
        if not any(getattr(a, "requires_grad", False) for a in args):
            return
        if not finite_outputs(record, args, kwargs):
            return
        assert checker(lambda *xs: record.op(leafgrad, *xs, **kwargs), tuple(args))

    check()


@pytest.mark.parametrize("record", RECORDS, ids=[r.name for r in RECORDS])
def test_gradcheck(record):
    if not record.gradcheck:
        pytest.skip(f"{record.name} is not differentiable: {record.notes}")
    check_derivatives(record, gradcheck, max_examples=12)


@pytest.mark.parametrize("record", RECORDS, ids=[r.name for r in RECORDS])
def test_gradgradcheck(record):
    if not (record.gradcheck and record.gradgradcheck):
        pytest.skip(f"{record.name} has no second derivative to check: {record.notes}")
    check_derivatives(record, gradgradcheck, max_examples=5)
