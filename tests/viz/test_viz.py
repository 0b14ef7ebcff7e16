"""leafgrad.viz: the graph as a graphviz picture (draw_graph) and as text (explain), and the
``leafgrad graph`` command."""
import re
import shutil
import sys

import pytest

import leafgrad
import leafgrad.viz
from leafgrad import nn
from leafgrad.autograd import Variable
from leafgrad.cli import main
from leafgrad.viz import draw_graph, explain

HAS_DOT = shutil.which("dot") is not None
NEEDS_DOT = pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot program is not installed "
                                                   "(apt-get install graphviz)")


def seed_tree():
    """The seed's first experiment: z2 = w2 * x2 ** w1 + 1."""
    w1 = Variable(leafgrad.Tensor([2]), requires_grad=True)
    w2 = Variable(leafgrad.Tensor([2]), requires_grad=True)
    x2 = Variable(leafgrad.Tensor([0.5]), requires_grad=True)
    y2 = x2 ** w1
    z2 = w2 * y2 + 1
    return {"x2": x2, "w1": w1, "w2": w2, "y2": y2, "z2": z2}


_NODE = re.compile(r'\t(\w+) \[label=("(?:[^"\\]|\\.)*"|\S+)(.*)\]', re.DOTALL)
_EDGE = re.compile(r"\t(\w+) -> (\w+)")


def parse(dot):
    """({label: [attributes of each node with that label]}, {(child label, parent label)}) of a
    Digraph."""
    nodes, edges = {}, []
    for statement in dot.body:
        match = _NODE.fullmatch(statement.rstrip("\n"))
        if match:
            label = match.group(2)
            label = label[1:-1].replace('\\"', '"') if label.startswith('"') else label
            nodes[match.group(1)] = (label, match.group(3))
            continue
        match = _EDGE.match(statement)
        assert match, statement
        edges.append(match.groups())
    by_label = {}
    for label, attributes in nodes.values():
        by_label.setdefault(label, []).append(attributes)
    edge_labels = [(nodes[child][0], nodes[parent][0]) for child, parent in edges]
    return by_label, edge_labels


def labels_starting(nodes, prefix):
    return [label for label, copies in nodes.items() for _ in copies
            if label.split("\n")[0] == prefix]


def the_label(nodes, prefix):
    (label,) = labels_starting(nodes, prefix)
    return label


def test_seed_graph_names_ops_leaves_and_saved_tensors():
    t = seed_tree()
    nodes, edges = parse(draw_graph(t["z2"], names=t))
    assert set(nodes) == {
        "z2\n(1,) float32",
        "AddBackward0",
        "MulBackward0\nsaved[0]: w2 (1,) float32\nsaved[1]: y2 (1,) float32",
        "PowBackward1 (y2)\nsaved[0]: x2 (1,) float32\nsaved[1]: w1 (1,) float32\n"
        "saved[2]: y2 (1,) float32",
        "x2\n(1,) float32\nrequires grad",
        "w1\n(1,) float32\nrequires grad",
        "w2\n(1,) float32\nrequires grad"}
    mul, pow_ = the_label(nodes, "MulBackward0"), the_label(nodes, "PowBackward1 (y2)")
    assert set(edges) == {("x2\n(1,) float32\nrequires grad", pow_),
                     ("w1\n(1,) float32\nrequires grad", pow_),
                     ("w2\n(1,) float32\nrequires grad", mul), (pow_, mul),
                     (mul, "AddBackward0"), ("AddBackward0", "z2\n(1,) float32")}
    assert len(edges) == 6
    assert "lightblue" in nodes["x2\n(1,) float32\nrequires grad"][0]
    assert "darkolivegreen1" in nodes["z2\n(1,) float32"][0]


def test_saved_tensors_show_dtype_constants_outputs_and_no_grad_inputs():
    a = leafgrad.rand(2, 3, dtype=leafgrad.float64, requires_grad=True)
    b = leafgrad.ones(2, 3, dtype=leafgrad.float64)
    nodes, _ = parse(draw_graph((a.exp() * 2) * b))
    assert "ExpBackward0\nsaved[0]: output 0 (2, 3) float64" in nodes
    # as torch, a factor is kept only for the other factor's gradient: here no gradient
    # needs the first factors (None)
    assert "MulBackward0\nsaved[0]: None\nsaved[1]: constant 2" in nodes
    assert "MulBackward0\nsaved[0]: None\nsaved[1]: tensor (2, 3) float64 (no grad)" in nodes
    both, _ = parse(draw_graph(a * a))
    assert "MulBackward0\nsaved[0]: tensor (2, 3) float64\nsaved[1]: tensor (2, 3) float64" \
        in both
    hidden, _ = parse(draw_graph(a.exp(), show_saved=False))
    assert "ExpBackward0" in hidden


def test_outputs_that_do_not_require_grad_and_leaf_outputs():
    x = leafgrad.ones(2, requires_grad=True)
    with leafgrad.no_grad():
        y = x * 2
    nodes, edges = parse(draw_graph([y, x], names={"y": y, "x": x}))
    assert "y (requires_grad=False: no graph)\n(2,) float32" in nodes
    assert "white" in nodes["y (requires_grad=False: no graph)\n(2,) float32"][0]
    assert "x (leaf, requires grad)\n(2,) float32" in nodes
    assert edges == []


def test_freed_after_backward_and_kept_with_retain_graph():
    t = seed_tree()
    t["z2"].backward(retain_graph=True)
    nodes, _ = parse(draw_graph(t["z2"], names=t))
    assert not any("freed" in label for label in nodes)
    assert "saved[0]: w2 (1,) float32" in the_label(nodes, "MulBackward0")
    t["z2"].backward()
    nodes, _ = parse(draw_graph(t["z2"], names=t))
    for op in ("MulBackward0", "PowBackward1 (y2)"):
        assert nodes[f"{op}\nsaved tensors freed"] == [' style="filled,dashed"']
    assert nodes["AddBackward0"] == [""]  # it saved nothing, so nothing was freed


def test_hooks_and_retain_grad_are_marked():
    t = seed_tree()
    t["y2"].retain_grad()
    t["y2"].register_hook(lambda grad: grad)
    t["x2"].register_hook(lambda grad: grad)
    t["x2"].register_post_accumulate_grad_hook(lambda tensor: None)
    t["z2"].grad_fn.register_hook(lambda grad_inputs, grad_outputs: None)
    t["z2"].grad_fn.register_prehook(lambda grad_outputs: None)
    t["z2"].retain_grad()
    nodes, _ = parse(draw_graph(t["z2"], names=t, show_saved=False))
    assert "PowBackward1 (y2)\nretains grad\n1 tensor hook" in nodes
    assert "x2\n(1,) float32\nrequires grad\n2 tensor hooks" in nodes
    assert "AddBackward0\nretains grad\n1 node hook\n1 node pre-hook" in nodes
    assert "z2\n(1,) float32\nretains grad" in nodes
    assert "w1\n(1,) float32\nrequires grad" in nodes  # no hooks: no mark
    text = explain(t["z2"], names=t)
    assert "z2 [retains grad]" in text
    assert "<- PowBackward1 (y2) [retains grad, 1 tensor hook]" in text
    assert "<- x2 [2 tensor hooks]" in text


def test_module_graph_is_labelled_with_parameter_names():
    leafgrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    loss = model(leafgrad.rand(5, 3)).sum()
    nodes, _ = parse(draw_graph(loss, params=model.named_parameters()))
    for name, shape in (("0.weight", "(4, 3)"), ("0.bias", "(4,)"), ("2.weight", "(1, 4)"),
                        ("2.bias", "(1,)")):
        assert f"{name}\n{shape} float32\nrequires grad" in nodes
    assert labels_starting(nodes, "AddmmBackward0") and labels_starting(nodes, "ReluBackward0")
    assert "    <- 2.bias" in explain(loss, params=dict(model.named_parameters()))


def test_explain_seed_tree_exactly():
    t = seed_tree()
    assert explain(t["z2"], names=t) == (
        "z2\n"
        "    <- AddBackward0\n"
        "        <- MulBackward0\n"
        "            <- w2\n"
        "            <- PowBackward1 (y2)\n"
        "                <- x2\n"
        "                <- w1")
    leaves_only = {name: t[name] for name in ("x2", "w1", "w2")}
    t["z2"].backward()
    assert explain(t["z2"], names=leaves_only).splitlines() == [
        "tensor (1,) float32",
        "    <- AddBackward0",
        "        <- MulBackward0 [saved tensors freed]",
        "            <- w2",
        "            <- PowBackward1 [saved tensors freed]",
        "                <- x2",
        "                <- w1"]


def test_explain_shows_a_shared_subgraph_once():
    x = leafgrad.rand(3, requires_grad=True)
    e = x.exp()
    y = e * e + e
    assert explain([y, e], names={"x": x, "y": y}) == (
        "y\n"
        "    <- AddBackward0\n"
        "        <- MulBackward0\n"
        "            <- ExpBackward0 #1\n"
        "                <- x\n"
        "            <- ExpBackward0 #1 (see above)\n"
        "        <- ExpBackward0 #1 (see above)\n"
        "tensor (3,) float32\n"
        "    <- ExpBackward0 #1 (see above)")
    nodes, _ = parse(draw_graph(y))
    assert len(labels_starting(nodes, "ExpBackward0")) == 1


def test_a_100000_op_chain_is_capped_without_recursion_error():
    x = leafgrad.ones(1, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    lines = explain(y, names={"x": x}, max_nodes=100).splitlines()
    assert len(lines) == 102
    assert lines[-1] == ("... the graph has 100001 nodes; stopped after 100 lines "
                         "(max_nodes=100)")
    assert len(explain(y).splitlines()) == 2002
    nodes, edges = parse(draw_graph(y))
    assert len(labels_starting(nodes, "MulBackward0")) == 2000
    note = "... 98001 more nodes not drawn (max_nodes=2000)"
    assert note in nodes
    assert sum(1 for child, _ in edges if child == note) == 1


def test_bad_arguments_raise_type_errors():
    x = leafgrad.ones(1, requires_grad=True)
    with pytest.raises(TypeError, match="expected a Tensor"):
        explain("x")
    with pytest.raises(TypeError, match="'x' is a list, not a Tensor"):
        draw_graph(x * 2, names={"x": [1.0]})
    with pytest.raises(TypeError, match=r"iterable of \(name, tensor\) pairs"):
        explain(x * 2, params=[x])
    with pytest.raises(ValueError, match="at least one tensor"):
        draw_graph([])


@NEEDS_DOT
@pytest.mark.parametrize("fmt, magic", [("png", b"\x89PNG"), ("svg", b"<svg")])
def test_render_writes_the_picture(tmp_path, fmt, magic):
    t = seed_tree()
    path = draw_graph(t["z2"], names=t).render(tmp_path / "graph", format=fmt)
    assert path == str(tmp_path / f"graph.{fmt}")
    content = (tmp_path / f"graph.{fmt}").read_bytes()
    assert magic in content[:400]
    if fmt == "svg":
        assert b"PowBackward1 (y2)" in content


def test_missing_graphviz_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # makes `import graphviz` fail
    t = seed_tree()
    with pytest.raises(ImportError, match=re.escape('pip install "leafgrad[viz]"')):
        draw_graph(t["z2"])
    assert "<- PowBackward1" in explain(t["z2"])  # text needs no graphviz


def test_cli_graph_writes_pictures_and_prints_the_trees(tmp_path, capsys):
    output = tmp_path / "out"
    assert main(["graph", "--output", str(output), "--format", "svg"]) == 0
    out = capsys.readouterr().out
    assert "            <- PowBackward1 (y2)\n                <- x2\n" in out
    assert "<- net1.conv1.weight" in out and "<- net2.fc3.bias" in out
    assert "<- ViewBackward0 (outputs1)" in out
    for stem in ("experiment1", "experiment2"):
        text = (output / f"{stem}.txt").read_text()
        assert text.splitlines()[0] == ("z2" if stem == "experiment1" else "loss")
        if HAS_DOT:
            assert b"<svg" in (output / f"{stem}.svg").read_bytes()[:400]
            assert f"wrote {output / stem}.svg" in out


def test_cli_graph_without_graphviz_still_writes_the_text(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)
    assert main(["graph", "--output", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "the graphviz package is not installed" in captured.err
    assert 'pip install "leafgrad[viz]"' in captured.err
    assert "apt-get install graphviz" in captured.err
    assert "<- AddBackward0" in captured.out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["experiment1.txt", "experiment2.txt"]


def test_cli_graph_without_dot_still_writes_the_text(tmp_path, capsys, monkeypatch):
    pytest.importorskip("graphviz")
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs-here"))
    output = tmp_path / "out"
    assert main(["graph", "--output", str(output), "--format", "png"]) == 0
    captured = capsys.readouterr()
    assert "dot program was not found" in captured.err
    assert "apt-get install graphviz" in captured.err
    assert sorted(p.name for p in output.iterdir()) == ["experiment1.txt", "experiment2.txt"]


def test_viz_exports():
    assert leafgrad.viz.draw_graph is draw_graph and leafgrad.viz.explain is explain
