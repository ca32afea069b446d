"""The Bayesian FM next to myFM on MovieLens-100K, and its cost per sweep.

``compare`` (default): ``BayesianFMRegressor`` (RMSE of the rating) and
``BayesianFMClassifier`` (ROC AUC of rating >= 4) against myFM's
``MyFMRegressor`` / ``MyFMClassifier`` (Gibbs sampling, rank 8, 200
iterations, one hyperprior group per field), on the reference fields of the
splits ``--folds``, fits taking turns in one process (one thread each:
``OMP_NUM_THREADS=1``), wall time of the whole fit. ``sweeps``: the seconds
of one sweep against the number of training rows (a sweep is O(nnz k)).
``--groups`` adds ``MovieLensFeatures`` groups to the reference fields, e.g.
``history`` or the implicit feedback ``user_items,item_users``: those two
are blocks (a ``RelationalMatrix``; myFM gets them as ``RelationBlock`` objects),
or, with ``--expanded``, columns repeated on every row for both libraries.
The features' seconds and memory are printed with each fold.

Usage::

    pip install myfm "setuptools<81"   # (myFM imports pkg_resources)
    OMP_NUM_THREADS=1 SKLFI_DATA=../shared/data python benchmarks/bayesian.py
        [compare|sweeps] [--folds 1 | --folds 1,2,3,4,5] [--n-iter 200]
        [--tasks rating,ctr] [--groups user_items,item_users] [--expanded]
        [--seed 0]
"""

import argparse
import time

import numpy as np
import scipy.sparse as sp
from _common import FIELDS
from sklearn.metrics import roc_auc_score, root_mean_squared_error

from sklfi import BayesianFMClassifier, BayesianFMRegressor, RelationalMatrix
from sklfi._gibbs import Sampler
from sklfi.datasets import load_movielens_100k
from sklfi.preprocessing import MovieLensFeatures


def split(fold, groups=(), relational=True):
    """Fold ``fold``'s training and test features and ratings, and the
    seconds taken to make the features."""
    ml = load_movielens_100k()
    train, test = ml.folds[fold - 1]
    r = ml.ratings
    start = time.perf_counter()
    features = MovieLensFeatures(ml.users, ml["items"], groups=FIELDS + list(groups),
                                 relational=relational)  # fmt: skip
    X_train = features.fit_transform(r.iloc[train])
    X_test = features.transform(r.iloc[test])
    seconds = time.perf_counter() - start
    y = r.rating.to_numpy(dtype=np.float64)
    return X_train, X_test, y[train], y[test], seconds


def myfm_fit(X_train, y_train, classify, n_iter, seed):
    """myFM on the same features: a RelationalMatrix's blocks as myFM's
    RelationBlocks (each table once), its row part as the matrix."""
    import myfm

    cls = myfm.MyFMClassifier if classify else myfm.MyFMRegressor
    model = cls(rank=8, random_seed=seed)
    X, X_rel, shapes = myfm_input(X_train)
    model.fit(X, y_train, X_rel=X_rel, n_iter=n_iter, n_kept_samples=n_iter - 20,
              group_shapes=shapes, callback=None)  # fmt: skip
    predict = model.predict_proba if classify else model.predict
    return lambda X: predict(*myfm_input(X)[:2])


def myfm_input(X):
    """The row-level matrix, the RelationBlocks and the group shapes: myFM's
    groups are runs of consecutive columns, so each part's columns are
    sorted by field (a missing entity points to an empty row)."""
    import myfm

    relational = isinstance(X, RelationalMatrix)
    parts = [X.row_part] if relational else [X]
    parts += [t for t, _ in X.blocks] if relational else []
    sorted_parts, shapes = [], []
    for part in parts:
        order = np.argsort(part.fields, kind="stable")
        sorted_parts.append(part.tocsr()[:, order].astype(np.float64))
        shapes += np.bincount(part.fields).tolist()
    blocks = []
    for table, (_, index) in zip(sorted_parts[1:], X.blocks if relational else []):
        table = sp.vstack([table, sp.csr_matrix((1, table.shape[1]))], format="csr")
        blocks.append(myfm.RelationBlock(np.where(index < 0, table.shape[0] - 1, index),
                                         table))  # fmt: skip
    return sorted_parts[0], blocks, shapes


def megabytes(X):
    """Memory of a matrix's stored arrays (every part of a RelationalMatrix,
    the rows' entity indices included)."""
    if isinstance(X, RelationalMatrix):
        parts = [X.row_part.tocsr()] + [t.tocsr() for t, _ in X.blocks]
        extra = sum(index.nbytes for _, index in X.blocks)
    else:
        parts, extra = [X.tocsr()], 0
    stored = sum(m.data.nbytes + m.indices.nbytes + m.indptr.nbytes for m in parts)
    return (stored + extra) / 2**20


def compare(folds, n_iter, seed, tasks=("rating", "ctr"), groups=(), relational=True):
    rows = []
    for fold in folds:
        X_train, X_test, y_train, y_test, features = split(fold, groups, relational)
        size = megabytes(X_train)
        print(f"u{fold} features {features:.1f} s, training features {size:.1f} "
              f"MB ({X_train.nnz} values expanded)")  # fmt: skip
        for task in tasks:
            classify = task == "ctr"
            target = (y_train >= 4).astype(int) if classify else y_train
            truth = (y_test >= 4).astype(int) if classify else y_test
            for name in ("sklfi", "myFM"):
                start = time.perf_counter()
                if name == "sklfi":
                    cls = BayesianFMClassifier if classify else BayesianFMRegressor
                    model = cls(n_iter=n_iter, random_state=seed).fit(X_train, target)
                    fit = time.perf_counter() - start
                    pred = (model.predict_proba(X_test)[:, 1] if classify
                            else model.predict(X_test))  # fmt: skip
                else:
                    predict = myfm_fit(X_train, target, classify, n_iter, seed)
                    fit = time.perf_counter() - start
                    pred = predict(X_test)
                score = (roc_auc_score(truth, pred) if classify
                         else root_mean_squared_error(truth, pred))  # fmt: skip
                metric = "AUC" if classify else "RMSE"
                rows.append((fold, task, name, score, fit))
                print(f"u{fold} {task:6s} {name:5s} {metric} {score:.4f}  "
                      f"fit {fit:.1f} s, with the features {fit + features:.1f} s",
                      flush=True)  # fmt: skip
    if len(folds) > 1:
        for task in tasks:
            for name in ("sklfi", "myFM"):
                got = [(s, t) for f, k, n, s, t in rows if k == task and n == name]
                score, seconds = np.mean(got, axis=0)
                print(f"mean {task:6s} {name:5s} {score:.4f}  fit {seconds:.1f} s")


def sweeps(seed):
    X_train, _, y_train, _, _ = split(1, relational=False)
    X = X_train.tocsr()
    for n in (10_000, 20_000, 40_000, 80_000):
        rows = np.random.default_rng(seed).permutation(X.shape[0])[:n]
        sampler = Sampler(X[rows], y_train[rows], X_train.fields, 8, 0.1,
                          np.random.default_rng(seed))  # fmt: skip
        sampler.sweep()
        start = time.perf_counter()
        for _ in range(10):
            sampler.sweep()
        seconds = (time.perf_counter() - start) / 10
        print(f"{n:6d} rows, {X[rows].nnz:7d} non-zeros: {seconds * 1e3:.1f} ms a "
              f"sweep, {seconds / X[rows].nnz * 1e9:.0f} ns a non-zero")  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", nargs="?", choices=["compare", "sweeps"],
                        default="compare")  # fmt: skip
    parser.add_argument("--folds", default="1")
    parser.add_argument("--n-iter", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tasks", default="rating,ctr")
    parser.add_argument("--groups", default="")
    parser.add_argument("--expanded", action="store_true",
                        help="expanded matrices, not blocks, for both")  # fmt: skip
    args = parser.parse_args()
    if args.report == "compare":
        compare(
            [int(f) for f in args.folds.split(",")],
            args.n_iter,
            args.seed,
            args.tasks.split(","),
            [g for g in args.groups.split(",") if g],
            not args.expanded,
        )
    else:
        sweeps(args.seed)


if __name__ == "__main__":
    main()
