"""Module hooks: forward pre-hooks and hooks (kwargs, prepend, always_call, removal), full
backward hooks and pre-hooks against torch's grad_input/grad_output on the same net, the
deprecated register_backward_hook, and the seed's claims C12, C18 and C19 on modules."""
from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import leafgrad
from leafgrad import nn


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def arrays(grads) -> list:
    return [None if g is None else g.detach().numpy() for g in grads]


def assert_grads_equal(ours, theirs, rtol=1e-5, atol=1e-6) -> None:
    assert len(ours) == len(theirs)
    for a, b in zip(arrays(ours), arrays(theirs)):
        assert (a is None) == (b is None), (ours, theirs)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


# -- forward hooks ------------------------------------------------------------------------------
def test_forward_pre_hook_can_replace_the_arguments():
    double = nn.Identity()
    handle = double.register_forward_pre_hook(lambda module, args: args[0] * 2)
    assert double(leafgrad.tensor([1.0])).item() == 2.0  # a single value is wrapped in a tuple
    handle.remove()
    assert double(leafgrad.tensor([1.0])).item() == 1.0
    assert not double._forward_pre_hooks


def test_forward_hooks_see_args_and_output_and_can_replace_it():
    layer = nn.Linear(2, 2)
    seen = []
    layer.register_forward_hook(lambda module, args, output: seen.append((module, args, output)))
    layer.register_forward_hook(lambda module, args, output: output * 0)
    x = leafgrad.ones(1, 2)
    out = layer(x)
    assert not out.any()
    module, args, first_output = seen[0]
    assert module is layer and args[0] is x and first_output.any()


def test_hooks_with_kwargs():
    class Scale(nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor

    module = Scale()
    calls = []

    def pre(module, args, kwargs):
        calls.append(("pre", dict(kwargs)))
        return args, {"factor": kwargs["factor"] + 1}

    def post(module, args, kwargs, output):
        calls.append(("post", dict(kwargs)))
        return output + 100

    module.register_forward_pre_hook(pre, with_kwargs=True)
    handle = module.register_forward_hook(post, with_kwargs=True)
    assert module(leafgrad.tensor([1.0]), factor=2.0).item() == 103.0
    assert calls == [("pre", {"factor": 2.0}), ("post", {"factor": 3.0})]
    handle.remove()
    assert not module._forward_hooks and not module._forward_hooks_with_kwargs
    module.register_forward_pre_hook(lambda m, a, k: "bad", with_kwargs=True)
    with pytest.raises(RuntimeError, match="forward pre-hook must return None or a tuple of "
                                           r"\(new_args, new_kwargs\)"):
        module(leafgrad.tensor([1.0]), factor=1.0)


def test_hook_order_and_prepend():
    module = nn.Identity()
    order = []
    module.register_forward_hook(lambda *a: order.append("first"))
    module.register_forward_hook(lambda *a: order.append("second"))
    module.register_forward_hook(lambda *a: order.append("prepended"), prepend=True)
    module.register_forward_pre_hook(lambda *a: order.append("pre"))
    module.register_forward_pre_hook(lambda *a: order.append("pre prepended"), prepend=True)
    module(leafgrad.ones(1))
    assert order == ["pre prepended", "pre", "prepended", "first", "second"]


def test_always_call_hooks_run_when_forward_raises():
    class Broken(nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    module = Broken()
    seen = []
    module.register_forward_hook(lambda m, args, out: seen.append(("always", out)),
                                 always_call=True)
    module.register_forward_hook(lambda m, args, out: seen.append("normal"))
    with pytest.raises(ValueError, match="boom"):
        module(leafgrad.ones(1))
    assert seen == [("always", None)]
    module.register_forward_hook(lambda m, a, o: 1 / 0, always_call=True)
    with pytest.warns(UserWarning, match="always_call=True.*raised an exception"):
        with pytest.raises(ValueError, match="boom"):
            module(leafgrad.ones(1))


def test_handle_as_context_manager():
    module = nn.Identity()
    calls = []
    with module.register_forward_hook(lambda *a: calls.append(1)):
        module(leafgrad.ones(1))
    module(leafgrad.ones(1))
    assert calls == [1]


# -- full backward hooks vs torch -----------------------------------------------------------------
def make_mix(lib):
    """Two tensor inputs around a non-tensor one, two outputs."""

    class Mix(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = lib.nn.Linear(3, 2)

        def forward(self, a, scale, b):
            h = self.fc(a) * scale
            return h + b.sum(), h.tanh()

    return Mix()


def run_mix(lib, a_values, b_values, weights, register):
    """Build Mix with ``weights``, register hooks with ``register(module, record)``, run
    forward and backward; returns (records, a.grad, parameter grads)."""
    module = make_mix(lib)
    with lib.no_grad():
        module.fc.weight.copy_(lib.tensor(weights[0]))
        module.fc.bias.copy_(lib.tensor(weights[1]))
    record = []
    register(module, record)
    a = lib.tensor(a_values, requires_grad=True)
    b = lib.tensor(b_values)
    first, second = module(a, 2.0, b)
    ((first * lib.tensor([1.0, -2.0])).sum() + (second * 3).sum()).backward()
    return record, a.grad, [p.grad for p in module.parameters()]


@pytest.fixture
def mix_inputs():
    rng = np.random.default_rng(0)
    return (rng.standard_normal((4, 3)).astype(np.float32),
            rng.standard_normal(2).astype(np.float32),
            (rng.standard_normal((2, 3)).astype(np.float32),
             rng.standard_normal(2).astype(np.float32)))


def test_full_backward_hook_sees_torchs_grad_input_and_grad_output(torch, mix_inputs):
    def register(module, record):
        module.register_full_backward_hook(
            lambda m, grad_input, grad_output: record.append((m, grad_input, grad_output)))

    (ours,), a_grad, _ = run_mix(leafgrad, *mix_inputs, register)
    (theirs,), torch_a_grad, _ = run_mix(torch, *mix_inputs, register)
    assert isinstance(ours[0], nn.Module)
    assert [g is None for g in ours[1]] == [False, True, False]  # scale: not a tensor
    assert not ours[1][2].any()  # b does not require grad: zeros, as torch
    assert_grads_equal(ours[1], theirs[1])
    assert_grads_equal(ours[2], theirs[2])
    np.testing.assert_allclose(a_grad.numpy(), torch_a_grad.numpy(), rtol=1e-5)


def test_full_backward_hook_replaces_grad_input(torch, mix_inputs):
    def register(module, record):
        module.register_full_backward_hook(
            lambda m, grad_input, grad_output: (grad_input[0] * 10, None, None))

    _, a_grad, param_grads = run_mix(leafgrad, *mix_inputs, register)
    _, torch_a_grad, torch_param_grads = run_mix(torch, *mix_inputs, register)
    np.testing.assert_allclose(a_grad.numpy(), torch_a_grad.numpy(), rtol=1e-5)
    assert_grads_equal(param_grads, torch_param_grads)  # the module's own grads are unchanged


def test_backward_pre_hook_replaces_grad_output(torch, mix_inputs):
    def register(module, record):
        def pre_hook(m, grad_output):
            record.append(grad_output)
            return grad_output[0] * 0.5, grad_output[1] * -1

        module.register_full_backward_pre_hook(pre_hook)
        module.register_full_backward_hook(lambda m, gi, go: record.append(go))

    ours, a_grad, param_grads = run_mix(leafgrad, *mix_inputs, register)
    theirs, torch_a_grad, torch_param_grads = run_mix(torch, *mix_inputs, register)
    assert len(ours) == len(theirs) == 2
    for mine, reference in zip(ours, theirs):
        assert_grads_equal(mine, reference)
    np.testing.assert_allclose(a_grad.numpy(), torch_a_grad.numpy(), rtol=1e-5)
    assert_grads_equal(param_grads, torch_param_grads)


def test_hook_return_of_wrong_length_is_an_error(mix_inputs):
    def register(module, record):
        module.register_full_backward_hook(lambda m, gi, go: (gi[0],))

    with pytest.raises(RuntimeError, match="Backward hook returned an invalid number of "
                                           "grad_input, got 1, but expected 3"):
        run_mix(leafgrad, *mix_inputs, register)


def test_full_backward_hook_when_no_input_requires_grad(torch):
    for lib in (leafgrad, torch):
        layer = lib.nn.Linear(3, 2)
        seen = []
        layer.register_full_backward_hook(lambda m, gi, go, seen=seen: seen.append((gi, go)))
        with pytest.warns(UserWarning, match="Full backward hook is firing when gradients are "
                                             "computed with respect to module outputs"):
            layer(lib.ones(1, 3)).sum().backward()
        (grad_input, grad_output), = seen
        assert grad_input == (None,) and grad_output[0].shape == (1, 2)
        assert layer.weight.grad is not None


def make_two_outputs(lib):
    """Two outputs, of which a test differentiates only the first."""

    class TwoOutputs(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = lib.nn.Linear(2, 2)

        def forward(self, a, b):
            return self.fc(a) * b, a + 1

    return TwoOutputs()


@pytest.mark.parametrize("a_requires_grad", [True, False], ids=["input-grad", "no-input-grad"])
def test_backward_hooks_see_none_for_outputs_without_gradient(torch, a_requires_grad):
    seen = {}
    for lib in (leafgrad, torch):
        module = make_two_outputs(lib)
        with lib.no_grad():
            module.fc.weight.copy_(lib.tensor([[1.0, -2.0], [0.5, 3.0]]))
            module.fc.bias.fill_(0.25)
        log = seen[lib.__name__] = []
        module.register_full_backward_pre_hook(lambda m, go, log=log: log.append(("pre", go)))
        module.register_full_backward_hook(
            lambda m, gi, go, log=log: log.append(("full", gi, go)))
        a = lib.full((3, 2), 2.0, requires_grad=a_requires_grad)
        first, _ = module(a, lib.ones(3, 2))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the warning of hooks firing without input grads
            first.sum().backward()
    ours, theirs = seen["leafgrad"], seen["torch"]
    assert [entry[0] for entry in ours] == [entry[0] for entry in theirs] == ["pre", "full"]
    (_, pre_output), (_, grad_input, grad_output) = ours
    assert pre_output[1] is None and grad_output[1] is None  # the second output got nothing
    assert_grads_equal(pre_output, theirs[0][1])
    assert_grads_equal(grad_output, theirs[1][2])
    assert_grads_equal(grad_input, theirs[1][1])


def test_backward_hooks_do_not_fire_without_gradients():
    layer = nn.Linear(3, 2)
    seen = []
    layer.register_full_backward_hook(lambda *a: seen.append(a))
    with leafgrad.no_grad():
        out = layer(leafgrad.ones(1, 3, requires_grad=True))
    assert not out.requires_grad and not seen


def test_backward_hook_removal_and_mixing_kinds():
    layer = nn.Linear(2, 2)
    seen = []
    handle = layer.register_full_backward_hook(lambda *a: seen.append("full"))
    layer(leafgrad.ones(1, 2, requires_grad=True)).sum().backward()
    handle.remove()
    layer(leafgrad.ones(1, 2, requires_grad=True)).sum().backward()
    assert seen == ["full"]
    with pytest.raises(RuntimeError, match="Cannot use both regular backward hooks and full "
                                           "backward hooks"):
        layer.register_backward_hook(lambda *a: None)


def test_module_in_the_graph_gets_aliases_of_its_inputs():
    seen = []

    class Spy(nn.Module):
        def forward(self, x):
            seen.append(x)
            return x * 2

    spy = Spy()
    spy.register_full_backward_hook(lambda *a: None)
    x = leafgrad.ones(2, requires_grad=True)
    out = spy(x)
    assert seen[0] is not x and seen[0].grad_fn.name() == "BackwardHookFunctionBackward"
    assert out.grad_fn.name() == "BackwardHookFunctionBackward"


def test_deprecated_backward_hook_warns_and_still_works(torch):
    for lib in (leafgrad, torch):
        layer = lib.nn.Linear(2, 3)
        seen = []

        def hook(module, grad_input, grad_output, seen=seen):
            seen.append(grad_output)
            return tuple(None if g is None else g * 0 for g in grad_input)

        layer.register_backward_hook(hook)
        x = lib.ones(1, 2, requires_grad=True)
        with pytest.warns(FutureWarning, match="non-full backward hook"):
            out = layer(x)
        out.sum().backward()
        assert len(seen) == 1 and seen[0][0].shape == (1, 3)
        assert not x.grad.any() and not layer.bias.grad.any()  # the hook zeroed them


def test_deprecated_backward_hook_on_linear_sees_torchs_addmm_gradients(torch):
    """The hook sits on the output's node, torch's AddmmBackward0: grad_input is (bias, input,
    weight.t()) gradients, the bias's already summed over the batch."""
    seen = {}
    for lib in (leafgrad, torch):
        layer = lib.nn.Linear(2, 3)
        with lib.no_grad():
            layer.weight.copy_(lib.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
        log = seen[lib.__name__] = []
        layer.register_backward_hook(lambda m, gi, go, log=log: log.append((gi, go)))
        x = lib.ones(4, 2, requires_grad=True)
        with pytest.warns(FutureWarning):
            out = layer(x)
        (out * lib.arange(12.0).reshape(4, 3)).sum().backward()
    (ours,), (theirs,) = seen["leafgrad"], seen["torch"]
    assert [tuple(g.shape) for g in ours[0]] == [(3,), (4, 2), (2, 3)]
    assert_grads_equal(ours[0], theirs[0])
    assert_grads_equal(ours[1], theirs[1])


# -- the seed's claims on modules -------------------------------------------------------------
def test_net_output_requires_grad_though_input_does_not():  # C12
    net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    x = leafgrad.ones(2, 4)
    y = net(x)
    assert not x.requires_grad and y.requires_grad and y.grad_fn is not None
    assert all(p.requires_grad for p in net.parameters())


def test_activation_modules_have_no_parameters():  # C12
    activations = [nn.ReLU(), nn.LeakyReLU(), nn.ELU(), nn.GELU(), nn.SiLU(), nn.Sigmoid(),
                   nn.Tanh(), nn.Softmax(dim=1), nn.LogSoftmax(dim=1), nn.Softplus(),
                   nn.Hardtanh(), nn.ReLU6(), nn.Identity(), nn.Flatten()]
    x = leafgrad.randn(2, 3)
    for activation in activations:
        assert list(activation.parameters()) == [], activation
        assert not activation(x).requires_grad, activation
        assert activation(x.clone().requires_grad_()).requires_grad, activation
    assert [p.shape for p in nn.PReLU(3).parameters()] == [(3,)]


def test_hooks_record_and_change_gradients_of_inner_nodes():  # C18
    leafgrad.manual_seed(0)
    net1 = nn.Sequential(nn.Linear(4, 5), nn.Tanh())
    net2 = nn.Sequential(nn.Linear(5, 3))
    x = leafgrad.randn(6, 4)

    def run(change: bool):
        for p in itertools.chain(net1.parameters(), net2.parameters()):
            p.grad = None
        recorded = []

        def hook(module, grad_input, grad_output):
            recorded.append(grad_input[0].clone())
            return (grad_input[0] * 0,) if change else None

        handle = net2.register_full_backward_hook(hook)
        outputs1 = net1(x)
        net2(outputs1).pow(2).sum().backward()
        handle.remove()
        return recorded, net1[0].weight.grad.clone(), net2[0].weight.grad.clone()

    recorded, net1_grad, net2_grad = run(change=False)
    # the gradient w.r.t. outputs1, an inner node whose .grad is not kept, was seen by the hook
    assert recorded[0].shape == (6, 5) and recorded[0].abs().sum().item() > 0
    assert net1_grad.abs().sum().item() > 0
    _, changed_net1_grad, changed_net2_grad = run(change=True)
    assert not changed_net1_grad.any()  # the replaced gradient reached net1
    np.testing.assert_array_equal(changed_net2_grad.numpy(), net2_grad.numpy())


def test_freezing_a_sub_module():  # C19
    leafgrad.manual_seed(0)
    net1 = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 5))
    net2 = nn.Sequential(nn.Linear(5, 3))
    for p in net1.parameters():
        p.requires_grad = False
    x = leafgrad.randn(6, 4, requires_grad=True)
    outputs1 = net1(x)
    net2(outputs1).sum().backward()
    assert all(p.grad is None for p in net1.parameters())
    assert all(p.grad is not None for p in net2.parameters())
    assert x.grad is not None and x.grad.abs().sum().item() > 0  # backprop went through net1
    frozen = nn.Sequential(nn.Linear(4, 5)).requires_grad_(False)
    out = frozen(leafgrad.randn(2, 4))
    assert not out.requires_grad


def test_no_hook_call_overhead_path_matches_hooked_path():
    layer = nn.Linear(3, 2)
    x = leafgrad.randn(4, 3)
    plain = layer(x).detach().numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer.register_forward_pre_hook(lambda m, a: None)
        layer.register_forward_hook(lambda m, a, o: None)
        np.testing.assert_array_equal(layer(x).detach().numpy(), plain)
