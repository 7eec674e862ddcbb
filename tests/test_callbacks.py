"""Callbacks: hooks, stopping, history, EarlyStopping and HistoryLogger."""

import json

import numpy as np
import pytest

from conftest import quiet_fit
from lrnet import LRNClassifier
from lrnet.callbacks import Callback, EarlyStopping, HistoryLogger


# ---------------------------------------------------------------- callbacks
class StopAt(Callback):
    def __init__(self, epoch):
        self.epoch = epoch
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append("begin")

    def on_epoch_end(self, epoch, logs):
        self.calls.append(logs["epoch"])
        return logs["epoch"] == self.epoch

    def on_train_end(self, logs=None):
        self.calls.append("end")


@pytest.mark.parametrize("solver", ["adam", "sgd", "adamw", "lbfgs"])
def test_callback_stops_at_epoch_3(iris, solver):
    X, y = iris
    cb = StopAt(3)
    est = LRNClassifier((8,), solver=solver, max_iter=50, callbacks=[cb], random_state=0)
    est.fit(X, y)
    assert est.n_iter_ == 3
    assert len(est.history_) == 3
    assert cb.calls == ["begin", 1, 2, 3, "end"]


def test_history_entries(iris):
    X, y = iris
    est = quiet_fit(
        LRNClassifier((8,), max_iter=4, early_stopping=True, random_state=0, tol=0), X, y
    )
    assert [h["epoch"] for h in est.history_] == [1, 2, 3, 4]
    for h in est.history_:
        assert set(h) == {
            "epoch",
            "loss",
            "validation_loss",
            "validation_score",
            "learning_rate",
            "time",
        }
        assert h["validation_loss"] > 0 and 0 <= h["validation_score"] <= 1
        assert h["time"] >= 0
    assert [h["loss"] for h in est.history_] == est.loss_curve_
    assert [h["validation_score"] for h in est.history_] == est.validation_scores_


def test_early_stopping_callback_stops_and_restores_best(iris):
    X, y = iris
    es = EarlyStopping(monitor="validation_loss", patience=2, restore_best_weights=True)
    # a huge learning rate makes the validation loss bounce: stops long before max_iter
    est = LRNClassifier(
        (16,),
        solver="sgd",
        learning_rate_init=2.0,
        momentum=0.0,
        max_iter=200,
        callbacks=[es],
        random_state=0,
    )
    quiet_fit(est, X, y)
    losses = [h["validation_loss"] for h in est.history_]
    best = int(np.argmin(losses))
    assert es.stopped_epoch_ == len(losses) == best + 1 + 2
    assert es.best_epoch_ == best + 1


def test_early_stopping_callback_restores_weights_of_best_epoch(iris):
    X, y = iris
    kw = dict(
        hidden_layer_sizes=(16,), solver="sgd", learning_rate_init=2.0, momentum=0.0, random_state=0
    )
    es = EarlyStopping(monitor="loss", patience=1, restore_best_weights=True)
    est = quiet_fit(LRNClassifier(max_iter=200, callbacks=[es], **kw), X, y)
    ref = quiet_fit(LRNClassifier(max_iter=es.best_epoch_, tol=0, **kw), X, y)
    np.testing.assert_array_equal(est.coefs_[0], ref.coefs_[0])


def test_early_stopping_callback_bad_monitor():
    with pytest.raises(ValueError, match="monitor='accuracy'.*expected one of"):
        EarlyStopping(monitor="accuracy")


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_history_logger(iris, tmp_path, suffix):
    X, y = iris
    path = tmp_path / f"history{suffix}"
    quiet_fit(LRNClassifier((8,), max_iter=3, tol=0, callbacks=[HistoryLogger(path)]), X, y)
    text = path.read_text().strip().splitlines()
    if suffix == ".csv":
        assert text[0].startswith("epoch,loss,validation_loss")
        assert len(text) == 4
    else:
        rows = [json.loads(line) for line in text]
        assert [r["epoch"] for r in rows] == [1, 2, 3]
