"""The ``leafgrad`` command (also ``python -m leafgrad``).

``leafgrad demo`` runs the seed's experiments and prints what the seed prints. ``leafgrad train``
trains the seed's CIFAR-10 network split in two (:mod:`leafgrad.models`) with one SGD optimizer
over both halves, on the bundled Digits by default or on CIFAR-10, and writes a checkpoint and a
plot of its progress.
"""
from __future__ import annotations

import argparse
import importlib
import io
import itertools
import math
import os
import sys
import textwrap
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np


def demo() -> None:
    """The seed's first experiment, then one line for each flag the seed explains."""
    import leafgrad as torch
    from leafgrad.autograd import Variable
    from leafgrad.viz import explain

    print("== Experiment 1: x2 -> |f1| -> y2 -> |f2| -> z2 ==")
    tensors = _seed_tree()
    tensors["z2"].backward()
    for name in ("x2", "y2", "w1", "w2"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # y2 is not a leaf: its grad is not kept
            print(f"{name}.grad:", tensors[name].grad)
    print("leaves x2, w1, w2 keep their gradients; the inner node y2 does not.")
    print("the graph, a tree whose leaves are x2, w1 (deepest) and w2 (backward freed what its "
          "ops saved):")
    print(textwrap.indent(explain(tensors["z2"], names=tensors), "  "))

    print("\n== Flags ==")
    x = torch.ones(2, requires_grad=True)
    y = torch.ones(2)
    print("C1 new tensor requires_grad:", y.requires_grad)
    print("C2 (x * y).requires_grad with x requiring grad:", (x * y).requires_grad)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        v = Variable(torch.ones(2), volatile=True)
    print("C4 volatile result requires_grad:", (v * x).requires_grad, "volatile:",
          (v * x).volatile)
    d = (x * 2).detach()
    print("C5 detach(): is_leaf", d.is_leaf, "requires_grad", d.requires_grad)
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    print("C6 two backward() calls with retain_graph=True accumulate: x.grad =", x.grad)
    try:
        loss.backward()
    except RuntimeError as error:
        print("C6 a third call through the freed graph fails:", str(error).split(":")[0])
    (dx,) = torch.autograd.grad((x ** 3).sum(), x, create_graph=True)
    (d2x,) = torch.autograd.grad(dx.sum(), x)
    print("C8 create_graph: d/dx x^3 =", dx.detach(), " d2/dx2 =", d2x)
    h = x * 3
    h.register_hook(lambda grad: grad * 10)
    x.grad = None
    h.sum().backward()
    print("C14 a hook on an inner node changed its gradient: x.grad =", x.grad)
    try:
        (x * 2).backward()
    except RuntimeError as error:
        print("C15 non-scalar backward():", str(error).split(":")[0])

    _demo_two_networks()


def _seed_tree() -> dict:
    """The tensors of the seed's first experiment by name, after the forward pass."""
    import leafgrad as torch
    from leafgrad.autograd import Variable

    torch.manual_seed(0)
    w1 = Variable(torch.Tensor([2]), requires_grad=True)  # parameters of f1 and f2
    w2 = Variable(torch.Tensor([2]), requires_grad=True)
    x2 = Variable(torch.rand(1), requires_grad=True)
    y2 = x2 ** w1  # f1
    z2 = w2 * y2 + 1  # f2
    return {"x2": x2, "w1": w1, "w2": w2, "y2": y2, "z2": z2}


# -- the seed's second experiment (C17, C19) --------------------------------------------------
def _demo_two_networks() -> None:
    """C17 on one small batch: net1 -> net2, one SGD over both, one step; then C19, net1
    frozen, and a second step."""
    import leafgrad as torch
    from leafgrad import nn, optim
    from leafgrad.models import Net1, Net2

    print("\n== Experiment 2: the CIFAR-10 network as net1 (convolutions) -> net2 (fully "
          "connected) ==")
    inputs, labels = _demo_batch()
    torch.manual_seed(0)
    net1, net2 = Net1(), Net2()
    optimizer = optim.SGD(itertools.chain(net1.parameters(), net2.parameters()), lr=0.01,
                          momentum=0.9)
    criterion = nn.CrossEntropyLoss()
    for line in _seed_step(net1, net2, optimizer, criterion, inputs, labels)[1]:
        print(line)
    print("\n== C19: net1 frozen (requires_grad = False on its parameters) ==")
    for parameter in net1.parameters():
        parameter.requires_grad = False
    for line in _seed_step(net1, net2, optimizer, criterion, inputs, labels)[1]:
        print(line)


def _demo_batch():
    """Four Digits images resized to 3x32x32, or FakeData images without scikit-learn."""
    import leafgrad as torch
    from leafgrad.datasets import Digits, FakeData, transforms
    from leafgrad.utils.data import DataLoader

    try:
        data = Digits(train=True, resize_to_cifar=True)
        print("a batch of 4 Digits images, resized to 3x32x32")
    except ImportError:
        data = FakeData(size=4, image_size=(3, 32, 32), transform=transforms.ToTensor())
        print("a batch of 4 FakeData images (Digits needs scikit-learn: pip install "
              "\"leafgrad[train]\")")
    loader = DataLoader(data, batch_size=4, shuffle=True,
                        generator=torch.Generator().manual_seed(0))
    return next(iter(loader))


def _seed_step(net1, net2, optimizer, criterion, inputs, labels) -> tuple[Any, list[str]]:
    """One training step of the seed's C17 experiment: returns the loss and the lines the seed
    prints about the step (flags and grads, which nets changed, the depths of two leaves)."""
    before = [[parameter.detach().clone() for parameter in net.parameters()]
              for net in (net1, net2)]
    optimizer.zero_grad()
    outputs1 = net1(inputs)
    outputs2 = net2(outputs1)
    loss = criterion(outputs2, labels)
    loss.backward()
    optimizer.step()
    changed = [any(not np.array_equal(old.numpy(), new.detach().numpy())
                   for old, new in zip(values, net.parameters()))
               for values, net in zip(before, (net1, net2))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # outputs1 is not a leaf: no grad is kept
        outputs1_grad = outputs1.grad
    depths = _leaf_depths(loss, {"net1.conv1.weight": net1.conv1.weight,
                                 "net2.fc3.weight": net2.fc3.weight})
    where = {name: "not in the graph" if depth is None else f"at depth {depth}"
             for name, depth in depths.items()}
    lines = [
        f"inputs.requires_grad: {inputs.requires_grad}",
        f"inputs.grad: {inputs.grad}",
        f"outputs1.requires_grad: {outputs1.requires_grad}",
        f"outputs1.grad: {outputs1_grad}",
        f"net1.conv1.bias.grad: {net1.conv1.bias.grad}",
        f"net2.fc3.bias.grad: {net2.fc3.bias.grad}",
        f"after optimizer.step(): net1 changed: {changed[0]}, net2 changed: {changed[1]}",
        "leaves at different depths below the loss: " + ", ".join(
            f"{name} {place}" for name, place in where.items())]
    return loss, lines


def _leaf_depths(root, leaves: dict) -> dict:
    """For each named leaf, the fewest backward nodes between ``root`` and the leaf's
    AccumulateGrad node (None when the leaf is not in ``root``'s graph)."""
    wanted = {id(tensor): name for name, tensor in leaves.items()}
    depths = dict.fromkeys(leaves)
    frontier, seen, depth = [root.grad_fn], set(), 0
    while frontier:  # breadth first, so the first visit is the shortest path
        following = []
        for node in frontier:
            if node is None or id(node) in seen:
                continue
            seen.add(id(node))
            name = wanted.get(id(getattr(node, "variable", None)))
            if name is not None:
                depths[name] = depth
            following.extend(child for child, _ in node.next_functions)
        frontier, depth = following, depth + 1
    return depths


# -- leafgrad graph ----------------------------------------------------------------------------
GRAPH_FORMATS = ("png", "svg")


def _add_graph_parser(commands) -> None:
    parser = commands.add_parser(
        "graph", help="draw the backward graphs of the seed's two experiments",
        description="Explain the backward graphs of the seed's experiments as text trees and draw "
                    "them with Graphviz: experiment 1 (z2 = w2 * x2 ** w1 + 1) and experiment 2 "
                    "(the loss of net1 -> net2, the network of leafgrad train, its leaves named "
                    "by parameter). Without Graphviz only the text is written.")
    parser.add_argument("--format", choices=GRAPH_FORMATS, default="png",
                        help="picture format (default png)")
    parser.add_argument("--output", metavar="DIR", default=os.path.join("runs", "graph"),
                        help="where experiment1.* and experiment2.* go (default runs/graph)")


def _seed_network_loss() -> tuple[Any, dict, dict]:
    """The loss of net1 -> net2 on four random images, with the parameters and tensors named."""
    import leafgrad as torch
    from leafgrad import nn
    from leafgrad.models import Net1, Net2

    torch.manual_seed(0)
    net1, net2 = Net1(), Net2()
    inputs = torch.rand(4, 3, 32, 32)
    outputs1 = net1(inputs)
    loss = nn.CrossEntropyLoss()(net2(outputs1), torch.tensor([0, 1, 2, 3]))
    params = {f"{prefix}.{name}": parameter
              for prefix, net in (("net1", net1), ("net2", net2))
              for name, parameter in net.named_parameters()}
    return loss, params, {"inputs": inputs, "outputs1": outputs1, "loss": loss}


def graph(args: argparse.Namespace) -> int:
    """``leafgrad graph``: print and write each experiment's text tree, and draw its picture
    when Graphviz is there."""
    from leafgrad.serialization import atomic_write
    from leafgrad.viz import INSTALL_HINT, draw_graph, explain

    tensors = _seed_tree()
    loss, params, names = _seed_network_loss()
    experiments = {"experiment1": (tensors["z2"], None, tensors),
                   "experiment2": (loss, params, names)}
    try:
        os.makedirs(args.output, exist_ok=True)
        for stem, (output, params, names) in experiments.items():
            text = explain(output, params=params, names=names)
            print(f"== {stem} ==\n{text}\n")
            path = os.path.join(args.output, stem + ".txt")
            with open(path, "w", encoding="utf-8") as file:
                file.write(text + "\n")
            print(f"wrote {path}")
        import graphviz
    except OSError as error:
        print(f"leafgrad graph: error: cannot write to {args.output}: {error}", file=sys.stderr)
        return 1
    except ImportError:
        print(f"leafgrad graph: the graphviz package is not installed, so no pictures were "
              f"drawn (the text above was written): {INSTALL_HINT}", file=sys.stderr)
        return 0
    for stem, (output, params, names) in experiments.items():
        picture = draw_graph(output, params=params, names=names)
        path = os.path.join(args.output, f"{stem}.{args.format}")
        try:  # pipe, not render: a failed render would leave its dot source file behind
            atomic_write(path, picture.pipe(format=args.format))
        except graphviz.ExecutableNotFound:
            print(f"leafgrad graph: Graphviz's dot program was not found, so no pictures were "
                  f"drawn (the text above was written): {INSTALL_HINT}", file=sys.stderr)
            return 0
        except OSError as error:
            print(f"leafgrad graph: error: cannot write to {args.output}: {error}",
                  file=sys.stderr)
            return 1
        print(f"wrote {path}")
    return 0


# -- leafgrad train -----------------------------------------------------------------------------
# What changes results; a resumed run takes these from its checkpoint unless given again.
TRAIN_DEFAULTS: dict[str, Any] = {
    "dataset": "digits", "data_dir": "data", "epochs": 20, "batch_size": 16, "lr": 0.01,
    "momentum": 0.9, "seed": 0, "freeze": None, "limit": None}
DATASETS = ("digits", "cifar10", "fake")
NETS = ("net1", "net2")
CHECKPOINT_NAME = "checkpoint.safetensors"
PLOT_NAME = "training.png"
_CHECKPOINT_KEYS = ("net1", "net2", "optimizer", "epoch", "history", "args")
# import name -> the name pip installs it by
_TRAIN_PACKAGES = {"safetensors": "safetensors", "tqdm": "tqdm", "matplotlib": "matplotlib",
                   "threadpoolctl": "threadpoolctl"}


class TrainError(Exception):
    """A problem ``leafgrad train`` reports in one line (exit status 1), not as a traceback."""


def _add_train_parser(commands) -> None:
    parser = commands.add_parser(
        "train", help="train the seed's two-network CIFAR-10 model",
        description="Train the seed's CIFAR-10 network split into net1 (convolutions) and net2 "
                    "(fully connected) with one SGD optimizer over both, print the loss and "
                    "test accuracy of each epoch, and save a checkpoint and a plot.")
    default = TRAIN_DEFAULTS
    parser.add_argument("--dataset", choices=DATASETS,
                        help=f"digits: scikit-learn's 8x8 digits resized to 3x32x32; cifar10: "
                             f"the python batches in --data-dir; fake: random images "
                             f"(default {default['dataset']})")
    parser.add_argument("--data-dir", metavar="DIR",
                        help=f"folder holding cifar-10-batches-py (default "
                             f"{default['data_dir']})")
    parser.add_argument("--epochs", type=_positive_int, metavar="N",
                        help=f"total epochs, counting those of a resumed checkpoint (default "
                             f"{default['epochs']})")
    parser.add_argument("--batch-size", type=_positive_int, metavar="N",
                        help=f"default {default['batch_size']}")
    parser.add_argument("--lr", type=_non_negative_float,
                        help=f"learning rate (default {default['lr']})")
    parser.add_argument("--momentum", type=_non_negative_float,
                        help=f"default {default['momentum']}")
    parser.add_argument("--seed", type=_non_negative_int,
                        help=f"seeds the initial weights and each epoch's data order (default "
                             f"{default['seed']})")
    parser.add_argument("--freeze", choices=NETS,
                        help="set requires_grad=False on this half's parameters: they get no "
                             "grad and keep their values while the other half learns")
    parser.add_argument("--limit", type=_positive_int, metavar="N",
                        help="train on N examples only (a fixed random subset)")
    parser.add_argument("--output", metavar="DIR",
                        help=f"where {CHECKPOINT_NAME} and {PLOT_NAME} go (default runs/train, "
                             f"or the resumed checkpoint's folder)")
    parser.add_argument("--resume", metavar="PATH",
                        help="continue from a checkpoint: the result equals an uninterrupted "
                             "run of the same total epochs")
    parser.add_argument("--workers", type=_non_negative_int, default=0, metavar="N",
                        help="DataLoader worker processes (default 0: load in this process)")
    parser.add_argument("--threads", type=_positive_int, default=1, metavar="N",
                        help="BLAS threads (default 1, the fastest for this small network)")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bar (there is none either when stderr is not a "
                             "terminal)")


def _is_int(value: Any, minimum: int) -> bool:
    return type(value) is int and value >= minimum


def _is_rate(value: Any) -> bool:
    """A learning rate or momentum: a finite number >= 0 (SGD refuses negative ones)."""
    return type(value) in (int, float) and math.isfinite(value) and value >= 0


def _parsed(text: str, convert: Callable[[str], Any], test: Callable[[Any], bool],
            what: str) -> Any:
    """An option's value converted by ``convert`` and passing ``test``; else argparse's error
    saying what it must be."""
    try:
        value = convert(text)
    except ValueError:
        value = None
    if value is None or not test(value):
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    return _parsed(text, int, lambda v: _is_int(v, 1), "a positive integer")


def _non_negative_int(text: str) -> int:
    return _parsed(text, int, lambda v: _is_int(v, 0), "a non-negative integer")


def _non_negative_float(text: str) -> float:
    return _parsed(text, float, _is_rate, "a finite non-negative number")


# what each setting of a checkpoint's "args" must be: (description, test)
_SETTING_CHECKS: dict[str, tuple[str, Any]] = {
    "dataset": (f"one of {', '.join(DATASETS)}", lambda v: isinstance(v, str) and v in DATASETS),
    "data_dir": ("a string", lambda v: isinstance(v, str)),
    "epochs": ("a positive integer", lambda v: _is_int(v, 1)),
    "batch_size": ("a positive integer", lambda v: _is_int(v, 1)),
    "lr": ("a finite non-negative number", _is_rate),
    "momentum": ("a finite non-negative number", _is_rate),
    "seed": ("a non-negative integer", lambda v: _is_int(v, 0)),
    "freeze": (f"None or one of {', '.join(NETS)}",
               lambda v: v is None or (isinstance(v, str) and v in NETS)),
    "limit": ("None or a positive integer", lambda v: v is None or _is_int(v, 1)),
}


def _check_packages(dataset: str) -> None:
    packages = dict(_TRAIN_PACKAGES)
    if dataset == "digits":
        packages["sklearn"] = "scikit-learn"
    missing = []
    for module, name in packages.items():
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(name)
    if missing:
        raise TrainError(f"leafgrad train needs {', '.join(missing)}, not installed here: "
                         f"pip install \"leafgrad[train]\"")


def _load_checkpoint(path: str) -> dict:
    import leafgrad

    try:
        checkpoint = leafgrad.load(path)
    except (OSError, RuntimeError, ImportError) as error:
        raise TrainError(f"cannot resume from {path}: {error}") from None
    if not isinstance(checkpoint, dict) or not all(key in checkpoint
                                                   for key in _CHECKPOINT_KEYS):
        raise TrainError(f"cannot resume from {path}: it is not a checkpoint written by "
                         f"leafgrad train (it lacks {', '.join(_CHECKPOINT_KEYS)})")
    problem = _checkpoint_problem(checkpoint)
    if problem is not None:
        raise TrainError(f"cannot resume from {path}: {problem}")
    return checkpoint


def _checkpoint_problem(checkpoint: dict) -> str | None:
    """What is wrong with the parts of a checkpoint that training reads as plain values (the
    state_dicts are checked as they load), or None."""
    args = checkpoint["args"]
    if not isinstance(args, dict):
        return f"its args are a {type(args).__name__}, not a dict"
    unknown = sorted(map(str, set(args) - set(_SETTING_CHECKS)))
    if unknown:
        return f"its args hold unknown settings: {', '.join(unknown)}"
    for name, value in args.items():
        what, test = _SETTING_CHECKS[name]
        if not test(value):
            return f"its args[{name!r}] must be {what}, got {value!r}"
    epoch = checkpoint["epoch"]
    if not _is_int(epoch, 0):
        return f"its epoch must be a non-negative integer, got {epoch!r}"
    history = checkpoint["history"]
    if not isinstance(history, dict) or set(history) != {"train_loss", "test_accuracy"}:
        return "its history must be a dict of the lists train_loss and test_accuracy"
    for name, values in history.items():
        if not isinstance(values, list) or len(values) != epoch or not all(
                type(value) in (int, float) for value in values):
            return f"its history[{name!r}] must be a list of {epoch} numbers, one per epoch"
    for name in ("net1", "net2", "optimizer"):
        if not isinstance(checkpoint[name], dict):
            return f"its {name} is a {type(checkpoint[name]).__name__}, not a state_dict"
    return None


def _restore(checkpoint: dict, path: str, nets: dict, optimizer) -> None:
    """Load the checkpoint's state_dicts into the nets and the optimizer; a mismatch (another
    network, a damaged optimizer state, options train never sets) is a TrainError."""
    expected = dict(optimizer.defaults)
    try:
        for name, net in nets.items():
            net.load_state_dict(checkpoint[name])
        optimizer.load_state_dict(checkpoint["optimizer"])
    except (RuntimeError, ValueError, TypeError, KeyError, IndexError, AttributeError) as error:
        message = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
        raise TrainError(f"cannot resume from {path}: {message}") from None
    for group in optimizer.param_groups:  # lr and momentum may be given again; the rest not
        differing = [key for key, value in expected.items() if key not in ("lr", "momentum")
                     and not (type(group[key]) is type(value) and group[key] == value)]
        if differing:
            raise TrainError(f"cannot resume from {path}: its optimizer has options leafgrad "
                             f"train does not use: " + ", ".join(
                                 f"{key}={group[key]!r}" for key in differing))


def _datasets(settings: dict):
    """The training and test sets as (N x 3 x 32 x 32 float images in [0, 1], label) pairs."""
    from leafgrad.datasets import CIFAR10, Digits, FakeData, transforms
    from leafgrad.utils.data import Subset

    if settings["dataset"] == "digits":
        train = Digits(train=True, resize_to_cifar=True)
        test = Digits(train=False, resize_to_cifar=True)
    elif settings["dataset"] == "cifar10":
        try:
            train = CIFAR10(settings["data_dir"], train=True, transform=transforms.ToTensor())
            test = CIFAR10(settings["data_dir"], train=False, transform=transforms.ToTensor())
        except (FileNotFoundError, ValueError) as error:
            raise TrainError(str(error)) from None
    else:
        train = FakeData(size=512, image_size=(3, 32, 32), transform=transforms.ToTensor())
        test = FakeData(size=128, image_size=(3, 32, 32), transform=transforms.ToTensor(),
                        random_offset=512)
    if settings["limit"] is not None and settings["limit"] < len(train):
        # a random subset, not the first N: Digits' training images are sorted by class
        subset = np.random.default_rng(settings["seed"]).permutation(len(train))
        train = Subset(train, subset[:settings["limit"]].tolist())
    return train, test


def _epoch_seed(seed: int, epoch: int) -> int:
    """The seed of epoch ``epoch``'s data order: a function of (seed, epoch) only, so that a
    resumed run sees the same batches as an uninterrupted one."""
    high, low = np.random.SeedSequence([seed, epoch]).generate_state(2)
    return int(high) << 32 | int(low)


def _evaluate(net1, net2, loader, normalize) -> float:
    """The fraction of ``loader``'s images that net2(net1(.)) classifies correctly."""
    import leafgrad

    net1.eval()
    net2.eval()
    correct = total = 0
    with leafgrad.no_grad():
        for inputs, labels in loader:
            predictions = net2(net1(normalize(inputs))).argmax(1)
            correct += int((predictions == labels).sum().item())
            total += len(labels)
    net1.train()
    net2.train()
    return correct / total


def _plot(history: dict, path: str) -> None:
    """Train loss and test accuracy per epoch, side by side, written atomically to ``path``."""
    from matplotlib.figure import Figure  # a bare Figure: no pyplot, no GUI backend
    from matplotlib.ticker import MaxNLocator

    from leafgrad.serialization import atomic_write

    epochs = range(1, len(history["train_loss"]) + 1)
    figure = Figure(figsize=(9, 3.5), layout="constrained")
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    loss_axes.plot(epochs, history["train_loss"], marker="o")
    loss_axes.set(xlabel="epoch", ylabel="cross-entropy", title="train loss", yscale="log")
    accuracy_axes.plot(epochs, [100 * value for value in history["test_accuracy"]],
                       marker="o", color="tab:green")
    accuracy_axes.set(xlabel="epoch", ylabel="%", title="test accuracy")
    for axes in (loss_axes, accuracy_axes):
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    atomic_write(path, buffer.getvalue())


def train(args: argparse.Namespace) -> int:
    """``leafgrad train``: set up from ``args`` (and a checkpoint), then run the epochs."""
    checkpoint = _load_checkpoint(args.resume) if args.resume else None
    given = {key: getattr(args, key) for key in TRAIN_DEFAULTS if getattr(args, key) is not None}
    settings = {**TRAIN_DEFAULTS, **(checkpoint["args"] if checkpoint else {}), **given}
    if args.data_dir is not None and settings["dataset"] != "cifar10":
        raise TrainError("--data-dir is for --dataset cifar10")
    _check_packages(settings["dataset"])
    output = args.output or (os.path.dirname(os.path.abspath(args.resume)) if args.resume
                             else os.path.join("runs", "train"))
    _check_output(output)
    from threadpoolctl import threadpool_limits

    # BLAS's threads cost more than they give on this network's small matrices
    with threadpool_limits(limits=args.threads, user_api="blas"):
        return _run(settings, checkpoint, output, args)


def _check_output(output: str) -> None:
    """Refuse an output folder that cannot be one before any work is done; it is created only
    when there is something to write."""
    folder = os.path.abspath(output)
    while not os.path.exists(folder):
        folder = os.path.dirname(folder)
    if not os.path.isdir(folder):
        what = "is" if folder == os.path.abspath(output) else "is inside"
        raise TrainError(f"cannot write to the output folder {output}: it {what} {folder}, "
                         f"a file")


def _run(settings: dict, checkpoint: dict | None, output: str, args) -> int:
    from tqdm import tqdm

    import leafgrad
    from leafgrad import nn, optim
    from leafgrad.datasets import transforms
    from leafgrad.models import Net1, Net2
    from leafgrad.utils.data import DataLoader

    started = time.perf_counter()
    leafgrad.manual_seed(settings["seed"])
    net1, net2 = Net1(), Net2()
    nets = {"net1": net1, "net2": net2}
    optimizer = optim.SGD(itertools.chain(net1.parameters(), net2.parameters()),
                          lr=settings["lr"], momentum=settings["momentum"])
    criterion = nn.CrossEntropyLoss()
    history: dict[str, list] = {"train_loss": [], "test_accuracy": []}
    start_epoch, epochs = 0, settings["epochs"]
    if checkpoint is not None:
        _restore(checkpoint, args.resume, nets, optimizer)
        for group in optimizer.param_groups:  # --lr / --momentum given again override
            group.update(lr=settings["lr"], momentum=settings["momentum"])
        start_epoch, history = checkpoint["epoch"], checkpoint["history"]
        if start_epoch >= epochs:
            print(f"{args.resume} has already trained {start_epoch} epochs; nothing to do (ask "
                  f"for more with --epochs)")
            return 0
    train_set, test_set = _datasets(settings)
    # the tutorial's normalisation to [-1, 1], done per batch: the same values, less Python
    normalize = transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    generator = leafgrad.Generator()
    loader = DataLoader(train_set, batch_size=settings["batch_size"], shuffle=True,
                        generator=generator, num_workers=args.workers)
    test_loader = DataLoader(test_set, batch_size=500, num_workers=args.workers)

    count = sum(parameter.numel() for parameter in itertools.chain(net1.parameters(),
                                                                    net2.parameters()))
    print(f"training net1 + net2 ({count} parameters) on {settings['dataset']}: "
          f"{len(train_set)} training and {len(test_set)} test images; SGD lr {settings['lr']} "
          f"momentum {settings['momentum']}, batch size {settings['batch_size']}, seed "
          f"{settings['seed']}")
    if checkpoint is not None:
        print(f"resuming from {args.resume} after epoch {start_epoch}/{epochs}")
    frozen = nets.get(settings["freeze"])
    if frozen is not None:
        for parameter in frozen.parameters():
            parameter.requires_grad = False
        print(f"{settings['freeze']} frozen (C19): its parameters have requires_grad=False, so "
              f"they get no grad and keep their values while the other net learns")
    start_values = {name: [p.detach().clone() for p in net.parameters()]
                    for name, net in nets.items()}
    try:
        os.makedirs(output, exist_ok=True)
    except OSError as error:
        raise TrainError(f"cannot create the output folder {output}: {error}") from None
    checkpoint_path = os.path.join(output, CHECKPOINT_NAME)
    plot_path = os.path.join(output, PLOT_NAME)
    show_progress = not args.no_progress and sys.stderr.isatty()

    for epoch in range(start_epoch, epochs):
        generator.manual_seed(_epoch_seed(settings["seed"], epoch))
        with tqdm(loader, desc=f"epoch {epoch + 1}/{epochs}", unit="batch", leave=False,
                  disable=not show_progress) as batches:
            loss = _train_epoch(net1, net2, optimizer, criterion, batches, normalize,
                                show_seed_facts=epoch == start_epoch)
        history["train_loss"].append(loss)
        history["test_accuracy"].append(_evaluate(net1, net2, test_loader, normalize))
        print(f"epoch {epoch + 1}/{epochs}  train loss {history['train_loss'][-1]:.4f}  "
              f"test accuracy {history['test_accuracy'][-1]:.1%}  "
              f"({time.perf_counter() - started:.1f} s)", flush=True)
        try:
            leafgrad.save({"net1": net1.state_dict(), "net2": net2.state_dict(),
                           "optimizer": optimizer.state_dict(), "epoch": epoch + 1,
                           "history": history, "args": settings}, checkpoint_path)
        except OSError as error:
            raise TrainError(f"cannot save the checkpoint: {error}") from None
    if frozen is not None:
        print(_frozen_report(nets, settings["freeze"], start_values))
    try:
        _plot(history, plot_path)
    except OSError as error:
        raise TrainError(f"cannot save the plot: {error}") from None
    print(f"test accuracy {history['test_accuracy'][-1]:.1%} after {epochs} epochs; this run "
          f"took {time.perf_counter() - started:.1f} s")
    print(f"saved {checkpoint_path} and {plot_path}")
    return 0


def _train_epoch(net1, net2, optimizer, criterion, batches, normalize,
                 show_seed_facts: bool) -> float:
    """One pass over ``batches`` (a tqdm-wrapped loader); returns the mean training loss. The
    first step prints the seed's C17 facts when ``show_seed_facts``."""
    from tqdm import tqdm

    loss_sum, seen = 0.0, 0
    for inputs, labels in batches:
        inputs = normalize(inputs)
        if show_seed_facts:
            loss, lines = _seed_step(net1, net2, optimizer, criterion, inputs, labels)
            tqdm.write("the seed's experiment (C17) on the first batch:")
            for line in lines:
                tqdm.write("  " + line)
            show_seed_facts = False
        else:
            optimizer.zero_grad()
            loss = criterion(net2(net1(inputs)), labels)
            loss.backward()
            optimizer.step()
        loss_sum += loss.item() * len(labels)
        seen += len(labels)
        batches.set_postfix(loss=f"{loss_sum / seen:.4f}", refresh=False)
    return loss_sum / seen


def _frozen_report(nets: dict, frozen_name: str, start_values: dict) -> str:
    """One line saying that the frozen net got no grads and kept its values, and whether the
    other net changed."""
    frozen = nets[frozen_name]
    no_grads = all(parameter.grad is None for parameter in frozen.parameters())
    changed = {name: any(not np.array_equal(old.numpy(), new.detach().numpy())
                         for old, new in zip(start_values[name], net.parameters()))
               for name, net in nets.items()}
    other = next(name for name in nets if name != frozen_name)
    return (f"{frozen_name} frozen: grads all None: {no_grads}, values unchanged: "
            f"{not changed[frozen_name]}; {other} changed: {changed[other]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="leafgrad", description="leafgrad demo runs the seed's autograd experiments; "
                                     "leafgrad train trains the seed's two-network CIFAR-10 "
                                     "model; leafgrad graph draws the seed's backward graphs.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="run the seed's autograd experiments and print the results")
    _add_train_parser(commands)
    _add_graph_parser(commands)
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo()
        return 0
    if args.command == "graph":
        return graph(args)
    try:
        return train(args)
    except TrainError as error:
        print(f"leafgrad train: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
