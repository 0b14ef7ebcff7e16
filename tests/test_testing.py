"""``leafgrad.testing.assert_close``: torch's tolerances, checks and messages."""
from __future__ import annotations

import math

import numpy as np
import pytest

import leafgrad
from leafgrad.testing import assert_close

T = leafgrad.tensor


# -- hand-checked behaviour -----------------------------------------------------------------
@pytest.mark.parametrize("dtype, rtol, atol", [
    (leafgrad.float32, 1.3e-6, 1e-5), (leafgrad.float64, 1e-7, 1e-7),
    (leafgrad.float16, 1e-3, 1e-5),
])
def test_default_tolerances_per_dtype(dtype, rtol, atol):
    expected = T([0.0, 100.0], dtype=dtype)
    within = T([atol * 0.5, 100.0 * (1 + rtol * 0.5)], dtype=dtype)
    assert_close(within, expected)
    far = T([atol * 4 + 1e-3, 100.0], dtype=dtype)
    with pytest.raises(AssertionError, match="Tensor-likes are not close!"):
        assert_close(far, expected)


def test_integers_and_bools_compare_exactly():
    assert_close(T([1, 2]), T([1, 2]))
    with pytest.raises(AssertionError) as info:
        assert_close(T([1, 2]), T([1, 3]))
    assert str(info.value) == ("Tensor-likes are not equal!\n\nMismatched elements: 1 / 2 "
                               "(50.0%)\nGreatest absolute difference: 1 at index (1,)\n"
                               "Greatest relative difference: 0.3333333432674408 at index (1,)")
    with pytest.raises(AssertionError, match="not equal"):
        assert_close(T([True]), T([False]))


def test_mismatch_message_names_counts_and_worst_index():
    with pytest.raises(AssertionError) as info:
        assert_close(T([[1.0, 2.0], [3.0, 4.0]]), T([[1.0, 2.0], [3.0, 5.0]]))
    assert str(info.value) == (
        "Tensor-likes are not close!\n\nMismatched elements: 1 / 4 (25.0%)\n"
        "Greatest absolute difference: 1.0 at index (1, 1) (up to 1e-05 allowed)\n"
        "Greatest relative difference: 0.20000000298023224 at index (1, 1) (up to 1.3e-06 "
        "allowed)")


def test_shape_and_dtype_checks():
    with pytest.raises(AssertionError, match=r"The values for attribute 'shape' do not match: "
                                             r"torch.Size\(\[1\]\) != torch.Size\(\[1, 1\]\)."):
        assert_close(T([1.0]), T([[1.0]]))
    with pytest.raises(AssertionError, match="The values for attribute 'dtype' do not match: "
                                             "torch.float32 != torch.float64."):
        assert_close(T([1.0]), T([1.0], dtype=leafgrad.float64))
    # without the dtype check both are promoted, and the looser tolerance applies
    assert_close(T([1.0]), T([1.0 + 1e-6], dtype=leafgrad.float64), check_dtype=False)
    with pytest.raises(AssertionError, match="not close"):
        assert_close(T([1, 2]), T([1.0, 2.5]), check_dtype=False)


def test_nan_inf_and_explicit_tolerances():
    nan, inf = float("nan"), float("inf")
    with pytest.raises(AssertionError, match="Greatest absolute difference: nan"):
        assert_close(T([nan]), T([nan]))
    assert_close(T([nan, 1.0]), T([nan, 1.0]), equal_nan=True)
    assert_close(T([inf]), T([inf]))
    with pytest.raises(AssertionError):
        assert_close(T([inf]), T([-inf]))
    assert_close(T([1.0]), T([1.1]), rtol=0.2, atol=0.0)
    assert_close(T([1.0, 2.0]), T([1.5, 2.5]), rtol=0.0, atol=0.5)
    with pytest.raises(AssertionError, match=r"\(up to 0.4 allowed\)"):
        assert_close(T([1.0, 2.0]), T([1.5, 2.5]), rtol=0.0, atol=0.4)
    with pytest.raises(ValueError, match="Both 'rtol' and 'atol' must be either specified or "
                                         "omitted, but got no atol."):
        assert_close(T([1.0]), T([1.0]), rtol=0.1)


def test_custom_messages():
    with pytest.raises(AssertionError, match="^custom$"):
        assert_close(T([1.0]), T([2.0]), msg="custom")
    with pytest.raises(AssertionError, match="^prefix: Tensor-likes are not close!"):
        assert_close(T([1.0]), T([2.0]), msg=lambda text: "prefix: " + text)


def test_numbers_sequences_and_mappings():
    assert_close(1.0, 1.0 + 1e-8)
    assert_close(None, None)
    with pytest.raises(AssertionError, match="The \\(d\\)types do not match"):
        assert_close(1, 1.0)
    with pytest.raises(AssertionError, match="Booleans mismatch: True is not False"):
        assert_close(True, False)
    with pytest.raises(AssertionError, match=r"Scalars are not close!\n\nExpected 3.0 but got "
                                             r"2.0\.[\s\S]*The failure occurred for item \[1\]"):
        assert_close([T(1.0), T(2.0)], [T(1.0), T(3.0)])
    with pytest.raises(AssertionError, match="The length of the sequences mismatch: 1 != 2"):
        assert_close([T(1.0)], [T(1.0), T(2.0)])
    with pytest.raises(AssertionError, match=r"item \['a'\]"):
        assert_close({"a": T(1.0)}, {"a": T(2.0)})
    with pytest.raises(AssertionError, match="Missing keys in the actual mapping: \\['b'\\]"):
        assert_close({"a": 1}, {"b": 1})
    assert_close(np.array([1.0, 2.0]), np.array([1.0, 2.0]))


@pytest.mark.parametrize("actual, expected", [
    (T([1.0]), np.array([1.0])), (T(1.0), 1.0), (T([1, 2]), [1, 2]),
])
def test_unrelated_types_are_a_type_error(actual, expected):
    with pytest.raises(TypeError, match="No comparison pair was able to handle inputs"):
        assert_close(actual, expected)


# -- side by side with torch.testing --------------------------------------------------------
def _cases(m):
    t = m.tensor
    nan, inf = math.nan, math.inf
    return [
        ((1, 1.0), {}), ((1, 1), {}), ((1.0, 1.0 + 1e-8), {}), ((1.0, 1.1), {}),
        ((1.0, 1.1), {"rtol": 0.0, "atol": 0.0}), ((True, False), {}), ((None, None), {}),
        ((t([1.0, 2.0]), t([1.0, 2.5])), {}), ((t([1.0, 2.0]), t([1.0, 2.0]) + 1e-6), {}),
        ((t([1.0, 2.0]), t([1.0 + 2e-5, 2.0])), {}), ((t([100.0, 2.0]), t([100.0002, 2.0])), {}),
        ((t([1.0, 2.0]), t([1.0, 2.0], dtype=m.float64)), {}),
        ((t([1.0, 2.0]), t([1.0, 2.0], dtype=m.float64)), {"check_dtype": False}),
        ((t([1, 2]), t([1.0, 2.5])), {"check_dtype": False}),
        ((t([1, 2]), t([1, 3])), {}), ((t([1, 2], dtype=m.uint8), t([1, 2], dtype=m.int8)), {}),
        ((t([1, 2], dtype=m.uint8), t([1, 3], dtype=m.int8)), {"check_dtype": False}),
        ((t([[1, 2], [3, 4]], dtype=m.int32), t([[1, 2], [3, 9]], dtype=m.int32)), {}),
        ((t([1.0, 2.0]), np.array([1.0, 2.0])), {}),
        ((np.array([1.0, 2.0]), np.array([1.0, 2.1])), {}),
        (([t(1.0), t(2.0)], [t(1.0), t(3.0)]), {}), (([t(1.0)], [t(1.0), t(3.0)]), {}),
        (((t(1.0),), [t(1.0)]), {}), (({"a": t(1.0)}, {"a": t(2.0)}), {}),
        (({"a": t(1.0)}, {"b": t(2.0)}), {}),
        ((t([nan]), t([nan])), {}), ((t([nan]), t([nan])), {"equal_nan": True}),
        ((t([0.0, 1.0]), t([0.0, nan])), {}), ((t([inf]), t([inf])), {}),
        ((t([inf]), t([-inf])), {}),
        ((t([1.0]), t([1.1])), {"rtol": 0.2}), ((t([1.0]), t([1.1])), {"rtol": 0.2, "atol": 0}),
        ((t([1.0]), t([1.1])), {"msg": "custom"}),
        ((t([1.0]), t([1.1])), {"msg": lambda s: "X" + s[:10]}),
        ((t([[1.0, 2.0], [3.0, 4.0]]), t([[1.0, 2.0], [3.0, 5.0]])), {}),
        ((t([1.0]), t([[1.0]])), {}),
        ((t([1.0], dtype=m.float16), t([1.001], dtype=m.float16)), {}),
        ((t([1.0], dtype=m.float16), t([1.01], dtype=m.float16)), {}),
        ((t([1.0, 2.0], dtype=m.float64), t([1.0, 2.0 + 1e-8], dtype=m.float64)), {}),
        ((t([1.0, 2.0], dtype=m.float64), t([1.0, 2.0 + 1e-6], dtype=m.float64)), {}),
        ((t([True]), t([False])), {}), ((t([1.0, 0.0]), t([1.0, 1e-6])), {}),
        ((t([0.0]), t([1e-4])), {}), ((t([1.0, 5.0]), t([0.0, 1.0])), {}),
        ((t(1.0), 1.0), {}), ((t([1, 2]), [1, 2]), {}), (([1, 2], [1, 3]), {}),
        ((t(1.5), t(1.5)), {}), ((t(1.5), t(2.5)), {}), ((t([]), t([])), {}),
        ((np.float32(1.0), np.float32(1.0 + 1e-7)), {}),
        ((t([1.0, 2.0]), t([1.5, 2.5])), {"rtol": 0, "atol": 0.5}),
        ((t([1.0, 2.0]), t([1.5, 2.5])), {"rtol": 0, "atol": 0.4}),
        ((t([1.0, 2.0]), t([1.0, 2.0])), {"atol": 0.1}),
    ]


def _outcome(function, args, kwargs) -> str:
    try:
        function(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - the type and message are what is compared
        text = str(error).replace("torch.Tensor", "Tensor").replace("leafgrad._tensor.Tensor",
                                                                    "Tensor")
        return f"{type(error).__name__}: {text}"
    return "passed"


def test_assert_close_matches_torch_testing():
    torch = pytest.importorskip("torch")
    ours, theirs = _cases(leafgrad), _cases(torch)
    assert len(ours) == len(theirs)
    for (our_args, our_kwargs), (their_args, their_kwargs) in zip(ours, theirs, strict=True):
        expected = _outcome(torch.testing.assert_close, their_args, their_kwargs)
        assert _outcome(assert_close, our_args, our_kwargs) == expected, (their_args,
                                                                          their_kwargs)


def test_leafgrad_tensor_against_torch_tensor():
    torch = pytest.importorskip("torch")
    assert_close(T([1.0, 2.0]), torch.tensor([1.0, 2.0]))
    with pytest.raises(AssertionError, match="dtype"):
        assert_close(T([1.0, 2.0]), torch.tensor([1.0, 2.0], dtype=torch.float64))
    with pytest.raises(AssertionError, match="not close"):
        assert_close(T([1.0, 2.0]), torch.tensor([1.0, 2.1]))
