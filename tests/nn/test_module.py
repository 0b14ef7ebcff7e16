"""nn.Module semantics: Parameter and Buffer, registration by assignment and its errors,
recursive iteration without duplicates, modes, conversion, state_dict round trips and failure
atomicity, repr. Where torch is installed, the same program runs with torch.nn as reference."""
from __future__ import annotations

import copy

import numpy as np
import pytest

import leafgrad
from leafgrad import nn


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def make_net(lib):
    """The same architecture built with ``lib`` (leafgrad or torch)."""

    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.features = lib.nn.Sequential(lib.nn.Linear(4, 6), lib.nn.ReLU())
            self.heads = lib.nn.ModuleList([lib.nn.Linear(6, 3), lib.nn.Linear(6, 3)])
            self.scale = lib.nn.Parameter(lib.ones(1))
            self.register_buffer("steps", lib.zeros((), dtype=lib.int64))
            self.register_buffer("cache", lib.zeros(2), persistent=False)

        def forward(self, x):
            h = self.features(x)
            return (self.heads[0](h) + self.heads[1](h)) * self.scale

    return Net()


def copy_from_torch(torch_module, module) -> None:
    module.load_state_dict({k: leafgrad.tensor(v.detach().numpy())
                            for k, v in torch_module.state_dict().items()})


def values(module) -> dict:
    return {k: v.numpy().copy() for k, v in module.state_dict().items()}


# -- Parameter and Buffer -----------------------------------------------------------------------
def test_parameter_requires_grad_by_default_and_shares_storage():  # C12
    data = leafgrad.zeros(3)
    p = nn.Parameter(data)
    assert p.requires_grad and not data.requires_grad
    assert isinstance(p, leafgrad.Tensor) and isinstance(p, nn.Parameter) and p.is_leaf
    data.add_(1.0)
    np.testing.assert_array_equal(p.detach().numpy(), [1.0, 1.0, 1.0])
    assert p._version == data._version == 1
    assert not nn.Parameter(leafgrad.zeros(2), requires_grad=False).requires_grad


def test_ops_on_parameters_return_plain_tensors():
    p = nn.Parameter(leafgrad.ones(2, 2))
    for result in (p * 2, p.detach(), p.clone(), p[0], p.data, p.sum(), p.t()):
        assert type(result) is leafgrad.Tensor


def test_parameter_of_a_computed_tensor_is_a_leaf():
    x = leafgrad.ones(2, requires_grad=True)
    p = nn.Parameter(x * 2)
    assert p.is_leaf and p.grad_fn is None and p.requires_grad


def test_parameter_repr_and_empty_parameter(torch):
    p = nn.Parameter(leafgrad.tensor([1.0, 2.0]))
    assert repr(p) == repr(torch.nn.Parameter(torch.tensor([1.0, 2.0])))
    assert repr(p).startswith("Parameter containing:\ntensor([1., 2.], requires_grad=True)")
    assert repr(nn.Parameter()) == repr(torch.nn.Parameter())
    frozen = nn.Parameter(leafgrad.tensor([1, 2]), requires_grad=False)
    assert repr(frozen) == "Parameter containing:\ntensor([1, 2])"


def test_parameter_errors():
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(leafgrad.tensor([1, 2]))
    with pytest.raises(TypeError, match="must be a Tensor"):
        nn.Parameter([1.0, 2.0])


def test_parameter_deepcopy_copies_data_not_grad():
    p = nn.Parameter(leafgrad.tensor([1.0, 2.0]))
    p.grad = leafgrad.ones(2)
    q = copy.deepcopy(p)
    assert type(q) is nn.Parameter and q.requires_grad and q.grad is None
    q.data.add_(1.0)
    np.testing.assert_array_equal(p.detach().numpy(), [1.0, 2.0])
    pair = copy.deepcopy([p, p])
    assert pair[0] is pair[1]  # shared parameters stay shared


def test_buffer_is_a_marked_plain_tensor():
    b = nn.Buffer(leafgrad.zeros(2), persistent=False)
    assert type(b) is leafgrad.Tensor and isinstance(b, nn.Buffer) and not b.persistent
    assert not isinstance(leafgrad.zeros(2), nn.Buffer)
    assert not isinstance(nn.Parameter(leafgrad.zeros(2)), nn.Buffer)

    class WithBuffers(nn.Module):
        def __init__(self):
            super().__init__()
            self.kept = nn.Buffer(leafgrad.ones(2))
            self.scratch = nn.Buffer(leafgrad.ones(2), persistent=False)

    module = WithBuffers()
    assert [name for name, _ in module.named_buffers()] == ["kept", "scratch"]
    assert list(module.state_dict()) == ["kept"]
    assert list(module.parameters()) == []


# -- registration -------------------------------------------------------------------------------
def test_assignment_registers_parameters_modules_and_buffers():
    net = make_net(leafgrad)
    assert list(net._parameters) == ["scale"]
    assert list(net._modules) == ["features", "heads"]
    assert list(net._buffers) == ["steps", "cache"]
    assert net._non_persistent_buffers_set == {"cache"}
    net.steps = leafgrad.ones((), dtype=leafgrad.int64)  # a registered buffer name stays a buffer
    assert net._buffers["steps"].item() == 1 and "steps" not in net.__dict__
    net.plain = leafgrad.ones(2)  # a plain tensor under a new name is just an attribute
    assert "plain" in net.__dict__ and "plain" not in net._buffers


def test_reassigning_a_name_moves_it_between_kinds():
    module = nn.Module()
    module.thing = nn.Linear(1, 1)
    module.thing = nn.Parameter(leafgrad.ones(1))  # a Parameter takes any name over (as torch)
    assert "thing" in module._parameters and "thing" not in module._modules
    with pytest.raises(TypeError, match="as parameter 'thing'"):  # but only None replaces it
        module.thing = nn.Linear(1, 1)
    module.register_buffer("state", leafgrad.ones(1))
    module.state = nn.Linear(1, 1)
    assert "state" in module._modules and "state" not in module._buffers


def test_assigning_a_tensor_to_a_parameter_name_raises_as_torch(torch):
    for lib in (leafgrad, torch):
        net = make_net(lib)
        with pytest.raises(TypeError) as ours:
            net.scale = lib.ones(1)
        with pytest.raises(TypeError) as as_module:
            net.features = lib.ones(1)
        with pytest.raises(TypeError) as as_buffer:
            net.steps = [1]
        if lib is leafgrad:
            messages = (str(ours.value), str(as_module.value), str(as_buffer.value))
    assert messages == (
        "cannot assign 'torch.FloatTensor' as parameter 'scale' (torch.nn.Parameter or None "
        "expected)",
        "cannot assign 'torch.FloatTensor' as child module 'features' (torch.nn.Module or None "
        "expected)",
        "cannot assign 'list' as buffer 'steps' (torch.nn.Buffer, torch.Tensor or None expected)")


def test_none_keeps_a_name_registered_without_a_value():
    net = make_net(leafgrad)
    net.scale = None
    net.features = None
    assert net._parameters["scale"] is None and net.scale is None
    assert [name for name, _ in net.named_parameters()] == [
        "heads.0.weight", "heads.0.bias", "heads.1.weight", "heads.1.bias"]
    assert "scale" not in net.state_dict()


def test_assignment_before_init_raises():
    class Early(nn.Module):
        def __init__(self, what):
            self.x = what
            super().__init__()

    with pytest.raises(AttributeError, match=r"cannot assign parameters before "
                                             r"Module.__init__\(\) call"):
        Early(nn.Parameter(leafgrad.ones(1)))
    with pytest.raises(AttributeError, match="cannot assign module before"):
        Early(nn.Linear(1, 1))


def test_register_errors_match_torch(torch):
    def errors(lib):
        module = lib.nn.Module()
        module.taken = 3
        found = []
        for call in (lambda: module.register_parameter("a.b", None),
                     lambda: module.register_parameter("", None),
                     lambda: module.register_parameter("taken", None),
                     lambda: module.register_parameter("x", lib.ones(2)),
                     lambda: module.register_buffer("a.b", None),
                     lambda: module.register_buffer("b", [1]),
                     lambda: module.add_module("m", 3),
                     lambda: module.add_module("a.b", lib.nn.Module()),
                     lambda: module.get_submodule("missing.deeper"),
                     lambda: module.get_parameter("taken"),
                     lambda: module.missing):
            with pytest.raises(Exception) as info:
                call()
            found.append((type(info.value), str(info.value)))
        return found

    assert errors(leafgrad) == errors(torch)


def test_getattr_delattr_and_dir():
    net = make_net(leafgrad)
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'missing'"):
        net.missing  # noqa: B018
    assert {"scale", "features", "heads", "steps", "forward"} <= set(dir(net))
    assert not any(name[0].isdigit() for name in dir(net.heads))
    del net.scale, net.steps, net.heads
    assert "scale" not in net._parameters and "steps" not in net._buffers
    assert "heads" not in net._modules
    net.register_buffer("cache2", leafgrad.ones(1), persistent=False)
    del net.cache2
    assert "cache2" not in net._non_persistent_buffers_set
    with pytest.raises(AttributeError):
        del net.never_there


def test_get_submodule_parameter_buffer():
    net = make_net(leafgrad)
    assert net.get_submodule("") is net
    assert net.get_submodule("heads.1") is net.heads[1]
    assert net.get_parameter("features.0.bias") is net.features[0].bias
    assert net.get_buffer("steps") is net.steps
    with pytest.raises(AttributeError, match="`0` is not an nn.Parameter|has no attribute"):
        net.get_parameter("features.0")
    with pytest.raises(AttributeError, match="`features` is not a buffer"):
        net.get_buffer("features")
    with pytest.raises(AttributeError, match="`scale` is not an nn.Module"):
        net.get_submodule("scale.x")


def test_forward_is_required():
    with pytest.raises(NotImplementedError, match=r'Module \[Module\] is missing the required '
                                                  r'"forward" function'):
        nn.Module()(leafgrad.ones(1))


def test_init_rejects_arguments():
    with pytest.raises(TypeError, match="unexpected keyword argument 'x'"):
        nn.Module(x=1)
    with pytest.raises(TypeError, match="takes 1 positional argument but 2 were given"):
        nn.Module(1)


# -- iteration ----------------------------------------------------------------------------------
def test_named_members_match_torch(torch):
    ours, theirs = make_net(leafgrad), make_net(torch)

    def names(net):
        return ([n for n, _ in net.named_parameters()],
                [n for n, _ in net.named_parameters(prefix="net", recurse=False)],
                [n for n, _ in net.named_buffers()],
                [n for n, _ in net.named_children()],
                [n for n, _ in net.named_modules()],
                [n for n, _ in net.named_modules(prefix="root")],
                [type(m).__name__ for m in net.modules()],
                list(net.state_dict()))

    assert names(ours) == names(theirs)
    assert len(list(ours.parameters())) == 7


def test_shared_parameters_and_modules_come_once():
    shared = nn.Linear(3, 3)
    net = nn.Sequential(shared, nn.ReLU(), shared)
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias"]
    assert [n for n, _ in net.named_parameters(remove_duplicate=False)] == [
        "0.weight", "0.bias", "2.weight", "2.bias"]
    assert [n for n, _ in net.named_modules()] == ["", "0", "1"]
    assert [n for n, _ in net.named_modules(remove_duplicate=False)] == ["", "0", "1", "2"]
    assert len(list(net.children())) == 2
    tied = nn.Module()
    tied.a, tied.b = nn.Linear(2, 2), nn.Linear(2, 2)
    tied.b.weight = tied.a.weight
    assert [n for n, _ in tied.named_parameters()] == ["a.weight", "a.bias", "b.bias"]
    assert list(tied.state_dict()) == ["a.weight", "a.bias", "b.weight", "b.bias"]


# -- modes and gradients ------------------------------------------------------------------------
def test_train_eval_propagate():
    net = make_net(leafgrad)
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.heads.train()
    assert net.heads[0].training and not net.training and not net.features[0].training
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        net.train("yes")


def test_requires_grad_and_zero_grad():
    net = make_net(leafgrad)
    net(leafgrad.ones(2, 4)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    grads = [p.grad for p in net.parameters()]
    net.zero_grad(set_to_none=False)
    assert all(p.grad is g and not g.any() for p, g in zip(net.parameters(), grads))
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    assert net.requires_grad_(False) is net
    assert not any(p.requires_grad for p in net.parameters())


def test_apply_visits_children_first(torch):
    def order(lib):
        seen = []
        make_net(lib).apply(lambda m: seen.append(type(m).__name__))
        return seen

    assert order(leafgrad) == order(torch) == ["Linear", "ReLU", "Sequential", "Linear",
                                               "Linear", "ModuleList", "Net"]


# -- conversion ---------------------------------------------------------------------------------
def test_to_double_converts_parameters_in_place():
    net = make_net(leafgrad)
    params = list(net.parameters())  # what an optimizer holds
    net(leafgrad.ones(2, 4)).sum().backward()
    assert net.to(leafgrad.float64) is net
    assert all(a is b for a, b in zip(net.parameters(), params))
    assert all(p.dtype == leafgrad.float64 and p.grad.dtype == leafgrad.float64 for p in params)
    assert net.cache.dtype == leafgrad.float64 and net.steps.dtype == leafgrad.int64
    out = net(leafgrad.ones(2, 4, dtype=leafgrad.float64))
    assert out.dtype == leafgrad.float64
    net.float()
    assert all(p.dtype == leafgrad.float32 for p in params)
    net.half()
    assert net.features[0].weight.dtype == leafgrad.float16
    assert net.double().features[0].weight.dtype == leafgrad.float64


def test_to_rejects_integer_dtypes_and_missing_devices():
    net = make_net(leafgrad)
    with pytest.raises(TypeError, match="nn.Module.to only accepts floating point or complex "
                                        "dtypes, but got desired dtype=torch.int64"):
        net.to(leafgrad.int64)
    with pytest.raises(RuntimeError, match="not available"):
        net.to("cuda")
    assert net.to("cpu") is net and net.to(leafgrad.ones(1, dtype=leafgrad.float64)) is net
    assert net.scale.dtype == leafgrad.float64
    assert net.to(dtype=leafgrad.float32).scale.dtype == leafgrad.float32


# -- state dict ---------------------------------------------------------------------------------
def test_state_dict_holds_detached_views():
    net = make_net(leafgrad)
    state = net.state_dict()
    assert type(state).__name__ == "OrderedDict"
    assert list(state) == ["scale", "steps", "features.0.weight", "features.0.bias",
                           "heads.0.weight", "heads.0.bias", "heads.1.weight", "heads.1.bias"]
    assert all(type(v) is leafgrad.Tensor and not v.requires_grad for v in state.values())
    with leafgrad.no_grad():
        net.scale.fill_(5.0)
    assert state["scale"].item() == 5.0  # shares storage, as torch
    kept = net.state_dict(keep_vars=True)
    assert kept["scale"] is net.scale
    assert list(net.heads.state_dict(prefix="h."))[:1] == ["h.0.weight"]
    assert state._metadata[""] == {"version": 1} and "heads.0" in state._metadata


def test_state_dict_into_a_given_destination():
    destination = {}
    result = nn.Linear(2, 1).state_dict(destination=destination, prefix="fc.")
    assert result is destination and list(destination) == ["fc.weight", "fc.bias"]
    positional = {}
    with pytest.warns(FutureWarning, match="Positional args are being deprecated"):
        nn.Linear(2, 1).state_dict(positional, "out.")
    assert list(positional) == ["out.weight", "out.bias"]


def test_state_dict_round_trip():
    leafgrad.manual_seed(0)
    source, target = make_net(leafgrad), make_net(leafgrad)
    x = leafgrad.randn(3, 4)
    assert not np.allclose(source(x).detach().numpy(), target(x).detach().numpy())
    result = target.load_state_dict(source.state_dict())
    assert repr(result) == "<All keys matched successfully>"
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(source(x).detach().numpy(), target(x).detach().numpy())
    assert target.scale is not source.scale  # copied, not shared
    with leafgrad.no_grad():
        source.scale.fill_(3.0)
    assert target.scale.item() == 1.0


def test_load_errors_are_torchs_and_nothing_is_loaded(torch):
    def attempt(lib, state):
        net = make_net(lib)
        with pytest.raises(RuntimeError) as info:
            net.load_state_dict(state)
        return net, str(info.value)

    bad_ours = values(make_net(leafgrad))
    bad_ours.pop("heads.1.bias")
    bad_ours["extra.weight"] = np.ones(2, np.float32)
    bad_ours["features.0.weight"] = np.ones((5, 4), np.float32)
    ours_net = make_net(leafgrad)
    before = values(ours_net)
    with pytest.raises(RuntimeError) as info:
        ours_net.load_state_dict({k: leafgrad.tensor(v) for k, v in bad_ours.items()})
    _, theirs = attempt(torch, {k: torch.tensor(v) for k, v in bad_ours.items()})
    assert str(info.value) == theirs
    assert str(info.value).startswith(
        'Error(s) in loading state_dict for Net:\n\tMissing key(s) in state_dict: '
        '"heads.1.bias". \n\tUnexpected key(s) in state_dict: "extra.weight". \n\tsize mismatch '
        'for features.0.weight: copying a param with shape torch.Size([5, 4]) from checkpoint, '
        'the shape in current model is torch.Size([6, 4]).')
    after = values(ours_net)
    assert all(np.array_equal(before[k], after[k]) for k in before)  # atomic: nothing loaded


def test_non_strict_load_reports_keys_but_still_rejects_shapes():
    net = make_net(leafgrad)
    state = {"scale": leafgrad.tensor([7.0]), "unused": leafgrad.ones(1)}
    result = net.load_state_dict(state, strict=False)
    assert result.unexpected_keys == ["unused"]
    assert "features.0.weight" in result.missing_keys and len(result.missing_keys) == 7
    assert net.scale.item() == 7.0
    with pytest.raises(RuntimeError, match="size mismatch for scale"):
        net.load_state_dict({"scale": leafgrad.ones(2), "steps": leafgrad.tensor(9)},
                            strict=False)
    assert net.scale.item() == 7.0 and net.steps.item() == 0


def test_load_rejects_non_mappings_and_non_tensors():
    net = nn.Linear(2, 1)
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like, got <class "
                                        "'list'>"):
        net.load_state_dict([1, 2])
    with pytest.raises(RuntimeError, match='While copying the parameter named "bias", expected '
                                           'torch.Tensor'):
        net.load_state_dict({"weight": leafgrad.ones(1, 2), "bias": [0.0]})
    assert net.weight.detach().numpy().tolist() != [[1.0, 1.0]]


def test_loading_torch_tensors_says_how_to_convert_them(torch):
    net = nn.Linear(2, 1)
    with pytest.raises(RuntimeError) as error:
        net.load_state_dict(torch.nn.Linear(2, 1).state_dict())
    message = str(error.value)
    assert ('While copying the parameter named "weight", expected a leafgrad Tensor from '
            'checkpoint but received a PyTorch Tensor: convert it with '
            'leafgrad.tensor(t.numpy())') in message
    assert "torch.Tensor or Tensor-like" not in message


def test_load_casts_dtype_and_keeps_parameter_objects():
    net = nn.Linear(2, 1)
    weight = net.weight
    net.load_state_dict({"weight": leafgrad.ones(1, 2, dtype=leafgrad.float64),
                         "bias": leafgrad.zeros(1)})
    assert net.weight is weight and weight.dtype == leafgrad.float32
    assert weight.detach().numpy().tolist() == [[1.0, 1.0]]
    assert weight._version > 0  # copied in place (torch bumps the version too)


def test_load_with_assign_takes_the_tensors():
    net = nn.Linear(2, 1)
    net.weight.requires_grad_(False)
    new_weight = leafgrad.ones(1, 2, dtype=leafgrad.float64)
    net.load_state_dict({"weight": new_weight, "bias": leafgrad.zeros(1)}, assign=True)
    assert isinstance(net.weight, nn.Parameter) and net.weight.dtype == leafgrad.float64
    assert not net.weight.requires_grad and net.bias.requires_grad
    with leafgrad.no_grad():
        new_weight.fill_(3.0)
    assert net.weight.detach().numpy().tolist() == [[3.0, 3.0]]  # shares the loaded storage


def test_one_element_vector_loads_into_a_scalar():
    module = nn.Module()
    module.register_buffer("count", leafgrad.tensor(0))
    module.load_state_dict({"count": leafgrad.tensor([5])})
    assert module.count.item() == 5 and module.count.shape == ()


def test_extra_state_round_trip_and_missing_key():
    class Counter(nn.Module):
        def __init__(self):
            super().__init__()
            self.calls = 0

        def get_extra_state(self):
            return {"calls": self.calls}

        def set_extra_state(self, state):
            self.calls = state["calls"]

    source, target = nn.Sequential(Counter()), nn.Sequential(Counter())
    source[0].calls = 4
    assert source.state_dict()["0._extra_state"] == {"calls": 4}
    target.load_state_dict(source.state_dict())
    assert target[0].calls == 4
    with pytest.raises(RuntimeError, match='Missing key.*"0._extra_state"'):
        target.load_state_dict({})
    with pytest.raises(RuntimeError, match='Unexpected key.*"0._extra_state"'):
        nn.Sequential(nn.Identity()).load_state_dict(source.state_dict())


def test_load_state_dict_from_torch_gives_torchs_outputs(torch):
    theirs, ours = make_net(torch), make_net(leafgrad)
    copy_from_torch(theirs, ours)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(ours(leafgrad.tensor(x)).detach().numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-6, atol=1e-6)


def test_deepcopy_of_a_module():
    net = make_net(leafgrad)
    clone = copy.deepcopy(net)
    assert clone.features[0].weight is not net.features[0].weight
    np.testing.assert_array_equal(clone.features[0].weight.detach().numpy(),
                                  net.features[0].weight.detach().numpy())
    assert list(clone.state_dict()) == list(net.state_dict())


# -- repr ---------------------------------------------------------------------------------------
def test_repr_matches_torch(torch):
    def build(lib):
        class Block(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = lib.nn.Linear(3, 3, bias=False)
                self.act = lib.nn.LeakyReLU(0.2, inplace=True)

            def extra_repr(self):
                return "first line\nsecond line"

        net = lib.nn.Sequential(
            lib.nn.Flatten(), lib.nn.Linear(12, 3), Block(),
            lib.nn.ModuleList([lib.nn.Linear(3, 3), lib.nn.Linear(3, 3), lib.nn.Tanh()]),
            lib.nn.ModuleDict({"out": lib.nn.Linear(3, 2), "soft": lib.nn.Softmax(dim=1)}),
            lib.nn.Sequential(), lib.nn.Identity(), lib.nn.Unflatten(1, (1, 2)))
        return net

    assert repr(build(leafgrad)) == repr(build(torch))
    assert repr(build(leafgrad)).splitlines()[2] == \
        "  (1): Linear(in_features=12, out_features=3, bias=True)"
