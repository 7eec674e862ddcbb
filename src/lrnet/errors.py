"""Every error and warning class of lrnet, in one place.

All are ``ValueError`` subclasses (or ``UserWarning``), so code written against
scikit-learn's conventions catches them as it would scikit-learn's own, except
:class:`ClusterError` (a ``RuntimeError``: the cluster, not the data, failed) and
:class:`TrainingInterrupted` (a ``KeyboardInterrupt``).
"""

from __future__ import annotations


class DivergenceError(ValueError):
    """Training produced a non-finite loss or non-finite weights."""


class ModelFileError(ValueError):
    """A model file is missing, truncated, corrupted, foreign or from a newer lrnet."""


class DataError(ValueError):
    """A data file or table cannot be used: the message names the file and the fix."""


class SpecError(ValueError):
    """Malformed preprocessing data in a model file (a ``ValueError``)."""


class ClusterError(RuntimeError):
    """The Dask cluster could not be reached, or lost the fit's work for good."""


class LRNetWarning(UserWarning):
    """A warning about how lrnet was used (the tests turn these into errors)."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) ended a fit early; the estimator keeps what it learned.

    A ``KeyboardInterrupt``, so scripts and searches still stop.  ``epoch`` is the number
    of completed epochs (iterations for lbfgs), ``signum`` the signal's number.
    """

    def __init__(self, message: str, epoch: int, signum: int):
        super().__init__(message)
        self.epoch = epoch
        self.signum = signum
