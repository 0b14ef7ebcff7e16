"""The benchmark runner runs (quick mode, every workload and library); nothing is asserted about
times. Also: its memory measurement finds saved arrays kept alive, and says what keeps them."""
import importlib.util
import os
import subprocess
import sys

import pytest

# the repository root (tests/benchmarks/ is two levels below it): `benchmarks` is imported and
# run from there
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

import leafgrad as lg  # noqa: E402
from benchmarks import other_libs, run  # noqa: E402

TIMED = ("tiny_chain", "mlp", "two_net", "convnet", "lstm", "deep_chain (1e5 ops, backward)")
MEMORY = ("memory: bytes saved for backward (convnet step)",
          "memory: saved arrays alive after backward (convnet step)")
OTHERS = ("torch", "mygrad", "autograd")


def _runner(*args, env=None, timeout=900):
    return subprocess.run([sys.executable, "-m", "benchmarks", "--quick", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, env=env)


def _table(text: str) -> dict:
    """{workload: cells} of the markdown table in the runner's output or results file."""
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    return {cells[0]: cells[1:] for cells in
            ([c.strip() for c in row.strip("|").split("|")] for row in rows[1:])}


def _installed(lib: str) -> bool:
    # a namespace package (no origin) is not the library: tests/autograd/ is one, on sys.path
    spec = importlib.util.find_spec(lib)
    return spec is not None and spec.origin is not None


def _timed(lib: str, name: str) -> bool:
    """Whether the runner times ``lib`` on the table row ``name`` (when installed)."""
    if name not in TIMED:
        return False
    if lib == "torch" or name.startswith("deep_chain"):
        return True
    return callable(other_libs.SETUPS[lib][name])


def _is_ratio(cell: str) -> bool:
    try:
        return float(cell) > 0
    except ValueError:
        return False


@pytest.mark.slow
def test_quick_run_of_every_workload(tmp_path):
    results = tmp_path / "results.md"
    proc = _runner("--results", str(results))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out, text = proc.stdout, results.read_text()
    for table in (_table(out), _table(text)):
        assert list(table) == [*TIMED, *MEMORY]
        for name, cells in table.items():
            assert len(cells) == 1 + 2 * len(OTHERS), name
            for i, lib in enumerate(OTHERS):
                cell, ratio = cells[1 + 2 * i], cells[2 + 2 * i]
                if not _installed(lib):
                    assert (cell, ratio) == ("not installed", "n/a"), (name, lib)
                elif _timed(lib, name):
                    assert cell.endswith(")") and _is_ratio(ratio), (name, lib, cell, ratio)
                elif lib != "torch":  # (PyTorch's memory rows are checked below)
                    assert ratio == "n/a", (name, lib)
        assert _is_ratio(table[MEMORY[0]][2])  # leafgrad's saved bytes over PyTorch's
        assert table[MEMORY[1]][0].endswith(" B")
    assert "LOSSES DIFFER" not in out
    for lib in ("leafgrad", "PyTorch"):
        assert f"deep_chain {lib}: " in out
    assert out.count("RecursionError: no") == 1 + sum(_installed(lib) for lib in OTHERS)
    assert "tracemalloc over one warm leafgrad convnet step" in out
    assert "## Machine" in text and "CPU:" in text and "BLAS (NumPy's" in text
    assert "HIPS autograd" in text and "MyGrad" in text and "threads: NumPy BLAS" in text


def test_missing_or_broken_libraries_are_left_out(tmp_path):
    (tmp_path / "autograd").mkdir()
    (tmp_path / "autograd" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'autograd'\", name='autograd')\n")
    (tmp_path / "mygrad").mkdir()
    (tmp_path / "mygrad" / "__init__.py").write_text("raise RuntimeError('built for NumPy 1')\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    proc = _runner("--only", "tiny_chain", "--results", str(tmp_path / "r.md"), env=env)
    assert proc.returncode == 0, proc.stderr
    assert "HIPS autograd: not installed, left out" in proc.stdout
    assert "MyGrad: fails to import (RuntimeError: built for NumPy 1), left out" in proc.stdout
    cells = _table(proc.stdout)["tiny_chain"]
    assert cells[3:] == ["unusable", "n/a", "not installed", "n/a"]
    assert "HIPS autograd not installed" in (tmp_path / "r.md").read_text()


def test_only_rejects_unknown_workload():
    proc = _runner("--only", "nope", timeout=120)
    assert proc.returncode != 0
    assert "unknown workload" in proc.stderr


def _mlp_graph():
    model = run._shared_init(run._mlp, "leafgrad")
    x, y = run._data("leafgrad", run.MLP_BATCH)
    held = [t._data for t in (*model.parameters(), x, y)]
    return model, x, y, held


def test_saved_arrays_are_freed_by_backward():
    model, x, y, held = _mlp_graph()
    loss = lg.nn.functional.cross_entropy(model(x), y)
    saved = run.saved_arrays_leafgrad(loss)
    assert any(a.shape == (128, 1024) for a in saved)  # the hidden activations
    alive, holders = run._alive_after_backward(loss, saved, held)
    assert (alive, holders) == (0, [])


def test_a_saved_array_kept_alive_is_found_with_its_holder():
    model, x, y, held = _mlp_graph()

    class Keeper:
        pass
    keeper = Keeper()
    keeper.hidden = model[1](model[0](x))  # the ReLU output, saved by ReLU and the next Linear
    loss = lg.nn.functional.cross_entropy(model[4](model[3](model[2](keeper.hidden))), y)
    saved = run.saved_arrays_leafgrad(loss)
    alive, holders = run._alive_after_backward(loss, saved, held)
    assert alive == 2 * 128 * 1024 * 4
    assert holders and all("Keeper" in h and "hidden" in h for h in holders)
