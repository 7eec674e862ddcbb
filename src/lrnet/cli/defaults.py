"""``lrnet train``'s defaults, chosen from the size of the table.

The Python estimator keeps scikit-learn's defaults; these are the command's.  A user
who trusts them should get a model that generalises on a table it has never seen.  So,
unless the option is given:

- **validation split** (``--validation-fraction auto``): 10% of the training rows, but at
  least ``min(200, 25%)`` rows so that a small table still measures its loss on enough
  rows, and at most 50,000 rows; stratified by class.
- **early stopping** (``--early-stopping``, on by default): stop once the validation
  log-loss has not improved for ``--patience`` (10) epochs, and keep the weights of the
  best epoch.  ``--no-early-stopping`` trains every epoch.
- **epochs** (``--epochs auto``): a cap of about 20,000 minibatch steps, between 30 and
  300 epochs; early stopping usually ends training well before it.
- **batch size** (``--batch-size auto``): 32 rows below 2,000 training rows, 64 below
  10,000, 128 below 50,000, 256 above: small tables get more, noisier steps per epoch.
- **L2 penalty** (``--alpha auto``): below 10,000 training rows, with early stopping,
  the one of 0.001, 0.01 and 0.1 whose fit reaches the lowest validation log-loss (three
  fits; a small table's best penalty varies: 0.1 on near-linear tables such as
  palmerpenguins, 0.001 on hpc_data); else 1e-4 (1e-3 when it cannot be chosen).
- **refit** (``--refit``, on by default): once the scored model has been tested, the
  same settings are fitted again on every row, training, validation and test, and that
  model is saved (:mod:`lrnet.cli.refit`).
- **ensemble** (``--ensemble auto``): below :data:`ENSEMBLE_ROWS` (50,000) training
  rows the refit trains :data:`SMALL_TABLE_ENSEMBLE` networks from consecutive seeds
  and saves their average as one network (:mod:`lrnet.ensemble`); on a small table most
  of a network's error is the variance between seeds, and up to 50,000 rows the refit
  is short enough to pay three times (diamonds, 43k rows: 11 s to 20 s, log-loss
  0.589 to 0.584).  Else one network.
"""

from __future__ import annotations

import math

from .display import Output, UsageError

#: validation rows: 10% of the training rows, at least min(MIN_ROWS, 25%), at most MAX_ROWS
VALIDATION_SHARE, VALIDATION_MIN_ROWS, VALIDATION_MAX_ROWS = 0.1, 200, 50_000
PATIENCE = 10
STEP_BUDGET, MIN_EPOCHS, MAX_EPOCHS = 20_000, 30, 300
#: (training rows below, batch size)
BATCH_SIZES = ((2_000, 32), (10_000, 64), (50_000, 128))
LARGE_BATCH = 256
SMALL_TABLE_ROWS, SMALL_TABLE_ALPHA, ALPHA = 10_000, 1e-3, 1e-4
#: the penalties tried on a small table, the first kept on a tie
ALPHA_GRID = (1e-3, 1e-2, 1e-1)
#: networks averaged by the refit of a table below ENSEMBLE_ROWS training rows
SMALL_TABLE_ENSEMBLE, ENSEMBLE_ROWS = 3, 50_000


def validation_fraction(n_train: int) -> float:
    """The share of the training rows held out for validation."""
    rows = max(VALIDATION_SHARE * n_train, min(VALIDATION_MIN_ROWS, 0.25 * n_train))
    return min(rows, VALIDATION_MAX_ROWS) / max(n_train, 1)


def batch_size(n_fit: int) -> int:
    """Minibatch rows for ``n_fit`` rows fitted on."""
    for below, size in BATCH_SIZES:
        if n_fit < below:
            return min(size, max(n_fit, 1))
    return LARGE_BATCH


def epochs(n_fit: int, batch: int) -> int:
    """The cap on epochs: about ``STEP_BUDGET`` steps, within ``[MIN_EPOCHS, MAX_EPOCHS]``."""
    steps = max(1, math.ceil(n_fit / batch))
    return int(min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(STEP_BUDGET / steps))))


def alpha(n_train: int) -> float:
    """The L2 penalty."""
    return SMALL_TABLE_ALPHA if n_train < SMALL_TABLE_ROWS else ALPHA


def ensemble(n_train: int) -> int:
    """Networks the refit averages."""
    return SMALL_TABLE_ENSEMBLE if n_train < ENSEMBLE_ROWS else 1


def resolve(args, n_train: int, out: Output, search: bool = True) -> None:
    """Replace every ``auto`` option of ``args`` by its value for ``n_train`` rows; one note.

    ``args.early_stopping`` None means "on, if there is validation data": it becomes
    False (noted) with ``--validation-fraction 0`` or lbfgs.  ``search``: whether the
    run can fit once per penalty of ``ALPHA_GRID`` (not when streaming); the grid goes
    to ``args.alpha_grid``, empty when ``alpha`` is fixed.
    """
    chosen = []
    if args.validation_fraction is None:
        args.validation_fraction = validation_fraction(n_train)
        rows = round(args.validation_fraction * n_train)
        chosen.append(f"{rows:,} validation rows ({args.validation_fraction:.1%})")
    if args.early_stopping is None:
        args.early_stopping = args.validation_fraction > 0 and args.solver != "lbfgs"
        if args.early_stopping:
            chosen.append(
                f"early stopping on the validation log-loss (patience {args.patience} epochs, "
                "best weights kept)"
            )
    elif args.early_stopping and args.solver == "lbfgs":
        raise UsageError(
            "--early-stopping: --solver lbfgs trains on the whole batch and does not stop "
            "early. Use --solver adam, or drop --early-stopping."
        )
    n_fit = n_train - round(args.validation_fraction * n_train)
    if args.batch_size == "auto":
        args.batch_size = batch_size(n_fit)
        if args.solver != "lbfgs":
            chosen.append(f"batch size {args.batch_size}")
    if args.epochs is None:
        args.epochs = epochs(n_fit, args.batch_size) if args.solver != "lbfgs" else 200
        unit = "iterations" if args.solver == "lbfgs" else "epochs"
        chosen.append(f"at most {args.epochs} {unit}")
    args.alpha_grid = ()
    if args.alpha is None:
        args.alpha = alpha(n_train)
        plain = search and not (args.checkpoint_every or args.resume or args.dask)
        if n_train < SMALL_TABLE_ROWS and args.early_stopping and plain:
            args.alpha_grid = ALPHA_GRID
            grid = ", ".join(f"{a:g}" for a in ALPHA_GRID)
            chosen.append(f"alpha chosen on the validation split from {grid}")
        else:
            chosen.append(f"alpha {args.alpha:g}")
    if getattr(args, "ensemble", 1) is None:  # auto
        args.ensemble = ensemble(n_train)
        if args.ensemble > 1 and args.refit:
            chosen.append(f"the refit averages {args.ensemble} networks")
    if chosen:
        out.note(f"defaults for {n_train:,} training rows: " + ", ".join(chosen) + ".")


def epochs_advice(history: list[dict], max_epochs: int, early_stopping: bool) -> str:
    """What to do when training used every epoch, from what the run's history shows."""
    losses = [h.get("validation_loss") for h in history]
    losses = [v for v in losses if v is not None]
    if not losses:
        return (
            f"training used all {max_epochs} epochs and the training loss was still "
            "falling; raise --epochs if more fitting is wanted (no validation split "
            "measured whether it would generalise)."
        )
    best = min(range(len(losses)), key=losses.__getitem__) + 1
    if best < len(losses):
        tail = (
            "the best weights were kept"
            if early_stopping
            else "use --early-stopping to keep the best epoch, or raise --alpha"
        )
        return (
            f"training used all {max_epochs} epochs; the validation loss was lowest at epoch "
            f"{best} ({losses[best - 1]:.4f}, last {losses[-1]:.4f}): {tail}."
        )
    return (
        f"training used all {max_epochs} epochs and the validation loss was still falling "
        f"at the last one ({losses[-1]:.4f}): raise --epochs (or --lr) for a better model."
    )
