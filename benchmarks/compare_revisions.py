"""Compare two checkouts of leafgrad on the runner's workloads, each step in its own process.

Usage: ``python benchmarks/compare_revisions.py OTHER_CHECKOUT [--rounds N] [--only a,b]
[--this-env K=V] [--other-env K=V]`` (e.g. a ``git worktree`` of an earlier commit; or ``.``
with ``--other-env LEAFGRAD_FAST_PATHS_OFF=array_mode`` to measure one trick of
``leafgrad/autograd/_fast.py``). For each workload and round, a fresh process
per checkout (alternating A B A B ...) builds the workload with that checkout's
``benchmarks/run.py``, warms up, and times steps for about a second; the table gives each
checkout's median step time over all rounds and the ratio this/other. Both get the same
environment (the user's: thread settings untouched), so the ratio is what a change costs.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKLOADS = ["tiny_chain", "mlp", "two_net", "convnet", "lstm"]

_CHILD = r"""
import json, sys, time
sys.path.insert(0, {root!r})
from benchmarks import run
step = run.WORKLOADS[{name!r}][0]("leafgrad", False)
for _ in range(3):
    step()
times, start = [], time.perf_counter()
while time.perf_counter() - start < {budget} or len(times) < 5:
    t0 = time.perf_counter()
    step()
    times.append(time.perf_counter() - t0)
print(json.dumps(times))
"""


def time_in_fresh_process(root: str, name: str, budget: float, extra_env: dict) -> list:
    code = _CHILD.format(root=root, name=name, budget=budget)
    env = dict(os.environ, PYTHONPATH=root, **extra_env)
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("other", help="the other checkout's root")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--budget", type=float, default=1.0, help="seconds of steps per process")
    ap.add_argument("--only", default="", help=f"subset of {','.join(WORKLOADS)}")
    ap.add_argument("--this-env", action="append", default=[], help="K=V for this checkout")
    ap.add_argument("--other-env", action="append", default=[], help="K=V for the other")
    args = ap.parse_args(argv)
    envs = {"this": dict(kv.split("=", 1) for kv in args.this_env),
            "other": dict(kv.split("=", 1) for kv in args.other_env)}
    names = [n for n in args.only.split(",") if n] or WORKLOADS
    roots = {"this": HERE, "other": os.path.abspath(args.other)}
    print(f"this: {roots['this']} {envs['this']}\nother: {roots['other']} {envs['other']}\n")
    print(f"{'workload':<12} {'this (ms)':>10} {'other (ms)':>11} {'this/other':>11}")
    for name in names:
        samples: dict = {"this": [], "other": []}
        for round_ in range(args.rounds):
            order = ("this", "other") if round_ % 2 == 0 else ("other", "this")
            for which in order:
                samples[which].append(statistics.median(
                    time_in_fresh_process(roots[which], name, args.budget, envs[which])))
        this, other = (statistics.median(samples[k]) * 1e3 for k in ("this", "other"))
        print(f"{name:<12} {this:>10.3f} {other:>11.3f} {this / other:>11.3f}   "
              f"(rounds this {['%.2f' % (s * 1e3) for s in samples['this']]}, "
              f"other {['%.2f' % (s * 1e3) for s in samples['other']]})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
