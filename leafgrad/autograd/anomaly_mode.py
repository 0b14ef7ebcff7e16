"""Anomaly detection: remember where each node was created; name it when its backward fails."""
from __future__ import annotations

import os
import traceback
import warnings

from leafgrad._backend import xp
from leafgrad._dtype import is_differentiable
from leafgrad._grad_state import STATE
from leafgrad.autograd.dispatch import Mode, pop_mode, push_mode

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled",
           "is_anomaly_check_nan_enabled", "AnomalyMode"]


class AnomalyMode(Mode):
    """The dispatch mode of anomaly detection: each node made while it is active keeps the
    traceback of its forward call, and a failing backward names it (with ``check_nan``, a
    backward that returns NaN fails too)."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan

    def apply(self, op, args: tuple, kwargs: dict):
        result = op.apply(*args, **kwargs)
        first = result[0] if type(result) is tuple and result else result
        node = getattr(first, "_grad_fn", None)
        if node is not None and node._anomaly_trace is None:
            record_forward_trace(node)
        return result

    def backward(self, node, grad_outputs: tuple, proceed):
        try:
            grads = proceed(node, grad_outputs)
            if self.check_nan:
                for index, g in enumerate(grads):
                    # NaN only, as torch: an infinite gradient (sqrt at 0) is a valid result
                    if g is not None and hasattr(g, "_data") and \
                            is_differentiable(g._data.dtype) and xp.isnan(g._data).any():
                        raise RuntimeError(f"Function '{node.name()}' returned nan values in "
                                           f"its {index}th output.")
        except Exception:
            _warn_error_in(node)
            raise
        return grads


def _anomaly_mode() -> AnomalyMode | None:
    for mode in STATE.modes:
        if type(mode) is AnomalyMode:
            return mode
    return None


def _set_anomaly(enabled: bool, check_nan: bool) -> None:
    """Replace this thread's anomaly mode (if any) by a new one, or by none."""
    current = _anomaly_mode()
    if current is not None:
        pop_mode(current)
    if enabled:
        push_mode(AnomalyMode(check_nan))


class detect_anomaly:
    """Context manager: record forward tracebacks, and check backward results for NaN.

    Example::

        with leafgrad.autograd.detect_anomaly():
            loss.backward()   # a failing backward names the forward line that made its node
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan
        self.prev = (False, True)
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime "
                      "and should only be enabled for debugging.", UserWarning, stacklevel=2)

    def __enter__(self) -> None:
        self.prev = (is_anomaly_enabled(), is_anomaly_check_nan_enabled())
        _set_anomaly(True, self.check_nan)

    def __exit__(self, *exc) -> None:
        _set_anomaly(*self.prev)


class set_detect_anomaly(detect_anomaly):
    """Turn anomaly detection on or off (a plain call or a context manager)."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev = (is_anomaly_enabled(), is_anomaly_check_nan_enabled())
        _set_anomaly(mode, check_nan)

    def __enter__(self) -> None:
        pass


def is_anomaly_enabled() -> bool:
    """True while anomaly detection is on (``torch.is_anomaly_enabled``)."""
    return _anomaly_mode() is not None


def is_anomaly_check_nan_enabled() -> bool:
    """True while anomaly detection also checks backward results for NaN."""
    mode = _anomaly_mode()
    return True if mode is None else mode.check_nan


_AUTOGRAD_DIR = os.path.dirname(os.path.abspath(__file__))


def record_forward_trace(node) -> None:
    """Keep the stack of the forward call that created ``node``, up to the frame that called
    into the autograd package (the op, module or user code that made it)."""
    frames = traceback.extract_stack()
    end = len(frames)
    while end > 1 and os.path.dirname(os.path.abspath(frames[end - 1].filename)) == \
            _AUTOGRAD_DIR:
        end -= 1
    node._anomaly_trace = "".join(traceback.format_list(frames[:end]))


def _warn_error_in(node) -> None:
    """torch's report: a warning naming the node and the forward call that created it; the
    error itself propagates unchanged."""
    trace = node._anomaly_trace
    warnings.warn(f"Error detected in {node.name()}. " + (
        f"Traceback of forward call that caused the error:\n{trace}" if trace else
        "No forward pass information available. Enable detect anomaly during forward pass "
        "for more information."), UserWarning, stacklevel=2)
