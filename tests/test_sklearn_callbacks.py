"""scikit-learn 1.9's callback API: ``set_callbacks(ProgressBar(), ScoringMonitor(...))``.

``fit`` is one task with one subtask per epoch (per iteration for lbfgs), bridged from
lrnet's own epoch hooks (:class:`lrnet.skl_callbacks.EpochTasks`).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn.callback")
pytest.importorskip("pandas")

from sklearn.callback import FitCallback, ProgressBar, ScoringMonitor  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.metrics import accuracy_score  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from lrnet import LRNClassifier  # noqa: E402
from lrnet.callbacks import Callback, EarlyStopping  # noqa: E402
from lrnet.errors import DivergenceError  # noqa: E402

SOLVERS = ["adam", "sgd", "lbfgs"]


def fit(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kw)


def _net(solver="adam", max_iter=4, **kw):
    return LRNClassifier(
        (5,), solver=solver, max_iter=max_iter, learning_rate_init=0.01, random_state=0, **kw
    )


class Spy:
    """A FitCallback that records every hook; ``stop_at`` stops after that epoch task."""

    def __init__(self, stop_at=None):
        self.stop_at = stop_at
        self.events = []

    def setup(self, estimator, context):
        self.events.append(("setup", context.task_name, context.task_id))

    def teardown(self, estimator, context):
        self.events.append(("teardown", context.task_name, context.task_id))

    def on_fit_task_begin(self, estimator, context, *, fitted_estimator=None):
        self.events.append(("begin", context.task_name, context.task_id))

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        self.events.append(("end", context.task_name, context.task_id, fitted_estimator))
        return context.task_name == "epoch" and context.task_id == self.stop_at

    def count(self, hook):
        return sum(e[0] == hook for e in self.events)


def test_spy_follows_the_protocol():
    assert isinstance(Spy(), FitCallback)


# ---------------------------------------------------------------- ProgressBar
@pytest.mark.parametrize("solver", SOLVERS)
def test_progress_bar_runs_a_fit(iris, solver, capsys):
    X, y = iris
    clf = fit(_net(solver).set_callbacks(ProgressBar()), X, y)
    out = capsys.readouterr().out
    assert "LRNClassifier - fit" in out
    assert "100%" in out
    assert clf.n_iter_ >= 1 and not hasattr(clf, "_callback_fit_ctx")


# ---------------------------------------------------------------- ScoringMonitor
def _rows(n_epochs, prefix=(0,)):
    """The ``task_id_path`` of the root row and of one row per epoch, in log order."""
    return [prefix] + [(*prefix, k) for k in range(n_epochs)]


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("max_iter", [1, 3])
def test_scoring_monitor_scores_every_epoch(iris, solver, max_iter):
    X, y = iris
    monitor = ScoringMonitor(scoring="accuracy")
    clf = fit(_net(solver, max_iter).set_callbacks(monitor), X, y)
    assert clf.n_iter_ == max_iter
    df = monitor.get_logs().data_as_pandas
    assert df["task_id_path"].tolist() == _rows(max_iter)
    assert df["parent_task_id_path"].tolist() == [()] + [(0,)] * max_iter
    assert df["task_name"].tolist() == ["fit"] + ["epoch"] * max_iter
    assert df["task_id"].tolist() == [0, *range(max_iter)]
    assert (df["estimator_name"] == "LRNClassifier").all()
    # each epoch is scored with the weights that epoch reached: a refit of that length
    for k in range(1, max_iter + 1):
        refit = fit(_net(solver, k), X, y)
        assert df["accuracy"].iloc[k] == accuracy_score(y, refit.predict(X))
    assert df["accuracy"].iloc[-1] == df["accuracy"].iloc[0] == clf.score(X, y)


def test_scoring_monitor_sees_the_sample_weights(iris):
    X, y = iris
    sw = np.random.default_rng(0).uniform(0.1, 3.0, len(y))
    monitor = ScoringMonitor(scoring="accuracy")
    clf = fit(_net(max_iter=2).set_callbacks(monitor), X, y, sample_weight=sw)
    df = monitor.get_logs().data_as_pandas
    assert df["accuracy"].iloc[-1] == accuracy_score(y, clf.predict(X), sample_weight=sw)


def test_scoring_monitor_ignores_class_weight(iris):
    X, y = iris[0][:120], iris[1][:120]  # 50, 50, 20: balanced weights differ
    monitor = ScoringMonitor(scoring="accuracy")
    clf = fit(_net(max_iter=2, class_weight="balanced").set_callbacks(monitor), X, y)
    assert monitor.get_logs().data_as_pandas["accuracy"].iloc[0] == clf.score(X, y)


def test_scoring_monitor_under_early_stopping(iris):
    """Epochs score their own weights; the root the restored best ones."""
    X, y = iris
    monitor = ScoringMonitor(scoring="accuracy")
    clf = LRNClassifier(
        (5,),
        learning_rate_init=0.05,
        max_iter=200,
        early_stopping=True,
        n_iter_no_change=2,
        random_state=0,
    ).set_callbacks(monitor)
    clf.fit(X, y)
    df = monitor.get_logs().data_as_pandas
    assert clf.n_iter_ < 200
    assert df["task_id_path"].tolist() == _rows(clf.n_iter_)
    assert df["accuracy"].iloc[0] == clf.score(X, y)


# ---------------------------------------------------------------- meta-estimators
def test_inside_grid_search(iris, capsys):
    X, y = iris
    monitor = ScoringMonitor(scoring="accuracy")
    search = GridSearchCV(
        _net(max_iter=3).set_callbacks(monitor), {"alpha": [1e-4, 1e-1]}, cv=2
    ).set_callbacks(ProgressBar())
    fit(search, X, y)
    out = capsys.readouterr().out
    assert "GridSearchCV - fit" in out and "LRNClassifier - fit" in out
    df = monitor.get_logs().data_as_pandas
    # 2 candidates x 2 splits + the refit, each a fit task with 3 epoch subtasks
    fits = df[df["task_name"] == "fit"]
    epochs = df[df["task_name"] == "epoch"]
    assert len(fits) == 5 and len(epochs) == 15
    assert sorted(fits["task_id_path"]) == [(0, 0, i) for i in range(4)] + [(0, 1)]
    for path in fits["task_id_path"]:
        assert epochs["parent_task_id_path"].tolist().count(path) == 3
    refit = df[df["parent_task_id_path"] == (0, 1)]
    assert refit["accuracy"].iloc[-1] == search.best_estimator_.score(X, y)
    assert not hasattr(search.best_estimator_, "_callback_fit_ctx")


def test_inside_pipeline(iris, capsys):
    X, y = iris
    X = X * 10 + 3  # the scaler matters
    monitor = ScoringMonitor(scoring="accuracy")
    pipe = Pipeline([("scale", StandardScaler()), ("net", _net(max_iter=3).set_callbacks(monitor))])
    fit(pipe, X, y)
    df = monitor.get_logs().data_as_pandas
    assert df["task_id_path"].tolist() == _rows(3, prefix=(0, 1))  # the pipeline's step 1
    assert df["task_name"].tolist() == ["fit"] + ["epoch"] * 3
    assert df["accuracy"].iloc[-1] == df["accuracy"].iloc[0] == pipe.score(X, y)
    # a progress bar on the pipeline reaches the network too
    fit(pipe.set_callbacks(ProgressBar()), X, y)
    assert "LRNClassifier - fit" in capsys.readouterr().out


def test_grid_search_over_a_pipeline(iris):
    X, y = iris
    monitor = ScoringMonitor(scoring="accuracy")
    pipe = Pipeline([("scale", StandardScaler()), ("net", _net(max_iter=2).set_callbacks(monitor))])
    search = fit(GridSearchCV(pipe, {"net__alpha": [1e-4, 1e-1]}, cv=2), X, y)
    df = monitor.get_logs().data_as_pandas
    assert (df["task_name"] == "epoch").sum() == 5 * 2
    refit_root = df[df["task_name"] == "fit"]["task_id_path"].max()
    refit = df[df["parent_task_id_path"] == refit_root]
    assert refit["accuracy"].iloc[-1] == search.best_estimator_.score(X, y)


# ---------------------------------------------------------------- with lrnet's callbacks
class Recorder(Callback):
    def __init__(self):
        self.epochs = []

    def on_epoch_end(self, epoch, logs):
        self.epochs.append(logs["epoch"])


@pytest.mark.parametrize("solver", SOLVERS)
def test_lrnet_callbacks_still_run(iris, solver):
    X, y = iris
    recorder, monitor = Recorder(), ScoringMonitor(scoring="accuracy")
    clf = fit(_net(solver, 3, callbacks=[recorder]).set_callbacks(monitor), X, y)
    assert recorder.epochs == [1, 2, 3]
    assert (monitor.get_logs().data_as_pandas["task_name"] == "epoch").sum() == 3
    assert clf.callbacks == [recorder]  # the bridge is not added to the parameter


def test_lrnet_early_stopping_alongside(iris):
    X, y = iris
    stopper, monitor = EarlyStopping(monitor="loss", patience=1, min_delta=1.0), Spy()
    clf = fit(_net(max_iter=20, callbacks=[stopper]).set_callbacks(monitor), X, y)
    assert clf.n_iter_ == stopper.stopped_epoch_ == 2
    epoch_ends = [e for e in monitor.events if e[:2] == ("end", "epoch")]
    assert [e[3] is not None for e in epoch_ends] == [True, True, False]


# ---------------------------------------------------------------- stopping and teardown
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("stop_at", [0, 2])
def test_callback_can_stop_training(iris, solver, stop_at):
    X, y = iris
    spy = Spy(stop_at=stop_at)
    clf = fit(_net(solver, max_iter=10).set_callbacks(spy), X, y)
    assert clf.n_iter_ == stop_at + 1
    assert len(clf.loss_curve_) == stop_at + 1
    epoch_ends = [e for e in spy.events if e[:2] == ("end", "epoch")]
    assert [e[2] for e in epoch_ends] == list(range(stop_at + 2))  # + the empty one
    assert epoch_ends[-1][3] is None


@pytest.mark.parametrize("solver", SOLVERS)
def test_every_task_begun_is_ended(iris, solver):
    X, y = iris
    spy = Spy()
    fit(_net(solver, max_iter=3).set_callbacks(spy), X, y)
    kinds = [e[0] for e in spy.events]
    assert kinds[0] == "setup" and kinds[-1] == "teardown"
    assert spy.count("setup") == spy.count("teardown") == 1
    assert spy.count("begin") == spy.count("end") == 1 + 3 + 1  # root, epochs, empty
    assert spy.events[1] == ("begin", "fit", 0)
    assert spy.events[-2][:3] == ("end", "fit", 0)


def _diverging(solver):
    X = np.random.default_rng(0).normal(size=(40, 3)) * 1e200
    y = np.arange(40) % 2
    net = LRNClassifier((5,), solver=solver, max_iter=5, learning_rate_init=1e10)
    return net, X, y


@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
def test_teardown_after_divergence(solver):
    net, X, y = _diverging(solver)
    spy = Spy()
    net.set_callbacks(spy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(DivergenceError, match="Training diverged"):
            net.fit(X, y)
    assert spy.count("setup") == spy.count("teardown") == 1
    assert spy.events[-1][0] == "teardown"
    assert not hasattr(net, "_callback_fit_ctx")
    assert not hasattr(net, "coefs_")
    assert net._skl_callbacks == [spy]


def test_teardown_after_a_bad_validation_set(iris):
    X, y = iris
    spy = Spy()
    clf = fit(_net(max_iter=2).set_callbacks(spy), X, y)
    spy.events.clear()
    with pytest.raises(ValueError, match="X_val has 3 features"):
        clf.fit(X, y, X_val=X[:, :3], y_val=y)
    assert spy.count("setup") == spy.count("teardown")  # nothing set up is left open
    assert not hasattr(clf, "_callback_fit_ctx")
    spy.events.clear()
    fit(clf, X, y)  # and the next fit runs its callbacks as usual
    assert spy.count("setup") == spy.count("teardown") == 1


def test_teardown_when_a_callback_raises(iris):
    class Boom(Spy):
        def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
            super().on_fit_task_end(estimator, context, fitted_estimator=fitted_estimator)
            if context.task_name == "epoch" and context.task_id == 1:
                raise RuntimeError("boom")

    X, y = iris
    clf = fit(_net(max_iter=2), X, y)
    before = [w.copy() for w in clf.coefs_]
    spy = Boom()
    with pytest.raises(RuntimeError, match="boom"):
        clf.set_params(max_iter=5).set_callbacks(spy).fit(X, y)
    assert spy.count("teardown") == 1
    for a, b in zip(before, clf.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
