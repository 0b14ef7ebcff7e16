"""The loss modules: values and gradients (input, and target where torch differentiates it)
against torch over their options and reductions, float64 gradcheck, the legacy
size_average/reduce flags, class weights as buffers (no parameters: seed claim C12), reprs,
state_dict keys and errors."""
from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest

import leafgrad
from leafgrad import nn
from leafgrad.autograd import gradcheck


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def rng(seed: int = 1234):
    return np.random.default_rng(seed)


def build(library, name: str, kwargs: dict):
    """``library.nn.<name>(**kwargs)``, NumPy arrays among the kwargs made tensors."""
    converted = {k: library.tensor(v) if isinstance(v, np.ndarray) else v
                 for k, v in kwargs.items()}
    return getattr(library.nn, name)(**converted)


def assert_loss_matches(torch, name: str, kwargs: dict, input: np.ndarray, target: np.ndarray,
                        grad_target: bool = False, rtol: float = 1e-10, atol: float = 1e-12):
    """Value and gradients of the loss in both libraries, from the same arrays."""
    ours, theirs = build(leafgrad, name, kwargs), build(torch, name, kwargs)
    assert repr(ours) == repr(theirs)
    assert ours.reduction == theirs.reduction
    floating = target.dtype.kind == "f"
    ours_in = leafgrad.tensor(input, requires_grad=True)
    theirs_in = torch.tensor(input, requires_grad=True)
    ours_target = leafgrad.tensor(target, requires_grad=grad_target and floating)
    theirs_target = torch.tensor(target, requires_grad=grad_target and floating)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kl_div's 'mean' warning, checked on its own
        out, ref = ours(ours_in, ours_target), theirs(theirs_in, theirs_target)
    assert tuple(out.shape) == tuple(ref.shape)
    assert str(out.dtype) == str(ref.dtype)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=rtol, atol=atol)
    weights = rng(7).standard_normal(tuple(ref.shape))
    (out * leafgrad.tensor(weights, dtype=out.dtype)).sum().backward()
    (ref * torch.tensor(weights, dtype=ref.dtype)).sum().backward()
    np.testing.assert_allclose(ours_in.grad.numpy(), theirs_in.grad.numpy(), rtol=rtol,
                               atol=atol)
    if grad_target and floating:
        np.testing.assert_allclose(ours_target.grad.numpy(), theirs_target.grad.numpy(),
                                   rtol=rtol, atol=atol)
    assert list(ours.parameters()) == []  # seed claim C12
    return ours


REDUCTIONS = ["mean", "sum", "none"]


def logits(shape, seed: int = 0) -> np.ndarray:
    return rng(seed).standard_normal(shape) * 2


def classes(shape, count: int, seed: int = 1) -> np.ndarray:
    return rng(seed).integers(0, count, shape)


def probabilities(shape, axis: int, seed: int = 2) -> np.ndarray:
    values = rng(seed).random(shape) + 0.1
    return values / values.sum(axis=axis, keepdims=True)


# -- cross entropy and nll ----------------------------------------------------------------------
CLASS_WEIGHT = np.array([0.5, 2.0, 1.0, 0.2])
CROSS_ENTROPY = [
    dict(), dict(weight=CLASS_WEIGHT), dict(ignore_index=1), dict(label_smoothing=0.2),
    dict(weight=CLASS_WEIGHT, ignore_index=2, label_smoothing=0.1),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kwargs", CROSS_ENTROPY, ids=str)
@pytest.mark.parametrize("input_shape,target_shape", [((5, 4), (5,)), ((2, 4, 3, 2), (2, 3, 2)),
                                                      ((4,), ())], ids=str)
def test_cross_entropy_loss_with_class_indices_matches_torch(torch, reduction, kwargs,
                                                             input_shape, target_shape):
    assert_loss_matches(torch, "CrossEntropyLoss", dict(kwargs, reduction=reduction),
                        logits(input_shape), classes(target_shape, 4))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kwargs", [dict(), dict(weight=CLASS_WEIGHT), dict(label_smoothing=0.3),
                                    dict(weight=CLASS_WEIGHT, label_smoothing=0.1)], ids=str)
@pytest.mark.parametrize("shape", [(5, 4), (2, 4, 3), (4,)], ids=str)
def test_cross_entropy_loss_with_probabilities_matches_torch(torch, reduction, kwargs, shape):
    axis = 0 if len(shape) == 1 else 1
    assert_loss_matches(torch, "CrossEntropyLoss", dict(kwargs, reduction=reduction), logits(shape),
                        probabilities(shape, axis), grad_target=True)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kwargs", [dict(), dict(weight=CLASS_WEIGHT), dict(ignore_index=0),
                                    dict(weight=CLASS_WEIGHT, ignore_index=3)], ids=str)
@pytest.mark.parametrize("input_shape,target_shape", [((6, 4), (6,)), ((2, 4, 3), (2, 3)),
                                                      ((4,), ())], ids=str)
def test_nll_loss_matches_torch(torch, reduction, kwargs, input_shape, target_shape):
    log_probs = np.log(probabilities(input_shape, 0 if len(input_shape) == 1 else 1))
    assert_loss_matches(torch, "NLLLoss", dict(kwargs, reduction=reduction), log_probs,
                        classes(target_shape, 4))


def test_cross_entropy_float32_and_all_ignored_match_torch(torch):
    assert_loss_matches(torch, "CrossEntropyLoss", {}, logits((8, 10)).astype(np.float32),
                        classes((8,), 10), rtol=1e-5, atol=1e-6)
    # every target ignored: 'mean' is nan, as torch (0 / 0)
    ours = assert_loss_matches(torch, "CrossEntropyLoss", dict(ignore_index=2), logits((3, 4)),
                               np.array([2, 2, 2]))
    assert np.isnan(ours(leafgrad.tensor(logits((3, 4))), leafgrad.tensor([2, 2, 2])).item())


# -- regression losses --------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,kwargs", [
    ("MSELoss", {}), ("L1Loss", {}), ("SmoothL1Loss", {}), ("SmoothL1Loss", {"beta": 0.5}),
    ("SmoothL1Loss", {"beta": 0.0}), ("HuberLoss", {}), ("HuberLoss", {"delta": 0.3}),
    ("HuberLoss", {"delta": 2})], ids=str)
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 2), ()], ids=str)
def test_regression_losses_match_torch(torch, reduction, name, kwargs, shape):
    input, target = logits(shape), logits(shape, seed=5)
    assert_loss_matches(torch, name, dict(kwargs, reduction=reduction), input, target,
                        grad_target=True)


def test_regression_losses_float32_and_broadcast_warning_match_torch(torch):
    for name in ("MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss"):
        assert_loss_matches(torch, name, {}, logits((6, 5)).astype(np.float32),
                            logits((6, 5), 3).astype(np.float32), grad_target=True, rtol=1e-5,
                            atol=1e-6)
        with pytest.warns(UserWarning, match="Using a target size"):
            getattr(nn, name)()(leafgrad.ones(3, 2), leafgrad.ones(3, 1))


# -- binary cross entropy -----------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kwargs", [dict(), dict(weight=np.array([0.5, 1.0, 2.0])),
                                    dict(weight=rng(3).random((4, 3)))], ids=str)
def test_bce_loss_matches_torch(torch, reduction, kwargs):
    probs = rng(4).random((4, 3)) * 0.9 + 0.05
    assert_loss_matches(torch, "BCELoss", dict(kwargs, reduction=reduction), probs,
                        rng(5).random((4, 3)),
                        grad_target=True)


def test_bce_loss_clamps_the_log_as_torch(torch):
    probs = np.array([0.0, 1.0, 0.5, 1e-50])
    # at p = 0 or 1 the gradient is divided by torch's floor 1e-12, a float32 constant
    ours = assert_loss_matches(torch, "BCELoss", dict(reduction="none"), probs,
                               np.array([1.0, 0.0, 1.0, 1.0]))
    np.testing.assert_array_equal(ours(leafgrad.tensor(probs),
                                       leafgrad.tensor(np.array([1.0, 0.0, 0.0, 0.0]))
                                       ).numpy()[:2],
                                  [100.0, 100.0])  # -log(0) clamped at 100


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kwargs", [
    dict(), dict(pos_weight=np.array([3.0, 0.5, 1.0])), dict(weight=np.array([0.5, 1.0, 2.0])),
    dict(weight=rng(3).random((4, 3)), pos_weight=np.array([2.0, 1.0, 0.1]))], ids=str)
def test_bce_with_logits_loss_matches_torch(torch, reduction, kwargs):
    assert_loss_matches(torch, "BCEWithLogitsLoss", dict(kwargs, reduction=reduction),
                        logits((4, 3)) * 10, rng(5).random((4, 3)), grad_target=True)


# -- kl divergence ------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_loss_matches_torch(torch, reduction, log_target):
    input = np.log(probabilities((4, 5), 1))
    target = probabilities((4, 5), 1, seed=8)
    if log_target:
        target = np.log(target)
    assert_loss_matches(torch, "KLDivLoss", dict(reduction=reduction, log_target=log_target), input,
                        target, grad_target=True)
    if not log_target:
        # 0 * log(0) counts as 0 (torch's target gradient there is nan, so it is not compared)
        target[0, 1] = 0.0
        assert_loss_matches(torch, "KLDivLoss", dict(reduction=reduction), input, target)


def test_kl_div_mean_warns_as_torch(torch):
    with pytest.warns(UserWarning) as ours:
        nn.KLDivLoss()(leafgrad.zeros(2, 3), leafgrad.ones(2, 3) / 3)
    with pytest.warns(UserWarning) as theirs:
        torch.nn.KLDivLoss()(torch.zeros(2, 3), torch.ones(2, 3) / 3)
    assert str(ours[0].message) == str(theirs[0].message)
    assert "'batchmean' divides only by the batch size" in str(ours[0].message)


# -- gradcheck ----------------------------------------------------------------------------------
def f64(array, requires_grad: bool = True):
    return leafgrad.tensor(array, dtype=leafgrad.float64, requires_grad=requires_grad)


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides the total loss")
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_losses_gradcheck_float64(reduction):
    weight = leafgrad.tensor(CLASS_WEIGHT)
    cases = [
        (nn.CrossEntropyLoss(weight=weight, reduction=reduction, label_smoothing=0.1,
                             ignore_index=1), f64(logits((3, 4))),
         leafgrad.tensor(classes((3,), 4))),
        (nn.CrossEntropyLoss(reduction=reduction), f64(logits((2, 4, 2))),
         f64(probabilities((2, 4, 2), 1))),
        (nn.NLLLoss(weight=weight, reduction=reduction), f64(logits((3, 4))),
         leafgrad.tensor(classes((3,), 4))),
        (nn.MSELoss(reduction=reduction), f64(logits((2, 3))), f64(logits((2, 3), 1))),
        (nn.L1Loss(reduction=reduction), f64(logits((2, 3))), f64(logits((2, 3), 1))),
        (nn.SmoothL1Loss(reduction=reduction, beta=0.7), f64(logits((2, 3))),
         f64(logits((2, 3), 1))),
        (nn.HuberLoss(reduction=reduction, delta=0.7), f64(logits((2, 3))),
         f64(logits((2, 3), 1))),
        (nn.BCELoss(weight=leafgrad.tensor([0.5, 2.0, 1.0]), reduction=reduction),
         f64(rng(1).random((2, 3)) * 0.8 + 0.1), f64(rng(2).random((2, 3)))),
        (nn.BCEWithLogitsLoss(pos_weight=leafgrad.tensor([0.5, 2.0, 1.0]).double(),
                              reduction=reduction), f64(logits((2, 3))),
         f64(rng(2).random((2, 3)))),
        (nn.KLDivLoss(reduction=reduction, log_target=True), f64(logits((2, 3))),
         f64(logits((2, 3), 1))),
        (nn.KLDivLoss(reduction="batchmean"), f64(logits((2, 3))),
         f64(probabilities((2, 3), 1))),
    ]
    for loss, input, target in cases:
        loss.double()
        if target.requires_grad:
            assert gradcheck(loss, (input, target)), type(loss).__name__
        else:
            assert gradcheck(functools.partial(_with_target, loss, target), (input,))


def _with_target(loss, target, input):
    return loss(input, target)


# -- what every loss shares ---------------------------------------------------------------------
LOSSES = ["CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "SmoothL1Loss", "BCELoss",
          "BCEWithLogitsLoss", "KLDivLoss"]


@pytest.mark.parametrize("name", LOSSES)
def test_legacy_size_average_and_reduce_map_like_torch(torch, name):
    for size_average in (None, True, False):
        for reduce in (None, True, False):
            kwargs = dict(size_average=size_average, reduce=reduce)
            if size_average is None and reduce is None:
                assert getattr(nn, name)(**kwargs).reduction == "mean"
                continue
            with pytest.warns(UserWarning) as ours:
                loss = getattr(nn, name)(reduction="sum", **kwargs)
            with pytest.warns(UserWarning) as theirs:
                reference = getattr(torch.nn, name)(reduction="sum", **kwargs)
            assert loss.reduction == reference.reduction  # the flags win over reduction
            assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]
            assert "please use reduction=" in str(ours[0].message)


def test_huber_loss_has_no_legacy_flags_and_checks_delta(torch):
    with pytest.raises(TypeError):
        nn.HuberLoss(size_average=True)
    with pytest.raises(TypeError) as ours:
        nn.HuberLoss(delta="1")
    with pytest.raises(TypeError) as theirs:
        torch.nn.HuberLoss(delta="1")
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("name,kwargs", [
    ("CrossEntropyLoss", {}), ("CrossEntropyLoss", {"weight": CLASS_WEIGHT}),
    ("NLLLoss", {"weight": CLASS_WEIGHT}), ("BCELoss", {"weight": CLASS_WEIGHT}),
    ("BCEWithLogitsLoss", {"pos_weight": CLASS_WEIGHT}),
    ("BCEWithLogitsLoss", {"weight": CLASS_WEIGHT, "pos_weight": CLASS_WEIGHT}),
    ("MSELoss", {}), ("KLDivLoss", {"log_target": True}), ("HuberLoss", {"delta": 0.5})],
    ids=str)
def test_weights_are_buffers_and_state_dicts_match_torch(torch, name, kwargs):
    ours, theirs = build(leafgrad, name, kwargs), build(torch, name, kwargs)
    assert repr(ours) == repr(theirs)
    assert list(ours.parameters()) == [] == list(theirs.parameters())  # seed claim C12
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[key].numpy(), value.numpy())
    for attr in ("weight", "pos_weight"):
        if attr in kwargs:
            assert not getattr(ours, attr).requires_grad
    ours.to(leafgrad.float32)
    for buffer in ours.buffers():
        assert buffer.dtype == leafgrad.float32  # converted with the module


def test_loss_outputs_require_grad_only_through_their_inputs():
    # seed claim C12: a loss module adds no parameter to the graph
    loss = nn.CrossEntropyLoss(weight=leafgrad.ones(3))
    target = leafgrad.tensor([0, 2])
    assert not loss(leafgrad.randn(2, 3), target).requires_grad
    x = leafgrad.randn(2, 3, requires_grad=True)
    out = loss(x, target)
    assert out.requires_grad and out.grad_fn is not None
    out.backward()
    assert x.grad.shape == (2, 3) and loss.weight.grad is None
    mse = nn.MSELoss()
    assert not mse(leafgrad.ones(2), leafgrad.zeros(2)).requires_grad
    assert mse(leafgrad.ones(2), leafgrad.zeros(2, requires_grad=True)).requires_grad


def test_loss_errors_match_torch(torch):
    cases = [
        (lambda m: m.nn.MSELoss(reduction="avg"), lambda m: (m.ones(2), m.ones(2))),
        (lambda m: m.nn.CrossEntropyLoss(reduction="elementwise"),
         lambda m: (m.ones(2, 3), m.tensor([0, 1]))),
        (lambda m: m.nn.CrossEntropyLoss(), lambda m: (m.ones(2, 3), m.tensor([0, 3]))),
        (lambda m: m.nn.CrossEntropyLoss(), lambda m: (m.ones(2, 3), m.tensor([0, 1, 2]))),
        (lambda m: m.nn.NLLLoss(), lambda m: (m.ones(2, 3), m.tensor([0.0, 1.0]))),
        (lambda m: m.nn.CrossEntropyLoss(weight=m.ones(4)),
         lambda m: (m.ones(2, 3), m.tensor([0, 1]))),
        (lambda m: m.nn.CrossEntropyLoss(label_smoothing=1.5),
         lambda m: (m.ones(2, 3), m.tensor([0, 1]))),
        (lambda m: m.nn.BCELoss(), lambda m: (m.ones(2) * 2, m.ones(2))),
        (lambda m: m.nn.BCELoss(), lambda m: (m.ones(2) / 2, m.ones(3))),
        (lambda m: m.nn.BCEWithLogitsLoss(), lambda m: (m.ones(2), m.ones(2, 1))),
        (lambda m: m.nn.SmoothL1Loss(beta=-1.0), lambda m: (m.ones(2), m.ones(2))),
        (lambda m: m.nn.HuberLoss(delta=0), lambda m: (m.ones(2), m.ones(2))),
    ]
    for make_loss, make_args in cases:
        with pytest.raises(Exception) as theirs:
            make_loss(torch)(*make_args(torch))
        with pytest.raises(type(theirs.value)) as ours:
            make_loss(leafgrad)(*make_args(leafgrad))
        # the key words of torch's message (leafgrad adds advice to some)
        words = str(theirs.value).split()[:3]
        assert " ".join(words) in str(ours.value), (str(ours.value), str(theirs.value))


# -- torch's fused loss nodes and edge gradients ---------------------------------------------
def graph(node) -> str:
    """A backward graph as text: ``Name(child, ...)``, leaves as ``A``."""
    if node is None:
        return "None"
    name = node.name().replace("torch::autograd::", "")
    children = [graph(child) for child, _ in node.next_functions]
    return ("A" if name == "AccumulateGrad" else name) + \
        (f"({', '.join(children)})" if children else "")


FUNCTIONAL_LOSSES = [  # (name, keyword arguments, input low/high, target shape)
    ("mse_loss", {}, (-2, 2), (4, 3)), ("mse_loss", {}, (-2, 2), (3,)),
    ("l1_loss", {}, (-2, 2), (4, 3)), ("l1_loss", {}, (-2, 2), (3,)),
    ("smooth_l1_loss", {"beta": 0.5}, (-2, 2), (4, 3)),
    ("smooth_l1_loss", {"beta": 0.5}, (-2, 2), (1, 3)),
    ("smooth_l1_loss", {"beta": 0.0}, (-2, 2), (4, 3)),
    ("huber_loss", {"delta": 0.5}, (-2, 2), (4, 3)),
    ("binary_cross_entropy", {}, (0.05, 0.95), (4, 3)),
    ("binary_cross_entropy", {"weight": np.array([0.5, 1.0, 2.0])}, (0.05, 0.95), (4, 3)),
    ("binary_cross_entropy_with_logits", {}, (-3, 3), (4, 3)),
    ("binary_cross_entropy_with_logits", {"weight": np.array([0.5, 1.0, 2.0]),
                                          "pos_weight": np.array([3.0, 0.5, 1.0])}, (-3, 3),
     (4, 3)),
    ("kl_div", {}, (-3, -0.1), (4, 3)), ("kl_div", {"log_target": True}, (-3, -0.1), (4, 3)),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name, kwargs, bounds, target_shape", FUNCTIONAL_LOSSES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(FUNCTIONAL_LOSSES)])
def test_losses_record_torchs_nodes(torch, reduction, name, kwargs, bounds, target_shape):
    """One fused node (MseLossBackward0 ...) with the reduction inside, where torch has one;
    l1_loss and kl_div are torch's compositions; a broadcast target is expanded first."""
    results = []
    for lib in (leafgrad, torch):
        x = lib.tensor(rng(0).uniform(*bounds, (4, 3)), requires_grad=True)
        target = lib.tensor(rng(1).uniform(0.05, 0.95, target_shape), requires_grad=True)
        extra = {k: lib.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # broadcast and kl_div 'mean' warnings
            out = getattr(lib.nn.functional, name)(x, target, reduction=reduction, **extra)
        (out * lib.tensor(rng(2).standard_normal(tuple(out.shape)))).sum().backward()
        results.append((graph(out.grad_fn), out.detach().numpy(), x.grad.numpy(),
                        target.grad.numpy()))
    (ours, *ours_values), (theirs, *theirs_values) = results
    assert ours == theirs
    for a, b in zip(ours_values, theirs_values):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_kl_div_target_gradient_is_nan_where_the_target_is_zero(torch):
    grads = []
    for lib in (leafgrad, torch):
        input = lib.tensor([-1.0, -0.5, -2.0], requires_grad=True)
        target = lib.tensor([0.0, 0.5, 0.25], requires_grad=True)
        lib.nn.functional.kl_div(input, target, reduction="sum").backward()
        grads.append((input.grad.numpy(), target.grad.numpy()))
    (ours_input, ours_target), (theirs_input, theirs_target) = grads
    assert np.isnan(ours_target[0]) and np.isfinite(ours_target[1:]).all()
    np.testing.assert_allclose(ours_target, theirs_target, rtol=1e-6, equal_nan=True)
    np.testing.assert_allclose(ours_input, theirs_input, rtol=1e-6)


def test_bce_target_gradient_is_infinite_where_the_input_is_0_or_1(torch):
    grads = []
    for lib in (leafgrad, torch):
        probs = lib.tensor([0.0, 1.0, 0.5, 1e-30], requires_grad=True)
        target = lib.tensor([0.3, 0.3, 0.3, 0.3], requires_grad=True)
        lib.nn.functional.binary_cross_entropy(probs, target, reduction="sum").backward()
        grads.append((probs.grad.numpy(), target.grad.numpy()))
    (ours_probs, ours_target), (theirs_probs, theirs_target) = grads
    assert ours_target[0] == np.inf and ours_target[1] == -np.inf  # -logit(p), not clamped
    np.testing.assert_allclose(ours_target, theirs_target, rtol=1e-6)
    np.testing.assert_allclose(ours_probs, theirs_probs, rtol=1e-6)


@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
@pytest.mark.parametrize("target_dtype", ["int64", "bool", "float64"])
def test_regression_losses_promote_the_target_as_torch(torch, reduction, name, target_dtype):
    """An integer target is promoted to the input's float dtype; float dtypes promote (huber
    keeps the input's); torch's errors where it refuses (bool in l1_loss's subtraction).
    torch's huber_loss backward refuses a target of another dtype ("Found dtype Long but
    expected Float"): leafgrad gives the input's gradient there, compared with torch's for the
    target cast to the input's dtype."""
    input = rng(0).standard_normal((4, 3)).astype(np.float32)
    target = (rng(1).random((4, 3)) * 3).astype(target_dtype)
    outcomes = []
    for lib in (leafgrad, torch):
        x = lib.tensor(input, requires_grad=True)
        try:
            out = getattr(lib.nn.functional, name)(x, lib.tensor(target), reduction=reduction)
        except Exception as error:  # noqa: BLE001 - compared with torch's below
            outcomes.append((type(error), str(error).split(":")[0]))
            continue
        if lib is torch and name == "huber_loss":
            x.grad = torch.func.grad(lambda v: torch.nn.functional.huber_loss(
                v, torch.tensor(target, dtype=v.dtype), reduction=reduction).sum())(x.detach())
        else:
            out.sum().backward()
        outcomes.append((str(out.dtype).split(".")[-1], out.detach().numpy(), x.grad.numpy()))
    ours, theirs = outcomes
    assert ours[0] == theirs[0]
    if isinstance(theirs[0], type):
        assert theirs[1] in ours[1]
        return
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name, kernel", [("mse_loss", "mse_cpu"),
                                          ("smooth_l1_loss", "smooth_l1_cpu"),
                                          ("huber_loss", "huber_cpu")])
def test_regression_losses_refuse_integer_operands_as_torch(torch, name, kernel):
    for lib in (leafgrad, torch):
        with pytest.raises(NotImplementedError, match=f'"{kernel}" not implemented for '
                                                      f"'Long'"):
            getattr(lib.nn.functional, name)(lib.tensor([1, 2]), lib.tensor([0, 2]))
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                                           "output type Long"):
        leafgrad.nn.functional.huber_loss(leafgrad.tensor([1, 2]), leafgrad.tensor([0.5, 2.0]))


@pytest.mark.parametrize("input_dtype, target_dtype", [("float32", "float64"),
                                                       ("float64", "float32")])
def test_bce_with_logits_loss_has_the_targets_dtype(torch, input_dtype, target_dtype):
    results = []
    for lib in (leafgrad, torch):
        x = lib.tensor(np.array([0.2, -1.5], input_dtype), requires_grad=True)
        target = lib.tensor(np.array([0.0, 1.0], target_dtype), requires_grad=True)
        out = lib.nn.functional.binary_cross_entropy_with_logits(
            x, target, pos_weight=lib.tensor([2.0, 3.0]))
        out.backward()
        results.append([str(t.dtype).split(".")[-1] for t in (out, x.grad, target.grad)] +
                       [out.item()])
    assert results[0][:3] == results[1][:3] == [target_dtype, input_dtype, target_dtype]
    assert results[0][3] == pytest.approx(results[1][3], rel=1e-6)
