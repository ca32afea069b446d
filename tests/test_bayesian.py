"""BayesianFMRegressor and BayesianFMClassifier: learning, composition,
reproducibility and errors (the sampler itself: test_gibbs.py)."""

import pickle

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sklfi import BayesianFMClassifier, BayesianFMRegressor
from sklfi.datasets import make_planted_interaction
from sklfi.preprocessing import FieldEncoder


@pytest.fixture(scope="module")
def planted():
    X, y = make_planted_interaction(n_samples=3000, random_state=0)
    enc = FieldEncoder()
    return enc.fit_transform(X[:2000]), y[:2000], enc.transform(X[2000:]), y[2000:]


def test_classifier_learns_the_planted_interaction(planted):
    X_train, y_train, X_test, y_test = planted
    linear = LogisticRegression().fit(X_train.tocsr(), y_train)
    linear_auc = roc_auc_score(y_test, linear.predict_proba(X_test.tocsr())[:, 1])
    model = BayesianFMClassifier(n_iter=60, random_state=0).fit(X_train, y_train)
    proba = model.predict_proba(X_test)
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(1), 1)
    assert abs(linear_auc - 0.5) < 0.05 < roc_auc_score(y_test, proba[:, 1]) - 0.4
    assert np.array_equal(model.predict(X_test), proba[:, 1] > 0.5)
    assert np.array_equal(model.decision_function(X_test) > 0, proba[:, 1] > 0.5)


def test_in_a_pipeline_and_a_grid_search_with_string_labels():
    X, y = make_planted_interaction(n_samples=1200, random_state=3)
    labels = np.where(y == 1, "click", "skip")
    pipe = make_pipeline(
        FieldEncoder(), BayesianFMClassifier(n_iter=30, random_state=0)
    )
    search = GridSearchCV(pipe, {"bayesianfmclassifier__embedding_dim": [1, 4]}, cv=2)
    search.fit(X, labels)
    assert set(search.predict(X)) <= {"click", "skip"}
    assert search.best_score_ > 0.8
    assert list(search.best_estimator_[-1].classes_) == ["click", "skip"]


def test_reproducible_picklable_and_the_fields_group_the_priors(planted):
    X_train, y_train, X_test, _ = planted
    params = dict(n_iter=20, n_burn_in=5, random_state=0)
    a = BayesianFMClassifier(**params).fit(X_train, y_train)
    b = BayesianFMClassifier(**params).fit(X_train, y_train)
    np.testing.assert_array_equal(a.predict_proba(X_test), b.predict_proba(X_test))
    assert a.V_samples_.shape == (15, X_train.shape[1], 8)
    again = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(again.predict_proba(X_test), a.predict_proba(X_test))
    # a plain matrix with the same fields is the same model
    plain = BayesianFMClassifier(**params, fields=X_train.fields)
    plain.fit(X_train.tocsr(), y_train)
    np.testing.assert_allclose(
        plain.predict_proba(X_test.tocsr()), a.predict_proba(X_test)
    )
    # one group per column is another prior, and another model
    other = BayesianFMClassifier(**params).fit(X_train.tocsr(), y_train)
    assert not np.allclose(other.predict_proba(X_test.tocsr()), a.predict_proba(X_test))


def test_verbose_reports_the_sweeps(planted, capsys):
    X_train, y_train, _, _ = planted
    BayesianFMRegressor(n_iter=10, n_burn_in=2, verbose=1).fit(X_train, y_train)
    out = capsys.readouterr().out
    assert out.count("sweep") == 10 and "sweep 10/10" in out
    BayesianFMRegressor(n_iter=10, n_burn_in=2).fit(X_train, y_train)
    assert capsys.readouterr().out == ""


def test_bad_settings_and_targets(planted):
    X_train, y_train, _, _ = planted
    with pytest.raises(ValueError, match="n_burn_in"):
        BayesianFMRegressor(n_iter=10, n_burn_in=10).fit(X_train, y_train)
    with pytest.raises(ValueError, match="Only binary"):
        three = y_train + (np.arange(len(y_train)) % 3 == 0)
        BayesianFMClassifier(n_iter=2, n_burn_in=1).fit(X_train, three)
    with pytest.raises(ValueError, match="NaN|infinity"):
        BayesianFMRegressor(n_iter=2, n_burn_in=1).fit(
            X_train, np.where(y_train > 0, np.nan, 1.0)
        )


def test_predictions_stay_in_the_training_targets_range():
    # y = u + v over two one-hot fields; the pair (2, 2), whose sum 4 lies
    # above every training target, is never seen: the linear part alone
    # would predict about 4, each sample's prediction is clipped to 3
    pairs = np.array([(u, v) for u in range(3) for v in range(3) if (u, v) != (2, 2)])
    pairs = np.repeat(pairs, 30, axis=0)
    X = np.hstack([np.eye(3)[pairs[:, 0]], np.eye(3)[pairs[:, 1]]])
    y = pairs.sum(axis=1).astype(float)
    model = BayesianFMRegressor(2, n_iter=60, fields=[0, 0, 0, 1, 1, 1],
                                random_state=0).fit(X, y)  # fmt: skip
    assert model.target_range_ == (0.0, 3.0)
    unseen = np.hstack([np.eye(3)[[2]], np.eye(3)[[2]]])
    assert 2.9 < model.predict(unseen)[0] <= 3.0
    latent = model._average(
        unseen, lambda p: model.target_mean_ + model.target_scale_ * p
    )[0]
    assert latent > 3.5  # (what the clipping removes)
    np.testing.assert_allclose(model.predict(X[:50]), y[:50], atol=0.1)


@pytest.mark.parametrize("fails", ["interrupted", "three classes"])
def test_a_failed_refit_keeps_the_fitted_model(planted, monkeypatch, fails):
    from sklfi import _gibbs

    X, y = planted[:2]
    model = BayesianFMClassifier(n_iter=5, n_burn_in=1, random_state=0).fit(X, y)
    before = model.predict_proba(X)
    fitted = dict(model.__dict__)
    narrower = X.tocsr()[:, 1:]  # (another n_features_in_, other fields)
    if fails == "interrupted":
        sweeps = []

        def interrupted(self):
            sweeps.append(1)
            if len(sweeps) == 3:
                raise KeyboardInterrupt

        monkeypatch.setattr(_gibbs.Sampler, "sweep", interrupted)
        with pytest.raises(KeyboardInterrupt):
            model.fit(narrower, np.where(y == 1, "yes", "no"))
    else:
        with pytest.raises(ValueError, match="Only binary"):
            model.fit(narrower, np.arange(len(y)) % 3)
    assert model.__dict__.keys() == fitted.keys()
    assert model.n_features_in_ == X.shape[1]
    np.testing.assert_array_equal(model.classes_, fitted["classes_"])
    np.testing.assert_array_equal(model.predict_proba(X), before)


def test_the_regressor_is_the_same_in_any_units_of_the_target():
    # noise-free y = the column's index; the sampler's priors suit a target
    # of unit scale, so the target is standardised: y * s gives s * the model
    rng = np.random.default_rng(0)
    X = np.eye(5)[rng.integers(0, 5, 200)]
    y = X @ np.arange(5.0)
    reference = BayesianFMRegressor(random_state=0).fit(X, y).predict(np.eye(5))
    assert np.abs(reference - np.arange(5)).max() < 0.05
    for s in [1e-160, 1e-6, 1e-3, 1e3, 1e4, 1e6, 1e160]:
        model = BayesianFMRegressor(random_state=0).fit(X, y * s)
        scaled = model.predict(np.eye(5)) / s  # (rounding: another chain)
        np.testing.assert_allclose(scaled, reference, atol=0.01, err_msg=str(s))
        assert model.target_range_ == (0.0, 4 * s)
    shifted = BayesianFMRegressor(random_state=0).fit(X, y + 1e6)
    np.testing.assert_allclose(shifted.predict(np.eye(5)) - 1e6, reference, atol=1e-6)
