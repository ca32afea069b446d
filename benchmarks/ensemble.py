"""Averages of sklfi models against libFM's MCMC solver on MovieLens-100K u1.

Each of the seven models with its defaults; the regressors averaged by
sklearn's ``VotingRegressor`` (RMSE), the classifiers of rating >= 4 by a
soft ``VotingClassifier`` (ROC AUC), once per seed, then the mean over the
seeds. ``--features reference`` uses the reference fields of ``peers.py``;
``all`` every group ``MovieLensFeatures`` builds by default. libFM's MCMC
solver scores RMSE 0.898 and AUC 0.801 on u1. Usage::

    python benchmarks/ensemble.py [--task rating|ctr] [--features reference|all]
        [--seeds 0,1,2] [--models fm,ffm,afm,widedeep,deepfm,nfm,dlrm]
"""

import argparse
import time
import warnings
from functools import partial

import numpy as np
import torch
from _common import load_features, scores
from sklearn.ensemble import VotingClassifier, VotingRegressor
from sklearn.metrics import roc_auc_score, root_mean_squared_error

from sklfi import MODELS


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=["rating", "ctr"], default="rating")
    parser.add_argument("--features", choices=["reference", "all"], default="all")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--models", default=",".join(MODELS))
    args = parser.parse_args()
    torch.set_num_threads(2)
    warnings.filterwarnings("ignore")
    if args.features == "all":
        X_train, X_test, y_train, y_test = load_features(args.task, groups=None)
    else:
        X_train, X_test, y_train, y_test = load_features(args.task)
    regression = args.task == "rating"
    if regression:
        score, ensemble = root_mean_squared_error, VotingRegressor
    else:
        score, ensemble = roc_auc_score, partial(VotingClassifier, voting="soft")
    preds = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        members = [
            (m, MODELS[m].estimator(regression, random_state=seed))
            for m in args.models.split(",")
        ]
        start = time.perf_counter()
        model = ensemble(members).fit(X_train, y_train)
        preds.append(scores(model, X_test))
        for (name, _), est in zip(members, model.estimators_):
            print(f"  seed {seed} {name}: {score(y_test, scores(est, X_test)):.4f}")
        print(
            f"seed {seed}: average {score(y_test, preds[-1]):.4f}, "
            f"over the seeds so far {score(y_test, np.mean(preds, 0)):.4f} "
            f"({time.perf_counter() - start:.0f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
