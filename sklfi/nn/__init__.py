"""Pure torch building blocks and one module per model (no sklearn, no skorch).

* :mod:`~sklfi.nn.embedding`: a batch of sparse rows -> the named parts
  (:class:`Embedded`) models read: linear term, field embeddings, pair
  vector;
* :mod:`~sklfi.nn.interaction`: how embeddings meet (pair products, dot
  products, Bi-Interaction, attention);
* :mod:`~sklfi.nn.blocks`: MLPs and readouts;
* :mod:`~sklfi.nn.models`: the seven models, each composed of the above;
* :mod:`~sklfi.nn.optim`: :class:`LazyAdamW`, for tables with sparse
  gradients.

Every module reads a :class:`SparseBatch`; :meth:`SparseBatch.from_csr`
makes one from a sparse matrix.
"""

from .._batch import SparseBatch
from .blocks import MLP, Dropout, Readout
from .embedding import (
    DenseFeatures,
    Embedded,
    FeatureEmbedding,
    FieldAwareEmbedding,
    FieldEmbedding,
)
from .interaction import (
    AttentionPooling,
    bi_interaction,
    pairwise_dots,
    pairwise_products,
)
from .models import AFM, DLRM, FFM, FM, NFM, DeepFM, WideDeep
from .optim import LazyAdamW

__all__ = [
    "AFM",
    "DLRM",
    "FFM",
    "FM",
    "MLP",
    "NFM",
    "AttentionPooling",
    "DeepFM",
    "DenseFeatures",
    "Dropout",
    "Embedded",
    "FeatureEmbedding",
    "FieldAwareEmbedding",
    "FieldEmbedding",
    "LazyAdamW",
    "Readout",
    "SparseBatch",
    "WideDeep",
    "bi_interaction",
    "pairwise_dots",
    "pairwise_products",
]
