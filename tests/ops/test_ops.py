"""Generic op tests driven by ``op_db``: every record is checked for values and gradients
against PyTorch, and with float64 gradcheck/gradgradcheck on hypothesis-generated inputs."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings

import leafgrad
from leafgrad.autograd import gradcheck, gradgradcheck
from op_db import OpInfo, Sample, all_records, convert_kwargs, flat_outputs, make_args

try:
    import torch
except ImportError:  # the reference is a test extra
    torch = None

RECORDS = all_records()
needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch (the reference) is not installed")

# -- tolerances and sample counts ------------------------------------------------------------
# float64 gradcheck and gradgradcheck at PyTorch's defaults (torch.autograd.gradcheck): central
# differences with step eps, |analytical - numerical| <= atol + rtol * |numerical|. Passed
# explicitly, so that a change of leafgrad's own defaults cannot loosen these checks.
DERIVATIVE_TOLERANCES = {"eps": 1e-6, "atol": 1e-5, "rtol": 1e-3}

# float32 comparisons with PyTorch. Both libraries round every operation to float32, so their
# results differ by a few units in the last place of the terms they were computed from:
#     |ours - torch| <= ulps * eps32 * (max(1, max |torch|) + |torch|)
# (rtol = ulps * eps32, atol = the same times the result's largest magnitude, at least 1). The
# atol is scaled by the array because a rounding error is relative to the terms that were
# summed or multiplied, whose size the largest element shows: an element that cancels to
# near zero keeps the absolute error of its terms (a saturated softmax's gradient, a
# difference of order-one values). Gradients pass through the backward's roundings as well,
# hence more ulps. Measured (three sample sets of 25 to 100 per record, with torch 2.13 CPU):
# at most 4.6 eps32 apart for outputs and 6 for gradients outside the records below, so these
# keep a margin of 3-5x.
FLOAT32_EPS = float(np.finfo(np.float32).eps)  # 2**-23 = 1.19e-7
VALUE_ULPS = 16
GRAD_ULPS = 32
# Ops whose conditioning amplifies float32 rounding errors (float64 hides it), by the factor:
# - normalizing a group whose spread is small against its values divides the rounding error
#   of its mean (eps32 * |x|) by its standard deviation, which the op's eps bounds below:
#   at most max|x| / sqrt(eps) = 3 / sqrt(1e-5) = 950 for these records' samples (values in
#   [-3, 3], eps >= 1e-5); seen: 450 eps32 in layer_norm's gradients, 32 in batch_norm's output
# - multi_head_attention_forward chains six products (the q, k, v projections, the scores,
#   the weighting of v, the output projection) whose rounding errors add up, and its
#   gradients go back through all of them: seen 30 eps32
NORMALIZATION_CONDITIONING = 3 / np.sqrt(1e-5)
FLOAT32_CONDITIONING = {"batch_norm_training": NORMALIZATION_CONDITIONING,
                        "layer_norm": NORMALIZATION_CONDITIONING,
                        "group_norm": NORMALIZATION_CONDITIONING,
                        "multi_head_attention_forward": 4.0}
# float64 gradients are compared with 10x the record's value tolerances (the backward's
# roundings), as before
FLOAT64_GRAD_FACTOR = 10

# hypothesis examples per record and test (the ci profile in conftest.py derandomizes them)
VALUE_EXAMPLES = {np.float64: 20, np.float32: 10}
GRADCHECK_EXAMPLES = 20
GRADGRADCHECK_EXAMPLES = 10


# -- samples the reference cannot take -------------------------------------------------------
# Strategies in op_records/ that draw such samples, with a check that keeps them out of the
# comparison with PyTorch (assume()); remove an entry once its strategy no longer draws them.
def _no_window_wholly_in_padding(sample: Sample) -> bool:
    """max_pool1d/2d: a dilated window can lie wholly in the padding (kernel 2, dilation 2,
    padding 1 over one element); torch then returns an out-of-range index (its backward writes
    out of bounds: "double free or corruption" seen) and leafgrad a negative one, which sends
    the gradient to an element the window never saw."""
    kernel = sample.args[1]
    size = sample.args[0].shape[-len(kernel):]
    stride = sample.kwargs["stride"] or kernel
    ceil_mode = sample.kwargs["ceil_mode"]
    for i, k, s, p, d in zip(size, kernel, stride, sample.kwargs["padding"],
                             sample.kwargs["dilation"]):
        span = i + 2 * p - d * (k - 1) - 1
        outputs = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (outputs - 1) * s >= i + p:
            outputs -= 1  # the last window must start inside the input or its left padding
        for start in range(-p, (outputs - 1) * s - p + 1, s):
            if not any(0 <= start + j * d < i for j in range(k)):
                return False
    return True


VALID_FOR_TORCH = {"max_pool1d": _no_window_wholly_in_padding,
                   "max_pool2d": _no_window_wholly_in_padding}


def float32_tolerance(record: OpInfo, ulps: int) -> float:
    """``ulps`` float32 epsilons times the record's conditioning: the larger of its entry in
    FLOAT32_CONDITIONING and how much looser than the catalogue's defaults its float64
    tolerances are (a record declares an ill-conditioned op that way, and the same factor then
    applies to float32's rounding errors)."""
    declared = max(record.rtol / OpInfo.rtol, record.atol / OpInfo.atol)
    conditioning = max(1.0, declared, FLOAT32_CONDITIONING.get(record.name, 1.0))
    return ulps * FLOAT32_EPS * conditioning


def assert_matches(actual: np.ndarray, expected: np.ndarray, record: OpInfo, dtype,
                   gradient: bool) -> None:
    """``record``'s output (or a gradient) in ``dtype`` is close to PyTorch's: within the
    record's tolerances in float64 (10x for gradients), within a few float32 epsilons in
    float32 (see VALUE_ULPS)."""
    if dtype == np.float32:
        rtol = float32_tolerance(record, GRAD_ULPS if gradient else VALUE_ULPS)
        finite = np.abs(expected[np.isfinite(expected)]) if expected.dtype.kind == "f" else []
        atol = rtol * max(1.0, float(np.max(finite, initial=0.0)))
    else:
        factor = FLOAT64_GRAD_FACTOR if gradient else 1
        rtol, atol = record.rtol * factor, record.atol * factor
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)


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

    @given(record.samples)
    @settings(max_examples=VALUE_EXAMPLES[dtype])
    def check(sample):
        assume(VALID_FOR_TORCH.get(record.name, lambda _: True)(sample))
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
            assert_matches(a_np, e_np, record, dtype, gradient=False)
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
            assert_matches(array_ours, array_ref, record, dtype, gradient=True)
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
        assert checker(lambda *xs: record.op(leafgrad, *xs, **kwargs), tuple(args),
                       **DERIVATIVE_TOLERANCES)

    check()


@pytest.mark.parametrize("record", RECORDS, ids=[r.name for r in RECORDS])
def test_gradcheck(record):
    if not record.gradcheck:
        pytest.skip(f"{record.name} is not differentiable: {record.notes}")
    check_derivatives(record, gradcheck, GRADCHECK_EXAMPLES)


@pytest.mark.parametrize("record", RECORDS, ids=[r.name for r in RECORDS])
def test_gradgradcheck(record):
    if not (record.gradcheck and record.gradgradcheck):
        pytest.skip(f"{record.name} has no second derivative to check: {record.notes}")
    check_derivatives(record, gradgradcheck, GRADGRADCHECK_EXAMPLES)
