"""Learning-rate schedules.

scikit-learn's three, updated once per epoch (now for adam and adamw as well as sgd):

``"constant"``   ``lr = learning_rate_init``.
``"invscaling"`` ``lr = learning_rate_init / (t + 1) ** power_t`` where ``t`` is the number
                 of samples seen, updated at the end of each epoch.
``"adaptive"``   constant until the stopping rule fires (no improvement by ``tol`` for
                 ``n_iter_no_change`` epochs); then ``lr /= 5`` instead of stopping, and
                 stop once ``lr <= 1e-6``.  The rule lives in
                 :class:`lrnet.callbacks.ConvergenceMonitor`.

and two that set the rate before every step ``s = 0 .. T-1`` (``T`` = epochs x batches):

``"cosine"``     optional linear warm-up over the first ``W = round(warmup_fraction * T)``
                 steps, ``lr0 (s + 1) / W`` (``torch.optim.lr_scheduler.LinearLR`` with
                 ``start_factor=1/W``), then ``lr0 (1 + cos(pi (s - W) / (T - W))) / 2``
                 (``CosineAnnealingLR`` with ``T_max = T - W``, ``eta_min = 0``).
``"onecycle"``   ``torch.optim.lr_scheduler.OneCycleLR`` with ``max_lr = lr0``, cosine
                 annealing, ``div_factor=25``, ``final_div_factor=1e4`` and
                 ``pct_start = warmup_fraction`` (0.3 when it is 0); momentum is not cycled.
"""

from __future__ import annotations

import math

EPOCH_SCHEDULES = ("constant", "invscaling", "adaptive")
STEP_SCHEDULES = ("cosine", "onecycle")
SCHEDULES = EPOCH_SCHEDULES + STEP_SCHEDULES

#: adaptive: divide the rate by this when progress stalls ...
ADAPTIVE_FACTOR = 5.0
#: ... and stop once it is this small
ADAPTIVE_MIN_LR = 1e-6

ONECYCLE_DIV = 25.0
ONECYCLE_FINAL_DIV = 1e4
ONECYCLE_PCT_START = 0.3


def epoch_end_lr(schedule: str, lr: float, lr_init: float, power_t: float, t: int) -> float:
    """The learning rate for the next epoch, given ``t`` samples seen so far."""
    if schedule == "invscaling":
        return lr_init / (t + 1) ** power_t
    return lr


def _cos_anneal(start: float, end: float, pct: float) -> float:
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1.0)


def cosine_lr(step: int, total: int, lr0: float, warmup_fraction: float = 0.0) -> float:
    """Linear warm-up then cosine decay to 0; see the module docstring."""
    warm = round(warmup_fraction * total)
    if step < warm:
        return lr0 * (step + 1) / warm
    span = max(total - warm, 1)
    return _cos_anneal(lr0, 0.0, min(step - warm, span) / span)


def onecycle_lr(step: int, total: int, lr0: float, warmup_fraction: float = 0.0) -> float:
    """One-cycle policy (Smith 2018) as ``torch.optim.lr_scheduler.OneCycleLR``."""
    pct_start = warmup_fraction or ONECYCLE_PCT_START
    initial = lr0 / ONECYCLE_DIV
    final = initial / ONECYCLE_FINAL_DIV
    peak_step = float(pct_start * total) - 1
    end_step = float(total) - 1
    step = min(step, total - 1)
    # A warm-up of one step (peak_step 0) or a decay of none is 0 / 0 in torch, which
    # raises ZeroDivisionError; here the empty phase is skipped: its end value holds.
    if step <= peak_step:
        return _cos_anneal(initial, lr0, step / peak_step) if peak_step > 0 else lr0
    span = end_step - peak_step
    return _cos_anneal(lr0, final, (step - peak_step) / span) if span > 0 else final


def step_lr(schedule: str, step: int, total: int, lr0: float, warmup_fraction: float) -> float:
    """The rate of a per-step schedule at step ``step`` of ``total``."""
    fn = cosine_lr if schedule == "cosine" else onecycle_lr
    return fn(step, total, lr0, warmup_fraction)
