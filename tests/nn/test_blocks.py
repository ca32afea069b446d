"""MLP and readout blocks."""

import pytest
import torch
from torch import nn

from sklfi._random import fit_stream
from sklfi.nn import MLP, Dropout, Readout


@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_mlp_layers(batch_norm, dropout):
    mlp = MLP(6, (5, 4), dropout, batch_norm, out_features=2)
    kinds = [type(layer) for layer in mlp]
    per_layer = [nn.Linear, *([nn.BatchNorm1d] * batch_norm), nn.ReLU,
                 *([Dropout] * (dropout > 0))]  # fmt: skip
    assert kinds == per_layer * 2 + [nn.Linear]
    assert [m.out_features for m in mlp if isinstance(m, nn.Linear)] == [5, 4, 2]
    assert mlp.out_features == 2
    assert mlp.eval()(torch.randn(3, 6)).shape == (3, 2)
    assert MLP(6, (5,)).out_features == 5  # no final layer


@pytest.mark.parametrize("batch_norm", [False, True])
def test_mlp_out_of_training_is_its_layers_in_turn(batch_norm):
    # out of training the MLP skips dropout and calls linear layers and
    # ReLU as functions: the same outputs, to the last bit, and gradients
    torch.manual_seed(0)
    mlp = MLP(6, (5, 4), 0.3, batch_norm, out_features=2)
    mlp.train()(torch.randn(20, 6))  # (batch norm's running statistics)
    mlp.eval()
    x = torch.randn(7, 6, requires_grad=True)
    ours = mlp(x)
    theirs = nn.Sequential.forward(mlp, x)
    assert torch.equal(ours, theirs)
    (g_ours,) = torch.autograd.grad(ours.sum(), x)
    (g_theirs,) = torch.autograd.grad(theirs.sum(), x)
    assert torch.equal(g_ours, g_theirs)
    with torch.inference_mode():
        assert torch.equal(mlp(x.detach()), theirs.detach())


def test_mlp_out_of_training_runs_the_hooks_of_its_layers():
    # the quick path calls layers as functions: never past a user's hooks
    torch.manual_seed(0)
    mlp = MLP(6, (5, 4), 0.3, out_features=2).eval()
    x = torch.randn(3, 6)
    plain = mlp(x)
    seen = []
    hooks = [
        mlp[2].register_forward_hook(lambda m, i, o: seen.append("relu")),
        mlp[4].register_forward_pre_hook(lambda m, i: seen.append("linear")),
    ]
    assert torch.equal(mlp(x), plain)
    assert seen == ["relu", "linear"]
    for hook in hooks:
        hook.remove()
    seen.clear()
    with nn.modules.module.register_module_forward_hook(
        lambda m, i, o: seen.append(type(m).__name__)
    ):
        assert torch.equal(mlp(x), plain)
    assert seen.count("Linear") == 3 and seen.count("Dropout") == 2
    seen.clear()
    assert torch.equal(mlp(x), plain) and seen == []


def test_mlp_out_of_training_reads_the_parameters_torch_would_read():
    # the quick path reads a Linear's parameters from its dict: those
    # torch.func.functional_call swaps in, and a weight that is no longer
    # a parameter (set as a plain attribute) still reaches the product
    torch.manual_seed(0)
    mlp = MLP(6, (5,), out_features=2).eval()
    x = torch.randn(3, 6)
    params = {k: torch.randn_like(v) for k, v in mlp.named_parameters()}
    swapped = torch.func.functional_call(mlp, params, (x,))
    assert not torch.equal(swapped, mlp(x))
    with torch.no_grad():
        for k, v in params.items():
            mlp.get_parameter(k).copy_(v)
    assert torch.equal(swapped, mlp(x))
    last = mlp[-1]
    weight = last.weight.detach().clone()
    del last.weight
    last.weight = 2 * weight  # (a plain tensor attribute)
    assert torch.equal(mlp(x), nn.Sequential.forward(mlp, x))


def test_readout_sums_one_output_and_weighs_several():
    h = torch.randn(4, 3)
    torch.testing.assert_close(Readout(3)(h), h.sum(1, keepdim=True))
    readout = Readout(3, 2)
    with torch.no_grad():
        readout.weight.copy_(torch.tensor([[1.0, 0.0], [1.0, 2.0], [1.0, 0.0]]))
    torch.testing.assert_close(readout(h), torch.stack([h.sum(1), 2 * h[:, 1]], 1))


def test_dropout_draws_from_the_fit_stream_as_torch_would():
    # within a fit, the masks come from the fit's generator, and equal
    # torch's own dropout run with that generator's state
    x = torch.randn(50, 8)
    drop = Dropout(0.3).train()
    generator = torch.Generator().manual_seed(3)
    with fit_stream(generator):
        ours = drop(x)
    torch.manual_seed(3)
    torch.testing.assert_close(ours, nn.Dropout(0.3).train()(x), atol=0, rtol=0)
    assert (ours == 0).any() and not torch.equal(ours, x)
    torch.manual_seed(0)
    state = torch.get_rng_state()
    with fit_stream(torch.Generator().manual_seed(3)):
        drop(x)
    assert torch.equal(torch.get_rng_state(), state)  # the global one untouched
    torch.testing.assert_close(drop.eval()(x), x)
    assert Dropout(0.0).train()(x) is x  # (as nn.Dropout: the identity)
