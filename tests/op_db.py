"""One record per public op: how to call it, its PyTorch reference, and its inputs.

Generic tests (``ops/test_ops.py``) read these records: values and gradients against PyTorch,
float64 ``gradcheck`` and ``gradgradcheck`` on hypothesis-generated inputs (broadcasting,
size-0 and size-1 dimensions, negative dims). Records live by family in ``op_records/``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


@dataclass
class Sample:
    """Arguments for one call. ``np.ndarray`` entries of ``args`` become tensors (float ones
    require grad unless listed in ``no_grad``); other entries are passed as they are."""

    args: tuple
    kwargs: dict = field(default_factory=dict)
    no_grad: tuple = ()  # indices of float array args that must not require grad


@dataclass
class OpInfo:
    name: str
    op: Callable  # op(leafgrad module, *args, **kwargs)
    ref: Callable | None  # ref(torch module, *args, **kwargs); None: no PyTorch reference
    samples: Any  # a hypothesis strategy of Sample
    gradcheck: bool = True
    gradgradcheck: bool = True
    # tolerances against PyTorch in float64; in float32, ops/test_ops.py allows a few float32
    # epsilons, scaled by how much looser than these defaults a record's are
    atol: float = 1e-5
    rtol: float = 1e-6
    notes: str = ""


# -- strategies ------------------------------------------------------------------------------
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)
NONEMPTY_SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)


def values(draw, shape, low=-2.0, high=2.0, away_from=None, gap=0.1, salt=0):
    """A float64 array of ``shape`` with uniform values in [low, high], kept ``gap`` away from
    the points in ``away_from`` (kinks where finite differences are not meaningful). Give the
    arrays of one sample different ``salt``s so that equal drawn seeds still give different
    values (no accidental ties)."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng([seed, salt])
    array = rng.uniform(low, high, size=shape)
    for point in away_from or ():
        # pushed out by gap, keeping their order: all set to point +- 1.5 gap, they would tie
        # (norm(p=-inf)'s gradient jumps between tied elements, so gradgradcheck failed there)
        close = np.abs(array - point) < gap
        array = np.where(close, array + np.where(array >= point, gap, -gap), array)
    return array


def unary(low=-2.0, high=2.0, away_from=None, shapes=SHAPES, gap=0.1, **kwargs):
    """Samples for ``op(x, **kwargs)``."""
    @st.composite
    def strategy(draw):
        shape = draw(shapes)
        return Sample((values(draw, shape, low, high, away_from, gap),), dict(kwargs))
    return strategy()


def binary(low=-2.0, high=2.0, away_from=None, other_low=None, other_high=None, **kwargs):
    """Samples for ``op(x, y)`` with mutually broadcastable shapes."""
    @st.composite
    def strategy(draw):
        shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                        min_side=0, max_side=3)).input_shapes
        a = values(draw, shapes[0], low, high, away_from)
        b = values(draw, shapes[1], low if other_low is None else other_low,
                   high if other_high is None else other_high, away_from, salt=1)
        return Sample((a, b), dict(kwargs))
    return strategy()


def with_dim(draw, shape, allow_none=True, allow_tuple=True):
    """A ``dim`` argument valid for ``shape``: None, a (possibly negative) int, or a tuple."""
    ndim = len(shape)
    options = []
    if allow_none:
        options.append(st.none())
    if ndim:
        options.append(st.integers(-ndim, ndim - 1))
        if allow_tuple:
            options.append(st.lists(st.integers(0, ndim - 1), unique=True, min_size=1,
                                    max_size=ndim).map(tuple))
    elif not allow_none:
        options.append(st.sampled_from([0, -1]))
    return draw(st.one_of(*options))


def all_records() -> list:
    """The records of every module of ``op_records/`` (found there, not listed here)."""
    import importlib
    import pkgutil

    import op_records
    records = []
    for info in sorted(pkgutil.iter_modules(op_records.__path__), key=lambda i: i.name):
        records.extend(importlib.import_module(f"op_records.{info.name}").RECORDS)
    return records


# -- running a record (shared by the generic op tests and the registry test) ---------------------
def make_args(module, sample: Sample, dtype) -> list:
    """Tensors of ``module`` (leafgrad or torch) for the sample's array arguments."""
    args = []
    for index, arg in enumerate(sample.args):
        if isinstance(arg, np.ndarray):
            array = arg.astype(dtype) if arg.dtype.kind == "f" else arg
            tensor = module.tensor(array)
            if arg.dtype.kind == "f" and index not in sample.no_grad:
                tensor.requires_grad_(True)
            args.append(tensor)
        else:
            args.append(arg)
    return args


def convert_kwargs(module, kwargs: dict) -> dict:
    return {k: module.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}


def flat_outputs(result) -> list:
    if isinstance(result, (tuple, list)):
        return [r for item in result for r in flat_outputs(item)]
    return [result]
