"""Ctrl-C and SIGTERM: a fit keeps what it learned; a second signal aborts; files stay whole."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification

from lrnet import LRNClassifier, interrupts
from lrnet._files import SUFFIX, atomic_write, remove_stale, staging
from lrnet.callbacks import Callback
from lrnet.errors import LRNetWarning, TrainingInterrupted

X, y = make_classification(n_samples=300, n_features=8, n_informative=5, random_state=0)
ROOT = Path(__file__).resolve().parents[1]


class Raise(Callback):
    """Raise ``KeyboardInterrupt`` at the end of epoch ``at`` (0-based)."""

    def __init__(self, at):
        self.at = at

    def on_epoch_end(self, epoch, logs):
        if epoch == self.at:
            raise KeyboardInterrupt


class Signal(Callback):
    """Send this process ``times`` SIGINTs at the end of epoch ``at``."""

    def __init__(self, at, times=1):
        self.at, self.times = at, times

    def on_epoch_end(self, epoch, logs):
        if epoch == self.at:
            for _ in range(self.times):
                os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.parametrize("solver", ["sgd", "adam", "adamw", "lion", "lbfgs"])
@pytest.mark.parametrize("early_stopping", [False, True])
def test_keyboard_interrupt_keeps_the_weights(solver, early_stopping):
    if solver == "lbfgs" and early_stopping:
        pytest.skip("lbfgs does not stop early")
    est = LRNClassifier(
        hidden_layer_sizes=(6,),
        solver=solver,
        max_iter=30,
        early_stopping=early_stopping,
        random_state=0,
        callbacks=[Raise(at=3)],
    )
    with pytest.warns(LRNetWarning, match=r"interrupted \(SIGINT\) after 4 complete"):
        with pytest.raises(TrainingInterrupted) as info:
            est.fit(X, y)
    assert isinstance(info.value, KeyboardInterrupt)
    assert info.value.epoch == 4 == est.n_iter_ == len(est.loss_curve_) == len(est.history_)
    assert np.isfinite(est.predict_proba(X)).all()
    if early_stopping:
        assert len(est.validation_scores_) == 4
    elif solver != "lbfgs":
        # interrupted after epoch 4 = four epochs and nothing else
        ref = LRNClassifier(
            hidden_layer_sizes=(6,), solver=solver, max_iter=4, random_state=0, tol=0
        )
        ref.set_params(n_iter_no_change=1000)
        with pytest.warns(Warning):  # ConvergenceWarning: max_iter reached
            ref.fit(X, y)
        for a, b in zip(est.coefs_, ref.coefs_, strict=True):
            np.testing.assert_array_equal(a, b)


def test_signal_stops_after_the_current_step():
    """The first SIGINT is recorded; the loop stops after the next step, not the epoch."""
    est = LRNClassifier(
        hidden_layer_sizes=(6,), solver="adam", max_iter=30, batch_size=10, random_state=0
    )
    est.set_params(callbacks=[Signal(at=2)])
    with pytest.warns(LRNetWarning, match="interrupted"), pytest.raises(TrainingInterrupted):
        est.fit(X, y)
    assert est.n_iter_ == 3
    steps_per_epoch = int(np.ceil(len(X) / 10))
    assert est._state.step == 3 * steps_per_epoch + 1  # one step of the fourth epoch
    assert interrupts.pending() is None  # the fit's record does not outlive it


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_second_signal_aborts_and_changes_nothing():
    est = LRNClassifier(hidden_layer_sizes=(6,), max_iter=5, random_state=0).fit(X, y)
    before = [w.copy() for w in est.coefs_]
    est.set_params(warm_start=True, callbacks=[Signal(at=1, times=2)], max_iter=30)
    with pytest.raises(interrupts.Abort):
        est.fit(X, y)
    for a, b in zip(est.coefs_, before, strict=True):
        np.testing.assert_array_equal(a, b)
    assert est.n_iter_ == 5


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_other_errors_still_change_nothing():
    class Boom(Callback):
        def on_epoch_end(self, epoch, logs):
            if epoch == 2:
                raise RuntimeError("boom")

    est = LRNClassifier(hidden_layer_sizes=(6,), max_iter=5, random_state=0).fit(X, y)
    before = [w.copy() for w in est.coefs_]
    est.set_params(callbacks=[Boom()])
    with pytest.raises(RuntimeError, match="boom"):
        est.fit(X, y)
    for a, b in zip(est.coefs_, before, strict=True):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ files
def test_abort_inside_a_write_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "model.lrnet"
    target.write_bytes(b"old")
    with pytest.raises(interrupts.Abort):
        with atomic_write(target) as fh:
            fh.write(b"new, half")
            raise interrupts.Abort(signal.SIGTERM)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.lrnet"]


@pytest.mark.parametrize("staged", [False, True])
def test_signal_while_the_temporary_file_is_made_leaves_none(tmp_path, monkeypatch, staged):
    """A Ctrl-C that lands just after the temporary file exists, before its name is kept."""
    import tempfile

    real = tempfile.mkstemp

    def mkstemp_then_signal(*args, **kwargs):
        made = real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)  # delivered here unless held back
        return made

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp_then_signal)
    target = tmp_path / "model.lrnet"
    target.write_bytes(b"old")
    with interrupts.handling(signal.SIGINT), pytest.raises(interrupts.Abort):
        if staged:
            with staging(), atomic_write(target) as fh:
                fh.write(b"new")
        else:
            with atomic_write(target) as fh:
                fh.write(b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.lrnet"]


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path):
    target = tmp_path / "model.lrnet"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with atomic_write(target) as fh:  # learn this host's naming from a real write
        fh.write(b"x")
    import lrnet._files as files

    prefix = files._prefix(target)
    stale = tmp_path / f"{prefix}{dead.pid}.abc{SUFFIX}"
    live = tmp_path / f"{prefix}{os.getpid()}.abc{SUFFIX}"
    other = tmp_path / f".other.lrnet.{files._host()}.{dead.pid}.abc{SUFFIX}"
    for p in (stale, live, other):
        p.write_bytes(b"partial")
    assert remove_stale(target) == [stale]
    assert live.exists() and other.exists()


def test_a_failed_output_leaves_the_staged_ones_unwritten(tmp_path):
    model, report = tmp_path / "m.lrnet", tmp_path / "r.html"
    model.write_bytes(b"old model")
    with pytest.raises(OSError, match="No space left"):
        with staging() as stage:
            with atomic_write(model) as fh:
                fh.write(b"new model")
            with atomic_write(report) as fh:
                raise OSError(28, "No space left on device")
            stage.commit()
    assert model.read_bytes() == b"old model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.lrnet"]


@pytest.mark.parametrize("committed", [False, True])
@pytest.mark.parametrize("existing", [False, True])
def test_folders_made_for_staged_files_go_unless_committed(tmp_path, committed, existing):
    from lrnet._files import make_dirs

    if existing:
        (tmp_path / "a").mkdir()
    with staging() as stage:
        folder = make_dirs(tmp_path / "a" / "b" / "c")
        with atomic_write(folder / "r.html") as fh:
            fh.write(b"report")
        if committed:
            stage.commit()
    if committed:
        assert (folder / "r.html").read_bytes() == b"report"
    else:  # the folders the stage made are gone; one that was there stays
        assert sorted(p.name for p in tmp_path.iterdir()) == (["a"] if existing else [])
        assert not (tmp_path / "a" / "b").exists()


def test_a_folder_that_gained_other_files_is_kept(tmp_path):
    from lrnet._files import make_dirs

    with staging():
        folder = make_dirs(tmp_path / "r")
        (folder / "mine.txt").write_text("written meanwhile by someone else")
    assert (folder / "mine.txt").exists()


def test_full_disk_names_the_file(tmp_path, monkeypatch):
    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError) as info:
        with atomic_write(tmp_path / "m.lrnet") as fh:
            fh.write(b"x")
    assert info.value.filename == str(tmp_path / "m.lrnet")
    assert list(tmp_path.iterdir()) == []


def test_commit_waits_for_another_writer_of_the_folder(tmp_path):
    import fcntl

    target = tmp_path / "m.lrnet"
    fd = os.open(tmp_path, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another run is committing into this folder
    done = threading.Event()

    def writer():
        with staging() as stage:
            with atomic_write(target) as fh:
                fh.write(b"mine")
            stage.commit()
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    time.sleep(0.3)
    assert not done.is_set() and not target.exists()
    os.close(fd)
    thread.join(10)
    assert done.is_set() and target.read_bytes() == b"mine"


# ------------------------------------------------------------------ the command, with real signals
def _csv(path: Path, rows: int = 4000) -> Path:
    rng = np.random.default_rng(0)
    data = rng.normal(size=(rows, 10))
    label = (data[:, 0] + data[:, 1] ** 2 > 1).astype(int)
    frame = pd.DataFrame(data, columns=[f"x{i}" for i in range(10)]).round(4)
    frame["y"] = label
    frame.to_csv(path, index=False)
    return path


class Run:
    """``lrnet train`` in a subprocess, its standard error on a pseudo-terminal (progress lines)."""

    def __init__(self, tmp_path, *extra):
        import pty

        env = dict(os.environ, MPLCONFIGDIR=str(tmp_path / "mpl"), COLUMNS="120")
        cmd = [sys.executable, "-c", "import sys, lrnet.cli; sys.exit(lrnet.cli.main())"]
        cmd += ["train", str(tmp_path / "data.csv")]
        cmd += ["--target", "y", "--out", str(tmp_path / "m.lrnet"), "--epochs", "100000"]
        cmd += ["--hidden", "64,64", *extra]
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=slave, text=True
        )
        os.close(slave)
        self.err = ""

    def read_until(self, text: str, timeout: float = 60) -> None:
        import select

        deadline = time.monotonic() + timeout
        while text not in self.err and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.5)
            if ready:
                try:
                    self.err += os.read(self.master, 65536).decode(errors="replace")
                except OSError:
                    break
        if text not in self.err:
            self.proc.kill()
            pytest.fail(f"never saw {text!r}; stderr so far: {self.err[-2000:]}")

    def finish(self, timeout: float = 60) -> str:
        out, _ = self.proc.communicate(timeout=timeout)
        with __import__("contextlib").suppress(OSError):
            while True:
                chunk = os.read(self.master, 65536)
                if not chunk:
                    break
                self.err += chunk.decode(errors="replace")
        os.close(self.master)
        return out


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_cli_signal_saves_the_model_trained_so_far(tmp_path, signum):
    import lrnet

    _csv(tmp_path / "data.csv")
    run = Run(tmp_path)
    run.read_until("epoch      2/")
    run.proc.send_signal(signum)
    out = run.finish()
    assert run.proc.returncode == 128 + signum, run.err[-2000:]
    assert "Model written to" in out and "Report written to" in out
    assert "training was interrupted" in run.err
    model = lrnet.load(tmp_path / "m.lrnet")
    meta = model.metadata["interrupted"]
    assert meta["signal"] == signal.Signals(signum).name
    assert meta["epoch"] == model.estimator.n_iter_ >= 2
    assert (tmp_path / "m-report" / "report.html").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(SUFFIX)]


def test_cli_signal_during_the_alpha_search_stops_the_run(tmp_path):
    import lrnet

    _csv(tmp_path / "data.csv")
    run = Run(tmp_path, "--patience", "2")
    run.read_until("fit 2 of 3: alpha 0.01")
    run.proc.send_signal(signal.SIGINT)
    out = run.finish()
    assert run.proc.returncode == 130, run.err[-2000:]
    assert "Model written to" in out and "training was interrupted" in run.err
    assert "fit 3 of 3" not in run.err and "refitting on every row" not in run.err
    model = lrnet.load(tmp_path / "m.lrnet")
    assert model.metadata["refit"] is None and model.metadata["interrupted"]["signal"] == "SIGINT"
    # the finished first fit is kept unless the interrupted one was already better
    kept = "kept the finished fit with alpha 0.001" in run.err
    assert model.estimator.alpha == (0.001 if kept else 0.01)


def test_cli_second_signal_aborts_and_keeps_the_old_files(tmp_path):
    _csv(tmp_path / "data.csv")
    (tmp_path / "m.lrnet").write_bytes(b"the old model")
    run = Run(tmp_path)
    run.read_until("epoch      2/")
    run.proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    run.proc.send_signal(signal.SIGINT)
    run.finish()
    assert run.proc.returncode == 130
    assert "left as they were" in run.err
    assert (tmp_path / "m.lrnet").read_bytes() == b"the old model"
    assert not (tmp_path / "m-report").exists()  # created while staging, removed again
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(SUFFIX)]


def test_concurrent_runs_leave_a_report_that_describes_the_model(tmp_path):
    """Two runs writing the same --out: the report is the one of the model that stayed."""
    import lrnet

    env = dict(os.environ, MPLCONFIGDIR=str(tmp_path / "mpl"))
    code = "import sys, lrnet.cli; sys.exit(lrnet.cli.main(sys.argv[1:]))"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, "train", "--epochs", "15", "--hidden", "8"]
            + ["--seed", str(seed), "--out", "m.lrnet", "--quiet"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for seed in (1, 2, 3)
    ]
    assert [p.wait(120) for p in procs] == [0, 0, 0]
    model = lrnet.load(tmp_path / "m.lrnet")
    page = (tmp_path / "m-report" / "report.html").read_text()
    log_loss = model.metadata["metrics"]["log_loss"]
    assert f"{log_loss:.4f}" in page  # this model's test log-loss, in the report's table
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(SUFFIX)]


def _fails(exc):
    def fail(*args, **kwargs):
        raise exc

    return fail


@pytest.mark.parametrize(
    "where, exc, code, message",
    [
        ("report", OSError(28, "No space left on device", "r/loss.png"), 1, "No space left"),
        ("show", BrokenPipeError(32, "Broken pipe"), 141, ""),
        ("save", interrupts.Abort(signal.SIGTERM), 143, "left as they were"),
    ],
)
def test_a_run_that_fails_before_its_last_lines_keeps_the_old_files(
    tmp_path, monkeypatch, capfd, where, exc, code, message
):
    from lrnet.cli import display, main
    from lrnet.cli import train as train_cmd

    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    model, report = tmp_path / "m.lrnet", tmp_path / "m-report"
    model.write_bytes(b"old model")
    report.mkdir()
    (report / "report.html").write_text("old report")
    target = {
        "report": (train_cmd, "write_report"),
        "show": (display.Output, "show"),
        "save": (LRNClassifier, "save"),
    }[where]
    monkeypatch.setattr(*target, _fails(exc))
    args = ["train", "--epochs", "3", "--hidden", "8", "--out", str(model), "--quiet"]
    assert main(args) == code
    assert message in capfd.readouterr().err
    assert model.read_bytes() == b"old model"
    assert sorted(p.name for p in report.iterdir()) == ["report.html"]
    assert (report / "report.html").read_text() == "old report"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "mpl") == ["m-report", "m.lrnet"]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_sigterm_during_predict_leaves_no_temporary_file(tmp_path):
    """A real SIGTERM while `lrnet predict -o` writes: the old output stays, nothing else."""
    X, y = make_classification(n_samples=400, n_features=10, random_state=0)
    LRNClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(X, y).save(
        tmp_path / "m.lrnet"
    )
    rows = np.random.default_rng(0).normal(size=(400_000, 10)).round(3)
    pd.DataFrame(rows, columns=[f"x{i}" for i in range(10)]).to_csv(
        tmp_path / "big.csv", index=False
    )
    out = tmp_path / "pred.csv"
    out.write_text("old predictions\n")
    code = "import sys, lrnet.cli; sys.exit(lrnet.cli.main(sys.argv[1:]))"
    args = ["predict", "m.lrnet", "big.csv", "-o", "pred.csv", "--chunk-size", "1000"]
    proc = subprocess.Popen([sys.executable, "-c", code, *args], cwd=tmp_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if any(p.name.endswith(SUFFIX) for p in tmp_path.iterdir()):
            break
        time.sleep(0.005)
    if proc.poll() is not None:
        pytest.skip("predict finished before the signal could be sent")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 143
    assert out.read_text() == "old predictions\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(SUFFIX)]
