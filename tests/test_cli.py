"""The ``sklfi compare`` command line, end to end on a small subset."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from sklfi.cli import main


@pytest.mark.parametrize(
    "task, metric",
    [("rating", "rmse"), ("ctr", "roc_auc"), ("next-item", "hr@10")],
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
    assert {metric, "fit_seconds", "predict_rows_per_s"} <= set(results.columns)
    assert (tmp_path / f"{stem}.png").stat().st_size > 1000
    out = capsys.readouterr().out
    assert "[2/2] DLRM" in out and metric in out
    assert "train_loss" not in out  # the epoch tables only with --verbose
    if task != "next-item":
        baseline = {"rating": "mean rating", "ctr": "base rate"}[task]
        assert list(results.model) == [baseline, "FM", "DLRM"]
        assert list(results.kind) == ["baseline", "model", "model"]
        return
    # the baselines first, then the models; every metric with its interval
    assert list(results.model) == ["Most popular", "Item-kNN", "EASE", "FM", "DLRM"]
    assert list(results.kind) == ["baseline"] * 3 + ["model"] * 2
    assert "fold" not in results
    for name in ("hr@10", "ndcg@10", "mrr", "mean_rank", "median_rank"):
        assert np.all(results[f"{name}_low"] <= results[name])
        assert np.all(results[name] <= results[f"{name}_high"])
    # each model's own scoring speed, not one shared figure
    assert results.predict_rows_per_s.nunique() == len(results)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--models", "fm,xgb"], "unknown models ['xgb']"),
        (["--models", ""], "names no model"),
        (["--models", " , "], "names no model"),
        (["--models", "fm,FM,ffm"], "['fm'] more than once"),
        (["--max-users", "-5"], "--max-users must be a positive integer"),
        (["--threads", "-1"], "--threads must be a positive integer"),
        (["--epochs", "0"], "--epochs must be a positive integer"),
        (["--folds", "u1,u7"], "u1 to u5, got [7]"),
    ],
)
def test_bad_arguments_stop_before_any_work(
    tmp_path, args, message, capsys, monkeypatch
):
    monkeypatch.setattr("sklfi.cli.compare_models", lambda *a, **k: pytest.fail())
    assert main(["compare", "--out", str(tmp_path / "out"), *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_an_output_folder_under_a_file_stops_before_training(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr("sklfi.cli.compare_models", lambda *a, **k: pytest.fail())
    (tmp_path / "file").write_text("not a folder")
    assert main(["compare", "--out", str(tmp_path / "file" / "results")]) == 2
    assert "cannot be a folder" in capsys.readouterr().err
    assert main(["compare", "--out", str(tmp_path / "file")]) == 2
    nested = tmp_path / "new" / "deeper"
    monkeypatch.setattr("sklfi.cli.compare_models", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):  # it got as far as training
        main(["compare", "--out", str(nested)])
    assert nested.is_dir()  # made before the training


def test_one_torch_thread_unless_told(tmp_path, monkeypatch):
    # two threads beside another busy process train 11 times slower
    seen = []
    monkeypatch.setattr(
        "sklfi.cli.compare_models",
        lambda *a, **k: seen.append(torch.get_num_threads()) or 1 / 0,
    )
    before = torch.get_num_threads()
    try:
        for args in ([], ["--threads", "2"]):
            with pytest.raises(ZeroDivisionError):
                main(["compare", "--out", str(tmp_path), *args])
    finally:
        torch.set_num_threads(before)
    assert seen == [1, 2]


def test_python_dash_m_entry_point():
    out = subprocess.run(
        [sys.executable, "-m", "sklfi", "compare", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--task {rating,ctr,next-item}" in out.stdout
