"""Anomaly mode: forward stacks recorded per node, failing or NaN backward formulas named with
the forward line that created them (torch's report: a warning, then the original error)."""
import inspect
import math
import threading
import warnings

import pytest

import leafgrad
from leafgrad import nn
from leafgrad.autograd import detect_anomaly, set_detect_anomaly


def leaf(values):
    return leafgrad.tensor(values, requires_grad=True)


def line_here() -> int:
    return inspect.currentframe().f_back.f_lineno


class Raises(leafgrad.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 1

    @staticmethod
    def backward(ctx, grad):
        raise ValueError("backward formula failed")


class ZeroOverZero(leafgrad.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 1

    @staticmethod
    def backward(ctx, grad):
        return grad * 0 / 0


class RaisingLayer(nn.Module):
    def forward(self, x):
        self.line = line_here() + 1
        return Raises.apply(x)


@pytest.fixture
def anomaly():
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        mode = detect_anomaly()
    with mode:
        yield


def test_custom_function_error_names_the_node_and_the_forward_line(anomaly):
    x = leaf([1.0, 2.0])
    line = line_here() + 1
    y = Raises.apply(x)
    assert f"line {line}" in y.grad_fn._anomaly_trace
    with pytest.warns(UserWarning) as record, \
            pytest.raises(ValueError, match="backward formula failed"):
        y.sum().backward()
    messages = [str(w.message) for w in record if "Error detected" in str(w.message)]
    assert len(messages) == 1
    message = messages[0]
    assert message.startswith("Error detected in RaisesBackward. Traceback of forward call that "
                              "caused the error:")
    assert __file__ in message and f"line {line}" in message


def test_builtin_op_and_module_forward_are_recorded(anomaly):
    x = leaf([1.0, 2.0])
    line = line_here() + 1
    y = x.exp()
    trace = y.grad_fn._anomaly_trace
    assert __file__ in trace and f"line {line}" in trace
    layer = RaisingLayer()
    out = layer(x)
    with pytest.warns(UserWarning, match=f"(?s)Error detected in RaisesBackward.*line "
                                         f"{layer.line}, in forward"), \
            pytest.raises(ValueError):
        out.sum().backward()


def test_nan_from_a_builtin_op_raises_with_the_forward_trace(anomaly):
    x = leaf([-1.0, 4.0])
    line = line_here() + 1
    y = x.sqrt()  # nan in forward: its backward gives nan too
    with pytest.warns(UserWarning, match=f"(?s)Error detected in SqrtBackward0.*line {line}"), \
            pytest.raises(RuntimeError, match=r"Function 'SqrtBackward0' returned nan values in "
                                              r"its 0th output\."):
        y.sum().backward()


def test_nan_from_a_custom_backward_raises(anomaly):
    x = leaf([1.0, 2.0])
    y = ZeroOverZero.apply(x)
    with pytest.warns(UserWarning, match="Error detected in ZeroOverZeroBackward"), \
            pytest.raises(RuntimeError, match="Function 'ZeroOverZeroBackward' returned nan "
                                              "values in its 0th output"):
        y.sum().backward()
    assert x.grad is None


def test_check_nan_false_lets_nan_through_but_still_reports_errors():
    with pytest.warns(UserWarning), detect_anomaly(check_nan=False):
        assert not leafgrad.is_anomaly_check_nan_enabled()
        x = leaf([1.0, 2.0])
        ZeroOverZero.apply(x).sum().backward()
        assert all(math.isnan(v) for v in x.grad.tolist())
        with pytest.warns(UserWarning, match="Error detected in RaisesBackward"), \
                pytest.raises(ValueError):
            Raises.apply(x).sum().backward()
    assert leafgrad.is_anomaly_check_nan_enabled()


def test_node_created_with_the_mode_off_says_no_forward_information():
    x = leaf([1.0])
    y = Raises.apply(x)
    with set_detect_anomaly(True):
        with pytest.warns(UserWarning, match="Error detected in RaisesBackward. No forward pass "
                                             "information available"), \
                pytest.raises(ValueError):
            y.sum().backward()


def test_mode_off_is_unaffected():
    assert not leafgrad.is_anomaly_enabled()
    x = leaf([1.0, 2.0])
    y = Raises.apply(x)
    assert y.grad_fn._anomaly_trace is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "Error detected" warning
        with pytest.raises(ValueError, match="backward formula failed"):
            y.sum().backward()
        ZeroOverZero.apply(x).sum().backward()  # nan passes silently, as torch
    assert all(math.isnan(v) for v in x.grad.tolist())
    z = leaf([1.0, 2.0])
    (z * z).sum().backward()
    assert z.grad.tolist() == [2.0, 4.0]


def test_nesting_restores_the_previous_mode():
    set_detect_anomaly(True, check_nan=False)
    try:
        assert leafgrad.is_anomaly_enabled() and not leafgrad.is_anomaly_check_nan_enabled()
        with set_detect_anomaly(False):
            assert not leafgrad.is_anomaly_enabled()
            with pytest.warns(UserWarning), detect_anomaly():
                assert leafgrad.is_anomaly_enabled() and leafgrad.is_anomaly_check_nan_enabled()
            assert not leafgrad.is_anomaly_enabled()
        assert leafgrad.is_anomaly_enabled() and not leafgrad.is_anomaly_check_nan_enabled()
    finally:
        set_detect_anomaly(False)
    assert not leafgrad.is_anomaly_enabled() and leafgrad.is_anomaly_check_nan_enabled()


def test_mode_is_per_thread():
    seen = {}

    def worker():
        x = leaf([1.0])
        seen["enabled"] = leafgrad.is_anomaly_enabled()
        seen["trace"] = (x * 2).grad_fn._anomaly_trace

    with set_detect_anomaly(True):
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        assert leafgrad.is_anomaly_enabled()
    assert seen == {"enabled": False, "trace": None}
