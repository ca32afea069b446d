"""Interaction layers and model forward passes against naive formulas."""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from sklfi._data import sparse_batch, sparse_batches
from sklfi.nn import (
    AFM,
    DLRM,
    FFM,
    FM,
    AttentionPooling,
    DeepFM,
    DenseFeatures,
    FieldEmbedding,
    WideDeep,
    bi_interaction,
    one_per_field,
    pairwise_dots,
    pairwise_products,
    row_sum,
    segment_sum,
)

# 4 fields: categorical (5 columns), multi-valued (6), numeric (1), categorical (3)
FIELDS = np.array([0] * 5 + [1] * 6 + [2] + [3] * 3)


def random_rows(n_rows=7, seed=0):
    """CSR rows with one category per categorical field, 0-3 items in the
    multi-valued field (some rows none) and a real value in the numeric one."""
    rng = np.random.default_rng(seed)
    dense = np.zeros((n_rows, len(FIELDS)))
    for r in range(n_rows):
        dense[r, rng.integers(0, 5)] = 1.0
        for c in rng.choice(6, size=rng.integers(0, 4), replace=False):
            dense[r, 5 + c] = rng.uniform(0.2, 1.0)
        dense[r, 11] = rng.normal()
        dense[r, 12 + rng.integers(0, 3)] = 1.0
    # values exactly representable in float32, the dtype of batches
    return sp.csr_matrix(dense.astype(np.float32).astype(np.float64))


def batch(X, dtype=torch.float64, one_per_field=False):
    X = X.astype(np.float32)
    x = next(sparse_batches(X, None, X.shape[0], one_per_field=one_per_field))[0]
    if x.val is not None:
        x.val = x.val.to(dtype)
    return x


def nonzeros(X, r):
    row = X.getrow(r)
    return list(zip(row.indices.tolist(), row.data.tolist()))


def test_sparse_batch_is_the_csr_slice_of_the_rows():
    X = sp.csr_matrix(np.array([[0, 2.0, 0, 3.0], [0, 0, 0, 0], [1.0, 0, 0, 0]]))
    x = sparse_batch(X, np.array([2, 1, 0]))
    assert x.idx.tolist() == [0, 1, 3]
    assert x.val.tolist() == [1.0, 2.0, 3.0]
    assert x.row.tolist() == [0, 2, 2]  # the empty row 1 has no entry
    assert x.offsets.tolist() == [0, 1, 1]
    assert len(x) == x.n_rows == 3


def test_fm_equals_naive_pairwise_sum():
    X = random_rows()
    model = FM(X.shape[1], embedding_dim=5).double()
    torch.nn.init.normal_(model.embedding.weight[:, 5])  # the linear weights
    model.bias.data.fill_(0.3)
    w = model.embedding.weight.detach().numpy()[:, 5]
    V = model.embedding.weight.detach().numpy()[:, :5]
    out = model(batch(X)).detach().numpy()[:, 0]
    for r in range(X.shape[0]):
        nz = nonzeros(X, r)
        expected = 0.3 + sum(w[i] * x for i, x in nz)
        for (i, xi), (j, xj) in itertools.combinations(nz, 2):
            expected += V[i] @ V[j] * xi * xj
        assert out[r] == pytest.approx(expected, abs=1e-10)


def test_ffm_equals_naive_pairwise_sum():
    X = random_rows(seed=1)
    n_fields = FIELDS.max() + 1
    model = FFM(torch.from_numpy(FIELDS), n_fields, embedding_dim=3).double()
    W = model.embedding.weight.detach().numpy()[:, :-1].reshape(-1, n_fields, 3)
    out = model(batch(X)).detach().numpy()[:, 0]
    for r in range(X.shape[0]):
        nz = nonzeros(X, r)
        expected = 0.0  # linear weights start at zero
        for (i, xi), (j, xj) in itertools.combinations(nz, 2):
            expected += W[i, FIELDS[j]] @ W[j, FIELDS[i]] * xi * xj
        assert out[r] == pytest.approx(expected, abs=1e-10)


def test_ffm_float32_matches_float64():
    X = random_rows(seed=2)
    model = FFM(torch.from_numpy(FIELDS), 4, embedding_dim=4)
    out32 = model(batch(X, torch.float32)).detach().double()
    out64 = model.double()(batch(X)).detach()
    torch.testing.assert_close(out32, out64, atol=1e-5, rtol=1e-5)


def test_field_embedding_sums_value_scaled_vectors_per_field():
    X = random_rows(seed=3)
    emb = FieldEmbedding(torch.from_numpy(FIELDS), 4, n_fields=4).double()
    V = emb.weight.detach().numpy()
    out = emb(batch(X)).detach().numpy()
    for r in range(X.shape[0]):
        expected = np.zeros((4, 4))
        for i, x in nonzeros(X, r):
            expected[FIELDS[i]] += x * V[i]
        np.testing.assert_allclose(out[r], expected, atol=1e-12)


def test_bi_interaction_is_sum_of_pairwise_products_per_row():
    X = random_rows(seed=3)
    x = batch(X)
    v = torch.randn(len(x.idx), 4, dtype=torch.float64)
    out = bi_interaction(row_sum(v, x), row_sum(v.square(), x))
    for r in range(X.shape[0]):
        mine = v[x.row == r]
        expected = sum(
            (mine[i] * mine[j] for i, j in itertools.combinations(range(len(mine)), 2)),
            torch.zeros(4, dtype=torch.float64),
        )
        torch.testing.assert_close(out[r], expected)


@pytest.mark.parametrize("model_cls", [FM, FFM])
def test_multi_output_shape_and_empty_rows(model_cls):
    X = sp.vstack([random_rows(seed=4), sp.csr_matrix((2, len(FIELDS)))]).tocsr()
    if model_cls is FM:
        model = model_cls(X.shape[1], 4, n_outputs=3)
    else:
        model = model_cls(torch.from_numpy(FIELDS), 4, 4, n_outputs=3)
    torch.nn.init.normal_(model.bias)
    out = model(batch(X, torch.float32))
    assert out.shape == (X.shape[0], 3)
    # a row without non-zeros predicts the bias
    torch.testing.assert_close(out[-1], model.bias)
    torch.testing.assert_close(out[-2], model.bias)


def naive_field_embeddings(X, V, r, n_fields=4):
    e = np.zeros((n_fields, V.shape[1]))
    for i, x in nonzeros(X, r):
        e[FIELDS[i]] += x * V[i]
    return e


def test_pairwise_products_and_dots_list_every_field_pair_once():
    e = torch.randn(2, 4, 3, dtype=torch.float64)
    pairs = list(itertools.combinations(range(4), 2))
    expected_products = torch.stack([e[:, i] * e[:, j] for i, j in pairs], 1)
    expected_dots = torch.stack([(e[:, i] * e[:, j]).sum(-1) for i, j in pairs], 1)
    torch.testing.assert_close(pairwise_products(e), expected_products)
    torch.testing.assert_close(pairwise_dots(e), expected_dots)


def test_attention_pooling_equals_naive_softmax_weighted_sum():
    torch.manual_seed(0)
    pool = AttentionPooling(embedding_dim=3, attention_dim=5).double()
    pairs = torch.randn(2, 6, 3, dtype=torch.float64)
    W = pool.hidden.weight.detach().numpy()
    b = pool.hidden.bias.detach().numpy()
    h = pool.score.weight.detach().numpy()[0]
    out = pool(pairs).detach().numpy()
    for r in range(2):
        p = pairs[r].numpy()
        scores = np.array([h @ np.maximum(W @ p_k + b, 0) for p_k in p])
        a = np.exp(scores - scores.max())
        a /= a.sum()
        np.testing.assert_allclose(out[r], (a[:, None] * p).sum(0), atol=1e-12)


def test_afm_equals_naive_formula():
    X = random_rows(seed=5)
    torch.manual_seed(0)
    model = AFM(torch.from_numpy(FIELDS), 4, embedding_dim=3, attention_dim=4)
    model = model.double().eval()
    V = model.embedding.weight.detach().numpy()[:, :3]  # then linear weights, 0
    W = model.attention.hidden.weight.detach().numpy()
    b = model.attention.hidden.bias.detach().numpy()
    h = model.attention.score.weight.detach().numpy()[0]
    p = model.projection.weight.detach().numpy()[0]
    out = model(batch(X)).detach().numpy()[:, 0]
    for r in range(X.shape[0]):
        e = naive_field_embeddings(X, V, r)
        prods = [e[f] * e[g] for f, g in itertools.combinations(range(4), 2)]
        scores = np.array([h @ np.maximum(W @ q + b, 0) for q in prods])
        a = np.exp(scores) / np.exp(scores).sum()
        expected = p @ sum(a_k * q for a_k, q in zip(a, prods))
        assert out[r] == pytest.approx(expected, abs=1e-10)


def test_deepfm_fm_part_equals_naive_fm():
    X = random_rows(seed=6)
    model = DeepFM(torch.from_numpy(FIELDS), 4, embedding_dim=3).double().eval()
    last = model.deep[-1]
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.zeros_(last.bias)  # the deep part now adds 0
    V = model.embedding.weight.detach().numpy()[:, :3]
    out = model(batch(X)).detach().numpy()[:, 0]
    for r in range(X.shape[0]):
        expected = sum(
            V[i] @ V[j] * xi * xj
            for (i, xi), (j, xj) in itertools.combinations(nonzeros(X, r), 2)
        )
        assert out[r] == pytest.approx(expected, abs=1e-10)


def test_deepfm_deep_part_reads_the_field_embeddings():
    X = random_rows(seed=7)
    model = DeepFM(torch.from_numpy(FIELDS), 4, embedding_dim=3).double().eval()
    torch.nn.init.normal_(model.embedding.weight[:, 3])  # linear weights
    x = batch(X)
    e = model.embedding.entries(x)
    v, w = e[:, :3], e[:, 3:]
    pairs = bi_interaction(row_sum(v, x), row_sum(v.square(), x))
    fm = model.bias + row_sum(w, x) + pairs.sum(1, keepdim=True)
    deep = model.deep(model.embedding.pool(v, x).flatten(1))
    torch.testing.assert_close(model(x), fm + deep)


def test_dense_features_scatter_numeric_columns():
    X = random_rows(seed=8)
    dense = DenseFeatures(torch.tensor([11, 3]), X.shape[1]).double()
    out = dense(batch(X)).numpy()
    np.testing.assert_allclose(out, X.toarray()[:, [11, 3]])


def test_dlrm_dot_interaction_equals_naive_formula():
    X = random_rows(seed=9)
    torch.manual_seed(0)
    model = DLRM(torch.from_numpy(FIELDS), 4, numeric_fields=[2], embedding_dim=3)
    model = model.double().eval()
    x = batch(X)
    V = model.embedding.weight.detach().numpy()
    z = model.bottom(torch.from_numpy(X.toarray()[:, [11]])).detach().numpy()
    top_in = []
    for r in range(X.shape[0]):
        e = naive_field_embeddings(X, V, r)
        vectors = [z[r], e[0], e[1], e[3]]  # bottom output first, then sparse
        dots = [u @ w for u, w in itertools.combinations(vectors, 2)]
        top_in.append(np.concatenate([z[r], dots]))
    expected = model.top(torch.tensor(np.array(top_in))).detach()
    torch.testing.assert_close(model(x), expected)
    # "cat" concatenates the same vectors instead
    cat = DLRM(torch.from_numpy(FIELDS), 4, [2], 3, interaction="cat").double()
    assert cat.top[0].in_features == 4 * 3


@pytest.mark.parametrize("model_cls", [FFM, DeepFM, AFM])
def test_field_order_of_columns_does_not_matter(model_cls):
    # Columns of one field need not be contiguous: shuffle them and the
    # per-field pooling must give the same output.
    X = random_rows(seed=5)
    perm = np.random.default_rng(0).permutation(len(FIELDS))
    torch.manual_seed(0)
    model = model_cls(torch.from_numpy(FIELDS), 4, 4).double()
    shuffled = model_cls(torch.from_numpy(FIELDS[perm]), 4, 4).double()
    shuffled.load_state_dict(model.state_dict())
    shuffled.embedding.weight.data = model.embedding.weight.data[perm]
    shuffled.embedding.field_of = torch.from_numpy(FIELDS[perm])
    shuffled.eval(), model.eval()
    x = batch(X[:, perm].tocsr())
    slot = x.row * 4 + torch.from_numpy(FIELDS[perm])[x.idx]
    assert (slot[1:] < slot[:-1]).any()  # CSR order does not group the fields
    torch.testing.assert_close(shuffled(x), model(batch(X)), atol=1e-12, rtol=0)


def one_per_field_rows(n_rows, one_hot, seed=7):
    """CSR rows with exactly one non-zero in each field of ``FIELDS``."""
    rng = np.random.default_rng(seed)
    sizes = [5, 6, 1, 3]
    cols = np.cumsum([0, *sizes[:-1]]) + rng.integers(0, sizes, size=(n_rows, 4))
    values = rng.uniform(0.5, 2, cols.size).astype(np.float32).astype(np.float64)
    if one_hot:
        values[:] = 1.0
    indptr = np.arange(0, cols.size + 1, 4)
    return sp.csr_matrix((values, cols.ravel(), indptr), shape=(n_rows, len(FIELDS)))


def test_one_per_field_accepts_only_one_non_zero_per_field_in_field_order():
    X = one_per_field_rows(6, one_hot=True)
    assert one_per_field(X.indptr, X.indices, FIELDS, 4)
    assert not one_per_field(X.indptr, X.indices, FIELDS, 5)  # a field never set
    assert not one_per_field(X.indptr, X.indices, FIELDS, 0)
    dense = X.toarray()
    missing = dense.copy()
    missing[2, 12:] = 0  # row 2 without its last field
    two = dense.copy()
    two[2, 12:] = 0
    two[2, 6:8] = 1  # ... and two values in field 1: still 4 per row
    for Z in (missing, two):
        Z = sp.csr_matrix(Z)
        assert not one_per_field(Z.indptr, Z.indices, FIELDS, 4)
    # one value per field, but columns (so CSR order) not in field order
    order = np.r_[12:15, 0:12]
    Z = X[:, order].tocsr()
    Z.sort_indices()
    assert not one_per_field(Z.indptr, Z.indices, FIELDS[order], 4)


@pytest.mark.parametrize("one_hot", [True, False])
@pytest.mark.parametrize("model_cls", [FFM, DeepFM, AFM, WideDeep])
def test_one_per_field_batches_match_the_general_grouping(model_cls, one_hot):
    # A batch flagged one_per_field skips the grouping (and FFM its own-field
    # lookup); the same batch unflagged takes the general path, which must
    # give the same outputs and gradients, and both the naive per-field sums.
    X = one_per_field_rows(9, one_hot)
    assert one_per_field(X.indptr, X.indices, FIELDS, 4)
    torch.manual_seed(0)
    deep_fields = (range(4),) if model_cls is WideDeep else ()
    model = model_cls(torch.from_numpy(FIELDS), 4, *deep_fields, 4).double().eval()
    x = batch(X)
    flagged = batch(X, one_per_field=True)
    assert flagged.one_per_field and not x.one_per_field
    assert (x.val is None) == one_hot
    grads = []
    for b in (x, flagged):
        model.zero_grad()
        out = model(b)
        out.sum().backward()
        grads.append((out.detach(), model.embedding.weight.grad.clone()))
    torch.testing.assert_close(grads[0][0], grads[1][0], atol=1e-12, rtol=0)
    torch.testing.assert_close(grads[0][1], grads[1][1], atol=1e-12, rtol=0)
    V = model.embedding.weight.detach().numpy()
    for b in (x, flagged):
        pooled = model.embedding(b).detach().numpy()
        for r in range(X.shape[0]):
            expected = naive_field_embeddings(X, V, r)
            np.testing.assert_allclose(pooled[r], expected, atol=1e-12)
    # padding a flagged batch repeats its last row, so the flag still holds
    padded = flagged.padded(12)
    assert padded.one_per_field and padded.n_rows == 12
    assert padded.offsets.tolist() == list(range(0, 48, 4))
    assert padded.row.tolist() == np.repeat(np.arange(12), 4).tolist()
    assert torch.equal(padded.idx[36:], flagged.idx[32:].repeat(3))
    out = model(padded).detach()
    torch.testing.assert_close(out[:9], grads[0][0], atol=1e-12, rtol=0)
    torch.testing.assert_close(out[9:], out[8:9].expand(3, 1), atol=1e-12, rtol=0)


@pytest.mark.parametrize("model_cls", [FM, FFM, DeepFM])
def test_padding_and_all_empty_batches(model_cls):
    X = random_rows(seed=6)
    if model_cls is FM:
        model = model_cls(X.shape[1], 4).double()
    else:
        model = model_cls(torch.from_numpy(FIELDS), 4, 4).double()
    model.eval()
    x = batch(X)
    padded = x.padded(X.shape[0] + 3)
    assert padded.offsets.tolist()[-3:] == [len(x.idx)] * 3
    out = model(padded)
    torch.testing.assert_close(out[: X.shape[0]], model(x))
    empty = batch(sp.csr_matrix((4, len(FIELDS))))
    assert len(empty.idx) == 0 and empty.offsets.tolist() == [0] * 4
    torch.testing.assert_close(out[X.shape[0] :], model(empty)[:3])
    if model_cls is not DeepFM:  # (DeepFM's MLP adds its own biases)
        torch.testing.assert_close(model(empty), model.bias.expand(4, 1))


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


def test_batches_of_all_rows_equal_batches_of_their_indices():
    X = sp.vstack([random_rows(n_rows=9, seed=7), sp.csr_matrix((2, len(FIELDS)))])
    X = X.tocsr().astype(np.float32)
    every = list(sparse_batches(X, None, 4, chunk=2))
    listed = list(sparse_batches(X, np.arange(X.shape[0]), 4, chunk=2))
    assert len(every) == len(listed) == 3
    for (a, rows_a), (b, rows_b) in zip(every, listed):
        np.testing.assert_array_equal(rows_a, rows_b)
        for name in ("idx", "val", "row", "offsets"):
            torch.testing.assert_close(getattr(a, name), getattr(b, name))
