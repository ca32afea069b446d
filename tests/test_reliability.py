"""Nothing silently wrong, no lost work: failed and interrupted fits,
divergence, threads, weights, degenerate models."""

import os
import signal
import threading

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from joblib import parallel_backend
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import Callback

from sklfi import (
    MODELS,
    DLRMClassifier,
    DLRMRegressor,
    FFMClassifier,
    FMClassifier,
    FMRegressor,
    NFMRegressor,
)
from sklfi.datasets import make_planted_interaction
from sklfi.metrics import _scores as scores
from sklfi.metrics import hit_rate_at_k, make_ranking_scorer, ndcg_at_k
from sklfi.preprocessing import FieldEncoder


@pytest.fixture(scope="module")
def planted():
    X, y = make_planted_interaction(n_samples=1200, random_state=0)
    return FieldEncoder().fit_transform(X), y


class At(Callback):
    """Runs ``action`` at the end of epoch ``epoch``."""

    def __init__(self, epoch, action):
        self.epoch, self.action = epoch, action

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            self.action()


def crash():
    raise RuntimeError("boom")


def ctrl_c():
    os.kill(os.getpid(), signal.SIGINT)


def stop():  # how skorch's callbacks (EarlyStopping) end training
    raise KeyboardInterrupt


def state(est):
    """The estimator's attributes (the objects themselves)."""
    return dict(vars(est))


def same(a, b, but=()):
    """Whether two states hold the very same objects (but in ``but``)."""
    keys = set(a) - set(but)
    return keys == set(b) - set(but) and all(a[k] is b[k] for k in keys)


@pytest.mark.parametrize("cls", [m.classifier for m in MODELS.values()])
def test_a_failed_refit_leaves_the_previous_model(cls, planted):
    X, y = planted
    model = cls(max_epochs=2, random_state=0).fit(X, y)
    before, predicted = state(model), scores(model, X)
    wider = np.c_[X.tocsr().toarray(), np.ones(len(y))]
    with pytest.raises(ValueError, match="at least 2 classes"):
        model.fit(wider, np.zeros(len(y)))  # fails after validating X
    assert same(state(model), before)
    model.set_params(callbacks=[("crash", At(2, crash))], max_epochs=4)
    with pytest.raises(RuntimeError, match="boom"):
        model.fit(X, 1 - y)  # fails mid-training
    assert same(state(model), before, but=("callbacks", "max_epochs"))
    np.testing.assert_array_equal(scores(model, X), predicted)
    assert model.n_iter_ == 2


def test_a_failed_first_fit_leaves_an_unfitted_estimator(planted):
    X, y = planted
    model = FMClassifier(callbacks=[("crash", At(1, crash))])
    params = state(model)
    with pytest.raises(RuntimeError):
        model.fit(X, y)
    assert same(state(model), params)
    with pytest.raises(NotFittedError):
        check_is_fitted(model)


def test_diverged_training_raises_and_names_the_cause(planted):
    X, y = planted
    model = FMClassifier(optimizer="sgd", lr=1e6, max_epochs=3)
    with pytest.raises(ValueError, match=r"diverged.*learning rate"):
        model.fit(X, y)
    with pytest.raises(NotFittedError):
        model.predict(X)


@pytest.fixture
def interactive():
    """Python's own SIGINT handler, as in a terminal (a job started in the
    background, a CI runner's maybe, has SIGINT ignored)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_interrupts_the_fit_and_keeps_the_previous_model(planted, interactive):
    X, y = planted
    model = FFMClassifier(max_epochs=2, random_state=0).fit(X, y)
    before = state(model)
    model.set_params(max_epochs=5, callbacks=[("ctrl_c", At(2, ctrl_c))])
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y)
    assert same(state(model), before, but=("callbacks", "max_epochs"))
    # the interrupt reaches a search too, which stops instead of scoring
    search = GridSearchCV(clone(model), {"embedding_dim": [2, 4]}, cv=2)
    with pytest.raises(KeyboardInterrupt):
        search.fit(X, y)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_callback_may_still_end_training_early(planted):
    # skorch's convention: a callback raises KeyboardInterrupt to stop
    X, y = planted
    model = FMClassifier(max_epochs=6, callbacks=[("stop", At(3, stop))])
    assert model.fit(X, y).n_iter_ == 3
    early = FMClassifier(early_stopping=True, max_epochs=50, n_iter_no_change=1)
    assert early.fit(X, y).n_iter_ < 50


@pytest.mark.parametrize("cls", [DLRMClassifier, FMClassifier])
def test_seeded_fits_in_threads_match_a_fit_alone(cls, planted):
    # each fit draws from its own generators, whatever the other thread does
    X, y = planted
    alone = scores(cls(max_epochs=2, random_state=0).fit(X, y), X)
    barrier, results = threading.Barrier(3), {}

    def fit(name, seed):
        barrier.wait()
        results[name] = scores(cls(max_epochs=2, random_state=seed).fit(X, y), X)

    threads = [threading.Thread(target=fit, args=(n, s))
               for n, s in (("a", 0), ("b", 0), ("c", 1))]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_array_equal(results["a"], alone)
    np.testing.assert_array_equal(results["b"], alone)
    assert not np.array_equal(results["c"], alone)


def test_grid_search_with_threads_scores_as_without(planted):
    X, y = planted
    search = GridSearchCV(
        DLRMClassifier(max_epochs=2, random_state=0), {"embedding_dim": [2, 4]}, cv=2
    )
    serial = clone(search).fit(X, y).cv_results_["mean_test_score"]
    with parallel_backend("threading", n_jobs=2):
        threaded = clone(search).fit(X, y).cv_results_["mean_test_score"]
    np.testing.assert_array_equal(threaded, serial)


@pytest.mark.parametrize(
    "weights, match",
    [(-1.0, "negative values"), (0.0, "sums to 0|non-zero")],
)
@pytest.mark.parametrize("cls", [FMRegressor, FMClassifier])
def test_bad_sample_weights(cls, weights, match, planted):
    X, y = planted
    w = np.ones(len(y))
    w[:10] = weights if weights < 0 else 1
    if weights == 0:
        w[:] = 0
    with pytest.raises(ValueError, match=match):
        cls().fit(X, y, sample_weight=w)


def test_dlrm_with_nothing_to_interact_is_rejected(planted):
    X, y = planted
    one_field = X.tocsr()[:, X.fields == 0]
    fields = [0] * one_field.shape[1]
    with pytest.raises(ValueError, match="no pair to take a dot product of"):
        DLRMClassifier(fields=fields).fit(one_field, y)
    cat = DLRMClassifier(interaction="cat", fields=fields, max_epochs=1)
    assert cat.fit(one_field, y).predict(one_field).shape == y.shape


@pytest.mark.parametrize("cls", [NFMRegressor, DLRMRegressor])
def test_batch_norm_with_a_last_batch_of_one_row(cls):
    rng = np.random.default_rng(0)
    X, y = rng.integers(0, 2, size=(65, 6)).astype(float), rng.normal(size=65)
    model = cls(batch_norm=True, batch_size=32, max_epochs=2).fit(X, y)
    assert np.isfinite(model.predict(X)).all()


def test_unclear_inputs_get_clear_errors(planted):
    X, y = planted
    mixed = np.array(["click" if v else 0 for v in y], dtype=object)
    with pytest.raises(ValueError, match="mixes labels of several types"):
        FMClassifier().fit(X, mixed)
    with pytest.raises(ValueError, match="needs a numeric target"):
        FMRegressor().fit(X, np.where(y == 1, "high", "low"))
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            FMRegressor(device="cuda").fit(X, y)


def test_too_many_columns_is_refused_before_allocating():
    X = sp.csr_matrix((10, 2**31), dtype=np.float32)
    with pytest.raises(ValueError, match=r"2,147,483,648 columns.*Hash the ids"):
        FMClassifier().fit(X, np.arange(10) % 2)


def test_ranking_cut_off_must_be_positive():
    with pytest.raises(ValueError, match="k must be a positive integer"):
        ndcg_at_k([0, 1], [0.2, 0.1], k=-1)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        hit_rate_at_k([0, 1], [0.2, 0.1], k=0)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        make_ranking_scorer("ndcg", k=2.5)


def test_an_ignored_or_handled_sigint_does_not_end_the_fit(planted):
    # SIGINT ignored (a job in the background), or handled without raising
    # (a graceful-shutdown flag): the fit goes on, and a callback may still
    # stop it its way afterwards
    X, y = planted
    flags = []
    for handler in (signal.SIG_IGN, lambda signum, frame: flags.append(signum)):
        previous = signal.signal(signal.SIGINT, handler)
        try:
            model = FMClassifier(
                max_epochs=4,
                callbacks=[("ctrl_c", At(1, ctrl_c)), ("stop", At(3, stop))],
            ).fit(X, y)
        finally:
            signal.signal(signal.SIGINT, previous)
        assert model.n_iter_ == 3
    assert flags == [signal.SIGINT]


def test_missing_or_huge_regression_targets(planted):
    X, y = planted
    with pytest.raises(ValueError, match="missing values"):
        FMRegressor(max_epochs=1).fit(X, np.where(y == 1, 1.0, None).tolist())
    huge = FMRegressor(max_epochs=1).fit(X, (2 * y - 1) * 1e300)
    assert np.isfinite(huge._y_scale) and np.all(np.isfinite(huge.predict(X)))


@pytest.mark.parametrize("cls", [NFMRegressor, DLRMClassifier])
def test_batch_norm_needs_two_rows_in_every_call(cls):
    X, y = np.eye(4), np.array([0, 1, 0, 1])
    if cls is NFMRegressor:  # (a classifier needs 2 classes, so 2 rows)
        with pytest.raises(ValueError, match="batch_norm=True needs 2 training rows"):
            cls(batch_norm=True).fit(X[:1], y[:1])
    model = cls(batch_norm=True, max_epochs=1, random_state=0)
    model.partial_fit(X, y, **({"classes": [0, 1]} if cls is DLRMClassifier else {}))
    before = model.predict(X)
    # a one-row chunk of a stream, or a warm refit on one row
    with pytest.raises(ValueError, match="batch_norm=True needs 2 training rows"):
        model.partial_fit(X[:1], y[:1])
    with pytest.raises(ValueError, match="batch_norm=True needs 2 training rows"):
        model.set_params(warm_start=True).fit(X[:1], y[:1])
    np.testing.assert_array_equal(model.predict(X), before)
    assert model.n_iter_ == 1
