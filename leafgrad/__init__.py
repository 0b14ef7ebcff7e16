"""leafgrad: define-by-run automatic differentiation on NumPy, with PyTorch's semantics.

``import leafgrad as torch`` works for the API leafgrad covers.
"""
# ruff: noqa: I001 - the order below is deliberate: the core first, then the packages on it
from leafgrad import _dtype
from leafgrad._backend import device
from leafgrad._dtype import get_default_dtype, set_default_dtype
from leafgrad._tensor import Size, Tensor
from leafgrad._tensor_str import get_printoptions, set_printoptions
from leafgrad._factories import *  # the torch-like factory namespace
from leafgrad._parallel import get_num_threads, set_num_threads
from leafgrad import ops as _ops  # binds the ops as Tensor methods
from leafgrad.ops._checks import expect_tensor as _expect_tensor
from leafgrad.ops.elementwise import *
from leafgrad.ops.elementwise import result_type as _result_type
from leafgrad.ops.indexing import *
from leafgrad.ops.linalg import *
from leafgrad.ops.reduction import *
from leafgrad.ops.shape import *
from leafgrad.autograd.grad_mode import (enable_grad, inference_mode, is_grad_enabled,
                                         is_inference_mode_enabled, no_grad, set_grad_enabled)
from leafgrad.autograd.anomaly_mode import is_anomaly_check_nan_enabled, is_anomaly_enabled
from leafgrad import autograd, testing, viz
from leafgrad import nn, optim, datasets, utils
import leafgrad.utils.data  # torch.utils.data
from leafgrad.serialization import load, save

float32 = float = _dtype.float32
float64 = double = _dtype.float64
float16 = half = _dtype.float16
int64 = long = _dtype.int64
int32 = int = _dtype.int32
int16 = short = _dtype.int16
int8 = _dtype.int8
uint8 = _dtype.uint8
bool = _dtype.bool_
dtype = _dtype.dtype

__version__ = "0.1.0"


def is_tensor(obj) -> "builtins.bool":
    """True for leafgrad tensors (and Parameters)."""
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor) -> "builtins.bool":
    return _expect_tensor(input, "is_floating_point").is_floating_point()


def numel(input: Tensor) -> "builtins.int":
    return _expect_tensor(input, "numel").numel()


def result_type(tensor1, tensor2) -> dtype:
    """The dtype torch's promotion rules give for two operands."""
    return _dtype.from_numpy_dtype(_result_type(tensor1, tensor2))


def promote_types(type1: dtype, type2: dtype) -> dtype:
    import numpy
    for position, value in enumerate((type1, type2), 1):
        if not isinstance(value, dtype):
            raise TypeError(f"promote_types(): argument 'type{position}' (position {position}) "
                            f"must be torch.dtype, not {type(value).__name__}")
    if type1._category != type2._category:
        return type1 if type1._category > type2._category else type2
    return _dtype.from_numpy_dtype(numpy.promote_types(type1.np_dtype, type2.np_dtype))


import builtins  # noqa: E402 - used only in the annotations above
