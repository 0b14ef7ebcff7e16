"""RNN, LSTM, GRU and their cells: outputs, final states and gradients (inputs, initial states,
every parameter) against torch with copied weights over a grid of options; float64 gradcheck and
gradgradcheck; parameter names, shapes, state_dict keys, initialisation, dropout between layers,
reprs and errors (torch's types and messages)."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import leafgrad
from leafgrad import nn
from leafgrad.autograd import gradcheck, gradgradcheck


def rng(seed: int = 1234):
    return np.random.default_rng(seed)


def copy_weights(theirs, ours) -> None:
    state = theirs.state_dict()
    assert list(ours.state_dict()) == list(state)
    ours.load_state_dict({k: leafgrad.tensor(v.detach().numpy()) for k, v in state.items()})


def assert_close(ours, theirs, rtol=1e-5, atol=1e-6) -> None:
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else theirs
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.detach().numpy(), theirs, rtol=rtol, atol=atol)


def flatten_result(result) -> list:
    """(output, h_n) or (output, (h_n, c_n)) as a flat list of tensors."""
    output, states = result
    return [output, *(states if isinstance(states, tuple) else (states,))]


def assert_matches_torch(torch, ours, theirs, input, hx=None, rtol=1e-5, atol=1e-6) -> None:
    """Run both modules (same weights) on ``input`` and the initial state ``hx`` (an array or a
    tuple of arrays); compare every output and the gradients of a random weighting of them
    w.r.t. the input, the initial states and every parameter."""
    ours_in = leafgrad.tensor(input, requires_grad=True)
    theirs_in = torch.tensor(input, requires_grad=True)
    ours_hx = theirs_hx = None
    if hx is not None:
        arrays = hx if isinstance(hx, tuple) else (hx,)
        ours_hx = tuple(leafgrad.tensor(a, requires_grad=True) for a in arrays)
        theirs_hx = tuple(torch.tensor(a, requires_grad=True) for a in arrays)
    ours_out = flatten_result(ours(ours_in, _state(ours_hx, hx)))
    theirs_out = flatten_result(theirs(theirs_in, _state(theirs_hx, hx)))
    assert len(ours_out) == len(theirs_out)
    generator = rng(7)
    ours_loss, theirs_loss = 0, 0
    for a, b in zip(ours_out, theirs_out):
        assert_close(a, b, rtol, atol)
        weights = generator.standard_normal(tuple(b.shape)).astype(np.float32)
        ours_loss = ours_loss + (a * leafgrad.tensor(weights)).sum()
        theirs_loss = theirs_loss + (b * torch.tensor(weights)).sum()
    ours_loss.backward()
    theirs_loss.backward()
    assert_close(ours_in.grad, theirs_in.grad, rtol, atol)
    for a, b in zip(ours_hx or (), theirs_hx or ()):
        assert_close(a.grad, b.grad, rtol, atol)
    ours_params, theirs_params = dict(ours.named_parameters()), dict(theirs.named_parameters())
    assert list(ours_params) == list(theirs_params)
    for name, param in theirs_params.items():
        assert_close(ours_params[name].grad, param.grad, rtol, atol)


def _state(tensors, hx):
    if tensors is None:
        return None
    return tensors if isinstance(hx, tuple) else tensors[0]


# (our class, torch's name, constructor options)
MODES = {
    "rnn_tanh": ("RNN", {}),
    "rnn_relu": ("RNN", {"nonlinearity": "relu"}),
    "lstm": ("LSTM", {}),
    "gru": ("GRU", {}),
    "lstm_proj": ("LSTM", {"proj_size": 2}),
}
# variants: (batch_first, bias, with hx, unbatched)
VARIANTS = {
    "plain": (False, True, False, False),
    "batch_first": (True, True, True, False),
    "no_bias": (False, False, True, False),
    "with_hx": (False, True, True, False),
    "unbatched": (False, True, False, True),
    "unbatched_hx_batch_first": (True, True, True, True),
}
INPUT, HIDDEN, SEQ, BATCH = 3, 4, 5, 2


def build(library, mode: str, **options):
    name, extra = MODES[mode]
    return getattr(library.nn, name)(INPUT, HIDDEN, **extra, **options)


def initial_state(mode: str, num_layers: int, directions: int, batch: int | None, generator):
    out_size = MODES[mode][1].get("proj_size", HIDDEN)
    batch_dims = () if batch is None else (batch,)
    h = generator.standard_normal((num_layers * directions, *batch_dims, out_size))
    if mode.startswith("lstm"):
        c = generator.standard_normal((num_layers * directions, *batch_dims, HIDDEN))
        return h.astype(np.float32), c.astype(np.float32)
    return h.astype(np.float32)


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("mode", list(MODES))
def test_recurrent_layers_match_torch(torch, mode, num_layers, bidirectional, variant):
    batch_first, bias, with_hx, unbatched = VARIANTS[variant]
    options = {"num_layers": num_layers, "bidirectional": bidirectional,
               "batch_first": batch_first, "bias": bias}
    theirs, ours = build(torch, mode, **options), build(leafgrad, mode, **options)
    copy_weights(theirs, ours)
    generator = rng()
    shape = (SEQ, INPUT) if unbatched else ((BATCH, SEQ, INPUT) if batch_first
                                            else (SEQ, BATCH, INPUT))
    input = generator.standard_normal(shape).astype(np.float32)
    hx = None
    if with_hx:
        hx = initial_state(mode, num_layers, 2 if bidirectional else 1,
                           None if unbatched else BATCH, generator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch: "LSTM with projections is not supported ..."
        assert_matches_torch(torch, ours, theirs, input, hx)


def test_dropout_between_layers_in_eval_mode_matches_torch(torch):
    for mode in ("lstm", "gru", "rnn_tanh"):
        theirs = build(torch, mode, num_layers=2, dropout=0.5, bidirectional=True).eval()
        ours = build(leafgrad, mode, num_layers=2, dropout=0.5, bidirectional=True).eval()
        copy_weights(theirs, ours)
        x = rng().standard_normal((SEQ, BATCH, INPUT)).astype(np.float32)
        assert_matches_torch(torch, ours, theirs, x)


def test_dropout_between_layers_in_training():
    input = leafgrad.randn(SEQ, BATCH, INPUT)
    gru = nn.GRU(INPUT, HIDDEN, num_layers=2, dropout=0.5)
    eval_output = gru.eval()(input)[0]
    gru.train()
    leafgrad.manual_seed(3)
    first = gru(input)[0]
    leafgrad.manual_seed(3)
    again = gru(input)[0]
    np.testing.assert_array_equal(first.detach().numpy(), again.detach().numpy())
    assert not np.allclose(first.detach().numpy(), eval_output.detach().numpy())
    np.testing.assert_array_equal(gru.eval()(input)[0].detach().numpy(),
                                  eval_output.detach().numpy())

    # with p = 1 the second layer sees zeros: it is a one-layer GRU run on a zero input
    dropped = nn.GRU(INPUT, HIDDEN, num_layers=2, dropout=1.0)
    output, h_n = dropped(input)
    second = nn.GRU(HIDDEN, HIDDEN)
    second.load_state_dict({name.replace("l1", "l0"): value for name, value
                            in dropped.state_dict().items() if name.endswith("l1")})
    expected, expected_h = second(leafgrad.zeros(SEQ, BATCH, HIDDEN))
    np.testing.assert_allclose(output.detach().numpy(), expected.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(h_n[1].detach().numpy(), expected_h[0].detach().numpy(),
                               rtol=1e-6)


def test_dropout_with_one_layer_warns_as_torch():
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1, "
                                         "but got dropout=0.3 and num_layers=1"):
        nn.LSTM(2, 3, dropout=0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.LSTM(2, 3, num_layers=2, dropout=0.3)


# -- the fused LSTM layer -------------------------------------------------------------------------
def test_lstm_layer_is_torch_node_and_guards_its_saved_output(torch):
    """A float32 LSTM layer is one node, named as torch's oneDNN layer; the output it keeps for
    backward refuses in-place changes, as torch's, while h_n (a copy) may change."""
    ours, theirs = build(leafgrad, "lstm"), build(torch, "lstm")
    copy_weights(theirs, ours)
    input = rng().standard_normal((SEQ, BATCH, INPUT)).astype(np.float32)
    for library, module in ((leafgrad, ours), (torch, theirs)):
        output, (h_n, _) = module(library.tensor(input, requires_grad=True))
        assert output.grad_fn.name() == "MkldnnRnnLayerBackward0"
        h_n.add_(1)
        output.sum().backward(retain_graph=True)
        output.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            output.sum().backward()


@pytest.mark.parametrize("frozen", ["input", "weight_ih_l0", "weight_hh_l0", "bias_ih_l0",
                                    "states"])
def test_lstm_gradients_of_a_subset_of_inputs_match_torch(torch, frozen):
    """Only the inputs that require grad get a gradient, each as torch's."""
    theirs = build(torch, "lstm", bidirectional=True)
    ours = build(leafgrad, "lstm", bidirectional=True)
    copy_weights(theirs, ours)
    generator = rng(3)
    input = generator.standard_normal((SEQ, BATCH, INPUT)).astype(np.float32)
    states = initial_state("lstm", 1, 2, BATCH, generator)
    results = []
    for library, module in ((leafgrad, ours), (torch, theirs)):
        if frozen not in ("input", "states"):
            getattr(module, frozen).requires_grad_(False)
        x = library.tensor(input, requires_grad=frozen != "input")
        hx = tuple(library.tensor(a, requires_grad=frozen != "states") for a in states)
        output, (h_n, c_n) = module(x, hx)
        (output.sum() + (h_n * c_n).sum()).backward()
        results.append([t.grad for t in (x, *hx, *module.parameters())])
    for a, b in zip(*results):
        assert (a is None) == (b is None)
        if a is not None:
            assert_close(a, b)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_lstm_second_derivatives_match_torch_float64(torch, bidirectional):
    """create_graph through the fused layer: the gradient of a function of the first gradients
    equals torch's."""
    theirs = build(torch, "lstm", num_layers=2, bidirectional=bidirectional).double()
    ours = build(leafgrad, "lstm", num_layers=2, bidirectional=bidirectional).double()
    copy_weights(theirs, ours)
    generator = rng(5)
    input = generator.standard_normal((SEQ, BATCH, INPUT))
    states = initial_state("lstm", 2, 2 if bidirectional else 1, BATCH, generator)
    results = []
    for library, module in ((leafgrad, ours), (torch, theirs)):
        x = library.tensor(input, requires_grad=True)
        hx = tuple(library.tensor(a.astype(np.float64), requires_grad=True) for a in states)
        output, (h_n, c_n) = module(x, hx)
        loss = (output * output).sum() + (h_n * c_n).sum()
        params = list(module.parameters())
        first = library.autograd.grad(loss, [x, *hx, *params], create_graph=True)
        penalty = sum((g * g).sum() for g in first)
        results.append(library.autograd.grad(penalty, [x, *hx, *params]))
    for a, b in zip(*results):
        assert_close(a, b, rtol=1e-9, atol=1e-10)


# -- cells -------------------------------------------------------------------------------------
CELLS = {"rnn_tanh": ("RNNCell", {}), "rnn_relu": ("RNNCell", {"nonlinearity": "relu"}),
         "lstm": ("LSTMCell", {}), "gru": ("GRUCell", {})}


@pytest.mark.parametrize("unbatched", [False, True])
@pytest.mark.parametrize("with_hx", [False, True])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("cell", list(CELLS))
def test_cells_match_torch(torch, cell, bias, with_hx, unbatched):
    name, extra = CELLS[cell]
    theirs = getattr(torch.nn, name)(INPUT, HIDDEN, bias=bias, **extra)
    ours = getattr(nn, name)(INPUT, HIDDEN, bias=bias, **extra)
    copy_weights(theirs, ours)
    generator = rng()
    batch = () if unbatched else (BATCH,)
    input = generator.standard_normal(batch + (INPUT,)).astype(np.float32)
    hx_arrays = None
    if with_hx:
        count = 2 if cell == "lstm" else 1
        hx_arrays = tuple(generator.standard_normal(batch + (HIDDEN,)).astype(np.float32)
                          for _ in range(count))
    ours_in, theirs_in = leafgrad.tensor(input, requires_grad=True), torch.tensor(input,
                                                                               requires_grad=True)
    ours_hx = theirs_hx = None
    if hx_arrays is not None:
        ours_hx = tuple(leafgrad.tensor(a, requires_grad=True) for a in hx_arrays)
        theirs_hx = tuple(torch.tensor(a, requires_grad=True) for a in hx_arrays)
    single = cell != "lstm"
    ours_out = ours(ours_in, None if ours_hx is None else (ours_hx[0] if single else ours_hx))
    theirs_out = theirs(theirs_in,
                        None if theirs_hx is None else (theirs_hx[0] if single else theirs_hx))
    ours_out = (ours_out,) if single else ours_out
    theirs_out = (theirs_out,) if single else theirs_out
    ours_loss = theirs_loss = 0
    for index, (a, b) in enumerate(zip(ours_out, theirs_out)):
        assert_close(a, b)
        ours_loss = ours_loss + a.sum() * (index + 1)
        theirs_loss = theirs_loss + b.sum() * (index + 1)
    ours_loss.backward()
    theirs_loss.backward()
    assert_close(ours_in.grad, theirs_in.grad)
    for a, b in zip(ours_hx or (), theirs_hx or ()):
        assert_close(a.grad, b.grad)
    for (name, p), (torch_name, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == torch_name
        assert_close(p.grad, q.grad)


def test_cell_repr_and_parameters_match_torch(torch):
    for name, extra in [("RNNCell", {"nonlinearity": "relu", "bias": False}),
                        ("LSTMCell", {}), ("GRUCell", {"bias": False})]:
        ours, theirs = getattr(nn, name)(3, 5, **extra), getattr(torch.nn, name)(3, 5, **extra)
        assert repr(ours) == repr(theirs)
        assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
            [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
        assert list(ours.state_dict()) == list(theirs.state_dict())


# -- float64 gradcheck ---------------------------------------------------------------------------
def _gradcheck_call(module, seq: int, generator):
    """Inputs (input, h_0[, c_0]) for ``module`` and a function of them and of the parameters
    (which gradcheck perturbs in place, so the module sees the changes) returning every
    output."""
    directions = 2 if module.bidirectional else 1
    out_size = module.proj_size or module.hidden_size
    shapes = [(seq, 1, module.input_size), (module.num_layers * directions, 1, out_size)]
    if isinstance(module, nn.LSTM):
        shapes.append((module.num_layers * directions, 1, module.hidden_size))
    inputs = tuple(leafgrad.randn(*shape, dtype=leafgrad.float64, generator=generator,
                                  requires_grad=True) for shape in shapes)

    def run(x, *rest):
        states = rest[:len(shapes) - 1]
        return flatten_result(module(x, states if len(states) == 2 else states[0]))
    return run, inputs


@pytest.mark.parametrize("mode", ["rnn_tanh", "rnn_relu", "lstm", "gru", "lstm_proj"])
def test_gradcheck_and_gradgradcheck_float64(mode):
    name, extra = MODES[mode]
    generator = leafgrad.Generator().manual_seed(0)
    if "proj_size" in extra:
        module = nn.LSTM(2, 2, bidirectional=True, proj_size=1)
    else:
        module = getattr(nn, name)(2, 1, num_layers=2, bidirectional=True, **extra)
    run, inputs = _gradcheck_call(module.double(), 3, generator)
    assert gradcheck(run, inputs + tuple(module.parameters()))
    # second derivatives on a smaller problem: they cost a gradcheck of the backward graph
    small = getattr(nn, name)(2, 2, **dict(extra, proj_size=1) if extra.get("proj_size")
                              else extra).double()
    run, inputs = _gradcheck_call(small, 2, generator)
    assert gradgradcheck(run, inputs + (small.weight_hh_l0,))


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_gradcheck_and_gradgradcheck_float64(name):
    cell = getattr(nn, name)(2, 3).double()
    generator = leafgrad.Generator().manual_seed(1)
    x = leafgrad.randn(2, 2, dtype=leafgrad.float64, generator=generator, requires_grad=True)
    h = leafgrad.randn(2, 3, dtype=leafgrad.float64, generator=generator, requires_grad=True)
    if name == "LSTMCell":
        c = leafgrad.randn(2, 3, dtype=leafgrad.float64, generator=generator, requires_grad=True)
        inputs = (x, h, c)

        def run(x, h, c, *params):
            return cell(x, (h, c))
    else:
        inputs = (x, h)

        def run(x, h, *params):
            return cell(x, h)
    params = tuple(cell.parameters())
    assert gradcheck(run, inputs + params)
    assert gradgradcheck(run, inputs + params)


# -- parameters, state_dict, init, repr ------------------------------------------------------
CONFIGS = [
    ("RNN", {}), ("RNN", {"num_layers": 3, "bidirectional": True, "nonlinearity": "relu"}),
    ("LSTM", {"num_layers": 2, "bias": False}), ("LSTM", {"bidirectional": True, "proj_size": 2}),
    ("LSTM", {"num_layers": 2, "proj_size": 3, "bias": False, "bidirectional": True}),
    ("GRU", {"num_layers": 2, "bidirectional": True, "batch_first": True, "dropout": 0.25}),
]


@pytest.mark.parametrize("name, options", CONFIGS)
def test_parameter_names_shapes_state_dict_and_repr_match_torch(torch, name, options):
    ours = getattr(nn, name)(3, 4, **options)
    theirs = getattr(torch.nn, name)(3, 4, **options)
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [[tuple(w.shape) for w in layer] for layer in ours.all_weights] == \
        [[tuple(w.shape) for w in layer] for layer in theirs.all_weights]
    assert repr(ours) == repr(theirs)
    assert ours.dropout == theirs.dropout and isinstance(ours.dropout, float)


@pytest.mark.parametrize("module", [
    nn.RNN(3, 16, 2, bidirectional=True), nn.LSTM(3, 16, proj_size=4), nn.GRU(3, 16, 2),
    nn.RNNCell(3, 16), nn.LSTMCell(3, 16), nn.GRUCell(3, 16)], ids=lambda m: type(m).__name__)
def test_default_init_is_uniform_within_one_over_sqrt_hidden(module):
    bound = 1 / math.sqrt(16)
    values = np.concatenate([p.detach().numpy().ravel() for p in module.parameters()])
    assert np.abs(values).max() <= bound
    assert np.abs(values).max() > 0.9 * bound  # spread over the whole range
    assert abs(values.std() - bound / math.sqrt(3)) < 0.1 * bound
    assert all(p.dtype == leafgrad.float32 and p.requires_grad for p in module.parameters())


def test_dtype_option_and_double_conversion():
    lstm = nn.LSTM(2, 3, dtype=leafgrad.float64)
    assert all(p.dtype == leafgrad.float64 for p in lstm.parameters())
    output, (h, c) = lstm(leafgrad.randn(4, 2, dtype=leafgrad.float64))
    assert output.dtype == h.dtype == c.dtype == leafgrad.float64
    gru = nn.GRU(2, 3).double()
    output, h = gru(leafgrad.randn(4, 1, 2, dtype=leafgrad.float64))
    assert output.dtype == leafgrad.float64 and tuple(h.shape) == (1, 1, 3)


def test_empty_batch_gives_empty_outputs():
    output, (h, c) = nn.LSTM(3, 4, bidirectional=True)(leafgrad.zeros(5, 0, 3))
    assert tuple(output.shape) == (5, 0, 8) and tuple(h.shape) == tuple(c.shape) == (2, 0, 4)


# -- errors (torch's types and messages) ---------------------------------------------------------
ERROR_CASES = [
    ("RNN", {}, (5, 2, 3, 1), None),             # 4-D input
    ("LSTM", {}, (5, 2, 3, 1), None),
    ("GRU", {}, (5, 2, 3, 1), None),
    ("RNN", {}, (5, 2, 4), None),                # wrong input_size
    ("RNN", {}, (5, 2, 3), (1, 3, 4)),           # wrong hidden batch
    ("GRU", {"num_layers": 2}, (5, 2, 3), (1, 2, 4)),
    ("RNN", {}, (5, 2, 3), (2, 4)),              # 2-D hx for a batched input
    ("GRU", {}, (5, 3), (1, 1, 4)),              # 3-D hx for an unbatched input
    ("RNN", {}, (5, 3), (2, 4)),
    ("RNN", {}, (0, 2, 3), None),                # empty sequence
    ("LSTM", {}, (5, 2, 3), ((1, 2, 4), (1, 3, 4))),
    ("LSTM", {}, (5, 2, 3), ((1, 2, 5), (1, 2, 4))),
    ("LSTM", {}, (5, 2, 3), ((1, 2, 4), (2, 4))),
    ("LSTM", {}, (5, 3), ((1, 4), (1, 1, 4))),
]


@pytest.mark.parametrize("name, options, input_shape, hx_shape", ERROR_CASES)
def test_forward_errors_match_torch(torch, name, options, input_shape, hx_shape):
    def call(library):
        module = getattr(library.nn, name)(3, 4, **options)
        hx = None
        if hx_shape is not None:
            if isinstance(hx_shape[0], tuple):
                hx = tuple(library.zeros(*shape) for shape in hx_shape)
            else:
                hx = library.zeros(*hx_shape)
        module(library.zeros(*input_shape), hx)

    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(type(theirs.value)) as ours:
        call(leafgrad)
    assert str(ours.value) == str(theirs.value)


def test_dtype_errors():
    with pytest.raises(ValueError, match=r"RNN input dtype \(torch.float64\) does not match "
                                         r"weight dtype \(torch.float32\)"):
        nn.RNN(3, 4)(leafgrad.zeros(5, 2, 3, dtype=leafgrad.float64))
    with pytest.raises(RuntimeError, match="dtype"):
        nn.GRU(3, 4)(leafgrad.zeros(5, 2, 3), leafgrad.zeros(1, 2, 4, dtype=leafgrad.float64))
    with pytest.raises(RuntimeError, match="dtype"):
        nn.LSTM(3, 4)(leafgrad.zeros(5, 2, 3), (leafgrad.zeros(1, 2, 4),
                                               leafgrad.zeros(1, 2, 4, dtype=leafgrad.float64)))


CONSTRUCTOR_CASES = [
    ("RNN", (3, 4), {"nonlinearity": "sigmoid"}),
    ("GRU", (3, 4), {"proj_size": 2}),
    ("RNN", (3, 4), {"proj_size": 2}),
    ("LSTM", (3, 4), {"proj_size": 4}),
    ("LSTM", (3, 4), {"proj_size": -1}),
    ("RNN", (3, 4), {"dropout": 1.5}),
    ("RNN", (3, 4), {"dropout": True}),
    ("RNN", (3, 0), {}),
    ("RNN", (0, 4), {}),
    ("RNN", (3, 4), {"num_layers": 0}),
    ("RNN", (3.0, 4), {}),
    ("GRU", (3, 4), {"bias": 1}),
    ("GRU", (3, 4), {"batch_first": 0}),
]


@pytest.mark.parametrize("name, args, options", CONSTRUCTOR_CASES)
def test_constructor_errors_match_torch(torch, name, args, options):
    with pytest.raises(Exception) as theirs:
        getattr(torch.nn, name)(*args, **options)
    with pytest.raises(type(theirs.value)) as ours:
        getattr(nn, name)(*args, **options)
    assert str(ours.value) == str(theirs.value)


CELL_ERROR_CASES = [
    ("RNNCell", (2, 5), None),
    ("RNNCell", (2, 3), (3, 4)),
    ("RNNCell", (2, 3), (2, 5)),
    ("RNNCell", (2, 3, 3), None),
    ("RNNCell", (2, 3), (1, 2, 4)),
    ("GRUCell", (2, 3), (2, 5)),
    ("GRUCell", (2, 3, 3), None),
    ("LSTMCell", (2, 3), ((2, 4), (3, 4))),
    ("LSTMCell", (2, 3), ((2, 4), (2, 5))),
    ("LSTMCell", (2, 3), ((2, 4), (1, 2, 4))),
]


@pytest.mark.parametrize("name, input_shape, hx_shape", CELL_ERROR_CASES)
def test_cell_errors_match_torch(torch, name, input_shape, hx_shape):
    def call(library):
        hx = None
        if hx_shape is not None:
            hx = (tuple(library.zeros(*s) for s in hx_shape) if isinstance(hx_shape[0], tuple)
                  else library.zeros(*hx_shape))
        getattr(library.nn, name)(3, 4)(library.zeros(*input_shape), hx)

    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(type(theirs.value)) as ours:
        call(leafgrad)
    assert str(ours.value) == str(theirs.value)


def test_rnn_cell_unknown_nonlinearity_fails_at_forward():
    cell = nn.RNNCell(3, 4, nonlinearity="gelu")  # as torch: accepted here, refused when run
    with pytest.raises(RuntimeError, match="Unknown nonlinearity: gelu"):
        cell(leafgrad.zeros(2, 3))
