"""Transformers that build field-aware matrices from pandas DataFrames."""

from ._crosses import FieldCrosser
from ._encoder import FieldEncoder
from ._hasher import FieldHasher
from ._movielens import MovieLensFeatures

__all__ = ["FieldCrosser", "FieldEncoder", "FieldHasher", "MovieLensFeatures"]
