"""sklfi on a GPU against pytorch-fm's training loops, on large click data.

The data of the GPU issue: ``--rows`` training rows (and a tenth more for
testing) of 26 one-hot fields of 100,000 hashed Zipf ids each (2.6 M
columns), labels from a planted logistic model (``make_hashed_ctr``).
Embedding 16, MLP (64, 32), Adam lr 1e-3, no weight decay, no dropout, no
weight averaging, ``--epochs`` epochs. For every batch size and model:

* sklfi with ``device=--device``: the steady epoch (its fastest, from
  ``net_.history``) and the whole ``fit`` in training rows/s, prediction
  rows/s at the batch size, test ROC AUC, peak device memory, and the host's
  share: the milliseconds a batch takes to cut alone (``CSRDataset``);
* pytorch-fm's model of the same name (no DLRM there) with its field codes
  on the device and batches sliced there ("device loop"), and with its
  examples' DataLoader over host tensors ("loader loop"): epoch and whole
  (model build plus loop) rows/s, prediction rows/s, AUC.

Runs on the CPU too (``--device cpu --rows 20000``): a smoke test. Usage::

    pip install torchfm
    python benchmarks/gpu.py [--device cuda] [--rows 2000000] [--epochs 2]
        [--batches 4096,16384,65536] [--models fm,ffm,afm,widedeep,deepfm,nfm,dlrm]
        [--no-loader]
"""

import argparse
import time
import warnings

import numpy as np
import pandas as pd
import torch
from _common import torchfm_net
from sklearn.metrics import roc_auc_score

from sklfi import MODELS
from sklfi.datasets import make_hashed_ctr

FIELDS, IDS = 26, 100_000


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_memory(device, reset=False):
    if device.type != "cuda":
        return float("nan")
    if reset:
        torch.cuda.reset_peak_memory_stats(device)
    return torch.cuda.max_memory_allocated(device) / 2**30


def sklfi_row(name, data, batch_size, epochs, device):
    X, y, X_test, y_test = data
    est = MODELS[name].classifier(
        embedding_dim=16, lr=1e-3, weight_decay=0.0, average=False,
        batch_size=batch_size, max_epochs=epochs, random_state=0, device=str(device),
    )  # fmt: skip
    if "hidden_layer_sizes" in est.get_params():
        est.set_params(hidden_layer_sizes=(64, 32))
    if "dropout" in est.get_params():
        est.set_params(dropout=0.0)
    peak_memory(device, reset=True)
    synchronize(device)
    start = time.perf_counter()
    est.fit(X, y)
    synchronize(device)
    whole = time.perf_counter() - start
    epoch = min(est.net_.history[:, "dur"])
    start = time.perf_counter()
    proba = est.predict_proba(X_test)[:, 1]  # (numpy: the device has finished)
    predict = time.perf_counter() - start
    # the host's share: cutting the batches of one shuffled pass, alone
    dataset = est.net_.get_dataset(X.tocsr(), y)
    rows = np.random.default_rng(0).permutation(X.shape[0])
    start = time.perf_counter()
    n_batches = sum(1 for _ in dataset.batches(rows, batch_size))
    synchronize(device)
    cut_ms = (time.perf_counter() - start) / n_batches * 1e3
    return {
        "library": "sklfi", "model": name, "batch": batch_size,
        "epoch rows/s": X.shape[0] / epoch, "whole rows/s": X.shape[0] * epochs / whole,
        "predict rows/s": X_test.shape[0] / predict,
        "auc": roc_auc_score(y_test, proba), "peak GiB": peak_memory(device),
        "cut ms/batch": cut_ms,
    }  # fmt: skip


def codes(X):
    """The field code of every row's one non-zero per field: ``(n, 26)``."""
    csr = X.tocsr()
    return (csr.indices.reshape(-1, FIELDS) - np.arange(FIELDS) * IDS).astype(np.int64)


def peer_row(name, data, batch_size, epochs, device, loader):
    X, y, X_test, y_test = data
    fields = torch.from_numpy(codes(X))
    target = torch.from_numpy(y.astype(np.float32))
    test = torch.from_numpy(codes(X_test)).to(device)
    peak_memory(device, reset=True)
    synchronize(device)
    start = time.perf_counter()
    torch.manual_seed(0)
    net = torchfm_net(name, [IDS] * FIELDS, dim=16, ffm_dim=16).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    criterion = torch.nn.BCELoss()
    if not loader:  # the whole index tensor on the device, sliced there
        fields, target = fields.to(device), target.to(device)
    durations = []
    for _ in range(epochs):
        began = time.perf_counter()
        net.train()
        if loader:
            batches = torch.utils.data.DataLoader(
                torch.utils.data.TensorDataset(fields, target),
                batch_size=batch_size, shuffle=True,
            )  # fmt: skip
        else:
            order = torch.randperm(len(fields), device=device)
            batches = (
                (fields[part], target[part])
                for part in order.split(batch_size)
            )  # fmt: skip
        for x, t in batches:
            loss = criterion(net(x.to(device)), t.to(device))
            net.zero_grad()
            loss.backward()
            optimizer.step()
        synchronize(device)
        durations.append(time.perf_counter() - began)
    whole = time.perf_counter() - start
    net.eval()
    start = time.perf_counter()
    with torch.no_grad():
        proba = torch.cat([net(part) for part in test.split(batch_size)]).cpu()
    predict = time.perf_counter() - start
    return {
        "library": "pytorch-fm " + ("loader" if loader else "device") + " loop",
        "model": name, "batch": batch_size,
        "epoch rows/s": len(fields) / min(durations),
        "whole rows/s": len(fields) * epochs / whole,
        "predict rows/s": len(test) / predict,
        "auc": roc_auc_score(y_test, proba.numpy()), "peak GiB": peak_memory(device),
        "cut ms/batch": float("nan"),
    }  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batches", default="4096,16384,65536")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--no-loader", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    device = torch.device(args.device)
    n_test = args.rows // 10
    X_all, y_all = make_hashed_ctr(
        n_samples=args.rows + n_test, n_features=FIELDS * IDS, n_fields=FIELDS,
        n_multi_valued=0, random_state=0,
    )  # fmt: skip
    data = (X_all[: args.rows], y_all[: args.rows], X_all[args.rows :],
            y_all[args.rows :])  # fmt: skip
    print(f"{args.rows:,} training rows, {FIELDS * IDS:,} columns, {device}")
    if device.type == "cuda":
        print(torch.cuda.get_device_name(device), "torch", torch.__version__)
    rows = []
    for batch_size in (int(b) for b in args.batches.split(",")):
        for name in args.models.split(","):
            found = [sklfi_row(name, data, batch_size, args.epochs, device)]
            if name != "dlrm":  # (pytorch-fm has no DLRM)
                loops = [False] if args.no_loader else [False, True]
                for loader in loops:
                    found.append(
                        peer_row(name, data, batch_size, args.epochs, device, loader)
                    )
            for row in found:
                print(pd.DataFrame([row]).round(3).to_string(index=False, header=False),
                      flush=True)  # fmt: skip
            rows += found
    table = pd.DataFrame(rows)
    print()
    print(table.round(3).to_string(index=False))
    rates, key = ["epoch rows/s", "whole rows/s", "predict rows/s"], ["model", "batch"]
    peers = table[table.library == "pytorch-fm device loop"].set_index(key)[rates]
    ratio = (table[table.library == "sklfi"].set_index(key)[rates] / peers).dropna()
    print("\nsklfi / pytorch-fm's device loop (above 1: sklfi is faster)")
    print(ratio.round(2).to_string())


if __name__ == "__main__":
    main()
