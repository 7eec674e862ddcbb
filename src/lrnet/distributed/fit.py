"""``LRNClassifier.fit`` on dask collections: on the active client's cluster, or streamed.

:func:`fit_dask` is the dask branch of the estimator's fit.  It builds the same network,
configuration and state as the in-memory fit, then trains

- on a cluster when ``distributed.get_client()`` finds a client: partitions are loaded
  and prepared on the workers (:class:`.data.Prepare`), lbfgs evaluates
  :mod:`.lbfgs`'s partition sums there, the stochastic solvers run local SGD with
  averaging (:mod:`.local_sgd`);
- here, chunk by chunk, without one: minibatches from
  :class:`lrnet.sources.DaskArraySource`, lbfgs over the same partition sums streamed.

What the dask branch does not do (each is a ``ValueError`` that says so): partial_fit,
early stopping on a held-out fraction (pass ``X_val``, ``y_val``), multi-label y,
scikit-learn callbacks.
"""

from __future__ import annotations

import dask
import numpy as np

from .. import training
from ..config import config_from_params, fitted_attributes, next_state
from ..heads import head_for
from ..holdout import given_validation_set, make_validator
from ..initializers import init_flat
from ..kernels import resolve
from ..network import Layout, Net
from ..skl_callbacks import wanted
from ..sources import DaskArraySource
from ..validation import check_hidden_layer_sizes
from . import cluster, lbfgs, local_sgd, tasks
from .data import Prepare, class_weight_map, dask_data, fit_labels


def _check_supported(estimator, incremental: bool, validation) -> None:
    if incremental:
        raise ValueError(
            "partial_fit does not take dask collections: each call trains on data in "
            "memory. Use fit(dask_X, dask_y), which streams the chunks or runs on the "
            "active Dask client, or pass X.compute() to partial_fit."
        )
    if estimator.early_stopping and validation[0] is None:
        raise ValueError(
            "early_stopping=True with dask input needs a validation set: holding out "
            "validation_fraction of a dask collection is not supported. Pass X_val and "
            "y_val (in memory) to fit, or set early_stopping=False."
        )
    needs = [
        type(cb).__name__
        for cb in estimator.callbacks or ()
        if getattr(cb, "requires_validation", False)
    ]
    if needs and validation[0] is None:
        raise ValueError(
            f"The callback(s) {needs} need validation data, and holding out "
            "validation_fraction of a dask collection is not supported. Pass X_val and "
            "y_val (in memory) to fit, or drop those callbacks."
        )
    if wanted(estimator):
        raise ValueError(
            "scikit-learn callbacks (set_callbacks) are not supported with dask input. "
            "Use lrnet callbacks (the callbacks parameter), or fit on NumPy arrays."
        )


def fit_dask(estimator, X, y, sample_weight, incremental: bool, reset: bool, validation):
    """Fit ``estimator`` on dask ``X``, ``y`` (and ``sample_weight``); returns it.

    The estimator's ``_fit`` restores every attribute if this raises.
    """
    estimator._validate_params_with_hints()
    hidden = check_hidden_layer_sizes(estimator.hidden_layer_sizes)
    _check_supported(estimator, incremental, validation)
    data = dask_data(X, y, sample_weight)
    n_features = int(data.X.shape[1])
    if not reset and n_features != estimator.n_features_in_:
        raise ValueError(
            f"X has {n_features} features, but LRNClassifier is expecting "
            f"{estimator.n_features_in_} features as input (warm_start continues the "
            "fitted network). Pass the same columns, or set warm_start=False."
        )
    estimator.n_features_in_ = n_features
    if data.feature_names is not None:
        estimator.feature_names_in_ = data.feature_names
    elif "feature_names_in_" in estimator.__dict__:
        del estimator.feature_names_in_
    if reset:
        estimator._label_binarizer = fit_labels(data)
        estimator.classes_ = estimator._label_binarizer.classes_
    binarizer = estimator._label_binarizer
    head = head_for(binarizer.y_type_)
    dtype = data.dtype
    prepare = Prepare(
        binarizer,
        dtype,
        estimator.label_smoothing,
        class_weight_map(estimator.class_weight, data, np.asarray(estimator.classes_)),
    )
    given = given_validation_set(estimator, *validation, dtype, head)

    n_out = head.n_outputs(len(binarizer.classes_))
    layout = Layout((n_features, *hidden, n_out))
    kernels = resolve()
    net = Net(layout, estimator.activation, head.link, kernels)
    rng = training_rng(estimator)
    if reset:
        params = init_flat(layout, estimator.activation, rng, dtype, estimator.init)
    else:
        params = layout.pack(estimator.coefs_, estimator.intercepts_, dtype)
    config = config_from_params(
        estimator.get_params(deep=False),
        data.n_samples,
        len(hidden),
        record_validation=given is not None,
    )
    optimizer = training.make_optimizer(config, kernels)
    old = getattr(estimator, "_state", None)
    state = next_state(old, vars(estimator), config, params, optimizer, reset, False)
    validate = None if given is None else make_validator(net, head, estimator.classes_, *given)
    callbacks = list(estimator.callbacks or ())

    client = cluster.current_client()
    train = _train_on_cluster if client is not None else _train_streamed
    params = train(
        client,
        net,
        params,
        data,
        prepare,
        config,
        state,
        optimizer,
        rng,
        callbacks,
        validate,
        estimator.averaging_steps,
    )

    estimator.coefs_, estimator.intercepts_ = layout.views(params)
    estimator._state, estimator._rng = state, rng
    estimator.n_outputs_ = n_out
    estimator.n_layers_ = len(layout.layer_units)
    estimator.out_activation_ = head.link
    for name, value in fitted_attributes(config, state).items():
        setattr(estimator, name, value)
    return estimator


def training_rng(estimator) -> np.random.Generator:
    """The fit's generator, as the in-memory fit makes it."""
    from ..estimator import make_rng

    return make_rng(estimator.random_state)


def _train_streamed(
    client,
    net,
    params,
    data,
    prepare,
    config,
    state,
    optimizer,
    rng,
    callbacks,
    validate,
    averaging_steps,
):
    """Out of core: chunks computed here one at a time."""
    if config.solver == "lbfgs":
        sums = lbfgs.streamed_sums(net, data.chunks(), prepare)
        objective = lbfgs.objective(net, config.alpha, sums)
        return training.fit_lbfgs(
            net, params, data.X, None, None, config, state, callbacks, validate, objective
        )
    source = DaskArraySource(
        data.chunks(), data.chunk_rows, prepare, config.batch_size, config.shuffle
    )
    return training.fit_loop(
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


def _load_parts(client, data, prepare, workers: list) -> list:
    """Each chunk prepared on a worker (contiguous chunks per worker); futures in order."""
    chunks = data.chunks()
    n = len(chunks)
    parts = []
    for i, (x, y, sw) in enumerate(chunks):
        worker = workers[i * len(workers) // n]
        task = dask.delayed(prepare, pure=True)(x, y, sw)
        parts.append(client.compute(task, workers=[worker], allow_other_workers=True))
    return parts


def _train_on_cluster(
    client,
    net,
    params,
    data,
    prepare,
    config,
    state,
    optimizer,
    rng,
    callbacks,
    validate,
    averaging_steps,
):
    """Data-parallel on ``client``'s cluster: partitions stay on the workers."""
    cluster.prepare_workers(client)
    workers = sorted(client.scheduler_info()["workers"])
    if not workers:
        raise cluster.ClusterError(
            "The Dask cluster has no workers: start some (dask worker ADDRESS), or use "
            "lrnet.distributed.cluster.local_cluster(n_workers)."
        )
    parts = _load_parts(client, data, prepare, workers)
    spec = lbfgs.spec_of(net)
    try:
        if config.solver == "lbfgs":
            objective = lbfgs.objective(net, config.alpha, lbfgs.cluster_sums(client, net, parts))
            return training.fit_lbfgs(
                net, params, data.X, None, None, config, state, callbacks, validate, objective
            )
        shards = local_sgd.make_shards(
            client, spec, parts, data.chunk_rows, workers, config, rng, averaging_steps
        )
        try:
            return training.fit_loop(
                net,
                params,
                shards,
                config,
                state,
                rng,
                config.max_epochs,
                optimizer,
                validate,
                callbacks,
                epoch_fn=local_sgd.epoch,
            )
        finally:
            client.run(tasks.forget, shards.fit_key, on_error="ignore")
    finally:
        client.cancel(parts)
