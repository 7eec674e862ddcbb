"""Learning-rate schedules with scikit-learn's semantics (sgd solver).

``"constant"``   ``lr = learning_rate_init``.
``"invscaling"`` ``lr = learning_rate_init / (t + 1) ** power_t`` where ``t`` is the number
                 of samples seen, updated at the end of each epoch.
``"adaptive"``   constant until the stopping rule fires (no improvement by ``tol`` for
                 ``n_iter_no_change`` epochs); then ``lr /= 5`` instead of stopping, and
                 stop once ``lr <= 1e-6``.  The rule itself lives in
                 :class:`lrnet.callbacks.ConvergenceMonitor`.
"""

from __future__ import annotations

SCHEDULES = ("constant", "invscaling", "adaptive")

#: adaptive: divide the rate by this when progress stalls ...
ADAPTIVE_FACTOR = 5.0
#: ... and stop once it is this small
ADAPTIVE_MIN_LR = 1e-6


def epoch_end_lr(schedule: str, lr: float, lr_init: float, power_t: float, t: int) -> float:
    """The learning rate for the next epoch, given ``t`` samples seen so far."""
    if schedule == "invscaling":
        return lr_init / (t + 1) ** power_t
    return lr
