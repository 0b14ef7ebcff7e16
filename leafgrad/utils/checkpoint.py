"""Activation checkpointing, as ``torch.utils.checkpoint``: run a segment without keeping its
activations, and recompute them during backward.

Example::

    out = checkpoint(block, x, use_reentrant=False)
    out.sum().backward()      # block's forward runs again here, under enable_grad
"""
from __future__ import annotations

import warnings
from typing import Any, Callable

import leafgrad
from leafgrad._tensor import Tensor
from leafgrad.autograd.function import Function

__all__ = ["checkpoint", "checkpoint_sequential"]


def _detached_inputs(inputs: tuple) -> tuple:
    """Fresh leaves with the inputs' data: the recomputed segment's graph ends at them."""
    out = []
    for value in inputs:
        if isinstance(value, Tensor):
            leaf = value.detach()
            leaf.requires_grad_(value.requires_grad)
            out.append(leaf)
        else:
            out.append(value)
    return tuple(out)


class CheckpointFunction(Function):
    """The reentrant checkpoint: forward runs ``run_function`` without recording; backward
    recomputes it under ``enable_grad`` and runs a nested ``autograd.backward`` through it."""

    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, *args):
        ctx.run_function = run_function
        ctx.preserve_rng_state = preserve_rng_state
        if preserve_rng_state:
            ctx.rng_state = leafgrad.get_rng_state()
        ctx.tensor_indices = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.inputs = [None if isinstance(a, Tensor) else a for a in args]
        ctx.save_for_backward(*(a for a in args if isinstance(a, Tensor)))
        return run_function(*args)

    @staticmethod
    def backward(ctx, *grad_outputs):
        inputs = list(ctx.inputs)
        for index, tensor in zip(ctx.tensor_indices, ctx.saved_tensors):
            inputs[index] = tensor
        inputs = _detached_inputs(tuple(inputs))
        outputs = _rerun(ctx.run_function, inputs, {},
                         ctx.rng_state if ctx.preserve_rng_state else None)
        pairs = [(o, g) for o, g in zip(outputs, grad_outputs)
                 if isinstance(o, Tensor) and o.requires_grad and g is not None]
        if not pairs:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is "
                               "not necessary")
        # a nested backward (as torch): parameters used inside accumulate their .grad here
        leafgrad.autograd.backward([o for o, _ in pairs], [g for _, g in pairs])
        return (None, None) + tuple(t.grad if isinstance(t, Tensor) else None for t in inputs)


class _Recompute(Function):
    """The non-reentrant checkpoint: the segment's tensor arguments and the other leaves it uses
    (parameters) are this node's inputs, so their gradients flow through the engine as usual;
    backward recomputes the segment and differentiates it with a nested ``autograd.grad``."""

    @staticmethod
    def forward(ctx, state, *tensors):
        ctx.state = state
        ctx.save_for_backward(*tensors)
        return tuple(o.detach() for o in state.pop("outputs"))

    @staticmethod
    def backward(ctx, *grad_outputs):
        state = ctx.state
        tensors = ctx.saved_tensors
        count = len(state["tensor_indices"])
        inputs = _detached_inputs(tensors[:count])  # parameters are used as they are
        args = list(state["args"])
        for index, leaf in zip(state["tensor_indices"], inputs):
            args[index] = leaf
        outputs = _rerun(state["function"], args, state["kwargs"], state["rng_state"])
        pairs = [(o, g) for o, g in zip(outputs, grad_outputs)
                 if isinstance(o, Tensor) and o.requires_grad and g is not None]
        sources = inputs + tensors[count:]
        wanted = [t for t in sources if t.requires_grad]
        if not pairs or not wanted:
            return (None,) * (1 + len(tensors))
        grads = iter(leafgrad.autograd.grad([o for o, _ in pairs], wanted, [g for _, g in pairs],
                                            allow_unused=True))
        return (None,) + tuple(next(grads) if t.requires_grad else None for t in sources)


def _rerun(function: Callable, args: list, kwargs: dict, rng_state) -> tuple:
    """Run the segment again with grad enabled and the default generator as it was."""
    if rng_state is not None:
        outer_state = leafgrad.get_rng_state()
        leafgrad.set_rng_state(rng_state)
    try:
        with leafgrad.enable_grad():
            outputs = function(*args, **kwargs)
    finally:
        if rng_state is not None:
            leafgrad.set_rng_state(outer_state)
    return outputs if isinstance(outputs, tuple) else (outputs,)


def _graph_leaves(outputs: tuple) -> list:
    """The leaves that require grad behind ``outputs``, in first-seen order."""
    leaves, seen = {}, set()
    stack = [o.grad_fn for o in outputs if isinstance(o, Tensor) and o.grad_fn is not None]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        variable = getattr(node, "variable", None)
        if isinstance(variable, Tensor):
            leaves[id(variable)] = variable
        stack.extend(edge.node for edge in node._edges if edge is not None)
    return list(leaves.values())


def _non_reentrant(function: Callable, preserve_rng_state: bool, args: tuple, kwargs: dict):
    if not leafgrad.is_grad_enabled():
        return function(*args, **kwargs)
    rng_state = leafgrad.get_rng_state() if preserve_rng_state else None
    tensor_indices = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    tensors = [args[i] for i in tensor_indices]
    # Run once recording, on leaves cut from the arguments, to learn which other leaves (the
    # parameters the segment uses) need gradients; the graph is dropped when this returns.
    call_args = list(args)
    inputs = _detached_inputs(tuple(tensors))
    for index, leaf in zip(tensor_indices, inputs):
        call_args[index] = leaf
    outputs = function(*call_args, **kwargs)
    single = not isinstance(outputs, tuple)
    outs = (outputs,) if single else outputs
    input_ids = {id(t) for t in inputs}
    params = [p for p in _graph_leaves(outs) if id(p) not in input_ids]
    recorded_outs = [o for o in outs if isinstance(o, Tensor) and o.requires_grad]
    if not recorded_outs:
        return outputs
    if not tensors and not params:
        return outputs
    state = {"function": function, "args": [None if isinstance(a, Tensor) else a for a in args],
             "kwargs": kwargs, "tensor_indices": tensor_indices, "rng_state": rng_state,
             "outputs": recorded_outs}
    del outputs, call_args, inputs
    recorded = iter(_Recompute.apply(state, *tensors, *params))
    result = tuple(next(recorded) if isinstance(o, Tensor) and o.requires_grad else o
                   for o in outs)
    return result[0] if single else result


def checkpoint(function: Callable, *args: Any, use_reentrant: bool | None = None,
               context_fn: Callable | None = None, determinism_check: str = "default",
               debug: bool = False, preserve_rng_state: bool = True, **kwargs: Any):
    """Run ``function(*args, **kwargs)`` without keeping its activations; backward recomputes
    them (restoring the default generator's state first, so dropout draws the same mask).

    ``use_reentrant=True`` is torch's original algorithm (a custom Function whose backward runs
    a nested ``autograd.grad``; gradients flow only through tensor arguments, and at least one
    must require grad). ``use_reentrant=False`` also reaches the parameters of a module passed as
    ``function``. As torch 2.x, leaving it unset warns and uses the reentrant version.
    """
    if context_fn is not None:
        raise NotImplementedError("context_fn is not supported by leafgrad's checkpoint")
    if use_reentrant is None:
        warnings.warn("torch.utils.checkpoint: the use_reentrant parameter should be passed "
                      "explicitly: use_reentrant=False is recommended (use_reentrant=True is "
                      "used now)", UserWarning, stacklevel=2)
        use_reentrant = True
    if use_reentrant:
        if kwargs:
            raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
        if leafgrad.is_grad_enabled() and \
                not any(isinstance(a, Tensor) and a.requires_grad for a in args):
            warnings.warn("None of the inputs have requires_grad=True. Gradients will be None",
                          UserWarning, stacklevel=2)
        return CheckpointFunction.apply(function, preserve_rng_state, *args)
    return _non_reentrant(function, preserve_rng_state, args, kwargs)


def checkpoint_sequential(functions, segments: int, input: Tensor,
                          use_reentrant: bool | None = None, **kwargs: Any):
    """Split a sequence of modules into ``segments`` chunks and checkpoint each but the last."""
    functions = list(functions.children()) if isinstance(functions, leafgrad.nn.Sequential) \
        else list(functions)
    segment_size = max(len(functions) // segments, 1)

    def run(start: int, end: int) -> Callable:
        def forward(x):
            for layer in functions[start:end]:
                x = layer(x)
            return x
        return forward

    end = -1
    for start in range(0, segment_size * (segments - 1), segment_size):
        end = start + segment_size - 1
        input = checkpoint(run(start, end + 1), input, use_reentrant=use_reentrant, **kwargs)
    return run(end + 1, len(functions))(input)
