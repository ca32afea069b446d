"""Small pieces shared by every estimator (the SGD models and the Bayesian
FM): the memory guard, storing parameters, and the all-or-nothing fit."""

from __future__ import annotations

import contextlib
import os


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
