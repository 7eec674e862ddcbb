"""Every error and warning class of lrnet, in one place.

All are ``ValueError`` subclasses (or ``UserWarning``), so code written against
scikit-learn's conventions catches them as it would scikit-learn's own.
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


class LRNetWarning(UserWarning):
    """A warning about how lrnet was used (the tests turn these into errors)."""
