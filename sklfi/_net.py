"""The skorch side of every estimator: a NeuralNet over CSR batches."""

from __future__ import annotations

import contextlib
import signal
import threading

import numpy as np
import scipy.sparse as sp
import torch
from skorch import NeuralNet
from skorch.utils import is_dataset, to_device, to_tensor

from ._data import CSRDataset
from .nn import FieldEmbedding

__all__ = ["Interrupted", "SparseNet"]


class Interrupted(Exception):
    """Training was interrupted by the user (SIGINT, Ctrl-C); the estimator
    raises the KeyboardInterrupt again."""


@contextlib.contextmanager
def _sigint_seen():
    """Within the block, a list of the KeyboardInterrupts raised by the
    SIGINT handler (Ctrl-C), which still runs as before. Nothing is changed
    outside the main thread (signals reach the main thread only), nor when
    SIGINT is ignored, left to the system or handled outside Python."""
    seen = []
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(
        previous
    ):
        yield seen
        return

    def handler(signum, frame):
        try:
            return previous(signum, frame)
        except KeyboardInterrupt as exc:  # (a handler may also not raise)
            seen.append(exc)
            raise

    signal.signal(signal.SIGINT, handler)
    try:
        yield seen
    finally:
        signal.signal(signal.SIGINT, previous)


class SparseNet(NeuralNet):
    """skorch net whose batches are :class:`~sklfi.nn.SparseBatch` objects.

    A sparse matrix passed to ``fit``, ``forward`` or ``predict`` becomes a
    :class:`~sklfi._data.CSRDataset` that knows the fields of the module's
    field embedding, if it has one (to flag one-category-per-field data). The
    loss is the sample-weighted mean of the criterion (built with
    ``reduction="none"``).

    Prediction (``forward_iter``, hence ``forward`` and ``predict``, and the
    estimators' ``predict``) runs the module in evaluation mode over batches
    of exactly ``batch_size`` rows, the last one padded: float32 matrix
    products differ in the last bits between batch sizes, and a row's
    prediction must not depend on its neighbours.
    """

    def initialize_module(self):
        super().initialize_module()
        # (field index, number of fields) of the field embedding, if any
        self.batch_fields = (None, None)
        for m in self.module_.modules():
            if isinstance(m, FieldEmbedding):
                self.batch_fields = (m.field_index.cpu().numpy(), m.n_fields)
                break
        return self

    def fit_loop(self, X, y=None, **fit_params):
        # skorch's callbacks stop training by raising KeyboardInterrupt, which
        # its partial_fit catches, so a real Ctrl-C would return a
        # half-trained net that looks fitted: pass that one on as an
        # exception partial_fit does not catch (the estimator raises the
        # KeyboardInterrupt again)
        with _sigint_seen() as seen:
            try:
                return super().fit_loop(X, y, **fit_params)
            except KeyboardInterrupt as exc:
                if any(exc is interrupt for interrupt in seen):
                    raise Interrupted from exc
                raise

    def on_epoch_end(self, net, **kwargs):
        super().on_epoch_end(net, **kwargs)
        epoch = self.history[-1]
        for name in ("train_loss", "valid_loss"):
            losses = [b[name] for b in epoch["batches"] if name in b]
            if not np.all(np.isfinite(losses)):
                lr = self.optimizer_.param_groups[0]["lr"]
                raise ValueError(
                    f"training diverged: the {name.replace('_', ' ')} of epoch "
                    f"{epoch['epoch']} is not finite. The learning rate ({lr}) is "
                    f"likely too high for the optimizer "
                    f"({type(self.optimizer_).__name__}), or X holds very large "
                    "values: lower lr, or scale X."
                )

    def get_dataset(self, X, y=None, sample_weight=None):
        if is_dataset(X):
            return X
        if not (isinstance(X, sp.csr_matrix) and X.dtype == np.float32):
            X = sp.csr_matrix(X, dtype=np.float32)
        if not X.has_canonical_format:
            X = X.copy()
            X.sum_duplicates()
        return CSRDataset(X, y, sample_weight, *self.batch_fields)

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

    def prediction_batches(self, X, training=False):
        """Yield ``(batch, n_rows)`` for the rows of ``X`` in order: batches
        of ``batch_size`` rows on the net's device, the last padded (only
        its first ``n_rows`` rows are ``X``'s), the module in evaluation
        mode (training mode with ``training``)."""
        self.module_.train(training)
        size = self.batch_size
        for batch, _ in self.get_dataset(X).batches(None, size):
            yield batch.padded(size).to(self.device), batch.n_rows

    def forward(self, X, training=False, device="cpu"):
        # forward_iter's outputs, with the grad mode set once for all
        with torch.set_grad_enabled(training):
            out = [self.module_(b)[:n] for b, n in self.prediction_batches(X, training)]
        return torch.cat(out).to(device)

    def forward_iter(self, X, training=False, device="cpu"):
        for batch, n_rows in self.prediction_batches(X, training):
            with torch.set_grad_enabled(training):
                out = self.module_(batch)[:n_rows]
            yield to_device(out, device)
