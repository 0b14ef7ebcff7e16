"""Reverse mode's public entry points, ``backward()`` and ``grad()``: they check their
arguments, make the root gradients, and hand the graph to the engine (``engine.execute``)."""
from __future__ import annotations

import warnings

from leafgrad._backend import xp
from leafgrad._tensor import LAYERS, Tensor, _wrap
from leafgrad.autograd.engine import execute

__all__ = ["backward", "grad"]


def _as_tuple(value) -> tuple:
    if value is None:
        return ()
    if isinstance(value, Tensor):
        return (value,)
    return tuple(value)


def _why_not_requires_grad(tensor: Tensor) -> str:
    reason = tensor._why_no_grad
    if reason == "no_grad":
        return ("it was computed while gradient recording was off (inside `no_grad()`, "
                "`inference_mode()` or `set_grad_enabled(False)`); compute it with grad enabled")
    if reason == "detach":
        return ("it was computed from a tensor cut from the graph by .detach() or .detach_() "
                "(or .data); use the original tensor if gradients should flow")
    if reason == "volatile":
        return ("it was computed from a volatile tensor (Variable(..., volatile=True)), which "
                "records no graph; volatile is for inference only")
    if reason == "frozen":
        return ("it was computed from Parameters with requires_grad=False (a module whose "
                "parameters are all frozen) and no other input requires grad; unfreeze them "
                "with requires_grad_(True), or leave the frozen part out of backward")
    return ("none of the tensors it was computed from requires grad: plain tensors default to "
            "requires_grad=False (set it on the leaves you want gradients for), and a module "
            "whose parameters were all frozen (requires_grad=False) gives this too")


def _root_gradients(outputs: tuple, grad_outputs: tuple, create_graph: bool) -> list:
    if grad_outputs and len(grad_outputs) != len(outputs):
        raise RuntimeError(f"got {len(grad_outputs)} gradients for {len(outputs)} tensors: pass "
                           f"one gradient per output (or None for a one-element output)")
    roots = []
    for index, output in enumerate(outputs):
        if not isinstance(output, Tensor):
            raise TypeError(f"element {index} of tensors is a {type(output).__name__}, not a "
                            f"Tensor")
        gradient = grad_outputs[index] if grad_outputs else None
        if not output.requires_grad:
            raise RuntimeError(f"element {index} of tensors does not require grad and does not "
                               f"have a grad_fn: {_why_not_requires_grad(output)}")
        if gradient is None:
            if output._data.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs: element {index} "
                    f"has shape {list(output.shape)}. Reduce it first (e.g. .sum() or .mean()) "
                    f"or pass a gradient of that shape, as in output.backward(gradient)")
            gradient = _wrap(xp.ones_like(output._data), False)
        else:
            if not isinstance(gradient, Tensor):
                gradient = _wrap(xp.asarray(gradient, dtype=output._data.dtype), False)
            if gradient._data.shape != output._data.shape:
                raise RuntimeError(f"Mismatch in shape: grad_output[{index}] has a shape of "
                                   f"{list(gradient.shape)} and output[{index}] has a shape of "
                                   f"{list(output.shape)}.")
            if gradient._data.dtype != output._data.dtype:  # torch casts it to the output's
                gradient = gradient.to(output.dtype)
            if not create_graph:
                gradient = gradient.detach()
        roots.append((output, gradient))
    return roots


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None,
             create_graph: bool = False, grad_variables=None, inputs=None, *,
             retain_variables: bool | None = None, _from_tensor: bool = False) -> None:
    """Accumulate into ``.grad`` of the leaves the gradients of ``tensors``.

    ``retain_variables`` is the old name of ``retain_graph`` (the seed's spelling); it still
    works and warns.
    """
    caller = 3 if _from_tensor else 2  # warnings point at the user's line
    if retain_variables is not None:
        warnings.warn("retain_variables is deprecated and will be removed: use retain_graph "
                      "(the same flag)", DeprecationWarning, stacklevel=caller)
        if retain_graph is None:
            retain_graph = retain_variables
    if grad_variables is not None:
        warnings.warn("grad_variables is deprecated: use grad_tensors", DeprecationWarning,
                      stacklevel=2)
        grad_tensors = grad_variables
    if retain_graph is None:
        retain_graph = create_graph
    outputs = _as_tuple(tensors)
    grad_outputs = _as_tuple(grad_tensors) if not isinstance(grad_tensors, (list, tuple)) \
        else tuple(grad_tensors)
    input_tensors = _as_tuple(inputs)
    if inputs is not None and not input_tensors:
        raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    if create_graph and inputs is None:
        warnings.warn("Using backward() with create_graph=True will create a reference cycle "
                      "between the parameter and its gradient which can cause a memory leak. "
                      "Prefer autograd.grad when creating the graph to avoid this.", UserWarning,
                      stacklevel=caller)
    roots = _root_gradients(outputs, grad_outputs, create_graph)
    for t in input_tensors:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    results = execute(roots, input_tensors or None, retain_graph, create_graph,
                       accumulate=True)
    for t, gradient in zip(input_tensors, results):  # non-leaf inputs keep their grad too
        if t.grad_fn is not None and gradient is not None:
            t._grad = gradient if t._grad is None else t._grad + gradient


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, only_inputs: bool = True, allow_unused: bool | None = None,
         is_grads_batched: bool = False, materialize_grads: bool = False) -> tuple:
    """Return the gradients of ``outputs`` with respect to ``inputs`` without touching ``.grad``.

    Example::

        (dx,) = leafgrad.autograd.grad((x ** 3).sum(), x, create_graph=True)
        (d2x,) = leafgrad.autograd.grad(dx.sum(), x)      # 6 * x
    """
    if is_grads_batched:
        raise NotImplementedError("is_grads_batched=True is not supported by leafgrad")
    if allow_unused is None:
        allow_unused = materialize_grads
    if materialize_grads and not allow_unused:
        raise ValueError("Expected allow_unused to be True or not passed when "
                         "materialize_grads=True")
    if retain_graph is None:
        retain_graph = create_graph
    output_tensors = _as_tuple(outputs)
    input_tensors = _as_tuple(inputs)
    if not input_tensors:
        raise RuntimeError("grad requires at least one input tensor")
    for index, t in enumerate(input_tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"inputs[{index}] is a {type(t).__name__}, not a Tensor")
        if not t.requires_grad:
            raise RuntimeError(f"One of the differentiated Tensors (inputs[{index}], shape "
                               f"{list(t.shape)}) does not require grad")
    grad_outs = _as_tuple(grad_outputs) if not isinstance(grad_outputs, (list, tuple)) \
        else tuple(grad_outputs)
    roots = _root_gradients(output_tensors, grad_outs, create_graph)
    results = execute(roots, input_tensors, retain_graph, create_graph, accumulate=False)
    for index, (t, g) in enumerate(zip(input_tensors, results)):
        if g is None:
            if materialize_grads:
                results[index] = _wrap(xp.zeros_like(t._data), False)
            elif not allow_unused:
                raise RuntimeError(
                    f"One of the differentiated Tensors appears to not have been used in the "
                    f"graph: inputs[{index}] (shape {list(t.shape)}). Set allow_unused=True if "
                    f"this is the desired behavior.")
    return tuple(results)


LAYERS.backward = backward
