"""One process of the data-parallel tests, launched by ``torchrun``:
``python -m torch.distributed.run --standalone --nproc_per_node 2
ddp_worker.py OUT``.

Every process fits the same estimators on the same data, with
``Accelerator(cpu=True)`` (gloo), and writes to ``OUT/rank{R}.npz`` the
fitted parameters, the rows each epoch trained on (read back from a field
holding one column per row) and the predictions.
"""

import pickle
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from accelerate import Accelerator
from skorch.callbacks import Callback

from sklfi import MODELS
from sklfi.datasets import make_hashed_ctr

N_ROWS = 1200


def data():
    """Click data plus a first field "row" of one column per row."""
    X, y = make_hashed_ctr(n_samples=N_ROWS, n_features=2**10, n_fields=4,
                           n_multi_valued=0, random_state=0)  # fmt: skip
    rows = sp.identity(N_ROWS, format="csr", dtype=np.float32)
    fields = np.r_[np.zeros(N_ROWS, dtype=int), 1 + X.fields]
    return sp.hstack([rows, X.tocsr()], format="csr"), y, fields


class Rows(Callback):
    """The rows of every training batch, by epoch."""

    def __init__(self):
        self.seen = []

    def on_epoch_begin(self, net, **kwargs):
        self.seen.append([])

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            idx = batch[0].idx.numpy()
            self.seen[-1].extend(idx[(idx >= 0) & (idx < N_ROWS)].tolist())


class NaNLoss(Callback):
    """Record a NaN training loss in one process only."""

    def __init__(self, rank):
        self.rank = rank

    def on_batch_end(self, net, training=False, **kwargs):
        if training and net.accelerator.process_index == self.rank:
            net.history.record_batch("train_loss", float("nan"))


def main(out, names=None):
    torch.set_num_threads(1)
    accelerator = Accelerator(cpu=True)
    X, y, fields = data()
    result = {"world": accelerator.num_processes}
    for name in names or MODELS:
        rows = Rows()
        sparse = name in ("fm", "deepfm")  # gloo all-reduces sparse gradients
        est = MODELS[name].classifier(
            fields=fields, batch_size=64, max_epochs=2, random_state=0,
            accelerator=accelerator, callbacks=[rows], sparse_updates=sparse,
        )  # fmt: skip
        est.fit(X, y)
        est.partial_fit(X, y)  # a further pass, the model wrapped again
        state = est.net_.module_.state_dict()
        for key, value in state.items():
            result[f"{name}/{key}"] = value.numpy()
        result[f"{name}/rows"] = np.array(rows.seen[0])
        result[f"{name}/proba"] = est.predict_proba(X)[:, 1]
        again = pickle.loads(pickle.dumps(est))  # the fitted model pickles
        result[f"{name}/unpickled"] = again.predict_proba(X)[:, 1]
    # early stopping: every process takes the same decision
    est = MODELS["fm"].classifier(fields=fields, batch_size=64, max_epochs=30,
                                  early_stopping=True, n_iter_no_change=2,
                                  random_state=0, accelerator=accelerator)  # fmt: skip
    result["early_stopping/n_iter"] = np.array(est.fit(X, y).n_iter_)
    # batch norm: the running statistics end the same in every process
    est = MODELS["deepfm"].classifier(fields=fields, batch_size=64, max_epochs=1,
                                      batch_norm=True, random_state=0,
                                      accelerator=accelerator)  # fmt: skip
    for key, value in est.fit(X, y).net_.module_.state_dict().items():
        result[f"batch_norm/{key}"] = value.numpy()
    # chunks of different sizes are refused in every process (not a hang)
    rank = accelerator.process_index
    try:
        est.partial_fit(X[: 100 + rank], y[: 100 + rank])
    except ValueError as exc:
        result["uneven"] = np.array(str(exc))
    # a loss that diverges in one process only stops both (no hang)
    est = MODELS["fm"].classifier(fields=fields, batch_size=64, max_epochs=2,
                                  callbacks=[NaNLoss(rank=1)],
                                  accelerator=accelerator)  # fmt: skip
    try:
        est.fit(X, y)
    except ValueError as exc:
        result["diverged"] = np.array(str(exc))
    np.savez(Path(out) / f"rank{rank}.npz", **result)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
