"""Data-parallel training on this machine: 1 process against 2 (torchrun, DDP
on gloo through Accelerate), the same global batch.

Each run is a fresh ``torchrun`` launch; every process fits the model on the
same ``make_hashed_ctr`` data (``--rows`` rows, 2**20 columns, 26 fields)
and trains on its shard (global batch 2048: 1024 a process with 2). The
fit's wall time is that of rank 0, and the test AUC that of its model. A
plain process with 2 torch threads and no accelerator is the other way to
use 2 cores. Usage::

    python benchmarks/ddp.py [--models fm,deepfm] [--rows 400000] [--epochs 2] [--gpu]

``--gpu``: one GPU a process and NCCL (dense updates), for a machine of 2
GPUs or more.
"""

import argparse
import json
import os
import subprocess
import sys
import time


def child(model, n_rows, epochs, threads, accelerate, gpu=False):
    import torch
    from sklearn.metrics import roc_auc_score

    from sklfi import MODELS
    from sklfi.datasets import make_hashed_ctr

    torch.set_num_threads(threads)
    X, y = make_hashed_ctr(n_samples=n_rows + 100_000, random_state=0)
    train, test = slice(0, n_rows), slice(n_rows, None)
    options = {}
    world = 1
    if accelerate:
        from accelerate import Accelerator

        options["accelerator"] = accelerator = Accelerator(cpu=not gpu)
        world = accelerator.num_processes
    est = MODELS[model].classifier(max_epochs=epochs, batch_size=2048 // world,
                                   random_state=0, **options)  # fmt: skip
    start = time.perf_counter()
    est.fit(X[train], y[train])
    seconds = time.perf_counter() - start
    auc = roc_auc_score(y[test], est.predict_proba(X[test])[:, 1])
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps({"seconds": seconds, "auc": auc}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="fm,deepfm")
    parser.add_argument("--rows", type=int, default=400_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--gpu", action="store_true", help="one GPU a process, NCCL")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        model, threads, accelerate = args.child
        child(model, args.rows, args.epochs, int(threads), accelerate == "ddp",
              args.gpu)  # fmt: skip
        return
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    print(f"{'model':<8}{'run':<26}{'seconds':>9}{'rows/s':>10}{'AUC':>8}")
    for model in args.models.split(","):
        runs = {
            "1 process, 1 thread": (1, 1, "ddp"),
            "2 processes (DDP)": (2, 1, "ddp"),
            "1 process, 2 threads": (1, 2, "plain"),
        }
        for name, (nproc, threads, mode) in runs.items():
            cmd = [sys.executable, "-m", "torch.distributed.run",
                   "--standalone", "--nproc_per_node", str(nproc), __file__,
                   "--rows", str(args.rows), "--epochs", str(args.epochs),
                   *(["--gpu"] if args.gpu else []),
                   "--child", model, str(threads), mode]  # fmt: skip
            done = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if done.returncode:
                print(done.stderr[-2000:])
                continue
            out = json.loads(done.stdout.strip().splitlines()[-1])
            rate = args.rows * args.epochs / out["seconds"]
            print(f"{model:<8}{name:<26}{out['seconds']:>9.1f}{rate:>10,.0f}"
                  f"{out['auc']:>8.4f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
