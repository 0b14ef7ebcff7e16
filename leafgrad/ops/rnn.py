"""The LSTM gate update, and one LSTM layer over a whole sequence as one fused op.

``lstm_gates`` is the step written with Tensor ops (LSTMCell, LSTM with projections, and the
reference the fused op differentiates again under ``create_graph``). ``lstm_layer`` runs a layer
and direction as torch's CPU kernel does for LSTM (its node is torch's MkldnnRnnLayerBackward0):
the input projection of every time step in one matrix product, then only the recurrent product
and the gates per step, on arrays, with no graph node per step. Its backward goes back through
time on arrays and forms the weight gradients of all steps in one product each.
"""
from __future__ import annotations

from leafgrad._backend import xp
from leafgrad._tensor import Tensor, _wrap
from leafgrad.autograd import api
from leafgrad.autograd.function import Op
from leafgrad.autograd.grad_mode import is_grad_enabled
from leafgrad.ops.elementwise import sigmoid, tanh
from leafgrad.ops.linalg import matmul
from leafgrad.ops.shape import stack

__all__ = ["lstm_gates", "lstm_layer"]


def lstm_gates(gates: Tensor, cell: Tensor) -> tuple[Tensor, Tensor]:
    """The new (hidden, cell) from the pre-activation gates, ordered (input, forget, cell,
    output) as torch's, and the previous cell: ``c' = f * c + i * g``, ``h' = o * tanh(c')``."""
    in_gate, forget_gate, cell_gate, out_gate = gates.chunk(4, -1)
    cell = sigmoid(forget_gate) * cell + sigmoid(in_gate) * tanh(cell_gate)
    return sigmoid(out_gate) * tanh(cell), cell


def _sigmoid_(x: xp.ndarray) -> None:
    """x = 1 / (1 + exp(-x)) in place. exp overflows to inf where x < -88 (float32), which
    gives the limit 0 exactly: callers silence that warning."""
    xp.negative(x, out=x)
    xp.exp(x, out=x)
    x += 1
    xp.reciprocal(x, out=x)


class LstmLayer(Op):
    """One LSTM layer in one direction: outputs (output (T, B, H), h_n, c_n).

    With ``d_t`` the gradient reaching the gates at step t (from grad_output, grad_hy, grad_cy
    back through time): input: d @ w_ih;  w_ih: d^T @ input;  w_hh: d^T @ h_prev;
    b_ih, b_hh: d summed over steps and batch;  hx: d_first @ w_hh;  cx: forget-gated cell
    gradient at the first step. With create_graph, the decomposed layer (``lstm_gates`` per
    step) is differentiated instead, so that second derivatives are exact.

    The arrays of a step are feature-major, (features, batch): each gate is then a contiguous
    block of rows, and OpenBLAS multiplies W_hh (4H, H) by h^T (H, B) faster than h by W_hh^T
    (the batch is small). Backward lays the gates' gradients of all steps side by side in
    (4H, T * B) for the weight products that take every step at once.
    """

    node_name = "MkldnnRnnLayerBackward0"
    saved_inputs = (0, 1, 2, 3, 4, 5, 6)
    saves_output = True  # the hidden states: the h_prev of the weight gradient

    @staticmethod
    def forward(ctx, input, w_ih, w_hh, b_ih, b_hh, hx, cx, reverse):
        ctx.reverse = reverse
        steps, batch, features = input.shape
        hidden = w_hh.shape[1]
        # every step's input projection (one product per step, in one call), with both biases
        gates = xp.matmul(w_ih, input.transpose(0, 2, 1))
        if b_ih is not None:
            gates += (b_ih + b_hh)[:, None]
        cells = xp.empty((steps, hidden, batch), dtype=gates.dtype, like=gates)
        tanh_cells = xp.empty_like(cells)
        output = xp.empty((steps, batch, hidden), dtype=gates.dtype, like=gates)
        # one buffer for all steps
        recurrent = xp.empty((4 * hidden, batch), dtype=gates.dtype, like=gates)
        h, c = hx.T, cx.T
        with xp.errstate(over="ignore"):  # the sigmoids' exp(-x) for x < -88 (float32)
            for t in reversed(range(steps)) if reverse else range(steps):
                step = gates[t]
                step += xp.matmul(w_hh, h, out=recurrent)
                in_gate, forget_gate, cell_gate, out_gate = _blocks(step, hidden)
                _sigmoid_(step[:2 * hidden])  # the input and forget gates
                xp.tanh(cell_gate, out=cell_gate)
                _sigmoid_(out_gate)
                c = xp.multiply(forget_gate, c, out=cells[t])
                c += in_gate * cell_gate
                xp.tanh(c, out=tanh_cells[t])
                h = xp.multiply(out_gate, tanh_cells[t], out=output[t].T)
        ctx.gates, ctx.cells, ctx.tanh_cells = gates, cells, tanh_cells  # activated gates
        return output, h.T.copy(), c.T.copy()

    @staticmethod
    def backward(ctx, grad_output, grad_hy, grad_cy):
        saved = ctx.saved_tensors  # the inputs, then the output
        if is_grad_enabled():
            return _differentiable_backward(ctx, saved, (grad_output, grad_hy, grad_cy))
        input, w_ih, w_hh, _, _, hx, cx, output = (s._data if s is not None else None
                                                   for s in saved)
        gates, cells, tanh_cells = ctx.gates, ctx.cells, ctx.tanh_cells
        steps, batch, hidden = output.shape
        grad_gates = xp.empty((4 * hidden, steps * batch), dtype=gates.dtype, like=gates)
        # one step's, contiguous
        step = xp.empty((4 * hidden, batch), dtype=gates.dtype, like=gates)
        grad_h, grad_c = grad_hy._data.T.copy(), grad_cy._data.T.copy()
        grad_output = grad_output._data
        first = steps - 1 if ctx.reverse else 0  # the step that ran first
        previous = 1 if ctx.reverse else -1  # from a step to the one that ran before it
        for t in range(steps) if ctx.reverse else reversed(range(steps)):
            cell_prev = cx.T if t == first else cells[t + previous]
            activated = gates[t]
            in_gate, forget_gate, cell_gate, out_gate = _blocks(activated, hidden)
            tanh_cell = tanh_cells[t]
            grad_h += grad_output[t].T
            # c = f * c_prev + i * g and h = o * tanh(c): the cell's gradient from both
            grad_c += grad_h * out_gate * (1 - tanh_cell * tanh_cell)
            # the activations' derivatives: s (1 - s) for the sigmoid gates (all four rows at
            # once, then the cell gate's replaced), 1 - tanh^2 for the cell gate
            xp.multiply(1 - activated, activated, out=step)
            d_in, d_forget, d_cell, d_out = _blocks(step, hidden)
            xp.multiply(cell_gate, cell_gate, out=d_cell)
            xp.subtract(1, d_cell, out=d_cell)
            # times what multiplies each gate: g, c_prev, i by the cell's gradient; tanh(c) by h's
            d_in *= cell_gate
            d_forget *= cell_prev
            d_cell *= in_gate
            driven_by_cell = step[:3 * hidden].reshape(3, hidden, batch)  # i, f and g
            driven_by_cell *= grad_c
            d_out *= tanh_cell
            d_out *= grad_h
            grad_c *= forget_gate
            grad_gates[:, t * batch:(t + 1) * batch] = step
            grad_h = w_hh.T @ step
        needs = ctx.needs_input_grad
        grad_input = grad_w_ih = grad_w_hh = grad_b_ih = grad_b_hh = None
        if needs[0]:
            grad_input = (grad_gates.T @ w_ih).reshape(input.shape)
        if needs[1]:
            grad_w_ih = grad_gates @ input.reshape(steps * batch, input.shape[2])
        if needs[2]:
            # each step's h_prev: the output one step earlier in the direction, hx first
            if ctx.reverse:
                h_prev = xp.concatenate((output[1:], hx[None]))
            else:
                h_prev = xp.concatenate((hx[None], output[:-1]))
            grad_w_hh = grad_gates @ h_prev.reshape(steps * batch, hidden)
        if needs[3]:
            grad_b_ih = grad_gates.sum(1)
        if needs[4]:  # its own array: the two biases' .grad must not share memory
            grad_b_hh = grad_b_ih.copy() if needs[3] else grad_gates.sum(1)
        grads = (grad_input, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh,
                 xp.ascontiguousarray(grad_h.T) if needs[5] else None,
                 xp.ascontiguousarray(grad_c.T) if needs[6] else None)
        return tuple(_wrap(g, False) if g is not None else None for g in grads)


def _blocks(gates: xp.ndarray, hidden: int) -> tuple:
    """The (input, forget, cell, output) gates of a feature-major (4H, B) array, as views."""
    return tuple(gates[k * hidden:(k + 1) * hidden] for k in range(4))


def _differentiable_backward(ctx, saved: tuple, grad_outputs: tuple) -> tuple:
    """The gradients by differentiating the layer written with Tensor ops (create_graph), so
    that they are functions of the inputs with exact derivatives of their own. The ops are run
    from clones of the inputs, and the gradients are taken at the clones, which keeps them to
    this layer: nothing below the inputs runs."""

    needs = ctx.needs_input_grad
    inputs = [s.clone() if need else s for s, need in zip(saved[:7], needs)]
    input, w_ih, w_hh, b_ih, b_hh, hx, cx = inputs
    projected = matmul(input, w_ih.t())
    if b_ih is not None:
        projected = projected + b_ih
    outputs: list = [None] * input.shape[0]
    h, c = hx, cx
    for t in reversed(range(len(outputs))) if ctx.reverse else range(len(outputs)):
        recurrent = matmul(h, w_hh.t())
        if b_hh is not None:
            recurrent = recurrent + b_hh
        h, c = lstm_gates(recurrent + projected[t], c)
        outputs[t] = h
    wanted = [tensor for tensor, need in zip(inputs, needs) if need]
    found = iter(api.grad((stack(outputs, 0), h, c), wanted, grad_outputs, create_graph=True,
                      allow_unused=True))
    return tuple(next(found) if need else None for need in needs)


def lstm_layer(input: Tensor, hx: Tensor, cx: Tensor, w_ih: Tensor, w_hh: Tensor,
               b_ih: Tensor | None, b_hh: Tensor | None, reverse: bool = False
               ) -> tuple[Tensor, Tensor, Tensor]:
    """One LSTM layer in one direction over ``input`` (T, B, I) from the state (hx, cx), each
    (B, H): the hidden states (T, B, H) and the final (h_n, c_n). The caller checks shapes
    and dtypes (as ``nn.LSTM`` does)."""
    return LstmLayer.apply(input, w_ih, w_hh, b_ih, b_hh, hx, cx, reverse=reverse)
