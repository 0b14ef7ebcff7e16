"""RMSprop: steps scaled by a running average of the squared gradient."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from leafgrad._backend import xp
from leafgrad.optim.optimizer import (
    Optimizer,
    _check_nonnegative,
    _gradient,
    _increment_step,
    _lerp_,
    _modified,
    _new_step,
    _params_with_grad,
    _to_scalar,
    _zeros_like,
)

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e), in torch's formulation.

    For each parameter with a gradient ``g``::

        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g
        avg = sqrt(v - a * a) + eps   with a = lerp(a, g, 1 - alpha)   (centered)
        avg = sqrt(v) + eps                                             (otherwise)
        b = momentum * b + g / avg;  p = p - lr * b                     (momentum > 0)
        p = p - lr * g / avg                                            (otherwise)

    Example::

        >>> opt = leafgrad.optim.RMSprop(model.parameters(), lr=1e-3, centered=True)
    """

    _state_layout = {"step": "step", "square_avg": "param", "momentum_buffer": "param",
                     "grad_avg": "param"}

    def __init__(self, params: Iterable, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check_nonnegative(lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay,
                           alpha=alpha)
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps,
                    "centered": centered, "weight_decay": weight_decay, "capturable": capturable,
                    "foreach": foreach, "maximize": maximize, "differentiable": differentiable}
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one update; returns the closure's loss when one is given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr = _to_scalar(group["lr"])
            alpha, eps, momentum = group["alpha"], group["eps"], group["momentum"]
            weight_decay, centered = group["weight_decay"], group["centered"]
            for p in _params_with_grad(group):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _new_step()
                    state["square_avg"] = _zeros_like(p)
                    if momentum > 0:
                        state["momentum_buffer"] = _zeros_like(p)
                    if centered:
                        state["grad_avg"] = _zeros_like(p)
                _increment_step(state)
                param = p._data
                grad = _gradient(p, group["maximize"], weight_decay)
                square_avg = state["square_avg"]._data
                square_avg *= alpha
                square_avg += (1 - alpha) * grad * grad
                if centered:
                    grad_avg = state["grad_avg"]._data
                    _lerp_(grad_avg, grad, 1 - alpha)
                    avg = square_avg + -1 * grad_avg * grad_avg
                    xp.sqrt(avg, out=avg)
                else:
                    avg = xp.sqrt(square_avg)
                avg += eps
                if momentum > 0:
                    buffer = state["momentum_buffer"]._data
                    buffer *= momentum
                    buffer += grad / avg
                    param -= lr * buffer
                else:
                    update = grad * -lr
                    update /= avg
                    param += update
                _modified(p)
        return loss
