import os

import numpy as np
import pytest
import torch

# Tests use 2 threads at most and a private cache, so they never touch the user's.
torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    cache = os.environ.get("RAEKIT_TEST_CACHE") or str(tmp_path_factory.getbasetemp() / "cache")
    monkeypatch.setenv("RAEKIT_CACHE", cache)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def one_thread():
    """Small matrices gain nothing from threads; two threads on two shared cores lose a lot."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
