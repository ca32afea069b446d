"""
MovieLens features and DeepFM in a Pipeline, tuned with GridSearchCV
====================================================================

:class:`~sklfi.preprocessing.MovieLensFeatures` turns a ratings DataFrame
into a field-aware sparse matrix (ids, demographics, genres, the user's
history and rating profile as of each rating); any sklfi estimator takes it
from there. Both are ordinary scikit-learn components, so the feature groups
and the model's hyperparameters are tuned together.
"""

import pandas as pd
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sklfi import DeepFMRegressor
from sklfi.datasets import load_movielens_100k
from sklfi.preprocessing import MovieLensFeatures

ml = load_movielens_100k()
ratings = ml.ratings[ml.ratings.user_id <= 200]  # a subset, to run quickly

model = make_pipeline(
    MovieLensFeatures(ml.users, ml["items"]),
    DeepFMRegressor(max_epochs=5, random_state=0),
)
grid = {
    "movielensfeatures__groups": [
        ["user_id", "item_id"],
        ["user_id", "item_id", "genres", "age_bucket", "occupation"],
        None,  # every group
    ],
    "deepfmregressor__embedding_dim": [8, 16],
}
search = GridSearchCV(model, grid, cv=3, scoring="neg_root_mean_squared_error")
search.fit(ratings, ratings.rating)

# %%
# RMSE of each combination, best first.
table = pd.DataFrame(search.cv_results_)[
    [
        "param_movielensfeatures__groups",
        "param_deepfmregressor__embedding_dim",
        "mean_test_score",
    ]
]
table["rmse"] = -table.pop("mean_test_score")
print(table.sort_values("rmse").to_string(index=False))
print("best:", search.best_params_)
