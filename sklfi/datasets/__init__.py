"""Data sets: MovieLens-100K and synthetic generators."""

from ._hashed import make_hashed_ctr
from ._libffm import load_libffm
from ._movielens import get_data_home, load_movielens_100k
from ._synthetic import make_planted_interaction

__all__ = [
    "get_data_home",
    "load_libffm",
    "load_movielens_100k",
    "make_hashed_ctr",
    "make_planted_interaction",
]
