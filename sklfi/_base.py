"""The estimator base shared by every model: validation, fields, training.

An sklfi estimator is a plain scikit-learn estimator (``__init__`` only stores
its parameters) whose ``fit`` validates the data, resolves the fields, encodes
the target and trains a skorch :class:`~skorch.NeuralNet` kept in ``net_``.
A model contributes only ``_build_module``: its torch module from its
hyperparameters.
"""

from __future__ import annotations

import contextlib
import inspect

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping
from skorch.dataset import ValidSplit
from skorch.utils import is_dataset, to_tensor
from torch import nn

from ._data import BatchIterator, CSRDataset
from ._fields import FieldMatrix, Fields
from .nn import FieldEmbedding, one_per_field

#: Optimizers by name. Adam, AdamW and SGD run "fused" (one kernel for all
#: parameters, on CPU and CUDA): an Adam step on CPU is 2.5 (2,700 x 17
#: table) to 7 (2**20 x 9) times faster than PyTorch's default.
OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "adagrad": torch.optim.Adagrad,
    "sgd": torch.optim.SGD,
}


class SparseNet(NeuralNet):
    """skorch net whose batches are :class:`~sklfi.nn.SparseBatch` objects.

    Any CSR matrix passed to ``fit``/``forward`` is wrapped in a
    :class:`~sklfi._data.CSRDataset`; the loss is the sample-weighted mean of
    the criterion (built with ``reduction="none"``).
    """

    def get_dataset(self, X, y=None):
        if is_dataset(X):
            return X
        return CSRDataset(sp.csr_matrix(X, dtype=np.float32), y)

    def infer(self, x, **fit_params):
        return self.module_(x.to(self.device))

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = self.criterion_(y_pred, to_tensor(y_true, device=self.device))
        if loss.dim() > 1:
            loss = loss.mean(1)
        weight = getattr(X, "sample_weight", None)
        if weight is not None:
            loss = loss * weight.to(loss.device)
        return loss.mean()


def _silent(*args, **kwargs):
    pass


@contextlib.contextmanager
def _own_rng(device, seed=None):
    """Run with torch's global RNG state restored afterwards, seeded if asked:
    neither fit nor predict changes the caller's random numbers."""
    device = torch.device(device)
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        if seed is not None:
            torch.manual_seed(seed)
        yield


class _BaseEstimator(BaseEstimator):
    """Validation, fields and the training loop shared by every estimator.

    Subclasses define ``__init__`` (storing the common parameters listed in
    ``_SHARED_PARAMS_DOC`` plus their own) and ``_build_module(n_outputs)``.
    """

    # -- subclass API -------------------------------------------------------
    def _build_module(self, n_outputs: int) -> nn.Module:
        """The model's torch module, from the fitted fields and hyperparameters."""
        raise NotImplementedError

    def _prepare(self, X: sp.csr_matrix, reset: bool) -> sp.csr_matrix:
        """Model-specific input transformation after validation (fitted when
        ``reset``); the identity by default."""
        return X

    def _after_fit(self, X: sp.csr_matrix) -> None:
        """Set model-specific fitted attributes from the training data."""

    def _param_groups(self) -> list:
        """skorch ``optimizer__param_groups``: (pattern, options) pairs."""
        return []

    # -- validation ---------------------------------------------------------
    def _validate(self, X, y="no_validation", reset=True, **y_params):
        """Check X (and y, in fit); return canonical float32 CSR X (and y)."""
        fm = X if isinstance(X, FieldMatrix) else None
        data = _float32_csr(X.tocsr() if fm is not None else X)
        kwargs = dict(accept_sparse="csr", dtype=np.float32, reset=reset)
        with_y = not isinstance(y, str)
        if with_y:
            Xc, y = validate_data(self, data, y, **kwargs, **y_params)
        else:
            Xc = validate_data(self, data, **kwargs)
        if not isinstance(Xc, sp.csr_matrix):  # (a csr_array, say)
            Xc = sp.csr_matrix(Xc)
        if not Xc.has_canonical_format:
            Xc = Xc.copy()
            Xc.sum_duplicates()
        if reset:
            self._set_fields(fm, Xc, getattr(data, "columns", None))
        elif fm is not None and (
            fm.field_names != self.field_names_
            or not np.array_equal(fm.fields, self.fields_)
        ):
            raise ValueError(
                "X is a FieldMatrix whose fields differ from the fields seen in "
                f"fit ({', '.join(self.field_names_)})."
            )
        Xc = self._prepare(Xc, reset)
        return (Xc, y) if with_y else Xc

    def _set_fields(self, fm, X, columns):
        if fm is not None:
            if self.fields is not None and not np.array_equal(
                Fields.build(self.fields, X.shape[1], X=X).index, fm.fields
            ):
                raise ValueError(
                    "the fields parameter disagrees with the fields carried by "
                    "the FieldMatrix X; leave fields=None to use X's own."
                )
            info = fm._fields
        else:
            names = None
            if self.fields is None and columns is not None:
                names = [str(c) for c in columns]
            info = Fields.build(self.fields, X.shape[1], names=names, X=X)
        self._fields = info
        self.fields_ = info.index
        self.field_names_ = info.names
        self.field_kinds_ = info.kinds

    # -- training -----------------------------------------------------------
    def _device(self):
        if self.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        return self.device

    def _optimizer(self):
        """Optimizer class and extra keyword arguments."""
        if isinstance(self.optimizer, str):
            try:
                name = self.optimizer.lower()
                return OPTIMIZERS[name], ({} if name == "adagrad" else {"fused": True})
            except KeyError:
                raise ValueError(
                    f"optimizer={self.optimizer!r} is not one of "
                    f"{sorted(OPTIMIZERS)}; pass a torch.optim.Optimizer class "
                    "for any other."
                ) from None
        return self.optimizer, {}

    def _batch_size(self, n_samples):
        """``batch_size``, resolving "auto" to 32..1024 rows, n_samples / 64."""
        if self.batch_size == "auto":
            return int(min(1024, max(32, n_samples // 64)))
        return self.batch_size

    def _check_params(self):
        for name in ("max_epochs", "batch_size"):
            value = getattr(self, name)
            if name == "batch_size" and value == "auto":
                continue
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        if not 0 < self.validation_fraction < 1:
            raise ValueError(
                "validation_fraction must be in (0, 1), got "
                f"{self.validation_fraction!r}."
            )

    def _fit_net(self, X, y, sample_weight, criterion, n_outputs, stratify):
        """Build the module and train a fresh skorch net on (X, y)."""
        self._check_params()
        device = self._device()
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        callbacks = list(self.callbacks or [])
        train_split = None
        if self.early_stopping:
            train_split = ValidSplit(
                self.validation_fraction, stratified=stratify, random_state=seed
            )
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStopping(
                        patience=self.n_iter_no_change,
                        load_best=True,
                        sink=print if self.verbose else _silent,
                    ),
                )
            )
        optimizer, optimizer_kwargs = self._optimizer()
        with _own_rng(device, seed):
            self.net_ = SparseNet(
                module=self._build_module(n_outputs),
                criterion=criterion(reduction="none"),
                optimizer=optimizer,
                lr=self.lr,
                optimizer__weight_decay=self.weight_decay,
                optimizer__param_groups=self._param_groups(),
                **{f"optimizer__{k}": v for k, v in optimizer_kwargs.items()},
                max_epochs=self.max_epochs,
                batch_size=self._batch_size(X.shape[0]),
                iterator_train=BatchIterator,
                iterator_valid=BatchIterator,
                iterator_train__shuffle=True,
                train_split=train_split,
                callbacks=callbacks,
                device=device,
                verbose=self.verbose,
            )
            # skorch's fit is initialize then partial_fit; the dataset needs
            # the initialized module's fields
            self.net_.initialize()
            dataset = self._dataset(X, y, sample_weight)
            self.net_.partial_fit(dataset, y if stratify else None)
            self.n_iter_ = len(self.net_.history)
            self._after_fit(X)
        return self

    def _dataset(self, X, y=None, sample_weight=None):
        """A validated CSR ``X`` as a :class:`~sklfi._data.CSRDataset`, its
        batches flagged ``one_per_field`` when the module's fields allow it:
        checked once here rather than in every batch."""
        embedding = getattr(self.net_.module_, "embedding", None)
        flag = isinstance(embedding, FieldEmbedding) and one_per_field(
            X.indptr, X.indices, embedding.field_of.cpu(), embedding.n_fields
        )
        return CSRDataset(X, y, sample_weight, one_per_field=flag)

    def _forward(self, X):
        """Raw model outputs (logits or scaled values), shape (n, K), numpy."""
        check_is_fitted(self, "net_")
        X = self._validate(X, reset=False)
        with torch.no_grad():
            out = [self.net_.module_(batch) for batch in self._module_batches(X)]
        return torch.cat(out)[: X.shape[0]].cpu().numpy().astype(np.float64)

    def _module_batches(self, X):
        """Batches of a validated CSR ``X`` on the net's device, with the
        module in evaluation mode.

        Every batch has the same number of rows (extra rows, see
        :meth:`~sklfi.nn.SparseBatch.padded`, pad the last):
        float32 matrix products differ in the last bits between batch sizes,
        and a row's prediction must not depend on its neighbours.
        """
        self.net_.module_.eval()
        size = self.net_.batch_size
        for batch, _ in self._dataset(X).batches(None, size):
            if batch.n_rows < size:  # the last batch
                batch = batch.padded(size)
            yield batch.to(self.net_.device)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class FIClassifierMixin(ClassifierMixin):
    """Classifier side: label encoding, logistic/softmax outputs."""

    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        Parameters
        ----------
        X : {FieldMatrix, sparse matrix, array-like} of shape (n_samples, n_features)
            Training data. A :class:`~sklfi.FieldMatrix` brings its fields;
            otherwise ``fields`` gives them.
        y : array-like of shape (n_samples,)
            Class labels (any type; two or more classes).
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of every sample in the loss.

        Returns
        -------
        self
        """
        X, y = self._validate(X, y)
        check_classification_targets(y)
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float32)
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        present = np.unique(y_enc[sample_weight > 0])
        if len(present) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes "
                f"with positive weight; got 1 class: {self.classes_[present]}."
            )
        if len(self.classes_) == 2:
            target = y_enc.astype(np.float32).reshape(-1, 1)
            criterion, n_outputs = nn.BCEWithLogitsLoss, 1
        else:
            target = y_enc.astype(np.int64)
            criterion, n_outputs = nn.CrossEntropyLoss, len(self.classes_)
        return self._fit_net(X, target, sample_weight, criterion, n_outputs, True)

    def decision_function(self, X):
        """Logits: shape (n_samples,) for two classes, else (n_samples, n_classes)."""
        out = self._forward(X)
        return out[:, 0] if out.shape[1] == 1 else out

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), in ``classes_`` order."""
        logits = torch.from_numpy(self._forward(X))
        if logits.shape[1] == 1:
            p = torch.sigmoid(logits)
            proba = torch.cat([1 - p, p], dim=1)
        else:
            proba = torch.softmax(logits, dim=1)
        return proba.numpy()

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`."""
        logits = torch.from_numpy(self._forward(X))
        if logits.shape[1] == 1:
            logits = torch.cat([torch.zeros_like(logits), logits], dim=1)
        return torch.log_softmax(logits, dim=1).numpy()

    def predict(self, X):
        """Most probable class of every sample, as labels of ``classes_``."""
        out = self._forward(X)
        best = (out[:, 0] > 0).astype(int) if out.shape[1] == 1 else out.argmax(1)
        return self.classes_[best]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        return tags


class FIRegressorMixin(RegressorMixin):
    """Regressor side: the target is standardised for training."""

    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        Parameters
        ----------
        X : {FieldMatrix, sparse matrix, array-like} of shape (n_samples, n_features)
            Training data. A :class:`~sklfi.FieldMatrix` brings its fields;
            otherwise ``fields`` gives them.
        y : array-like of shape (n_samples,)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of every sample in the loss.

        Returns
        -------
        self
        """
        X, y = self._validate(X, y, y_numeric=True)
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float32)
        # train on a standardised target, so that defaults suit any scale
        self._y_mean = float(np.average(y, weights=sample_weight))
        std = float(np.std(y))
        self._y_scale = std if std > 0 else 1.0
        target = ((y - self._y_mean) / self._y_scale).astype(np.float32)
        return self._fit_net(
            X, target.reshape(-1, 1), sample_weight, nn.MSELoss, 1, False
        )

    def predict(self, X):
        """Predicted target of every sample, shape (n_samples,)."""
        return self._forward(X)[:, 0] * self._y_scale + self._y_mean


def _float32_csr(X):
    """A real CSR matrix as float32 sharing ``X``'s index arrays where scipy
    keeps their type (sklearn's conversion copies them), and keeping its
    known canonical format (scipy caches it on ``X``, so predicting on the
    same matrix again skips the check); anything else unchanged, for
    ``validate_data`` to check."""
    csr = sp.issparse(X) and X.format == "csr" and X.dtype.kind in "biuf"
    if not csr or X.dtype == np.float32:
        return X
    with np.errstate(over="ignore"):  # too large for float32: the check says so
        data = X.data.astype(np.float32)
    out = sp.csr_matrix((data, X.indices, X.indptr), X.shape)
    if X.has_canonical_format:
        out.has_canonical_format = True
    return out


def store_params(estimator, params: dict) -> None:
    """Store ``__init__``'s arguments (``locals()``) unchanged, as sklearn asks."""
    for name, value in params.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


#: numpydoc text shared by every estimator, substituted into the model
#: docstring templates by :func:`estimator_doc`.
SHARED_PARAMS_DOC = """\
fields : array-like of shape (n_features,), default=None
        Field id (``0..F-1``) or field name of every column of ``X``. ``None``
        takes the fields of a :class:`~sklfi.FieldMatrix` ``X``, and otherwise
        puts every column in a field of its own.
    lr : float, default={lr}
        Learning rate of the optimizer.
    weight_decay : float, default={weight_decay}
        L2 penalty on the weights (the optimizer's ``weight_decay``).
    optimizer : {{"adam", "adamw", "adagrad", "sgd"}} or torch optimizer class, \
default="{optimizer}"
        The optimizer.
    max_epochs : int, default={max_epochs}
        Number of passes over the training data (the most, with early stopping).
    batch_size : int or "auto", default="{batch_size}"
        Rows per gradient step, and per forward pass when predicting.
        ``"auto"`` takes ``n_samples / 64`` rows, at least 32 and at most
        1024, so that small data sets still get enough steps per epoch.
    early_stopping : bool, default={early_stopping}
        Hold out ``validation_fraction`` of the training rows (stratified for
        classifiers) and stop when their loss has not improved for
        ``n_iter_no_change`` epochs, keeping the best weights. Without it every
        row is used for training and no validation loss is computed.
    validation_fraction : float, default={validation_fraction}
        Share of the training rows held out when ``early_stopping=True``.
    n_iter_no_change : int, default={n_iter_no_change}
        Patience of early stopping, in epochs.
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Extra skorch callbacks, e.g. ``skorch.callbacks.LRScheduler``.
    random_state : int, RandomState instance or None, default=None
        Seed of weight initialisation, shuffling, dropout and the validation
        split; an int makes ``fit`` reproducible.
    device : str, default="{device}"
        Torch device to train and predict on (``"cpu"``, ``"cuda"``,
        ``"cuda:1"``...); ``"auto"`` picks CUDA when available.
    verbose : int, default={verbose}
        1 prints a table of losses and times per epoch."""

KIND_ATTRS_DOC = {
    "classifier": """\
classes_ : ndarray of shape (n_classes,)
        Class labels seen in ``fit``.
    """,
    "regressor": "",
}

SHARED_ATTRS_DOC = """\
n_features_in_ : int
        Number of columns seen in ``fit``.
    feature_names_in_ : ndarray of str
        Column names seen in ``fit``, when ``X`` was a DataFrame.
    fields_ : ndarray of shape (`n_features_in_`,)
        Field id of every column.
    field_names_ : tuple of str
        Name of every field.
    field_kinds_ : tuple of str
        ``"categorical"``, ``"multi_valued"`` or ``"numeric"`` per field.
    n_iter_ : int
        Number of epochs run.
    net_ : skorch.NeuralNet
        The trained skorch net: ``net_.history`` holds the losses per epoch,
        ``net_.module_`` the torch module."""

EXAMPLE_DOC = """\
>>> import pandas as pd
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklfi import {name}
    >>> from sklfi.preprocessing import FieldEncoder
    >>> df = pd.DataFrame({{"user": ["a", "b", "a", "b"],
    ...                    "item": ["x", "x", "y", "y"]}})
    >>> model = make_pipeline(FieldEncoder(), {name}(random_state=0))
    >>> {call}"""

EXAMPLE_CALL = {
    "classifier": "model.fit(df, [1, 0, 0, 1]).predict_proba(df).shape\n    (4, 2)",
    "regressor": "model.fit(df, [5.0, 1.0, 2.0, 4.0]).predict(df).shape\n    (4,)",
}


def estimator_doc(cls):
    """Class decorator: build an estimator's docstring from its model template.

    The template is the docstring of the model base class; ``{kind}``,
    ``{shared_params}`` (with the defaults read from the signature),
    ``{kind_attrs}``, ``{shared_attrs}`` and ``{example}`` are filled in.
    """
    kind = "classifier" if issubclass(cls, ClassifierMixin) else "regressor"
    template = next(
        c.__doc__ for c in cls.__mro__[1:] if "{shared_params}" in (c.__doc__ or "")
    )
    defaults = {
        name: p.default
        for name, p in inspect.signature(cls.__init__).parameters.items()
    }
    cls.__doc__ = (
        template.replace("{kind}", kind)
        .replace("{shared_params}", SHARED_PARAMS_DOC.format(**defaults))
        .replace("{kind_attrs}", KIND_ATTRS_DOC[kind])
        .replace("{shared_attrs}", SHARED_ATTRS_DOC)
        .replace(
            "{example}",
            EXAMPLE_DOC.format(name=cls.__name__, call=EXAMPLE_CALL[kind]),
        )
    )
    return cls
