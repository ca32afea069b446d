"""The data path a GPU needs, exercised on the CPU: batches cut with torch's
gathers where the data lives, no value read back per step, the training
set moved to the device once when it fits."""

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from sklfi import MODELS
from sklfi._data import CSRDataset, _on_device
from sklfi._net import SparseNet
from sklfi.datasets import make_hashed_ctr

from .nn.rows import FIELDS, random_rows

READS = ("item", "tolist", "__bool__", "__int__", "__float__", "__index__")


def count_reads(monkeypatch):
    """Count the calls that read a tensor's values into Python (each one a
    wait for the device on a GPU)."""
    counts = {name: 0 for name in READS}
    for name in READS:
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _name=name, _original=original, **kwargs):
            counts[_name] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    return counts


@pytest.fixture
def clicks():
    return make_hashed_ctr(n_samples=2048, n_features=2**10, n_fields=4,
                           n_multi_valued=1, random_state=0)  # fmt: skip


@pytest.mark.parametrize("name", ["fm", "ffm", "afm", "deepfm", "dlrm"])
def test_training_on_a_device_reads_no_value_per_batch(name, clicks, monkeypatch):
    # as on a GPU, where every read waits for the device: the same epochs
    # over 4 and over 16 batches read as many values (skorch reads every
    # batch's loss; sklfi reads them once per pass)
    monkeypatch.setattr(SparseNet, "_defers", lambda self, loss: True)
    reads = []
    for batch_size in (512, 128):
        model = MODELS[name].classifier(batch_size=batch_size, max_epochs=2,
                                        random_state=0)  # fmt: skip
        with monkeypatch.context() as patch:
            counts = count_reads(patch)
            model.fit(*clicks)
        reads.append(counts)
        losses = model.net_.history[:, "batches", :, "train_loss"]
        assert all(type(loss) is float and loss > 0 for e in losses for loss in e)
    assert reads[0] == reads[1]


class Seen(Callback):
    """What a callback finds of each batch's loss in on_batch_end."""

    def initialize(self):
        self.losses = []
        return self

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.losses.append(float(net.history[-1, "batches", -1, "train_loss"]))


@pytest.mark.parametrize("defers", [False, True])
def test_the_history_keeps_every_batch_loss_and_divergence_is_caught(
    defers, monkeypatch
):
    monkeypatch.setattr(SparseNet, "_defers", lambda self, loss: defers)
    X, y = make_hashed_ctr(n_samples=600, n_features=2**8, n_fields=3,
                           n_multi_valued=0, random_state=0)  # fmt: skip
    seen = Seen()
    model = MODELS["fm"].classifier(batch_size=100, max_epochs=2, random_state=0,
                                    callbacks=[("seen", seen)])  # fmt: skip
    model.fit(X, y)
    losses = model.net_.history[:, "batches", :, "train_loss"]
    assert [len(epoch) for epoch in losses] == [6, 6]
    assert all(np.isfinite(loss) and loss > 0 for epoch in losses for loss in epoch)
    # a callback sees each batch's loss when the batch ends, as in skorch
    assert seen.losses == pytest.approx([loss for e in losses for loss in e])
    sizes = model.net_.history[-1, "batches", :, "train_batch_size"]
    assert sum(sizes) == 600 and model.net_.history[-1, "train_batch_count"] == 6
    mean = np.average(losses[-1], weights=sizes)
    assert model.net_.history[-1, "train_loss"] == pytest.approx(mean)
    with pytest.raises(ValueError, match="training diverged"):
        diverging = MODELS["fm"].classifier(lr=1e30, optimizer="sgd", max_epochs=1)
        diverging.fit(X.tocsr() * 1e20, y)


def test_a_per_batch_scheduler_reads_the_loss_as_it_goes(clicks):
    from skorch.callbacks import LRScheduler
    from torch.optim.lr_scheduler import ReduceLROnPlateau

    scheduler = LRScheduler(ReduceLROnPlateau, monitor="train_loss",
                            step_every="batch", patience=0, factor=0.5)  # fmt: skip
    model = MODELS["fm"].classifier(batch_size=256, max_epochs=2,
                                    callbacks=[("lr", scheduler)])  # fmt: skip
    model.fit(*clicks)
    assert model.net_.optimizer_.param_groups[0]["lr"] < model.lr


def test_batches_cut_from_tensors_are_the_csr_slices():
    X = random_rows(n_rows=40, seed=5).astype(np.float32)
    y = np.arange(40.0)
    data = CSRDataset(X, y, np.linspace(0, 1, 40), fields=FIELDS)
    rows = np.random.default_rng(0).permutation(40)
    seen = 0
    for batch, target in data.batches(rows, 7, chunk=2):
        part = rows[seen : seen + batch.n_rows]
        seen += batch.n_rows
        block = X[part]
        assert torch.equal(batch.idx, torch.from_numpy(block.indices))
        assert torch.equal(batch.val, torch.from_numpy(block.data))
        assert torch.equal(batch.offsets.long(), torch.from_numpy(block.indptr[:-1]))
        assert target.tolist() == part.tolist()
        assert batch.sample_weight.tolist() == pytest.approx((part / 39).tolist())
        assert batch.field_sorted and not batch.one_per_field
    assert seen == 40


def test_the_training_set_moves_to_a_gpu_within_its_share_of_free_memory(
    monkeypatch,
):
    gpu = torch.device("cuda", 0)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: (1000, 4000))
    assert _on_device(500, gpu) and not _on_device(501, gpu)
    assert _on_device(10**12, torch.device("cpu"))
    assert not _on_device(1, torch.device("meta"))  # (other devices: per batch)
