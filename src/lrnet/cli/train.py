"""``lrnet train``: read a table, preprocess, fit, evaluate, save the model and a report."""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from .. import interrupts
from .._files import staging
from ..callbacks import Callback, EarlyStopping
from ..checkpoint import Checkpoint, resume_into
from ..data.compact import take_rows
from ..data.preprocessing import Preprocessor
from ..data.readers import DataError, read_table
from ..errors import TrainingInterrupted
from ..estimator import LRNClassifier
from ..progress import ProgressBar
from ..report import classification_metrics, write_report
from . import dask_table, defaults, refit, stream
from .common import (
    check_classes,
    check_output_file,
    choose_target,
    column_options,
    csv_options,
    note_header,
    split_target,
    target_labels,
    unknown_column,
)
from .defaults import epochs_advice
from .display import Output, UsageError, UserError, listing, metrics_tables
from .scoring import (
    calibrate,
    calibration_info,
    calibration_split,
    check_calibrate,
    class_priors,
    note_warnings,
    parameter_count,
    target_order,
)


class HoldOutValidation(Callback):
    """Ask the estimator to hold out ``validation_fraction`` and score every epoch."""

    requires_validation = True


def training_table(args) -> tuple[pd.DataFrame, str]:
    """The table and a name for it in messages."""
    if args.data is None:
        from sklearn.datasets import load_digits

        return load_digits(as_frame=True).frame, "digits (scikit-learn's bundled data set)"
    return read_table(args.data, csv_options(args), compact=True), str(args.data)


def file_stem(args) -> str:
    """``digits`` or the data file's name without its suffixes, for default outputs."""
    return "digits" if args.data is None else Path(args.data).name.split(".")[0] or "model"


def test_split(frame, y, args, out: Output):
    """``(train_frame, test_frame, y_train, y_test)``; stratified when possible.

    The row positions are split (the same split as of the frame itself) and the parts
    copied a column at a time, emptying ``frame``: one table in memory, not two.
    """
    if args.test_fraction == 0:
        out.note("--test-fraction 0: the metrics below are on the training data.")
        return frame, frame, y, y
    parts, rows = dict(test_size=args.test_fraction, random_state=args.seed), np.arange(len(y))
    try:
        train, test, y_train, y_test = train_test_split(rows, y, stratify=y, **parts)
    except ValueError:
        out.note("some class is too rare for a stratified test split; splitting at random.")
        try:
            train, test, y_train, y_test = train_test_split(rows, y, **parts)
        except ValueError as err:
            raise UsageError(f"--test-fraction {args.test_fraction}: {err}") from None
    return (*take_rows(frame, train, test), y_train, y_test)


#: ``lrnet train`` option -> LRNClassifier parameter, passed only when the option is given
EXTRAS = {
    "schedule": "learning_rate",
    "warmup": "warmup_fraction",
    "dropout": "dropout",
    "weight_decay": "weight_decay",
    "max_grad_norm": "max_grad_norm",
    "label_smoothing": "label_smoothing",
    "init": "init",
}


def training_extras(args, out: Output) -> dict:
    """The estimator parameters of the options given; a note for each that does nothing."""
    given = {opt: getattr(args, opt) for opt in EXTRAS if getattr(args, opt) is not None}
    for note in unused_options(args, given):
        out.note(note)
    return {EXTRAS[opt]: value for opt, value in given.items()}


def unused_options(args, given: dict) -> list[str]:
    """Notes on options given that the chosen solver, schedule or network ignores."""
    notes = []
    if args.solver == "lbfgs":
        ignored = [o for o in ("schedule", "warmup", "dropout", "max_grad_norm") if o in given]
        if ignored:
            flags = ", ".join("--" + o.replace("_", "-") for o in ignored)
            notes.append(f"{flags}: no effect with --solver lbfgs.")
    elif given.get("warmup") and given.get("schedule") not in ("cosine", "onecycle"):
        notes.append("--warmup: no effect unless --schedule is cosine or onecycle.")
    if "weight_decay" in given and args.solver != "adamw":
        notes.append("--weight-decay: no effect unless --solver is adamw (--alpha: L2 penalty).")
    if "dropout" in given and not args.hidden and args.solver != "lbfgs":
        notes.append("--dropout: no effect without hidden layers.")
    if (getattr(args, "ensemble", None) or 1) > 1 and not args.refit:
        notes.append("--ensemble: no effect with --no-refit (the refit trains the networks).")
    return notes


def check_options(args) -> None:
    """Options that do not fit together, refused before any data is read."""
    check_calibrate(args)
    if args.solver == "lbfgs" and (args.checkpoint_every or args.resume):
        flag = "--checkpoint-every" if args.checkpoint_every else "--resume"
        raise UsageError(
            f"{flag}: --solver lbfgs cannot be checkpointed (its state lives inside SciPy). "
            "Use --solver adam or sgd."
        )
    if args.checkpoint and not args.checkpoint_every:
        raise UsageError("--checkpoint FILE needs --checkpoint-every N (epochs between writes).")
    if args.resume and not Path(args.resume).is_file():
        raise UsageError(f"--resume {args.resume}: no such checkpoint file.")
    if args.early_stopping and args.validation_fraction == 0:
        raise UsageError(
            "--early-stopping needs validation data: set --validation-fraction above 0 (e.g. 0.1)."
        )
    rates = args.dropout
    if isinstance(rates, tuple) and len(rates) != len(args.hidden):
        raise UsageError(
            f"--dropout has {len(rates)} rates but --hidden has {len(args.hidden)} hidden "
            "layer(s): give one rate for all layers, or one per hidden layer."
        )


def validation_split_fits(y, fraction: float) -> str | None:
    """Why a stratified validation split of ``y`` is impossible, or ``None``.

    The checks of scikit-learn's stratified split: each class needs two rows, and the
    validation part must hold at least one row of every class.
    """
    classes, counts = np.unique(y, return_counts=True)
    n_val = int(np.ceil(fraction * len(y)))
    if counts.min() < 2:
        rare = listing(classes[counts < 2])
        return f"the class(es) {rare} have a single row in the training split"
    if n_val < len(classes):
        return (
            f"{n_val} validation row(s) cannot hold one row of each of the {len(classes)} classes"
        )
    return None


def validation_plan(args, y_train, out: Output) -> bool:
    """Whether to hold out ``--validation-fraction`` of the training rows.

    Without ``--early-stopping`` the split only feeds the progress display, so when it
    is impossible training goes on without it (with a note); with it, it is an error.
    """
    if args.validation_fraction == 0 or args.solver == "lbfgs":
        return False
    why = validation_split_fits(y_train, args.validation_fraction)
    if why is None:
        return True
    if args.early_stopping and not args.early_stopping_auto:
        raise UsageError(
            f"--early-stopping needs a validation split, but with --validation-fraction "
            f"{args.validation_fraction:.3g} {why}. Raise --validation-fraction, or drop "
            "--early-stopping."
        )
    lost = []  # what the defaults note promised that needs the split
    if args.early_stopping:
        lost.append("no early stopping")
    if args.alpha_grid:
        lost.append(f"alpha {args.alpha:g}, not chosen on a validation split")
    out.note(
        f"no validation scores: {why} (--validation-fraction {args.validation_fraction:.3g})"
        + (f"; so {', and '.join(lost)}." if lost else ".")
    )
    args.early_stopping = False
    return False


def make_estimator(
    args, progress: ProgressBar, out: Output, hold_out: bool = True
) -> LRNClassifier:
    """The estimator from the options; progress via ``callbacks`` when supported."""
    estimator = LRNClassifier(
        hidden_layer_sizes=args.hidden,
        activation=args.activation,
        solver=args.solver,
        max_iter=args.epochs,
        batch_size=args.batch_size,
        learning_rate_init=args.lr,
        alpha=args.alpha,
        validation_fraction=args.validation_fraction or 0.1,
        random_state=args.seed,
        **training_extras(args, out),
    )
    if "callbacks" in estimator.get_params():
        estimator.set_params(callbacks=training_callbacks(args, progress, hold_out))
    return estimator


def training_callbacks(args, progress: ProgressBar, hold_out: bool) -> list[Callback]:
    """The progress display, the held-out validation and early stopping, as chosen."""
    callbacks = [progress]
    if hold_out:
        callbacks.append(HoldOutValidation())
    if args.early_stopping:  # on the validation log-loss, keeping the best epoch
        callbacks.append(
            EarlyStopping("validation_loss", patience=args.patience, restore_best_weights=True)
        )
    return callbacks


def best_validation_loss(estimator: LRNClassifier) -> float:
    """The lowest validation log-loss of the fit (its kept weights'), inf without one."""
    losses = [h.get("validation_loss") for h in estimator.history_]
    losses = [v for v in losses if v is not None and np.isfinite(v)]
    return min(losses, default=float("inf"))


def fit_choosing_alpha(args, estimator, X, y, progress, out: Output):
    """Fit once per ``args.alpha_grid`` penalty; keep the lowest validation log-loss.

    Returns what :func:`fit` does, for the kept estimator (the seconds of all fits).
    A Ctrl-C, also between two fits, ends the search and the run (the interruption is
    returned): the fit with the lowest validation log-loss so far is kept.
    """
    seconds, tried, best = 0.0, [], None
    with interrupts.deferring():  # a signal between two fits waits for the next check
        for i, params in enumerate({"alpha": a} for a in args.alpha_grid):
            signum = interrupts.pending()
            if best is not None and signum is not None:
                stop = TrainingInterrupted(interrupts.signal_name(signum), best.n_iter_, signum)
                return _kept(best, seconds, stop, out)
            out.note(f"fit {i + 1} of {len(args.alpha_grid)}: alpha {params['alpha']:g}.")
            if best is not None:  # the first uses the estimator (and bar) made for the run
                progress = ProgressBar(enabled=False if args.quiet else None)
                params = {**estimator.get_params(deep=False), **params}
                params["callbacks"] = training_callbacks(args, progress, True)
                estimator = type(estimator)(**params)
            else:
                estimator.set_params(**params)
            took, interrupted = fit(estimator, X, y, progress, out)
            seconds += took
            if interrupted is not None:  # the better of the interrupted fit and the best
                if best is None or best_validation_loss(estimator) < best_validation_loss(best):
                    return estimator, seconds, interrupted
                return _kept(best, seconds, interrupted, out)
            tried.append((estimator.alpha, best_validation_loss(estimator)))
            if best is None or tried[-1][1] < best_validation_loss(best):
                best = estimator
    shown = ", ".join(f"{alpha:g}: {loss:.4f}" for alpha, loss in tried)
    out.note(f"alpha {best.alpha:g} chosen on the validation log-loss ({shown}).")
    args.alpha = best.alpha
    args.alpha_choice = (
        f"{best.alpha:g}: the lowest validation log-loss of {len(tried)} fits ({shown})"
    )
    return best, seconds, None


def _kept(best, seconds: float, interrupted: TrainingInterrupted, out: Output):
    """The search ended by a signal keeps ``best``, a finished fit (noted)."""
    out.note(
        f"the search for alpha was interrupted: kept the finished fit with alpha "
        f"{best.alpha:g} (validation log-loss {best_validation_loss(best):.4f})."
    )
    return best, seconds, interrupted


def fit(
    estimator: LRNClassifier,
    X,
    y,
    progress: ProgressBar,
    out: Output,
    validation=None,
    resume: str | None = None,
    dask: str | None = None,
) -> tuple[float, TrainingInterrupted | None]:
    """Fit with progress (or continue the checkpoint ``resume``); warnings become notes.

    ``dask``: the ``--dask`` address; the fit then runs on that cluster.

    Returns the seconds taken, and the interruption when Ctrl-C or SIGTERM ended
    training early (the estimator then holds what it learned so far).
    """
    started = time.perf_counter()
    interrupted = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if resume is not None:
                out.note(f"resuming the run saved in {resume}.")
                resume_into(estimator, resume, X, y, **(validation or {}))
            elif dask is not None:
                from .dask_ import fit as fit_on_dask

                out.note(f"training on the Dask cluster {dask}.")
                fit_on_dask(estimator, X, y, dask, validation)
            else:
                estimator.fit(X, y, **(validation or {}))  # validation: X_val, y_val
        except TrainingInterrupted as err:
            interrupted = err
        finally:
            progress.close()
    for warning in caught:
        if issubclass(warning.category, RuntimeWarning):
            continue  # NumPy arithmetic notices; a real failure raises
        if interrupted is not None and str(warning.message) == str(interrupted):
            continue  # said by run() in the command's own words
        if issubclass(warning.category, ConvergenceWarning):
            stops = any(isinstance(cb, EarlyStopping) for cb in estimator.callbacks or ())
            out.note(epochs_advice(estimator.history_, estimator.max_iter, stops))
        else:
            out.note(str(warning.message).splitlines()[0])
    return time.perf_counter() - started, interrupted


def known_rows(frame, y, classes, source: str, out: Output):
    """Rows whose label the model knows (others noted and left out of the metrics)."""
    known = np.isin(y, classes)
    if known.all():
        return frame, y
    unseen = sorted({str(v) for v in y[~known]})
    out.note(
        f"{source}: {int((~known).sum())} row(s) with classes never seen in training "
        f"({listing(unseen)}) are left out of the metrics."
    )
    return frame[known], y[known]


def validation_table(args, target: str) -> pd.DataFrame | None:
    """The ``--valid`` table, read (and checked) before training: or ``None``."""
    if not args.valid:
        return None
    frame = read_table(args.valid, csv_options(args))
    if target not in frame.columns:
        raise unknown_column(target, frame.columns, args.valid, "target column")
    frame = frame.loc[frame[target].notna()]
    if frame.empty:
        raise UsageError(f"--valid {args.valid}: no row has a value in the target {target!r}.")
    return frame


def validation_metrics(
    args, frame, pre: Preprocessor, estimator, target: str, out: Output, priors=None, order=None
):
    """Metrics on the ``--valid`` table, or ``None``."""
    if frame is None:
        return None
    y = target_labels(frame[target], args.valid)
    frame, y = known_rows(frame, y, estimator.classes_, args.valid, out)
    if frame.empty:
        raise UsageError(f"--valid {args.valid}: no row has a class the model knows.")
    X = pre.transform(frame, args.valid)
    proba = estimator.predict_proba(X)
    return classification_metrics(y, proba, estimator.classes_, priors, order)


def network_summary(estimator: LRNClassifier) -> str:
    """``'64 -> 100 -> 10 (relu hidden, softmax output; 7,510 parameters)'``."""
    units = [estimator.coefs_[0].shape[0]] + [w.shape[1] for w in estimator.coefs_]
    return (
        " -> ".join(map(str, units)) + f" ({estimator.activation} hidden, "
        f"{estimator.out_activation_} output; {parameter_count(estimator):,} parameters)"
    )


def checkpoint_path(args) -> Path:
    """``--checkpoint``, or ``<MODEL name>.ckpt.lrnet`` next to the model."""
    if args.checkpoint:
        return Path(args.checkpoint)
    model = Path(args.out) if args.out else Path(f"{file_stem(args)}.lrnet")
    return model.with_name(model.name.removesuffix(".lrnet") + ".ckpt.lrnet")


def output_paths(args, stem: str) -> tuple[Path, Path | None]:
    """The model file and the report folder (``None`` with ``--no-report``).

    Checked before any training, so that a bad path costs no time and a run that
    fails leaves an existing model file alone.
    """
    model = Path(args.out) if args.out else Path(f"{stem}.lrnet")
    check_output_file(model, "--out", inputs=(args.data, args.valid))
    if args.checkpoint_every:
        point = checkpoint_path(args)
        check_output_file(point, "--checkpoint", inputs=(args.data, args.valid, model))
    if args.no_report:
        return model, None
    report = Path(args.report) if args.report else model.with_name(model.stem + "-report")
    if report.exists() and not report.is_dir():
        raise UsageError(f"--report {report}: this is a file; the report needs a folder.")
    parent = report if report.is_dir() else report.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise UsageError(f"--report {report}: cannot create the report folder there.")
    return model, report


@dataclass
class Run:
    """What one ``lrnet train`` run produced, for saving and printing."""

    source: str
    target: str
    preprocessor: Preprocessor
    estimator: LRNClassifier
    seconds: float
    n_train: int
    evaluated_on: str
    metrics: dict
    valid: dict | None
    interrupted: TrainingInterrupted | None = None
    calibration: dict | None = None
    #: how ``--alpha auto`` chose the penalty (the search's losses), or None
    alpha_choice: str | None = None
    #: the scored fit's epochs and history (its learning curves); the refit's are the model's
    scored_epochs: int | None = None
    scored_history: list | None = None
    refit: refit.Refit | None = None

    def info(self, model_path: Path) -> dict:
        """Key facts, shown at the top of the report."""
        plan, est = self.preprocessor.plan, self.estimator
        return {
            "data": self.source,
            "target": self.target,
            "model file": str(model_path),
            "rows": f"{self.n_train} train, {self.metrics['n_samples']} {self.evaluated_on}",
            "input columns": f"{len(plan.numeric)} numeric"
            + (f" ({len(plan.logged)} on a log scale)" if plan.logged else "")
            + f", {len(plan.categorical)} categorical, {len(plan.dropped)} dropped",
            "network": network_summary(est),
            "solver": f"{est.solver}, {self.epochs_scored} {self.unit}s, {self.seconds:.2f} s"
            + (" (all fits)" if self.alpha_choice else ""),
            **({"alpha": self.alpha_choice} if self.alpha_choice else {}),
            **({"refit": self.refit.describe()} if self.refit else {}),
            **calibration_info(self.calibration),
        }

    @property
    def unit(self) -> str:
        """What one pass of the solver is called."""
        return "iteration" if self.estimator.solver == "lbfgs" else "epoch"

    @property
    def epochs_scored(self) -> int:
        """The epochs of the model the metrics describe."""
        return self.estimator.n_iter_ if self.scored_epochs is None else self.scored_epochs

    @property
    def history(self) -> list:
        """The learning curves of the scored fit (with its validation scores)."""
        return self.estimator.history_ if self.scored_history is None else self.scored_history

    def metadata(self) -> dict:
        """What the model file records about its training."""
        keys = ("n_samples", "accuracy", "balanced_accuracy", "log_loss", "roc_auc", "macro_f1")
        return {
            "data": self.source,
            "target": self.target,
            "train_rows": self.n_train,
            "evaluated_on": self.evaluated_on,
            "metrics": {k: self.metrics[k] for k in keys},
            "train_seconds": round(self.seconds, 3),
            "class_priors": self.metrics["baseline"]["priors"],  # of the training rows
            "class_order": self.metrics["classes"],
            "calibration": self.calibration,
            "refit": None if self.refit is None else self.refit.as_dict(),
            "interrupted": None
            if self.interrupted is None
            else {
                "epoch": self.interrupted.epoch,
                "signal": interrupts.signal_name(self.interrupted.signum),
            },
        }

    def interruption(self) -> str | None:
        """What the model holds when a signal ended training early."""
        if self.interrupted is None:
            return None
        est, unit = self.estimator, self.unit
        stops = any(isinstance(cb, EarlyStopping) for cb in est.callbacks or ())
        kept = "the best weights on the validation split" if stops else "its weights"
        return (
            f"training was interrupted ({interrupts.signal_name(self.interrupted.signum)}) "
            f"after {self.interrupted.epoch} complete {unit}(s) of {est.max_iter}; the model "
            f"was saved with {kept} at that point."
        )


def note_dropped(dropped: dict, out: Output) -> None:
    """One note listing the dropped columns and why."""
    if dropped:
        shown = "; ".join(f"{name!r} ({why})" for name, why in list(dropped.items())[:8])
        more = " ..." if len(dropped) > 8 else ""
        out.note(f"dropped {len(dropped)} column(s): {shown}{more}")


def allocate_rows(pre: Preprocessor, train_frame, test_frame, args) -> np.ndarray | None:
    """One float32 array for the training then the test rows, when the refit will use both.

    The scored fit reads the first rows, the test metrics the rest, and the refit all of
    them: no second copy of the table's features.
    """
    if not args.refit or args.calibrate or test_frame is train_frame:
        return None
    shape = (len(train_frame) + len(test_frame), len(pre.feature_names_out))
    return np.empty(shape, dtype=np.float32)


def train_and_score(args, out: Output) -> Run:
    """Read, split, preprocess, fit and score."""
    frame, source = training_table(args)
    out.note(f"read {len(frame)} rows and {frame.shape[1]} columns from {source}.")
    note_header(frame, args, source, out)
    target = choose_target(frame, args.target, source, out)
    frame, y = split_target(frame, target, source, out)
    check_classes(y, target, source)
    valid_frame = validation_table(args, target)
    train_frame, test_frame, y_train, y_test = test_split(frame, y, args, out)
    args.early_stopping_auto = args.early_stopping is None
    defaults.resolve(args, len(y_train), out)
    del frame  # the two parts hold the rows now: one copy of the table in memory, not two
    pre = Preprocessor.fit(train_frame, target, source, column_options(args))
    note_dropped(pre.plan.dropped, out)
    for note in pre.plan.notes:  # what was done to which column
        out.note(note)
    progress = ProgressBar(enabled=False if args.quiet else None)
    # with --refit, the training and test rows go into one array (the refit fits on it)
    rows = allocate_rows(pre, train_frame, test_frame, args)
    X_train = pre.transform(train_frame, source, out=None if rows is None else rows[: len(y_train)])
    y_fit, held = y_train, None
    del train_frame  # the network reads X_train from here on
    if args.calibrate:  # the validation split is held out here, to calibrate on it
        why = validation_split_fits(y_train, args.validation_fraction)
        X_train, y_fit, *held = calibration_split(X_train, y_train, args, why)
    hold_out = held is None and validation_plan(args, y_train, out)
    estimator = make_estimator(args, progress, out, hold_out)
    if args.checkpoint_every:
        every, path = args.checkpoint_every, checkpoint_path(args)
        metadata = {"data": source, "target": target, "checkpoint_every": every}
        point = Checkpoint(path, every, preprocessing=pre, metadata=metadata)
        estimator.set_params(callbacks=[*(estimator.callbacks or ()), point])
    validation = None if held is None else {"X_val": held[0], "y_val": held[1]}
    if hold_out and args.alpha_grid:
        estimator, seconds, interrupted = fit_choosing_alpha(
            args, estimator, X_train, y_fit, progress, out
        )
    else:
        seconds, interrupted = fit(
            estimator, X_train, y_fit, progress, out, validation, args.resume, args.dask
        )
    calibration = None if held is None else calibrate(estimator, *held, out)
    test_frame, y_test = known_rows(test_frame, y_test, estimator.classes_, source, out)
    if len(y_test) == 0:
        raise DataError(
            f"{source}: no test row has a class seen in training: the classes of "
            f"{target!r} are too rare to split. Use more rows per class, or --test-fraction 0."
        )
    in_rows = rows is not None and len(y_train) + len(y_test) == len(rows)
    X_test = pre.transform(test_frame, source, out=rows[len(y_train) :] if in_rows else None)
    proba = estimator.predict_proba(X_test)
    priors = list(class_priors(y_train, estimator.classes_).values())
    order = target_order(test_frame[target])  # the dtype's order, as in the whole table
    metrics = classification_metrics(y_test, proba, estimator.classes_, priors, order)
    valid = validation_metrics(args, valid_frame, pre, estimator, target, out, priors, order)
    evaluated_on = "training data" if args.test_fraction == 0 else "test set"
    run = Run(
        source,
        target,
        pre,
        estimator,
        seconds,
        len(y_train),
        evaluated_on,
        metrics,
        valid,
        interrupted,
        calibration,
        getattr(args, "alpha_choice", None),
    )
    why = refit.skipped(args, interrupted is not None, bool(args.test_fraction) or hold_out)
    if why:
        out.note(why)
    elif why is None:
        X_all, y_all = X_train, y_fit
        if args.test_fraction:  # rows is X_train then X_test, unless test rows were left out
            X_all = rows if in_rows else np.concatenate([X_train, X_test])
            y_all = np.concatenate([y_fit, y_test])
        run.scored_epochs, run.scored_history = estimator.n_iter_, estimator.history_
        run.estimator, run.refit = refit.refit(estimator, X_all, y_all, args, out)
    return run


def refuse_worse_than_priors(args, model_path: Path, metrics: dict, evaluated_on: str) -> None:
    """Keep an existing model rather than replace it with one worse than the class priors."""
    base = metrics["baseline"]["log_loss"]
    if args.force or not model_path.exists() or metrics["log_loss"] < base:
        return
    raise UserError(
        f"the new model's log-loss on the {evaluated_on}, {metrics['log_loss']:.4f}, is no "
        f"better than {base:.4f}, that of always predicting the class frequencies, so "
        f"{model_path} was kept as it was. Lower --lr, standardise or check the features, "
        "or give --force to replace the model anyway."
    )


def run(args, out: Output) -> int:
    """Run ``lrnet train``."""
    check_options(args)
    model_path, report_dir = output_paths(args, file_stem(args))
    if dask_table.chosen(args):  # the Dask workers read the file
        result = dask_table.train_and_score(args, out)
    elif stream.chosen(args, out):  # a file larger than --memory: read in row groups (issue 11)
        result = stream.train_and_score(args, out)
        if args.refit:
            out.note(
                "--stream: the model is not refitted on every row (--refit needs memory)."
                + refit.one_network(args, "", " ")
            )
    else:
        result = train_and_score(args, out)
    estimator = result.estimator
    title = f"Metrics on the {result.evaluated_on} ({result.target})"
    if result.refit is not None:
        title += ", scored before the refit"
    out.show(*metrics_tables(result.metrics, title))
    note_warnings(result.metrics, result.evaluated_on, out)
    if result.valid is not None:
        out.show(*metrics_tables(result.valid, f"Metrics on {args.valid}"))
        note_warnings(result.valid, args.valid, out)
    if result.interrupted is not None:
        out.note(result.interruption())
    refuse_worse_than_priors(args, model_path, result.metrics, result.evaluated_on)
    # the model and its report land together, after everything that can fail
    report = None
    with staging() as stage:
        estimator.save(model_path, preprocessing=result.preprocessor, metadata=result.metadata())
        if report_dir is not None:
            report = write_report(
                report_dir,
                result.metrics,
                result.history,
                result.info(model_path),
                result.unit,
                result.evaluated_on,
            )
        stage.commit()
    out.line(f"Model written to {model_path}")
    if report is not None:
        plots = ", ".join(p.name for k, p in report.items() if k != "html" and p is not None)
        out.line(f"Report written to {report['html']} (plots: {plots})")
    out.emit_json(
        {
            "model": str(model_path),
            "report": None if report is None else str(report["html"]),
            "info": result.info(model_path),
            "dropped_columns": result.preprocessor.plan.dropped,
            "training_seconds": result.seconds,
            "epochs": result.epochs_scored,
            "refit": None if result.refit is None else result.refit.as_dict(),
            "metrics": result.metrics,
            "validation_metrics": result.valid,
            "interrupted": result.metadata()["interrupted"],
        }
    )
    if result.interrupted is not None:
        return interrupts.exit_code(result.interrupted.signum)
    if stage.signal is not None:  # Ctrl-C during the commit: the files were written
        return interrupts.exit_code(stage.signal)
    return 0
