"""``lrnet train --refit`` (on by default): fit the chosen settings again on every row.

The model that ``lrnet train`` scores never sees the test rows, nor, with early
stopping, the validation rows.  Once they have told us what we wanted to know (the
test metrics, the number of epochs), the saved model is fitted again on all of them,
as scikit-learn's ``GridSearchCV(refit=True)`` refits its best settings on the whole
training set.  On a small table that is a large share of the data: of 1,000 rows,
the scored model fits 600.

How many epochs: early stopping found the best epoch ``E`` at a constant learning
rate; the refit runs ``2 E`` epochs under a cosine schedule that decays the rate to 0,
which takes the same total step size (the cosine's mean is half its start) and ends
on small steps.  With a ``--schedule`` of the user's, or without early stopping, the
refit repeats the settings for ``E`` epochs (``--solver lbfgs``: the same iterations).

The preprocessing is not refitted: its medians, scales and categories stay those of
the training rows, as the metrics describe.  The metrics shown and saved are the
scored model's, an estimate for the refitted one.  Not refitted (with a note): with
``--calibrate`` (the temperature belongs to the model fitted without the validation
rows), checkpoints, ``--resume``, ``--dask`` and ``--stream``, and after an
interruption.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np

from ..ensemble import average_networks
from ..errors import TrainingInterrupted
from ..estimator import LRNClassifier
from ..progress import ProgressBar
from .display import Output

#: the refit's epochs per best epoch found at a constant rate, under the cosine schedule
COSINE_EPOCHS_PER_BEST = 2


@dataclass
class Refit:
    """What the refit did, for the report, the JSON output and the model file."""

    rows: int
    epochs: int
    schedule: str
    seconds: float
    networks: int = 1

    def describe(self) -> str:
        """``'on all 1,797 rows, 92 epochs (cosine rate), 3 networks averaged, 1.30 s'``."""
        averaged = f", {self.networks} networks averaged" if self.networks > 1 else ""
        return (
            f"on all {self.rows:,} rows, {self.epochs} {units(self.schedule)}{averaged}, "
            f"{self.seconds:.2f} s"
        )

    def as_dict(self) -> dict:
        """The facts the model file and the JSON output record."""
        facts = {"rows": self.rows, "epochs": self.epochs, "schedule": self.schedule}
        return {**facts, "networks": self.networks}


def units(schedule: str) -> str:
    """What the refit's passes are: ``'iterations'`` (lbfgs) or ``'epochs (cosine rate)'``."""
    return "iterations" if schedule == "lbfgs" else f"epochs ({schedule} rate)"


def skipped(args, interrupted: bool, held_out: bool) -> str | None:
    """Why the run does not refit (a note), ``''`` when there is nothing to say, else None.

    ``held_out``: whether any row was left out of the scored fit (test or validation).
    """
    if not args.refit:
        return ""
    if not held_out:
        return one_network(args, "every row was in the scored fit, so there is no refit")
    if interrupted:
        return "training was interrupted, so the model was not refitted on every row."
    for given, flag in (
        (args.calibrate, "--calibrate"),
        (args.checkpoint_every, "--checkpoint-every"),
        (args.resume, "--resume"),
        (args.dask, "--dask"),
    ):
        if given:
            return (
                f"{flag}: the model was not refitted on every row (--refit); the saved "
                "model is the one scored." + one_network(args, "", " ")
            )
    return None


def one_network(args, why: str, sep: str = "") -> str:
    """The note that ``--ensemble N`` trained one network: the refit trains the others."""
    networks = int(getattr(args, "ensemble", 1) or 1)
    if networks < 2:
        return ""
    because = f" ({why})" if why else ""
    return (
        f"{sep}--ensemble {networks}: one network was trained, as the refit trains the "
        f"others{because}."
    )


def best_epoch(estimator: LRNClassifier) -> int | None:
    """The epoch of the lowest validation loss, or ``None`` without validation scores."""
    losses = [h.get("validation_loss") for h in estimator.history_]
    if not losses or any(v is None for v in losses):
        return None
    finite = np.where(np.isfinite(losses), losses, np.inf)  # a NaN epoch is never the best
    return int(np.argmin(finite)) + 1


def settings(estimator: LRNClassifier, early_stopping: bool, user_schedule: bool):
    """``(max_iter, learning_rate)`` of the refit of the fitted ``estimator``.

    ``early_stopping``: whether the scored fit stopped early (kept its best epoch);
    ``user_schedule``: whether ``--schedule`` was given.
    """
    if estimator.solver == "lbfgs":
        return estimator.max_iter, "lbfgs"
    best = best_epoch(estimator) if early_stopping else None
    if best is None:
        return estimator.n_iter_, estimator.learning_rate
    if user_schedule:
        return best, estimator.learning_rate
    return COSINE_EPOCHS_PER_BEST * best, "cosine"


def refit(estimator: LRNClassifier, X, y, args, out: Output) -> tuple[LRNClassifier, Refit | None]:
    """The settings of ``estimator`` fitted again on ``X, y`` (every row).

    Returns the refitted estimator and what was done; on Ctrl-C during the refit, the
    scored ``estimator`` and ``None`` (with a note).
    """
    max_iter, schedule = settings(estimator, args.early_stopping, args.schedule is not None)
    progress = ProgressBar(enabled=False if args.quiet else None)
    # every epoch runs: the rule that stops once the training loss stalls is off
    params = {"max_iter": max_iter, "n_iter_no_change": max_iter, "callbacks": [progress]}
    params["warm_start"] = False
    if schedule != "lbfgs":
        params["learning_rate"] = schedule
    networks = int(getattr(args, "ensemble", 1) or 1)
    seeds = seeds_of(estimator.random_state, networks)
    several = ""
    if networks > 1:
        which = "random seeds" if seeds[0] is None else f"seeds {seeds[0]}-{seeds[-1]}"
        several = f" {networks} networks ({which}),"
    out.note(
        f"refitting on every row (--refit):{several} {len(y):,} rows, {max_iter} {units(schedule)}."
    )
    started = time.perf_counter()
    fitted = []
    for seed in seeds:
        if fitted:  # a fresh display per network
            progress = ProgressBar(enabled=False if args.quiet else None)
            params["callbacks"] = [progress]
        # the parameters, not a clone: a clone would deep-copy the callbacks (the terminal)
        again = type(estimator)(
            **{**estimator.get_params(deep=False), **params, "random_state": seed}
        )
        with warnings.catch_warnings():
            # a fixed number of epochs ends with the convergence notice by design
            warnings.simplefilter("ignore")
            try:
                again.fit(X, y)
            except TrainingInterrupted:
                out.note(
                    "the refit on every row was interrupted; the saved model is the one scored."
                )
                return estimator, None
            finally:
                progress.close()
        fitted.append(again)
    model = average_networks(fitted)
    done = Refit(len(y), int(fitted[0].n_iter_), schedule, time.perf_counter() - started, networks)
    out.note(f"refitted on every row (--refit): {done.describe()}.")
    return model, done


def seeds_of(random_state, networks: int) -> list:
    """The seeds of the refit's networks: ``random_state``, then the next integers."""
    if networks == 1 or random_state is None:
        return [random_state] * networks
    return [int(random_state) + i for i in range(networks)]
