"""Interaction blocks against naive formulas."""

import itertools

import numpy as np
import torch

from sklfi.nn import AttentionPooling, bi_interaction, pairwise_dots, pairwise_products
from sklfi.nn.interaction import _pairs


def test_bi_interaction_is_the_sum_of_pairwise_products():
    v = torch.randn(5, 4, dtype=torch.float64)  # one row's 5 vectors
    expected = sum(v[i] * v[j] for i, j in itertools.combinations(range(5), 2))
    total, total_sq = v.sum(0, keepdim=True), v.square().sum(0, keepdim=True)
    torch.testing.assert_close(bi_interaction(total, total_sq)[0], expected)


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
    weights = pool.weights(pairs).detach().numpy()
    for r in range(2):
        p = pairs[r].numpy()
        scores = np.array([h @ np.maximum(W @ p_k + b, 0) for p_k in p])
        a = np.exp(scores - scores.max())
        a /= a.sum()
        np.testing.assert_allclose(weights[r], a, atol=1e-12)
        np.testing.assert_allclose(out[r], (a[:, None] * p).sum(0), atol=1e-12)


def test_pairs_first_made_in_inference_mode_serve_a_training_step():
    # the pair indices are kept once made: made while predicting (inference
    # mode), they must still be tensors a backward pass may save
    _pairs.kept.clear()
    e = torch.randn(2, 4, 3)
    with torch.inference_mode():
        pairwise_products(e), pairwise_dots(e)
    w = e.clone().requires_grad_()
    (pairwise_products(w).sum() + pairwise_dots(w).sum()).backward()
    assert w.grad is not None and w.grad.abs().sum() > 0
