"""Data-parallel training for real: two CPU processes launched by torchrun,
a gloo process group, DistributedDataParallel through Accelerate."""

import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

pytest.importorskip("accelerate")

from sklearn.metrics import roc_auc_score  # noqa: E402

from sklfi import MODELS  # noqa: E402

HERE = Path(__file__).parent


def worker():
    """The module run by every process (its data and constants)."""
    spec = importlib.util.spec_from_file_location("ddp_worker", HERE / "ddp_worker.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # --standalone: the rendezvous takes a free port of its own choosing
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           "--nproc_per_node", "2", str(HERE / "ddp_worker.py"), str(out)]  # fmt: skip
    # a session of its own, so that a timeout ends torchrun and both workers
    launch = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,
                              start_new_session=True)  # fmt: skip
    try:
        _, stderr = launch.communicate(timeout=240)
    finally:
        if launch.poll() is None:
            os.killpg(launch.pid, signal.SIGKILL)
            launch.wait()
    assert launch.returncode == 0, stderr[-3000:]
    return [dict(np.load(out / f"rank{r}.npz")) for r in range(2)]


@pytest.mark.parametrize("name", list(MODELS))
def test_ranks_end_identical(ranks, name):
    first, second = ranks
    assert first["world"] == second["world"] == 2
    keys = [k for k in first if k.startswith(f"{name}/") and k != f"{name}/rows"]
    assert keys
    for key in keys:  # every parameter, bit for bit, and the predictions
        np.testing.assert_array_equal(first[key], second[key], err_msg=key)
    # a model fitted in a process group pickles, and predicts the same
    np.testing.assert_array_equal(first[f"{name}/unpickled"], first[f"{name}/proba"])


@pytest.mark.parametrize("name", list(MODELS))
def test_ranks_train_on_disjoint_shards(ranks, name):
    ddp_worker = worker()
    seen = [r[f"{name}/rows"] for r in ranks]
    # each process: half the rows of the epoch, each row once
    assert [len(s) for s in seen] == [ddp_worker.N_ROWS // 2] * 2
    assert all(len(np.unique(s)) == len(s) for s in seen)
    assert not set(seen[0]) & set(seen[1])


def test_batch_norm_statistics_end_the_same(ranks):
    first, second = ranks
    keys = [k for k in first if k.startswith("batch_norm/")]
    assert any("running_mean" in k for k in keys)
    for key in keys:
        np.testing.assert_array_equal(first[key], second[key], err_msg=key)


def test_chunks_of_different_sizes_are_refused_everywhere(ranks):
    for rank in ranks:
        assert "every process passes the same data" in str(rank["uneven"])


def test_a_loss_diverging_in_one_process_stops_both(ranks):
    for rank in ranks:
        assert "training diverged" in str(rank["diverged"])


def test_same_early_stopping_decision(ranks):
    assert ranks[0]["early_stopping/n_iter"] == ranks[1]["early_stopping/n_iter"]
    assert ranks[0]["early_stopping/n_iter"] < 30


@pytest.mark.parametrize("name", ["fm", "deepfm", "dlrm"])
def test_auc_as_one_process(ranks, name):
    """Two processes of batches of 64 learn what one process learns with
    batches of 128 (the same global batch) for the same epochs."""
    ddp_worker = worker()
    X, y, fields = ddp_worker.data()
    sparse = name in ("fm", "deepfm")  # as in the processes
    one = MODELS[name].classifier(fields=fields, batch_size=128, max_epochs=2,
                                  random_state=0, sparse_updates=sparse)  # fmt: skip
    one.fit(X, y).partial_fit(X, y)
    auc_one = roc_auc_score(y, one.predict_proba(X)[:, 1])
    auc_two = roc_auc_score(y, ranks[0][f"{name}/proba"])
    assert abs(auc_two - auc_one) < 0.01


class FakeAccelerator:
    """What sklfi reads of an accelerator, to test its checks without
    launching processes."""

    def __init__(self, num_processes=1, backend=None, device="cpu"):
        from types import SimpleNamespace

        import torch

        self.num_processes, self.process_index = num_processes, 0
        self.device = torch.device(device)
        self.state = SimpleNamespace(backend=backend)

        self.is_main_process, self.device_placement = True, True

    def prepare(self, obj):
        return obj

    def backward(self, loss):
        loss.backward()

    # (the rest of the API sklfi checks for; these tests fail before using it)
    unwrap_model = gather = reduce = wait_for_everyone = print = prepare
    accumulate = autocast = gather_for_metrics = prepare


def test_an_accelerator_lacking_what_sklfi_uses_is_refused(small):
    class Partial:  # (prepare and backward, not the rest)
        def prepare(self, obj):
            return obj

        def backward(self, loss):
            loss.backward()

    with pytest.raises(ValueError, match="'accelerator' parameter.*unwrap_model"):
        MODELS["fm"].classifier(accelerator=Partial()).fit(*small)
    partial = FakeAccelerator()
    del partial.process_index
    est = MODELS["fm"].classifier(accelerator=partial)
    with pytest.raises(TypeError, match="FakeAccelerator has no process_index"):
        est.fit(*small)
    assert not hasattr(est, "net_")


@pytest.fixture
def small():
    from sklfi.datasets import make_hashed_ctr

    return make_hashed_ctr(n_samples=300, n_features=2**8, n_fields=3,
                           n_multi_valued=0, random_state=0)  # fmt: skip


def test_cpu_launch_without_cpu_accelerator_is_refused(small, monkeypatch):
    # torchrun on a machine without GPU, Accelerator() instead of
    # Accelerator(cpu=True): every process would train alone
    monkeypatch.setenv("WORLD_SIZE", "2")
    est = MODELS["fm"].classifier(accelerator=FakeAccelerator())
    with pytest.raises(ValueError, match=r"Accelerator\(cpu=True\)"):
        est.fit(*small)
    assert not hasattr(est, "net_")


def test_sparse_updates_under_nccl(small):
    nccl = FakeAccelerator(num_processes=2, backend="nccl")
    est = MODELS["fm"].classifier(accelerator=nccl, sparse_updates=True)
    with pytest.raises(ValueError, match="NCCL"):
        est.fit(*small)
    from sklfi._fields import Fields

    big = Fields(np.zeros(2**22, dtype=np.int64), ("ids",), ("categorical",))
    auto = MODELS["fm"].classifier(sparse_updates="auto")
    assert auto._sparse(big)  # a large table: sparse updates...
    gpu = FakeAccelerator(device="cuda")  # ...not on a GPU (dense is faster)...
    assert not clone(auto).set_params(accelerator=gpu)._sparse(big)
    assert not auto.set_params(accelerator=nccl)._sparse(big)  # ...nor on NCCL


def test_device_is_left_to_the_accelerator(small):
    est = MODELS["fm"].classifier(accelerator=FakeAccelerator(), device="cuda:3")
    with pytest.raises(ValueError, match="leave device to the accelerator"):
        est.fit(*small)


def test_one_process_accelerator_fits_as_without(small, capsys):
    import pickle

    from accelerate import Accelerator

    X, y = small
    plain = MODELS["deepfm"].classifier(max_epochs=2, random_state=0).fit(X, y)
    est = MODELS["deepfm"].classifier(max_epochs=2, random_state=0,
                                      accelerator=Accelerator(cpu=True))  # fmt: skip
    est.fit(X, y)
    assert capsys.readouterr().out == ""  # verbose=0 prints nothing
    np.testing.assert_array_equal(est.predict_proba(X), plain.predict_proba(X))
    est.partial_fit(X, y)
    accelerator = est.accelerator
    est.fit(X, y)  # a refit: the accelerator keeps the new model only
    assert len(accelerator._models) == len(accelerator._optimizers) == 1
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict_proba(X), est.predict_proba(X))
