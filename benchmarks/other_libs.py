"""The workloads in MyGrad and HIPS autograd, timed next to leafgrad and PyTorch by ``run.py``.

Neither library has nn modules or optimizers, so each workload is written out here by hand: on
MyGrad's tensors, and for HIPS autograd as a NumPy function of a list of weight arrays that
``autograd.value_and_grad`` differentiates. Each does the work of the leafgrad/PyTorch version,
from the same NumPy weights (torch's state-dict names and layouts) and data: the same layers,
mean cross-entropy, and ``torch.optim.SGD(lr=0.01, momentum=0.9)``'s update applied in place to
the weight arrays. A setup is ``setup(state, x, y) -> step``; a step returns its loss, which the
runner compares with leafgrad's to check that every library computes the same thing.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import time

import numpy as np

LR, MOMENTUM = 0.01, 0.9
NAMES = {"mygrad": "MyGrad", "autograd": "HIPS autograd"}


def _import(name: str):
    """(module, None), or (None, why it cannot be used) for a missing or broken library."""
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name == name:
            return None, "not installed"
        return None, f"fails to import ({error})"
    except Exception as error:  # e.g. built for another NumPy
        return None, f"fails to import ({type(error).__name__}: {error})"
    return module, None


mg, _mygrad_missing = _import("mygrad")
autograd, _autograd_missing = _import("autograd")
if autograd is not None:
    import autograd.numpy as anp
    from autograd.extend import defvjp, primitive


def _smoke_test(lib: str) -> None:
    """One tiny gradient, so a library that imports but fails on this NumPy is left out early."""
    x = np.ones(3, dtype=np.float32)
    if lib == "mygrad":
        t = mg.tensor(x)
        (t * t).sum().backward()
        grad = t.grad
    else:
        grad = autograd.grad(lambda v: anp.sum(v * v))(x)
    if not np.allclose(grad, 2 * x):
        raise RuntimeError(f"wrong gradient {grad}")


def status() -> dict:
    """{lib: (version, None)} for a usable library, {lib: (None, why not)} otherwise."""
    out = {}
    for lib, missing in (("mygrad", _mygrad_missing), ("autograd", _autograd_missing)):
        if missing is None:
            try:
                _smoke_test(lib)
            except Exception as error:
                missing = f"fails on NumPy {np.__version__} ({type(error).__name__}: {error})"
        out[lib] = (None, missing) if missing else (importlib.metadata.version(lib), None)
    return out


def sgd_momentum(params: list, grads: list, buffers: dict) -> None:
    """torch.optim.SGD's momentum step on arrays, in place: the buffer starts as a copy of the
    gradient, then ``buf = momentum * buf + grad``; ``param -= lr * buf``."""
    for i, (param, grad) in enumerate(zip(params, grads)):
        buf = buffers.get(i)
        if buf is None:
            buf = buffers[i] = np.array(grad, dtype=param.dtype)
        else:
            buf *= MOMENTUM
            buf += grad
        param -= LR * buf


# -- MyGrad ---------------------------------------------------------------------------------
def _mg_linear(h, p, name):
    return mg.matmul(h, p[name + ".weight"].T) + p[name + ".bias"]


def _mg_conv(h, p, name, padding):
    out = mg.nnet.conv_nd(h, p[name + ".weight"], stride=1, padding=padding)
    return out + p[name + ".bias"].reshape(-1, 1, 1)


def _mg_pool(h):
    return mg.nnet.max_pool(h, (2, 2), 2)


def _mg_mlp(p, x):
    relu = mg.nnet.relu
    return _mg_linear(relu(_mg_linear(relu(_mg_linear(x, p, "0")), p, "2")), p, "4")


def _mg_two_net(p, x):
    relu = mg.nnet.relu
    h = _mg_pool(relu(_mg_conv(x, p, "net1.conv1", 0)))
    h = _mg_pool(relu(_mg_conv(h, p, "net1.conv2", 0))).reshape(len(x), -1)
    h = relu(_mg_linear(relu(_mg_linear(h, p, "net2.fc1")), p, "net2.fc2"))
    return _mg_linear(h, p, "net2.fc3")


def _mg_convnet(p, x):
    relu = mg.nnet.relu
    h = _mg_pool(relu(_mg_conv(x, p, "0", 1)))
    h = _mg_pool(relu(_mg_conv(h, p, "3", 1)))
    h = relu(_mg_conv(h, p, "6", 1))
    h = _mg_pool(relu(_mg_conv(h, p, "8", 1))).reshape(len(x), -1)
    return _mg_linear(relu(_mg_linear(h, p, "12")), p, "14")


def _mg_train(forward):
    def setup(state, x, y):
        params = {k: mg.tensor(v) for k, v in state.items()}
        buffers = {}

        def step():
            loss = mg.nnet.softmax_crossentropy(forward(params, x), y)
            loss.backward()
            sgd_momentum([p.data for p in params.values()], [p.grad for p in params.values()],
                         buffers)
            return loss
        return step
    return setup


def _mg_tiny_chain(state, x, y):
    t = mg.tensor(x)

    def step():
        out = t
        for _ in range(500):
            out = out * 1.0001 + 0.0001
        loss = out.sum()
        loss.backward()
        return loss
    return step


def _mg_lstm(state, x, y):
    p = {k: mg.tensor(v) for k, v in state.items()}
    seq, batch, _ = x.shape
    hidden = p["weight_hh_l0"].shape[1]
    flat_x = x.reshape(seq * batch, -1)
    sigmoid = mg.nnet.sigmoid

    def step():
        # as torch's CPU LSTM: the input projection of all steps in one GEMM, then the
        # recurrence (gates in torch's order i, f, g, o)
        gates_x = (mg.matmul(flat_x, p["weight_ih_l0"].T) + p["bias_ih_l0"]
                   + p["bias_hh_l0"]).reshape(seq, batch, 4 * hidden)
        h = c = np.zeros((batch, hidden), dtype=x.dtype)
        outputs = []
        for t in range(seq):
            gates = gates_x[t] + mg.matmul(h, p["weight_hh_l0"].T)
            i, f = sigmoid(gates[:, :hidden]), sigmoid(gates[:, hidden:2 * hidden])
            g, o = mg.tanh(gates[:, 2 * hidden:3 * hidden]), sigmoid(gates[:, 3 * hidden:])
            c = f * c + i * g
            h = o * mg.tanh(c)
            outputs.append(h)
        loss = mg.stack(outputs).sum()
        loss.backward()
        return loss
    return step


def _mg_deep_chain(n: int) -> float:
    x = mg.tensor(np.ones(4, dtype=np.float32))
    y = x
    for _ in range(n):
        y = y * 1.0
    loss = y.sum()
    t0 = time.perf_counter()
    loss.backward()
    return time.perf_counter() - t0


# -- HIPS autograd --------------------------------------------------------------------------
if autograd is not None:
    @primitive
    def _logsumexp(z):
        """Row-wise log-sum-exp, a primitive with its own derivative (as autograd.scipy's
        logsumexp), so cross-entropy is stable without differentiating through a max."""
        top = np.max(z, axis=1, keepdims=True)
        return top + np.log(np.sum(np.exp(z - top), axis=1, keepdims=True))

    defvjp(_logsumexp, lambda ans, z: lambda g: g * np.exp(z - ans))


def _ag_relu(h):
    # h * (h > 0) rather than anp.maximum(h, 0): the latter's derivative (balanced_eq) turns
    # float32 gradients into float64 ones, which would time float64 GEMMs
    return h * (h > 0)


def _ag_linear(h, w, b):
    return anp.dot(h, w.T) + b


def _ag_mlp_loss(params, x, y):
    w0, b0, w1, b1, w2, b2 = params
    h = _ag_relu(_ag_linear(_ag_relu(_ag_linear(x, w0, b0)), w1, b1))
    logits = _ag_linear(h, w2, b2)
    return anp.mean(_logsumexp(logits)[:, 0] - logits[np.arange(len(y)), y])


def _ag_mlp(state, x, y):
    params = [state[k] for k in ("0.weight", "0.bias", "2.weight", "2.bias", "4.weight",
                                 "4.bias")]
    loss_and_grads = autograd.value_and_grad(_ag_mlp_loss)
    buffers = {}

    def step():
        loss, grads = loss_and_grads(params, x, y)
        sgd_momentum(params, grads, buffers)
        return loss
    return step


def _ag_tiny_chain(state, x, y):
    def chain(t):
        for _ in range(500):
            t = t * 1.0001 + 0.0001
        return anp.sum(t)
    loss_and_grad = autograd.value_and_grad(chain)

    def step():
        return loss_and_grad(x)[0]
    return step


def _ag_lstm_loss(params, x):
    w_ih, w_hh, b_ih, b_hh = params
    seq, batch, _ = x.shape
    hidden = w_hh.shape[1]

    def sigmoid(z):
        return 0.5 * (anp.tanh(0.5 * z) + 1.0)

    gates_x = anp.reshape(anp.dot(x.reshape(seq * batch, -1), w_ih.T) + b_ih + b_hh,
                          (seq, batch, 4 * hidden))
    h = c = np.zeros((batch, hidden), dtype=x.dtype)
    outputs = []
    for t in range(seq):
        gates = gates_x[t] + anp.dot(h, w_hh.T)
        i, f = sigmoid(gates[:, :hidden]), sigmoid(gates[:, hidden:2 * hidden])
        g, o = anp.tanh(gates[:, 2 * hidden:3 * hidden]), sigmoid(gates[:, 3 * hidden:])
        c = f * c + i * g
        h = o * anp.tanh(c)
        outputs.append(h)
    return anp.sum(anp.stack(outputs))


def _ag_lstm(state, x, y):
    params = [state[k] for k in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")]
    loss_and_grads = autograd.value_and_grad(_ag_lstm_loss)

    def step():
        return loss_and_grads(params, x)[0]
    return step


def _ag_deep_chain(n: int) -> float:
    def chain(t):
        for _ in range(n):
            t = t * 1.0
        return anp.sum(t)
    vjp, _ = autograd.make_vjp(chain)(np.ones(4, dtype=np.float32))
    t0 = time.perf_counter()
    vjp(np.float32(1.0))
    return time.perf_counter() - t0


# workload -> setup, or the reason the library cannot express the workload faithfully
SETUPS = {
    "mygrad": {"tiny_chain": _mg_tiny_chain, "mlp": _mg_train(_mg_mlp),
               "two_net": _mg_train(_mg_two_net), "convnet": _mg_train(_mg_convnet),
               "lstm": _mg_lstm},
    "autograd": {"tiny_chain": _ag_tiny_chain, "mlp": _ag_mlp, "lstm": _ag_lstm,
                 "two_net": "no convolution or pooling layers",
                 "convnet": "no convolution or pooling layers"},
}
DEEP_CHAIN = {"mygrad": _mg_deep_chain, "autograd": _ag_deep_chain}
