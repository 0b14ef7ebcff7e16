"""Records of the recurrent ops (see ``op_db``): the LSTM gate update (``ops.rnn.lstm_gates``)
against ``torch.lstm_cell``, and one fused LSTM layer (``ops.rnn.lstm_layer``, what ``nn.LSTM``
runs for each layer and direction without projections) against ``torch.lstm`` for one layer."""
from hypothesis import strategies as st

from op_db import OpInfo, Sample, values


@st.composite
def _lstm_gates_samples(draw):
    """pre-activation gates (B, 4H) and the previous cell (B, H)."""
    batch, hidden = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return Sample((values(draw, (batch, 4 * hidden)), values(draw, (batch, hidden), salt=1)))


def _lstm_gates(m, gates, cell):
    return m.ops.rnn.lstm_gates(gates, cell)


def _torch_lstm_gates(m, gates, cell):
    """``torch.lstm_cell`` with the gates as input, an identity input weight and no recurrent
    part: its gates are then ours."""
    width, hidden = gates.shape[-1], cell.shape[-1]
    eye = m.eye(width, dtype=gates.dtype)
    return m.lstm_cell(gates, (m.zeros_like(cell), cell), eye,
                       m.zeros(width, hidden, dtype=gates.dtype))


@st.composite
def _lstm_layer_samples(draw):
    """input (T, B, I), hx and cx (B, H), w_ih (4H, I), w_hh (4H, H), the biases (4H,) or
    none, and the direction."""
    steps, batch = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    inputs, hidden = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    bias = draw(st.booleans())
    args = (values(draw, (steps, batch, inputs)),
            values(draw, (batch, hidden), salt=1), values(draw, (batch, hidden), salt=2),
            values(draw, (4 * hidden, inputs), -1.0, 1.0, salt=3),
            values(draw, (4 * hidden, hidden), -1.0, 1.0, salt=4),
            values(draw, (4 * hidden,), -1.0, 1.0, salt=5) if bias else None,
            values(draw, (4 * hidden,), -1.0, 1.0, salt=6) if bias else None)
    return Sample(args, {"reverse": draw(st.booleans())})


def _lstm_layer(m, input, hx, cx, w_ih, w_hh, b_ih, b_hh, reverse):
    return m.ops.rnn.lstm_layer(input, hx, cx, w_ih, w_hh, b_ih, b_hh, reverse)


def _torch_lstm_layer(m, input, hx, cx, w_ih, w_hh, b_ih, b_hh, reverse):
    """One layer of ``torch.lstm`` (the reverse direction runs over the flipped sequence)."""
    params = [w_ih, w_hh] + ([b_ih, b_hh] if b_ih is not None else [])
    if reverse:
        input = input.flip(0)
    output, h, c = m.lstm(input, (hx[None], cx[None]), params, b_ih is not None, 1, 0.0, False,
                          False, False)
    return (output.flip(0) if reverse else output), h[0], c[0]


RECORDS = [
    OpInfo("lstm_gates", op=_lstm_gates, ref=_torch_lstm_gates, samples=_lstm_gates_samples(),
           notes="(hidden, cell)"),
    OpInfo("lstm_layer", op=_lstm_layer, ref=_torch_lstm_layer, samples=_lstm_layer_samples(),
           notes="(output, h_n, c_n); double backward differentiates the layer decomposed "
                 "into lstm_gates steps"),
]
