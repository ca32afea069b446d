"""Ranking metrics against hand-computed values, and the GridSearchCV scorer."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import GridSearchCV, GroupKFold

from sklfi.metrics import (
    hit_rate_at_k,
    make_ranking_scorer,
    mean_rank,
    ndcg_at_k,
    positive_ranks,
)

# group 0: the relevant item (0.2) is second of 3; group 1: third of 3 (0.3)
Y = [1, 0, 0, 0, 0, 1]
S = [0.2, 0.9, 0.1, 0.5, 0.4, 0.3]
G = [0, 0, 0, 1, 1, 1]


def test_hand_computed_values():
    ranks, groups = positive_ranks(Y, S, G)
    np.testing.assert_array_equal(ranks, [2, 3])
    np.testing.assert_array_equal(groups, [0, 1])
    assert mean_rank(Y, S, G) == 2.5
    assert hit_rate_at_k(Y, S, G, k=2) == 0.5
    assert hit_rate_at_k(Y, S, G, k=3) == 1.0
    assert ndcg_at_k(Y, S, G, k=10) == pytest.approx(
        (1 / np.log2(3) + 1 / np.log2(4)) / 2
    )
    assert ndcg_at_k(Y, S, G, k=2) == pytest.approx((1 / np.log2(3) + 0) / 2)
    # without groups every item is ranked together: 0.2 is 5th, 0.3 is 4th
    assert mean_rank(Y, S) == 4.5


def test_ties_share_the_average_rank():
    assert mean_rank([1, 0, 0], [0.5, 0.5, 0.5]) == 2.0
    assert mean_rank([0, 1, 0], [0.9, 0.5, 0.5]) == 2.5


def test_ndcg_with_several_relevant_items():
    # relevant items at ranks 1 and 3: DCG = 1 + 1/log2(4); ideal = 1 + 1/log2(3)
    value = ndcg_at_k([1, 0, 1], [0.9, 0.5, 0.1], k=10)
    assert value == pytest.approx((1 + 0.5) / (1 + 1 / np.log2(3)))


def test_bad_input():
    with pytest.raises(ValueError, match="no relevant item"):
        mean_rank([0, 0], [0.1, 0.2])
    with pytest.raises(ValueError, match="binary"):
        mean_rank([2, 0], [0.1, 0.2])
    with pytest.raises(ValueError, match="NaN"):
        mean_rank([1, 0], [np.nan, 0.2])
    with pytest.raises(ValueError, match="inconsistent"):
        mean_rank([1, 0], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="metric must be one of"):
        make_ranking_scorer("auc")


class ItemScore(ClassifierMixin, BaseEstimator):
    """Scores a row by ``sign * item_id``: a known ranking."""

    def __init__(self, sign=1):
        self.sign = sign

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        return self

    def decision_function(self, X):
        return self.sign * X["item_id"].to_numpy(dtype=float)


def test_scorer_in_grid_search():
    # in every query the relevant item has the largest id
    X = pd.DataFrame(
        {
            "user_id": np.repeat(np.arange(8), 3),
            "timestamp": 0,
            "item_id": np.tile([1, 2, 3], 8),
        }
    )
    y = np.tile([0, 0, 1], 8)
    search = GridSearchCV(
        ItemScore(),
        {"sign": [-1, 1]},
        cv=GroupKFold(2),
        scoring=make_ranking_scorer("mean_rank"),
    )
    search.fit(X, y, groups=X.user_id)
    assert search.best_params_ == {"sign": 1}
    assert search.best_score_ == -1.0
    assert make_ranking_scorer("ndcg")(ItemScore(-1).fit(X, y), X, y) == 0.5
