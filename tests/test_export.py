"""ONNX export: every SGD estimator, and pipelines from raw columns, answer
in ONNX Runtime as in Python (to 1e-5), at any batch size."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone, is_classifier
from sklearn.pipeline import make_pipeline

import sklfi
from sklfi.preprocessing import FieldCrosser, FieldEncoder, FieldHasher

ort = pytest.importorskip("onnxruntime")
skl2onnx = pytest.importorskip("skl2onnx")
from sklfi.export import onnx_inputs, to_onnx  # noqa: E402
from sklfi.nn.interaction import _pairs  # noqa: E402

MODELS = ["FM", "FFM", "AFM", "WideDeep", "DeepFM", "NFM", "DLRM"]
ESTIMATORS = [m + k for m in MODELS for k in ("Classifier", "Regressor")]
TOL = 1e-5


def _frame(n, seed):
    """Raw columns of every kind: text and integer ids, a float id column
    with missing values, a flag, genres (repeats included) and two numbers
    on very different scales, with missing values."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "user": rng.integers(0, 40, n).astype(str),
            "item": rng.integers(0, 30, n),
            "shop": rng.integers(0, 6, n).astype(float),
            "flag": rng.random(n) < 0.3,
            "genres": [
                "|".join(rng.choice(list("abcdefg"), rng.integers(0, 4)))
                for _ in range(n)
            ],
            "age": rng.normal(40, 12, n),
            "spend": rng.lognormal(3, 1, n),
        }
    )
    df.loc[rng.random(n) < 0.05, "user"] = None
    df.loc[rng.random(n) < 0.05, "shop"] = np.nan
    df.loc[rng.random(n) < 0.05, "age"] = np.nan
    return df


def _target(df):
    logit = (
        (df["item"] % 3 == 0) * 2.0
        - (df["age"].fillna(40) > 45)
        + (df["genres"].str.contains("a") & (df["user"].fillna("0").str.len() == 1))
    )
    return logit.to_numpy()


ENCODER = dict(
    categorical=["user", "item", "shop", "flag"],
    multi_valued=["genres"],
    numeric=["age", "spend"],
)


@pytest.fixture(scope="module")
def data():
    train, test = _frame(1500, 0), _frame(10_000, 1)
    test.loc[0, "user"] = "never seen"
    test.loc[1, "genres"] = "zz|a|a"
    test.loc[2, "item"] = 999
    test.loc[3, "shop"] = 2.5
    encoder = FieldEncoder(**ENCODER).fit(train)
    return train, test, encoder


def _labels(y, name):
    if name.startswith("FM"):
        return np.where(y > 1, "click", "skip")  # text labels
    if name.startswith("DeepFM"):
        return np.digitize(y, [0.0, 1.0, 2.0])  # four classes
    return (y > 1).astype(int)


def _session(graph, threads=0):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads  # (0: ONNX Runtime's default)
    return ort.InferenceSession(
        graph.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def _answers(model, X):
    """What the graph's last output holds: probabilities or values."""
    if hasattr(model, "classes_"):
        return model.predict_proba(X)
    return model.predict(X)[:, None]


def _check(model, session, X, n_rows, feed=onnx_inputs):
    for n in n_rows:
        out = session.run(None, feed(model, X[:n]))
        if hasattr(model, "classes_"):
            np.testing.assert_array_equal(out[0], model.predict(X[:n]))
            np.testing.assert_allclose(out[1], model.predict_proba(X[:n]), atol=TOL)
        else:
            np.testing.assert_allclose(out[0][:, 0], model.predict(X[:n]), atol=TOL)


def _fitted(data, name, epochs=2):
    train, _, encoder = data
    y = _target(train)
    est = getattr(sklfi, name)(max_epochs=epochs, random_state=0)
    return est.fit(encoder.transform(train), _labels(y, name) if "Class" in name else y)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_every_estimator_answers_as_in_python(data, name):
    _, test, encoder = data
    est = _fitted(data, name)
    graph = to_onnx(est)
    names = [o.name for o in graph.graph.output]
    assert names == (["label", "probabilities"] if "Class" in name else ["variable"])
    _check(est, _session(graph), encoder.transform(test), [1, 7, 10_000])


@pytest.mark.parametrize("name", ["FMRegressor", "DLRMClassifier"])
def test_threads_answer_as_one_thread(data, name):
    # ONNX Runtime splits a ScatterND's updates among its threads, and two
    # that add to one row race (a sum lost now and then): the graphs add
    # with ScatterElements, which walks the updates in order. Many rows,
    # several threads, several runs: every answer as one thread's.
    _, test, encoder = data
    est = _fitted(data, name, epochs=1)
    graph = to_onnx(est)
    ops = {node.op_type for node in graph.graph.node}
    assert "ScatterND" not in ops and "ScatterElements" in ops
    X = encoder.transform(pd.concat([test] * 3, ignore_index=True))
    feed = onnx_inputs(est, X)
    alone = _session(graph, threads=1).run(None, feed)[-1]
    assert np.abs(alone[: len(test)] - _answers(est, X[: len(test)])).max() < TOL
    many = _session(graph, threads=4)
    for _ in range(5):
        np.testing.assert_array_equal(many.run(None, feed)[-1], alone)


@pytest.mark.parametrize("name", ["FFMRegressor", "DeepFMClassifier"])
def test_fields_out_of_column_order(name):
    # the columns of three fields interleaved, so that the graph's (row,
    # field) slots come out of order; values of every sign
    X = sp.random(3000, 12, density=0.3, format="csr", random_state=0)
    X.data = np.random.default_rng(0).normal(size=X.nnz)
    y = X[:, 0].toarray()[:, 0] * X[:, 4].toarray()[:, 0] > 0
    est = getattr(sklfi, name)(fields=np.arange(12) % 3, max_epochs=2, random_state=0)
    est.fit(X, y.astype(int) if "Class" in name else y * 1.0)
    _check(est, _session(to_onnx(est)), X, [1, 7, 3000])


@pytest.mark.parametrize("name", ["FMRegressor", "DeepFMClassifier"])
def test_a_row_answers_whatever_its_neighbours(data, name):
    # each row's sums are its own: a row of huge or infinite values leaves
    # the others' answers as they are alone
    _, test, encoder = data
    est = _fitted(data, name, epochs=1)
    session = _session(to_onnx(est))
    X = encoder.transform(test[:500]).tocsr()
    alone = session.run(None, onnx_inputs(est, X[1:]))[-1]
    before = session.run(None, onnx_inputs(est, X[:1]))[-1][0]
    for value in (1e9, np.inf):
        feed = onnx_inputs(est, X)
        assert feed["indptr"][1] > 0
        feed["data"][: feed["indptr"][1]] = value  # (row 0's non-zeros)
        out = session.run(None, feed)[-1]
        assert not np.allclose(out[0], before)  # (row 0 itself changed)
        np.testing.assert_allclose(out[1:], alone, atol=1e-6)


@pytest.mark.parametrize("name", ["AFMClassifier", "DLRMRegressor"])
def test_exporting_first_leaves_predictions_as_they_were(data, name):
    # a model loaded and exported before any prediction in the process: the
    # pair indices made while torch traces it are not real tensors, and
    # must not be the ones kept for later predictions
    train, test, encoder = data
    X, y = encoder.transform(train), _target(train)
    est = getattr(sklfi, name)(max_epochs=1, random_state=0)
    est.fit(X, _labels(y, name) if "Class" in name else y)
    before = est.predict(X[:5])
    _pairs.kept.clear()
    to_onnx(est)
    np.testing.assert_array_equal(est.predict(X[:5]), before)


@pytest.mark.parametrize("name", ["FMClassifier", "FFMRegressor", "AFMClassifier",
                                  "DeepFMRegressor", "NFMClassifier", "DLRMRegressor",
                                  "WideDeepClassifier"])  # fmt: skip
def test_pipeline_from_raw_columns(data, name):
    train, test, _ = data
    y = _target(train)
    pipe = make_pipeline(
        FieldEncoder(**ENCODER), getattr(sklfi, name)(max_epochs=2, random_state=0)
    )
    pipe.fit(train, (y > 1).astype(int) if "Class" in name else y)
    graph = to_onnx(pipe, train)
    assert [i.name for i in graph.graph.input] == [
        "user", "item", "shop", "flag", "genres", "age", "spend"
    ]  # fmt: skip
    # unseen ids, an item twice, missing values: all in the first rows
    _check(pipe, _session(graph), test, [1, 7, 10_000])


def test_hasher_pipeline_from_raw_columns(data):
    train, test, _ = data
    train, test = (
        train.assign(spend=np.log(train.spend)),
        test.assign(spend=np.log(test.spend)),
    )
    hasher = FieldHasher(2**8, categorical=["user", "item", "shop", "flag"],
                         multi_valued=["genres"], numeric=["spend"])  # fmt: skip
    for est in (sklfi.FMClassifier(max_epochs=2), sklfi.DeepFMRegressor(max_epochs=2)):
        y = _target(train)
        pipe = make_pipeline(hasher, est).fit(
            train, (y > 1) if is_classifier(est) else y
        )
        _check(pipe, _session(to_onnx(pipe, train)), test, [1, 7, 10_000])
    with pytest.raises(ValueError, match="sample of the DataFrame"):
        to_onnx(pipe)


def test_the_feed_is_the_csr_matrix(data):
    train, test, encoder = data
    est = sklfi.FMRegressor(max_epochs=1).fit(encoder.transform(train), _target(train))
    X = encoder.transform(test[:5]).tocsr()
    feed = onnx_inputs(est, X)
    assert set(feed) == {"indices", "data", "indptr"}
    np.testing.assert_array_equal(feed["indptr"], X.indptr)
    assert feed["indices"].dtype == np.int64 and feed["data"].dtype == np.float32


def test_wide_deep_crosses_come_from_the_feed(data):
    train, test, encoder = data
    est = sklfi.WideDeepClassifier(crosses=[("user", "item")], max_epochs=2)
    est.fit(encoder.transform(train), _target(train) > 1)
    X = encoder.transform(test)
    # the feed holds the crosses: columns beyond X's
    assert onnx_inputs(est, X[:100])["indices"].max() >= X.shape[1]
    _check(est, _session(to_onnx(est)), X, [7, 10_000])
    pipe = make_pipeline(clone(encoder), clone(est)).fit(train, _target(train) > 1)
    with pytest.raises(TypeError, match="crosses"):
        to_onnx(pipe, train)


def _skl2onnx_feed(model, X):
    feed = onnx_inputs(model, X)
    return {**feed, "flag": feed["flag"].astype(bool)}


def test_skl2onnx_converts_mixed_pipelines(data):
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    train, test, _ = data
    y = _target(train)
    pipe = make_pipeline(FieldEncoder(**ENCODER), sklfi.DeepFMClassifier(max_epochs=2))
    pipe.fit(train, y > 1)
    graph = skl2onnx.to_onnx(
        pipe, train[:5], target_opset=20, options={"zipmap": False}
    )
    # (skl2onnx reads a bool column as bool, where sklfi's graph reads int64)
    _check(pipe, _session(graph), test, [7, 10_000], feed=_skl2onnx_feed)

    columns = ["user", "spend"]
    one_hot = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    columns_step = ColumnTransformer(
        [("ids", one_hot, ["user"]), ("num", StandardScaler(), ["spend"])]
    )
    mixed = make_pipeline(columns_step, sklfi.FMRegressor(max_epochs=2))
    clean = train[columns].fillna("none")
    mixed.fit(clean, y)
    graph = skl2onnx.to_onnx(mixed, clean[:5], target_opset=20)
    other = test[columns].fillna("none")
    out = _session(graph).run(
        None,
        {
            "user": other[["user"]].to_numpy(object),
            "spend": other[["spend"]].to_numpy(),
        },
    )
    np.testing.assert_allclose(out[0][:, 0], mixed.predict(other), atol=TOL)


def test_refusals(data):
    train, _, encoder = data
    X, y = encoder.transform(train), _target(train) > 1
    bayes = sklfi.BayesianFMClassifier(n_iter=6, n_burn_in=2).fit(X, y)
    with pytest.raises(TypeError, match="average"):
        to_onnx(bayes)
    with pytest.raises(TypeError, match="SGD estimators"):
        to_onnx(encoder)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        to_onnx(sklfi.FMClassifier())
    three = make_pipeline(
        clone(encoder),
        FieldCrosser([("user", "item")]),
        sklfi.FMClassifier(max_epochs=1),
    )
    three.fit(train, y)
    with pytest.raises(TypeError, match="two steps"):
        to_onnx(three, train)
    pipe = make_pipeline(clone(encoder), sklfi.FMClassifier(max_epochs=1)).fit(train, y)
    with pytest.raises(ValueError, match="missing the column 'age'"):
        onnx_inputs(pipe, train.drop(columns="age"))
    with pytest.raises(RuntimeError, match="opset 20"):
        skl2onnx.to_onnx(pipe, train[:5], target_opset=18, options={"zipmap": False})


def _same_through_onnx(pipe, X, atol=TOL):
    session = _session(to_onnx(pipe, X))
    out = session.run(None, onnx_inputs(pipe, X))
    np.testing.assert_allclose(out[1], pipe.predict_proba(X), atol=atol)


def test_odd_values_are_fed_as_transform_encodes_them():
    rng = np.random.default_rng(0)
    n = 300
    train = pd.DataFrame(
        {
            "item": rng.integers(0, 5, n),
            "flag": rng.random(n) < 0.5,
            "tags": rng.choice(["a|b", "b", "c|a", ""], n).astype(object),
            "never": [None] * n,  # no value in fit: no category
            "price": rng.normal(size=n),
        }
    )
    y = (train["item"] % 2 == 0) ^ train["flag"]
    kinds = dict(categorical=["item", "flag", "never"], multi_valued=["tags"],
                 numeric=["price"])  # fmt: skip
    pipe = make_pipeline(FieldEncoder(**kinds), sklfi.FMClassifier(max_epochs=2))
    pipe.fit(train, y)
    odd = train[:6].astype(object).copy()
    odd["item"] = [1.5, "1", 2.0, None, 3, True]  # a fraction, text, a whole float
    odd["flag"] = ["True", False, None, True, 1, np.nan]
    odd["tags"] = [["a", None], ["a|b"], pd.NA, "b|b", ["c", "c"], None]
    odd["never"] = ["x", None, 1, "y", None, None]
    odd["price"] = odd["price"].astype(float)
    _same_through_onnx(pipe, odd)
    with pytest.raises(ValueError, match="infinity"):
        onnx_inputs(pipe, odd.assign(price=np.inf))
    # columns named as the graph's own arrays, or as its outputs
    kinds_data = {**kinds, "categorical": ["data", "flag", "never"]}
    renamed = make_pipeline(
        FieldEncoder(**kinds_data), sklfi.FMClassifier(max_epochs=1)
    )
    renamed.fit(train.rename(columns={"item": "data"}), y)
    _same_through_onnx(renamed, train.rename(columns={"item": "data"}))
    kinds_label = {**kinds, "categorical": ["label", "flag", "never"]}
    clash = make_pipeline(FieldEncoder(**kinds_label), sklfi.FMClassifier(max_epochs=1))
    clash.fit(train.rename(columns={"item": "label"}), y)
    with pytest.raises(ValueError, match="an output of the graph"):
        to_onnx(clash, train.rename(columns={"item": "label"}))


def test_hasher_values_and_inferred_kinds():
    rng = np.random.default_rng(1)
    n = 300
    train = pd.DataFrame(
        {
            "site": rng.choice(["a", "b", "", "c"], n).astype(object),
            "tags": [list(rng.choice(["x", "y", "z"], 2)) for _ in range(n)],
            "age": rng.normal(40, 10, n),
        }
    )
    y = (train["site"] == "") ^ (train["age"] > 40)
    pipe = make_pipeline(FieldHasher(2**6), sklfi.FMClassifier(max_epochs=2))
    pipe.fit(train, y)  # kinds inferred: text, lists, numbers
    test = train[:5].copy()
    test.loc[0, "site"] = None  # missing, where "" is a value
    test.at[1, "tags"] = ["x", None, np.nan]
    _same_through_onnx(pipe, test)
    with pytest.raises(ValueError, match="fitted on"):
        to_onnx(pipe, train[["age", "site", "tags"]])
    with pytest.raises(ValueError, match="separator"):
        onnx_inputs(pipe, test.assign(tags=[["x|y"]] * 5))


def test_float_labels_through_skl2onnx(data):
    train, test, _ = data
    pipe = make_pipeline(FieldEncoder(**ENCODER), sklfi.FMClassifier(max_epochs=1))
    pipe.fit(train, (_target(train) > 1).astype(float))
    graph = skl2onnx.to_onnx(
        pipe, train[:5], target_opset=20, options={"zipmap": False}
    )
    label, _ = _session(graph).run(None, _skl2onnx_feed(pipe, test))
    np.testing.assert_array_equal(label, pipe.predict(test))
