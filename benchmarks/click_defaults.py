"""FM's defaults on click-shaped data, next to the MovieLens protocol they
were chosen on.

Click-shaped: ten categorical fields of Zipf-distributed ids (about 5,000
ids in all, as in public app-usage click sets), a binary target from a
logistic model with a weight per id and a low-rank interaction between
every pair of fields (the data an FM assumes, with the interaction strong
enough for a test ROC AUC near 0.94), ``--rows`` rows (a fifth held out).
Every setting is tried on it (test AUC) and on MovieLens-100K u1 (the
reference fields, RMSE), with two seeds; logistic regression on the one-hot
columns and FFM's and DeepFM's defaults are the yardsticks.

    SKLFI_DATA=../shared/data python benchmarks/click_defaults.py --rows 100000
"""

import argparse

import numpy as np
import pandas as pd
from _common import load_features
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, root_mean_squared_error

import sklfi
from sklfi.preprocessing import FieldEncoder

SETTINGS = {
    "FM defaults": {},
    "FM weight_decay=0.1": {"weight_decay": 0.1},
    "FM weight_decay=0.03": {"weight_decay": 0.03},
    "FM weight_decay=0.01": {"weight_decay": 0.01},
    "FM embedding_dim=16": {"embedding_dim": 16},
    "FM max_epochs=20": {"max_epochs": 20},
}


def click_data(n, seed):
    """Ten fields of Zipf ids and clicks from an FM of rank 4."""
    rng = np.random.default_rng(seed)
    sizes = [2000, 1200, 800, 400, 200, 120, 80, 60, 40, 20]
    frame, w, v = {}, [], []
    for f, size in enumerate(sizes):
        ids = (rng.zipf(1.3, n) - 1) % size
        frame[f"f{f}"] = ids.astype(str)
        w.append(np.random.default_rng(f).normal(0, 0.6, size)[ids])
        v.append(np.random.default_rng(100 + f).normal(0, 0.5, (size, 4))[ids])
    v = np.stack(v, 1)  # (n, F, 4)
    pairs = 0.5 * ((v.sum(1) ** 2).sum(1) - (v**2).sum((1, 2)))
    logit = -1.0 + np.sum(w, 0) + 1.5 * pairs
    y = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame(frame), y.astype(int)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seeds", default="0,1")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    df, y = click_data(args.rows, 0)
    cut = int(0.8 * len(df))
    encoder = FieldEncoder(categorical=list(df.columns)).fit(df[:cut])
    X, X_test = encoder.transform(df[:cut]), encoder.transform(df[cut:])
    y_train, y_test = y[:cut], y[cut:]
    M_train, M_test, r_train, r_test = load_features("rating")
    rows = []

    def record(name, click, rating=None):
        rows.append({"setting": name, "click AUC": click, "u1 RMSE": rating})
        print(rows[-1], flush=True)

    logistic = LogisticRegression(C=1.0, max_iter=2000).fit(X.tocsr(), y_train)
    scores = logistic.decision_function(X_test.tocsr())
    record("logistic regression", roc_auc_score(y_test, scores))
    settings = {**SETTINGS, "FFM defaults": {}, "DeepFM defaults": {}}
    for name, params in settings.items():
        model = name.split()[0]
        aucs, rmses = [], []
        for seed in seeds:
            est = getattr(sklfi, model + "Classifier")(random_state=seed, **params)
            proba = est.fit(X, y_train).predict_proba(X_test)[:, 1]
            aucs.append(roc_auc_score(y_test, proba))
            reg = getattr(sklfi, model + "Regressor")(random_state=seed, **params)
            rating = reg.fit(M_train, r_train).predict(M_test)
            rmses.append(root_mean_squared_error(r_test, rating))
        record(name, float(np.mean(aucs)), float(np.mean(rmses)))
    table = pd.DataFrame(rows).set_index("setting")
    print()
    print(table.round(4).to_string())


if __name__ == "__main__":
    main()
