"""Speed, memory and accuracy of the 14 sklfi estimators on MovieLens-100K u1.

The reference fields (user, item, gender, age bucket, occupation, zip
prefix, release decade, genres) from ``MovieLensFeatures``, as in
``peers.py``; the regressors learn the rating, the classifiers "rating >= 4".
Each estimator runs in a fresh process, so that its peak resident memory is
its own. Settings are the protocol's (embedding 16, MLP (64, 32), Adam
lr 1e-3, batch 256, no weight decay, no dropout) or, with ``--defaults``, each
estimator's own defaults. 2 torch threads.

Usage::

    python benchmarks/throughput.py [--epochs 10] [--defaults]
        [--models fm,ffm,afm,widedeep,deepfm,nfm,dlrm]

Prints, per estimator: fit rows/s (rows x epochs / ``fit`` seconds), predict
rows/s at batch 256 and 4096, peak RSS, and the test metric (RMSE, or ROC
AUC and log loss).
"""

import argparse
import json
import resource
import subprocess
import sys
import time

from sklfi import MODELS


def child(key, regressor, epochs, defaults):
    import torch
    from _common import at_batch_size, load, predict_rates, with_protocol
    from sklearn.metrics import log_loss, roc_auc_score, root_mean_squared_error

    torch.set_num_threads(2)
    X_train, X_test, y_train, y_test, _, _ = load("rating" if regressor else "ctr")
    model = MODELS[key].estimator(regressor, random_state=0, max_epochs=epochs)
    if not defaults:
        model = with_protocol(model, epochs)
    start = time.perf_counter()
    model.fit(X_train, y_train)
    fit_s = time.perf_counter() - start
    predict = model.predict if regressor else model.predict_proba
    rates = predict_rates({0: at_batch_size(model, predict, X_test)}, len(y_test))[0]
    pred = predict(X_test)
    if regressor:
        metric = f"RMSE {root_mean_squared_error(y_test, pred):.4f}"
    else:
        metric = (
            f"AUC {roc_auc_score(y_test, pred[:, 1]):.4f} "
            f"logloss {log_loss(y_test, pred):.4f}"
        )
    print(
        json.dumps(
            {
                "estimator": type(model).__name__,
                "fit": X_train.shape[0] * model.n_iter_ / fit_s,
                "p256": rates[256],
                "p4096": rates[4096],
                "rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
                "metric": metric,
            }
        )
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--defaults", action="store_true")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1] == "regressor", args.epochs, args.defaults)
        return
    print(
        f"{'estimator':18s} {'fit rows/s':>10s} {'predict@256':>12s} "
        f"{'predict@4096':>12s} {'peak RSS':>8s}  metric"
    )
    for key in args.models.split(","):
        for kind in ("regressor", "classifier"):
            cmd = [sys.executable, __file__, "--child", key, kind]
            cmd += ["--epochs", str(args.epochs)] + ["--defaults"] * args.defaults
            out = subprocess.run(cmd, capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"{r['estimator']:18s} {r['fit']:10,.0f} {r['p256']:12,.0f} "
                f"{r['p4096']:12,.0f} {r['rss_gb']:6.2f} GB  {r['metric']}",
                flush=True,
            )


if __name__ == "__main__":
    main()
