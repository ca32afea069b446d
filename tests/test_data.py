"""CSR rows to batches: slices, (row, field) slots, padding, datasets."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from torch.utils.data import Subset

from sklfi._batch import one_per_field
from sklfi._data import BatchIterator, CSRDataset
from sklfi.nn import SparseBatch

from .nn.rows import FIELDS, N_FIELDS, one_per_field_rows, random_rows


def test_sparse_batch_is_the_csr_slice_of_the_rows():
    X = sp.csr_matrix(np.array([[0, 2.0, 0, 3.0], [0, 0, 0, 0], [1.0, 0, 0, 0]]))
    x = next(CSRDataset(X.astype(np.float32)).batches(np.array([2, 1, 0]), 3))[0]
    assert x.idx.tolist() == [0, 1, 3]
    assert x.val.tolist() == [1.0, 2.0, 3.0]
    assert x.row.tolist() == [0, 2, 2]  # the empty row 1 has no entry
    assert x.offsets.tolist() == [0, 1, 1]
    assert len(x) == x.n_rows == 3
    assert SparseBatch.from_csr(X[[2, 1, 0]]).idx.tolist() == [0, 1, 3]
    assert SparseBatch.from_csr(np.ones((2, 2))).val is None  # one-hot: no values


def test_batches_of_all_rows_equal_batches_of_their_indices():
    X = sp.vstack([random_rows(n_rows=9, seed=7), sp.csr_matrix((2, len(FIELDS)))])
    X = X.tocsr().astype(np.float32)
    y = np.arange(X.shape[0])
    every = list(CSRDataset(X, y).batches(None, 4, chunk=2))
    listed = list(CSRDataset(X, y).batches(np.arange(X.shape[0]), 4, chunk=2))
    assert len(every) == len(listed) == 3
    for (a, y_a), (b, y_b) in zip(every, listed):
        torch.testing.assert_close(y_a, y_b)
        for name in ("idx", "val", "row", "offsets"):
            torch.testing.assert_close(getattr(a, name), getattr(b, name))


def test_one_per_field_accepts_only_one_non_zero_per_field_in_field_order():
    X = one_per_field_rows(6, one_hot=True)
    assert one_per_field(X, FIELDS)
    assert not one_per_field(X, FIELDS, 5)  # a field never set
    assert not one_per_field(X, FIELDS[:0], 0)
    dense = X.toarray()
    missing = dense.copy()
    missing[2, 12:] = 0  # row 2 without its last field
    two = dense.copy()
    two[2, 12:] = 0
    two[2, 6:8] = 1  # ... and two values in field 1: still 4 per row
    for Z in (missing, two):
        assert not one_per_field(sp.csr_matrix(Z), FIELDS)
    # one value per field, but columns (so CSR order) not in field order
    order = np.r_[12:15, 0:12]
    Z = X[:, order].tocsr()
    Z.sort_indices()
    assert not one_per_field(Z, FIELDS[order])


@pytest.mark.parametrize("shuffle", [False, True])
def test_by_field_groups_the_non_zeros_of_each_row_and_field(shuffle):
    X = random_rows(n_rows=8, seed=3)
    fields = FIELDS
    if shuffle:  # fields interleave among the columns: CSR order is not theirs
        perm = np.random.default_rng(0).permutation(len(FIELDS))
        X, fields = X[:, perm].tocsr(), FIELDS[perm]
    before = X.copy()
    x = SparseBatch.from_csr(X)
    assert (X.indices == before.indices).all() and (X.data == before.data).all()
    g = x.by_field(torch.from_numpy(fields), N_FIELDS)
    assert torch.equal(g.row, x.row) and torch.equal(g.offsets, x.offsets)
    slot = g.row * N_FIELDS + torch.from_numpy(fields)[g.idx]
    assert torch.equal(g.slot, slot) and bool((slot[1:] >= slot[:-1]).all())
    ends = torch.cat([g.slot_offsets[1:], torch.tensor([len(g.idx)])])
    for s in range(X.shape[0] * N_FIELDS):  # each slot's non-zeros
        row, field = divmod(s, N_FIELDS)
        mine = [(i, v) for i, v in zip(X[row].indices, X[row].data)
                if fields[i] == field]  # fmt: skip
        part = slice(int(g.slot_offsets[s]), int(ends[s]))
        assert sorted(zip(g.idx[part].tolist(), g.val[part].tolist())) == sorted(mine)
    assert x.by_field(torch.from_numpy(fields), N_FIELDS).slot is not None
    # a batch that knows its fields is in field order when they are runs of
    # columns, and then needs no sort: the same grouping
    known = SparseBatch.from_csr(X, fields, N_FIELDS)
    assert known.field_sorted == (not shuffle)
    h = known.by_field(torch.from_numpy(fields), N_FIELDS)
    for name in ("idx", "val", "slot", "slot_offsets"):
        assert torch.equal(getattr(h, name), getattr(g, name))
    # a batch flagged one_per_field is its own grouping
    one = SparseBatch.from_csr(one_per_field_rows(5, one_hot=False), FIELDS)
    assert one.one_per_field
    assert one.by_field(torch.from_numpy(FIELDS), N_FIELDS) is one
    with pytest.raises(ValueError, match="not one per row and field"):
        one.by_field(torch.from_numpy(FIELDS), N_FIELDS + 1)


def test_padding_appends_empty_rows_or_copies_of_the_last_one():
    x = SparseBatch.from_csr(random_rows(n_rows=5, seed=2))
    padded = x.padded(8)
    assert padded.n_rows == 8 and torch.equal(padded.idx, x.idx)
    assert padded.offsets.tolist()[5:] == [len(x.idx)] * 3
    assert x.padded(5) is x
    # a batch flagged one_per_field is padded with copies of its last row,
    # so that the flag still holds
    X = one_per_field_rows(9, one_hot=False)
    flagged = SparseBatch.from_csr(X, FIELDS)
    padded = flagged.padded(12)
    assert padded.one_per_field and padded.n_rows == 12
    assert padded.offsets.tolist() == list(range(0, 48, 4))
    assert padded.row.tolist() == np.repeat(np.arange(12), 4).tolist()
    assert torch.equal(padded.idx[36:], flagged.idx[32:].repeat(3))
    assert torch.equal(padded.val[36:], flagged.val[32:].repeat(3))


def test_dataset_flags_one_per_field_matrices_and_carries_targets():
    X = one_per_field_rows(10, one_hot=True).astype(np.float32)
    y, w = np.arange(10.0), np.linspace(0.1, 1, 10)
    data = CSRDataset(X, y, w, fields=FIELDS)
    assert data.one_per_field and not CSRDataset(X).one_per_field
    assert not CSRDataset(random_rows().astype(np.float32), fields=FIELDS).one_per_field
    batch, target = data.__getitems__([7, 2])
    assert batch.one_per_field and target.tolist() == [7.0, 2.0]
    torch.testing.assert_close(batch.sample_weight, torch.tensor(w[[7, 2]]).float())
    # an iterator over skorch's validation subset yields its rows only
    subset = BatchIterator(Subset(data, [1, 4, 6]), batch_size=2)
    assert len(subset) == 2
    assert [t.tolist() for _, t in subset] == [[1.0, 4.0], [6.0]]
    torch.manual_seed(0)
    shuffled = [t for _, t in BatchIterator(data, batch_size=4, shuffle=True)]
    assert sorted(torch.cat(shuffled).tolist()) == y.tolist()
    assert torch.cat(shuffled).tolist() != y.tolist()


def test_a_matrix_without_rows_is_an_empty_batch():
    x = SparseBatch.from_csr(sp.csr_matrix((0, len(FIELDS))), FIELDS)
    assert x.n_rows == 0 and len(x.idx) == 0
