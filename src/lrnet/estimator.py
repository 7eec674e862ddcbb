"""``LRNClassifier``: the scikit-learn face of lrnet, thin over :mod:`lrnet.training`."""

from __future__ import annotations

import copy
import functools
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import Interval, InvalidParameterError, Options, StrOptions
from sklearn.utils.validation import (
    check_is_fitted,
    check_random_state,
    validate_data,
)

from . import interrupts, persistence, targets, training
from .activations import ACTIVATIONS
from .calibration import fit_temperature, scaled_logits
from .checkpoint import Checkpoint, Checkpointing, data_digest
from .config import config_from_params, fitted_attributes, next_state
from .distributed import is_dask_collection
from .errors import LRNetWarning, TrainingInterrupted
from .fitted import ARRAY_ATTRIBUTES, FittedNetwork, register_estimator
from .heads import head_for
from .holdout import given_validation_set, make_validator, split_validation
from .initializers import INITS, init_flat
from .kernels import resolve
from .losses import bounded_logits, cross_entropy, logits_in_bounds, prior_cross_entropy
from .network import Layout, Net, predict_logits
from .optim import OPTIMIZERS
from .optim.schedules import SCHEDULES
from .skl_callbacks import CallbackSupportMixin, EpochTasks, reconstruction, wanted, with_callbacks
from .sources import ArraySource
from .validation import (
    all_finite,
    check_dropout,
    check_finite,
    check_hidden_layer_sizes,
    check_lengths,
    explain_conversion_error,
    suggest_option,
    validate_fit_data,
)

#: attributes of scikit-learn's callback machinery that outlive a failed fit
_CALLBACK_STATE = ("_callback_fit_ctx", "_skl_callbacks_to_teardown", "_skl_callbacks")

#: every solver: lbfgs (full batch, SciPy) and the registered stochastic optimizers
STOCHASTIC = tuple(OPTIMIZERS)
SOLVERS = ("lbfgs", *STOCHASTIC)


def make_rng(random_state) -> np.random.Generator:
    """A ``Generator`` from ``random_state``; never the global NumPy state."""
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, Integral):
        return np.random.default_rng(int(random_state))
    rs = check_random_state(random_state)
    return np.random.default_rng(rs.randint(np.iinfo(np.int32).max))


@register_estimator
class LRNClassifier(CallbackSupportMixin, ClassifierMixin, BaseEstimator):
    """Logistic regression network: a feed-forward classifier trained by backpropagation.

    The output layer is logistic: one sigmoid unit for a binary problem, one sigmoid
    per label for multi-label ``y`` (an indicator matrix), softmax for multi-class.
    Training minimises the weighted mean cross-entropy plus
    ``0.5 * alpha * ||W||^2 / sum(sample_weight)``, scikit-learn's objective.  With
    ``hidden_layer_sizes=()`` this is (multinomial) logistic regression.

    Every parameter of :class:`sklearn.neural_network.MLPClassifier` is accepted with the
    same name, default and meaning.

    Parameters
    ----------
    hidden_layer_sizes : array-like of int, default=(100,)
        Units of each hidden layer; ``()`` for none.
    activation : {'identity', 'logistic', 'tanh', 'relu', 'leaky_relu'}, default='relu'
        Hidden-layer activation.
    solver : {'lbfgs', 'sgd', 'adam', 'adamw', 'lion'}, default='adam'
        Optimizer; 'adamw' is Adam with decoupled ``weight_decay``; 'lion' is Lion
        (Chen et al. 2023; reads ``beta_1``, ``beta_2`` and ``weight_decay``).
    alpha : float, default=1e-4
        L2 penalty strength.
    batch_size : int or 'auto', default='auto'
        Minibatch size; 'auto' is ``min(200, n_samples)``.
    learning_rate : {'constant', 'invscaling', 'adaptive', 'cosine', 'onecycle'}, \
default='constant'
        Learning-rate schedule of the gradient solvers (sgd, adam, adamw).  The first
        three follow scikit-learn, per epoch; 'cosine' and 'onecycle' follow
        ``torch.optim.lr_scheduler`` (CosineAnnealingLR with optional linear warm-up,
        OneCycleLR), per step.
    learning_rate_init : float, default=1e-3
        Initial learning rate (sgd, adam, adamw, lion).
    power_t : float, default=0.5
        Exponent of 'invscaling'.
    max_iter : int, default=200
        Epochs for sgd/adam, iterations for lbfgs.
    shuffle : bool, default=True
        Shuffle the samples every epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling and the validation split.
    tol : float, default=1e-4
        Improvement threshold of the stopping rule (gradient tolerance for lbfgs).
    verbose : bool, default=False
        Print one line per epoch.
    warm_start : bool, default=False
        Continue from the current ``coefs_`` and ``intercepts_``.
    momentum : float, default=0.9
        Momentum of sgd.
    nesterovs_momentum : bool, default=True
        Use Nesterov's momentum.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` (stratified) and stop when its accuracy stalls;
        the best weights are restored.
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping.
    beta_1, beta_2, epsilon : float
        Adam's moment decays and numerical constant; lion reads ``beta_1`` and
        ``beta_2`` as its interpolation and momentum decays (the paper uses 0.9 and
        0.99; the default 0.999 is Adam's).
    n_iter_no_change : int, default=10
        Epochs without improvement by ``tol`` before stopping.
    max_fun : int, default=15000
        Maximum function evaluations of lbfgs.
    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, multiplied into ``sample_weight``.

    Beyond ``MLPClassifier`` (all off by default, so its defaults behave the same):

    dropout : float, sequence of float or None, default=None
        Inverted-dropout rate of every hidden layer, or one rate per hidden layer.
        Active only in training.
    weight_decay : float, default=0.01
        Decoupled weight decay of ``solver='adamw'`` (as ``torch.optim.AdamW``) and
        ``solver='lion'``.
    warmup_fraction : float, default=0.0
        Share of the steps spent warming up under ``learning_rate='cosine'``
        (linear warm-up) or ``'onecycle'`` (its ``pct_start``; 0 means 0.3).
    max_grad_norm : float or None, default=None
        Clip the global gradient norm to this value before each step.
    label_smoothing : float, default=0.0
        Mix the one-hot targets with the uniform distribution (softmax: ``eps / K``;
        sigmoid outputs: towards 0.5).
    init : {'glorot', 'he', 'auto'}, default='glorot'
        Weight initialisation; 'glorot' is scikit-learn's, 'auto' picks 'he' for
        relu and leaky_relu.
    callbacks : list or None, default=None
        Objects with ``on_train_begin``, ``on_epoch_end``, ``on_train_end`` hooks
        (see :mod:`lrnet.callbacks`).
    averaging_steps : int, default=16
        Dask input on a cluster, stochastic solvers: minibatch steps each worker takes
        between two averagings of the parameters and optimizer moments (local SGD; see
        :mod:`lrnet.distributed.local_sgd`).  Unused otherwise.

    Attributes
    ----------
    classes_, coefs_, intercepts_, n_features_in_, feature_names_in_, n_iter_, t_, loss_,
    loss_curve_, best_loss_, validation_scores_, best_validation_score_, n_layers_,
    n_outputs_, out_activation_
        As in ``MLPClassifier``.
    temperature_ : float
        Only after :meth:`calibrate`: the logits are divided by it before the output
        link in ``predict_proba``, ``predict_log_proba`` and ``decision_function``.
        Any fit removes it.
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "solver": [StrOptions(set(SOLVERS))],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions(set(SCHEDULES))],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "dropout": [Interval(Real, 0, 1, closed="left"), "array-like", None],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "warmup_fraction": [Interval(Real, 0, 1, closed="left")],
        "max_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "init": [StrOptions(set(INITS))],
        "callbacks": [list, tuple, None],
        "averaging_steps": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        class_weight=None,
        dropout=None,
        weight_decay=0.01,
        warmup_fraction=0.0,
        max_grad_norm=None,
        label_smoothing=0.0,
        init="glorot",
        callbacks=None,
        averaging_steps=16,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.class_weight = class_weight
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.warmup_fraction = warmup_fraction
        self.max_grad_norm = max_grad_norm
        self.label_smoothing = label_smoothing
        self.init = init
        self.callbacks = callbacks
        self.averaging_steps = averaging_steps

    # ------------------------------------------------------------------ fitting
    @with_callbacks
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None, sample_weight_val=None):
        """Fit the network to ``X`` and labels ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a label-indicator matrix for multi-label problems.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights; 0 drops a row.
        X_val : {array-like, sparse matrix} of shape (n_val, n_features), default=None
            A validation set of your own, as in ``HistGradientBoostingClassifier.fit``:
            early stopping, ``validation_scores_``, ``validation_loss_curve_``, the
            history's validation entries and validation-monitoring callbacks use it
            instead of holding out ``validation_fraction`` of ``X``.  Needs ``y_val``.
        y_val : array-like of shape (n_val,) or (n_val, n_labels), default=None
            Labels of ``X_val``, from the classes of ``y``.
        sample_weight_val : array-like of shape (n_val,), default=None
            Weights of the validation samples.

        Returns
        -------
        self : LRNClassifier
            The fitted estimator.
        """
        first = not (self.warm_start and hasattr(self, "coefs_"))
        validation = (X_val, y_val, sample_weight_val)
        return self._fit(X, y, sample_weight, None, False, first, validation)

    def _check_solver(self) -> bool:
        if self.solver not in STOCHASTIC:
            raise AttributeError(
                f"partial_fit is only available for the stochastic solvers {list(STOCHASTIC)}, "
                f"not solver={self.solver!r}. Use fit, or set solver='adam'."
            )
        return True

    @available_if(_check_solver)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Run one epoch over ``X, y``, continuing from the current state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights.
        classes : array-like of shape (n_classes,), default=None
            Every label of the problem; required on the first call.

        Returns
        -------
        self : LRNClassifier
            The updated estimator.
        """
        first = not hasattr(self, "coefs_")
        return self._fit(X, y, sample_weight, classes, True, first)

    def _validate_params_with_hints(self) -> None:
        try:
            self._validate_params()
        except InvalidParameterError as err:
            options = {"activation": ACTIVATIONS, "solver": SOLVERS, "learning_rate": SCHEDULES}
            raise suggest_option(err, self.get_params(), options) from None

    def _fit(self, X, y, sample_weight, classes, incremental, reset, validation=(None,) * 3):
        """Fit, or leave the model exactly as it was if anything fails.

        Validation sets ``n_features_in_`` and the labels before training starts, so a
        refit that fails (bad data, divergence, a callback that raises, Ctrl-C) restores
        every attribute.  The optimizer state of ``partial_fit`` is dropped instead once a
        step has run: its moments moved on (or hold NaN).
        """
        before = dict(self.__dict__)
        old_state = before.get("_state")
        old_step = getattr(old_state, "step", None)
        try:
            with interrupts.deferring():
                self._fit_or_fail(X, y, sample_weight, classes, incremental, reset, validation)
        except BaseException:
            # scikit-learn's callback contexts live on until with_callbacks tears them down
            live = {k: v for k, v in self.__dict__.items() if k in _CALLBACK_STATE}
            self.__dict__.clear()
            self.__dict__.update(before)
            self.__dict__.update(live)
            if old_state is not None and old_state.step != old_step:
                del self._state
            raise
        if self._state.interrupted is not None:
            raise self._interrupted()
        return self

    def _interrupted(self) -> TrainingInterrupted:
        """Warn that Ctrl-C ended the fit, and the ``KeyboardInterrupt`` to raise."""
        signum, self._state.interrupted = self._state.interrupted, None
        kept = (
            "the best weights on the validation data"
            if self.early_stopping
            else "the weights trained so far"
        )
        message = (
            f"Training was interrupted ({interrupts.signal_name(signum)}) after "
            f"{self.n_iter_} complete {'iteration' if self.solver == 'lbfgs' else 'epoch'}(s) "
            f"of at most {self.max_iter}: the estimator is fitted with {kept}. "
            "Call fit again to start over; warm_start=True continues from these weights."
        )
        warnings.warn(message, LRNetWarning, stacklevel=4)
        return TrainingInterrupted(message, self.n_iter_, signum)

    def _fit_or_fail(self, X, y, sample_weight, classes, incremental, reset, validation):
        if is_dask_collection(X):  # on the active Dask client's cluster, or streamed
            from .distributed.fit import fit_dask

            return fit_dask(self, X, y, sample_weight, incremental, reset, validation)
        self._validate_params_with_hints()
        hidden = check_hidden_layer_sizes(self.hidden_layer_sizes)
        if incremental and self.early_stopping:
            raise ValueError(
                "partial_fit does not support early_stopping=True: there is no fixed data "
                "set to hold out. Set early_stopping=False, or use fit."
            )
        X, y = validate_fit_data(self, X, y, reset)
        if reset:
            self._label_binarizer = targets.fit_labels(y, classes, incremental)
            self.classes_ = self._label_binarizer.classes_
        elif incremental and classes is not None:
            targets.check_same_classes(classes, self.classes_)
        head = head_for(self._label_binarizer.y_type_)
        Y = head.smooth(targets.encode(self._label_binarizer, y, X.dtype), self.label_smoothing)
        if sample_weight is not None:
            sample_weight = targets.sample_weight_array(sample_weight, X)
        user_weights = sample_weight  # the callbacks get these, without the class weights
        sample_weight = targets.row_weights(sample_weight, self.class_weight, X, y, incremental)
        given = given_validation_set(self, *validation, X.dtype, head)

        layout = Layout((X.shape[1], *hidden, Y.shape[1]))
        # once per fit: the step loop never looks a body up; numba only for a big enough fit
        kernels = resolve(work=layout.size * X.shape[0] * (1 if incremental else self.max_iter))
        net = Net(layout, self.activation, head.link, kernels)
        rng = self._rng if (incremental and not reset) else make_rng(self.random_state)
        resume_from = self.__dict__.get("_resume_from")
        if resume_from is not None:  # the seed of the fit being resumed, whatever random_state
            rng.bit_generator.state = resume_from[0]["header"]["rng_start"]
        rng_start = copy.deepcopy(rng.bit_generator.state)
        if reset:
            params = init_flat(layout, self.activation, rng, X.dtype, self.init)
        else:
            params = layout.pack(self.coefs_, self.intercepts_, X.dtype)
        config = config_from_params(
            self.get_params(deep=False),
            X.shape[0],
            len(hidden),
            record_validation=given is not None,
            epochs=1 if incremental else None,
        )
        config.prior_loss = prior_cross_entropy(Y, sample_weight, head.link)
        optimizer = training.make_optimizer(config, kernels)
        old = getattr(self, "_state", None)
        state = next_state(old, vars(self), config, params, optimizer, reset, incremental)

        callbacks = list(self.callbacks or ())
        validate = None if given is None else make_validator(net, head, self.classes_, *given)
        tasks = None
        if wanted(self) and not incremental:
            rebuild = reconstruction(layout, head, Y.shape[1])
            tasks = EpochTasks.begin(self, X, y, user_weights, rebuild, config.max_iter)
            callbacks.append(tasks)
        target = next((cb for cb in callbacks if isinstance(cb, Checkpoint)), None)
        checkpointing = None
        if target is not None or resume_from is not None:
            if config.solver == "lbfgs":
                raise ValueError(
                    "solver='lbfgs' cannot be checkpointed or resumed: its state lives inside "
                    "SciPy. Use solver='adam' or 'sgd', or drop the Checkpoint callback."
                )
            describe = functools.partial(self._describe_fit, layout, head, config)
            digest = data_digest(X, y)
            checkpointing = Checkpointing(target, describe, rng_start, resume_from, digest)
        data = (X, Y, y, sample_weight)
        params = self._train(
            net, params, data, config, state, optimizer, rng, callbacks, validate, checkpointing
        )
        if tasks is not None:
            tasks.finish(params)
        self.coefs_, self.intercepts_ = layout.views(params)
        self.__dict__.pop("temperature_", None)  # fitted to the old weights
        self._state, self._rng = state, rng
        self.n_outputs_ = Y.shape[1]
        self.n_layers_ = len(layout.layer_units)
        self.out_activation_ = head.link
        for name, value in fitted_attributes(config, state).items():
            setattr(self, name, value)
        return self

    def _train(
        self, net, params, data, config, state, optimizer, rng, callbacks, validate, checkpointing
    ):
        """Run the solver on ``data = (X, Y, y, sample_weight)``; returns the parameters.

        ``config.max_epochs``: ``max_iter`` for fit, one epoch for partial_fit.
        """
        X, Y, y, sw = data
        if config.solver == "lbfgs":
            return training.fit_lbfgs(net, params, X, Y, sw, config, state, callbacks, validate)
        wants_validation = any(getattr(cb, "requires_validation", False) for cb in callbacks)
        if validate is None and (config.early_stopping or wants_validation):
            X, Y, sw, validate = self._holdout(net, X, Y, y, sw, rng)
        source = ArraySource(X, Y, sw, config.batch_size, config.shuffle)
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
            checkpointing=checkpointing,
        )

    def _holdout(self, net, X, Y, y, sample_weight, rng):
        """Hold out ``validation_fraction``; returns the rest and the scorer of the split."""
        train, (X_val, Y_val, y_val, sw_val) = split_validation(
            X, Y, y, sample_weight, self.validation_fraction, rng
        )
        head = head_for(self._label_binarizer.y_type_)

        def validate(params):
            coefs, intercepts = net.layout.views(params)
            Z = predict_logits(coefs, intercepts, X_val, net.act)
            score = float(
                accuracy_score(y_val, head.decode(Z, self.classes_), sample_weight=sw_val)
            )
            return cross_entropy(Z, Y_val, sw_val, net.out_kind), score

        return (*train, validate)

    # ------------------------------------------------------------------ data
    # ------------------------------------------------------------------ prediction
    def _is_plain_input(self, X) -> bool:
        """Whether ``X`` is a well-formed float array for the fast predict path.

        A 2-D float32/float64 ndarray with the fitted number of features, no fitted
        feature names to compare, and only finite values needs none of
        ``validate_data``'s conversions; anything else takes the full validation, with
        its messages.
        """
        return (
            type(X) is np.ndarray
            and X.ndim == 2
            and (X.dtype == np.float32 or X.dtype == np.float64)
            and X.shape[0] > 0
            and X.shape[1] == getattr(self, "n_features_in_", -1)
            and "feature_names_in_" not in self.__dict__
            and "coefs_" in self.__dict__
            and all_finite(X)
        )

    def _logits(self, X) -> np.ndarray:
        """Raw logits of ``X``: the fast path for plain float arrays, else validated."""
        if self._is_plain_input(X):
            return predict_logits(self.coefs_, self.intercepts_, X, self.activation)
        check_is_fitted(self, "coefs_")
        try:
            X = validate_data(
                self,
                X,
                reset=False,
                accept_sparse=["csr", "csc"],
                dtype=[np.float64, np.float32],
                ensure_all_finite=False,
            )
        except (ValueError, TypeError) as err:
            raise explain_conversion_error(err, X) from None
        check_finite(X)
        return predict_logits(self.coefs_, self.intercepts_, X, self.activation)

    @property
    def _head(self):
        return head_for(self._label_binarizer.y_type_)

    def predict(self, X):
        """Predict class labels (an indicator matrix for multi-label problems).

        On a dask array or dataframe, every prediction method returns a lazy dask array
        with the input's row chunks (:mod:`lrnet.distributed.predict`).
        """
        if is_dask_collection(X):
            return self._on_dask(self.predict, X)
        Z = self._logits(X)  # first: it raises NotFittedError on an unfitted model
        return self._head.predict(Z, self.classes_)

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), in the input's dtype.

        The network and the output link run in the input's dtype: float32 input gives
        float32 probabilities (as scikit-learn's estimators do), float64 input float64
        ones, whose link keeps the precision of probabilities near 0 and 1.  The link
        never overflows, and a probability that underflows is reported as the smallest
        positive number of the dtype rather than 0, so that ``log(predict_proba)``
        stays finite, like :meth:`predict_log_proba`.
        """
        if is_dask_collection(X):
            return self._on_dask(self.predict_proba, X)
        Z = self._scaled_logits(X)
        return self._head.probabilities(Z)

    def decision_function(self, X):
        """The logits, as ``LogisticRegression.decision_function``.

        Shape (n_samples,) for a binary problem (the log-odds of ``classes_[1]``),
        (n_samples, n_classes) for multi-class and (n_samples, n_labels) for
        multi-label; in ``X``'s dtype.  ``predict_proba`` is the sigmoid or softmax of
        them.  Logits of an overflowed network are clipped to +-1e300 (in float64, which
        holds them), and a NaN row is an error, as in ``predict_proba``.
        """
        if is_dask_collection(X):
            return self._on_dask(self.decision_function, X)
        Z = self._scaled_logits(X)
        if not logits_in_bounds(Z):
            Z = bounded_logits(Z.astype(np.float64))
        return self._head.decision(Z)

    def predict_log_proba(self, X):
        """Log class probabilities (never ``log(0)``), in the input's dtype.

        float64 input: from the logits (log-sigmoid, ``z - logsumexp``); float32 input:
        ``log(predict_proba(X))`` in float32, which stops at -87.3.
        """
        if is_dask_collection(X):
            return self._on_dask(self.predict_log_proba, X)
        Z = self._scaled_logits(X)
        return self._head.log_probabilities(Z)

    def _on_dask(self, method, X):
        check_is_fitted(self, "coefs_")
        from .distributed.predict import map_rows

        return map_rows(method, X)

    def _scaled_logits(self, X) -> np.ndarray:
        """The logits divided by ``temperature_`` when :meth:`calibrate` fitted one."""
        return scaled_logits(self._logits(X), self.__dict__.get("temperature_"))

    def calibrate(self, X, y, sample_weight=None):
        """Fit ``temperature_`` by temperature scaling on held-out data.

        ``T > 0`` minimises the (weighted) cross-entropy of ``logits / T`` on ``X, y``
        (see :mod:`lrnet.calibration`); the predicted labels do not change.  Use data
        the weights were not trained on, e.g. a validation split: on the training data
        an over-fitted model looks well calibrated.  A refit removes ``temperature_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Held-out samples.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Their labels, from ``classes_``.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples.

        Returns
        -------
        self : LRNClassifier
            The estimator, with ``temperature_`` set.
        """
        Z = self._logits(X)  # first: it raises NotFittedError on an unfitted model
        y = np.asarray(y)
        check_lengths(Z, y)
        Y = targets.encode(
            self._label_binarizer,
            y,
            np.float64,
            "y",
            "this model knows. Calibrate on labels of the classes it was fitted on.",
        )
        if sample_weight is not None:
            sample_weight = targets.sample_weight_array(sample_weight, Z)
        self.temperature_ = fit_temperature(Z, Y, self._head.link, sample_weight)
        return self

    def save(self, path, preprocessing=None, metadata=None):
        """Write the fitted model to ``path`` in lrnet's model format: no pickle.

        Read it back with :func:`lrnet.load`; see :mod:`lrnet.persistence` for the format.

        Parameters
        ----------
        path : str or path-like
            Destination file, conventionally ``*.lrnet``; written atomically.
        preprocessing : lrnet.data.Preprocessor or None
            Tabular preprocessing to store with the network.
        metadata : dict or None
            Extra JSON-compatible information.

        Returns
        -------
        pathlib.Path
            The path written.
        """
        return persistence.save(path, self, preprocessing=preprocessing, metadata=metadata)

    # ------------------------------------------------------------------ description
    def fitted_network(self) -> FittedNetwork:
        """The fitted network as plain data (:class:`lrnet.fitted.FittedNetwork`)."""
        check_is_fitted(self, "coefs_")
        layout = Layout(tuple([self.coefs_[0].shape[0]] + [w.shape[1] for w in self.coefs_]))
        params = layout.pack(self.coefs_, self.intercepts_, self.coefs_[0].dtype)
        return self._description(layout, params, self._record())

    def _record(self) -> dict:
        return {
            name: value
            for name, value in vars(self).items()
            if name.endswith("_") and not name.startswith("_") and name not in ARRAY_ATTRIBUTES
        }

    def _describe_fit(self, layout, head, config, params, state) -> FittedNetwork:
        """The description of a fit in progress (a checkpoint's model)."""
        record = self._record()
        record.pop("temperature_", None)  # fitted to earlier weights
        record.update(fitted_attributes(config, state))
        record.update(
            n_outputs_=layout.layer_units[-1],
            n_layers_=len(layout.layer_units),
            out_activation_=head.link,
        )
        return self._description(layout, params.copy(), record)

    def _description(self, layout, params, record: dict) -> FittedNetwork:
        return FittedNetwork(
            layer_units=layout.layer_units,
            activation=self.activation,
            label_type=self._label_binarizer.y_type_,
            params=params,
            classes=np.asarray(self.classes_),
            feature_names=vars(self).get("feature_names_in_"),
            hyperparameters=self.get_params(deep=False),
            attributes=record,
            estimator=type(self).__name__,
        )

    @classmethod
    def from_fitted(cls, fitted: FittedNetwork) -> LRNClassifier:
        """A fitted estimator from its description; a ``ValueError`` names what is wrong."""
        estimator = cls()
        known = estimator.get_params(deep=False)
        # callbacks are behaviour, never state: a description cannot supply them
        params = {
            k: v for k, v in fitted.hyperparameters.items() if k in known and k != "callbacks"
        }
        if isinstance(params.get("hidden_layer_sizes"), list):
            params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
        estimator.set_params(**params)
        estimator._validate_params()  # the estimator's own checks: a ValueError names the param
        hidden = check_hidden_layer_sizes(estimator.hidden_layer_sizes)
        check_dropout(estimator.dropout, len(hidden))
        estimator.coefs_, estimator.intercepts_ = fitted.layout.views(fitted.params)
        for name, value in fitted.attributes.items():
            if not (
                name.isidentifier()
                and name.endswith("_")
                and not name.startswith("_")
                and name not in ARRAY_ATTRIBUTES
                and name not in known
            ):
                raise ValueError(f"unexpected fitted attribute {name!r}")
            setattr(estimator, name, value)
        if fitted.feature_names is not None:
            estimator.feature_names_in_ = np.asarray(fitted.feature_names, dtype=object)
        estimator._label_binarizer = targets.restore_labels(fitted.label_type, fitted.classes)
        estimator.classes_ = estimator._label_binarizer.classes_
        fitted.check(estimator.hidden_layer_sizes)
        estimator._rng = make_rng(estimator.random_state)
        return estimator

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_label = True
        return tags

    def __getstate__(self):
        state = super().__getstate__()
        # coefs_/intercepts_ are views into one buffer; ship them as plain arrays
        if "coefs_" in state:
            state["coefs_"] = [np.array(w) for w in state["coefs_"]]
            state["intercepts_"] = [np.array(b) for b in state["intercepts_"]]
        return state
