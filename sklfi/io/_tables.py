"""pandas and scipy.sparse values in the file: an Index, a Series or a
DataFrame by its values and labels (each column keeps its dtype), a sparse
matrix by its three arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

TAG = "$type"

#: scipy's sparse classes by (format, array API).
SPARSE = {
    ("csr", False): sp.csr_matrix,
    ("csc", False): sp.csc_matrix,
    ("csr", True): sp.csr_array,
    ("csc", True): sp.csc_array,
}

#: A range read as a MultiIndex level is made into an array: at most this
#: long (a few bytes of a file must not ask for gigabytes).
_MAX_RANGE = 10_000_000


def join(path: str, key) -> str:
    return f"{path}/{key}" if path else str(key)


class TableWriter:
    """The pandas and sparse values of :class:`~sklfi.io._codec.Writer`."""

    def _values(self, values, path: str) -> dict:
        """The values of an Index or a Series, of any dtype."""
        dtype = values.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            cat = pd.Categorical(values)
            return {
                TAG: "categorical",
                "codes": self._array(cat.codes, path),
                "categories": self.encode(cat.categories, join(path, "categories")),
                "ordered": bool(cat.ordered),
            }
        if isinstance(dtype, np.dtype):
            return self._array(np.asarray(values), path)
        # (pandas' own dtypes, "str" and "Int64" say: their values as objects)
        values = self._array(values.to_numpy(dtype=object), path)
        return {TAG: "extension", "dtype": str(dtype), "values": values}

    def _pandas(self, value, path: str) -> dict:
        if isinstance(value, pd.MultiIndex):
            levels = [
                self._pandas(value.get_level_values(i), join(path, i))
                for i in range(value.nlevels)
            ]
            names = self.encode(list(value.names), join(path, "names"))
            return {TAG: "multiindex", "levels": levels, "names": names}
        if isinstance(value, pd.DataFrame):
            columns = [
                self._values(value.iloc[:, j], join(path, j))
                for j in range(value.shape[1])
            ]
            return {
                TAG: "frame",
                "columns": columns,
                "labels": self._pandas(value.columns, join(path, "columns")),
                "index": self._pandas(value.index, join(path, "index")),
            }
        name = self.encode(value.name, join(path, "name"))
        if isinstance(value, pd.RangeIndex):
            return {TAG: "range", "name": name, "start": value.start,
                    "stop": value.stop, "step": value.step}  # fmt: skip
        values = self._values(value, path)
        if isinstance(value, pd.Index):
            return {TAG: "index", "name": name, "values": values}
        index = self._pandas(value.index, join(path, "index"))
        return {TAG: "series", "name": name, "values": values, "index": index}

    def _sparse(self, value, path: str) -> dict:
        parts = {
            part: self._array(getattr(value, part), join(path, part))
            for part in ("data", "indices", "indptr")
        }
        array = isinstance(value, sp.sparray)
        shape = list(value.shape)
        return {TAG: "sparse", "format": value.format, "array": array, "shape": shape,
                **parts}  # fmt: skip


class TableReader:
    """The pandas and sparse values of :class:`~sklfi.io._codec.Reader`."""

    def _values(self, node):
        """An Index's or a Series' values: an array, or a pandas array."""
        if node.get(TAG) == "categorical":
            return pd.Categorical.from_codes(
                self._array(node["codes"]),
                categories=self.decode(node["categories"]),
                ordered=bool(node["ordered"]),
            )
        if node.get(TAG) == "extension":
            dtype = pd.api.types.pandas_dtype(str(node["dtype"]))
            return pd.array(self.decode(node["values"]), dtype=dtype)
        values = self.decode(node)
        if not isinstance(values, np.ndarray):
            raise ValueError("unexpected values of an Index or a Series.")
        return values

    def _range(self, node):  # (lazy: no memory, whatever its length)
        name = self.decode(node["name"])
        return pd.RangeIndex(node["start"], node["stop"], node["step"], name=name)

    def _multiindex(self, node):
        levels = [self.decode(level) for level in node["levels"]]
        if any(isinstance(level, pd.RangeIndex) and len(level) > _MAX_RANGE
               for level in levels):  # fmt: skip
            raise ValueError("a MultiIndex level too long for what the file holds.")
        return pd.MultiIndex.from_arrays(levels, names=self.decode(node["names"]))

    def _index(self, node):
        values = self._values(node["values"])
        return pd.Index(values, dtype=values.dtype, name=self.decode(node["name"]))

    def _series(self, node):
        values = self._values(node["values"])
        index, name = self.decode(node["index"]), self.decode(node["name"])
        return pd.Series(values, index=index, dtype=values.dtype, name=name)

    def _frame(self, node):
        index = self.decode(node["index"])
        columns = {
            j: pd.Series(v, index=index, dtype=v.dtype)
            for j, v in enumerate(map(self._values, node["columns"]))
        }
        frame = pd.DataFrame(columns, index=index)
        frame.columns = self.decode(node["labels"])
        return frame

    def _sparse(self, node):
        cls = SPARSE.get((node["format"], bool(node["array"])))
        if cls is None:
            raise ValueError(f"unexpected sparse format {node['format']!r}.")
        parts = [self._array(node[p]) for p in ("data", "indices", "indptr")]
        matrix = cls(tuple(parts), shape=tuple(node["shape"]))
        matrix.indices, matrix.indptr = parts[1], parts[2]  # (their own dtypes)
        matrix.check_format(full_check=True)  # (indices in range: memory safety)
        return matrix
