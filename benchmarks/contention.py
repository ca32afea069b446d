"""Training and prediction time alone and beside CPU-bound processes, for
each number of torch threads: how sklfi degrades on a busy machine.

For every torch thread count in ``--threads`` and every number of busy
processes in ``--busy`` (each spins one core in pure Python), a fresh
process fits each model of ``--models`` on MovieLens-100K u1 (reference
fields, defaults, ``--epochs`` epochs) and predicts the test rows; the
busy processes start before it and stop after it. Prints the seconds of
each and how many times slower than alone with the same threads. Usage::

    python benchmarks/contention.py [--threads 1,2] [--busy 0,1,2]
        [--models fm,deepfm] [--epochs 3]
"""

import argparse
import json
import multiprocessing
import subprocess
import sys
import time


def spin(stop):
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def child(threads, models, epochs):
    import torch
    from _common import load_features

    from sklfi import MODELS

    torch.set_num_threads(threads)
    X_train, X_test, y_train, _ = load_features("rating")
    out = {}
    for key in models:
        est = MODELS[key].regressor(max_epochs=epochs, random_state=0)
        start = time.perf_counter()
        est.fit(X_train, y_train)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        est.predict(X_test)
        out[key] = (fit_s, time.perf_counter() - start)
    print(json.dumps(out))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--busy", default="0,1,2")
    parser.add_argument("--models", default="fm,deepfm")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    models = args.models.split(",")
    if args.child:
        child(args.child, models, args.epochs)
        return
    alone = {}
    print(f"{'threads':>7s} {'busy':>4s} {'model':>7s} {'fit s':>7s} {'x alone':>7s} "
          f"{'predict s':>9s} {'x alone':>7s}")  # fmt: skip
    for busy in [int(b) for b in args.busy.split(",")]:
        for threads in [int(t) for t in args.threads.split(",")]:
            stop = multiprocessing.Event()
            spinners = [multiprocessing.Process(target=spin, args=(stop,))
                        for _ in range(busy)]  # fmt: skip
            for p in spinners:
                p.start()
            cmd = [sys.executable, __file__, "--child", str(threads),
                   "--models", args.models, "--epochs", str(args.epochs)]  # fmt: skip
            out = subprocess.run(cmd, capture_output=True, text=True, check=True)
            stop.set()
            for p in spinners:
                p.join()
            times = json.loads(out.stdout.strip().splitlines()[-1])
            for model, (fit_s, predict_s) in times.items():
                base = alone.setdefault((threads, model), (fit_s, predict_s))
                print(
                    f"{threads:7d} {busy:4d} {model:>7s} {fit_s:7.1f} "
                    f"{fit_s / base[0]:7.1f} {predict_s:9.3f} "
                    f"{predict_s / base[1]:7.1f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
