"""leafgrad.optim: trajectories against torch's optimizers from the same start on the same
gradients, the Optimizer base (groups, state, state_dict, hooks, zero_grad) and its errors."""
from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import leafgrad
import leafgrad.optim
from leafgrad.optim.optimizer import Optimizer, required

SHAPES = [(3, 4), (4,), (2,)]
STEPS = 25


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def start_values(dtype=np.float64, seed=0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(dtype) for shape in SHAPES]


def gradients(values: list[np.ndarray], step: int) -> list[np.ndarray | None]:
    """A nonlinear gradient field of the current values; the last parameter gets no gradient
    every third step, so that optimizers must skip it then."""
    grads = []
    for index, value in enumerate(values):
        if index == len(values) - 1 and step % 3 == 1:
            grads.append(None)
            continue
        v = value.astype(np.float64)
        grad = (v - 0.5) * (1.0 + index) + 0.3 * np.sin(3.0 * v) + 0.1 * np.cos(step)
        grads.append(grad.astype(value.dtype))
    return grads


def trajectory(lib, name: str, kwargs: dict, dtype=np.float64, steps: int = STEPS,
               groups: list[dict] | None = None) -> list[list[np.ndarray]]:
    """Run ``steps`` updates of ``lib.optim.<name>`` (lib is leafgrad or torch) and return the
    parameter values after each; ``groups`` splits the parameters into per-group options."""
    params = [lib.tensor(value, requires_grad=True) for value in start_values(dtype)]
    if groups is None:
        opt = getattr(lib.optim, name)(params, **kwargs)
    else:
        split = [{"params": params[:2], **groups[0]}, {"params": params[2:], **groups[1]}]
        opt = getattr(lib.optim, name)(split, **kwargs)
    result = []
    for step in range(steps):
        values = [p.detach().numpy() for p in params]
        for p, grad in zip(params, gradients(values, step)):
            p.grad = None if grad is None else lib.tensor(grad)
        opt.step()
        result.append([p.detach().numpy().copy() for p in params])
    return result


def assert_trajectories_equal(ours, theirs, rtol, atol):
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for index, (x, y) in enumerate(zip(a, b)):
            assert x.dtype == y.dtype
            np.testing.assert_allclose(x, y, rtol=rtol, atol=atol,
                                       err_msg=f"step {step}, parameter {index}")


GRID = {
    "SGD": [dict(lr=0.1), dict(lr=0.05, momentum=0.9), dict(lr=0.05, momentum=0.9,
                                                            dampening=0.3),
            dict(lr=0.05, momentum=0.8, nesterov=True), dict(lr=0.1, weight_decay=0.05),
            dict(lr=0.05, momentum=0.9, weight_decay=0.01, maximize=True),
            dict(lr=0.05, momentum=0.5, nesterov=True, weight_decay=0.1),
            # torch's implementation switches: the same numbers
            dict(lr=0.05, momentum=0.9, foreach=True), dict(lr=0.05, momentum=0.9, fused=True)],
    "Adam": [dict(lr=0.05), dict(lr=0.05, amsgrad=True), dict(lr=0.05, weight_decay=0.1),
             dict(lr=0.02, betas=(0.3, 0.8), eps=1e-3),  # beta1 < 0.5: lerp's other form
             dict(lr=0.05, maximize=True, amsgrad=True, weight_decay=0.01),
             dict(lr=0.05, decoupled_weight_decay=True, weight_decay=0.1),
             dict(lr=0.05, amsgrad=True, foreach=True), dict(lr=0.05, fused=True),
             dict(lr=0.05, foreach=False, fused=False, capturable=False, differentiable=False)],
    "AdamW": [dict(lr=0.05), dict(lr=0.05, weight_decay=0.2, amsgrad=True),
              dict(lr=0.05, betas=(0.5, 0.9), maximize=True),
              dict(lr=0.05, weight_decay=0.2, fused=True)],
    "RMSprop": [dict(lr=0.01), dict(lr=0.01, centered=True), dict(lr=0.01, momentum=0.9),
                dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1, alpha=0.9),
                dict(lr=0.01, alpha=0.3, eps=1e-4, maximize=True),
                dict(lr=0.01, centered=True, momentum=0.5, foreach=True)],
    "Adagrad": [dict(lr=0.1), dict(lr=0.1, lr_decay=0.05),
                dict(lr=0.1, initial_accumulator_value=0.5, weight_decay=0.1),
                dict(lr=0.1, eps=1e-3, maximize=True), dict(lr=0.1, foreach=True),
                dict(lr=0.1, lr_decay=0.05, fused=True)],
    "Adadelta": [dict(), dict(lr=0.5, rho=0.5), dict(lr=2.0, eps=1e-4, weight_decay=0.1),
                 dict(rho=0.95, maximize=True), dict(rho=0.5, weight_decay=0.1, foreach=True)],
}
CASES = [(name, kwargs) for name, grid in GRID.items() for kwargs in grid]


def case_id(case) -> str:
    name, kwargs = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in kwargs.items())


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_trajectory_matches_torch_float64(case, torch):
    name, kwargs = case
    ours = trajectory(leafgrad, name, kwargs)
    theirs = trajectory(torch, name, kwargs)
    assert not np.allclose(ours[-1][0], start_values()[0])  # the parameters did move
    assert_trajectories_equal(ours, theirs, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("name", list(GRID))
def test_trajectory_matches_torch_float32(name, torch):
    kwargs = GRID[name][1]
    ours = trajectory(leafgrad, name, kwargs, dtype=np.float32)
    theirs = trajectory(torch, name, kwargs, dtype=np.float32)
    assert_trajectories_equal(ours, theirs, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", list(GRID))
def test_parameter_groups_match_torch(name, torch):
    kwargs = GRID[name][1]
    groups = [{"lr": 0.02}, {"weight_decay": 0.1, "maximize": True}]
    ours = trajectory(leafgrad, name, kwargs, groups=groups)
    theirs = trajectory(torch, name, kwargs, groups=groups)
    assert_trajectories_equal(ours, theirs, rtol=1e-6, atol=1e-12)


def test_gradients_from_backward_match_torch(torch):
    """A tiny MLP trained with each library's own autograd: same losses, same weights."""
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((8, 3)), rng.standard_normal((8, 2))
    start = [rng.standard_normal((3, 5)) * 0.5, np.zeros(5), rng.standard_normal((5, 2)) * 0.5]

    def train(lib, make_optimizer):
        params = [lib.tensor(a, requires_grad=True) for a in start]
        inputs, targets = lib.tensor(x), lib.tensor(y)
        opt = make_optimizer(lib, params)
        losses = []
        for _ in range(10):
            opt.zero_grad()
            hidden = (inputs @ params[0] + params[1]).tanh()
            loss = ((hidden @ params[2] - targets) ** 2).mean()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses, [p.detach().numpy() for p in params]

    for make in (lambda lib, ps: lib.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
                 lambda lib, ps: lib.optim.Adam(ps, lr=0.05, amsgrad=True)):
        ours, theirs = train(leafgrad, make), train(torch, make)
        np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6)
        assert ours[0][-1] < ours[0][0]
        for a, b in zip(ours[1], theirs[1]):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("kwargs", [dict(lr=0.1), dict(lr=0.1, momentum=0.9),
                                    dict(lr=0.1, momentum=0.9, dampening=0.2, weight_decay=0.01),
                                    dict(lr=0.1, momentum=0.9, nesterov=True, maximize=True)])
def test_sgd_on_large_and_transposed_gradients_matches_torch(torch, kwargs):
    """SGD updates big parameters slice by slice (for the cache) and others whole (a transposed
    gradient): both follow torch's trajectory."""
    generator = np.random.default_rng(0)
    start = [generator.standard_normal(shape) for shape in ((300, 700), (40, 30))]
    grads = [[generator.standard_normal(a.shape) for a in start] for _ in range(3)]
    results = []
    for lib in (leafgrad, torch):
        params = [lib.tensor(a, requires_grad=True) for a in start]
        opt = lib.optim.SGD(params, **kwargs)
        for step in grads:
            params[0].grad = lib.tensor(step[0])
            params[1].grad = lib.tensor(step[1].T.copy()).t()  # column-major
            opt.step()
        results.append([p.detach().numpy() for p in params])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


# -- LBFGS ------------------------------------------------------------------------------------
def rosenbrock(x):
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def lbfgs_run(lib, kwargs, start, steps):
    x = lib.tensor(start, requires_grad=True)
    opt = lib.optim.LBFGS([x], **kwargs)

    def closure():
        opt.zero_grad()
        loss = rosenbrock(x)
        loss.backward()
        return loss

    losses, points = [], []
    for _ in range(steps):
        losses.append(opt.step(closure).item())
        points.append(x.detach().numpy().copy())
    state = opt.state[x]
    return losses, points, (state["func_evals"], state["n_iter"])


LBFGS_CASES = [dict(lr=0.5, max_iter=10), dict(line_search_fn="strong_wolfe"),
               dict(line_search_fn="strong_wolfe", history_size=3, max_iter=7),
               dict(lr=1.0, max_iter=5, history_size=2, line_search_fn="strong_wolfe"),
               # a short first trial step: the line search must extrapolate
               dict(lr=0.05, max_iter=6, line_search_fn="strong_wolfe")]


@pytest.mark.parametrize("kwargs", LBFGS_CASES, ids=[str(k) for k in LBFGS_CASES])
def test_lbfgs_rosenbrock_matches_torch(kwargs, torch):
    start = np.array([-1.5, 2.0, -0.5, 1.2, 0.3])
    ours = lbfgs_run(leafgrad, kwargs, start, steps=4)
    theirs = lbfgs_run(torch, kwargs, start, steps=4)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6)
    for a, b in zip(ours[1], theirs[1]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
    assert ours[2] == theirs[2]  # the same number of evaluations and iterations
    assert ours[0][-1] < ours[0][0]


def test_lbfgs_strong_wolfe_converges_float32(torch):
    start = np.array([-1.2, 1.0], dtype=np.float32)
    kwargs = dict(line_search_fn="strong_wolfe", max_iter=50)
    ours = lbfgs_run(leafgrad, kwargs, start, steps=3)
    theirs = lbfgs_run(torch, kwargs, start, steps=3)
    assert ours[1][-1].dtype == np.float32
    np.testing.assert_allclose(ours[1][-1], [1.0, 1.0], atol=1e-3)
    np.testing.assert_allclose(ours[1][-1], theirs[1][-1], atol=1e-3)


def test_lbfgs_closure_and_groups_required():
    x = leafgrad.zeros(2, requires_grad=True)
    with pytest.raises(TypeError):
        leafgrad.optim.LBFGS([x]).step()
    y = leafgrad.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        leafgrad.optim.LBFGS([{"params": [x]}, {"params": [y]}])
    opt = leafgrad.optim.LBFGS([x], line_search_fn="backtracking")

    def closure():
        opt.zero_grad()
        loss = ((x - 1) ** 2).sum()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt.step(closure)


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_state_dict_round_trip(line_search_fn):
    kwargs = dict(lr=0.5, max_iter=4, history_size=3, line_search_fn=line_search_fn)
    start = np.array([-1.5, 2.0, -0.5, 1.2])

    def make(values):
        x = leafgrad.tensor(values, requires_grad=True)
        opt = leafgrad.optim.LBFGS([x], **kwargs)

        def closure():
            opt.zero_grad()
            loss = rosenbrock(x)
            loss.backward()
            return loss

        return x, opt, closure

    x, opt, closure = make(start)
    for _ in range(3):
        opt.step(closure)
    saved, saved_x = opt.state_dict(), x.detach().numpy().copy()
    assert set(saved["state"][0]) >= {"d", "t", "old_dirs", "old_stps", "ro", "H_diag",
                                      "prev_flat_grad", "prev_loss", "func_evals", "n_iter"}
    assert all(isinstance(v, leafgrad.Tensor) for v in saved["state"][0]["old_dirs"])
    for _ in range(3):
        opt.step(closure)

    y, fresh, fresh_closure = make(saved_x)
    fresh.load_state_dict(saved)
    for _ in range(3):
        fresh.step(fresh_closure)
    np.testing.assert_array_equal(x.detach().numpy(), y.detach().numpy())
    assert fresh.state[y]["func_evals"] == opt.state[x]["func_evals"]


def test_lbfgs_stops_at_optimum():
    x = leafgrad.ones(2, dtype=leafgrad.float64, requires_grad=True)
    opt = leafgrad.optim.LBFGS([x])
    calls = []

    def closure():
        calls.append(1)
        opt.zero_grad()
        loss = rosenbrock(x)
        loss.backward()
        return loss

    assert float(opt.step(closure)) == 0.0
    assert len(calls) == 1 and np.array_equal(x.detach().numpy(), [1.0, 1.0])


# -- state_dict ---------------------------------------------------------------------------------
def run_steps(opt, params, first: int, last: int) -> None:
    for step in range(first, last):
        values = [p.detach().numpy() for p in params]
        for p, grad in zip(params, gradients(values, step)):
            p.grad = None if grad is None else leafgrad.tensor(grad)
        opt.step()


ROUND_TRIP = [(name, GRID[name][-1]) for name in GRID] + [("SGD", GRID["SGD"][1])]


@pytest.mark.parametrize("case", ROUND_TRIP, ids=[case_id(c) for c in ROUND_TRIP])
def test_state_dict_round_trip_continues_identically(case):
    name, kwargs = case
    cls = getattr(leafgrad.optim, name)
    params = [leafgrad.tensor(v, requires_grad=True) for v in start_values()]
    opt = cls(params, **kwargs)
    run_steps(opt, params, 0, 7)
    saved = opt.state_dict()
    saved_values = [p.detach().numpy().copy() for p in params]
    run_steps(opt, params, 7, 15)  # uninterrupted

    resumed = [leafgrad.tensor(v, requires_grad=True) for v in saved_values]
    fresh = cls(resumed, **kwargs)
    fresh.load_state_dict(saved)
    run_steps(fresh, resumed, 7, 15)
    for a, b in zip(params, resumed):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_state_dict_is_a_snapshot_in_torch_format(torch):
    params = [leafgrad.tensor(v, requires_grad=True) for v in start_values()]
    opt = leafgrad.optim.Adam([{"params": params[:2]}, {"params": params[2:], "lr": 0.1}],
                              amsgrad=True)
    run_steps(opt, params, 0, 3)
    saved = opt.state_dict()
    assert [g["params"] for g in saved["param_groups"]] == [[0, 1], [2]]
    assert sorted(saved["state"]) == [0, 1, 2]
    assert set(saved["state"][0]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert saved["state"][0]["step"].dtype == leafgrad.float32
    assert saved["state"][0]["step"].item() == 3.0
    assert saved["state"][2]["step"].item() == 2.0  # the third parameter skipped one step
    assert saved["param_groups"][1]["lr"] == 0.1
    before = saved["state"][0]["exp_avg"].numpy().copy()
    run_steps(opt, params, 3, 5)
    np.testing.assert_array_equal(saved["state"][0]["exp_avg"].numpy(), before)

    tparams = [torch.tensor(v, requires_grad=True) for v in start_values()]
    topt = torch.optim.Adam([{"params": tparams[:2]}, {"params": tparams[2:], "lr": 0.1}],
                            amsgrad=True)
    for step in range(3):
        values = [p.detach().numpy() for p in tparams]
        for p, grad in zip(tparams, gradients(values, step)):
            p.grad = None if grad is None else torch.tensor(grad)
        topt.step()
    theirs = topt.state_dict()
    assert set(saved["state"][0]) == set(theirs["state"][0])
    assert set(saved["param_groups"][0]) <= set(theirs["param_groups"][0])
    for key, value in theirs["state"][0].items():
        np.testing.assert_allclose(saved["state"][0][key].numpy(), value.numpy(), rtol=1e-6)


def test_load_torch_state_dict_continues_like_torch(torch):
    """A state_dict written by torch (tensors converted) resumes the same trajectory."""
    kwargs = dict(lr=0.05, momentum=0.9, nesterov=True)
    tparams = [torch.tensor(v, requires_grad=True) for v in start_values()]
    topt = torch.optim.SGD(tparams, **kwargs)
    for step in range(4):
        values = [p.detach().numpy() for p in tparams]
        for p, grad in zip(tparams, gradients(values, step)):
            p.grad = None if grad is None else torch.tensor(grad)
        topt.step()
    saved = topt.state_dict()
    converted = {"state": {k: {n: leafgrad.tensor(t.numpy()) for n, t in s.items()}
                           for k, s in saved["state"].items()},
                 "param_groups": saved["param_groups"]}
    params = [leafgrad.tensor(p.detach().numpy(), requires_grad=True) for p in tparams]
    opt = leafgrad.optim.SGD(params, **kwargs)
    opt.load_state_dict(converted)
    run_steps(opt, params, 4, 9)
    for step in range(4, 9):
        values = [p.detach().numpy() for p in tparams]
        for p, grad in zip(tparams, gradients(values, step)):
            p.grad = None if grad is None else torch.tensor(grad)
        topt.step()
    for a, b in zip(params, tparams):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6)


def test_load_state_dict_casts_state_to_parameter_dtype():
    params = [leafgrad.tensor(v, requires_grad=True) for v in start_values()]
    opt = leafgrad.optim.Adam(params)
    run_steps(opt, params, 0, 2)
    saved = opt.state_dict()
    single = [leafgrad.tensor(v, requires_grad=True) for v in start_values(np.float32)]
    fresh = leafgrad.optim.Adam(single)
    fresh.load_state_dict(saved)
    state = fresh.state[single[0]]
    assert state["exp_avg"].dtype == leafgrad.float32
    assert state["step"].dtype == leafgrad.float32 and state["step"].item() == 2.0
    saved["state"][0]["exp_avg"].numpy()[...] = 99.0  # the loaded state is a copy
    assert not np.any(state["exp_avg"].numpy() == 99.0)
    run_steps(fresh, single, 2, 4)
    assert all(p.dtype == leafgrad.float32 for p in single)
    assert fresh.state[single[0]]["exp_avg"].dtype == leafgrad.float32


def test_load_state_dict_validates_groups():
    a, b = leafgrad.zeros(2, requires_grad=True), leafgrad.zeros(3, requires_grad=True)
    saved = leafgrad.optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        leafgrad.optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(saved)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        leafgrad.optim.SGD([a], lr=0.1).load_state_dict(saved)


def test_load_state_dict_restores_hyper_parameters():
    a = leafgrad.zeros(2, requires_grad=True)
    saved = leafgrad.optim.SGD([a], lr=0.5, momentum=0.9).state_dict()
    del saved["param_groups"][0]["maximize"]  # as from an older version
    opt = leafgrad.optim.SGD([a], lr=0.1)
    opt.load_state_dict(saved)
    group = opt.param_groups[0]
    assert group["lr"] == 0.5 and group["momentum"] == 0.9 and group["maximize"] is False
    assert group["params"][0] is a


# -- the Optimizer base -------------------------------------------------------------------------
def test_chained_generator_of_parameters_is_consumed_once():
    """C17: one SGD-momentum optimizer over itertools.chain(net1.parameters(), ...)."""
    net1 = [leafgrad.ones(2, requires_grad=True), leafgrad.ones(3, requires_grad=True)]
    net2 = [leafgrad.ones(4, requires_grad=True)]
    opt = leafgrad.optim.SGD(itertools.chain(iter(net1), iter(net2)), lr=0.1, momentum=0.9)
    assert [len(g["params"]) for g in opt.param_groups] == [3]
    assert all(a is b for a, b in zip(opt.param_groups[0]["params"], net1 + net2))
    loss = sum((p * p).sum() for p in net1 + net2)
    loss.backward()
    opt.step()
    for p in net1 + net2:
        np.testing.assert_allclose(p.detach().numpy(), 0.8)


def test_parameters_without_grad_are_skipped():
    a, b = leafgrad.ones(2, requires_grad=True), leafgrad.ones(2, requires_grad=True)
    opt = leafgrad.optim.Adam([a, b], lr=0.1)
    (a * a).sum().backward()
    version = b._version
    opt.step()
    assert np.array_equal(b.detach().numpy(), [1.0, 1.0]) and b._version == version
    assert b not in opt.state and a in opt.state
    assert not np.array_equal(a.detach().numpy(), [1.0, 1.0])


def test_step_updates_in_place_and_keeps_dtype():
    p = leafgrad.ones(3, requires_grad=True)
    storage, version = p._data, p._version
    opt = leafgrad.optim.RMSprop([p], momentum=0.9, centered=True)
    for _ in range(3):
        opt.zero_grad()
        (p * p).sum().backward()
        opt.step()
    assert p._data is storage and p.dtype == leafgrad.float32
    assert p._version > version  # a graph that saved p before the step will refuse backward
    assert p.is_leaf and p.requires_grad and p.grad_fn is None
    assert all(v.dtype == leafgrad.float32 for k, v in opt.state[p].items() if k != "step")
    saved_for_backward = (p * p).sum()
    p.grad = leafgrad.ones(3)
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        saved_for_backward.backward()


def test_step_runs_under_no_grad_and_closure_with_grad():
    seen = {}

    class Recorder(Optimizer):
        def __init__(self, params):
            super().__init__(params, {"lr": 0.1})

        def step(self, closure=None):
            seen["step"] = leafgrad.is_grad_enabled()
            return self._evaluate(closure)

    p = leafgrad.ones(2, requires_grad=True)
    opt = Recorder([p])

    def closure():
        seen["closure"] = leafgrad.is_grad_enabled()
        return (p * 2).sum()

    loss = opt.step(closure)
    assert seen == {"step": False, "closure": True}
    assert loss.requires_grad and loss.item() == 4.0
    assert leafgrad.is_grad_enabled()
    with pytest.raises(NotImplementedError):
        Optimizer([p], {}).step()


def test_zero_grad():
    p = leafgrad.ones(2, requires_grad=True)
    opt = leafgrad.optim.SGD([p], lr=0.1)
    (p * 3).sum().backward()
    grad = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is grad and np.array_equal(grad.numpy(), [0.0, 0.0])
    opt.zero_grad()
    assert p.grad is None


def test_step_hooks():
    p = leafgrad.ones(2, requires_grad=True)
    opt = leafgrad.optim.SGD([p], lr=0.1)
    calls = []
    pre = opt.register_step_pre_hook(lambda o, args, kwargs: calls.append(("pre", o, args)))
    opt.register_step_post_hook(lambda o, args, kwargs: calls.append(("post", o, args)))
    opt.step()
    assert calls == [("pre", opt, (opt,)), ("post", opt, (opt,))]
    pre.remove()
    calls.clear()
    opt.step()
    assert [c[0] for c in calls] == ["post"]

    # a pre-hook may replace the arguments: here it supplies a closure
    opt.register_step_pre_hook(lambda o, args, kwargs: ((o,), {"closure": lambda: 7.0}))
    assert opt.step() == 7.0
    opt.register_step_pre_hook(lambda o, args, kwargs: "bad")
    with pytest.raises(RuntimeError, match="must return None or a tuple"):
        opt.step()


def test_step_hooks_run_once_when_subclass_calls_super():
    class Loud(leafgrad.optim.SGD):
        def step(self, closure=None):
            return super().step(closure)

    p = leafgrad.ones(2, requires_grad=True)
    opt = Loud([p], lr=0.1)
    calls = []
    opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: calls.append("post"))
    opt.step()
    assert calls == ["pre", "post"]


def test_add_param_group_and_defaults():
    a, b = leafgrad.zeros(2, requires_grad=True), leafgrad.zeros(2, requires_grad=True)
    opt = leafgrad.optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.01})
    group = opt.param_groups[1]
    assert len(group["params"]) == 1 and group["params"][0] is b
    assert group["lr"] == 0.01 and group["momentum"] == 0.9 and group["nesterov"] is False
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter "
                                         "group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(KeyError, match="params"):
        opt.add_param_group({"lr": 0.1})
    with pytest.raises(TypeError, match="param_group must be a dict"):
        opt.add_param_group([a])
    with pytest.raises(TypeError, match="ordered collections"):
        opt.add_param_group({"params": {leafgrad.zeros(1, requires_grad=True)}})


def test_required_hyper_parameter():
    class NeedsLr(Optimizer):
        def __init__(self, params, lr=required):
            super().__init__(params, {"lr": lr})

    p = leafgrad.zeros(1, requires_grad=True)
    with pytest.raises(ValueError, match="didn't specify a value of required optimization "
                                         "parameter lr"):
        NeedsLr([p])
    assert NeedsLr([{"params": [p], "lr": 0.3}]).param_groups[0]["lr"] == 0.3
    assert repr(required) == "<required parameter>"


def test_param_errors():
    p = leafgrad.zeros(2, requires_grad=True)
    with pytest.raises(TypeError, match="should be an iterable of Tensors or dicts, but got "
                                        "torch.FloatTensor"):
        leafgrad.optim.SGD(p)
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        leafgrad.optim.SGD([])
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        leafgrad.optim.SGD([p * 2])
    with pytest.raises(TypeError, match="can only optimize Tensors, but one of the params is "
                                        "int"):
        leafgrad.optim.SGD([p, 3])
    with pytest.warns(UserWarning, match="duplicate parameters"):
        leafgrad.optim.SGD([p, p])
    inner = p * 2
    inner.retain_grad()
    assert leafgrad.optim.SGD([inner]).param_groups[0]["params"][0] is inner


def test_named_parameters():
    a, b = leafgrad.zeros(2, requires_grad=True), leafgrad.zeros(3, requires_grad=True)
    opt = leafgrad.optim.SGD([("a", a), ("b", b)], lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["a", "b"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["a", "b"]
    with pytest.raises(ValueError, match="cannot add param group without names"):
        opt.add_param_group({"params": [leafgrad.zeros(1, requires_grad=True)]})


HYPER_PARAMETER_ERRORS = [
    ("SGD", dict(lr=-1), "Invalid learning rate: -1"),
    ("SGD", dict(momentum=-0.5), "Invalid momentum value: -0.5"),
    ("SGD", dict(weight_decay=-1e-3), "Invalid weight_decay value: -0.001"),
    ("SGD", dict(nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
    ("SGD", dict(nesterov=True, momentum=0.9, dampening=0.1), "Nesterov momentum requires"),
    ("Adam", dict(lr=-1), "Invalid learning rate: -1"),
    ("Adam", dict(eps=-1e-8), "Invalid epsilon value: -1e-08"),
    ("Adam", dict(betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    ("Adam", dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    ("Adam", dict(weight_decay=-1), "Invalid weight_decay value: -1"),
    ("AdamW", dict(lr=-0.1), "Invalid learning rate: -0.1"),
    ("RMSprop", dict(alpha=-0.1), "Invalid alpha value: -0.1"),
    ("RMSprop", dict(momentum=-1), "Invalid momentum value: -1"),
    ("RMSprop", dict(eps=-1), "Invalid epsilon value: -1"),
    ("Adagrad", dict(lr_decay=-1), "Invalid lr_decay value: -1"),
    ("Adagrad", dict(initial_accumulator_value=-1),
     "Invalid initial_accumulator_value value: -1"),
    ("Adadelta", dict(rho=1.5), "Invalid rho value: 1.5"),
    ("Adadelta", dict(lr=-1), "Invalid learning rate: -1"),
    ("LBFGS", dict(lr=-1), "Invalid learning rate: -1"),
]


@pytest.mark.parametrize("name,kwargs,message", HYPER_PARAMETER_ERRORS)
def test_hyper_parameter_errors(name, kwargs, message, torch):
    p = leafgrad.zeros(2, requires_grad=True)
    with pytest.raises(ValueError) as ours:
        getattr(leafgrad.optim, name)([p], **kwargs)
    assert message in str(ours.value)
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kwargs)
    assert str(ours.value) == str(theirs.value)


NAMES = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "LBFGS"]


@pytest.mark.parametrize("name", NAMES)
def test_repr_defaults_and_signature_match_torch(name, torch):
    ours = getattr(leafgrad.optim, name)([leafgrad.zeros(1, requires_grad=True)])
    theirs = getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)])
    assert list(ours.defaults.items()) == list(theirs.defaults.items())
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()["param_groups"][0]) == \
        list(theirs.state_dict()["param_groups"][0])
    assert parameters(getattr(leafgrad.optim, name)) == parameters(getattr(torch.optim, name))


def parameters(function) -> list[tuple]:
    """Names, kinds and defaults of a function's parameters (not their annotations)."""
    import inspect
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "Adagrad"])
@pytest.mark.parametrize("kwargs", [dict(fused=True, foreach=True),
                                    dict(fused=True, differentiable=True)])
def test_fused_conflicts_are_torch_errors(name, kwargs, torch):
    with pytest.raises(RuntimeError) as ours:
        getattr(leafgrad.optim, name)([leafgrad.zeros(1, requires_grad=True)], **kwargs)
    with pytest.raises(RuntimeError) as theirs:
        getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)], **kwargs)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("name, switch, words", [
    ("SGD", "differentiable", "differentiable=True is not supported"),
    ("Adam", "differentiable", "outside the autograd graph"),
    ("Adagrad", "differentiable", "differentiable=True is not supported"),
    ("Adam", "capturable", "capturable=True needs parameters on a device with CUDA graphs"),
    ("AdamW", "capturable", "leafgrad runs on the CPU only"),
    ("RMSprop", "capturable", "capturable=True"),
    ("Adadelta", "capturable", "capturable=True"),
])
def test_unsupported_switches_are_refused(name, switch, words):
    cls = getattr(leafgrad.optim, name)
    a, b = leafgrad.zeros(2, requires_grad=True), leafgrad.zeros(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=words):
        cls([a], **{switch: True})
    opt = cls([a])
    with pytest.raises(RuntimeError, match=words):
        opt.add_param_group({"params": [b], switch: True})
    assert len(opt.param_groups) == 1
    saved = opt.state_dict()
    saved["param_groups"][0][switch] = True
    with pytest.raises(RuntimeError, match=words):
        opt.load_state_dict(saved)
    assert opt.param_groups[0][switch] is False


def bad_state(name: str, kwargs: dict, damage) -> tuple:
    """An optimizer after two steps and its state_dict, damaged by ``damage(state of 0)``."""
    params = [leafgrad.tensor(v, requires_grad=True) for v in start_values()]
    opt = getattr(leafgrad.optim, name)(params, **kwargs)
    run_steps(opt, params, 0, 2)
    saved = opt.state_dict()
    damage(saved["state"])
    return opt, saved


def _put(state, key, value, index=0):
    state[index][key] = value


@pytest.mark.parametrize("name, kwargs, damage, error, words", [
    ("SGD", dict(momentum=0.9), lambda s: _put(s, "momentum_buffer", leafgrad.zeros(5)),
     ValueError, "state[0]['momentum_buffer'] has shape (5,), but its parameter has shape "
                 "(3, 4)"),
    ("SGD", dict(momentum=0.9), lambda s: _put(s, "momentum_buffer", [0.0] * 12),
     TypeError, "state[0]['momentum_buffer'] must be a Tensor of its parameter's shape (3, 4), "
                "but got list"),
    ("SGD", dict(momentum=0.9), lambda s: _put(s, "momentum_buffer", np.zeros((3, 4))),
     TypeError, "but got numpy.ndarray"),
    ("Adam", {}, lambda s: _put(s, "exp_avg_sq", leafgrad.zeros(4, 3)), ValueError,
     "state[0]['exp_avg_sq'] has shape (4, 3)"),
    ("Adam", dict(amsgrad=True), lambda s: _put(s, "max_exp_avg_sq", None), TypeError,
     "state[0]['max_exp_avg_sq'] must be a Tensor"),
    ("Adam", {}, lambda s: _put(s, "step", leafgrad.ones(2)), TypeError,
     "state[0]['step'] must be a 0-dim tensor or a number, but got torch.FloatTensor of shape "
     "(2,)"),
    ("Adagrad", {}, lambda s: _put(s, "step", "2"), TypeError,
     "state[0]['step'] must be a 0-dim tensor or a number, but got str"),
    ("Adagrad", {}, lambda s: _put(s, "sum", leafgrad.zeros(2), index=1), ValueError,
     "state[1]['sum'] has shape (2,), but its parameter has shape (4,)"),
    ("Adadelta", {}, lambda s: _put(s, "acc_delta", 1.0), TypeError,
     "state[0]['acc_delta'] must be a Tensor"),
    ("RMSprop", dict(centered=True), lambda s: _put(s, "grad_avg", leafgrad.zeros(1)),
     ValueError, "state[0]['grad_avg'] has shape (1,)"),
    ("SGD", dict(momentum=0.9), lambda s: s.__setitem__(0, [1, 2]), TypeError,
     "state[0] must be a dict, but got list"),
])
def test_load_state_dict_checks_the_state(name, kwargs, damage, error, words):
    opt, saved = bad_state(name, kwargs, damage)
    before = opt.state_dict()
    with pytest.raises(error) as info:
        opt.load_state_dict(saved)
    message = str(info.value)
    assert message.startswith("loaded state dict: state[") and words in message
    after = opt.state_dict()  # nothing was loaded
    for index, entries in before["state"].items():
        for key, value in entries.items():
            assert np.array_equal(after["state"][index][key].numpy(), value.numpy())


def test_load_state_dict_refuses_torch_tensors_with_a_hint(torch):
    opt, saved = bad_state("SGD", dict(momentum=0.9),
                           lambda s: _put(s, "momentum_buffer", torch.zeros(3, 4)))
    with pytest.raises(TypeError, match=r"state\[0\]\['momentum_buffer'\] is a torch.Tensor, "
                                        r"not a leafgrad Tensor: convert it with "
                                        r"leafgrad.tensor\(t.numpy\(\)\)"):
        opt.load_state_dict(saved)


def test_load_state_dict_accepts_what_step_can_use():
    # a missing momentum buffer, as torch may store it, and a step counter as a plain number
    opt, saved = bad_state("SGD", dict(momentum=0.9), lambda s: _put(s, "momentum_buffer", None))
    opt.load_state_dict(saved)
    opt, saved = bad_state("Adam", {}, lambda s: _put(s, "step", 2))
    opt.load_state_dict(saved)
    params = opt.param_groups[0]["params"]
    run_steps(opt, params, 2, 3)
    assert opt.state[params[0]]["step"].item() == 3.0
    # LBFGS keeps flat vectors of all parameters in the first parameter's state
    params = [leafgrad.tensor(v, requires_grad=True) for v in start_values()]
    lbfgs = leafgrad.optim.LBFGS(params, history_size=3)

    def closure():
        lbfgs.zero_grad()
        loss = sum((p * p).sum() for p in params)
        loss.backward()
        return loss
    lbfgs.step(closure)
    lbfgs.load_state_dict(lbfgs.state_dict())


def test_adagrad_state_exists_before_the_first_step():
    p = leafgrad.zeros(2, requires_grad=True)
    opt = leafgrad.optim.Adagrad([p], initial_accumulator_value=0.25)
    assert np.array_equal(opt.state[p]["sum"].numpy(), [0.25, 0.25])
    assert opt.state[p]["step"].item() == 0.0
    late = leafgrad.zeros(2, requires_grad=True)
    opt.add_param_group({"params": [late]})
    late.grad = leafgrad.ones(2)
    opt.step()  # a parameter added later gets its state at its first step
    assert opt.state[late]["step"].item() == 1.0


def test_no_warnings_during_steps():
    params = [leafgrad.tensor(v, requires_grad=True) for v in start_values()]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name, kwargs in CASES:
            opt = getattr(leafgrad.optim, name)(params, **kwargs)
            run_steps(opt, params, 0, 2)
    assert [str(w.message) for w in caught] == []
