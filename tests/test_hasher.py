"""FieldHasher: stateless hashing of DataFrame columns into fields."""

import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline

from sklfi import FFMClassifier
from sklfi.datasets import make_planted_interaction
from sklfi.preprocessing import FieldEncoder, FieldHasher

KINDS = dict(categorical=["user", "site"], multi_valued=["tags"], numeric=["price"])


@pytest.fixture
def df():
    return pd.DataFrame(
        {
            "user": [10**18, 7, 7, None, 12],
            "site": ["a.com", "b.org", "a.com", "é", ""],
            "tags": ["x|y", "", None, ["x", "z"], "y|y"],
            "price": [1.5, np.nan, -2.0, 0.0, 3.0],
        }
    )


def test_each_kind(df):
    X = FieldHasher(n_features=2**8, **KINDS).fit(df).transform(df)
    assert X.shape == (5, 3 * 2**8 + 1)
    assert X.field_names == ("user", "site", "tags", "price")
    assert X.field_kinds == ("categorical", "categorical", "multi_valued", "numeric")
    dense = X.tocsr().toarray()
    user, site = dense[:, :256], dense[:, 256:512]
    tags, price = dense[:, 512:768], dense[:, -1]
    assert user.sum(1).tolist() == [1, 1, 1, 0, 1]  # a missing id: no column
    assert np.array_equal(user[1], user[2]) and not np.array_equal(user[0], user[1])
    assert np.array_equal(site[0], site[2]) and site[4].sum() == 1  # "" is a value
    assert tags.sum(1).tolist() == [2, 0, 0, 2, 2]
    assert tags[4].max() == 2  # an item twice in a row counts twice
    # standardised as FieldEncoder standardises it, a missing value 0
    encoded = FieldEncoder(numeric=["price"]).fit_transform(df).tocsr().toarray()
    np.testing.assert_array_equal(price, encoded[:, 0])
    mean, std = np.nanmean(df.price), np.nanstd(df.price)
    np.testing.assert_allclose(price, np.nan_to_num((df.price - mean) / std))


def test_chunks_are_encoded_as_the_whole(df):
    hasher = FieldHasher(n_features=2**8, **KINDS).fit(df)
    whole = hasher.transform(df)
    parts = [hasher.transform(df.iloc[:2]), hasher.transform(df.iloc[2:])]
    assert (whole.tocsr() != sp.vstack([p.tocsr() for p in parts])).nnz == 0
    assert all(np.array_equal(p.fields, whole.fields) for p in parts)
    # an id read as a float in a chunk with missing values lands in the same
    # column as the integer
    ints = hasher.transform(df.assign(user=[1, 2, 3, 4, 5]))
    floats = hasher.transform(df.assign(user=[1.0, 2.0, 3.0, 4.0, np.nan]))
    assert (ints.tocsr()[:4, :256] != floats.tocsr()[:4, :256]).nnz == 0


def test_the_same_columns_in_another_process(df):
    df = df.assign(site=["a.com", "\ud800", "a.com", "\udcff", "b\udfff"])
    code = (
        "import pickle, sys, pandas as pd; from sklfi.preprocessing import "
        "FieldHasher; df = pickle.loads(sys.stdin.buffer.read()); "
        f"X = FieldHasher(n_features=2**20, **{KINDS!r}).fit(df).transform(df); "
        "sys.stdout.buffer.write(pickle.dumps(X.tocsr()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], input=pickle.dumps(df), capture_output=True,
        check=True,
    )  # fmt: skip
    theirs = pickle.loads(out.stdout)
    ours = FieldHasher(n_features=2**20, **KINDS).fit(df).transform(df).tocsr()
    assert (ours != theirs).nnz == 0


def test_bad_input(df):
    with pytest.raises(TypeError, match="mixes values of several types"):
        FieldHasher(categorical=["x"]).transform(pd.DataFrame({"x": [1, "1"]}))
    with pytest.raises(ValueError, match="numeric column 'site' holds non-numbers"):
        FieldHasher(numeric=["site"]).transform(df)
    with pytest.raises(ValueError, match="n_features"):
        FieldHasher(n_features=0).transform(df)
    with pytest.raises(ValueError, match="'nope' given in categorical"):
        FieldHasher(categorical=["nope"]).transform(df)


def test_learns_the_planted_interaction_from_hashed_ids():
    X, y = make_planted_interaction(n_samples=6000, random_state=0)
    model = make_pipeline(FieldHasher(n_features=2**12), FFMClassifier(random_state=0))
    model.fit(X[:4000], y[:4000])
    assert roc_auc_score(y[4000:], model.predict_proba(X[4000:])[:, 1]) >= 0.85
    # the columns of a call are described once, not rebuilt
    hasher = model[0]
    assert hasher.transform(X[:5])._fields is hasher.transform(X[5:9])._fields


def test_the_columns_of_ordinary_values_do_not_change():
    # pinned: a model trained on hashed columns must meet the same ones later
    df = pd.DataFrame({"site": ["a.com", "é", "日本", "\U0001f600", "", "12"],
                       "ünï": [10**18, 7, 3, 12.0, -1, 0]})  # fmt: skip
    X = FieldHasher(n_features=2**20, categorical=["site", "ünï"]).transform(df)
    columns = X.tocsr().indices.reshape(-1, 2) - [0, 2**20]
    assert columns.tolist() == [
        [536661, 29773], [62304, 35588], [257963, 472060], [594348, 468878],
        [73766, 424160], [458500, 218648],
    ]  # fmt: skip


def test_lone_surrogates_are_hashed():
    # Python's "\ud800", or a file's undecodable byte read with
    # errors="surrogateescape", in the values or in a column's name
    df = pd.DataFrame(
        {
            "x": ["\ud800", "\udcff", "a", "\ud800", None],
            "tags\udcff": ["\ud800|a", "\udcff", "", None, "a"],
        }
    )
    X = FieldHasher(n_features=2**20, categorical=["x"], multi_valued=["tags\udcff"])
    csr = X.transform(df).tocsr()
    x, tags = csr[:, : 2**20], csr[:, 2**20 :]
    assert x.getnnz(axis=1).tolist() == [1, 1, 1, 1, 0]
    assert len({x[i].indices[0] for i in range(3)}) == 3  # three values
    assert x[0].indices[0] == x[3].indices[0]
    assert tags.getnnz(axis=1).tolist() == [2, 1, 0, 0, 1]
    a = tags[4].indices[0]
    assert a in tags[0].indices and tags[1].indices[0] != a


def test_columns_named_alike_as_text_are_refused():
    # 0 and "0" would make two fields named "0" with one seed: the same ids
    # in both would land in the same columns
    df = pd.DataFrame({0: ["a", "b"], "0": ["a", "c"], "price": [1.0, 2.0]})
    message = r"several columns named \['0'\] \(as text: 0, '0'\)"
    for hasher in (FieldHasher(), FieldHasher(categorical=[0], numeric=["price"])):
        with pytest.raises(ValueError, match=message):
            hasher.fit(df)
        with pytest.raises(ValueError, match=message):
            hasher.transform(df)
    X = FieldHasher().fit_transform(df.rename(columns={"0": "zero"}))
    assert X.field_names == ("0", "zero", "price")


def test_numeric_columns_need_statistics(df):
    hasher = FieldHasher(n_features=2**8, **KINDS)
    with pytest.raises(
        NotFittedError, match="no statistics for the numeric column 'price'"
    ):
        hasher.transform(df)
    # without numeric columns, nothing to learn
    X = FieldHasher(n_features=2**8, categorical=["user", "site"]).transform(df)
    assert X.shape == (5, 2**9)
    # a numeric column the statistics did not see
    inferred = FieldHasher(n_features=2**8).fit(df.drop(columns="price"))
    with pytest.raises(NotFittedError, match="column 'price': call partial_fit"):
        inferred.transform(df)


def test_partial_fit_learns_the_statistics_of_all_the_chunks():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(1e4, 3e3, 1000), "b": rng.exponential(2, 1000)})
    df.loc[rng.random(1000) < 0.2, "a"] = np.nan
    whole = FieldHasher(numeric=["a", "b"]).fit(df)
    running = FieldHasher(numeric=["a", "b"])
    for lo in range(0, 1000, 150):
        running.partial_fit(df.iloc[lo : lo + 150])
    for name in ("a", "b"):
        assert running.mean_[name] == pytest.approx(whole.mean_[name], rel=1e-12)
        assert running.scale_[name] == pytest.approx(whole.scale_[name], rel=1e-10)
    assert running.n_samples_seen_ == {"a": df.a.notna().sum(), "b": 1000}
    # a chunk with no value of a column leaves its statistics as they were
    gappy = FieldHasher(numeric=["a"])
    for chunk in ([1.0, 5.0], [np.nan, np.nan], [3.0, 9.0]):
        gappy.partial_fit(pd.DataFrame({"a": chunk}))
    assert gappy.mean_["a"] == 4.5
    assert gappy.scale_["a"] == pytest.approx(np.std([1, 5, 3, 9]), rel=1e-12)
    # fit starts afresh; partial_fit after fit goes on from it
    again = FieldHasher(numeric=["a", "b"]).fit(df.iloc[:10]).fit(df)
    assert again.mean_ == whole.mean_ and again.n_samples_seen_ == whole.n_samples_seen_


def _subscriptions(n, seed):
    """A table like a subscription service's: text categories, 0/1 flags,
    tenure in months and charges in the thousands, with missing values."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(["basic", "plus", "pro"], n)
    tenure = rng.integers(0, 72, n).astype(float)
    monthly = rng.normal(70, 30, n).clip(15)
    total = tenure * monthly + rng.normal(0, 50, n)
    logit = (
        1.5 * (plan == "basic") - 0.04 * tenure + 0.02 * (monthly - 70)
        + 0.8 * (rng.random(n) < 0.3)
    )  # fmt: skip
    df = pd.DataFrame(
        {
            "plan": plan,
            "region": rng.choice(list("abcdefgh"), n),
            "paperless": rng.integers(0, 2, n).astype(str),
            "tenure": tenure,
            "monthly": monthly,
            "total": total,
        }  # fmt: skip
    )
    df.loc[rng.random(n) < 0.05, "total"] = np.nan
    y = rng.random(n) < 1 / (1 + np.exp(-logit))
    return df, y


@pytest.mark.parametrize("model", ["FMClassifier", "DeepFMClassifier"])
def test_streaming_keeps_the_accuracy_of_the_in_memory_fit(model):
    import sklfi

    df, y = _subscriptions(6000, 0)
    test, y_test = _subscriptions(3000, 1)
    kinds = dict(categorical=["plan", "region", "paperless"],
                 numeric=["tenure", "monthly", "total"])  # fmt: skip
    memory = make_pipeline(
        FieldEncoder(**kinds), getattr(sklfi, model)(max_epochs=10, random_state=0)
    ).fit(df, y)
    auc_memory = roc_auc_score(y_test, memory.predict_proba(test)[:, 1])
    # two passes: the statistics, then training on hashed chunks
    hasher = FieldHasher(n_features=2**10, **kinds)
    chunks = [
        (df.iloc[lo : lo + 1000], y[lo : lo + 1000]) for lo in range(0, 6000, 1000)
    ]
    for chunk, _ in chunks:
        hasher.partial_fit(chunk)
    est = getattr(sklfi, model)(random_state=0)
    for _ in range(10):
        for chunk, target in chunks:
            est.partial_fit(hasher.transform(chunk), target, classes=[False, True])
    auc_stream = roc_auc_score(y_test, est.predict_proba(hasher.transform(test))[:, 1])
    assert auc_stream >= auc_memory - 0.01
