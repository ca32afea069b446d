"""MovieLens-100K loader."""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

__all__ = ["load_movielens_100k", "get_data_home"]

URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
FILES = ("u.data", "u.user", "u.item", "u.genre")
GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy",
    "Crime", "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror",
    "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip


def get_data_home(data_home=None) -> Path:
    """Folder of sklfi's data sets.

    ``data_home`` if given, else the environment variable ``SKLFI_DATA``, else
    ``~/sklfi_data``.
    """
    if data_home is None:
        data_home = os.environ.get("SKLFI_DATA") or Path.home() / "sklfi_data"
    return Path(data_home).expanduser()


def _download(data_home: Path) -> None:
    target = data_home / "ml-100k"
    try:
        data_home.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=data_home) as tmp:
            archive = Path(tmp) / "ml-100k.zip"
            with urllib.request.urlopen(URL, timeout=60) as response:
                archive.write_bytes(response.read())
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(tmp)
            if target.exists():
                shutil.rmtree(target)
            shutil.move(str(Path(tmp) / "ml-100k"), str(target))
    except OSError as exc:
        raise OSError(
            f"MovieLens-100K is not in {target} and could not be downloaded "
            f"from {URL} ({exc}). Download and unzip that archive so that "
            f"{target / 'u.data'} exists, or point data_home (or the SKLFI_DATA "
            "environment variable) to the folder that holds ml-100k/."
        ) from exc


def load_movielens_100k(data_home=None, download_if_missing=True) -> Bunch:
    """Load the MovieLens-100K ratings, users and movies as pandas DataFrames.

    100,000 ratings (1-5) of 1,682 movies by 943 users, collected by GroupLens
    in 1997-98, with user demographics and movie genres.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder that holds (or receives) ``ml-100k/``. Defaults to the
        environment variable ``SKLFI_DATA``, then ``~/sklfi_data``.
    download_if_missing : bool, default=True
        Download the official archive into ``data_home`` when the files are
        missing. A folder that already holds the files is only read.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ratings : DataFrame
            ``user_id, item_id, rating, timestamp`` (timestamp in Unix seconds).
        users : DataFrame
            ``user_id, age, gender, occupation, zip_code``.
        items : DataFrame
            ``item_id, title, release_date, imdb_url`` and one 0/1 column per
            genre (names in ``genres``). Access it as ``data["items"]``, since
            ``data.items`` is the dict method.
        genres : list of str
            The 19 genre names.
        folds : list of (ndarray, ndarray)
            The official splits u1..u5 as (train, test) row indices into
            ``ratings``: their test sets partition the ratings. Use
            ``folds[0]`` for split u1, or ``cv=data.folds`` in
            :func:`~sklearn.model_selection.cross_val_score`.
        DESCR : str
            The data set's README.

    Raises
    ------
    OSError
        When the files are missing and cannot be downloaded.

    Examples
    --------
    >>> from sklfi.datasets import load_movielens_100k
    >>> ml = load_movielens_100k()  # doctest: +SKIP
    >>> train, test = ml.folds[0]  # split u1  # doctest: +SKIP
    """
    folder = get_data_home(data_home) / "ml-100k"
    if not all((folder / f).is_file() for f in FILES):
        if not download_if_missing:
            raise OSError(
                f"MovieLens-100K is not in {folder} and download_if_missing is "
                f"False. Download {URL} and unzip it there, or set data_home / "
                "SKLFI_DATA to the folder that holds ml-100k/."
            )
        _download(folder.parent)

    ratings = pd.read_csv(
        folder / "u.data",
        sep="\t",
        names=["user_id", "item_id", "rating", "timestamp"],
        dtype="int64",
    )
    users = pd.read_csv(
        folder / "u.user",
        sep="|",
        names=["user_id", "age", "gender", "occupation", "zip_code"],
        dtype={"user_id": "int64", "age": "int64", "zip_code": str},
    )
    genres = (
        pd.read_csv(
            folder / "u.genre", sep="|", names=["genre", "id"], encoding="latin-1"
        )
        .dropna()["genre"]
        .tolist()
    )
    items = pd.read_csv(
        folder / "u.item",
        sep="|",
        names=["item_id", "title", "release_date", "video_release_date",
               "imdb_url", *genres],
        encoding="latin-1",
    )  # fmt: skip
    items = items.drop(columns="video_release_date")  # empty in every row
    items["release_date"] = pd.to_datetime(items["release_date"], format="%d-%b-%Y")

    return Bunch(
        ratings=ratings,
        users=users,
        items=items,
        genres=genres,
        folds=_folds(folder, ratings),
        DESCR=(folder / "README").read_text(encoding="latin-1")
        if (folder / "README").is_file()
        else "MovieLens-100K",
    )


def _folds(folder: Path, ratings: pd.DataFrame) -> list:
    """(train, test) row indices of the official splits u1..u5 that exist."""
    key = ratings["user_id"].to_numpy() * 10_000 + ratings["item_id"].to_numpy()
    order = np.argsort(key)
    folds = []
    for k in range(1, 6):
        path = folder / f"u{k}.test"
        if not path.is_file():
            break
        test = pd.read_csv(path, sep="\t", usecols=[0, 1], header=None).to_numpy()
        test_key = test[:, 0] * 10_000 + test[:, 1]
        test_rows = np.sort(order[np.searchsorted(key, test_key, sorter=order)])
        train_rows = np.setdiff1d(np.arange(len(ratings)), test_rows)
        folds.append((train_rows, test_rows))
    return folds
