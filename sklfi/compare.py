"""The seven-model comparison on MovieLens-100K (the ``sklfi compare`` job).

Three tasks, each with the features of :class:`~sklfi.preprocessing.MovieLensFeatures`:

* ``rating``: predict the rating (RMSE) on the official splits u1..u5;
* ``ctr``: predict "rating >= 4" (ROC AUC, log loss) on the same splits;
* ``next-item``: predict each user's last movie from the history before it,
  ranking it among all movies (mean rank, HR@10, NDCG@10).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sklearn.metrics import log_loss, roc_auc_score, root_mean_squared_error

from .datasets import load_movielens_100k
from .estimators import MODELS
from .metrics import hit_rate_at_k, mean_rank, ndcg_at_k
from .preprocessing import MovieLensFeatures
from .ranking import leave_last_out, sample_negatives, score_candidates

__all__ = ["TASKS", "compare_models", "plot_results"]

#: Feature groups per task: the reference protocol for ratings (user, item,
#: demographics, zip prefix, release decade, genres); the watch history and
#: the user's genre profile for next-item prediction.
FEATURES = {
    "rating": ["user_id", "gender", "age_bucket", "occupation", "zip3", "item_id",
               "genres", "decade"],
    "next-item": ["user_id", "gender", "age_bucket", "occupation", "item_id",
                  "genres", "decade", "history", "user_genre_share"],
}  # fmt: skip
FEATURES["ctr"] = FEATURES["rating"]

#: Metric of each task shown in the chart, and whether lower is better.
TASKS = {
    "rating": ("rmse", True),
    "ctr": ("roc_auc", False),
    "next-item": ("mean_rank", True),
}


def _estimator(model: str, task: str, epochs, random_state):
    params = {"random_state": random_state}
    if epochs is not None:
        params["max_epochs"] = epochs
    return MODELS[model].estimator(task == "rating", **params)


def _finish(row, fit_seconds, n_predicted, seconds, verbose):
    """Complete a result row with timings and report it."""
    scores = ", ".join(
        f"{k} {v:.4f}" for k, v in row.items() if k not in ("model", "fold")
    )
    _log(verbose, f"      {row['model']}: {scores}; fit {fit_seconds:.1f} s")
    row.update(fit_seconds=fit_seconds, predict_rows_per_s=n_predicted / seconds)
    return row


def _log(verbose, message):
    if verbose:
        print(message, flush=True)


def compare_models(
    task="rating",
    models=None,
    *,
    epochs=None,
    folds=(1,),
    max_users=None,
    data_home=None,
    random_state=0,
    verbose=True,
):
    """Train and evaluate models on MovieLens-100K; one row per model and fold.

    Parameters
    ----------
    task : {"rating", "ctr", "next-item"}, default="rating"
    models : list of str, default=None
        Names among ``fm, ffm, afm, widedeep, deepfm, nfm, dlrm``
        (case-insensitive); ``None`` for all seven.
    epochs : int, default=None
        Epochs of every model; ``None`` keeps each estimator's default.
    folds : sequence of int, default=(1,)
        Official splits to use for ``rating`` and ``ctr`` (1..5).
    max_users : int, default=None
        Keep only the users with the smallest ids, for a quick run.
    data_home : str, default=None
        Passed to :func:`~sklfi.datasets.load_movielens_100k`.
    random_state : int, default=0
        Seed of every model (and of the negative sampling).
    verbose : bool, default=True
        Print progress.

    Returns
    -------
    results : DataFrame
        Columns ``model, fold``, the task's metrics, ``fit_seconds`` and
        ``predict_rows_per_s``.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {list(TASKS)}, got {task!r}.")
    models = list(MODELS) if models is None else [m.lower() for m in models]
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ValueError(f"unknown models {unknown}; choose from {list(MODELS)}.")
    ml = load_movielens_100k(data_home)
    ratings, users, items = ml.ratings, ml.users, ml["items"]
    keep = np.ones(len(ratings), dtype=bool)
    if max_users is not None:
        keep = ratings["user_id"].isin(np.sort(ratings["user_id"].unique())[:max_users])
        keep = keep.to_numpy()

    rows = []
    splits = ml.folds if task != "next-item" else [None]
    chosen = [1] if task == "next-item" else list(folds)
    for fold in chosen:
        if task == "next-item":
            train, test = leave_last_out(ratings[keep])
        else:
            if not 1 <= fold <= len(splits):
                raise ValueError(
                    f"fold must be between 1 and {len(splits)}, got {fold}."
                )
            tr, te = splits[fold - 1]
            train, test = ratings.iloc[tr[keep[tr]]], ratings.iloc[te[keep[te]]]
        features = MovieLensFeatures(users, items, groups=FEATURES[task])
        _log(verbose, f"fold {fold}: {len(train)} training and {len(test)} test rows")
        if task == "next-item":
            features.fit(train)
            X_train, y_train = sample_negatives(
                train, items=items["item_id"], random_state=random_state
            )
            X_train = features.transform(X_train)
        else:
            X_train = features.fit_transform(train)
            X_test = features.transform(test)
            y_train = train["rating"].to_numpy(dtype=np.float64)
            y_test = test["rating"].to_numpy(dtype=np.float64)
            if task == "ctr":
                y_train, y_test = y_train >= 4, y_test >= 4
        fitted = []
        for n, model in enumerate(models, 1):
            est = _estimator(model, task, epochs, random_state)
            _log(verbose, f"[{n}/{len(models)}] {type(est).__name__}: training...")
            start = time.perf_counter()
            est.fit(X_train, y_train)
            fit_seconds = time.perf_counter() - start
            row = {"model": MODELS[model].name, "fold": fold}
            if task == "next-item":  # scored below, all models on shared rows
                fitted.append((est, row, fit_seconds))
                _log(verbose, f"      fit {fit_seconds:.1f} s")
                continue
            start = time.perf_counter()
            if task == "rating":
                row["rmse"] = root_mean_squared_error(y_test, est.predict(X_test))
            else:
                proba = est.predict_proba(X_test)[:, 1]
                row["roc_auc"] = roc_auc_score(y_test, proba)
                row["log_loss"] = log_loss(y_test, proba)
            seconds = time.perf_counter() - start
            rows.append(_finish(row, fit_seconds, len(test), seconds, verbose))
        if fitted:
            _log(verbose, f"ranking the {len(test)} test events among every movie...")
            start = time.perf_counter()
            y_true, scores, groups = score_candidates(
                [est for est, _, _ in fitted], test, items["item_id"], features=features
            )
            per_model = (time.perf_counter() - start) / len(fitted)
            for k, (_, row, fit_seconds) in enumerate(fitted):
                ranked = (y_true, scores[:, k], groups)
                row["mean_rank"] = mean_rank(*ranked)
                row["hit_rate@10"] = hit_rate_at_k(*ranked, k=10)
                row["ndcg@10"] = ndcg_at_k(*ranked, k=10)
                # the candidate features are built once: each model is charged
                # an equal share of the scoring time
                rows.append(_finish(row, fit_seconds, len(y_true), per_model, verbose))
    return pd.DataFrame(rows)


def plot_results(results: pd.DataFrame, task: str, path=None):
    """Bar chart of the task's metric per model (mean over folds).

    Parameters
    ----------
    results : DataFrame
        Output of :func:`compare_models`.
    task : {"rating", "ctr", "next-item"}
    path : str or path-like, default=None
        Where to save the chart (PNG); ``None`` only draws it.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    metric, lower_is_better = TASKS[task]
    means = results.groupby("model", sort=False)[metric].mean()
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.bar(means.index, means.to_numpy(), color="#4c72b0")
    for x, value in enumerate(means.to_numpy()):
        ax.annotate(f"{value:.3f}", (x, value), ha="center", va="bottom", fontsize=8)
    low, high = means.min(), means.max()
    pad = (high - low) * 0.5 or abs(high) * 0.05 or 1.0
    ax.set_ylim(max(0.0, low - pad) if low >= 0 else low - pad, high + pad)
    better = "lower" if lower_is_better else "higher"
    ax.set_ylabel(f"{metric} ({better} is better)")
    ax.set_title(f"MovieLens-100K, task {task}")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
