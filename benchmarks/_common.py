"""What the benchmark scripts share: the MovieLens-100K u1 data, the
protocol's settings, prediction timing and scores."""

import time

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import roc_auc_score, root_mean_squared_error

import sklfi
from sklfi.datasets import load_movielens_100k
from sklfi.metrics import _scores as scores  # noqa: F401 (re-exported)
from sklfi.preprocessing import MovieLensFeatures

#: The reference fields of the protocol (``MovieLensFeatures`` groups).
FIELDS = [
    "user_id",
    "gender",
    "age_bucket",
    "occupation",
    "zip3",
    "item_id",
    "genres",
    "decade",
]
#: Prediction batch sizes, and the passes each prediction timing is best of.
BATCHES = (256, 4096)
REPEAT_PREDICT = 10


def load_features(task, groups=FIELDS):
    """Training and test FieldMatrix of u1 with the ``MovieLensFeatures``
    ``groups`` (every group when ``None``), and the targets: the rating, or
    rating >= 4 for ``task="ctr"``."""
    ml = load_movielens_100k()
    train, test = ml.folds[0]
    r = ml.ratings
    features = MovieLensFeatures(ml.users, ml["items"], groups=groups)
    X_train = features.fit_transform(r.iloc[train])
    X_test = features.transform(r.iloc[test])
    y = r.rating.to_numpy(dtype=np.float64)
    if task == "ctr":
        y = (y >= 4).astype(float)
    return X_train, X_test, y[train], y[test]


def load(task):
    """The reference fields, plus the per-field integer codes the peers read:
    ``(X_train, X_test, y_train, y_test, codes, dims)``; ``codes[split]`` is
    ``(first code per field, up to 6 genre codes)``, code ``dims[f] - 1``
    meaning none."""
    X_train, X_test, y_train, y_test = load_features(task)
    codes = {}
    for name, X in (("train", X_train), ("test", X_test)):
        csr = X.tocsr()
        per_field, genres = [], None
        for f, field in enumerate(X.field_names):
            cols = np.flatnonzero(X.fields == f)
            block = csr[:, cols]
            if field == "genres":  # up to 6 genres, padded with 0 (= none)
                lengths = np.diff(block.indptr)
                genres = np.zeros((block.shape[0], 6), dtype=np.int64)
                pos = np.arange(block.nnz) - np.repeat(block.indptr[:-1], lengths)
                keep = pos < 6
                rows = np.repeat(np.arange(block.shape[0]), lengths)
                genres[rows[keep], pos[keep]] = block.indices[keep] + 1
            # first non-zero column, or an extra "none" code
            first = np.where(
                np.diff(block.indptr) > 0,
                block.indices[np.minimum(block.indptr[:-1], block.nnz - 1)],
                len(cols),
            )
            per_field.append(first)
        codes[name] = (np.column_stack(per_field).astype(np.int64), genres)
    dims = [int((X_train.fields == f).sum()) + 1 for f in range(len(FIELDS))]
    return X_train, X_test, y_train, y_test, codes, dims


def first_genre_matrix(codes, dims):
    """Per-field codes (as pytorch-fm reads them), one-hot encoded: a
    FieldMatrix with one non-zero per field."""
    n, F = codes.shape
    starts = np.cumsum([0, *dims[:-1]])
    X = sp.csr_matrix(
        (np.ones(n * F), (codes + starts).ravel(), np.arange(0, n * F + 1, F)),
        shape=(n, sum(dims)),
    )
    return sklfi.FieldMatrix(X, np.repeat(np.arange(F), dims), field_names=FIELDS)


def with_protocol(est, epochs, batch_size=256):
    """``est`` with the protocol's settings: embedding 16, MLP (64, 32), Adam
    lr 1e-3, no weight decay, no dropout, seed 0."""
    params = dict(
        embedding_dim=16, lr=1e-3, optimizer="adam", weight_decay=0.0,
        batch_size=batch_size, max_epochs=epochs, random_state=0,
        hidden_layer_sizes=(64, 32), dropout=0.0, attention_dim=16,
        attention_weight_decay=0.0,
    )  # fmt: skip
    own = est.get_params()
    return est.set_params(**{k: v for k, v in params.items() if k in own})


def at_batch_size(est, predict, X):
    """``predict(X)`` with the fitted sklfi ``est``, as a function of the
    batch size."""

    def run(batch_size):
        est.net_.batch_size = batch_size
        return predict(X)

    return run


def predict_rates(predictors, n_rows, batch_sizes=BATCHES):
    """Rows/s of every ``predict(batch_size)`` of ``predictors`` (name ->
    function) at each batch size: the predictors take turns
    ``REPEAT_PREDICT`` times, so that none meets a slow phase of the
    machine alone, and the best time of each is kept."""
    seconds = {(name, b): np.inf for name in predictors for b in batch_sizes}
    for _ in range(REPEAT_PREDICT):
        for name, predict in predictors.items():
            for b in batch_sizes:
                start = time.perf_counter()
                predict(b)
                seconds[name, b] = min(seconds[name, b], time.perf_counter() - start)
    return {
        name: {b: n_rows / seconds[name, b] for b in batch_sizes} for name in predictors
    }


def metric(task, y_true, pred):
    """RMSE for ``task="rating"``, else ROC AUC."""
    if task == "rating":
        return root_mean_squared_error(y_true, pred)
    return roc_auc_score(y_true, pred)


# -- pytorch-fm, the peer most scripts train beside sklfi -----------------------
def torchfm_net(model, dims, dim=8, ffm_dim=4, nfm_layers=(64,)):
    """pytorch-fm's model of the name, over fields of ``dims`` codes, with
    vectors of ``dim`` (``ffm_dim`` for FFM), no dropout."""
    np.long = np.int64  # pytorch-fm still uses np.long, removed from numpy
    from torchfm.model.afm import AttentionalFactorizationMachineModel
    from torchfm.model.dfm import DeepFactorizationMachineModel
    from torchfm.model.ffm import FieldAwareFactorizationMachineModel
    from torchfm.model.fm import FactorizationMachineModel
    from torchfm.model.nfm import NeuralFactorizationMachineModel
    from torchfm.model.wd import WideAndDeepModel

    return {
        "fm": lambda: FactorizationMachineModel(dims, dim),
        "ffm": lambda: FieldAwareFactorizationMachineModel(dims, ffm_dim),
        "afm": lambda: AttentionalFactorizationMachineModel(dims, dim, dim, (0, 0)),
        "nfm": lambda: NeuralFactorizationMachineModel(dims, dim, nfm_layers, (0, 0)),
        "widedeep": lambda: WideAndDeepModel(dims, dim, (64, 32), 0),
        "deepfm": lambda: DeepFactorizationMachineModel(dims, dim, (64, 32), 0),
    }[model]()


def torchfm_epoch(net, loader, optimizer, criterion):
    """One training pass of a pytorch-fm model, as its examples train."""
    net.train()
    for fields, target in loader:
        loss = criterion(net(fields), target)
        net.zero_grad()
        loss.backward()
        optimizer.step()
