"""Pure torch building blocks and one module per model (no sklearn, no skorch)."""

from .layers import (
    MLP,
    AttentionPooling,
    DenseFeatures,
    FeatureEmbedding,
    FieldEmbedding,
    Readout,
    SparseBatch,
    bi_interaction,
    one_per_field,
    pairwise_dots,
    pairwise_products,
    row_sum,
    segment_sum,
)
from .models import AFM, DLRM, FFM, FM, NFM, DeepFM, WideDeep

__all__ = [
    "AFM",
    "AttentionPooling",
    "DLRM",
    "DeepFM",
    "DenseFeatures",
    "NFM",
    "WideDeep",
    "FFM",
    "FM",
    "MLP",
    "FeatureEmbedding",
    "FieldEmbedding",
    "Readout",
    "SparseBatch",
    "bi_interaction",
    "one_per_field",
    "row_sum",
    "segment_sum",
    "pairwise_dots",
    "pairwise_products",
]
