"""Adagrad: steps scaled by the accumulated squared gradients."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from leafgrad._backend import xp
from leafgrad._tensor import Tensor, _wrap
from leafgrad.optim.optimizer import (
    Optimizer,
    _check_fused,
    _check_nonnegative,
    _gradient,
    _increment_step,
    _modified,
    _new_step,
    _params_with_grad,
    _to_scalar,
)

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad (Duchi et al.), with torch's learning-rate decay.

    For each parameter with a gradient ``g`` at step ``t``::

        g = g + weight_decay * p
        s = s + g * g                        (s starts at initial_accumulator_value)
        p = p - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)

    Example::

        >>> opt = leafgrad.optim.Adagrad(model.parameters(), lr=0.1, lr_decay=1e-3)
    """

    _state_layout = {"step": "step", "sum": "param"}

    def __init__(self, params: Iterable, lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        _check_nonnegative(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                           initial_accumulator_value=initial_accumulator_value, eps=eps)
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable, "fused": fused}
        _check_fused(fused, foreach, differentiable)
        super().__init__(params, defaults)
        # as torch, the state exists from the start (share_memory() and state_dict() see it)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> None:
        state = self.state[p]
        state["step"] = _new_step()
        state["sum"] = _wrap(xp.full_like(p._data, group["initial_accumulator_value"]), False)

    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one update; returns the closure's loss when one is given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr = _to_scalar(group["lr"])
            weight_decay, lr_decay, eps = group["weight_decay"], group["lr_decay"], group["eps"]
            for p in _params_with_grad(group):
                state = self.state[p]
                if len(state) == 0:  # a parameter added by add_param_group after construction
                    self._init_state(p, group)
                step = _increment_step(state)
                grad = _gradient(p, group["maximize"], weight_decay)
                clr = lr / (1 + (step - 1) * lr_decay)
                state_sum = state["sum"]._data
                state_sum += grad * grad
                std = xp.sqrt(state_sum)
                std += eps
                update = grad * -clr
                update /= std
                p._data += update
                _modified(p)
        return loss
