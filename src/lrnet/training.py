"""The one training loop: ``fit_loop -> run_epoch -> train_step``.

Stochastic solvers (sgd, adam, adamw) run here; lbfgs is a full-batch call into SciPy
(:func:`fit_lbfgs`).  Everything an epoch needs is allocated before the first step:
the batch buffers, the activations, deltas and dropout masks
(:class:`lrnet.network.Workspace`), the gradient buffer and the optimizer state.
Batches are gathered with ``np.take(..., out=)`` into those buffers, so the step loop
allocates no arrays.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from .callbacks import ConvergenceMonitor, call_hooks
from .network import Net, Workspace, full_batch_value_and_grad, value_and_grad
from .optim import adam, lbfgs, sgd
from .optim.schedules import ADAPTIVE_FACTOR, STEP_SCHEDULES, epoch_end_lr, step_lr


class DivergenceError(ValueError):
    """Training produced a non-finite loss or non-finite weights."""


def divergence_error(epoch: int, lr: float | None) -> DivergenceError:
    """The error raised when training diverges, with the fix.

    ``lr=None`` is for lbfgs, which has no learning rate: its line search diverges on
    features of huge scale.
    """
    if lr is None:
        cause, fix = "solver='lbfgs'", "Standardise the features (e.g. StandardScaler)"
    else:
        cause = f"learning_rate_init={lr:g}"
        fix = f"Lower learning_rate_init (try {lr / 10:g}), standardise the features"
    return DivergenceError(
        f"Training diverged at epoch {epoch}: the loss or the weights became non-finite "
        f"(NaN or inf) with {cause}. {fix}, or increase alpha. The model was left as it "
        "was before this fit."
    )


@dataclass
class Config:
    """Hyperparameters the loop reads; built by the estimator."""

    solver: str
    learning_rate_init: float
    learning_rate: str = "constant"
    power_t: float = 0.5
    momentum: float = 0.9
    nesterovs_momentum: bool = True
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-8
    weight_decay: float = 0.0
    alpha: float = 1e-4
    batch_size: int = 200
    max_iter: int = 200
    max_fun: int = 15000
    shuffle: bool = True
    tol: float = 1e-4
    n_iter_no_change: int = 10
    early_stopping: bool = False
    verbose: bool = False
    warmup_fraction: float = 0.0
    max_grad_norm: float | None = None
    dropout: list | None = None


@dataclass
class State:
    """What persists between epochs and between ``partial_fit`` calls."""

    opt_state: object
    lr: float
    monitor: ConvergenceMonitor
    t: int = 0
    step: int = 0
    n_iter: int = 0
    loss: float = np.nan
    loss_curve: list = field(default_factory=list)
    validation_scores: list = field(default_factory=list)
    history: list = field(default_factory=list)


def init_state(config: Config, params: np.ndarray) -> State:
    """Fresh optimizer state and stopping monitor."""
    opt = sgd if config.solver == "sgd" else adam
    return State(
        opt_state=opt.init(params),
        lr=config.learning_rate_init,
        monitor=ConvergenceMonitor(config.tol, config.n_iter_no_change, config.early_stopping),
    )


class Batches:
    """Preallocated batch buffers and a gather into them, reused every epoch."""

    def __init__(self, X, Y, sample_weight, batch_size: int):
        self.X, self.Y, self.sw = X, Y, sample_weight
        self.n = X.shape[0]
        self.batch_size = min(batch_size, self.n)
        self.n_batches = math.ceil(self.n / self.batch_size)
        self.dense = not sp.issparse(X)
        bs = self.batch_size
        self.Xb = np.empty((bs, X.shape[1]), X.dtype) if self.dense else None
        self.Yb = np.empty((bs, Y.shape[1]), Y.dtype)
        self.swb = None if sample_weight is None else np.empty(bs, sample_weight.dtype)

    def epoch(self, order: np.ndarray | None):
        """Yield ``(X_batch, Y_batch, sw_batch)``; ``order=None`` keeps the data's order."""
        bs, n = self.batch_size, self.n
        for start in range(0, n, bs):
            stop = min(start + bs, n)
            if order is None:
                sw = None if self.sw is None else self.sw[start:stop]
                yield self.X[start:stop], self.Y[start:stop], sw
                continue
            idx = order[start:stop]
            m = stop - start
            # mode="clip": the indices are a permutation of range(n), always in bounds, and
            # the default mode="raise" writes through a temporary copy of ``out`` (NumPy
            # buffers it so that a bad index leaves ``out`` untouched): measured 1.5x
            # slower for a 1024 x 784 float32 batch.
            if self.dense:
                Xb = np.take(self.X, idx, axis=0, out=self.Xb[:m], mode="clip")
            else:
                Xb = self.X[idx]  # a sparse batch: rows of the CSR matrix
            Yb = np.take(self.Y, idx, axis=0, out=self.Yb[:m], mode="clip")
            swb = None if self.sw is None else np.take(self.sw, idx, out=self.swb[:m], mode="clip")
            yield Xb, Yb, swb


def clip_grad_norm(grads: np.ndarray, max_norm: float) -> float:
    """Scale ``grads`` in place so that its L2 norm is at most ``max_norm``.

    As ``torch.nn.utils.clip_grad_norm_``: factor ``max_norm / (norm + 1e-6)`` when it
    is below one.  Returns the norm before clipping.
    """
    norm = math.sqrt(float(np.dot(grads, grads)))
    coef = max_norm / (norm + 1e-6)
    if coef < 1.0:
        grads *= coef
    return norm


def train_step(net, params, grads, Xb, Yb, swb, config: Config, state: State, work, masks):
    """One gradient step on one batch; returns the batch objective."""
    loss = value_and_grad(net, params, grads, Xb, Yb, swb, config.alpha, work, masks)
    if config.max_grad_norm is not None:
        clip_grad_norm(grads, config.max_grad_norm)
    if config.solver == "sgd":
        state.opt_state = sgd.update(
            params, grads, state.opt_state, state.lr, config.momentum, config.nesterovs_momentum
        )
    else:
        state.opt_state = adam.update(
            params,
            grads,
            state.opt_state,
            state.lr,
            config.beta_1,
            config.beta_2,
            config.epsilon,
            config.weight_decay if config.solver == "adamw" else 0.0,
        )
    state.step += 1
    return loss


def run_epoch(net, params, grads, batches: Batches, config, state, work, rng, total_steps):
    """One pass over the data; returns the mean batch objective, weighted by batch size."""
    order = rng.permutation(batches.n) if config.shuffle else None
    per_step = config.learning_rate in STEP_SCHEDULES
    total = 0.0
    for Xb, Yb, swb in batches.epoch(order):
        if swb is not None and not swb.any():
            continue  # every row weighs zero: nothing to learn from this batch
        if per_step:
            state.lr = step_lr(
                config.learning_rate,
                state.step,
                total_steps,
                config.learning_rate_init,
                config.warmup_fraction,
            )
        masks = work.draw_masks(rng, config.dropout) if config.dropout else None
        loss = train_step(net, params, grads, Xb, Yb, swb, config, state, work, masks)
        if not math.isfinite(loss):
            raise divergence_error(state.n_iter + 1, config.learning_rate_init)
        total += loss * Xb.shape[0]
    return total / batches.n


def fit_loop(
    net: Net,
    params: np.ndarray,
    X,
    Y,
    sample_weight,
    config: Config,
    state: State,
    rng: np.random.Generator,
    max_epochs: int,
    validate: Callable[[np.ndarray], tuple[float, float]] | None = None,
    callbacks=(),
) -> np.ndarray:
    """Train ``params`` in place for up to ``max_epochs`` epochs.

    ``validate(params) -> (loss, score)`` evaluates the held-out split, when there is one.
    Returns the parameters to keep: the best ones under ``config.early_stopping``.
    """
    batches = Batches(X, Y, sample_weight, config.batch_size)
    work = Workspace(net.layout, batches.batch_size, params.dtype, config.dropout)
    grads = np.empty_like(params)
    total_steps = config.max_iter * batches.n_batches
    best = params.copy() if config.early_stopping else None
    call_hooks(
        callbacks,
        "on_train_begin",
        {"params": params, "n_samples": batches.n, "max_epochs": max_epochs},
    )
    reached_max = False
    for epoch in range(max_epochs):
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is caught below
            stop = _epoch(
                net,
                params,
                grads,
                batches,
                config,
                state,
                work,
                rng,
                total_steps,
                validate,
                callbacks,
                best,
            )
        if stop:
            break
        reached_max = epoch == max_epochs - 1
    call_hooks(callbacks, "on_train_end", {"params": params, "history": state.history})
    if reached_max and max_epochs == config.max_iter:
        warnings.warn(
            f"Stochastic Optimizer: Maximum iterations ({config.max_iter}) reached and the "
            "optimization hasn't converged yet. Increase max_iter, or raise tol.",
            ConvergenceWarning,
            stacklevel=3,
        )
    return best if best is not None else params


def _epoch(
    net, params, grads, batches, config, state, work, rng, total_steps, validate, callbacks, best
) -> bool:
    """One epoch plus its bookkeeping: history, validation, callbacks, stopping rule.

    Returns True when training should stop.
    """
    started = time.perf_counter()
    if config.learning_rate in STEP_SCHEDULES:
        state.lr = step_lr(
            config.learning_rate,
            state.step,
            total_steps,
            config.learning_rate_init,
            config.warmup_fraction,
        )
    lr_used = state.lr  # the rate of the epoch's first step
    loss = run_epoch(net, params, grads, batches, config, state, work, rng, total_steps)
    if not math.isfinite(float(params.sum())):
        raise divergence_error(state.n_iter + 1, config.learning_rate_init)
    state.n_iter += 1
    state.t += batches.n
    state.loss = loss
    state.loss_curve.append(loss)
    val_loss, score = validate(params) if validate is not None else (None, None)
    if score is not None and config.early_stopping:
        state.validation_scores.append(score)
    if config.verbose:
        print(f"Iteration {state.n_iter}, loss = {loss:.8f}")
        if score is not None:
            print(f"Validation score: {score:f}")
    if state.monitor.update(loss, score) and best is not None:
        np.copyto(best, params)
    logs = {
        "epoch": state.n_iter,
        "loss": loss,
        "validation_loss": val_loss,
        "validation_score": score,
        "learning_rate": lr_used,
        "time": time.perf_counter() - started,
    }
    state.history.append(logs)
    if config.learning_rate not in STEP_SCHEDULES:
        state.lr = epoch_end_lr(
            config.learning_rate, state.lr, config.learning_rate_init, config.power_t, state.t
        )
    stop = call_hooks(callbacks, "on_epoch_end", state.n_iter - 1, logs)
    return _apply_stopping_rule(config, state) or stop


def _apply_stopping_rule(config: Config, state: State) -> bool:
    """scikit-learn's tol / n_iter_no_change rule; True means stop."""
    schedule = config.learning_rate if config.learning_rate in ("adaptive",) else "constant"
    decision = state.monitor.decide(schedule, state.lr)
    if decision == "reduce_lr":
        state.lr /= ADAPTIVE_FACTOR
        if config.verbose:
            print(f"{state.monitor.stop_message()} Setting learning rate to {state.lr:f}")
        return False
    if decision == "stop":
        if config.verbose:
            print(f"{state.monitor.stop_message()} Stopping.")
        return True
    return False


#: bytes of X per block of a full-batch evaluation: a block stays in the L2/L3 cache
#: between its forward and backward pass
LBFGS_BLOCK_BYTES = 4 << 20


def lbfgs_block_rows(X) -> int:
    """Rows per block of a full-batch evaluation: about ``LBFGS_BLOCK_BYTES`` of X."""
    row_bytes = X.shape[1] * X.dtype.itemsize
    return max(256, LBFGS_BLOCK_BYTES // max(row_bytes, 1))


def fit_lbfgs(net, params, X, Y, sample_weight, config: Config, state: State, callbacks=()):
    """Full-batch L-BFGS-B on the whole objective; updates ``params`` and ``state``."""
    work = Workspace(net.layout, min(X.shape[0], lbfgs_block_rows(X)), params.dtype)
    grads, block_grads = np.empty_like(params), np.empty_like(params)

    def fun():
        return full_batch_value_and_grad(
            net, params, grads, X, Y, sample_weight, config.alpha, work, block_grads
        )

    def on_iteration(loss):
        state.loss_curve.append(loss)
        logs = {
            "epoch": len(state.loss_curve),
            "loss": loss,
            "validation_loss": None,
            "validation_score": None,
            "learning_rate": None,
            "time": None,
        }
        state.history.append(logs)
        if config.verbose:
            print(f"Iteration {len(state.loss_curve)}, loss = {loss:.8f}")
        return call_hooks(callbacks, "on_epoch_end", len(state.loss_curve) - 1, logs)

    call_hooks(
        callbacks,
        "on_train_begin",
        {"params": params, "n_samples": X.shape[0], "max_epochs": config.max_iter},
    )
    try:
        res = lbfgs.minimize(
            fun, params, grads, config.max_iter, config.max_fun, config.tol, on_iteration
        )
    except FloatingPointError:
        raise divergence_error(len(state.loss_curve) + 1, None) from None
    if not np.isfinite(params).all():
        raise divergence_error(res.nit, None)
    call_hooks(callbacks, "on_train_end", {"params": params, "history": state.history})
    state.n_iter = res.nit
    state.loss = float(res.fun)
    return params
