"""sklfi's global settings: :func:`get_config`, :func:`set_config` and
:func:`config_context`, as scikit-learn's."""

from __future__ import annotations

from contextlib import contextmanager
from numbers import Real

__all__ = ["config_context", "get_config", "set_config"]

_config = {"device_memory_share": 0.5}


def get_config() -> dict:
    """sklfi's current settings.

    Returns
    -------
    config : dict
        A copy of the settings, keyed by the parameter names of
        :func:`set_config`.
    """
    return dict(_config)


def set_config(device_memory_share=None) -> None:
    """Change sklfi's settings (those not given stay as they are).

    Parameters
    ----------
    device_memory_share : float in [0, 1], default=None
        The share of a CUDA device's free memory (what torch keeps cached
        counted as free) that a training or prediction set may take there
        (its column indices, values, targets and weights). Within it, the
        data moves to the device once and every batch is cut there; beyond
        it, the data stays on the host and moves to the device in chunks of
        64 batches, through pinned memory on a side stream, the next chunk
        copied while the current one trains. 0 always streams; the default
        is 0.5 (half the free memory).
    """
    if device_memory_share is not None:
        if (
            not isinstance(device_memory_share, Real)
            or isinstance(device_memory_share, bool)
            or not 0 <= device_memory_share <= 1
        ):
            raise ValueError(
                "device_memory_share must be a number in [0, 1] (a share of "
                f"the device's free memory), got {device_memory_share!r}."
            )
        _config["device_memory_share"] = float(device_memory_share)


@contextmanager
def config_context(**settings):
    """Within a ``with`` block, sklfi's settings changed as
    :func:`set_config` would, and restored when the block ends.

    Parameters
    ----------
    **settings
        The parameters of :func:`set_config`.

    Examples
    --------
    >>> import sklfi
    >>> with sklfi.config_context(device_memory_share=0.1):
    ...     sklfi.get_config()["device_memory_share"]
    0.1
    """
    old = get_config()
    set_config(**settings)
    try:
        yield
    finally:
        _config.update(old)
