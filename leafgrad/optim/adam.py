"""Adam (with the AMSGrad variant), and the decoupled weight decay that AdamW uses."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from leafgrad._backend import xp
from leafgrad.optim.optimizer import (
    Optimizer,
    _check_fused,
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

__all__ = ["Adam"]


class Adam(Optimizer):
    """Adam: steps scaled by running averages of the gradient and of its square.

    For each parameter with a gradient ``g`` at step ``t``, in torch's order of operations::

        g = g + weight_decay * p        (or p = p * (1 - lr * weight_decay) when decoupled)
        m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g * g
        v_max = max(v_max, v)           (amsgrad; v_max then replaces v below)
        denom = sqrt(v) / sqrt(1 - beta2 ** t) + eps
        p = p - lr / (1 - beta1 ** t) * m / denom

    Example::

        >>> opt = leafgrad.optim.Adam(model.parameters(), lr=1e-3, amsgrad=True)
    """

    _state_layout = {"step": "step", "exp_avg": "param", "exp_avg_sq": "param",
                     "max_exp_avg_sq": "param"}

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False) -> None:
        _check_nonnegative(lr=lr, eps=eps)
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        _check_nonnegative(weight_decay=weight_decay)
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize, "foreach": foreach,
                    "capturable": capturable, "differentiable": differentiable, "fused": fused,
                    "decoupled_weight_decay": decoupled_weight_decay}
        _check_fused(fused, foreach, differentiable)
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one update; returns the closure's loss when one is given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr = _to_scalar(group["lr"])
            beta1, beta2 = group["betas"]
            weight_decay, eps, amsgrad = group["weight_decay"], group["eps"], group["amsgrad"]
            for p in _params_with_grad(group):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _new_step()
                    state["exp_avg"] = _zeros_like(p)
                    state["exp_avg_sq"] = _zeros_like(p)
                    if amsgrad:
                        state["max_exp_avg_sq"] = _zeros_like(p)
                step = _increment_step(state)
                param = p._data
                if weight_decay != 0 and group["decoupled_weight_decay"]:
                    param *= 1 - lr * weight_decay
                    grad = _gradient(p, group["maximize"], 0)
                else:
                    grad = _gradient(p, group["maximize"], weight_decay)
                exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
                _lerp_(exp_avg, grad, 1 - beta1)
                exp_avg_sq *= beta2
                exp_avg_sq += (1 - beta2) * grad * grad
                bias_correction1 = 1 - beta1 ** step
                bias_correction2 = 1 - beta2 ** step
                step_size = lr / bias_correction1
                if amsgrad:
                    max_exp_avg_sq = state["max_exp_avg_sq"]._data
                    xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
                    denom = xp.sqrt(max_exp_avg_sq)
                else:
                    denom = xp.sqrt(exp_avg_sq)
                denom /= bias_correction2 ** 0.5
                denom += eps
                update = exp_avg * -step_size
                update /= denom
                param += update
                _modified(p)
        return loss
