"""LazyAdamW and the sparse gradients of the embedding tables."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from sklfi.nn import AFM, DLRM, FFM, FM, NFM, DeepFM, LazyAdamW, WideDeep
from sklfi.nn.optim import _sum_rows

from .rows import FIELDS, N_FIELDS, batch, random_rows

INDEX = torch.from_numpy(FIELDS)
MODELS = [
    lambda sparse: FM(len(FIELDS), 4, sparse=sparse),
    lambda sparse: FFM(INDEX, N_FIELDS, 3, sparse=sparse),
    lambda sparse: AFM(INDEX, N_FIELDS, 4, sparse=sparse),
    lambda sparse: WideDeep(INDEX, N_FIELDS, range(N_FIELDS), 4, sparse=sparse),
    lambda sparse: DeepFM(INDEX, N_FIELDS, 4, sparse=sparse),
    lambda sparse: NFM(len(FIELDS), 4, sparse=sparse),
    lambda sparse: DLRM(INDEX, N_FIELDS, [2], 4, sparse=sparse),
]


def sparse_grad(rows, values, n):
    rows = torch.as_tensor(rows)
    shape = (n, values.shape[1])
    return torch.sparse_coo_tensor(rows[None], values, shape, check_invariants=True)


@pytest.mark.parametrize("make", MODELS)
def test_sparse_table_gradients_equal_the_dense_ones(make):
    X = sp.vstack([random_rows(seed=2), random_rows(seed=3)]).tocsr()
    grads = []
    for sparse in (False, True):
        torch.manual_seed(0)
        model = make(sparse).double().train()
        torch.manual_seed(1)  # (the same dropout masks)
        model(batch(X, FIELDS)).square().sum().backward()
        weight = model.embedding.weight
        assert weight.grad.is_sparse == sparse
        grads.append(weight.grad.to_dense() if sparse else weight.grad)
    torch.testing.assert_close(grads[1], grads[0])


@pytest.mark.parametrize(
    "decoupled, reference", [(True, torch.optim.AdamW), (False, torch.optim.Adam)]
)
def test_every_row_in_every_batch_is_adam(decoupled, reference):
    # lazy updates differ from dense ones only for the rows a batch lacks
    torch.manual_seed(0)
    start, dense_start = torch.randn(6, 3), torch.randn(2, 2)
    ours = [torch.nn.Parameter(start.clone()), torch.nn.Parameter(dense_start.clone())]
    theirs = [
        torch.nn.Parameter(start.clone()),
        torch.nn.Parameter(dense_start.clone()),
    ]
    lazy = LazyAdamW(ours, lr=0.1, weight_decay=0.5, decoupled=decoupled)
    dense = reference(theirs, lr=0.1, weight_decay=0.5)
    for _ in range(5):
        g, h = torch.randn(6, 3), torch.randn(2, 2)
        order = torch.randperm(6)  # (any order, and duplicates summed)
        ours[0].grad = sparse_grad(
            torch.cat([order, order[:2]]), torch.cat([g[order], torch.zeros(2, 3)]), 6
        )
        ours[1].grad, theirs[0].grad, theirs[1].grad = h.clone(), g.clone(), h.clone()
        lazy.step()
        dense.step()
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a.detach(), b.detach())


def test_absent_rows_wait_and_catch_up_their_decay():
    weight = torch.nn.Parameter(torch.ones(4, 2))
    optimizer = LazyAdamW([weight], lr=0.1, weight_decay=1.0)
    for step in range(3):  # row 1 in every batch, row 2 in the last only
        rows = [1] if step < 2 else [1, 2]
        weight.grad = sparse_grad(rows, torch.zeros(len(rows), 2), 4)
        optimizer.step()
    assert weight[0].tolist() == weight[3].tolist() == [1.0, 1.0]  # never seen
    torch.testing.assert_close(weight[1], torch.full((2,), 0.9**3))
    torch.testing.assert_close(weight[2], torch.full((2,), 0.9**3))  # caught up


def test_distinct_rows_and_their_sums():
    rng = np.random.default_rng(0)
    for _ in range(20):
        idx = torch.from_numpy(rng.integers(0, 50, rng.integers(1, 80)))
        values = torch.randn(len(idx), 3)
        rows, sums = _sum_rows(idx, values, torch.empty(50, dtype=torch.int32))
        expected = sparse_grad(idx, values, 50).coalesce()
        order = torch.argsort(rows)
        assert torch.equal(rows[order], expected.indices()[0])
        torch.testing.assert_close(sums[order], expected.values())
