"""Small checks shared by the estimators: memory, parameters, sample
weights, labels, and the all-or-nothing fit."""

from __future__ import annotations

import contextlib
import os

import numpy as np
from sklearn.utils.validation import _check_sample_weight

from ._fields import mixed_kinds


def physical_memory() -> int | None:
    """Bytes of RAM of this machine (``None`` where sysconf cannot tell)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(need: int, what: str, advice: str) -> None:
    """Refuse, with ``advice``, to allocate ``need`` bytes for ``what`` on a
    machine with less memory."""
    have = physical_memory()
    if have is not None and need > have:
        raise ValueError(
            f"{what}: about {need / 2**30:,.1f} GiB, more than this machine's "
            f"{have / 2**30:,.1f} GiB. {advice}"
        )


def store_params(estimator, params: dict) -> None:
    """Store ``__init__``'s arguments (``locals()``) unchanged, as sklearn asks."""
    for name, value in params.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


def _check_weights(sample_weight, X) -> np.ndarray:
    """float32 sample weights (ones by default), non-negative and not all
    zero."""
    sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float32)
    if np.any(sample_weight < 0):
        raise ValueError(
            "sample_weight has negative values (the smallest is "
            f"{sample_weight.min()!r}); weights must be 0 or more."
        )
    if not sample_weight.sum() > 0:
        raise ValueError("sample_weight sums to 0: no row would count in the loss.")
    return sample_weight


def _not_number(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return True
    return False


def _check_label_types(y) -> None:
    """Labels of one kind: mixed ones (``1`` and ``"1"``) would be merged or
    compared across types."""
    kinds = mixed_kinds(np.asarray(y))
    if kinds:
        raise ValueError(
            f"y mixes labels of several types ({', '.join(kinds)}); give labels "
            "of one type, e.g. y.astype(str)."
        )


def _same(a, b) -> bool:
    """Whether two parameter values are equal (arrays and lists included)."""
    if a is b:
        return True
    try:
        if isinstance(a, (str, bytes)) or not hasattr(a, "__len__"):
            return bool(a == b)
        return bool(
            np.array_equal(np.asarray(a, dtype=object), np.asarray(b, dtype=object))
        )
    except (TypeError, ValueError):
        return False


@contextlib.contextmanager
def all_or_nothing(estimator):
    """A fit either completes or leaves ``estimator`` exactly as it was: on
    any exception (a KeyboardInterrupt too), every attribute is put back,
    the previous model included."""
    before = dict(estimator.__dict__)
    try:
        yield
    except BaseException:
        estimator.__dict__.clear()
        estimator.__dict__.update(before)
        raise


def standardise(y, sample_weight=None) -> tuple[float, float]:
    """The (weighted) mean and standard deviation of ``y``, so that a model's
    defaults suit a target of any scale; a scale of 1 for a constant target."""
    with np.errstate(over="ignore", invalid="ignore"):
        mean = np.average(y, weights=sample_weight)
        scale = np.sqrt(np.average((y - mean) ** 2, weights=sample_weight))
    if not np.isfinite(scale):  # (near 1e308 the squares overflow)
        top = float(np.max(np.abs(y)))
        z = y / top
        mean = np.average(z, weights=sample_weight)
        scale = top * np.sqrt(np.average((z - mean) ** 2, weights=sample_weight))
        mean = top * mean
    return float(mean), float(scale) or 1.0
