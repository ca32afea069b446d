"""Accuracy on MovieLens-100K with default hyperparameters."""

from sklearn.metrics import root_mean_squared_error

from sklfi import FMRegressor
from sklfi.preprocessing import FieldEncoder


def test_fm_regressor_defaults_on_u1_user_item(movielens):
    ratings = movielens.ratings
    train, test = movielens.folds[0]
    enc = FieldEncoder(categorical=["user_id", "item_id"])
    X_train = enc.fit_transform(ratings.iloc[train])
    X_test = enc.transform(ratings.iloc[test])
    model = FMRegressor(random_state=0).fit(X_train, ratings.rating.iloc[train])
    rmse = root_mean_squared_error(ratings.rating.iloc[test], model.predict(X_test))
    assert rmse <= 0.96
