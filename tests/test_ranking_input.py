"""What the next-item functions and MovieLensFeatures refuse: timestamps
that cannot be ordered, ids of another type, duplicate movies, counts and
levels out of range; and the ranks of a test movie among excluded ones."""

import numpy as np
import pandas as pd
import pytest

from sklfi.preprocessing import MovieLensFeatures
from sklfi.ranking import (
    EASE,
    ItemKNN,
    MostPopular,
    full_ranks,
    leave_last_out,
    ranking_metrics,
    recommend,
    sample_negatives,
    score_candidates,
)

from .test_ranking import ColumnScore


# -- timestamps ------------------------------------------------------------------
def test_leave_last_out_orders_timestamps_as_numbers_or_refuses_them(events):
    # whole floats and nullable integers are numbers: the same split
    train, test = leave_last_out(events)
    for dtype in (float, "Int64", object, np.uint64):
        other = events.timestamp.astype(dtype)
        again = leave_last_out(events.assign(timestamp=other))
        assert again[1].index.tolist() == test.index.tolist()
    # as text, "9" would come after "10"
    text = events.assign(timestamp=["9", "10", "1", "1", "2", "1"])
    with pytest.raises(ValueError, match="timestamp column of events must hold whole"):
        leave_last_out(text)
    for bad, match in [
        ([5, 1, np.nan, 2, 4, 1], "1 missing values .*position 2"),
        (pd.array([5, 1, pd.NA, 2, 4, 1], dtype="Int64"), "missing values"),
        ([5, 1, 3.5, 2, 4, 1], "whole numbers, got 3.5"),
        (np.array([5, 1, 2**64 - 1, 2, 4, 1], dtype=np.uint64), "outside the range"),
        ([5, 1, 1e30, 2, 4, 1], "outside the range"),
        ([True, False, True, True, False, True], "whole numbers"),
        (pd.to_datetime([5, 1, 3, 2, 4, 1], unit="s"), r"astype\('datetime64\[s\]'\)"),
    ]:
        with pytest.raises(ValueError, match=match):
            leave_last_out(events.assign(timestamp=bad))


def test_the_advice_for_datetimes_gives_unix_seconds():
    dates = pd.Series(pd.to_datetime(["2020-01-01", "2020-01-02"]))
    seconds = dates.astype("datetime64[s]").astype("int64")
    assert seconds.tolist() == [1577836800, 1577923200]


def test_empty_frames_where_they_are_allowed(events):
    from sklfi.ranking import item_scores

    features = MovieLensFeatures(groups=["user_id", "history"]).fit(events)
    for dtype in (float, object, np.uint32):
        empty = events.iloc[:0].astype({"timestamp": dtype})
        assert features.transform(empty).shape == (
            0,
            features.transform(events).shape[1],
        )
    queries = pd.DataFrame({"user_id": pd.Series([], dtype=int),
                            "timestamp": pd.Series([], dtype=float)})  # fmt: skip
    assert item_scores(None, queries, [10, 11]).shape == (0, 2)  # (no row to score)
    no_test = pd.DataFrame({"user_id": [], "item_id": []}, dtype=int)
    assert full_ranks(np.zeros((0, 3)), no_test, [1, 2, 3]).shape == (0,)


def test_leave_last_out_with_categorical_or_string_ids(events):
    train, test = leave_last_out(events)
    for dtype in ("category", "string", str):
        ids = events.user_id.astype(str).astype(dtype)
        other = leave_last_out(events.assign(user_id=ids))
        assert other[1].index.tolist() == test.index.tolist()
        assert other[0].index.tolist() == train.index.tolist()


def test_the_baselines_need_no_timestamps(events):
    dated = events.assign(timestamp=pd.to_datetime(events.timestamp, unit="s"))
    np.testing.assert_array_equal(
        MostPopular().fit(dated).score([1]), MostPopular().fit(events).score([1])
    )


def test_leave_last_out_with_a_repeated_index(events):
    # labels repeat after a concat: each row is taken once, by position
    doubled = pd.concat([events, events.assign(user_id=events.user_id + 10)])
    train, test = leave_last_out(doubled)
    assert len(train) + len(test) == len(doubled)
    assert sorted(test.user_id) == [1, 2, 11, 12]
    assert test.item_id.tolist() == [10, 13, 10, 13]


def test_movielens_features_refuse_timestamps_they_cannot_order(events):
    features = MovieLensFeatures(groups=["user_id", "history", "last_item"]).fit(events)
    query = events.iloc[:2].assign(timestamp=[6, 6])
    expected = features.transform(query).tocsr()
    for bad, match in [
        (pd.array([6, pd.NA], dtype="Int64"), "missing values"),
        (np.array([6, 2**64 - 1], dtype=np.uint64), "outside the range"),
        (["6", "6"], "whole numbers"),
        ([6.0, np.inf], "whole numbers, got inf"),
    ]:
        with pytest.raises(ValueError, match=match):
            features.transform(query.assign(timestamp=bad))
        with pytest.raises(ValueError, match=match):
            MovieLensFeatures().fit(query.assign(timestamp=bad))
    # nullable integers without a missing value are numbers as any
    same = features.transform(query.assign(timestamp=pd.array([6, 6], dtype="Int64")))
    assert abs(same.tocsr() - expected).sum() == 0
    assert expected[:, features.get_feature_names_out() == "last_item=10"].sum() == 2


def test_recommend_refuses_a_moment_outside_int64(events):
    from sklearn.frozen import FrozenEstimator
    from sklearn.pipeline import make_pipeline

    features = MovieLensFeatures(groups=["item_id"]).fit(events)
    model = make_pipeline(FrozenEstimator(features), ColumnScore(np.arange(4.0)))
    model.fit(events, np.ones(len(events)))
    with pytest.raises(ValueError, match="outside the range"):
        recommend(model, [1], timestamp=1e30)
    with pytest.raises(ValueError, match="outside the range"):
        recommend(model, [1], timestamp=2**63)
    assert len(recommend(model, [1], timestamp=2**63 - 1)) == 1


# -- ids -------------------------------------------------------------------------
def test_sample_negatives_refuses_items_of_another_type(events):
    X, y = sample_negatives(events, n_negatives=3, items=[10, 11, 12, 13, 14],
                            random_state=0)  # fmt: skip
    pairs = X.assign(y=y)
    positive = pairs.groupby(["user_id", "timestamp"]).item_id.first()
    negatives = pairs[pairs.y == 0].set_index(["user_id", "timestamp"]).item_id
    assert not (negatives == positive.reindex(negatives.index)).any()
    with pytest.raises(ValueError, match="items are str ids but the events' movies"):
        sample_negatives(events, items=["10", "11", "12", "13"])
    with pytest.raises(ValueError, match="none missing"):
        sample_negatives(events, items=[10.0, np.nan, 12.0])
    for n in (-1, 0, 1.5, True):
        with pytest.raises(ValueError, match="n_negatives must be a positive integer"):
            sample_negatives(events, n_negatives=n)


def test_events_need_ids_of_one_type_and_none_missing(events):
    for column, bad, match in [
        ("user_id", [1, "1", 1, 2, 2, 3], "mixes ids of several types"),
        ("item_id", [10, 11, None, 10, 13, 11], "missing ids"),
    ]:
        broken = events.assign(**{column: bad})
        for call in (leave_last_out, sample_negatives, MostPopular().fit):
            with pytest.raises(TypeError, match=match):
                call(broken)


def test_baselines_refuse_users_of_another_type(events):
    for baseline in (MostPopular(), ItemKNN(), EASE(l2=1.0)):
        baseline.fit(events)
        with pytest.raises(ValueError, match="users are str ids but the users seen"):
            baseline.score(["1"])
        with pytest.raises(ValueError, match="1-d"):
            baseline.score([[1]])
        assert baseline.score([1, 99]).shape == (2, 4)  # (99: unknown, as empty)
    with pytest.raises(ValueError, match="items are str ids"):
        MostPopular().fit(events, items=["10", "11", "12", "13"])


def test_score_candidates_refuse_ids_of_another_type(events):
    from .test_metrics import ItemScore

    model = ItemScore()
    with pytest.raises(ValueError, match="candidates are str ids"):
        score_candidates(model, events, ["10", "11"])
    with pytest.raises(ValueError, match="exclude's movies are str ids"):
        score_candidates(model, events, exclude=events.astype({"item_id": str}))


# -- full_ranks and ranking_metrics ---------------------------------------------
def test_full_ranks_leave_excluded_movies_out_whatever_their_scores():
    items = np.array([1, 2, 3, 4])
    test = pd.DataFrame({"user_id": [7], "item_id": [3]})
    watched = pd.DataFrame({"user_id": [7, 7], "item_id": [1, 2]})
    # the test movie scores -inf, as do the two movies the user watched,
    # which are out of the ranking: one movie (4) is above it
    scores = np.array([[-np.inf, -np.inf, -np.inf, 0.0]])
    assert full_ranks(scores, test, items, exclude=watched).tolist() == [2.0]
    assert full_ranks(scores, test, items).tolist() == [3.0]  # (tied with 1, 2)
    scores = np.array([[5.0, 5.0, 5.0, 0.0]])  # (tied with the excluded)
    assert full_ranks(scores, test, items, exclude=watched).tolist() == [1.0]


def test_full_ranks_refuses_duplicates_and_ids_of_another_type():
    test = pd.DataFrame({"user_id": [7], "item_id": [3]})
    with pytest.raises(ValueError, match="items holds 2 2 times"):
        full_ranks(np.zeros((1, 4)), test, [1, 2, 2, 3])
    with pytest.raises(ValueError, match="items holds 1 2 times"):
        full_ranks(np.zeros((1, 5)), test, [1, 1, 3, 3, 3])
    with pytest.raises(ValueError, match="items holds 'a' 2 times"):
        named = pd.DataFrame({"user_id": [7], "item_id": ["b"]})
        full_ranks(np.zeros((1, 3)), named, np.array(["a", "a", "b"], dtype=object))
    with pytest.raises(ValueError, match="test's movies are number ids but items"):
        full_ranks(np.zeros((1, 3)), test, ["1", "2", "3"])
    items = [1, 2, 3]
    with pytest.raises(ValueError, match="exclude's users are str ids"):
        exclude = pd.DataFrame({"user_id": ["7"], "item_id": [1]})
        full_ranks(np.zeros((1, 3)), test, items, exclude=exclude)
    with pytest.raises(ValueError, match="exclude's movies are str ids"):
        exclude = pd.DataFrame({"user_id": [7], "item_id": ["1"]})
        full_ranks(np.zeros((1, 3)), test, items, exclude=exclude)
    with pytest.raises(ValueError, match="none missing"):
        full_ranks(np.zeros((1, 3)), test, [1.0, np.nan, 3.0])
    with pytest.raises(TypeError, match="test must be a pandas DataFrame"):
        full_ranks(np.zeros((1, 3)), {"user_id": [7], "item_id": [3]}, items)
    empty = pd.DataFrame({"user_id": [], "item_id": []}, dtype=int)
    assert full_ranks(np.zeros((1, 3)), test, items, exclude=empty).tolist() == [2.0]


def test_ranking_metrics_refuse_what_they_cannot_summarise():
    for ranks in ([1.0, np.nan], [1.0, np.inf], [0.5, 2.0], [], [[1.0]]):
        with pytest.raises(ValueError, match="ranks must be"):
            ranking_metrics(ranks)
    for k in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="k must be a positive integer"):
            ranking_metrics([1, 2], k=k)
    for confidence in (0, 1, 2, -0.5, "high"):
        with pytest.raises(ValueError, match="confidence must be"):
            ranking_metrics([1, 2], confidence=confidence)
    for n in (-1, 1.5):
        with pytest.raises(ValueError, match="n_bootstraps must be"):
            ranking_metrics([1, 2], n_bootstraps=n)
