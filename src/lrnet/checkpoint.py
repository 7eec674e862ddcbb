"""Checkpoints: the full training state in a model file, and a fit that resumes from one.

A checkpoint is a model file (:mod:`lrnet.persistence`) with its optional
training-state section.  Its model is what the fit would return if it stopped at
the checkpoint (the best weights under early stopping), so ``lrnet.load`` and
``lrnet predict`` use it as any model.  The section holds what continuing needs:

- the live parameters (they differ from the model's under early stopping);
- the optimizer state: every field of its state tuple (moments, step count);
- the random generator's state (shuffling and dropout of the epochs to come);
- the schedule's position (rate, step, samples seen) and the epoch count;
- the stopping monitor and the best weights, and the record (loss curve, history).

:func:`resume` refits from the start of the data pipeline with the same seed (so
the initialisation and the validation split consume the generator as before), then
replaces the state by the checkpoint's and runs the remaining epochs.  With the same
data, kernels and thread count, the result is bit-identical to the run that was never
stopped.  Callbacks that keep state save it through ``training_state()`` and
``set_training_state(header, arrays)`` (:class:`lrnet.callbacks.EarlyStopping` does);
others are not saved.  lbfgs, whose state lives inside SciPy, cannot be checkpointed.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

from . import persistence
from .callbacks import BestWeights, Callback, ConvergenceMonitor
from .config import State

__all__ = ["Checkpoint", "resume", "resume_into"]

KIND = "lrnet-training-state"
VERSION = 1
_MONITOR = ("no_improvement_count", "best_loss", "best_validation_score")


class Checkpoint(Callback):
    """Write the full training state to ``path`` every ``every`` epochs, atomically.

    Put it in the estimator's ``callbacks``; continue with :func:`resume`.

    Parameters
    ----------
    path : str or path-like
        The checkpoint file (a model file with a training-state section).
    every : int, default=1
        Epochs between writes; each write replaces the previous checkpoint.
    preprocessing : lrnet.data.Preprocessor or None
        Stored with the model, as :meth:`LRNClassifier.save` does.
    metadata : dict or None
        Free JSON stored with the model.
    """

    def __init__(self, path, every: int = 1, preprocessing=None, metadata=None):
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise ValueError(f"Checkpoint every={every!r}: expected a whole number of epochs >= 1.")
        self.path = Path(path)
        self.every = every
        self.preprocessing = preprocessing
        self.metadata = metadata
        self.written = 0  # epochs of the last write, 0 before the first

    def write(self, fitted, training_state: dict, epoch: int) -> None:
        """Save ``fitted`` with ``training_state`` (called by the training loop)."""
        persistence.save(
            self.path,
            fitted,
            preprocessing=self.preprocessing,
            metadata=self.metadata,
            training_state=training_state,
        )
        self.written = epoch


def snapshot(params, state: State, rng: np.random.Generator, best: BestWeights | None) -> dict:
    """The training state of a fit between two epochs, as a model file's section."""
    opt = state.opt_state
    fields = {} if opt is None else opt._asdict()
    arrays = {"params": params.copy()}
    opt_scalars = {}
    for name, value in fields.items():
        if isinstance(value, np.ndarray):
            arrays[f"opt.{name}"] = value.copy()
        else:
            opt_scalars[name] = int(value)
    if best is not None and best.best is not None:
        arrays["best"] = best.best.copy()
    header = {
        "kind": KIND,
        "version": VERSION,
        "optimizer": None if opt is None else type(opt).__name__,
        "opt_scalars": opt_scalars,
        "lr": state.lr,
        "t": state.t,
        "step": state.step,
        "n_iter": state.n_iter,
        "loss": state.loss,
        "loss_curve": list(state.loss_curve),
        "validation_scores": list(state.validation_scores),
        "history": list(state.history),
        "monitor": {k: getattr(state.monitor, k) for k in _MONITOR},
        "rng": _rng_state(rng),
    }
    return {"header": header, "arrays": arrays}


def _rng_state(rng: np.random.Generator) -> dict:
    state = copy.deepcopy(rng.bit_generator.state)
    if not isinstance(state.get("state"), dict):
        raise ValueError(f"cannot checkpoint a {state.get('bit_generator')} random generator")
    return state


def restore(training_state: dict, params, state: State, rng, best: BestWeights | None, path):
    """Put a checkpoint's training state into a fresh fit's ``params``, ``state``, ``rng``."""
    header, arrays = training_state["header"], training_state["arrays"]
    if not isinstance(header, dict) or header.get("kind") != KIND:
        raise ValueError(f"{path}: not a checkpoint (no lrnet training state in it).")
    if header.get("version") != VERSION:
        raise ValueError(f"{path}: training state version {header.get('version')!r} is unknown.")
    saved = arrays.get("params")
    if saved is None or saved.shape != params.shape or saved.dtype != params.dtype:
        raise ValueError(
            f"{path}: the checkpoint's parameters ({getattr(saved, 'shape', None)}, "
            f"{getattr(saved, 'dtype', None)}) do not fit this network ({params.shape}, "
            f"{params.dtype}); resume with the same data and settings."
        )
    np.copyto(params, saved)
    opt = state.opt_state
    if opt is not None:
        if header.get("optimizer") != type(opt).__name__:
            raise ValueError(
                f"{path}: the checkpoint was written by a {header.get('optimizer')} "
                f"optimizer, not {type(opt).__name__}."
            )
        values = {}
        for name, value in opt._asdict().items():
            if isinstance(value, np.ndarray):
                np.copyto(value, arrays[f"opt.{name}"])
                values[name] = value
            else:
                values[name] = int(header["opt_scalars"][name])
        state.opt_state = type(opt)(**values)
    state.lr = float(header["lr"])
    state.t, state.step, state.n_iter = int(header["t"]), int(header["step"]), int(header["n_iter"])
    state.loss = float(header["loss"])
    state.loss_curve = list(header["loss_curve"])
    state.validation_scores = list(header["validation_scores"])
    state.history = list(header["history"])
    monitor: ConvergenceMonitor = state.monitor
    for name in _MONITOR:
        setattr(monitor, name, header["monitor"][name])
    rng.bit_generator.state = header["rng"]
    if best is not None and "best" in arrays:
        best.record()
        np.copyto(best.best, arrays["best"])


def resume(path, X, y, sample_weight=None, *, callbacks=None, **fit_params):
    """Continue the fit saved in checkpoint ``path`` on the same data; returns the estimator.

    Parameters
    ----------
    path : str or path-like
        A checkpoint written by :class:`Checkpoint` (or ``lrnet train --checkpoint-every``).
    X, y, sample_weight
        The data of the original fit, unchanged.
    callbacks : list or None
        Callbacks for the rest of the fit (callbacks are never stored in a file).
    **fit_params
        ``X_val``, ``y_val``, ``sample_weight_val`` when the original fit had them.

    Returns
    -------
    LRNClassifier
        Fitted as the uninterrupted fit would have been.
    """
    model, training_state = _read(path)
    estimator = model.estimator
    estimator.set_params(callbacks=callbacks, warm_start=False)
    return _continue(estimator, training_state, path, X, y, sample_weight, fit_params)


def resume_into(estimator, path, X, y, sample_weight=None, **fit_params):
    """As :func:`resume`, with ``estimator``'s callbacks; its settings must be the checkpoint's."""
    model, training_state = _read(path)
    saved = model.estimator.get_params(deep=False)
    mine = estimator.get_params(deep=False)
    differ = sorted(
        k for k in saved if k not in ("callbacks", "warm_start") and saved[k] != mine.get(k)
    )
    if differ:
        shown = ", ".join(f"{k}={saved[k]!r} (now {mine.get(k)!r})" for k in differ[:6])
        raise ValueError(
            f"{path}: the checkpoint was trained with other settings: {shown}. Resume with "
            "the options of the run that wrote it."
        )
    return _continue(estimator, training_state, path, X, y, sample_weight, fit_params)


def _read(path):
    model, training_state = persistence.read_training_state(path)
    if training_state is None:
        raise ValueError(
            f"{path}: this model file has no training state to resume from; it was saved "
            "by save(), not written by a Checkpoint (lrnet train --checkpoint-every)."
        )
    return model, training_state


def _continue(estimator, training_state, path, X, y, sample_weight, fit_params):
    estimator._resume_from = (training_state, str(path))
    try:
        return estimator.fit(X, y, sample_weight, **fit_params)
    finally:
        estimator.__dict__.pop("_resume_from", None)


def data_digest(X, y) -> str:
    """A SHA-256 of the training data, so that a resume on other data is refused."""
    import hashlib

    import scipy.sparse as sp

    digest = hashlib.sha256()
    parts = (X.data, X.indices, X.indptr) if sp.issparse(X) else (X,)
    for part in (*parts, np.asarray(y)):
        part = np.ascontiguousarray(part)
        digest.update(str((part.dtype.str, part.shape)).encode())
        digest.update(part.tobytes() if part.dtype.kind != "O" else repr(part.tolist()).encode())
    return digest.hexdigest()


class Checkpointing:
    """What the training loop needs to write checkpoints and to resume from one.

    ``describe(params, state)`` gives the :class:`~lrnet.fitted.FittedNetwork` of the
    fit at that point; ``rng_start`` is the generator's state when the fit began.
    """

    def __init__(self, target, describe, rng_start: dict, resume_from=None, digest=None):
        self.target = target
        self.describe = describe
        self.rng_start = rng_start
        self.resume_from = resume_from
        self.digest = digest
        if resume_from is not None:
            training_state, path = resume_from
            saved = training_state["header"].get("data_sha256")
            if saved is not None and digest is not None and saved != digest:
                raise ValueError(
                    f"{path}: the checkpoint was trained on other data (its SHA-256 differs). "
                    "Resume on the same rows, in the same order, as the run that wrote it."
                )

    def restore(self, params, state, rng, best) -> bool:
        """Continue from the checkpoint being resumed; True when that fit had stopped."""
        if self.resume_from is None:
            return False
        training_state, path = self.resume_from
        restore(training_state, params, state, rng, best, path)
        return bool(training_state["header"].get("stopped"))

    def restore_callbacks(self, callbacks) -> None:
        """Give callbacks that keep state (``set_training_state``) theirs back."""
        if self.resume_from is None:
            return
        training_state, path = self.resume_from
        saved = training_state["header"].get("callbacks") or {}
        for i, cb in enumerate(callbacks):
            entry = saved.get(str(i))
            if entry is None or not hasattr(cb, "set_training_state"):
                continue
            if entry["type"] != type(cb).__name__:
                raise ValueError(
                    f"{path}: callback {i} was a {entry['type']} when the checkpoint was "
                    f"written, now a {type(cb).__name__}; resume with the same callbacks."
                )
            prefix = f"callback.{i}."
            arrays = {
                k.removeprefix(prefix): v
                for k, v in training_state["arrays"].items()
                if k.startswith(prefix)
            }
            cb.set_training_state(entry["state"], arrays)

    def after_epoch(self, params, state, rng, best, stopped: bool, callbacks=()) -> None:
        """Write a checkpoint when one is due after this epoch."""
        target = self.target
        if target is None or state.n_iter % target.every or state.interrupted is not None:
            return
        section = snapshot(params, state, rng, best)
        kept = {}
        for i, cb in enumerate(callbacks):
            if hasattr(cb, "training_state"):
                header, arrays = cb.training_state()
                kept[str(i)] = {"type": type(cb).__name__, "state": header}
                section["arrays"].update({f"callback.{i}.{k}": v for k, v in arrays.items()})
        section["header"]["callbacks"] = kept
        section["header"]["rng_start"] = self.rng_start
        section["header"]["stopped"] = bool(stopped)
        section["header"]["data_sha256"] = self.digest
        model_params = best.best if best is not None and best.best is not None else params
        target.write(self.describe(model_params, state), section, state.n_iter)
