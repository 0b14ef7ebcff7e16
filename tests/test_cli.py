"""The main-job command: ``python -m leafgrad demo`` prints what the seed prints."""
import re
import subprocess
import sys


def test_demo_prints_the_seed_experiment():
    result = subprocess.run([sys.executable, "-m", "leafgrad", "demo"], capture_output=True,
                            text=True, timeout=120, check=True)
    out = result.stdout
    # C16: the leaves hold values, the inner node y2 has no grad
    for leaf in ("x2", "w1", "w2"):
        assert re.search(rf"^{leaf}\.grad: tensor\(\[-?\d+\.\d+\]\)$", out, re.MULTILINE), out
    assert re.search(r"^y2\.grad: None$", out, re.MULTILINE)
    assert "C1 new tensor requires_grad: False" in out
    assert "C2 (x * y).requires_grad with x requiring grad: True" in out
    assert "C4 volatile result requires_grad: False volatile: True" in out
    assert "C6 two backward() calls with retain_graph=True accumulate: x.grad = tensor([4., 4.])" \
        in out
    assert "C6 a third call through the freed graph fails: Trying to backward through the graph" \
        in out
    assert "d2/dx2 = tensor([6., 6.])" in out
    assert "x.grad = tensor([30., 30.])" in out
    assert "grad can be implicitly created only for scalar outputs" in out
    assert result.stderr == ""


def test_unknown_command_fails_with_usage():
    result = subprocess.run([sys.executable, "-m", "leafgrad", "frobnicate"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_demo_draws_the_seed_tree():
    out = subprocess.run([sys.executable, "-m", "leafgrad", "demo"], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    tree = [line.strip() for line in out.splitlines() if line.strip().startswith("<-")]
    # backward has run: the ops that saved tensors say that it freed them
    assert tree[:6] == ["<- AddBackward0", "<- MulBackward0 [saved tensors freed]", "<- w2",
                        "<- PowBackward1 (y2) [saved tensors freed]", "<- x2", "<- w1"]
