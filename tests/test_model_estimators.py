"""What only some estimators do: AFM's importances, Wide & Deep's crosses,
DLRM's numeric fields."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline

from sklfi import (
    AFMClassifier,
    DLRMClassifier,
    DLRMRegressor,
    FFMRegressor,
    WideDeepClassifier,
)
from sklfi.datasets import make_planted_interaction
from sklfi.preprocessing import FieldEncoder


@pytest.fixture(scope="module")
def planted():
    X, y = make_planted_interaction(n_samples=6000, random_state=0)
    return X[:4000], y[:4000], X[4000:], y[4000:]


def test_afm_ranks_the_planted_pair_first(planted):
    X, y, _, _ = planted
    model = make_pipeline(FieldEncoder(), AFMClassifier(random_state=0)).fit(X, y)
    imp = model[-1].field_pair_importances_
    assert isinstance(imp, pd.Series) and len(imp) == 6  # 4 fields -> 6 pairs
    assert imp.index[0] == ("publisher", "advertiser")
    assert imp.iloc[0] > 1.5 * imp.iloc[1]
    assert imp.is_monotonic_decreasing
    np.testing.assert_allclose(imp.sum(), 1.0, rtol=1e-5)  # softmax weights


@pytest.mark.parametrize(
    "crosses, expected_auc", [(None, 0.6), ([("publisher", "advertiser")], 0.85)]
)
def test_wide_and_deep_crosses_memorise_the_pair(planted, crosses, expected_auc):
    X, y, X_test, y_test = planted
    # with no hidden layer the deep part is linear: only crosses can help
    est = WideDeepClassifier(hidden_layer_sizes=(), crosses=crosses, random_state=0)
    model = make_pipeline(FieldEncoder(), est).fit(X, y)
    auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])
    if crosses is None:
        assert auc < expected_auc
        assert est.crosser_ is None
    else:
        assert auc >= expected_auc
        assert est.crosser_.field_names_[-1] == "publisher x advertiser"
        n_wide = est.net_.module_.embedding.weight.shape[0]
        assert n_wide == est.n_features_in_ + 20 * 20  # every pair was seen


def test_wide_and_deep_bad_crosses(planted):
    X, y, _, _ = planted
    with pytest.raises(ValueError, match="unknown field 'nope'"):
        make_pipeline(
            FieldEncoder(), WideDeepClassifier(crosses=[("publisher", "nope")])
        ).fit(X, y)


def _mixed(n, seed):
    """y depends on a numeric column times a categorical group."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "item": rng.integers(0, 20, n).astype(str),
            "price": rng.normal(size=n),
            "noise": rng.integers(0, 5, n).astype(str),
        }
    )
    group = df["item"].astype(int) % 2 == 0
    y = ((df.price > 0) == group).astype(int).to_numpy()
    return df, y


def test_dlrm_on_numeric_and_categorical_fields():
    X, y = _mixed(6000, 0)
    enc = FieldEncoder(categorical=["item", "noise"], numeric=["price"])
    model = make_pipeline(enc, DLRMClassifier(random_state=0)).fit(X[:4000], y[:4000])
    est = model[-1]
    assert est.numeric_fields_ == ("price",)
    assert est.net_.module_.bottom is not None
    auc = roc_auc_score(y[4000:], model.predict_proba(X[4000:])[:, 1])
    assert auc >= 0.85


def test_dlrm_numeric_fields_parameter_on_plain_matrix():
    X, y = _mixed(600, 1)
    Xt = FieldEncoder(categorical=["item"], numeric=["price"]).fit_transform(X)
    plain, fields = Xt.tocsr(), Xt.fields
    model = DLRMRegressor(fields=fields, numeric_fields=["field1"], max_epochs=1)
    assert model.fit(plain, y).numeric_fields_ == ("field1",)
    # inferred: a one-column field with values other than 0/1 is numeric
    assert DLRMRegressor(fields=fields, max_epochs=1).fit(plain, y).numeric_fields_ == (
        "field1",
    )
    with pytest.raises(ValueError, match="unknown field 'price'"):
        DLRMRegressor(fields=fields, numeric_fields=["price"]).fit(plain, y)
    assert (
        DLRMRegressor(fields=fields, numeric_fields=[], max_epochs=1)
        .fit(plain, y)
        .numeric_fields_
        == ()
    )


@pytest.mark.parametrize(
    "n_fields, expected", [(2, 0.5), (3, 0.75), (4, 1.0), (9, 1.0)]
)
def test_ffm_weight_decay_grows_with_the_fields(n_fields, expected):
    rng = np.random.default_rng(0)
    X = (rng.random((60, 2 * n_fields)) < 0.5).astype(float)
    model = FFMRegressor(fields=np.repeat(np.arange(n_fields), 2), max_epochs=1)
    model.fit(X, rng.normal(size=60))
    assert model.net_.optimizer_.param_groups[0]["weight_decay"] == expected
    model.set_params(weight_decay=0.1).fit(X, rng.normal(size=60))
    assert model.net_.optimizer_.param_groups[0]["weight_decay"] == 0.1
