"""Data loaders and generators."""

import io
import os
import re
import shutil
import sys
import urllib.error
import zipfile
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from sklfi._checks import check_memory
from sklfi.datasets import (
    load_libffm,
    load_movielens_100k,
    make_planted_interaction,
)


def test_movielens_tables(movielens):
    ml = movielens
    assert ml.ratings.shape == (100_000, 4)
    assert list(ml.ratings.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert list(ml.users.columns) == [
        "user_id",
        "age",
        "gender",
        "occupation",
        "zip_code",
    ]
    assert len(ml.users) == 943 and len(ml["items"]) == 1682
    assert len(ml.genres) == 19 and set(ml.genres) <= set(ml["items"].columns)
    assert ml["items"].release_date.dtype.kind == "M"
    assert ml.ratings.rating.between(1, 5).all()


def test_movielens_folds_are_the_official_splits(movielens):
    folds = movielens.folds
    assert len(folds) == 5
    tests = np.concatenate([test for _, test in folds])
    np.testing.assert_array_equal(np.sort(tests), np.arange(100_000))
    train, test = folds[0]
    assert len(train) == 80_000 and len(test) == 20_000
    assert np.intersect1d(train, test).size == 0


def test_missing_files_offline_give_a_clear_error(tmp_path, monkeypatch):
    with pytest.raises(OSError, match="download_if_missing is False"):
        load_movielens_100k(tmp_path, download_if_missing=False)

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr("urllib.request.urlopen", offline)
    with pytest.raises(OSError, match=r"could not be downloaded.*unzip"):
        load_movielens_100k(tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing half-written is left


def _official_copy(folder):
    shutil.copytree(Path(os.environ["SKLFI_DATA"]) / "ml-100k", folder)
    for path in folder.iterdir():
        path.chmod(0o644)
    return folder


@pytest.mark.parametrize(
    "name, damage",
    [
        ("u.data", lambda lines: lines[:-1]),  # truncated
        ("u.data", lambda lines: lines[::10] + lines),  # 10% of the lines twice
        ("u1.test", lambda lines: lines[: len(lines) * 9 // 10]),  # 10% missing
        ("u.item", lambda lines: [lines[0].replace("Toy", "Boy")] + lines[1:]),
    ],
)
def test_damaged_files_are_refused(tmp_path, movielens, name, damage):
    folder = _official_copy(tmp_path / "ml-100k")
    path = folder / name
    lines = path.read_bytes().decode("latin-1").splitlines(keepends=True)
    path.write_bytes("".join(damage(lines)).encode("latin-1"))
    with pytest.raises(OSError, match=f"{name} is not the file of the official"):
        load_movielens_100k(tmp_path, download_if_missing=False)


def _serve(monkeypatch, payload):
    class Response(io.BytesIO):
        pass

    monkeypatch.setattr("urllib.request.urlopen", lambda *a, **k: Response(payload))


def _archive():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for path in (Path(os.environ["SKLFI_DATA"]) / "ml-100k").iterdir():
            zf.write(path, f"ml-100k/{path.name}")
    return out.getvalue()


def test_a_download_only_adds_the_missing_files(tmp_path, movielens, monkeypatch):
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    shutil.copy(Path(os.environ["SKLFI_DATA"]) / "ml-100k" / "u.user", folder)
    _serve(monkeypatch, _archive())
    ml = load_movielens_100k(tmp_path)
    assert ml.ratings.shape == (100_000, 4) and len(ml.folds) == 5
    assert (folder / "notes.txt").read_text() == "mine"
    assert {p.name for p in folder.iterdir()} >= {"u.data", "u5.test", "notes.txt"}
    assert not [p for p in folder.iterdir() if p.is_dir()]  # no temporary left


def test_a_corrupt_archive_is_a_clear_error_and_leaves_no_folder(tmp_path, monkeypatch):
    _serve(monkeypatch, b"this is not a zip archive")
    with pytest.raises(OSError, match="is corrupt"):
        load_movielens_100k(tmp_path / "new" / "home")
    assert list(tmp_path.iterdir()) == []


def test_data_home_from_environment(movielens, monkeypatch):
    monkeypatch.setenv("SKLFI_DATA", os.environ["SKLFI_DATA"])
    assert load_movielens_100k(download_if_missing=False).ratings.shape[0] == 100_000


def test_planted_interaction_is_balanced_per_column():
    X, y = make_planted_interaction(n_samples=20000, noise=0.0, random_state=0)
    # every publisher alone is uninformative; the pair decides
    assert X.groupby("publisher").size().size == 20
    np.testing.assert_allclose(y.mean(), 0.5, atol=0.02)
    per_pub = pd_mean(X.publisher, y)
    assert np.all(np.abs(per_pub - 0.5) < 0.08)
    pairs = pd_mean(X.publisher + X.advertiser, y)
    assert set(np.unique(pairs)) == {0.0, 1.0}
    with pytest.raises(ValueError, match="task"):
        make_planted_interaction(task="ranking")


def pd_mean(keys, y):
    import pandas as pd

    return pd.Series(y).groupby(keys.to_numpy()).mean().to_numpy()


def test_load_libffm(tmp_path):
    path = tmp_path / "train.ffm"
    path.write_text("1 0:0:1 1:3:1 2:5:0.5\n0 0:1:1 1:2:1\n\n1 0:0:1 1:4:1 2:5:2\n")
    X, y = load_libffm(path)
    np.testing.assert_array_equal(y, [1, 0, 1])
    assert X.shape == (3, 6)
    np.testing.assert_array_equal(X.fields, [0, 0, 1, 1, 1, 2])
    assert X.tocsr()[2, 5] == 2.0
    X_test, _ = load_libffm(path, n_features=8, n_fields=4)
    assert X_test.shape == (3, 8) and len(X_test.field_names) == 4
    (tmp_path / "bad.ffm").write_text("1 0:0\n")
    with pytest.raises(ValueError, match="line 1"):
        load_libffm(tmp_path / "bad.ffm")
    (tmp_path / "two.ffm").write_text("1 0:0:1\n0 1:0:1\n")
    with pytest.raises(
        ValueError, match="line 2: feature 0 appears under two fields, 1 and 0;"
    ):
        load_libffm(tmp_path / "two.ffm")


def test_load_libffm_chunks(tmp_path):
    path = tmp_path / "train.ffm"
    lines = ["1 0:0:1 1:3:1 1:4:1 2:6:0.5", "0 0:1:1 1:2:1", "", "1 0:0:1 2:6:2",
             "0 0:1:1 1:3:1", "1 0:5:1 2:6:1"]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    X, y = load_libffm(path)
    assert X.field_kinds == ("categorical", "multi_valued", "numeric")
    chunks = list(load_libffm(path, chunksize=2))
    assert [len(c[1]) for c in chunks] == [2, 1, 2]  # the empty line is skipped
    for part, _ in chunks:  # every chunk: the fields of the whole file
        np.testing.assert_array_equal(part.fields, X.fields)
        assert part.field_kinds == X.field_kinds and part.shape[1] == X.shape[1]
    whole = sp.vstack([part.tocsr() for part, _ in chunks])
    assert (whole != X.tocsr()).nnz == 0
    np.testing.assert_array_equal(np.concatenate([c[1] for c in chunks]), y)
    wide = next(load_libffm(path, n_features=10, n_fields=4, chunksize=3))[0]
    assert wide.shape == (2, 10) and len(wide.field_names) == 4
    with pytest.raises(ValueError, match="chunksize"):
        load_libffm(path, chunksize=0)
    (tmp_path / "late.ffm").write_text("1 0:0:1\n0 0:1:1\n1 1:0:1\n")
    with pytest.raises(
        ValueError, match="line 3: feature 0 appears under two fields, 1 and 0;"
    ):
        load_libffm(tmp_path / "late.ffm", chunksize=2)  # refused before any chunk


def _ffm(tmp_path, content, name="f.ffm"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def _load(path, chunksize=None, **sizes):
    """The whole file, or every chunk of it (to reach any error the reading
    of the chunks raises)."""
    if chunksize is None:
        return load_libffm(path, **sizes)
    return list(load_libffm(path, chunksize=chunksize, **sizes))


@pytest.mark.parametrize("chunksize", [None, 1, 1000])
@pytest.mark.parametrize(
    "content, message",
    [
        ("1 0:0:1\n1 -1:0:1\n", "line 2: negative field id -1"),
        ("1 0:0:1\n\n1 0:-3:1\n", "line 3: negative feature id -3"),
        ("1 0:99999999999999999999:1\n",
         "line 1: the feature id 99999999999999999999 is beyond int64"),
        ("1 0:0:1\n0 -9223372036854775809:0:1\n",
         "line 2: the field id -9223372036854775809 is beyond int64"),
        (b"1 0:0:1\n0 0:1:1 1:\xff:1\n", "line 2: the byte 0xff is not UTF-8"),
        # past the first block the decoder reads: still the right line
        (b"1 0:0:1\n" * 1999 + b"0 0:\xe9t\xe9:1\n", "line 2000: the byte 0xe9 is"),
    ],
)  # fmt: skip
def test_load_libffm_refuses_bad_ids_and_bytes_naming_the_line(
    tmp_path, content, message, chunksize
):
    path = _ffm(tmp_path, content)
    with pytest.raises(ValueError, match=re.escape(f"{path}, {message}")):
        _load(path, chunksize)


@pytest.mark.parametrize("chunksize", [None, 1])
def test_load_libffm_refuses_ids_too_large_for_memory_before_allocating(
    tmp_path, monkeypatch, chunksize
):
    memory = sys.modules[check_memory.__module__]
    monkeypatch.setattr(memory, "physical_memory", lambda: 16 * 2**30)
    path = _ffm(tmp_path, "1 0:0:1\n0 0:1:1 1:9999999999:1\n")  # a typo'd id
    with pytest.raises(
        ValueError,
        match=re.escape(f"{path}, line 2: the feature id 9999999999 asks for "
                        "10,000,000,000 features") + r".*than this machine's "
        r"16\.0 GiB\. Give n_features.*hash the ids",
    ):  # fmt: skip
        _load(path, chunksize)  # (a chunked read: before any chunk)
    path = _ffm(tmp_path, "1 0:0:1\n0 999999999:1:1\n")
    with pytest.raises(ValueError, match="line 2: the field id 999999999 asks for"):
        _load(path, chunksize)
    with pytest.raises(
        ValueError, match=r"the field index of n_features=1,000,000,000,000: about"
    ):
        _load(path, chunksize, n_features=10**12)
    monkeypatch.undo()  # any machine: ids far beyond its memory
    path = _ffm(tmp_path, "1 0:0:1\n0 0:1:1 1:1000000000000000:1\n")
    with pytest.raises(ValueError, match="line 2: the feature id 1000000000000000"):
        _load(path, chunksize)
    X, _ = load_libffm(_ffm(tmp_path, "1 0:0:1 1:999999:1\n"))  # a large id fits
    assert X.shape == (1, 10**6) and X.fields[-1] == 1


@pytest.mark.parametrize("chunksize", [None, 1])
def test_load_libffm_ids_beyond_the_sizes_given_name_the_line(tmp_path, chunksize):
    path = _ffm(tmp_path, "1 0:0:1\n0 0:1:1 1:2:1\n")
    with pytest.raises(ValueError, match=re.escape(
        f"{path}, line 2: feature id 2 is beyond n_features=2"
    )):  # fmt: skip
        _load(path, chunksize, n_features=2)
    with pytest.raises(ValueError, match="line 2: field id 1 is beyond n_fields=1"):
        _load(path, chunksize, n_fields=1)


@pytest.mark.parametrize("name", ["n_features", "n_fields"])
@pytest.mark.parametrize("value", [-1, 0, 1.5, "3", True])
def test_load_libffm_checks_n_features_and_n_fields(tmp_path, name, value):
    path = _ffm(tmp_path, "1 0:0:1\n")
    message = f"{name} must be a positive integer, got {value!r}"
    for chunksize in (None, 1):
        with pytest.raises(ValueError, match=re.escape(message)):
            _load(path, chunksize, **{name: value})
    X, _ = load_libffm(path, **{name: np.int64(3)})  # numpy integers are fine
    assert len(X.field_names if name == "n_fields" else X.fields) == 3


def test_load_libffm_columns_of_no_feature_belong_to_field_0(tmp_path):
    X, y = load_libffm(_ffm(tmp_path, "\n1\n"), n_features=3)  # no entry at all
    assert X.shape == (1, 3) and X.nnz == 0 and y.tolist() == [1.0]
    np.testing.assert_array_equal(X.fields, [0, 0, 0])
    assert X.field_names == ("field0",) and X.field_kinds == ("categorical",)
    X, y = load_libffm(_ffm(tmp_path, ""))  # a blank file: nothing at all
    assert X.shape == (0, 0) and X.field_names == () and len(y) == 0
    assert list(load_libffm(_ffm(tmp_path, "\n \n"), chunksize=2)) == []


def test_make_hashed_ctr():
    from sklfi.datasets import make_hashed_ctr

    X, y = make_hashed_ctr(
        n_samples=3000,
        n_features=10_000,
        n_fields=6,
        n_multi_valued=2,
        items_per_row=3,
        random_state=0,
    )
    csr = X.tocsr()
    assert X.shape == (3000, 10_000) and csr.dtype == np.float32
    assert csr.has_canonical_format
    assert X.field_kinds == ("categorical",) * 6 + ("multi_valued",) * 2
    per_field = np.array([csr[:, X.fields == f].getnnz(axis=1) for f in range(8)])
    assert np.all(per_field[:6] == 1)  # one id per categorical field
    assert 2.0 < per_field[6:].mean() <= 3.0  # multi-valued: ~3, minus repeats
    assert 0.2 < y.mean() < 0.8
    X2, y2 = make_hashed_ctr(
        n_samples=3000, n_features=10_000, n_fields=6, random_state=0
    )
    np.testing.assert_array_equal(y2, y)
