"""The ``sklfi compare`` command line, end to end on a small subset."""

import subprocess
import sys

import pandas as pd
import pytest

from sklfi.cli import main


@pytest.mark.parametrize(
    "task, metric",
    [("rating", "rmse"), ("ctr", "roc_auc"), ("next-item", "mean_rank")],
)
def test_compare_writes_csv_and_png(tmp_path, movielens, task, metric, capsys):
    code = main(
        [
            "compare",
            "--task",
            task,
            "--models",
            "FM,dlrm",
            "--epochs",
            "1",
            "--max-users",
            "40",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    stem = "results_" + task.replace("-", "_")
    results = pd.read_csv(tmp_path / f"{stem}.csv")
    assert list(results.model) == ["FM", "DLRM"]
    assert {metric, "fit_seconds", "predict_rows_per_s"} <= set(results.columns)
    assert (tmp_path / f"{stem}.png").stat().st_size > 1000
    out = capsys.readouterr().out
    assert "[2/2] DLRM" in out and metric in out


def test_compare_rejects_unknown_model(tmp_path, movielens, capsys):
    assert main(["compare", "--models", "fm,xgb", "--out", str(tmp_path)]) == 2
    assert "unknown models ['xgb']" in capsys.readouterr().err


def test_python_dash_m_entry_point():
    out = subprocess.run(
        [sys.executable, "-m", "sklfi", "compare", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--task {rating,ctr,next-item}" in out.stdout
