import os

import numpy as np
import pytest
import torch

MAX_WORKERS = 8  # each worker imports torch and trains small models: ~1 GB of memory apiece


def pytest_xdist_auto_num_workers(config):
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


# The cores are shared among the workers (small models gain nothing from more threads, and two
# threads per worker on shared cores lose a lot); the cache is private, never the user's.
_workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
torch.set_num_threads(max(1, min(2, (os.cpu_count() or 1) // _workers)))


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    # Session scope: module-scoped fixtures (trained models) are set up before any function-scoped
    # one, and must not read the user's cache either (e.g. a fetched expression file).
    cache = os.environ.get("RAEKIT_TEST_CACHE") or str(tmp_path_factory.getbasetemp() / "cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAEKIT_CACHE", cache)
        yield


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


@pytest.fixture(scope="session")
def mlflow_db(tmp_path_factory):
    """A new MLflow store of MLflow's default kind (sqlite), its tables made once per session:
    copies of it start each test's store in a moment."""
    mlflow = pytest.importorskip("mlflow")
    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    mlflow.MlflowClient(f"sqlite:///{path}").search_experiments(max_results=1)
    return path
