"""The one training loop: ``fit_loop -> run_epoch -> train_step``.

``fit_loop`` reads batches from a batch source (:mod:`lrnet.sources`), computes each
batch's loss and gradient with the step function it is handed, and applies an
optimizer bound to its hyperparameters (:mod:`lrnet.optim`).  The moment between the
gradient and the update is where gradient clipping lives, and where a data-parallel
step function would all-reduce.  Everything an epoch needs is allocated before the
first step: the batch buffers (by the source), the activations, deltas and dropout
masks (:class:`lrnet.network.Workspace`), the gradient buffer and the optimizer
state, so the step loop allocates no arrays.  lbfgs is a full-batch call into SciPy
(:func:`fit_lbfgs`).
"""

from __future__ import annotations

import math
import signal
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from . import interrupts
from .callbacks import BestWeights, call_hooks
from .config import DIVERGED_FACTOR, Config, State, init_state, make_optimizer
from .errors import DivergenceError
from .network import Net, full_batch_value_and_grad, value_and_grad
from .optim import Optimizer, lbfgs
from .optim.schedules import STEP_SCHEDULES, epoch_end_lr, step_lr
from .sources import ArraySource, BatchSource

__all__ = [
    "ArraySource",
    "BatchSource",
    "Config",
    "DivergenceError",
    "State",
    "fit_lbfgs",
    "fit_loop",
    "init_state",
    "make_optimizer",
]

#: the signature of a step function: ``(params, grads, X, Y, sample_weight, masks) -> loss``
StepFn = Callable[..., float]


def divergence_error(
    epoch: int, lr: float | None, loss: float | None = None, config: Config | None = None
) -> DivergenceError:
    """The error raised when training diverges, with the fix.

    ``lr=None`` is for lbfgs, which has no learning rate: its line search diverges on
    features of huge scale.  ``loss`` (with ``config``) is a finite loss far above the
    class-prior loss.
    """
    if lr is None:
        cause, fix = "solver='lbfgs'", "Standardise the features (e.g. StandardScaler)"
    else:
        cause = f"learning_rate_init={lr:g}"
        fix = f"Lower learning_rate_init (try {lr / 10:g}), standardise the features"
    if loss is None:
        return DivergenceError(
            f"Training diverged at epoch {epoch}: the loss or the weights became non-finite "
            f"(NaN or inf) with {cause}. {fix}, or increase alpha. The model was left as it "
            "was before this fit."
        )
    return DivergenceError(
        f"Training diverged at epoch {epoch} ({cause}): the training loss {loss:.4g} is more "
        f"than {DIVERGED_FACTOR:g} times {config.prior_loss:.4g}, the loss of always "
        f"predicting the class frequencies. {fix} (features of a huge scale do the same), "
        "or increase alpha. The model was left as it was before this fit."
    )


def check_loss(loss: float, epoch: int, config: Config, lr: float | None) -> None:
    """Raise :func:`divergence_error` when ``loss`` is non-finite or far above the prior loss."""
    if not math.isfinite(loss):
        raise divergence_error(epoch, lr)
    if loss > config.loss_limit:
        raise divergence_error(epoch, lr, loss, config)


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


def local_step(net: Net, alpha: float, work) -> StepFn:
    """The step function of one process: :func:`lrnet.network.value_and_grad`.

    A data-parallel step function has the same signature: it sums the per-shard
    losses and gradients (weighted by their shares of the rows) and adds the L2 term
    once, as :func:`lrnet.network.full_batch_value_and_grad` does over row blocks.
    """

    def step(params, grads, Xb, Yb, swb, masks):
        return value_and_grad(net, params, grads, Xb, Yb, swb, alpha, work, masks)

    return step


def train_step(step_fn: StepFn, optimizer: Optimizer, params, grads, batch, masks, config, state):
    """One gradient step on one batch; returns the batch objective."""
    loss = step_fn(params, grads, *batch, masks)
    if config.max_grad_norm is not None:
        clip_grad_norm(grads, config.max_grad_norm)
    state.opt_state = optimizer.update(params, grads, state.opt_state, state.lr)
    state.step += 1
    return loss


@dataclass
class Run:
    """What the epochs of one :func:`fit_loop` call share: its bookkeeping, in one place."""

    net: Net
    params: np.ndarray
    grads: np.ndarray
    source: BatchSource
    config: Config
    state: State
    optimizer: Optimizer
    step_fn: StepFn
    work: object
    rng: np.random.Generator
    total_steps: int | None
    validate: Callable[[np.ndarray], tuple[float, float]] | None = None
    callbacks: tuple = ()
    best: BestWeights | None = None
    #: one pass over the data, ``(mean objective, rows)``: :func:`run_epoch` when None; a
    #: data-parallel trainer runs its rounds here (:mod:`lrnet.distributed.local_sgd`)
    epoch_fn: Callable[[Run], tuple[float, int]] | None = None

    def set_step_lr(self) -> None:
        """Under a per-step schedule, the rate of the next step."""
        c = self.config
        if c.learning_rate in STEP_SCHEDULES:
            self.state.lr = step_lr(
                c.learning_rate,
                self.state.step,
                self.total_steps,
                c.learning_rate_init,
                c.warmup_fraction,
            )


def run_epoch(run: Run) -> tuple[float, int]:
    """One pass over the source: ``(mean batch objective weighted by size, rows seen)``."""
    config, state, rng = run.config, run.state, run.rng
    total, rows = 0.0, 0
    for batch in run.source.epoch(rng):
        m = batch[0].shape[0]
        rows += m
        swb = batch[2]
        if swb is not None and not swb.any():
            continue  # every row weighs zero: nothing to learn from this batch
        run.set_step_lr()
        masks = run.work.draw_masks(rng, config.dropout) if config.dropout else None
        loss = train_step(
            run.step_fn, run.optimizer, run.params, run.grads, batch, masks, config, state
        )
        if not math.isfinite(loss):
            raise divergence_error(state.n_iter + 1, config.learning_rate_init)
        total += loss * m
        if interrupts.pending() is not None:  # Ctrl-C: stop after this step
            state.interrupted = interrupts.pending()
            return math.nan, rows
    n = run.source.n_samples if run.source.n_samples is not None else rows
    return total / n, n


def total_steps(config: Config, source: BatchSource) -> int | None:
    """Steps of the whole run, for a per-step schedule; None when no schedule needs it."""
    n = source.n_samples
    if n is None:
        if config.learning_rate in STEP_SCHEDULES:
            raise ValueError(
                f"learning_rate={config.learning_rate!r} sets the rate from the total number "
                "of steps, but this batch source does not know how many rows it holds "
                "(n_samples is None). Use learning_rate='constant', 'invscaling' or "
                "'adaptive' with it, or give the source its n_samples."
            )
        return None
    return config.max_iter * math.ceil(n / source.batch_size)


def fit_loop(
    net: Net,
    params: np.ndarray,
    source: BatchSource,
    config: Config,
    state: State,
    rng: np.random.Generator,
    max_epochs: int,
    optimizer: Optimizer,
    validate: Callable[[np.ndarray], tuple[float, float]] | None = None,
    callbacks=(),
    step_fn: StepFn | None = None,
    epoch_fn: Callable[[Run], tuple[float, int]] | None = None,
    checkpointing=None,
) -> np.ndarray:
    """Train ``params`` in place for up to ``max_epochs`` epochs over ``source``.

    ``validate(params) -> (loss, score)`` evaluates the held-out split, when there is one.
    ``step_fn`` computes a batch's loss and gradient (default: :func:`local_step`);
    ``epoch_fn(run) -> (loss, rows)`` replaces :func:`run_epoch` (local SGD on a cluster).
    ``checkpointing`` (:class:`lrnet.checkpoint.Checkpointing`) resumes from a
    checkpoint and writes them.  Returns the parameters to keep: the best ones under
    ``config.early_stopping``.
    """
    work = net.workspace(source.batch_size, params.dtype, config.dropout)
    run = Run(
        net=net,
        params=params,
        grads=np.empty_like(params),
        source=source,
        config=config,
        state=state,
        optimizer=optimizer,
        step_fn=step_fn or local_step(net, config.alpha, work),
        work=work,
        rng=rng,
        total_steps=total_steps(config, source),
        validate=validate,
        callbacks=tuple(callbacks),
        best=BestWeights(params, record_now=True) if config.early_stopping else None,
        epoch_fn=epoch_fn,
    )
    start = 0
    if checkpointing is not None and checkpointing.resume_from is not None:
        stopped = checkpointing.restore(params, state, rng, run.best)
        start = max_epochs if stopped else state.n_iter
    call_hooks(
        run.callbacks,
        "on_train_begin",
        {"params": params, "n_samples": source.n_samples, "max_epochs": max_epochs},
    )
    if checkpointing is not None:
        checkpointing.restore_callbacks(run.callbacks)
    reached_max = False
    state.interrupted = None
    try:
        for epoch in range(start, max_epochs):
            with np.errstate(over="ignore", invalid="ignore"):  # divergence is caught below
                stop = _epoch(run)
            if checkpointing is not None:
                checkpointing.after_epoch(params, state, rng, run.best, stop, run.callbacks)
            if stop:
                break
            reached_max = epoch == max_epochs - 1
    except interrupts.Abort:
        raise
    except KeyboardInterrupt:  # raised, not signalled (a callback, or not the main thread)
        state.interrupted = signal.SIGINT
    if state.interrupted is not None and not np.isfinite(params).all():
        raise divergence_error(state.n_iter + 1, config.learning_rate_init)
    call_hooks(run.callbacks, "on_train_end", {"params": params, "history": state.history})
    if run.best is not None:  # after the callbacks: early_stopping's best weights win
        run.best.restore()
    if reached_max and max_epochs == config.max_iter and state.interrupted is None:
        warnings.warn(
            f"Stochastic Optimizer: Maximum iterations ({config.max_iter}) reached and the "
            "optimization hasn't converged yet. Increase max_iter, or raise tol.",
            ConvergenceWarning,
            stacklevel=3,
        )
    return params


def _epoch(run: Run) -> bool:
    """One epoch plus its bookkeeping: history, validation, callbacks, stopping rule.

    Returns True when training should stop.
    """
    config, state, params = run.config, run.state, run.params
    started = time.perf_counter()
    run.set_step_lr()
    lr_used = state.lr  # the rate of the epoch's first step
    loss, n = (run.epoch_fn or run_epoch)(run)
    if state.interrupted is not None:  # a part of an epoch is not recorded as one
        return True
    if not math.isfinite(float(params.sum())):
        raise divergence_error(state.n_iter + 1, config.learning_rate_init)
    check_loss(loss, state.n_iter + 1, config, config.learning_rate_init)
    state.n_iter += 1
    state.t += n
    state.loss = loss
    state.loss_curve.append(loss)
    val_loss, score = run.validate(params) if run.validate is not None else (None, None)
    if score is not None and (config.early_stopping or config.record_validation):
        state.validation_scores.append(score)
    if config.verbose:
        print(f"Iteration {state.n_iter}, loss = {loss:.8f}")
        if score is not None:
            print(f"Validation score: {score:f}")
    if state.monitor.update(loss, score) and run.best is not None:
        run.best.record()
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
    stop = call_hooks(run.callbacks, "on_epoch_end", state.n_iter - 1, logs)
    return _apply_stopping_rule(config, state) or stop


def _apply_stopping_rule(config: Config, state: State) -> bool:
    """scikit-learn's tol / n_iter_no_change rule; True means stop."""
    decision, state.lr = state.monitor.decide(config.learning_rate, state.lr)
    if decision == "reduce_lr":
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


def fit_lbfgs(
    net,
    params,
    X,
    Y,
    sample_weight,
    config: Config,
    state: State,
    callbacks=(),
    validate=None,
    objective=None,
):
    """Full-batch L-BFGS-B on the whole objective; updates ``params`` and ``state``.

    ``validate(params) -> (loss, score)``, when given, scores every iteration.
    ``objective(params, grads) -> loss``, when given, evaluates the objective instead of
    the in-memory rows (``X`` then only gives the row count, ``Y`` and ``sample_weight``
    are unused): the seam of the out-of-core and distributed evaluations
    (:mod:`lrnet.distributed.lbfgs`).
    """
    grads = np.empty_like(params)
    if objective is None:
        work = net.workspace(min(X.shape[0], lbfgs_block_rows(X)), params.dtype)
        block_grads = np.empty_like(params)

        def fun():
            return full_batch_value_and_grad(
                net, params, grads, X, Y, sample_weight, config.alpha, work, block_grads
            )
    else:

        def fun():
            return objective(params, grads)

    def on_iteration(loss):
        state.loss_curve.append(loss)
        val_loss, score = validate(params) if validate is not None else (None, None)
        if score is not None:
            state.validation_scores.append(score)
        logs = {
            "epoch": len(state.loss_curve),
            "loss": loss,
            "validation_loss": val_loss,
            "validation_score": score,
            "learning_rate": None,
            "time": None,
        }
        state.history.append(logs)
        if config.verbose:
            print(f"Iteration {len(state.loss_curve)}, loss = {loss:.8f}")
        stop = call_hooks(callbacks, "on_epoch_end", len(state.loss_curve) - 1, logs)
        state.interrupted = interrupts.pending()
        return stop or state.interrupted is not None

    call_hooks(
        callbacks,
        "on_train_begin",
        {"params": params, "n_samples": X.shape[0], "max_epochs": config.max_iter},
    )
    state.interrupted = None
    try:
        res = lbfgs.minimize(
            fun, params, grads, config.max_iter, config.max_fun, config.tol, on_iteration
        )
        n_iter, loss = res.nit, float(res.fun)
    except FloatingPointError:
        raise divergence_error(len(state.loss_curve) + 1, None) from None
    except interrupts.Abort:
        raise
    except KeyboardInterrupt:  # raised inside SciPy: params hold the last iteration
        state.interrupted = signal.SIGINT
        n_iter = len(state.loss_curve)
        loss = state.loss_curve[-1] if state.loss_curve else math.nan
    if not np.isfinite(params).all():
        raise divergence_error(n_iter, None)
    check_loss(loss, max(n_iter, 1), config, None)
    call_hooks(callbacks, "on_train_end", {"params": params, "history": state.history})
    state.n_iter = n_iter
    state.loss = loss
    return params
