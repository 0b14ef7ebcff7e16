"""The benchmark runner runs (quick mode); nothing is asserted about times."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_benchmark_runner_quick(tmp_path):
    results = tmp_path / "results.md"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--only", "tiny_chain,deep_chain",
         "--results", str(results)],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "ratio leafgrad/PyTorch" in out
    rows = [line for line in out.splitlines() if line.startswith("| ")]
    names = [r.split("|")[1].strip() for r in rows[1:]]
    assert names[0] == "tiny_chain"
    assert names[1].startswith("deep_chain")
    for row in rows[1:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert len(cells) == 4
        assert cells[3] == "n/a" or float(cells[3]) > 0
    assert "RecursionError: no" in out
    text = results.read_text()
    assert "## Machine" in text and "CPU:" in text and "BLAS:" in text
    assert "| tiny_chain |" in text


def test_only_rejects_unknown_workload():
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--only", "nope"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "unknown workload" in proc.stderr
