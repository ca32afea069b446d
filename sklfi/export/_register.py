"""sklfi's converters for skl2onnx, registered on import of
:mod:`sklfi.export`: ``skl2onnx.to_onnx`` then converts a pipeline that
mixes sklfi's steps with scikit-learn's.

A FieldEncoder or FieldHasher step reads the columns skl2onnx gives it (one
input per DataFrame column) and hands the next step the encoded matrix's
CSR arrays; an estimator reads those, or the dense matrix of a
scikit-learn step (a ``ColumnTransformer`` of one-hot encoders, say), whose
non-zeros it finds in the graph. Each converter writes the graph
:func:`~sklfi.export.to_onnx` writes, its names prefixed.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper
from skl2onnx import update_registered_converter
from skl2onnx.common.data_types import (
    DoubleTensorType,
    FloatTensorType,
    Int64TensorType,
    StringTensorType,
    guess_proto_type,
)

from .. import estimators
from ..preprocessing import FieldEncoder, FieldHasher
from ._columns import CSR_OUTPUTS, _columns, _input_kind, columns_graph
from ._model import CSR_INPUTS, OPSET, check_sgd, model_graph


def _embed(scope, operator, container, graph: onnx.ModelProto, names: dict):
    """Write ``graph``'s nodes and constants into skl2onnx's container,
    its inputs and outputs renamed by ``names`` and the rest prefixed."""
    if container.target_opset < OPSET:
        raise RuntimeError(
            f"sklfi's graphs need opset {OPSET} or later; convert with "
            f"target_opset={OPSET} (got {container.target_opset})."
        )
    prefix = scope.get_unique_variable_name(operator.full_name) + "/"

    def rename(name):
        return names.get(name, prefix + name) if name else name

    for tensor in graph.graph.initializer:
        copy = onnx.TensorProto()
        copy.CopyFrom(tensor)
        copy.name = rename(tensor.name)
        container.initializers.append(copy)
    versions = {op.domain: op.version for op in graph.opset_import}
    for node in graph.graph.node:
        container.add_node(
            node.op_type,
            [rename(i) for i in node.input],
            [rename(o) for o in node.output],
            op_domain=node.domain,
            op_version=versions.get(node.domain, OPSET),
            name=prefix + (node.name or node.op_type),
            **{a.name: helper.get_attribute_value(a) for a in node.attribute},
        )


# -- FieldEncoder / FieldHasher ----------------------------------------------
def _parse_columns(scope, model, inputs, custom_parsers=None):
    operator = scope.declare_local_operator(f"Sklfi{type(model).__name__}", model)
    operator.inputs = inputs
    for name, kind in zip(CSR_INPUTS, (Int64TensorType, FloatTensorType,
                                       Int64TensorType)):  # fmt: skip
        operator.outputs.append(scope.declare_local_variable(name, kind([None])))
    return operator.outputs


def _columns_shape(operator):
    """(The outputs' types are set by the parser.)"""


def _convert_columns(scope, operator, container):
    transformer = operator.raw_operator
    lists = (transformer.categorical, transformer.multi_valued, transformer.numeric)
    if isinstance(transformer, FieldHasher) and all(c is None for c in lists):
        raise RuntimeError(
            "a FieldHasher converted by skl2onnx needs its columns' kinds "
            "(categorical=, multi_valued=, numeric=): skl2onnx's inputs do not "
            "tell lists from text; or use sklfi.export.to_onnx(pipeline, X)."
        )
    given = {v.onnx_name: v for v in operator.inputs}
    names = {}
    frame = _frame(operator.inputs)
    for _, name, kind in _columns(transformer, frame):
        if name not in given:
            raise RuntimeError(
                f"no input named {name!r} for {type(transformer).__name__}."
            )
        want = _input_kind(transformer, name, kind)
        have = given[name]
        if guess_proto_type(have.type) == want:
            names[name] = have.onnx_name
            continue
        cast = scope.get_unique_variable_name(name + "_cast")
        container.add_node("Cast", [have.onnx_name], [cast], to=want)
        names[name] = cast
    names.update({n: v.onnx_name for n, v in zip(CSR_OUTPUTS, operator.outputs)})
    _embed(scope, operator, container, columns_graph(transformer, frame), names)


def _frame(inputs):
    """An empty DataFrame with skl2onnx's input columns (what a FieldHasher
    reads its columns from)."""
    import pandas as pd

    return pd.DataFrame(columns=[v.onnx_name for v in inputs])


# -- estimators -----------------------------------------------------------------
def _estimator_shape(operator):
    estimator = operator.raw_operator
    if hasattr(estimator, "classes_"):
        classes = np.asarray(estimator.classes_)
        label = {
            "i": Int64TensorType,
            "u": Int64TensorType,
            "b": Int64TensorType,
            "f": DoubleTensorType if classes.dtype == np.float64 else FloatTensorType,
        }.get(classes.dtype.kind, StringTensorType)
        operator.outputs[0].type = label([None])
        operator.outputs[1].type = FloatTensorType([None, len(classes)])
    else:
        operator.outputs[0].type = FloatTensorType([None, 1])


def _convert_estimator(scope, operator, container):
    estimator = operator.raw_operator
    check_sgd(estimator)
    if len(operator.inputs) == 3:
        names = {n: v.onnx_name for n, v in zip(CSR_INPUTS, operator.inputs)}
    elif len(operator.inputs) == 1:
        if getattr(estimator, "crosser_", None) is not None:
            raise RuntimeError(
                "a Wide & Deep with crosses reads its crosses from "
                "sklfi.export.onnx_inputs; convert it with sklfi.export.to_onnx."
            )
        names = _csr_of_dense(scope, container, operator.inputs[0].onnx_name)
    else:
        raise RuntimeError(
            f"{type(estimator).__name__} reads one dense matrix or the three CSR "
            f"arrays of a FieldEncoder; got {len(operator.inputs)} inputs."
        )
    graph = model_graph(estimator)
    outputs = (
        ("label", "probabilities") if hasattr(estimator, "classes_") else ("variable",)
    )
    names.update({n: v.onnx_name for n, v in zip(outputs, operator.outputs)})
    _embed(scope, operator, container, graph, names)


def _csr_of_dense(scope, container, x):
    """The CSR arrays of a dense ``(rows, columns)`` input, in the graph."""

    def name(stem):
        return scope.get_unique_variable_name(stem)

    def const(value, dtype):
        n = name("const")
        array = np.asarray(value, dtype)
        container.add_initializer(
            n, guess_proto_type_of(array), list(array.shape), array.ravel().tolist()
        )
        return n

    out = {k: name(k) for k in CSR_INPUTS}
    xf, mask, nz, pos = name("x"), name("mask"), name("nonzero"), name("pos")
    container.add_node("Cast", [x], [xf], to=TensorProto.FLOAT)
    zero = const(0.0, np.float32)
    container.add_node("Equal", [xf, zero], [name("eq")])
    eq = container.nodes[-1].output[0]
    container.add_node("Not", [eq], [mask])
    container.add_node("NonZero", [mask], [nz])  # (2, nnz), row-major
    container.add_node("Transpose", [nz], [pos])
    container.add_node("GatherND", [xf, pos], [out["data"]])
    col = name("col")
    container.add_node("Gather", [nz, const(1, np.int64)], [col], axis=0)
    container.add_node("Identity", [col], [out["indices"]])
    counts, cum = name("counts"), name("cum")
    m64 = name("m64")
    container.add_node("Cast", [mask], [m64], to=TensorProto.INT64)
    container.add_node("ReduceSum", [m64, const([1], np.int64)], [counts], keepdims=0)
    container.add_node("CumSum", [counts, const(0, np.int64)], [cum])
    container.add_node("Concat", [const([0], np.int64), cum], [out["indptr"]], axis=0)
    return out


def guess_proto_type_of(array: np.ndarray) -> int:
    return helper.np_dtype_to_tensor_dtype(array.dtype)


def register() -> None:
    """Register sklfi's converters with skl2onnx."""
    from .._base import _BaseEstimator

    for name in estimators.__all__:
        cls = getattr(estimators, name)
        if not (isinstance(cls, type) and issubclass(cls, _BaseEstimator)):
            continue
        classifier = name.endswith("Classifier")
        update_registered_converter(
            cls,
            f"Sklfi{name}",
            _estimator_shape,
            _convert_estimator,
            options={"zipmap": [True, False, "columns"], "nocl": [True, False]}
            if classifier
            else None,
        )
    for cls in (FieldEncoder, FieldHasher):
        update_registered_converter(
            cls, f"Sklfi{cls.__name__}", _columns_shape, _convert_columns,
            parser=_parse_columns,
        )  # fmt: skip
