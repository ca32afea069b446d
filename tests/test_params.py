"""Every hyperparameter of every estimator: an invalid value is a clear
ValueError or TypeError naming the parameter, raised by fit before any work;
unusual valid values work."""

import numpy as np
import pytest
import torch
from skorch.callbacks import EpochTimer

from sklfi import MODELS

ESTIMATORS = [cls for m in MODELS.values() for cls in (m.classifier, m.regressor)]
SIZES = [64, (0,), (-1, 4), ("a",), (1.5,), [[64]], True]

#: Invalid values of every parameter of every estimator (a test fails for a
#: parameter missing here).
INVALID = {
    "embedding_dim": [0, -1, 2.5, "8", None],
    "fields": ["abc", 3],
    "lr": [0, -0.1, "fast", None],
    "weight_decay": [-1e-3, "x"],
    "optimizer": ["rmsprop", "Adam", 3, object()],
    "max_epochs": [0, 1.5, "10"],
    "average": [0, -1, 1.5, "last"],
    "batch_size": [0, -5, "big", 32.0],
    "early_stopping": ["yes", 2],
    "validation_fraction": [0, 1, 1.5, "x"],
    "n_iter_no_change": [0, 2.5],
    "warm_start": ["yes", 2],
    "sparse_updates": ["yes", 2],
    "callbacks": ["x", [3], [("timer", dict)], ("a", EpochTimer())],
    "random_state": ["seed", 1.5],
    "device": ["gpu", 3],
    "accelerator": ["cpu", object()],
    "verbose": [-1, "loud"],
    "hidden_layer_sizes": SIZES,
    "bottom_layer_sizes": SIZES,
    "dropout": [-0.1, 1.0, "x"],
    "batch_norm": ["no", 0],
    "attention_dim": [0, 2.5],
    "attention_weight_decay": [-1, "x"],
    "crosses": ["a", 3],
    "numeric_fields": ["price", 3],
    "interaction": ["sum", 1],
}

CASES = [
    (cls, name, value)
    for cls in ESTIMATORS
    for name in cls().get_params()
    for value in INVALID.get(name, [])
]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(40, 4)), np.arange(40) % 2


@pytest.mark.parametrize(
    "cls, name, value", CASES, ids=lambda v: getattr(v, "__name__", repr(v))
)
def test_invalid_value_names_the_parameter(cls, name, value, data, monkeypatch):
    trained = []
    monkeypatch.setattr(cls, "_build_net", lambda *args: trained.append(1))
    est = cls().set_params(**{name: value})
    with pytest.raises((ValueError, TypeError), match=f"'?{name}'?"):
        est.fit(*data)
    assert not trained  # rejected before any training


def test_every_parameter_has_invalid_values_listed():
    names = {name for cls in ESTIMATORS for name in cls().get_params()}
    assert names == set(INVALID)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_unusual_valid_values_are_accepted(cls, data):
    own = cls().get_params()
    params = dict(
        embedding_dim=np.int64(3), batch_size=np.int64(16), max_epochs=1,
        optimizer=torch.optim.RMSprop, device=torch.device("cpu"),
        callbacks=[("timer2", EpochTimer())], random_state=np.random.RandomState(0),
        hidden_layer_sizes=np.array([4]), bottom_layer_sizes=(), dropout=0.0,
        batch_norm=True, crosses=[], numeric_fields=[],
    )  # fmt: skip
    est = cls(**{k: v for k, v in params.items() if k in own}).fit(*data)
    assert est.predict(data[0]).shape == (40,)
    assert "timer2" in dict(est.net_.callbacks_)
