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

import os
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import Callback
from torch import nn

from ._checks import check_memory
from ._fields import Fields
from ._input import FieldInput
from ._net import ACCELERATOR_ATTRIBUTES, ACCELERATOR_METHODS
from ._training import Training
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


class _BaseEstimator(Training, FieldInput, BaseEstimator):
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
        "accelerator": [HasMethods(list(ACCELERATOR_METHODS)), None],
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
        acc = self.accelerator
        lacks = [a for a in ACCELERATOR_ATTRIBUTES if not hasattr(acc, a)]
        if acc is not None and lacks:
            raise TypeError(
                f"The 'accelerator' parameter of {type(self).__name__} must be an "
                f"accelerate.Accelerator (or have all of its API that sklfi uses); "
                f"{type(acc).__name__} has no {', '.join(lacks)}."
            )
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
        # On a GPU a fused dense Adam step over a whole table of 42 million
        # values beat the lazy update of a batch's rows (which gathers,
        # finds the distinct rows and scatters: 4.6 ms a step on an H200)
        if torch.device(self._placement()[0]).type != "cpu":
            return False
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

    def _batch_size(self, n_samples, device="cpu"):
        """``batch_size``, "auto" resolved: ``n_samples / 64`` rows, 32 to
        1024; on a GPU, up to 4096 while an epoch keeps 256 steps (on 1 M
        click rows, 4096 rows kept the AUC of 1024, 16384 lost 0.01:
        ``benchmarks/batch_size.py``)."""
        if self.batch_size != "auto":
            return self.batch_size
        size = min(1024, max(32, n_samples // 64))
        if torch.device(device).type != "cpu":
            size = max(size, min(4096, n_samples // 256))
        return int(size)

    # -- prediction ---------------------------------------------------------
    def _outputs(self, X) -> torch.Tensor:
        """Raw model outputs (logits or scaled values), shape (n, K), a
        float64 CPU tensor."""
        if not hasattr(self, "net_"):
            check_is_fitted(self, "net_")
        X, _ = self._model_input(self._validate(X, reset=False))
        return self.net_.forward(X).double()

    def _forward(self, X):
        """:meth:`_outputs` as a numpy array."""
        return self._outputs(X).numpy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
