"""sklfi.io: exact round trips of every estimator and transformer, training
on after loading, loading on the CPU what a GPU trained, and the committed
file of format version 1 (the refusals: ``test_io_refusals.py``).

``python tests/test_io.py`` writes the committed fixture again (only when the
format changes on purpose: the test reads it as a file of version 1).
"""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import Callback

import sklfi.io
from sklfi import (
    MODELS,
    BayesianFMClassifier,
    BayesianFMRegressor,
    DeepFMClassifier,
    FMClassifier,
    WideDeepClassifier,
)
from sklfi.preprocessing import (
    FieldCrosser,
    FieldEncoder,
    FieldHasher,
    MovieLensFeatures,
)

FIXTURE = Path(__file__).parent / "data" / "io_fixture_v1"
SGD = [m.classifier for m in MODELS.values()] + [m.regressor for m in MODELS.values()]


def frame(n, seed=0):
    """One-hot, multi-valued and numeric columns."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "user": rng.choice(["ann", "bob", "cy", "dee", "é"], n),
            "genres": rng.choice(["x|y", "y", "z|x", "x", ""], n),
            "age": rng.normal(30, 10, n),
        }
    )


@pytest.fixture(scope="module")
def data():
    df = frame(240)
    encoder = FieldEncoder(["user"], ["genres"], ["age"]).fit(df)
    X = encoder.transform(df)
    rng = np.random.default_rng(1)
    labels = np.array(["no", "yes"])[rng.integers(0, 2, len(df))]
    return df, X, labels, rng.normal(size=len(df))


def round_trip(obj, tmp_path, **kwargs):
    path = tmp_path / "model.sklfi"
    sklfi.io.save(obj, path)
    return sklfi.io.load(path, **kwargs)


def assert_same_params(a, b):
    pa, pb = a.get_params(deep=False), b.get_params(deep=False)
    assert pa.keys() == pb.keys()
    for name in pa:
        assert type(pa[name]) is type(pb[name]) and repr(pa[name]) == repr(pb[name])


def assert_same_outputs(a, b, X):
    for method in ("predict", "predict_proba", "decision_function"):
        if hasattr(a, method):
            expected, got = getattr(a, method)(X), getattr(b, method)(X)
            assert got.dtype == expected.dtype
            np.testing.assert_array_equal(got, expected)


def assert_same_matrix(A, B):
    a, b = A.tocsr(), B.tocsr()
    for part in ("data", "indices", "indptr"):
        np.testing.assert_array_equal(getattr(b, part), getattr(a, part))
    assert A.shape == B.shape and A.field_names == B.field_names
    assert A.field_kinds == B.field_kinds
    np.testing.assert_array_equal(B.fields, A.fields)
    np.testing.assert_array_equal(B.feature_names, A.feature_names)


@pytest.mark.parametrize("cls", SGD + [BayesianFMClassifier, BayesianFMRegressor])
def test_round_trip_is_exact_and_training_goes_on(cls, data, tmp_path):
    _, X, labels, values = data
    classifier = "Classifier" in cls.__name__
    y = labels if classifier else values
    if cls in SGD:
        params = dict(max_epochs=2, embedding_dim=3, random_state=0)
        if cls in (WideDeepClassifier, MODELS["widedeep"].regressor):
            params["crosses"] = [("user", "genres")]
    else:
        params = dict(n_iter=4, n_burn_in=1, embedding_dim=3, random_state=0)
    model = cls(**params).fit(X, y)
    state = torch.get_rng_state()
    loaded = round_trip(model, tmp_path)
    assert torch.equal(torch.get_rng_state(), state)  # (loading draws nothing)
    assert type(loaded) is cls
    assert_same_params(model, loaded)
    assert_same_outputs(model, loaded, X)
    assert loaded.n_iter_ == model.n_iter_
    assert loaded.field_names_ == model.field_names_
    if classifier:
        assert loaded.classes_.dtype == model.classes_.dtype
        np.testing.assert_array_equal(loaded.classes_, model.classes_)
    if cls in SGD:
        # training goes on as the saved model's would, with a fresh optimizer
        # (the same weights, random streams, batches and history)
        assert loaded.net_.batch_size == model.net_.batch_size
        model.net_.initialize_optimizer()
        for est in (model, loaded):
            est.partial_fit(X[:100], y[:100])
        assert loaded.n_iter_ == model.n_iter_ == params["max_epochs"] + 1
        assert_same_outputs(model, loaded, X)


def test_afm_attributes_and_dlrm_numeric_fields(data, tmp_path):
    _, X, labels, _ = data
    afm = MODELS["afm"].classifier(max_epochs=1, random_state=0).fit(X, labels)
    loaded = round_trip(afm, tmp_path)
    pd.testing.assert_series_equal(
        loaded.field_pair_importances_, afm.field_pair_importances_
    )
    dlrm = MODELS["dlrm"].regressor(max_epochs=1, random_state=0).fit(X, range(240))
    loaded = round_trip(dlrm, tmp_path)
    assert loaded.numeric_fields_ == dlrm.numeric_fields_ == ("age",)
    assert (loaded._y_mean, loaded._y_scale) == (dlrm._y_mean, dlrm._y_scale)


def test_multiclass_with_integer_labels(data, tmp_path):
    _, X, _, _ = data
    y = np.arange(240) % 3
    model = DeepFMClassifier(max_epochs=1, random_state=0).fit(X, y)
    loaded = round_trip(model, tmp_path)
    assert loaded.classes_.dtype == y.dtype and loaded.predict_proba(X).shape[1] == 3
    assert_same_outputs(model, loaded, X)
    loaded.partial_fit(X, y)


def test_widedeep_crosses_partial_fit_warm_start_and_refit(data, tmp_path):
    _, X, labels, _ = data
    model = WideDeepClassifier(
        crosses=[("user", "genres")], max_epochs=2, dropout=0.5, random_state=0
    ).fit(X, labels)
    loaded = round_trip(model, tmp_path)
    assert_same_matrix(model.crosser_.transform(X), loaded.crosser_.transform(X))
    assert_same_outputs(model, loaded, X)
    before = model.predict_proba(X)
    loaded.partial_fit(X, labels)
    loaded.set_params(warm_start=True, max_epochs=1).fit(X, labels)
    assert loaded.n_iter_ == 4 and len(loaded.net_.history) == 4
    assert not np.array_equal(loaded.predict_proba(X), before)
    np.testing.assert_array_equal(model.predict_proba(X), before)  # (untouched)
    # a refit starts afresh, as the saved model's would
    refit = loaded.set_params(warm_start=False, max_epochs=2).fit(X, labels)
    np.testing.assert_array_equal(refit.predict_proba(X), before)
    # a parameter that shaped the model still may not change in a continuation
    with pytest.raises(ValueError, match="embedding_dim"):
        loaded.set_params(embedding_dim=4).partial_fit(X, labels)


def test_pipeline_from_dataframe(data, tmp_path):
    df, _, labels, _ = data
    pipe = make_pipeline(
        FieldEncoder(multi_valued=["genres"], categorical=["user"], numeric=["age"]),
        MODELS["nfm"].classifier(max_epochs=1, random_state=0),
    ).fit(df, labels)
    loaded = round_trip(pipe, tmp_path)
    assert list(loaded.named_steps) == list(pipe.named_steps)
    assert_same_outputs(pipe, loaded, frame(50, seed=3))


def test_unfitted_estimator_keeps_its_parameters(data, tmp_path):
    model = DeepFMClassifier(hidden_layer_sizes=(5, 4), fields=[0, 0, 1], lr=0.1)
    loaded = round_trip(model, tmp_path)
    assert_same_params(model, loaded)
    with pytest.raises(NotFittedError):
        check_is_fitted(loaded)
    assert loaded.__dict__.keys() == model.__dict__.keys()
    encoder = round_trip(FieldEncoder(categorical=["user"]), tmp_path)
    assert encoder.get_params() == FieldEncoder(categorical=["user"]).get_params()


class Noop(Callback):
    pass


def test_a_model_trained_with_callbacks_saves_without_them(data, tmp_path):
    _, X, labels, _ = data
    model = FMClassifier(max_epochs=1, callbacks=[Noop()], random_state=0)
    model.fit(X, labels).set_params(callbacks=None)
    loaded = round_trip(model, tmp_path)
    assert_same_outputs(model, loaded, X)
    loaded.set_params(callbacks=[Noop()]).partial_fit(X, labels)


def test_field_encoder_and_crosser(data, tmp_path):
    df = frame(60).assign(
        flag=[True, False] * 30,
        kind=pd.Categorical(["p", "q", "r"] * 20),
        code=[7, 8, 9, 10, 11, 12] * 10,
    )
    encoder = FieldEncoder(["user", "flag", "kind", "code"], ["genres"], ["age"])
    new = frame(20, seed=5).assign(
        flag=True, kind=pd.Categorical(["q"] * 20), code=np.arange(20)
    )
    expected = encoder.fit(df).transform(new)  # (a few rows: a cache is made)
    loaded = round_trip(encoder, tmp_path)
    for name, categories in encoder.categories_.items():
        pd.testing.assert_index_equal(loaded.categories_[name], categories, exact=True)
    assert_same_matrix(expected, loaded.transform(new))
    assert_same_matrix(encoder.transform(df), loaded.transform(df))
    X = encoder.transform(df)
    crosser = FieldCrosser([("user", "genres"), ("kind", "flag", "code")]).fit(X)
    assert_same_matrix(crosser.transform(X), round_trip(crosser, tmp_path).transform(X))


def test_field_hasher(tmp_path):
    df = pd.DataFrame(
        {"site": ["a", "b", None, "é"], "tags": ["x|y", "", None, ["z"]],
         "price": [1.5, np.nan, -2.0, 0.0], "user": [10**18, 7, 7, 12]}
    )  # fmt: skip
    hasher = FieldHasher(n_features=2**16, categorical=["site", "user"],
                         multi_valued=["tags"], numeric=["price"])  # fmt: skip
    expected = hasher.fit(df).transform(df)
    assert_same_matrix(expected, round_trip(hasher, tmp_path).transform(df))
    # (the fields it caches, 8 bytes a column, are not written)
    assert (tmp_path / "model.sklfi").stat().st_size < 20_000


def test_movielens_features(movielens, tmp_path):
    ratings = movielens.ratings.iloc[:400]
    groups = list(MovieLensFeatures()._select_groups(True)) + [
        "gender", "age", "age_bucket", "occupation", "zip3", "genres", "year",
        "decade", "user_genre_rating", "user_genre_share", "last_item",
        "user_items", "item_users",
    ]  # fmt: skip
    features = MovieLensFeatures(
        movielens.users, movielens["items"], groups=groups, max_history=5
    ).fit(ratings)
    loaded = round_trip(features, tmp_path)
    pd.testing.assert_frame_equal(loaded.items, features.items)
    pd.testing.assert_frame_equal(loaded.users, features.users)
    later = movielens.ratings.iloc[300:600]
    assert_same_matrix(features.transform(later), loaded.transform(later))
    assert loaded.groups_ == features.groups_


@pytest.mark.skipif(torch.cuda.is_available(), reason="loads on the GPU there")
def test_model_saved_on_a_gpu_loads_on_the_cpu(data, tmp_path):
    _, X, labels, _ = data
    model = DeepFMClassifier(max_epochs=1, random_state=0).fit(X, labels)
    # as a fit on a GPU leaves it: its device, and a stream of the device's
    model.device = model._built_with["device"] = "cuda"
    model._streams = (model._streams[0], torch.zeros(16, dtype=torch.uint8))
    path = tmp_path / "gpu.sklfi"
    sklfi.io.save(model, path)
    with pytest.warns(UserWarning, match="loaded on the CPU"):
        loaded = sklfi.io.load(path)
    assert loaded.device == "cpu" and loaded._streams[1] is None
    model.device = "cpu"
    assert_same_outputs(model, loaded, X)
    loaded.partial_fit(X, labels)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sklfi.io.load(path, device="cpu").device == "cpu"


# -- the committed file: a change of format that breaks it is caught ----------
def fixture_model():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "user": rng.choice(["u1", "u2", "u3", "u4"], 30),
            "genres": rng.choice(["a|b", "b", "c|a"], 30),
            "age": rng.integers(18, 60, 30).astype(float),
        }
    )
    y = np.array(["click", "skip"])[rng.integers(0, 2, 30)]
    model = make_pipeline(
        FieldEncoder(multi_valued=["genres"], categorical=["user"], numeric=["age"]),
        FMClassifier(embedding_dim=2, max_epochs=1, random_state=0),
    )
    return model.fit(df, y), df.iloc[:5]


def test_committed_file_of_version_1_loads():
    expected = json.loads(FIXTURE.with_suffix(".json").read_text())
    model = sklfi.io.load(FIXTURE.with_suffix(".sklfi"))
    X = pd.DataFrame(expected["X"])
    assert model.classes_.tolist() == expected["classes"]
    np.testing.assert_allclose(model.predict_proba(X), expected["predict_proba"],
                               rtol=0, atol=1e-6)  # fmt: skip


if __name__ == "__main__":  # write the committed fixture again
    model, rows = fixture_model()
    FIXTURE.parent.mkdir(exist_ok=True)
    sklfi.io.save(model, FIXTURE.with_suffix(".sklfi"))
    expected = {
        "X": rows.to_dict(orient="list"),
        "classes": model.classes_.tolist(),
        "predict_proba": model.predict_proba(rows).tolist(),
    }
    FIXTURE.with_suffix(".json").write_text(json.dumps(expected, indent=1) + "\n")
