"""Every public op has a record in ``op_db`` (so it is checked against PyTorch and gradcheck)."""
import pytest

import leafgrad.nn.functional as F
from leafgrad.ops import FAMILIES
from op_db import all_records

RECORD_NAMES = [record.name for record in all_records()]


def has_record(name: str) -> bool:
    """A record is named after its op, or after the op and a variant (``add_alpha``)."""
    return any(r == name or r.startswith(name + "_") for r in RECORD_NAMES)


# every family of ops (discovered by leafgrad.ops) and nn.functional
PUBLIC = [(module, name) for module in (*FAMILIES.values(), F)
          for name in getattr(module, "__all__", ())]


@pytest.mark.parametrize("module, name", PUBLIC,
                         ids=[f"{m.__name__.rsplit('.', 1)[-1]}.{n}" for m, n in PUBLIC])
def test_public_op_has_a_record(module, name):
    function = getattr(module, name)
    # an alias (arcsin = asin) is covered by the record of the function it names
    names = [n for m, n in PUBLIC if getattr(m, n) is function]
    assert any(has_record(n) for n in names), (
        f"{module.__name__}.{name} has no record in tests/op_records/: add one so that it is "
        f"compared with PyTorch and gradchecked")


# -- the names the issue lists (section 4, and the in-place ops of section 3j) ----------------
SECTION_4 = """
abs exp exp2 log log2 log10 log1p expm1 sqrt rsqrt square reciprocal sin cos tan asin acos atan
atan2 sinh cosh tanh sigmoid logit erf relu relu6 leaky_relu elu selu gelu silu softplus mish
hardtanh clamp clip minimum maximum where lerp sign floor ceil round neg add sub mul div
floor_divide remainder pow
eq ne lt le gt ge logical_and logical_or logical_xor logical_not
sum mean prod max min amax amin argmax argmin var std norm logsumexp softmax log_softmax cumsum
cumprod all any
matmul mm bmm dot outer einsum tensordot
reshape view flatten unflatten squeeze unsqueeze permute transpose t expand expand_as repeat tile
cat stack split chunk unbind narrow flip roll movedim
gather scatter scatter_add index_select masked_fill masked_select take_along_dim nonzero
clone contiguous to float double half long int bool type_as pad
""".split()
# `+ - * / // % ** neg @` with their reflected forms, and the in-place ops of section 3j
OPERATORS = [f"__{op}__" for name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow",
                                      "matmul") for op in (name, "r" + name)] + ["__neg__"]
IN_PLACE = ["add_", "sub_", "mul_", "div_", "pow_", "clamp_", "zero_", "fill_", "copy_", "relu_",
            "__setitem__", "__iadd__", "__isub__", "__imul__", "__itruediv__"]


def _places(name: str, torch) -> list:
    """Where torch has ``name``: as (torch namespace, leafgrad namespace, label)."""
    import leafgrad
    pairs = [(torch, leafgrad, "leafgrad"), (torch.Tensor, leafgrad.Tensor, "Tensor"),
             (torch.nn.functional, leafgrad.nn.functional, "leafgrad.nn.functional")]
    return [(ours, label) for theirs, ours, label in pairs if hasattr(theirs, name)]


@pytest.mark.parametrize("name", SECTION_4 + OPERATORS)
def test_the_issue_names_exist_wherever_torch_has_them(name):
    torch = pytest.importorskip("torch")
    places = _places(name, torch)
    assert places, f"torch has no {name}: the list above is wrong"
    missing = [label for ours, label in places if not hasattr(ours, name)]
    assert not missing, f"{name} is missing from {', '.join(missing)} (torch has it there)"


@pytest.mark.parametrize("name", IN_PLACE)
def test_the_issue_in_place_ops_are_tensor_methods(name):
    import leafgrad
    assert callable(getattr(leafgrad.Tensor, name, None)), f"Tensor.{name} is missing"
