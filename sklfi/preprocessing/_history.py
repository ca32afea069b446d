"""Per-user statistics of past events, queried as of a moment."""

from __future__ import annotations

import numpy as np

__all__ = ["History"]


class History:
    """Running sums of event values per key (a user), as of a time.

    A query ``(key, t)`` sees the events of its key strictly earlier than
    ``t``: their number, the sums of their values, and which events they are.
    Events are sorted once by key then time, with cumulative sums, so a query
    costs a binary search and a subtraction, whatever the history's length.

    Parameters
    ----------
    keys : ndarray of int of shape (n_events,)
        Key code of every event, ``0..n_keys-1``.
    times : ndarray of int of shape (n_events,)
    values : ndarray of shape (n_events, C)
        The values to sum.
    n_keys : int

    Attributes
    ----------
    order : ndarray of shape (n_events,)
        The events sorted by key then time (stable): event ``order[p]`` is
        at position ``p`` of the history.

    Examples
    --------
    >>> import numpy as np
    >>> h = History(np.array([0, 0, 1]), np.array([5, 1, 3]), np.ones((3, 1)), 2)
    >>> start, end = h.span(np.array([0, 0, 1, -1]), np.array([5, 9, 3, 3]))
    >>> (end - start).tolist()  # events before each query
    [1, 2, 0, 0]
    """

    def __init__(self, keys, times, values, n_keys: int):
        times = np.asarray(times, dtype=np.int64)
        self.order = np.lexsort((times, keys))
        keys, times = keys[self.order], times[self.order]
        # times as their rank among the distinct times, so that the sort key
        # stays below n_keys * (n_events + 1), whatever the time unit
        self._times = np.unique(times)
        self._span = len(self._times) + 1
        ranks = np.searchsorted(self._times, times)
        self._sort_key = keys.astype(np.int64) * self._span + ranks
        self._start = np.searchsorted(keys, np.arange(n_keys))
        counted = np.column_stack([np.ones(len(keys)), values[self.order]])
        self._cumsum = np.vstack([np.zeros(counted.shape[1]), np.cumsum(counted, 0)])

    def span(self, keys, times):
        """Positions ``[start, end)`` of the events of each query's key
        earlier than its time; empty for keys ``< 0`` (unknown)."""
        known = keys >= 0
        start = np.where(known, self._start[np.maximum(keys, 0)], 0)
        end = start.copy()
        times = np.asarray(times, dtype=np.int64)[known]
        # the events of the key whose time ranks below the query's
        query = keys[known].astype(np.int64) * self._span + np.searchsorted(
            self._times, times, side="left"
        )
        end[known] = np.searchsorted(self._sort_key, query, side="left")
        return start, end

    def sums(self, start, end):
        """Number of events (first column) and sums of their values (the
        other columns) in each span: ``(n, 1 + C)``."""
        return self._cumsum[end] - self._cumsum[start]

    def events(self, start, end):
        """The history positions of every span, concatenated, and the offset
        of each span in them: CSR ``(indices, indptr)``."""
        count = end - start
        indptr = np.concatenate([[0], np.cumsum(count)])
        positions = np.arange(indptr[-1]) + np.repeat(start - indptr[:-1], count)
        return positions, indptr
