"""Automatic differentiation: the engine, custom functions, grad modes and checks."""
from leafgrad.autograd import graph, views  # views: the in-place machinery Tensors call
from leafgrad.autograd.anomaly_mode import detect_anomaly, set_detect_anomaly
from leafgrad.autograd.api import backward, grad
from leafgrad.autograd.function import Function, FunctionCtx, once_differentiable
from leafgrad.autograd.grad_mode import (
                                         enable_grad,
                                         inference_mode,
                                         is_grad_enabled,
                                         is_inference_mode_enabled,
                                         no_grad,
                                         set_grad_enabled,
)
from leafgrad.autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck
from leafgrad.autograd.variable import Variable

__all__ = ["backward", "grad", "Function", "FunctionCtx", "once_differentiable", "gradcheck",
           "gradgradcheck", "GradcheckError", "no_grad", "enable_grad", "set_grad_enabled",
           "inference_mode", "is_grad_enabled", "is_inference_mode_enabled", "Variable",
           "detect_anomaly", "set_detect_anomaly", "graph", "views"]
