"""The ``leafgrad`` command: ``leafgrad demo`` runs the seed's experiments and prints what the
seed prints (``train`` and ``graph`` arrive with the training and visualisation work)."""
from __future__ import annotations

import argparse
import sys
import warnings


def demo() -> None:
    """The seed's first experiment, then one line for each flag the seed explains."""
    import leafgrad as torch
    from leafgrad.autograd import Variable

    torch.manual_seed(0)
    print("== Experiment 1: x2 -> |f1| -> y2 -> |f2| -> z2 ==")
    w1 = Variable(torch.Tensor([2]), requires_grad=True)  # parameters of f1 and f2
    w2 = Variable(torch.Tensor([2]), requires_grad=True)
    x2 = Variable(torch.rand(1), requires_grad=True)
    y2 = x2 ** w1  # f1
    z2 = w2 * y2 + 1  # f2
    z2.backward()
    print("x2.grad:", x2.grad)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # y2 is not a leaf: its grad is not kept
        print("y2.grad:", y2.grad)
    print("w1.grad:", w1.grad)
    print("w2.grad:", w2.grad)
    print("leaves x2, w1, w2 keep their gradients; the inner node y2 does not.")
    print("the graph, a tree whose leaves are x2, w1 (deepest) and w2:")
    _print_tree(z2, {id(x2): "x2", id(w1): "w1", id(w2): "w2"})

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


def _print_tree(root, leaf_names: dict) -> None:
    """Print the backward graph under ``root``, one node per line, children indented."""
    stack = [(root.grad_fn, 1)]
    print("  z2")
    while stack:
        node, depth = stack.pop()
        variable = getattr(node, "variable", None)
        label = leaf_names.get(id(variable), "leaf") if variable is not None else node.name()
        print("  " + "    " * depth + "<- " + label)
        children = [child for child, _ in node.next_functions if child is not None]
        stack.extend((child, depth + 1) for child in reversed(children))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="leafgrad", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="run the seed's autograd experiments and print the results")
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo()
    return 0


if __name__ == "__main__":
    sys.exit(main())
