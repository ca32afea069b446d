"""Scale: FM and DeepFM on millions of rows of hashed ids.

For each size, a fresh process generates ``make_hashed_ctr`` data (2**20
columns, 24 categorical and 2 multi-valued fields, about 30 non-zeros per
row), trains the model for one epoch and reports the generation and training
times and the peak resident memory of the whole process. A plot of training
time against rows shows whether time grows linearly.

Usage::

    python benchmarks/scale.py [--rows 1e6,3e6,1e7] [--models fm,deepfm]
        [--batch-size 4096] [--out benchmarks/scale.png]
"""

import argparse
import json
import resource
import subprocess
import sys
import time


def child(n_rows, model, batch_size):
    import torch

    from sklfi import MODELS
    from sklfi.datasets import make_hashed_ctr

    torch.set_num_threads(2)
    start = time.perf_counter()
    X, y = make_hashed_ctr(n_samples=n_rows, random_state=0)
    generate_s = time.perf_counter() - start
    est = MODELS[model].classifier(max_epochs=1, batch_size=batch_size, random_state=0)
    start = time.perf_counter()
    est.fit(X, y)
    fit_s = time.perf_counter() - start
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(
        json.dumps(
            {
                "rows": n_rows,
                "model": model,
                "nnz": int(X.nnz),
                "generate_s": generate_s,
                "fit_s": fit_s,
                "rows_per_s": n_rows / fit_s,
                "peak_rss_gb": peak_gb,
            }
        )
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1e6,3e6,1e7")
    parser.add_argument("--models", default="fm,deepfm")
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--out", default="benchmarks/scale.png")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(int(float(args.child[0])), args.child[1], args.batch_size)
        return
    results = []
    for model in args.models.split(","):
        for rows in args.rows.split(","):
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    rows,
                    model,
                    "--batch-size",
                    str(args.batch_size),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
            r = results[-1]
            print(
                f"{model:7s} {r['rows']:>11,} rows  nnz {r['nnz']:>12,}  "
                f"generate {r['generate_s']:6.1f} s  fit {r['fit_s']:7.1f} s  "
                f"{r['rows_per_s']:>9,.0f} rows/s  peak RSS {r['peak_rss_gb']:.2f} GB",
                flush=True,
            )
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for model in args.models.split(","):
        mine = [r for r in results if r["model"] == model]
        rows = [r["rows"] / 1e6 for r in mine]
        ax.plot(rows, [r["fit_s"] for r in mine], "o-", label=model)
    ax.set_xlabel("training rows (millions)")
    ax.set_ylabel("fit time, one epoch (s)")
    ax.set_title("sklfi on hashed ids, 2 CPU threads")
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
