"""Docstrings of the estimators: one template per model (its class
docstring) filled in with the text every estimator shares."""

from __future__ import annotations

import inspect

from sklearn.base import ClassifierMixin

__all__ = ["estimator_doc"]

#: numpydoc text shared by every estimator, substituted into the model
#: docstring templates by :func:`estimator_doc`.
SHARED_PARAMS_DOC = """\
fields : array-like of shape (n_features,), default=None
        Field id (``0..F-1``) or field name of every column of ``X``. ``None``
        takes the fields of a :class:`~sklfi.FieldMatrix` ``X``, and otherwise
        puts every column in a field of its own.
    lr : float, default={lr}
        Learning rate of the optimizer.
    weight_decay : {weight_decay_type}, default={weight_decay_shown}
        L2 penalty on the weights (the optimizer's ``weight_decay``).
    optimizer : {{"adam", "adamw", "adagrad", "sgd"}} or torch optimizer class, \
default="{optimizer}"
        The optimizer.
    max_epochs : int, default={max_epochs}
        Number of passes over the training data (the most, with early stopping).
    average : bool or int, default={average}
        Stochastic weight averaging: the fitted weights are the mean of the
        weights at the end of each of the last ``average`` epochs of ``fit``
        (``True``: the last half, ``max_epochs // 2``, so nothing below 4
        epochs; an int larger than ``max_epochs``: all of them; ``False``:
        the last epoch's weights alone). A warm ``fit`` averages its own
        epochs. On MovieLens-100K u1 it lowers every model's
        RMSE by 0.003 to 0.013, for under 2% more fit time. Not used with
        ``early_stopping``, which keeps the best epoch's weights, nor by
        ``partial_fit``, one epoch a call.
    batch_size : int or "auto", default="{batch_size}"
        Rows per gradient step, and per forward pass when predicting.
        ``"auto"`` takes ``n_samples / 64`` rows, at least 32 and at most
        1024, so that small data sets still get enough steps per epoch; on
        a GPU, up to 4096 rows as long as an epoch keeps 256 steps.
    early_stopping : bool, default={early_stopping}
        Hold out ``validation_fraction`` of the training rows (stratified for
        classifiers) and stop when their loss has not improved for
        ``n_iter_no_change`` epochs, keeping the best weights. Without it every
        row is used for training and no validation loss is computed.
    validation_fraction : float, default={validation_fraction}
        Share of the training rows held out when ``early_stopping=True``.
    n_iter_no_change : int, default={n_iter_no_change}
        Patience of early stopping, in epochs.
    sparse_updates : bool or "auto", default="{sparse_updates}"
        Give the embedding table sparse gradients and update only the rows
        of each batch (:class:`~sklfi.nn.LazyAdamW`, with optimizer
        ``"adam"`` or ``"adamw"``; a row's weight decay is applied when it
        is next updated, for every step it missed), so that a step costs
        about the same with millions of columns as with thousands.
        ``"auto"``: on the CPU, when the table holds 2**22 values or more
        (smaller tables train a little faster with dense updates); never on
        a GPU, where a fused dense step is faster, nor under DDP on NCCL,
        which cannot all-reduce sparse gradients. See the "Large data" page
        of the documentation.
    warm_start : bool, default={warm_start}
        When fitted already, ``fit`` continues training the model it has (its
        weights, optimizer state and random stream) for ``max_epochs`` more
        epochs, on data with the same fields (and classes), instead of
        starting afresh.
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Extra skorch callbacks, e.g. ``skorch.callbacks.LRScheduler``.
    random_state : int, RandomState instance or None, default=None
        Seed of weight initialisation, shuffling, dropout and the validation
        split; an int makes ``fit`` reproducible.
    device : str, default="{device}"
        Torch device to train and predict on (``"cpu"``, ``"cuda"``,
        ``"cuda:1"``...); ``"auto"`` picks CUDA when available.
    accelerator : accelerate.Accelerator, default=None
        Train through Hugging Face Accelerate, which places the model. In a
        script launched as several processes (``torchrun --nproc_per_node
        N``, ``accelerate launch``), every process calls ``fit`` or
        ``partial_fit`` with the same data and trains on its own shard of
        every pass, with DistributedDataParallel averaging the gradients
        (on a machine without GPU, ``Accelerator(cpu=True)``: gloo); all
        processes end with the same model, and predict on every process.
        See the "Scaling out" page of the documentation.
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
        .replace(
            "{shared_params}",
            SHARED_PARAMS_DOC.format(**defaults, **_weight_decay_doc(defaults)),
        )
        .replace("{kind_attrs}", KIND_ATTRS_DOC[kind])
        .replace("{shared_attrs}", SHARED_ATTRS_DOC)
        .replace(
            "{example}",
            EXAMPLE_DOC.format(name=cls.__name__, call=EXAMPLE_CALL[kind]),
        )
    )
    return cls


def _weight_decay_doc(defaults):
    auto = isinstance(defaults["weight_decay"], str)
    return {
        "weight_decay_type": 'float or "auto"' if auto else "float",
        "weight_decay_shown": f'"{defaults["weight_decay"]}"'
        if auto
        else (defaults["weight_decay"]),
    }
