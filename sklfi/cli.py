"""Command line: ``sklfi compare`` (also ``python -m sklfi compare``)."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

import torch

from ._compare_report import format_table
from .compare import TASKS, compare_models, plot_results
from .estimators import MODELS


def _folds(text: str):
    if text == "all":
        return [1, 2, 3, 4, 5]
    try:
        return [int(part.strip().lstrip("u")) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--folds takes 'all' or a list such as u1,u2 or 1,2; got {text!r}"
        ) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sklfi", description="Feature-interaction models on MovieLens-100K."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    cmp = sub.add_parser(
        "compare",
        help="train and compare the models on MovieLens-100K",
        description="Train the selected models on MovieLens-100K (downloaded "
        "on first use, or read from $SKLFI_DATA) and print, save and plot their "
        "test scores.",
    )
    cmp.add_argument("--task", choices=list(TASKS), default="rating")
    cmp.add_argument(
        "--models",
        default=",".join(MODELS),
        help=f"comma-separated, case-insensitive (default: {','.join(MODELS)})",
    )
    cmp.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="epochs per model (default: each model's default)",
    )
    cmp.add_argument(
        "--folds",
        type=_folds,
        default=[1],
        help="rating/ctr splits: u1 (default), u1,u2,... or all",
    )
    cmp.add_argument(
        "--max-users",
        type=int,
        default=None,
        help="keep the users with the smallest ids (quick runs)",
    )
    cmp.add_argument(
        "--out",
        type=Path,
        default=Path("results"),
        help="folder for the CSV and the PNG chart (default: results)",
    )
    cmp.add_argument(
        "--data-home",
        default=None,
        help="folder holding ml-100k/ (default: $SKLFI_DATA or ~/sklfi_data)",
    )
    cmp.add_argument(
        "--keep-seen",
        action="store_true",
        help="next-item: rank the held-out movie among every movie, those the "
        "user watched before included (default: excluded, the standard "
        "protocol)",
    )
    cmp.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="print every model's epoch table (default: one line per model)",
    )
    cmp.add_argument("--random-state", type=int, default=0)
    cmp.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (default: 1; on 2 cores as fast as 2 threads on a "
        "quiet machine, and 11 times faster when other processes keep the "
        "cores busy)",
    )
    return parser


def _check(args) -> list:
    """The models to compare; a ValueError naming the bad argument before
    any data is read or model trained (the output folder is made here)."""
    models = [m.strip().lower() for m in args.models.split(",") if m.strip()]
    if not models:
        raise ValueError(f"--models names no model; choose from {','.join(MODELS)}.")
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ValueError(f"unknown models {unknown}; choose from {list(MODELS)}.")
    repeated = sorted({m for m in models if models.count(m) > 1})
    if repeated:
        raise ValueError(f"--models names {repeated} more than once.")
    for name in ("epochs", "max_users", "threads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            flag = "--" + name.replace("_", "-")
            raise ValueError(f"{flag} must be a positive integer, got {value}.")
    bad = [f for f in args.folds if not 1 <= f <= 5]
    if bad:
        raise ValueError(f"--folds takes splits u1 to u5, got {bad}.")
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"--out {args.out} cannot be a folder: {exc}.") from None
    if not os.access(args.out, os.W_OK):
        raise ValueError(f"--out {args.out} is not writable.")
    return models


def main(argv=None) -> int:
    """Entry point of the ``sklfi`` console script."""
    args = build_parser().parse_args(argv)
    try:
        models = _check(args)
    except ValueError as exc:
        print(f"sklfi compare: error: {exc}", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    try:
        results = compare_models(
            args.task,
            models,
            epochs=args.epochs,
            folds=args.folds,
            max_users=args.max_users,
            exclude_seen=not args.keep_seen,
            data_home=args.data_home,
            random_state=args.random_state,
            verbose=2 if args.verbose else 1,
        )
    except (ValueError, OSError) as exc:
        print(f"sklfi compare: error: {exc}", file=sys.stderr)
        return 2
    stem = args.out / f"results_{args.task.replace('-', '_')}"
    results.to_csv(stem.with_suffix(".csv"), index=False)
    print()
    print(format_table(results))  # DataFrame.to_string: never wrapped
    if any(c.endswith("_low") for c in results):
        print("\n95% bootstrap intervals over the test users: the CSV's *_low "
              "and *_high columns")  # fmt: skip
    print(
        f"\nmachine: {platform.machine()}, {torch.get_num_threads()} torch threads, "
        f"torch {torch.__version__}"
    )
    print(f"wrote {stem.with_suffix('.csv')}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("install matplotlib for the chart (pip install matplotlib)")
        return 0
    plt.close(plot_results(results, args.task, stem.with_suffix(".png")))
    print(f"wrote {stem.with_suffix('.png')}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
