"""Property-based fuzzing of the next-item functions: random watch events
(ids of several types, timestamps of every kind, missing values) and random
arguments through the split, the negatives, the baselines, the ranks and
their metrics.

As in ``test_fuzz.py``, each run ends in a result that keeps the functions'
promises, or in a ValueError or TypeError raised by sklfi's own checks.
"""

import warnings

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from sklfi.ranking import (
    EASE,
    ItemKNN,
    MostPopular,
    full_ranks,
    leave_last_out,
    ranking_metrics,
    sample_negatives,
)

from .test_fuzz import FUZZ, run

ID_KINDS = {
    "small": st.integers(0, 4),
    "huge": st.integers(-(2**62), 2**62),
    "str": st.sampled_from(["a", "b", "", "3"]),
}
ids = st.one_of(*ID_KINDS.values())


def id_column(draw):
    """Ids of one kind, or now and then of every kind (which is refused)."""
    kind = draw(st.sampled_from(["small", "small", "huge", "str", "mixed"]))
    return ids if kind == "mixed" else ID_KINDS[kind]


moments = st.one_of(
    st.integers(-(10**12), 10**12),
    st.sampled_from([1.0, 2.5, np.nan, None, "7", 2**64 - 1, 1e30, True]),
)


@st.composite
def event_frames(draw):
    n = draw(st.integers(1, 15))

    def column(values):
        return draw(st.lists(values, min_size=n, max_size=n))

    # whole numbers mostly, now and then timestamps of every kind
    times = moments if draw(st.integers(0, 2)) == 0 else st.integers(0, 10)
    events = pd.DataFrame(
        {
            "user_id": column(id_column(draw)),
            "item_id": column(id_column(draw)),
            "timestamp": column(times),
        }
    )
    dtype = draw(st.sampled_from([None, "Int64", np.uint64, float]))
    if dtype is not None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                events["timestamp"] = events["timestamp"].astype(dtype)
        except (TypeError, ValueError, OverflowError):
            pass  # (that column has no such dtype: keep it as drawn)
    return events


@FUZZ
@given(events=event_frames(), n_test=st.sampled_from([1, 2, 0, -1, 1.5]))
def test_random_events_through_leave_last_out(events, n_test):
    split = run(lambda: leave_last_out(events, n_test=n_test))
    if split is None:
        return
    train, test = split
    assert len(train) + len(test) == len(events)
    assert sorted(train.index.tolist() + test.index.tolist()) == sorted(events.index)
    times = events["timestamp"].astype(np.float64)
    for user, held in test.groupby("user_id"):
        # every held-out event is no earlier than the user's training events
        kept = train[train["user_id"] == user]
        assert len(held) <= n_test and len(kept) >= 1
        assert times[held.index].min() >= times[kept.index].max()


@FUZZ
@given(
    events=event_frames(),
    n_negatives=st.sampled_from([1, 3, 0, -1, 2.5]),
    items=st.one_of(st.none(), st.lists(ids, max_size=6)),
)
def test_random_events_through_sample_negatives(events, n_negatives, items):
    pairs = run(lambda: sample_negatives(events, n_negatives, items, random_state=0))
    if pairs is None:
        return
    X, y = pairs
    assert len(X) == len(y) == len(events) * (1 + n_negatives)
    positives = np.repeat(events["item_id"].to_numpy(), 1 + n_negatives)
    # a negative is never the event's own movie
    assert not np.any((X["item_id"].to_numpy() == positives) & (y == 0))


@FUZZ
@given(events=event_frames(), users=st.lists(ids, min_size=1, max_size=4))
def test_random_events_through_the_baselines(events, users):
    for baseline in (MostPopular(), ItemKNN(), EASE(l2=10.0)):
        scores = run(lambda b=baseline: b.fit(events).score(users))
        if scores is not None:
            assert scores.shape == (len(users), len(baseline.items_))
            assert np.all(np.isfinite(scores))


@FUZZ
@given(data=st.data())
def test_random_scores_through_full_ranks_and_ranking_metrics(data):
    items = data.draw(st.lists(id_column(data.draw), min_size=1, max_size=6))
    n = data.draw(st.integers(1, 5))
    test = pd.DataFrame(
        {
            "user_id": data.draw(
                st.lists(id_column(data.draw), min_size=n, max_size=n)
            ),
            "item_id": data.draw(st.lists(st.sampled_from(items + [9]), min_size=n,
                                          max_size=n)),
        }
    )  # fmt: skip
    exclude = data.draw(
        st.one_of(
            st.none(),
            st.builds(
                lambda u, i: pd.DataFrame({"user_id": u, "item_id": i[: len(u)]}),
                st.lists(ids, max_size=5),
                st.lists(ids, min_size=5, max_size=5),
            ),
        )
    )
    values = st.sampled_from([0.0, 1.0, -np.inf, np.inf, 2.5, np.nan])
    shape = data.draw(st.sampled_from([(n, len(items)), (n, len(items) + 1)]))
    scores = np.array(
        data.draw(st.lists(values, min_size=shape[0] * shape[1],
                           max_size=shape[0] * shape[1]))
    ).reshape(shape)  # fmt: skip
    ranks = run(lambda: full_ranks(scores, test, items, exclude=exclude))
    if ranks is not None:
        assert ranks.shape == (n,)
        assert np.all((ranks >= 1) & (ranks <= len(items)))
    k = data.draw(st.sampled_from([1, 10, 0, -1]))
    confidence = data.draw(st.sampled_from([0.95, 0.5, 0.0, 2.0]))
    given_ranks = ranks if ranks is not None else np.array(
        data.draw(st.lists(st.sampled_from([1.0, 3.5, 0.0, np.nan, np.inf]),
                           min_size=1, max_size=4))
    )  # fmt: skip
    table = run(
        lambda: ranking_metrics(
            given_ranks, k=k, n_bootstraps=20, confidence=confidence
        )
    )
    if table is not None:
        assert np.all(np.isfinite(table.to_numpy()))
        assert np.all(table["low"] <= table["high"])
