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


@pytest.mark.parametrize(
    "values, match",
    [
        ([1, "1", 1.0, True], r"mixes values of several types \(bool, number, str\)"),
        (["a", 1, "b", 2], r"\(number, str\)"),
        ([True, 0, False, 1], r"\(bool, number\)"),
    ],
)
def test_a_column_mixing_value_types_is_an_error(values, match):
    with pytest.raises(TypeError, match=match):
        FieldEncoder(categorical=["x"]).fit(pd.DataFrame({"x": values}))
    # numbers of both int and float types are one kind: 1 and 1.0 are 1
    enc = FieldEncoder(categorical=["x"]).fit(pd.DataFrame({"x": [1, 1.0, 2.5]}))
    assert enc.categories_["x"].tolist() == [1.0, 2.5]


def test_empty_items_of_a_multi_valued_column_are_no_category():
    df = pd.DataFrame({"tags": ["a|", "", "b||c", None, ["d", ""]]})
    enc = FieldEncoder(multi_valued=["tags"])
    X = enc.fit_transform(df)
    assert enc.categories_["tags"].tolist() == ["a", "b", "c", "d"]
    assert X.tocsr().toarray().tolist() == [
        [1, 0, 0, 0], [0, 0, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0], [0, 0, 0, 1],
    ]  # fmt: skip


def test_strings_and_lists_in_one_column():
    df = pd.DataFrame({"tags": ["a|b", ["c"], None, "c"]})
    enc = FieldEncoder()  # inferred from every value, not the first
    assert enc.fit(df).field_kinds_ == ("multi_valued",)
    assert enc.categories_["tags"].tolist() == ["a", "b", "c"]
    with pytest.raises(TypeError, match="holds lists; give it in multi_valued"):
        FieldEncoder(categorical=["tags"]).fit(df)


def test_duplicate_column_labels_are_an_error():
    df = pd.DataFrame([[1, 2, 3]], columns=["a", "b", "a"])
    with pytest.raises(ValueError, match=r"several columns named \['a'\]"):
        FieldEncoder().fit(df)
    # 0 and "0" would be one field, named "0", whose categories the second
    # column's would overwrite: the first would encode to nothing
    df = pd.DataFrame({0: ["a", "b"], "0": ["c", "d"]})
    with pytest.raises(ValueError, match=r"several columns named \['0'\] \(as text"):
        FieldEncoder().fit(df)


def test_numbers_near_the_largest_float_are_standardised():
    values = np.array([1.7e308, -1.7e308, -1.7e308, 0.0])
    enc = FieldEncoder(numeric=["x"])
    X = enc.fit_transform(pd.DataFrame({"x": values})).tocsr().toarray()[:, 0]
    assert np.isfinite(enc.scale_["x"]) and np.all(np.isfinite(X))
    np.testing.assert_allclose(X, (values / 1e308 - np.mean(values / 1e308))
                               / np.std(values / 1e308))  # fmt: skip


def test_field_kinds_are_inferred_in_slices_as_in_one_pass():
    # numeric: one column with values other than 0/1; multi-valued: two
    # non-zeros of a field in a row (its columns interleaved with others')
    from sklfi._fields import infer_kinds

    rng = np.random.default_rng(0)
    for seed in range(40):
        X = sp.random(30, 9, density=0.3, format="csr", random_state=seed)
        X.data[:] = rng.choice([1.0, 2.5], size=X.nnz, p=[0.8, 0.2])
        drawn = np.unique(rng.integers(0, 4, 9), return_inverse=True)[1]
        # each row's columns in reverse order (a CSR matrix need not sort them)
        row = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
        order = np.lexsort((-X.indices, row))
        reverse = sp.csr_matrix((X.data[order], X.indices[order], X.indptr), X.shape)
        reverse.has_sorted_indices = False
        # fields interleaved, and fields as runs of columns (each row's
        # non-zeros of a field then neighbours: no sort)
        cases = [(drawn, X), (np.sort(drawn), X), (np.sort(drawn), reverse)]
        for index, M in cases:
            F = index.max() + 1
            naive = []
            for f in range(F):
                block = M[:, index == f]
                if block.shape[1] == 1 and np.any(
                    (block.data != 0) & (block.data != 1)
                ):
                    naive.append("numeric")
                elif np.any(np.diff(block.indptr) > 1):
                    naive.append("multi_valued")
                else:
                    naive.append("categorical")
            for chunk in (1, 7, 2**20):
                assert infer_kinds(M, index, F, chunk=chunk) == tuple(naive)


def test_inferring_kinds_needs_memory_of_the_columns_not_of_the_data():
    import tracemalloc

    from sklfi._fields import infer_kinds

    rng = np.random.default_rng(0)
    n_rows, per_row, n_features = 300_000, 20, 2**16
    indices = np.sort(rng.integers(0, n_features, (n_rows, per_row)), axis=1)
    X = sp.csr_matrix(
        (np.ones(n_rows * per_row, np.float32), indices.ravel().astype(np.int32),
         np.arange(0, n_rows * per_row + 1, per_row)),
        shape=(n_rows, n_features),
    )  # fmt: skip
    data_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes  # 49 MB
    tracemalloc.start()
    kinds = infer_kinds(X, np.arange(n_features) % 16, 16)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert kinds == ("multi_valued",) * 16
    assert peak < data_bytes  # (in one pass: about 6 times the data)


def test_a_category_dtype_column():
    age = pd.cut(pd.Series([15, 30, 70, None]), [0, 17, 55, 120],
                 labels=["<18", "18-55", "56+"])  # fmt: skip
    enc = FieldEncoder()
    X = enc.fit_transform(pd.DataFrame({"age": age}))
    assert enc.field_kinds_ == ("categorical",)
    assert X.tocsr().toarray().tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]]
    mixed = pd.Series([1, "1", "a"], dtype="category")
    with pytest.raises(TypeError, match="mixes values"):
        FieldEncoder().fit(pd.DataFrame({"m": mixed}))
