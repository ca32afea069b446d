"""What ``sklfi compare`` prints and draws: short and plain by default, the
epoch tables with ``--verbose``, colours only on a terminal, and a chart
that reads against a baseline."""

import io
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sklfi.cli import main
from sklfi.compare import compare_models, plot_results

plt = pytest.importorskip("matplotlib.pyplot")

SMALL = ["--models", "fm,dlrm", "--epochs", "2", "--max-users", "40"]
EPOCH_ROW = re.compile(r"^\s+\d+\s+\d+\.\d+")  # "      1        0.8514  0.0696"


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_default_output_is_a_line_per_model_and_plain(tmp_path, movielens):
    # as `sklfi compare > out.txt 2>&1`: a pipe, not a terminal
    run = subprocess.run(
        [sys.executable, "-m", "sklfi", "compare", *SMALL, "--out", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=True,
    )
    lines = [line for line in run.stdout.splitlines() if line.strip()]
    assert "\x1b" not in run.stdout and "\r" not in run.stdout
    assert len(lines) <= 12, run.stdout
    assert not any(EPOCH_ROW.match(line) for line in lines)
    done = [line for line in lines if line.startswith("[")]
    assert len(done) == 2
    assert all(re.search(r"done in \d+\.\d s  rmse \d\.\d{4}$", x) for x in done)
    # the table's figures rounded: 4 decimals, 1 for seconds, whole rows/s
    row = next(line for line in lines if line.split()[0] == "FM")
    rmse, seconds, speed = row.split()[3:]
    assert re.fullmatch(r"\d\.\d{4}", rmse) and re.fullmatch(r"\d+\.\d", seconds)
    assert re.fullmatch(r"[\d,]+", speed)
    # the baseline: the mean training rating, scored on the test rows
    results = pd.read_csv(tmp_path / "results_rating.csv")
    train, test = movielens.folds[0]
    ratings = movielens.ratings.rating.to_numpy(dtype=float)
    users = movielens.ratings.user_id.to_numpy()
    mean = ratings[train][users[train] <= 40].mean()
    expected = np.sqrt(np.mean((ratings[test][users[test] <= 40] - mean) ** 2))
    baseline = results.set_index("model").loc["mean rating"]
    assert baseline.kind == "baseline"
    assert baseline.rmse == pytest.approx(expected)
    assert np.isnan(baseline.fit_seconds)  # nothing to time
    assert "mean rating" in lines[1] and f"{expected:.4f}" in lines[1]


def test_verbose_prints_the_epoch_tables_without_colours(tmp_path, movielens, capsys):
    assert main(["compare", *SMALL, "--out", str(tmp_path), "--verbose"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert out.count("train_loss") == 2  # a table per model
    assert sum(bool(EPOCH_ROW.match(line)) for line in out.splitlines()) == 4


def test_colours_and_a_progress_line_only_on_a_terminal(movielens, monkeypatch):
    def printed(verbose):
        terminal = _Terminal()
        monkeypatch.setattr(sys, "stdout", terminal)
        compare_models("rating", ["fm"], epochs=2, max_users=40, verbose=verbose)
        monkeypatch.undo()
        return terminal.getvalue()

    tables = printed(2)
    assert "train_loss" in tables and "\x1b[" in tables  # skorch's colours
    progress = printed(1)
    assert "\rFM" not in progress and "epoch 2/2" in progress
    assert "\x1b" not in progress and "train_loss" not in progress
    # the progress line is overwritten by the model's line
    assert re.search(r"\r *\r\[1/1\] FM +done in", progress)
    assert printed(0) == ""


def _results(task):
    if task == "next-item":
        models = ["Most popular", "Item-kNN", "EASE", "FM", "DLRM"]
        hr = np.array([0.086, 0.12, 0.146, 0.16, 0.15])
        return pd.DataFrame(
            {"model": models, "kind": ["baseline"] * 3 + ["model"] * 2,
             "hr@10": hr, "hr@10_low": hr - 0.02, "hr@10_high": hr + 0.02}
        )  # fmt: skip
    metric, name, values = {
        "rating": ("rmse", "mean rating", [1.154, 0.915, 0.932]),
        "ctr": ("roc_auc", "base rate", [0.5, 0.796, 0.794]),
    }[task]
    return pd.DataFrame(
        {"model": [name, "FM", "DLRM"], "kind": ["baseline", "model", "model"],
         "fold": 1, metric: values}
    )  # fmt: skip


@pytest.mark.parametrize(
    "task, baseline, value",
    [("rating", "mean rating", 1.154), ("ctr", "base rate", 0.5),
     ("next-item", "Most popular", 0.086)],
)  # fmt: skip
def test_the_chart_reads_against_a_baseline(task, baseline, value, tmp_path):
    fig = plot_results(_results(task), task, tmp_path / "chart.png")
    ax = fig.axes[0]
    (line,) = [x for x in ax.get_lines() if x.get_label() == baseline]
    assert line.get_ydata()[0] == pytest.approx(value)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [baseline]
    assert ax.get_ylim()[0] == 0  # a bar's height is its value
    assert (tmp_path / "chart.png").stat().st_size > 1000
    plt.close(fig)


def test_the_chart_of_results_without_baselines():
    # a table of models only, as compare_models returned before the baselines
    results = _results("rating").iloc[1:].drop(columns="kind")
    fig = plot_results(results, "rating")
    ax = fig.axes[0]
    assert ax.get_legend() is None and ax.get_ylim()[0] == 0
    assert len(ax.patches) == 2
    plt.close(fig)
