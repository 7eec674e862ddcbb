"""Checkpoints: the full training state, atomically; a resumed fit is bit-identical."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning

import lrnet
from lrnet import LRNClassifier
from lrnet.callbacks import Callback
from lrnet.checkpoint import Checkpoint, resume
from lrnet.cli import main
from lrnet.errors import LRNetWarning, TrainingInterrupted

X, y = make_classification(
    n_samples=300, n_features=8, n_informative=5, n_classes=3, random_state=0
)
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


class Interrupt(Callback):
    def __init__(self, at):
        self.at = at

    def on_epoch_end(self, epoch, logs):
        if epoch == self.at:
            raise KeyboardInterrupt


def _same(a, b):
    return all(
        np.array_equal(u, v)
        for u, v in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True)
    )


SETTINGS = [
    dict(solver="adam"),
    dict(solver="adamw", weight_decay=0.01, learning_rate="cosine", warmup_fraction=0.2),
    dict(solver="sgd", momentum=0.9, nesterovs_momentum=True, learning_rate="adaptive"),
    dict(solver="sgd", learning_rate="invscaling"),
    dict(solver="lion", learning_rate_init=1e-4),
    dict(solver="adam", early_stopping=True, dropout=0.2, n_iter_no_change=3),
    dict(solver="adam", label_smoothing=0.1, max_grad_norm=0.5, class_weight="balanced"),
]


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: "-".join(map(str, s.values())))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_interrupted_and_resumed_equals_uninterrupted(tmp_path, settings, dtype):
    params = dict(hidden_layer_sizes=(12,), max_iter=14, batch_size=32, random_state=7)
    params.update(settings)
    Xd = X.astype(dtype)
    full = LRNClassifier(**params).fit(Xd, y)
    path = tmp_path / "run.ckpt.lrnet"
    cut = LRNClassifier(**params, callbacks=[Checkpoint(path, every=3), Interrupt(at=7)])
    with pytest.warns(LRNetWarning, match="interrupted"), pytest.raises(TrainingInterrupted):
        cut.fit(Xd, y)
    assert lrnet.load(path).estimator.n_iter_ == 6  # the last checkpoint: epoch 6
    resumed = resume(path, Xd, y)
    assert _same(resumed, full)
    assert resumed.n_iter_ == full.n_iter_
    assert resumed.loss_curve_ == full.loss_curve_
    assert resumed.history_ == [
        {**h, "time": r["time"]} for h, r in zip(full.history_, resumed.history_, strict=True)
    ]


@pytest.mark.parametrize("monitor", ["validation_loss", "loss"])
def test_early_stopping_callback_state_is_checkpointed(tmp_path, monitor):
    from lrnet.callbacks import EarlyStopping

    def callbacks():
        return [EarlyStopping(monitor=monitor, patience=3, restore_best_weights=True)]

    params = dict(hidden_layer_sizes=(12,), max_iter=40, random_state=2, learning_rate_init=0.05)
    full = LRNClassifier(**params, callbacks=callbacks()).fit(X, y)
    path = tmp_path / "c.lrnet"
    cut = LRNClassifier(**params, callbacks=[*callbacks(), Checkpoint(path, 2), Interrupt(5)])
    with pytest.warns(LRNetWarning), pytest.raises(TrainingInterrupted):
        cut.fit(X, y)
    resumed = resume(path, X, y, callbacks=callbacks())
    assert resumed.n_iter_ == full.n_iter_
    if monitor == "validation_loss":
        assert full.n_iter_ < 40  # it stopped early, and the resumed fit at the same epoch
    assert _same(resumed, full)


def test_unseeded_fit_resumes_the_same_way_twice(tmp_path):
    path = tmp_path / "c.lrnet"
    est = LRNClassifier(hidden_layer_sizes=(8,), max_iter=9, early_stopping=True)
    est.set_params(callbacks=[Checkpoint(path, every=4)])
    est.fit(X, y)
    one = resume(path, X, y)
    two = resume(path, X, y)
    assert _same(one, two)


def test_a_checkpoint_is_a_model_with_the_best_weights(tmp_path):
    path = tmp_path / "c.lrnet"
    est = LRNClassifier(hidden_layer_sizes=(8,), max_iter=8, early_stopping=True, random_state=0)
    est.set_params(callbacks=[Checkpoint(path, every=8)], n_iter_no_change=100)
    est.fit(X, y)
    model = lrnet.load(path)  # a plain load ignores the training state
    assert model.training_state is None
    np.testing.assert_array_equal(model.estimator.predict_proba(X), est.predict_proba(X))


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(alpha=0.5), r"other settings: alpha=0.0001 \(now 0.5\)"),
        (dict(X=X[::-1]), "trained on other data"),
    ],
)
def test_resume_refuses_other_settings_or_data(tmp_path, change, match):
    path = tmp_path / "c.lrnet"
    LRNClassifier(hidden_layer_sizes=(8,), max_iter=4, random_state=0).set_params(
        callbacks=[Checkpoint(path, every=2)]
    ).fit(X, y)
    from lrnet.checkpoint import resume_into

    data = change.pop("X", X)
    est = LRNClassifier(hidden_layer_sizes=(8,), max_iter=4, random_state=0, **change)
    with pytest.raises(ValueError, match=match):
        resume_into(est, path, data, y)


def test_resume_needs_a_training_state(tmp_path):
    path = tmp_path / "plain.lrnet"
    LRNClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, y).save(path)
    with pytest.raises(ValueError, match="no training state to resume from"):
        resume(path, X, y)


@pytest.mark.parametrize("every", [0, -1, 1.5, True])
def test_checkpoint_every_must_be_a_positive_whole_number(tmp_path, every):
    with pytest.raises(ValueError, match="expected a whole number of epochs"):
        Checkpoint(tmp_path / "c.lrnet", every=every)


def test_lbfgs_cannot_be_checkpointed(tmp_path):
    est = LRNClassifier(solver="lbfgs", callbacks=[Checkpoint(tmp_path / "c.lrnet")])
    with pytest.raises(ValueError, match="lbfgs' cannot be checkpointed"):
        est.fit(X, y)


# ------------------------------------------------------------------ the command
def _cli(tmp_path, *args):
    return [
        "train",
        "--epochs",
        "12",
        "--seed",
        "1",
        "--hidden",
        "16",
        "--no-report",
        "--quiet",
        "--no-refit",  # a checkpointed run is not refitted: the same model as a plain run
        *args,
    ]


def test_cli_killed_run_resumes_bit_identical(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    monkeypatch.chdir(tmp_path)
    assert main(_cli(tmp_path, "--out", "full.lrnet")) == 0
    # the same run, killed outright once its first checkpoint exists
    code = "import sys, lrnet.cli; sys.exit(lrnet.cli.main(sys.argv[1:]))"
    args = _cli(tmp_path, "--out", "cut.lrnet", "--checkpoint-every", "2", "--epochs", "12")
    proc = subprocess.Popen([sys.executable, "-c", code, *args], cwd=tmp_path)
    point = tmp_path / "cut.ckpt.lrnet"
    deadline = time.monotonic() + 60
    while not point.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert point.exists()
    args = _cli(tmp_path, "--out", "resumed.lrnet", "--resume", str(point))
    assert main([*args, "--checkpoint-every", "2", "--checkpoint", "again.ckpt.lrnet"]) == 0
    full = lrnet.load(tmp_path / "full.lrnet").estimator
    resumed = lrnet.load(tmp_path / "resumed.lrnet").estimator
    assert _same(full, resumed)


@pytest.mark.parametrize(
    "args, match",
    [
        (["--solver", "lbfgs", "--checkpoint-every", "2"], "lbfgs cannot be checkpointed"),
        (["--checkpoint", "x.lrnet"], "needs --checkpoint-every"),
        (["--resume", "missing.lrnet"], "no such checkpoint file"),
        (["--checkpoint-every", "0"], "--checkpoint-every"),
    ],
)
def test_cli_checkpoint_usage_errors(tmp_path, monkeypatch, capsys, args, match):
    monkeypatch.chdir(tmp_path)
    assert main(["train", *args]) == 2
    assert match in capsys.readouterr().err


def test_cli_resume_with_other_options_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    monkeypatch.chdir(tmp_path)
    assert main(_cli(tmp_path, "--out", "a.lrnet", "--checkpoint-every", "6")) == 0
    capsys.readouterr()
    code = main(_cli(tmp_path, "--out", "b.lrnet", "--resume", "a.ckpt.lrnet", "--alpha", "0.5"))
    assert code == 1
    assert "other settings: alpha=0.001 (now 0.5)" in capsys.readouterr().err
    assert not Path("b.lrnet").exists()


def test_convergence_warning_is_only_for_the_real_end(tmp_path):
    path = tmp_path / "c.lrnet"
    est = LRNClassifier(hidden_layer_sizes=(8,), max_iter=6, random_state=0, tol=0)
    est.set_params(callbacks=[Checkpoint(path, every=3), Interrupt(at=4)])
    with pytest.warns(LRNetWarning), pytest.raises(TrainingInterrupted):
        est.fit(X, y)
    with pytest.warns(ConvergenceWarning):
        resume(path, X, y)
