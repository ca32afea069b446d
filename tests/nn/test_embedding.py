"""Embedding blocks against naive per-row formulas, on every batch layout."""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from sklfi.nn import (
    DenseFeatures,
    FeatureEmbedding,
    FieldAwareEmbedding,
    FieldEmbedding,
    SparseBatch,
    _segment,
)
from sklfi.nn._segment import _positions, segment_sum

from .rows import (
    FIELDS,
    N_FIELDS,
    batch,
    field_embeddings,
    fm_pairs,
    linear,
    nonzeros,
    one_per_field_rows,
    random_linear,
    random_rows,
)


def test_feature_embedding_gives_the_linear_term_and_pair_vector():
    X = random_rows()
    emb = FeatureEmbedding(X.shape[1], 5, n_outputs=2).double()
    w, bias = random_linear(emb)
    V = emb.weight.detach().numpy()[:, :5]
    e = emb(batch(X))
    assert e.fields is None
    for r in range(X.shape[0]):
        np.testing.assert_allclose(e.linear[r].detach(), linear(X, w, bias, r))
        np.testing.assert_allclose(e.pairs[r].detach(), fm_pairs(X, V, r), atol=1e-12)


@pytest.mark.parametrize("pairs", [False, True])
def test_field_embedding_sums_value_scaled_vectors_per_field(pairs):
    X = random_rows(seed=3)
    emb = FieldEmbedding(torch.from_numpy(FIELDS), N_FIELDS, 4).double()
    w, bias = random_linear(emb)
    V = emb.weight.detach().numpy()[:, :4]
    e = emb(batch(X, FIELDS), pairs=pairs)
    assert (e.pairs is not None) == pairs
    for r in range(X.shape[0]):
        np.testing.assert_allclose(
            e.fields[r].detach(), field_embeddings(X, V, r), atol=1e-12
        )
        np.testing.assert_allclose(e.linear[r].detach(), linear(X, w, bias, r))
        if pairs:  # over every non-zero, the pairs inside a field included
            np.testing.assert_allclose(e.pairs[r].detach(), fm_pairs(X, V, r))


def test_field_aware_embedding_pairs_use_each_others_field_vector():
    X = random_rows(seed=1)
    emb = FieldAwareEmbedding(torch.from_numpy(FIELDS), N_FIELDS, 3).double()
    w, bias = random_linear(emb)
    W = emb.weight.detach().numpy()[:, :-1].reshape(-1, N_FIELDS, 3)
    e = emb(batch(X, FIELDS))
    for r in range(X.shape[0]):
        expected = np.zeros(3)
        for (i, xi), (j, xj) in itertools.combinations(nonzeros(X, r), 2):
            expected += W[i, FIELDS[j]] * W[j, FIELDS[i]] * xi * xj
        np.testing.assert_allclose(e.pairs[r].detach(), expected, atol=1e-12)
        np.testing.assert_allclose(e.linear[r].detach(), linear(X, w, bias, r))


def test_field_aware_embedding_float32_matches_float64():
    X = random_rows(seed=2)
    emb = FieldAwareEmbedding(torch.from_numpy(FIELDS), N_FIELDS, 4)
    out32 = emb(batch(X, dtype=torch.float32)).pairs.detach().double()
    out64 = emb.double()(batch(X)).pairs.detach()
    torch.testing.assert_close(out32, out64, atol=1e-5, rtol=1e-5)


def _parts_and_grads(emb, x, **kwargs):
    emb.zero_grad()
    e = emb(x, **kwargs)
    parts = [p for p in (e.linear, e.fields, e.pairs) if p is not None]
    sum(p.sum() for p in parts).backward()
    return [p.detach() for p in parts] + [emb.weight.grad.clone()]


EMBEDDINGS = [
    (FieldEmbedding, {}),
    (FieldEmbedding, {"pairs": True}),
    (FieldAwareEmbedding, {}),
]


@pytest.mark.parametrize("one_hot", [True, False])
@pytest.mark.parametrize("cls, kwargs", EMBEDDINGS)
def test_one_per_field_batches_give_the_general_grouping_to_the_last_bit(
    cls, kwargs, one_hot
):
    # A batch flagged one_per_field (one non-zero per field, in field order)
    # skips the grouping; the same rows unflagged are grouped: the parts and
    # the gradients must be the same to the last bit.
    X = one_per_field_rows(9, one_hot)
    torch.manual_seed(0)
    emb = cls(torch.from_numpy(FIELDS), N_FIELDS, 4).double()
    random_linear(emb)
    flagged, grouped = batch(X, FIELDS), batch(X)
    assert flagged.one_per_field and not grouped.one_per_field
    assert (grouped.val is None) == one_hot
    for a, b in zip(
        _parts_and_grads(emb, flagged, **kwargs),
        _parts_and_grads(emb, grouped, **kwargs),
    ):
        torch.testing.assert_close(a, b, atol=0, rtol=0)


@pytest.mark.parametrize("cls, kwargs", EMBEDDINGS)
def test_field_order_of_columns_does_not_matter(cls, kwargs):
    # Columns of one field need not be contiguous: with shuffled columns CSR
    # order does not group the fields, and the batch sorts its non-zeros.
    X = random_rows(seed=5)
    perm = np.random.default_rng(0).permutation(len(FIELDS))
    torch.manual_seed(0)
    emb = cls(torch.from_numpy(FIELDS), N_FIELDS, 4).double()
    random_linear(emb)
    shuffled = cls(torch.from_numpy(FIELDS[perm]), N_FIELDS, 4).double()
    shuffled.weight.data = emb.weight.data[perm]
    shuffled.bias.data = emb.bias.data
    x = batch(X[:, perm].tocsr())
    g = x.by_field(shuffled.field_index, N_FIELDS)
    assert not torch.equal(g.idx, x.idx)  # the non-zeros were reordered
    for a, b in zip(
        _parts_and_grads(shuffled, x, **kwargs)[:-1],
        _parts_and_grads(emb, batch(X), **kwargs)[:-1],
    ):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


@pytest.mark.parametrize("cls", [FeatureEmbedding, FieldEmbedding, FieldAwareEmbedding])
def test_empty_rows_embed_to_zero_and_the_bias(cls):
    X = sp.vstack([random_rows(seed=4), sp.csr_matrix((2, len(FIELDS)))]).tocsr()
    if cls is FeatureEmbedding:
        emb = cls(X.shape[1], 4, n_outputs=3)
    else:
        emb = cls(torch.from_numpy(FIELDS), N_FIELDS, 4, n_outputs=3)
    torch.nn.init.normal_(emb.bias)
    e = emb(batch(X, dtype=torch.float32))
    torch.testing.assert_close(e.linear[-2:], emb.bias.expand(2, 3))
    interactions = e.fields if e.pairs is None else e.pairs
    assert not interactions[-2:].any()
    empty = emb(SparseBatch.from_csr(sp.csr_matrix((3, len(FIELDS))), FIELDS))
    torch.testing.assert_close(empty.linear, emb.bias.expand(3, 3))


def test_without_outputs_there_is_no_linear_term():
    X = random_rows(seed=4)
    emb = FieldEmbedding(torch.from_numpy(FIELDS), N_FIELDS, 4, n_outputs=0).double()
    e = emb(batch(X, FIELDS))
    assert e.linear is None and e.fields.shape == (X.shape[0], N_FIELDS, 4)


def test_dense_features_scatter_numeric_columns():
    X = random_rows(seed=8)
    dense = DenseFeatures(torch.tensor([11, 3]), X.shape[1]).double()
    np.testing.assert_allclose(dense(batch(X)).numpy(), X.toarray()[:, [11, 3]])


@pytest.mark.parametrize("lookup", [False, True])
def test_segment_sum_values_and_gradients(lookup):
    # segments [0, 2), [2, 2) (empty) and [2, 5)
    offsets, segment = torch.tensor([0, 2, 2]), torch.tensor([0, 0, 2, 2, 2])
    val = torch.rand(5, dtype=torch.float64)
    idx = torch.tensor([3, 1, 1, 0, 3]) if lookup else None
    v = torch.randn(4 if lookup else 5, 3, dtype=torch.float64, requires_grad=True)
    rows = v[idx] if lookup else v
    naive = torch.stack(
        [(val[segment == s, None] * rows[segment == s]).sum(0) for s in range(3)]
    )
    torch.testing.assert_close(segment_sum(v, offsets, segment, idx, val), naive)
    assert torch.autograd.gradcheck(
        lambda w: segment_sum(w, offsets, segment, idx, val), (v,)
    )
    # one non-zero per segment: a plain gather, with the same gradients
    alone = torch.arange(5)
    torch.testing.assert_close(
        segment_sum(v, None, None, idx, val), segment_sum(v, alone, alone, idx, val)
    )
    assert torch.autograd.gradcheck(
        lambda w: segment_sum(w, None, None, idx, val), (v,)
    )


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64])
def test_segment_sum_out_of_training_scales_lookups_to_the_same_bits(dtype):
    # a prediction looks up and scales every non-zero in one embedding_bag:
    # the same floats as the gather and product a training step computes
    g = torch.Generator().manual_seed(0)
    table = torch.nn.Parameter(torch.randn(50, 9, generator=g) * 3)
    idx = torch.randint(0, 50, (4000,), generator=g, dtype=dtype)
    val = torch.randn(4000, generator=g) * 10
    trained = segment_sum(table, None, None, idx, val)  # (with a graph)
    assert trained.requires_grad
    for mode in (torch.no_grad, torch.inference_mode):
        with mode():
            out = segment_sum(table, None, None, idx, val)
        assert not out.requires_grad
        assert torch.equal(out, table.detach()[idx.long()] * val[:, None])
        assert torch.equal(out, trained.detach())
        # values of another type than the table's: promoted, as in training
        wide = segment_sum(table.detach().double(), None, None, idx, val)
        assert wide.dtype == torch.float64
        assert torch.equal(wide, table.detach().double()[idx.long()] * val[:, None])


def test_positions_are_kept_per_length_and_stay_right_as_the_cache_grows():
    like = torch.zeros(1, dtype=torch.int32)
    first = _positions(5, like)
    assert torch.equal(first, torch.arange(5, dtype=torch.int32))
    assert _positions(5, like) is first  # (kept: no slice per batch)
    longer = _positions(5000, like)  # (past the cached tensor: a new one)
    assert torch.equal(longer, torch.arange(5000, dtype=torch.int32))
    assert torch.equal(_positions(5, like), torch.arange(5, dtype=torch.int32))
    assert _positions(3, torch.zeros(1)).dtype == torch.float32  # (per dtype)
    for n in range(3000):  # a bounded number of lengths is kept
        _positions(n, like)
    assert len(_segment._prefix.kept) <= 1024
    assert torch.equal(_positions(2999, like), torch.arange(2999, dtype=torch.int32))
    _segment._arange.kept.clear()
    _segment._prefix.kept.clear()
    with torch.inference_mode():  # made while predicting, then trained with
        _positions(7, torch.zeros(1, dtype=torch.long))
    v = torch.randn(7, 2, requires_grad=True)
    v.index_select(0, _positions(7, torch.zeros(1, dtype=torch.long))).sum().backward()
    assert torch.equal(v.grad, torch.ones(7, 2))


def test_tables_are_embeddings_to_ddp_with_their_own_initialisation():
    import torch
    from torch import nn

    from sklfi.nn import FeatureEmbedding, FieldAwareEmbedding

    table = FeatureEmbedding(1000, 4, n_outputs=2, init_std=0.01, sparse=True)
    # DDP expects sparse gradients from a sparse nn.Embedding's parameters only
    assert isinstance(table, nn.Embedding) and table.sparse
    assert [n for n, _ in table.named_parameters()] == ["weight", "intercept.bias"]
    with torch.no_grad():
        table.weight.fill_(5.0)
    table.reset_parameters()  # its own, not nn.Embedding's N(0, 1)
    vectors, linear = table.weight[:, :4], table.weight[:, 4:]
    assert 0.005 < vectors.std().item() < 0.02
    assert torch.all(linear == 0) and torch.all(table.bias == 0)
    # parameters saved when the bias was the module's own load
    old = {"weight": torch.ones(1000, 6), "bias": torch.full((2,), 3.0)}
    table.load_state_dict(old)
    assert torch.all(table.bias == 3.0)
    assert FeatureEmbedding(10, 4, n_outputs=0).bias is None  # no linear term
    ffm = FieldAwareEmbedding(torch.tensor([0, 0, 1]), 2, 3)
    ffm.reset_parameters()
    assert ffm.weight[:, :6].abs().sum() > 0 and torch.all(ffm.weight[:, 6:] == 0)
