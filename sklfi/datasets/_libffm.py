"""Reader of the LIBFFM text format, whole or in chunks."""

from __future__ import annotations

from itertools import islice

import numpy as np
import scipy.sparse as sp

from .._fields import FieldMatrix, Fields, check_positive_integer

__all__ = ["load_libffm"]


def load_libffm(path, n_features=None, n_fields=None, chunksize=None):
    """Load a file in the LIBFFM format as a :class:`~sklfi.FieldMatrix`.

    Each line is ``label field:feature:value ...`` with 0-based integer field
    and feature ids, the format of LIBFFM and xLearn. (The libFM / svmlight
    format, ``label feature:value ...``, has no fields: read it with
    :func:`sklearn.datasets.load_svmlight_file`, in chunks with its
    ``offset`` and ``length``, and pass ``fields`` to the estimator.)

    Parameters
    ----------
    path : str or path-like
    n_features : int, default=None
        Number of columns; defaults to the largest feature id + 1 (give it to
        load a test file with the columns of the training file).
    n_fields : int, default=None
        Number of fields; defaults to the largest field id + 1.
    chunksize : int, default=None
        When given, return an iterator over chunks of ``chunksize`` lines
        instead, for files larger than memory (as ``pandas.read_csv`` does).
        The file is then read twice: a first pass keeps only the field of
        every feature, so that all chunks get the same columns and fields;
        the second yields the chunks, one at a time.

    Returns
    -------
    X : FieldMatrix of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        Or, with ``chunksize``, an iterator of such ``(X, y)`` pairs.

    Raises
    ------
    ValueError
        On a malformed line, or a feature listed under two fields.

    Examples
    --------
    Train on a file chunk by chunk::

        for X, y in load_libffm("train.ffm", chunksize=100_000):
            model.partial_fit(X, y, classes=[0, 1])
    """
    if chunksize is None:
        with open(path, encoding="utf-8") as handle:
            labels, rows, fields_of, features, values = _parse(handle, path, 1)
        index = _FieldIndex(path, n_features, n_fields)
        index.add(rows, fields_of, features, values)
        info = index.fields()
        return FieldMatrix._from_parts(
            _matrix(labels, rows, features, values, info), info
        ), labels
    check_positive_integer(chunksize, "chunksize")
    index = _FieldIndex(path, n_features, n_fields)
    for _, rows, fields_of, features, values in _read_chunks(path, chunksize):
        index.add(rows, fields_of, features, values)
    return _chunks(path, chunksize, index.fields())


def _chunks(path, chunksize, info):
    for labels, rows, _, features, values in _read_chunks(path, chunksize):
        X = _matrix(labels, rows, features, values, info)
        yield FieldMatrix._from_parts(X, info), labels


def _read_chunks(path, chunksize):
    with open(path, encoding="utf-8") as handle:
        number = 1
        while lines := list(islice(handle, chunksize)):
            parsed = _parse(lines, path, number)
            number += len(lines)
            if len(parsed[0]):
                yield parsed


def _parse(lines, path, first_number):
    """Labels, and row, field, feature and value of every entry."""
    labels, rows, fields, features, values = [], [], [], [], []
    for number, line in enumerate(lines, first_number):
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
    return (np.asarray(labels), np.asarray(rows, dtype=np.int64),
            np.asarray(fields, dtype=np.int64), np.asarray(features, dtype=np.int64),
            np.asarray(values))  # fmt: skip


class _FieldIndex:
    """The field of every feature and the kind of every field (as
    :func:`~sklfi._fields.infer_kinds` finds them), gathered over one or many
    chunks."""

    def __init__(self, path, n_features, n_fields):
        self.path, self.n_features, self.n_fields = path, n_features, n_fields
        self.field_of = np.full(0 if n_features is None else n_features, -1)
        self.multi, self.non_binary = set(), set()

    def add(self, rows, fields_of, features, values):
        if not len(features):
            return
        pairs = rows * (int(fields_of.max()) + 1) + fields_of
        unique, counts = np.unique(pairs, return_counts=True)
        self.multi.update((unique[counts > 1] % (int(fields_of.max()) + 1)).tolist())
        self.non_binary.update(
            np.unique(fields_of[(values != 0) & (values != 1)]).tolist()
        )
        if self.n_features is None and features.max() >= len(self.field_of):
            grown = np.full(max(int(features.max()) + 1, 2 * len(self.field_of)), -1)
            grown[: len(self.field_of)] = self.field_of
            self.field_of = grown
        if features.max() >= len(self.field_of) or (
            self.n_fields is not None and fields_of.max() >= self.n_fields
        ):
            raise ValueError(
                f"{self.path} has feature or field ids beyond n_features="
                f"{self.n_features} or n_fields={self.n_fields}."
            )
        known = self.field_of[features]
        self.field_of[features] = fields_of
        clash = (self.field_of[features] != fields_of) | (
            (known >= 0) & (known != fields_of)
        )
        if np.any(clash):
            raise ValueError(
                f"{self.path}: feature {features[clash][0]} appears under two fields."
            )

    def fields(self) -> Fields:
        used = np.flatnonzero(self.field_of >= 0)
        n_features = self.n_features
        if n_features is None:
            n_features = int(used.max(initial=-1)) + 1
        n_fields = self.n_fields
        if n_fields is None:
            n_fields = int(self.field_of.max(initial=-1)) + 1
        index = np.zeros(n_features, dtype=np.int64)
        index[used] = self.field_of[used]
        width = np.bincount(index, minlength=n_fields)
        kinds = [
            "multi_valued" if f in self.multi
            else "numeric" if f in self.non_binary and width[f] == 1
            else "categorical"
            for f in range(n_fields)
        ]  # fmt: skip
        names = tuple(f"field{f}" for f in range(n_fields))
        return Fields(index, names, tuple(kinds))


def _matrix(labels, rows, features, values, info):
    return sp.csr_matrix(
        (values, (rows, features)),
        shape=(len(labels), len(info.index)),
        dtype=np.float64,
    )
