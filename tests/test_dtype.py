"""The dtype predicates of ``leafgrad._dtype`` (``is_floating_point``, ``is_complex``,
``is_differentiable``, ``is_integral``, ``is_bool``), checked against torch, and a scan that
keeps dtype questions in them: outside ``leafgrad/_dtype.py`` no code compares a dtype's
``.kind`` (``a.dtype.kind == "f"``, ``kind in "iu"``...).
"""
from __future__ import annotations

import ast
from pathlib import Path

import numpy
import pytest

import leafgrad
from leafgrad import _dtype

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "leafgrad"
DTYPE_MODULE = PACKAGE / "_dtype.py"
KIND_CODES = frozenset("biufcmMOSUV")  # NumPy's dtype.kind characters
# Comparisons of .kind that must stay, as {"leafgrad/path.py": {"source line": "why"}}: only
# where a measured hot path cannot afford a predicate call (~60 ns), said in a comment there.
ALLOWED: dict[str, dict[str, str]] = {}

NUMPY_TO_TORCH = {"float16": "float16", "float32": "float32", "float64": "float64",
                  "int8": "int8", "int16": "int16", "int32": "int32", "int64": "int64",
                  "uint8": "uint8", "bool": "bool", "complex64": "complex64",
                  "complex128": "complex128"}


# -- the predicates -------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", _dtype.ALL_DTYPES, ids=lambda d: d.name)
def test_predicates_agree_with_the_dtype_objects(dtype):
    np_dtype = dtype.np_dtype
    assert _dtype.is_floating_point(np_dtype) is dtype.is_floating_point
    assert _dtype.is_complex(np_dtype) is dtype.is_complex is False
    assert _dtype.is_differentiable(np_dtype) is dtype.is_floating_point
    assert _dtype.is_bool(np_dtype) is (dtype is _dtype.bool_)
    assert _dtype.is_integral(np_dtype) is (not dtype.is_floating_point
                                            and dtype is not _dtype.bool_)
    assert _dtype.is_integral(np_dtype, include_bool=True) is (not dtype.is_floating_point)
    # the tensor methods say the same
    assert leafgrad.zeros(2, dtype=dtype).is_floating_point() is dtype.is_floating_point
    assert leafgrad.zeros(2, dtype=dtype).is_complex() is False


@pytest.mark.parametrize("name", ["float32", "float64", "float16", "int64", "uint8", "bool"])
def test_tensor_is_complex_and_is_floating_point_as_torch(name):
    torch = pytest.importorskip("torch")
    ours = leafgrad.zeros(2, dtype=getattr(leafgrad, name))
    theirs = torch.zeros(2, dtype=getattr(torch, name))
    assert ours.is_complex() is theirs.is_complex()
    assert ours.is_floating_point() is theirs.is_floating_point()


@pytest.mark.parametrize("name", sorted(NUMPY_TO_TORCH))
def test_predicates_agree_with_torch(name):
    torch = pytest.importorskip("torch")
    np_dtype = numpy.dtype(name)
    torch_dtype = getattr(torch, NUMPY_TO_TORCH[name])
    assert _dtype.is_floating_point(np_dtype) is torch_dtype.is_floating_point
    assert _dtype.is_complex(np_dtype) is torch_dtype.is_complex
    try:  # torch: "only Tensors of floating point and complex dtype can require gradients"
        torch.zeros(1, dtype=torch_dtype).requires_grad_()
        differentiable = True
    except RuntimeError:
        differentiable = False
    assert _dtype.is_differentiable(np_dtype) is differentiable
    assert _dtype.is_bool(np_dtype) is (torch_dtype is torch.bool)
    integral = not (torch_dtype.is_floating_point or torch_dtype.is_complex)
    assert _dtype.is_integral(np_dtype, include_bool=True) is integral
    assert _dtype.is_integral(np_dtype) is (integral and torch_dtype is not torch.bool)


@pytest.mark.parametrize("dtype", _dtype.ALL_DTYPES, ids=lambda d: d.name)
def test_dtype_objects_agree_with_torch(dtype):
    torch = pytest.importorskip("torch")
    torch_dtype = getattr(torch, dtype.name)
    assert dtype.is_floating_point is torch_dtype.is_floating_point
    assert dtype.is_complex is torch_dtype.is_complex
    assert dtype.is_signed is torch_dtype.is_signed
    assert dtype.itemsize == torch_dtype.itemsize


def test_requires_grad_follows_is_differentiable():
    for dtype in _dtype.ALL_DTYPES:
        tensor = leafgrad.zeros(2, dtype=dtype)
        if _dtype.is_differentiable(dtype.np_dtype):
            assert tensor.requires_grad_().requires_grad
        else:
            with pytest.raises(RuntimeError):
                tensor.requires_grad_()


# -- the scan -------------------------------------------------------------------------------
def _kind_codes(node: ast.AST) -> bool:
    """Whether ``node`` is a string of dtype kind codes ("f", "iu") or a tuple/list/set of
    them: what a dtype check compares ``.kind`` with."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and bool(node.value) and set(node.value) <= KIND_CODES
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return bool(node.elts) and all(_kind_codes(element) for element in node.elts)
    return False


def scan_kind_checks(source: str) -> list[tuple[int, str]]:
    """(line, source) of each comparison of a dtype kind: ``<x>.kind`` (or a name bound to
    one, ``kind = a.dtype.kind``) compared with ==, !=, in or not in to kind codes."""
    tree = ast.parse(source)
    aliases = {target.id for node in ast.walk(tree) if isinstance(node, ast.Assign)
               and isinstance(node.value, ast.Attribute) and node.value.attr == "kind"
               for target in node.targets if isinstance(target, ast.Name)}

    def is_kind(node: ast.AST) -> bool:
        return (isinstance(node, ast.Attribute) and node.attr == "kind") or (
            isinstance(node, ast.Name) and node.id in aliases)

    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        for op, left, right in zip(node.ops, operands, operands[1:]):
            if not isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn)):
                continue
            if (is_kind(left) and _kind_codes(right)) or (is_kind(right) and _kind_codes(left)):
                found.append((node.lineno, ast.get_source_segment(source, node)))
                break
    return sorted(found)


def _hint(expression: str) -> str:
    return ("use the predicates of leafgrad._dtype (is_floating_point, is_complex, "
            f"is_differentiable, is_integral, is_bool) instead of `{expression}`")


def test_dtype_checks_use_the_predicates():
    report = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == DTYPE_MODULE:
            continue
        relative = path.relative_to(ROOT).as_posix()
        allowed = ALLOWED.get(relative, {})
        lines = path.read_text(encoding="utf-8").splitlines()
        for line, expression in scan_kind_checks(path.read_text(encoding="utf-8")):
            if lines[line - 1].strip() not in allowed:
                report.append(f"{relative}:{line}: {_hint(expression)}")
    assert not report, (f"{len(report)} dtype .kind comparisons outside leafgrad/_dtype.py:\n"
                        + "\n".join(report))


def test_allowed_entries_still_exist():
    for relative, entries in ALLOWED.items():
        lines = {line.strip() for line in (ROOT / relative).read_text().splitlines()}
        for entry, reason in entries.items():
            assert reason, f"{relative}: the allow-list entry {entry!r} needs its reason"
            assert entry in lines, f"{relative}: stale allow-list entry {entry!r}"


@pytest.mark.parametrize(("source", "line"), [
    ('if a.dtype.kind == "f":\n    pass\n', 1),
    ('x = 1\nok = a._data.dtype.kind in "iu"\n', 2),
    ('ok = np_dtype.kind != "b"\n', 1),
    ('ok = a.dtype.kind not in "iub"\n', 1),
    ('ok = not o._data.dtype.kind == "f"\n', 1),
    ('ok = "f" == a.dtype.kind\n', 1),
    ('ok = a.dtype.kind in ("f", "c")\n', 1),
    ('kind = a.dtype.kind\nif kind in "fc":\n    pass\n', 2),
    ('ok = x is not None and x.dtype.kind == "f"\n', 1),
])
def test_kind_scan_reports_each_pattern(source, line):
    found = scan_kind_checks(source)
    assert [entry[0] for entry in found] == [line], found


@pytest.mark.parametrize("source", [
    'ok = _dtype.is_floating_point(a.dtype)\n',
    '# a.dtype.kind == "f" in a comment\n',
    's = \'a.dtype.kind == "f" in a string\'\n',
    'kind = type(x)\nif kind is float:\n    pass\n',
    'if kind == "tensor":\n    pass\n',  # not a dtype kind: a word, and no .kind
    'if node.kind == "parameter":\n    pass\n',
    'if self._dataset_kind == _MAP:\n    pass\n',
    'text = f"{a.dtype.kind}"\n',
])
def test_kind_scan_passes_other_code(source):
    assert scan_kind_checks(source) == []
