"""Dense blocks on top of the interactions: MLPs, dropout and readouts."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch.nn.modules import module as _module

from .._random import device_generator

__all__ = ["MLP", "Dropout", "Readout"]


class Dropout(nn.Dropout):
    """:class:`torch.nn.Dropout` whose masks, during an sklfi fit, come from
    the fit's own generator (so a seeded fit does not depend on what other
    threads draw); elsewhere, from torch's global generator. On the CPU, the
    same masks and outputs as ``nn.Dropout`` for the same generator state
    (on CUDA, torch's fused kernel draws its masks differently)."""

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0:
            return x  # (as nn.Dropout returns it)
        generator = device_generator()
        if generator is None:
            return super().forward(x)
        if self.p == 1:
            return x * 0
        noise = torch.empty_like(x).bernoulli_(1 - self.p, generator=generator)
        return x * noise.div_(1 - self.p)  # (as torch's own kernel computes it)


class MLP(nn.Sequential):
    """Fully connected ReLU layers, each optionally with batch norm and dropout.

    Parameters
    ----------
    in_features : int
    hidden_layer_sizes : sequence of int
    dropout : float
    batch_norm : bool
    out_features : int or None
        Size of a final linear layer without activation; ``None`` for none.
    """

    def __init__(
        self,
        in_features: int,
        hidden_layer_sizes=(),
        dropout: float = 0.0,
        batch_norm: bool = False,
        out_features: int | None = None,
    ):
        layers: list[nn.Module] = []
        for size in hidden_layer_sizes:
            layers.append(nn.Linear(in_features, size))
            if batch_norm:
                layers.append(nn.BatchNorm1d(size))
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(Dropout(dropout))
            in_features = size
        if out_features is not None:
            layers.append(nn.Linear(in_features, out_features))
        super().__init__(*layers)
        self.out_features = in_features if out_features is None else out_features

    def forward(self, x: Tensor) -> Tensor:
        if self.training or _global_hooks():
            return super().forward(x)
        # out of training, for a served row's sake: dropout (the identity
        # there) is not called, and linear layers and ReLU are applied as
        # the functions they are (a module's call costs as much as a small
        # layer's product), unless a layer has hooks to run; a plain
        # Linear's parameters are read from its dict, as torch's
        # ``__getattr__`` reads them (half a microsecond a lookup)
        for layer in self:
            kind = type(layer)
            p = layer._parameters
            if _hooked(layer):
                x = layer(x)
            elif kind is nn.Linear and "weight" in p:
                x = F.linear(x, p["weight"], p["bias"])
            elif kind is nn.ReLU:
                x = torch.relu_(x)  # (on a layer's fresh output)
            elif not isinstance(layer, nn.Dropout):
                x = layer(x)
        return x


def _hooked(module: nn.Module) -> bool:
    """Whether calling ``module`` runs hooks of its own: torch's own test
    before it calls ``forward`` directly."""
    return bool(
        module._forward_hooks
        or module._forward_pre_hooks
        or module._backward_hooks
        or module._backward_pre_hooks
    )


def _global_hooks() -> bool:
    """Whether hooks are registered for every module (torch's globals)."""
    return bool(
        _module._global_forward_hooks
        or _module._global_forward_pre_hooks
        or _module._global_backward_hooks
        or _module._global_backward_pre_hooks
    )


class Readout(nn.Module):
    """Map an interaction vector to the outputs: ``(B, D) -> (B, K)``.

    With one output it is the plain sum over ``D`` (the exact FM term); with
    ``K`` outputs each output weighs the ``D`` dimensions with its own vector,
    initialised to ones.
    """

    def __init__(self, dim: int, n_outputs: int = 1):
        super().__init__()
        self.weight = (
            nn.Parameter(torch.ones(dim, n_outputs)) if n_outputs > 1 else None
        )

    def forward(self, h: Tensor) -> Tensor:
        if self.weight is None:
            return h.sum(-1, keepdim=True)
        return h @ self.weight
