"""Command line: ``sklfi compare`` (also ``python -m sklfi compare``)."""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

import pandas as pd
import torch

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
    cmp.add_argument("--random-state", type=int, default=0)
    cmp.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads (default: torch's choice)",
    )
    return parser


def main(argv=None) -> int:
    """Entry point of the ``sklfi`` console script."""
    args = build_parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    try:
        results = compare_models(
            args.task,
            models,
            epochs=args.epochs,
            folds=args.folds,
            max_users=args.max_users,
            data_home=args.data_home,
            random_state=args.random_state,
        )
    except (ValueError, OSError) as exc:
        print(f"sklfi compare: error: {exc}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"results_{args.task.replace('-', '_')}"
    results.to_csv(stem.with_suffix(".csv"), index=False)
    with pd.option_context(
        "display.width", 120, "display.float_format", "{:.4f}".format
    ):
        print()
        print(results.to_string(index=False))
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
