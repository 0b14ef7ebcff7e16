"""Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict: indexing, slicing,
mutation, registration of what they hold, and reprs as torch prints them."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import leafgrad
from leafgrad import nn


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def layers(count: int) -> list:
    return [nn.Linear(2, 2) for _ in range(count)]


# -- Sequential ---------------------------------------------------------------------------------
def test_sequential_chains_modules():
    a, b = nn.Linear(3, 4), nn.Linear(4, 2)
    net = nn.Sequential(a, nn.ReLU(), b)
    x = leafgrad.randn(5, 3)
    expected = b(a(x).relu())
    np.testing.assert_allclose(net(x).detach().numpy(), expected.detach().numpy())
    named = nn.Sequential(OrderedDict([("encoder", a), ("act", nn.Tanh())]))
    assert list(named._modules) == ["encoder", "act"] and named.encoder is a


def test_sequential_indexing_and_slicing():
    mods = layers(4)
    net = nn.Sequential(*mods)
    assert net[0] is mods[0] and net[-1] is mods[3] and len(net) == 4
    part = net[1:3]
    assert type(part) is nn.Sequential and list(part) == mods[1:3]
    assert list(part._modules) == ["1", "2"]  # slices keep the names, as torch
    with pytest.raises(IndexError, match="index 4 is out of range"):
        net[4]  # noqa: B018
    with pytest.raises(IndexError, match="index -5 is out of range"):
        net[-5]  # noqa: B018
    replacement = nn.Identity()
    net[1] = replacement
    assert net[1] is replacement and net._modules["1"] is replacement


def test_sequential_mutation_keeps_numbering():
    mods = layers(5)
    net = nn.Sequential(*mods)
    del net[1]
    assert list(net._modules) == ["0", "1", "2", "3"] and net[1] is mods[2]
    del net[0:2]
    assert list(net) == mods[3:] and list(net._modules) == ["0", "1"]
    extra = nn.Tanh()
    assert net.append(extra) is net and net[2] is extra
    net.insert(0, mods[0])
    assert net[0] is mods[0] and net[3] is extra and len(net) == 4
    net.insert(-1, mods[1])
    assert net[3] is mods[1] and net[4] is extra
    net.extend([mods[2]])
    assert net[-1] is mods[2]
    assert net.pop(0) is mods[0] and len(net) == 5
    with pytest.raises(IndexError, match="Index out of range: 9"):
        net.insert(9, nn.Tanh())
    with pytest.raises(AssertionError, match="module should be of type"):
        net.insert(0, 3)


def test_sequential_arithmetic():
    a, b = nn.Sequential(nn.Tanh()), nn.Sequential(nn.ReLU())
    both = a + b
    assert [type(m).__name__ for m in both] == ["Tanh", "ReLU"]
    twice = a * 2
    assert len(twice) == 2 and twice[0] is twice[1]
    a += b
    assert len(a) == 2 and a[1] is b[0]
    with pytest.raises(ValueError, match="add operator supports only objects of Sequential"):
        a + [nn.ReLU()]  # noqa: B018
    with pytest.raises(ValueError, match="Non-positive multiplication factor 0"):
        a * 0  # noqa: B018


def test_sequential_registers_parameters_and_dir():
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias", "2.weight",
                                                      "2.bias"]
    assert not any(name.isdigit() for name in dir(net))


# -- ModuleList and ModuleDict ------------------------------------------------------------------
def test_module_list():
    mods = layers(3)
    lst = nn.ModuleList(mods)
    assert len(lst) == 3 and list(lst) == mods and lst[-1] is mods[2]
    assert [n for n, _ in lst.named_parameters()][:2] == ["0.weight", "0.bias"]
    sliced = lst[::2]
    assert type(sliced) is nn.ModuleList and list(sliced) == [mods[0], mods[2]]
    lst.append(nn.Tanh())
    lst.insert(1, nn.ReLU())
    assert [type(m).__name__ for m in lst] == ["Linear", "ReLU", "Linear", "Linear", "Tanh"]
    del lst[1]
    assert list(lst._modules) == ["0", "1", "2", "3"]
    lst[0] = nn.Identity()
    assert type(lst[0]) is nn.Identity
    lst += [nn.ReLU()]
    assert len(lst) == 5 and len(lst + nn.ModuleList([nn.Tanh()])) == 6
    assert type(lst.pop(-1)) is nn.ReLU and len(lst) == 4
    with pytest.raises(IndexError, match="index 7 is out of range"):
        lst[7]  # noqa: B018
    with pytest.raises(TypeError, match="ModuleList.extend should be called with an iterable"):
        lst.extend(3)
    with pytest.raises(TypeError, match="is not a Module subclass"):
        lst.append(3)


def test_module_dict():
    first, second = nn.Linear(2, 2), nn.Tanh()
    modules = nn.ModuleDict({"first": first, "second": second})
    assert list(modules) == ["first", "second"] and "first" in modules and len(modules) == 2
    assert modules["first"] is first and list(modules.values()) == [first, second]
    assert [k for k, _ in modules.items()] == list(modules.keys())
    modules["third"] = nn.ReLU()
    modules.update([("fourth", nn.Identity())])
    assert list(modules) == ["first", "second", "third", "fourth"]
    assert modules.pop("second") is second and "second" not in modules
    del modules["third"]
    assert [n for n, _ in modules.named_parameters()] == ["first.weight", "first.bias"]
    with pytest.raises(ValueError, match="has length 3; 2 is required"):
        modules.update([("a", nn.ReLU(), 3)])
    with pytest.raises(TypeError, match="should be called with an iterable"):
        modules.update(5)
    modules.clear()
    assert len(modules) == 0


# -- ParameterList and ParameterDict ------------------------------------------------------------
def test_parameter_list_wraps_tensors_and_registers_them():
    plist = nn.ParameterList([leafgrad.zeros(2), nn.Parameter(leafgrad.ones(3))])
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in plist)
    assert [n for n, _ in plist.named_parameters()] == ["0", "1"] and len(plist) == 2
    plist.append(leafgrad.ones(1))
    plist.extend([leafgrad.ones(4)])
    assert [tuple(p.shape) for p in plist] == [(2,), (3,), (1,), (4,)]
    assert [tuple(p.shape) for p in plist[1:3]] == [(3,), (1,)]
    plist[0] = leafgrad.full((2,), 5.0)
    assert isinstance(plist[0], nn.Parameter) and plist[0][0].item() == 5.0
    with pytest.raises(RuntimeError, match="ParameterList should not be called"):
        plist(leafgrad.ones(1))
    with pytest.raises(TypeError, match="ParameterList.extend should be called with an iterable"):
        plist.extend(leafgrad.ones(2))


def test_parameter_dict():
    pdict = nn.ParameterDict({"b": leafgrad.zeros(2), "a": nn.Parameter(leafgrad.ones(1))})
    assert list(pdict) == ["a", "b"]  # a plain dict is added in sorted order, as torch
    assert isinstance(pdict["b"], nn.Parameter)
    pdict["c"] = leafgrad.ones(3)
    assert [n for n, _ in pdict.named_parameters()] == ["a", "b", "c"]
    assert "c" in pdict and pdict.get("zzz", 7) == 7 and len(pdict) == 3
    assert pdict.setdefault("d", leafgrad.ones(1)) is pdict["d"]
    key, value = pdict.popitem()
    assert key == "d" and "d" not in pdict and isinstance(value, nn.Parameter)
    assert pdict.pop("c").shape == (3,) and list(pdict.keys()) == ["a", "b"]
    merged = pdict | nn.ParameterDict(OrderedDict([("z", leafgrad.ones(1))]))
    assert list(merged) == ["a", "b", "z"] and list(pdict) == ["a", "b"]
    pdict |= merged
    assert list(pdict) == ["a", "b", "z"]
    with pytest.raises(TypeError, match="cannot be used as a key as it is not a string"):
        pdict[1] = leafgrad.ones(1)
    pdict.clear()
    assert len(pdict) == 0 and list(pdict.parameters()) == []


# -- reprs --------------------------------------------------------------------------------------
def test_container_reprs_match_torch(torch):
    def build(lib):
        return [
            lib.nn.ModuleList([lib.nn.Linear(2, 2), lib.nn.Linear(2, 2), lib.nn.ReLU(),
                               lib.nn.Linear(2, 2)]),
            lib.nn.ModuleList(),
            lib.nn.ModuleDict({"act": lib.nn.ReLU(), "fc": lib.nn.Linear(1, 1)}),
            lib.nn.ParameterList([lib.nn.Parameter(lib.ones(2, 3)),
                                  lib.ones(2, dtype=lib.float64)]),
            lib.nn.ParameterDict({"b": lib.ones(2), "a": lib.nn.Parameter(lib.ones(3, 1))}),
            lib.nn.Sequential(lib.nn.ModuleList([lib.nn.Tanh()] * 3)),
        ]

    for ours, theirs in zip(build(leafgrad), build(torch)):
        assert repr(ours) == repr(theirs)
    assert "(0-1): 2 x Linear" in repr(build(leafgrad)[0])
