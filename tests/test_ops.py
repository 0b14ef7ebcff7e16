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


def grads_of(module, outputs, inputs, seed: int):
    """Vector-Jacobian products of the float outputs with fixed random cotangents."""
    rng = np.random.default_rng(seed)
    outs = [o for o in outputs if o.requires_grad]
    diff_inputs = [x for x in inputs if hasattr(x, "requires_grad") and x.requires_grad]
    if not outs or not diff_inputs:
        return []
    cotangents = [module.tensor(rng.standard_normal(tuple(o.shape)).astype(to_numpy(o).dtype))
                  for o in outs]
    grads = module.autograd.grad(outs, diff_inputs, cotangents, allow_unused=True)
    return [None if g is None else to_numpy(g) for g in grads]


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
        for g_ours, g_ref in zip(grads_of(leafgrad, ours, ours_in, 0),
                                 grads_of(torch, ref, ref_in, 0)):
            assert (g_ours is None) == (g_ref is None) or (
                g_ours is not None and not np.any(g_ours)) or (
                g_ref is not None and not np.any(g_ref))
            if g_ours is not None and g_ref is not None:
                assert g_ours.shape == g_ref.shape
                np.testing.assert_allclose(g_ours, g_ref, rtol=record.rtol * scale * 10,
                                           atol=record.atol * scale * 10)

    check()


@pytest.mark.parametrize("record", RECORDS, ids=[r.name for r in RECORDS])
def test_gradcheck(record):
    if not record.gradcheck:
        pytest.skip(f"{record.name} is not differentiable: {record.notes}")

    @given(record.samples)
    @settings(max_examples=12)
    def check(sample):
        args = make_args(leafgrad, sample, np.float64)
        kwargs = convert_kwargs(leafgrad, sample.kwargs)
        if not any(getattr(a, "requires_grad", False) for a in args):
            return
        assert gradcheck(lambda *xs: record.op(leafgrad, *xs, **kwargs), tuple(args))

    check()


@pytest.mark.parametrize("record", RECORDS, ids=[r.name for r in RECORDS])
def test_gradgradcheck(record):
    if not (record.gradcheck and record.gradgradcheck):
        pytest.skip(f"{record.name} has no second derivative to check: {record.notes}")

    @given(record.samples)
    @settings(max_examples=5)
    def check(sample):
        args = make_args(leafgrad, sample, np.float64)
        kwargs = convert_kwargs(leafgrad, sample.kwargs)
        if not any(getattr(a, "requires_grad", False) for a in args):
            return
        assert gradgradcheck(lambda *xs: record.op(leafgrad, *xs, **kwargs), tuple(args))

    check()
