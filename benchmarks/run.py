"""Benchmark runner: each workload in leafgrad and in PyTorch, same process, interleaved.

Usage: ``python -m benchmarks [--quick] [--only NAME[,NAME...]] [--results PATH]``
(or ``python benchmarks/run.py ...``). Prints per workload the median time, min-max, and the
ratio leafgrad/PyTorch of the medians; writes a results file (machine, versions, table).
"""
from __future__ import annotations

import argparse
import datetime
import gc
import os
import platform
import statistics
import sys
import time
import tracemalloc

if __package__ in (None, ""):  # python benchmarks/run.py
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np
import threadpoolctl

import leafgrad as lg

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_RESULTS = os.path.join(HERE, "RESULTS.md")
LIBS = ("leafgrad", "torch")


def blas_threads() -> int:
    for info in threadpoolctl.threadpool_info():
        if info.get("user_api") == "blas":
            return int(info["num_threads"])
    return os.cpu_count() or 1


def mod(lib):
    return lg if lib == "leafgrad" else torch


# -- weights: built once in NumPy, loaded into both libraries -------------------------------
def _np_state(shapes: dict, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    out = {}
    for k, shape in shapes.items():
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
        bound = 1.0 / np.sqrt(fan_in)
        out[k] = rng.uniform(-bound, bound, size=shape).astype(np.float32)
    return out


def _load(model, state: dict, lib: str):
    m = mod(lib)
    model.load_state_dict({k: m.tensor(v.copy()) for k, v in state.items()})
    return model


def _shared_init(make, lib: str, seed: int = 0):
    """Build ``make(lib)`` and load weights initialised in NumPy from the leafgrad shapes."""
    ref = make("leafgrad")
    shapes = {k: tuple(v.shape) for k, v in ref.state_dict().items()}
    model = ref if lib == "leafgrad" else make(lib)
    return _load(model, _np_state(shapes, seed), lib)


# -- workloads: each setup(lib, quick) returns a zero-argument step --------------------------
def tiny_chain(lib, quick):
    m = mod(lib)
    x = m.tensor(np.linspace(0, 1, 10, dtype=np.float32), requires_grad=True)

    def step():
        x.grad = None
        y = x
        for _ in range(500):
            y = y * 1.0001 + 0.0001
        y.sum().backward()
    return step


def _mlp(lib):
    nn = mod(lib).nn
    return nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(),
                         nn.Linear(1024, 10))


def _train_step(lib, params, forward, x, y):
    m = mod(lib)
    opt = m.optim.SGD(params, lr=0.01, momentum=0.9)
    F = m.nn.functional

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(forward(x), y)
        loss.backward()
        opt.step()
    return step


def _data(lib, shape, seed=1):
    m = mod(lib)
    rng = np.random.default_rng(seed)
    x = m.tensor(rng.standard_normal(shape).astype(np.float32))
    y = m.tensor(rng.integers(0, 10, size=shape[0]).astype(np.int64))
    return x, y


def mlp(lib, quick):
    model = _shared_init(_mlp, lib)
    x, y = _data(lib, (128, 784))
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
    x, y = _data(lib, (64, 3, 32, 32))
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
    x, y = _data(lib, (32, 3, 32, 32))
    return _train_step(lib, model.parameters(), model, x, y)


def lstm(lib, quick):
    model = _shared_init(lambda lb: mod(lb).nn.LSTM(64, 256), lib)
    x, _ = _data(lib, (32, 32, 64))  # (seq, batch, input)

    def step():
        for p in model.parameters():
            p.grad = None
        out, _ = model(x)
        out.sum().backward()
    return step


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


# -- timing ---------------------------------------------------------------------------------
def time_interleaved(steps: dict, quick: bool, budget: float = 1.5) -> dict:
    for step in steps.values():  # warm-up, excluded
        step()
    times = {k: [] for k in steps}
    min_reps, max_reps = (3, 3) if quick else (5, 200)
    while True:
        for k, step in steps.items():
            t0 = time.perf_counter()
            step()
            times[k].append(time.perf_counter() - t0)
        n = len(next(iter(times.values())))
        if n >= max_reps:
            break
        if n >= min_reps and all(sum(v) >= budget for v in times.values()):
            break
    return times


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


def deep_chain(libs, quick):
    """Backward time of a chain of n ops, n = 1e4 and 1e5; returns rows and notes."""
    results = {}
    for lib in libs:
        m = mod(lib)
        res = {}
        for n in (10_000, 100_000):
            ts = []
            for _ in range(1 if quick else 3):
                x = m.tensor(np.ones(4, dtype=np.float32), requires_grad=True)
                y = x
                try:
                    for _ in range(n):
                        y = y * 1.0
                    loss = y.sum()
                    t0 = time.perf_counter()
                    loss.backward()
                    ts.append(time.perf_counter() - t0)
                    del y, loss
                    gc.collect()
                except RecursionError:
                    res["recursion_error"] = True
                    break
            res[n] = ts
        results[lib] = res
    return results


def _saved_bytes_leafgrad(loss) -> int:
    from leafgrad.autograd import function as fn
    total, seen, stack = 0, set(), [loss.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        for entry in node._saved or ():
            if entry is None:
                continue
            if entry[0] == fn.INPUT:
                total += entry[1]._data.nbytes
            elif entry[0] == fn.OUTPUT:
                total += entry[1].nbytes
        for key, v in node.__dict__.items():
            if key.startswith("_"):
                continue
            if isinstance(v, np.ndarray):
                total += v.nbytes
            elif isinstance(v, lg.Tensor):
                total += v._data.nbytes
        for edge in node._edges:
            if edge is not None:
                stack.append(edge[0])
    return total


def _saved_bytes_torch(model, x, y) -> int:
    total = [0]

    def pack(t):
        total[0] += t.numel() * t.element_size()
        return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    return total[0]


def memory(libs, quick):
    out = {}
    model = _shared_init(_convnet, "leafgrad")
    x, y = _data("leafgrad", (32, 3, 32, 32))
    loss = lg.nn.functional.cross_entropy(model(x), y)
    out["saved_leafgrad"] = _saved_bytes_leafgrad(loss)
    loss.backward()
    del loss
    if "torch" in libs:
        tmodel = _shared_init(_convnet, "torch")
        tx, ty = _data("torch", (32, 3, 32, 32))
        out["saved_torch"] = _saved_bytes_torch(tmodel, tx, ty)
    # bytes alive after a full step (warm: grads and momentum buffers already exist)
    step = _train_step("leafgrad", model.parameters(), model, x, y)
    step()
    step()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    step()
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    diff = after.compare_to(before, "filename")
    out["alive_after_step"] = sum(s.size_diff for s in diff if s.size_diff > 0)
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


def machine_info() -> list[str]:
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    blas = [f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} threads, "
            f"{i.get('threading_layer', '')}, {i.get('architecture', '')})"
            for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"]
    return [
        f"- CPU: {cpu}",
        f"- cores: {os.cpu_count()}",
        f"- BLAS: {'; '.join(blas) or 'unknown'}",
        f"- Python {platform.python_version()}, NumPy {np.__version__}, "
        f"torch {torch.__version__ if torch else 'not installed'}, leafgrad {lg.__version__}",
        f"- torch threads: {torch.get_num_threads() if torch else 'n/a'}",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
    ]


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
    libs = LIBS if torch is not None else ("leafgrad",)
    if torch is not None:
        torch.set_num_threads(blas_threads())

    rows, notes = [], []
    gemm = None
    if any(WORKLOADS.get(n, (None, None))[1] for n in names):
        gemm = gemm_rate(args.quick)
        notes.append(f"Measured float32 GEMM rate (1024x1024 @ 1024x1024, NumPy): "
                     f"{gemm:.1f} GFLOP/s")
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        if name in WORKLOADS:
            setup, flops = WORKLOADS[name]
            steps = {lib: setup(lib, args.quick) for lib in libs}
            times = time_interleaved(steps, args.quick)
            lt, tt = times["leafgrad"], times.get("torch")
            rows.append((name, _fmt_t(lt), _fmt_t(tt), _ratio(lt, tt)))
            if flops:
                f = flops()
                parts = [f"{lib} {f / statistics.median(times[lib]) / 1e9:.1f} GFLOP/s "
                         f"({100 * f / statistics.median(times[lib]) / 1e9 / gemm:.0f}% of GEMM)"
                         for lib in libs]
                notes.append(f"{name}: {f / 1e9:.2f} GFLOP per step; " + ", ".join(parts))
        elif name == "deep_chain":
            res = deep_chain(libs, args.quick)
            lt, tt = res["leafgrad"].get(100_000), res.get("torch", {}).get(100_000)
            rows.append(("deep_chain (1e5 ops, backward)", _fmt_t(lt), _fmt_t(tt), _ratio(lt, tt)))
            for lib in libs:
                r = res[lib]
                scale = _ratio(r.get(100_000), r.get(10_000))
                notes.append(f"deep_chain {lib}: 1e4 ops {_fmt_t(r.get(10_000))}, 1e5/1e4 time "
                             f"ratio {scale} (target <= 12); RecursionError: "
                             f"{'yes' if r.get('recursion_error') else 'no'}")
        elif name == "memory":
            m = memory(libs, args.quick)
            ls_, ts_ = m["saved_leafgrad"], m.get("saved_torch")
            rows.append(("memory: bytes saved for backward (convnet step)",
                         f"{ls_ / 2**20:.2f} MiB",
                         f"{ts_ / 2**20:.2f} MiB" if ts_ else "n/a",
                         f"{ls_ / ts_:.2f}" if ts_ else "n/a"))
            notes.append("memory: bytes alive after a leafgrad convnet step "
                         "(tracemalloc, after gc): "
                         f"{m['alive_after_step']} (target 0)")

    header = ("| workload | leafgrad median (min–max) | PyTorch median (min–max) "
              "| ratio leafgrad/PyTorch |")
    table = [header, "|---|---|---|---|"] + [f"| {' | '.join(r)} |" for r in rows]
    print("\n".join(table))
    print()
    for n in notes:
        print(n)
    if results_path:
        mode = "quick" if args.quick else "full"
        text = ["# leafgrad benchmarks", "",
                f"Produced by `python -m benchmarks{' --quick' if args.quick else ''}` "
                f"({mode} run).",
                "", "## Machine", ""] + machine_info() + ["", "## Results", ""] + table + [""]
        text += [f"- {n}" for n in notes] + [""]
        with open(results_path, "w") as f:
            f.write("\n".join(text))
        print(f"\nwrote {results_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
