"""Next-item data: leave-last-out split, negatives, candidate scoring."""

import numpy as np
import pandas as pd
import pytest
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import make_pipeline

from sklfi import FMClassifier
from sklfi.metrics import hit_rate_at_k, mean_rank
from sklfi.preprocessing import MovieLensFeatures
from sklfi.ranking import leave_last_out, sample_negatives, score_candidates

from .test_metrics import ItemScore


@pytest.fixture
def events():
    return pd.DataFrame(
        {
            "user_id": [1, 1, 1, 2, 2, 3],
            "item_id": [10, 11, 12, 10, 13, 11],
            "timestamp": [5, 1, 3, 2, 4, 1],
            "rating": [4, 3, 5, 2, 1, 5],
        }
    )


def test_leave_last_out(events):
    train, test = leave_last_out(events)
    # user 1's last event is at t=5, user 2's at t=4; user 3 has one event
    assert sorted(test.index) == [0, 4]
    assert sorted(train.index) == [1, 2, 3, 5]
    assert list(test.columns) == list(events.columns)
    train2, test2 = leave_last_out(events, n_test=2)
    assert sorted(test2.index) == [0, 2]  # only user 1 has more than 2 events
    with pytest.raises(ValueError, match="n_test"):
        leave_last_out(events, n_test=0)


def test_sample_negatives(events):
    X, y = sample_negatives(
        events, n_negatives=3, items=[10, 11, 12, 13], random_state=0
    )
    assert len(X) == len(y) == 4 * len(events)
    assert list(X.columns) == ["user_id", "item_id", "timestamp"]
    np.testing.assert_array_equal(y[:4], [1, 0, 0, 0])
    positives = np.repeat(events.item_id.to_numpy(), 4)
    assert np.all(X.item_id[y == 0].to_numpy() != positives[y == 0])
    assert set(X.item_id[y == 0]) <= {10, 11, 12, 13}
    np.testing.assert_array_equal(X.user_id, np.repeat(events.user_id, 4))
    X2, _ = sample_negatives(
        events, n_negatives=3, items=[10, 11, 12, 13], random_state=0
    )
    pd.testing.assert_frame_equal(X, X2)


def test_negatives_are_uniform_over_other_items():
    events = pd.DataFrame({"user_id": [1], "item_id": [2], "timestamp": [0]})
    X, y = sample_negatives(
        events, n_negatives=30000, items=[1, 2, 3, 4], random_state=0
    )
    counts = X.item_id[y == 0].value_counts(normalize=True)
    assert set(counts.index) == {1, 3, 4}
    np.testing.assert_allclose(counts.to_numpy(), 1 / 3, atol=0.02)


def test_score_candidates_ranks_against_every_candidate(events):
    y_true, y_score, groups = score_candidates(
        ItemScore(), events.iloc[[0, 4]], candidates=[10, 11, 12], max_rows=4
    )
    # event 0 (item 10) among 10, 11, 12; event 1 (item 13) added as a candidate
    np.testing.assert_array_equal(groups, [0, 0, 0, 1, 1, 1, 1])
    np.testing.assert_array_equal(y_true, [1, 0, 0, 0, 0, 0, 1])
    # scores are the item ids: 10 is last of 3; 13 is first of 4
    assert mean_rank(y_true, y_score, groups) == (3 + 1) / 2
    assert hit_rate_at_k(y_true, y_score, groups, k=1) == 0.5


def test_next_item_workflow_beats_random(movielens):
    r = movielens.ratings
    r = r[r.user_id <= 100]
    train, test = leave_last_out(r)
    features = MovieLensFeatures(
        movielens.users,
        movielens["items"],
        groups=["user_id", "item_id", "genres", "history"],
    )
    features.fit(train)
    items = movielens["items"].item_id
    model = make_pipeline(FrozenEstimator(features), FMClassifier(random_state=0))
    model.fit(*sample_negatives(train, items=items, random_state=0))
    ranks = mean_rank(*score_candidates(model, test, items))
    assert ranks < 0.6 * len(items) / 2  # random ranking averages n / 2


def test_score_candidates_shares_rows_between_models(events):
    one = score_candidates(ItemScore(), events, candidates=[10, 11])
    both = score_candidates([ItemScore(), ItemScore(-1)], events, candidates=[10, 11])
    np.testing.assert_array_equal(both[0], one[0])
    np.testing.assert_array_equal(both[1][:, 0], one[1])
    np.testing.assert_array_equal(both[1][:, 1], -one[1])
    np.testing.assert_array_equal(both[2], one[2])
