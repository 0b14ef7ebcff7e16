"""A small intra-op thread pool for memory-bound NumPy work (copies, scatters, elementwise
passes), and torch's ``set_num_threads`` / ``get_num_threads``.

NumPy releases the GIL inside copies and ufunc loops over large arrays, so running the chunks of
one such pass on several threads uses several cores, as PyTorch's intra-op pool does; the matrix
products already run on BLAS's own threads. Work below ``MIN_PARALLEL_BYTES`` runs inline: a
thread hand-off costs tens of microseconds.

Every caller takes part in its own work: it claims chunks until none is left and only then
waits, so it never waits for a chunk nobody has started. That keeps nested calls and calls from
several Python threads at once free of deadlocks, and the waits block (no spinning).
"""
from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable

__all__ = ["get_num_threads", "parallel_copyto", "parallel_for", "set_num_threads"]

# Below this many bytes written a pass runs on the calling thread alone. A woken worker needs
# the GIL before it can claim a chunk, which takes it ~70 microseconds: measured on two cores,
# splitting a strided copy gains from about 2 MiB, a contiguous multiply from 4 MiB, and the
# 1-4 MiB copies of the benchmark two_net step lost.
MIN_PARALLEL_BYTES = 4 << 20
# Chunks per thread: a worker that starts late (or a busy core) leaves its share to the others.
CHUNKS_PER_THREAD = 4

_num_threads: int | None = None  # None until first asked: reading BLAS's count costs ~ms
_tasks: queue.SimpleQueue | None = None  # the workers' queue, started on first parallel use
_start_lock = threading.Lock()


def _numpy_blas():
    """threadpoolctl's controller for NumPy's own BLAS (PyTorch may load another one), or None
    without threadpoolctl."""
    try:
        import threadpoolctl
    except ImportError:
        return None
    blas = threadpoolctl.ThreadpoolController().select(user_api="blas")
    # NumPy's wheels bundle it in numpy.libs (numpy/.dylibs on macOS)
    bundled = [lib for lib in blas.lib_controllers if "numpy" in lib.filepath]
    return bundled[0] if bundled else (blas.lib_controllers or [None])[0]


def get_num_threads() -> int:
    """The number of threads leafgrad's intra-op work uses (as ``torch.get_num_threads``): by
    default NumPy's BLAS thread count (``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` set it),
    or the CPU count without threadpoolctl.

    Example::

        leafgrad.get_num_threads()  # 2 on a two-core machine
    """
    global _num_threads
    if _num_threads is None:
        blas = _numpy_blas()
        _num_threads = max(1, int(blas.num_threads) if blas is not None else
                           os.cpu_count() or 1)
    return _num_threads


def set_num_threads(n: int) -> None:
    """Use ``n`` threads for intra-op work (as ``torch.set_num_threads``): leafgrad's own pool
    and, through threadpoolctl when installed, NumPy's BLAS (the matrix products).

    Example::

        leafgrad.set_num_threads(1)  # everything on the calling thread
    """
    global _num_threads
    if isinstance(n, bool) or not isinstance(n, int):
        raise RuntimeError(f"set_num_threads expects an int, but got {type(n).__name__}")
    if n <= 0:
        raise RuntimeError("set_num_threads expects a positive integer")
    blas = _numpy_blas()
    if blas is not None:
        blas.set_num_threads(n)
    _num_threads = n
    # the workers read the count per call: extra ones idle, missing ones start on demand


class _Job:
    """One ``parallel_for`` call: chunks claimed one at a time by whichever thread is free."""

    __slots__ = ("fn", "bounds", "next", "left", "error", "lock", "finished")

    def __init__(self, fn: Callable[[int, int], None], bounds: list) -> None:
        self.fn, self.bounds = fn, bounds
        self.next, self.left, self.error = 0, len(bounds), None
        self.lock = threading.Lock()
        self.finished = threading.Lock()
        self.finished.acquire()  # released when the last chunk is done

    def work(self) -> None:
        """Run chunks until none is left to claim."""
        while True:
            with self.lock:
                if self.next == len(self.bounds):
                    return
                start, stop = self.bounds[self.next]
                self.next += 1
            try:
                self.fn(start, stop)
            except BaseException as error:  # handed to the caller, which re-raises it
                with self.lock:
                    self.error = self.error or error
            with self.lock:
                self.left -= 1
                if self.left == 0:
                    self.finished.release()


_workers: list = []


def _worker(tasks: queue.SimpleQueue) -> None:
    while True:
        job = tasks.get()
        job.work()
        del job  # drop the arrays the chunks reach before blocking again


def _ensure_workers(count: int) -> queue.SimpleQueue:
    global _tasks
    with _start_lock:
        if _tasks is None:
            _tasks = queue.SimpleQueue()
        while len(_workers) < count:
            thread = threading.Thread(target=_worker, args=(_tasks,), daemon=True,
                                      name=f"leafgrad-intra-op-{len(_workers)}")
            thread.start()
            _workers.append(thread)
        return _tasks


def _forget_workers_in_child() -> None:
    """After fork only the forking thread exists in the child: start afresh there."""
    global _tasks, _start_lock
    _tasks, _start_lock = None, threading.Lock()
    _workers.clear()


os.register_at_fork(after_in_child=_forget_workers_in_child)


def parallel_for(count: int, fn: Callable[[int, int], None], nbytes: int,
                 min_chunk: int = 1, min_bytes: int | None = None) -> None:
    """Call ``fn(start, stop)`` over chunks that cover ``range(count)`` exactly once, on up to
    ``get_num_threads()`` threads (the caller among them); ``nbytes`` is how much memory the
    whole pass writes (or reads, where that is the larger part of its work): below
    ``min_bytes`` (default ``MIN_PARALLEL_BYTES``; more for chunks that make many small NumPy
    calls, each of which hands the GIL over) it is one inline ``fn(0, count)``. Chunks hold at
    least ``min_chunk`` items. ``fn`` must write disjoint memory per chunk. The first exception
    a chunk raises is raised here once every started chunk has finished.

    Example::

        parallel_for(len(out), lambda a, b: np.copyto(out[a:b], src[a:b]), out.nbytes * 2)
    """
    threads = min(get_num_threads(), count // max(1, min_chunk))
    if threads <= 1 or nbytes < (MIN_PARALLEL_BYTES if min_bytes is None else min_bytes):
        if count > 0:
            fn(0, count)
        return
    chunks = min(threads * CHUNKS_PER_THREAD, count // max(1, min_chunk))
    edges = [count * i // chunks for i in range(chunks + 1)]
    job = _Job(fn, list(zip(edges[:-1], edges[1:])))
    tasks = _ensure_workers(threads - 1)
    for _ in range(threads - 1):
        tasks.put(job)
    job.work()
    job.finished.acquire()
    if job.error is not None:
        raise job.error


def parallel_copyto(out, source) -> None:
    """``out[...] = source``, split over the first dim where both have the same shape (else one
    broadcasting copy); the values are those of one copy."""
    def copy(start: int, stop: int) -> None:
        out[start:stop] = source[start:stop]

    if out.ndim == 0 or out.shape != source.shape:
        out[...] = source
    else:
        parallel_for(out.shape[0], copy, out.nbytes)
