"""Every model's forward pass against its naive per-row formula."""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from sklfi.nn import AFM, DLRM, FFM, FM, NFM, DeepFM, WideDeep

from .rows import (
    FIELDS,
    N_FIELDS,
    batch,
    field_embeddings,
    fm_pairs,
    linear,
    nonzeros,
    random_linear,
    random_rows,
)

FIELD_INDEX = torch.from_numpy(FIELDS)


def outputs(model, X):
    return model.double().eval()(batch(X, FIELDS)).detach().numpy()[:, 0]


def test_fm():
    X = random_rows()
    model = FM(X.shape[1], embedding_dim=5).double()
    w, bias = random_linear(model.embedding)
    V = model.embedding.weight.detach().numpy()[:, :5]
    out = outputs(model, X)
    for r in range(X.shape[0]):
        expected = linear(X, w, bias, r)[0]
        for (i, xi), (j, xj) in itertools.combinations(nonzeros(X, r), 2):
            expected += V[i] @ V[j] * xi * xj
        assert out[r] == pytest.approx(expected, abs=1e-10)


def test_ffm():
    X = random_rows(seed=1)
    model = FFM(FIELD_INDEX, N_FIELDS, embedding_dim=3).double()
    w, bias = random_linear(model.embedding)
    W = model.embedding.weight.detach().numpy()[:, :-1].reshape(-1, N_FIELDS, 3)
    out = outputs(model, X)
    for r in range(X.shape[0]):
        expected = linear(X, w, bias, r)[0]
        for (i, xi), (j, xj) in itertools.combinations(nonzeros(X, r), 2):
            expected += W[i, FIELDS[j]] @ W[j, FIELDS[i]] * xi * xj
        assert out[r] == pytest.approx(expected, abs=1e-10)


def test_afm():
    X = random_rows(seed=5)
    torch.manual_seed(0)
    model = AFM(FIELD_INDEX, N_FIELDS, embedding_dim=3, attention_dim=4).double()
    w, bias = random_linear(model.embedding)
    V = model.embedding.weight.detach().numpy()[:, :3]
    W = model.attention.hidden.weight.detach().numpy()
    b = model.attention.hidden.bias.detach().numpy()
    h = model.attention.score.weight.detach().numpy()[0]
    p = model.projection.weight.detach().numpy()[0]
    out = outputs(model, X)
    for r in range(X.shape[0]):
        e = field_embeddings(X, V, r)
        prods = [e[f] * e[g] for f, g in itertools.combinations(range(N_FIELDS), 2)]
        scores = np.array([h @ np.maximum(W @ q + b, 0) for q in prods])
        a = np.exp(scores) / np.exp(scores).sum()
        expected = linear(X, w, bias, r)[0] + p @ sum(
            a_k * q for a_k, q in zip(a, prods)
        )
        assert out[r] == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("deep_fields", [range(N_FIELDS), [0, 1, 3]])
def test_wide_and_deep(deep_fields):
    # the deep part reads the embeddings of deep_fields only (the others,
    # such as cross-product fields, stay in the wide linear part)
    X = random_rows(seed=6)
    torch.manual_seed(0)
    model = WideDeep(FIELD_INDEX, N_FIELDS, deep_fields, embedding_dim=3).double()
    w, bias = random_linear(model.embedding)
    V = model.embedding.weight.detach().numpy()[:, :3]
    out = outputs(model, X)
    for r in range(X.shape[0]):
        e = field_embeddings(X, V, r)[list(deep_fields)].reshape(1, -1)
        deep = model.deep(torch.from_numpy(e)).item()
        assert out[r] == pytest.approx(linear(X, w, bias, r)[0] + deep, abs=1e-10)


def test_deepfm():
    X = random_rows(seed=7)
    torch.manual_seed(0)
    model = DeepFM(FIELD_INDEX, N_FIELDS, embedding_dim=3).double()
    w, bias = random_linear(model.embedding)
    V = model.embedding.weight.detach().numpy()[:, :3]
    out = outputs(model, X)
    for r in range(X.shape[0]):
        fm = linear(X, w, bias, r)[0] + fm_pairs(X, V, r).sum()
        e = field_embeddings(X, V, r).reshape(1, -1)
        deep = model.deep(torch.from_numpy(e)).item()
        assert out[r] == pytest.approx(fm + deep, abs=1e-10)


def test_nfm():
    X = random_rows(seed=8)
    torch.manual_seed(0)
    model = NFM(X.shape[1], embedding_dim=3, hidden_layer_sizes=(4,)).double()
    w, bias = random_linear(model.embedding)
    V = model.embedding.weight.detach().numpy()[:, :3]
    out = outputs(model, X)
    for r in range(X.shape[0]):
        pairs = torch.from_numpy(fm_pairs(X, V, r)).reshape(1, -1)
        expected = linear(X, w, bias, r)[0] + model.mlp(pairs).item()
        assert out[r] == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("interaction", ["dot", "cat"])
def test_dlrm(interaction):
    X = random_rows(seed=9)
    torch.manual_seed(0)
    model = DLRM(FIELD_INDEX, N_FIELDS, [2], 3, interaction=interaction).double()
    V = model.embedding.weight.detach().numpy()
    z = model.bottom(torch.from_numpy(X.toarray()[:, [11]])).detach().numpy()
    out = outputs(model, X)
    for r in range(X.shape[0]):
        e = field_embeddings(X, V, r)
        vectors = [z[r], e[0], e[1], e[3]]  # bottom output first, then sparse
        if interaction == "dot":
            dots = [u @ v for u, v in itertools.combinations(vectors, 2)]
            top_in = np.concatenate([z[r], dots])
        else:
            top_in = np.concatenate(vectors)
        expected = model.top(torch.from_numpy(top_in).reshape(1, -1)).item()
        assert out[r] == pytest.approx(expected, abs=1e-10)
    with pytest.raises(ValueError, match="interaction must be"):
        DLRM(FIELD_INDEX, N_FIELDS, interaction="sum")


MODELS = [
    lambda K: FM(len(FIELDS), 4, n_outputs=K),
    lambda K: FFM(FIELD_INDEX, N_FIELDS, 4, n_outputs=K),
    lambda K: AFM(FIELD_INDEX, N_FIELDS, 4, n_outputs=K),
    lambda K: WideDeep(FIELD_INDEX, N_FIELDS, range(N_FIELDS), 4, n_outputs=K),
    lambda K: DeepFM(FIELD_INDEX, N_FIELDS, 4, n_outputs=K),
    lambda K: NFM(len(FIELDS), 4, n_outputs=K),
    lambda K: DLRM(FIELD_INDEX, N_FIELDS, [2], 4, n_outputs=K),
]


@pytest.mark.parametrize("make", MODELS)
def test_outputs_shape_and_padding(make):
    # K outputs per row; a batch padded with extra rows gives its own rows
    # the same outputs, and all-empty rows work
    model = make(3).double().eval()
    X = sp.vstack([random_rows(seed=4), sp.csr_matrix((2, len(FIELDS)))]).tocsr()
    x = batch(X, FIELDS)
    out = model(x)
    assert out.shape == (X.shape[0], 3)
    torch.testing.assert_close(model(x.padded(X.shape[0] + 5))[: X.shape[0]], out)
    empty = model(batch(sp.csr_matrix((4, len(FIELDS)))))
    torch.testing.assert_close(empty, out[-1:].expand(4, 3))
