"""GPU check: every estimator trains with ``device="cuda"``, and a model gives
the same predictions on CPU and GPU.

For each of the 14 estimators on MovieLens-100K u1 (reference fields):

1. fit on the CPU (``random_state=0``, 2 epochs), predict on the CPU, move the
   trained module to the GPU, predict again: the predictions must agree to
   1e-4 (same weights, two devices);
2. fit with ``device="cuda"`` (2 epochs) and report training rows/s and
   prediction rows/s at batch 4096 and 16384; fit again with the same
   ``random_state``: the two must predict the same (to 1e-5).

3. the distributed path: each model fits with an ``accelerate.Accelerator()``
   on the GPU (one process) and must predict as the same fit with
   ``device="cuda"`` (to 1e-4); with 2 GPUs or more, ``benchmarks/ddp.py
   --gpu`` then trains on 1 process and on 2 (DDP on NCCL, dense updates).

Exits with status 1 if any check fails. Usage::

    SKLFI_DATA=../shared/data python benchmarks/gpu_check.py [--epochs 2]
"""

import argparse
import sys
import time
from functools import partial

import numpy as np
import torch
from _common import at_batch_size, load, predict_rates, scores

from sklfi import MODELS


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device: nothing to check")
        return 2
    print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    X_train, X_test, rating, _, _, _ = load("rating")
    failed = []
    header = f"{'estimator':20s} {'max |cpu - gpu|':>16s} {'same seed':>10s} "
    print(header + f"{'fit rows/s':>11s} {'pred@4096':>11s} {'pred@16384':>11s}")
    for model in MODELS.values():
        for cls in (model.regressor, model.classifier):
            y = rating if cls is model.regressor else rating >= 4
            cpu = cls(max_epochs=args.epochs, random_state=0).fit(X_train, y)
            on_cpu = scores(cpu, X_test)
            cpu.net_.module_.to("cuda")
            cpu.net_.device = "cuda"
            gap = float(np.max(np.abs(scores(cpu, X_test) - on_cpu)))
            gpu = cls(max_epochs=args.epochs, random_state=0, device="cuda")
            torch.cuda.synchronize()
            start = time.perf_counter()
            gpu.fit(X_train, y)
            torch.cuda.synchronize()
            fit_rate = X_train.shape[0] * args.epochs / (time.perf_counter() - start)
            # (predictions come back as numpy arrays: the GPU has finished)
            predict = at_batch_size(gpu, partial(scores, gpu), X_test)
            rates = predict_rates({0: predict}, X_test.shape[0], (4096, 16384))[0]
            rates = [f"{rates[b]:11,.0f}" for b in (4096, 16384)]
            again = cls(max_epochs=args.epochs, random_state=0, device="cuda")
            twice = np.max(np.abs(scores(again.fit(X_train, y), X_test)
                                  - scores(gpu, X_test)))  # fmt: skip
            print(f"{cls.__name__:20s} {gap:16.2e} {twice:10.2e} {fit_rate:11,.0f} "
                  f"{' '.join(rates)}")  # fmt: skip
            if not (gap <= 1e-4 and twice <= 1e-5):
                failed.append(cls.__name__)
    if failed:
        print(f"CPU and GPU predictions differ by more than 1e-4, or two "
              f"same-seed GPU fits by more than 1e-5: {failed}")  # fmt: skip
        return 1
    print("all estimators: CPU and GPU predictions agree to 1e-4, and same-seed "
          "GPU fits to 1e-5")  # fmt: skip
    return check_accelerator(X_train, X_test, rating >= 4, args.epochs)


def check_accelerator(X_train, X_test, y, epochs):
    """Fits through Accelerate on the GPU predict as plain CUDA fits; with 2
    GPUs, DDP on NCCL (benchmarks/ddp.py)."""
    import subprocess
    from pathlib import Path

    from accelerate import Accelerator

    accelerator, failed = Accelerator(), []
    print(f"\naccelerator on {accelerator.device}, {accelerator.num_processes} process")
    for name, model in MODELS.items():
        plain = model.classifier(max_epochs=epochs, random_state=0, device="cuda")
        through = model.classifier(max_epochs=epochs, random_state=0,
                                   accelerator=accelerator)  # fmt: skip
        gap = np.max(np.abs(scores(plain.fit(X_train, y), X_test)
                            - scores(through.fit(X_train, y), X_test)))  # fmt: skip
        print(f"{name:10s} max |plain - accelerated| {gap:.2e}")
        if not gap <= 1e-4:
            failed.append(name)
    if torch.cuda.device_count() >= 2:
        script = Path(__file__).with_name("ddp.py")
        subprocess.run([sys.executable, str(script), "--gpu"], check=False)
    else:
        print("one GPU: DDP across GPUs not checked (benchmarks/ddp.py --gpu)")
    if failed:
        print(f"accelerated fits differ from plain ones by more than 1e-4: {failed}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
