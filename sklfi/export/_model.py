"""A fitted estimator's torch module as an ONNX graph over a CSR matrix.

The graph reads the three arrays of a CSR matrix (``indices``, ``data``,
``indptr``: any number of rows and non-zeros) and answers as scikit-learn's
converters do: a classifier its ``label`` and ``probabilities``, a regressor
its ``variable`` (the target scaling undone). The module is traced by
``torch.export`` (the ONNX exporter's own front end) with the batch's sizes
symbolic; its sums over segments become a gather and a scatter that adds
(``ScatterElements``, which answers the same with any number of threads:
:func:`~sklfi.nn._segment.add_rows`).
"""

from __future__ import annotations

import copy
import logging
import warnings
from contextlib import contextmanager

import numpy as np
import onnx
import onnx.inliner
import scipy.sparse as sp
import torch
from onnx import helper, numpy_helper
from sklearn.base import is_classifier
from sklearn.utils.validation import check_is_fitted
from torch import nn

from .._batch import SparseBatch
from .._relational import RelationalMatrix
from ..nn._segment import add_rows

#: The opset of every graph sklfi writes (``StringSplit`` needs 20).
OPSET = 20

#: The CSR arrays a model graph reads, in order.
CSR_INPUTS = ("indices", "data", "indptr")


class _Answer(nn.Module):
    """The estimator's answer to a CSR matrix, from its module."""

    def __init__(self, module, classes, mean=0.0, scale=1.0):
        super().__init__()
        self.module, self.classes = module, classes
        self.mean, self.scale = float(mean), float(scale)

    def forward(self, indices, data, indptr):
        offsets = indptr[:-1]
        n = indices.shape[0]
        # the row of every non-zero: a mark at every row's start, summed
        # (an empty row's mark falls on its successor's first non-zero)
        marks = torch.zeros(n + 1, dtype=indptr.dtype)
        marks = add_rows(marks, offsets, torch.ones_like(offsets))
        row = marks.cumsum(0)[:n] - 1
        out = self.module(SparseBatch(indices, data, row, offsets))
        if not self.classes:  # (scaled back in double, as predict does)
            return (out.double() * self.scale + self.mean).float()
        if out.shape[1] == 1:
            p = torch.sigmoid(out)
            # (predict's rule: the second class from a logit above zero)
            return (out[:, 0] > 0).long(), torch.cat([1 - p, p], dim=1)
        return out.argmax(1), torch.softmax(out, dim=1)


@contextmanager
def _quiet():
    """The exporter's chatter (its registry's warnings, prints of its
    optimiser) kept from the user."""
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "onnx_ir", "onnxscript")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def check_sgd(estimator) -> None:
    """A ``TypeError`` unless ``estimator`` is a fitted SGD sklfi estimator."""
    from .._base import _BaseEstimator

    if not isinstance(estimator, _BaseEstimator):
        raise TypeError(
            f"sklfi.export converts sklfi's SGD estimators (FMClassifier ... "
            f"DLRMRegressor) and pipelines ending in one; got "
            f"{type(estimator).__name__}."
            + (
                " A Bayesian FM predicts with the average of its samples' "
                "predictions, which no single set of weights gives: it is not "
                "exported."
                if type(estimator).__name__.startswith("BayesianFM")
                else ""
            )
        )
    check_is_fitted(estimator, "net_")


def model_graph(estimator) -> onnx.ModelProto:
    """The graph of a fitted SGD estimator over a CSR matrix of its module's
    input (see :func:`csr_feed`)."""
    check_sgd(estimator)
    module = copy.deepcopy(estimator.net_.module_).cpu().eval()
    classifier = is_classifier(estimator)
    answer = _Answer(
        module,
        classifier,
        *(() if classifier else (estimator._y_mean, estimator._y_scale)),
    )
    # a sample batch of two rows, one empty, for the tracer (its sizes are
    # symbols in the graph)
    sample = (torch.tensor([0, 0]), torch.ones(2), torch.tensor([0, 2, 2]))
    n, b = torch.export.Dim("nnz"), torch.export.Dim("rows_plus_one", min=2)
    outputs = ["label_index", "probabilities"] if classifier else ["variable"]
    with _quiet(), torch.no_grad():
        program = torch.onnx.export(
            answer,
            sample,
            dynamo=True,
            opset_version=OPSET,
            input_names=list(CSR_INPUTS),
            output_names=outputs,
            dynamic_shapes=({0: n}, {0: n}, {0: b}),
            verbose=False,
        )
    graph = onnx.inliner.inline_local_functions(program.model_proto)
    if classifier:
        graph = _with_labels(graph, estimator.classes_)
    _name_dims(graph)
    return graph


def _with_labels(model: onnx.ModelProto, classes) -> onnx.ModelProto:
    """``label_index`` turned into ``label``, the classes' own values."""
    classes = np.asarray(classes)
    if classes.dtype.kind in "OUS":
        if not all(isinstance(c, str) for c in classes):
            raise TypeError(
                "an exported classifier's labels are numbers or strings; this "
                f"one's classes_ mix types ({classes[:5].tolist()}...)."
            )
        classes = classes.astype(object)
    elif classes.dtype.kind in "iub":  # (bools as 0 and 1, as skl2onnx has them)
        classes = classes.astype(np.int64)
    graph = model.graph
    graph.initializer.append(numpy_helper.from_array(classes, "classes"))
    graph.node.append(
        helper.make_node("Gather", ["classes", "label_index"], ["label"], axis=0)
    )
    index = next(o for o in graph.output if o.name == "label_index")
    label = helper.make_tensor_value_info(
        "label", numpy_helper.from_array(classes[:1]).data_type, ["rows"]
    )
    graph.output.remove(index)
    graph.output.insert(0, label)
    return model


def _name_dims(model: onnx.ModelProto) -> None:
    """Readable names of the inputs' and outputs' sizes."""
    for value in list(model.graph.input) + list(model.graph.output):
        dims = value.type.tensor_type.shape.dim
        if value.name in ("indices", "data"):
            dims[0].dim_param = "nnz"
        elif value.name == "indptr":
            dims[0].dim_param = "rows_plus_one"
        elif len(dims):
            dims[0].dim_param = "rows"


def csr_feed(estimator, X) -> dict:
    """The graph's feed for ``X``: the CSR arrays of the module's input,
    validated as ``predict`` validates ``X``."""
    check_sgd(estimator)
    X, _ = estimator._model_input(estimator._validate(X, reset=False))
    if isinstance(X, RelationalMatrix):  # (the graph reads the rows spelled out)
        X = X.tocsr()
    return csr_arrays(X)


def csr_arrays(X: sp.csr_matrix) -> dict:
    """A canonical CSR matrix's arrays, as the graph reads them."""
    return {
        "indices": X.indices.astype(np.int64),
        "data": X.data.astype(np.float32),
        "indptr": X.indptr.astype(np.int64),
    }
