"""Reader of the LIBFFM text format, whole or in chunks."""

from __future__ import annotations

from itertools import islice
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from .._checks import check_memory
from .._fields import FieldMatrix, Fields, check_positive_integer

__all__ = ["load_libffm"]

#: Bytes that every column, and every field, of the output costs while it is
#: read: the field of every feature (grown by doubling), then the field
#: index with its mask and used columns; a count, a kind and a name per field.
_COLUMN_BYTES, _FIELD_BYTES = 32, 96
_ADVICE = (
    "Give n_features and n_fields (those of the training file) to refuse "
    "larger ids, or hash the ids into fewer columns (2**20 to 2**24 per field "
    "is usual) or remap them to the ids actually seen."
)


def load_libffm(path, n_features=None, n_fields=None, chunksize=None):
    """Load a file in the LIBFFM format as a :class:`~sklfi.FieldMatrix`.

    Each line is ``label field:feature:value ...`` with 0-based integer field
    and feature ids, the format of LIBFFM and xLearn, in UTF-8 (or ASCII).
    (The libFM / svmlight format, ``label feature:value ...``, has no fields:
    read it with :func:`sklearn.datasets.load_svmlight_file`, in chunks with
    its ``offset`` and ``length``, and pass ``fields`` to the estimator.)

    Parameters
    ----------
    path : str or path-like
    n_features : int, default=None
        Number of columns; defaults to the largest feature id + 1 (give it to
        load a test file with the columns of the training file). Columns of
        no feature in the file belong to field 0.
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
        On a malformed line (or one that is not UTF-8), a negative id, an id
        beyond ``n_features`` or ``n_fields``, or beyond int64, a feature
        listed under two fields, or ids so large that the columns would not
        fit in this machine's memory; the message gives the line.

    Examples
    --------
    Train on a file chunk by chunk::

        for X, y in load_libffm("train.ffm", chunksize=100_000):
            model.partial_fit(X, y, classes=[0, 1])
    """
    index = _FieldIndex(path, n_features, n_fields)
    if chunksize is None:
        with _open(path) as handle:
            entries = _parse(handle, path, 1)
        index.add(entries)
        info = index.fields()
        return FieldMatrix._from_parts(_matrix(entries, info), info), entries.labels
    check_positive_integer(chunksize, "chunksize")
    for entries in _read_chunks(path, chunksize):
        index.add(entries)
    return _chunks(path, chunksize, index.fields())


def _chunks(path, chunksize, info):
    for entries in _read_chunks(path, chunksize):
        yield FieldMatrix._from_parts(_matrix(entries, info), info), entries.labels


def _open(path):
    # Bytes that are not UTF-8 become lone surrogates, which no number
    # parses: _parse reports their line instead of the decoder failing
    # somewhere in a block of lines.
    return open(path, encoding="utf-8", errors="surrogateescape")


def _read_chunks(path, chunksize):
    with _open(path) as handle:
        number = 1
        while lines := list(islice(handle, chunksize)):
            entries = _parse(lines, path, number)
            number += len(lines)
            if len(entries.labels):
                yield entries


class _Entries(NamedTuple):
    """The labels and line numbers of the rows, and the row, field, feature
    and value of every entry."""

    labels: np.ndarray
    numbers: np.ndarray
    rows: np.ndarray
    fields: np.ndarray
    features: np.ndarray
    values: np.ndarray

    def line(self, entry: int) -> int:
        return int(self.numbers[self.rows[entry]])


def _parse(lines, path, first_number) -> _Entries:
    """The entries of ``lines``, the first of them numbered ``first_number``;
    a ValueError giving the line of any malformed line or negative id."""
    labels, numbers, rows, fields, features, values = [], [], [], [], [], []
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
            raise _malformed(path, number, line) from None
        numbers.append(number)
        rows.extend([len(labels) - 1] * len(triples))
    entries = _Entries(
        np.asarray(labels), np.asarray(numbers, dtype=np.int64),
        np.asarray(rows, dtype=np.int64), *_ids(fields, features, rows, numbers, path),
        np.asarray(values),
    )  # fmt: skip
    for what, ids in (("field", entries.fields), ("feature", entries.features)):
        if len(ids) and ids.min() < 0:
            k = int(np.argmax(ids < 0))  # (the first)
            raise ValueError(
                f"{path}, line {entries.line(k)}: negative {what} id {ids[k]}; "
                "ids are 0-based."
            )
    return entries


def _malformed(path, number, line) -> ValueError:
    escaped = [c for c in line if "\udc80" <= c <= "\udcff"]
    if escaped:
        return ValueError(
            f"{path}, line {number}: the byte {ord(escaped[0]) - 0xDC00:#x} is "
            "not UTF-8 text; save the file in UTF-8 (or ASCII)."
        )
    return ValueError(
        f"{path}, line {number}: expected 'label field:feature:value ...', "
        f"got {line.strip()[:80]!r}."
    )


def _ids(fields, features, rows, numbers, path):
    """Field and feature ids as int64, or the line of one beyond int64."""
    try:
        return np.asarray(fields, np.int64), np.asarray(features, np.int64)
    except OverflowError:  # rare: find the culprit in Python
        for k, (f, j) in enumerate(zip(fields, features)):
            for what, v in (("field", f), ("feature", j)):
                if not -(2**63) <= v < 2**63:
                    raise ValueError(
                        f"{path}, line {numbers[rows[k]]}: the {what} id {v} "
                        "is beyond int64: fix the line, or hash the ids into "
                        "fewer columns or remap them to the ids actually seen."
                    ) from None
        raise


class _FieldIndex:
    """The field of every feature and the kind of every field (as
    :func:`~sklfi._fields.infer_kinds` finds them), gathered over one or many
    chunks."""

    def __init__(self, path, n_features, n_fields):
        for value, name in ((n_features, "n_features"), (n_fields, "n_fields")):
            if value is not None:
                check_positive_integer(value, name)
        self.path = path
        self.n_features = None if n_features is None else int(n_features)
        self.n_fields = None if n_fields is None else int(n_fields)
        sizes = {"n_features": self.n_features, "n_fields": self.n_fields}
        given = " and ".join(f"{k}={v:,}" for k, v in sizes.items() if v is not None)
        check_memory(
            _COLUMN_BYTES * (self.n_features or 0)
            + _FIELD_BYTES * (self.n_fields or 0),
            f"the field index of {given}",
            "Hash the ids into fewer columns (2**20 to 2**24 per field is "
            "usual), or remap them to the ids actually seen.",
        )
        self.field_of = np.full(self.n_features or 0, -1)
        self.top_feature = self.top_field = -1
        self.multi, self.non_binary = set(), set()

    def add(self, entries: _Entries):
        rows, fields_of, features, values = entries[2:]
        if not len(features):
            return
        self._check_ids(entries)
        top = int(fields_of.max())
        self.top_field = max(self.top_field, top)
        self.top_feature = max(self.top_feature, int(features.max()))
        # (row, field) pairs fit in int64: _check_ids bounds the field ids.
        pairs = rows * (top + 1) + fields_of
        unique, counts = np.unique(pairs, return_counts=True)
        self.multi.update((unique[counts > 1] % (top + 1)).tolist())
        self.non_binary.update(
            np.unique(fields_of[(values != 0) & (values != 1)]).tolist()
        )
        if features.max() >= len(self.field_of):
            grown = np.full(max(int(features.max()) + 1, 2 * len(self.field_of)), -1)
            grown[: len(self.field_of)] = self.field_of
            self.field_of = grown
        known = self.field_of[features]
        self.field_of[features] = fields_of
        clash = (self.field_of[features] != fields_of) | (
            (known >= 0) & (known != fields_of)
        )
        if np.any(clash):
            k = int(np.argmax(clash))
            other = known[k]  # (an earlier chunk's field)
            if other in (-1, fields_of[k]):  # a later line of this chunk's: blame it
                same = np.flatnonzero(features == features[k])
                other, k = fields_of[k], int(same[fields_of[same] != fields_of[k]][0])
            raise ValueError(
                f"{self.path}, line {entries.line(k)}: feature {features[k]} "
                f"appears under two fields, {fields_of[k]} and {other}; a "
                "feature belongs to one field."
            )

    def _check_ids(self, entries: _Entries):
        """Refuse ids beyond n_features or n_fields, or, where those are not
        given, ids whose columns or fields would not fit in memory, before
        allocating them."""
        need, culprits = 0, []
        for what, ids, given, top, cost in (
            ("feature", entries.features, self.n_features, self.top_feature,
             _COLUMN_BYTES),
            ("field", entries.fields, self.n_fields, self.top_field, _FIELD_BYTES),
        ):  # fmt: skip
            k = int(np.argmax(ids))
            if given is not None and ids[k] >= given:
                raise ValueError(
                    f"{self.path}, line {entries.line(k)}: {what} id {ids[k]} "
                    f"is beyond n_{what}s={given} (ids run from 0 to "
                    f"n_{what}s - 1)."
                )
            size = given if given is not None else max(int(ids[k]), top) + 1
            need += cost * size
            if given is None:
                culprits.append((cost * size, what, ids[k], entries.line(k), size))
        if culprits:  # (blame the id that costs the most)
            _, what, id_, line, size = max(culprits)
            check_memory(
                need,
                f"{self.path}, line {line}: the {what} id {id_} asks for "
                f"{size:,} {what}s; their field index",
                _ADVICE,
            )

    def fields(self) -> Fields:
        used = np.flatnonzero(self.field_of >= 0)
        n_features = self.n_features
        if n_features is None:
            n_features = int(used.max(initial=-1)) + 1
        n_fields = self.n_fields
        if n_fields is None:  # (a field for the columns of no feature seen)
            n_fields = max(self.top_field + 1, int(n_features > 0))
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


def _matrix(entries: _Entries, info: Fields):
    return sp.csr_matrix(
        (entries.values, (entries.rows, entries.features)),
        shape=(len(entries.labels), len(info.index)),
        dtype=np.float64,
    )
