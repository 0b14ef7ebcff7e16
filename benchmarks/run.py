"""Benchmark runner: each workload in leafgrad, PyTorch, MyGrad and HIPS autograd, interleaved.

Usage: ``python -m benchmarks [--quick] [--only NAME[,NAME...]] [--results PATH]``
(or ``python benchmarks/run.py ...``). Prints per workload the median time, min-max, and the
ratio of leafgrad's median to each other library's; writes a results file (machine, versions,
table). PyTorch, MyGrad and HIPS autograd are timed where installed (``pip install
leafgrad[bench]``); every library gets the same weights and data, and its first two losses are
checked against leafgrad's, so all of them compute the same thing.
"""
from __future__ import annotations

import argparse
import datetime
import gc
import importlib.metadata
import os
import platform
import statistics
import sys
import time
import tracemalloc
import types
import weakref

if __package__ in (None, ""):  # python benchmarks/run.py
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Worker threads must not spin-wait between calls: the libraries take turns in one process, and
# OpenBLAS's threads (NumPy: leafgrad, MyGrad, HIPS autograd) spin for a while after each call
# (2^28 cycles by default) while OpenMP's (PyTorch) spin too, each taking a core from the other
# library's next step. Both are set before NumPy and PyTorch load (the user's values win).
SPIN_SETTINGS = {"OPENBLAS_THREAD_TIMEOUT": "4", "OMP_WAIT_POLICY": "PASSIVE"}
SPIN_SET_IN_TIME = "numpy" not in sys.modules and "torch" not in sys.modules
for _name, _value in SPIN_SETTINGS.items():
    os.environ.setdefault(_name, _value)

import numpy as np  # noqa: E402 (after the thread settings)
import threadpoolctl  # noqa: E402 (after the thread settings)

import leafgrad as lg  # noqa: E402 (after the thread settings)
from benchmarks import other_libs  # noqa: E402 (after the thread settings)

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_RESULTS = os.path.join(HERE, "RESULTS.md")
LIBS = ("leafgrad", "torch", "mygrad", "autograd")
DISPLAY = {"leafgrad": "leafgrad", "torch": "PyTorch", **other_libs.NAMES}
LOSS_RTOL = 1e-3  # float32 results of the same computation summed in different orders
MLP_BATCH, TWO_NET_BATCH, CONVNET_BATCH = (128, 784), (64, 3, 32, 32), (32, 3, 32, 32)
LSTM_INPUT = (32, 32, 64)  # (seq, batch, input)


def _numpy_blas() -> dict | None:
    """threadpoolctl's entry for NumPy's BLAS (PyTorch may load its own BLAS or OpenMP too)."""
    blas = [i for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"]
    bundled = [i for i in blas if "numpy" in i.get("filepath", "")]  # numpy.libs, numpy/.dylibs
    return (bundled or blas or [None])[0]


def blas_threads() -> int:
    info = _numpy_blas()
    return int(info["num_threads"]) if info else os.cpu_count() or 1


def mod(lib):
    return lg if lib == "leafgrad" else torch


# -- weights and data: built once in NumPy, given to every library ---------------------------
def _np_state(shapes: dict, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    out = {}
    for k, shape in shapes.items():
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
        bound = 1.0 / np.sqrt(fan_in)
        out[k] = rng.uniform(-bound, bound, size=shape).astype(np.float32)
    return out


def _np_weights(make, seed: int = 0) -> dict:
    """Weights initialised in NumPy for the state-dict names and shapes of ``make('leafgrad')``."""
    return _np_state({k: tuple(v.shape) for k, v in make("leafgrad").state_dict().items()}, seed)


def _np_data(shape, seed=1) -> tuple:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape).astype(np.float32),
            rng.integers(0, 10, size=shape[0]).astype(np.int64))


def _shared_init(make, lib: str, seed: int = 0):
    """Build ``make(lib)`` and load the NumPy-initialised weights."""
    m = mod(lib)
    model = make(lib)
    model.load_state_dict({k: m.tensor(v) for k, v in _np_weights(make, seed).items()})
    return model


def _data(lib, shape, seed=1):
    m = mod(lib)
    return tuple(m.tensor(a) for a in _np_data(shape, seed))


# -- workloads: each setup(lib, quick) returns a zero-argument step that returns its loss ----
def _chain_input():
    return np.linspace(0, 1, 10, dtype=np.float32)


def tiny_chain(lib, quick):
    m = mod(lib)
    x = m.tensor(_chain_input(), requires_grad=True)

    def step():
        x.grad = None
        y = x
        for _ in range(500):
            y = y * 1.0001 + 0.0001
        loss = y.sum()
        loss.backward()
        return loss
    return step


def _mlp(lib):
    nn = mod(lib).nn
    return nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(),
                         nn.Linear(1024, 10))


def _train_step(lib, params, forward, x, y):
    m = mod(lib)
    opt = m.optim.SGD(params, lr=other_libs.LR, momentum=other_libs.MOMENTUM)
    F = m.nn.functional

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(forward(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


def mlp(lib, quick):
    model = _shared_init(_mlp, lib)
    x, y = _data(lib, MLP_BATCH)
    return _train_step(lib, model.parameters(), model, x, y)


def _two_nets(lib):
    m = mod(lib)
    nn = m.nn
    if lib == "leafgrad":
        from leafgrad.models import Net1, Net2
        return nn.ModuleDict({"net1": Net1(), "net2": Net2()})
    F = nn.functional

    class Net1(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 6, 5)
            self.pool = nn.MaxPool2d(2, 2)
            self.conv2 = nn.Conv2d(6, 16, 5)

        def forward(self, x):
            x = self.pool(F.relu(self.conv1(x)))
            x = self.pool(F.relu(self.conv2(x)))
            return x.flatten(1)

    class Net2(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(400, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))
    return nn.ModuleDict({"net1": Net1(), "net2": Net2()})


def two_net(lib, quick):
    nets = _shared_init(_two_nets, lib)
    x, y = _data(lib, TWO_NET_BATCH)
    params = list(nets["net1"].parameters()) + list(nets["net2"].parameters())
    return _train_step(lib, params, lambda t: nets["net2"](nets["net1"](t)), x, y)


def _convnet(lib):
    nn = mod(lib).nn
    return nn.Sequential(
        nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(128, 256, 3, padding=1), nn.ReLU(),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(4096, 512), nn.ReLU(), nn.Linear(512, 10))


def convnet(lib, quick):
    model = _shared_init(_convnet, lib)
    x, y = _data(lib, CONVNET_BATCH)
    return _train_step(lib, model.parameters(), model, x, y)


def _lstm(lib):
    return mod(lib).nn.LSTM(64, 256)


def lstm(lib, quick):
    model = _shared_init(_lstm, lib)
    x, _ = _data(lib, LSTM_INPUT)

    def step():
        for p in model.parameters():
            p.grad = None
        out, _ = model(x)
        loss = out.sum()
        loss.backward()
        return loss
    return step


def _np_inputs(name) -> tuple:
    """(state, x, y) in NumPy for the hand-written versions in ``other_libs``: the same weights
    and data as the leafgrad and PyTorch versions get."""
    if name == "tiny_chain":
        return {}, _chain_input(), None
    make, shape = {"mlp": (_mlp, MLP_BATCH), "two_net": (_two_nets, TWO_NET_BATCH),
                   "convnet": (_convnet, CONVNET_BATCH), "lstm": (_lstm, LSTM_INPUT)}[name]
    return (_np_weights(make), *_np_data(shape))


# FLOPs per full step (forward + backward ~ 3x forward GEMM work)
def _mlp_flops():
    return 3 * 2 * 128 * (784 * 1024 + 1024 * 1024 + 1024 * 10)


def _conv_flops():
    b, f = 32, 0
    for cin, cout, hw in ((3, 64, 32), (64, 128, 16), (128, 256, 8), (256, 256, 8)):
        f += 2 * b * cout * hw * hw * cin * 9
    f += 2 * b * (4096 * 512 + 512 * 10)
    return 3 * f


WORKLOADS = {
    "tiny_chain": (tiny_chain, None),
    "mlp": (mlp, _mlp_flops),
    "two_net": (two_net, None),
    "convnet": (convnet, _conv_flops),
    "lstm": (lstm, None),
}
SPECIAL = ("deep_chain", "memory")
ALL = tuple(WORKLOADS) + SPECIAL


def _setup(name, lib, quick):
    if lib in ("leafgrad", "torch"):
        return WORKLOADS[name][0](lib, quick)
    state, x, y = _np_inputs(name)
    return other_libs.SETUPS[lib][name](state, x, y)


# -- timing ---------------------------------------------------------------------------------
def time_interleaved(steps: dict, quick: bool, budget: float = 1.5) -> tuple[dict, dict]:
    """Times of each step, run in turn (A B A B ...) after one warm-up call each, and the
    losses of each library's first two steps (the warm-up's and the first timed one's)."""
    losses = {k: [step().item()] for k, step in steps.items()}  # warm-up, excluded
    times = {k: [] for k in steps}
    min_reps, max_reps = (2, 2) if quick else (5, 200)
    while True:
        for k, step in steps.items():
            t0 = time.perf_counter()
            loss = step()
            times[k].append(time.perf_counter() - t0)
            if len(losses[k]) < 2:
                losses[k].append(loss.item())
            del loss
        n = len(next(iter(times.values())))
        if n >= max_reps:
            break
        if n >= min_reps and all(sum(v) >= budget for v in times.values()):
            break
    return times, losses


def check_losses(losses: dict) -> tuple[list, list]:
    """(libraries whose first two losses differ from leafgrad's beyond LOSS_RTOL, their worst
    relative differences): the first loss checks the forward, the second the gradients and the
    update too."""
    ref = losses["leafgrad"]
    bad, worst = [], []
    for lib, values in losses.items():
        if lib == "leafgrad":
            continue
        diff = max(abs(v - r) / max(abs(r), 1e-12) for v, r in zip(values, ref))
        worst.append(f"{DISPLAY[lib]} {diff:.1e}")
        if not diff <= LOSS_RTOL:
            bad.append(f"{DISPLAY[lib]} (losses {values} vs leafgrad {ref})")
    return bad, worst


def gemm_rate(quick: bool) -> float:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((1024, 1024)).astype(np.float32)
    b = rng.standard_normal((1024, 1024)).astype(np.float32)
    a @ b
    ts = []
    for _ in range(3 if quick else 20):
        t0 = time.perf_counter()
        a @ b
        ts.append(time.perf_counter() - t0)
    return 2 * 1024 ** 3 / min(ts) / 1e9


def _chain_backward(lib, n: int) -> float:
    """Seconds of the backward of ``n`` chained multiplications (the forward is not timed)."""
    if lib not in ("leafgrad", "torch"):
        return other_libs.DEEP_CHAIN[lib](n)
    m = mod(lib)
    x = m.tensor(np.ones(4, dtype=np.float32), requires_grad=True)
    y = x
    for _ in range(n):
        y = y * 1.0
    loss = y.sum()
    del y
    t0 = time.perf_counter()
    loss.backward()
    return time.perf_counter() - t0


def deep_chain(libs, quick):
    """Backward times of chains of n = 1e4 and 1e5 ops per library, and whether it raised
    RecursionError."""
    results = {}
    for lib in libs:
        res = {}
        for n in (10_000, 100_000):
            ts = []
            for _ in range(1 if quick else 3):
                try:
                    ts.append(_chain_backward(lib, n))
                except RecursionError:
                    res["recursion_error"] = True
                    break
                gc.collect()
            res[n] = ts
        results[lib] = res
    return results


# -- memory ---------------------------------------------------------------------------------
def _node_state(node):
    """The values a leafgrad backward node keeps for its backward: its saved-tensor entries and
    the attributes its forward stashed on ctx (not its edges, hooks or metadata)."""
    yield node._saved
    attributes = dict(getattr(node, "__dict__", {}))
    for cls in type(node).__mro__:
        for slot in getattr(cls, "__slots__", ()):
            if hasattr(node, slot):
                attributes.setdefault(slot, getattr(node, slot))
    for key, value in attributes.items():
        if key not in ("_saved", "_edges", "_metadata", "_hooks", "_pre_hooks",
                       "_tensor_pre_hooks", "_retained", "_output_meta", "_anomaly_trace"):
            yield value


def _arrays_in(value):
    """The arrays in a saved value: an array, a Tensor's array, or those in a tuple, list or
    dict."""
    if isinstance(value, np.ndarray):
        yield value
    elif isinstance(value, lg.Tensor):
        yield value._data
    elif isinstance(value, (tuple, list, dict)):
        for item in value.values() if isinstance(value, dict) else value:
            yield from _arrays_in(item)


def saved_arrays_leafgrad(loss) -> list:
    """Every array kept for backward by the graph of ``loss``, once per saving node (as PyTorch
    packs a tensor once per node that saves it)."""
    from leafgrad.autograd.graph import AccumulateGrad
    arrays, seen, stack = [], set(), [loss.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if not isinstance(node, AccumulateGrad):  # a leaf's own tensor is not saved state
            for value in _node_state(node):
                arrays.extend(_arrays_in(value))
        stack.extend(next_node for next_node, _ in node.next_functions)
    return arrays


def _holder_chain(target, depth: int = 5) -> str:
    """What keeps ``target`` alive: one referrer per level, e.g. ``ndarray <- Tensor._data <- tuple
    <- list <- ReluBackward0.__dict__['_saved']``, for the report of a leak. (Plain loops: a
    comprehension using ``target`` would put it in a closure cell, itself a referrer.)"""
    chain = [type(target).__name__]
    for _ in range(depth):
        holder = None
        for referrer in gc.get_referrers(target):
            if not isinstance(referrer, types.FrameType):
                holder = referrer
                break
        if holder is None:
            break
        label = type(holder).__name__
        for name in (*getattr(holder, "__dict__", ()), *getattr(type(holder), "__slots__", ())):
            if getattr(holder, name, None) is target:
                label = f"{label}.{name}"
        if isinstance(holder, dict):
            key = None
            for k, v in holder.items():
                if v is target:
                    key = k
            for owner in gc.get_referrers(holder):
                if getattr(owner, "__dict__", None) is holder:
                    label = f"{type(owner).__name__}.__dict__[{key!r}]"
                    holder = owner
        chain.append(label)
        target = holder
    return " <- ".join(chain)


def _alive_after_backward(loss, saved, held: list) -> tuple[int, list]:
    """Backward of ``loss`` (still held, as a training loop holds it), then the bytes of the
    ``saved`` arrays (weak references) that are still alive, apart from the arrays of ``held``
    tensors (parameters and data, alive anyway); with what holds each one still alive.
    ``saved`` is emptied first, so that only the graph holds its arrays."""
    held_ids = {id(a) for a in held}
    refs = [(weakref.ref(a), a.nbytes) for a in saved if id(a) not in held_ids]
    del saved[:]
    loss.backward()
    gc.collect()
    alive = [(ref, size) for ref, size in refs if ref() is not None]
    return sum(size for _, size in alive), [_holder_chain(ref()) for ref, _ in alive[:3]]


def _torch_saved(model, x, y) -> tuple[int, int]:
    """(bytes PyTorch saves for backward in one convnet step, bytes of them still alive after
    backward), measured with ``torch.autograd.graph.saved_tensors_hooks``."""
    held = {id(t) for t in (*model.parameters(), x, y)}
    total, refs = [0], []

    def pack(t):
        total[0] += t.numel() * t.element_size()
        if id(t) not in held:
            refs.append((weakref.ref(t), t.numel() * t.element_size()))
        return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    gc.collect()
    return total[0], sum(size for ref, size in refs if ref() is not None)


def _step_growth(step) -> tuple[int, int, str | None]:
    """tracemalloc over one warm leafgrad step (after two steps made the gradients and momentum
    buffers): (net bytes still allocated after it that were not before, peak bytes above the
    state before it, the allocation site with the largest net growth)."""
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, __file__)]
    tracemalloc.start()
    try:
        step()
        step()
        gc.collect()
        tracemalloc.take_snapshot().filter_traces(ignore)  # compiles and caches the filters
        before = tracemalloc.take_snapshot().filter_traces(ignore)
        start = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        step()
        gc.collect()
        peak = tracemalloc.get_traced_memory()[1] - start
        after = tracemalloc.take_snapshot().filter_traces(ignore)
    finally:
        tracemalloc.stop()
    diff = after.compare_to(before, "lineno")
    top = max(diff, key=lambda s: s.size_diff, default=None)
    where = (f"{top.traceback[0].filename}:{top.traceback[0].lineno}"
             if top is not None and top.size_diff > 0 else None)
    return sum(s.size_diff for s in diff), peak, where


def memory(libs, quick):
    out = {}
    model = _shared_init(_convnet, "leafgrad")
    x, y = _data("leafgrad", CONVNET_BATCH)
    loss = lg.nn.functional.cross_entropy(model(x), y)
    saved = saved_arrays_leafgrad(loss)
    out["saved_leafgrad"] = sum(a.nbytes for a in saved)
    held = [t._data for t in (*model.parameters(), x, y)]
    out["alive_leafgrad"], out["holders"] = _alive_after_backward(loss, saved, held)
    del loss
    if "torch" in libs:
        tmodel = _shared_init(_convnet, "torch")
        tx, ty = _data("torch", CONVNET_BATCH)
        out["saved_torch"], out["alive_torch"] = _torch_saved(tmodel, tx, ty)
    step = _train_step("leafgrad", model.parameters(), model, x, y)
    out["growth"], out["peak"], out["growth_site"] = _step_growth(step)
    return out


# -- report ---------------------------------------------------------------------------------
def _fmt_t(ts) -> str:
    if not ts:
        return "n/a"
    med = statistics.median(ts)
    return f"{med * 1e3:.2f} ms ({min(ts) * 1e3:.2f}–{max(ts) * 1e3:.2f})"


def _ratio(a, b) -> str:
    if not a or not b:
        return "n/a"
    return f"{statistics.median(a) / statistics.median(b):.2f}"


def _mib(n: int) -> str:
    return f"{n / 2**20:.2f} MiB"


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine_info(others: dict) -> list[str]:
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = _numpy_blas()
    blas = (f"{info.get('internal_api')} {info.get('version')} ({info.get('num_threads')} "
            f"threads, {info.get('threading_layer', '')}, {info.get('architecture', '')})"
            if info else "unknown")
    versions = [f"Python {platform.python_version()}", f"NumPy {np.__version__}",
                f"leafgrad {lg.__version__}",
                f"PyTorch {torch.__version__ if torch else 'not installed'}"]
    versions += [f"{DISPLAY[lib]} {version or why}" for lib, (version, why) in others.items()]
    versions.append(f"threadpoolctl {_version('threadpoolctl')}")
    return [
        f"- CPU: {cpu}",
        f"- cores: {os.cpu_count()}",
        f"- BLAS (NumPy's, from threadpoolctl): {blas}",
        f"- versions: {', '.join(versions)}",
        f"- threads: {thread_line()}",
        f"- worker threads sleep between calls: {spin_line()}",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
    ]


def spin_line() -> str:
    settings = ", ".join(f"{name}={os.environ[name]}" for name in SPIN_SETTINGS)
    if not SPIN_SET_IN_TIME:
        return f"not guaranteed ({settings}, but NumPy or PyTorch was loaded before the runner)"
    return f"{settings} (so that neither library's idle threads slow the other's turn)"


def thread_line() -> str:
    line = f"NumPy BLAS {blas_threads()} (also used by MyGrad and HIPS autograd)"
    if torch is not None:
        line += f", PyTorch {torch.get_num_threads()} (set to NumPy's BLAS threads)"
    return line


class Report:
    """The table rows and notes of a run, for the libraries that are usable (``libs``)."""

    def __init__(self, missing: dict):
        self.missing = missing  # {library: why it is left out, or None}
        self.libs = [lib for lib in LIBS if not missing.get(lib)]
        self.rows, self.notes, self.failed = [], [], []

    def row(self, name: str, cells: dict, ratios: dict | None = None) -> None:
        """leafgrad's cell, then each other library's cell and ratio leafgrad/library."""
        ratios = ratios or {}
        out = [name, cells["leafgrad"]]
        for lib in LIBS[1:]:
            why = self.missing.get(lib)
            if why:
                out += ["not installed" if why == "not installed" else "unusable", "n/a"]
            else:
                out += [cells.get(lib, "n/a"), ratios.get(lib, "n/a")]
        self.rows.append(out)

    def table(self) -> list[str]:
        header = ["workload", "leafgrad median (min–max)"]
        for lib in LIBS[1:]:
            header += [f"{DISPLAY[lib]} median (min–max)", f"ratio leafgrad/{DISPLAY[lib]}"]
        return ([f"| {' | '.join(header)} |", "|" + "---|" * len(header)]
                + [f"| {' | '.join(r)} |" for r in self.rows])


def report_workload(report: Report, name: str, quick: bool, gemm: float | None) -> None:
    steps, skipped = {}, []
    for lib in report.libs:
        setup = other_libs.SETUPS.get(lib, {}).get(name)
        if isinstance(setup, str):
            skipped.append(f"{DISPLAY[lib]} ({setup})")
        else:
            steps[lib] = _setup(name, lib, quick)
    times, losses = time_interleaved(steps, quick)
    leafgrad_times = times["leafgrad"]
    report.row(name, {lib: _fmt_t(ts) for lib, ts in times.items()},
               {lib: _ratio(leafgrad_times, ts) for lib, ts in times.items()})
    bad, worst = check_losses(losses)
    report.failed += [f"{name}: {b}" for b in bad]
    report.notes.append(f"{name}: LOSSES DIFFER: {'; '.join(bad)}" if bad else
                        f"{name}: first two losses agree with leafgrad's "
                        f"({', '.join(worst) or 'no other library'}; tolerance {LOSS_RTOL})")
    if skipped:
        report.notes.append(f"{name}: not expressible in {', '.join(skipped)}")
    flops = WORKLOADS[name][1]
    if flops:
        f = flops()
        parts = [f"{DISPLAY[lib]} {f / statistics.median(ts) / 1e9:.1f} GFLOP/s "
                 f"({100 * f / statistics.median(ts) / 1e9 / gemm:.0f}% of GEMM)"
                 for lib, ts in times.items()]
        report.notes.append(f"{name}: {f / 1e9:.2f} GFLOP per step; " + ", ".join(parts))


def report_deep_chain(report: Report, quick: bool) -> None:
    res = deep_chain(report.libs, quick)
    leafgrad_times = res["leafgrad"].get(100_000)
    report.row("deep_chain (1e5 ops, backward)",
               {lib: _fmt_t(r.get(100_000)) for lib, r in res.items()},
               {lib: _ratio(leafgrad_times, r.get(100_000)) for lib, r in res.items()})
    for lib, r in res.items():
        scale = _ratio(r.get(100_000), r.get(10_000))
        report.notes.append(f"deep_chain {DISPLAY[lib]}: 1e4 ops {_fmt_t(r.get(10_000))}, "
                            f"1e5/1e4 time ratio {scale} (target <= 12); RecursionError: "
                            f"{'yes' if r.get('recursion_error') else 'no'}")


def report_memory(report: Report, quick: bool) -> None:
    m = memory(report.libs, quick)
    saved, saved_torch = m["saved_leafgrad"], m.get("saved_torch")
    report.row("memory: bytes saved for backward (convnet step)",
               {"leafgrad": _mib(saved), "torch": _mib(saved_torch) if saved_torch else "n/a"},
               {"torch": f"{saved / saved_torch:.2f}" if saved_torch else "n/a"})
    report.row("memory: saved arrays alive after backward (convnet step)",
               {"leafgrad": f"{m['alive_leafgrad']} B",
                "torch": f"{m['alive_torch']} B" if "alive_torch" in m else "n/a"})
    kept = f", kept by {'; '.join(m['holders'])}" if m["holders"] else ""
    report.notes.append(
        "memory: saved arrays alive after backward = bytes of the arrays that the step's graph "
        "kept for backward (found by walking it before backward; parameters and data excluded, "
        "alive anyway) that are still alive after loss.backward() and gc, with the loss still "
        f"held (target 0): leafgrad {m['alive_leafgrad']} B{kept}")
    site = f" (most at {m['growth_site']})" if m["growth_site"] else ""
    report.notes.append(
        "memory: tracemalloc over one warm leafgrad convnet step (gradients and momentum "
        "buffers exist from two earlier steps; the step frees the old gradients, makes new ones "
        f"and updates in place): net growth {m['growth']} B{site}, peak {_mib(m['peak'])} above "
        "the state before the step (activations, saved arrays and gradients in flight)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="few repetitions (CI)")
    ap.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(ALL)}")
    ap.add_argument("--results", default=None,
                    help="results file (default benchmarks/RESULTS.md; none with --quick)")
    args = ap.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(ALL)
    unknown = [n for n in names if n not in ALL]
    if unknown:
        ap.error(f"unknown workload(s): {', '.join(unknown)}; choose from {', '.join(ALL)}")
    results_path = args.results or (None if args.quick else DEFAULT_RESULTS)
    if torch is not None:
        torch.set_num_threads(blas_threads())
    others = other_libs.status()
    missing = {"torch": None if torch is not None else "not installed"}
    missing.update({lib: why for lib, (_, why) in others.items()})
    print(f"threads: {thread_line()}")
    for lib, why in missing.items():
        if why:
            print(f"{DISPLAY[lib]}: {why}, left out")

    report = Report(missing)
    gemm = None
    if any(WORKLOADS.get(n, (None, None))[1] for n in names):
        gemm = gemm_rate(args.quick)
        report.notes.append(f"Measured float32 GEMM rate (1024x1024 @ 1024x1024, NumPy): "
                            f"{gemm:.1f} GFLOP/s")
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        if name in WORKLOADS:
            report_workload(report, name, args.quick, gemm)
        elif name == "deep_chain":
            report_deep_chain(report, args.quick)
        elif name == "memory":
            report_memory(report, args.quick)
    table = report.table()
    print("\n".join(table))
    print()
    for n in report.notes:
        print(n)
    if results_path:
        mode = "quick" if args.quick else "full"
        text = ["# leafgrad benchmarks", "",
                f"Produced by `python -m benchmarks{' --quick' if args.quick else ''}` "
                f"({mode} run).",
                "", "## Machine", ""] + machine_info(others) + ["", "## Results", ""]
        text += table + [""] + [f"- {n}" for n in report.notes] + [""]
        with open(results_path, "w") as f:
            f.write("\n".join(text))
        print(f"\nwrote {results_path}")
    if report.failed:
        print(f"\nlosses differ from leafgrad's: {'; '.join(report.failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
