"""Stochastic gradient descent, optionally with (Nesterov) momentum."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from leafgrad._backend import xp
from leafgrad._tensor import _wrap
from leafgrad.optim.optimizer import (
    Optimizer,
    _check_fused,
    _gradient,
    _modified,
    _params_with_grad,
    _slices,
    _to_scalar,
)

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent (torch's formulation of momentum and dampening).

    For each parameter with a gradient ``g`` (negated when ``maximize``)::

        g = g + weight_decay * p
        b = g                                   (first step)
        b = momentum * b + (1 - dampening) * g  (later steps)
        g = g + momentum * b if nesterov else b
        p = p - lr * g

    Example::

        >>> opt = leafgrad.optim.SGD(itertools.chain(net1.parameters(), net2.parameters()),
        ...                          lr=0.001, momentum=0.9)
        >>> opt.zero_grad(); loss_fn(net2(net1(x)), y).backward(); opt.step()
    """

    _state_layout = {"momentum_buffer": "param or None"}

    def __init__(self, params: Iterable, lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize,
                    "foreach": foreach, "differentiable": differentiable, "fused": fused}
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        _check_fused(fused, foreach, differentiable)
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one update; returns the closure's loss when one is given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr = _to_scalar(group["lr"])
            momentum, dampening = group["momentum"], group["dampening"]
            weight_decay, nesterov = group["weight_decay"], group["nesterov"]
            for p in _params_with_grad(group):
                grad = _gradient(p, group["maximize"], weight_decay)
                if momentum == 0:
                    for param, step in _slices(p._data, grad):
                        param -= lr * step
                    _modified(p)
                    continue
                state = self.state[p]
                buffer = state.get("momentum_buffer")
                first = buffer is None
                if first:  # torch starts the buffer at the first gradient, undamped
                    buffer = state["momentum_buffer"] = _wrap(xp.array(grad, copy=True), False)
                for param, g, b in _slices(p._data, grad, buffer._data):
                    if not first:
                        b *= momentum
                        if dampening == 0:  # the common case: no scaled copy of the gradient
                            b += g
                        else:
                            b += (1 - dampening) * g
                    param -= lr * (g + momentum * b if nesterov else b)
                _modified(p)
        return loss
