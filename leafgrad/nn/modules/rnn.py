"""Recurrent layers: RNN, LSTM, GRU and their single-step cells, as ``torch.nn``.

They are built from differentiable tensor ops (linear, sigmoid, tanh, chunk, stack), so autograd
and double backward come for free. As torch's CPU kernels do, each layer and direction projects
the inputs of all time steps in one matmul; only the recurrent part loops over time. An LSTM
layer without projections runs as one fused op (``ops.rnn.lstm_layer``, as torch's oneDNN
layer). Gate orders and formulas follow torch: LSTM (i, f, g, o), GRU (r, z, n) with
``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))`` and ``h' = (h - n) * z + n``.
"""
from __future__ import annotations

import math
import numbers
import warnings
from typing import Callable

from leafgrad._factories import empty, zeros
from leafgrad._tensor import Tensor
from leafgrad.nn import functional as F
from leafgrad.nn import init
from leafgrad.nn.module import Module
from leafgrad.nn.parameter import Parameter
from leafgrad.ops._checks import expect_tensor
from leafgrad.ops.rnn import lstm_gates, lstm_layer
from leafgrad.ops.shape import cat, stack

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


# -- one time step ------------------------------------------------------------------------------
# Each step takes the input projection ``W_ih x + b_ih`` (computed beforehand, for all time steps
# at once in the layers), the state tuple and the recurrent weights; it returns the new state.
def _tanh_step(projected: Tensor, state: tuple, w_hh: Tensor, b_hh: Tensor | None,
               w_hr: Tensor | None = None) -> tuple:
    return (F.tanh(F.linear(state[0], w_hh, b_hh) + projected),)


def _relu_step(projected: Tensor, state: tuple, w_hh: Tensor, b_hh: Tensor | None,
               w_hr: Tensor | None = None) -> tuple:
    return (F.relu(F.linear(state[0], w_hh, b_hh) + projected),)


def _lstm_step(projected: Tensor, state: tuple, w_hh: Tensor, b_hh: Tensor | None,
               w_hr: Tensor | None = None) -> tuple:
    hidden, cell = lstm_gates(F.linear(state[0], w_hh, b_hh) + projected, state[1])
    if w_hr is not None:  # LSTM with projections: the hidden state is projected to proj_size
        hidden = F.linear(hidden, w_hr)
    return hidden, cell


def _gru_step(projected: Tensor, state: tuple, w_hh: Tensor, b_hh: Tensor | None,
              w_hr: Tensor | None = None) -> tuple:
    hidden = state[0]
    input_r, input_z, input_n = projected.chunk(3, -1)
    hidden_r, hidden_z, hidden_n = F.linear(hidden, w_hh, b_hh).chunk(3, -1)
    reset_gate = F.sigmoid(hidden_r + input_r)
    update_gate = F.sigmoid(hidden_z + input_z)
    new_gate = F.tanh(input_n + reset_gate * hidden_n)  # r gates (W_hn h + b_hn), as torch
    return ((hidden - new_gate) * update_gate + new_gate,)


_STEPS: dict[str, Callable[..., tuple]] = {"RNN_TANH": _tanh_step, "RNN_RELU": _relu_step,
                                           "LSTM": _lstm_step, "GRU": _gru_step}


def _run_direction(step: Callable[..., tuple], input: Tensor, state: tuple, weights: tuple,
                   reverse: bool) -> tuple[Tensor, tuple]:
    """One layer in one direction over ``input`` (seq, batch, features): the stacked hidden
    states (seq, batch, hidden) and the final state."""
    w_ih, w_hh, b_ih, b_hh, w_hr = weights
    if step is _lstm_step and w_hr is None:  # one fused op for the layer, as torch's kernel
        output, hidden, cell = lstm_layer(input, *state, w_ih, w_hh, b_ih, b_hh, reverse)
        return output, (hidden, cell)
    projected = F.linear(input, w_ih, b_ih).unbind(0)  # every time step in one matmul
    outputs: list = [None] * len(projected)
    for t in (reversed(range(len(projected))) if reverse else range(len(projected))):
        state = step(projected[t], state, w_hh, b_hh, w_hr)
        outputs[t] = state[0]
    return stack(outputs, 0), state


# -- multi-layer recurrent networks -------------------------------------------------------------
class RNNBase(Module):
    """The parameters, checks and multi-layer, bidirectional loop shared by RNN, LSTM and GRU.

    Parameters are named as torch's (``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``,
    ``bias_hh_l{k}``, ``weight_hr_l{k}`` with projections, ``_reverse`` for the backward
    direction) and all drawn from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)).
    """

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        _check_options(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                       proj_size)
        gate_size = _GATES[mode] * hidden_size
        real_hidden_size = proj_size if proj_size > 0 else hidden_size
        num_directions = 2 if bidirectional else 1
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input_size = input_size if layer == 0 else real_hidden_size * num_directions
                shapes = [("weight_ih_l{}{}", (gate_size, layer_input_size)),
                          ("weight_hh_l{}{}", (gate_size, real_hidden_size))]
                if bias:
                    shapes += [("bias_ih_l{}{}", (gate_size,)), ("bias_hh_l{}{}", (gate_size,))]
                if proj_size > 0:
                    shapes += [("weight_hr_l{}{}", (proj_size, hidden_size))]
                suffix = "_reverse" if direction == 1 else ""
                names = []
                for pattern, shape in shapes:
                    name = pattern.format(layer, suffix)
                    setattr(self, name, Parameter(empty(shape, device=device, dtype=dtype)))
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw every weight and bias again from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def flatten_parameters(self) -> None:
        """Nothing to do: torch packs the weights for cuDNN here; kept for compatibility."""

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, name, None) for name in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """The parameters of each layer and direction, in torch's order."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    # -- checks (torch's messages) -----------------------------------------------------------
    def check_input(self, input: Tensor, batch_sizes=None) -> None:
        weight_dtype = self._flat_weights[0].dtype
        if input.dtype != weight_dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype "
                             f"({weight_dtype}). Convert input: input.to({weight_dtype}), or "
                             f"convert model: model.to({input.dtype})")
        if input.dim() != 3:
            raise RuntimeError(f"input must have 3 dimensions, got {input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.size(-1)}")

    def get_expected_hidden_size(self, input: Tensor, batch_sizes=None) -> tuple[int, int, int]:
        mini_batch = input.size(0) if self.batch_first else input.size(1)
        num_directions = 2 if self.bidirectional else 1
        size = self.proj_size if self.proj_size > 0 else self.hidden_size
        return self.num_layers * num_directions, mini_batch, size

    def check_hidden_size(self, hx: Tensor, expected_hidden_size: tuple[int, int, int],
                          msg: str = "Expected hidden size {}, got {}") -> None:
        if hx.size() != expected_hidden_size:
            raise RuntimeError(msg.format(expected_hidden_size, list(hx.size())))

    def check_forward_args(self, input: Tensor, hidden: Tensor, batch_sizes=None) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden, self.get_expected_hidden_size(input, batch_sizes))

    # -- the computation ---------------------------------------------------------------------
    def _run(self, input: Tensor, states: tuple) -> tuple[Tensor, tuple]:
        """All layers and directions over a batched input; ``states`` holds the initial
        state tensors, each (num_layers * num_directions, batch, size). Returns the last
        layer's output and the final states, stacked alike."""
        if input.size(1 if self.batch_first else 0) == 0:
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
        for state in states:
            if state.dtype != input.dtype:
                raise RuntimeError(f"{type(self).__name__}: the hidden state's dtype "
                                   f"({state.dtype}) does not match the input's "
                                   f"({input.dtype}); convert one with .to()")
        if self.batch_first:
            input = input.transpose(0, 1)
        step = _STEPS[self.mode]
        num_directions = 2 if self.bidirectional else 1
        initial = [state.unbind(0) for state in states]
        finals: list[tuple] = []
        layer_input = input
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(num_directions):
                index = layer * num_directions + direction
                weights = self._layer_weights(index)
                state = tuple(per_state[index] for per_state in initial)
                output, final = _run_direction(step, layer_input, state, weights, direction == 1)
                outputs.append(output)
                finals.append(final)
            layer_input = outputs[0] if num_directions == 1 else cat(outputs, 2)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        output = layer_input.transpose(0, 1) if self.batch_first else layer_input
        return output, tuple(stack([final[i] for final in finals], 0)
                             for i in range(len(states)))

    def _layer_weights(self, index: int) -> tuple:
        """(w_ih, w_hh, b_ih, b_hh, w_hr) of one layer and direction, None where absent."""
        names = self._all_weights[index]
        return tuple(next((getattr(self, name) for name in names if name.startswith(kind)), None)
                     for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"))

    def _prepare(self, input: Tensor) -> tuple[Tensor, bool, int]:
        """Check the input's rank; give an unbatched (2-D) input its batch dim."""
        expect_tensor(input, self.mode if not self.mode.startswith("RNN") else "RNN")
        if input.dim() not in (2, 3):
            name = "RNN" if self.mode.startswith("RNN") else self.mode
            tensor = " tensor" if name == "RNN" else ""
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D"
                             f"{tensor} instead")
        is_batched = input.dim() == 3
        batch_dim = 0 if self.batch_first else 1
        if not is_batched:
            input = input.unsqueeze(batch_dim)
        return input, is_batched, batch_dim

    def _zeros(self, input: Tensor, size: int) -> Tensor:
        num_directions = 2 if self.bidirectional else 1
        batch = input.size(0) if self.batch_first else input.size(1)
        return zeros(self.num_layers * num_directions, batch, size, dtype=input.dtype)

    def _forward_single_state(self, input: Tensor, hx: Tensor | None) -> tuple[Tensor, Tensor]:
        """RNN's and GRU's forward: one state tensor."""
        input, is_batched, batch_dim = self._prepare(input)
        if hx is not None:
            if not is_batched and hx.dim() != 2:
                raise RuntimeError(f"For unbatched 2-D input, hx should also be 2-D but got "
                                   f"{hx.dim()}-D tensor")
            if is_batched and hx.dim() != 3:
                raise RuntimeError(f"For batched 3-D input, hx should also be 3-D but got "
                                   f"{hx.dim()}-D tensor")
            if not is_batched:
                hx = hx.unsqueeze(1)
        else:
            hx = self._zeros(input, self.hidden_size)
        self.check_forward_args(input, hx)
        output, (hidden,) = self._run(input, (hx,))
        if not is_batched:
            output, hidden = output.squeeze(batch_dim), hidden.squeeze(1)
        return output, hidden

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)


def _check_options(mode: str, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                   proj_size) -> None:
    if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool)
            or not 0 <= dropout <= 1):
        raise ValueError("dropout should be a number in range [0, 1] representing the "
                         "probability of an element being zeroed")
    if dropout > 0 and num_layers == 1:
        warnings.warn(f"dropout option adds dropout after all but last recurrent layer, so "
                      f"non-zero dropout expects num_layers greater than 1, but got "
                      f"dropout={dropout} and num_layers={num_layers}", UserWarning, stacklevel=4)
    if not isinstance(bias, bool):
        raise TypeError(f"bias should be of type bool, got: {type(bias).__name__}")
    if not isinstance(batch_first, bool):
        raise TypeError(f"batch_first should be of type bool, got: {type(batch_first).__name__}")
    if not isinstance(input_size, int):
        raise TypeError(f"input_size should be of type int, got: {type(input_size).__name__}")
    if input_size <= 0:
        raise ValueError("input_size must be greater than zero")
    if not isinstance(hidden_size, int):
        raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
    if hidden_size <= 0:
        raise ValueError("hidden_size must be greater than zero")
    if num_layers <= 0:
        raise ValueError("num_layers must be greater than zero")
    if proj_size < 0:
        raise ValueError("proj_size should be a positive integer or zero to disable projections")
    if proj_size >= hidden_size:
        raise ValueError("proj_size has to be smaller than hidden_size")
    if mode not in _GATES:
        raise ValueError("Unrecognized RNN mode: " + mode)


def _no_proj_size(kwargs: dict, name: str) -> None:
    if "proj_size" in kwargs:
        raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
    if kwargs:
        raise TypeError(f"{name}.__init__() got an unexpected keyword argument "
                        f"'{next(iter(kwargs))}'")


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)`` (or ReLU), stacked
    ``num_layers`` deep, optionally bidirectional.

    ``forward(input, hx=None)`` takes input (L, N, H_in) — (N, L, H_in) with batch_first, or
    (L, H_in) unbatched — and hx (D * num_layers, N, H_out) (zeros by default), and returns
    (output (L, N, D * H_out), h_n (D * num_layers, N, H_out)).

    Example::

        >>> rnn = leafgrad.nn.RNN(10, 20, 2)
        >>> output, h_n = rnn(leafgrad.randn(5, 3, 10))
        >>> output.shape, h_n.shape
        (torch.Size([5, 3, 20]), torch.Size([2, 3, 20]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None, dtype=None,
                 **kwargs) -> None:
        _no_proj_size(kwargs, "RNN")
        if nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             f"'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return self._forward_single_state(input, hx)


class LSTM(RNNBase):
    """Long short-term memory, with torch's gate order (input, forget, cell, output):
    ``c_t = f * c_{t-1} + i * g``, ``h_t = o * tanh(c_t)``, projected by ``weight_hr`` to
    ``proj_size`` features when ``proj_size > 0``.

    ``forward(input, hx=None)`` takes hx = (h_0, c_0) (zeros by default) and returns
    (output, (h_n, c_n)).

    Example::

        >>> lstm = leafgrad.nn.LSTM(10, 20, batch_first=True)
        >>> output, (h_n, c_n) = lstm(leafgrad.randn(3, 5, 10))
        >>> output.shape, c_n.shape
        (torch.Size([3, 5, 20]), torch.Size([1, 3, 20]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device=device, dtype=dtype)

    def get_expected_cell_size(self, input: Tensor, batch_sizes=None) -> tuple[int, int, int]:
        mini_batch = input.size(0) if self.batch_first else input.size(1)
        num_directions = 2 if self.bidirectional else 1
        return self.num_layers * num_directions, mini_batch, self.hidden_size

    def check_forward_args(self, input: Tensor, hidden: tuple[Tensor, Tensor],
                           batch_sizes=None) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden[0], self.get_expected_hidden_size(input, batch_sizes),
                               "Expected hidden[0] size {}, got {}")
        self.check_hidden_size(hidden[1], self.get_expected_cell_size(input, batch_sizes),
                               "Expected hidden[1] size {}, got {}")

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
                ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        input, is_batched, batch_dim = self._prepare(input)
        if hx is None:
            real_hidden_size = self.proj_size if self.proj_size > 0 else self.hidden_size
            hx = (self._zeros(input, real_hidden_size), self._zeros(input, self.hidden_size))
        else:
            rank = 3 if is_batched else 2
            if hx[0].dim() != rank or hx[1].dim() != rank:
                kind = "batched 3-D" if is_batched else "unbatched 2-D"
                raise RuntimeError(f"For {kind} input, hx and cx should also be {rank}-D but got "
                                   f"({hx[0].dim()}-D, {hx[1].dim()}-D) tensors")
            if not is_batched:
                hx = (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
        self.check_forward_args(input, hx)
        output, (hidden, cell) = self._run(input, tuple(hx))
        if not is_batched:
            output = output.squeeze(batch_dim)
            hidden, cell = hidden.squeeze(1), cell.squeeze(1)
        return output, (hidden, cell)


class GRU(RNNBase):
    """Gated recurrent unit, with torch's gate order (reset, update, new):
    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h' = (1 - z) * n + z * h``.

    ``forward(input, hx=None)`` returns (output, h_n), shaped as :class:`RNN`'s.

    Example::

        >>> gru = leafgrad.nn.GRU(10, 20, bidirectional=True)
        >>> output, h_n = gru(leafgrad.randn(5, 3, 10))
        >>> output.shape, h_n.shape
        (torch.Size([5, 3, 40]), torch.Size([2, 3, 20]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None, **kwargs) -> None:
        _no_proj_size(kwargs, "GRU")
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return self._forward_single_state(input, hx)


# -- cells ------------------------------------------------------------------------------------
class RNNCellBase(Module):
    """The parameters of a cell: ``weight_ih`` (chunks * hidden, input), ``weight_hh``
    (chunks * hidden, hidden), ``bias_ih`` and ``bias_hh``, all drawn from
    U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        gate_size = num_chunks * hidden_size
        self.weight_ih = Parameter(empty((gate_size, input_size), device=device, dtype=dtype))
        self.weight_hh = Parameter(empty((gate_size, hidden_size), device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(gate_size, device=device, dtype=dtype))
            self.bias_hh = Parameter(empty(gate_size, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw every weight and bias again from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def _prepare(self, input: Tensor, states: tuple | None, what: str) -> tuple:
        """Check ranks and sizes (torch's messages); return the batched input, the batched
        states (zeros when None) and whether the input was batched."""
        name = type(self).__name__
        expect_tensor(input, name)
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if states is not None:
            for index, state in enumerate(states):
                if state.dim() not in (1, 2):
                    label = "hidden" if what == "hidden" else f"hx[{index}]"
                    raise ValueError(f"{name}: Expected {label} to be 1D or 2D, got "
                                     f"{state.dim()}D instead")
        is_batched = input.dim() == 2
        if not is_batched:
            input = input.unsqueeze(0)
        if states is None:
            count = 2 if what == "hx" else 1
            states = (zeros(input.size(0), self.hidden_size, dtype=input.dtype),) * count
        elif not is_batched:
            states = tuple(state.unsqueeze(0) for state in states)
        if input.size(1) != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.size(1)} expected "
                               f"{self.input_size}")
        for index, state in enumerate(states):
            if input.size(0) != state.size(0):
                raise RuntimeError(f"Input batch size {input.size(0)} doesn't match "
                                   f"hidden{index} batch size {state.size(0)}")
            if state.size(1) != self.hidden_size:
                raise RuntimeError(f"hidden{index} has inconsistent hidden_size: got "
                                   f"{state.size(1)}, expected {self.hidden_size}")
        return input, states, is_batched

    def _step(self, step: Callable[..., tuple], input: Tensor, states: tuple) -> tuple:
        projected = F.linear(input, self.weight_ih, self.bias_ih)
        return step(projected, states, self.weight_hh, self.bias_hh)


class RNNCell(RNNCellBase):
    """One step of an Elman RNN: ``h' = tanh(W_ih x + b_ih + W_hh h + b_hh)`` (or ReLU).

    Example::

        >>> cell = leafgrad.nn.RNNCell(10, 20)
        >>> cell(leafgrad.randn(3, 10)).shape
        torch.Size([3, 20])
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        input, (hx,), is_batched = self._prepare(input, None if hx is None else (hx,), "hidden")
        if self.nonlinearity == "tanh":
            step = _tanh_step
        elif self.nonlinearity == "relu":
            step = _relu_step
        else:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        (hidden,) = self._step(step, input, (hx,))
        return hidden if is_batched else hidden.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step; ``forward(input, (h, c))`` returns ``(h', c')``.

    Example::

        >>> cell = leafgrad.nn.LSTMCell(10, 20)
        >>> h, c = cell(leafgrad.randn(3, 10))
        >>> h.shape, c.shape
        (torch.Size([3, 20]), torch.Size([3, 20]))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
                ) -> tuple[Tensor, Tensor]:
        input, states, is_batched = self._prepare(input, None if hx is None else tuple(hx), "hx")
        hidden, cell = self._step(_lstm_step, input, states)
        if not is_batched:
            hidden, cell = hidden.squeeze(0), cell.squeeze(0)
        return hidden, cell


class GRUCell(RNNCellBase):
    """One GRU step: ``h' = (1 - z) * n + z * h``.

    Example::

        >>> cell = leafgrad.nn.GRUCell(10, 20)
        >>> cell(leafgrad.randn(3, 10), leafgrad.zeros(3, 20)).shape
        torch.Size([3, 20])
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        input, (hx,), is_batched = self._prepare(input, None if hx is None else (hx,), "hidden")
        (hidden,) = self._step(_gru_step, input, (hx,))
        return hidden if is_batched else hidden.squeeze(0)
