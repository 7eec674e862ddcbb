"""``lrnet train --refit``: the scored settings fitted again on every row, and saved."""

from __future__ import annotations

import json
import signal

import numpy as np
import pandas as pd
import pytest

import lrnet
from lrnet import LRNClassifier
from lrnet.cli import main, refit
from lrnet.errors import TrainingInterrupted


@pytest.fixture
def table(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
    frame["y"] = np.where(frame.a - frame.b + 0.5 * rng.normal(size=400) > 0, "yes", "no")
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    return path


def _train(table, out, capsys, *args):
    argv = ["train", str(table), "--target", "y", "--out", str(out), "--no-report", "--json"]
    assert main([*argv, "--hidden", "8", "--epochs", "40", *args]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


@pytest.mark.parametrize(
    "extra, rows", [((), 400), (("--test-fraction", "0"), 400), (("--test-fraction", "0.5"), 400)]
)
def test_the_saved_model_is_refitted_on_every_row(table, tmp_path, capsys, extra, rows):
    doc, err = _train(table, tmp_path / "r.lrnet", capsys, *extra)
    plain, _ = _train(table, tmp_path / "p.lrnet", capsys, "--no-refit", *extra)
    assert "refitted on every row (--refit): on all 400 rows" in err
    assert doc["refit"]["rows"] == rows and plain["refit"] is None
    assert "the lowest validation log-loss of 3 fits (0.001: " in doc["info"]["alpha"]
    assert doc["info"]["refit"].startswith("on all 400 rows, ")
    # the metrics are the scored model's: the same with and without the refit
    assert doc["metrics"]["log_loss"] == plain["metrics"]["log_loss"]
    assert doc["epochs"] == plain["epochs"]
    refitted = lrnet.load(tmp_path / "r.lrnet")
    scored = lrnet.load(tmp_path / "p.lrnet")
    assert refitted.metadata["refit"] == doc["refit"]
    assert refitted.estimator.n_iter_ == doc["refit"]["epochs"]
    assert not np.array_equal(refitted.estimator.coefs_[0], scored.estimator.coefs_[0])
    # no validation rows in the refit: its history has no validation scores
    assert all(h.get("validation_loss") is None for h in refitted.estimator.history_)


def test_early_stopping_sets_the_refits_epochs(table, tmp_path, capsys):
    doc, _ = _train(table, tmp_path / "r.lrnet", capsys, "--patience", "3", "--epochs", "300")
    _train(table, tmp_path / "p.lrnet", capsys, "--patience", "3", "--epochs", "300", "--no-refit")
    scored = lrnet.load(tmp_path / "p.lrnet").estimator
    best = int(np.argmin([h["validation_loss"] for h in scored.history_])) + 1
    model = lrnet.load(tmp_path / "r.lrnet").estimator
    assert doc["refit"]["schedule"] == "cosine" and model.learning_rate == "cosine"
    assert doc["refit"]["epochs"] == model.n_iter_ == model.max_iter == 2 * best


@pytest.mark.parametrize(
    "solver, early, schedule, history, expected",
    [
        ("adam", True, None, [0.5, 0.4, 0.45, 0.5], (4, "cosine")),
        ("adam", True, "invscaling", [0.5, 0.4, 0.45, 0.5], (2, "invscaling")),
        ("adam", False, None, [0.5, 0.4, 0.45, 0.5], (4, "constant")),
        ("adam", True, None, [None, None, None, None], (4, "constant")),
        ("lbfgs", False, None, [None], (77, "lbfgs")),
        ("adam", True, None, [float("nan"), 0.4, 0.3, 0.5], (6, "cosine")),
    ],
)
def test_refit_settings(solver, early, schedule, history, expected):
    est = LRNClassifier(solver=solver, max_iter=77, learning_rate=schedule or "constant")
    est.history_ = [{"epoch": i + 1, "validation_loss": v} for i, v in enumerate(history)]
    est.n_iter_ = len(history)
    assert refit.settings(est, early, schedule is not None) == expected


@pytest.mark.parametrize(
    "extra, note",
    [
        (("--calibrate",), "--calibrate: the model was not refitted on every row (--refit)"),
        (("--checkpoint-every", "5"), "--checkpoint-every: the model was not refitted"),
        (("--no-refit",), None),
        (("--test-fraction", "0", "--validation-fraction", "0"), None),
    ],
)
def test_runs_that_are_not_refitted(table, tmp_path, capsys, extra, note):
    doc, err = _train(table, tmp_path / "m.lrnet", capsys, *extra)
    assert doc["refit"] is None
    assert "refitted on every row (--refit):" not in err
    if note:
        assert note in err


def test_an_interrupted_refit_keeps_the_scored_model(table, tmp_path, capsys, monkeypatch):
    class Interrupt(lrnet.callbacks.Callback):
        def __init__(self, enabled=None):
            pass

        def on_epoch_end(self, epoch, logs):
            raise TrainingInterrupted("interrupted", epoch, signal.SIGINT)

        def close(self):
            pass

    monkeypatch.setattr(refit, "ProgressBar", Interrupt)  # only the refit's bar
    doc, err = _train(table, tmp_path / "m.lrnet", capsys)
    assert "the refit on every row was interrupted; the saved model is the one scored." in err
    plain, _ = _train(table, tmp_path / "p.lrnet", capsys, "--no-refit")
    assert doc["refit"] is None
    a, b = lrnet.load(tmp_path / "m.lrnet").estimator, lrnet.load(tmp_path / "p.lrnet").estimator
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])


def test_inspect_says_the_model_was_refitted(table, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    _train(table, tmp_path / "m.lrnet", capsys)
    assert main(["inspect", str(tmp_path / "m.lrnet")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "on all 400 rows for" in out and "fitted without the held-out rows" in out


@pytest.mark.parametrize(
    "given, networks", [((), 3), (("--ensemble", "2"), 2), (("--ensemble", "1"), 1)]
)
def test_the_refit_averages_networks_from_consecutive_seeds(
    table, tmp_path, capsys, given, networks
):
    doc, err = _train(table, tmp_path / "m.lrnet", capsys, "--seed", "4", *given)
    assert doc["refit"]["networks"] == networks
    model = lrnet.load(tmp_path / "m.lrnet")
    assert model.estimator.hidden_layer_sizes == (8 * networks,)
    assert model.metadata["refit"]["networks"] == networks
    if networks > 1:
        assert f"{networks} networks (seeds 4-{3 + networks})" in err
        assert f"{networks} networks averaged" in doc["info"]["refit"]
    # the saved network is the mean of the refits of seeds 4, 5, ...: the first one alone
    # is the --ensemble 1 model
    _train(table, tmp_path / "one.lrnet", capsys, "--seed", "4", "--ensemble", "1")
    one = lrnet.load(tmp_path / "one.lrnet").estimator
    np.testing.assert_array_equal(model.estimator.coefs_[0][:, :8], one.coefs_[0])


def test_inspect_says_how_many_networks_were_averaged(table, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    _train(table, tmp_path / "m.lrnet", capsys, "--ensemble", "2")
    assert main(["inspect", str(tmp_path / "m.lrnet")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "2 networks from consecutive seeds averaged into this one" in out


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_a_bad_ensemble_size_is_refused(value, capsys):
    assert main(["train", "--ensemble", value]) == 2
    err = capsys.readouterr().err
    assert "--ensemble" in err and value in err


def test_ensemble_without_the_refit_says_it_does_nothing(table, tmp_path, capsys):
    doc, err = _train(table, tmp_path / "m.lrnet", capsys, "--no-refit", "--ensemble", "3")
    assert "--ensemble: no effect with --no-refit" in err
    assert lrnet.load(tmp_path / "m.lrnet").estimator.hidden_layer_sizes == (8,)
