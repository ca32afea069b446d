"""All estimators: learning, sklearn composition, persistence, errors."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline

from sklfi import (
    MODELS,
    BayesianFMRegressor,
    FFMClassifier,
    FFMRegressor,
    FieldMatrix,
    FMClassifier,
    FMRegressor,
    WideDeepRegressor,
)
from sklfi.datasets import make_planted_interaction
from sklfi.metrics import _scores as scores
from sklfi.preprocessing import FieldEncoder

CLASSIFIERS = [m.classifier for m in MODELS.values()]
REGRESSORS = [m.regressor for m in MODELS.values()]
ALL = CLASSIFIERS + REGRESSORS


@pytest.fixture(scope="module")
def planted():
    X, y = make_planted_interaction(n_samples=6000, random_state=0)
    enc = FieldEncoder()
    return enc.fit_transform(X[:4000]), y[:4000], enc.transform(X[4000:]), y[4000:]


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_learns_planted_interaction_that_linear_model_misses(cls, planted):
    X_train, y_train, X_test, y_test = planted
    linear = LogisticRegression().fit(X_train.tocsr(), y_train)
    linear_auc = roc_auc_score(y_test, linear.predict_proba(X_test.tocsr())[:, 1])
    assert abs(linear_auc - 0.5) < 0.05
    model = cls(random_state=0).fit(X_train, y_train)
    assert roc_auc_score(y_test, model.predict_proba(X_test)[:, 1]) >= 0.85


@pytest.mark.parametrize("cls", [FMClassifier, FFMClassifier])
def test_predicts_interaction_of_pairs_never_seen_together(cls):
    X, y = make_planted_interaction(n_samples=8000, random_state=1)
    unseen = X.publisher.isin(["pub0", "pub1", "pub2", "pub3"]) & X.advertiser.isin(
        ["adv0", "adv1", "adv2", "adv3"]
    )
    model = make_pipeline(FieldEncoder(), cls(random_state=0))
    model.fit(X[~unseen], y[~unseen])
    auc = roc_auc_score(y[unseen], model.predict_proba(X[unseen])[:, 1])
    assert auc >= 0.85


@pytest.mark.parametrize("cls", REGRESSORS + [BayesianFMRegressor])
def test_regressor_fits_planted_interaction_better_than_linear(cls):
    X, y = make_planted_interaction(
        n_samples=6000, task="regression", noise=0.3, random_state=2
    )
    enc = FieldEncoder()
    X_train, X_test = enc.fit_transform(X[:4000]), enc.transform(X[4000:])
    linear = LinearRegression().fit(X_train.tocsr(), y[:4000])
    assert r2_score(y[4000:], linear.predict(X_test.tocsr())) < 0.05
    model = cls(random_state=0).fit(X_train, y[:4000])
    assert r2_score(y[4000:], model.predict(X_test)) > 0.7


def test_grid_search_over_pipeline_on_dataframe():
    X, y = make_planted_interaction(n_samples=1500, random_state=3)
    pipe = make_pipeline(FieldEncoder(), FFMClassifier(max_epochs=3, random_state=0))
    search = GridSearchCV(
        pipe, {"ffmclassifier__embedding_dim": [2, 4]}, cv=3, scoring="roc_auc"
    )
    search.fit(X, y)
    assert search.best_params_["ffmclassifier__embedding_dim"] in (2, 4)
    assert search.predict_proba(X).shape == (1500, 2)
    assert search.best_estimator_[-1].field_names_ == (
        "publisher",
        "advertiser",
        "noise0",
        "noise1",
    )


def test_cross_val_score_on_field_matrix(planted):
    X_train, y_train, _, _ = planted
    scores = cross_val_score(
        FMClassifier(random_state=0), X_train, y_train, cv=3, scoring="roc_auc"
    )
    assert scores.shape == (3,) and np.all(scores > 0.8)


@pytest.mark.parametrize("cls", ALL)
def test_pickle_round_trip_gives_identical_predictions(cls, planted):
    X_train, y_train, X_test, _ = planted
    model = cls(max_epochs=2, random_state=0).fit(X_train, y_train)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X_test), model.predict(X_test))


@pytest.mark.parametrize("cls", ALL)
def test_same_seed_same_predictions_and_global_rng_untouched(cls, planted):
    X_train, y_train, X_test, _ = planted
    state = torch.get_rng_state()
    a = cls(max_epochs=2, random_state=7).fit(X_train, y_train)
    a.predict(X_test)
    assert torch.equal(torch.get_rng_state(), state)
    b = clone(a).fit(X_train, y_train)
    c = clone(a).set_params(random_state=8).fit(X_train, y_train)
    np.testing.assert_array_equal(scores(a, X_test), scores(b, X_test))
    assert not np.array_equal(scores(a, X_test), scores(c, X_test))


@pytest.mark.parametrize("cls", [FMRegressor, FFMClassifier])
def test_sparse_input_dtype_and_order_do_not_change_predictions(cls, planted):
    X_train, y_train, X_test, _ = planted
    model = cls(max_epochs=1, random_state=0).fit(X_train, y_train)
    predict = model.predict_proba if cls is FFMClassifier else model.predict
    csr = X_test.tocsr()
    expected = predict(csr)
    # the same matrix as float32, and with each row's entries reversed and
    # split into two duplicates that sum to the value
    rows = np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr))[::-1]
    order = np.argsort(np.r_[rows, rows], kind="stable")
    messy = sp.csr_matrix(
        (
            np.r_[csr.data[::-1], csr.data[::-1]][order] / 2,
            np.r_[csr.indices[::-1], csr.indices[::-1]][order],
            np.r_[0, np.cumsum(2 * np.diff(csr.indptr))],
        ),
        csr.shape,
    )
    assert not messy.has_canonical_format
    before = messy.copy()
    # read-only arrays (a joblib memory map, say) are used without a warning
    frozen = csr.astype(np.float32)
    for a in (frozen.data, frozen.indices, frozen.indptr):
        a.flags.writeable = False
    for X in (csr.astype(np.float32), messy, frozen):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            np.testing.assert_array_equal(predict(X), expected)
    # the user's matrix is left as it was
    assert (messy.indices == before.indices).all() and (messy.data == before.data).all()
    big = csr.copy()
    big.data[0] = 1e300  # finite in float64, infinite in float32
    with pytest.raises(ValueError, match="infinity|too large"):
        model.predict(big)


def test_string_labels_and_multiclass():
    X, y = make_planted_interaction(n_samples=3000, random_state=4)
    labels = np.where(y == 1, "click", "skip")
    model = make_pipeline(FieldEncoder(), FMClassifier(random_state=0)).fit(X, labels)
    assert set(model.predict(X)) == {"click", "skip"}
    assert list(model.classes_) == ["click", "skip"]
    three = np.where(X.noise0.str.endswith("1"), "other", labels)
    model.fit(X, three)
    proba = model.predict_proba(X)
    assert proba.shape == (3000, 3)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-6)


def test_fields_parameter_on_plain_sparse_matrix(planted):
    X_train, y_train, X_test, y_test = planted
    plain = FFMClassifier(fields=X_train.fields, random_state=0)
    plain.fit(X_train.tocsr(), y_train)
    aware = FFMClassifier(random_state=0).fit(X_train, y_train)
    np.testing.assert_allclose(
        plain.predict_proba(X_test.tocsr()), aware.predict_proba(X_test), rtol=1e-6
    )
    named = FFMClassifier(fields=np.array(["p", "a", "n", "m"])[X_train.fields])
    assert named.fit(X_train.tocsr(), y_train).field_names_ == ("p", "a", "n", "m")


def test_one_field_per_column_without_fields():
    X = np.random.default_rng(0).normal(size=(100, 3))
    model = FFMRegressor(max_epochs=1).fit(
        pd.DataFrame(X, columns=list("abc")), X[:, 0]
    )
    assert model.field_names_ == ("a", "b", "c")
    assert model.field_kinds_ == ("numeric",) * 3
    np.testing.assert_array_equal(model.fields_, [0, 1, 2])


def test_early_stopping_holds_out_and_stops():
    X, y = make_planted_interaction(n_samples=2000, noise=0.4, random_state=5)
    model = make_pipeline(
        FieldEncoder(),
        FMClassifier(
            early_stopping=True, max_epochs=50, n_iter_no_change=2, random_state=0
        ),
    ).fit(X, y)
    est = model[-1]
    assert est.n_iter_ < 50
    assert len(est.net_.history[:, "valid_loss"]) == est.n_iter_


def test_zero_sample_weight_ignores_rows(planted):
    X_train, y_train, X_test, y_test = planted
    flipped = 1 - y_train
    X2 = FieldMatrix(
        sp.vstack([X_train.tocsr()] * 2), X_train.fields, X_train.field_names
    )
    weight = np.r_[np.ones(len(y_train)), np.zeros(len(y_train))]
    model = FMClassifier(random_state=0).fit(X2, np.r_[y_train, flipped], weight)
    assert roc_auc_score(y_test, model.predict_proba(X_test)[:, 1]) >= 0.85


# -- bad input -------------------------------------------------------------
@pytest.fixture
def small():
    rng = np.random.default_rng(0)
    return rng.normal(size=(20, 4)), np.arange(20) % 2


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_in_X(small, bad):
    X, y = small
    X[3, 1] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        FMClassifier().fit(X, y)


def test_nan_in_y(small):
    X, _ = small
    y = np.ones(20)
    y[4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        FMRegressor().fit(X, y)
    with pytest.raises(ValueError, match="NaN"):
        FMClassifier().fit(X, y)


def test_single_class(small):
    X, _ = small
    with pytest.raises(ValueError, match="at least 2 classes"):
        FFMClassifier().fit(X, np.zeros(20))


@pytest.mark.parametrize(
    "fields, match",
    [
        ([0, 1, 1], "fields has length 3 but X has 4 columns"),
        ([0, -1, 1, 1], "non-negative"),
        ([0.5, 1, 1, 2], "integer field ids"),
        ("abcd", "array-like"),
    ],
)
def test_bad_fields(small, fields, match):
    X, y = small
    with pytest.raises((ValueError, TypeError), match=match):
        FFMClassifier(fields=fields).fit(X, y)


def test_predict_with_other_number_of_columns(small):
    X, y = small
    model = FMClassifier(max_epochs=1).fit(X, y)
    with pytest.raises(
        ValueError, match="X has 3 features, but FMClassifier is expecting 4 features"
    ):
        model.predict(X[:, :3])


def test_predict_with_field_matrix_of_other_fields(small):
    X, y = small
    model = FFMClassifier(max_epochs=1).fit(FieldMatrix(X, [0, 0, 1, 1]), y)
    with pytest.raises(ValueError, match="fields differ"):
        model.predict(FieldMatrix(X, [0, 1, 1, 1]))


def test_voting_ensembles_of_sklfi_estimators_on_a_field_matrix(planted):
    from sklearn.ensemble import VotingClassifier

    X_train, y_train, X_test, y_test = planted
    members = [
        ("fm", FMClassifier(max_epochs=3, random_state=0)),
        ("ffm", FFMClassifier(max_epochs=3, random_state=0)),
    ]
    vote = VotingClassifier(members, voting="soft").fit(X_train, y_train)
    proba = vote.predict_proba(X_test)
    fitted = [est.fit(X_train, y_train) for _, est in members]
    mean = np.mean([est.predict_proba(X_test) for est in fitted], axis=0)
    np.testing.assert_allclose(proba, mean, rtol=1e-6)
    assert roc_auc_score(y_test, proba[:, 1]) > 0.7


LAYOUT_CASES = [
    *(m.regressor() for m in MODELS.values()),
    WideDeepRegressor(crosses=[("publisher", "advertiser")]),
    FFMClassifier(early_stopping=True),  # (the validation split's rows)
]


@pytest.mark.parametrize("est", LAYOUT_CASES, ids=repr)
def test_predictions_do_not_depend_on_the_batch_layout(est, planted):
    # FieldEncoder output holds one category per field, so a model that
    # pools fields gets batches that need no (row, field) grouping. A row
    # that misses a field makes the matrix general: the same rows must get
    # the same predictions to the last bit, the padded last batch included
    # (11 rows at batch size 4), and skorch's own forward must agree.
    X_train, y_train, X_test, _ = planted
    model = clone(est).set_params(max_epochs=1, batch_size=4, random_state=0)
    model.fit(X_train, y_train)
    X = X_test[:11]
    module_input, _ = model._model_input(model._validate(X, reset=False))
    pools_fields = model.net_.batch_fields[0] is not None
    assert model.net_.get_dataset(module_input).one_per_field == pools_fields
    fast = scores(model, X)
    incomplete = X.tocsr()[:1].copy()
    incomplete.data[-1] = 0  # no value in the last field
    incomplete.eliminate_zeros()
    rows = sp.vstack([X.tocsr(), incomplete]).tocsr()
    mixed = FieldMatrix(rows, X.fields, X.field_names, X.field_kinds)
    module_mixed, _ = model._model_input(model._validate(mixed, reset=False))
    assert not model.net_.get_dataset(module_mixed).one_per_field
    np.testing.assert_array_equal(scores(model, mixed)[:11], fast)
    np.testing.assert_array_equal(scores(model, X_test[:1]), fast[:1])
    raw = model.net_.forward(module_input).numpy()[:, 0]
    np.testing.assert_array_equal(raw, model._forward(X)[:, 0])


def test_regressor_standardises_with_the_weighted_mean_and_deviation(planted):
    X_train, _, _, _ = planted
    rng = np.random.default_rng(0)
    y = rng.normal(3, 2, size=X_train.shape[0])
    w = rng.uniform(0, 4, size=len(y))
    model = FMRegressor(max_epochs=1).fit(X_train, y, sample_weight=w)
    mean = np.average(y, weights=w)
    assert model._y_mean == pytest.approx(mean)
    assert model._y_scale == pytest.approx(
        np.sqrt(np.average((y - mean) ** 2, weights=w))
    )
