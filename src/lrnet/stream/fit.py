"""Fit an ``LRNClassifier`` from a streamed source, through the one training loop.

:func:`fit_stream` builds the network, configuration and state as the in-memory fit
does (:meth:`lrnet.estimator.LRNClassifier.fit`) and trains with
:func:`lrnet.training.fit_loop` on a :class:`~.source.StreamSource`, or, for
``solver='lbfgs'``, with :func:`lrnet.training.fit_lbfgs` on the exact full-batch
objective summed over the file (:func:`streamed_objective`).  The estimator is left as
it was if the fit fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import SimpleNamespace

import numpy as np

from .. import interrupts, targets, training
from ..config import config_from_params, fitted_attributes, next_state
from ..heads import head_for
from ..initializers import init_flat
from ..kernels import resolve
from ..losses import cross_entropy, prior_cross_entropy
from ..network import Layout, Net, add_l2_penalty, full_batch_value_and_grad, predict_logits
from ..validation import check_hidden_layer_sizes

#: ``blocks() -> iterable of (X, Y, sample_weight or None)``: one pass over some rows
Blocks = Callable[[], Iterable[tuple]]


def label_binarizer(classes) -> object:
    """The fitted ``LabelBinarizer`` of a fit whose labels are ``classes`` (sorted)."""
    return targets.fit_labels(np.asarray(classes), None, False)


def encoder(binarizer, label_smoothing: float, dtype=np.float32) -> Callable:
    """``encode(labels) -> Y``: the target matrix training sees (smoothed)."""
    head = head_for(binarizer.y_type_)

    def encode(y):
        return head.smooth(targets.encode(binarizer, np.asarray(y), dtype), label_smoothing)

    return encode


def streamed_objective(net: Net, alpha: float, blocks: Blocks):
    """``objective(params, grads) -> loss``: the full-batch objective, one pass per call.

    Each block's weighted loss and gradient sums come from
    :func:`lrnet.network.full_batch_value_and_grad` (its mean times its weight ``S_b``),
    added up in float64 in file order; the total is divided by ``S = sum_b S_b`` once
    and the L2 penalty ``0.5 alpha ||W||^2 / S`` added once: the objective of the
    in-memory fit, so the same optimum.
    """
    grad_sum = None

    def evaluate(params, grads):
        nonlocal grad_sum
        if grad_sum is None:
            grad_sum = np.zeros(params.size, np.float64)
        grad_sum.fill(0.0)
        loss, total = 0.0, 0.0
        block_grads, scratch = np.empty_like(params), np.empty_like(params)
        for X, Y, sw in blocks():
            n = X.shape[0]
            weight = float(n) if sw is None else float(np.sum(sw, dtype=np.float64))
            if n == 0 or weight == 0.0:
                continue
            rows = min(n, training.lbfgs_block_rows(X))
            work = net.workspace(rows, params.dtype)
            mean = full_batch_value_and_grad(net, params, block_grads, X, Y, sw, 0.0, work, scratch)
            loss += float(mean) * weight
            grad_sum += block_grads.astype(np.float64) * weight
            total += weight
        if total == 0.0:
            raise ValueError("no training row has a positive weight: nothing to fit.")
        loss /= total
        grad = grad_sum / total
        if alpha:
            penalty = np.empty(net.layout.n_coef, np.float64)
            loss += add_l2_penalty(net, params, grad, alpha / total, penalty)
        grads[...] = grad
        return loss

    return evaluate


def streamed_validator(net: Net, head, classes, blocks: Blocks):
    """``validate(params) -> (mean cross-entropy, accuracy)`` over streamed rows.

    ``blocks()`` yields ``(X, Y, sw, labels)`` of the validation rows, block by block;
    the sums run in float64: the mean loss and accuracy of
    :func:`lrnet.holdout.make_validator` on the same rows.
    """

    def validate(params):
        coefs, intercepts = net.layout.views(params)
        loss = correct = total = 0.0
        for X, Y, sw, y in blocks():
            if X.shape[0] == 0:
                continue
            Z = predict_logits(coefs, intercepts, X, net.act)
            w = np.ones(X.shape[0]) if sw is None else np.asarray(sw, np.float64)
            loss += cross_entropy(Z, Y, sw, net.out_kind) * w.sum()
            correct += float(w[head.decode(Z, classes) == y].sum())
            total += w.sum()
        return loss / total, correct / total

    return validate


def fit_stream(
    estimator,
    source,
    classes,
    class_counts,
    n_features: int,
    validation=None,
    objective=None,
):
    """Fit ``estimator`` on a streamed source; returns it.

    Parameters
    ----------
    estimator : LRNClassifier
        Its parameters configure the fit (``warm_start`` is not supported: a new fit).
    source : StreamSource
        The training rows (unused by lbfgs, which calls ``objective``).
    classes : array-like
        The sorted labels of the training rows.
    class_counts : array-like
        The training rows of each class (the class-prior loss that flags divergence).
    n_features : int
        Width of the network's input.
    validation : callable or None
        ``validation(net, head, classes) -> validate``, where ``validate(params) ->
        (loss, score)`` scores the validation rows (:func:`streamed_validator`, or
        :func:`lrnet.holdout.make_validator` on rows held in memory).
    objective : callable or None
        lbfgs: ``objective(net, alpha) -> evaluate``, where ``evaluate(params, grads)
        -> loss`` is the full-batch objective (:func:`streamed_objective`).
    """
    before = dict(estimator.__dict__)
    try:
        with interrupts.deferring():
            _fit(estimator, source, classes, class_counts, n_features, validation, objective)
    except BaseException:
        estimator.__dict__.clear()
        estimator.__dict__.update(before)
        raise
    if estimator._state.interrupted is not None:
        raise estimator._interrupted()
    return estimator


def _fit(estimator, source, classes, class_counts, n_features, validation, objective):
    estimator._validate_params_with_hints()
    hidden = check_hidden_layer_sizes(estimator.hidden_layer_sizes)
    binarizer = label_binarizer(classes)
    estimator._label_binarizer = binarizer
    estimator.classes_ = binarizer.classes_
    estimator.n_features_in_ = n_features
    estimator.__dict__.pop("feature_names_in_", None)
    head = head_for(binarizer.y_type_)
    dtype = np.float32
    Y_classes = head.smooth(
        targets.encode(binarizer, binarizer.classes_, dtype), estimator.label_smoothing
    )
    layout = Layout((n_features, *hidden, Y_classes.shape[1]))
    kernels = resolve(work=layout.size * source.n_samples * estimator.max_iter)
    net = Net(layout, estimator.activation, head.link, kernels)
    from ..estimator import make_rng

    rng = make_rng(estimator.random_state)
    params = init_flat(layout, estimator.activation, rng, dtype, estimator.init)
    config = config_from_params(
        estimator.get_params(deep=False),
        source.n_samples,
        len(hidden),
        record_validation=validation is not None,
    )
    config.prior_loss = prior_cross_entropy(Y_classes, np.asarray(class_counts), head.link)
    validate = None if validation is None else validation(net, head, estimator.classes_)
    optimizer = training.make_optimizer(config, kernels)
    state = next_state(None, {}, config, params, optimizer, True, False)
    callbacks = list(estimator.callbacks or ())
    if config.solver == "lbfgs":
        rows = SimpleNamespace(shape=(source.n_samples, n_features))
        params = training.fit_lbfgs(
            net,
            params,
            rows,
            None,
            None,
            config,
            state,
            callbacks,
            validate,
            objective(net, config.alpha),
        )
    else:
        params = training.fit_loop(
            net,
            params,
            source,
            config,
            state,
            rng,
            config.max_epochs,
            optimizer,
            validate,
            callbacks,
        )
    estimator.coefs_, estimator.intercepts_ = layout.views(params)
    estimator.__dict__.pop("temperature_", None)
    estimator._state, estimator._rng = state, rng
    estimator.n_outputs_ = Y_classes.shape[1]
    estimator.n_layers_ = len(layout.layer_units)
    estimator.out_activation_ = head.link
    for name, value in fitted_attributes(config, state).items():
        setattr(estimator, name, value)
