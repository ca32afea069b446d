"""Averages of sklfi models against libFM's MCMC solver on MovieLens-100K u1.

Each of the seven models with its defaults; the regressors averaged by
sklearn's ``VotingRegressor`` (RMSE), the classifiers of rating >= 4 by a
soft ``VotingClassifier`` (ROC AUC), once per seed, then the mean over the
seeds. ``--features reference`` uses the reference fields of ``peers.py``;
``all`` every group ``MovieLensFeatures`` builds by default. libFM's MCMC
solver scores RMSE 0.898 and AUC 0.801 on u1. Usage::

    python benchmarks/ensemble.py [--task rating|ctr] [--features reference|all]
        [--seeds 0,1,2] [--models FM,FFM,AFM,WideDeep,DeepFM,NFM,DLRM]
"""

import argparse
import time
import warnings

import numpy as np
import torch
from peers import load
from sklearn.ensemble import VotingClassifier, VotingRegressor
from sklearn.metrics import roc_auc_score, root_mean_squared_error

import sklfi
from sklfi.datasets import load_movielens_100k
from sklfi.preprocessing import MovieLensFeatures


def all_groups(task):
    ml = load_movielens_100k()
    train, test = ml.folds[0]
    r = ml.ratings
    features = MovieLensFeatures(ml.users, ml["items"])
    X_train = features.fit_transform(r.iloc[train])
    X_test = features.transform(r.iloc[test])
    y = r.rating.to_numpy(dtype=np.float64)
    if task == "ctr":
        y = (y >= 4).astype(float)
    return X_train, X_test, y[train], y[test]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=["rating", "ctr"], default="rating")
    parser.add_argument("--features", choices=["reference", "all"], default="all")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--models", default="FM,FFM,AFM,WideDeep,DeepFM,NFM,DLRM")
    args = parser.parse_args()
    torch.set_num_threads(2)
    warnings.filterwarnings("ignore")
    if args.features == "all":
        X_train, X_test, y_train, y_test = all_groups(args.task)
    else:
        X_train, X_test, y_train, y_test, _, _ = load(args.task)
    rating = args.task == "rating"
    suffix, vote = ("Regressor", VotingRegressor) if rating else ("Classifier", None)
    preds = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        members = [
            (m, getattr(sklfi, m + suffix)(random_state=seed))
            for m in args.models.split(",")
        ]
        start = time.perf_counter()
        if rating:
            model = vote(members).fit(X_train, y_train)
            preds.append(model.predict(X_test))
            score = root_mean_squared_error
        else:
            model = VotingClassifier(members, voting="soft").fit(X_train, y_train)
            preds.append(model.predict_proba(X_test)[:, 1])
            score = roc_auc_score
        for (name, _), est in zip(members, model.estimators_):
            single = est.predict(X_test) if rating else est.predict_proba(X_test)[:, 1]
            print(f"  seed {seed} {name}: {score(y_test, single):.4f}")
        print(
            f"seed {seed}: average {score(y_test, preds[-1]):.4f}, "
            f"over the seeds so far {score(y_test, np.mean(preds, 0)):.4f} "
            f"({time.perf_counter() - start:.0f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
