"""partial_fit and warm_start: training continued, state carried over."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from skorch.callbacks import Callback

from sklfi import MODELS, FFMClassifier, FMClassifier, FMRegressor
from sklfi.datasets import make_planted_interaction
from sklfi.metrics import _scores as scores
from sklfi.nn import LazyAdamW
from sklfi.preprocessing import FieldEncoder, FieldHasher

CLASSIFIERS = [m.classifier for m in MODELS.values()]


@pytest.fixture(scope="module")
def planted():
    X, y = make_planted_interaction(n_samples=12000, random_state=0)
    enc = FieldEncoder()
    return enc.fit_transform(X[:10000]), y[:10000], enc.transform(X[10000:]), y[10000:]


@pytest.mark.parametrize("cls", CLASSIFIERS, ids=lambda c: c.__name__)
def test_ten_chunks_learn_as_much_as_one_fit(cls, planted):
    X, y, X_test, y_test = planted
    params = dict(batch_size=64, random_state=0)
    whole = cls(max_epochs=3, **params).fit(X, y)
    chunked = cls(**params)
    chunks = np.array_split(np.arange(len(y)), 10)
    order = np.random.default_rng(0)
    for _ in range(3):  # passes, each over the chunks in another order
        for k in order.permutation(10):
            chunked.partial_fit(X[chunks[k]], y[chunks[k]], classes=[0, 1])
    assert chunked.n_iter_ == 30
    auc = [roc_auc_score(y_test, scores(m, X_test)) for m in (whole, chunked)]
    assert abs(auc[0] - auc[1]) <= 0.005, auc


@pytest.mark.parametrize("cls", [FMClassifier, FFMClassifier, FMRegressor])
def test_continued_training_is_one_longer_training(cls, planted):
    # the weights, the optimizer state and the random stream carry over, so
    # 2 epochs then 2 more are 4 epochs, to the last bit (without weight
    # averaging, which averages each fit's own last epochs)
    X, y, X_test, _ = planted
    four = cls(max_epochs=4, average=False, random_state=0).fit(X, y)
    warm = cls(max_epochs=2, average=False, random_state=0).fit(X, y)
    net = warm.net_
    warm.set_params(warm_start=True).fit(X, y)
    assert warm.net_ is net and warm.n_iter_ == 4
    np.testing.assert_array_equal(scores(warm, X_test), scores(four, X_test))
    passes = cls(max_epochs=4, random_state=0)  # partial_fit: one pass a call
    for _ in range(2):
        passes.partial_fit(X, y, **({} if cls is FMRegressor else {"classes": [0, 1]}))
    two = cls(max_epochs=2, random_state=0).fit(X, y)
    np.testing.assert_array_equal(scores(passes, X_test), scores(two, X_test))


def test_the_optimizer_state_carries_over(planted):
    X, y, _, _ = planted
    model = FMClassifier(batch_size=1000).partial_fit(X[:3000], y[:3000], [0, 1])
    weight = model.net_.module_.embedding.weight
    assert int(model.net_.optimizer_.state[weight]["step"]) == 3
    model.partial_fit(X[3000:5000], y[3000:5000])
    assert int(model.net_.optimizer_.state[weight]["step"]) == 5


class Crash(Callback):
    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == 3:
            raise RuntimeError("boom")


def test_a_failed_warm_fit_leaves_the_model_as_it_was(planted):
    X, y, X_test, _ = planted
    model = FMClassifier(max_epochs=2, random_state=0).fit(X, y)
    before = scores(model, X_test)
    weight = model.net_.module_.embedding.weight
    state = model.net_.optimizer_.state[weight]["exp_avg"].clone()
    model.set_params(warm_start=True, callbacks=[("crash", Crash())])
    with pytest.raises(RuntimeError, match="boom"):
        model.fit(X, y)
    np.testing.assert_array_equal(scores(model, X_test), before)
    assert model.n_iter_ == 2 and len(model.net_.history) == 2
    assert torch.equal(model.net_.optimizer_.state[weight]["exp_avg"], state)


def test_incremental_training_checks_its_input(planted):
    X, y, _, _ = planted
    with pytest.raises(ValueError, match="first call to partial_fit needs classes"):
        FMClassifier().partial_fit(X, y)
    with pytest.raises(ValueError, match="not among the classes"):
        FMClassifier().partial_fit(X, y + 1, classes=[0, 1])
    model = FMClassifier().partial_fit(X[:100], y[:100], classes=[0, 1, 2])
    assert list(model.classes_) == [0, 1, 2]  # all classes, whatever y holds
    with pytest.raises(ValueError, match="differ from the classes of the first"):
        model.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="expecting 80 features"):
        model.partial_fit(X.tocsr()[:, :10], y)
    with pytest.raises(ValueError, match="classes is for classifiers"):
        FMRegressor().partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="does not hold rows out"):
        FMClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1])
    warm = FMClassifier(max_epochs=1, warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match="not among the classes"):
        warm.fit(X, y + 5)
    assert clone(warm).fit(X, y + 5).classes_.tolist() == [5, 6]  # a fresh fit


def test_what_may_change_between_a_fit_and_its_continuation(planted):
    X, y, _, _ = planted
    model = FMClassifier(max_epochs=1, warm_start=True).fit(X, y)
    model.set_params(lr=0.001, max_epochs=2).fit(X, y)  # a smaller step, 2 more
    assert model.n_iter_ == 3
    assert model.net_.optimizer_.param_groups[0]["lr"] == 0.001
    model.set_params(embedding_dim=4)
    with pytest.raises(ValueError, match=r"\['embedding_dim'\] changed"):
        model.fit(X, y)
    with pytest.raises(ValueError, match=r"\['embedding_dim'\] changed"):
        model.partial_fit(X, y)
    assert model.n_iter_ == 3
    assert model.set_params(warm_start=False).fit(X, y).n_iter_ == 2  # afresh


def test_a_file_streamed_in_chunks(tmp_path):
    # written and read chunk by chunk, hashed chunk by chunk: the same model
    # as the same chunks from memory, and it learns the planted pair
    X, y = make_planted_interaction(n_samples=6000, random_state=1)
    log = X.assign(click=y)
    path = tmp_path / "log.csv"
    for start in range(0, 5000, 1000):
        log.iloc[start : start + 1000].to_csv(
            path, mode="a", header=start == 0, index=False
        )
    hasher = FieldHasher(n_features=2**10)
    streamed = FFMClassifier(batch_size=100, random_state=0)
    in_memory = clone(streamed)
    for _ in range(2):
        for chunk in pd.read_csv(path, chunksize=1000, dtype=str):
            streamed.partial_fit(
                hasher.transform(chunk.drop(columns="click")),
                chunk["click"].astype(int), classes=[0, 1],
            )  # fmt: skip
        for start in range(0, 5000, 1000):
            part = log.iloc[start : start + 1000]
            in_memory.partial_fit(
                hasher.transform(part.drop(columns="click")), part["click"],
                classes=[0, 1],
            )  # fmt: skip
    test = hasher.transform(X[5000:])
    np.testing.assert_array_equal(scores(streamed, test), scores(in_memory, test))
    assert roc_auc_score(y[5000:], scores(streamed, test)) > 0.85


@pytest.mark.parametrize("cls", CLASSIFIERS, ids=lambda c: c.__name__)
def test_sparse_updates_learn_the_planted_pair(cls, planted):
    X, y, X_test, y_test = planted
    model = cls(sparse_updates=True, random_state=0).fit(X, y)
    assert isinstance(model.net_.optimizer_, LazyAdamW)
    assert roc_auc_score(y_test, scores(model, X_test)) >= 0.85


def test_sparse_updates_when_the_table_is_large(planted):
    X, y, _, _ = planted
    wide = sp.hstack([X.tocsr(), sp.csr_matrix((X.shape[0], 2**19))]).tocsr()
    fields = np.r_[X.fields, np.full(2**19, X.fields.max() + 1)]
    auto = FMClassifier(max_epochs=1, fields=fields).fit(wide, y)  # 2**19 x 9 values
    assert auto.net_.module_.embedding.sparse
    assert not FMClassifier(max_epochs=1).fit(X, y).net_.module_.embedding.sparse
    with pytest.raises(ValueError, match="sparse updates need optimizer 'adam'"):
        FMClassifier(sparse_updates=True, optimizer="sgd").fit(X, y)


@pytest.mark.parametrize("optimizer", ["adam", "adamw"])
def test_a_pickled_stream_with_sparse_updates_carries_on(planted, optimizer):
    # the lazy optimizer's state (its kind of decay, its exact counters)
    # travels with the model: the pickle continues as the original does
    import pickle

    X, y, X_test, _ = planted
    model = FMClassifier(sparse_updates=True, optimizer=optimizer, weight_decay=0.01,
                         random_state=0)  # fmt: skip
    model.partial_fit(X[:3000], y[:3000], classes=[0, 1])
    again = pickle.loads(pickle.dumps(model))
    for m in (model, again):
        m.partial_fit(X[3000:6000], y[3000:6000])
    np.testing.assert_array_equal(scores(again, X_test), scores(model, X_test))
    state = next(s for s in again.net_.optimizer_.state.values() if "last" in s)
    assert isinstance(state["step"], int) and state["last"].dtype == torch.int64
