"""Several fitted networks of one shape as one network that outputs their mean logit.

Networks ``k = 1..K`` with the same inputs, hidden layer sizes, activation and classes
become one network whose hidden layers are theirs side by side: the first layer's
weights are stacked along the units, each deeper layer is block-diagonal (network
``k``'s units feed only network ``k``'s), and the output layer sums each network's
contribution divided by ``K``.  Every hidden unit computes exactly what it did in its
own network, so the logit is exactly the mean of the ``K`` logits (up to the rounding
of one sum), whatever the activation.  The result is a plain network: it predicts,
saves, loads and exports to ONNX as any other.

Averaging logits (not probabilities) is the geometric mean of the probabilities,
renormalised: for networks trained from different seeds it lowers the variance of the
prediction, which is most of the error of a network on a small table.
"""

from __future__ import annotations

import copy

import numpy as np
from scipy.linalg import block_diag


def _check_alike(estimators) -> None:
    first = estimators[0]
    for other in estimators[1:]:
        same = (
            [c.shape for c in other.coefs_] == [c.shape for c in first.coefs_]
            and other.activation == first.activation
            and np.array_equal(other.classes_, first.classes_)
            and other.out_activation_ == first.out_activation_
        )
        if not same:
            raise ValueError(
                "the networks to average differ in shape, activation or classes; only "
                "networks fitted with the same settings on the same classes can be averaged."
            )


def average_networks(estimators: list):
    """One fitted estimator whose logits are the mean of ``estimators``' logits.

    A copy of the first estimator (its parameters, classes and training record) with
    the combined weights and ``hidden_layer_sizes`` ``K`` times as wide; its optimizer
    state is dropped, so that a later ``partial_fit`` or warm start begins afresh.
    """
    if not estimators:
        raise ValueError("average_networks needs at least one fitted network.")
    _check_alike(estimators)
    k = len(estimators)
    if k == 1:
        return estimators[0]
    layers = len(estimators[0].coefs_)
    coefs, intercepts = [], []
    for i in range(layers):
        parts = [e.coefs_[i] for e in estimators]
        if i == layers - 1:  # the output: each network's share of the mean
            coef = np.mean(parts, axis=0) if layers == 1 else np.vstack(parts) / k
        elif i == 0:
            coef = np.hstack(parts)
        else:
            coef = block_diag(*parts)
        bias = [e.intercepts_[i] for e in estimators]
        bias = np.mean(bias, axis=0) if i == layers - 1 else np.concatenate(bias)
        coefs.append(coef.astype(parts[0].dtype, copy=False))
        intercepts.append(bias.astype(parts[0].dtype, copy=False))
    first = estimators[0]
    # not the optimizer state (its shapes are one network's), nor the callbacks (a
    # terminal display is behaviour, not state)
    dropped = ("_state", "callbacks", "coefs_", "intercepts_")
    merged = copy.copy(first)
    kept = {name: v for name, v in first.__dict__.items() if name not in dropped}
    merged.__dict__ = copy.deepcopy(kept)
    merged.callbacks = None
    merged.coefs_, merged.intercepts_ = coefs, intercepts
    merged.hidden_layer_sizes = tuple(c.shape[1] for c in coefs[:-1])
    return merged
