"""Accuracy against batch size and learning rate: how large a batch keeps
the accuracy of the default (``batch_size="auto"``: rows / 64, 32 to 1,024,
and ``lr=0.01``), for choosing ``"auto"`` on a GPU, where large batches are
cheap.

Two data sets, every model with its defaults but the batch and the rate:

* ``movielens``: the rating protocol on u1 (80,000 training rows), RMSE;
* ``ctr``: ``--rows`` training rows (and 100,000 test rows) of 26 one-hot
  fields of 100,000 hashed Zipf ids (``make_hashed_ctr``, the data of
  ``gpu.py``), 2 epochs, ROC AUC.

For each batch size ``b`` the rate is the default's, and the default's
times ``sqrt(b / 1024)`` (the square-root scaling of Adam's rate with the
batch). Accuracy does not depend on the device, so this runs on the CPU.
Usage::

    python benchmarks/batch_size.py [--data movielens,ctr] [--rows 1000000]
        [--models fm,deepfm] [--batches 1024,4096,16384]
"""

import argparse
import time

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score, root_mean_squared_error

from sklfi import MODELS
from sklfi.compare import FEATURES
from sklfi.datasets import load_movielens_100k, make_hashed_ctr
from sklfi.preprocessing import MovieLensFeatures

FIELDS, IDS, N_TEST = 26, 100_000, 100_000


def movielens():
    ml = load_movielens_100k()
    train, test = (ml.ratings.iloc[part] for part in ml.folds[0])
    features = MovieLensFeatures(ml.users, ml["items"], groups=FEATURES["rating"])
    X, X_test = features.fit_transform(train), features.transform(test)
    return X, train["rating"].to_numpy(float), X_test, test["rating"].to_numpy(float)


def ctr(rows):
    X, y = make_hashed_ctr(
        n_samples=rows + N_TEST, n_features=FIELDS * IDS, n_fields=FIELDS,
        n_multi_valued=0, random_state=0,
    )  # fmt: skip
    return X[:rows], y[:rows], X[rows:], y[rows:]


def score(name, task, data, batch, lr_factor):
    X, y, X_test, y_test = data
    rating = task == "movielens"
    est = MODELS[name].estimator(rating, random_state=0)
    if not rating:
        est.set_params(max_epochs=2)
    est.set_params(batch_size=batch, lr=est.lr * lr_factor)
    start = time.perf_counter()
    est.fit(X, y)
    seconds = time.perf_counter() - start
    if rating:
        metric = root_mean_squared_error(y_test, est.predict(X_test))
    else:
        metric = roc_auc_score(y_test, est.predict_proba(X_test)[:, 1])
    return {"data": task, "model": MODELS[name].name, "batch": batch,
            "lr": round(est.lr, 5), "metric": metric, "fit s": seconds}  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="movielens,ctr")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--models", default="fm,ffm,afm,widedeep,deepfm,nfm,dlrm")
    parser.add_argument("--ctr-models", default="fm,deepfm")
    parser.add_argument("--batches", default="1024,4096,16384")
    args = parser.parse_args()
    torch.set_num_threads(1)
    batches = [int(b) for b in args.batches.split(",")]
    rows = []
    for task in args.data.split(","):
        data = movielens() if task == "movielens" else ctr(args.rows)
        models = args.models if task == "movielens" else args.ctr_models
        for name in models.split(","):
            for batch in batches:
                for factor in sorted({1.0, float(np.sqrt(batch / 1024))}):
                    rows.append(score(name, task, data, batch, factor))
                    print(rows[-1], flush=True)
    print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".4f"))


if __name__ == "__main__":
    main()
