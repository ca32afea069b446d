"""Property-based fuzzing: random DataFrames and sparse matrices through the
transformers and every estimator.

Each run must end in a fitted model with finite predictions, or in a
ValueError or TypeError raised by sklfi's (or scikit-learn's) own checks,
never in an error from inside torch, numpy or pandas. The examples are
derandomized (the same in every run, see ``conftest.py``); set
``HYPOTHESIS_PROFILE=explore`` to search new ones.
"""

import traceback
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sklfi import MODELS
from sklfi.preprocessing import FieldEncoder, MovieLensFeatures

ESTIMATORS = [cls for m in MODELS.values() for cls in (m.classifier, m.regressor)]
FAST = dict(max_epochs=1, batch_size=8, random_state=0)
FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def ours(exc: BaseException) -> bool:
    """Whether ``exc`` was raised on purpose by sklfi's or scikit-learn's
    checks: by a ``raise`` statement of theirs, not from inside an
    operation (numpy's and torch's C code leave no frame of their own)."""
    frames = traceback.extract_tb(exc.__traceback__)
    return (
        bool(frames)
        and any(part in frames[-1].filename for part in ("/sklfi/", "/sklearn/"))
        and frames[-1].line.lstrip().startswith("raise")
    )


def run(action):
    """``action()``, or ``None`` after a ValueError/TypeError of ours (which
    is fine)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = action()
    except (ValueError, TypeError) as exc:
        assert ours(exc), "an internal error escaped:\n" + "".join(
            traceback.format_exception(exc)
        )
        assert str(exc), "an error without a message"
        event(f"refused: {type(exc).__name__}: {str(exc)[:50]}")
        return None
    event("done")
    return out


# -- values ---------------------------------------------------------------------
words = st.sampled_from(["a", "b", "", "x|y", "y", "Action|Comedy", " "])
missing = st.sampled_from([None, np.nan])
huge_ids = st.integers(min_value=-(2**62), max_value=2**62)
lists = st.lists(st.sampled_from(["a", "b", "", "c"]), max_size=3)
COLUMNS = {
    "text": st.one_of(words, missing),
    "ids": huge_ids,
    "float": st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.just(np.nan)),
    "big": st.sampled_from([1e300, -1e300, 0.0, 1.7e308]),
    "mixed": st.one_of(words, st.integers(0, 3), st.booleans(), missing),
    "lists": st.one_of(lists, missing),
    "bool": st.booleans(),
    "category": st.one_of(st.sampled_from(["a", "b", "<18", "18-24"]), missing),
}


@st.composite
def frames(draw, min_rows=1):
    n = draw(st.integers(min_rows, 25))
    kinds = draw(st.lists(st.sampled_from(sorted(COLUMNS)), min_size=1, max_size=4))
    df = pd.DataFrame(
        {
            f"{k}{i}": draw(st.lists(COLUMNS[k], min_size=n, max_size=n))
            for i, k in enumerate(kinds)
        }
    )
    for column in df.columns[df.columns.str.startswith("category")]:
        df[column] = df[column].astype("category")  # (as pd.cut makes)
    return df


@st.composite
def matrices(draw):
    n, d = draw(st.integers(1, 20)), draw(st.integers(1, 8))
    density = draw(st.sampled_from([0.0, 0.2, 0.6, 1.0]))
    values = st.sampled_from([1.0, 1.0, 0.5, -2.0, 3e4])
    X = sp.random(
        n, d, density=density, format="csr", random_state=draw(st.integers(0, 99))
    )
    X.data = np.array(draw(st.lists(values, min_size=X.nnz, max_size=X.nnz)), float)
    if X.nnz and draw(st.integers(0, 4)) == 0:  # now and then a bad value
        X.data[0] = draw(st.sampled_from([np.nan, np.inf, 1e39]))
    fields = draw(
        st.one_of(st.none(), st.lists(st.integers(0, 3), min_size=d, max_size=d))
    )
    return X, fields


def targets(draw, n, classifier):
    if classifier:
        return np.array(
            draw(
                st.lists(
                    st.sampled_from(["yes", "no", "maybe"]), min_size=n, max_size=n
                )
            )
        )
    return np.array(draw(st.lists(st.floats(-5, 5), min_size=n, max_size=n)))


def fit_and_predict(est, X, y, X_new):
    def action():
        est.fit(X, y)
        out = est.predict(X_new)
        assert np.all(np.isfinite(out.astype(float))) if out.dtype.kind == "f" else True
        if hasattr(est, "predict_proba"):
            assert np.all(np.isfinite(est.predict_proba(X_new)))
        return out

    return run(action)


# -- the tests --------------------------------------------------------------------
@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
@FUZZ
@given(data=st.data())
def test_random_dataframes_through_field_encoder_and_estimator(cls, data):
    train = data.draw(frames(min_rows=2))
    new = data.draw(frames()).reindex(columns=train.columns)  # unseen values
    filled = train.iloc[: len(new)].reset_index(drop=True).astype(object)
    new = new.astype(object).where(new.notna(), filled)
    for column in train.columns[train.dtypes == "category"]:
        new[column] = new[column].astype("category")
    encoder = FieldEncoder()
    X = run(lambda: encoder.fit_transform(train))
    if X is None:
        return
    X_new = run(lambda: encoder.transform(new))
    if X_new is None:
        return
    y = targets(data.draw, len(train), cls in [m.classifier for m in MODELS.values()])
    fit_and_predict(cls(**FAST), X, y, X_new)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
@FUZZ
@given(data=st.data())
def test_random_sparse_matrices_through_every_estimator(cls, data):
    X, fields = data.draw(matrices())
    y = targets(data.draw, X.shape[0], cls in [m.classifier for m in MODELS.values()])
    fit_and_predict(cls(fields=fields, **FAST), X, y, X)


ratings_ids = st.one_of(huge_ids, st.sampled_from(["u1", "u2", "", "é"]))


@FUZZ
@given(data=st.data())
def test_random_ratings_through_movielens_features(data):
    n = data.draw(st.integers(1, 20))

    def column(values):
        return data.draw(st.lists(values, min_size=n, max_size=n))

    ratings = pd.DataFrame(
        {
            "user_id": column(st.one_of(st.integers(0, 3), ratings_ids)),
            "item_id": column(st.one_of(st.integers(0, 5), ratings_ids)),
            "timestamp": column(st.integers(-(10**12), 10**12)),
            "rating": column(st.floats(0, 5)),
        }
    )
    items = pd.DataFrame(
        {
            "item_id": [0, 1, 2, 2],
            "title": ["A (1995)", "B", "", None],
            "genres": data.draw(
                st.lists(st.one_of(words, lists, missing), min_size=4, max_size=4)
            ),
        }
    )
    users = pd.DataFrame(
        {
            "user_id": [0, 1],
            "age": data.draw(
                st.lists(
                    st.one_of(st.integers(-5, 99), missing), min_size=2, max_size=2
                )
            ),
            "gender": ["F", None],
            "zip_code": ["12345", "A"],
        }  # fmt: skip
    )
    if data.draw(st.integers(0, 4)) == 0:  # now and then a missing rating
        ratings.loc[0, "rating"] = np.nan
    features = MovieLensFeatures(
        users=data.draw(st.sampled_from([None, users])),
        items=data.draw(st.sampled_from([None, items])),
    )
    X = run(lambda: features.fit_transform(ratings))
    if X is None:
        return
    assert X.shape[0] == n and np.all(np.isfinite(X.tocsr().data))
    y = ratings["rating"].fillna(0).to_numpy()
    fit_and_predict(MODELS["deepfm"].regressor(**FAST), X, y, X)
