"""Weight averaging (``average``): the fitted weights are the mean of the
weights at the ends of the last epochs."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from skorch.callbacks import Callback, EarlyStopping

from sklfi import BayesianFMRegressor, DeepFMRegressor, FMClassifier, FMRegressor
from sklfi.datasets import make_planted_interaction
from sklfi.preprocessing import FieldEncoder


class Snapshots(Callback):
    """The module's parameters and buffers at the end of every epoch."""

    def initialize(self):
        self.states = []
        return self

    def on_epoch_end(self, net, **kwargs):
        state = net.module_.state_dict()
        self.states.append({k: v.detach().clone() for k, v in state.items()})


@pytest.fixture(scope="module")
def planted():
    X, y = make_planted_interaction(n_samples=800, task="regression",
                                    random_state=0)  # fmt: skip
    return FieldEncoder().fit_transform(X), y


def _state(model):
    return {k: v.detach() for k, v in model.net_.module_.state_dict().items()}


def _mean(states, key):
    return sum(s[key] for s in states) / len(states)


@pytest.mark.parametrize("average, last", [(True, 3), (2, 2), (6, 6)])
def test_the_weights_are_the_mean_of_the_last_epochs(planted, average, last):
    X, y = planted
    snaps = Snapshots()
    model = FMRegressor(max_epochs=6, average=average, random_state=0,
                        callbacks=[("snaps", snaps)]).fit(X, y)  # fmt: skip
    assert len(snaps.states) == 6
    fitted = _state(model)
    for name, _ in model.net_.module_.named_parameters():
        torch.testing.assert_close(fitted[name], _mean(snaps.states[-last:], name))
    # (the last epoch's own weights differ: averaging did something)
    assert not torch.equal(fitted["embedding.weight"],
                           snaps.states[-1]["embedding.weight"])  # fmt: skip


def test_no_averaging_keeps_the_last_epoch(planted):
    X, y = planted
    for params in ({"average": False}, {"max_epochs": 1},
                   {"early_stopping": True, "n_iter_no_change": 20}):  # fmt: skip
        snaps = Snapshots()
        settings = {"max_epochs": 4, **params}
        model = FMRegressor(random_state=0, callbacks=[("snaps", snaps)],
                            **settings).fit(X, y)  # fmt: skip
        for name, value in _state(model).items():
            assert torch.equal(value, snaps.states[-1][name]), (params, name)


def test_partial_fit_does_not_average(planted):
    X, y = planted
    snaps = Snapshots()
    model = FMClassifier(average=3, random_state=0, callbacks=[("snaps", snaps)])
    labels = (y > np.median(y)).astype(int)
    for _ in range(3):
        model.partial_fit(X, labels, classes=[0, 1])
    for name, value in _state(model).items():
        assert torch.equal(value, snaps.states[-1][name])


def test_a_warm_fit_averages_its_own_last_epochs(planted):
    X, y = planted
    snaps = Snapshots()
    model = FMRegressor(max_epochs=4, random_state=0, callbacks=[("snaps", snaps)])
    model.fit(X, y)
    model.set_params(warm_start=True, average=3).fit(X, y)
    # (the continuation initialises the callbacks again: its 4 epochs)
    assert model.n_iter_ == 8 and len(snaps.states) == 4
    weights = _state(model)["embedding.weight"]
    torch.testing.assert_close(weights, _mean(snaps.states[-3:], "embedding.weight"))


def test_batch_norm_statistics_are_averaged_too(planted):
    X, y = planted
    snaps = Snapshots()
    model = DeepFMRegressor(max_epochs=4, batch_norm=True, random_state=0,
                            callbacks=[("snaps", snaps)]).fit(X, y)  # fmt: skip
    fitted = _state(model)
    stats = [k for k in fitted if k.endswith(("running_mean", "running_var"))]
    assert stats
    for key in stats:
        torch.testing.assert_close(fitted[key], _mean(snaps.states[-2:], key))


def test_the_size_guard_counts_the_sum_of_averaging(planted, monkeypatch):
    # FM over 1,000,000 columns, 9 values a column: 5 float32 copies of the
    # table (weights, gradient, its scatter buffer, Adam's two states) and
    # the field index take 188 MB, and averaging's sum makes it 224 MB
    import sklfi._checks

    X = sp.csr_matrix((np.ones(5), (np.arange(5), np.arange(5))), (5, 10**6))
    y = np.arange(5.0)
    monkeypatch.setattr(sklfi._checks, "physical_memory", lambda: 200_000_000)
    FMRegressor(max_epochs=1, fields=np.zeros(10**6, int)).fit(X, y)
    with pytest.raises(ValueError, match="columns in 1 fields.*GiB.*Hash the ids"):
        FMRegressor(max_epochs=4, fields=np.zeros(10**6, int)).fit(X, y)
    FMRegressor(max_epochs=4, average=False, fields=np.zeros(10**6, int)).fit(X, y)
    # partial_fit, one epoch a call, never averages: no copy counted
    FMRegressor(max_epochs=4, fields=np.zeros(10**6, int)).partial_fit(X, y)
    with pytest.raises(ValueError, match="180 samples of 9 values.*fewer samples"):
        BayesianFMRegressor(fields=np.zeros(10**6, int)).fit(X, y)


def test_a_users_early_stopping_loads_its_best_epoch_after_the_averaging(planted):
    # no epoch improves on the first by the (relative) threshold of 10: the
    # user's EarlyStopping stops at epoch 8 and loads epoch 1, after the
    # averaging of epochs 6 to 8 (which its on_train_end sees done)
    X, y = planted
    snaps = Snapshots()
    stopper = EarlyStopping(monitor="train_loss", patience=7, threshold=10,
                            load_best=True)  # fmt: skip
    callbacks = [("snaps", snaps), ("stop", stopper)]
    model = FMRegressor(max_epochs=10, random_state=0, callbacks=callbacks).fit(X, y)
    assert model.n_iter_ == 8
    for name, value in _state(model).items():
        assert torch.equal(value, snaps.states[0][name]), name


def test_numpy_booleans_are_booleans(planted):
    X, y = planted
    fitted = [FMRegressor(max_epochs=4, average=a, random_state=0).fit(X, y)
              for a in (True, np.True_, False, np.False_)]  # fmt: skip
    w = [_state(m)["embedding.weight"] for m in fitted]
    assert torch.equal(w[0], w[1]) and torch.equal(w[2], w[3])
    assert not torch.equal(w[0], w[2])


class Fails(Callback):
    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == 7:
            raise RuntimeError("disk full")


def test_a_failed_warm_fit_keeps_no_copy_of_the_weights(planted):
    X, y = planted
    model = FMRegressor(max_epochs=4, random_state=0).fit(X, y)
    before = _state(model)["embedding.weight"].clone()
    with pytest.raises(RuntimeError, match="disk full"):
        model.set_params(warm_start=True, callbacks=[("fails", Fails())]).fit(X, y)
    assert dict(model.net_.callbacks_)["weight_averaging"].sums_ is None
    assert torch.equal(_state(model)["embedding.weight"], before)
