"""The public face of :mod:`sklfi.export`: :func:`to_onnx`, :func:`onnx_inputs`."""

from __future__ import annotations

import onnx
import onnx.compose
from sklearn.pipeline import Pipeline

from ._columns import CSR_OUTPUTS, _columns, column_feed, columns_graph
from ._model import CSR_INPUTS, csr_feed, model_graph


def to_onnx(model, X=None) -> onnx.ModelProto:
    """Convert a fitted sklfi estimator, or a pipeline of a
    :class:`~sklfi.preprocessing.FieldEncoder` (or
    :class:`~sklfi.preprocessing.FieldHasher`) and an estimator, to ONNX.

    The graph of an estimator reads a CSR matrix, as its three arrays
    ``indices`` (int64, one per non-zero), ``data`` (float32, their values)
    and ``indptr`` (int64, ``n_rows + 1``): build them with
    :func:`onnx_inputs`, or take them from any CSR library. The graph of a
    pipeline reads the raw columns, one input of shape ``(n_rows, 1)`` per
    column the transformer encodes, named as the column: text for
    categorical and multi-valued columns (an integer or float categorical
    column of a FieldEncoder keeps its numbers; a missing value is ``""``),
    ``double`` for numeric ones (a missing value is ``NaN``).

    Outputs are named as scikit-learn's converters name them: a classifier
    gives ``label`` (the classes' own values) and ``probabilities``
    (float32, ``(n_rows, n_classes)``); a regressor gives ``variable``
    (float32, ``(n_rows, 1)``, on the target's own scale). Sizes are dynamic:
    any number of rows, at least one.

    Parameters
    ----------
    model : fitted estimator or Pipeline
        One of sklfi's 14 SGD estimators (``FMClassifier`` ...
        ``DLRMRegressor``), or a :class:`~sklearn.pipeline.Pipeline` of a
        FieldEncoder or FieldHasher followed by one. The Bayesian FMs are
        refused: they average the predictions of many samples of the
        weights, which no single set of weights gives.
    X : DataFrame, default=None
        For a pipeline, a sample of the raw columns: checked to hold every
        column the transformer encodes. Ignored for an estimator.

    Returns
    -------
    onnx.ModelProto
        The graph (opset 20, with ONNX-ML's ``LabelEncoder`` and, for a
        FieldHasher, ONNX Runtime's ``MurmurHash3``), ready for
        ``onnxruntime.InferenceSession(model.SerializeToString())``.

    Raises
    ------
    TypeError
        For a model that is not one of the above.

    Examples
    --------
    >>> import numpy as np, pandas as pd, onnxruntime as ort
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklfi import FMClassifier
    >>> from sklfi.export import onnx_inputs, to_onnx
    >>> from sklfi.preprocessing import FieldEncoder
    >>> df = pd.DataFrame({"user": list("abcabc"), "genres": ["x|y", "y"] * 3,
    ...                    "age": [20.0, 30, 40, 50, 60, 70]})
    >>> pipe = make_pipeline(FieldEncoder(multi_valued=["genres"],
    ...                                   categorical=["user"], numeric=["age"]),
    ...                      FMClassifier(max_epochs=2, random_state=0))
    >>> pipe = pipe.fit(df, [0, 1, 0, 1, 1, 0])
    >>> session = ort.InferenceSession(to_onnx(pipe, df).SerializeToString())
    >>> label, proba = session.run(None, onnx_inputs(pipe, df))
    >>> bool(np.allclose(proba, pipe.predict_proba(df), atol=1e-5))
    True
    """
    if isinstance(model, Pipeline):
        return _pipeline_graph(model, X)
    return model_graph(model)


def onnx_inputs(model, X) -> dict:
    """The feed of :func:`to_onnx`'s graph for ``X``.

    Parameters
    ----------
    model : fitted estimator or Pipeline
        What was given to :func:`to_onnx`.
    X : sparse matrix, FieldMatrix or DataFrame
        For an estimator, what its ``predict`` takes (the CSR arrays of its
        input, a Wide & Deep's crosses added); for a pipeline, the raw
        DataFrame (the columns as the graph reads them).

    Returns
    -------
    dict of str to ndarray
        ``session.run(None, onnx_inputs(model, X))`` predicts ``X``.
    """
    if isinstance(model, Pipeline):
        transformer, estimator = _parts(model)
        _check_fields(transformer, estimator, X)
        return column_feed(transformer, X)
    return csr_feed(model, X)


def _parts(pipeline: Pipeline):
    steps = [step for _, step in pipeline.steps if step not in (None, "passthrough")]
    if len(steps) != 2:
        raise TypeError(
            "sklfi.export converts a pipeline of two steps, a FieldEncoder or "
            "FieldHasher and an sklfi estimator; this one has "
            f"{[type(s).__name__ for s in steps]}."
        )
    return steps


def _check_fields(transformer, estimator, X) -> None:
    """A ``ValueError`` unless the fields ``X``'s columns give are those the
    estimator was fitted on (a FieldHasher finds its columns, and their
    order and kinds, in each DataFrame)."""
    fields = [(name, kind) for _, name, kind in _columns(transformer, X)]
    fitted = list(zip(estimator.field_names_, estimator.field_kinds_))
    if fields != fitted:
        raise ValueError(
            f"X's columns give the fields {fields}, but the model was fitted on "
            f"{fitted}: give the columns in the order, and with the kinds, of fit."
        )


def _pipeline_graph(pipeline: Pipeline, X) -> onnx.ModelProto:
    transformer, estimator = _parts(pipeline)
    if X is not None:
        _check_fields(transformer, estimator, X)
        column_feed(transformer, X)  # (every column there, each readable)
    columns = columns_graph(transformer, X)
    outputs = {"label", "probabilities", "variable"}
    taken = {i.name for i in columns.graph.input} & outputs
    if taken:
        raise ValueError(
            f"a column is named {sorted(taken)[0]!r}, the name of an output of "
            "the graph (as scikit-learn's converters name them): rename it."
        )
    if getattr(estimator, "crosser_", None) is not None:
        raise TypeError(
            "a Wide & Deep with crosses is exported alone (to_onnx(estimator)), "
            "its crosses made by onnx_inputs: a pipeline's graph has no cross "
            "products yet."
        )
    model = onnx.compose.add_prefix(
        model_graph(estimator), "model/", rename_outputs=False
    )
    columns.ir_version = model.ir_version
    io_map = [(a, "model/" + b) for a, b in zip(CSR_OUTPUTS, CSR_INPUTS)]
    return onnx.compose.merge_models(columns, model, io_map=io_map)
