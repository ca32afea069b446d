"""RelationalMatrix: rows pointing to entity tables, read by every estimator
exactly as its expanded matrix is read."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline

import sklfi
import sklfi.io
from sklfi import FieldMatrix, RelationalMatrix
from sklfi._gibbs import Sampler, predict_one
from sklfi.preprocessing import MovieLensFeatures

CLASSIFIERS = [
    "FMClassifier",
    "FFMClassifier",
    "AFMClassifier",
    "WideDeepClassifier",
    "DeepFMClassifier",
    "NFMClassifier",
    "DLRMClassifier",
]


def relational_data(seed=0, n=300, n_users=12, n_items=9):
    """A user field and an item field per row, a multi-valued weighted list
    per user and per item (some users without one), a numeric row column;
    the label follows a planted user-list x item interaction."""
    rng = np.random.default_rng(seed)
    u, i = rng.integers(0, n_users, n), rng.integers(0, n_items, n)
    row = np.zeros((n, n_users + n_items + 1))
    row[np.arange(n), u] = 1
    row[np.arange(n), n_users + i] = 1
    row[:, -1] = rng.normal(size=n)
    row_fields = [0] * n_users + [1] * n_items + [2]
    rows = FieldMatrix(
        sp.csr_matrix(row),
        fields=row_fields,
        field_names=["user", "item", "age"],
        field_kinds=["categorical", "categorical", "numeric"],
    )
    likes = (rng.random((n_users, 6)) < 0.4) * rng.uniform(0.5, 1, (n_users, 6))
    likes[0] = 0  # (a user with an empty list)
    fans = (rng.random((n_items, 5)) < 0.5) * 1.0
    user_t = FieldMatrix(
        sp.csr_matrix(likes),
        fields=[0] * 6,
        field_names=["user_likes"],
        field_kinds=["multi_valued"],
    )
    item_t = FieldMatrix(
        sp.csr_matrix(fans),
        fields=[0] * 5,
        field_names=["item_fans"],
        field_kinds=["multi_valued"],
    )
    user_index = np.where(u % 5 == 4, -1, u)  # (some rows without their entity)
    X = RelationalMatrix(rows, [(user_t, user_index), (item_t, i)])
    signal = likes[u, 0] * (i % 2) - 0.5 * fans[i, 1] + 0.3 * row[:, -1]
    y = (signal + rng.normal(0, 0.2, n) > np.median(signal)).astype(int)
    return X, y


def expanded(X):
    return FieldMatrix(
        X.tocsr(), fields=X.fields, field_names=X.field_names, field_kinds=X.field_kinds
    )


def test_tocsr_is_the_rows_and_their_entities_rows():
    X, _ = relational_data()
    dense = X.tocsr().toarray()
    rows = X.row_part.tocsr().toarray()
    (users, uidx), (items, iidx) = X.blocks
    U = np.vstack([users.tocsr().toarray(), np.zeros((1, users.shape[1]))])
    Im = items.tocsr().toarray()
    np.testing.assert_array_equal(dense, np.hstack([rows, U[uidx], Im[iidx]]))
    assert X.shape == dense.shape
    assert X.nnz == np.count_nonzero(dense)
    assert list(X.field_names) == ["user", "item", "age", "user_likes", "item_fans"]
    np.testing.assert_array_equal(X.fields[-5:], [4] * 5)


def test_rows_are_selected_and_the_tables_shared():
    X, _ = relational_data()
    picked = X[[5, 2, 2, 40]]
    assert picked.shape == (4, X.shape[1])
    np.testing.assert_array_equal(
        picked.tocsr().toarray(), X.tocsr().toarray()[[5, 2, 2, 40]]
    )
    assert picked.blocks[0][0] is X.blocks[0][0]
    np.testing.assert_array_equal(X[3].tocsr().toarray(), X.tocsr()[[3]].toarray())
    np.testing.assert_array_equal(
        X[10:20, :].tocsr().toarray(), X.tocsr()[10:20].toarray()
    )
    with pytest.raises(IndexError, match="row indexing only"):
        X[:, 3]


def test_products_and_powers_equal_the_expanded_ones():
    X, _ = relational_data()
    M = np.random.default_rng(1).normal(size=(X.shape[1], 3))
    np.testing.assert_allclose(X @ M, X.tocsr() @ M, rtol=1e-12)
    np.testing.assert_allclose(
        X.power(2).tocsr().toarray(), X.tocsr().power(2).toarray()
    )


def test_pickles_and_refuses_dense_conversion():
    X, _ = relational_data()
    back = pickle.loads(pickle.dumps(X))
    assert (back.tocsr() != X.tocsr()).nnz == 0
    assert back.field_names == X.field_names
    with pytest.raises(TypeError, match="tocsr"):
        np.asarray(X)
    assert "RelationalMatrix of shape (300, 33)" in repr(X)


def test_bad_blocks_are_refused():
    X, _ = relational_data()
    rows, (table, index) = X.row_part, X.blocks[0]
    with pytest.raises(TypeError, match="must be a FieldMatrix"):
        RelationalMatrix(rows, [(table.tocsr(), index)])
    with pytest.raises(TypeError, match="must be a FieldMatrix"):
        RelationalMatrix(rows.tocsr(), [(table, index)])
    with pytest.raises(ValueError, match="one entity per row"):
        RelationalMatrix(rows, [(table, index[:-1])])
    with pytest.raises(ValueError, match=r"must lie in \[-1, 12\)"):
        RelationalMatrix(rows, [(table, np.full(len(index), 12))])
    with pytest.raises(TypeError, match="must hold integers"):
        RelationalMatrix(rows, [(table, index.astype(float))])
    with pytest.raises(TypeError, match="pair"):
        RelationalMatrix(rows, [table])
    with pytest.raises(ValueError, match="unique"):
        RelationalMatrix(rows, [(table, index), (table, index)])


@pytest.mark.parametrize("probit", [False, True])
def test_a_seeded_chain_on_the_blocks_is_the_chain_on_the_expanded_matrix(probit):
    X, y = relational_data(n=200)
    Xc = X.checked(np.float64)
    target = (
        y if probit else y + np.asarray(X.row_part.tocsr()[:, -1].todense()).ravel()
    )
    chains = []
    for data in (Xc, Xc.tocsr()):
        s = Sampler(data, target, X.fields, 3, 0.1, np.random.default_rng(0), probit)
        for _ in range(15):
            s.sweep()
        chains.append((s, predict_one(data, s.w0, s.w, s.Vt.T)))
    (rel, p_rel), (exp, p_exp) = chains
    np.testing.assert_allclose(rel.w, exp.w, atol=1e-9)
    np.testing.assert_allclose(rel.Vt, exp.Vt, atol=1e-9)
    np.testing.assert_allclose(p_rel, p_exp, atol=1e-9)


@pytest.mark.parametrize("name", ["BayesianFMRegressor", "BayesianFMClassifier"])
def test_bayesian_fm_predicts_as_on_the_expanded_matrix(name):
    X, y = relational_data(n=200)
    est = getattr(sklfi, name)(n_iter=20, n_burn_in=5, random_state=0)
    target = y if "Classifier" in name else y * 2.0 + 1.0
    a = clone(est).fit(X, target)
    b = clone(est).fit(expanded(X), target)
    method = "predict_proba" if "Classifier" in name else "predict"
    np.testing.assert_allclose(
        getattr(a, method)(X[:50]), getattr(b, method)(expanded(X)[:50]), atol=1e-6
    )  # (sums in another order: rounding, carried through 20 draws)


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_sgd_models_predict_as_on_the_expanded_matrix(name):
    X, y = relational_data()
    est = getattr(sklfi, name)(max_epochs=2, batch_size=64, random_state=0)
    a = clone(est).fit(X, y)
    b = clone(est).fit(expanded(X), y)
    # the same batches, a row's sums added in another order (rounding only)
    np.testing.assert_allclose(
        a.predict_proba(X), b.predict_proba(expanded(X)), rtol=0, atol=1e-6
    )
    # a model fitted on one layout reads the other
    np.testing.assert_allclose(
        a.predict_proba(expanded(X)), a.predict_proba(X), rtol=0, atol=1e-6
    )


def test_sgd_regressor_and_partial_fit_on_blocks():
    X, y = relational_data()
    target = y * 3.0 - 1.0
    est = sklfi.DeepFMRegressor(max_epochs=1, batch_size=64, random_state=0)
    a = clone(est).partial_fit(X[:150], target[:150]).partial_fit(X[150:], target[150:])
    b = clone(est).partial_fit(expanded(X)[:150], target[:150])
    b.partial_fit(expanded(X)[150:], target[150:])
    np.testing.assert_allclose(a.predict(X), b.predict(expanded(X)), atol=1e-6)


def test_model_selection_slices_the_rows():
    X, y = relational_data()
    est = sklfi.FMClassifier(max_epochs=2, batch_size=64, random_state=0)
    cv = KFold(3, shuffle=True, random_state=0)
    rel = cross_val_score(est, X, y, cv=cv)
    exp = cross_val_score(est, expanded(X), y, cv=cv)
    np.testing.assert_allclose(rel, exp, atol=1e-12)
    search = GridSearchCV(est, {"embedding_dim": [2, 4]}, cv=cv).fit(X, y)
    assert search.best_estimator_.n_features_in_ == X.shape[1]


def test_a_model_refuses_other_fields_or_width():
    X, y = relational_data()
    est = sklfi.FMClassifier(max_epochs=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        est.predict(RelationalMatrix(X.row_part, X.blocks[:1]))
    other = FieldMatrix(
        X.blocks[1][0].tocsr(),
        fields=[0] * 5,
        field_names=["other"],
        field_kinds=["multi_valued"],
    )
    renamed = RelationalMatrix(X.row_part, [X.blocks[0], (other, X.blocks[1][1])])
    with pytest.raises(ValueError, match="field"):
        est.predict(renamed)


def test_movielens_features_give_the_expanded_numbers(movielens, tmp_path):
    r = movielens.ratings
    r = r[r.user_id <= 80].reset_index(drop=True)
    train, test = r.iloc[:3000], r.iloc[3000:]
    groups = ["user_id", "item_id", "age", "genres", "user_items", "item_users"]
    args = movielens.users, movielens["items"], groups
    rel = MovieLensFeatures(*args).fit(train)
    flat = MovieLensFeatures(*args, relational=False).fit(train)
    for rows in (train, test):
        a, b = rel.transform(rows), flat.transform(rows)
        assert isinstance(a, RelationalMatrix) and isinstance(b, FieldMatrix)
        assert (a.tocsr() != b.tocsr()).nnz == 0
        assert a.field_names == b.field_names and a.field_kinds == b.field_kinds
        np.testing.assert_array_equal(a.fields, b.fields)
        np.testing.assert_array_equal(a.feature_names, b.feature_names)
    # each user's and movie's list is stored once
    a = rel.transform(train)
    stored = a.row_part.nnz + sum(t.nnz for t, _ in a.blocks)
    assert stored < a.nnz / 5
    sklfi.io.save(rel, tmp_path / "features.sklfi")
    back = sklfi.io.load(tmp_path / "features.sklfi")
    assert back.relational and (back.transform(test).tocsr() != b.tocsr()).nnz == 0
    # a pipeline fits on the blocks and predicts as on the expanded matrix
    est = sklfi.FMRegressor(max_epochs=1, random_state=0)
    p = make_pipeline(MovieLensFeatures(*args), est).fit(train, train.rating)
    q = make_pipeline(MovieLensFeatures(*args, relational=False), est)
    q.fit(train, train.rating)
    np.testing.assert_allclose(p.predict(test), q.predict(test), rtol=0, atol=1e-5)


def test_crosses_and_onnx_read_the_spelled_out_rows():
    pytest.importorskip("onnxruntime")
    import onnxruntime as ort

    from sklfi.export import onnx_inputs, to_onnx
    from sklfi.preprocessing import FieldCrosser

    X, y = relational_data()
    crosser = FieldCrosser([("item", "user_likes")])
    np.testing.assert_array_equal(
        crosser.fit_transform(X).tocsr().toarray(),
        crosser.fit_transform(expanded(X)).tocsr().toarray(),
    )
    est = sklfi.DeepFMClassifier(max_epochs=1, random_state=0).fit(X, y)
    session = ort.InferenceSession(to_onnx(est).SerializeToString())
    _, proba = session.run(None, onnx_inputs(est, X[:7]))
    np.testing.assert_allclose(proba, est.predict_proba(X[:7]), atol=1e-5)


def test_a_batch_embeds_each_entity_once():
    from sklfi._data import CSRDataset
    from sklfi.nn.embedding import (
        DenseFeatures,
        FeatureEmbedding,
        FieldAwareEmbedding,
        FieldEmbedding,
    )

    X, _ = relational_data()
    Xc = X.checked()
    fields, F = torch.as_tensor(X.fields), len(X.field_names)
    rel = next(CSRDataset(Xc, fields=X.fields).batches(np.arange(100), 100))[0]
    flat = next(CSRDataset(Xc.tocsr(), fields=X.fields).batches(np.arange(100), 100))[0]
    # 100 rows: 100 row parts, at most 12 + 1 users and 9 movies
    assert rel.n_rows == 100 and rel.n_units <= 100 + 13 + 9
    assert len(rel.idx) < len(flat.idx) / 2
    torch.manual_seed(0)
    for layer in (FieldEmbedding(fields, F, 4), FieldAwareEmbedding(fields, F, 3)):
        with torch.no_grad():
            layer.weight.normal_()
        a, b = layer(rel), layer(flat)
        torch.testing.assert_close(a.linear, b.linear, rtol=0, atol=1e-5)
        if a.fields is not None:  # (a field lies in one unit: exactly)
            assert torch.equal(a.fields, b.fields)
        if a.pairs is not None:
            torch.testing.assert_close(a.pairs, b.pairs, rtol=0, atol=1e-5)
    layer = FeatureEmbedding(X.shape[1], 4)
    with torch.no_grad():
        layer.weight.normal_()
    torch.testing.assert_close(layer(rel).pairs, layer(flat).pairs, rtol=0, atol=1e-5)
    layer = FieldEmbedding(fields, F, 4)
    with torch.no_grad():
        layer.weight.normal_()
    a, b = layer(rel, pairs=True), layer(flat, pairs=True)
    assert torch.equal(a.fields, b.fields)
    torch.testing.assert_close(a.pairs, b.pairs, rtol=0, atol=1e-5)
    dense = DenseFeatures(torch.tensor([X.shape[1] - 12, 20]), X.shape[1])
    assert torch.equal(dense(rel), dense(flat))
    padded = rel.padded(128)
    assert padded.n_rows == 128
    assert torch.equal(dense(padded)[:100], dense(rel))
    assert not dense(padded)[100:].any()


def test_a_seeded_fit_on_blocks_is_the_same_in_every_run():
    # (the rows' sums of their units scatter their gradient in a fixed order,
    # on several threads too)
    X, y = relational_data(n=4000, n_users=300, n_items=200)
    est = sklfi.DeepFMClassifier(max_epochs=1, batch_size=1024, random_state=0)
    runs = [clone(est).fit(X, y).predict_proba(X) for _ in range(2)]
    np.testing.assert_array_equal(*runs)


def test_values_keep_their_type_and_bad_input_is_refused():
    rows = FieldMatrix(np.eye(3, dtype=np.int64), fields=[0, 0, 0], field_names=["a"])
    likes = FieldMatrix(np.array([[0.5, 0.25], [0, 0.75]]), fields=[0, 0],
                        field_names=["likes"])  # fmt: skip
    X = RelationalMatrix(rows, [(likes, [0, 1, 0])])
    assert X.dtype == np.float64
    np.testing.assert_array_equal(
        X.tocsr().toarray()[:, 3:], [[0.5, 0.25], [0, 0.75], [0.5, 0.25]]
    )
    none = FieldMatrix(sp.csr_matrix((4, 0)), fields=np.zeros(0, int))
    with pytest.raises(ValueError, match="0 feature"):
        sklfi.FMClassifier().fit(RelationalMatrix(none, []), [0, 1, 0, 1])
    Xr, y = relational_data()
    with pytest.raises(ValueError, match="requires y"):
        sklfi.FMClassifier().fit(Xr, None)


def test_a_request_reads_only_its_entities():
    X, y = relational_data()
    est = sklfi.FMClassifier(max_epochs=1, random_state=0).fit(X, y)
    few = X[[3, 7]]
    checked = few.checked(np.float64)
    assert [t.shape[0] for t, _ in checked.blocks] <= [2, 2]
    assert (checked.tocsr() != few.tocsr()).nnz == 0
    np.testing.assert_allclose(
        est.predict_proba(few), est.predict_proba(X)[[3, 7]], rtol=0, atol=1e-7
    )
    bayes = sklfi.BayesianFMRegressor(n_iter=8, n_burn_in=2, random_state=0)
    bayes.fit(X, y * 1.0)
    np.testing.assert_allclose(bayes.predict(few), bayes.predict(X)[[3, 7]], atol=1e-12)
