"""History: per-user sums of earlier events, against a naive scan."""

import numpy as np

from sklfi.preprocessing._history import History


def test_queries_see_exactly_the_earlier_events_of_their_key():
    rng = np.random.default_rng(0)
    n, n_keys = 300, 7
    keys = rng.integers(0, n_keys, n)
    times = rng.integers(0, 50, n)  # many ties
    values = rng.normal(size=(n, 3))
    history = History(keys, times, values, n_keys)
    q_keys = np.r_[rng.integers(0, n_keys, 200), -1, -1]  # -1: an unknown key
    q_times = np.r_[rng.integers(-5, 60, 200), 10, 99]  # also outside the range
    start, end = history.span(q_keys, q_times)
    sums = history.sums(start, end)
    events, indptr = history.events(start, end)
    for q, (k, t) in enumerate(zip(q_keys, q_times)):
        earlier = np.flatnonzero((keys == k) & (times < t))
        assert end[q] - start[q] == len(earlier) == sums[q, 0]
        np.testing.assert_allclose(sums[q, 1:], values[earlier].sum(0), atol=1e-12)
        seen = history.order[events[indptr[q] : indptr[q + 1]]]
        assert sorted(seen) == sorted(earlier)
    # the history is ordered by key, then time
    ordered = np.c_[keys[history.order], times[history.order]]
    assert np.all(np.diff(ordered[:, 0]) >= 0)
    same_key = np.diff(ordered[:, 0]) == 0
    assert np.all(np.diff(ordered[:, 1])[same_key] >= 0)


def test_empty_history():
    history = History(np.array([], int), np.array([], int), np.zeros((0, 2)), 3)
    start, end = history.span(np.array([0, 2, -1]), np.array([1, 2, 3]))
    assert (end - start).tolist() == [0, 0, 0]
    assert history.sums(start, end).tolist() == [[0, 0, 0]] * 3
