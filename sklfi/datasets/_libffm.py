"""Reader of the LIBFFM text format."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._fields import FieldMatrix, Fields, infer_kinds

__all__ = ["load_libffm"]


def load_libffm(path, n_features=None, n_fields=None):
    """Load a file in the LIBFFM format as a :class:`~sklfi.FieldMatrix`.

    Each line is ``label field:feature:value ...`` with 0-based integer field
    and feature ids, the format of LIBFFM and xLearn. (The libFM / svmlight
    format, ``label feature:value ...``, has no fields: read it with
    :func:`sklearn.datasets.load_svmlight_file` and pass ``fields`` to the
    estimator.)

    Parameters
    ----------
    path : str or path-like
    n_features : int, default=None
        Number of columns; defaults to the largest feature id + 1 (give it to
        load a test file with the columns of the training file).
    n_fields : int, default=None
        Number of fields; defaults to the largest field id + 1.

    Returns
    -------
    X : FieldMatrix of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)

    Raises
    ------
    ValueError
        On a malformed line, or a feature listed under two fields.
    """
    labels, rows, fields, features, values = [], [], [], [], []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            tokens = line.split()
            if not tokens:
                continue
            try:
                labels.append(float(tokens[0]))
                triples = [t.split(":") for t in tokens[1:]]
                for f, j, v in triples:
                    fields.append(int(f))
                    features.append(int(j))
                    values.append(float(v))
            except ValueError:
                raise ValueError(
                    f"{path}, line {number}: expected 'label field:feature:value "
                    f"...', got {line.strip()[:80]!r}."
                ) from None
            rows.extend([len(labels) - 1] * len(triples))
    features = np.asarray(features, dtype=np.int64)
    fields_of = np.asarray(fields, dtype=np.int64)
    n_features = int(features.max(initial=-1)) + 1 if n_features is None else n_features
    n_fields = int(fields_of.max(initial=-1)) + 1 if n_fields is None else n_fields
    if len(features) and (features.max() >= n_features or fields_of.max() >= n_fields):
        raise ValueError(
            f"{path} has feature or field ids beyond n_features={n_features} or "
            f"n_fields={n_fields}."
        )
    field_index = np.zeros(n_features, dtype=np.int64)
    field_index[features] = fields_of
    if np.any(field_index[features] != fields_of):
        bad = features[field_index[features] != fields_of][0]
        raise ValueError(f"{path}: feature {bad} appears under two fields.")
    X = sp.csr_matrix(
        (values, (rows, features)), shape=(len(labels), n_features), dtype=np.float64
    )
    names = tuple(f"field{f}" for f in range(n_fields))
    info = Fields(field_index, names, infer_kinds(X, field_index, n_fields))
    return FieldMatrix._from_parts(X, info), np.asarray(labels)
