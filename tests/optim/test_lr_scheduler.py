"""leafgrad.optim.lr_scheduler: learning-rate (and momentum) sequences against torch's, state_dict
round trips, step-order warnings and errors."""
from __future__ import annotations

import warnings

import pytest

import leafgrad
import leafgrad.optim
from leafgrad.optim import lr_scheduler


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def make_optimizer(lib, name="SGD", groups=2, **kwargs):
    """An optimizer over one or two groups of one parameter each (lr 0.1 and 0.02)."""
    params = [{"params": [lib.zeros(2, requires_grad=True)], "lr": 0.1},
              {"params": [lib.zeros(2, requires_grad=True)], "lr": 0.02}][:groups]
    kwargs.setdefault("lr", 0.1)
    if name == "SGD":
        kwargs.setdefault("momentum", 0.9)
    return getattr(lib.optim, name)(params, **kwargs)


def lr_sequence(lib, build, steps, name="SGD", groups=2, metrics=None, keys=("lr",)):
    """[(group values for ``keys``) per step]: ``build(lib, optimizer)`` makes the scheduler; each
    step is optimizer.step() then scheduler.step() (with a metric for ReduceLROnPlateau)."""
    opt = make_optimizer(lib, name, groups)
    scheduler = build(lib, opt)
    values = [[tuple(g[k] for k in keys) for g in opt.param_groups]]
    last = [scheduler.get_last_lr()]
    for step in range(steps):
        opt.step()
        if metrics is None:
            scheduler.step()
        else:
            scheduler.step(metrics[step])
        values.append([tuple(g[k] for k in keys) for g in opt.param_groups])
        last.append(scheduler.get_last_lr())
    return values, last


def flatten(value) -> list[float]:
    if isinstance(value, (list, tuple)):
        return [x for item in value for x in flatten(item)]
    return [value]


def assert_same_sequence(ours, theirs):
    assert len(ours[0]) == len(theirs[0])
    for step, (a, b) in enumerate(zip(ours[0], theirs[0])):
        assert flatten(a) == pytest.approx(flatten(b), rel=1e-12, abs=1e-15), f"step {step}"
    for step, (a, b) in enumerate(zip(ours[1], theirs[1])):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-15), f"get_last_lr at step {step}"


SCHEDULERS = {
    "StepLR": (lambda lib, o: lib.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5), 20),
    "MultiStepLR": (lambda lib, o: lib.optim.lr_scheduler.MultiStepLR(
        o, milestones=[2, 5, 5, 11], gamma=0.3), 15),
    "ExponentialLR": (lambda lib, o: lib.optim.lr_scheduler.ExponentialLR(o, gamma=0.9), 20),
    "CosineAnnealingLR": (lambda lib, o: lib.optim.lr_scheduler.CosineAnnealingLR(
        o, T_max=7, eta_min=0.001), 40),  # past 2 * T_max: the periodic branch
    "CosineAnnealingLR-no-eta": (lambda lib, o: lib.optim.lr_scheduler.CosineAnnealingLR(
        o, T_max=10), 25),
    "LinearLR": (lambda lib, o: lib.optim.lr_scheduler.LinearLR(
        o, start_factor=0.25, end_factor=0.9, total_iters=6), 12),
    "LinearLR-default": (lambda lib, o: lib.optim.lr_scheduler.LinearLR(o), 10),
    "ConstantLR": (lambda lib, o: lib.optim.lr_scheduler.ConstantLR(
        o, factor=0.5, total_iters=4), 8),
    "LambdaLR": (lambda lib, o: lib.optim.lr_scheduler.LambdaLR(
        o, lr_lambda=lambda epoch: 0.95 ** epoch + 0.01 * epoch), 15),
    "LambdaLR-per-group": (lambda lib, o: lib.optim.lr_scheduler.LambdaLR(
        o, lr_lambda=[lambda e: 1.0 / (1 + e), lambda e: 0.5 ** (e // 2)]), 12),
    "SequentialLR": (lambda lib, o: lib.optim.lr_scheduler.SequentialLR(
        o, [lib.optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=4),
            lib.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.001)],
        milestones=[4]), 20),
    "SequentialLR-three": (lambda lib, o: lib.optim.lr_scheduler.SequentialLR(
        o, [lib.optim.lr_scheduler.ConstantLR(o, factor=0.3, total_iters=2),
            lib.optim.lr_scheduler.ExponentialLR(o, gamma=0.8),
            lib.optim.lr_scheduler.StepLR(o, step_size=2, gamma=0.5)],
        milestones=[3, 8]), 16),
}


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_lr_sequence_matches_torch(name, torch):
    build, steps = SCHEDULERS[name]
    ours = lr_sequence(leafgrad, build, steps)
    theirs = lr_sequence(torch, build, steps)
    assert_same_sequence(ours, theirs)
    assert len({v[0] for v in ours[0]}) > 1  # the rate did change


ONE_CYCLE = [dict(max_lr=1.0, total_steps=20),
             dict(max_lr=[1.0, 0.5], total_steps=25, anneal_strategy="linear"),
             dict(max_lr=0.8, epochs=3, steps_per_epoch=7, three_phase=True),
             dict(max_lr=0.8, total_steps=30, pct_start=0.25, div_factor=10.0,
                  final_div_factor=100.0, base_momentum=0.8, max_momentum=0.9),
             dict(max_lr=0.5, total_steps=15, cycle_momentum=False)]


@pytest.mark.parametrize("kwargs", ONE_CYCLE, ids=[str(k) for k in ONE_CYCLE])
@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_one_cycle_lr_and_momentum_match_torch(kwargs, optimizer, torch):
    steps = kwargs.get("total_steps") or kwargs["epochs"] * kwargs["steps_per_epoch"]
    keys = ("lr", "momentum") if optimizer == "SGD" else ("lr", "betas")

    def build(lib, o):
        return lib.optim.lr_scheduler.OneCycleLR(o, **kwargs)

    ours = lr_sequence(leafgrad, build, steps - 1, name=optimizer, keys=keys)
    theirs = lr_sequence(torch, build, steps - 1, name=optimizer, keys=keys)
    assert_same_sequence(ours, theirs)
    if kwargs.get("cycle_momentum", True):
        momenta = [v[0][1] if optimizer == "SGD" else v[0][1][0] for v in ours[0]]
        assert max(momenta) > min(momenta)  # the momentum (beta1) cycles


def test_one_cycle_errors():
    opt = make_optimizer(leafgrad)
    scheduler = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    for _ in range(3):
        opt.step()
        scheduler.step()
    opt.step()
    with pytest.raises(ValueError, match="Tried to step 4 times. The specified number of total "
                                         "steps is 3"):
        scheduler.step()
    with pytest.raises(ValueError, match="You must define either total_steps OR"):
        lr_scheduler.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(ValueError, match="Expected positive integer total_steps, but got 0"):
        lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=0)
    with pytest.raises(ValueError, match="max_lr must have the same length"):
        lr_scheduler.OneCycleLR(opt, max_lr=[1.0], total_steps=5)
    with pytest.raises(ValueError, match="anneal_strategy must be one of 'cos' or 'linear'"):
        lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=5, anneal_strategy="exp")
    no_momentum = leafgrad.optim.Adagrad([leafgrad.zeros(1, requires_grad=True)])
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        lr_scheduler.OneCycleLR(no_momentum, max_lr=1.0, total_steps=5)


PLATEAU = [
    (dict(), [1.0] * 30),
    (dict(mode="min", factor=0.5, patience=2), [5, 4, 4, 4, 4, 3, 3.5, 3.2, 3.1, 3.0, 3.0, 3.0,
                                                 2.9, 2.9, 2.9, 2.9, 1.0, 1.0, 1.0, 1.0]),
    (dict(mode="max", factor=0.2, patience=1, threshold=0.1, threshold_mode="abs",
          cooldown=2), [0.1, 0.15, 0.3, 0.35, 0.36, 0.37, 0.5, 0.55, 0.58, 0.6, 0.61, 0.62]),
    (dict(mode="max", patience=0, threshold=0.01, min_lr=[0.05, 0.001]),
     [1, 1, 1, 1.005, 1.02, 1, 1, 1, 1, 1]),
    (dict(factor=0.5, patience=0, min_lr=0.01, eps=0.004, cooldown=1),
     [3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3]),
]


@pytest.mark.parametrize("kwargs,metrics", PLATEAU, ids=[str(k) for k, _ in PLATEAU])
def test_reduce_lr_on_plateau_matches_torch(kwargs, metrics, torch):
    def build(lib, o):
        return lib.optim.lr_scheduler.ReduceLROnPlateau(o, **kwargs)

    ours = lr_sequence(leafgrad, build, len(metrics), metrics=metrics)
    theirs = lr_sequence(torch, build, len(metrics), metrics=metrics)
    assert_same_sequence(ours, theirs)
    assert ours[0][-1][0][0] < ours[0][0][0][0]  # the rate was reduced


def test_reduce_lr_on_plateau_errors():
    opt = make_optimizer(leafgrad)
    with pytest.raises(ValueError, match="Factor should be < 1.0."):
        lr_scheduler.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode top is unknown!"):
        lr_scheduler.ReduceLROnPlateau(opt, mode="top")
    with pytest.raises(ValueError, match="threshold mode ratio is unknown!"):
        lr_scheduler.ReduceLROnPlateau(opt, threshold_mode="ratio")
    with pytest.raises(ValueError, match="expected 2 min_lrs, got 1"):
        lr_scheduler.ReduceLROnPlateau(opt, min_lr=[0.1])
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        lr_scheduler.ReduceLROnPlateau([])


def test_deprecated_epoch_argument_uses_closed_form(torch):
    def run(lib):
        opt = make_optimizer(lib)
        scheduler = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
        opt.step()
        with pytest.warns(UserWarning, match="The epoch parameter in `scheduler.step\\(\\)`"):
            scheduler.step(6)
        return scheduler.get_last_lr(), scheduler.last_epoch

    ours, theirs = run(leafgrad), run(torch)
    assert ours[1] == theirs[1] == 6
    assert ours[0] == pytest.approx(theirs[0], rel=1e-12)


def test_resume_with_last_epoch_matches_torch(torch):
    def run(lib):
        opt = make_optimizer(lib)
        for group in opt.param_groups:
            group["initial_lr"] = group["lr"]
        scheduler = lib.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5, last_epoch=4)
        lrs = [scheduler.get_last_lr()]
        for _ in range(5):
            opt.step()
            scheduler.step()
            lrs.append(scheduler.get_last_lr())
        return lrs

    assert flatten(run(leafgrad)) == pytest.approx(flatten(run(torch)), rel=1e-12)
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(make_optimizer(leafgrad), step_size=2, last_epoch=3)


def test_state_dict_keys_match_torch(torch):
    for name in ["StepLR", "CosineAnnealingLR", "LambdaLR", "SequentialLR"]:
        build, _ = SCHEDULERS[name]
        ours = build(leafgrad, make_optimizer(leafgrad)).state_dict()
        theirs = build(torch, make_optimizer(torch)).state_dict()
        assert set(ours) == set(theirs), name
        assert ours["last_epoch"] == theirs["last_epoch"]
        assert ours["_last_lr"] == pytest.approx(theirs["_last_lr"])


class Warmup:
    """A callable lr_lambda object: its attributes are saved in the state_dict."""

    def __init__(self, length: int) -> None:
        self.length = length

    def __call__(self, epoch: int) -> float:
        return min(1.0, (epoch + 1) / self.length)


ROUND_TRIPS = {
    "StepLR": lambda o: lr_scheduler.StepLR(o, step_size=3, gamma=0.5),
    "MultiStepLR": lambda o: lr_scheduler.MultiStepLR(o, milestones=[4, 9], gamma=0.5),
    "CosineAnnealingLR": lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=6, eta_min=0.01),
    "LinearLR": lambda o: lr_scheduler.LinearLR(o, start_factor=0.2, total_iters=10),
    "LambdaLR": lambda o: lr_scheduler.LambdaLR(o, Warmup(12)),
    "OneCycleLR": lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=20),
    "SequentialLR": lambda o: lr_scheduler.SequentialLR(
        o, [lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=3),
            lr_scheduler.ExponentialLR(o, gamma=0.9)], milestones=[3]),
    "ReduceLROnPlateau": lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=0.5, patience=1),
}


@pytest.mark.parametrize("name", list(ROUND_TRIPS))
def test_scheduler_state_dict_round_trip(name):
    """Save after k steps, load into a fresh optimizer and scheduler: the rates (and momenta)
    continue exactly as without the interruption."""
    build = ROUND_TRIPS[name]
    metrics = [1.0, 0.9, 0.95, 0.97, 0.99, 0.8, 0.85, 0.9, 0.95, 0.96, 0.97, 0.98, 0.99, 1.0,
               1.0, 1.0, 1.0, 1.0, 1.0]
    plateau = name == "ReduceLROnPlateau"

    def advance(opt, scheduler, first, last):
        values = []
        for step in range(first, last):
            opt.step()
            scheduler.step(metrics[step]) if plateau else scheduler.step()
            values.append([(g["lr"], g["momentum"]) for g in opt.param_groups])
        return values

    opt = make_optimizer(leafgrad)
    scheduler = build(opt)
    advance(opt, scheduler, 0, 6)
    saved_scheduler, saved_optimizer = scheduler.state_dict(), opt.state_dict()
    uninterrupted = advance(opt, scheduler, 6, 19)

    fresh_opt = make_optimizer(leafgrad)
    fresh = build(fresh_opt)
    fresh.load_state_dict(saved_scheduler)
    fresh_opt.load_state_dict(saved_optimizer)
    assert advance(fresh_opt, fresh, 6, 19) == uninterrupted
    assert len({v[0] for v in uninterrupted}) > 1


def test_lambda_lr_state_dict_keeps_callable_attributes():
    opt = make_optimizer(leafgrad, groups=1)
    scheduler = lr_scheduler.LambdaLR(opt, Warmup(8))
    saved = scheduler.state_dict()
    assert saved["lr_lambdas"] == [{"length": 8}]
    other = lr_scheduler.LambdaLR(make_optimizer(leafgrad, groups=1), Warmup(3))
    other.load_state_dict(saved)
    assert other.lr_lambdas[0].length == 8
    assert "lr_lambdas" in saved  # loading leaves the given dict as it was
    plain = lr_scheduler.LambdaLR(make_optimizer(leafgrad, groups=1), lambda e: 1.0)
    assert plain.state_dict()["lr_lambdas"] == [None]


def test_multistep_milestones_survive_plain_dict_round_trip():
    opt = make_optimizer(leafgrad, groups=1)
    scheduler = lr_scheduler.MultiStepLR(opt, milestones=[2, 2, 4], gamma=0.5)
    saved = scheduler.state_dict()
    saved["milestones"] = {str(k): v for k, v in saved["milestones"].items()}  # as from JSON
    fresh_opt = make_optimizer(leafgrad, groups=1)
    fresh = lr_scheduler.MultiStepLR(fresh_opt, milestones=[9])
    fresh.load_state_dict(saved)
    fresh_opt.load_state_dict(opt.state_dict())
    for _ in range(5):
        fresh_opt.step()
        fresh.step()
    assert fresh.get_last_lr() == pytest.approx([0.1 * 0.5 ** 3])


def test_step_order_warning():
    opt = make_optimizer(leafgrad)
    scheduler = lr_scheduler.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match="Detected call of `lr_scheduler.step\\(\\)` before "
                                         "`optimizer.step\\(\\)`"):
        scheduler.step()

    opt = make_optimizer(leafgrad)
    scheduler = lr_scheduler.StepLR(opt, step_size=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            opt.step()
            scheduler.step()


def test_get_lr_outside_step_warns():
    scheduler = lr_scheduler.ExponentialLR(make_optimizer(leafgrad), gamma=0.5)
    with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
        scheduler.get_lr()


def test_scheduler_errors():
    opt = make_optimizer(leafgrad)
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        lr_scheduler.StepLR([], step_size=1)
    with pytest.raises(ValueError, match="Starting multiplicative factor expected to be "
                                         "greater than 0"):
        lr_scheduler.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="Ending multiplicative factor expected to be between 0 "
                                         "and 1"):
        lr_scheduler.LinearLR(opt, end_factor=2)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        lr_scheduler.LambdaLR(opt, [lambda e: 1.0])
    step = lr_scheduler.StepLR(opt, step_size=2)
    with pytest.raises(ValueError, match="expects number of schedulers provided to be one more "
                                         "than the number of milestone points"):
        lr_scheduler.SequentialLR(opt, [step], milestones=[2])
    with pytest.raises(ValueError, match="does not support `ReduceLROnPlateau`"):
        lr_scheduler.SequentialLR(opt, [step, lr_scheduler.ReduceLROnPlateau(opt)],
                                  milestones=[2])
    other = lr_scheduler.StepLR(make_optimizer(leafgrad), step_size=2)
    with pytest.raises(ValueError, match="expects all schedulers to belong to the same "
                                         "optimizer"):
        lr_scheduler.SequentialLR(opt, [step, other], milestones=[2])
    with pytest.raises(ValueError, match="expects at least one scheduler"):
        lr_scheduler.SequentialLR(opt, [], milestones=[])
