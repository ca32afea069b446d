"""The seven-model comparison on MovieLens-100K (the ``sklfi compare`` job).

Three tasks, each with the features of :class:`~sklfi.preprocessing.MovieLensFeatures`:

* ``rating``: predict the rating (RMSE) on the official splits u1..u5;
* ``ctr``: predict "rating >= 4" (ROC AUC, log loss) on the same splits;
* ``next-item``: predict each user's last movie from the history before it,
  ranking it among every movie the user has not watched (HR@10, NDCG@10,
  MRR, mean and median rank, with bootstrap intervals), next to the
  baselines most popular, item-kNN and EASE.

``rating`` and ``ctr`` have a baseline too, one value for every row: the mean
training rating, and the training share of ratings >= 4.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sklearn.metrics import log_loss, roc_auc_score, root_mean_squared_error

from ._compare_report import Report, scores_text
from ._fields import check_positive_integer
from .datasets import load_movielens_100k
from .estimators import MODELS
from .preprocessing import MovieLensFeatures
from .ranking import (
    EASE,
    ItemKNN,
    MostPopular,
    full_ranks,
    leave_last_out,
    ranking_metrics,
    sample_negatives,
)
from .ranking._scoring import score_items

__all__ = ["TASKS", "compare_models", "plot_results"]

#: Feature groups per task: the reference protocol for ratings (user, item,
#: demographics, zip prefix, release decade, genres); the watch history and
#: the user's genre profile for next-item prediction.
FEATURES = {
    "rating": ["user_id", "gender", "age_bucket", "occupation", "zip3", "item_id",
               "genres", "decade"],
    "next-item": ["user_id", "gender", "age_bucket", "occupation", "item_id",
                  "genres", "decade", "history", "last_item", "user_genre_share"],
}  # fmt: skip
FEATURES["ctr"] = FEATURES["rating"]

#: Metric of each task shown in the chart, and whether lower is better.
TASKS = {
    "rating": ("rmse", True),
    "ctr": ("roc_auc", False),
    "next-item": ("hr@10", False),
}

#: Next-item settings, measured on the leave-last-out split of MovieLens-100K
#: (docs/results.rst, benchmarks/next_item.py): the 20 most recent movies as
#: history rank better than the whole history and cost a third; a weight
#: decay of 0.03 (against the default 0.3), 3 epochs of 4 negatives per event,
#: and embeddings of 32 (FFM, whose features have one vector per field, keeps
#: its 4: at 32 it is 7 times slower and no better).
NEXT_ITEM = {"max_history": 20, "weight_decay": 0.03, "max_epochs": 3,
             "embedding_dim": 32}  # fmt: skip

#: The next-item baselines: the floor every model must clear.
BASELINES = {"Most popular": MostPopular, "Item-kNN": ItemKNN, "EASE": EASE}

#: The rating and ctr baselines' names (their rows in the results).
CONSTANT_BASELINES = {"rating": "mean rating", "ctr": "base rate"}


def next_item_params(model: str) -> dict:
    """The estimator settings of ``model`` for the next-item task."""
    params = {"weight_decay": NEXT_ITEM["weight_decay"],
              "max_epochs": NEXT_ITEM["max_epochs"]}  # fmt: skip
    if model != "ffm":
        params["embedding_dim"] = NEXT_ITEM["embedding_dim"]
    return params


def _estimator(model: str, task: str, epochs, random_state, **report_params):
    params = {"random_state": random_state, **report_params}
    if task == "next-item":
        params.update(next_item_params(model))
    if epochs is not None:
        params["max_epochs"] = epochs
    return MODELS[model].estimator(task == "rating", **params)


def _constant_baseline(task, fold, y_train, y_test):
    """The row of the baseline that predicts one value for every test row:
    the mean training rating (``rating``) or the training share of
    positives (``ctr``); no timings, there being nothing to time."""
    row = {"model": CONSTANT_BASELINES[task], "kind": "baseline", "fold": fold}
    constant = np.full(len(y_test), y_train.mean())
    if task == "rating":
        row["rmse"] = root_mean_squared_error(y_test, constant)
    else:
        row["roc_auc"] = roc_auc_score(y_test, constant)  # 0.5: all tied
        row["log_loss"] = log_loss(y_test, constant)
    row.update(fit_seconds=np.nan, predict_rows_per_s=np.nan)
    return row


def compare_models(
    task="rating",
    models=None,
    *,
    epochs=None,
    folds=(1,),
    max_users=None,
    exclude_seen=True,
    data_home=None,
    random_state=0,
    verbose=True,
):
    """Train and evaluate models on MovieLens-100K; one row per model (and
    fold, for ``rating`` and ``ctr``).

    Parameters
    ----------
    task : {"rating", "ctr", "next-item"}, default="rating"
    models : list of str, default=None
        Names among ``fm, ffm, afm, widedeep, deepfm, nfm, dlrm``
        (case-insensitive); ``None`` for all seven.
    epochs : int, default=None
        Epochs of every model; ``None`` keeps each estimator's default (3
        for ``next-item``).
    folds : sequence of int, default=(1,)
        Official splits to use for ``rating`` and ``ctr`` (1..5).
    max_users : int, default=None
        Keep only the users with the smallest ids, for a quick run.
    exclude_seen : bool, default=True
        ``next-item``: rank the held-out movie among the movies the user has
        not watched (the standard protocol; a MovieLens user rates a movie
        once); ``False`` ranks it among every movie.
    data_home : str, default=None
        Passed to :func:`~sklfi.datasets.load_movielens_100k`.
    random_state : int, default=0
        Seed of every model (and of the negative sampling).
    verbose : int or bool, default=True
        0 (``False``) prints nothing; 1 (``True``) one line per model once it
        is done; 2 also every model's epoch table (skorch's). On a terminal
        a progress line follows the epochs, and the epoch tables have
        skorch's colours; elsewhere (a file, a pipe) the output has no
        escape codes.

    Returns
    -------
    results : DataFrame
        Columns ``model``, ``kind`` ("baseline" or "model"), ``fold``
        (``rating`` and ``ctr`` only), the task's metrics, ``fit_seconds``
        and ``predict_rows_per_s``. The baselines come first: ``rating``'s
        "mean rating" (the mean training rating predicted for every row)
        and ``ctr``'s "base rate" (the training share of positives), one row
        per fold, with no timings; ``next-item``'s most popular, item-kNN
        and EASE. ``next-item``'s metrics are ``hr@10, ndcg@10, mrr,
        mean_rank, median_rank``, each with its 95% bootstrap interval over
        the test users (``hr@10_low``, ``hr@10_high``, ...), and its
        ``predict_rows_per_s`` the rows each model scored a second, its own
        share of the time.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {list(TASKS)}, got {task!r}.")
    models = list(MODELS) if models is None else [m.lower() for m in models]
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ValueError(f"unknown models {unknown}; choose from {list(MODELS)}.")
    report = Report(verbose)
    ml = load_movielens_100k(data_home)
    ratings = ml.ratings
    keep = np.ones(len(ratings), dtype=bool)
    if max_users is not None:
        check_positive_integer(max_users, "max_users")
        kept = np.sort(ratings["user_id"].unique())[:max_users]
        keep = ratings["user_id"].isin(kept).to_numpy()
    if task == "next-item":
        return pd.DataFrame(
            _next_item(
                ml, ratings[keep], models, epochs, exclude_seen, random_state, report
            )  # fmt: skip
        )
    rows = []
    for fold in folds:
        if not 1 <= fold <= len(ml.folds):
            raise ValueError(f"fold must be between 1 and {len(ml.folds)}, got {fold}.")
        tr, te = ml.folds[fold - 1]
        train, test = ratings.iloc[tr[keep[tr]]], ratings.iloc[te[keep[te]]]
        features = MovieLensFeatures(ml.users, ml["items"], groups=FEATURES[task])
        report.log(f"u{fold}: {len(train)} training and {len(test)} test rows")
        X_train = features.fit_transform(train)
        X_test = features.transform(test)
        y_train = train["rating"].to_numpy(dtype=np.float64)
        y_test = test["rating"].to_numpy(dtype=np.float64)
        if task == "ctr":
            y_train, y_test = y_train >= 4, y_test >= 4
        metrics = ["rmse"] if task == "rating" else ["roc_auc", "log_loss"]
        rows.append(_constant_baseline(task, fold, y_train, y_test))
        labels = [f"[{n}/{len(models)}] {MODELS[m].name}"
                  for n, m in enumerate(models, 1)]  # fmt: skip
        report.align([rows[-1]["model"], *labels])
        report.line(rows[-1]["model"], f"{scores_text(rows[-1], metrics)} (baseline)")
        for model, label in zip(models, labels):
            est = _estimator(model, task, epochs, random_state,
                             **report.fit_params(label))  # fmt: skip
            start = time.perf_counter()
            est.fit(X_train, y_train)
            fit_seconds = time.perf_counter() - start
            row = {"model": MODELS[model].name, "kind": "model", "fold": fold}
            start = time.perf_counter()
            if task == "rating":
                row["rmse"] = root_mean_squared_error(y_test, est.predict(X_test))
            else:
                proba = est.predict_proba(X_test)[:, 1]
                row["roc_auc"] = roc_auc_score(y_test, proba)
                row["log_loss"] = log_loss(y_test, proba)
            seconds = time.perf_counter() - start
            row.update(fit_seconds=fit_seconds,
                       predict_rows_per_s=len(test) / seconds)  # fmt: skip
            rows.append(row)
            report.line(label, f"done in {fit_seconds:.1f} s  "
                               f"{scores_text(row, metrics)}")  # fmt: skip
    return pd.DataFrame(rows)


def _ranked(name, kind, ranks, fit_seconds, n_scored, seconds, report):
    """A next-item result row: the metrics of the ranks with their
    intervals, and the timings."""
    table = ranking_metrics(ranks, k=10)
    row = {"model": name, "kind": kind}
    for metric, (value, low, high) in table.iterrows():
        row.update({metric: value, f"{metric}_low": low, f"{metric}_high": high})
    report.line(
        name,
        f"HR@10 {row['hr@10']:.3f} [{row['hr@10_low']:.3f}, "
        f"{row['hr@10_high']:.3f}]  NDCG@10 {row['ndcg@10']:.3f}  MRR "
        f"{row['mrr']:.3f}  mean rank {row['mean_rank']:.0f}  (fit "
        f"{fit_seconds:.1f} s, scoring {seconds:.1f} s)",
    )
    row.update(fit_seconds=fit_seconds, predict_rows_per_s=n_scored / seconds)
    return row


def _next_item(ml, ratings, models, epochs, exclude_seen, random_state, report):
    """The next-item rows: the baselines, then the models, each ranking every
    user's last movie among all movies (those watched before excluded)."""
    train, test = leave_last_out(ratings)
    items = np.sort(ml["items"]["item_id"].unique())
    exclude = train if exclude_seen else None
    n_scored = len(test) * len(items)
    report.log(
        f"leave-last-out: {len(train)} training events, {len(test)} test users; "
        f"each test movie ranked among {len(items)} movies"
        + (", those the user watched before excluded" if exclude_seen else ""),
    )
    rows = []
    labels = [f"[{n}/{len(models)}] {MODELS[m].name}" for n, m in enumerate(models, 1)]
    report.align([*BASELINES, *labels])
    for name, baseline in BASELINES.items():
        start = time.perf_counter()
        fitted = baseline().fit(train, items)
        fit_seconds = time.perf_counter() - start
        start = time.perf_counter()
        scores = fitted.score(test["user_id"])
        seconds = time.perf_counter() - start
        ranks = full_ranks(scores, test, items, exclude=exclude)
        rows.append(_ranked(name, "baseline", ranks, fit_seconds, n_scored, seconds,
                            report))  # fmt: skip
    if not models:
        return rows
    features = MovieLensFeatures(
        ml.users, ml["items"], groups=FEATURES["next-item"],
        max_history=NEXT_ITEM["max_history"],
    ).fit(train)  # fmt: skip
    X, y = sample_negatives(train, items=items, random_state=random_state)
    X = features.transform(X)
    fitted = []
    report.log(f"training on {X.shape[0]} events and negatives")
    for model, label in zip(models, labels):
        est = _estimator(model, "next-item", epochs, random_state,
                         **report.fit_params(label))  # fmt: skip
        start = time.perf_counter()
        est.fit(X, y)
        fitted.append((MODELS[model].name, est, time.perf_counter() - start))
        report.line(label, f"fitted in {fitted[-1][2]:.1f} s")
    report.log(f"scoring {len(items)} movies for each of {len(test)} users...")
    begin = time.perf_counter()
    scores, seconds = score_items([est for _, est, _ in fitted], test, items,
                                   features)  # fmt: skip
    shared = time.perf_counter() - begin - seconds.sum()
    report.log(f"the {n_scored} rows' features, built once: {shared:.1f} s")
    for (name, _, fit_seconds), score, sec in zip(fitted, scores, seconds):
        ranks = full_ranks(score, test, items, exclude=exclude)
        rows.append(_ranked(name, "model", ranks, fit_seconds, n_scored, sec, report))
    return rows


def plot_results(results: pd.DataFrame, task: str, path=None):
    """Bar chart of the task's metric per model (mean over folds), with the
    bootstrap intervals of ``next-item`` and the baselines in grey.

    The axis starts at zero, and a dashed line marks the first baseline
    (``rating``'s "mean rating", ``ctr``'s "base rate", ``next-item``'s
    "Most popular"), so that the gaps between the models read against it.

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
    fig, ax = plt.subplots(figsize=(8, 3.5))
    baselines = []
    if "kind" in results:  # the baselines in grey
        kind = results.groupby("model", sort=False)["kind"].first()
        baselines = list(kind.index[kind == "baseline"])
    colors = ["#999999" if m in baselines else "#4c72b0" for m in means.index]
    errors = None
    if f"{metric}_low" in results:  # the bootstrap intervals
        bounds = results.groupby("model", sort=False)[
            [f"{metric}_low", f"{metric}_high"]
        ].mean()
        errors = np.abs(bounds.to_numpy().T - means.to_numpy())  # fmt: skip
    ax.bar(means.index, means.to_numpy(), color=colors, yerr=errors, capsize=3)
    ax.tick_params(axis="x", labelsize=8)
    for x, value in enumerate(means.to_numpy()):
        ax.annotate(f"{value:.3f}", (x, value), xytext=(0, 2), ha="center",
                    va="bottom", textcoords="offset points", fontsize=8)  # fmt: skip
    if baselines:
        ax.axhline(means[baselines[0]], color="#555555", linestyle="--",
                   linewidth=1, label=baselines[0], zorder=0.5)  # fmt: skip
        ax.legend(loc="upper right", fontsize=8)
    low, high = means.min(), means.max()
    if errors is not None:
        low, high = (means - errors[0]).min(), (means + errors[1]).max()
    # from zero: a bar's height is its value, and a gap of 0.01 looks like one
    # (the headroom keeps the labels and the legend off the bars)
    pad = 0.3 * (high - min(low, 0.0)) or 1.0
    ax.set_ylim(min(low, 0.0) - (pad if low < 0 else 0.0), high + pad)
    better = "lower" if lower_is_better else "higher"
    ax.set_ylabel(f"{metric} ({better} is better)")
    ax.set_title(f"MovieLens-100K, task {task}")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
