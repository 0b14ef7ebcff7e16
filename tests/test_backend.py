"""The array backend (``leafgrad._backend``): its helpers, and a scan that keeps ``ops/``,
``autograd/``, ``optim/`` and ``nn/`` off NumPy, so that a second array module (CuPy, say) can
serve them.

The scan reads each file's syntax tree, so comments and strings never count. It reports
``path:line`` with what to use instead for:

- ``import numpy`` / ``from numpy ... import ...``: use ``leafgrad._backend`` (``xp`` ...);
- ``xp.ndarray`` / ``xp.generic`` (or ``np.``...) outside annotations: use
  ``is_array``/``is_scalar`` (or ``_backend.ndarray`` for an exact-type check on a hot path);
- a shape-only creation (``xp.zeros/ones/empty/full/arange/eye/identity/tri/linspace``) without
  ``like=``: it would land on the CPU whatever the device of the data it goes with.
"""
from __future__ import annotations

import ast
from pathlib import Path

import numpy
import pytest

from leafgrad import _backend

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "leafgrad"
SCANNED = ("ops", "autograd", "optim", "nn")
BACKEND_MODULE = "leafgrad._backend"
# shape-only creators: each takes like= (but linspace, which takes none: build it from arange)
CREATORS = frozenset({"zeros", "ones", "empty", "full", "arange", "eye", "identity", "tri",
                      "linspace"})
ARRAY_TYPES = frozenset({"ndarray", "generic"})


class _Scanner(ast.NodeVisitor):
    """Collects (line, message) for direct NumPy use in one module: ``bind`` reads the imports
    and assignments that name an array module (wherever they stand), then ``visit`` the uses."""

    def __init__(self) -> None:
        self.found: list[tuple[int, str]] = []
        # names bound to an array module: NumPy's usual names, whatever the module imports xp
        # (or NumPy) as, and `m = array_module(device)`; names bound to leafgrad._backend itself
        # (`_backend.xp.zeros`)
        self.modules = {"np", "numpy", "xp"}
        self.backends: set[str] = set()

    # -- bindings ---------------------------------------------------------------------------
    def bind(self, tree: ast.AST) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                self._bind_import(node)
            elif isinstance(node, ast.ImportFrom):
                self._bind_import_from(node)
        for node in ast.walk(tree):  # after the imports: `m = _backend.xp` needs `_backend`
            if isinstance(node, ast.Assign) and (self._is_module(node.value)
                                                 or self._is_array_module_call(node.value)):
                self.modules.update(t.id for t in node.targets if isinstance(t, ast.Name))

    def _bind_import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name == "numpy" or alias.name.startswith("numpy."):
                self.found.append((node.lineno, f"import {alias.name}: use leafgrad._backend "
                                                f"(xp, is_array, is_scalar, zeros/empty/full)"))
                if alias.name == "numpy" and alias.asname:
                    self.modules.add(alias.asname)
            elif alias.name == BACKEND_MODULE and alias.asname:
                self.backends.add(alias.asname)

    def _bind_import_from(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level == 0 and (module == "numpy" or module.startswith("numpy.")):
            names = ", ".join(alias.name for alias in node.names)
            self.found.append((node.lineno, f"from {module} import {names}: use "
                                            f"leafgrad._backend (xp.{node.names[0].name} ...)"))
        elif module == BACKEND_MODULE or (node.level and module.split(".")[-1] == "_backend"):
            self.modules.update(a.asname or "xp" for a in node.names if a.name == "xp")
        elif module == "leafgrad" or (node.level and not module):
            self.backends.update(a.asname or "_backend" for a in node.names
                                 if a.name == "_backend")

    def _is_module(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.modules
        return (isinstance(node, ast.Attribute) and node.attr == "xp"
                and isinstance(node.value, ast.Name) and node.value.id in self.backends)

    def _is_array_module_call(self, node: ast.AST) -> bool:
        if not isinstance(node, ast.Call):
            return False
        func = node.func
        return (isinstance(func, ast.Name) and func.id == "array_module") or (
            isinstance(func, ast.Attribute) and func.attr == "array_module"
            and isinstance(func.value, ast.Name) and func.value.id in self.backends)

    # -- uses -------------------------------------------------------------------------------
    # Annotations are skipped: `a: xp.ndarray` documents, it tests no type at run time.
    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for child in (*node.decorator_list, node.args, *node.body):
            self.visit(child)

    visit_FunctionDef = visit_AsyncFunctionDef = _visit_function

    def visit_arg(self, node: ast.arg) -> None:
        pass  # only an annotation below (defaults belong to the arguments node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.visit(node.target)
        if node.value is not None:
            self.visit(node.value)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in ARRAY_TYPES and self._is_module(node.value):
            check = "is_array(x)" if node.attr == "ndarray" else "is_scalar(x)"
            self.found.append((node.lineno, f"{ast.unparse(node)}: use {check} from "
                                            f"leafgrad._backend (or _backend.ndarray for an "
                                            f"exact-type check on a hot path)"))
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        keywords = {k.arg for k in node.keywords}
        # a `**options` argument may hold like=: not decidable here, so not reported
        if (isinstance(func, ast.Attribute) and func.attr in CREATORS
                and (self._is_module(func.value) or self._is_array_module_call(func.value))
                and "like" not in keywords and None not in keywords):
            if func.attr == "linspace":
                hint = "xp.linspace takes no like=: compute it from xp.arange(n, like=a)"
            else:
                hint = "pass like=<an array it goes with>, or use a *_like function"
                if func.attr in ("zeros", "empty", "full"):
                    hint += f" or _backend.{func.attr}(..., like=)"
            self.found.append((node.lineno, f"{ast.unparse(func)}(...) without like=: {hint}"))
        self.generic_visit(node)


def scan_source(source: str) -> list[tuple[int, str]]:
    """(line, message) for each direct NumPy use in one module's source, in line order."""
    tree = ast.parse(source)
    scanner = _Scanner()
    scanner.bind(tree)
    scanner.visit(tree)
    return sorted(set(scanner.found))


def scan_package() -> list[str]:
    report = []
    for package in SCANNED:
        for path in sorted((PACKAGE / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            for line, message in scan_source(path.read_text(encoding="utf-8")):
                report.append(f"{relative}:{line}: {message}")
    return report


# -- the scan -------------------------------------------------------------------------------
def test_core_packages_reach_arrays_through_the_backend():
    report = scan_package()
    assert not report, (
        f"{len(report)} direct NumPy uses in leafgrad/{{{','.join(SCANNED)}}} (arrays must "
        f"come through leafgrad._backend, see its docstring):\n" + "\n".join(report))


@pytest.mark.parametrize(("source", "expected"), [
    ("import numpy as np\n", "import numpy"),
    ("import numpy\n", "import numpy"),
    ("import numpy.linalg\n", "import numpy.linalg"),
    ("from numpy import zeros\n", "from numpy import zeros"),
    ("from numpy.lib.stride_tricks import as_strided\n", "from numpy.lib.stride_tricks"),
    ("from leafgrad._backend import xp\nisinstance(a, xp.ndarray)\n",
     "xp.ndarray: use is_array"),
    ("from leafgrad._backend import xp\nisinstance(a, xp.generic)\n",
     "xp.generic: use is_scalar"),
    ("t = np.ndarray\n", "np.ndarray: use is_array"),
    ("from leafgrad import _backend\nisinstance(a, _backend.xp.ndarray)\n",
     "_backend.xp.ndarray"),
    ("from leafgrad._backend import xp\nxp.zeros((2, 3), dtype=d)\n", "xp.zeros(...) without"),
    ("from leafgrad._backend import xp\nxp.ones(3)\n", "xp.ones(...) without"),
    ("from leafgrad._backend import xp\nxp.empty(s, d)\n", "xp.empty(...) without"),
    ("from leafgrad._backend import xp\nxp.full(s, 0.0)\n", "xp.full(...) without"),
    ("from leafgrad._backend import xp\nxp.arange(n)\n", "xp.arange(...) without"),
    ("from leafgrad._backend import xp\nxp.eye(3, dtype=d)\n", "xp.eye(...) without"),
    ("from leafgrad._backend import xp\nxp.identity(3)\n", "xp.identity(...) without"),
    ("from leafgrad._backend import xp\nxp.linspace(0, 1, 5)\n", "takes no like="),
    ("from leafgrad._backend import xp as array_api\narray_api.zeros(3)\n",
     "array_api.zeros(...) without"),
    ("from leafgrad import _backend\n_backend.xp.zeros(3)\n", "_backend.xp.zeros(...) without"),
    ("from leafgrad._backend import array_module\narray_module(d).zeros(3)\n",
     "array_module(d).zeros(...) without"),
    ("from leafgrad._backend import array_module\nm = array_module(d)\nm.empty(3)\n",
     "m.empty(...) without"),
    ("def f(a):\n    return xp.zeros(a.shape)\nfrom leafgrad._backend import xp\n",
     "xp.zeros(...) without"),
    ("def f(a: xp.ndarray, b=xp.zeros(2)) -> xp.ndarray:\n    pass\n", "xp.zeros(...) without"),
    ("class A:\n    kinds = (float, xp.generic)\n", "xp.generic: use is_scalar"),
    ("x: tuple = (xp.ndarray,)\n", "xp.ndarray: use is_array"),
])
def test_scanner_reports_each_pattern(source, expected):
    found = scan_source(source)
    assert len(found) == 1 and expected in found[0][1], found


@pytest.mark.parametrize("source", [
    "from leafgrad._backend import xp\nxp.zeros((2, 3), dtype=d, like=a)\n",
    "from leafgrad._backend import xp\nxp.full(s, 0.0, d, like=a._data)\n",
    "from leafgrad._backend import xp\nxp.arange(n, like=a)\n",
    "from leafgrad._backend import xp\nxp.zeros_like(a)\nxp.ones_like(a)\nxp.empty_like(a)\n",
    "from leafgrad._backend import xp\nxp.full_like(a, 1.0)\n",
    "from leafgrad._backend import xp\nxp.zeros(s, **options)\n",
    "from leafgrad._backend import zeros, empty, full\nzeros(s, d, a)\nempty(s, d, like=a)\n",
    "from leafgrad import _backend\n_backend.zeros(s, d, like=a)\n_backend.full(s, 1, d, a)\n",
    "from leafgrad._backend import is_array, ndarray\nis_array(a)\ntype(a) is ndarray\n",
    "# xp.zeros(3) and import numpy in a comment\nx = 1\n",
    "s = 'xp.zeros(3); np.ndarray; import numpy'\n",
    "def f():\n    '''xp.ones(3) in a docstring'''\n",
    "a.zeros(3)\ntensor.new_zeros(3)\nobj.ndarray\nnumpyish.ones(2)\n",
    "from leafgrad._backend import xp\nxp.exp(a)\nxp.matmul(a, b)\nxp.asarray(a)\n",
    "def f(a: xp.ndarray, *b: np.ndarray) -> xp.ndarray:\n    c: xp.generic = a\n",
    "async def f(a: xp.ndarray) -> xp.ndarray:\n    pass\n",
])
def test_scanner_passes_backend_code(source):
    assert scan_source(source) == []


def test_scanner_reports_file_and_line():
    found = scan_source("x = 1\n\nimport numpy as np\n")
    assert found == [(3, found[0][1])]


# -- the helpers ----------------------------------------------------------------------------
def test_is_array():
    assert _backend.is_array(numpy.zeros(3))
    assert _backend.is_array(numpy.zeros(()))  # a 0-d array is an array
    assert _backend.is_array(numpy.zeros(4)[1:])  # views too
    for value in (1.0, 3, True, None, [1.0], numpy.float32(1), "a"):
        assert not _backend.is_array(value), value
    import leafgrad
    assert not _backend.is_array(leafgrad.zeros(3))  # a Tensor is not an array


def test_is_scalar():
    for value in (numpy.float32(1), numpy.float64(2), numpy.int64(3), numpy.bool_(True)):
        assert _backend.is_scalar(value), value
    for value in (1.0, 3, True, numpy.zeros(()), numpy.zeros(2), None):
        assert not _backend.is_scalar(value), value


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64, numpy.int64, numpy.bool_])
def test_zeros_empty_full_follow_like(dtype):
    like = numpy.ones(5, dtype=numpy.float16)
    zeros = _backend.zeros((2, 3), dtype, like)
    assert type(zeros) is type(like) and zeros.shape == (2, 3) and zeros.dtype == dtype
    assert not zeros.any()
    empty = _backend.empty((4,), dtype, like=like)
    assert type(empty) is type(like) and empty.shape == (4,) and empty.dtype == dtype
    full = _backend.full((3, 1), 1, dtype, like=like)
    assert type(full) is type(like) and full.shape == (3, 1) and full.dtype == dtype
    assert (full == 1).all()
    assert _backend.zeros((), dtype, like).shape == ()


def test_xp_creators_take_like():
    like = numpy.ones(2)
    for name in CREATORS - {"linspace"}:
        arguments = (3, 1.0) if name == "full" else (3,)
        assert type(getattr(_backend.xp, name)(*arguments, like=like)) is numpy.ndarray, name


def test_to_host():
    array = numpy.arange(3.0)
    assert _backend.to_host(array) is array  # no copy on the CPU
    with pytest.raises(TypeError, match="to_host expects an array"):
        _backend.to_host([1.0, 2.0])


def test_get_device():
    assert _backend.get_device(None) is _backend.CPU
    assert _backend.get_device("cpu") is _backend.CPU
    assert _backend.get_device(_backend.device("cpu")) is _backend.CPU
    assert _backend.get_device("cpu:0") == _backend.device("cpu")
    assert _backend.array_module(_backend.get_device("cpu")) is _backend.xp
    with pytest.raises(RuntimeError, match="not available.*no cuda array backend"):
        _backend.get_device("cuda")
    with pytest.raises(RuntimeError, match="not available"):
        _backend.get_device(_backend.device("cuda", 0))
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda"):
        _backend.get_device("tpu")
    with pytest.raises(TypeError, match="device must be a string"):
        _backend.get_device(0)


def test_device_spelling():
    assert repr(_backend.device("cpu")) == "device(type='cpu')"
    assert str(_backend.device("cuda:1")) == "cuda:1"
    assert _backend.device("cuda", 1) == _backend.device("cuda:1")
    assert _backend.device("cpu") != "cpu"  # as torch: a device never equals a string
    assert len({_backend.device("cpu"), _backend.device("cpu")}) == 1
