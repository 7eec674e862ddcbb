"""``lrnet train``'s defaults: chosen from the table's size, stated in one note."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import lrnet
from lrnet.cli import defaults, main


@pytest.mark.parametrize(
    "n, rows",
    [(100, 25), (275, 69), (800, 200), (2_000, 200), (10_000, 1_000), (2_000_000, 50_000)],
)
def test_validation_rows_have_a_floor_and_a_ceiling(n, rows):
    assert round(defaults.validation_fraction(n) * n) == rows


@pytest.mark.parametrize(
    "n, batch", [(10, 10), (500, 32), (1_999, 32), (5_000, 64), (20_000, 128), (10**6, 256)]
)
def test_batch_size_grows_with_the_table(n, batch):
    assert defaults.batch_size(n) == batch


@pytest.mark.parametrize("n, networks", [(50, 3), (9_999, 3), (49_999, 3), (50_000, 1), (10**6, 1)])
def test_the_refit_averages_three_networks_below_50k_rows(n, networks):
    assert defaults.ensemble(n) == networks


@pytest.mark.parametrize("n, batch", [(200, 32), (5_000, 64), (100_000, 256), (10**7, 256)])
def test_epochs_cap_is_about_a_step_budget(n, batch):
    epochs = defaults.epochs(n, batch)
    assert defaults.MIN_EPOCHS <= epochs <= defaults.MAX_EPOCHS
    steps = epochs * np.ceil(n / batch)
    assert epochs in (defaults.MIN_EPOCHS, defaults.MAX_EPOCHS) or (
        defaults.STEP_BUDGET <= steps < defaults.STEP_BUDGET + np.ceil(n / batch)
    )


@pytest.mark.parametrize(
    "losses, early, expected",
    [
        ([None, None], False, "the training loss was still falling"),
        ([0.5, 0.4, 0.3], True, "still falling at the last one (0.3000): raise --epochs"),
        ([0.5, 0.3, 0.4], False, "lowest at epoch 2 (0.3000, last 0.4000): use --early"),
        ([0.5, 0.3, 0.4], True, "the best weights were kept"),
    ],
)
def test_epochs_advice_says_what_the_run_shows(losses, early, expected):
    history = [{"epoch": i + 1, "validation_loss": v} for i, v in enumerate(losses)]
    assert expected in defaults.epochs_advice(history, len(losses), early)


def _table(path, rows=400, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, 5)), columns=list("abcde"))
    frame["y"] = np.where(frame.a + frame.b > 0, "yes", "no")
    frame.to_csv(path, index=False)
    return path


def _train(tmp_path, capsys, *args):
    data = _table(tmp_path / "t.csv")
    out = tmp_path / "m.lrnet"
    # --no-refit: the model file is the scored fit, whose early stopping is tested here
    argv = ["train", str(data), "--target", "y", "--out", str(out), "--no-report", "--no-refit"]
    code = main([*argv, *args])
    return code, capsys.readouterr().err, out


def test_defaults_are_stated_and_stop_early(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    code, err, out = _train(tmp_path, capsys)
    assert code == 0
    assert (
        "defaults for 320 training rows: 80 validation rows (25.0%), early stopping on the "
        "validation log-loss (patience 10 epochs, best weights kept), batch size 32, at most "
        "300 epochs, alpha chosen on the validation split from 0.001, 0.01, 0.1." in err
    )
    est = lrnet.load(out).estimator
    assert est.n_iter_ < 300 and est.alpha in defaults.ALPHA_GRID and est.batch_size == 32
    losses = [h["validation_loss"] for h in est.history_]
    best = int(np.argmin(losses))
    assert est.n_iter_ - (best + 1) == 10  # patience ran out


def test_alpha_is_chosen_on_the_validation_split(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    code, err, out = _train(tmp_path, capsys)
    assert code == 0, err
    line = next(x for x in err.splitlines() if "chosen on the validation log-loss (" in x)
    tried = dict(p.split(": ") for p in line.split("(")[1].rstrip(").").split(", "))
    assert [float(a) for a in tried] == list(defaults.ALPHA_GRID)
    losses = {float(a): float(v) for a, v in tried.items()}
    est = lrnet.load(out).estimator
    assert est.alpha == min(losses, key=losses.get)  # the first of equal losses
    assert line.startswith(f"note: alpha {est.alpha:g} chosen")


@pytest.mark.parametrize(
    "extra, alpha",
    [
        (("--alpha", "0.05"), "alpha 0.05"),  # given: one fit
        (("--no-early-stopping",), "alpha 0.001"),  # nothing to choose on
        (("--checkpoint-every", "50"), "alpha 0.001"),  # one fit per checkpointed run
    ],
)
def test_alpha_is_not_searched(tmp_path, capsys, monkeypatch, extra, alpha):
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    monkeypatch.chdir(tmp_path)
    code, err, out = _train(tmp_path, capsys, "--epochs", "5", *extra)
    assert code == 0, err
    assert "chosen on the validation" not in err
    assert lrnet.load(out).estimator.alpha == float(alpha.split()[1])
    if "--alpha" not in extra:
        assert f"{alpha}." in err


def test_no_validation_split_means_no_early_stopping(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    code, err, out = _train(tmp_path, capsys, "--validation-fraction", "0", "--epochs", "15")
    assert code == 0, err
    assert "early stopping" not in err
    est = lrnet.load(out).estimator
    assert all(h["validation_loss"] is None for h in est.history_)


@pytest.mark.parametrize("patience", [2, 5])
def test_patience_and_explicit_options_are_used(tmp_path, capsys, monkeypatch, patience):
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    args = ["--early-stopping", "--patience", str(patience), "--lr", "0.05"]
    code, err, out = _train(tmp_path, capsys, *args, "--alpha", "0.01", "--batch-size", "16")
    assert code == 0, err
    est = lrnet.load(out).estimator
    assert est.alpha == 0.01 and est.batch_size == 16 and "alpha 0.001" not in err
    losses = [h["validation_loss"] for h in est.history_]
    assert est.n_iter_ - (int(np.argmin(losses)) + 1) == patience


def test_no_early_stopping_trains_every_epoch(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    code, err, out = _train(tmp_path, capsys, "--no-early-stopping", "--epochs", "12")
    assert code == 0, err
    assert lrnet.load(out).estimator.n_iter_ == 12
    assert "training used all 12 epochs" in err


def test_early_stopping_with_lbfgs_is_refused(tmp_path, capsys):
    code, err, _ = _train(tmp_path, capsys, "--solver", "lbfgs", "--early-stopping")
    assert code == 2
    assert "--solver lbfgs trains on the whole batch and does not stop early" in err


@pytest.mark.parametrize("option", ["--epochs", "--alpha", "--validation-fraction"])
def test_auto_is_accepted_explicitly(tmp_path, capsys, monkeypatch, option):
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    code, err, _ = _train(tmp_path, capsys, option, "auto")
    assert code == 0 and "defaults for 320 training rows" in err


def _tiny(path):
    """20 rows, 3 classes, one of them a single row: no stratified validation split."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(20, 2)), columns=["f1", "f2"])
    frame["y"] = ["a", "b"] * 9 + ["a", "c"]
    frame.to_csv(path, index=False)
    return path


def test_no_validation_split_says_what_the_defaults_lose(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    data = _tiny(tmp_path / "t.csv")
    argv = ["train", str(data), "--target", "y", "--test-fraction", "0", "--epochs", "3"]
    assert main([*argv, "--no-report", "--out", str(tmp_path / "m.lrnet")]) == 0
    err = capsys.readouterr().err
    assert (
        "no validation scores: the class(es) 'c' have a single row in the training split "
        "(--validation-fraction 0.25); so no early stopping, and alpha 0.001, not chosen on "
        "a validation split." in err
    )
    assert (
        "--ensemble 3: one network was trained, as the refit trains the others (every row "
        "was in the scored fit, so there is no refit)." in err
    )


@pytest.mark.parametrize(
    "extra, says",
    [
        (["--test-fraction", "0", "--validation-fraction", "0", "--ensemble", "2"], "(every"),
        (["--calibrate", "--ensemble", "3"], "--calibrate: the model was not refitted"),
        (["--stream", "--ensemble", "3"], "--stream: the model is not refitted"),
    ],
)
def test_an_ensemble_without_a_refit_is_one_network_and_says_so(
    tmp_path, capsys, monkeypatch, extra, says
):
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    data = _table(tmp_path / "t.csv", rows=120)
    out = tmp_path / "m.lrnet"
    argv = ["train", str(data), "--target", "y", "--hidden", "4", "--epochs", "3"]
    assert main([*argv, *extra, "--no-report", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    networks = extra[extra.index("--ensemble") + 1]
    line = next(x for x in err.splitlines() if f"--ensemble {networks}: one network" in x)
    assert says in line
    assert lrnet.load(out).estimator.coefs_[0].shape[1] == 4  # one network of 4 units


@pytest.mark.parametrize("option", ["--ensemble", "--batch-size", "--epochs"])
@pytest.mark.parametrize("value", ["abc", "0", "2.5"])
def test_options_that_take_auto_say_so_when_refused(tmp_path, capsys, option, value):
    data = _table(tmp_path / "t.csv", rows=40)
    assert main(["train", str(data), "--target", "y", option, value]) == 2
    err = capsys.readouterr().err
    assert f"argument {option}: expected a positive integer or 'auto', got '{value}'" in err
