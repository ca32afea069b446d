"""Next-item prediction on MovieLens-100K: seeds, paired differences, levers.

The protocol of ``sklfi compare --task next-item``: each user's last rating
held out (``leave_last_out``), every movie ranked, the movies the user
watched before excluded. Three reports:

* ``seeds`` (default): every model over ``--seeds``, the mean and spread of
  HR@10 and NDCG@10, and for the first seed the paired bootstrap interval of
  each model's HR@10 minus the baselines' (the same users resampled for
  both, which is tighter than comparing two intervals);
* ``levers``: FM with each setting of the next-item defaults undone in turn
  (the whole history, no last-movie field, weight decay 0.3, more or
  popularity-weighted negatives, embedding 8, early stopping), to
  show what each is worth.

Usage::

    SKLFI_DATA=../shared/data python benchmarks/next_item.py [seeds|levers]
        [--seeds 0,1,2] [--models fm,ffm,afm,widedeep,deepfm,nfm,dlrm]
        [--params '{"embedding_dim": 8}']
"""

import argparse
import json
import time

import numpy as np
import pandas as pd
import torch
from sklearn.utils import check_random_state

from sklfi import MODELS
from sklfi.compare import BASELINES, FEATURES, NEXT_ITEM, next_item_params
from sklfi.datasets import load_movielens_100k
from sklfi.preprocessing import MovieLensFeatures
from sklfi.ranking import (
    full_ranks,
    item_scores,
    leave_last_out,
    ranking_metrics,
    sample_negatives,
)


def negatives(train, items, n, power, seed):
    """``sample_negatives``, or negatives drawn by popularity ** power."""
    if power == 0:
        return sample_negatives(train, n_negatives=n, items=items, random_state=seed)
    counts = train.item_id.value_counts().reindex(items, fill_value=0).to_numpy()
    p = (counts + 1.0) ** power
    rng = check_random_state(seed)
    X = train[["user_id", "item_id", "timestamp"]].loc[train.index.repeat(1 + n)]
    y = np.tile(np.r_[1, np.zeros(n, dtype=int)], len(train))
    X = X.reset_index(drop=True)
    X.loc[y == 0, "item_id"] = rng.choice(items, (y == 0).sum(), p=p / p.sum())
    return X, y


def run(
    ml,
    train,
    test,
    model,
    seed,
    groups=None,
    max_history=NEXT_ITEM["max_history"],
    n_negatives=4,
    power=0.0,
    **params,
):
    """Fit one model as ``compare`` does (``params`` override its settings);
    its ranks and fit seconds."""
    items = np.sort(ml["items"].item_id.unique())
    features = MovieLensFeatures(
        ml.users,
        ml["items"],
        groups=groups or FEATURES["next-item"],
        max_history=max_history,
    ).fit(train)
    X, y = negatives(train, items, n_negatives, power, seed)
    settings = {**next_item_params(model), **params}
    est = MODELS[model].estimator(False, random_state=seed, **settings)
    start = time.perf_counter()
    est.fit(features.transform(X), y)
    seconds = time.perf_counter() - start
    scores = item_scores(est, test, items, features=features)
    return full_ranks(scores, test, items, exclude=train), seconds


def metrics(ranks):
    return ranking_metrics(ranks, n_bootstraps=0)["value"]


def paired(ranks, other, n=1000, seed=0):
    """HR@10 difference and its 95% paired bootstrap interval."""
    hit, base = (ranks <= 10).astype(float), (other <= 10).astype(float)
    rows = check_random_state(seed).randint(0, len(hit), (n, len(hit)))
    diff = hit[rows].mean(1) - base[rows].mean(1)
    return hit.mean() - base.mean(), *np.percentile(diff, [2.5, 97.5])


def seeds_report(ml, train, test, models, seeds, params):
    items = np.sort(ml["items"].item_id.unique())
    baselines = {}
    for name, cls in BASELINES.items():
        scores = cls().fit(train, items).score(test.user_id)
        baselines[name] = full_ranks(scores, test, items, exclude=train)
        m = metrics(baselines[name])
        print(f"{name:>12}: HR@10 {m['hr@10']:.4f}  NDCG@10 {m['ndcg@10']:.4f}")
    for model in models:
        found, first = [], None
        for seed in seeds:
            ranks, seconds = run(ml, train, test, model, seed, **params)
            found.append(metrics(ranks))
            first = ranks if first is None else first
            print(
                f"  {model} seed {seed}: HR@10 {found[-1]['hr@10']:.4f} NDCG@10 "
                f"{found[-1]['ndcg@10']:.4f} ({seconds:.1f} s)",
                flush=True,
            )
        table = pd.DataFrame(found)
        versus = "; ".join(
            "vs {}: {:+.4f} [{:+.4f}, {:+.4f}]".format(b, *paired(first, baselines[b]))
            for b in ("Most popular", "EASE")
        )
        print(
            f"{MODELS[model].name:>12}: HR@10 {table['hr@10'].mean():.4f} "
            f"(sd {table['hr@10'].std():.4f})  NDCG@10 {table['ndcg@10'].mean():.4f} "
            f"(sd {table['ndcg@10'].std():.4f}); HR@10 seed {seeds[0]} {versus}",
            flush=True,
        )


LEVERS = {
    "defaults (history 20, last movie, decay 0.03, 3 epochs)": {},
    "whole history": {"max_history": None},
    "no last-movie field": {
        "groups": [g for g in FEATURES["next-item"] if g != "last_item"]
    },
    "weight decay 0.3 (the estimators' default)": {"weight_decay": 0.3},
    "8 negatives": {"n_negatives": 8},
    "negatives by popularity ** 0.75": {"power": 0.75},
    "embedding 8 (the estimators' default)": {"embedding_dim": 8},
    "early stopping (up to 12 epochs)": {"max_epochs": 12, "early_stopping": True},
}


def levers_report(ml, train, test, model, seed):
    for name, change in LEVERS.items():
        ranks, seconds = run(ml, train, test, model, seed, **change)
        m = metrics(ranks)
        print(
            f"{name:>55}: HR@10 {m['hr@10']:.4f}  NDCG@10 {m['ndcg@10']:.4f}  "
            f"mean rank {m['mean_rank']:.0f}  fit {seconds:.1f} s",
            flush=True,
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "report", nargs="?", choices=["seeds", "levers"], default="seeds"
    )
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument(
        "--params",
        default="{}",
        help="seeds: settings over the defaults, as JSON "
        "(e.g. '{\"embedding_dim\": 8}')",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    ml = load_movielens_100k()
    train, test = leave_last_out(ml.ratings)
    seeds = [int(s) for s in args.seeds.split(",")]
    models = args.models.split(",")
    if args.report == "seeds":
        seeds_report(ml, train, test, models, seeds, json.loads(args.params))
    else:
        for model in models:
            print(MODELS[model].name)
            levers_report(ml, train, test, model, seeds[0])


if __name__ == "__main__":
    main()
