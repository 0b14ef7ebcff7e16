"""Adadelta: steps scaled by the ratio of running averages of updates and gradients."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from leafgrad._backend import xp
from leafgrad.optim.optimizer import (
    Optimizer,
    _check_nonnegative,
    _gradient,
    _increment_step,
    _modified,
    _new_step,
    _params_with_grad,
    _to_scalar,
    _zeros_like,
)

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta (Zeiler), with torch's ``lr`` scaling of the update.

    For each parameter with a gradient ``g``::

        g = g + weight_decay * p
        v = rho * v + (1 - rho) * g * g
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta * delta
        p = p - lr * delta

    Example::

        >>> opt = leafgrad.optim.Adadelta(model.parameters(), rho=0.95)
    """

    _state_layout = {"step": "step", "square_avg": "param", "acc_delta": "param"}

    def __init__(self, params: Iterable, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check_nonnegative(lr=lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check_nonnegative(eps=eps, weight_decay=weight_decay)
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
                    "maximize": maximize, "capturable": capturable, "foreach": foreach,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one update; returns the closure's loss when one is given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr = _to_scalar(group["lr"])
            rho, eps, weight_decay = group["rho"], group["eps"], group["weight_decay"]
            for p in _params_with_grad(group):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _new_step()
                    state["square_avg"] = _zeros_like(p)
                    state["acc_delta"] = _zeros_like(p)
                _increment_step(state)
                grad = _gradient(p, group["maximize"], weight_decay)
                square_avg, acc_delta = state["square_avg"]._data, state["acc_delta"]._data
                square_avg *= rho
                square_avg += (1 - rho) * grad * grad
                std = square_avg + eps
                xp.sqrt(std, out=std)
                delta = acc_delta + eps
                xp.sqrt(delta, out=delta)
                delta /= std
                delta *= grad
                acc_delta *= rho
                acc_delta += (1 - rho) * delta * delta
                p._data -= lr * delta
                _modified(p)
        return loss
