"""Training and prediction throughput of sklfi estimators on MovieLens-100K u1.

Fields of the reference protocol: user, item, gender, age bucket, occupation,
zip code prefix, release decade, genres (multi-valued).
Usage::

    python benchmarks/throughput.py [--embedding-dim 16] [--batch-size 256]
        [--epochs 10] [--models fm,ffm,...] [--repeat 2] [--defaults]

Prints, per model and task, fit rows/s (rows x epochs / fit seconds),
predict rows/s and the test metric. Timings use 2 torch threads.
"""

import argparse
import time

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import log_loss, roc_auc_score, root_mean_squared_error

import sklfi
from sklfi.datasets import load_movielens_100k
from sklfi.preprocessing import FieldEncoder

MODELS = {
    "fm": "FM",
    "ffm": "FFM",
    "afm": "AFM",
    "widedeep": "WideDeep",
    "deepfm": "DeepFM",
    "nfm": "NFM",
    "dlrm": "DLRM",
}


def reference_frame(ml):
    """One row per rating with the user's and the movie's attributes."""
    items = ml["items"]
    flags = items[ml.genres].to_numpy().astype(bool)
    items = items.assign(genres=[list(np.array(ml.genres)[f]) for f in flags])
    df = ml.ratings.merge(ml.users, on="user_id", how="left")
    df = df.merge(items, on="item_id", how="left")
    df["age_bucket"] = pd.cut(
        df.age,
        [0, 17, 24, 34, 44, 49, 55, np.inf],
        labels=["<18", "18-24", "25-34", "35-44", "45-49", "50-55", "56+"],
    )
    df["zip3"] = df.zip_code.str[:3]
    df["decade"] = (df.release_date.dt.year // 10 * 10).astype("Int64")
    return df


FIELDS = ["user_id", "item_id", "gender", "age_bucket", "occupation", "zip3", "decade"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedding-dim", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument(
        "--defaults",
        action="store_true",
        help="use each estimator's own defaults instead of the protocol's "
        "(embedding 16, MLP (64, 32), Adam lr 1e-3, batch 256)",
    )
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(2)

    ml = load_movielens_100k()
    df = reference_frame(ml)
    encoder = FieldEncoder(categorical=FIELDS, multi_valued=["genres"])
    train, test = ml.folds[0]
    X_train = encoder.fit_transform(df.iloc[train])
    X_test = encoder.transform(df.iloc[test])
    y_train = df.rating.to_numpy()[train].astype(float)
    y_test = df.rating.to_numpy()[test].astype(float)

    print(f"{'estimator':16s} {'fit rows/s':>11s} {'predict rows/s':>15s} metric")
    for _ in range(args.repeat):
        for key in args.models.split(","):
            for task in ("Regressor", "Classifier"):
                cls = getattr(sklfi, MODELS[key] + task)
                params = {"random_state": 0}
                if not args.defaults:
                    params.update(
                        embedding_dim=args.embedding_dim,
                        batch_size=args.batch_size,
                        max_epochs=args.epochs,
                        optimizer="adam",
                        lr=1e-3,
                        weight_decay=0.0,
                    )
                    if "hidden_layer_sizes" in cls().get_params():
                        params["hidden_layer_sizes"] = (64, 32)
                model = cls(**params)
                target = y_train if task == "Regressor" else y_train >= 4
                start = time.perf_counter()
                model.fit(X_train, target)
                fit_s = time.perf_counter() - start
                start = time.perf_counter()
                if task == "Regressor":
                    metric = root_mean_squared_error(y_test, model.predict(X_test))
                    name = "RMSE"
                else:
                    proba = model.predict_proba(X_test)[:, 1]
                    metric, name = roc_auc_score(y_test >= 4, proba), "AUC"
                    name = f"logloss {log_loss(y_test >= 4, proba):.4f} AUC"
                pred_s = time.perf_counter() - start
                print(
                    f"{cls.__name__:16s} {len(train) * model.n_iter_ / fit_s:11,.0f} "
                    f"{len(test) / pred_s:15,.0f} {name} {metric:.4f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
