"""FieldHasher: stateless hashing of DataFrame columns into fields."""

import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline

from sklfi import FFMClassifier
from sklfi.datasets import make_planted_interaction
from sklfi.preprocessing import FieldHasher

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
    X = FieldHasher(n_features=2**8, **KINDS).transform(df)
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
    np.testing.assert_array_equal(price, [1.5, 0.0, -2.0, 0.0, 3.0])


def test_chunks_are_encoded_as_the_whole(df):
    hasher = FieldHasher(n_features=2**8, **KINDS)
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
        f"X = FieldHasher(n_features=2**20, **{KINDS!r}).transform(df); "
        "sys.stdout.buffer.write(pickle.dumps(X.tocsr()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], input=pickle.dumps(df), capture_output=True,
        check=True,
    )  # fmt: skip
    theirs = pickle.loads(out.stdout)
    ours = FieldHasher(n_features=2**20, **KINDS).transform(df).tocsr()
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
    X = FieldHasher().transform(df.rename(columns={"0": "zero"}))
    assert X.field_names == ("0", "zero", "price")
