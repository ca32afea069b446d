"""The tables of watch events (next-item recommendation) and of ratings
(MovieLens): the checks of their frames, ids and timestamps, shared by
:mod:`sklfi.ranking` and :class:`~sklfi.preprocessing.MovieLensFeatures`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._fields import mixed_kinds

EVENT_COLUMNS = ["user_id", "item_id", "timestamp"]

_INT64 = np.iinfo(np.int64)
_NUMBERS = ("integer", "floating", "mixed-integer-float", "decimal")


def check_events(events, name="events", columns=EVENT_COLUMNS, empty=False):
    """Check ``events``: a DataFrame with ``columns``, every id given and of
    one type, every timestamp a whole number; or a clear error.

    Returns
    -------
    ndarray of int64, or None
        The timestamps (:func:`timestamps`), when ``columns`` has them.
    """
    if not isinstance(events, pd.DataFrame):
        kind = type(events).__name__
        raise TypeError(f"{name} must be a pandas DataFrame, got {kind}.")
    missing = [c for c in columns if c not in events.columns]
    if missing:
        raise ValueError(f"{name} lacks the columns {missing}.")
    if len(events) == 0 and not empty:
        raise ValueError(f"{name} is empty.")
    for column in ("user_id", "item_id"):
        if column not in columns:
            continue
        kinds = mixed_kinds(events[column])
        if kinds or events[column].isna().any():
            raise TypeError(
                f"the {column} column of {name} "
                + (
                    f"mixes ids of several types ({', '.join(kinds)})"
                    if kinds
                    else "has missing ids"
                )  # fmt: skip
                + "; give every event an id, all of one type."
            )
    if "timestamp" in columns:
        return timestamps(events["timestamp"], f"the timestamp column of {name}")
    return None


def timestamps(values, name="timestamp") -> np.ndarray:
    """``values`` as int64 timestamps: whole numbers (such as Unix seconds),
    none missing, within int64; or a ``ValueError`` naming the problem
    (strings would be ordered as text, a missing time would sort last and a
    large unsigned one would wrap round)."""
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    kind = pd.api.types.infer_dtype(series, skipna=True)
    if series.dtype == bool or (kind not in _NUMBERS and len(series.dropna())):
        hint = ""
        if kind.startswith("datetime") or kind == "date":
            hint = (" (datetimes as Unix seconds: "
                    "dates.astype('datetime64[s]').astype('int64'))")  # fmt: skip
        raise ValueError(
            f"{name} must hold whole numbers, such as Unix seconds{hint}; got "
            f"{kind} values of dtype {series.dtype}."
        )
    missing = series.isna().to_numpy()
    if missing.any():
        raise ValueError(
            f"{name} has {missing.sum()} missing values (the first at position "
            f"{np.argmax(missing)}): every event needs its moment."
        )
    if len(series) == 0:
        return np.empty(0, dtype=np.int64)
    if series.dtype.kind in "iu":  # (numpy's or pandas' nullable integers)
        if series.dtype.kind == "u" and series.max() >= 2**63:
            _out_of_range(name, series.max())
        return series.to_numpy(dtype=np.int64)
    # Python numbers (object) are compared exactly, whatever their size
    numbers = series.to_numpy(dtype=object if series.dtype == object else np.float64)
    with np.errstate(invalid="ignore"):
        whole = np.asarray(numbers % 1 == 0, dtype=bool)
    if not whole.all():
        bad = numbers[~whole][0]
        raise ValueError(f"{name} must hold whole numbers, got {_plain(bad)!r}.")
    low, high = numbers.min(), numbers.max()
    if low < _INT64.min or high >= 2**63:
        _out_of_range(name, low if low < _INT64.min else high)
    return numbers.astype(np.int64)


def _out_of_range(name, value):
    raise ValueError(
        f"{name} holds {_plain(value)!r}, outside the range of 64-bit timestamps."
    )


def _plain(value):
    """A numpy scalar as the Python number it holds (for messages)."""
    return value.item() if isinstance(value, np.generic) else value


def moment(timestamp) -> int:
    """One timestamp as a whole number within int64, or a clear error."""
    if isinstance(timestamp, (bool, np.bool_)) or not isinstance(
        timestamp, (int, float, np.integer, np.floating)
    ):
        raise TypeError(
            "timestamp must be a whole number in the unit of the events' "
            f"timestamps (such as Unix seconds), got {type(timestamp).__name__}."
        )
    if isinstance(timestamp, (float, np.floating)) and not np.isfinite(timestamp):
        raise ValueError(
            f"timestamp must be a whole number, as the events' are; got {timestamp!r}."
        )
    return int(timestamps(pd.Series([timestamp], dtype=object), "timestamp")[0])


def check_same_ids(ids, reference, name, reference_name) -> None:
    """A ``ValueError`` when ``ids`` are of another type than ``reference``
    (``"10"`` against ``10``): they would never match, silently."""
    a, b = _id_kind(ids), _id_kind(reference)
    if a and b and a != b:
        raise ValueError(
            f"{name} are {a} ids but {reference_name} are {b} ids: give ids of "
            "one type (they would never match)."
        )


def _id_kind(ids) -> str | None:
    """``"number"``, ``"str"`` or the name of another kind of id (``None``
    when there is none)."""
    ids = ids if isinstance(ids, (pd.Series, pd.Index)) else np.asarray(ids)
    if len(ids) == 0:
        return None
    kind = pd.api.types.infer_dtype(ids, skipna=True)
    if kind == "categorical":
        kind = pd.api.types.infer_dtype(pd.Categorical(ids).categories, skipna=True)
    return "number" if kind in _NUMBERS else "str" if kind == "string" else kind
