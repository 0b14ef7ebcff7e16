"""Records of the layer functions of ``nn.functional`` (see ``op_db``): convolutions, pooling,
resampling, normalisation, losses, embedding and dropout.

Sizes stay tiny so that gradcheck and gradgradcheck are fast. Class-index targets and indices
are int64 arrays (never differentiable); class weights and running statistics are listed in
``no_grad`` where torch defines no gradient for them.
"""
import warnings

import numpy as np
from hypothesis import strategies as st

from op_db import OpInfo, Sample, values


def functional(name, **fixed):
    """Call ``module.nn.functional.<name>(*args, **fixed, **kwargs)`` in both libraries."""
    fn = lambda m, *args, **kwargs: getattr(m.nn.functional, name)(*args, **fixed, **kwargs)  # noqa: E731
    return {"op": fn, "ref": fn}


def rng_of(draw):
    return np.random.default_rng(draw(st.integers(0, 2**32 - 1)))


def sizes(draw, count, low, high):
    return tuple(draw(st.lists(st.integers(low, high), min_size=count, max_size=count)))


# -- convolutions ----------------------------------------------------------------------------
@st.composite
def _conv_samples(draw, spatial, padding_strings=False, unbatched=False):
    groups = draw(st.integers(1, 2))
    in_per_group, out_per_group = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kernel = sizes(draw, spatial, 1, 3)
    dilation = sizes(draw, spatial, 1, 2)
    if padding_strings:
        padding = draw(st.sampled_from(["same", "valid"]))
        stride = (1,) * spatial
        pads = (0,) * spatial
    else:
        stride = sizes(draw, spatial, 1, 2)
        pads = sizes(draw, spatial, 0, 2)
        padding = pads[0] if spatial == 1 or draw(st.booleans()) and len(set(pads)) == 1 \
            else pads
        pads = (padding,) * spatial if isinstance(padding, int) else pads
    reach = [d * (k - 1) + 1 for d, k in zip(dilation, kernel)]
    size = tuple(max(r - 2 * p, 1) + draw(st.integers(0, 2)) for r, p in zip(reach, pads))
    if padding == "valid":
        size = tuple(max(s, r) for s, r in zip(size, reach))
    batch = () if unbatched else (draw(st.integers(1, 2)),)
    x = values(draw, batch + (groups * in_per_group,) + size)
    weight = values(draw, (groups * out_per_group, in_per_group) + kernel, salt=1)
    bias = values(draw, (groups * out_per_group,), salt=2) if draw(st.booleans()) else None
    kwargs = {"stride": stride if spatial > 1 or draw(st.booleans()) else stride[0],
              "padding": padding, "dilation": dilation, "groups": groups}
    return Sample((x, weight, bias), kwargs)


@st.composite
def _conv_transpose_samples(draw):
    groups = draw(st.integers(1, 2))
    in_per_group, out_per_group = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kernel, stride, dilation = sizes(draw, 2, 1, 3), sizes(draw, 2, 1, 2), sizes(draw, 2, 1, 2)
    padding = sizes(draw, 2, 0, 1)
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    size = sizes(draw, 2, 1, 3)
    for i in range(2):  # keep the output non-empty
        while (size[i] - 1) * stride[i] - 2 * padding[i] + dilation[i] * (kernel[i] - 1) \
                + output_padding[i] + 1 <= 0:
            size = size[:i] + (size[i] + 1,) + size[i + 1:]
    x = values(draw, (draw(st.integers(1, 2)), groups * in_per_group) + size)
    weight = values(draw, (groups * in_per_group, out_per_group) + kernel, salt=1)
    bias = values(draw, (groups * out_per_group,), salt=2) if draw(st.booleans()) else None
    return Sample((x, weight, bias), {"stride": stride, "padding": padding,
                                      "output_padding": output_padding, "groups": groups,
                                      "dilation": dilation})


# -- pooling ---------------------------------------------------------------------------------
@st.composite
def _max_pool_samples(draw, spatial):
    kernel = sizes(draw, spatial, 1, 3)
    stride = draw(st.one_of(st.none(), st.just(sizes(draw, spatial, 1, 3))))
    dilation = sizes(draw, spatial, 1, 2)
    # torch bounds the padding by half the kernel size, whatever the dilation
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    size = tuple(max(d * (k - 1) + 1 - 2 * p, 1) + draw(st.integers(0, 3))
                 for k, d, p in zip(kernel, dilation, padding))
    lead = (draw(st.integers(1, 2)),) * draw(st.integers(0, 1)) + (draw(st.integers(1, 2)),)
    kwargs = {"stride": stride, "padding": padding, "dilation": dilation,
              "ceil_mode": draw(st.booleans()), "return_indices": draw(st.booleans())}
    return Sample((values(draw, lead + size), kernel), kwargs)


@st.composite
def _avg_pool_samples(draw):
    kernel = sizes(draw, 2, 1, 3)
    stride = draw(st.one_of(st.none(), st.just(sizes(draw, 2, 1, 3))))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    size = tuple(max(k - 2 * p, 1) + draw(st.integers(0, 3)) for k, p in zip(kernel, padding))
    lead = (draw(st.integers(1, 2)),) * draw(st.integers(0, 1)) + (draw(st.integers(1, 2)),)
    kwargs = {"stride": stride, "padding": padding, "ceil_mode": draw(st.booleans()),
              "count_include_pad": draw(st.booleans()),
              "divisor_override": draw(st.sampled_from([None, None, 1, 3]))}
    return Sample((values(draw, lead + size), kernel), kwargs)


@st.composite
def _tiled_pool_samples(draw):
    """Windows that tile the input exactly (the reshape fast path)."""
    kernel = sizes(draw, 2, 1, 3)
    size = tuple(k * draw(st.integers(1, 2)) for k in kernel)
    return Sample((values(draw, (draw(st.integers(1, 2)), 2) + size), kernel))


@st.composite
def _adaptive_samples(draw, allow_none=True):
    size = sizes(draw, 2, 1, 5)
    output = [draw(st.integers(1, 4)) for _ in range(2)]
    if allow_none and draw(st.booleans()):
        output[draw(st.integers(0, 1))] = None
    lead = (draw(st.integers(1, 2)),) * draw(st.integers(0, 1)) + (draw(st.integers(1, 2)),)
    output_size = output[0] if output[0] == output[1] else tuple(output)
    return Sample((values(draw, lead + size), output_size))


@st.composite
def _adaptive_tiled_samples(draw):
    """Output sizes that divide the input's, not (1, 1): the windows tile the input (leafgrad
    then pools with AdaptiveAvgPool2D)."""
    output = draw(st.sampled_from([(1, 2), (2, 1), (2, 2), (3, 2), (2, 3)]))
    kernel = [draw(st.integers(1, 2)) for _ in range(2)]
    lead = (draw(st.integers(1, 2)),) * draw(st.integers(0, 1)) + (draw(st.integers(1, 2)),)
    size = tuple(o * k for o, k in zip(output, kernel))
    return Sample((values(draw, lead + size), output))


@st.composite
def _interpolate_samples(draw, mode):
    spatial = 1 if mode == "linear" else 2 if mode == "bilinear" else draw(st.integers(1, 2))
    size = sizes(draw, spatial, 1, 4)
    x = values(draw, (draw(st.integers(1, 2)), draw(st.integers(1, 2))) + size)
    kwargs = {"mode": mode}
    if draw(st.booleans()):
        kwargs["size"] = sizes(draw, spatial, 1, 5)
    else:
        factor = draw(st.sampled_from([0.5, 0.75, 1.5, 2.0, 2.5]))
        kwargs["scale_factor"] = 1.5 if any(int(s * factor) == 0 for s in size) else factor
        kwargs["recompute_scale_factor"] = draw(st.sampled_from([None, True]))
    if mode != "nearest":
        kwargs["align_corners"] = draw(st.booleans())
    return Sample((x,), kwargs)


# -- normalisation ---------------------------------------------------------------------------
@st.composite
def _batch_norm_samples(draw, training):
    channels = draw(st.integers(1, 3))
    batch = draw(st.integers(2, 3))
    spatial = sizes(draw, draw(st.integers(0, 2)), 1, 2)
    x = values(draw, (batch, channels) + spatial, low=-3, high=3)
    affine = draw(st.booleans())
    weight = values(draw, (channels,), salt=1) if affine else None
    bias = values(draw, (channels,), salt=2) if affine else None
    running_mean = values(draw, (channels,), salt=3)
    running_var = values(draw, (channels,), low=0.5, high=2.0, salt=4)
    kwargs = {"training": training, "momentum": draw(st.sampled_from([0.1, 0.5])),
              "eps": draw(st.sampled_from([1e-5, 1e-3]))}
    return Sample((x, running_mean, running_var, weight, bias), kwargs, no_grad=(1, 2))


@st.composite
def _layer_norm_samples(draw):
    normalized = sizes(draw, draw(st.integers(1, 2)), 2, 3)
    # at least one leading dim: with none, the bias gradient is a view of grad_output, which
    # gradcheck's finite differences would perturb along with it (test_nn_functional has it)
    lead = sizes(draw, draw(st.integers(1, 2)), 1, 2)
    affine = draw(st.booleans())
    weight = values(draw, normalized, salt=1) if affine else None
    bias = values(draw, normalized, salt=2) if affine and draw(st.booleans()) else None
    return Sample((values(draw, lead + normalized, low=-3, high=3), normalized, weight, bias))


@st.composite
def _group_norm_samples(draw):
    groups = draw(st.integers(1, 2))
    channels = groups * draw(st.integers(1, 2))
    spatial = sizes(draw, draw(st.integers(0, 2)), 1, 2)
    per_group = (channels // groups) * int(np.prod(spatial))
    if per_group < 2:
        spatial = spatial + (2,)
    x = values(draw, (draw(st.integers(1, 2)), channels) + spatial, low=-3, high=3)
    affine = draw(st.booleans())
    weight = values(draw, (channels,), salt=1) if affine else None
    bias = values(draw, (channels,), salt=2) if affine else None
    return Sample((x, groups, weight, bias), {"eps": draw(st.sampled_from([1e-5, 1e-3]))})


# -- losses ----------------------------------------------------------------------------------
REDUCTIONS = st.sampled_from(["mean", "sum", "none"])


def _class_shape(draw, min_classes=1):
    """(input shape, target shape): (C,), (N, C) or (N, C, d1[, d2])."""
    classes = draw(st.integers(min_classes, 4))
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return (classes,), ()
    batch = draw(st.integers(1, 3))
    extra = sizes(draw, draw(st.integers(1, 2)), 1, 2) if kind == 2 else ()
    return (batch, classes) + extra, (batch,) + extra


@st.composite
def _class_index_samples(draw, smoothing=False, ignore=True):
    shape, target_shape = _class_shape(draw)
    classes = shape[0] if len(shape) == 1 else shape[1]
    rng = rng_of(draw)
    target = rng.integers(0, classes, size=target_shape)
    kwargs = {"reduction": draw(REDUCTIONS)}
    if ignore and draw(st.booleans()):
        ignore_index = draw(st.sampled_from([-100, 0, 1]))
        kept_class = next((c for c in range(classes) if c != ignore_index), None)
        if target.size >= 2 and kept_class is not None:  # one target ignored, one kept
            target.flat[0], target.flat[-1] = ignore_index, kept_class
            kwargs["ignore_index"] = ignore_index
        elif not (target == ignore_index).any():  # passed, but nothing to ignore
            kwargs["ignore_index"] = ignore_index
    weight = values(draw, (classes,), low=0.5, high=2.0, salt=1) if draw(st.booleans()) \
        else None
    if smoothing:
        kwargs["label_smoothing"] = draw(st.sampled_from([0.1, 0.25, 1.0]))
    return Sample((values(draw, shape, low=-3, high=3), target, weight), kwargs, no_grad=(2,))


@st.composite
def _probability_target_samples(draw):
    shape, _ = _class_shape(draw)
    classes = shape[0] if len(shape) == 1 else shape[1]
    kwargs = {"reduction": draw(REDUCTIONS),
              "label_smoothing": draw(st.sampled_from([0.0, 0.0, 0.2]))}
    weight = values(draw, (classes,), low=0.5, high=2.0, salt=1) if draw(st.booleans()) \
        else None
    target = values(draw, shape, low=0.0, high=1.0, salt=2)
    return Sample((values(draw, shape, low=-3, high=3), target, weight), kwargs)


@st.composite
def _regression_samples(draw, kinks=(0.0,), **extra):
    """(input, target) of one shape whose difference stays away from the loss's kinks."""
    shape = sizes(draw, draw(st.integers(0, 3)), 1, 3)
    x = values(draw, shape)
    difference = values(draw, shape, low=-2, high=2, away_from=kinks, gap=0.05, salt=1)
    kwargs = {"reduction": draw(REDUCTIONS)}
    kwargs.update({k: draw(v) for k, v in extra.items()})
    return Sample((x, np.asarray(x - difference)), kwargs)


@st.composite
def _integer_target_samples(draw, kinks=(0.0,), **extra):
    """A float input and an int64 target (promoted to the input's dtype, no gradient)."""
    shape = sizes(draw, draw(st.integers(0, 3)), 1, 3)
    target = rng_of(draw).integers(-2, 3, size=shape)
    x = np.asarray(target + values(draw, shape, low=-2, high=2, away_from=kinks, gap=0.05))
    kwargs = {"reduction": draw(REDUCTIONS)}
    kwargs.update({k: draw(v) for k, v in extra.items()})
    return Sample((x, target), kwargs)


@st.composite
def _broadcast_target_samples(draw, kinks=(0.0,), **extra):
    """A target of fewer dims than the input (torch warns, expands it and differentiates the
    expansion)."""
    shape = sizes(draw, draw(st.integers(1, 3)), 1, 3)
    target_shape = shape[draw(st.integers(1, len(shape))):]
    target = values(draw, target_shape, salt=1)
    x = np.asarray(target + values(draw, shape, low=-2, high=2, away_from=kinks, gap=0.05))
    kwargs = {"reduction": draw(REDUCTIONS)}
    kwargs.update({k: draw(v) for k, v in extra.items()})
    return Sample((x, target), kwargs)


def _quiet(name):
    """``nn.functional.<name>`` without the warning of a broadcast target."""
    def call(m, *args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return getattr(m.nn.functional, name)(*args, **kwargs)
    return {"op": call, "ref": call}


@st.composite
def _smooth_l1_samples(draw, parameter):
    value = draw(st.sampled_from([0.5, 1.0, 1.5]))
    sample = draw(_regression_samples(kinks=(0.0, value, -value)))
    sample.kwargs[parameter] = value
    return sample


@st.composite
def _binary_samples(draw, logits, pos_weight=None):
    """pos_weight (with logits): drawn when None, always given when True."""
    shape = sizes(draw, draw(st.integers(0, 3)), 1, 3)
    x = values(draw, shape, low=-3, high=3) if logits else \
        values(draw, shape, low=0.05, high=0.95)
    target = values(draw, shape, low=0.0, high=1.0, salt=1)
    last = shape[-1:] if shape else ()
    weight = values(draw, last, low=0.5, high=2.0, salt=2) if draw(st.booleans()) else None
    args = (x, target, weight)
    if logits:
        given = pos_weight or pos_weight is None and draw(st.booleans())
        args += (values(draw, last, low=0.5, high=3.0, salt=3) if given else None,)
    return Sample(args, {"reduction": draw(REDUCTIONS)}, no_grad=(2, 3))


@st.composite
def _kl_div_samples(draw):
    shape = sizes(draw, draw(st.integers(1, 3)), 1, 3)
    log_target = draw(st.booleans())
    target = values(draw, shape, low=-3, high=0, salt=1) if log_target else \
        values(draw, shape, low=0.05, high=1.0, salt=1)
    kwargs = {"reduction": draw(st.sampled_from(["batchmean", "sum", "none", "mean"])),
              "log_target": log_target}
    return Sample((values(draw, shape, low=-3, high=0), target), kwargs)


# -- embedding, one_hot, dropout -------------------------------------------------------------
@st.composite
def _embedding_samples(draw, padding=False, frequency=False):
    rows, width = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    indices = rng_of(draw).integers(0, rows, size=sizes(draw, draw(st.integers(0, 2)), 0, 3))
    kwargs = {}
    if padding:
        kwargs["padding_idx"] = draw(st.integers(-rows, rows - 1))
    if frequency:
        kwargs["scale_grad_by_freq"] = True
    return Sample((indices, values(draw, (rows, width))), kwargs)


@st.composite
def _one_hot_samples(draw):
    classes = draw(st.integers(1, 4))
    labels = rng_of(draw).integers(0, classes, size=sizes(draw, draw(st.integers(1, 2)), 1, 3))
    return Sample((labels,), {"num_classes": draw(st.sampled_from([-1, classes + 1]))})


@st.composite
def _dropout_samples(draw, channel_wise=False):
    """p = 0 returns the input itself, like evaluation mode (see test_nn_functional)."""
    lead = (draw(st.integers(1, 2)), draw(st.integers(1, 3)))
    shape = lead + sizes(draw, 2, 1, 2) if channel_wise else \
        sizes(draw, draw(st.integers(0, 3)), 0, 3)
    return Sample((values(draw, shape),), {"p": draw(st.sampled_from([0.3, 0.5, 1.0]))})


def _seeded(name):
    """Dropout under a fixed seed (the same mask at every call, as gradcheck needs), leaving
    the global generator as it was."""
    def op(m, x, **kwargs):
        state = m.get_rng_state()
        m.manual_seed(0)
        try:
            return getattr(m.nn.functional, name)(x, **kwargs)
        finally:
            m.set_rng_state(state)
    return op


def _kl_div(m, *args, **kwargs):
    """kl_div without the warning that reduction='mean' gives (test_nn_functional checks it)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "reduction: 'mean' divides", UserWarning)
        return m.nn.functional.kl_div(*args, **kwargs)


def _with_logits(m, x, target, weight, pos_weight, **kwargs):
    return m.nn.functional.binary_cross_entropy_with_logits(x, target, weight=weight,
                                                            pos_weight=pos_weight, **kwargs)


NOT_A_GRADIENT = ("as torch, padding_idx rows and scale_grad_by_freq change the gradient, so it "
                  "is not the derivative that finite differences see; compared with torch only")
RANDOM = "random masks from leafgrad's generator; statistics are checked in test_nn_functional"

RECORDS = [
    OpInfo("conv1d", **functional("conv1d"), samples=_conv_samples(1)),
    OpInfo("conv1d_padding_string", **functional("conv1d"),
           samples=_conv_samples(1, padding_strings=True)),
    OpInfo("conv2d", **functional("conv2d"), samples=_conv_samples(2)),
    OpInfo("conv2d_padding_string", **functional("conv2d"),
           samples=_conv_samples(2, padding_strings=True),
           notes="'same' with an even kernel pads the odd element on the high side"),
    OpInfo("conv2d_unbatched", **functional("conv2d"), samples=_conv_samples(2, unbatched=True)),
    OpInfo("conv_transpose2d", **functional("conv_transpose2d"),
           samples=_conv_transpose_samples()),
    OpInfo("max_pool1d", **functional("max_pool1d"), samples=_max_pool_samples(1)),
    OpInfo("max_pool2d", **functional("max_pool2d"), samples=_max_pool_samples(2),
           notes="indices compared too"),
    OpInfo("max_pool2d_tiled", **functional("max_pool2d"), samples=_tiled_pool_samples()),
    OpInfo("avg_pool2d", **functional("avg_pool2d"), samples=_avg_pool_samples()),
    OpInfo("avg_pool2d_tiled", **functional("avg_pool2d"), samples=_tiled_pool_samples()),
    OpInfo("adaptive_avg_pool2d", **functional("adaptive_avg_pool2d"),
           samples=_adaptive_samples()),
    OpInfo("adaptive_avg_pool2d_tiled", **functional("adaptive_avg_pool2d"),
           samples=_adaptive_tiled_samples()),
    OpInfo("adaptive_max_pool2d", **functional("adaptive_max_pool2d"),
           samples=_adaptive_samples(allow_none=False)),
    OpInfo("adaptive_max_pool2d_indices", **functional("adaptive_max_pool2d",
                                                       return_indices=True),
           samples=_adaptive_samples(allow_none=False)),
    OpInfo("interpolate_nearest", **functional("interpolate"),
           samples=_interpolate_samples("nearest")),
    OpInfo("interpolate_linear", **functional("interpolate"),
           samples=_interpolate_samples("linear")),
    OpInfo("interpolate_bilinear", **functional("interpolate"),
           samples=_interpolate_samples("bilinear")),
    OpInfo("batch_norm_training", **functional("batch_norm"),
           samples=_batch_norm_samples(True), atol=1e-5, rtol=1e-5),
    OpInfo("batch_norm_eval", **functional("batch_norm"), samples=_batch_norm_samples(False)),
    OpInfo("layer_norm", **functional("layer_norm"), samples=_layer_norm_samples(),
           atol=1e-5, rtol=1e-5),
    OpInfo("group_norm", **functional("group_norm"), samples=_group_norm_samples(),
           atol=1e-5, rtol=1e-5),
    OpInfo("cross_entropy", **functional("cross_entropy"), samples=_class_index_samples()),
    OpInfo("cross_entropy_label_smoothing", **functional("cross_entropy"),
           samples=_class_index_samples(smoothing=True)),
    OpInfo("cross_entropy_probabilities", **functional("cross_entropy"),
           samples=_probability_target_samples()),
    OpInfo("nll_loss", **functional("nll_loss"), samples=_class_index_samples()),
    OpInfo("mse_loss", **functional("mse_loss"), samples=_regression_samples(kinks=())),
    OpInfo("l1_loss", **functional("l1_loss"), samples=_regression_samples()),
    OpInfo("smooth_l1_loss", **functional("smooth_l1_loss"),
           samples=_smooth_l1_samples("beta")),
    OpInfo("huber_loss", **functional("huber_loss"), samples=_smooth_l1_samples("delta")),
    OpInfo("mse_loss_integer_target", **functional("mse_loss"),
           samples=_integer_target_samples(kinks=())),
    OpInfo("l1_loss_integer_target", **functional("l1_loss"),
           samples=_integer_target_samples()),
    OpInfo("smooth_l1_loss_integer_target", **functional("smooth_l1_loss", beta=0.5),
           samples=_integer_target_samples(kinks=(0.0, 0.5, -0.5))),
    OpInfo("mse_loss_broadcast_target", **_quiet("mse_loss"),
           samples=_broadcast_target_samples(kinks=())),
    OpInfo("smooth_l1_loss_broadcast_target", **_quiet("smooth_l1_loss"),
           samples=_broadcast_target_samples(kinks=(0.0, 1.0, -1.0))),
    OpInfo("huber_loss_broadcast_target", **_quiet("huber_loss"),
           samples=_broadcast_target_samples(kinks=(0.0, 1.0, -1.0))),
    OpInfo("binary_cross_entropy", **functional("binary_cross_entropy"),
           samples=_binary_samples(logits=False)),
    OpInfo("binary_cross_entropy_with_logits", op=_with_logits, ref=_with_logits,
           samples=_binary_samples(logits=True)),
    OpInfo("binary_cross_entropy_with_logits_pos_weight", op=_with_logits, ref=_with_logits,
           samples=_binary_samples(logits=True, pos_weight=True),
           notes="the target's gradient then takes log_sigmoid(input)"),
    OpInfo("kl_div", op=_kl_div, ref=_kl_div, samples=_kl_div_samples()),
    OpInfo("embedding", **functional("embedding"), samples=_embedding_samples()),
    OpInfo("embedding_padding_idx", **functional("embedding"),
           samples=_embedding_samples(padding=True), gradcheck=False, notes=NOT_A_GRADIENT),
    OpInfo("embedding_scale_grad_by_freq", **functional("embedding"),
           samples=_embedding_samples(padding=True, frequency=True), gradcheck=False,
           notes=NOT_A_GRADIENT),
    OpInfo("one_hot", **functional("one_hot"), samples=_one_hot_samples(), gradcheck=False,
           notes="an int64 result: no gradient"),
    OpInfo("dropout", op=_seeded("dropout"), ref=None, samples=_dropout_samples(),
           notes=RANDOM),
    OpInfo("dropout_eval", **functional("dropout", training=False),
           samples=_dropout_samples(), gradcheck=False,
           notes="returns the input tensor itself, as torch (test_nn_functional checks it); "
                 "gradcheck's finite differences would read the perturbed input as output"),
    OpInfo("dropout2d", op=_seeded("dropout2d"), ref=None,
           samples=_dropout_samples(channel_wise=True), notes=RANDOM),
]
