"""Next-item recommendation: training pairs and evaluation by ranking.

The task: from a user's time-ordered watch history, predict the next movie.
Each watch event ``(user_id, item_id, timestamp)`` is a positive example of
"this user, at this moment, watches this movie next", with the history as of
that moment as context (see :class:`~sklfi.preprocessing.MovieLensFeatures`).

1. :func:`leave_last_out` holds out each user's last events for testing;
2. :func:`sample_negatives` pairs every training event with random movies the
   user did not watch next, labelled 0, to train any sklfi classifier;
3. :func:`item_scores` scores every movie for each test event, and
   :func:`full_ranks` ranks the true next movie among them, the movies the
   user watched before left out; :func:`ranking_metrics` summarises the
   ranks with bootstrap intervals, next to the baselines :class:`MostPopular`,
   :class:`ItemKNN` and :class:`EASE`;
4. :func:`recommend` lists the top movies for users.

Fit the feature transformer on the real events and freeze it in the
pipeline, so that the negatives never enter the history::

    features = MovieLensFeatures(users, items).fit(train)
    model = make_pipeline(FrozenEstimator(features), FMClassifier())
    model.fit(*sample_negatives(train, random_state=0))
    scores = item_scores(model, test, movies)
    ranking_metrics(full_ranks(scores, test, movies, exclude=train))
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils import check_random_state

from ._fields import check_positive_integer
from .metrics import _scores

__all__ = [
    "EASE",
    "ItemKNN",
    "MostPopular",
    "full_ranks",
    "item_scores",
    "leave_last_out",
    "ranking_metrics",
    "recommend",
    "sample_negatives",
    "score_candidates",
]

EVENT_COLUMNS = ["user_id", "item_id", "timestamp"]


def _check_events(events) -> pd.DataFrame:
    if not isinstance(events, pd.DataFrame):
        raise TypeError(
            f"events must be a pandas DataFrame, got {type(events).__name__}."
        )
    missing = [c for c in EVENT_COLUMNS if c not in events.columns]
    if missing:
        raise ValueError(f"events lack the columns {missing}.")
    if len(events) == 0:
        raise ValueError("events is empty.")
    return events


def leave_last_out(events, n_test=1):
    """Split each user's time-ordered events: the last ``n_test`` for testing.

    Users with ``n_test`` events or fewer keep them all for training. Events
    of a user with the same timestamp keep their order in ``events`` (the
    later row is the later event): in MovieLens-100K, 415 of the 943 users
    have their last timestamp shared by several ratings, and the row that
    comes last in ``u.data`` is held out.

    Parameters
    ----------
    events : DataFrame with ``user_id``, ``item_id``, ``timestamp``
    n_test : int, default=1

    Returns
    -------
    train, test : DataFrame
        Rows of ``events`` (with their original index and columns).

    Examples
    --------
    >>> import pandas as pd
    >>> events = pd.DataFrame({"user_id": [1, 1, 1, 2], "item_id": [5, 6, 7, 5],
    ...                        "timestamp": [3, 1, 2, 1]})
    >>> train, test = leave_last_out(events)
    >>> test.item_id.tolist()
    [5]
    """
    events = _check_events(events)
    check_positive_integer(n_test, "n_test")
    order = events.sort_values(["user_id", "timestamp"], kind="stable")
    from_end = order.groupby("user_id").cumcount(ascending=False)
    size = order.groupby("user_id")["user_id"].transform("size")
    is_test = (from_end < n_test) & (size > n_test)
    return events.loc[order.index[~is_test]], events.loc[order.index[is_test]]


def sample_negatives(events, n_negatives=4, items=None, random_state=None):
    """Training pairs for next-item prediction: each event and random misses.

    Every event (the movie the user watched next, label 1) is followed by
    ``n_negatives`` rows with the same user and timestamp and a movie drawn
    uniformly from ``items`` other than the watched one (label 0).

    Parameters
    ----------
    events : DataFrame with ``user_id``, ``item_id``, ``timestamp``
    n_negatives : int, default=4
    items : array-like, default=None
        Candidate movies; ``None`` takes the movies of ``events``.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : DataFrame with ``user_id``, ``item_id``, ``timestamp``
        ``len(events) * (1 + n_negatives)`` rows, each event followed by its
        negatives.
    y : ndarray of int
        1 for events, 0 for negatives.
    """
    events = _check_events(events)
    rng = check_random_state(random_state)
    items = np.unique(events["item_id"] if items is None else np.asarray(items))
    if len(items) < 2:
        raise ValueError("sampling negatives needs at least 2 candidate items.")
    n, k = len(events), 1 + n_negatives
    base = events[EVENT_COLUMNS].to_numpy()
    X = np.repeat(base, k, axis=0)
    y = np.tile(np.r_[1, np.zeros(n_negatives, dtype=np.int64)], n)
    negative = y == 0
    positive_item = X[negative, 1]
    # draw among the other items: skip the positive by shifting later draws
    pos = np.searchsorted(items, positive_item)
    known = items[np.minimum(pos, len(items) - 1)] == positive_item
    draw = rng.randint(0, len(items) - known)
    X[negative, 1] = items[np.where(known & (draw >= pos), draw + 1, draw)]
    X = pd.DataFrame(X, columns=EVENT_COLUMNS).astype(events[EVENT_COLUMNS].dtypes)
    return X, y


def score_candidates(
    model, events, candidates=None, *, features=None, exclude=None, max_rows=200_000
):
    """Score every candidate movie for each event, to rank the true one.

    For each event ``(user, item, timestamp)`` the fitted ``model`` (e.g. a
    pipeline of :class:`~sklfi.preprocessing.MovieLensFeatures` and a
    classifier) scores the rows ``(user, c, timestamp)`` for every candidate
    ``c``; the event's own movie is relevant. Feed the result to
    :func:`~sklfi.metrics.mean_rank`, :func:`~sklfi.metrics.hit_rate_at_k` or
    :func:`~sklfi.metrics.ndcg_at_k`.

    Parameters
    ----------
    model : fitted estimator or list of fitted estimators
        Scores rows with ``decision_function``, ``predict_proba`` or
        ``predict``. Several models share the candidate rows (and their
        features), which are built once.
    events : DataFrame with ``user_id``, ``item_id``, ``timestamp``
    candidates : array-like, default=None
        Candidate movies; ``None`` takes the movies of ``events``. An event's
        own movie is always a candidate.
    features : fitted transformer, default=None
        Applied to the candidate rows before the model(s), e.g. a fitted
        :class:`~sklfi.preprocessing.MovieLensFeatures` when ``model`` is a
        bare estimator.
    exclude : DataFrame with ``user_id`` and ``item_id``, default=None
        Events whose movies are not candidates for their user (the training
        events: the movies the user watched before, which the standard
        protocol leaves out of the ranking), except the event's own movie.
    max_rows : int, default=200000
        Rows built and scored at once, to bound memory.

    Returns
    -------
    y_true : ndarray of shape (n_rows,)
        1 for each event's own movie, else 0.
    y_score : ndarray of shape (n_rows,), or (n_rows, n_models) for a list
    groups : ndarray of shape (n_rows,)
        Position of the event in ``events``.
    """
    events = _check_events(events)
    models = model if isinstance(model, (list, tuple)) else [model]
    base = events[EVENT_COLUMNS].reset_index(drop=True)
    candidates = np.unique(base["item_id"] if candidates is None else candidates)
    per_chunk = max(1, max_rows // (len(candidates) + 1))
    y_true, y_score, groups = [], [], []
    for start in range(0, len(base), per_chunk):
        chunk = base.iloc[start : start + per_chunk]
        n = len(chunk)
        rows = chunk.loc[chunk.index.repeat(len(candidates))].reset_index(drop=True)
        rows["item_id"] = np.tile(candidates, n)
        own = chunk["item_id"].to_numpy()
        missing = ~np.isin(own, candidates)  # add the event's movie if absent
        rows = pd.concat([rows, chunk[missing]], ignore_index=True)
        group = np.r_[np.repeat(np.arange(start, start + n), len(candidates)),
                      np.arange(start, start + n)[missing]]  # fmt: skip
        if exclude is not None:  # drop the movies the user watched before
            is_own = rows["item_id"].to_numpy() == own[group - start]
            seen = rows[["user_id", "item_id"]].merge(
                exclude[["user_id", "item_id"]].drop_duplicates(),
                how="left", indicator=True,
            )["_merge"].to_numpy() == "both"  # fmt: skip
            keep = is_own | ~seen
            rows, group = rows[keep].reset_index(drop=True), group[keep]
        y_true.append((rows["item_id"].to_numpy() == own[group - start]).astype(int))
        X = rows if features is None else features.transform(rows)
        y_score.append(np.column_stack([_scores(m, X) for m in models]))
        groups.append(group)
    y_score = np.concatenate(y_score)
    if not isinstance(model, (list, tuple)):
        y_score = y_score[:, 0]
    return np.concatenate(y_true), y_score, np.concatenate(groups)


# -- full ranking over every movie, and the baselines ---------------------------
def _user_item_matrix(events, items):
    """Binary users x items CSR of ``events``, the sorted user ids, and the
    sorted item ids (``items``, or those of ``events``)."""
    events = _check_events(events)
    users = np.unique(events["user_id"])
    items = np.unique(events["item_id"] if items is None else np.asarray(items))
    rows = np.searchsorted(users, events["user_id"].to_numpy())
    cols = np.searchsorted(items, events["item_id"].to_numpy())
    cols = np.minimum(cols, len(items) - 1)
    if np.any(items[cols] != events["item_id"].to_numpy()):
        raise ValueError("events hold movies that are not among items.")
    matrix = sp.csr_matrix(
        (np.ones(len(rows)), (rows, cols)), shape=(len(users), len(items))
    )
    matrix.data[:] = 1.0  # (a movie rated twice counts once)
    return matrix, users, items


class _Baseline:
    """A recommender fitted on watch events that scores every movie for a
    user from the movies the user watched: the floor a model must clear."""

    def fit(self, events, items=None):
        """Learn from ``events`` (``user_id``, ``item_id``, ``timestamp``);
        ``items`` is the catalogue to rank (default: the movies of events)."""
        self.watched_, self.users_, self.items_ = _user_item_matrix(events, items)
        self._fit(self.watched_)
        return self

    def score(self, users):
        """Scores of every movie of ``items_`` for each of ``users``:
        ``(len(users), len(items_))``; unknown users get the scores of an
        empty history."""
        users = np.asarray(users)
        pos = np.minimum(np.searchsorted(self.users_, users), len(self.users_) - 1)
        known = self.users_[pos] == users
        history = self.watched_[pos].multiply(known[:, None]).tocsr()
        return self._score(history)


class MostPopular(_Baseline):
    """Every user gets the movies by number of watchers, most first.

    Examples
    --------
    >>> import pandas as pd
    >>> events = pd.DataFrame({"user_id": [1, 2, 2], "item_id": [7, 7, 9],
    ...                        "timestamp": [1, 1, 2]})
    >>> MostPopular().fit(events).score([1]).tolist()
    [[2.0, 1.0]]
    """

    def _fit(self, watched):
        self.counts_ = np.asarray(watched.sum(axis=0)).ravel()

    def _score(self, history):
        return np.tile(self.counts_, (history.shape[0], 1))


class ItemKNN(_Baseline):
    """Item-based neighbours: a movie scores the sum of its cosine
    similarities (over co-watch counts) to the movies the user watched."""

    def _fit(self, watched):
        co = (watched.T @ watched).toarray()
        norm = np.sqrt(np.diag(co))
        self.similarity_ = co / np.maximum(np.outer(norm, norm), 1e-12)
        np.fill_diagonal(self.similarity_, 0.0)

    def _score(self, history):
        return np.asarray(history @ self.similarity_)


class EASE(_Baseline):
    """EASE (Steck, 2019): a closed-form item-item linear model.

    The weights ``B`` minimise ``||X - X B||^2 + l2 ||B||^2`` with a zero
    diagonal, over the users x movies matrix ``X``: with ``P = (X'X + l2
    I)^-1``, ``B = -P / diag(P)`` and ``B_ii = 0``. A movie scores the sum of
    its weights from the movies the user watched. Memory and time grow with
    the square and the cube of the number of movies (thousands, not
    millions).

    Parameters
    ----------
    l2 : float, default=400.0
        Ridge penalty; 300 to 500 suit MovieLens-100K.

    References
    ----------
    H. Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019.
    """

    def __init__(self, l2=400.0):
        self.l2 = l2

    def _fit(self, watched):
        if not self.l2 > 0:
            raise ValueError(f"l2 must be positive, got {self.l2!r}.")
        gram = (watched.T @ watched).toarray()
        gram[np.diag_indices_from(gram)] += self.l2
        inverse = np.linalg.inv(gram)
        self.weights_ = -inverse / np.diag(inverse)
        np.fill_diagonal(self.weights_, 0.0)

    def _score(self, history):
        return np.asarray(history @ self.weights_)


def full_ranks(scores, test, items, exclude=None):
    """Rank of each test event's movie among all ``items``.

    Parameters
    ----------
    scores : array-like of shape (len(test), len(items))
        Scores of every movie (in ``items`` order) for each test event.
    test : DataFrame with ``user_id`` and ``item_id``
    items : array-like of shape (n_items,)
        The candidate movies, every one ranked.
    exclude : DataFrame with ``user_id`` and ``item_id``, default=None
        Events whose movies are taken out of the user's ranking (the
        training events: the movies the user watched before), except the
        test movie itself.

    Returns
    -------
    ranks : ndarray of shape (len(test),)
        1 is the top. A movie tied with others takes the middle of their
        ranks (a movie tied with 3 others for first is 2.5).
    """
    scores = np.array(scores, dtype=np.float64)
    items = np.asarray(items)
    if scores.shape != (len(test), len(items)):
        raise ValueError(
            f"scores has shape {scores.shape}; expected (len(test), len(items)) = "
            f"({len(test)}, {len(items)})."
        )
    if np.isnan(scores).any():
        raise ValueError("scores hold NaN: a ranking needs a score for every movie.")
    order = np.argsort(items, kind="stable")
    pos = np.searchsorted(items, test["item_id"].to_numpy(), sorter=order)
    own = order[np.minimum(pos, len(items) - 1)]
    if np.any(items[own] != test["item_id"].to_numpy()):
        raise ValueError("test holds movies that are not among items.")
    rows = np.arange(len(test))
    target = scores[rows, own]
    if exclude is not None:
        seen = exclude[["user_id", "item_id"]].merge(
            pd.DataFrame({"user_id": test["user_id"].to_numpy(), "row": rows}),
            on="user_id",
        )
        col = np.searchsorted(items, seen["item_id"].to_numpy(), sorter=order)
        col = order[np.minimum(col, len(items) - 1)]
        known = items[col] == seen["item_id"].to_numpy()
        scores[seen["row"].to_numpy()[known], col[known]] = -np.inf
        scores[rows, own] = target  # (the test movie itself stays)
    target = target[:, None]
    greater = (scores > target).sum(axis=1)
    ties = (scores == target).sum(axis=1) - 1
    return 1.0 + greater + ties / 2.0


def ranking_metrics(ranks, k=10, n_bootstraps=1000, confidence=0.95, random_state=0):
    """HR@k, NDCG@k, MRR, mean and median rank, with bootstrap intervals.

    Parameters
    ----------
    ranks : array-like of shape (n_events,)
        Ranks of the held-out movies (:func:`full_ranks`), 1 the top.
    k : int, default=10
    n_bootstraps : int, default=1000
        Resamples of the test events for the intervals (0: none).
    confidence : float, default=0.95
    random_state : int, RandomState instance or None, default=0

    Returns
    -------
    DataFrame
        Index ``hr@k``, ``ndcg@k``, ``mrr``, ``mean_rank``, ``median_rank``;
        columns ``value``, ``low`` and ``high`` (the percentile interval of
        the bootstrap: with a few hundred test users, differences inside it
        are noise).
    """
    ranks = np.asarray(ranks, dtype=np.float64)
    if ranks.ndim != 1 or len(ranks) == 0 or np.any(ranks < 1):
        raise ValueError("ranks must be a non-empty 1-d array of ranks >= 1.")

    def metrics(r):
        hit = r <= k
        return np.array([hit.mean(axis=-1),
                         np.where(hit, 1 / np.log2(r + 1), 0).mean(axis=-1),
                         (1 / r).mean(axis=-1), r.mean(axis=-1),
                         np.median(r, axis=-1)])  # fmt: skip

    names = [f"hr@{k}", f"ndcg@{k}", "mrr", "mean_rank", "median_rank"]
    table = pd.DataFrame({"value": metrics(ranks)}, index=names)
    if n_bootstraps:
        rng = check_random_state(random_state)
        samples = ranks[rng.randint(0, len(ranks), (n_bootstraps, len(ranks)))]
        tail = (1 - confidence) / 2 * 100
        low, high = np.percentile(metrics(samples), [tail, 100 - tail], axis=1)
        table["low"], table["high"] = low, high
    return table


# -- every movie for every query: evaluation and recommendation -----------------
def _candidate_batches(queries, items, features=None, max_rows=200_000):
    """The rows ``(user, movie, timestamp)`` of every movie of ``items`` for
    each query, in batches: ``(first query, number of queries, X)``, ``X``
    transformed by ``features`` when given. The features of a batch are
    built once, for as many models as score it."""
    queries = queries[["user_id", "timestamp"]].reset_index(drop=True)
    items = np.asarray(items)
    per_batch = max(1, max_rows // max(len(items), 1))
    for start in range(0, len(queries), per_batch):
        chunk = queries.iloc[start : start + per_batch]
        rows = pd.DataFrame({
            "user_id": np.repeat(chunk["user_id"].to_numpy(), len(items)),
            "item_id": np.tile(items, len(chunk)),
            "timestamp": np.repeat(chunk["timestamp"].to_numpy(), len(items)),
        })  # fmt: skip
        yield start, len(chunk), rows if features is None else features.transform(rows)


def item_scores(model, queries, items, *, features=None, max_rows=200_000):
    """Score every movie of ``items`` for each query ``(user, timestamp)``.

    Parameters
    ----------
    model : fitted estimator or list of fitted estimators
        Scores rows ``(user_id, item_id, timestamp)`` (a pipeline that
        starts with :class:`~sklfi.preprocessing.MovieLensFeatures`), or
        their ``features``, with ``decision_function``, ``predict_proba`` or
        ``predict``. Several models share the rows, built once.
    queries : DataFrame with ``user_id`` and ``timestamp``
        For instance test events: each is scored as of its moment.
    items : array-like of shape (n_items,)
    features : fitted transformer, default=None
        Applied to the rows before the model(s).
    max_rows : int, default=200000
        Rows built and scored at once, to bound memory.

    Returns
    -------
    scores : ndarray of shape (len(queries), n_items), or a list of them
        Feed them to :func:`full_ranks`.
    """
    models = model if isinstance(model, (list, tuple)) else [model]
    queries, items = _check_queries(queries, items, max_rows)
    scores, _ = _score_items(models, queries, items, features, max_rows)
    return scores if isinstance(model, (list, tuple)) else scores[0]


def _score_items(models, queries, items, features=None, max_rows=200_000):
    """The (len(queries), len(items)) score matrix of each of ``models``, on
    candidate rows built once for all, and each model's own seconds of
    scoring (the rows' features not included)."""
    scores = [np.empty((len(queries), len(items))) for _ in models]
    seconds = np.zeros(len(models))
    for start, n, X in _candidate_batches(queries, items, features, max_rows):
        for k, m in enumerate(models):
            begin = time.perf_counter()
            scores[k][start : start + n] = _scores(m, X).reshape(n, len(items))
            seconds[k] += time.perf_counter() - begin
    return scores, seconds


def _check_queries(queries, items, max_rows):
    """``queries`` (a DataFrame with ``user_id`` and ``timestamp``) and
    ``items`` (a non-empty 1-d array), or a clear error."""
    if not isinstance(queries, pd.DataFrame):
        raise TypeError(
            f"queries must be a pandas DataFrame, got {type(queries).__name__}."
        )
    missing = [c for c in ("user_id", "timestamp") if c not in queries.columns]
    if missing:
        raise ValueError(f"queries lack the columns {missing}.")
    items = np.asarray(items)
    if items.ndim != 1 or len(items) == 0:
        raise ValueError(
            f"items must be a non-empty 1-d array, got shape {items.shape}."
        )
    check_positive_integer(max_rows, "max_rows")
    return queries, items


def _movielens_features(model):
    """The fitted MovieLensFeatures that starts a pipeline (frozen or not)."""
    from .preprocessing import MovieLensFeatures

    steps = getattr(model, "steps", [])
    first = steps[0][1] if steps else None
    first = getattr(first, "estimator", first)  # (a FrozenEstimator)
    return first if isinstance(first, MovieLensFeatures) else None


def recommend(model, users, k=10, *, exclude_seen=True, items=None, timestamp=None):
    """The top ``k`` movies for each user, from a fitted next-item model.

    Parameters
    ----------
    model : fitted Pipeline
        Starts with a fitted :class:`~sklfi.preprocessing.MovieLensFeatures`
        (frozen, as in the next-item workflow) and ends with a classifier
        trained on watch events and negatives: its features know each
        user's history.
    users : array-like of user ids
    k : int, default=10
    exclude_seen : bool, default=True
        Leave out the movies each user watched before ``timestamp``.
    items : array-like, default=None
        Candidate movies; ``None`` takes every movie the features know.
    timestamp : int, default=None
        Moment of the recommendation: the history is the events before it.
        ``None`` is after every event the features learnt.

    Returns
    -------
    DataFrame
        Columns ``user_id``, ``rank`` (1 the top), ``item_id`` and
        ``score``: ``k`` rows per user (fewer when fewer movies are left),
        in the order of ``users`` then rank.

    Examples
    --------
    See :ref:`next-item recommendation <ranking>`: ``recommend(model,
    [1, 2], k=5)`` lists five unseen movies for users 1 and 2.
    """
    features = _movielens_features(model)
    if features is None:
        raise TypeError(
            "recommend needs a fitted Pipeline whose first step is a fitted "
            "MovieLensFeatures (it knows the users' histories); got "
            f"{type(model).__name__}."
        )
    check_positive_integer(k, "k")
    users = np.asarray(users)
    if users.ndim != 1:
        raise ValueError(f"users must be a 1-d array of ids, got shape {users.shape}.")
    known = features._item_ids
    items = known.to_numpy() if items is None else np.unique(np.asarray(items))
    if len(items) == 0:
        raise ValueError("items is empty: there is no movie to recommend.")
    if len(users) and not (features._user_ids.get_indexer(users) >= 0).any():
        raise ValueError(
            "none of users is known to the features (fitted on "
            f"{len(features._user_ids)} users, ids like "
            f"{features._user_ids[0]!r}): check the ids' type."
        )
    if not (known.get_indexer(items) >= 0).any():
        raise ValueError(
            f"none of items is known to the features (ids like {known[0]!r}): "
            "check the ids' type."
        )
    moment = np.iinfo(np.int64).max if timestamp is None else _moment(timestamp)
    queries = pd.DataFrame({"user_id": users, "timestamp": np.int64(moment)})
    k = min(k, len(items))
    picks, best = [], []
    for start, n, X in _candidate_batches(queries, items, None, 200_000):
        scores = _scores(model, X).astype(np.float64).reshape(n, len(items))
        if np.isnan(scores).any():
            raise ValueError("the model scores some movies NaN: it cannot rank them.")
        seen = np.zeros(scores.shape, dtype=bool)
        if exclude_seen:
            moments = np.full(n, moment, dtype=np.int64)
            rows, movies = features._watched(users[start : start + n], moments)
            cols = np.minimum(np.searchsorted(items, movies), len(items) - 1)
            hit = items[cols] == movies
            seen[rows[hit], cols[hit]] = True
        # the top k of each user, seen movies last, then sorted by score
        order = np.where(seen, -np.inf, scores)
        top = np.argpartition(-order, k - 1, axis=1)[:, :k]
        top = np.take_along_axis(
            top, np.argsort(-np.take_along_axis(order, top, 1), 1, kind="stable"), 1
        )
        picks.append(top)
        best.append(np.where(np.take_along_axis(seen, top, 1), np.nan,
                             np.take_along_axis(scores, top, 1)))  # fmt: skip
    top = np.concatenate(picks) if picks else np.zeros((0, k), dtype=int)
    best = np.concatenate(best) if best else np.zeros((0, k))
    table = pd.DataFrame({
        "user_id": np.repeat(users, k),
        "rank": np.tile(np.arange(1, k + 1), len(users)),
        "item_id": items[top].ravel(),
        "score": best.ravel(),
    })  # fmt: skip
    return table[table["score"].notna()].reset_index(drop=True)


def _moment(timestamp) -> int:
    """A timestamp as a whole number, or a clear error."""
    if isinstance(timestamp, (bool, np.bool_)) or not isinstance(
        timestamp, (int, float, np.integer, np.floating)
    ):
        raise TypeError(
            "timestamp must be a whole number in the unit of the events' "
            f"timestamps (such as Unix seconds), got {type(timestamp).__name__}."
        )
    if not np.isfinite(timestamp) or timestamp != np.round(timestamp):
        raise ValueError(
            f"timestamp must be a whole number, as the events' are; got {timestamp!r}."
        )
    return int(timestamp)
