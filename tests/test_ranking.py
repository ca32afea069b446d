"""Next-item data: leave-last-out split, negatives, candidate scoring."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import make_pipeline

from sklfi import FMClassifier
from sklfi.metrics import hit_rate_at_k, mean_rank
from sklfi.preprocessing import MovieLensFeatures
from sklfi.ranking import leave_last_out, sample_negatives, score_candidates

from .test_metrics import ItemScore


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


# -- the history features of next-item, scoring every movie, recommend ---------
def test_last_item_and_a_short_history(events):
    features = MovieLensFeatures(groups=["history", "last_item"], max_history=1)
    X = features.fit(events).transform(
        pd.DataFrame({"user_id": [1, 1, 2, 3, 9], "item_id": 10,
                      "timestamp": [4, 9, 9, 1, 9]})
    )  # fmt: skip
    names = X.feature_names
    dense = pd.DataFrame(X.tocsr().toarray(), columns=names)
    # user 1 watched 11 (t=1), 12 (t=3), 10 (t=5): at t=4 the last is 12
    assert dense.loc[0, "last_item=12"] == 1 and dense.loc[0, "history=12"] == 1
    assert dense.loc[1, "last_item=10"] == 1 and dense.loc[1, "history=10"] == 1
    assert dense.loc[1].sum() == 2  # one movie in the history, one last
    assert dense.loc[2, "last_item=13"] == 1  # user 2: 10 (t=2), 13 (t=4)
    assert dense.loc[3].sum() == 0 and dense.loc[4].sum() == 0  # none before
    whole = MovieLensFeatures(groups=["history"]).fit(events).transform(events[:1])
    row = whole.tocsr().toarray()[0]  # 11 and 12 before t=5, 1/2 each
    np.testing.assert_allclose(row[row > 0], [0.5, 0.5])
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="max_history"):
            MovieLensFeatures(max_history=bad).fit(events)


def test_last_item_of_tied_events_is_the_later_row():
    events = pd.DataFrame({"user_id": [1, 1, 1], "item_id": [5, 7, 6],
                           "timestamp": [1, 1, 1]})  # fmt: skip
    X = MovieLensFeatures(groups=["last_item"]).fit(events)
    query = pd.DataFrame({"user_id": [1], "item_id": [5], "timestamp": [2]})
    out = X.transform(query)
    assert list(out.feature_names[out.tocsr().toarray()[0] > 0]) == ["last_item=6"]


def test_item_scores_match_the_rows_of_score_candidates(events):
    from sklfi.ranking import item_scores

    items = np.array([10, 11, 12, 13])
    queries = events.iloc[[0, 4, 5]]
    scores = item_scores(ItemScore(), queries, items, max_rows=5)
    np.testing.assert_array_equal(scores, np.tile(items, (3, 1)))
    both = item_scores([ItemScore(), ItemScore(-1)], queries, items)
    np.testing.assert_array_equal(both[1], -scores)
    _, long, groups = score_candidates(ItemScore(), queries, candidates=items)
    np.testing.assert_array_equal(long.reshape(3, -1), scores)


class ColumnScore(ClassifierMixin, BaseEstimator):
    """Scores a row of features by ``X @ weights``: a known ranking."""

    def __init__(self, weights=None):
        self.weights = weights

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        return self

    def decision_function(self, X):
        return X.tocsr() @ self.weights


def test_recommend_the_best_movies_not_watched(events):
    from sklfi.ranking import recommend

    features = MovieLensFeatures(groups=["item_id"]).fit(events)
    weights = np.array([4.0, 1.0, 3.0, 2.0])  # movies 10, 11, 12, 13
    model = make_pipeline(FrozenEstimator(features), ColumnScore(weights))
    model.fit(events, np.ones(len(events)))
    top = recommend(model, [2, 1, 3, 99], k=2)
    # user 2 watched 10 and 13: 12 then 11; user 1 watched all but 13
    assert list(top.columns) == ["user_id", "rank", "item_id", "score"]
    assert top.user_id.tolist() == [2, 2, 1, 3, 3, 99, 99]
    assert top.item_id.tolist() == [12, 11, 13, 10, 12, 10, 12]
    assert top["rank"].tolist() == [1, 2, 1, 1, 2, 1, 2]
    assert top.score.tolist() == [3, 1, 2, 4, 3, 4, 3]
    # seen movies kept, or the history as of an earlier moment
    kept = recommend(model, [2], k=2, exclude_seen=False)
    assert kept.item_id.tolist() == [10, 12]
    earlier = recommend(model, [1], k=3, timestamp=2)  # user 1 saw only 11
    assert earlier.item_id.tolist() == [10, 12, 13]
    assert recommend(model, [1], items=[11, 13]).item_id.tolist() == [13]
    with pytest.raises(TypeError, match="MovieLensFeatures"):
        recommend(ColumnScore(weights), [1])
    with pytest.raises(ValueError, match="k must be"):
        recommend(model, [1], k=0)


def test_recommend_with_a_trained_model(movielens):
    from sklfi.ranking import recommend

    r = movielens.ratings
    train = r[r.user_id <= 50]
    features = MovieLensFeatures(
        movielens.users, movielens["items"],
        groups=["user_id", "item_id", "history", "last_item"], max_history=20,
    ).fit(train)  # fmt: skip
    model = make_pipeline(
        FrozenEstimator(features), FMClassifier(max_epochs=2, random_state=0)
    )
    model.fit(*sample_negatives(train, random_state=0))
    top = recommend(model, [1, 2], k=10)
    assert len(top) == 20 and top.groupby("user_id").size().tolist() == [10, 10]
    for user, picks in top.groupby("user_id"):
        assert not set(picks.item_id) & set(train.item_id[train.user_id == user])
        assert np.all(np.diff(picks.score.to_numpy()) <= 0)
    # the scores are the model's own for the rows (user, movie, after all)
    rows = top[["user_id", "item_id"]].assign(timestamp=np.iinfo(np.int64).max)
    np.testing.assert_allclose(model.decision_function(rows), top.score, rtol=1e-5)


def test_compare_next_item_models_clear_the_floor(movielens):
    """Under the standard protocol FM beats most popular on HR@10 and
    NDCG@10; the baselines reproduce the reference floor."""
    from sklfi.compare import compare_models

    table = compare_models("next-item", ["fm"], verbose=False).set_index("model")
    popular, fm = table.loc["Most popular"], table.loc["FM"]
    assert popular["hr@10"] == pytest.approx(0.086, abs=0.001)
    assert table.loc["EASE", "hr@10"] == pytest.approx(0.146, abs=0.001)
    assert fm["hr@10"] > popular["hr@10_high"]
    assert fm["ndcg@10"] > popular["ndcg@10_high"]
    with pytest.raises(ValueError, match="max_users"):
        compare_models("next-item", [], max_users=0)
    seen_in = compare_models("next-item", [], exclude_seen=False, verbose=False)
    assert seen_in["hr@10"][0] == pytest.approx(0.050, abs=0.001)


def test_ranking_scorer_selects_in_a_grid_search_of_the_pipeline(movielens):
    from sklearn.model_selection import GridSearchCV, GroupKFold

    from sklfi.metrics import make_ranking_scorer

    r = movielens.ratings
    train, _ = leave_last_out(r[r.user_id <= 60])
    features = MovieLensFeatures(
        movielens.users, movielens["items"],
        groups=["user_id", "item_id", "history", "last_item"], max_history=20,
    ).fit(train)  # fmt: skip
    X, y = sample_negatives(train, random_state=0)
    pipe = make_pipeline(
        FrozenEstimator(features), FMClassifier(max_epochs=2, random_state=0)
    )
    search = GridSearchCV(
        pipe, {"fmclassifier__weight_decay": [0.03, 50.0]}, cv=GroupKFold(2),
        scoring=make_ranking_scorer("ndcg", k=3),
    )  # fmt: skip
    search.fit(X, y, groups=X.user_id)
    # a decay that wipes the weights out ranks at random: NDCG@3 of a random
    # rank among 5 candidates is (1 + 1 / log2(3) + 1 / log2(4)) / 5
    decayed = search.cv_results_["mean_test_score"][1]
    assert decayed == pytest.approx((1 + 1 / np.log2(3) + 0.5) / 5, abs=0.05)
    assert search.best_params_ == {"fmclassifier__weight_decay": 0.03}
    assert search.best_score_ > decayed + 0.05


def test_recommend_refuses_what_it_cannot_rank(events):
    from sklfi.ranking import item_scores, recommend

    features = MovieLensFeatures(groups=["item_id"]).fit(events)
    weights = np.array([np.inf, 1.0, 3.0, 2.0])  # movie 10 scores +inf
    model = make_pipeline(FrozenEstimator(features), ColumnScore(weights))
    model.fit(events, np.ones(len(events)))
    # an infinite score is a score: user 3 gets movie 10 first
    assert recommend(model, [3], k=1).item_id.tolist() == [10]
    assert recommend(model, [1], timestamp=4.0, k=1).item_id.tolist() == [10]
    with pytest.raises(ValueError, match="whole number"):
        recommend(model, [1], timestamp=3.5)  # (the event at t=3: seen or not?)
    with pytest.raises(TypeError, match="timestamp"):
        recommend(model, [1], timestamp="2026-01-01")
    with pytest.raises(ValueError, match="none of users"):
        recommend(model, ["1", "2"])
    with pytest.raises(ValueError, match="none of items"):
        recommend(model, [1], items=["10", "13"])
    with pytest.raises(ValueError, match="items is empty"):
        recommend(model, [1], items=[])
    with pytest.raises(ValueError, match="1-d"):
        recommend(model, [[1, 2]])
    broken = make_pipeline(FrozenEstimator(features), ColumnScore(weights * np.nan))
    with pytest.raises(ValueError, match="NaN"):
        recommend(broken.fit(events, np.ones(len(events))), [1])
    with pytest.raises(ValueError, match="timestamp"):
        item_scores(model, events[["user_id"]], [10])
    with pytest.raises(TypeError, match="DataFrame"):
        item_scores(model, {"user_id": [1], "timestamp": [1]}, [10])
    with pytest.raises(ValueError, match="non-empty"):
        item_scores(model, events, [])
