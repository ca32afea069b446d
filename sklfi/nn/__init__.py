"""Pure torch building blocks and one module per model (no sklearn, no skorch)."""

from .layers import (
    MLP,
    FeatureEmbedding,
    FieldEmbedding,
    LinearTerm,
    Readout,
    bi_interaction,
    pairwise_dots,
    pairwise_products,
)
from .models import FFM, FM

__all__ = [
    "FFM",
    "FM",
    "MLP",
    "FeatureEmbedding",
    "FieldEmbedding",
    "LinearTerm",
    "Readout",
    "bi_interaction",
    "pairwise_dots",
    "pairwise_products",
]
