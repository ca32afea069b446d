"""What the comparison job prints: one line per model, the epoch tables when
asked, and the results table rounded to what its figures mean."""

from __future__ import annotations

import sys
from functools import partial

import pandas as pd
from skorch.callbacks import Callback, PrintLog


class _PlainPrintLog(PrintLog):
    """skorch's epoch table without its colours, for output that is not a
    terminal (a file or a pipe would keep the escape codes as text)."""

    def format_row(self, row, key, color):
        # PrintLog colours a value when the row marks it best (``<key>_best``):
        # formatting the value alone leaves it plain
        return super().format_row({key: row[key]}, key, color)


class _EpochLine(Callback):
    """Report each finished epoch to ``write`` (the terminal's progress line)."""

    def __init__(self, write):
        self.write = write

    def on_epoch_end(self, net, **kwargs):
        self.write(f"epoch {len(net.history)}/{net.max_epochs}")


class Report:
    """The comparison's progress on standard output.

    ``verbose`` 0 prints nothing, 1 a line per model once it is done (on a
    terminal, also a line that follows its epochs and is then overwritten),
    2 also every model's epoch table, coloured only on a terminal.
    """

    def __init__(self, verbose):
        self.level = int(verbose)
        self.tty = sys.stdout.isatty()
        self._shown = ""  # the progress line now on the terminal
        self.width = 0  # of the labels, aligned

    def align(self, labels) -> None:
        """Pad the next labels to the longest of ``labels``."""
        self.width = max(map(len, labels))

    def log(self, message: str) -> None:
        """Print a line (when verbose)."""
        if self.level:
            self._clear()
            print(message, flush=True)

    def line(self, label: str, text: str) -> None:
        """Print ``text`` after the padded ``label`` (when verbose)."""
        self.log(f"{label:{self.width}}  {text}")

    def fit_params(self, label: str) -> dict:
        """The estimator's ``verbose`` and ``callbacks`` for a model about to
        train, announced under ``label``."""
        if self.level >= 2:
            self.log(f"{label}: training...")
            if self.tty:
                return {"verbose": 1}
            # the default table (verbose=0) stays silent; this one, its sink
            # not being print, prints whatever the net's verbose
            table = _PlainPrintLog(sink=partial(print, flush=True))
            return {"verbose": 0, "callbacks": [("plain_print_log", table)]}
        if self.level and self.tty:
            label = label.ljust(self.width)
            self._progress(f"{label}  training...")
            line = _EpochLine(lambda text: self._progress(f"{label}  {text}"))
            return {"verbose": 0, "callbacks": [("progress_line", line)]}
        return {"verbose": 0}

    def _progress(self, text: str) -> None:
        # "\r" and spaces only: no escape codes, even on a terminal
        sys.stdout.write("\r" + text.ljust(len(self._shown)))
        sys.stdout.flush()
        self._shown = text

    def _clear(self) -> None:
        if self._shown:
            sys.stdout.write("\r" + " " * len(self._shown) + "\r")
            self._shown = ""


def scores_text(row: dict, metrics) -> str:
    """``"rmse 0.9149"``: the row's metrics, 4 decimals."""
    return "  ".join(f"{m} {row[m]:.4f}" for m in metrics)


def _formatter(spec: str):
    return lambda value: "" if pd.isna(value) else format(value, spec)


def format_table(results: pd.DataFrame) -> str:
    """The results as text, without the interval columns: metrics to 4
    decimals, ranks and seconds to 1, rows per second as integers, and a
    dash where a row has no figure (a constant baseline's timings)."""
    shown = [c for c in results if not c.endswith(("_low", "_high"))]
    formats = {}
    for column in shown:
        if column == "predict_rows_per_s":
            formats[column] = _formatter(",.0f")
        elif column == "fit_seconds" or column.endswith("_rank"):
            formats[column] = _formatter(".1f")
        elif pd.api.types.is_float_dtype(results[column]):
            formats[column] = _formatter(".4f")
    return results[shown].to_string(index=False, formatters=formats, na_rep="-")
