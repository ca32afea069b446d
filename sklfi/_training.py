"""Training, shared by every SGD estimator: ``fit`` (all or nothing, or
continued with ``warm_start``), ``partial_fit``, and the skorch net they
build and train."""

from __future__ import annotations

import contextlib
import copy

import numpy as np
import torch
from sklearn.base import _fit_context, is_classifier
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight
from skorch.callbacks import EarlyStopping
from skorch.dataset import ValidSplit
from torch import nn

from ._averaging import WeightAveraging
from ._checks import all_or_nothing
from ._data import BatchIterator
from ._net import AcceleratedNet, Interrupted, SparseNet
from ._random import build_seeded, fit_stream


def _silent(*args, **kwargs):
    pass


class Training:
    """``fit``, ``partial_fit`` and the skorch net they train, for
    :class:`~sklfi._base._BaseEstimator`."""

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
        with all_or_nothing(self):
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
            with all_or_nothing(self):
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
        device, _ = self._placement()
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        if self.accelerator is not None and self.accelerator.num_processes > 1:
            from accelerate.utils import broadcast_object_list

            # one seed for all processes: the same model, and the same
            # shuffled order, which the processes share out
            seed = broadcast_object_list([seed])[0]
        X, fields = self._model_input(X, fit=True)
        module, (generator, on_device) = build_seeded(
            lambda: self._build_module(fields, n_outputs), seed, device
        )
        self._make_net(
            module, criterion, fields, self._batch_size(X.shape[0], device), seed
        )
        self._built_with = self.get_params(deep=False)
        # the fit's random streams (CPU, and device), carried on between calls
        self._streams = (generator.get_state(), None)
        if torch.device(device).type != "cpu":
            if on_device is None:  # (built on the CPU: a stream of its own)
                on_device = torch.Generator(device).manual_seed(seed)
            self._streams = (generator.get_state(), on_device.get_state())
        return X

    def _make_net(self, module, criterion, fields, batch_size, seed):
        """Put in ``net_`` a fresh, initialised skorch net around ``module``
        (built for the module input's ``fields``): the loss ``criterion`` (a
        class), the optimizer, callbacks and placement of the parameters,
        and early stopping's validation rows drawn with ``seed``. Shared by
        ``fit`` and :func:`sklfi.io.load`, which gives a module it restored."""
        _, placement = self._placement()
        train_split = None
        if self.early_stopping:
            train_split = ValidSplit(
                self.validation_fraction,
                stratified=is_classifier(self),
                random_state=seed,
            )
        optimizer, options = self._optimizer(self._sparse(fields))
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
            batch_size=batch_size,
            iterator_train=BatchIterator,
            iterator_valid=BatchIterator,
            iterator_train__shuffle=True,
            train_split=train_split,
            callbacks=self._callbacks(),
            verbose=self.verbose,
            **placement,
        ).initialize()

    def _train(self, X, y, sample_weight, epochs=None):
        """Train the net on the module's input ``X`` for ``epochs`` epochs
        (``max_epochs`` by default), drawing from the fit's random streams."""
        net = self.net_
        rows = X.shape[0]  # (each process's share, under an accelerator)
        if self.accelerator is not None:
            rows = -(-rows // self.accelerator.num_processes)
        if rows < 2 and any(
            isinstance(m, nn.modules.batchnorm._BatchNorm)
            for m in net.module_.modules()
        ):
            raise ValueError(
                f"batch_norm=True needs 2 training rows or more in every fit or "
                f"partial_fit call (in every process), got {rows}: batch "
                "statistics of one row are undefined."
            )
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
