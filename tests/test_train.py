"""The seed's second experiment (C17, C19) with leafgrad.models, and ``leafgrad train`` end to end
on small subsets: printed lines, checkpoint, plot, resume, CIFAR-10 files, errors."""
from __future__ import annotations

import contextlib
import io
import itertools
import re
import subprocess
import sys

import numpy as np
import pytest

import leafgrad
from cifar_files import LABEL_NAMES, make_batch, python2_pickle
from leafgrad import nn, optim
from leafgrad.cli import CHECKPOINT_NAME, PLOT_NAME, TRAIN_DEFAULTS, _leaf_depths, main
from leafgrad.datasets import FakeData, transforms
from leafgrad.models import Net1, Net2
from leafgrad.utils.data import DataLoader

EPOCH_LINE = re.compile(r"^epoch (\d+)/(\d+)  train loss (\d+\.\d{4})  test accuracy "
                        r"(\d+\.\d)%  \(\d+\.\d s\)$", re.MULTILINE)


def fake_batch(size: int = 4):
    data = FakeData(size=size, image_size=(3, 32, 32), transform=transforms.ToTensor())
    return next(iter(DataLoader(data, batch_size=size)))


def values(module) -> list[np.ndarray]:
    return [parameter.detach().numpy().copy() for parameter in module.parameters()]


def changed(before: list[np.ndarray], module) -> list[bool]:
    return [not np.array_equal(old, new) for old, new in zip(before, values(module))]


# -- the networks -----------------------------------------------------------------------------
def test_the_two_halves_are_the_tutorial_network():
    net1, net2 = Net1(), Net2()
    assert isinstance(net1.conv1, nn.Conv2d) and net1.conv1.weight.shape == (6, 3, 5, 5)
    assert isinstance(net1.conv2, nn.Conv2d) and net1.conv2.weight.shape == (16, 6, 5, 5)
    assert isinstance(net1.pool, nn.MaxPool2d)
    assert [(fc.in_features, fc.out_features) for fc in (net2.fc1, net2.fc2, net2.fc3)] == \
        [(400, 120), (120, 84), (84, 10)]
    assert sum(p.numel() for p in itertools.chain(net1.parameters(), net2.parameters())) == 62006
    features = net1(leafgrad.zeros(2, 3, 32, 32))
    assert features.shape == (2, 400) and net2(features).shape == (2, 10)


def test_the_two_halves_match_torch_with_copied_weights():
    torch = pytest.importorskip("torch")
    tnn, tF = torch.nn, torch.nn.functional

    class TutorialNet(tnn.Module):  # "Training a Classifier", PyTorch's CIFAR-10 tutorial
        def __init__(self):
            super().__init__()
            self.conv1 = tnn.Conv2d(3, 6, 5)
            self.pool = tnn.MaxPool2d(2, 2)
            self.conv2 = tnn.Conv2d(6, 16, 5)
            self.fc1 = tnn.Linear(16 * 5 * 5, 120)
            self.fc2 = tnn.Linear(120, 84)
            self.fc3 = tnn.Linear(84, 10)

        def forward(self, x):
            x = self.pool(tF.relu(self.conv1(x)))
            x = self.pool(tF.relu(self.conv2(x)))
            x = torch.flatten(x, 1)
            return self.fc3(tF.relu(self.fc2(tF.relu(self.fc1(x)))))

    leafgrad.manual_seed(3)
    net1, net2 = Net1(), Net2()
    reference = TutorialNet()
    ours = {**net1.state_dict(), **net2.state_dict()}
    reference.load_state_dict({name: torch.from_numpy(value.numpy().copy())
                               for name, value in ours.items()})
    inputs, labels = fake_batch(6)
    loss = nn.CrossEntropyLoss()(net2(net1(inputs)), labels)
    loss.backward()
    expected = tF.cross_entropy(reference(torch.from_numpy(inputs.numpy().copy())),
                                torch.from_numpy(labels.numpy().copy()))
    expected.backward()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    grads = dict(itertools.chain(net1.named_parameters(), net2.named_parameters()))
    for name, parameter in reference.named_parameters():
        np.testing.assert_allclose(grads[name].grad.numpy(), parameter.grad.numpy(),
                                   rtol=1e-4, atol=1e-6, err_msg=name)


# -- C17: the seed's scene --------------------------------------------------------------------
def test_seed_scene_two_networks_one_optimizer():
    leafgrad.manual_seed(0)
    net1, net2 = Net1(), Net2()
    optimizer = optim.SGD(itertools.chain(net1.parameters(), net2.parameters()), lr=0.01,
                          momentum=0.9)
    criterion = nn.CrossEntropyLoss()
    inputs, labels = fake_batch()
    before1, before2 = values(net1), values(net2)

    optimizer.zero_grad()
    outputs1 = net1(inputs)
    outputs2 = net2(outputs1)
    loss = criterion(outputs2, labels)
    loss.backward()
    optimizer.step()

    # the facts the seed prints
    assert inputs.requires_grad is False and inputs.grad is None
    assert outputs1.requires_grad is True  # C12: parameters make the output require grad
    with pytest.warns(UserWarning, match="not a leaf"):
        assert outputs1.grad is None
    assert net1.conv1.bias.grad is not None and net1.conv1.bias.grad.shape == (6,)
    assert net2.fc3.bias.grad is not None and net2.fc3.bias.grad.shape == (10,)
    assert np.abs(net2.fc3.bias.grad.numpy()).sum() > 0
    # one optimizer updated both nets, every parameter of them
    assert all(changed(before1, net1)) and all(changed(before2, net2))
    assert len(optimizer.param_groups[0]["params"]) == 10
    # C12: the loss and activation modules have no parameters
    assert list(criterion.parameters()) == [] and list(nn.ReLU().parameters()) == []


def test_seed_scene_parameters_are_leaves_at_different_depths():
    net1, net2 = Net1(), Net2()
    inputs, labels = fake_batch()
    loss = nn.CrossEntropyLoss()(net2(net1(inputs)), labels)
    named = dict(itertools.chain(net1.named_parameters("net1"),
                                 net2.named_parameters("net2")))
    assert all(p.is_leaf and p.grad_fn is None and p.requires_grad for p in named.values())
    assert not loss.is_leaf
    # walk the graph from the loss: each parameter hangs below it as an AccumulateGrad node
    accumulators, stack = {}, [loss.grad_fn]
    while stack:
        node = stack.pop()
        if type(node).__name__ == "AccumulateGrad":
            accumulators[id(node.variable)] = node
        stack.extend(child for child, _ in node.next_functions if child is not None)
    assert set(accumulators) == {id(p) for p in named.values()}
    depths = _leaf_depths(loss, named)
    assert all(depth is not None for depth in depths.values())
    assert depths["net1.conv1.weight"] > depths["net1.conv2.weight"] > \
        depths["net2.fc1.weight"] > depths["net2.fc2.weight"] > depths["net2.fc3.weight"]


def test_seed_scene_depths_are_those_of_torchs_graph():
    """Every parameter sits as deep below the loss as in torch's graph of the same two nets
    (fc3.weight: NllLoss <- LogSoftmax <- Addmm <- T <- AccumulateGrad, depth 4)."""
    torch = pytest.importorskip("torch")

    class TorchNet1(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = torch.nn.Conv2d(3, 6, 5)
            self.pool = torch.nn.MaxPool2d(2, 2)
            self.conv2 = torch.nn.Conv2d(6, 16, 5)

        def forward(self, x):
            x = self.pool(torch.nn.functional.relu(self.conv1(x)))
            return self.pool(torch.nn.functional.relu(self.conv2(x))).flatten(1)

    class TorchNet2(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = torch.nn.Linear(400, 120)
            self.fc2 = torch.nn.Linear(120, 84)
            self.fc3 = torch.nn.Linear(84, 10)

        def forward(self, x):
            x = torch.nn.functional.relu(self.fc1(x))
            return self.fc3(torch.nn.functional.relu(self.fc2(x)))

    inputs, labels = fake_batch()
    all_depths = []
    for lib, nets in ((leafgrad, (Net1(), Net2())), (torch, (TorchNet1(), TorchNet2()))):
        net1, net2 = nets
        x, y = lib.tensor(inputs.numpy()), lib.tensor(labels.numpy())
        loss = lib.nn.CrossEntropyLoss()(net2(net1(x)), y)
        all_depths.append(_leaf_depths(loss, dict(itertools.chain(
            net1.named_parameters("net1"), net2.named_parameters("net2")))))
    ours, theirs = all_depths
    assert ours == theirs
    assert ours["net2.fc3.weight"] == 4 and ours["net1.conv1.weight"] == 14


# -- C19: freezing net1 -----------------------------------------------------------------------
@pytest.mark.parametrize("after_a_step", [False, True], ids=["fresh", "with-momentum"])
def test_freezing_net1(after_a_step):
    net1, net2 = Net1(), Net2()
    optimizer = optim.SGD(itertools.chain(net1.parameters(), net2.parameters()), lr=0.01,
                          momentum=0.9)
    criterion = nn.CrossEntropyLoss()
    inputs, labels = fake_batch()
    if after_a_step:  # momentum buffers exist for net1, yet it must not move
        criterion(net2(net1(inputs)), labels).backward()
        optimizer.step()
    for parameter in net1.parameters():
        parameter.requires_grad = False
    before1, before2 = values(net1), values(net2)
    optimizer.zero_grad()
    outputs1 = net1(inputs)
    loss = criterion(net2(outputs1), labels)
    loss.backward()
    optimizer.step()
    assert outputs1.requires_grad is False and loss.requires_grad is True
    assert all(parameter.grad is None for parameter in net1.parameters())
    assert not any(changed(before1, net1))
    assert all(parameter.grad is not None for parameter in net2.parameters())
    assert all(changed(before2, net2))


# -- leafgrad train ---------------------------------------------------------------------------
def run_train(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(["train", "--no-progress", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def state(checkpoint: dict) -> dict[str, np.ndarray]:
    """Every array a checkpoint holds about the nets and the optimizer, by a flat name."""
    arrays = {f"{net}.{name}": value.numpy() for net in ("net1", "net2")
              for name, value in checkpoint[net].items()}
    for index, entry in checkpoint["optimizer"]["state"].items():
        arrays[f"momentum.{index}"] = entry["momentum_buffer"].numpy()
    return arrays


def test_train_on_a_digits_subset(tmp_path, capsys):
    pytest.importorskip("sklearn")
    status, out, err = run_train(capsys, "--limit", "128", "--epochs", "2", "--output",
                                 str(tmp_path))
    assert status == 0, err
    epochs = EPOCH_LINE.findall(out)
    assert [(e[0], e[1]) for e in epochs] == [("1", "2"), ("2", "2")], out
    assert all(0.0 <= float(e[3]) <= 100.0 for e in epochs)
    assert "128 training and 359 test images" in out
    for fact in ("inputs.requires_grad: False", "inputs.grad: None",
                 "outputs1.requires_grad: True", "outputs1.grad: None",
                 "after optimizer.step(): net1 changed: True, net2 changed: True"):
        assert f"  {fact}\n" in out
    assert re.search(r"^  net1\.conv1\.bias\.grad: tensor\(\[", out, re.MULTILINE)
    assert re.search(r"^  net2\.fc3\.bias\.grad: tensor\(\[", out, re.MULTILINE)
    assert err == ""

    png = (tmp_path / PLOT_NAME).read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
    checkpoint = leafgrad.load(tmp_path / CHECKPOINT_NAME)
    assert checkpoint["epoch"] == 2
    assert [round(100 * a, 1) for a in checkpoint["history"]["test_accuracy"]] == \
        [float(e[3]) for e in epochs]
    assert [round(loss, 4) for loss in checkpoint["history"]["train_loss"]] == \
        [float(e[2]) for e in epochs]
    assert checkpoint["args"] == {**TRAIN_DEFAULTS, "epochs": 2, "limit": 128}
    net1, net2 = Net1(), Net2()
    net1.load_state_dict(checkpoint["net1"])
    net2.load_state_dict(checkpoint["net2"])
    optimizer = optim.SGD(itertools.chain(net1.parameters(), net2.parameters()), lr=0.1)
    optimizer.load_state_dict(checkpoint["optimizer"])
    assert optimizer.param_groups[0]["lr"] == TRAIN_DEFAULTS["lr"]
    assert optimizer.param_groups[0]["momentum"] == TRAIN_DEFAULTS["momentum"]


def test_resume_equals_an_uninterrupted_run(tmp_path, capsys):
    common = ["--dataset", "fake", "--limit", "48", "--batch-size", "16", "--seed", "5"]
    assert run_train(capsys, *common, "--epochs", "2", "--output", str(tmp_path / "a"))[0] == 0
    assert run_train(capsys, *common, "--epochs", "1", "--output", str(tmp_path / "b"))[0] == 0
    after_one = state(leafgrad.load(tmp_path / "b" / CHECKPOINT_NAME))
    status, out, _ = run_train(capsys, "--resume", str(tmp_path / "b" / CHECKPOINT_NAME),
                               "--epochs", "2")
    assert status == 0
    assert "after epoch 1/2" in out
    assert [e[:2] for e in EPOCH_LINE.findall(out)] == [("2", "2")]
    uninterrupted = leafgrad.load(tmp_path / "a" / CHECKPOINT_NAME)
    resumed = leafgrad.load(tmp_path / "b" / CHECKPOINT_NAME)
    assert resumed["epoch"] == uninterrupted["epoch"] == 2
    assert resumed["history"] == uninterrupted["history"]
    expected, got = state(uninterrupted), state(resumed)
    assert expected.keys() == got.keys() and len(expected) == 20
    for name in expected:
        assert np.array_equal(expected[name], got[name]), name
    assert any(not np.array_equal(after_one[name], got[name]) for name in got)
    # the data order depends on the seed: another seed ends elsewhere
    assert run_train(capsys, *common[:-1], "6", "--epochs", "2", "--output",
                     str(tmp_path / "c"))[0] == 0
    other = state(leafgrad.load(tmp_path / "c" / CHECKPOINT_NAME))
    assert not np.array_equal(other["net2.fc3.bias"], got["net2.fc3.bias"])


def test_resume_with_nothing_left_to_do(tmp_path, capsys):
    assert run_train(capsys, "--dataset", "fake", "--limit", "16", "--epochs", "1",
                     "--output", str(tmp_path))[0] == 0
    before = (tmp_path / CHECKPOINT_NAME).read_bytes()
    status, out, _ = run_train(capsys, "--resume", str(tmp_path / CHECKPOINT_NAME))
    assert status == 0 and "nothing to do" in out and not EPOCH_LINE.search(out)
    assert (tmp_path / CHECKPOINT_NAME).read_bytes() == before


def test_workers_load_the_same_batches(tmp_path, capsys):
    common = ["--dataset", "fake", "--limit", "32", "--batch-size", "8", "--epochs", "1"]
    assert run_train(capsys, *common, "--output", str(tmp_path / "a"))[0] == 0
    assert run_train(capsys, *common, "--workers", "2", "--output", str(tmp_path / "b"))[0] == 0
    in_process = state(leafgrad.load(tmp_path / "a" / CHECKPOINT_NAME))
    with_workers = state(leafgrad.load(tmp_path / "b" / CHECKPOINT_NAME))
    assert all(np.array_equal(in_process[name], with_workers[name]) for name in in_process)


def test_train_freeze_net1(tmp_path, capsys):
    status, out, _ = run_train(capsys, "--dataset", "fake", "--limit", "32", "--epochs", "2",
                               "--batch-size", "8", "--freeze", "net1", "--output",
                               str(tmp_path))
    assert status == 0
    assert "net1 frozen (C19)" in out
    assert "  net1.conv1.bias.grad: None\n" in out
    assert "net1 changed: False, net2 changed: True" in out
    assert "net1 frozen: grads all None: True, values unchanged: True; net2 changed: True" in out
    checkpoint = leafgrad.load(tmp_path / CHECKPOINT_NAME)
    leafgrad.manual_seed(TRAIN_DEFAULTS["seed"])  # the initial weights train starts from
    initial1, initial2 = Net1().state_dict(), Net2().state_dict()
    for name, value in initial1.items():
        assert np.array_equal(checkpoint["net1"][name].numpy(), value.numpy()), name
    assert all(not np.array_equal(checkpoint["net2"][name].numpy(), value.numpy())
               for name, value in initial2.items())
    assert checkpoint["args"]["freeze"] == "net1"


@pytest.fixture
def cifar_root(tmp_path):
    """CIFAR-10 in the official python format: 5 training batches of 4 images, a test batch
    of 6."""
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    batches = {f"data_batch_{i}": make_batch(i, 4) for i in range(1, 6)}
    batches["test_batch"] = make_batch(6, 6)
    for name, batch in batches.items():
        (folder / name).write_bytes(python2_pickle(batch))
    (folder / "batches.meta").write_bytes(python2_pickle(
        {b"num_cases_per_batch": 4, b"label_names": LABEL_NAMES, b"num_vis": 3072}))
    return tmp_path


def test_train_on_cifar10_files(cifar_root, tmp_path, capsys):
    status, out, err = run_train(capsys, "--dataset", "cifar10", "--data-dir", str(cifar_root),
                                 "--epochs", "1", "--batch-size", "5", "--output",
                                 str(tmp_path / "out"))
    assert status == 0, err
    assert "on cifar10: 20 training and 6 test images" in out
    accuracy = float(EPOCH_LINE.findall(out)[0][3])
    assert accuracy in [round(100 * k / 6, 1) for k in range(7)]
    assert leafgrad.load(tmp_path / "out" / CHECKPOINT_NAME)["args"]["data_dir"] == \
        str(cifar_root)


def test_train_without_cifar10_says_where_to_get_it(tmp_path, capsys):
    status, out, err = run_train(capsys, "--dataset", "cifar10", "--data-dir",
                                 str(tmp_path / "nowhere"), "--output", str(tmp_path / "out"))
    assert status == 1 and out == ""
    assert err.startswith("leafgrad train: error: CIFAR-10 not found in ")
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz" in err
    assert not (tmp_path / "out").exists()


def test_train_refuses_what_it_cannot_resume(tmp_path, capsys):
    leafgrad.save({"weights": leafgrad.ones(2)}, tmp_path / "other.safetensors")
    status, _, err = run_train(capsys, "--resume", str(tmp_path / "other.safetensors"))
    assert status == 1 and "not a checkpoint written by leafgrad train" in err
    (tmp_path / "broken.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{")
    status, _, err = run_train(capsys, "--resume", str(tmp_path / "broken.safetensors"))
    assert status == 1 and "cannot resume from" in err and "truncated" in err
    status, _, err = run_train(capsys, "--resume", str(tmp_path / "missing.safetensors"))
    assert status == 1 and "No such file" in err


@pytest.fixture(scope="module")
def a_checkpoint(tmp_path_factory):
    """The path of a checkpoint that leafgrad train wrote after one epoch on 16 fake images."""
    folder = tmp_path_factory.mktemp("trained")
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["train", "--no-progress", "--dataset", "fake", "--limit", "16",
                     "--epochs", "1", "--output", str(folder)]) == 0
    return folder / CHECKPOINT_NAME


def _replace(container, key, value):
    container[key] = value


@pytest.mark.parametrize("damage, words", [
    (lambda c: _replace(c, "net1", {"conv1.weight": leafgrad.zeros(2)}),
     ["Error(s) in loading state_dict for Net1", "size mismatch for conv1.weight"]),
    (lambda c: _replace(c["net2"], "fc3.bias", leafgrad.zeros(3)), ["size mismatch for fc3.bias"]),
    (lambda c: _replace(c, "net2", [1, 2]), ["its net2 is a list, not a state_dict"]),
    (lambda c: _replace(c, "args", [1, 2]), ["its args are a list, not a dict"]),
    (lambda c: _replace(c["args"], "lr", "fast"),
     ["args['lr'] must be a finite non-negative number, got 'fast'"]),
    (lambda c: _replace(c["args"], "dataset", "mnist"), ["args['dataset'] must be one of"]),
    (lambda c: _replace(c["args"], "limit", 0), ["args['limit'] must be None or a positive"]),
    (lambda c: _replace(c["args"], "colour", "red"), ["unknown settings: colour"]),
    (lambda c: c["history"].pop("train_loss"), ["history must be a dict of the lists"]),
    (lambda c: _replace(c["history"], "test_accuracy", [0.5, 0.6]),
     ["history['test_accuracy'] must be a list of 1 numbers"]),
    (lambda c: _replace(c, "epoch", "1"), ["epoch must be a non-negative integer"]),
    (lambda c: _replace(c["optimizer"]["state"][0], "momentum_buffer", leafgrad.zeros(1)),
     ["state[0]['momentum_buffer'] has shape (1,)"]),
    (lambda c: _replace(c["optimizer"], "param_groups", []),
     ["different number of parameter groups"]),
    (lambda c: _replace(c["optimizer"]["param_groups"][0], "nesterov", True),
     ["options leafgrad train does not use: nesterov=True"]),
], ids=["net1-keys", "net2-shape", "net2-type", "args-type", "args-lr", "args-dataset",
        "args-limit", "args-unknown", "history-keys", "history-length", "epoch-type",
        "optimizer-state", "optimizer-groups", "optimizer-options"])
def test_resume_from_a_damaged_checkpoint_is_a_one_line_error(a_checkpoint, tmp_path, capsys,
                                                              damage, words):
    checkpoint = leafgrad.load(a_checkpoint)
    damage(checkpoint)
    leafgrad.save(checkpoint, tmp_path / "damaged.safetensors")
    status, out, err = run_train(capsys, "--resume", str(tmp_path / "damaged.safetensors"),
                                 "--epochs", "2", "--output", str(tmp_path / "out"))
    assert status == 1 and out == ""
    assert err.startswith(f"leafgrad train: error: cannot resume from "
                          f"{tmp_path / 'damaged.safetensors'}: ") and err.count("\n") == 1
    for word in words:
        assert word in err
    assert not (tmp_path / "out").exists()


def test_train_refuses_an_output_folder_that_is_a_file(tmp_path, capsys):
    (tmp_path / "afile").write_text("not a folder")
    status, out, err = run_train(capsys, "--dataset", "fake", "--output",
                                 str(tmp_path / "afile"))
    assert status == 1 and out == ""
    assert err == (f"leafgrad train: error: cannot write to the output folder "
                   f"{tmp_path / 'afile'}: it is {tmp_path / 'afile'}, a file\n")
    status, _, err = run_train(capsys, "--dataset", "fake", "--output",
                               str(tmp_path / "afile" / "sub"))
    assert status == 1 and f"it is inside {tmp_path / 'afile'}, a file" in err
    assert (tmp_path / "afile").read_text() == "not a folder"


def test_train_option_errors(tmp_path, capsys):
    status, _, err = run_train(capsys, "--data-dir", str(tmp_path))
    assert status == 1 and "--data-dir is for --dataset cifar10" in err
    for bad, words in ((["--epochs", "0"], "must be a positive integer, got '0'"),
                       (["--batch-size", "-1"], "must be a positive integer, got '-1'"),
                       (["--seed", "x"], "must be a non-negative integer, got 'x'"),
                       (["--lr", "-1"], "must be a finite non-negative number, got '-1'"),
                       (["--lr", "fast"], "must be a finite non-negative number, got 'fast'"),
                       (["--momentum", "nan"], "must be a finite non-negative number"),
                       (["--momentum", "-0.5"], "must be a finite non-negative number"),
                       (["--freeze", "net3"], "invalid choice"),
                       (["--dataset", "mnist"], "invalid choice")):
        with pytest.raises(SystemExit) as exit_info:
            main(["train", *bad])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert f"error: argument {bad[0]}: " in err and words in err


def test_train_names_the_missing_packages(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # an import of tqdm now fails
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    status, out, err = run_train(capsys, "--dataset", "fake", "--output", str(tmp_path))
    assert status == 1 and out == ""
    assert "needs tqdm, matplotlib" in err and 'pip install "leafgrad[train]"' in err


def test_python_m_leafgrad_train(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "leafgrad", "train", "--dataset", "fake", "--limit", "16",
         "--epochs", "1", "--output", str(tmp_path)],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no progress bar without a terminal, no warnings
    assert EPOCH_LINE.search(result.stdout)
    assert (tmp_path / CHECKPOINT_NAME).is_file() and (tmp_path / PLOT_NAME).is_file()


def test_demo_runs_the_two_network_experiment_without_scikit_learn():
    code = ("import sys; sys.modules['sklearn'] = None\n"
            "from leafgrad.cli import main; main(['demo'])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=True)
    out = result.stdout
    assert "FakeData images (Digits needs scikit-learn" in out
    experiment, frozen = out.split("== Experiment 2")[1].split("== C19")
    assert "outputs1.requires_grad: True\noutputs1.grad: None\n" in experiment
    assert "net1 changed: True, net2 changed: True" in experiment
    assert "net1.conv1.bias.grad: None\n" in frozen
    assert "net1 changed: False, net2 changed: True" in frozen
    assert "net1.conv1.weight not in the graph" in frozen
    assert result.stderr == ""
