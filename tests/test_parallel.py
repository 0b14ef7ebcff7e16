"""The intra-op pool: chunks, inline small work, errors, fork, and the thread-count settings."""
import os
import sys
import threading

import numpy as np
import pytest

import leafgrad
from leafgrad import _parallel


@pytest.fixture
def always_parallel(monkeypatch):
    """Every pass on the pool, whatever its size, with two threads."""
    monkeypatch.setattr(_parallel, "MIN_PARALLEL_BYTES", 0)
    monkeypatch.setattr(_parallel, "_num_threads", 2)


@pytest.mark.parametrize("count", [1, 2, 3, 7, 8, 9, 100, 1001])
def test_chunks_cover_the_range_once(always_parallel, count):
    seen = np.zeros(count, dtype=np.int64)
    lock = threading.Lock()

    def mark(start, stop):
        assert 0 <= start < stop <= count
        with lock:
            seen[start:stop] += 1

    _parallel.parallel_for(count, mark, nbytes=1)
    assert (seen == 1).all()


def test_min_chunk_bounds_the_chunk_size(always_parallel):
    sizes = []
    _parallel.parallel_for(100, lambda a, b: sizes.append(b - a), nbytes=1, min_chunk=30)
    assert sum(sizes) == 100 and min(sizes) >= 30


def test_zero_count_calls_nothing(always_parallel):
    calls = []
    _parallel.parallel_for(0, lambda a, b: calls.append((a, b)), nbytes=1)
    assert calls == []


def test_small_work_runs_inline_in_one_call(monkeypatch):
    monkeypatch.setattr(_parallel, "_num_threads", 2)
    calls = []
    _parallel.parallel_for(50, lambda a, b: calls.append((a, b, threading.current_thread())),
                           nbytes=_parallel.MIN_PARALLEL_BYTES - 1)
    assert calls == [(0, 50, threading.current_thread())]


def test_one_thread_runs_inline(monkeypatch):
    monkeypatch.setattr(_parallel, "_num_threads", 1)
    calls = []
    _parallel.parallel_for(50, lambda a, b: calls.append((a, b)), nbytes=1 << 40)
    assert calls == [(0, 50)]


def test_exceptions_propagate_after_every_chunk_finished(always_parallel):
    done = []

    def fail_in_one(start, stop):
        if start == 0:
            raise ValueError("chunk failed")
        done.append(start)

    with pytest.raises(ValueError, match="chunk failed"):
        _parallel.parallel_for(8, fail_in_one, nbytes=1)
    assert len(done) == 7  # the other chunks all ran


def test_nested_calls_and_several_callers(always_parallel):
    total = np.zeros(64, dtype=np.int64)

    def outer(start, stop):
        def inner(a, b):
            total[a:b] += 1
        _parallel.parallel_for(stop - start, lambda a, b: inner(start + a, start + b), nbytes=1)

    other = threading.Thread(target=_parallel.parallel_for, args=(64, outer, 1))
    other.start()
    _parallel.parallel_for(64, outer, nbytes=1)
    other.join()
    assert (total == 2).all()


def test_parallel_copyto_matches_a_copy(always_parallel):
    source = np.arange(2 * 3 * 40, dtype=np.float32).reshape(40, 3, 2).transpose(2, 1, 0)
    out = np.empty(source.shape, dtype=np.float32)
    _parallel.parallel_copyto(out, source)
    np.testing.assert_array_equal(out, source)


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin",
                    reason="needs fork")
def test_pool_works_in_a_forked_child(always_parallel):
    _parallel.parallel_for(8, lambda a, b: None, nbytes=1)  # the parent's workers run
    pid = os.fork()
    if pid == 0:  # child: the parent's workers do not exist here
        code = 1
        try:
            seen = np.zeros(16, dtype=np.int64)
            _parallel.parallel_for(16, lambda a, b: seen.__setitem__(slice(a, b), 1), nbytes=1)
            code = 0 if (seen == 1).all() else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_set_get_num_threads_round_trip():
    before = leafgrad.get_num_threads()
    try:
        leafgrad.set_num_threads(1)
        assert leafgrad.get_num_threads() == 1
        leafgrad.set_num_threads(3)
        assert leafgrad.get_num_threads() == 3
    finally:
        leafgrad.set_num_threads(before)
    assert leafgrad.get_num_threads() == before


@pytest.mark.parametrize("value, message", [
    (0, "set_num_threads expects a positive integer"),
    (-2, "set_num_threads expects a positive integer"),
    (1.5, "set_num_threads expects an int, but got float"),
    ("2", "set_num_threads expects an int, but got str"),
])
def test_set_num_threads_errors_as_torch(value, message):
    with pytest.raises(RuntimeError, match=message):
        leafgrad.set_num_threads(value)
