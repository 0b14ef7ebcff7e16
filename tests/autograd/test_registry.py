"""The op registry: every Op subclass registers itself, op families are discovered, and every
registered op (internal ones included) is exercised by some record of the op catalogue."""
from __future__ import annotations

import pkgutil

import numpy as np
import pytest
from hypothesis import given, settings

import leafgrad
import leafgrad.ops
from leafgrad.autograd.dispatch import Mode, mode_active
from leafgrad.autograd.function import REGISTRY, Function, Op, registered_ops
from op_db import all_records, convert_kwargs, flat_outputs, make_args

RECORDS = all_records()


def _all_op_classes(base=Op) -> set:
    found = set()
    for subclass in base.__subclasses__():
        if not subclass.__dict__.get("_is_node_class"):
            found.add(subclass)
        found |= _all_op_classes(subclass)
    return found


def test_every_op_class_is_registered_once():
    classes = _all_op_classes()
    assert classes and classes == set(REGISTRY)
    assert len(registered_ops()) == len(REGISTRY)
    assert not any(issubclass(op, Function) for op in REGISTRY)  # custom functions are not ops


def test_entries_name_their_op_family_and_node():
    from leafgrad.autograd.views import CopySlices
    from leafgrad.ops.elementwise import Exp
    from leafgrad.ops.shape import View
    exp = REGISTRY[Exp]
    assert (exp.name, exp.family, exp.node_name) == ("Exp", "elementwise", "ExpBackward0")
    assert REGISTRY[View].family == "shape" and REGISTRY[CopySlices].family == "autograd"
    assert REGISTRY[CopySlices].node_name == "CopySlices"
    assert "exp" in exp.entry_points and "view" in REGISTRY[View].entry_points
    assert REGISTRY[CopySlices].entry_points == ("write_view_into_base",)


def test_op_families_are_discovered():
    """Every public module of leafgrad/ops is a family, imported and bound without a list."""
    modules = {info.name for info in pkgutil.iter_modules(leafgrad.ops.__path__)
               if not info.name.startswith("_")}
    assert set(leafgrad.ops.FAMILIES) == modules
    assert {"elementwise", "shape", "reduction", "conv"} <= modules


class _OpSet(Mode):
    """Collects the op classes dispatched while it is active (forward and backward)."""

    def __init__(self):
        self.ops = set()

    def apply(self, op, args, kwargs):
        self.ops.add(op)
        return op.apply(*args, **kwargs)


def _exercise(record, recorder: _OpSet) -> None:
    """Run a few samples of ``record``: forward, backward and double backward."""

    @given(record.samples)
    @settings(max_examples=4, database=None)
    def run(sample):
        args = make_args(leafgrad, sample, np.float64)
        kwargs = convert_kwargs(leafgrad, sample.kwargs)
        with mode_active(recorder):
            outputs = [o for o in flat_outputs(record.op(leafgrad, *args, **kwargs))
                       if isinstance(o, leafgrad.Tensor) and o.requires_grad]
            inputs = [a for a in args if isinstance(a, leafgrad.Tensor) and a.requires_grad]
            if not outputs or not inputs:
                return
            grads = leafgrad.autograd.grad([o.sum() for o in outputs], inputs,
                                           allow_unused=True, create_graph=True)
            second = [g.sum() for g in grads if g is not None and g.requires_grad]
            if record.gradgradcheck and second:
                leafgrad.autograd.grad(second, inputs, allow_unused=True)

    run()


@pytest.fixture(scope="module")
def exercised() -> dict:
    """op class -> names of the records whose samples dispatch it."""
    seen: dict = {}
    for record in RECORDS:
        recorder = _OpSet()
        with np.errstate(all="ignore"):
            _exercise(record, recorder)
        for op in recorder.ops:
            seen.setdefault(op, set()).add(record.name)
    return seen


def test_every_registered_op_has_a_record(exercised):
    missing = sorted(f"{entry.family}.{entry.name} ({entry.node_name})"
                     for entry in registered_ops()
                     if not entry.abstract and entry.op not in exercised)
    assert not missing, (
        f"{len(missing)} registered ops are exercised by no record of tests/op_records/ "
        f"(forward, backward or double backward of its samples): {', '.join(missing)}. Add a "
        f"record that calls the op (or an op whose derivative uses it).")
