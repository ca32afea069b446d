"""The estimator base shared by every model: parameters, validation, fields,
training and prediction.

An sklfi estimator is a plain scikit-learn estimator (``__init__`` only stores
its parameters) whose ``fit`` checks its parameters (``_parameter_constraints``,
scikit-learn's own mechanism), validates the data, resolves the fields,
encodes the target and trains a :class:`~sklfi._net.SparseNet` kept in
``net_``. A model contributes its docstring, its signature, the constraints
of its own parameters and ``_build_module``: its torch module.
"""

from __future__ import annotations

import contextlib
import copy
import os
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    RegressorMixin,
    _fit_context,
    is_classifier,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)
from skorch.callbacks import Callback, EarlyStopping
from skorch.dataset import ValidSplit
from torch import nn

from ._data import BatchIterator
from ._fields import FieldMatrix, Fields, mixed_kinds
from ._net import AcceleratedNet, Interrupted, SparseNet, WeightAveraging
from ._random import build_seeded, fit_stream
from .nn import LazyAdamW

#: Optimizers by name, with their options. Adam, AdamW and SGD run "fused"
#: (one kernel for all parameters, on CPU and CUDA): an Adam step on CPU is
#: 2.5 (2,700 x 17 table) to 7 (2**20 x 9) times faster than PyTorch's
#: default.
OPTIMIZERS = {
    "adam": (torch.optim.Adam, {"fused": True}),
    "adamw": (torch.optim.AdamW, {"fused": True}),
    "adagrad": (torch.optim.Adagrad, {}),
    "sgd": (torch.optim.SGD, {"fused": True}),
}

#: Table size (values) from which ``sparse_updates="auto"`` updates only the
#: rows of each batch.
SPARSE_FROM = 2**22

#: Constraints of the parameters of models with an MLP.
MLP_CONSTRAINTS = {
    "hidden_layer_sizes": ["array-like"],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "batch_norm": ["boolean"],
}


def _silent(*args, **kwargs):
    pass


class FieldInput:
    """Validation of ``X`` and its fields, shared by every estimator: sklearn's
    checks, a canonical float32 CSR matrix, and the fields (from a
    FieldMatrix, the ``fields`` parameter, or one per column) resolved in
    ``fit`` and checked in ``predict``. The estimator has a ``fields``
    parameter and an ``embedding_dim``."""

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
        elif (
            fm is not None
            and fm._fields is not self._fields
            and (
                fm.field_names != self.field_names_
                or not np.array_equal(fm.fields, self.fields_)
            )
        ):
            raise ValueError(
                "X is a FieldMatrix whose fields differ from the fields seen in "
                f"fit ({', '.join(self.field_names_)})."
            )
        return (Xc, y) if with_y else Xc

    def _check_size(self, n_features: int, n_fields: int) -> None:
        """Refuse, before allocating it, a model that cannot fit in memory."""
        raise NotImplementedError

    def _set_fields(self, fm, X, columns):
        if self.fields is None and fm is None:  # one field per column
            self._check_size(X.shape[1], X.shape[1])
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
        self._check_size(len(info.index), info.n_fields)
        self._fields = info
        self.fields_ = info.index
        self.field_names_ = info.names
        self.field_kinds_ = info.kinds


class _BaseEstimator(FieldInput, BaseEstimator):
    """Parameters, validation, fields, training and prediction shared by
    every estimator.

    Subclasses define ``__init__`` (storing the shared parameters plus their
    own), extend ``_parameter_constraints`` with their own parameters, and
    define ``_build_module(fields, n_outputs)``.
    """

    _parameter_constraints: dict = {
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "fields": ["array-like", None],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "optimizer": [StrOptions(set(OPTIMIZERS)), HasMethods(["step", "zero_grad"])],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "average": ["boolean", Interval(Integral, 1, None, closed="left")],
        "batch_size": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
        "sparse_updates": ["boolean", StrOptions({"auto"})],
        "callbacks": [list, None],
        "random_state": ["random_state"],
        "device": [str, torch.device],
        "accelerator": [HasMethods(["prepare", "backward"]), None],
        "verbose": ["verbose"],
    }

    def _table_width(self, n_fields: int) -> int:
        """Values per column in the module's embedding table."""
        return self.embedding_dim + 1

    def _check_size(self, n_features: int, n_fields: int) -> None:
        """Refuse, before allocating it, a model that cannot fit in memory:
        the embedding table, its gradient (and the buffer each step scatters
        it into), two optimizer states and the sum of weight averaging, and
        the field index (and a name per field)."""
        epochs = 1 if getattr(self, "_streaming", False) else self.max_epochs
        copies = 6 if self._averaged_epochs(epochs) > 1 else 5
        width = self._table_width(n_fields)
        check_memory(
            4 * copies * n_features * width + 8 * n_features + 64 * n_fields,
            f"X has {n_features:,} columns in {n_fields:,} fields: "
            f"{type(self).__name__} would need its embedding table ({width} "
            "float32 values per column), with its gradient and the optimizer's "
            "state",
            "Hash the ids into fewer columns (2**20 to 2**24 per field is "
            "usual), or remap them to the ids actually seen.",
        )

    # -- subclass API -------------------------------------------------------
    def _build_module(self, fields: Fields, n_outputs: int) -> nn.Module:
        """The model's torch module for input columns in ``fields`` (those of
        :meth:`_model_input`), from the hyperparameters."""
        raise NotImplementedError

    def _model_input(self, X: sp.csr_matrix, fit: bool = False):
        """The module's input for a validated ``X`` and its fields: ``(X,
        Fields)``. A model that transforms its input (Wide & Deep's crosses)
        fits the transformation when ``fit``."""
        return X, self._fields

    def _after_fit(self, X: sp.csr_matrix) -> None:
        """Set model-specific fitted attributes from the module's input."""

    def _optimizer(self, sparse: bool):
        """The optimizer class and its options."""
        if not isinstance(self.optimizer, str):
            return self.optimizer, {}
        if not sparse:
            return OPTIMIZERS[self.optimizer]
        if self.optimizer not in ("adam", "adamw"):
            raise ValueError(
                f"sparse updates need optimizer 'adam' or 'adamw' (updated "
                f"lazily), or a torch optimizer class that takes sparse "
                f"gradients; got optimizer={self.optimizer!r}."
            )
        return LazyAdamW, {"decoupled": self.optimizer == "adamw", "fused": True}

    def _weight_decay(self, n_fields: int) -> float:
        """``weight_decay`` for a module over ``n_fields`` fields."""
        return self.weight_decay

    def _param_groups(self) -> list:
        """skorch ``optimizer__param_groups``: (pattern, options) pairs."""
        return []

    # -- parameters ---------------------------------------------------------
    def _validate_params(self):
        """scikit-learn's checks of ``_parameter_constraints``, then what a
        constraint cannot say: layer sizes, device names, callbacks."""
        super()._validate_params()
        for name in self._parameter_constraints:
            if not name.endswith("_layer_sizes"):
                continue
            sizes = np.asarray(getattr(self, name), dtype=object)
            if sizes.ndim != 1 or not all(
                isinstance(s, Integral) and not isinstance(s, bool) and s >= 1
                for s in sizes
            ):
                raise ValueError(
                    f"The {name!r} parameter of {type(self).__name__} must be a "
                    f"sequence of positive integers. Got {getattr(self, name)!r} "
                    "instead."
                )
        if self.device != "auto":
            try:
                torch.device(self.device)
            except (RuntimeError, ValueError) as exc:
                raise ValueError(
                    f"The 'device' parameter of {type(self).__name__} must be a "
                    f"torch device or 'auto'. Got {self.device!r} instead ({exc})."
                ) from None
        for cb in self.callbacks or []:
            named = isinstance(cb, tuple) and len(cb) == 2 and isinstance(cb[0], str)
            cb = cb[1] if named else cb
            if not isinstance(cb, Callback) and not (
                isinstance(cb, type) and issubclass(cb, Callback)
            ):
                raise TypeError(
                    f"The 'callbacks' parameter of {type(self).__name__} must be "
                    "a list of skorch callbacks or (name, callback) tuples. Got "
                    f"{cb!r} in it."
                )

    def _sparse(self, fields: Fields) -> bool:
        """Whether the module's table gets sparse gradients (and the
        optimizer updates only the rows of each batch)."""
        nccl = (
            self.accelerator is not None
            and self.accelerator.num_processes > 1
            and "nccl" in str(self.accelerator.state.backend)
        )
        if self.sparse_updates is True and nccl:
            raise ValueError(
                "sparse_updates=True, but NCCL (the accelerator's backend) cannot "
                "all-reduce sparse gradients: use sparse_updates='auto' (dense "
                "updates under NCCL) or the gloo backend."
            )
        if self.sparse_updates != "auto":
            return self.sparse_updates
        size = len(fields.index) * self._table_width(fields.n_fields)
        return size >= SPARSE_FROM and not nccl

    # -- training -----------------------------------------------------------
    def _placement(self):
        """The device the model trains on, and the net's arguments that
        place it: ``device``, or the accelerator (which then shards the
        training rows between its processes)."""
        acc = self.accelerator
        if acc is None:
            device = self._device()
            return device, {"device": device}
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if acc.num_processes == 1 and world > 1:
            raise ValueError(
                f"this process is one of WORLD_SIZE={world}, but the accelerator "
                "runs a single process: on a machine without a GPU, make it with "
                "Accelerator(cpu=True), which then trains with DDP on gloo."
            )
        asked = None if self.device in ("cpu", "auto") else torch.device(self.device)
        if asked is not None and (
            asked.type != acc.device.type or asked.index not in (None, acc.device.index)
        ):
            raise ValueError(
                f"device={self.device!r}, but the accelerator places the model on "
                f"{acc.device}: leave device to the accelerator."
            )
        shard = (acc.process_index, acc.num_processes)
        return acc.device, {
            "accelerator": acc,
            "device": None,
            "iterator_train__shard": shard,
        }

    def _device(self):
        if self.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        if torch.device(self.device).type == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"device={self.device!r}, but this torch has no CUDA device "
                f"(torch {torch.__version__}, a CPU build or no GPU): use "
                "device='cpu', or 'auto' to take CUDA only when there is one."
            )
        return self.device

    def _batch_size(self, n_samples):
        """``batch_size``, resolving "auto" to 32..1024 rows, n_samples / 64."""
        if self.batch_size == "auto":
            return int(min(1024, max(32, n_samples // 64)))
        return self.batch_size

    @contextlib.contextmanager
    def _all_or_nothing(self):
        """A fit either completes or leaves the estimator exactly as it was:
        on any exception (a KeyboardInterrupt too), every attribute is put
        back, the previous model included."""
        before = dict(self.__dict__)
        try:
            yield
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    @contextlib.contextmanager
    def _restorable(self):
        """Put the fitted model's weights, optimizer state and history back
        if the block raises: training continued in place is undone."""
        net = self.net_
        weights = {k: v.clone() for k, v in net.module_.state_dict().items()}
        optimizer = copy.deepcopy(net.optimizer_.state_dict())
        n_epochs = len(net.history)
        try:
            yield
        except BaseException:
            net.module_.load_state_dict(weights)
            net.optimizer_.load_state_dict(optimizer)
            del net.history[n_epochs:]
            raise

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        A fit either completes or leaves the estimator as it was (an
        interrupted or failed refit keeps the previous model). With
        ``warm_start=True`` and a fitted model, training continues from it.

        Parameters
        ----------
        X : {FieldMatrix, sparse matrix, array-like} of shape (n_samples, n_features)
            Training data. A :class:`~sklfi.FieldMatrix` brings its fields;
            otherwise ``fields`` gives them.
        y : array-like of shape (n_samples,)
            Class labels (classifiers: of one type, two classes or more) or
            target values (regressors).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of every sample in the loss.

        Returns
        -------
        self
        """
        warm = self.warm_start and hasattr(self, "net_")
        with self._all_or_nothing():
            self._streaming = False
            X, y = self._validate(X, y, reset=not warm)
            sample_weight = _check_weights(sample_weight, X)
            if warm:
                with self._restorable():
                    target = self._encode(y)
                    self._continue()
                    X = self._model_input(X)[0]
                    self._train(X, target, sample_weight, self.max_epochs)
            else:
                target, criterion, n_outputs = self._target(y, sample_weight)
                X = self._build_net(X, criterion, n_outputs)
                self._train(X, target, sample_weight)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train on ``X`` for one pass, continuing from the previous calls.

        The first call builds the model (as ``fit`` does, but for one pass);
        the next ones continue it, with its optimizer state and random
        stream, on data with the same fields. Classifiers need ``classes``,
        every class of all the calls, on the first call; regressors learn the
        target's scale from the first call's ``y``. A call that raises while
        training keeps what its finished batches learnt (a first call that
        raises leaves the estimator unfitted). Early stopping, which needs a
        whole data set to hold rows out of, is not available. With an
        ``accelerator`` in several processes, every process passes the same
        chunk and trains on its share of it, as in ``fit``.

        Parameters
        ----------
        X : {FieldMatrix, sparse matrix, array-like} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            Classifiers: every class, on the first call (later calls may
            repeat it). Regressors: must stay ``None``.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self
        """
        if self.early_stopping:
            raise ValueError(
                "partial_fit does not hold rows out for early stopping: set "
                "early_stopping=False, or use fit."
            )
        if not hasattr(self, "net_"):
            with self._all_or_nothing():
                self._streaming = True  # (one epoch a call: no averaging)
                X, y = self._validate(X, y)
                sample_weight = _check_weights(sample_weight, X)
                target, criterion, n_outputs = self._target(
                    y, sample_weight, classes, first_call=True
                )
                X = self._build_net(X, criterion, n_outputs)
                self._train(X, target, sample_weight, epochs=1)
            return self
        X, y = self._validate(X, y, reset=False)
        sample_weight = _check_weights(sample_weight, X)
        target = self._encode(y, classes)
        self._continue()
        self._train(self._model_input(X)[0], target, sample_weight, epochs=1)
        return self

    #: What may change between a fit and its continuation (warm_start,
    #: partial_fit): the others shape the model or its data.
    _CONTINUABLE = ("max_epochs", "average", "lr", "callbacks", "verbose",
                    "warm_start")  # fmt: skip

    def _continue(self) -> None:
        """Prepare the fitted net to train on: refuse a changed parameter
        that shaped it, take the current learning rate, callbacks and
        verbosity (the optimizer keeps its state)."""
        changed = [
            name
            for name, value in self.get_params(deep=False).items()
            if name not in self._CONTINUABLE
            and not _same(value, self._built_with[name])
        ]
        if changed:
            raise ValueError(
                f"{type(self).__name__} continues the model it has, but {changed} "
                "changed since it was built: fit it afresh (warm_start=False) "
                "to use new values."
            )
        net = self.net_
        for group in net.optimizer_.param_groups:
            group["lr"] = self.lr
        net.lr = self.lr
        net.callbacks, net.verbose = self._callbacks(), self.verbose
        net.initialize_callbacks()

    def _averaged_epochs(self, epochs: int) -> int:
        """How many of the last of ``epochs`` epochs weight averaging
        averages (0: none, early stopping keeping the best epoch instead)."""
        if self.early_stopping:
            return 0
        if isinstance(self.average, (bool, np.bool_)):
            return epochs // 2 if self.average else 0
        return min(int(self.average), epochs)

    def _callbacks(self) -> list:
        """Weight averaging, the user's callbacks, and early stopping. (At
        the end of training the averaging comes first: the user's callbacks
        see the averaged weights, and a user's EarlyStopping that loads its
        best epoch has the last word.)"""
        callbacks = list(self.callbacks or [])
        if self._averaged_epochs(self.max_epochs) > 1:
            callbacks.insert(0, ("weight_averaging", WeightAveraging()))
        if self.early_stopping:
            sink = print if self.verbose else _silent
            stopper = EarlyStopping(
                patience=self.n_iter_no_change, load_best=True, sink=sink
            )
            callbacks.append(("early_stopping", stopper))
        return callbacks

    def _build_net(self, X, criterion, n_outputs):
        """Build the module and a fresh, initialised skorch net for the
        validated ``X``; return the module's input."""
        device, placement = self._placement()
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        if self.accelerator is not None and self.accelerator.num_processes > 1:
            from accelerate.utils import broadcast_object_list

            # one seed for all processes: the same model, and the same
            # shuffled order, which the processes share out
            seed = broadcast_object_list([seed])[0]
        train_split = None
        if self.early_stopping:
            train_split = ValidSplit(
                self.validation_fraction,
                stratified=is_classifier(self),
                random_state=seed,
            )
        X, fields = self._model_input(X, fit=True)
        optimizer, options = self._optimizer(self._sparse(fields))
        module, generator = build_seeded(
            lambda: self._build_module(fields, n_outputs), seed
        )
        if X.shape[0] < 2 and any(
            isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules()
        ):
            raise ValueError(
                "batch_norm=True needs 2 training rows or more, got "
                f"{X.shape[0]}: batch statistics of one row are undefined."
            )
        # (skorch's fit is initialize then partial_fit; the dataset needs the
        # initialized module's fields)
        if isinstance(getattr(self, "net_", None), AcceleratedNet):
            self.net_.release()  # (a refit: the accelerator forgets the old one)
        net = SparseNet if self.accelerator is None else AcceleratedNet
        self.net_ = net(
            module=module,
            criterion=criterion(reduction="none"),
            optimizer=optimizer,
            lr=self.lr,
            optimizer__weight_decay=self._weight_decay(fields.n_fields),
            optimizer__param_groups=self._param_groups(),
            **{f"optimizer__{k}": v for k, v in options.items()},
            max_epochs=self.max_epochs,
            batch_size=self._batch_size(X.shape[0]),
            iterator_train=BatchIterator,
            iterator_valid=BatchIterator,
            iterator_train__shuffle=True,
            train_split=train_split,
            callbacks=self._callbacks(),
            verbose=self.verbose,
            **placement,
        ).initialize()
        self._built_with = self.get_params(deep=False)
        # the fit's random streams (CPU, and device), carried on between calls
        self._streams = (generator.get_state(), None)
        if torch.device(device).type != "cpu":
            self._streams = (
                generator.get_state(),
                torch.Generator(device).manual_seed(seed).get_state(),
            )
        return X

    def _train(self, X, y, sample_weight, epochs=None):
        """Train the net on the module's input ``X`` for ``epochs`` epochs
        (``max_epochs`` by default), drawing from the fit's random streams."""
        net = self.net_
        epochs = self.max_epochs if epochs is None else epochs
        averaging = dict(net.callbacks_).get("weight_averaging")
        if averaging is not None:
            averaging.window(epochs, self._averaged_epochs(epochs))
        dataset = net.get_dataset(X, y, sample_weight)
        cpu = torch.Generator()
        cpu.set_state(self._streams[0])
        on_device = None
        if self._streams[1] is not None:
            on_device = torch.Generator(net.compute_device)
            on_device.set_state(self._streams[1])
        with fit_stream(cpu, on_device):
            try:
                net.partial_fit(
                    dataset, y if is_classifier(self) else None, epochs=epochs
                )
            except Interrupted as exc:  # an interrupted fit is no fit
                raise exc.__cause__ from None
            finally:
                if averaging is not None:
                    averaging.sums_ = None  # (a failed training leaves no copy)
        self._streams = (
            cpu.get_state(),
            None if on_device is None else on_device.get_state(),
        )
        self.n_iter_ = len(net.history)
        self._after_fit(X)

    # -- prediction ---------------------------------------------------------
    def _forward(self, X):
        """Raw model outputs (logits or scaled values), shape (n, K), numpy."""
        check_is_fitted(self, "net_")
        X, _ = self._model_input(self._validate(X, reset=False))
        return self.net_.forward(X).numpy().astype(np.float64)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class FIClassifierMixin(ClassifierMixin):
    """Classifier side: label encoding, logistic/softmax outputs."""

    def _target(self, y, sample_weight, classes=None, first_call=False):
        """``classes_`` (from ``classes``, or else ``y``), and the encoded
        target, loss and number of outputs."""
        _check_label_types(y)
        check_classification_targets(y)
        if classes is None:
            if first_call:
                raise ValueError(
                    "the first call to partial_fit needs classes: every class "
                    "of all the calls."
                )
            self.classes_, y_enc = np.unique(y, return_inverse=True)
            present = np.unique(y_enc[sample_weight > 0])
            if len(present) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes "
                    f"with positive weight; got 1 class: {self.classes_[present]}."
                )
        else:
            _check_label_types(classes)
            self.classes_ = np.unique(classes)
            if len(self.classes_) < 2:
                raise ValueError(f"classes must hold 2 classes or more, got {classes}.")
            y_enc = self._label_codes(y)
        if len(self.classes_) == 2:
            return self._as_target(y_enc), nn.BCEWithLogitsLoss, 1
        return self._as_target(y_enc), nn.CrossEntropyLoss, len(self.classes_)

    def _encode(self, y, classes=None):
        """The target of ``y`` for the classes learnt already."""
        if classes is not None and not np.array_equal(
            np.unique(classes), self.classes_
        ):
            raise ValueError(
                f"classes={list(np.unique(classes))} differ from the classes of the "
                f"first call, {list(self.classes_)}."
            )
        _check_label_types(y)
        check_classification_targets(y)
        return self._as_target(self._label_codes(y))

    def _label_codes(self, y):
        """Position of every label in ``classes_``; unknown labels refused."""
        y = np.asarray(y)
        try:
            codes = np.searchsorted(self.classes_, y)
            known = self.classes_[np.minimum(codes, len(self.classes_) - 1)] == y
        except TypeError:  # (labels of another type than the classes)
            known = np.zeros(len(y), dtype=bool)
        if not np.all(known):
            raise ValueError(
                f"y holds labels that are not among the classes "
                f"{list(self.classes_)}: {list(np.unique(y[~known]))[:5]}. Give "
                "every class in classes on the first call to partial_fit."
            )
        return codes

    def _as_target(self, codes):
        if len(self.classes_) == 2:
            return codes.astype(np.float32).reshape(-1, 1)
        return codes.astype(np.int64)

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

    def _target(self, y, sample_weight, classes=None, first_call=False):
        """The standardised target (with the weighted mean and standard
        deviation, so that defaults suit any scale), loss, outputs."""
        y = self._numbers(y, classes)
        with np.errstate(over="ignore", invalid="ignore"):
            mean = np.average(y, weights=sample_weight)
            scale = np.sqrt(np.average((y - mean) ** 2, weights=sample_weight))
        if not np.isfinite(scale):  # (near 1e308 the squares overflow)
            top = float(np.max(np.abs(y)))
            z = y / top
            mean = np.average(z, weights=sample_weight)
            scale = top * np.sqrt(np.average((z - mean) ** 2, weights=sample_weight))
            mean = top * mean
        self._y_mean = float(mean)
        self._y_scale = float(scale) or 1.0
        return self._encode(y), nn.MSELoss, 1

    def _encode(self, y, classes=None):
        """The target of ``y`` on the scale learnt already."""
        y = self._numbers(y, classes)
        return ((y - self._y_mean) / self._y_scale).astype(np.float32).reshape(-1, 1)

    def _numbers(self, y, classes):
        """``y`` as finite float64 numbers."""
        if classes is not None:
            raise ValueError("classes is for classifiers: leave it None.")
        try:
            y = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError):
            example = next(v for v in np.asarray(y, dtype=object) if _not_number(v))
            raise ValueError(
                f"{type(self).__name__} needs a numeric target y; got "
                f"{example!r}: for labels, use a classifier."
            ) from None
        if not np.all(np.isfinite(y)):
            raise ValueError("y holds missing values (None or NaN) or infinity.")
        return y

    def predict(self, X):
        """Predicted target of every sample, shape (n_samples,)."""
        return self._forward(X)[:, 0] * self._y_scale + self._y_mean


def physical_memory() -> int | None:
    """Bytes of RAM of this machine (``None`` where sysconf cannot tell)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(need: int, what: str, advice: str) -> None:
    """Refuse, with ``advice``, to allocate ``need`` bytes for ``what`` on a
    machine with less memory."""
    have = physical_memory()
    if have is not None and need > have:
        raise ValueError(
            f"{what}: about {need / 2**30:,.1f} GiB, more than this machine's "
            f"{have / 2**30:,.1f} GiB. {advice}"
        )


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


def _check_weights(sample_weight, X) -> np.ndarray:
    """float32 sample weights (ones by default), non-negative and not all
    zero."""
    sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float32)
    if np.any(sample_weight < 0):
        raise ValueError(
            "sample_weight has negative values (the smallest is "
            f"{sample_weight.min()!r}); weights must be 0 or more."
        )
    if not sample_weight.sum() > 0:
        raise ValueError("sample_weight sums to 0: no row would count in the loss.")
    return sample_weight


def _not_number(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return True
    return False


def _check_label_types(y) -> None:
    """Labels of one kind: mixed ones (``1`` and ``"1"``) would be merged or
    compared across types."""
    kinds = mixed_kinds(np.asarray(y))
    if kinds:
        raise ValueError(
            f"y mixes labels of several types ({', '.join(kinds)}); give labels "
            "of one type, e.g. y.astype(str)."
        )


def _same(a, b) -> bool:
    """Whether two parameter values are equal (arrays and lists included)."""
    if a is b:
        return True
    try:
        if isinstance(a, (str, bytes)) or not hasattr(a, "__len__"):
            return bool(a == b)
        return bool(
            np.array_equal(np.asarray(a, dtype=object), np.asarray(b, dtype=object))
        )
    except (TypeError, ValueError):
        return False
