"""Saving and loading models in a safe file format: no pickle.

A file is a safetensors file: the arrays and the model's weights are its
tensors, and everything else (the class, the parameters, the fitted
attributes, the format's version) is JSON in its header's metadata, under
the key ``"sklfi"``. Loading reads JSON and tensors only, and makes objects
of an explicit allow-list of classes: a file cannot run code. See
:doc:`/saving`.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from ._classes import estimator_name
from ._codec import TAG, Reader, Writer

__all__ = ["FORMAT_VERSION", "load", "save"]

#: The version of the format :func:`save` writes; :func:`load` reads it and
#: every earlier one.
FORMAT_VERSION = 1

#: The largest header safetensors reads.
_MAX_HEADER = 100_000_000


def save(obj, path) -> None:
    """Save a model to one file, with no pickle: tensors and JSON.

    The file holds ``obj``'s class, its parameters, its fitted attributes
    (the arrays as tensors) and, for an SGD model, its module's weights (on
    the CPU); a Pipeline holds its steps. The optimizer's state and the
    per-batch losses of the net's history are not kept: a loaded model
    predicts exactly as the saved one, and training it further
    (``partial_fit``, or ``fit`` with ``warm_start=True``) starts a fresh
    optimizer. The file is written whole or not at all.

    Parameters
    ----------
    obj : estimator
        An sklfi estimator (fitted or not), an sklfi transformer
        (:class:`~sklfi.preprocessing.FieldEncoder`,
        :class:`~sklfi.preprocessing.FieldHasher`,
        :class:`~sklfi.preprocessing.FieldCrosser`,
        :class:`~sklfi.preprocessing.MovieLensFeatures`), or a
        :class:`sklearn.pipeline.Pipeline` of them.
    path : str or path-like
        The file to write (replaced if it exists). ``.sklfi`` is the usual
        extension.

    Returns
    -------
    None

    Raises
    ------
    TypeError
        If ``obj`` is of another class, or holds a value the format does
        not (a parameter such as ``callbacks``, an ``accelerator``, a custom
        optimizer class or a ``RandomState``: Python objects, possibly
        code); the message names it.

    See Also
    --------
    load : Read the file back.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import sklfi.io
    >>> from sklfi import FMClassifier
    >>> X, y = np.eye(4)[[0, 1, 2, 3] * 8], [0, 1, 1, 0] * 8
    >>> model = FMClassifier(max_epochs=2, random_state=0).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.sklfi")
    >>> sklfi.io.save(model, path)
    >>> loaded = sklfi.io.load(path)
    >>> bool((loaded.predict_proba(X) == model.predict_proba(X)).all())
    True
    """
    if estimator_name(obj) is None:
        kind = type(obj)
        raise TypeError(
            "sklfi.io.save saves sklfi's estimators and transformers, and "
            f"Pipelines of them; got a {kind.__module__}.{kind.__qualname__}."
        )
    from .. import __version__

    writer = Writer()
    document = {
        "format": "sklfi",
        "format_version": FORMAT_VERSION,
        "sklfi_version": __version__,
        "object": writer.encode(obj, ""),
    }
    metadata = {"sklfi": json.dumps(document, allow_nan=False, separators=(",", ":"))}
    path = Path(path)
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    try:
        # (safetensors makes its files private: this one gets the mode any
        # new file gets here)
        partial.touch()
        mode = stat.S_IMODE(partial.stat().st_mode)
        save_file(writer.tensors, partial, metadata=metadata)
        os.chmod(partial, mode)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def load(path, *, device=None):
    """Load a model saved by :func:`save`, without unpickling anything.

    Only JSON and tensors are read, and only the classes sklfi saves are
    made (named on an explicit allow-list, never imported from a name in
    the file), so a file cannot run code. A loaded model predicts bit for
    bit as the saved one did (on the same kind of device), and can train
    further with a fresh optimizer.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.
    device : str or torch.device, default=None
        Where to place the SGD models (their ``device`` parameter becomes
        it). ``None`` keeps the saved ``device``, unless this machine does
        not have it (a model saved on ``"cuda"``, loaded where there is no
        GPU): then the model is loaded on the CPU, its ``device`` set to
        ``"cpu"``, with a ``UserWarning``.

    Returns
    -------
    estimator
        The saved estimator, transformer or Pipeline.

    Raises
    ------
    ValueError
        If the file is not one :func:`save` wrote: not a safetensors file
        (a pickle, say), no ``"sklfi"`` metadata or metadata that is not
        valid JSON, a format version this sklfi does not know, a class not
        on the allow-list, or contents that do not fit together.
    OSError
        If the file cannot be read.

    See Also
    --------
    save : Write the file.

    Examples
    --------
    >>> import os, tempfile
    >>> import pandas as pd
    >>> import sklfi.io
    >>> from sklfi.preprocessing import FieldEncoder
    >>> df = pd.DataFrame({"user": ["a", "b", "a"], "age": [20.0, 30.0, 40.0]})
    >>> path = os.path.join(tempfile.mkdtemp(), "encoder.sklfi")
    >>> sklfi.io.save(FieldEncoder().fit(df), path)
    >>> encoder = sklfi.io.load(path)
    >>> encoder.get_feature_names_out().tolist()
    ['user=a', 'user=b', 'age']
    """
    if device is not None and device != "auto":
        try:
            torch.device(device)
        except (RuntimeError, TypeError):
            raise ValueError(f"device={device!r} is not a torch device.") from None
    document, text = _read_header(path)
    root = document["object"]
    if not isinstance(root, dict) or root.get(TAG) != "estimator":
        raise ValueError(f"{path} holds no estimator.")
    try:
        with safe_open(path, framework="pt", device="cpu") as file:
            # (the header read above, and these tensors, of one and the same
            # file: one replaced in between is refused)
            if (file.metadata() or {}).get("sklfi") != text:
                raise ValueError(f"{path} changed while it was being read.")
            return Reader(file, device).decode(root)
    except (KeyError, TypeError, IndexError, AttributeError, RecursionError) as exc:
        raise ValueError(
            f"{path} is malformed: {type(exc).__name__} {exc} while reading it."
        ) from exc
    except SafetensorError as exc:
        raise ValueError(f"{path} is not a valid safetensors file: {exc}") from None


def _read_header(path) -> tuple:
    """The ``"sklfi"`` document of a file's header, checked, and its text:
    read by hand,
    so that any other file is refused before safetensors opens it."""
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        head = file.read(8)
        length = int.from_bytes(head, "little")
        if len(head) < 8 or length > min(size - 8, _MAX_HEADER):
            raise ValueError(
                f"{path} is not an sklfi file: not a safetensors file (its "
                "first 8 bytes do not give the length of a header in it)."
            )
        raw = file.read(length)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ValueError(
            f"{path} is not an sklfi file: its safetensors header is not valid JSON."
        ) from None
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(metadata, dict) or not isinstance(metadata.get("sklfi"), str):
        raise ValueError(
            f"{path} is not an sklfi file: a safetensors file, but with no "
            "'sklfi' metadata (sklfi.io.save did not write it)."
        )
    try:
        document = json.loads(metadata["sklfi"])
    except (ValueError, RecursionError):
        raise ValueError(
            f"{path} is not a valid sklfi file: its 'sklfi' metadata is not valid JSON."
        ) from None
    if not isinstance(document, dict) or document.get("format") != "sklfi":
        raise ValueError(f"{path} is not a valid sklfi file: no 'format': 'sklfi'.")
    version = document.get("format_version")
    if type(version) is not int or not 1 <= version <= FORMAT_VERSION:
        raise ValueError(
            f"{path} has format version {version!r}; this sklfi "
            f"reads versions 1 to {FORMAT_VERSION}: a newer sklfi wrote it, or "
            "it is not a valid sklfi file."
        )
    if "object" not in document:
        raise ValueError(f"{path} is not a valid sklfi file: no 'object'.")
    return document, metadata["sklfi"]
