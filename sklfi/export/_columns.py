"""FieldEncoder and FieldHasher as ONNX graphs: raw columns in, the CSR
arrays of the encoded matrix out.

Every encoded column of the DataFrame is an input of shape ``(rows, 1)``
named as the column: text for categorical and multi-valued columns (an
integer or float categorical column of a FieldEncoder keeps its numbers),
``double`` for numeric ones. Each field becomes a block of candidate
non-zeros per row (one for a categorical or numeric field, one per item of
a multi-valued one); the blocks side by side, the candidates that hold a
value are kept, row by row: the CSR matrix ``transform`` makes, up to the
order of a row's non-zeros.

A missing value is an empty string in a text column (and ``NaN`` in a
number column); :func:`column_feed` writes them so.
"""

from __future__ import annotations

import numpy as np
import onnx
import pandas as pd
from onnx import TensorProto, helper, numpy_helper
from sklearn.utils import murmurhash3_32

from ..preprocessing import FieldEncoder, FieldHasher
from ..preprocessing._encoder import _numeric, as_frame
from ..preprocessing._hasher import _token, _utf8
from ._model import CSR_INPUTS, OPSET

#: The graph's own names of the CSR arrays it hands the model (a column
#: may be named "data").
CSR_OUTPUTS = tuple(f"sklfi/{name}" for name in CSR_INPUTS)

#: What a FieldHasher's graph reads as a missing value of a categorical
#: column (an empty string is a value it hashes).
MISSING_TEXT = "\x00"

#: A FieldEncoder's integer input that matches no category.
MISSING_ID = -(2**62)

#: Domains of the operators beyond ONNX's own, and their versions.
ML, MS = ("ai.onnx.ml", 3), ("com.microsoft", 1)


class _Graph:
    """A graph being written: nodes, constants and inputs, named uniquely."""

    def __init__(self):
        self.nodes, self.constants, self.inputs = [], [], []
        self._n = 0

    def name(self, stem):
        self._n += 1
        return f"sklfi/{stem}_{self._n}"  # (apart from any column's name)

    def const(self, value, dtype=None):
        name = self.name("const")
        self.constants.append(numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    def op(self, op_type, *inputs, n_outputs=1, **attrs):
        """The (first) output of a new node."""
        outs = [self.name(op_type.lower()) for _ in range(n_outputs)]
        domain = attrs.pop("domain", "")
        self.nodes.append(
            helper.make_node(op_type, list(inputs), outs, domain=domain, **attrs)
        )
        return outs[0]

    def model(self, outputs) -> onnx.ModelProto:
        nodes = [*self.nodes]
        for want, (have, _) in zip(CSR_OUTPUTS, outputs):
            nodes.append(helper.make_node("Identity", [have], [want]))
        graph = helper.make_graph(
            nodes,
            "sklfi_columns",
            self.inputs,
            [
                helper.make_tensor_value_info(n, e, [d])
                for n, (_, e), d in zip(
                    CSR_OUTPUTS, outputs, ("nnz", "nnz", "rows_plus_one")
                )
            ],
            self.constants,
        )
        opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid(*ML)]
        opsets.append(helper.make_opsetid(*MS))
        return helper.make_model(graph, opset_imports=opsets)


def _input_kind(transformer, name, kind):
    """The ONNX element type of a column's input."""
    if kind == "numeric":
        return TensorProto.DOUBLE
    if isinstance(transformer, FieldEncoder) and kind == "categorical":
        cats = transformer.categories_[name]
        if pd.api.types.is_bool_dtype(cats) or pd.api.types.is_integer_dtype(cats):
            return TensorProto.INT64
        if pd.api.types.is_float_dtype(cats):
            return TensorProto.DOUBLE
    return TensorProto.STRING


def _text_keys(cats, name, sep=None):
    """A FieldEncoder's categories as the text its graph reads."""
    keys = [str(c) for c in cats]
    if (
        len(set(keys)) < len(keys)
        or "" in keys
        or (sep and any(sep in k for k in keys))
    ):
        raise ValueError(
            f"the categories of column {name!r} do not come back from their "
            "text unchanged (two read alike, one is empty or holds the "
            "separator): an exported graph reads them as text; convert the "
            "column to strings before fitting."
        )
    return keys


def columns_graph(transformer, X=None) -> onnx.ModelProto:
    """The graph of a fitted :class:`FieldEncoder` or a :class:`FieldHasher`
    (whose columns are those of ``X`` it encodes)."""
    columns = _columns(transformer, X)
    g = _Graph()
    cols, vals, keep = [], [], []
    start = 0
    for _, name, kind in columns:
        elem = _input_kind(transformer, name, kind)
        g.inputs.append(helper.make_tensor_value_info(name, elem, ["rows", 1]))
        width = _width(transformer, name, kind)
        if kind == "numeric":
            mean, scale = _scaling(transformer, name)
            x = g.op("Div", g.op("Sub", name, g.const([[mean]])), g.const([[scale]]))
            x = g.op("Where", g.op("IsNaN", x), g.const([[0.0]]), x)
            val = g.op("Cast", x, to=TensorProto.FLOAT)
            cols.append(g.op("Expand", g.const([[start]], np.int64), g.op("Shape", x)))
            vals.append(val)
            keep.append(g.op("Not", g.op("Equal", x, g.const([[0.0]]))))
            start += width
            continue
        items = name
        if kind == "multi_valued":
            flat = g.op("Reshape", name, g.const([-1], np.int64))
            items = g.op("StringSplit", flat, delimiter=_sep(transformer), n_outputs=2)
        if isinstance(transformer, FieldHasher):
            missing = "" if kind == "multi_valued" else MISSING_TEXT
            present = g.op("Not", g.op("Equal", items, g.const([missing], object)))
            seed = murmurhash3_32(_utf8(name), 0, positive=True)
            code = g.op(
                "Cast",
                g.op("MurmurHash3", items, domain=MS[0], seed=seed, positive=1),
                to=TensorProto.INT64,
            )
            code = g.op("Mod", code, g.const(transformer.n_features, np.int64))
            code = g.op("Where", present, code, g.const(-1, np.int64))
        else:
            code = _lookup(g, transformer, items, name, kind, elem)
        present = g.op("GreaterOrEqual", code, g.const(0, np.int64))
        value = g.op("CastLike", present, g.const(0.0, np.float32))
        if kind == "multi_valued":
            present, value = _merge_repeats(g, code, present)
        cols.append(g.op("Add", code, g.const(start, np.int64)))
        vals.append(value)
        keep.append(present)
        start += width

    def side_by_side(parts):
        return parts[0] if len(parts) == 1 else g.op("Concat", *parts, axis=1)

    keep = side_by_side(keep)
    flat_keep = g.op("Reshape", keep, g.const([-1], np.int64))
    indices = g.op(
        "Compress",
        g.op("Reshape", side_by_side(cols), g.const([-1], np.int64)),
        flat_keep,
        axis=0,
    )
    data = g.op(
        "Compress",
        g.op("Reshape", side_by_side(vals), g.const([-1], np.int64)),
        flat_keep,
        axis=0,
    )
    counts = g.op(
        "ReduceSum",
        g.op("Cast", keep, to=TensorProto.INT64),
        g.const([1], np.int64),
        keepdims=0,
    )
    indptr = g.op(
        "Concat",
        g.const([0], np.int64),
        g.op("CumSum", counts, g.const(0, np.int64)),
        axis=0,
    )
    return g.model(
        [(indices, TensorProto.INT64), (data, TensorProto.FLOAT),
         (indptr, TensorProto.INT64)]
    )  # fmt: skip


def _merge_repeats(g, code, present):
    """A row's repeated columns of a multi-valued field (an item twice, or
    two items hashed alike) as one non-zero valued by their count, as the
    encoded matrix holds them: its first one is kept."""
    same = g.op(
        "Equal",
        g.op("Unsqueeze", code, g.const([2], np.int64)),
        g.op("Unsqueeze", code, g.const([1], np.int64)),
    )  # (rows, items, items)
    same = g.op("Cast", same, to=TensorProto.INT64)
    axis = g.const([2], np.int64)
    before = g.op(
        "ReduceSum",
        g.op("Trilu", same, g.const(-1, np.int64), upper=0),
        axis,
        keepdims=0,
    )
    first = g.op("And", present, g.op("Equal", before, g.const(0, np.int64)))
    count = g.op("ReduceSum", same, axis, keepdims=0)
    return first, g.op("Cast", count, to=TensorProto.FLOAT)


def _lookup(g, encoder, items, name, kind, elem):
    """A FieldEncoder's code of every value (-1 when unseen or missing), by
    ONNX-ML's ``LabelEncoder`` (keys of text, integers or float32)."""
    cats = encoder.categories_[name]
    if len(cats) == 0:  # (a column with no value in fit: never a column)
        return g.op("Expand", g.const(-1, np.int64), g.op("Shape", items))
    whole = None
    if elem == TensorProto.STRING:
        sep = encoder.sep if kind == "multi_valued" else None
        keys = {"keys_strings": _text_keys(cats, name, sep)}
    elif elem == TensorProto.INT64:
        keys = {"keys_int64s": np.asarray(cats, dtype=np.int64).tolist()}
    else:
        cats = np.asarray(cats, dtype=np.float64)
        if np.all(cats == np.floor(cats)) and np.all(np.abs(cats) < 2**53):
            # whole numbers read as floats (ids with missing values): as integers
            whole = g.op("Equal", g.op("Floor", items), items)
            items = g.op("Cast", g.op("Where", whole, items, g.const([[0.0]])),
                         to=TensorProto.INT64)  # fmt: skip
            keys = {"keys_int64s": cats.astype(np.int64).tolist()}
        elif len(np.unique(cats.astype(np.float32))) == len(cats):
            items = g.op("Cast", items, to=TensorProto.FLOAT)
            keys = {"keys_floats": cats.astype(np.float32).tolist()}
        else:
            raise ValueError(
                f"the float categories of column {name!r} are not distinct as "
                "float32, which ONNX-ML's LabelEncoder compares: convert the "
                "column to strings before fitting."
            )
    code = g.op(
        "LabelEncoder",
        items,
        domain=ML[0],
        values_int64s=list(range(len(cats))),
        default_int64=-1,
        **keys,
    )
    if whole is not None:
        code = g.op("Where", whole, code, g.const(-1, np.int64))
    return code


def _columns(transformer, X=None):
    """(column, field name, kind) of every encoded column (of ``X``, for a
    FieldHasher, which keeps no columns of its own)."""
    if isinstance(transformer, FieldEncoder):
        return list(
            zip(
                transformer._columns, transformer.field_names_, transformer.field_kinds_
            )
        )
    if isinstance(transformer, FieldHasher):
        if X is None:
            raise ValueError(
                "a FieldHasher keeps no columns of its own: give a sample of the "
                "DataFrame, to_onnx(pipeline, X)."
            )
        return [(c, str(c), k) for c, k in transformer._columns(as_frame(X))]
    raise TypeError(
        "a pipeline exported from raw columns starts with a FieldEncoder or a "
        f"FieldHasher; got {type(transformer).__name__}."
    )


def _width(transformer, name, kind):
    if kind == "numeric":
        return 1
    if isinstance(transformer, FieldHasher):
        return transformer.n_features
    return len(transformer.categories_[name])


def _scaling(transformer, name):
    if isinstance(transformer, FieldEncoder):
        return transformer.mean_[name], transformer.scale_[name]
    return transformer._scaling(name)  # (or its error: no statistics yet)


def _sep(transformer):
    return transformer.sep


def column_feed(transformer, X) -> dict:
    """The inputs of :func:`columns_graph` from a DataFrame ``X``: each value
    as the graph must read it to encode it as ``transform`` does."""
    X = as_frame(X)
    feed = {}
    for col, name, kind in _columns(transformer, X):
        if col not in X.columns:
            raise ValueError(f"X is missing the column {col!r} the model reads.")
        s = X[col].reset_index(drop=True)
        if kind == "numeric":
            values = _numeric(s, name)  # (transform's own checks and errors)
        elif isinstance(transformer, FieldEncoder):
            values = _known(transformer, s, name, kind)
        else:
            values = _texts(s, transformer, kind)
        feed[name] = values.reshape(-1, 1)
    return feed


def _known(encoder, s: pd.Series, name, kind) -> np.ndarray:
    """A FieldEncoder column's values as the graph reads them: found among
    the categories by the encoder's own lookup, each known one given as its
    key in the graph, anything else as a value that matches no key."""
    cats = encoder.categories_[name]
    elem = _input_kind(encoder, name, kind)
    values = encoder._values(s, name, kind)  # (a multi-valued cell's items)
    codes = cats.get_indexer(values) if len(cats) else np.full(len(values), -1)
    if elem == TensorProto.STRING:
        sep = encoder.sep if kind == "multi_valued" else None
        keys = np.asarray(_text_keys(cats, name, sep), dtype=object)
        none = ""
    elif elem == TensorProto.INT64:
        keys, none = np.asarray(cats, dtype=np.int64), MISSING_ID
    else:
        keys, none = np.asarray(cats, dtype=np.float64), np.nan
    known = codes >= 0
    if kind == "categorical":
        out = np.full(len(s), none, dtype=keys.dtype)
        out[known] = keys[codes[known]]
        return out
    items = [[] for _ in range(len(s))]
    for row, key in zip(values.index[known], keys[codes[known]]):
        items[row].append(key)
    return np.array([encoder.sep.join(i) for i in items], dtype=object)


def _texts(s: pd.Series, transformer, kind) -> np.ndarray:
    """A FieldHasher's text column as its graph reads it: each value as the
    text it hashes, a missing one :data:`MISSING_TEXT`; a multi-valued
    cell's items joined by the separator, missing items left out."""
    sep = transformer.sep
    if kind == "categorical":  # (each distinct value's text made once)
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        tokens = np.array([_token(u) for u in uniques] + [MISSING_TEXT], object)
        return tokens[codes]  # (-1, missing: the last)

    def one(v):
        if isinstance(v, str):
            return v
        if _missing(v):
            return ""
        items = [_token(i) for i in v if not _missing(i)]
        if any(sep in t for t in items):
            raise ValueError(
                f"an item of column {s.name!r} holds the separator {sep!r}: "
                "a FieldHasher hashes it whole, which an exported graph, "
                "splitting the joined items, cannot."
            )
        return sep.join(items)

    return np.array([one(v) for v in s], dtype=object)


def _missing(v) -> bool:
    return v is None or (pd.api.types.is_scalar(v) and bool(pd.isna(v)))
