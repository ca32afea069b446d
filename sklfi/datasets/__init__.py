"""Data sets: MovieLens-100K and synthetic generators."""

from ._movielens import get_data_home, load_movielens_100k
from ._synthetic import make_planted_interaction

__all__ = ["get_data_home", "load_movielens_100k", "make_planted_interaction"]
