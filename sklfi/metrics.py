"""Ranking metrics for next-item recommendation.

Every metric takes binary relevance ``y_true``, scores ``y_score`` and
optional ``groups`` (one query each: a user at a moment); within a group
the items are ranked by decreasing score, rank 1 first, ties sharing the
average of their ranks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_consistent_length, column_or_1d

from ._fields import check_positive_integer

__all__ = [
    "hit_rate_at_k",
    "make_ranking_scorer",
    "mean_rank",
    "ndcg_at_k",
    "positive_ranks",
]


def positive_ranks(y_true, y_score, groups=None):
    """Rank of every relevant item within its group.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        1 (or True) for relevant items, 0 otherwise.
    y_score : array-like of shape (n_samples,)
        Scores; higher ranks first.
    groups : array-like of shape (n_samples,), default=None
        Query of every item; ``None`` ranks all items together.

    Returns
    -------
    ranks : ndarray of shape (n_relevant,)
        1-based ranks (ties take the average of their ranks).
    relevant_groups : ndarray of shape (n_relevant,)
        The group of each relevant item.

    Examples
    --------
    >>> positive_ranks([0, 1, 0, 1], [0.9, 0.8, 0.1, 0.2], groups=[0, 0, 1, 1])
    (array([2., 1.]), array([0, 1]))
    """
    y_true = column_or_1d(y_true)
    y_score = column_or_1d(y_score).astype(np.float64)
    groups = np.zeros(len(y_true), dtype=np.int64) if groups is None else groups
    groups = column_or_1d(groups)
    check_consistent_length(y_true, y_score, groups)
    if len(y_true) == 0:
        raise ValueError("y_true is empty: nothing to rank.")
    if not np.all(np.isfinite(y_score)):
        raise ValueError("y_score contains NaN or infinity.")
    values = np.unique(y_true)
    if not np.all(np.isin(values, [0, 1])):
        raise ValueError(f"y_true must be binary relevance (0/1), got values {values}.")
    relevant = y_true.astype(bool)
    if not relevant.any():
        raise ValueError("y_true has no relevant item: every rank is undefined.")
    ranks = pd.Series(y_score).groupby(groups).rank(ascending=False, method="average")
    return ranks.to_numpy()[relevant], groups[relevant]


def mean_rank(y_true, y_score, groups=None):
    """Mean rank of the relevant items (1 is best; lower is better).

    Parameters
    ----------
    y_true, y_score, groups : see :func:`positive_ranks`

    Returns
    -------
    float

    Examples
    --------
    >>> mean_rank([0, 1, 0, 1], [0.9, 0.8, 0.1, 0.2], groups=[0, 0, 1, 1])
    np.float64(1.5)
    """
    return np.mean(positive_ranks(y_true, y_score, groups)[0])


def hit_rate_at_k(y_true, y_score, groups=None, *, k=10):
    """Share of relevant items ranked in the top ``k`` of their group.

    Parameters
    ----------
    y_true, y_score, groups : see :func:`positive_ranks`
    k : int, default=10

    Returns
    -------
    float

    Examples
    --------
    >>> hit_rate_at_k([0, 1, 0, 1], [0.9, 0.8, 0.1, 0.2], [0, 0, 1, 1], k=1)
    np.float64(0.5)
    """
    _check_k(k)
    return np.mean(positive_ranks(y_true, y_score, groups)[0] <= k)


def ndcg_at_k(y_true, y_score, groups=None, *, k=10):
    """Normalised discounted cumulative gain at ``k``, averaged over groups.

    With binary relevance, a group's DCG sums ``1 / log2(rank + 1)`` over its
    relevant items ranked in the top ``k``, and is divided by the DCG of the
    ideal order. With one relevant item per group it is ``1 / log2(rank + 1)``
    when ``rank <= k``, else 0.

    Parameters
    ----------
    y_true, y_score, groups : see :func:`positive_ranks`
    k : int, default=10

    Returns
    -------
    float

    Examples
    --------
    >>> ndcg_at_k([0, 1, 0, 0], [0.9, 0.8, 0.1, 0.2], k=10)
    np.float64(0.6309297535714575)
    """
    _check_k(k)
    ranks, rel_groups = positive_ranks(y_true, y_score, groups)
    gain = pd.Series(np.where(ranks <= k, 1.0 / np.log2(ranks + 1), 0.0))
    dcg = gain.groupby(rel_groups).sum()
    n_relevant = pd.Series(rel_groups).value_counts().reindex(dcg.index).to_numpy()
    discounts = np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))
    ideal = discounts[np.minimum(n_relevant, k) - 1]
    return np.mean(dcg.to_numpy() / ideal)


def _check_k(k) -> None:
    check_positive_integer(k, "k")


_METRICS = {"mean_rank": mean_rank, "hit_rate": hit_rate_at_k, "ndcg": ndcg_at_k}


def _scores(estimator, X):
    """Relevance scores of a fitted estimator: decision function, probability
    of the positive class, or prediction."""
    if hasattr(estimator, "decision_function"):
        scores = np.asarray(estimator.decision_function(X))
        return scores if scores.ndim == 1 else scores[:, -1]
    if hasattr(estimator, "predict_proba"):
        return np.asarray(estimator.predict_proba(X))[:, -1]
    return np.asarray(estimator.predict(X))


def make_ranking_scorer(metric="ndcg", *, k=10, group_by=("user_id", "timestamp")):
    """A scorer for ``GridSearchCV`` that ranks the rows of each query.

    The rows of ``X`` (a DataFrame) are grouped into queries by the columns
    ``group_by``; the estimator's scores rank the rows of each query and
    ``y`` marks the relevant ones. Use a group-aware splitter (such as
    :class:`~sklearn.model_selection.GroupKFold` on users) so that a query's
    candidates stay in one fold.

    Parameters
    ----------
    metric : {"ndcg", "hit_rate", "mean_rank"}, default="ndcg"
        The mean rank is negated, so that greater is better for every scorer.
    k : int, default=10
        Cut-off of ``ndcg`` and ``hit_rate``.
    group_by : sequence of str, default=("user_id", "timestamp")
        Columns of ``X`` that identify a query.

    Returns
    -------
    scorer : callable ``scorer(estimator, X, y) -> float``

    Examples
    --------
    >>> from sklfi.metrics import make_ranking_scorer
    >>> scorer = make_ranking_scorer("hit_rate", k=10)
    """
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {sorted(_METRICS)}, got {metric!r}.")
    _check_k(k)
    columns = list(group_by)

    def scorer(estimator, X, y):
        if not all(c in getattr(X, "columns", ()) for c in columns):
            raise ValueError(
                f"the ranking scorer groups rows by the columns {columns} of a "
                "DataFrame X."
            )
        groups = pd.MultiIndex.from_frame(X[columns]).codes
        groups = np.ravel_multi_index(groups, [int(c.max()) + 1 for c in groups])
        scores = _scores(estimator, X)
        if metric == "mean_rank":
            return -mean_rank(y, scores, groups)
        return _METRICS[metric](y, scores, groups, k=k)

    scorer.__name__ = f"{metric}_scorer"
    return scorer
