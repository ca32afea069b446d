"""LazyAdamW and the sparse gradients of the embedding tables."""

import copy
import pickle

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


FAR = 2**24  # float32 counts no further: 2**24 + 1 rounds back to 2**24


def far_along(weight, dense=None, **kwargs):
    """A LazyAdamW after one step with every row, fast-forwarded to step FAR
    (every row last updated then), as after 2**24 batches of a stream."""
    params = [weight] if dense is None else [weight, dense]
    optimizer = LazyAdamW(params, lr=0.1, weight_decay=1.0, **kwargs)
    weight.grad = sparse_grad(range(len(weight)), torch.zeros_like(weight), len(weight))
    if dense is not None:
        dense.grad = torch.ones_like(dense)
    optimizer.step()
    state = optimizer.state[weight]
    state["step"] += FAR - 1
    state["last"] += FAR - 1
    return optimizer


def test_the_step_count_and_the_decay_stay_exact_past_2_24():
    weight = torch.nn.Parameter(torch.ones(3, 2))
    optimizer = far_along(weight)
    g = torch.tensor([2.0, -3.0])
    for step in range(4):  # row 0 in every batch, row 1 in the last only
        rows = [0] if step < 3 else [0, 1]
        weight.grad = sparse_grad(rows, torch.stack([g] * len(rows)), 3)
        optimizer.step()
    state = optimizer.state[weight]
    assert state["step"] == FAR + 4
    assert state["last"].tolist() == [FAR + 4, FAR + 4, FAR]
    # dense AdamW on row 1, of zero gradient but in the last step: decayed by
    # 1 - lr * weight_decay at each of the 5 steps, then moved by its first
    # moments, whose bias corrections 1 - beta**t are 1 this far
    m, v = (1 - 0.9) * g, (1 - 0.999) * g**2
    torch.testing.assert_close(weight[1], 0.9**5 - 0.1 * m / (v.sqrt() + 1e-8))
    torch.testing.assert_close(weight[2], torch.full((2,), 0.9))  # not caught up yet


def assert_same_state(state, expected):
    assert state.keys() == expected.keys()
    for key, value in expected.items():
        if torch.is_tensor(value):
            assert state[key].dtype == value.dtype, key
            assert state[key].device == value.device, key
            assert torch.equal(state[key], value), key
        else:
            assert type(state[key]) is type(value) and state[key] == value, key


@pytest.mark.parametrize("fused", [False, True])
def test_a_state_dict_round_trip_keeps_the_counters_exact(fused):
    weight, dense = (
        torch.nn.Parameter(torch.ones(3, 2)),
        torch.nn.Parameter(torch.ones(2)),
    )
    optimizer = far_along(weight, dense, fused=fused)
    weight.grad = sparse_grad([0, 1], torch.ones(2, 2), 3)
    optimizer.step()  # a step at 2**24 + 1: rows 0 and 1 remember it, in int64
    saved = copy.deepcopy(optimizer.state_dict())
    expected = {p: copy.deepcopy(s) for p, s in optimizer.state.items()}
    assert expected[weight]["last"].tolist() == [FAR + 1, FAR + 1, FAR]
    optimizer.load_state_dict(optimizer.state_dict())
    # the table's integers, and AdamW's state of the dense parameter, as they were
    assert_same_state(optimizer.state[weight], expected[weight])
    assert optimizer.state[weight]["scratch"].dtype == torch.int32
    assert_same_state(optimizer.state[dense], expected[dense])
    # and into a new optimizer, from a copy (skorch's load_params; a warm fit
    # restored), which then trains as the original does
    twin = [
        torch.nn.Parameter(weight.detach().clone()),
        torch.nn.Parameter(dense.detach().clone()),
    ]
    other = LazyAdamW(twin, lr=0.1, weight_decay=1.0, fused=fused)
    other.load_state_dict(saved)
    for p, q in zip([weight, dense], twin):
        assert_same_state(other.state[q], expected[p])
    torch.manual_seed(0)
    for _ in range(3):
        g, h = torch.randn(2, 2), torch.randn(2)
        weight.grad, twin[0].grad = sparse_grad([2, 0], g, 3), sparse_grad([2, 0], g, 3)
        dense.grad, twin[1].grad = h.clone(), h.clone()
        optimizer.step()
        other.step()
    for p, q in zip([weight, dense], twin):
        assert torch.equal(p, q)
        assert_same_state(other.state[q], optimizer.state[p])
    assert optimizer.state[weight]["step"] == FAR + 4


@pytest.mark.parametrize("decoupled", [True, False])
def test_a_pickled_optimizer_keeps_its_state_and_trains_on(decoupled):
    weight, dense = (
        torch.nn.Parameter(torch.ones(3, 2)),
        torch.nn.Parameter(torch.ones(2)),
    )
    optimizer = far_along(weight, dense, decoupled=decoupled)
    for copy_ in (lambda o: pickle.loads(pickle.dumps(o)), copy.deepcopy):
        copied = copy_(optimizer)
        assert copied.decoupled == decoupled
        twin = copied.param_groups[0]["params"]
        for p, q in zip([weight, dense], twin):
            assert_same_state(copied.state[q], optimizer.state[p])
        for o, (w, d) in [(optimizer, (weight, dense)), (copied, twin)]:
            w.grad = sparse_grad([1], torch.ones(1, 2), 3)
            d.grad = torch.ones(2)
            o.step()
        for p, q in zip([weight, dense], twin):
            assert torch.equal(p, q)
        assert copied.state[twin[0]]["step"] == optimizer.state[weight]["step"]
