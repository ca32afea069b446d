"""sklfi.io refuses any file save did not write (pickles above all: never
unpickled) and any value the format does not hold."""

import json
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import PrintLog

import sklfi.io
from sklfi import FMClassifier
from sklfi.preprocessing import FieldEncoder

from .test_io import frame


class Payload:
    """Unpickling it creates a file: what a malicious pickle could do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def header(path):
    raw = Path(path).read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + length]), raw[8 + length :]


def write_header(path, head, data):
    text = json.dumps(head).encode()
    Path(path).write_bytes(struct.pack("<Q", len(text)) + text + data)


@pytest.fixture
def saved(tmp_path):
    df = frame(30)
    pipe = make_pipeline(FieldEncoder(), FMClassifier(max_epochs=1, random_state=0))
    path = tmp_path / "pipe.sklfi"
    sklfi.io.save(pipe.fit(df, [0, 1, 1] * 10), path)
    return path


def tamper(path, edit):
    """Rewrite the sklfi document of a file's header with ``edit``."""
    head, data = header(path)
    document = json.loads(head["__metadata__"]["sklfi"])
    edit(document)
    head["__metadata__"]["sklfi"] = json.dumps(document)
    write_header(path, head, data)


def test_the_file_is_safetensors_with_json_metadata(saved):
    head, _ = header(saved)
    document = json.loads(head["__metadata__"]["sklfi"])
    assert document["format"] == "sklfi" and document["format_version"] == 1
    assert document["object"]["class"] == "sklearn.pipeline.Pipeline"
    assert "steps/1/1/net_/embedding.weight" in head


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.update(format_version=2), "format version 2"),
        (lambda d: d.update(format_version="1"), "format version '1'"),
        (lambda d: d.pop("format"), "no 'format'"),
        (lambda d: d["object"].update({"class": "os.system"}), "unknown class 'os.sy"),
        (
            lambda d: d["object"]["params"]["steps"][0]["items"].__setitem__(
                1, {"$type": "estimator", "class": "builtins.eval", "params": {}}
            ),
            "unknown class 'builtins.eval'",
        ),
        (
            lambda d: d["object"]["params"]["steps"][1]["items"][1]["state"][
                "_fields"
            ].update({"class": "subprocess.Popen"}),
            "unknown class 'subprocess.Popen'",
        ),
        (
            lambda d: d["object"]["params"].update(memory={"$type": "pickle"}),
            "unknown value type 'pickle'",
        ),
        (
            lambda d: d["object"]["params"]["steps"][1]["items"][1]["net"].update(
                weights={}
            ),
            "do not fit",
        ),
        (lambda d: d["object"].pop("params"), "malformed"),
    ],
)
def test_tampered_metadata_is_refused(saved, edit, message):
    tamper(saved, edit)
    with pytest.raises(ValueError, match=message):
        sklfi.io.load(saved)


def test_corrupted_header_is_refused(saved):
    raw = bytearray(saved.read_bytes())
    raw[8] = ord("[")  # (the header's opening brace)
    saved.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="header is not valid JSON"):
        sklfi.io.load(saved)
    cut = saved.with_name("cut.sklfi")
    save_file({}, cut, metadata={"sklfi": '{"format": "sklfi", '})
    with pytest.raises(ValueError, match="'sklfi' metadata is not valid JSON"):
        sklfi.io.load(cut)


def test_tensors_past_the_end_of_the_file_are_refused(saved):
    head, data = header(saved)
    name = "steps/1/1/net_/embedding.weight"
    head[name]["data_offsets"][1] += 4096
    write_header(saved, head, data)
    with pytest.raises(ValueError, match="not a valid safetensors file"):
        sklfi.io.load(saved)


@pytest.mark.parametrize(
    "content", [b"", b"hello, not a model", b"\x10\x00\x00\x00\x00\x00\x00\x00{}"]
)
def test_other_files_are_refused(tmp_path, content):
    path = tmp_path / "other.sklfi"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not an sklfi file"):
        sklfi.io.load(path)
    save_file({"w": torch.zeros(2)}, path)  # (safetensors, but not sklfi's)
    with pytest.raises(ValueError, match="no 'sklfi' metadata"):
        sklfi.io.load(path)


def test_pickles_are_refused_and_never_unpickled(tmp_path):
    # the payload does what it says when unpickled...
    pickle.loads(pickle.dumps(Payload(tmp_path / "proof")))
    assert (tmp_path / "proof").exists()
    # ...but sklfi.io.load never unpickles it: as a pickle, a torch file, or
    # inside a safetensors file's metadata
    marker = tmp_path / "marker"
    payload = pickle.dumps(Payload(marker))
    (tmp_path / "model.pkl").write_bytes(payload)
    torch.save(Payload(marker), tmp_path / "model.pt")
    save_file(
        {}, tmp_path / "meta.sklfi", metadata={"sklfi": payload.decode("latin-1")}
    )
    for name in ("model.pkl", "model.pt", "meta.sklfi"):
        with pytest.raises(ValueError, match="sklfi file"):
            sklfi.io.load(tmp_path / name)
    assert not marker.exists()


class MyFM(FMClassifier):
    pass


@pytest.mark.parametrize(
    "obj, message",
    [
        (StandardScaler(), "saves sklfi's estimators and transformers"),
        (MyFM(), "MyFM"),
        (make_pipeline(StandardScaler(), FMClassifier()), "StandardScaler is not"),
        (FMClassifier(callbacks=[PrintLog()]), "parameter 'callbacks'.*callbacks=None"),
        (
            FMClassifier(random_state=np.random.RandomState(0)),
            "parameter 'random_state'.*pass an int",
        ),
        (FMClassifier(optimizer=torch.optim.SGD), "parameter 'optimizer'.*named"),
        (FMClassifier(accelerator=object()), "parameter 'accelerator'"),
        (FieldEncoder(categorical={"a": open}), "parameter 'categorical'"),
    ],
)
def test_what_the_format_does_not_hold_is_refused(obj, message, tmp_path):
    with pytest.raises(TypeError, match=message):
        sklfi.io.save(obj, tmp_path / "x.sklfi")
    assert not list(tmp_path.iterdir())  # (nothing written)


def test_load_asks_for_a_torch_device(saved):
    with pytest.raises(ValueError, match="not a torch device"):
        sklfi.io.load(saved, device="gpu0")


def test_a_text_width_beyond_the_items_is_refused(saved):
    def widen(node):
        if isinstance(node, dict):
            if node.get("$type") == "strings":
                node["dtype"] = "<U20000000"  # 80 MB an item, from a few bytes
            for value in node.values():
                widen(value)
        elif isinstance(node, list):
            for value in node:
                widen(value)

    tamper(saved, widen)
    with pytest.raises(ValueError, match="malformed text array"):
        sklfi.io.load(saved)


def test_a_file_replaced_while_read_is_refused(saved, tmp_path, monkeypatch):
    first = sklfi.io._read_header(saved)
    df = frame(30)
    other = make_pipeline(FieldEncoder(), FMClassifier(max_epochs=2, random_state=1))
    sklfi.io.save(other.fit(df, [1, 0, 1] * 10), saved)  # (saved over it)
    monkeypatch.setattr(sklfi.io, "_read_header", lambda path: first)
    with pytest.raises(ValueError, match="changed while it was being read"):
        sklfi.io.load(saved)
