"""Optimizers as bound ``init(params) -> state`` / ``update(params, grads, state, lr)`` pairs.

Each works in place over the flat parameter buffer (see :mod:`lrnet.network`): the
arrays in the state are mutated, and a new state tuple carrying the step count is
returned, as in optax.  :data:`OPTIMIZERS` maps each stochastic solver name to a
builder ``(config, kernels) -> Optimizer`` that binds the estimator's hyperparameters
and the fit's kernel set; adding an optimizer is one module and one line here.
``solver='lbfgs'`` is not in it: it is a full-batch call into SciPy (:mod:`.lbfgs`).
"""

from . import adam, lion, sgd
from .base import Optimizer

#: solver name -> builder(config, kernels) -> Optimizer
OPTIMIZERS = {
    "sgd": lambda c, k: sgd.sgd(c.momentum, c.nesterovs_momentum, kernels=k),
    "adam": lambda c, k: adam.adam(c.beta_1, c.beta_2, c.epsilon, kernels=k),
    "adamw": lambda c, k: adam.adam(c.beta_1, c.beta_2, c.epsilon, c.weight_decay, kernels=k),
    "lion": lambda c, k: lion.lion(c.beta_1, c.beta_2, c.weight_decay, kernels=k),
}

__all__ = ["OPTIMIZERS", "Optimizer", "adam", "lion", "sgd"]
