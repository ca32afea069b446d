"""The quick paths of a served request give what the general ones give:
a few rows predicted alone as inside a large batch, bit for bit; a few rows
encoded by FieldEncoder as the general path encodes them; bad input still
refused."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.pipeline import make_pipeline

import sklfi
from sklfi._fields import FieldMatrix, Fields
from sklfi._input import _float32_csr
from sklfi.preprocessing import FieldEncoder, _encoder
from sklfi.preprocessing._rows import Layout, encode_rows

KINDS = dict(
    categorical=["user", "item", "shop", "flag"],
    multi_valued=["tags"],
    numeric=["price"],
)
MODELS = ["FM", "FFM", "AFM", "WideDeep", "DeepFM", "NFM", "DLRM"]


def _frame(n, seed):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "user": rng.integers(0, 30, n).astype(str),
            "item": rng.integers(0, 20, n),
            "shop": rng.integers(0, 5, n).astype(float),
            "flag": rng.random(n) < 0.4,
            "tags": [
                "|".join(rng.choice(list("abcde"), rng.integers(0, 4)))
                for _ in range(n)
            ],  # fmt: skip
            "price": rng.lognormal(3, 1, n),
        }
    )
    df.loc[rng.random(n) < 0.1, "user"] = None
    df.loc[rng.random(n) < 0.1, "shop"] = np.nan
    df.loc[rng.random(n) < 0.1, "price"] = np.nan
    return df


@pytest.fixture(scope="module")
def encoded():
    df = _frame(600, 0)
    X = FieldEncoder(**KINDS).fit_transform(df)
    y = (df["item"] % 3 == 0).to_numpy() ^ df["flag"].to_numpy()
    return X, y


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("batch_size", [100, 1024])
def test_a_row_alone_predicts_as_in_a_batch(encoded, name, batch_size):
    X, y = encoded
    for kind, target in (("Classifier", y), ("Regressor", y * 2.0 + 1)):
        est = getattr(sklfi, name + kind)(
            max_epochs=1, batch_size=batch_size, random_state=0
        ).fit(X, target)
        raw = est.decision_function if kind == "Classifier" else est.predict
        full = raw(X)
        for lo, hi in [(0, 1), (5, 6), (7, 24), (99, 140), (599, 600), (33, 580)]:
            np.testing.assert_array_equal(raw(X[lo:hi]), full[lo:hi])
        if kind == "Classifier":  # (torch's sigmoid of these logits, as it was)
            p = torch.sigmoid(torch.from_numpy(full[:, None]))
            expected = torch.cat([1 - p, p], dim=1).numpy()
            np.testing.assert_array_equal(est.predict_proba(X), expected)


def _general(encoder, df, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(_encoder, "FEW_ROWS", -1)
        return encoder.transform(df)


def _same(a, b):
    a, b = a.tocsr(), b.tocsr()
    assert a.shape == b.shape and a.dtype == b.dtype
    np.testing.assert_array_equal(a.indptr, b.indptr)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.data, b.data)


@pytest.mark.parametrize("seed", range(4))
def test_few_rows_encode_as_the_general_path(monkeypatch, seed):
    train, test = _frame(300, seed), _frame(20, seed + 10)
    test.loc[0, "user"] = "never seen"
    test.loc[1, "tags"] = "a|a||zz"
    test.loc[2, "item"] = 999
    test.loc[3, "shop"] = 1.5
    test["tags"] = test["tags"].astype(object)
    test.loc[4, "tags"] = ["b", "c", "b"]  # a list, an item twice
    test.loc[5, "tags"] = None
    encoder = FieldEncoder(**KINDS).fit(train)
    for rows in (slice(0, 1), slice(0, 7), slice(3, 20)):
        assert encode_rows(encoder, Layout(encoder), test[rows]) is not None
        few = encoder.transform(test[rows])
        general = _general(encoder, test[rows], monkeypatch)
        _same(few, general)
        assert few.field_names == general.field_names
        np.testing.assert_array_equal(few.fields, general.fields)
        np.testing.assert_array_equal(few.feature_names, general.feature_names)


def test_few_rows_odd_input_takes_the_general_path(monkeypatch):
    train = _frame(200, 0)
    encoder = FieldEncoder(**KINDS, handle_unknown="error").fit(train)
    bad = train[:1].assign(user="never seen")
    with pytest.raises(ValueError, match="unseen in fit"):
        encoder.transform(bad)
    odd = train[:2].assign(price=["1.5", "2"])  # numbers as text
    _same(encoder.transform(odd), _general(encoder, odd, monkeypatch))
    with pytest.raises(ValueError, match="non-numbers"):
        encoder.transform(train[:1].assign(price="cheap"))
    with pytest.raises(ValueError, match="missing the columns"):
        encoder.transform(train[:1].drop(columns="item"))


def test_quick_validation_still_refuses_bad_input(encoded):
    X, y = encoded
    est = sklfi.FMClassifier(max_epochs=1).fit(X, y)
    csr = X.tocsr()[:2].astype(np.float32)
    bad = csr.copy()
    bad.data[0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.predict(bad)
    with pytest.raises(ValueError, match="features"):
        est.predict(sp.hstack([csr, csr], format="csr"))
    renamed = Fields(X.fields, ("who",) + X.field_names[1:], X.field_kinds)
    with pytest.raises(ValueError, match="fields differ"):
        est.predict(FieldMatrix._from_parts(X.tocsr()[:2], renamed))
    np.testing.assert_array_equal(est.predict(csr), est.predict(X[:2]))
    odd = X.tocsr()[:2]
    odd.data = np.append(odd.data, 1.0)  # (a value with no column)
    with pytest.raises(ValueError, match="same size"):
        est.predict(odd)


@pytest.mark.parametrize("one_hot", [False, True])
def test_a_small_request_is_padded_as_the_general_path_pads(one_hot):
    from sklfi._data import CSRDataset

    rng = np.random.default_rng(0)
    n, F, width = 5, 3, 4  # (one column of each field a row: one per field)
    fields = np.repeat(np.arange(F), width)
    cols = (rng.integers(0, width, (n, F)) + np.arange(F) * width).ravel()
    vals = np.ones(n * F) if one_hot else rng.random(n * F)
    X = sp.csr_matrix(
        (vals.astype(np.float32), cols.astype(np.int32), np.arange(0, n * F + 1, F)),
        shape=(n, F * width),
    )
    for M in (X, X[:, :-1][:, np.r_[0, 2:11]]):  # and a matrix not one per field
        data = CSRDataset(M, fields=fields[: M.shape[1]], n_fields=F)
        general = next(data.batches(None, n))[0].padded(16)
        quick = data._whole(16)
        assert quick.one_per_field == general.one_per_field
        for name in ("idx", "val", "row", "offsets"):
            a, b = getattr(quick, name), getattr(general, name)
            assert (a is None) == (b is None)
            if a is not None:
                assert a.dtype == b.dtype and torch.equal(a, b)


@pytest.mark.parametrize("in_order", [True, False])
def test_a_small_request_has_the_slots_by_field_finds(in_order):
    from sklfi._batch import SparseBatch, csr_batch
    from sklfi._data import CSRDataset

    rng = np.random.default_rng(1)
    F, width, n = 3, 5, 6
    fields = np.repeat(np.arange(F), width)
    if not in_order:  # (fields whose columns interleave: the slots sorted)
        fields = rng.permutation(fields)
    X = sp.random(n, F * width, density=0.3, format="csr", random_state=1)
    X = (sp.diags([1.0, 1, 0, 1, 1, 1]) @ X).tocsr().astype(np.float32)
    X.eliminate_zeros()  # (row 2 empty)
    index = torch.as_tensor(fields)
    for rows in (None, 16):
        general = next(CSRDataset(X, fields=fields, n_fields=F).batches(None, n))[0]
        general = (
            general.by_field(index, F)
            if rows is None
            else general.padded(rows).by_field(index, F)
        )
        quick = csr_batch(X, fields, F, rows)
        assert quick.by_field(index, F) is quick  # (its slots kept)
        for name in ("idx", "val", "row", "offsets", "slot", "slot_offsets"):
            a, b = getattr(quick, name), getattr(general, name)
            assert a.dtype == b.dtype and torch.equal(a, b), name
    # a batch padded after its slots were set finds them again
    padded = csr_batch(X, fields, F).padded(16)
    assert padded.slot is None
    assert torch.equal(
        padded.by_field(index, F).slot_offsets,
        SparseBatch.from_csr(X, fields, F, 16).slot_offsets,
    )


def test_float32_conversion_keeps_the_matrix_or_refuses_it():
    X = sp.random(4, 30, density=0.2, format="csr", random_state=0)
    quick = _float32_csr(X)
    assert type(quick) is sp.csr_matrix and quick.dtype == np.float32
    _same(quick, X.astype(np.float32))
    assert quick.has_canonical_format
    odd = X.copy()
    odd.data = np.append(odd.data, 7.0)  # (a value with no column)
    with pytest.raises(ValueError, match="same size"):
        _float32_csr(odd)
    odd = X.copy()
    odd.indptr = odd.indptr[:-1]
    with pytest.raises(ValueError, match="index pointer"):
        _float32_csr(odd)


def test_a_served_row_carries_the_fields_the_model_holds(encoded):
    df = _frame(300, 1)
    y = df["flag"].to_numpy()
    pipe = make_pipeline(FieldEncoder(**KINDS), sklfi.FMClassifier(max_epochs=1))
    pipe.fit(df, y)
    encoder, model = pipe[0], pipe[-1]
    for rows in (df[:1], df[:3], df):  # (the few-rows path, and the general)
        assert encoder.transform(rows)._fields is model._fields
    full = pipe.decision_function(df)
    for i in (0, 17, 299):
        np.testing.assert_array_equal(
            pipe.decision_function(df[i : i + 1]), full[i : i + 1]
        )
