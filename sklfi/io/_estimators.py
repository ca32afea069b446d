"""Estimators in the file: their parameters and fitted attributes, and for
the SGD models the skorch net, written as its module's weights and rebuilt
around them on load."""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator
from skorch.history import History
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from .._base import _BaseEstimator
from .._random import build_seeded
from ._classes import CACHES, ESTIMATORS, estimator_name
from ._codec import TAG, Unsupported, _state, join

#: Why a parameter holding a Python object cannot be saved, and what to do.
ADVICE = {
    "callbacks": "callbacks are Python objects (code), which a safe file does "
    "not hold: set callbacks=None before saving, and give them again after "
    "loading",
    "accelerator": "an accelerator belongs to the running processes: set "
    "accelerator=None before saving (the loaded model runs on its device)",
    "optimizer": "a custom optimizer class is code, which a safe file does not "
    "hold: only the named optimizers ('adam', 'adamw', 'adagrad', 'sgd') can "
    "be saved",
    "random_state": "a RandomState instance cannot be saved: pass an int (or None)",
    "memory": "a Pipeline's memory can be saved as None or a folder's path only",
}

#: The losses of the SGD models, by name.
CRITERIA = {c.__name__: c for c in (nn.BCEWithLogitsLoss, nn.CrossEntropyLoss,
                                    nn.MSELoss)}  # fmt: skip


def _refusal(owner, what: str, exc: Unsupported, advice=None) -> TypeError:
    kind = type(exc.value)
    if isinstance(exc.value, BaseEstimator):
        advice = (
            f"{kind.__name__} is not among the classes sklfi.io saves (sklfi's "
            "estimators and transformers, and Pipelines of them)"
        )
    advice = advice or (
        "the file holds numbers, strings, None, lists, tuples, dicts, arrays, "
        "pandas and sparse data, and sklfi estimators, no other Python object "
        "(it could hold code)"
    )
    return TypeError(
        f"cannot save {type(owner).__name__}: its {what} holds a value of type "
        f"{kind.__module__}.{kind.__qualname__} (at {exc.where!r}); {advice}."
    )


def encode_estimator(writer, est, path: str) -> dict:
    """An allowed estimator: its class's name, its parameters, its other
    attributes (fitted ones), and an SGD model's net."""
    params = est.get_params(deep=False)
    out = {TAG: "estimator", "class": estimator_name(est), "params": {},
           "state": {}}  # fmt: skip
    for key, value in params.items():
        try:
            out["params"][key] = writer.encode(value, join(path, key))
        except Unsupported as exc:
            raise _refusal(est, f"parameter {key!r}", exc, ADVICE.get(key)) from None
    state = {k: v for k, v in vars(est).items() if k not in params}
    for key in CACHES.get(out["class"], ()):
        if key in state:
            state[key] = None
    if isinstance(est, _BaseEstimator) and "net_" in state:
        del state["net_"]
        out["net"] = _encode_net(writer, est, state.pop("_built_with"), path)
    for key, value in state.items():
        try:
            out["state"][key] = writer.encode(value, join(path, key))
        except Unsupported as exc:
            raise _refusal(est, f"attribute {key!r}", exc) from None
    return out


def _encode_net(writer, est, built_with: dict, path: str) -> dict:
    """What rebuilds the net: the module's weights, and how the module and
    the net were made. The optimizer's state is not kept."""
    net = est.net_
    module = net.module_
    if isinstance(module, DistributedDataParallel):
        module = module.module
    criterion = type(net.criterion_).__name__
    # the parameters that shaped the model (training can change the others);
    # the accelerator is the running processes', never the file's
    shaped = {k: v for k, v in built_with.items()
              if k not in est._CONTINUABLE and k != "accelerator"}  # fmt: skip
    try:
        built = writer.encode(shaped, join(path, "_built_with"))
    except Unsupported as exc:
        what = "model was built with a parameter that"
        raise _refusal(est, what, exc, ADVICE.get(exc.where.split("/")[-1])) from None
    weights = {
        key: writer.tensor(value, join(path, f"net_/{key}"))
        for key, value in module.state_dict().items()
    }
    split = getattr(net.train_split, "random_state", None)
    return {
        "criterion": criterion,
        "n_outputs": len(est.classes_) if criterion == "CrossEntropyLoss" else 1,
        "batch_size": int(net.batch_size),
        "split_seed": None if split is None else int(split),
        "built_with": built,
        "weights": weights,
        "history": [
            _epoch(writer, epoch, join(path, f"net_/history/{i}"))
            for i, epoch in enumerate(net.history)
        ],
    }


def _epoch(writer, epoch: dict, path: str) -> dict:
    """An epoch of the net's history without its batches (a row per step:
    too many to keep), and without what a user's callback recorded that the
    format does not hold."""
    out = {}
    for key, value in epoch.items():
        if key == "batches":
            continue
        try:
            out[key] = writer.encode(value, join(path, key))
        except Unsupported:
            pass
    return out


def decode_estimator(reader, node: dict):
    name = node["class"]
    cls = ESTIMATORS.get(name)
    if cls is None:
        raise ValueError(
            f"unknown class {name!r}: sklfi.io loads only sklfi's estimators "
            f"and transformers, and Pipelines of them ({', '.join(ESTIMATORS)})."
        )
    params = _state(reader.decode(node["params"]))
    try:
        est = cls(**params)
    except TypeError as exc:
        raise ValueError(f"the parameters of {name} in the file: {exc}") from None
    state = _state(reader.decode(node["state"]))
    if {"net_", "_built_with"} & set(state):
        raise ValueError(f"the attributes of {name} in the file hold a net.")
    est.__dict__.update(state)
    if "net" in node:
        if not isinstance(est, _BaseEstimator):
            raise ValueError(f"the file gives a net to {name}, which has none.")
        _restore_net(reader, est, node["net"])
    return est


def _count(node: dict, key: str, none=False):
    value = node[key]
    if (value is None and none) or (type(value) is int and value >= 0):
        return value
    raise ValueError(f"the net's {key} in the file is {value!r}.")


def _restore_net(reader, est, node: dict) -> None:
    """Rebuild the module from the parameters it was built with, load its
    weights (strictly: every one, of the same shape), and make the net
    around it, with its history; the optimizer starts afresh."""
    criterion = CRITERIA.get(node["criterion"])
    if criterion is None:
        raise ValueError(f"unknown loss {node['criterion']!r} in the file.")
    n_outputs, batch_size = _count(node, "n_outputs"), _count(node, "batch_size")
    seed = _count(node, "split_seed", none=True)
    built_with = {**_state(reader.decode(node["built_with"])), "accelerator": None}
    current = est.get_params(deep=False)
    missing = set(current) - set(est._CONTINUABLE) - set(built_with)
    if missing:
        raise ValueError(f"the file does not say how the model's {missing} were set.")
    moved = _place(est, built_with.get("device"), reader.device)
    if moved is not None:
        built_with["device"] = current["device"] = moved
    est.set_params(**built_with)  # (the module as it was built)
    try:
        device = torch.device(est._placement()[0])
        fields = _module_fields(est)
        module, _ = build_seeded(
            lambda: est._build_module(fields, n_outputs), 0, device
        )
        weights = {k: reader.tensor(v) for k, v in _state(node["weights"]).items()}
        try:
            module.load_state_dict(weights, strict=True)
        except RuntimeError as exc:
            raise ValueError(
                f"the weights in the file do not fit the {type(est).__name__} "
                f"its parameters build: {exc}"
            ) from None
        est._streams = _streams(est._streams, device)
        est._make_net(module, criterion, fields, batch_size, seed)
    finally:
        est.set_params(**current)
    est._built_with = {**current, **built_with}
    est.net_.history_ = History(
        [{**_state(epoch), "batches": []} for epoch in reader.decode(node["history"])]
    )


def _place(est, saved, device):
    """The device to load on, if not the saved one: ``device`` if given, or
    the CPU (with a warning) where the saved one is not available."""
    if device is not None:
        return device
    if saved == "auto" or _available(saved):
        return None
    warnings.warn(
        f"{type(est).__name__} was saved with device={saved!r}, which this "
        "machine does not have: it is loaded on the CPU (device='cpu').",
        UserWarning,
        stacklevel=2,
    )
    return "cpu"


def _available(device) -> bool:
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"the file gives an unknown device {device!r}.") from None
    if device.type == "cuda":
        return torch.cuda.is_available()
    try:
        torch.empty(0, device=device)
    except (RuntimeError, AssertionError):
        return False
    return True


def _module_fields(est):
    """The fields of the module's input (what ``_build_module`` was given):
    a model's transformed input (Wide & Deep's crosses) included."""
    empty = sp.csr_matrix((0, len(est._fields.index)), dtype=np.float32)
    return est._model_input(empty)[1]


def _streams(streams, device) -> tuple:
    """The fit's random streams for training on ``device``: the CPU's kept,
    the saved device's kept on that kind of device only (another kind
    starts a stream of its own)."""
    try:
        cpu_state, device_state = streams
        cpu = torch.Generator()
        cpu.set_state(cpu_state)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError("the random streams in the file are malformed.") from None
    if device.type == "cpu":
        return cpu_state, None
    on_device = torch.Generator(device)
    try:
        on_device.set_state(device_state)
        return cpu_state, device_state
    except (RuntimeError, TypeError):  # (none, or another kind of device's)
        return cpu_state, on_device.manual_seed(cpu.initial_seed()).get_state()
