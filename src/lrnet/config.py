"""What a fit is configured with, and what it carries from epoch to epoch.

:class:`Config` is the hyperparameters the training loop reads, made from the
estimator's parameters by :func:`config_from_params`; :class:`State` is the optimizer
state, the learning rate, the stopping monitor and the record (loss curve, history)
that persist between epochs and between ``partial_fit`` calls.  :func:`next_state`
decides what a new fit keeps (warm start, partial_fit) and :func:`fitted_attributes`
turns a state into scikit-learn's fitted attributes.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field

import numpy as np

from .callbacks import ConvergenceMonitor
from .errors import LRNetWarning
from .kernels import Kernels
from .optim import OPTIMIZERS, Optimizer
from .validation import check_dropout

#: a training loss this many times the class-prior loss (at least 0.01) means divergence:
#: a model that looks at the features should end far below that loss, never above it
DIVERGED_FACTOR = 1000.0


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
    #: a validation set was given to fit: record its scores as early stopping does
    record_validation: bool = False
    #: epochs of this call: max_iter for fit, 1 for partial_fit
    epochs: int | None = None
    #: the class-prior loss of the training targets; an epoch loss far above it is divergence
    prior_loss: float | None = None

    @property
    def loss_limit(self) -> float:
        """Training losses above this have diverged: ``DIVERGED_FACTOR`` times the prior loss."""
        if self.prior_loss is None:
            return np.inf
        return DIVERGED_FACTOR * max(self.prior_loss, 0.01)

    @property
    def max_epochs(self) -> int:
        """Epochs this call runs at most."""
        return self.max_iter if self.epochs is None else self.epochs


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
    #: the signal that ended the last fit early (Ctrl-C: SIGINT), or None
    interrupted: int | None = None


def make_optimizer(config: Config, kernels: Kernels) -> Optimizer | None:
    """The bound optimizer of ``config.solver`` (None for lbfgs, which has no state)."""
    build = OPTIMIZERS.get(config.solver)
    return None if build is None else build(config, kernels)


def init_state(config: Config, params: np.ndarray, optimizer: Optimizer | None) -> State:
    """Fresh optimizer state and stopping monitor."""
    return State(
        opt_state=None if optimizer is None else optimizer.init(params),
        lr=config.learning_rate_init,
        monitor=ConvergenceMonitor(config.tol, config.n_iter_no_change, config.early_stopping),
    )


#: parameters of the estimator that the loop reads under the same name
_SAME_NAME = (
    "solver",
    "learning_rate_init",
    "learning_rate",
    "power_t",
    "momentum",
    "nesterovs_momentum",
    "beta_1",
    "beta_2",
    "epsilon",
    "alpha",
    "max_iter",
    "max_fun",
    "shuffle",
    "tol",
    "n_iter_no_change",
    "early_stopping",
    "weight_decay",
    "warmup_fraction",
    "max_grad_norm",
)


def config_from_params(
    params: dict,
    n_samples: int,
    n_hidden: int,
    record_validation: bool = False,
    epochs: int | None = None,
) -> Config:
    """The loop's :class:`Config` from the estimator's ``get_params()``.

    ``batch_size='auto'`` is ``min(200, n_samples)``; a larger batch than the data is
    clipped, with an :class:`~lrnet.errors.LRNetWarning` for the stochastic solvers.
    """
    size = params["batch_size"]
    if size == "auto":
        batch_size = min(200, n_samples)
    else:
        batch_size = min(int(size), n_samples)
        if params["solver"] in OPTIMIZERS and size > n_samples:
            warnings.warn(
                f"batch_size={size} is larger than the {n_samples} training "
                f"samples; it is clipped to {n_samples}.",
                LRNetWarning,
                stacklevel=4,
            )
    return Config(
        **{name: params[name] for name in _SAME_NAME},
        batch_size=batch_size,
        verbose=bool(params["verbose"]),
        dropout=check_dropout(params["dropout"], n_hidden),
        record_validation=record_validation,
        epochs=epochs,
    )


def next_state(old, attributes: dict, config, params, optimizer, reset, incremental) -> State:
    """The state a fit starts from.

    ``old`` is the estimator's previous :class:`State` (None for a new or a loaded
    model, whose record is then read from ``attributes``).  A reset starts fresh;
    partial_fit continues ``old``; a warm start keeps the record and the stopping
    monitor and restarts the optimizer, as scikit-learn does.
    """
    if old is None and not reset and "loss_curve_" in attributes:
        old = _state_from_attributes(attributes, config, params, optimizer)
    if old is None or reset:
        return init_state(config, params, optimizer)
    if incremental:
        old.n_iter = 0
        return old
    fresh = init_state(config, params, optimizer)
    # copies, so that a fit that fails leaves the fitted model's history alone; a changed
    # stopping rule (early_stopping, tol, n_iter_no_change) starts its monitor afresh
    if _same_rule(old.monitor, fresh.monitor):
        fresh.monitor = copy.deepcopy(old.monitor)
    fresh.loss_curve = list(old.loss_curve)
    fresh.validation_scores = list(old.validation_scores)
    fresh.history = list(old.history)
    fresh.t = old.t
    return fresh


def _same_rule(old: ConvergenceMonitor, new: ConvergenceMonitor) -> bool:
    keys = ("tol", "n_iter_no_change", "early_stopping")
    return all(getattr(old, k) == getattr(new, k) for k in keys)


def _state_from_attributes(attributes: dict, config, params, optimizer) -> State:
    """The record of a model that was loaded from a file (it has no ``_state``).

    A warm start then extends ``loss_curve_`` and ``history_`` as it does in the
    process that trained the model; the optimizer and the stopping rule start
    fresh, as they do for every warm start.
    """
    state = init_state(config, params, optimizer)
    state.loss_curve = list(attributes["loss_curve_"])
    state.history = list(attributes.get("history_") or [])
    state.validation_scores = list(attributes.get("validation_scores_") or [])
    state.t = int(attributes.get("t_", 0) or 0)
    return state


def fitted_attributes(config: Config, state: State) -> dict:
    """scikit-learn's fitted attributes of a training state."""
    attributes = {
        "n_iter_": state.n_iter,
        "t_": state.t,
        "loss_": state.loss,
        "loss_curve_": list(state.loss_curve),
        "history_": list(state.history),
    }
    losses = [h.get("validation_loss") for h in state.history]
    attributes["validation_loss_curve_"] = losses if any(v is not None for v in losses) else None
    if config.early_stopping:
        scores = attributes["validation_scores_"] = list(state.validation_scores)
        best = state.monitor.best_validation_score
        if config.solver == "lbfgs" and scores:  # lbfgs scores a given set, never stops on it
            best = max(scores)
        attributes["best_validation_score_"] = best
        attributes["best_loss_"] = None
    elif config.record_validation:
        curve = attributes["loss_curve_"]
        scores = attributes["validation_scores_"] = list(state.validation_scores)
        attributes["best_validation_score_"] = max(scores) if scores else None
        attributes["best_loss_"] = min(curve) if curve else state.loss
    else:
        curve = attributes["loss_curve_"]
        attributes["validation_scores_"] = None
        attributes["best_validation_score_"] = None
        attributes["best_loss_"] = min(curve) if curve else state.loss
    return attributes
