"""Argument checks shared by the public ops."""
from __future__ import annotations

from leafgrad._tensor import Tensor


def expect_tensor(value, op_name: str, arg_name: str = "input", position: int = 1,
                  optional: bool = False):
    """Give ``value`` back when it is a Tensor; otherwise raise torch's TypeError
    ("neg(): argument 'input' (position 1) must be Tensor, not NoneType") instead of letting an
    AttributeError leak from the op's body. Call it only where the op would touch a tensor
    attribute of the argument, so hot paths pay nothing. ``optional``: None is accepted too."""
    if not isinstance(value, Tensor) and not (optional and value is None):
        wanted = "Tensor (or None)" if optional else "Tensor"
        raise TypeError(f"{op_name}(): argument '{arg_name}' (position {position}) must be "
                        f"{wanted}, not {type(value).__name__}")
    return value


class ArgumentAssertionError(AssertionError, ValueError):
    """A bad argument where torch raises AssertionError (multi-head attention's shape checks,
    embedding's padding_idx): catchable as torch's AssertionError and as the ValueError that
    leafgrad gives every other bad value."""
