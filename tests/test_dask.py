"""Hyperparameter search over a Dask cluster of two worker processes, through
joblib's dask backend."""

import numpy as np
import pytest

pytest.importorskip("distributed")

import joblib  # noqa: E402
from distributed import Client, LocalCluster, get_task_stream  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

from sklfi import DeepFMClassifier  # noqa: E402
from sklfi.datasets import make_hashed_ctr  # noqa: E402


@pytest.fixture(scope="module")
def client():
    # ports chosen by the OS (0): nothing to collide with
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      scheduler_port=0, dashboard_address=None) as cluster:  # fmt: skip
        with Client(cluster) as client:
            yield client


def torch_threads():
    import torch

    return torch.get_num_threads()


def test_workers_run_one_torch_thread(client):
    # (Dask starts worker processes with OMP_NUM_THREADS=1, read by torch)
    assert list(client.run(torch_threads).values()) == [1, 1]


def test_grid_search_on_dask_workers(client):
    X, y = make_hashed_ctr(n_samples=600, n_features=2**8, n_fields=3,
                           n_multi_valued=0, random_state=0)  # fmt: skip
    grid = {"embedding_dim": [2, 8], "lr": [0.003, 0.03]}
    estimator = DeepFMClassifier(max_epochs=3, random_state=0)
    with get_task_stream(client) as tasks, joblib.parallel_backend("dask"):
        on_dask = GridSearchCV(estimator, grid, cv=3, scoring="roc_auc").fit(X, y)
    workers = {task["worker"] for task in tasks.data}
    assert len(workers) == 2  # the fits ran in both worker processes
    here = GridSearchCV(estimator, grid, cv=3, scoring="roc_auc").fit(X, y)
    # the same seeded fits, pickled to the workers and back: the same scores
    np.testing.assert_allclose(
        on_dask.cv_results_["mean_test_score"],
        here.cv_results_["mean_test_score"],
        atol=1e-6,
    )
    assert on_dask.best_params_ == here.best_params_
    np.testing.assert_allclose(
        on_dask.predict_proba(X), here.predict_proba(X), atol=1e-6
    )
