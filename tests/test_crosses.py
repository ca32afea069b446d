"""FieldCrosser against a naive per-row enumeration."""

import itertools

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from sklfi import FieldMatrix
from sklfi.preprocessing import FieldCrosser, FieldEncoder


@pytest.fixture
def X():
    df = pd.DataFrame(
        {
            "gender": ["F", "M", "F", "M", None],
            "job": ["dev", "dev", "art", "art", "dev"],
            "tags": [["a", "b"], ["b"], [], ["a"], ["b"]],
            "age": [20.0, 30.0, 40.0, 50.0, 60.0],
        }
    )
    return FieldEncoder(
        multi_valued=["tags"], categorical=["gender", "job"], numeric=["age"]
    ).fit_transform(df)


def naive(X, fields):
    """Set of (row, tuple of feature names) for every combination in the row."""
    dense = X.tocsr().toarray()
    out = set()
    for r in range(dense.shape[0]):
        per_field = [
            [
                X.feature_names[c]
                for c in np.flatnonzero((X.fields == f) & (dense[r] != 0))
            ]
            for f in fields
        ]
        out |= {(r, combo) for combo in itertools.product(*per_field)}
    return out


@pytest.mark.parametrize(
    "cross", [("gender", "job"), ("job", "tags"), ("gender", "job", "tags")]
)
def test_cross_columns_match_naive_enumeration(X, cross):
    Xc = FieldCrosser([cross]).fit_transform(X)
    names = X.field_names
    ids = [names.index(f) for f in cross]
    block = Xc.tocsr()[:, X.shape[1] :].tocoo()
    got = {
        (r, tuple(Xc.feature_names[X.shape[1] + c].split(" x ")))
        for r, c in zip(block.row, block.col)
    }
    assert got == naive(X, ids)
    assert Xc.field_names[-1] == " x ".join(cross)
    np.testing.assert_array_equal(
        Xc.tocsr()[:, : X.shape[1]].toarray(), X.tocsr().toarray()
    )
    np.testing.assert_allclose(block.data, 1.0)


def test_unseen_combinations_are_left_out(X):
    crosser = FieldCrosser([("gender", "job")]).fit(X[[0, 1]])  # F-dev, M-dev
    out = crosser.transform(X).tocsr()[:, X.shape[1] :].toarray()
    np.testing.assert_array_equal(out, [[1, 0], [0, 1], [0, 0], [0, 0], [0, 0]])


def test_cross_values_are_products():
    X = FieldMatrix(sp.csr_matrix(np.array([[2.0, 0, 3.0, 0]])), [0, 0, 1, 1])
    out = FieldCrosser([(0, 1)]).fit_transform(X)
    assert out.tocsr()[0, 4] == 6.0


def test_bad_crosses(X):
    with pytest.raises(ValueError, match="'age' is numeric"):
        FieldCrosser([("gender", "age")]).fit(X)
    with pytest.raises(ValueError, match="two or more fields"):
        FieldCrosser([("gender",)]).fit(X)
    with pytest.raises(TypeError, match="needs a FieldMatrix"):
        FieldCrosser([(0, 1)]).fit(X.tocsr())
