"""Records of backward passes as functions (see ``op_db``): the vector-Jacobian product of an op
with create_graph, ``grad(op(x), x, v)``, for a cotangent ``v`` that is an input itself.

The other records differentiate their outputs with cotangents that do not require grad (the
registry test's ``o.sum()``), so the backward op of a linear rule (ScatterToWindows after max
pooling, PutAtClass after nll_loss ...) is never recorded, and its own backward (the double
backward of the op: GatherFromWindows, TakeAtClass ...) never runs. Here the backward is the
forward: its values and its derivative with respect to ``v`` are compared with torch's,
gradchecked and gradgradchecked. ``x`` enters as a constant (the gradient is taken at a
detached copy): these backwards depend on it only through argmax positions, classes or shapes,
where torch's formulas give ``zeros_like(self)`` and leafgrad's no gradient (``depends_on``).
"""
from hypothesis import strategies as st

from op_db import OpInfo, Sample, values
from op_records.nn import (
    _avg_pool_samples,
    _class_index_samples,
    _max_pool_samples,
    _tiled_pool_samples,
)
from op_records.reduction import reductions


def vjp(fn):
    """``grad(fn(m, x, *args, **kwargs), x, v, create_graph=True)`` as ``op(m, x, v, *args,
    **kwargs)`` in both libraries, at a copy of ``x`` that requires grad."""
    def call(m, x, v, *args, **kwargs):
        x = x.detach().requires_grad_(True)
        return m.autograd.grad(fn(m, x, *args, **kwargs), x, v, create_graph=True)[0]
    return {"op": call, "ref": call}


def with_cotangent(draw, sample: Sample, shape: tuple) -> Sample:
    """``sample`` with a cotangent of ``shape`` inserted after its first argument, which no
    longer requires grad."""
    args = (sample.args[0], values(draw, shape, salt=7)) + sample.args[1:]
    return Sample(args, dict(sample.kwargs), (0,) + tuple(i + 1 for i in sample.no_grad if i))


def pooled_size(size, kernel, stride, padding, dilation, ceil_mode) -> tuple:
    """The output size of a pooling, as torch's pooling_output_shape."""
    out = []
    for i, k, s, p, d in zip(size, kernel, stride, padding, dilation):
        span = i + 2 * p - d * (k - 1) - 1
        o = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (o - 1) * s >= i + p:  # the last window must start inside the input
            o -= 1
        out.append(o)
    return tuple(out)


def _geometry(sample: Sample) -> tuple:
    """(size, kernel, stride, padding, dilation, output size) of a pooling sample (x, kernel)."""
    x, kernel = sample.args
    kwargs = sample.kwargs
    size = x.shape[-len(kernel):]
    stride = kwargs.get("stride") or kernel
    padding = kwargs.get("padding") or (0,) * len(kernel)
    dilation = kwargs.get("dilation") or (1,) * len(kernel)
    output = pooled_size(size, kernel, stride, padding, dilation, kwargs.get("ceil_mode", False))
    return size, kernel, stride, padding, dilation, output


def _windows_reach_input(sample: Sample) -> bool:
    """Whether every window holds an input element. A dilated window can fall in the padding
    alone; torch then gives -inf with an index outside the input and leafgrad index -1, whose
    gradient wraps to the last element (a known difference, left out here)."""
    size, kernel, stride, padding, dilation, output = _geometry(sample)
    return all(any(0 <= q * s - p + j * d < i for j in range(k))
               for i, k, s, p, d, o in zip(size, kernel, stride, padding, dilation, output)
               for q in range(o))


def _tiles(sample: Sample) -> bool:
    """Whether max pooling takes the tiled path (its backward is then ScatterToWindows)."""
    size, kernel, stride, padding, dilation, output = _geometry(sample)
    return stride == kernel and not any(padding) and all(d == 1 for d in dilation) and all(
        o * k <= i for o, k, i in zip(output, kernel, size))


@st.composite
def _pool_vjp_samples(draw, pooling, tiled=None):
    """A pooling sample (without return_indices) and a cotangent of the pooled shape."""
    sample = draw(pooling.filter(lambda s: _windows_reach_input(s) and (
        tiled is None or _tiles(s) == tiled)))
    x = sample.args[0]
    kwargs = {k: v for k, v in sample.kwargs.items() if k != "return_indices"}
    output = _geometry(sample)[-1]
    return with_cotangent(draw, Sample(sample.args, kwargs), x.shape[:-len(output)] + output)


@st.composite
def _nll_loss_vjp_samples(draw):
    sample = draw(_class_index_samples())
    target = sample.args[1]
    shape = target.shape if sample.kwargs["reduction"] == "none" else ()
    return with_cotangent(draw, sample, shape)


@st.composite
def _max_dim_vjp_samples(draw):
    sample = draw(reductions(dims="int", nonempty=True))
    (x,), dim, keepdim = sample.args, sample.kwargs["dim"], sample.kwargs.get("keepdim", False)
    shape = list(x.shape)
    if shape:
        if keepdim:
            shape[dim] = 1
        else:
            del shape[dim]
    return with_cotangent(draw, sample, tuple(shape))


def _functional(name):
    return lambda m, *args, **kwargs: getattr(m.nn.functional, name)(*args, **kwargs)


RECORDS = [
    OpInfo("max_pool2d_backward", **vjp(_functional("max_pool2d")),
           samples=_pool_vjp_samples(_max_pool_samples(2), tiled=False),
           notes="windows that overlap, pad or dilate: ScatterToIndices, then GatherAtIndices"),
    OpInfo("max_pool2d_tiled_backward", **vjp(_functional("max_pool2d")),
           samples=_pool_vjp_samples(_tiled_pool_samples(), tiled=True),
           notes="windows that tile the input: ScatterToWindows, then GatherFromWindows"),
    OpInfo("avg_pool2d_backward", **vjp(_functional("avg_pool2d")),
           samples=_pool_vjp_samples(_avg_pool_samples()),
           notes="AvgPoolBackward, then AvgPool"),
    OpInfo("nll_loss_backward", **vjp(_functional("nll_loss")),
           samples=_nll_loss_vjp_samples(), notes="PutAtClass, then TakeAtClass"),
    OpInfo("max_dim_backward", **vjp(lambda m, x, **kwargs: m.max(x, **kwargs).values),
           samples=_max_dim_vjp_samples(), notes="PutAlongDim, then TakeAlongDim"),
]
