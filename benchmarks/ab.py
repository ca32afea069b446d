"""This checkout's sklfi against another version of it, interleaved in one
process: the before/after measurement of a change.

The other version's ``sklfi`` package (``--other``: a checkout, or a folder
holding its ``sklfi/``, e.g. from ``git worktree add /tmp/before HEAD~1``)
is copied and imported as ``sklfi_other``. Both train every model on u1
with the protocol's settings (as ``peers.py``), on the reference fields
(all genres: multi-valued) and on the first-genre codes (one non-zero per
field), fits taking turns ``--repeat`` times (best time kept), then predict
the test rows at batch 256 and 4096, taking turns (best of 10). Prints the
rows/s of each and the ratio this / other, and both test metrics (equal
when the change keeps the arithmetic). Usage::

    python benchmarks/ab.py --other /tmp/before [--task rating|ctr]
        [--epochs 3] [--repeat 3] [--models fm,ffm,afm,widedeep,deepfm,nfm,dlrm]
"""

import argparse
import importlib
import shutil
import sys
import tempfile
import time
import warnings
from functools import partial
from pathlib import Path

import pandas as pd
import torch
from _common import (
    BATCHES,
    at_batch_size,
    first_genre_matrix,
    load,
    metric,
    predict_rates,
    scores,
    with_protocol,
)

import sklfi


def import_other(path):
    """The ``sklfi`` package under ``path`` as the module ``sklfi_other``."""
    source = Path(path) / "sklfi" if (Path(path) / "sklfi").is_dir() else Path(path)
    folder = Path(tempfile.mkdtemp())
    shutil.copytree(source, folder / "sklfi_other")
    sys.path.insert(0, str(folder))
    return importlib.import_module("sklfi_other")


def as_other(X, lib):
    """A FieldMatrix of this sklfi as one of ``lib``'s."""
    return lib.FieldMatrix(X.tocsr(), X.fields, X.field_names, X.field_kinds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--other", required=True)
    parser.add_argument("--task", choices=["rating", "ctr"], default="rating")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--models", default=",".join(sklfi.MODELS))
    args = parser.parse_args()
    torch.set_num_threads(2)
    warnings.filterwarnings("ignore")
    libs = {"this": sklfi, "other": import_other(args.other)}
    X_train, X_test, y_train, y_test, codes, dims = load(args.task)
    inputs = {
        "all genres": (X_train, X_test),
        "first genre": (
            first_genre_matrix(codes["train"][0], dims),
            first_genre_matrix(codes["test"][0], dims),
        ),
    }
    regression = args.task == "rating"

    def estimator(lib, model):
        name = type(sklfi.MODELS[model].estimator(regression)).__name__
        return with_protocol(getattr(lib, name)(), args.epochs)

    # one untimed fit each first: a process's first fit pays one-time costs
    for name, lib in libs.items():
        Xtr = X_train if name == "this" else as_other(X_train, lib)
        estimator(lib, "fm").set_params(max_epochs=1).fit(Xtr, y_train)
    rows = []
    for model in args.models.split(","):
        for data, (train, test) in inputs.items():
            fit_s, predictors, metrics = {}, {}, {}
            for _ in range(args.repeat):  # this, other, this, other...
                for name, lib in libs.items():
                    cls = getattr(
                        lib, type(sklfi.MODELS[model].estimator(regression)).__name__
                    )
                    est = with_protocol(cls(), args.epochs)
                    Xtr, Xte = (train, test) if name == "this" else (
                        as_other(train, lib), as_other(test, lib),
                    )  # fmt: skip
                    start = time.perf_counter()
                    est.fit(Xtr, y_train)
                    seconds = time.perf_counter() - start
                    if seconds < fit_s.get(name, float("inf")):
                        fit_s[name] = seconds
                        predictors[name] = at_batch_size(est, partial(scores, est), Xte)
                        metrics[name] = metric(args.task, y_test, scores(est, Xte))
            rates = predict_rates(predictors, len(y_test))
            row = {"model": model, "data": data}
            for what, value in (
                (
                    "train",
                    {n: len(y_train) * args.epochs / s for n, s in fit_s.items()},
                ),
                *((f"predict@{b}", {n: rates[n][b] for n in libs}) for b in BATCHES),
            ):
                row[what] = value["this"] / value["other"]
            row.update({f"metric ({n})": metrics[n] for n in libs})
            rows.append(row)
            print(pd.DataFrame([row]).round(4).to_string(index=False), flush=True)
    print("\nratios this / other (above 1: this is faster)")
    print(pd.DataFrame(rows).round(4).to_string(index=False))


if __name__ == "__main__":
    main()
