"""Stochastic weight averaging, the skorch callback behind ``average``."""

from __future__ import annotations

import torch
from skorch.callbacks import Callback
from torch import nn

__all__ = ["WeightAveraging"]


class WeightAveraging(Callback):
    """Stochastic weight averaging over epochs: training ends with the
    module's weights (and batch-norm statistics) set to their mean over the
    ends of the last epochs of the training call (:meth:`window`).

    Late epochs at a constant learning rate wander around a minimum; their
    mean lies nearer its centre, which generalises better (Izmailov et al.,
    "Averaging Weights Leads to Wider Optima and Better Generalization", UAI
    2018). Costs one pass over the weights per averaged epoch and one copy
    of them (in float32 at least), whatever the number of batches.
    """

    epochs_, last_ = 0, 0  # (no window set: nothing is averaged)

    def window(self, epochs: int, last: int) -> None:
        """Average the last ``last`` of the next training call's ``epochs``."""
        self.epochs_, self.last_ = epochs, last

    def on_train_begin(self, net, **kwargs):
        self.sums_, self.count_, self.start_ = None, 0, len(net.history)

    def on_epoch_end(self, net, **kwargs):
        done = len(net.history) - self.start_
        if self.last_ < 2 or done <= self.epochs_ - self.last_:
            return  # (the mean of one epoch is that epoch: no copy)
        with torch.no_grad():
            if self.sums_ is None:
                self.sums_ = [
                    t.detach().to(
                        torch.promote_types(t.dtype, torch.float32), copy=True
                    )
                    for t in _averaged(net.module_)
                ]
            else:
                for total, t in zip(self.sums_, _averaged(net.module_)):
                    total.add_(t)
        self.count_ += 1

    def on_train_end(self, net, **kwargs):
        if self.count_ > 1:
            with torch.no_grad():
                for total, t in zip(self.sums_, _averaged(net.module_)):
                    t.copy_(total.div_(self.count_))
        self.sums_ = None


def _averaged(module):
    """What weight averaging averages: the parameters, and the running
    statistics of batch normalisation (the last epoch's would not match the
    averaged weights)."""
    yield from module.parameters()
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats:
            yield m.running_mean
            yield m.running_var
