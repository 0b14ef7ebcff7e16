"""Anomaly detection: remember where each node was created; name it when its backward fails."""
from __future__ import annotations

import os
import traceback
import warnings

import numpy as np

from leafgrad._grad_state import ANOMALY_USE
from leafgrad.autograd.grad_mode import STATE

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled",
           "is_anomaly_check_nan_enabled"]


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
        self.prev = (STATE.anomaly, STATE.anomaly_check_nan)
        ANOMALY_USE.ever = True
        STATE.anomaly, STATE.anomaly_check_nan = True, self.check_nan

    def __exit__(self, *exc) -> None:
        STATE.anomaly, STATE.anomaly_check_nan = self.prev


class set_detect_anomaly(detect_anomaly):
    """Turn anomaly detection on or off (a plain call or a context manager)."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev = (STATE.anomaly, STATE.anomaly_check_nan)
        if mode:
            ANOMALY_USE.ever = True
        STATE.anomaly, STATE.anomaly_check_nan = mode, check_nan

    def __enter__(self) -> None:
        pass


def is_anomaly_enabled() -> bool:
    """True while anomaly detection is on (``torch.is_anomaly_enabled``)."""
    return STATE.anomaly


def is_anomaly_check_nan_enabled() -> bool:
    """True while anomaly detection also checks backward results for NaN."""
    return STATE.anomaly_check_nan


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


def run_with_anomaly_check(node, grad_outputs, run):
    try:
        grads = run(node, grad_outputs)
        if STATE.anomaly_check_nan:
            for index, g in enumerate(grads):
                # NaN only, as torch: an infinite gradient (sqrt at 0) is a valid result
                if g is not None and hasattr(g, "_data") and g._data.dtype.kind == "f" and \
                        np.isnan(g._data).any():
                    raise RuntimeError(f"Function '{node.name()}' returned nan values in its "
                                       f"{index}th output.")
    except Exception:
        _warn_error_in(node)
        raise
    return grads
