"""Transformers that build field-aware matrices from pandas DataFrames."""

from ._encoder import FieldEncoder

__all__ = ["FieldEncoder"]
