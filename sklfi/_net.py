"""The skorch side of every estimator: a NeuralNet over CSR batches."""

from __future__ import annotations

import contextlib
import signal
import threading
import warnings

import numpy as np
import scipy.sparse as sp
import torch
from skorch import NeuralNet
from skorch.exceptions import DeviceWarning
from skorch.hf import AccelerateMixin  # (imports no Hugging Face library)
from skorch.utils import is_dataset, to_device, to_tensor
from torch.nn.parallel import DistributedDataParallel as DDP

from ._batch import csr_batch
from ._data import CSRDataset
from ._relational import RelationalMatrix
from .nn import FieldEmbedding

__all__ = ["AcceleratedNet", "Interrupted", "SparseNet"]


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


def _canonical(X) -> sp.csr_matrix:
    """``X`` as a canonical (sorted, no duplicates) float32 CSR matrix."""
    if not (isinstance(X, sp.csr_matrix) and X.dtype == np.float32):
        X = sp.csr_matrix(X, dtype=np.float32)
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    return X


#: Prediction batches on the CPU are padded to a multiple of this many rows.
ROW_BLOCK = 16


class SparseNet(NeuralNet):
    """skorch net whose batches are :class:`~sklfi.nn.SparseBatch` objects.

    A sparse matrix passed to ``fit``, ``forward`` or ``predict`` becomes a
    :class:`~sklfi._data.CSRDataset` that knows the fields of the module's
    field embedding, if it has one (to flag one-category-per-field data). The
    loss is the sample-weighted mean of the criterion (built with
    ``reduction="none"``).

    Prediction (``forward_iter``, hence ``forward`` and ``predict``, and the
    estimators' ``predict``) runs the module in evaluation mode over batches
    of ``batch_size`` rows, each padded to a whole number of blocks of
    :data:`ROW_BLOCK` rows on the CPU (to ``batch_size`` rows on other
    devices): float32 matrix products differ in the last bits between batch
    sizes, and a row's prediction must not depend on its neighbours. (On
    the CPU measured, products over 16, 32, ... 4096 rows gave every row the
    same bits, which ``tests/test_serving.py`` checks for every model; one
    row costs 16 rows, not a whole batch.)
    """

    def initialize_module(self):
        super().initialize_module()
        # (field index, number of fields) of the field embedding, if any
        self.batch_fields, self._fields_in_order = (None, None), None
        for m in self.module_.modules():
            if isinstance(m, FieldEmbedding):
                index = m.field_index.cpu().numpy()
                self.batch_fields = (index, m.n_fields)
                self._fields_in_order = bool(np.all(np.diff(index) >= 0))
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

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        # skorch's, but on a GPU each batch's loss goes into the history as
        # the tensor it is, and all are read at once when the pass ends (or
        # fails): reading each (skorch's ``.item()``) would make the host
        # wait for the device at every step. A callback's on_batch_end sees
        # the loss then as a 0-dim tensor, which compares and converts as a
        # number. On the CPU, where a read costs nothing, floats as before.
        if iterator is None:
            return
        deferred, count = [], 0  # (deferred: the entries holding a tensor)
        try:
            for batch in iterator:
                self.notify("on_batch_begin", batch=batch, training=training)
                step = step_fn(batch, **fit_params)
                loss = step["loss"].detach()
                if self._defers(loss):
                    deferred.append(self.history[-1]["batches"][-1])
                else:
                    loss = loss.item()
                self.history.record_batch(prefix + "_loss", loss)
                self.history.record_batch(prefix + "_batch_size", len(batch[0]))
                self.notify("on_batch_end", batch=batch, training=training, **step)
                count += 1
        finally:
            losses = [entry[prefix + "_loss"] for entry in deferred]
            values = torch.stack(losses).tolist() if losses else []
            for entry, loss, value in zip(deferred, losses, values):
                if entry[prefix + "_loss"] is loss:  # (a callback may replace it)
                    entry[prefix + "_loss"] = value
        self.history.record(prefix + "_batch_count", count)

    def _defers(self, loss) -> bool:
        """Whether reading ``loss`` waits for a device (then it is read with
        the pass's others)."""
        return loss.device.type != "cpu"

    def on_epoch_end(self, net, **kwargs):
        super().on_epoch_end(net, **kwargs)
        epoch = self.history[-1]
        for name in ("train_loss", "valid_loss"):
            losses = [b[name] for b in epoch["batches"] if name in b]
            if not self._finite(losses):
                lr = self.optimizer_.param_groups[0]["lr"]
                raise ValueError(
                    f"training diverged: the {name.replace('_', ' ')} of epoch "
                    f"{epoch['epoch']} is not finite. The learning rate ({lr}) is "
                    f"likely too high for the optimizer "
                    f"({type(self.optimizer_).__name__}), or X holds very large "
                    "values: lower lr, or scale X."
                )

    def _finite(self, losses) -> bool:
        """Whether the losses of an epoch are all finite."""
        return bool(np.all(np.isfinite(losses)))

    def get_dataset(self, X, y=None, sample_weight=None):
        if is_dataset(X):
            return X
        if isinstance(X, RelationalMatrix):
            X = X.checked()  # (float32, canonical parts)
        else:
            X = _canonical(X)
        return CSRDataset(
            X, y, sample_weight, *self.batch_fields, device=self.compute_device,
            fields_in_order=getattr(self, "_fields_in_order", None),
        )  # fmt: skip

    @property
    def compute_device(self):
        """Where batches go: ``device`` (the accelerator's device when one
        places the model)."""
        return self.device

    def infer(self, x, **fit_params):
        return self.module_(x.to(self.compute_device))

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = self.criterion_(y_pred, to_tensor(y_true, device=self.compute_device))
        if loss.dim() > 1:
            loss = loss.mean(1)
        weight = getattr(X, "sample_weight", None)
        if weight is not None:
            loss = loss * weight.to(loss.device)
        return loss.mean()

    def prediction_batches(self, X, training=False):
        """Yield ``(batch, n_rows)`` for the rows of ``X`` in order: batches
        of ``batch_size`` rows on the net's device, padded as the class
        says (only its first ``n_rows`` rows are ``X``'s), the module in
        evaluation mode (training mode with ``training``)."""
        if self.module_.training != training:  # (a walk over every module)
            self.module_.train(training)
        size = self.batch_size
        device = self.compute_device
        cpu = device in (None, "cpu") or torch.device(device).type == "cpu"
        plain = not (is_dataset(X) or isinstance(X, RelationalMatrix))
        if cpu and plain and X.shape[0] <= size:  # (a small request: one batch,
            X, n = _canonical(X), X.shape[0]  # made directly, slots and all)
            yield csr_batch(
                X, *self.batch_fields, -(-n // ROW_BLOCK) * ROW_BLOCK,
                getattr(self, "_fields_in_order", None),
            ), n  # fmt: skip
            return
        data = self.get_dataset(X)
        if cpu and len(data) <= size:  # (a small request of units)
            n = len(data)
            yield data._whole(-(-n // ROW_BLOCK) * ROW_BLOCK), n
            return
        for batch, _ in data.batches(None, size):
            n = batch.n_rows
            rows = -(-n // ROW_BLOCK) * ROW_BLOCK if cpu else size
            yield batch.padded(rows).to(self.compute_device), n

    def forward(self, X, training=False, device="cpu"):
        # forward_iter's outputs, with the grad mode set once for all: out of
        # training, torch's inference mode (no autograd bookkeeping at all:
        # a tenth of a small request's time), which makes tensors that can
        # not be recorded for a backward pass
        mode = torch.enable_grad() if training else torch.inference_mode()
        with mode:
            out = [self.module_(b)[:n] for b, n in self.prediction_batches(X, training)]
            out = out[0] if len(out) == 1 else torch.cat(out)
            return out if out.device == torch.device(device) else out.to(device)

    def forward_iter(self, X, training=False, device="cpu"):
        for batch, n_rows in self.prediction_batches(X, training):
            with torch.set_grad_enabled(training):
                out = self.module_(batch)[:n_rows]
            yield to_device(out, device)


#: What sklfi and skorch's AccelerateMixin use of an accelerator: the
#: estimators check it is all there before they train.
ACCELERATOR_METHODS = ("prepare", "backward", "unwrap_model", "gather", "reduce",
                       "wait_for_everyone", "print", "accumulate", "autocast",
                       "gather_for_metrics")  # fmt: skip
ACCELERATOR_ATTRIBUTES = ("num_processes", "process_index", "device", "state",
                          "is_main_process", "device_placement")  # fmt: skip


class AcceleratedNet(AccelerateMixin, SparseNet):
    """:class:`SparseNet` with skorch's ``AccelerateMixin``: Hugging Face
    Accelerate places the model and, launched in several processes
    (``torchrun``, ``accelerate launch``), trains it with PyTorch's
    DistributedDataParallel.

    Each process trains on its shard of every shuffled pass (the estimator
    passes ``iterator_train__shard``) and DDP averages the gradients;
    validation and prediction run the whole data in every process, so that
    every process takes the same early-stopping decisions and predicts
    every row it is given. The module is wrapped for each training call and
    unwrapped after it, once the callbacks (early stopping's best weights)
    are done with it.
    """

    @property
    def compute_device(self):
        # where the module is: the accelerator's device while it trains, the
        # CPU when unpickled without one (skorch loads it there)
        return next(self.module_.parameters()).device

    def _initialize_callbacks(self):
        if self.callbacks__print_log__sink == "auto":
            # the main process prints, and only when verbose (the mixin's
            # sink, not being print, would print at verbose=0 too)
            self.callbacks__print_log__sink = self._print
        return super()._initialize_callbacks()

    def _print(self, *args, **kwargs):
        if self.verbose:
            self.accelerator.print(*args, **kwargs)

    def _initialize_accelerator(self):
        if self._wrapped_with_accelerator:
            return self
        # the loss has no parameters, and DDP refuses a module without any:
        # only the model and the optimizer are prepared. The model's DDP
        # wrapper is made once and kept for the next calls (a new one for
        # every partial_fit would synchronise the weights again and keep its
        # gradient buckets in the accelerator's list, for every chunk)
        wrapped = getattr(self, "_wrapped_module", None)
        if (
            wrapped is None
            or self.accelerator.unwrap_model(wrapped) is not self.module_
        ):
            # the integer buffers (field indices, millions of entries) are
            # constants: DDP need not broadcast them before every step
            constants = [n for n, b in self.module_.named_buffers()
                         if not b.is_floating_point()]  # fmt: skip
            DDP._set_params_and_buffers_to_ignore_for_model(self.module_, constants)
            wrapped = self.accelerator.prepare(self.module_)
        self.module_ = wrapped
        # (set past skorch, which would register the wrapper as a module)
        object.__setattr__(self, "_wrapped_module", wrapped)
        if not hasattr(self.optimizer_, "optimizer"):  # (prepared once)
            self.optimizer_ = self.accelerator.prepare(self.optimizer_)
        self._wrapped_with_accelerator = True
        return self

    def release(self):
        """Take this net's model and optimizer out of the accelerator's
        lists of prepared objects (it keeps every one it prepared: a refit
        would otherwise keep the old model, and pickle it with the new)."""
        acc = self.accelerator
        module = acc.unwrap_model(self.module_)
        inner = getattr(self.optimizer_, "optimizer", self.optimizer_)
        models = getattr(acc, "_models", None)
        if models is not None:
            models[:] = [m for m in models if acc.unwrap_model(m) is not module]
        optimizers = getattr(acc, "_optimizers", None)
        if optimizers is not None:
            optimizers[:] = [
                o for o in optimizers if getattr(o, "optimizer", o) is not inner
            ]

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_wrapped_module", None)  # (holds the process group)
        return state

    def __setstate__(self, state):
        with warnings.catch_warnings():  # (no device: the accelerator has it)
            warnings.simplefilter("ignore", DeviceWarning)
            super().__setstate__(state)

    def get_iterator(self, dataset, training=False):
        # the batches are sharded by BatchIterator, not by accelerate
        return SparseNet.get_iterator(self, dataset, training=training)

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        # (fit is initialize, which wraps, then partial_fit)
        counts = self.accelerator.gather(
            torch.tensor([len(X)], device=self.compute_device)
        )
        if len(set(counts.tolist())) > 1:  # (every process sees the counts)
            raise ValueError(
                f"the processes were given {counts.tolist()} rows: with an "
                "accelerator, every process passes the same data (each trains on "
                "its share of it), or their steps would not match."
            )
        self._initialize_accelerator()
        try:
            return super().partial_fit(X, y, classes, **fit_params)
        finally:  # after on_train_end: early stopping's best weights are in
            self._broadcast_buffers()
            self._unwrap_accelerator()

    def _broadcast_buffers(self):
        """Process 0's float buffers (batch norm's running statistics) to all:
        DDP syncs them before a training forward only, so the last steps of
        a call leave each process with its own."""
        if self.accelerator.num_processes > 1 and torch.distributed.is_initialized():
            for buffer in self.module_.buffers():
                if buffer.is_floating_point():
                    torch.distributed.broadcast(buffer, 0)

    def _finite(self, losses) -> bool:
        # decided by all processes together: one whose shard diverged would
        # otherwise stop alone and leave the others waiting
        finite = torch.tensor(
            [float(super()._finite(losses))], device=self.compute_device
        )
        return bool(
            self.accelerator.reduce(finite, "sum") == self.accelerator.num_processes
        )

    def on_train_end(self, net, X=None, y=None, **kwargs):
        self.accelerator.wait_for_everyone()
