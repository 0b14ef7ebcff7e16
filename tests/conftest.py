"""Test configuration: a deterministic hypothesis profile and the optional torch reference."""
import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.data_too_large])
settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def torch():
    """The torch module, for the test files that do not define their own fixture (the test is
    skipped when torch is missing)."""
    torch = pytest.importorskip("torch")
    # the reference runs tiny ops: its thread pool would only contend for the cores
    torch.set_num_threads(1)
    return torch


# The op and semantics suites run on both paths of leafgrad/autograd/_fast.py: the fast paths
# and the reference code they must agree with (only the reference path when the environment
# forces it with LEAFGRAD_REFERENCE_PATH=1).
BOTH_PATHS = ("autograd", "ops")


def pytest_generate_tests(metafunc):
    from leafgrad.autograd import _fast
    if "fast_paths" in metafunc.fixturenames and \
            metafunc.definition.path.parent.name in BOTH_PATHS:
        paths = ["fast", "reference"] if _fast.enabled() else ["reference"]
        metafunc.parametrize("fast_paths", paths, indirect=True)


@pytest.fixture(autouse=True)
def fast_paths(request):
    """Runs the test on the fast or the reference path, when it is parametrized so."""
    path = getattr(request, "param", None)
    if path is None:
        yield None
        return
    from leafgrad.autograd import _fast
    was = {trick: getattr(_fast.SWITCH, trick) for trick in _fast.TRICKS}
    _fast.set_enabled(path == "fast")
    try:
        yield path
    finally:
        for trick, value in was.items():
            setattr(_fast.SWITCH, trick, value)
