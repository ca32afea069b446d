"""The SGD models on blocks against the same features expanded, on
MovieLens-100K u1 (the reference fields plus ``user_items`` and
``item_users``): training rows/s of each layout, fits taking turns in one
process; the test AUC of each; how far apart one model's predictions are
on the two layouts, and those of the two fits.

Usage::

    OMP_NUM_THREADS=1 SKLFI_DATA=../shared/data python benchmarks/relational.py
        [--models fm,deepfm] [--rounds 3] [--epochs 1] [--threads 1]
"""

import argparse
import time

import numpy as np
import torch
from _common import FIELDS
from sklearn.metrics import roc_auc_score

import sklfi
from sklfi import FieldMatrix
from sklfi.datasets import load_movielens_100k
from sklfi.preprocessing import MovieLensFeatures


def features():
    ml = load_movielens_100k()
    train, test = ml.folds[0]
    r = ml.ratings
    groups = FIELDS + ["user_items", "item_users"]
    X = MovieLensFeatures(ml.users, ml["items"], groups=groups).fit(r.iloc[train])
    rel = X.transform(r.iloc[train]), X.transform(r.iloc[test])
    flat = [FieldMatrix(m.tocsr(), fields=m.fields, field_names=m.field_names,
                        field_kinds=m.field_kinds) for m in rel]  # fmt: skip
    liked = (r.rating.to_numpy() >= 4).astype(int)
    return rel, flat, liked[train], liked[test]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="fm,deepfm")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rel, flat, y, y_test = features()
    print(f"training values: {rel[0].nnz} expanded, "
          f"{rel[0].row_part.nnz + sum(t.nnz for t, _ in rel[0].blocks)} "
          f"stored as blocks")  # fmt: skip
    for model in args.models.split(","):
        times, fitted = {"blocks": [], "expanded": []}, {}
        for _ in range(args.rounds):
            for name, (X_train, _) in (("blocks", rel), ("expanded", flat)):
                est = sklfi.MODELS[model].estimator(
                    False, max_epochs=args.epochs, random_state=0
                )
                start = time.perf_counter()
                fitted[name] = est.fit(X_train, y)
                times[name].append(time.perf_counter() - start)
        rows = args.epochs * X_train.shape[0]
        speed = {n: rows / np.median(t) for n, t in times.items()}
        p_rel = fitted["blocks"].predict_proba(rel[1])[:, 1]
        p_flat = fitted["expanded"].predict_proba(flat[1])[:, 1]
        # the same model reads either layout alike; two fits drift apart as
        # training amplifies the rounding of sums made in another order
        read = np.abs(fitted["blocks"].predict_proba(flat[1])[:, 1] - p_rel).max()
        print(f"{model:8s} blocks {speed['blocks']:8.0f} rows/s, expanded "
              f"{speed['expanded']:8.0f} rows/s, ratio "
              f"{speed['blocks'] / speed['expanded']:.2f}; AUC "
              f"{roc_auc_score(y_test, p_rel):.4f} and "
              f"{roc_auc_score(y_test, p_flat):.4f}; one model on both layouts: "
              f"{read:.1e} apart at most, the two fits: "
              f"{np.abs(p_rel - p_flat).max():.1e}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
