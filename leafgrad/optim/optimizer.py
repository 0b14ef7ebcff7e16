"""The ``Optimizer`` base class: parameter groups, per-parameter state, state_dict, step hooks.

Optimizers update parameters in place on their arrays (``p._data``), never through the
graph, so a step records nothing; each update follows the operation order of torch's
single-tensor (CPU) implementation so that trajectories agree with torch's.
"""
from __future__ import annotations

import copy
import functools
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any

from leafgrad import _dtype
from leafgrad._backend import CPU, array_module, ndarray, xp
from leafgrad._tensor import Tensor, _wrap
from leafgrad.autograd.grad_mode import enable_grad, no_grad
from leafgrad.utils.hooks import RemovableHandle

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Marks a hyper-parameter that every parameter group must give (it has no default)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _typename(obj: Any) -> str:
    """The type name torch prints in its errors ('torch.FloatTensor', 'int', 'numpy.ndarray')."""
    if isinstance(obj, Tensor):
        return obj.type()
    kind = type(obj)
    module = kind.__module__
    return kind.__qualname__ if module in ("builtins", "__builtin__") else \
        f"{module}.{kind.__qualname__}"


def _hooked(step: Callable) -> Callable:
    """Wrap a subclass's ``step``: run the step hooks around it and the update under no_grad."""

    @functools.wraps(step)
    def wrapper(*args, **kwargs):
        self = args[0]
        if self._in_step:  # a subclass's step calling super().step(): the hooks already ran
            return step(*args, **kwargs)
        for pre_hook in list(self._optimizer_step_pre_hooks.values()):
            result = pre_hook(self, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(f"{step} must return None or a tuple of (new_args, "
                                       f"new_kwargs), but got {result}.")
                args, kwargs = result
        self._opt_called = True  # read by the schedulers' step-order warning
        self._in_step = True
        try:
            with no_grad():
                out = step(*args, **kwargs)
        finally:
            self._in_step = False
        for post_hook in list(self._optimizer_step_post_hooks.values()):
            post_hook(self, args, kwargs)
        return out

    wrapper._hooked = True
    return wrapper


class Optimizer:
    """Base class of all optimizers.

    Parameters
    ----------
    params:
        An iterable of tensors, of ``(name, tensor)`` pairs, or of dicts defining parameter
        groups (``{"params": [...], "lr": 0.1}``). A one-shot iterator such as
        ``itertools.chain(net1.parameters(), net2.parameters())`` is consumed once.
    defaults:
        The default hyper-parameters, used by every group that does not set its own.

    The switches of torch's implementations are accepted and stored in the groups: ``foreach``
    and ``fused`` change nothing (leafgrad has one implementation, on NumPy, whose numbers
    are those of torch's single-tensor one), ``differentiable=True`` and ``capturable=True``
    are refused (steps are not recorded by autograd; there are no CUDA graphs).

    Unlike torch's, whose ``state_dict()`` holds references to the live state tensors,
    :meth:`state_dict` returns a deep copy, so a checkpoint taken mid-training does not change
    as training goes on; :meth:`load_state_dict` checks the state it is given (tensors of the
    parameters' shapes, step counters) and loads nothing when something is wrong.

    Example::

        >>> w = leafgrad.zeros(3, requires_grad=True)
        >>> opt = leafgrad.optim.SGD([w], lr=0.1)
        >>> (w - 1.0).pow(2).sum().backward()
        >>> opt.step()
        >>> w
        tensor([0.2000, 0.2000, 0.2000], requires_grad=True)
    """

    _in_step = False
    # the state entries step() reads, and what each must be: "param" (a tensor of its
    # parameter's shape), "param or None", or "step" (a 0-dim tensor or a number)
    _state_layout: dict[str, str] = {}

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_hooked", False):
            cls.step = _hooked(step)

    def __init__(self, params: Iterable, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self._optimizer_step_pre_hooks: dict[int, Callable] = {}
        self._optimizer_step_post_hooks: dict[int, Callable] = {}
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got " + _typename(params))
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        param_groups = list(params)  # consumed once: a generator gives its items only once
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    def __repr__(self) -> str:
        text = self.__class__.__name__ + " ("
        for index, group in enumerate(self.param_groups):
            text += f"\nParameter Group {index}\n"
            for key in sorted(group):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"

    # -- parameter groups -------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyper-parameters (e.g. to unfreeze layers
        while training); options it does not set take the optimizer's defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        if "params" not in param_group:
            raise KeyError("params: a parameter group must give its tensors as "
                           "{'params': [...], ...}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            params = list(params)
        tensors, names = [], []
        for param in params:
            if isinstance(param, tuple):  # from named_parameters()
                names.append(param[0])
                tensors.append(param[1])
            else:
                tensors.append(param)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. Some param "
                                 "names are missing")
            param_group["param_names"] = names

        for param in tensors:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + _typename(param))
            if not (param.is_leaf or param.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)
        _check_supported(param_group)

        ids = [id(p) for p in tensors]
        if len(ids) != len(set(ids)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in "
                          "future, this will cause an error; see "
                          "github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        seen: set[int] = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError(f"all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        if not seen.isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized tensors: to None (the default, so that an
        optimizer skips parameters that receive no new gradient) or to zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                grad = p._grad
                if grad is None:
                    continue
                if set_to_none:
                    p._grad = None
                else:
                    if grad.grad_fn is not None:
                        grad.detach_()
                    else:
                        grad.requires_grad_(False)
                    grad._data[...] = 0
                    grad._version_counter[0] += 1

    # -- steps ------------------------------------------------------------------------------
    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one optimization step (``closure`` re-evaluates the model and returns the
        loss; optimizers that need it, such as LBFGS, call it several times)."""
        raise NotImplementedError

    @staticmethod
    def _evaluate(closure: Callable[[], Any] | None):
        """The closure's loss, computed with grad enabled (steps run under no_grad)."""
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def register_step_pre_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(optimizer, args, kwargs)`` before each step (``args`` starts with the
        optimizer, as in torch); it may return ``(new_args, new_kwargs)``."""
        return RemovableHandle(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(optimizer, args, kwargs)`` after each step."""
        return RemovableHandle(self._optimizer_step_post_hooks, hook)

    # -- state_dict -------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state in torch's format, as a copy.

        ``{"state": {index: {...}}, "param_groups": [{..., "params": [index, ...]}]}``: each
        parameter is named by its position across the groups, and no parameter is stored.
        Unlike torch, whose state_dict shares the live state tensors, the result is a deep copy,
        so a checkpoint taken mid-training does not change as training goes on.
        """
        mapping: dict[int, int] = {}
        start = 0

        def pack_group(group: dict[str, Any]) -> dict[str, Any]:
            nonlocal start
            packed = copy.deepcopy({k: v for k, v in group.items() if k != "params"})
            for index, p in enumerate(group["params"], start):
                mapping.setdefault(id(p), index)
            packed["params"] = [mapping[id(p)] for p in group["params"]]
            start += len(packed["params"])
            return packed

        param_groups = [pack_group(g) for g in self.param_groups]
        state = {(mapping[id(k)] if isinstance(k, Tensor) else k): copy.deepcopy(v)
                 for k, v in self.state.items()}
        return {"state": state, "param_groups": param_groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state from :meth:`state_dict`: the groups must have the same sizes; the
        state that step() reads must be leafgrad tensors of their parameters' shapes and step
        counters (a ``ValueError`` or ``TypeError`` says what is not, and nothing is loaded);
        state tensors are copied and cast to their parameter's dtype (except the step
        counters)."""
        groups = self.param_groups
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")
        for saved in saved_groups:
            _check_supported({**self.defaults, **saved})
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))
        state: defaultdict[Any, dict[str, Any]] = defaultdict(dict)
        for key, value in state_dict["state"].items():
            _check_foreign(value, f"state[{key!r}]")
            if key in id_map:
                param = id_map[key]
                self._check_state(param, value, f"state[{key!r}]")
                state[param] = _cast(param, value)
            else:  # state that belongs to no parameter is kept as it is, as torch does
                state[key] = copy.deepcopy(value)
        for group, saved in zip(groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
        self.state = state
        self.param_groups = saved_groups
        self._fill_group_defaults()

    def _check_state(self, param: Tensor, value: Any, where: str) -> None:
        """Refuse a loaded parameter state that step() could not use."""
        if not isinstance(value, dict):
            raise TypeError(f"loaded state dict: {where} must be a dict, but got "
                            f"{_typename(value)}")
        for name, entry in value.items():
            rule = self._state_layout.get(name)
            if rule is None or (entry is None and rule == "param or None"):
                continue
            at = f"loaded state dict: {where}[{name!r}]"
            if rule == "step":
                if not ((isinstance(entry, Tensor) and entry.dim() == 0)
                        or type(entry) in (int, float)):
                    raise TypeError(f"{at} must be a 0-dim tensor or a number, but got "
                                    f"{_typename(entry)}"
                                    + (f" of shape {tuple(entry.shape)}"
                                       if isinstance(entry, Tensor) else ""))
            elif not isinstance(entry, Tensor):
                raise TypeError(f"{at} must be a Tensor of its parameter's shape "
                                f"{tuple(param.shape)}, but got {_typename(entry)}")
            elif entry.shape != param.shape:
                raise ValueError(f"{at} has shape {tuple(entry.shape)}, but its parameter has "
                                 f"shape {tuple(param.shape)}")

    def _fill_group_defaults(self) -> None:
        """Give loaded groups the options that an older state_dict may lack."""
        for group in self.param_groups:
            for name, default in self.defaults.items():
                if default is not required:
                    group.setdefault(name, default)


def _check_supported(group: dict[str, Any]) -> None:
    """Refuse the implementation switches leafgrad cannot honour."""
    if group.get("differentiable"):
        raise RuntimeError("differentiable=True is not supported: leafgrad's optimizers update "
                           "the parameters in place, outside the autograd graph")
    if group.get("capturable"):
        raise RuntimeError("capturable=True needs parameters on a device with CUDA graphs "
                           "('cuda', 'xpu', 'hpu', 'privateuseone', 'xla'); leafgrad runs on the "
                           "CPU only")


_HYPERPARAMETER_LABELS = {"lr": "learning rate", "eps": "epsilon value"}


def _check_nonnegative(**values: float) -> None:
    """ValueError, in torch's words, for the first of ``values`` (in the order given) that is
    not ``>= 0`` (NaN included): ``_check_nonnegative(lr=lr, eps=eps)``."""
    for name, value in values.items():
        if not 0.0 <= value:
            label = _HYPERPARAMETER_LABELS.get(name, f"{name} value")
            raise ValueError(f"Invalid {label}: {value}")


def _check_fused(fused: bool | None, foreach: bool | None, differentiable: bool) -> None:
    """torch's checks of ``fused`` (which leafgrad accepts and runs as the single-tensor
    implementation, as it does ``foreach``)."""
    if fused:
        if differentiable:
            raise RuntimeError("`fused` does not support `differentiable`")
        if foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


def _check_foreign(value: Any, where: str) -> None:
    """Refuse another library's tensors (a state_dict of torch's optimizer) with a hint."""
    if isinstance(value, dict):
        for key, entry in value.items():
            _check_foreign(entry, f"{where}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for index, entry in enumerate(value):
            _check_foreign(entry, f"{where}[{index}]")
    elif type(value).__module__.split(".")[0] == "torch":
        raise TypeError(f"loaded state dict: {where} is a {_typename(value)}, not a leafgrad "
                        f"Tensor: convert it with leafgrad.tensor(t.numpy())")


def _cast(param: Tensor, value: Any, key: Any = None) -> Any:
    """A copy of a loaded state value; floating tensors take the parameter's dtype, except the
    'step' counters, which torch keeps as they were saved."""
    if isinstance(value, Tensor):
        array = value._data
        if key != "step" and _dtype.is_floating_point(param._data.dtype):
            array = array.astype(param._data.dtype, copy=True)
        else:
            array = array.copy()
        return _wrap(array, False)
    if isinstance(value, dict):
        return {k: _cast(param, v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast(param, v) for v in value)
    return copy.deepcopy(value)


# -- helpers shared by the optimizers ---------------------------------------------------------
# The step counters live on the host whatever the parameters' device, as torch's
# (non-capturable) ones: reading one for the bias corrections needs no device transfer.
_host = array_module(CPU)


def _scalar_dtype():
    """The dtype of the step counters: float32, or float64 under set_default_dtype(float64)."""
    default = _dtype.get_default_dtype()
    return (default if default is _dtype.float64 else _dtype.float32).np_dtype


def _new_step() -> Tensor:
    return _wrap(_host.array(0, dtype=_scalar_dtype()), False)


def _increment_step(state: dict[str, Any]) -> float:
    """Add one to ``state['step']`` (a 0-dim tensor, as torch keeps it) and return its value."""
    step = state["step"]
    if not isinstance(step, Tensor):  # an older checkpoint may hold a plain number
        step = state["step"] = _wrap(_host.array(step, dtype=_scalar_dtype()), False)
    step._data += 1
    return float(step._data)


def _to_scalar(value: Any) -> float:
    return float(value) if isinstance(value, Tensor) else value


def _zeros_like(p: Tensor) -> Tensor:
    return _wrap(xp.zeros_like(p._data), False)


def _modified(p: Tensor) -> None:
    """Bump the version counter after writing into ``p``'s storage, as an in-place op does: a
    graph that saved the old value then refuses to backpropagate through it."""
    p._version_counter[0] += 1


def _lerp_(start: ndarray, end: ndarray, weight: float) -> None:
    """``start.lerp_(end, weight)`` with torch's formula, which switches form at 0.5 so that
    the result is exact at both ends."""
    weight = start.dtype.type(weight)
    diff = end - start
    if abs(weight) < 0.5:
        diff *= weight
        start += diff
    else:
        diff *= start.dtype.type(1) - weight
        xp.subtract(end, diff, out=start)


# Elements per slice in _slices: three float32 slices (parameter, gradient, buffer) take 768 KiB,
# which stays in a core's L2 cache across the passes of an update.
_SLICE = 65536


def _slices(*arrays: ndarray):
    """Matching flat slices (views) of same-shaped arrays, in order, for an update made of
    several elementwise passes: each slice stays in cache from one pass to the next, where whole
    arrays would be read from memory again by each pass (the result is the same, element by
    element). Arrays that are not all C-contiguous come whole, as one slice."""
    if not all(a.flags.c_contiguous for a in arrays):
        yield arrays
        return
    flat = [a.reshape(-1) for a in arrays]
    for start in range(0, flat[0].size, _SLICE):
        yield tuple(f[start:start + _SLICE] for f in flat)


def _params_with_grad(group: dict[str, Any]) -> list[Tensor]:
    return [p for p in group["params"] if p._grad is not None]


def _gradient(p: Tensor, maximize: bool, weight_decay: float) -> ndarray:
    """The gradient a step follows: negated when maximizing, plus ``weight_decay * p`` (a new
    array then; otherwise ``p.grad``'s own, which the caller must not modify)."""
    grad = p._grad._data
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad + weight_decay * p._data
    return grad
