"""The feature groups of MovieLensFeatures, and the encoding of its side
tables (users, movies) and of the blocks of ids it builds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._encoder import FieldEncoder

AGE_BINS = [-np.inf, 17, 24, 34, 44, 49, 55, np.inf]
AGE_LABELS = ["<18", "18-24", "25-34", "35-44", "45-49", "50-55", "56+"]

#: Every feature group: (needed tables, kind), in output order. "ratings"
#: means the rating values (a ``rating`` column or ``y``).
GROUPS = {
    "user_id": ((), "categorical"),
    "gender": (("users",), "categorical"),
    "age": (("users",), "numeric"),
    "age_bucket": (("users",), "categorical"),
    "occupation": (("users",), "categorical"),
    "zip3": (("users",), "categorical"),
    "item_id": ((), "categorical"),
    "genres": (("items",), "multi_valued"),
    "year": (("items",), "numeric"),
    "decade": (("items",), "categorical"),
    "history": ((), "multi_valued"),
    "last_item": ((), "categorical"),
    "user_mean_rating": (("ratings",), "numeric"),
    "user_genre_rating": (("ratings", "items"), "numeric"),
    "user_genre_share": (("items",), "numeric"),
    "user_items": ((), "multi_valued"),
    "item_users": ((), "multi_valued"),
}
#: Groups that ``groups=None`` leaves out: next-item and whole-data features.
OPT_IN = ("last_item", "user_items", "item_users")
USER_SIDE = ("gender", "age", "age_bucket", "occupation", "zip3")
ITEM_SIDE = ("genres", "year", "decade")


def _genre_matrix(items: pd.DataFrame) -> tuple[np.ndarray, list]:
    """(n_items, n_genres) 0/1 matrix and genre names from an items table.

    Genres come as a list column or "A|B" string column ``genres``, or as
    0/1 flag columns (every column other than the known ones with values in
    {0, 1}).
    """
    if "genres" in items.columns:
        lists = items["genres"].map(
            lambda v: v.split("|") if isinstance(v, str) else v,
            na_action="ignore",
        )
        exploded = lists.explode().dropna()
        names = sorted(pd.unique(exploded.astype(str)))
        flags = np.zeros((len(items), len(names)))
        pos = pd.Index(names).get_indexer(exploded.astype(str))
        flags[items.index.get_indexer(exploded.index), pos] = 1.0
        return flags, names
    known = {"item_id", "title", "release_date", "video_release_date", "imdb_url",
             "year"}  # fmt: skip
    names = [
        c
        for c in items.columns
        if c not in known
        and pd.api.types.is_numeric_dtype(items[c])
        and items[c].isin([0, 1]).all()
    ]
    return items[names].to_numpy(dtype=np.float64), names


def _release_year(items: pd.DataFrame):
    """A ``year`` column, the year of ``release_date``, or the year that ends
    a title such as "Toy Story (1995)" (the newer MovieLens releases)."""
    if "year" in items.columns:
        return pd.to_numeric(items["year"], errors="coerce")
    if "release_date" in items.columns:
        return pd.to_datetime(items["release_date"], errors="coerce").dt.year
    if "title" in items.columns:
        year = items["title"].astype("string").str.extract(r"\((\d{4})\)\s*$")[0]
        year = pd.to_numeric(year, errors="coerce")
        return year if year.notna().any() else None
    return None


def users_frame(users: pd.DataFrame) -> pd.DataFrame:
    """The raw columns of the user groups, one row per user (indexed by id)."""
    if "user_id" not in users.columns:
        raise ValueError("the users table needs a user_id column.")
    u = users.drop_duplicates("user_id").reset_index(drop=True)
    frame = pd.DataFrame(index=u.index)
    if "gender" in u:
        frame["gender"] = u["gender"].astype(object)
    if "age" in u:
        age = pd.to_numeric(u["age"], errors="coerce")
        frame["age"] = age
        frame["age_bucket"] = pd.cut(age, AGE_BINS, labels=AGE_LABELS).astype(object)
    if "occupation" in u:
        frame["occupation"] = u["occupation"].astype(object)
    if "zip_code" in u:
        frame["zip3"] = u["zip_code"].astype("string").str[:3].astype(object)
    frame.index = pd.Index(u["user_id"])
    return frame


def items_frame(items: pd.DataFrame):
    """The raw columns of the item groups, one row per movie (indexed by
    id), its genre flags ``(n_movies, n_genres)`` and the genre names."""
    if "item_id" not in items.columns:
        raise ValueError("the items table needs an item_id column.")
    it = items.drop_duplicates("item_id").reset_index(drop=True)
    frame = pd.DataFrame(index=it.index)
    flags, names = _genre_matrix(it)
    if names:
        labels = np.asarray(names, dtype=object)
        frame["genres"] = [list(labels[row > 0]) for row in flags]
    year = _release_year(it)
    if year is not None:
        frame["year"] = year
        frame["decade"] = (year // 10 * 10).astype("Int64").astype(object)
    frame.index = pd.Index(it["item_id"])
    return frame, flags, names


class Entities:
    """One encoded row per user (or movie), plus an all-zero row for ids
    missing from the table; rows of ratings take theirs."""

    def __init__(self, frame: pd.DataFrame, groups: list):
        self.index = frame.index
        kinds = {g: GROUPS[g][1] for g in groups}
        encoder = FieldEncoder(
            categorical=[g for g in groups if kinds[g] == "categorical"],
            multi_valued=[g for g in groups if kinds[g] == "multi_valued"],
            numeric=[g for g in groups if kinds[g] == "numeric"],
        )
        encoded = encoder.fit_transform(frame[groups])
        csr = sp.vstack([encoded.tocsr(), sp.csr_matrix((1, encoded.shape[1]))])
        csr = csr.tocsr()
        self.blocks = {}
        for f, name in enumerate(encoded.field_names):
            cols = np.flatnonzero(encoded.fields == f)
            self.blocks[name] = (csr[:, cols], list(encoded.feature_names[cols]))

    def rows(self, ids) -> np.ndarray:
        """Row of every id (the all-zero row for unknown ones)."""
        pos = self.index.get_indexer(ids)
        return np.where(pos >= 0, pos, len(self.index))

    def take(self, ids) -> dict:
        """Every group's block for the rows of ``ids``: ``{group: (csr,
        feature names)}``."""
        rows = self.rows(ids)
        return {g: (mat[rows], names) for g, (mat, names) in self.blocks.items()}


def one_hot(pos: np.ndarray, width: int) -> sp.csr_matrix:
    known = pos >= 0
    rows = np.flatnonzero(known)
    return sp.csr_matrix(
        (np.ones(len(rows)), (rows, pos[known])), shape=(len(pos), width)
    )


def implicit(M: sp.csr_matrix) -> sp.csr_matrix:
    """The 0/1 matrix ``M`` with each row divided by the square root of its
    number of ones (SVD++'s normalisation), and an empty row after the last,
    which the code -1 of an unknown id picks."""
    norms = 1.0 / np.sqrt(np.maximum(np.diff(M.indptr), 1))
    return sp.vstack([sp.diags(norms) @ M, sp.csr_matrix((1, M.shape[1]))]).tocsr()
