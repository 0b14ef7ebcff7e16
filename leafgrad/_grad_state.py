"""The per-thread autograd flags read on every op (kept apart so that the Tensor module can
read them without importing the autograd package)."""
import threading


class _GradState(threading.local):
    """Class attributes give each new thread the defaults: grad on, anomaly mode off."""

    enabled = True
    inference = False
    anomaly = False
    anomaly_check_nan = True


STATE = _GradState()


class _AnomalyUse:
    """Whether any thread ever turned anomaly mode on: until then the hot path need not read the
    per-thread flag (a thread-local read costs as much as a small op's bookkeeping)."""

    ever = False


ANOMALY_USE = _AnomalyUse()
