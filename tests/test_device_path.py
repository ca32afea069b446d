"""The data path a GPU needs, exercised on the CPU: batches cut with torch's
gathers where the data lives, no value read back per step, the training
set moved to the device once when it fits."""

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

import sklfi
from sklfi import MODELS
from sklfi._data import CSRDataset, _on_device, _stream
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
    with sklfi.config_context(device_memory_share=0.25):
        assert _on_device(250, gpu) and not _on_device(251, gpu)
    assert _on_device(500, gpu) and sklfi.get_config()["device_memory_share"] == 0.5
    assert _on_device(10**12, torch.device("cpu"))
    assert not _on_device(1, torch.device("meta"))  # (other devices: streamed)


@pytest.mark.parametrize("share", [-0.1, 1.5, "half", True])
def test_the_memory_share_is_checked(share):
    with pytest.raises(ValueError, match="device_memory_share must be a number"):
        sklfi.set_config(device_memory_share=share)
    assert sklfi.get_config()["device_memory_share"] == 0.5


def stream_everything(monkeypatch):
    """Data that does not fit its device: kept on the host and streamed in
    chunks (on the CPU, the move of each chunk is the CPU's own)."""
    monkeypatch.setattr("sklfi._data._on_device", lambda nbytes, device: False)


def test_streamed_chunks_are_the_batches_of_data_on_the_device(monkeypatch):
    X = random_rows(n_rows=50, seed=3).astype(np.float32) * 2
    y = np.arange(50.0)
    rows = np.random.default_rng(1).permutation(50)
    kept = CSRDataset(X, y, np.linspace(0, 1, 50), fields=FIELDS)
    stream_everything(monkeypatch)
    streamed = CSRDataset(X, y, np.linspace(0, 1, 50), fields=FIELDS)
    assert kept.resident and not streamed.resident
    for order in (rows, None):
        a, b = kept.batches(order, 6, chunk=3), streamed.batches(order, 6, chunk=3)
        pairs = zip(a, b, strict=True)
        for (a, ya), (b, yb) in pairs:
            for name in ("idx", "val", "row", "offsets", "sample_weight"):
                assert torch.equal(getattr(a, name), getattr(b, name))
            assert torch.equal(ya, yb)


def test_a_chunk_moves_whole_to_the_device():
    chunks = [(np.array([2, 1]), (torch.arange(3), None, torch.ones(2), None))]
    (counts, moved), = _stream(iter(chunks), torch.device("cpu"))  # fmt: skip
    assert counts.tolist() == [2, 1] and moved[1] is None and moved[3] is None
    assert torch.equal(moved[0], torch.arange(3))
    assert torch.equal(moved[2], torch.ones(2))


@pytest.mark.parametrize("name", ["fm", "ffm", "deepfm", "dlrm"])
def test_training_on_streamed_chunks_equals_training_on_resident_data(
    name, clicks, monkeypatch
):
    X, y = clicks  # (2,048 rows: two chunks of 64 batches a pass)

    def fit():
        model = MODELS[name].classifier(batch_size=16, max_epochs=2, random_state=0)
        return model.fit(X, y).predict_proba(X[:300])

    resident = fit()
    stream_everything(monkeypatch)
    np.testing.assert_array_equal(fit(), resident)


def test_auto_batches_grow_on_a_gpu_for_large_data_only():
    model = MODELS["fm"].classifier()
    assert model._batch_size(80_000) == model._batch_size(80_000, "cuda") == 1024
    assert model._batch_size(1_000) == model._batch_size(1_000, "cuda") == 32
    assert model._batch_size(1_000_000, "cuda") == 1_000_000 // 256
    assert model._batch_size(10**7, "cuda:0") == 4096
    assert model._batch_size(10**7) == 1024
    assert model.set_params(batch_size=100)._batch_size(10**7, "cuda") == 100
