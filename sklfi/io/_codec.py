"""Values to JSON and tensors, and back: the generic part of the file format.

A value becomes JSON, its arrays tensors named by where they sit (``steps/1/1/
fields_``). JSON's own types stand for themselves; every other value is an
object tagged ``{"$type": ...}``. Estimators and the few plain objects they
hold (:data:`~sklfi.io._classes.ESTIMATORS`, :data:`~sklfi.io._classes.OBJECTS`)
are written as their class's name on an allow-list with their parameters and
attributes; nothing else is.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from ._classes import OBJECTS, estimator_name, object_name
from ._tables import SPARSE, TAG, TableReader, TableWriter, join


class Unsupported(TypeError):
    """A value the format does not hold, at ``where`` (its path)."""

    def __init__(self, value, where: str):
        self.value, self.where = value, where
        kind = type(value)
        super().__init__(f"{kind.__module__}.{kind.__qualname__} at {where!r}")


class Writer(TableWriter):
    """Encodes values as JSON, collecting their arrays as CPU tensors in
    ``tensors``. An array held twice (``fields_`` is ``_fields.index``) is
    written once, and read back as one array."""

    def __init__(self):
        self.tensors: dict = {}
        self._arrays: dict = {}  # id(array) -> (array, its JSON)
        self._storages: set = set()

    def tensor(self, tensor: torch.Tensor, name: str) -> str:
        """Add a tensor (a copy, if its memory is another's already) under a
        name made unique; return the name."""
        if tensor.layout != torch.strided:
            raise Unsupported(tensor, name)
        t = tensor.detach().cpu().contiguous()
        # (safetensors refuses two tensors sharing memory)
        ptr = t.untyped_storage().data_ptr()
        if t.numel() and ptr in self._storages:
            t = t.clone()
        self._storages.add(t.untyped_storage().data_ptr())
        unique, n = name, 1
        while unique in self.tensors:
            unique, n = f"{name}~{n}", n + 1
        self.tensors[unique] = t
        return unique

    def encode(self, value, path: str):
        """The JSON of ``value``, found at ``path`` (which names its arrays)."""
        kind = type(value)
        if value is None or kind in (bool, int, str):
            return value
        if kind is float:
            if math.isfinite(value):
                return value
            return {TAG: "float", "value": repr(value)}  # (strict JSON has no nan)
        if isinstance(value, np.generic):
            return self._scalar(value, path)
        if kind is list:
            return [self.encode(v, join(path, i)) for i, v in enumerate(value)]
        if kind is tuple:
            return {TAG: "tuple", "items": self.encode(list(value), path)}
        if kind is dict:
            return self._dict(value, path)
        if kind is np.ndarray:
            return self._array(value, path)
        if isinstance(value, torch.Tensor):
            return {TAG: "torch", "tensor": self.tensor(value, path)}
        if kind is torch.device:
            return {TAG: "device", "value": str(value)}
        if value is pd.NA:
            return {TAG: "na"}
        if isinstance(value, (pd.Index, pd.Series, pd.DataFrame)):
            return self._pandas(value, path)
        if (
            sp.issparse(value)
            and (value.format, isinstance(value, sp.sparray)) in SPARSE
        ):
            return self._sparse(value, path)
        if estimator_name(value) is not None:
            from ._estimators import encode_estimator

            return encode_estimator(self, value, path)
        name = object_name(value)
        if name is not None:  # (a plain object: its attributes)
            state = self._dict(vars(value), path)
            return {TAG: "object", "class": name, "state": state}
        raise Unsupported(value, path)

    def _scalar(self, value: np.generic, path: str):
        if value.dtype.kind not in "biufU":
            raise Unsupported(value, path)
        dtype = "str" if value.dtype.kind == "U" else value.dtype.name
        return {TAG: "scalar", "dtype": dtype, "value": self.encode(value.item(), path)}

    def _dict(self, value: dict, path: str):
        if all(type(k) is str for k in value) and TAG not in value:
            return {k: self.encode(v, join(path, k)) for k, v in value.items()}
        return {
            TAG: "dict",
            "items": [
                [self.encode(k, join(path, i)), self.encode(v, join(path, i))]
                for i, (k, v) in enumerate(value.items())
            ],
        }

    def _array(self, value: np.ndarray, path: str):
        key = id(value)
        known = self._arrays.get(key)
        if known is not None:
            return known[1]
        original = value
        kind, shape = value.dtype.kind, list(value.shape)
        flat = value.ravel() if kind in "OU" else None
        if kind in "biuf":
            if not value.dtype.isnative:
                value = value.astype(value.dtype.newbyteorder("="))
            # (torch takes writable memory only: pandas' may be read-only)
            data = torch.from_numpy(np.require(value, requirements="CW"))
            out = {TAG: "array", "tensor": self.tensor(data, path)}
        elif kind in "Mm":  # datetimes: their int64 counts
            data = np.require(value, requirements="CW").view(np.int64)
            name = self.tensor(torch.from_numpy(data), path)
            out = {TAG: "array", "dtype": value.dtype.str, "tensor": name}
        elif kind == "U" or (kind == "O" and all(type(v) is str for v in flat)):
            # text as one UTF-8 buffer and the lengths, not in the header
            # (which safetensors caps at 100 MB)
            encoded = [s.encode("utf-8", "surrogatepass") for s in flat.tolist()]
            lengths = np.fromiter(map(len, encoded), np.int64, len(encoded))
            data = np.frombuffer(b"".join(encoded), dtype=np.uint8).copy()
            out = {
                TAG: "strings",
                "dtype": value.dtype.str,
                "shape": shape,
                "utf8": self.tensor(torch.from_numpy(data), join(path, "utf8")),
                "lengths": self.tensor(
                    torch.from_numpy(lengths), join(path, "lengths")
                ),
            }
        elif kind == "O":
            items = [self.encode(v, join(path, i)) for i, v in enumerate(flat)]
            out = {TAG: "array", "dtype": "object", "shape": shape, "items": items}
        else:
            raise Unsupported(value, path)
        self._arrays[key] = (original, out)  # (kept alive: ids stay unique)
        return out


class Reader(TableReader):
    """Decodes what :class:`Writer` encoded, from an open safetensors file;
    classes come from the allow-lists only. ``device`` is :func:`load`'s."""

    def __init__(self, file, device=None):
        self.file, self.device = file, device
        self._names = set(file.keys())
        self._tensors: dict = {}
        self._arrays: dict = {}

    def tensor(self, name) -> torch.Tensor:
        if not isinstance(name, str) or name not in self._names:
            raise ValueError(f"the file refers to a tensor {name!r} it does not hold.")
        if name not in self._tensors:
            self._tensors[name] = self.file.get_tensor(name)
        return self._tensors[name]

    def decode(self, node):
        """The value of JSON ``node``."""
        if node is None or type(node) in (bool, int, float, str):
            return node
        if type(node) is list:
            return [self.decode(v) for v in node]
        if type(node) is not dict:
            raise ValueError(f"unexpected JSON value {node!r}.")
        tag = node.get(TAG)
        if tag is None:
            return {k: self.decode(v) for k, v in node.items()}
        decode = getattr(self, f"_{tag}", None) if tag in DECODED else None
        if decode is None:
            raise ValueError(f"unknown value type {tag!r}.")
        return decode(node)

    def _float(self, node):
        if node["value"] not in ("nan", "inf", "-inf"):
            raise ValueError(f"unexpected float {node['value']!r}.")
        return float(node["value"])

    def _scalar(self, node):
        dtype = node["dtype"]
        if dtype == "str":
            return np.str_(self.decode(node["value"]))
        dtype = np.dtype(dtype)
        if dtype.kind not in "biuf":
            raise ValueError(f"unexpected scalar dtype {node['dtype']!r}.")
        return dtype.type(self.decode(node["value"]))

    def _tuple(self, node):
        return tuple(self.decode(node["items"]))

    def _dict(self, node):
        return {self.decode(k): self.decode(v) for k, v in node["items"]}

    def _array(self, node):
        if "tensor" in node:
            name = node["tensor"]
            if name not in self._arrays:
                array = self.tensor(name).numpy()
                if "dtype" in node:  # datetimes
                    dtype = np.dtype(node["dtype"])
                    if dtype.kind not in "Mm" or array.dtype != np.int64:
                        raise ValueError(f"unexpected array dtype {node['dtype']!r}.")
                    array = array.view(dtype)
                self._arrays[name] = array
            return self._arrays[name]
        if node["dtype"] != "object":
            raise ValueError(f"unexpected array dtype {node['dtype']!r}.")
        return _objects([self.decode(v) for v in node["items"]], node["shape"])

    def _strings(self, node):
        data = self.tensor(node["utf8"]).numpy()
        lengths = self.tensor(node["lengths"]).numpy()
        shape, dtype = node["shape"], np.dtype(node["dtype"])
        if (
            dtype.kind not in "UO"
            or data.dtype != np.uint8
            or lengths.dtype != np.int64
            or data.ndim != 1
            or lengths.shape != (math.prod(shape),)
            or (lengths < 0).any()
            or lengths.sum() != len(data)
        ):
            raise ValueError(f"malformed text array {node['utf8']!r}.")
        raw, ends = data.tobytes(), np.cumsum(lengths).tolist()
        starts = [0, *ends[:-1]]
        items = [
            raw[a:b].decode("utf-8", "surrogatepass") for a, b in zip(starts, ends)
        ]
        if dtype.kind == "U":
            # (the width a file gives is trusted only as far as its items go:
            # a width of 10**9 would take 4 GB an item)
            longest = max(map(len, items), default=0)
            if dtype.itemsize // 4 > max(longest, 1024):
                raise ValueError(f"malformed text array {node['utf8']!r}.")
            return np.array(items, dtype=dtype).reshape(shape)
        return _objects(items, shape)

    def _torch(self, node):
        return self.tensor(node["tensor"])

    def _device(self, node):
        return torch.device(node["value"])

    def _na(self, node):
        return pd.NA

    def _estimator(self, node):
        from ._estimators import decode_estimator

        return decode_estimator(self, node)

    def _object(self, node):
        cls = OBJECTS.get(node["class"])
        if cls is None:
            raise ValueError(
                f"unknown class {node['class']!r}: sklfi.io loads sklfi's "
                "own classes only."
            )
        obj = cls.__new__(cls)
        obj.__dict__.update(_state(self.decode(node["state"])))
        return obj


#: The tags :class:`Reader` decodes (each by its method ``_<tag>``).
DECODED = {"float", "scalar", "tuple", "dict", "array", "strings", "torch",
           "device", "na", "range", "multiindex", "index", "series", "frame",
           "sparse", "estimator", "object"}  # fmt: skip


def _objects(items: list, shape) -> np.ndarray:
    """An object array of ``items`` (set one by one: a tuple stays one)."""
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = item
    return out.reshape(shape)


def _state(state) -> dict:
    """Attributes read back: a dict with names for keys."""
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise ValueError("an object's attributes must be a dict keyed by name.")
    return state
