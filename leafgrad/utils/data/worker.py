"""What runs inside a DataLoader worker process, and how batches cross the process boundary.

leafgrad tensors refuse to be pickled (so that ``leafgrad.load`` can never run code), so every
object sent between the loader and its workers goes through :class:`TensorPickler`, which
replaces each tensor by its NumPy array, and :class:`TensorUnpickler`, which rebuilds it. Both
ends are processes of the same program, so the pickles are trusted.
"""
from __future__ import annotations

import io
import os
import pickle
import queue
import random
import sys
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np

from leafgrad._factories import from_numpy, manual_seed
from leafgrad._tensor import Tensor

__all__ = ["WorkerInfo", "get_worker_info"]

_worker_info: WorkerInfo | None = None


@dataclass(frozen=True)
class WorkerInfo:
    """Describes the worker process it is read in: ``id`` (0 .. num_workers - 1),
    ``num_workers``, ``seed`` (that of leafgrad's default generator there) and ``dataset``
    (this worker's copy)."""

    id: int
    num_workers: int
    seed: int
    dataset: Any


def get_worker_info() -> WorkerInfo | None:
    """The :class:`WorkerInfo` of the current DataLoader worker process; None in the main
    process. An ``IterableDataset`` uses it to give each worker its own share of the stream.

    Example::

        >>> class Numbers(IterableDataset):
        ...     def __iter__(self):
        ...         info = get_worker_info()
        ...         start, step = (0, 1) if info is None else (info.id, info.num_workers)
        ...         return iter(range(start, 10, step))
    """
    return _worker_info


class TensorPickler(pickle.Pickler):
    """A pickler that sends tensors as their arrays (and requires_grad flags)."""

    def persistent_id(self, obj):
        if isinstance(obj, Tensor):
            if obj.requires_grad and obj.grad_fn is not None:
                raise RuntimeError(
                    "Cowardly refusing to serialize non-leaf tensor which requires_grad, since "
                    "autograd does not support crossing process boundaries. If you just want "
                    "to transfer the data, call detach() on the tensor before serializing "
                    "(e.g., returning it from a DataLoader worker).")
            return ("leafgrad.Tensor", obj._data, obj.requires_grad)
        return None


class TensorUnpickler(pickle.Unpickler):
    def persistent_load(self, pid):
        kind, array, requires_grad = pid
        if kind != "leafgrad.Tensor":
            raise pickle.UnpicklingError(f"unknown persistent id {kind!r}")
        out = from_numpy(array)
        out.requires_grad = requires_grad
        return out


def dumps(obj: Any) -> bytes:
    buffer = io.BytesIO()
    TensorPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buffer.getvalue()


def loads(data: bytes) -> Any:
    return TensorUnpickler(io.BytesIO(data)).load()


class ExceptionWrapper:
    """An exception raised in a worker, carried to the main process with its traceback."""

    def __init__(self, exc_info, where: str) -> None:
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        message = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        try:
            exception = self.exc_type(message)
        except Exception:  # an exception type whose constructor wants other arguments
            raise RuntimeError(message) from None
        raise exception


class IterableDatasetStop:
    """Sent by a worker whose copy of an IterableDataset is exhausted."""

    def __init__(self, worker_id: int) -> None:
        self.worker_id = worker_id


def _seed_worker(base_seed: int, worker_id: int) -> int:
    """Seed Python's, NumPy's and leafgrad's generators from the loader's base seed, as torch
    seeds its workers (NumPy's from a hash of both numbers, so workers' streams differ)."""
    seed = base_seed + worker_id
    random.seed(seed)
    manual_seed(seed)
    np.random.seed(np.random.SeedSequence([base_seed, worker_id]).generate_state(4))
    return seed


def _pickled(payload, worker_id: int) -> bytes:
    """``payload`` pickled, or else the error that stopped it, pickled."""
    try:
        return dumps(payload)
    except Exception:  # e.g. a batch holding a non-leaf tensor that requires grad
        wrapper = ExceptionWrapper(sys.exc_info(), f"in DataLoader worker process {worker_id}")
    try:
        return dumps(wrapper)
    except Exception:  # an exception class that cannot be pickled: keep its message
        wrapper.exc_type = RuntimeError
        return dumps(wrapper)


def worker_loop(setup, index_queue, result_queue, base_seed: int, worker_id: int,
                num_workers: int, parent_pid: int) -> None:
    """Fetch the batches named on ``index_queue`` and put ``(task index, pickled batch)`` on
    ``result_queue`` until a None arrives (or the parent process is gone)."""
    from leafgrad.utils.data.dataloader import make_fetcher  # the loader imports this module

    global _worker_info
    try:
        init_error = None
        try:
            if isinstance(setup, bytes):  # spawn/forkserver: the loader sent its pickled parts
                setup = loads(setup)
            dataset, kind, auto_collation, collate_fn, drop_last, worker_init_fn = setup
            seed = _seed_worker(base_seed, worker_id)
            _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed,
                                      dataset=dataset)
            if worker_init_fn is not None:
                worker_init_fn(worker_id)
            fetcher = make_fetcher(kind, dataset, auto_collation, collate_fn, drop_last)
        except Exception:
            # reported with the first batch this worker is asked for
            init_error = ExceptionWrapper(sys.exc_info(),
                                          f"in DataLoader worker process {worker_id}")
        iteration_end = False
        while True:
            try:
                task = index_queue.get(timeout=1.0)
            except queue.Empty:
                if os.getppid() != parent_pid:  # the loader's process died: stop quietly
                    break
                continue
            if task is None:
                break
            task_index, indices = task
            if init_error is not None:
                payload = init_error  # a worker that could not start fails every task
            elif iteration_end:
                continue  # the loader has stopped asking this worker, but tasks were in flight
            else:
                try:
                    payload = fetcher.fetch(indices)
                except StopIteration:
                    payload = IterableDatasetStop(worker_id)
                    iteration_end = True
                except Exception:
                    payload = ExceptionWrapper(sys.exc_info(),
                                               f"in DataLoader worker process {worker_id}")
            result_queue.put((task_index, _pickled(payload, worker_id)))
    except KeyboardInterrupt:
        pass  # the main process handles Ctrl-C and shuts the workers down
    # Results still in the pipe are not needed once the loader says stop: don't wait to flush.
    result_queue.cancel_join_thread()
    result_queue.close()
