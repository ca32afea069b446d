"""Transformers that build field-aware matrices from pandas DataFrames."""

from ._crosses import FieldCrosser
from ._encoder import FieldEncoder

__all__ = ["FieldCrosser", "FieldEncoder"]
