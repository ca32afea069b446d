"""Criteo-like click logs on disk, streamed: sklfi against pytorch-fm and DeepCTR-Torch.

``write`` makes the data: tab-separated text in the layout of the Criteo
click logs (no header; the label, 13 integer columns I1..I13 of heavy-tailed
counts, 26 categorical columns C1..C26 of 8-hex-digit ids; missing values
empty), a training file of ``--rows`` rows and a test file of 200,000 rows.
Each categorical column draws its ids from a Zipf distribution of its own
exponent (from a few hundred distinct ids to millions); the click follows a
logistic model with a weight per id, two count effects and a planted
interaction between C1 and C2 (an inner product of hidden 2-d factors), so
the ROC AUC measures what a model learnt.

``run`` trains, each configuration in a fresh process. Every library gets
the same 39 categorical fields: the integer columns bucketed as the Criteo
winners did (``int(log(x)**2)`` above 2), missing values as a token of their
own, every field hashed by :class:`~sklfi.preprocessing.FieldHasher` into
``2**bits`` columns (39 fields: 2**15 per field is 2**20.3 columns in all,
2**17 is 2**22.3, 2**19 is 2**24.3). sklfi streams the training file:
``pandas.read_csv`` in chunks, hashing, ``partial_fit``, one pass, with
rows/s over the whole loop (reading and hashing included) and the peak RSS
of the process. pytorch-fm and DeepCTR-Torch do not train on chunks as they
are read, so they train in memory on the first ``--peer-rows`` rows (one
epoch, Adam, batch 2048, their dense embedding tables), and sklfi trains in
memory on the same rows for a matched ROC AUC; their rows/s count the whole
fit, building the model included, as sklfi's ``fit`` does. ``--plot`` draws
rows/s and peak memory against columns and rows from the results file. Usage::

    python benchmarks/criteo.py write /tmp/criteo --rows 20000000
    python benchmarks/criteo.py run /tmp/criteo --models fm,deepfm --bits 15,17,19
        --rows 2000000 [--peers pytorch-fm,deepctr-torch --peer-rows 100000]
        [--results criteo.jsonl] [--plot docs/images/large_data.png]
"""

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

NUMERIC = [f"I{i}" for i in range(1, 14)]
CATEGORICAL = [f"C{i}" for i in range(1, 27)]
COLUMNS = ["label", *NUMERIC, *CATEGORICAL]
TEST_ROWS = 200_000
CHUNK = 250_000
HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


# -- the data ------------------------------------------------------------------
class Log:
    """The hidden click model; the same tables for every chunk."""

    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        self.exponents = rng.permutation(np.linspace(1.05, 3.0, 26))
        self.salts = rng.integers(0, 2**32, 26)
        self.missing = np.r_[np.zeros(18), np.full(8, 0.3)]  # C19..C26
        self.weights = rng.normal(0, 0.35, (26, 4096))
        self.factors = rng.normal(0, 0.8, (2, 4096, 2))
        self.count_scale = rng.uniform(0.5, 3.0, 13)
        self.count_missing = rng.uniform(0.0, 0.4, 13)

    def chunk(self, rng, n):
        frame = {}
        logit = np.full(n, -1.6)
        for k, name in enumerate(NUMERIC):
            counts = np.floor(rng.lognormal(self.count_scale[k], 1.5, n))
            present = rng.random(n) >= self.count_missing[k]
            if k < 2:  # two counts raise or lower the odds
                logit += (0.3, -0.3)[k] * (np.log1p(counts) * present - 1.5)
            frame[name] = pd.array(counts.astype(np.int64), dtype="Int64")
            frame[name][~present] = pd.NA
        raw = []
        for f, name in enumerate(CATEGORICAL):
            ids = rng.zipf(self.exponents[f], n) % 2**31
            present = rng.random(n) >= self.missing[f]
            logit += self.weights[f, ids % 4096] * present
            raw.append(ids)
            hashed = (ids * 2654435761 + self.salts[f]) % 2**32
            digits = (hashed[:, None] >> np.arange(28, -1, -4)) & 0xF
            text = HEX[digits].view("S8").ravel().astype("U8").astype(object)
            text[~present] = ""
            frame[name] = text
        first, second = self.factors[0, raw[0] % 4096], self.factors[1, raw[1] % 4096]
        logit += 1.5 * np.sum(first * second, axis=1)
        label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int8)
        return pd.DataFrame({"label": label, **frame})[COLUMNS]


def write(folder, n_rows):
    folder.mkdir(parents=True, exist_ok=True)
    log = Log()
    for name, rows, seed in (("train.tsv", n_rows, 1), ("test.tsv", TEST_ROWS, 2)):
        path, rng = folder / name, np.random.default_rng(seed)
        path.unlink(missing_ok=True)
        start = time.perf_counter()
        for first in range(0, rows, 1_000_000):
            chunk = log.chunk(rng, min(1_000_000, rows - first))
            chunk.to_csv(path, sep="\t", header=False, index=False, mode="a")
        print(f"{path}: {rows:,} rows, {path.stat().st_size / 2**30:.2f} GB, "
              f"{time.perf_counter() - start:.0f} s")  # fmt: skip


def read(path, chunksize=None, nrows=None):
    """The file as DataFrames (chunks when ``chunksize`` is given)."""
    dtypes = {"label": np.int8, **dict.fromkeys(NUMERIC, "float64"),
              **dict.fromkeys(CATEGORICAL, "category")}  # fmt: skip
    return pd.read_csv(path, sep="\t", header=None, names=COLUMNS, dtype=dtypes,
                       chunksize=chunksize, nrows=nrows)  # fmt: skip


def features(chunk):
    """39 categorical columns: counts bucketed, missing values a token."""
    out = {}
    for name in NUMERIC:
        x = chunk[name].to_numpy()
        bucket = np.where(x > 2, 100 + np.floor(np.log(np.maximum(x, 2)) ** 2), x)
        out[name] = np.where(np.isnan(x), -1, bucket).astype(np.int64)
    for name in CATEGORICAL:
        column = chunk[name]
        out[name] = column.cat.add_categories("-").fillna("-")
    return pd.DataFrame(out)


def hasher(bits):
    from sklfi.preprocessing import FieldHasher

    return FieldHasher(n_features=2**bits, categorical=NUMERIC + CATEGORICAL)


def test_set(folder, bits):
    test = read(folder / "test.tsv")
    return hasher(bits).transform(features(test)), test["label"].to_numpy()


# -- one configuration, in its own process -------------------------------------
def run_sklfi_stream(folder, model, bits, rows):
    import torch
    from sklearn.metrics import roc_auc_score

    from sklfi import MODELS

    torch.set_num_threads(1)
    hash_chunk = hasher(bits)
    est = MODELS[model].classifier(batch_size=2048, random_state=0)
    seconds = {"read": 0.0, "hash": 0.0, "train": 0.0}
    clock = time.perf_counter()
    for chunk in read(folder / "train.tsv", chunksize=CHUNK, nrows=rows):
        now = time.perf_counter()
        seconds["read"] += now - clock
        X = hash_chunk.transform(features(chunk))
        clock = time.perf_counter()
        seconds["hash"] += clock - now
        est.partial_fit(X, chunk["label"].to_numpy(), classes=[0, 1])
        now, clock = clock, time.perf_counter()
        seconds["train"] += clock - now
    total = sum(seconds.values())
    scores, labels = [], []  # the test file is streamed too
    for chunk in read(folder / "test.tsv", chunksize=CHUNK):
        X = hash_chunk.transform(features(chunk))
        scores.append(est.predict_proba(X)[:, 1])
        labels.append(chunk["label"].to_numpy())
    auc = roc_auc_score(np.concatenate(labels), np.concatenate(scores))
    return {"rows_per_s": rows / total, "seconds": seconds, "auc": auc,
            "sparse": bool(est.net_.module_.embedding.sparse)}  # fmt: skip


def in_memory(folder, bits, rows):
    train = read(folder / "train.tsv", nrows=rows)
    X, y = hasher(bits).transform(features(train)), train["label"].to_numpy()
    X_test, y_test = test_set(folder, bits)
    return X, y, X_test, y_test


def codes(X):
    """Per-field codes of a matrix with one id in each of its 39 fields."""
    csr = X.tocsr()
    width = X.shape[1] // 39
    return (csr.indices.reshape(-1, 39) - np.arange(39) * width).astype(np.int64), width


def run_sklfi_memory(folder, model, bits, rows):
    import torch
    from sklearn.metrics import roc_auc_score

    from sklfi import MODELS

    torch.set_num_threads(1)
    X, y, X_test, y_test = in_memory(folder, bits, rows)
    est = MODELS[model].classifier(max_epochs=1, batch_size=2048, random_state=0)
    start = time.perf_counter()
    est.fit(X, y)
    seconds = time.perf_counter() - start
    auc = roc_auc_score(y_test, est.predict_proba(X_test)[:, 1])
    return {"rows_per_s": rows / seconds, "auc": auc}


def run_torchfm(folder, model, bits, rows):
    import torch
    from _common import torchfm_epoch, torchfm_net
    from sklearn.metrics import roc_auc_score

    torch.set_num_threads(1)
    torch.manual_seed(0)
    X, y, X_test, y_test = in_memory(folder, bits, rows)
    (train, width), (test, _) = codes(X), codes(X_test)
    dims = np.full(39, width)
    start = time.perf_counter()  # as sklfi's fit: building the model counts
    net = torchfm_net(model, dims)
    dataset = torch.utils.data.TensorDataset(
        torch.from_numpy(train), torch.tensor(y, dtype=torch.float32)
    )
    loader = torch.utils.data.DataLoader(dataset, batch_size=2048, shuffle=True)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    torchfm_epoch(net, loader, optimizer, torch.nn.BCELoss())
    seconds = time.perf_counter() - start
    net.eval()
    with torch.no_grad():
        pred = torch.cat([net(torch.from_numpy(test[i : i + 8192]))
                          for i in range(0, len(test), 8192)])  # fmt: skip
    return {"rows_per_s": rows / seconds, "auc": roc_auc_score(y_test, pred.numpy())}


def run_deepctr(folder, model, bits, rows):
    import torch
    from deepctr_torch.inputs import SparseFeat
    from deepctr_torch.models import AFM, NFM, WDL, DeepFM
    from sklearn.metrics import roc_auc_score

    torch.set_num_threads(1)
    X, y, X_test, y_test = in_memory(folder, bits, rows)
    (train, width), (test, _) = codes(X), codes(X_test)
    names = NUMERIC + CATEGORICAL
    cols = [SparseFeat(name, width, embedding_dim=8) for name in names]
    common = dict(task="binary", device="cpu", seed=0)
    start = time.perf_counter()  # as sklfi's fit: building the model counts
    net = {
        "fm": lambda: DeepFM(cols, cols, dnn_hidden_units=(), **common),
        "afm": lambda: AFM(cols, cols, attention_factor=8, **common),
        "nfm": lambda: NFM(cols, cols, dnn_hidden_units=(64,), **common),
        "widedeep": lambda: WDL(cols, cols, dnn_hidden_units=(64, 32), **common),
        "deepfm": lambda: DeepFM(cols, cols, dnn_hidden_units=(64, 32), **common),
    }[model]()
    net.compile(torch.optim.Adam(net.parameters(), lr=1e-3), "binary_crossentropy")
    inputs = {name: train[:, j] for j, name in enumerate(names)}
    net.fit(inputs, y, batch_size=2048, epochs=1, verbose=0)
    seconds = time.perf_counter() - start
    pred = net.predict({n: test[:, j] for j, n in enumerate(names)}, batch_size=8192)
    return {"rows_per_s": rows / seconds, "auc": roc_auc_score(y_test, pred.ravel())}


RUNNERS = {
    "sklfi stream": run_sklfi_stream,
    "sklfi": run_sklfi_memory,
    "pytorch-fm": run_torchfm,
    "deepctr-torch": run_deepctr,
}
UNSUPPORTED = {("pytorch-fm", "dlrm"), ("deepctr-torch", "dlrm"),
               ("deepctr-torch", "ffm")}  # fmt: skip


# -- the driver ----------------------------------------------------------------
def run(args):
    jobs = [("sklfi stream", m, b, r) for m in args.models.split(",")
            for b in args.bits for r in args.rows]  # fmt: skip
    for peer in args.peers.split(",") if args.peers else []:
        jobs += [(lib, m, b, args.peer_rows) for m in args.models.split(",")
                 for b in args.bits for lib in ("sklfi", peer)
                 if (peer, m) not in UNSUPPORTED]  # fmt: skip
    jobs = list(dict.fromkeys(jobs))
    print(f"{'library':<14}{'model':<10}{'bits':>5}{'rows':>12}{'rows/s':>10}"
          f"{'AUC':>8}{'peak RSS':>10}")  # fmt: skip
    for library, model, bits, rows in jobs:
        cmd = [sys.executable, __file__, "child", str(args.folder), library,
               model, str(bits), str(rows)]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode:
            error = (done.stderr.strip().splitlines() or ["killed"])[-1]
            result = {"error": error[:200]}
            print(f"{library:<14}{model:<10}{bits:>5}{rows:>12,}  failed: {error[:90]}")
        else:
            result = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"{library:<14}{model:<10}{bits:>5}{rows:>12,}"
                  f"{result['rows_per_s']:>10,.0f}{result['auc']:>8.4f}"
                  f"{result['peak_rss_gb']:>8.2f} GB", flush=True)  # fmt: skip
        result.update(library=library, model=model, bits=bits, rows=rows)
        with open(args.results, "a") as out:
            out.write(json.dumps(result) + "\n")


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = pd.DataFrame([json.loads(line) for line in open(results)])
    table = table[table.get("error").isna()] if "error" in table else table
    table = table.drop_duplicates(["library", "model", "bits", "rows"], keep="last")
    table["columns"] = 39 * 2.0 ** table["bits"]
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex="col")
    stream = table[table["library"] == "sklfi stream"]
    color = dict(zip(sorted(stream["model"].unique()), plt.cm.tab10.colors))
    by_columns = stream[stream["rows"] == stream["rows"].min()]
    for model, rows in by_columns.groupby("model"):
        style = dict(color=color[model], label=model)
        axes[0, 0].plot(rows["columns"], rows["rows_per_s"], "o-", **style)
        axes[1, 0].plot(rows["columns"], rows["peak_rss_gb"], "o-", **style)
    for library in ("pytorch-fm", "deepctr-torch"):
        peer = table[table["library"] == library]
        for _, rows in peer.groupby("model"):
            axes[0, 0].plot(rows["columns"], rows["rows_per_s"], "x:", color="grey")
    axes[0, 0].plot([], [], "x:", color="grey", label="pytorch-fm, DeepCTR-Torch")
    bits = stream.groupby("bits")["rows"].nunique().idxmax()
    by_rows = stream[stream["bits"] == bits]
    for model, rows in by_rows.groupby("model"):
        if rows["rows"].nunique() > 1:
            style = dict(color=color[model], label=model)
            axes[0, 1].plot(rows["rows"], rows["rows_per_s"], "o-", **style)
            axes[1, 1].plot(rows["rows"], rows["peak_rss_gb"], "o-", **style)
    axes[0, 0].set(xscale="log", yscale="log", ylabel="train rows/s",
                   title="against columns (streamed, one pass)")  # fmt: skip
    axes[1, 0].set(xscale="log", ylabel="peak RSS (GB)", xlabel="hashed columns")
    axes[0, 1].set(xscale="log", ylim=(0, None),
                   title=f"against rows (2**{bits} columns a field)")  # fmt: skip
    axes[1, 1].set(xscale="log", ylabel="peak RSS (GB)", xlabel="rows streamed",
                   ylim=(0, 1.25 * by_rows["peak_rss_gb"].max()))  # fmt: skip
    axes[1, 0].legend(*axes[0, 0].get_legend_handles_labels(), fontsize=7,
                      loc="upper left")  # fmt: skip
    axes[1, 1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"wrote {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    writer = commands.add_parser("write")
    writer.add_argument("folder", type=Path)
    writer.add_argument("--rows", type=float, default=20e6)
    runner = commands.add_parser("run")
    runner.add_argument("folder", type=Path)
    runner.add_argument("--models", default="fm,ffm,afm,widedeep,deepfm,nfm,dlrm")
    runner.add_argument("--bits", default="15,17,19")
    runner.add_argument("--rows", default="2e6", help='"" for peers only')
    runner.add_argument("--peers", default="")
    runner.add_argument("--peer-rows", type=float, default=100_000)
    runner.add_argument("--results", default="criteo.jsonl")
    runner.add_argument("--plot")
    child = commands.add_parser("child")
    child.add_argument("folder", type=Path)
    child.add_argument("library", choices=list(RUNNERS))
    child.add_argument("model")
    child.add_argument("bits", type=int)
    child.add_argument("rows", type=int)
    args = parser.parse_args()
    if args.command == "write":
        write(args.folder, int(args.rows))
    elif args.command == "child":
        out = RUNNERS[args.library](args.folder, args.model, args.bits, args.rows)
        out["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        print(json.dumps(out))
    else:
        args.bits = [int(b) for b in args.bits.split(",")]
        args.rows = [int(float(r)) for r in args.rows.split(",") if r]
        args.peer_rows = int(args.peer_rows)
        if args.models or args.peers:
            run(args)
        if args.plot:
            plot(args.results, args.plot)


if __name__ == "__main__":
    main()
