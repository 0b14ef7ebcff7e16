"""Every public op has a record in ``op_db`` (so it is checked against PyTorch and gradcheck)."""
import pytest

import leafgrad.nn.functional as F
from leafgrad.ops import elementwise, indexing, linalg, reduction, shape
from op_db import all_records

RECORD_NAMES = [record.name for record in all_records()]


def has_record(name: str) -> bool:
    """A record is named after its op, or after the op and a variant (``add_alpha``)."""
    return any(r == name or r.startswith(name + "_") for r in RECORD_NAMES)


PUBLIC = [(module, name) for module in (elementwise, shape, reduction, indexing, linalg, F)
          for name in module.__all__]


@pytest.mark.parametrize("module, name", PUBLIC,
                         ids=[f"{m.__name__.rsplit('.', 1)[-1]}.{n}" for m, n in PUBLIC])
def test_public_op_has_a_record(module, name):
    function = getattr(module, name)
    # an alias (arcsin = asin) is covered by the record of the function it names
    names = [n for m, n in PUBLIC if getattr(m, n) is function]
    assert any(has_record(n) for n in names), (
        f"{module.__name__}.{name} has no record in tests/op_records/: add one so that it is "
        f"compared with PyTorch and gradchecked")
