"""The machinery of module backward hooks (``register_full_backward_hook`` and its pre-hook).

As in torch, a module with such hooks passes its tensor inputs, and the tensors its forward
returns, through an identity function, :class:`BackwardHookFunction`. The node of that function
on the outputs sees the gradients w.r.t. the module's outputs (``grad_output``), the node on
the inputs sees the gradients w.r.t. the module's inputs (``grad_input``); hooks registered on
those two nodes call the user's hooks, whose results replace the gradients that flow on.
"""
from __future__ import annotations

import warnings

from leafgrad._tensor import Tensor
from leafgrad.autograd.function import Function
from leafgrad.autograd.grad_mode import is_grad_enabled

__all__ = ["BackwardHookFunction", "BackwardHook"]


class BackwardHookFunction(Function):
    """Identity on its tensor arguments; only its node matters (see the module docstring)."""

    @staticmethod
    def forward(ctx, *args: Tensor):
        # New aliases (rather than the arguments themselves), so the non-differentiable ones
        # can be marked as such: tensors that do not require grad stay that way.
        outputs = tuple(arg.view_as(arg) for arg in args)
        ctx.mark_non_differentiable(*[out for out, arg in zip(outputs, args)
                                      if not arg.requires_grad])
        return outputs

    @staticmethod
    def backward(ctx, *grad_outputs):
        # as torch, an input that received no gradient gets zeros here, which the input hook
        # sees as grad_input
        return grad_outputs


class BackwardHook:
    """Connects a module's full backward hooks and backward pre-hooks to one call's graph."""

    def __init__(self, module, user_hooks: list, user_pre_hooks: list) -> None:
        self.user_hooks = user_hooks
        self.user_pre_hooks = user_pre_hooks
        self.module = module
        self.grad_outputs = None
        self.n_outputs = -1
        self.output_tensors_index = None
        self.n_inputs = -1
        self.input_tensors_index = None

    @staticmethod
    def _pack_with_none(indices, values, size: int) -> tuple:
        packed = [None] * size
        for index, value in zip(indices, values):
            packed[index] = value
        return tuple(packed)

    @staticmethod
    def _unpack_none(indices, values) -> tuple:
        return tuple(values[index] for index in indices)

    def _set_user_hook(self, grad_fn) -> None:
        def hook(grad_input, _):
            if self.grad_outputs is None:
                # the gradient reached the inputs without passing through the outputs
                # (double backward, for instance): there is nothing to report
                return None
            packed = self._pack_with_none(self.input_tensors_index, grad_input, self.n_inputs)
            for user_hook in self.user_hooks:
                out = user_hook(self.module, packed, self.grad_outputs)
                if out is None:
                    continue
                if len(out) != len(packed):
                    raise RuntimeError(f"Backward hook returned an invalid number of grad_input, "
                                       f"got {len(out)}, but expected {len(packed)}")
                packed = out
            self.grad_outputs = None
            return self._unpack_none(self.input_tensors_index, packed)

        grad_fn.register_hook(hook)

    @staticmethod
    def _apply_on_tensors(fn, args: tuple):
        """Pass the tensors among ``args`` through a BackwardHookFunction, give its node to
        ``fn``, and return (the new args, the positions of the tensors), or (args, None) when
        no gradient will flow."""
        tensors_index = [i for i, arg in enumerate(args) if isinstance(arg, Tensor)]
        tensors = [args[i] for i in tensors_index]
        if not (any(t.requires_grad for t in tensors) and is_grad_enabled()):
            return args, None
        new_tensors = BackwardHookFunction.apply(*tensors)
        fn(next(t.grad_fn for t in new_tensors if t.grad_fn is not None))
        arg_list = list(args)
        for index, value in zip(tensors_index, new_tensors):
            arg_list[index] = value
        # a named tuple of outputs stays one
        return (tuple(arg_list) if type(args) is tuple else type(args)(*arg_list)), tensors_index

    def setup_input_hook(self, args: tuple) -> tuple:
        result, self.input_tensors_index = self._apply_on_tensors(self._set_user_hook, args)
        self.n_inputs = len(args)
        return result

    def setup_output_hook(self, result):
        def fn(grad_fn) -> None:
            received = []

            def note_received(grad_output):
                # the engine gives the node zeros for outputs that got no gradient; the hooks
                # see None for them, as torch's do
                received[:] = [g is not None for g in grad_output]

            def hook(_, grad_output):
                grad_output = tuple(g if got else None for g, got in zip(grad_output, received))
                self.grad_outputs = self._pack_with_none(self.output_tensors_index, grad_output,
                                                         self.n_outputs)
                expected = len(self.grad_outputs)
                for user_pre_hook in self.user_pre_hooks:
                    replaced = user_pre_hook(self.module, self.grad_outputs)
                    if replaced is None:
                        continue
                    if len(replaced) != expected:
                        raise RuntimeError(f"Backward pre hook returned an invalid number of "
                                           f"grad_output, got {len(replaced)}, but expected "
                                           f"{expected}")
                    self.grad_outputs = replaced
                local_grad_outputs = self.grad_outputs
                if self.input_tensors_index is None:
                    # no input requires grad: the hooks fire here, with grad_input all None
                    warnings.warn("Full backward hook is firing when gradients are computed with "
                                  "respect to module outputs since no inputs require gradients. "
                                  "See the documentation of Module.register_full_backward_hook "
                                  "for more details.", UserWarning, stacklevel=2)
                    grad_inputs = (None,) * self.n_inputs
                    for user_hook in self.user_hooks:
                        out = user_hook(self.module, grad_inputs, self.grad_outputs)
                        if out is not None and not (isinstance(out, tuple) and
                                                    all(g is None for g in out)):
                            raise RuntimeError("Backward hook for Modules where no input requires "
                                               "gradient should always return None or None for "
                                               "all gradients.")
                    self.grad_outputs = None
                return self._unpack_none(self.output_tensors_index, local_grad_outputs)

            grad_fn.register_prehook(note_received)
            grad_fn.register_hook(hook)

        is_tuple = isinstance(result, tuple)
        args = result if is_tuple else (result,)
        wrapped, self.output_tensors_index = self._apply_on_tensors(fn, args)
        self.n_outputs = len(args)
        return wrapped if is_tuple else wrapped[0]
