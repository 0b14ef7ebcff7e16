"""Anomaly detection: remember where each node was created; name it when its backward fails."""
from __future__ import annotations

import traceback

import numpy as np

from leafgrad.autograd.grad_mode import STATE

__all__ = ["detect_anomaly", "set_detect_anomaly"]


class detect_anomaly:
    """Context manager: record forward tracebacks, and check backward results for NaN."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan
        self.prev = (False, True)

    def __enter__(self) -> None:
        self.prev = (STATE.anomaly, STATE.anomaly_check_nan)
        STATE.anomaly, STATE.anomaly_check_nan = True, self.check_nan

    def __exit__(self, *exc) -> None:
        STATE.anomaly, STATE.anomaly_check_nan = self.prev


class set_detect_anomaly(detect_anomaly):
    """Turn anomaly detection on or off (a plain call or a context manager)."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev = (STATE.anomaly, STATE.anomaly_check_nan)
        STATE.anomaly, STATE.anomaly_check_nan = mode, check_nan

    def __enter__(self) -> None:
        pass


def is_anomaly_enabled() -> bool:
    return STATE.anomaly


def record_forward_trace(node) -> None:
    node._anomaly_trace = "".join(traceback.format_stack()[:-3])


def _forward_trace(node) -> str:
    trace = node._anomaly_trace
    return f"\nTraceback of forward call that caused the error:\n{trace}" if trace else ""


def run_with_anomaly_check(node, grad_outputs, run):
    try:
        grads = run(node, grad_outputs)
    except Exception as error:
        raise type(error)(f"{error}\n(in the backward of {node.name()})"
                          f"{_forward_trace(node)}") from error
    if STATE.anomaly_check_nan:
        for index, g in enumerate(grads):
            if g is not None and hasattr(g, "_data") and g._data.dtype.kind == "f" and \
                    not np.all(np.isfinite(g._data)):
                raise RuntimeError(f"Function '{node.name()}' returned nan values in its "
                                   f"{index}th output.{_forward_trace(node)}")
    return grads


