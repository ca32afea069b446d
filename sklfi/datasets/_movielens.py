"""MovieLens-100K loader."""

from __future__ import annotations

import hashlib
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
#: The files sklfi reads, with their size and SHA-256 in the official release.
OFFICIAL = {
    "u.data": (
        1979173,
        "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490",
    ),
    "u.user": (
        22628,
        "f120e114da2e8cf314fd28f99417c94ae9ddf1cb6db8ce0e4b5995d40e90e62c",
    ),
    "u.item": (
        236344,
        "553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701",
    ),
    "u.genre": (
        202,
        "9757e0d3e6b298159a80dd48eaf938114690e911e39af97a76949ef1663610bb",
    ),
    "u1.test": (
        392629,
        "18c6014a4b2c7324f250a63f8904a7b16b2b19f911129e346141507b0cbac950",
    ),
    "u2.test": (
        395225,
        "4de658d1e04ed9104629509a2e2528fce833ac8e048280183f1df167632038c3",
    ),
    "u3.test": (
        396627,
        "0f548b51c78327de4c156461d3e430b7e5579fe2b5681586a59416e48fd35f6d",
    ),
    "u4.test": (
        397295,
        "7c02ad0a1e7ab1083c8b9d4b627203a051dd7b5eab46d99fa44de33470de8db9",
    ),
    "u5.test": (
        397397,
        "351cc52e0d15b6c721466276fc24671d40936899e3d01fadeaf312915b8c5634",
    ),
    "README": (
        6750,
        "4883b8cf340ed0059971b33f56ad3adc88a40792108ebca3d24aafc4c82e8b52",
    ),
}
FILES = ("u.data", "u.user", "u.item", "u.genre")  # the ones that must be there
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


def _check(path: Path) -> None:
    """Raise an OSError unless ``path`` is the official file of its name."""
    size, sha256 = OFFICIAL[path.name]
    actual = path.stat().st_size
    if actual != size or hashlib.sha256(path.read_bytes()).hexdigest() != sha256:
        raise OSError(
            f"{path} is not the file of the official MovieLens-100K release "
            f"({actual:,} bytes, expected {size:,} with SHA-256 "
            f"{sha256[:12]}...): it is truncated, edited or of another data "
            "set. Remove it (or the whole folder) so that sklfi downloads the "
            f"official archive, or unzip {URL} there yourself."
        )


def _download(folder: Path) -> None:
    """Download the official archive and put its files that ``folder``
    lacks into it; the files already there are left as they are. On failure,
    the folders this made are removed again."""
    made = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            archive = Path(tmp) / "ml-100k.zip"
            with urllib.request.urlopen(URL, timeout=60) as response:
                archive.write_bytes(response.read())
            try:
                with zipfile.ZipFile(archive) as zf:
                    zf.extractall(tmp)
            except zipfile.BadZipFile as exc:
                raise OSError(f"the archive from {URL} is corrupt ({exc})") from exc
            for name in OFFICIAL:
                source = Path(tmp) / "ml-100k" / name
                if source.is_file() and not (folder / name).exists():
                    _check(source)
                    shutil.move(str(source), str(folder / name))
    except OSError as exc:
        for path in made:  # (innermost first, and only if still empty)
            if path.is_dir() and not any(path.iterdir()):
                path.rmdir()
        raise OSError(
            f"MovieLens-100K is not in {folder} and could not be downloaded "
            f"from {URL} ({exc}). Download and unzip that archive so that "
            f"{folder / 'u.data'} exists, or point data_home (or the SKLFI_DATA "
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
        When the files are missing and cannot be downloaded, or when a file
        differs from the official release's (checked by size and SHA-256:
        truncated, edited or another data set). A download only adds the
        missing files to ``ml-100k/``; nothing there is deleted.

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
        _download(folder)
    for name in OFFICIAL:
        if (folder / name).is_file():
            _check(folder / name)

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
