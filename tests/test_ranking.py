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


def test_score_candidates_leaves_out_the_movies_watched_before(events):
    y_true, y_score, groups = score_candidates(
        ItemScore(), events.iloc[[0, 4]], candidates=[10, 11, 12],
        exclude=events, max_rows=4,
    )  # fmt: skip
    # user 1 watched 10, 11, 12 (10 is the event's own movie: it stays);
    # user 2 watched 10 and 13 (13 is its own): 11, 12 and 13 remain
    np.testing.assert_array_equal(groups, [0, 1, 1, 1])
    np.testing.assert_array_equal(y_true, [1, 0, 0, 1])
    np.testing.assert_array_equal(y_score, [10, 11, 12, 13])
    assert mean_rank(y_true, y_score, groups) == 1


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


# -- full ranking and the baselines -------------------------------------------
def naive_ranks(scores, test, items, exclude):
    ranks = []
    for row, (user, item) in enumerate(zip(test.user_id, test.item_id)):
        seen = set(exclude.item_id[exclude.user_id == user]) - {item}
        own = scores[row][list(items).index(item)]
        others = [s for s, m in zip(scores[row], items) if m not in seen and m != item]
        greater = sum(s > own for s in others)
        ties = sum(s == own for s in others)
        ranks.append(1 + greater + ties / 2)
    return np.array(ranks)


def test_full_ranks_against_a_naive_count():
    from sklfi.ranking import full_ranks

    rng = np.random.default_rng(0)
    items = np.array([30, 10, 20, 50, 40])  # (any order)
    test = pd.DataFrame({"user_id": [1, 2, 3, 1], "item_id": [20, 50, 10, 30]})
    train = pd.DataFrame({"user_id": [1, 1, 2, 3, 3], "item_id": [10, 30, 20, 40, 10]})
    scores = rng.integers(0, 3, (4, 5)).astype(float)  # many ties
    np.testing.assert_array_equal(
        full_ranks(scores, test, items, exclude=train),
        naive_ranks(scores, test, items, train),
    )
    np.testing.assert_array_equal(
        full_ranks(scores, test, items), naive_ranks(scores, test, items, train[:0])
    )
    with pytest.raises(ValueError, match="shape"):
        full_ranks(scores[:, :4], test, items)
    with pytest.raises(ValueError, match="not among items"):
        full_ranks(scores, test.assign(item_id=[20, 50, 10, 99]), items)
    with pytest.raises(ValueError, match="NaN"):
        full_ranks(np.where(scores > 1, np.nan, scores), test, items)


def test_ranking_metrics():
    from sklfi.ranking import ranking_metrics

    table = ranking_metrics([1, 2, 20, 4], k=3, n_bootstraps=200)
    value = table["value"]
    assert value["hr@3"] == 0.5
    assert value["ndcg@3"] == pytest.approx((1 + 1 / np.log2(3)) / 4)
    assert value["mrr"] == pytest.approx((1 + 1 / 2 + 1 / 20 + 1 / 4) / 4)
    assert value["mean_rank"] == 6.75 and value["median_rank"] == 3.0
    assert np.all(table["low"] <= value) and np.all(value <= table["high"])
    assert list(ranking_metrics([3.0], n_bootstraps=0).columns) == ["value"]
    with pytest.raises(ValueError, match="ranks"):
        ranking_metrics([0.5, 2])


def test_baselines_on_a_toy_history():
    from sklfi.ranking import EASE, ItemKNN, MostPopular

    events = pd.DataFrame({"user_id": [1, 1, 2, 2, 3, 3, 3],
                           "item_id": [7, 8, 7, 8, 7, 9, 9],
                           "timestamp": range(7)})  # fmt: skip
    items = [7, 8, 9, 10]
    popular = MostPopular().fit(events, items)
    np.testing.assert_array_equal(popular.score([1, 99]), [[3, 2, 1, 0]] * 2)
    knn = ItemKNN().fit(events, items)
    np.testing.assert_allclose(knn.similarity_, knn.similarity_.T)
    assert np.all(np.diag(knn.similarity_) == 0)
    # 8 was always watched with 7: a user of 7 alone gets 8 before 9 and 10
    assert list(np.argsort(-knn.score([3])[0])[:1]) == [1]
    ease = EASE(l2=2.0).fit(events, items)
    X = ease.watched_.toarray()
    gram = X.T @ X + 2.0 * np.eye(4)
    # the closed form: zero diagonal, and (X'X + l2 I) B - X'X diagonal
    residual = gram @ ease.weights_ - X.T @ X
    assert np.all(np.diag(ease.weights_) == 0)
    np.testing.assert_allclose(residual - np.diag(np.diag(residual)), 0, atol=1e-10)
    np.testing.assert_array_equal(ease.score([99]), np.zeros((1, 4)))  # no history
    with pytest.raises(ValueError, match="l2"):
        EASE(l2=0).fit(events)
    with pytest.raises(ValueError, match="not among items"):
        MostPopular().fit(events, [7, 8])


def test_baselines_on_movielens_reach_the_reference(movielens):
    """The standard protocol (each user's last rating held out, every movie
    ranked, earlier movies excluded) gives the reference floor."""
    from sklfi.ranking import EASE, ItemKNN, MostPopular, full_ranks, ranking_metrics

    train, test = leave_last_out(movielens.ratings)
    items = movielens["items"].item_id
    found = {}
    for baseline in (MostPopular(), ItemKNN(), EASE(l2=400)):
        scores = baseline.fit(train, items).score(test.user_id)
        ranks = full_ranks(scores, test, baseline.items_, exclude=train)
        found[type(baseline).__name__] = ranking_metrics(ranks, n_bootstraps=0)["value"]
    assert found["MostPopular"]["hr@10"] == pytest.approx(0.086, abs=0.001)
    assert found["MostPopular"]["ndcg@10"] == pytest.approx(0.044, abs=0.001)
    assert found["MostPopular"]["mean_rank"] == pytest.approx(318, abs=1)
    assert found["ItemKNN"]["hr@10"] == pytest.approx(0.109, abs=0.001)
    assert 0.139 <= found["EASE"]["hr@10"] <= 0.149
    assert found["EASE"]["mean_rank"] < found["ItemKNN"]["mean_rank"]
    seen_in = MostPopular().fit(train, items).score(test.user_id)
    hr = ranking_metrics(full_ranks(seen_in, test, items), n_bootstraps=0)["value"]
    assert hr["hr@10"] == pytest.approx(0.050, abs=0.001)  # seen movies left in
