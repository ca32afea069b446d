"""The random numbers of a fit come from its own generators, so that a
seeded fit is reproducible whatever other sklfi fits run in other threads.

torch's global generator is shared by every thread of a process: two fits
seeding it at once in two threads would draw each other's numbers. So a fit
builds its module under a lock with the global generator seeded (and
restored after), then carries on the same random stream in a generator of
its own, which the batch shuffling and the dropout layers of :mod:`sklfi.nn`
read for the duration of the fit (:func:`fit_stream`, thread-local). Only
the module's construction (milliseconds) still goes through the global
generator: torch code outside sklfi drawing from it in another thread at
that moment would change the initial weights (and see its own stream
rewound).
"""

from __future__ import annotations

import contextlib
import threading

import torch

__all__ = ["build_seeded", "cpu_generator", "device_generator", "fit_stream"]

_BUILD_LOCK = threading.Lock()
_LOCAL = threading.local()


def build_seeded(build, seed: int, device="cpu"):
    """``build()`` (a module, whose initialisation draws random numbers) with
    torch's global generators seeded with ``seed``; return its result and
    the fit's random streams that continue them: a CPU generator, and on a
    CUDA ``device`` that device's. The global generators are left as they
    were.

    On a CUDA device the module is built there: its tables are allocated
    and drawn on the device (a table of 44 million values took 1.9 s to draw
    on one CPU core, then a copy), so a seed gives another model there than
    on the CPU."""
    device = torch.device(device)
    cuda = device.type == "cuda"
    if cuda and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    forked = (
        torch.random.fork_rng(devices=[device.index], device_type="cuda")
        if cuda
        else torch.random.fork_rng(devices=[])
    )
    with _BUILD_LOCK, forked:
        torch.default_generator.manual_seed(seed)
        if cuda:
            with torch.cuda.device(device):
                torch.cuda.manual_seed(seed)
        with device if cuda else contextlib.nullcontext():
            out = build()
        cpu = torch.Generator()
        cpu.set_state(torch.get_rng_state())
        on_device = None
        if cuda:
            on_device = torch.Generator(device)
            on_device.set_state(torch.cuda.get_rng_state(device))
    return out, (cpu, on_device)


@contextlib.contextmanager
def fit_stream(cpu: torch.Generator, device: torch.Generator | None = None):
    """Within the block, in this thread, shuffling draws from ``cpu`` and
    dropout from ``device`` (``cpu`` by default: the generator of the
    device the module runs on)."""
    previous = getattr(_LOCAL, "stream", None)
    _LOCAL.stream = (cpu, cpu if device is None else device)
    try:
        yield
    finally:
        _LOCAL.stream = previous


def cpu_generator() -> torch.Generator | None:
    """The current fit's CPU generator in this thread (``None``: torch's
    global one)."""
    stream = getattr(_LOCAL, "stream", None)
    return None if stream is None else stream[0]


def device_generator() -> torch.Generator | None:
    """The current fit's generator on the module's device in this thread
    (``None``: torch's global one)."""
    stream = getattr(_LOCAL, "stream", None)
    return None if stream is None else stream[1]
