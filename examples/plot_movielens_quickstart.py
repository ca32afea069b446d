"""
FM and FFM on MovieLens-100K
============================

Fit a Factorization Machine and a Field-aware Factorization Machine on the
official split u1 of MovieLens-100K (80,000 training ratings, 20,000 test
ratings) and report the test RMSE of the ratings and the ROC AUC of
"rating >= 4", with the fit time of each model.

The features are categorical fields built with
:class:`~sklfi.preprocessing.FieldEncoder` from a pandas DataFrame: user,
movie, gender, age bucket, occupation and the movie's genres (multi-valued).
"""

import time

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score, root_mean_squared_error

from sklfi import FFMClassifier, FFMRegressor, FMClassifier, FMRegressor
from sklfi.datasets import load_movielens_100k
from sklfi.preprocessing import FieldEncoder

ml = load_movielens_100k()
items = ml["items"]

# %%
# One row per rating, with the user's and the movie's attributes.
genres = items[ml.genres].to_numpy().astype(bool)
items = items.assign(genres=[list(np.array(ml.genres)[g]) for g in genres])
df = ml.ratings.merge(ml.users, on="user_id").merge(items, on="item_id")
df["age_bucket"] = pd.cut(
    df.age,
    [0, 17, 24, 34, 44, 49, 55, np.inf],
    labels=["<18", "18-24", "25-34", "35-44", "45-49", "50-55", "56+"],
)
df = df.set_index(ml.ratings.index)

encoder = FieldEncoder(
    categorical=["user_id", "item_id", "gender", "age_bucket", "occupation"],
    multi_valued=["genres"],
)
train, test = ml.folds[0]  # split u1
X_train = encoder.fit_transform(df.iloc[train])
X_test = encoder.transform(df.iloc[test])
y_train, y_test = df.rating.to_numpy()[train], df.rating.to_numpy()[test]
print(X_train)

# %%
# Rating regression (RMSE) and "rating >= 4" classification (ROC AUC).
for model in (FMRegressor(random_state=0), FFMRegressor(random_state=0)):
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    rmse = root_mean_squared_error(y_test, model.predict(X_test))
    print(f"{type(model).__name__:14s} RMSE {rmse:.4f}   fit {seconds:5.1f} s")

for model in (FMClassifier(random_state=0), FFMClassifier(random_state=0)):
    start = time.perf_counter()
    model.fit(X_train, y_train >= 4)
    seconds = time.perf_counter() - start
    auc = roc_auc_score(y_test >= 4, model.predict_proba(X_test)[:, 1])
    print(f"{type(model).__name__:14s} AUC  {auc:.4f}   fit {seconds:5.1f} s")
