"""Training speed against the number of columns, for the same non-zeros per
row: sparse updates keep a step's cost independent of the table's size.

Data: ``make_hashed_ctr`` with 10 categorical fields (one id each, Zipf
distributed, hashed into the field's share of the columns; 10 non-zeros per
row), ``--rows`` rows, 2**16 to 2**24 columns. For each model and column
count a fresh process fits 2 epochs (defaults, batch 1024, 1 torch thread)
and reports the rows/s of the second epoch (skorch's epoch time: the first
epoch allocates the optimizer's state), the update mode ``sparse_updates``
chose (``--updates dense`` or ``sparse`` forces one), and the peak memory.
``--peer`` also trains pytorch-fm's model of the
same name (dense Adam over its tables, one code per field) on the same data
at each column count, 2 epochs, timing the second. Usage::

    python benchmarks/columns.py [--models fm,ffm,afm,widedeep,deepfm,nfm,dlrm]
        [--columns 16,20,22,24] [--rows 200000] [--updates auto] [--peer]
"""

import argparse
import json
import resource
import subprocess
import sys
import time

FIELDS = 10


def data(n_rows, n_features):
    from sklfi.datasets import make_hashed_ctr

    return make_hashed_ctr(
        n_samples=n_rows, n_features=n_features, n_fields=FIELDS, n_multi_valued=0,
        random_state=0,
    )  # fmt: skip


def child_sklfi(model, n_rows, n_features, updates="auto"):
    import torch

    from sklfi import MODELS

    torch.set_num_threads(1)
    X, y = data(n_rows, n_features)
    sparse = {"auto": "auto", "dense": False, "sparse": True}[updates]
    est = MODELS[model].classifier(
        max_epochs=2, batch_size=1024, random_state=0, sparse_updates=sparse
    )
    est.fit(X, y)
    seconds = est.net_.history[-1, "dur"]
    return {
        "rows_per_s": n_rows / seconds,
        "sparse": bool(est.net_.module_.embedding.sparse),
    }


def child_peer(model, n_rows, n_features):
    import numpy as np
    import torch
    from _common import torchfm_epoch, torchfm_net

    torch.set_num_threads(1)
    X, y = data(n_rows, n_features)
    dims = np.bincount(X.fields, minlength=FIELDS)
    codes = X.tocsr().indices.reshape(-1, FIELDS) - np.r_[0, np.cumsum(dims)[:-1]]
    torch.manual_seed(0)
    net = torchfm_net(model, dims)
    dataset = torch.utils.data.TensorDataset(
        torch.from_numpy(codes.astype(np.int64)), torch.tensor(y, dtype=torch.float32)
    )
    loader = torch.utils.data.DataLoader(dataset, batch_size=1024, shuffle=True)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    criterion = torch.nn.BCELoss()
    for _ in range(2):
        start = time.perf_counter()
        torchfm_epoch(net, loader, optimizer, criterion)
        seconds = time.perf_counter() - start
    return {"rows_per_s": n_rows / seconds}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="fm,ffm,afm,widedeep,deepfm,nfm,dlrm")
    parser.add_argument("--columns", default="16,20,22,24")
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--peer", action="store_true")
    parser.add_argument(
        "--updates", choices=["auto", "dense", "sparse"], default="auto"
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        library, model, n_features = args.child
        if library == "sklfi":
            out = child_sklfi(model, args.rows, int(n_features), args.updates)
        else:
            out = child_peer(model, args.rows, int(n_features))
        out["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        print(json.dumps(out))
        return
    libraries = ["sklfi", "pytorch-fm"] if args.peer else ["sklfi"]
    print(f"{'model':9s} {'columns':>8s} {'library':>10s} {'rows/s':>10s} "
          f"{'sparse':>6s} {'peak RSS':>8s}")  # fmt: skip
    for model in args.models.split(","):
        for power in [int(c) for c in args.columns.split(",")]:
            for library in libraries:
                if library != "sklfi" and model == "dlrm":
                    continue
                cmd = [sys.executable, __file__, "--rows", str(args.rows),
                       "--updates", args.updates,
                       "--child", library, model, str(2**power)]  # fmt: skip
                done = subprocess.run(cmd, capture_output=True, text=True)
                if done.returncode:
                    error = done.stderr.strip().splitlines()[-1][:60]
                    print(f"{model:9s} {'2**' + str(power):>8s} {library:>10s} "
                          f"failed: {error}", flush=True)  # fmt: skip
                    continue
                r = json.loads(done.stdout.strip().splitlines()[-1])
                sparse = {True: "yes", False: "no"}.get(r.get("sparse"), "-")
                print(
                    f"{model:9s} {'2**' + str(power):>8s} {library:>10s} "
                    f"{r['rows_per_s']:10,.0f} {sparse:>6s} "
                    f"{r['peak_rss_gb']:6.2f} GB",
                    flush=True,
                )


if __name__ == "__main__":
    main()
