"""FieldEncoder and FieldMatrix."""

import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from sklfi import FieldMatrix
from sklfi.preprocessing import FieldEncoder


@pytest.fixture
def df():
    return pd.DataFrame(
        {
            "user": ["u1", "u2", "u1", None],
            "genres": ["Action|Comedy", "Drama", None, "Comedy"],
            "tags": [["a"], ["a", "b"], [], ["c"]],
            "age": [20.0, 30.0, np.nan, 50.0],
            "active": [True, False, True, True],
        }
    )


def test_encodes_each_kind(df):
    enc = FieldEncoder(
        categorical=["user", "active"], multi_valued=["genres", "tags"], numeric=["age"]
    )
    X = enc.fit_transform(df)
    assert isinstance(X, FieldMatrix)
    # fields follow the DataFrame's column order
    assert X.field_names == ("user", "genres", "tags", "age", "active")
    assert X.field_kinds == (
        "categorical",
        "multi_valued",
        "multi_valued",
        "numeric",
        "categorical",
    )
    names = enc.get_feature_names_out().tolist()
    assert names == [
        "user=u1",
        "user=u2",
        "genres=Action",
        "genres=Comedy",
        "genres=Drama",
        "tags=a",
        "tags=b",
        "tags=c",
        "age",
        "active=False",
        "active=True",
    ]
    dense = X.tocsr().toarray()
    mean, std = np.mean([20, 30, 50]), np.std([20, 30, 50])
    expected = np.array(
        [
            [1, 0, 1, 1, 0, 1, 0, 0, (20 - mean) / std, 0, 1],
            [0, 1, 0, 0, 1, 1, 1, 0, (30 - mean) / std, 1, 0],
            [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],  # missing genres, tags, age
            [0, 0, 0, 1, 0, 0, 0, 1, (50 - mean) / std, 0, 1],  # missing user
        ]
    )
    np.testing.assert_allclose(dense, expected)
    np.testing.assert_array_equal(X.fields, [0, 0, 1, 1, 1, 2, 2, 2, 3, 4, 4])
    assert X.feature_names.tolist() == names


def test_infers_kinds_from_dtypes_when_no_list_given(df):
    enc = FieldEncoder().fit(df)
    assert enc.field_kinds_ == (
        "categorical",
        "categorical",
        "multi_valued",
        "numeric",
        "categorical",
    )


def test_columns_in_no_list_are_dropped(df):
    X = FieldEncoder(categorical=["user"], numeric=["age"]).fit_transform(df)
    assert X.field_names == ("user", "age")


def test_unknown_categories_ignored_or_error(df):
    enc = FieldEncoder(categorical=["user"], multi_valued=["genres"]).fit(df)
    new = pd.DataFrame({"user": ["u9"], "genres": ["Horror|Drama"]})
    row = enc.transform(new).tocsr().toarray()[0]
    np.testing.assert_array_equal(row, [0, 0, 0, 0, 1])  # only Drama is known
    strict = FieldEncoder(
        categorical=["user"], multi_valued=["genres"], handle_unknown="error"
    ).fit(df)
    with pytest.raises(ValueError, match="'user' has categories unseen in fit"):
        strict.transform(new)


def test_bad_input(df):
    with pytest.raises(ValueError, match="'nope' given in categorical is not in"):
        FieldEncoder(categorical=["nope"]).fit(df)
    with pytest.raises(ValueError, match="listed in both"):
        FieldEncoder(categorical=["user"], numeric=["user"]).fit(df)
    with pytest.raises(ValueError, match="0 samples"):
        FieldEncoder().fit(df.iloc[:0])
    with pytest.raises(ValueError, match="numeric column 'user' holds non-numbers"):
        FieldEncoder(numeric=["user"]).fit(df)
    with pytest.raises(ValueError, match="missing the columns"):
        FieldEncoder().fit(df).transform(df.drop(columns="age"))
    with pytest.raises(ValueError, match="handle_unknown"):
        FieldEncoder(handle_unknown="skip").fit(df)


def test_field_matrix_row_indexing_keeps_fields(df):
    X = FieldEncoder().fit_transform(df)
    for sub in (
        X[[0, 2]],
        X[np.array([True, False, True, False])],
        X[1:3],
        X[[0, 2], ...],
        X[0],
    ):
        assert sub.field_names == X.field_names
        np.testing.assert_array_equal(sub.fields, X.fields)
    np.testing.assert_array_equal(
        X[[2, 0]].tocsr().toarray(), X.tocsr().toarray()[[2, 0]]
    )
    train, test = train_test_split(X, test_size=2, random_state=0)
    assert isinstance(train, FieldMatrix) and train.shape == (2, X.shape[1])
    again = pickle.loads(pickle.dumps(X))
    assert again.field_kinds == X.field_kinds
    with pytest.raises(IndexError, match="row indexing only"):
        X[:, 0]


def test_field_matrix_is_not_silently_densified(df):
    X = FieldEncoder().fit_transform(df)
    with pytest.raises(TypeError, match="tocsr"):
        LogisticRegression().fit(X, [0, 1, 0, 1])
    LogisticRegression().fit(X.tocsr(), [0, 1, 0, 1])


def test_field_matrix_from_plain_data_infers_kinds():
    X = sp.csr_matrix(
        np.array([[1, 0, 1, 1, 0.5], [0, 1, 0, 1, 2.0], [1, 0, 1, 0, -1.0]])
    )
    fm = FieldMatrix(X, fields=[0, 0, 1, 1, 2], field_names=["u", "g", "x"])
    assert fm.field_kinds == ("categorical", "multi_valued", "numeric")
    assert "3 fields: u, g, x" in repr(fm)
    with pytest.raises(ValueError, match="field_names has 2 entries"):
        FieldMatrix(X, fields=[0, 0, 1, 1, 2], field_names=["u", "g"])
    with pytest.raises(ValueError, match="unknown field kinds"):
        FieldMatrix(X, fields=[0, 0, 1, 1, 2], field_kinds=["a", "b", "c"])
