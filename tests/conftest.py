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
