"""The per-thread autograd state read on every op (kept apart so that the Tensor module can
read it without importing the autograd package)."""
import threading


class _GradState(threading.local):
    """Class attributes give each new thread the defaults: grad on, no modes.

    ``modes`` is the thread's stack of dispatch modes (see ``autograd/dispatch.py``), and
    ``mode_depth`` counts the mode rules running on this thread (their ops take the general
    path)."""

    enabled = True
    inference = False
    modes: tuple = ()
    mode_depth = 0


STATE = _GradState()
