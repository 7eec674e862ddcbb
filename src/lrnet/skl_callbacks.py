"""scikit-learn's callback API (``sklearn.callback``, experimental in 1.9) for lrnet.

``LRNClassifier`` supports ``set_callbacks(...)`` with ``sklearn.callback.ProgressBar``
and ``ScoringMonitor``, as ``LogisticRegression`` does in scikit-learn 1.9: ``fit`` is
one task with one subtask per epoch (per iteration for lbfgs).  :class:`EpochTasks`
forwards lrnet's own epoch hooks (:mod:`lrnet.callbacks`) to the callback contexts, so
the training loop needs nothing of its own for it.  With a scikit-learn without
``sklearn.callback`` (before 1.9), the mixin and the decorator are no-ops and
``set_callbacks`` does not exist.
"""

from __future__ import annotations

import numpy as np

from .callbacks import Callback

try:  # experimental in scikit-learn 1.9: guarded, so that older versions still work
    from sklearn.callback import CallbackSupportMixin, with_callbacks

    AVAILABLE = True
except ImportError:  # pragma: no cover - scikit-learn < 1.9
    AVAILABLE = False

    class CallbackSupportMixin:  # type: ignore[no-redef]
        """Stand-in: this scikit-learn has no callback API."""

    def with_callbacks(method):  # type: ignore[no-redef]
        """Stand-in: this scikit-learn has no callback API."""
        return method


def wanted(estimator) -> bool:
    """Whether ``estimator`` carries scikit-learn callbacks (its own or propagated)."""
    return AVAILABLE and bool(getattr(estimator, "_skl_callbacks", None))


class EpochTasks(Callback):
    """lrnet's epoch hooks -> scikit-learn callback contexts: one subtask per epoch.

    Like scikit-learn's own L-BFGS bridge, each epoch's subtask begins before the epoch
    (with the weights it starts from) and ends after it (with the weights it reached);
    the subtask opened after the last epoch is closed empty at the end of training.
    A callback that asks to stop (``on_fit_task_end`` returning True) stops training.
    """

    def __init__(self, estimator, context, X, y, metadata, reconstruct):
        self.estimator = estimator
        self.context = context
        self.X, self.y, self.metadata = X, y, metadata
        self.reconstruct = reconstruct  # params -> the fitted attributes they give
        self.params = None
        self.task = None

    @classmethod
    def begin(cls, estimator, X, y, sample_weight, reconstruct, max_epochs: int) -> EpochTasks:
        """Open the fit's root task on ``estimator`` and return the bridge for its epochs.

        ``sample_weight`` is the user's (class weights stay out, as in scikit-learn).
        """
        # one subtask per epoch, and the empty one opened after the last
        context = estimator._init_callback_context(max_subtasks=max_epochs + 1)
        metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        context.call_on_fit_task_begin(estimator=estimator, X=X, y=y, metadata=metadata)
        return cls(estimator, context, X, y, metadata, reconstruct)

    def finish(self, params: np.ndarray) -> None:
        """Close the fit's root task with the weights the fit ended with."""
        self.context.call_on_fit_task_end(
            estimator=self.estimator,
            X=self.X,
            y=self.y,
            metadata=self.metadata,
            reconstruction_attributes=self.reconstruct(params),
        )

    def _begin(self, attributes: dict) -> None:
        self.task = self.context.subcontext(task_name="epoch")
        self.task.call_on_fit_task_begin(
            estimator=self.estimator,
            X=self.X,
            y=self.y,
            metadata=self.metadata,
            reconstruction_attributes=attributes,
        )

    def on_train_begin(self, logs=None):
        """Open the first epoch's subtask."""
        self.params = logs["params"]
        self._begin(self.reconstruct(self.params))

    def on_epoch_end(self, epoch, logs):
        """Close this epoch's subtask and open the next; True when a callback stops.

        The weights that end this epoch start the next: one snapshot serves both.
        """
        attributes = self.reconstruct(self.params)
        stop = self.task.call_on_fit_task_end(
            estimator=self.estimator,
            X=self.X,
            y=self.y,
            metadata=self.metadata,
            reconstruction_attributes=attributes,
        )
        self._begin(attributes)
        return bool(stop)

    def on_train_end(self, logs=None):
        """Close the subtask opened after the last epoch, as an empty task."""
        if self.task is not None:
            self.task.call_on_fit_task_end(estimator=self.estimator)
            self.task = None


def reconstruction(layout, head, n_outputs: int):
    """``params -> attributes`` that make a copy of the estimator predict with ``params``."""

    def attributes(params: np.ndarray) -> dict:
        coefs, intercepts = layout.views(params.copy())
        return {
            "coefs_": coefs,
            "intercepts_": intercepts,
            "n_outputs_": n_outputs,
            "n_layers_": len(layout.layer_units),
            "out_activation_": head.link,
        }

    return attributes
